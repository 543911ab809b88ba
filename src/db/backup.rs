//! Consistent backups and atomic restores.
//!
//! SQLite: `VACUUM INTO` a temporary file next to the target (a consistent
//! snapshot taken inside one read transaction, so writers keep going), then
//! `PRAGMA integrity_check` on it, then rename into place. Never a plain
//! copy of a live file. Restore checks the backup the same way, takes the
//! database for itself (see `sessions`), and swaps the file in with a rename.
//!
//! PostgreSQL: `pg_dump` (plain SQL with DROP ... IF EXISTS) and, to restore,
//! `psql --single-transaction`, so a restore applies completely or not at all.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::{connect, migrate, open_sqlite_file, sessions, AnyConnection, DbError, DbUrl};

#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub file: String,
    pub bytes: u64,
    pub integrity: String,
}

fn err(msg: impl Into<String>) -> DbError {
    DbError::Migration(msg.into())
}

fn temp_beside(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sweep_stale(dir, &format!(".{name}.{tag}-"));
    temp_name(target, tag)
}

/// The temporary file a backup to `target` by this process is written to
/// before it is checked and renamed (a progress display watches it grow).
pub fn temp_name(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(".{name}.{tag}-{}.tmp", std::process::id()))
}

/// Remove temporary files left by a process that died mid-way (killed, or
/// its SSH session hung up): their names carry the PID, and a PID with no
/// /proc entry is gone.
fn sweep_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split(['.', '-']).next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Removes a temporary file unless disarmed: no half-written backup is left
/// behind when anything fails (or the process is interrupted between steps).
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(&p);
            for ext in ["-journal", "-wal", "-shm"] {
                let mut s = p.as_os_str().to_os_string();
                s.push(ext);
                let _ = std::fs::remove_file(PathBuf::from(s));
            }
        }
    }
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

/// `PRAGMA integrity_check` on a SQLite file: "ok" or the problems found.
pub fn sqlite_integrity(conn: &mut AnyConnection) -> Result<String, DbError> {
    let rows: Vec<Line> = diesel::sql_query("PRAGMA integrity_check").load(conn)?;
    Ok(rows
        .into_iter()
        .map(|l| l.integrity_check)
        .collect::<Vec<_>>()
        .join("; "))
}

fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Back the database up into `target` (which must not exist).
pub fn backup(
    conn: &mut AnyConnection,
    url: &DbUrl,
    target: &Path,
) -> Result<BackupReport, DbError> {
    if target.exists() {
        return Err(err(format!(
            "backup file {} already exists; choose a new name",
            target.display()
        )));
    }
    let tmp = TempFile(Some(temp_beside(target, "backup")));
    match (conn, url) {
        (AnyConnection::Sqlite(c), DbUrl::Sqlite(_)) => {
            let path = tmp.path().to_string_lossy().into_owned();
            c.batch_execute(&format!("VACUUM INTO {}", sql_literal(&path)))?;
            let integrity = {
                let mut check = open_sqlite_file(tmp.path())?;
                sqlite_integrity(&mut check)?
            };
            if integrity != "ok" {
                return Err(err(format!(
                    "the backup failed its integrity check: {integrity}"
                )));
            }
            finish(tmp, target, integrity)
        }
        (AnyConnection::Postgresql(_), DbUrl::Postgres(u)) => {
            let out = Command::new("pg_dump")
                .args([
                    "--format=plain",
                    "--clean",
                    "--if-exists",
                    "--no-owner",
                    "--no-privileges",
                ])
                .arg(format!("--file={}", tmp.path().display()))
                .arg(format!("--dbname={u}"))
                .output()
                .map_err(|e| {
                    err(format!(
                        "cannot run pg_dump (is the PostgreSQL client installed?): {e}"
                    ))
                })?;
            if !out.status.success() {
                return Err(err(format!(
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let text = std::fs::read_to_string(tmp.path())
                .map_err(|e| err(format!("reading the dump: {e}")))?;
            if !text.contains("PostgreSQL database dump complete") {
                return Err(err("pg_dump's output is incomplete (no completion marker)"));
            }
            finish(tmp, target, "pg_dump complete".into())
        }
        _ => Err(err("connection and URL name different backends")),
    }
}

fn finish(tmp: TempFile, target: &Path, integrity: String) -> Result<BackupReport, DbError> {
    // A backup holds every password hash: readable by its owner only.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| err(format!("restricting the backup's permissions: {e}")))?;
    let f = std::fs::File::open(tmp.path()).map_err(|e| err(format!("{e}")))?;
    f.sync_all()
        .map_err(|e| err(format!("syncing the backup: {e}")))?;
    std::fs::rename(tmp.path(), target)
        .map_err(|e| err(format!("moving the backup into place: {e}")))?;
    tmp.keep();
    let bytes = std::fs::metadata(target).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport {
        file: target.display().to_string(),
        bytes,
        integrity,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub file: String,
    /// Migrations the restored database still needs (`db migrate`).
    pub pending_migrations: usize,
}

/// Replace the database with the backup in `source`. The caller's
/// connection is consumed: on SQLite the file is swapped under it.
pub fn restore(conn: AnyConnection, url: &DbUrl, source: &Path) -> Result<RestoreReport, DbError> {
    if !source.is_file() {
        return Err(err(format!(
            "backup file {} does not exist",
            source.display()
        )));
    }
    match (conn, url) {
        (AnyConnection::Sqlite(mut live), DbUrl::Sqlite(db)) => {
            // Check a private copy first: opening the backup itself could change it.
            let tmp = TempFile(Some(temp_beside(db, "restore")));
            std::fs::copy(source, tmp.path())
                .map_err(|e| err(format!("copying the backup: {e}")))?;
            let pending = {
                let mut check = open_sqlite_file(tmp.path())?;
                let integrity = sqlite_integrity(&mut check).map_err(|e| {
                    err(format!(
                        "{} is not a usable SQLite backup: {e}",
                        source.display()
                    ))
                })?;
                if integrity != "ok" {
                    return Err(err(format!(
                        "the backup failed its integrity check: {integrity}"
                    )));
                }
                let state = migrate::status(&mut check)?;
                if state
                    .iter()
                    .any(|m| m.name.ends_with("(unknown to this binary)"))
                {
                    return Err(err(
                        "the backup comes from a newer postfix-manager; upgrade first",
                    ));
                }
                state.iter().filter(|m| !m.applied).count()
            };
            if !sessions::try_exclusive(db).map_err(|e| err(format!("session lock: {e}")))? {
                return Err(err(
                    "other postfix-manager sessions (terminal UI or CLI) are using the database; close them and retry; nothing was changed",
                ));
            }
            let swapped = (|| -> Result<(), DbError> {
                live.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
                drop(live);
                std::fs::rename(tmp.path(), db)
                    .map_err(|e| err(format!("moving the restored file into place: {e}")))?;
                tmp.keep();
                for ext in ["-wal", "-shm"] {
                    let mut s = db.as_os_str().to_os_string();
                    s.push(ext);
                    let _ = std::fs::remove_file(PathBuf::from(s));
                }
                Ok(())
            })();
            sessions::share_again(db).map_err(|e| err(format!("session lock: {e}")))?;
            swapped?;
            Ok(RestoreReport {
                file: source.display().to_string(),
                pending_migrations: pending,
            })
        }
        (AnyConnection::Postgresql(pg), DbUrl::Postgres(u)) => {
            drop(pg);
            let out = Command::new("psql")
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction"])
                .arg(format!("--file={}", source.display()))
                .arg(format!("--dbname={u}"))
                .output()
                .map_err(|e| {
                    err(format!(
                        "cannot run psql (is the PostgreSQL client installed?): {e}"
                    ))
                })?;
            if !out.status.success() {
                return Err(err(format!(
                    "restore failed and was rolled back: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let mut after = connect(url, false)?;
            let pending = migrate::status(&mut after)?
                .iter()
                .filter(|m| !m.applied)
                .count();
            Ok(RestoreReport {
                file: source.display().to_string(),
                pending_migrations: pending,
            })
        }
        _ => Err(err("connection and URL name different backends")),
    }
}
