//! Shared test harness: a throw-away database on each backend.
//!
//! SQLite: a fresh file in a temp dir. PostgreSQL: a fresh database on the
//! server named by POSTFIX_MANAGER_TEST_PG_URL (e.g.
//! postgres://postgres@127.0.0.1:5432/test), dropped afterwards. Without that
//! variable PostgreSQL tests print why they skip, and fail when CI=true.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};

pub const PG_ENV: &str = "POSTFIX_MANAGER_TEST_PG_URL";
pub const ADMIN_PW: &str = "admin-password-123";

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct TestDb {
    pub url: DbUrl,
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Skip (or, in CI, fail) when a real service is missing.
pub fn skip(why: &str) {
    if in_ci() {
        panic!("CI=true but this test would skip: {why}");
    }
    eprintln!("SKIPPED: {why}");
}

/// Cheap hashing for tests; the cost is a config value, not a correctness one.
pub fn policy() -> Policy {
    Policy {
        min_password_length: 12,
        bcrypt_cost: 4,
        default_mailbox_quota: 1 << 30,
        ..Policy::default()
    }
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = DbUrl::Sqlite(dir.path().join("test.db"));
        TestDb {
            url,
            name: "sqlite",
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    pub fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var(PG_ENV) else {
            skip(&format!(
                "{PG_ENV} is not set; PostgreSQL tests need a server URL"
            ));
            return None;
        };
        let dbname = format!(
            "pm_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            rand_suffix()
        );
        let mut admin = diesel::PgConnection::establish(&base)
            .unwrap_or_else(|e| panic!("connect {base}: {e}"));
        admin
            .batch_execute(&format!("CREATE DATABASE {dbname}"))
            .expect("create test database");
        let url = replace_db(&base, &dbname);
        Some(TestDb {
            url: DbUrl::Postgres(url),
            name: "postgres",
            _dir: None,
            pg_admin: Some((base, dbname)),
        })
    }

    /// A connection without migrations (for migration tests).
    pub fn raw(&self) -> AnyConnection {
        db::connect(&self.url, true).expect("connect")
    }

    /// A connection on a migrated database.
    pub fn conn(&self) -> AnyConnection {
        let mut c = self.raw();
        migrate::run_pending(&mut c).expect("migrate");
        c
    }

    pub fn url_string(&self) -> String {
        match &self.url {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(u) => u.clone(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, dbname)) = &self.pg_admin {
            if let Ok(mut admin) = diesel::PgConnection::establish(base) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"));
            }
        }
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

fn replace_db(url: &str, dbname: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let scheme_end = head.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match head[scheme_end..].find('/') {
        Some(i) => &head[..scheme_end + i],
        None => head,
    };
    match query {
        Some(q) => format!("{base}/{dbname}?{q}"),
        None => format!("{base}/{dbname}"),
    }
}

/// Bootstrap `admin` and log in as it.
pub fn admin(conn: &mut AnyConnection) -> Ctx {
    let client = Client::from_env(ClientKind::Cli);
    ops::users::bootstrap_admin(conn, &client, &policy(), "admin@example.net", ADMIN_PW)
        .expect("bootstrap");
    login(conn, "admin", ADMIN_PW)
}

pub fn login(conn: &mut AnyConnection, user: &str, pw: &str) -> Ctx {
    ops::auth::login(
        conn,
        user,
        pw,
        &Client::from_env(ClientKind::Cli),
        &policy(),
    )
    .expect("login")
}

/// Log in with the audit seal the binary uses for a config file in `dir`
/// that names no `[audit]` files: for tests that write through both the
/// binary and `ops` (a chain the binary keyed refuses unkeyed writers).
pub fn login_as_cli(conn: &mut AnyConnection, dir: &std::path::Path, user: &str, pw: &str) -> Ctx {
    let policy = Policy {
        audit: Some(ops::audit_seal::Seal::new(
            dir.join("audit.key"),
            dir.join("audit-checkpoints.log"),
        )),
        ..policy()
    };
    ops::auth::login(conn, user, pw, &Client::from_env(ClientKind::Cli), &policy).expect("login")
}

/// Create a user with `role` (password "<name>-password-1") and log in as it.
pub fn user_with_role(conn: &mut AnyConnection, admin: &Ctx, name: &str, role: &str) -> Ctx {
    let pw = format!("{name}-password-1");
    ops::users::create(
        conn,
        admin,
        &ops::users::NewUser {
            username: name.into(),
            email: format!("{name}@example.net"),
            role: role.into(),
            password: pw.clone(),
        },
    )
    .expect("create user");
    // Under the admin's config: the same audit seal, if it has one.
    let policy = Policy {
        audit: admin.policy.audit.clone(),
        ..policy()
    };
    ops::auth::login(conn, name, &pw, &Client::from_env(ClientKind::Cli), &policy).expect("login")
}

pub fn count(conn: &mut AnyConnection, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table}"))
        .get_result::<N>(conn)
        .expect("count")
        .n
}

/// Row counts of every data table: equal before and after proves "nothing changed".
pub fn snapshot(conn: &mut AnyConnection) -> Vec<(String, i64)> {
    [
        "users",
        "domains",
        "mailboxes",
        "aliases",
        "alias_domains",
        "user_domains",
    ]
    .iter()
    .map(|t| (t.to_string(), count(conn, t)))
    .collect()
}

/// Run a test body on SQLite and on PostgreSQL, as two named tests.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                let t = common::TestDb::sqlite();
                let f: fn(&common::TestDb) = $body;
                f(&t);
            }
            #[test]
            fn postgres() {
                let Some(t) = common::TestDb::postgres() else {
                    return;
                };
                let f: fn(&common::TestDb) = $body;
                f(&t);
            }
        }
    };
}

/// What the database keeps, for "this secret is not stored in clear"
/// checks: on SQLite every file beside the database (the main file and the
/// WAL, where fresh pages live until a checkpoint); on PostgreSQL each row
/// of `tables` as JSON text.
pub fn database_text(t: &TestDb, c: &mut AnyConnection, tables: &[&str]) -> Vec<u8> {
    use diesel::RunQueryDsl;
    match &t.url {
        DbUrl::Sqlite(p) => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(p.parent().unwrap()).unwrap() {
                all.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            assert!(all.len() > 4096, "read the database files");
            all
        }
        DbUrl::Postgres(_) => {
            #[derive(diesel::QueryableByName)]
            struct T {
                #[diesel(sql_type = diesel::sql_types::Text)]
                t: String,
            }
            let mut all = String::new();
            for table in tables {
                let rows: Vec<T> = diesel::sql_query(format!(
                    "SELECT CAST(row_to_json(x) AS TEXT) AS t FROM {table} x"
                ))
                .load(c)
                .unwrap();
                for r in rows {
                    all.push_str(&r.t);
                }
            }
            all.into_bytes()
        }
    }
}

/// The SQL statements sent on `c` while `f` runs (diesel's instrumentation).
pub fn statements(c: &mut AnyConnection, f: impl FnOnce(&mut AnyConnection)) -> Vec<String> {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<String>>>);
    impl Instrumentation for Captured {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::StartQuery { query, .. } = event {
                self.0.lock().expect("captured").push(query.to_string());
            }
        }
    }
    let captured = Captured::default();
    c.set_instrumentation(captured.clone());
    f(c);
    c.set_instrumentation(diesel::connection::get_default_instrumentation());
    let v = captured.0.lock().expect("captured").clone();
    v
}
