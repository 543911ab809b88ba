//! Embedded migrations, one folder per backend, and the guard that keeps
//! every command but `db migrate` off a database whose schema is behind.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use diesel::QueryResult;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use serde::Serialize;

use super::{AnyConnection, DbError};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that serialises concurrent migrators.
const PG_MIGRATION_LOCK: i64 = 0x7066_6d5f_6d69_6772; // "pfm_migr"

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn mig_err(e: BoxError) -> DbError {
    DbError::Migration(format!("migration failed: {e}"))
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MigrationState {
    pub version: String,
    pub name: String,
    pub applied: bool,
}

fn names<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> Result<Vec<(String, String)>, DbError>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    let list: Vec<Box<dyn Migration<DB>>> =
        MigrationSource::<DB>::migrations(source).map_err(mig_err)?;
    Ok(list
        .iter()
        .map(|m| (m.name().version().to_string(), m.name().to_string()))
        .collect())
}

fn to_strings(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.iter().map(|v| v.to_string()).collect()
}

/// Apply every pending migration under a lock, so two processes starting on
/// an empty database do not both migrate: SQLite holds its write lock
/// (BEGIN IMMEDIATE) and PostgreSQL an advisory lock for the whole run; the
/// second process then finds nothing pending. Returns what was applied.
pub fn run_pending(conn: &mut AnyConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c
            .immediate_transaction::<_, BoxError, _>(|c| {
                Ok(to_strings(c.run_pending_migrations(SQLITE_MIGRATIONS)?))
            })
            .map_err(mig_err)?,
        AnyConnection::Postgresql(c) => c
            .build_transaction()
            .run::<_, BoxError, _>(|c| {
                c.batch_execute(&format!(
                    "SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"
                ))?;
                Ok(to_strings(c.run_pending_migrations(POSTGRES_MIGRATIONS)?))
            })
            .map_err(mig_err)?,
    };
    Ok(applied)
}

/// Apply exactly the embedded migrations whose versions are in `versions`,
/// in order (a scratch database built to the level of a restore candidate).
pub fn run_exactly(conn: &mut AnyConnection, versions: &[String]) -> Result<(), DbError> {
    fn run<DB, C>(
        c: &mut C,
        source: &EmbeddedMigrations,
        versions: &[String],
    ) -> Result<(), DbError>
    where
        DB: diesel::backend::Backend,
        C: MigrationHarness<DB>,
        EmbeddedMigrations: MigrationSource<DB>,
    {
        // Creates the history table, as `run_pending_migrations` does.
        c.applied_migrations().map_err(mig_err)?;
        let list: Vec<Box<dyn Migration<DB>>> =
            MigrationSource::<DB>::migrations(source).map_err(mig_err)?;
        for m in list {
            if versions.contains(&m.name().version().to_string()) {
                c.run_migration(&*m).map_err(mig_err)?;
            }
        }
        Ok(())
    }
    match conn {
        AnyConnection::Sqlite(c) => run::<Sqlite, _>(c, &SQLITE_MIGRATIONS, versions),
        AnyConnection::Postgresql(c) => run::<Pg, _>(c, &POSTGRES_MIGRATIONS, versions),
    }
}

/// Revert the most recent migration; None when nothing is applied.
pub fn revert_last(conn: &mut AnyConnection) -> Result<Option<String>, DbError> {
    let state = status(conn)?;
    if !state.iter().any(|m| m.applied) {
        return Ok(None);
    }
    let reverted = match conn {
        AnyConnection::Sqlite(c) => c
            .immediate_transaction::<_, BoxError, _>(|c| {
                Ok(c.revert_last_migration(SQLITE_MIGRATIONS)?.to_string())
            })
            .map_err(mig_err)?,
        AnyConnection::Postgresql(c) => c
            .build_transaction()
            .run::<_, BoxError, _>(|c| {
                c.batch_execute(&format!(
                    "SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"
                ))?;
                Ok(c.revert_last_migration(POSTGRES_MIGRATIONS)?.to_string())
            })
            .map_err(mig_err)?,
    };
    Ok(Some(reverted))
}

#[derive(diesel::QueryableByName)]
struct TableName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct RowCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Which tables that came with later migrations a database has: read once
/// when a session logs in (`ops::auth`), so writes ask no catalog. Only
/// the maintenance commands (`db migrate`, `db rollback`) work on a schema
/// that is not current; every other session's connection was checked
/// current at start-up (`env::Env::connect`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tables {
    /// `audit_chain_key`: the audit chain can be keyed (HMAC).
    pub audit_chain_key: bool,
    /// `user_totp`: second factors.
    pub user_totp: bool,
}

impl Tables {
    /// A current schema has every table.
    pub const CURRENT: Tables = Tables {
        audit_chain_key: true,
        user_totp: true,
    };

    /// One catalog query for all of them: asked rather than tried, since a
    /// failed query would abort the surrounding transaction on PostgreSQL.
    pub fn read(conn: &mut AnyConnection) -> QueryResult<Tables> {
        use diesel::RunQueryDsl;
        let sql = match conn {
            AnyConnection::Sqlite(_) => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('audit_chain_key', 'user_totp')"
            }
            AnyConnection::Postgresql(_) => {
                "SELECT tablename::text AS name FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename IN ('audit_chain_key', 'user_totp')"
            }
        };
        let names: Vec<TableName> = diesel::sql_query(sql).load(conn)?;
        let has = |t: &str| names.iter().any(|n| n.name == t);
        Ok(Tables {
            audit_chain_key: has("audit_chain_key"),
            user_totp: has("user_totp"),
        })
    }
}

impl Default for Tables {
    fn default() -> Tables {
        Tables::CURRENT
    }
}

/// Tables with their row counts.
pub type TableRows = Vec<(String, i64)>;

/// Every table of the database with its row count (migration history left out).
pub fn table_rows(conn: &mut AnyConnection) -> Result<TableRows, DbError> {
    use diesel::RunQueryDsl;
    let list = match conn {
        AnyConnection::Sqlite(_) => {
            r"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'"
        }
        AnyConnection::Postgresql(_) => {
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema()"
        }
    };
    let names: Vec<TableName> = diesel::sql_query(list).load(conn)?;
    let mut out = Vec::new();
    for t in names {
        if t.name == "__diesel_schema_migrations" {
            continue;
        }
        let q = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM \"{}\"",
            t.name.replace('"', "\"\"")
        );
        let n: RowCount = diesel::sql_query(q).get_result(conn)?;
        out.push((t.name, n.n));
    }
    out.sort();
    Ok(out)
}

/// What reverting the most recent migration would do, found by doing it
/// inside a transaction that is then rolled back: its name, and the tables
/// it drops that hold rows (with their counts). None when nothing is applied.
pub fn revert_preview(conn: &mut AnyConnection) -> Result<Option<(String, TableRows)>, DbError> {
    enum Stop {
        Preview(String, TableRows),
        Db(DbError),
    }
    impl From<diesel::result::Error> for Stop {
        fn from(e: diesel::result::Error) -> Self {
            Stop::Db(e.into())
        }
    }
    let state = status(conn)?;
    if !state.iter().any(|m| m.applied) {
        return Ok(None);
    }
    let body = |c: &mut AnyConnection| -> Result<(), Stop> {
        let before = table_rows(c).map_err(Stop::Db)?;
        let name = match c {
            AnyConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            AnyConnection::Postgresql(c) => {
                c.batch_execute(&format!(
                    "SELECT pg_advisory_xact_lock({PG_MIGRATION_LOCK})"
                ))?;
                c.revert_last_migration(POSTGRES_MIGRATIONS)
            }
        }
        .map_err(|e| Stop::Db(mig_err(e)))?
        .to_string();
        let after: Vec<String> = table_rows(c)
            .map_err(Stop::Db)?
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        let dropped = before
            .into_iter()
            .filter(|(t, n)| *n > 0 && !after.contains(t))
            .collect();
        // Never commit: this was only to look.
        Err(Stop::Preview(name, dropped))
    };
    // write_tx: BEGIN IMMEDIATE on SQLite (the revert writes), and rolled
    // back since the body always ends in Err.
    let outcome = super::write_tx(conn, body);
    match outcome {
        Err(Stop::Preview(name, dropped)) => Ok(Some((name, dropped))),
        Err(Stop::Db(e)) => Err(e),
        Ok(()) => Ok(None),
    }
}

/// Whether the database has an admin account: then changing its schema
/// needs an admin's login. A database without migrations has no accounts.
pub fn has_admin(conn: &mut AnyConnection) -> Result<bool, DbError> {
    use diesel::RunQueryDsl;
    if !status(conn)?.iter().any(|m| m.applied) {
        return Ok(false);
    }
    let n: RowCount =
        diesel::sql_query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users WHERE role = 'admin'")
            .get_result(conn)?;
    Ok(n.n > 0)
}

/// Every migration this binary knows, and whether the database has it.
pub fn status(conn: &mut AnyConnection) -> Result<Vec<MigrationState>, DbError> {
    let (known, applied): (Vec<(String, String)>, Vec<String>) = match conn {
        AnyConnection::Sqlite(c) => (
            names::<Sqlite>(&SQLITE_MIGRATIONS)?,
            c.applied_migrations()
                .map_err(mig_err)?
                .iter()
                .map(|v| v.to_string())
                .collect(),
        ),
        AnyConnection::Postgresql(c) => (
            names::<Pg>(&POSTGRES_MIGRATIONS)?,
            c.applied_migrations()
                .map_err(mig_err)?
                .iter()
                .map(|v| v.to_string())
                .collect(),
        ),
    };
    let mut out: Vec<MigrationState> = known
        .into_iter()
        .map(|(version, name)| MigrationState {
            applied: applied.contains(&version),
            version,
            name,
        })
        .collect();
    // Versions the database has but this binary does not: a newer binary ran here.
    for v in applied {
        if !out.iter().any(|m| m.version == v) {
            out.push(MigrationState {
                version: v.clone(),
                name: format!("{v} (unknown to this binary)"),
                applied: true,
            });
        }
    }
    Ok(out)
}

/// Refuse to work on a schema this binary does not match.
pub fn ensure_current(conn: &mut AnyConnection) -> Result<(), DbError> {
    let state = status(conn)?;
    let pending: Vec<&str> = state
        .iter()
        .filter(|m| !m.applied)
        .map(|m| m.name.as_str())
        .collect();
    if !pending.is_empty() {
        return Err(DbError::Migration(format!(
            "the database has {} ({}); run `postfix-manager db migrate` first",
            crate::plural::s(pending.len(), "pending migration"),
            pending.join(", ")
        )));
    }
    let unknown: Vec<&str> = state
        .iter()
        .filter(|m| m.name.ends_with("(unknown to this binary)"))
        .map(|m| m.version.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(DbError::Migration(format!(
            "the database has migrations this binary does not know ({}); upgrade postfix-manager",
            unknown.join(", ")
        )));
    }
    Ok(())
}
