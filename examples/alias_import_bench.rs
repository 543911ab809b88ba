//! Issue 23 item 2 figures for the alias import (not a test: it asserts
//! nothing but that the import succeeds): `import::aliases` of N rows into
//! a fresh database per size, one transaction, every row audited.
//!
//! ```sh
//! cargo run --release --example alias_import_bench -- 10000 100000        # SQLite
//! POSTFIX_MANAGER_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test \
//!     cargo run --release --example alias_import_bench -- 10000 100000    # PostgreSQL
//! ```
//!
//! On PostgreSQL each size gets its own scratch database (`alias_bench_<pid>_<n>`,
//! created next to the one the URL names and dropped afterwards). The rows:
//! 10 domains, one of them with an alias limit (so the limit is counted), two
//! destinations each (a mailbox here and an outside address), every other
//! row with a description, every tenth suspended. Figures go into
//! docs/performance.md.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::model::Status;
use postfix_manager::ops::import::{self, AliasRow, MailboxRow};
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};

const DOMAINS: usize = 10;

fn admin(c: &mut AnyConnection) -> Ctx {
    let policy = Policy {
        bcrypt_cost: 4,
        ..Policy::default()
    };
    let client = Client::from_env(ClientKind::Cli);
    let pw = "bench-admin-password-1";
    ops::users::bootstrap_admin(c, &client, &policy, "admin@example.net", pw).expect("bootstrap");
    ops::auth::login(c, "admin", pw, &client, &policy).expect("login")
}

fn rows(n: usize) -> Vec<AliasRow> {
    (0..n)
        .map(|i| AliasRow {
            line: i as u64 + 2,
            address: format!("alias{i:07}@d{}.example", i % DOMAINS),
            goto: format!("box@d{}.example, someone{i}@elsewhere.org", i % DOMAINS),
            description: (i % 2 == 0).then(|| format!("desk {i}")),
            status: if i % 10 == 0 {
                Status::Suspended
            } else {
                Status::Active
            },
        })
        .collect()
}

/// One fresh database, filled with the domains and their mailboxes, then
/// the import of `n` aliases timed.
fn run(name: &str, url: &DbUrl, n: usize) {
    let mut c = db::connect(url, true).expect("connect");
    migrate::run_pending(&mut c).expect("migrate");
    let ctx = admin(&mut c);
    let hash = postfix_manager::password::hash_mailbox("bench-password-1", 4).expect("hash");
    let mut boxes = Vec::new();
    for d in 0..DOMAINS {
        let input = ops::domains::DomainInput {
            quota_limit: Some(0),
            max_aliases: Some(if d == 0 { 10_000_000 } else { 0 }),
            ..Default::default()
        };
        ops::domains::create(&mut c, &ctx, &format!("d{d}.example"), &input).expect("domain");
        boxes.push(MailboxRow {
            line: d as u64 + 2,
            address: format!("box@d{d}.example"),
            password_hash: hash.clone(),
            quota: Some(1 << 30),
            name: None,
            status: Status::Active,
        });
    }
    import::mailboxes(&mut c, &ctx, &boxes, false, &mut |_, _| {}).expect("mailboxes");
    let r = rows(n);
    let t = Instant::now();
    let report = import::aliases(&mut c, &ctx, &r, false).expect("import");
    let s = t.elapsed().as_secs_f64();
    println!(
        "{name}: {} (audited, {} suspended): {s:.2} s = {:.0} rows/s",
        report.summary,
        n.div_ceil(10),
        n as f64 / s
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.replace(['_', ','], "").parse().expect("a row count"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    match std::env::var("POSTFIX_MANAGER_BENCH_PG_URL") {
        Ok(base) => {
            let mut adm = diesel::PgConnection::establish(&base).expect("connect");
            for n in sizes {
                let name = format!("alias_bench_{}_{n}", std::process::id());
                adm.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("createdb");
                let (head, _) = base.rsplit_once('/').expect("a database in the URL");
                run("postgres", &DbUrl::Postgres(format!("{head}/{name}")), n);
                adm.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .expect("dropdb");
            }
        }
        Err(_) => {
            for n in sizes {
                let dir = tempfile::tempdir().expect("tempdir");
                run("sqlite", &DbUrl::Sqlite(dir.path().join("bench.db")), n);
            }
        }
    }
}
