//! Scale benchmarks for issue 23 (not tests: nothing here asserts a time).
//!
//!   cargo bench --bench scale                       # SQLite
//!   POSTFIX_MANAGER_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench scale
//!   SCALE_BENCH_MAILBOXES=1000000 cargo bench --bench scale
//!
//! Into a fresh database per backend: `demo seed` of SCALE_BENCH_MAILBOXES
//! mailboxes (default 100,000; one domain per 100, an alias per 5, two
//! audit rows per mailbox, the proportions of the 1M runs in
//! docs/performance.md), then `quota sample` (first run, again), and
//! `quota check --warn 80 --crit 95` with its counts both from the kept
//! per-percent rows and as direct range counts (what they replace),
//! medians of 21 runs. `bench` (the CLI) times the screens on a seeded
//! database; benches/bulk.rs the import and bulk suspend.

use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};
use postfix_manager::store::quota as store;

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

/// Median milliseconds of 21 runs of `f`.
fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(name: &str, url: &DbUrl, n: u64) {
    let mut c = db::connect(url, true).expect("connect");
    migrate::run_pending(&mut c).expect("migrate");
    let ctx = admin(&mut c);
    let o = ops::demo::SeedOptions {
        domains: (n / 100).max(1),
        mailboxes: n,
        aliases: n / 5,
        audit: 2 * n,
        force: false,
    };
    let t = Instant::now();
    ops::demo::seed(&mut c, &ctx, &o, &mut |_| {}).expect("seed");
    println!(
        "{name}: demo seed {} domains, {n} mailboxes, {} aliases, {} audit rows: {:.1} s",
        o.domains,
        o.aliases,
        o.audit,
        t.elapsed().as_secs_f64()
    );
    for what in ["first run", "again, nothing changed"] {
        let t = Instant::now();
        ops::quota::sample(&mut c, &ctx, 30).expect("sample");
        println!(
            "{name}: quota sample, {what}: {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    let check = median_ms(|| {
        ops::quota::check(&mut c, &ctx, 80, 95).expect("check");
    });
    let kept = median_ms(|| {
        store::kept_count_over(&mut c, 80).expect("kept");
    });
    let direct = median_ms(|| {
        store::count_over_by_index(&mut c, None, 800).expect("direct");
    });
    let r = ops::quota::check(&mut c, &ctx, 80, 95).expect("check");
    println!(
        "{name}: quota check --warn 80 --crit 95 ({} warning, {} critical): {check:.2} ms; \
         its count over 80 % from the kept rows {kept:.3} ms, as a direct count {direct:.2} ms",
        r.warning, r.critical
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: u64 = std::env::var("SCALE_BENCH_MAILBOXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    run("sqlite", &DbUrl::Sqlite(dir.path().join("scale.db")), n);
    if let Ok(base) = std::env::var("POSTFIX_MANAGER_BENCH_PG_URL") {
        let db_name = format!("pm_scale_{}", std::process::id());
        let mut admin_conn = diesel::PgConnection::establish(&base).expect("connect pg");
        admin_conn
            .batch_execute(&format!("CREATE DATABASE {db_name}"))
            .expect("create db");
        let url = match base.rsplit_once('/') {
            Some((head, _)) => format!("{head}/{db_name}"),
            None => base.clone(),
        };
        run("postgres", &DbUrl::Postgres(url), n);
        let _ =
            admin_conn.batch_execute(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"));
    }
}
