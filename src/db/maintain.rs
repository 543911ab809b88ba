//! Routine upkeep, safe while admins work: statistics for the query
//! planner, the WAL folded back into the database, and (on request) space
//! given back by VACUUM. Progress goes to a callback so the CLI can print it
//! and the TUI can show it.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use super::{AnyConnection, DbError, DbUrl};

/// Tables this product owns (and so may vacuum).
pub const TABLES: [&str; 28] = [
    "users",
    "domains",
    "mailboxes",
    "aliases",
    "alias_domains",
    "user_domains",
    "audit_logs",
    "audit_chain_anchor",
    "audit_chain_key",
    "audit_prune_guard",
    "mail_server_configs",
    "ldap_configs",
    "user_preferences",
    "dkim_keys",
    "api_tokens",
    "app_passwords",
    "dns_checks",
    "send_limits",
    "send_counters",
    "sending_suspensions",
    "policyd_status",
    "deleted_mailboxes",
    "user_totp",
    "user_totp_recovery",
    "sender_grants",
    "vacations",
    "mailbox_renames",
    "__diesel_schema_migrations",
];

#[derive(Debug, Clone, Serialize)]
pub struct TableStat {
    pub table: String,
    pub bytes: i64,
    pub dead_rows: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintainReport {
    pub steps: Vec<String>,
    /// SQLite: file size before and after (bytes).
    pub size_before: Option<i64>,
    pub size_after: Option<i64>,
    /// PostgreSQL: per table, before and after.
    pub tables_before: Vec<TableStat>,
    pub tables_after: Vec<TableStat>,
}

#[derive(QueryableByName)]
struct Stat {
    #[diesel(sql_type = diesel::sql_types::Text)]
    relname: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    dead: i64,
}

fn pg_stats(c: &mut diesel::PgConnection) -> Result<Vec<TableStat>, DbError> {
    let rows: Vec<Stat> = diesel::sql_query(
        "SELECT relname::text AS relname, pg_total_relation_size(relid)::bigint AS bytes, \
         n_dead_tup::bigint AS dead FROM pg_stat_user_tables WHERE schemaname = current_schema() ORDER BY relname",
    )
    .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|r| TABLES.contains(&r.relname.as_str()))
        .map(|r| TableStat {
            table: r.relname,
            bytes: r.bytes,
            dead_rows: r.dead,
        })
        .collect())
}

fn file_size(url: &DbUrl) -> Option<i64> {
    match url {
        DbUrl::Sqlite(p) => std::fs::metadata(p).ok().map(|m| m.len() as i64),
        DbUrl::Postgres(_) => None,
    }
}

/// Run the upkeep. `vacuum` also rewrites the SQLite file (it waits for, and
/// briefly blocks, writers); PostgreSQL's VACUUM never blocks them.
pub fn maintain(
    conn: &mut AnyConnection,
    url: &DbUrl,
    vacuum: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<MaintainReport, DbError> {
    let mut report = MaintainReport {
        steps: Vec::new(),
        size_before: file_size(url),
        size_after: None,
        tables_before: Vec::new(),
        tables_after: Vec::new(),
    };
    let mut step = |report: &mut MaintainReport, s: String| {
        progress(&s);
        report.steps.push(s);
    };
    match conn {
        AnyConnection::Sqlite(c) => {
            step(&mut report, "ANALYZE (planner statistics)".into());
            c.batch_execute("ANALYZE")?;
            step(&mut report, "PRAGMA optimize".into());
            c.batch_execute("PRAGMA optimize")?;
            if vacuum {
                step(
                    &mut report,
                    "VACUUM (rewrites the file; writers wait)".into(),
                );
                c.batch_execute("VACUUM")?;
            }
            step(&mut report, "WAL checkpoint (TRUNCATE)".into());
            c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?;
            report.size_after = file_size(url);
        }
        AnyConnection::Postgresql(c) => {
            report.tables_before = pg_stats(c)?;
            let names: Vec<String> = report
                .tables_before
                .iter()
                .map(|t| t.table.clone())
                .collect();
            for (i, t) in names.iter().enumerate() {
                step(
                    &mut report,
                    format!("VACUUM (ANALYZE) {t} ({}/{})", i + 1, names.len()),
                );
                // Quoted: the migrations table's name starts with underscores.
                c.batch_execute(&format!("VACUUM (ANALYZE) \"{t}\""))?;
            }
            report.tables_after = pg_stats(c)?;
        }
    }
    Ok(report)
}
