//! Embedded migrations, one folder per backend, and the guard that keeps
//! every command but `db migrate` off a database whose schema is behind.

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
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
            "the database has {} pending migration(s) ({}); run `postfix-manager db migrate` first",
            pending.len(),
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
