//! `postfix-manager health`: what a monitoring system needs to know, with a
//! Nagios-style status (0 OK, 1 WARNING, 2 CRITICAL). It reads only: no
//! login needed beyond access to the database itself.

use std::time::Instant;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::models::MailServerConfig;
use crate::db::schema::{audit_logs, mail_server_configs};
use crate::db::{self, migrate, AnyConnection, DbUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Critical,
}

impl Status {
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub status: Status,
    pub database: String,
    pub checks: Vec<Check>,
    pub tables: Vec<(String, i64)>,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// A backup older than this (hours) is a warning.
    pub backup_max_age_hours: i64,
    /// A SQLite WAL larger than this (bytes) is a warning: checkpoints are not keeping up.
    pub wal_warn_bytes: u64,
    /// Also walk the audit hash chain (reads every audit row).
    pub verify_audit: bool,
    /// With the audit key and checkpoints (`[audit]`), the walk checks
    /// keyed rows' HMACs and the checkpoints too; without, ids and links.
    pub audit_seal: Option<crate::ops::audit_seal::Seal>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backup_max_age_hours: 26,
            wal_warn_bytes: 64 << 20,
            verify_audit: false,
            audit_seal: None,
        }
    }
}

fn check(name: &str, status: Status, message: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        status,
        message: message.into(),
    }
}

pub fn run(url: &DbUrl, opts: &Options) -> Report {
    let mut checks = Vec::new();
    let mut tables = Vec::new();
    let started = Instant::now();
    match db::connect(url, false) {
        Err(e) => checks.push(check("database", Status::Critical, e.to_string())),
        Ok(mut conn) => {
            let ping = diesel::sql_query("SELECT 1").execute(&mut conn);
            match ping {
                Err(e) => checks.push(check(
                    "database",
                    Status::Critical,
                    format!("query failed: {e}"),
                )),
                Ok(_) => {
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    checks.push(check(
                        "database",
                        Status::Ok,
                        format!("connected and answered in {ms:.1} ms"),
                    ));
                    checks.push(encryption(&mut conn, url));
                    match migrate::ensure_current(&mut conn) {
                        Ok(()) => {
                            checks.push(check("migrations", Status::Ok, "schema is current"));
                            tables = table_sizes(&mut conn);
                            checks.push(last_backup(&mut conn, opts));
                            checks.extend(mail_configs(&mut conn));
                            if opts.verify_audit {
                                checks.push(audit_chain(&mut conn, opts.audit_seal.as_ref()));
                            }
                        }
                        Err(e) => checks.push(check("migrations", Status::Critical, e.to_string())),
                    }
                }
            }
        }
    }
    if let DbUrl::Sqlite(path) = url {
        checks.push(sqlite_files(path, opts));
    }
    let status = checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok);
    Report {
        status,
        database: url.redacted(),
        checks,
        tables,
    }
}

/// Is the database connection encrypted? Over the network it should be;
/// on loopback or a local socket plain is fine.
fn encryption(conn: &mut AnyConnection, url: &DbUrl) -> Check {
    #[derive(QueryableByName)]
    struct Tls {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        ssl: bool,
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let DbUrl::Postgres(u) = url else {
        return check(
            "encryption",
            Status::Ok,
            "local SQLite file, no network connection",
        );
    };
    let q = "SELECT ssl, COALESCE(version, '') || ' ' || COALESCE(cipher, '') AS detail \
             FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    match diesel::sql_query(q).get_result::<Tls>(conn) {
        Ok(t) if t.ssl => check(
            "encryption",
            Status::Ok,
            format!("TLS: {}", t.detail.trim()),
        ),
        Ok(_) if is_local(u) => check("encryption", Status::Ok, "not encrypted (local connection)"),
        Ok(_) => check(
            "encryption",
            Status::Warning,
            "not encrypted over the network: add sslmode=verify-full (and sslrootcert) to the URL",
        ),
        Err(e) => check("encryption", Status::Warning, format!("cannot tell: {e}")),
    }
}

fn is_local(url: &str) -> bool {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(authority);
    let host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    host.is_empty()
        || host == "localhost"
        || host.starts_with("127.")
        || host == "[::1]"
        || url.contains("host=/")
}

fn table_sizes(conn: &mut AnyConnection) -> Vec<(String, i64)> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    crate::db::maintain::TABLES
        .iter()
        .filter(|t| {
            !t.starts_with("__") && !t.starts_with("audit_chain") && !t.starts_with("audit_prune")
        })
        .filter_map(|t| {
            diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {t}"))
                .get_result::<N>(conn)
                .ok()
                .map(|r| (t.to_string(), r.n))
        })
        .collect()
}

fn last_backup(conn: &mut AnyConnection, opts: &Options) -> Check {
    let last = |conn: &mut AnyConnection, result: &str| -> Option<chrono::NaiveDateTime> {
        audit_logs::table
            .filter(audit_logs::action.eq("backup"))
            .filter(audit_logs::result.eq(result))
            .order(audit_logs::id.desc())
            .select(audit_logs::timestamp)
            .first(conn)
            .optional()
            .ok()
            .flatten()
    };
    let ok = last(conn, "ok");
    let failed = last(conn, "failed");
    let now = chrono::Utc::now().naive_utc();
    match ok {
        None => check(
            "backup",
            Status::Warning,
            "no backup recorded; run `postfix-manager db backup FILE`",
        ),
        Some(t) => {
            let hours = (now - t).num_minutes() as f64 / 60.0;
            if failed.is_some_and(|f| f > t) {
                check(
                    "backup",
                    Status::Warning,
                    format!("the latest backup attempt failed; last good one {hours:.1} h ago"),
                )
            } else if hours > opts.backup_max_age_hours as f64 {
                check(
                    "backup",
                    Status::Warning,
                    format!(
                        "last backup {hours:.1} h ago (limit {} h)",
                        opts.backup_max_age_hours
                    ),
                )
            } else {
                check(
                    "backup",
                    Status::Ok,
                    format!("last backup {hours:.1} h ago"),
                )
            }
        }
    }
}

/// Stored mail server configs that are active must match the files on disk.
fn mail_configs(conn: &mut AnyConnection) -> Vec<Check> {
    let rows: Vec<MailServerConfig> = match mail_server_configs::table
        .filter(mail_server_configs::is_active.eq(true))
        .select(MailServerConfig::as_select())
        .load(conn)
    {
        Ok(r) => r,
        Err(e) => {
            return vec![check(
                "mail configs",
                Status::Warning,
                format!("cannot read: {e}"),
            )]
        }
    };
    if rows.is_empty() {
        return vec![check("mail configs", Status::Ok, "none stored")];
    }
    let mut bad = Vec::new();
    for r in &rows {
        match std::fs::read_to_string(&r.config_file) {
            Ok(text) if text == r.config_data => {}
            Ok(_) => bad.push(format!(
                "{} differs from the stored version {}",
                r.config_file, r.version
            )),
            Err(e) => bad.push(format!("{}: {e}", r.config_file)),
        }
    }
    if bad.is_empty() {
        vec![check(
            "mail configs",
            Status::Ok,
            match rows.len() {
                1 => "1 file matches the database".to_string(),
                n => format!("{n} files match the database"),
            },
        )]
    } else {
        vec![check(
            "mail configs",
            Status::Warning,
            crate::sanitize::for_terminal(&bad.join("; ")),
        )]
    }
}

fn audit_chain(conn: &mut AnyConnection, seal: Option<&crate::ops::audit_seal::Seal>) -> Check {
    match crate::ops::audit::verify_with(conn, seal, None) {
        Ok(r) if r.ok() => check(
            "audit chain",
            Status::Ok,
            format!("{} verified", crate::plural::s(r.rows_checked, "row")),
        ),
        Ok(r) => check("audit chain", Status::Critical, r.problems.join("; ")),
        Err(e) => check("audit chain", Status::Critical, e.to_string()),
    }
}

fn sqlite_files(path: &std::path::Path, opts: &Options) -> Check {
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_os_string();
    wal.push("-wal");
    let db_bytes = size(path);
    let wal_bytes = size(std::path::Path::new(&wal));
    let msg = format!("database {db_bytes} bytes, WAL {wal_bytes} bytes");
    if wal_bytes > opts.wal_warn_bytes {
        check(
            "sqlite files",
            Status::Warning,
            format!("{msg}: the WAL is not being checkpointed"),
        )
    } else {
        check("sqlite files", Status::Ok, msg)
    }
}
