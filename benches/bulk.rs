//! Bulk benchmarks (not tests: nothing here asserts a time).
//!
//!   cargo bench --bench bulk                        # SQLite
//!   POSTFIX_MANAGER_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench bulk
//!   BULK_BENCH_EXPORT_ROWS=1000000 cargo bench --bench bulk
//!
//! 1. import of 100,000 mailboxes with pre-hashed passwords (one transaction,
//!    every row audited), rows/s;
//! 2. bulk suspend of 10,000 mailboxes with audit (preview + apply);
//! 3. CSV export of BULK_BENCH_EXPORT_ROWS mailboxes (default 1,000,000 on
//!    SQLite) to a sink, with the process's peak RSS growth during the export.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::model::Status;
use postfix_manager::ops::bulk::{self, MailboxAction};
use postfix_manager::ops::import::{self, MailboxRow};
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};

fn policy() -> Policy {
    Policy {
        bcrypt_cost: 4,
        ..Policy::default()
    }
}

fn admin(c: &mut AnyConnection) -> Ctx {
    let client = Client::from_env(ClientKind::Cli);
    let pw = "bench-admin-password-1";
    ops::users::bootstrap_admin(c, &client, &policy(), "admin@example.net", pw).expect("bootstrap");
    ops::auth::login(c, "admin", pw, &client, &policy()).expect("login")
}

fn rows(hash: &str, dom: &str, from: usize, n: usize) -> Vec<MailboxRow> {
    (from..from + n)
        .map(|i| MailboxRow {
            line: i as u64 + 2,
            address: format!("user{i:07}@{dom}"),
            password_hash: hash.to_string(),
            quota: Some(1 << 30),
            name: None,
            status: Status::Active,
        })
        .collect()
}

/// Peak RSS in kB since the last reset (Linux).
fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn run(name: &str, url: &DbUrl, export_rows: usize) {
    let mut c = db::connect(url, true).expect("connect");
    migrate::run_pending(&mut c).expect("migrate");
    let ctx = admin(&mut c);
    let hash = postfix_manager::password::hash_mailbox("bench-password-1", 4).expect("hash");
    for d in ["bench.example", "big.example"] {
        ops::domains::create(
            &mut c,
            &ctx,
            d,
            &ops::domains::DomainInput {
                quota_limit: Some(0),
                ..Default::default()
            },
        )
        .expect("domain");
    }

    // 1. import 100,000 pre-hashed mailboxes.
    let r = rows(&hash, "bench.example", 0, 100_000);
    let t = Instant::now();
    import::mailboxes(&mut c, &ctx, &r, false, &mut |_, _| {}).expect("import");
    let s = t.elapsed().as_secs_f64();
    println!(
        "{name}: import 100,000 mailboxes (pre-hashed, audited): {s:.2} s = {:.0} rows/s",
        100_000.0 / s
    );

    // 2. bulk suspend 10,000 of them.
    let keys: Vec<String> = r.iter().take(10_000).map(|m| m.address.clone()).collect();
    let t = Instant::now();
    let p = bulk::mailboxes_preview(&mut c, &ctx, &keys, MailboxAction::Suspend).expect("preview");
    let tp = t.elapsed().as_secs_f64();
    let t = Instant::now();
    bulk::mailboxes_apply(&mut c, &ctx, &keys, MailboxAction::Suspend).expect("apply");
    let ta = t.elapsed().as_secs_f64();
    println!(
        "{name}: {} — preview {:.3} s, apply (10,000 updates + 10,001 audit rows) {:.3} s",
        p.summary, tp, ta
    );
    drop(r);

    // 3. export.
    let mut have = 100_000usize;
    let t = Instant::now();
    while have < export_rows {
        let n = (export_rows - have).min(100_000);
        let r = rows(&hash, "big.example", have, n);
        import::mailboxes(&mut c, &ctx, &r, false, &mut |_, _| {}).expect("import");
        have += n;
    }
    if have > 100_000 {
        println!(
            "{name}: (filled to {have} rows in {:.1} s)",
            t.elapsed().as_secs_f64()
        );
    }
    // Reset the peak-RSS mark so it measures the export alone.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = rss_kb();
    let t = Instant::now();
    let n = postfix_manager::csvio::export_mailboxes(
        &mut c,
        &ctx,
        &Default::default(),
        true,
        std::io::BufWriter::new(std::io::sink()),
    )
    .expect("export");
    let s = t.elapsed().as_secs_f64();
    println!(
        "{name}: export {n} rows: {s:.2} s = {:.0} rows/s; RSS before {} MiB, peak during export {} MiB",
        n as f64 / s,
        before / 1024,
        peak_kb().max(before) / 1024
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing
    // useful either way: run only when asked for as a bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let export_rows: usize = std::env::var("BULK_BENCH_EXPORT_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    run(
        "sqlite",
        &DbUrl::Sqlite(dir.path().join("bench.db")),
        export_rows,
    );
    if let Ok(base) = std::env::var("POSTFIX_MANAGER_BENCH_PG_URL") {
        let name = format!("pm_bench_{}", std::process::id());
        let mut admin_conn = diesel::PgConnection::establish(&base).expect("connect pg");
        admin_conn
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create db");
        let url = match base.rsplit_once('/') {
            Some((head, _)) => format!("{head}/{name}"),
            None => base.clone(),
        };
        let pg_rows: usize = std::env::var("BULK_BENCH_PG_EXPORT_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100_000);
        run("postgres", &DbUrl::Postgres(url), pg_rows);
        let _ = admin_conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
}
