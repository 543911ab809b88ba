//! Database access: which backend a URL names, opening a connection with the
//! settings each backend needs, and the write transaction every `ops` call runs in.

pub mod backup;
pub mod files;
pub mod maintain;
pub mod migrate;
pub mod models;
pub mod pgtools;
pub mod restore_check;
pub mod schema;
pub mod sessions;

use std::path::{Path, PathBuf};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

/// One connection type for both backends, so queries are written once.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// How long a SQLite writer waits for another process's lock before failing.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed database URL. Parsing never touches the filesystem, so a typo is
/// reported before anything is created. `Debug` prints it redacted, so a
/// stray `{:?}` cannot leak the password.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({})", self.redacted())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL {0:?}: {1}")]
    BadUrl(String, String),
    #[error("SQLite database {0} does not exist; create it with `postfix-manager init` or `postfix-manager db migrate`")]
    Missing(PathBuf),
    #[error("cannot open database {0}: {1}")]
    Connect(String, String),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Migration(String),
}

impl DbUrl {
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        // The message quotes the URL: never with its password.
        let bad = |why: &str| DbError::BadUrl(redact_url_password(raw.trim()), why.to_string());
        let s = raw.trim();
        if s.is_empty() {
            return Err(bad("is empty"));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            // libpq ends the user part at the first '/', so it would read a
            // password holding an unencoded '/' as host and port, and quote
            // it in its error.
            let rest = s.split_once("://").map(|(_, r)| r).unwrap_or("");
            let pre_query = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
            if let Some(at) = pre_query.rfind('@') {
                if pre_query[..at].contains('/') {
                    return Err(bad(
                        "its user or password holds a '/': percent-encode it (%2F)",
                    ));
                }
            }
            return Ok(DbUrl::Postgres(s.to_string()));
        }
        if let Some(rest) = s.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err(bad(
                    "sqlite:// needs a file path, e.g. sqlite:///var/lib/postfix-manager/pm.db",
                ));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(rest)));
        }
        if let Some(rest) = s.strip_prefix("sqlite:") {
            if rest.is_empty() {
                return Err(bad("sqlite: needs a file path"));
            }
            return Ok(DbUrl::Sqlite(PathBuf::from(rest)));
        }
        // Anything that looks like "scheme:" is a URL we do not know; refusing it
        // keeps a mistyped `postgress://host/db` from becoming a local file.
        if let Some((scheme, _)) = s.split_once(':') {
            let looks_like_scheme = !scheme.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if looks_like_scheme {
                return Err(bad(&format!(
                    "unknown scheme {scheme:?}: use sqlite://PATH, a file path, postgres:// or postgresql://"
                )));
            }
        }
        Ok(DbUrl::Sqlite(PathBuf::from(s)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Sqlite(_) => Backend::Sqlite,
            DbUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// A PostgreSQL URL with `password` set in its user part (percent-encoded).
    /// A URL that already holds a password, or a SQLite path, is returned as is.
    pub fn with_password(self, password: &str) -> Result<DbUrl, DbError> {
        let DbUrl::Postgres(u) = &self else {
            return Ok(self);
        };
        let bad = |why: &str| DbError::BadUrl(redact_url_password(u), why.to_string());
        let (scheme, rest) = u.split_once("://").ok_or_else(|| bad("has no scheme"))?;
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user, host) = match authority.rsplit_once('@') {
            Some((userinfo, _)) if userinfo.contains(':') => return Ok(self),
            Some((userinfo, host)) => (userinfo, host),
            None => {
                return Err(bad(
                    "names no user; a password file needs postgres://USER@HOST/DB",
                ))
            }
        };
        let enc: String = password
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Ok(DbUrl::Postgres(format!(
            "{scheme}://{user}:{enc}@{host}{tail}"
        )))
    }

    /// The URL with any password replaced, for messages and `--json` output.
    pub fn redacted(&self) -> String {
        match self {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(u) => redact_url_password(u),
        }
    }
}

/// `url` with the password of its user part and any `password=` query
/// parameter replaced by `***`. Works on any `scheme://` text, also one we
/// refuse to parse (a typo in the scheme must not print the password), and
/// on passwords holding an unencoded `/` or `@`: the user part ends at the
/// last `@` before the query.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return redact_query_password(url);
    };
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let out = match rest[..query_at].rfind('@') {
        Some(at) => {
            let (userinfo, host_and_tail) = rest.split_at(at);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***{host_and_tail}"),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    redact_query_password(&out)
}

fn redact_query_password(url: &str) -> String {
    let Some((head, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{head}?{}", parts.join("&"))
}

/// Open a connection. `create` allows a new SQLite file (init, db migrate);
/// everything else refuses to conjure an empty database out of a wrong path.
pub fn connect(url: &DbUrl, create: bool) -> Result<AnyConnection, DbError> {
    match url {
        DbUrl::Sqlite(path) => {
            if !create && !path.exists() {
                return Err(DbError::Missing(path.clone()));
            }
            if create {
                files::create_private(path).map_err(|e| {
                    DbError::Connect(path.display().to_string(), format!("creating it: {e}"))
                })?;
            }
            sessions::join(path).map_err(|e| {
                DbError::Connect(path.display().to_string(), format!("session lock: {e}"))
            })?;
            let mut conn = SqliteConnection::establish(&sqlite_target(path))
                .map_err(|e| DbError::Connect(url.redacted(), e.to_string()))?;
            configure_sqlite(&mut conn)?;
            Ok(AnyConnection::Sqlite(conn))
        }
        DbUrl::Postgres(u) => {
            // libpq quotes what it cannot parse ("invalid port number:
            // \"<password>\"" for a password holding an unencoded '/').
            let mut conn = PgConnection::establish(u).map_err(|e| {
                let mut msg = e.to_string();
                if let (_, Some(pw)) = pgtools::split_password(u) {
                    if !pw.is_empty() {
                        msg = msg.replace(&pw, "***");
                    }
                }
                DbError::Connect(url.redacted(), msg)
            })?;
            // Timestamps are written and read as UTC whatever the server's default.
            conn.batch_execute("SET TIME ZONE 'UTC'")?;
            Ok(AnyConnection::Postgresql(conn))
        }
    }
}

/// A SQLite file opened for inspection only (backups, restore candidates):
/// no WAL switch, no session registration, so nothing is left beside it.
pub fn open_sqlite_file(path: &Path) -> Result<AnyConnection, DbError> {
    if !path.is_file() {
        return Err(DbError::Missing(path.to_path_buf()));
    }
    let mut conn = SqliteConnection::establish(&sqlite_target(path))
        .map_err(|e| DbError::Connect(path.display().to_string(), e.to_string()))?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"))?;
    Ok(AnyConnection::Sqlite(conn))
}

fn sqlite_target(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Settings every SQLite connection needs: wait for locks rather than fail,
/// WAL so readers never block the writer, and enforced foreign keys (off by
/// default in SQLite, per connection).
fn configure_sqlite(conn: &mut SqliteConnection) -> Result<(), DbError> {
    conn.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"))?;
    enable_wal(conn)?;
    conn.batch_execute("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    Ok(())
}

/// Switch a database to WAL. Switching needs the file to itself, and SQLite
/// does not wait on busy_timeout for that: while another process holds a
/// lock on a fresh database (say, migrating it) the switch fails at once
/// with "database is locked". So retry until it is WAL, up to the timeout.
fn enable_wal(conn: &mut SqliteConnection) -> Result<(), DbError> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS));
    loop {
        match diesel::sql_query("PRAGMA journal_mode = WAL").get_result::<Mode>(conn) {
            Ok(m) if m.journal_mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(m) => {
                return Err(DbError::Connect(
                    "sqlite".into(),
                    format!(
                        "cannot switch to WAL (journal mode stays {})",
                        m.journal_mode
                    ),
                ))
            }
            Err(e) if std::time::Instant::now() < deadline && e.to_string().contains("locked") => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The PostgreSQL advisory lock every write transaction of this program
/// holds from its first statement to its commit (it also orders the audit
/// chain's appends).
pub const PG_WRITE_LOCK: i64 = 0x7066_6d5f_6175_6474;

/// Run `f` in a write transaction. On SQLite the outermost one is
/// `BEGIN IMMEDIATE`: the write lock is taken up front, so a second process
/// waits on busy_timeout instead of failing with "database is locked" when a
/// deferred transaction tries to upgrade. On PostgreSQL the outermost one
/// takes `PG_WRITE_LOCK` first, so writers are serialised the same way on
/// both backends: what an operation reads to decide (a bulk action's plan,
/// a domain's mailbox count against its limit) cannot change under it
/// before it commits, and two writers never deadlock on each other's rows.
/// Nested calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut AnyConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Tm = <AnyConnection as Connection>::TransactionManager;
    let outermost = Tm::transaction_manager_status_mut(conn)
        .transaction_depth()?
        .is_none();
    match conn {
        AnyConnection::Sqlite(c) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        AnyConnection::Postgresql(c) if outermost => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN")?;
            // Wait for it as long as SQLite waits for its lock, then fail
            // ("canceling statement due to lock timeout") instead of hanging.
            let take = format!(
                "SET LOCAL lock_timeout = {SQLITE_BUSY_TIMEOUT_MS}; SELECT pg_advisory_xact_lock({PG_WRITE_LOCK})"
            );
            if let Err(e) = c.batch_execute(&take) {
                let _ = Tm::rollback_transaction(conn);
                return Err(e.into());
            }
        }
        _ => Tm::begin_transaction(conn)?,
    }
    // The audit checkpoint of this transaction (if it appended audit rows)
    // is computed under the write lock just before the outermost commit and
    // published only once the commit succeeded (see ops::audit).
    match f(conn) {
        Ok(value) => {
            if outermost {
                crate::ops::audit::checkpoint_before_commit(conn);
            }
            match Tm::commit_transaction(conn) {
                Ok(()) => {
                    if outermost {
                        crate::ops::audit::checkpoint_after_commit();
                    }
                    Ok(value)
                }
                Err(e) => {
                    if outermost {
                        crate::ops::audit::checkpoint_discard();
                    }
                    Err(e.into())
                }
            }
        }
        Err(user_error) => {
            if outermost {
                crate::ops::audit::checkpoint_discard();
            }
            match Tm::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(user_error),
                Err(rollback_error) => Err(rollback_error.into()),
            }
        }
    }
}

pub fn backend_of(conn: &AnyConnection) -> Backend {
    match conn {
        AnyConnection::Sqlite(_) => Backend::Sqlite,
        AnyConnection::Postgresql(_) => Backend::Postgres,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes_pick_the_backend() {
        assert_eq!(
            DbUrl::parse("sqlite:///tmp/a.db").unwrap(),
            DbUrl::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(
            DbUrl::parse("/tmp/a.db").unwrap(),
            DbUrl::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(
            DbUrl::parse("rel/a.db").unwrap(),
            DbUrl::Sqlite("rel/a.db".into())
        );
        assert!(matches!(
            DbUrl::parse("postgres://h/db").unwrap(),
            DbUrl::Postgres(_)
        ));
        assert!(matches!(
            DbUrl::parse("postgresql://h/db").unwrap(),
            DbUrl::Postgres(_)
        ));
        for bad in [
            "postgress://h/db",
            "mysql://h/db",
            "sqlite://",
            "",
            "http://x",
        ] {
            assert!(DbUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn redaction_hides_the_password_only() {
        let u = DbUrl::parse("postgres://pm:s3cret@db.example:5432/mail").unwrap();
        assert_eq!(u.redacted(), "postgres://pm:***@db.example:5432/mail");
        let u = DbUrl::parse("postgres://pm@db/mail").unwrap();
        assert_eq!(u.redacted(), "postgres://pm@db/mail");
    }

    #[test]
    fn redaction_covers_unknown_schemes_odd_passwords_and_query_parameters() {
        for (raw, want) in [
            ("postgress://u:PW@h/db", "postgress://u:***@h/db"),
            ("postgres://u:p/w@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p@w@h/db", "postgres://u:***@h/db"),
            (
                "postgres://h/db?user=u&password=PW",
                "postgres://h/db?user=u&password=***",
            ),
            ("mysql://root:PW@h", "mysql://root:***@h"),
        ] {
            assert_eq!(redact_url_password(raw), want);
        }
        let e = DbUrl::parse("postgress://u:PW@h/db")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("PW"), "{e}");
        let u = DbUrl::parse("postgres://u:PW@h/db").unwrap();
        assert!(!format!("{u:?}").contains("PW"));
    }

    #[test]
    fn a_password_file_value_is_encoded_into_the_url() {
        let u = DbUrl::parse("postgres://pm@db:5432/mail?sslmode=require").unwrap();
        let with = u.with_password("p@ss:w/rd").unwrap();
        assert_eq!(
            with,
            DbUrl::Postgres("postgres://pm:p%40ss%3Aw%2Frd@db:5432/mail?sslmode=require".into())
        );
        assert_eq!(
            with.redacted(),
            "postgres://pm:***@db:5432/mail?sslmode=require"
        );
        let kept = DbUrl::parse("postgres://pm:x@db/mail").unwrap();
        assert_eq!(kept.clone().with_password("y").unwrap(), kept);
        assert!(DbUrl::parse("postgres://db/mail")
            .unwrap()
            .with_password("y")
            .is_err());
    }
}
