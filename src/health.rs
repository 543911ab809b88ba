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
    /// A streaming replica further behind than this (seconds) is a warning:
    /// mail hosts reading it do not yet see what the console just wrote.
    pub replica_lag_warn_secs: f64,
    /// ... and this far behind, critical.
    pub replica_lag_crit_secs: f64,
    /// Also summarise the cached DNS deliverability checks (`domain check`).
    pub dns: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            backup_max_age_hours: 26,
            wal_warn_bytes: 64 << 20,
            verify_audit: false,
            audit_seal: None,
            replica_lag_warn_secs: 30.0,
            replica_lag_crit_secs: 300.0,
            dns: false,
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
                    checks.push(replication(&mut conn, opts));
                    match migrate::ensure_current(&mut conn) {
                        Ok(()) => {
                            checks.push(check("migrations", Status::Ok, "schema is current"));
                            tables = table_sizes(&mut conn);
                            checks.push(last_backup(&mut conn, opts));
                            checks.extend(mail_configs(&mut conn));
                            checks.extend(policyd(&mut conn));
                            if opts.dns {
                                checks.push(dns_checks(&mut conn));
                            }
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

/// Streaming replication as this server sees it: on a primary, every
/// connected standby's state and replay lag (pg_stat_replication); on a
/// standby, how far its replay is behind (the mail hosts reading it see
/// the console's writes that much later).
fn replication(conn: &mut AnyConnection, opts: &Options) -> Check {
    const NAME: &str = "replication";
    if matches!(conn, AnyConnection::Sqlite(_)) {
        return check(NAME, Status::Ok, "not applicable: a single SQLite file");
    }
    #[derive(QueryableByName)]
    struct Recovery {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        standby: bool,
    }
    match diesel::sql_query("SELECT pg_is_in_recovery() AS standby").get_result::<Recovery>(conn) {
        Ok(r) if r.standby => standby_lag(conn, opts),
        Ok(_) => primary_replicas(conn, opts),
        Err(e) => check(NAME, Status::Warning, format!("cannot tell: {e}")),
    }
}

/// Lag on a healthy loopback or LAN replica is well under a millisecond to a
/// few; seconds with three decimals would print those as 0.000.
fn secs_text(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.2} ms", secs * 1000.0)
    } else {
        format!("{secs:.3} s")
    }
}

fn lag_status(secs: f64, opts: &Options) -> Status {
    if secs > opts.replica_lag_crit_secs {
        Status::Critical
    } else if secs > opts.replica_lag_warn_secs {
        Status::Warning
    } else {
        Status::Ok
    }
}

fn primary_replicas(conn: &mut AnyConnection, opts: &Options) -> Check {
    use diesel::sql_types::{BigInt, Double, Nullable, Text};
    #[derive(QueryableByName)]
    struct Replica {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Nullable<Text>)]
        state: Option<String>,
        #[diesel(sql_type = Nullable<Double>)]
        lag_secs: Option<f64>,
        #[diesel(sql_type = Nullable<BigInt>)]
        behind_bytes: Option<i64>,
    }
    // replay_lag goes NULL once a standby has caught up and the primary is
    // idle; the byte distance tells that apart from "no report yet".
    let q = "SELECT COALESCE(NULLIF(application_name, ''), 'replica') || '@' \
               || COALESCE(host(client_addr), 'local') AS name, \
             state, \
             CAST(EXTRACT(EPOCH FROM replay_lag) AS DOUBLE PRECISION) AS lag_secs, \
             CAST(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS BIGINT) AS behind_bytes \
             FROM pg_stat_replication ORDER BY 1";
    let rows = match diesel::sql_query(q).load::<Replica>(conn) {
        Ok(r) => r,
        Err(e) => return check("replication", Status::Warning, format!("cannot read: {e}")),
    };
    if rows.is_empty() {
        return check(
            "replication",
            Status::Ok,
            "primary, no streaming replicas connected",
        );
    }
    let mut status = Status::Ok;
    let mut parts = Vec::new();
    for r in &rows {
        let name = crate::sanitize::for_terminal(&r.name);
        let Some(state) = &r.state else {
            status = status.max(Status::Warning);
            parts.push(format!(
                "{name}: details hidden from this role (GRANT pg_monitor TO it)"
            ));
            continue;
        };
        let lag = r.lag_secs.unwrap_or(0.0);
        let lag_text = match r.lag_secs {
            Some(l) => format!("replay lag {}", secs_text(l)),
            None => "no replay lag reported (nothing recent to replay)".to_string(),
        };
        let mut s = lag_status(lag, opts);
        if state != "streaming" {
            s = s.max(Status::Warning);
        }
        status = status.max(s);
        let behind = match r.behind_bytes {
            Some(0) => "caught up".to_string(),
            Some(b) => format!("{b} bytes behind"),
            None => "replay position unknown".to_string(),
        };
        parts.push(format!(
            "{name} {}, {lag_text}, {behind}",
            crate::sanitize::for_terminal(state)
        ));
    }
    let limits = format!(
        "(warning above {} s, critical above {} s)",
        opts.replica_lag_warn_secs, opts.replica_lag_crit_secs
    );
    check(
        "replication",
        status,
        format!(
            "primary, {}: {} {limits}",
            crate::plural::s(rows.len() as u64, "streaming replica"),
            parts.join("; ")
        ),
    )
}

fn standby_lag(conn: &mut AnyConnection, opts: &Options) -> Check {
    use diesel::sql_types::{Bool, Double, Nullable, Text};
    #[derive(QueryableByName)]
    struct Standby {
        #[diesel(sql_type = Nullable<Double>)]
        since_replay: Option<f64>,
        #[diesel(sql_type = Nullable<Bool>)]
        caught_up: Option<bool>,
        #[diesel(sql_type = Text)]
        receiver: String,
    }
    let q = "SELECT CAST(EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())) \
               AS DOUBLE PRECISION) AS since_replay, \
             pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() AS caught_up, \
             COALESCE((SELECT status FROM pg_stat_wal_receiver LIMIT 1), 'not running') AS receiver";
    let r = match diesel::sql_query(q).get_result::<Standby>(conn) {
        Ok(r) => r,
        Err(e) => return check("replication", Status::Warning, format!("cannot read: {e}")),
    };
    let receiver = crate::sanitize::for_terminal(&r.receiver);
    let since = r
        .since_replay
        .map(secs_text)
        .unwrap_or_else(|| "never".into());
    // An idle primary sends nothing, so the age of the last replayed
    // transaction grows without the standby being behind: it only counts
    // while received WAL is still waiting to be replayed.
    let (status, state) = if r.caught_up == Some(true) {
        (Status::Ok, "all received WAL replayed".to_string())
    } else {
        let lag = r.since_replay.unwrap_or(f64::INFINITY);
        (lag_status(lag, opts), format!("replay lag {since}"))
    };
    let status = if r.receiver == "streaming" {
        status
    } else {
        status.max(Status::Warning)
    };
    check(
        "replication",
        status,
        format!(
            "standby (read-only): WAL receiver {receiver}, {state}; last replayed transaction {since} ago"
        ),
    )
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

/// The cached deliverability checks (issue 18): any domain in error is
/// critical; warnings and never-checked domains are warnings. Reads the
/// cache only: `domain check --all` (from a timer) is what asks DNS.
/// A policy service host not heard from in this long is a warning.
const POLICYD_STALE_SECS: i64 = 60;
/// Database trouble a host reported this recently is a warning.
const POLICYD_TROUBLE_SECS: i64 = 600;

/// The policy service hosts (issue 21): each one's heartbeat and last
/// database trouble (it answered DUNNO meanwhile), and mailboxes it
/// suspended. Nothing when no host ever reported.
fn policyd(conn: &mut AnyConnection) -> Option<Check> {
    let hosts = match crate::store::send_limits::hosts(conn) {
        Ok(h) => h,
        Err(e) => {
            return Some(check(
                "policyd",
                Status::Critical,
                format!("query failed: {e}"),
            ))
        }
    };
    if hosts.is_empty() {
        return None;
    }
    let now = chrono::Utc::now().naive_utc();
    let mut status = Status::Ok;
    let mut parts = Vec::new();
    for h in &hosts {
        let age = (now - h.seen_at).num_seconds();
        let mut text = format!(
            "{} seen {age} s ago, {} decisions, {} failed open",
            h.host, h.decisions, h.fail_open
        );
        if age > POLICYD_STALE_SECS {
            status = status.max(Status::Warning);
            text.push_str(" (not running?)");
        }
        if let (Some(e), Some(at)) = (&h.last_error, h.last_error_at) {
            if (now - at).num_seconds() <= POLICYD_TROUBLE_SECS {
                status = status.max(Status::Warning);
                text.push_str(&format!(
                    "; database trouble at {} UTC: {e}",
                    at.format("%H:%M:%S")
                ));
            }
        }
        parts.push(text);
    }
    match crate::store::send_limits::suspensions(conn, None) {
        Ok(s) => {
            let auto: Vec<&str> = s
                .iter()
                .filter(|s| s.automatic)
                .map(|s| s.address.as_str())
                .collect();
            if !auto.is_empty() {
                status = status.max(Status::Warning);
                parts.push(format!(
                    "suspended for sending by the service: {}",
                    auto.join(", ")
                ));
            }
        }
        Err(e) => {
            return Some(check(
                "policyd",
                Status::Critical,
                format!("query failed: {e}"),
            ))
        }
    }
    Some(check(
        "policyd",
        status,
        crate::sanitize::for_terminal(&parts.join("; ")),
    ))
}

fn dns_checks(conn: &mut AnyConnection) -> Check {
    let s = match crate::store::dns_checks::summary(conn, None) {
        Ok(s) => s,
        Err(e) => return check("dns", Status::Critical, format!("query failed: {e}")),
    };
    let status = if s.error > 0 {
        Status::Critical
    } else if s.warning > 0 || s.unchecked > 0 {
        Status::Warning
    } else {
        Status::Ok
    };
    let oldest = s
        .oldest_check
        .map(|t| format!("; oldest check {} UTC", t.format("%Y-%m-%d %H:%M")))
        .unwrap_or_default();
    check(
        "dns",
        status,
        format!(
            "{}: {} ok, {} warning, {} error, {} never checked{oldest}",
            crate::plural::s(s.domains, "domain"),
            s.ok,
            s.warning,
            s.error,
            s.unchecked
        ),
    )
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
