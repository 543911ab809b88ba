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

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::{
    connect, files, open_sqlite_file, pgtools, restore_check, sessions, AnyConnection, DbError,
    DbUrl,
};

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
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    sweep_stale(dir);
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

/// The PID in a temporary file name of ours (`.NAME.backup-PID.tmp`, or
/// `.NAME.restore-PID.tmp`, possibly with a SQLite -journal/-wal/-shm suffix).
fn temp_owner(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    ["backup", "restore"].iter().find_map(|tag| {
        let at = name.rfind(&format!(".{tag}-"))?;
        let rest = &name[at + tag.len() + 2..];
        let (pid, tail) = rest.split_once('.')?;
        tail.starts_with("tmp").then_some(())?;
        pid.parse::<u32>().ok()
    })
}

/// Remove temporary files left in `dir` by a process that died mid-way
/// (killed, or its SSH session hung up), whatever target they were for:
/// their names carry the PID, and a PID with no /proc entry is gone. They
/// hold password hashes, so they must not linger.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = temp_owner(&name) else {
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
    // Created 0600 before anything is written: VACUUM INTO accepts an empty
    // file and pg_dump truncates it, both keeping its mode.
    files::create_new(tmp.path(), 0o600).map_err(|e| {
        err(format!(
            "creating the temporary file {}: {e}",
            tmp.path().display()
        ))
    })?;
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
            pgtools::pg_dump(u, tmp.path(), true)?;
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

/// Checks of a restore candidate that need more than the schema (the audit
/// chain, an admin to log in as): given by the caller, which knows them.
/// `Err` says what is wrong.
pub type Validate<'a> = &'a mut dyn FnMut(&mut AnyConnection) -> Result<(), String>;

fn refuse(source: &Path, why: impl std::fmt::Display) -> DbError {
    err(format!(
        "refusing to restore {}: {why}; nothing was changed",
        source.display()
    ))
}

/// Replace the database with the backup in `source`, after validating it
/// (see `restore_check` and `validate`): nothing live is touched unless
/// every check passes. The caller's connection is consumed: on SQLite the
/// file is swapped under it.
pub fn restore(
    conn: AnyConnection,
    url: &DbUrl,
    source: &Path,
    validate: Validate<'_>,
) -> Result<RestoreReport, DbError> {
    if !source.is_file() {
        return Err(err(format!(
            "backup file {} does not exist",
            source.display()
        )));
    }
    match (conn, url) {
        (AnyConnection::Sqlite(mut live), DbUrl::Sqlite(db)) => {
            // Check a private copy first: opening the backup itself could
            // change it. The copy becomes the live file, so it gets the mode
            // a new database gets in that directory.
            let tmp = TempFile(Some(temp_beside(db, "restore")));
            let dir = db
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            (|| -> std::io::Result<()> {
                let mut to = files::create_new(tmp.path(), files::private_mode(dir))?;
                let mut from = std::fs::File::open(source)?;
                std::io::copy(&mut from, &mut to)?;
                to.sync_all()
            })()
            .map_err(|e| err(format!("copying the backup: {e}")))?;
            let pending = {
                let mut check = open_sqlite_file(tmp.path())?;
                let integrity = sqlite_integrity(&mut check)
                    .map_err(|e| refuse(source, format!("not a usable SQLite backup: {e}")))?;
                if integrity != "ok" {
                    return Err(refuse(
                        source,
                        format!("it fails SQLite's integrity check: {integrity}"),
                    ));
                }
                let pending =
                    restore_check::check(&mut check, None).map_err(|e| refuse(source, e))?;
                validate(&mut check).map_err(|e| refuse(source, e))?;
                pending
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
            let mut live = AnyConnection::Postgresql(pg);
            let scratch = restore_check::Scratch::create(&mut live, u, "restore")?;
            // Load the file into the scratch database only: whatever it
            // does happens there.
            pgtools::psql(&scratch.url, &["--single-transaction"], &[], Some(source))
                .map_err(|e| refuse(source, format!("it does not load: {e}")))?;
            let pending = {
                let mut check = connect(&DbUrl::Postgres(scratch.url.clone()), false)?;
                let pending = restore_check::check(&mut check, Some((&mut live, u)))
                    .map_err(|e| refuse(source, e))?;
                validate(&mut check).map_err(|e| refuse(source, e))?;
                pending
            };
            // Swap in: a fresh dump of the validated scratch database (so
            // nothing but what was checked reaches the live one), replayed
            // after dropping every object of the live schema, all in one
            // transaction that also holds the writers' lock.
            let dump_dir = tempfile::Builder::new()
                .prefix(".pm-restore-")
                .tempdir()
                .map_err(|e| err(format!("creating a temporary directory: {e}")))?;
            let dump = dump_dir.path().join("validated.sql");
            files::create_new(&dump, 0o600)
                .map_err(|e| err(format!("creating {}: {e}", dump.display())))?;
            pgtools::pg_dump(&scratch.url, &dump, false)?;
            drop(live);
            let prelude = format!(
                "SET client_min_messages = warning; SET lock_timeout = {}; SELECT pg_advisory_xact_lock({}); {}",
                super::SQLITE_BUSY_TIMEOUT_MS,
                super::PG_WRITE_LOCK,
                restore_check::PG_DROP_PUBLIC
            );
            pgtools::psql(u, &["--single-transaction"], &[&prelude], Some(&dump))
                .map_err(|e| err(format!("restore failed and was rolled back: {e}")))?;
            drop(scratch);
            Ok(RestoreReport {
                file: source.display().to_string(),
                pending_migrations: pending,
            })
        }
        _ => Err(err("connection and URL name different backends")),
    }
}
