//! Benchmark of the live dashboard's refresh at scale (issue 6).
//!
//! ```sh
//! cargo run --release --example quota_bench -- [MAILBOXES] [DOMAINS] [DATABASE_URL]
//! ```
//!
//! Defaults: 1,000,000 mailboxes in 10,000 domains in a fresh SQLite file
//! in a temp dir. With a `postgres://` URL it uses that (empty) database.
//! Prints the time of each query the dashboard and `quota check` run, the
//! query plans on SQLite, and the process's peak memory. No assertions:
//! figures go into docs/performance.md.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::store::quota as q;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        let d = t.elapsed();
        best = best.min(d);
        total += d;
    }
    println!(
        "{label:<44} best {:>9.3} ms   mean {:>9.3} ms   ({runs} runs)",
        best.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / f64::from(runs)
    );
    match last {
        Some(v) => v,
        None => f(),
    }
}

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mailboxes: i64 = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let domains: i64 = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let dir = tempfile::tempdir()?;
    let url = match args.get(3) {
        Some(u) => DbUrl::parse(u)?,
        None => DbUrl::Sqlite(dir.path().join("bench.db")),
    };
    let sqlite = matches!(url, DbUrl::Sqlite(_));
    let mut c: AnyConnection = db::connect(&url, true)?;
    migrate::run_pending(&mut c)?;

    let t = Instant::now();
    // Usage spread over 0..100% of a 1 GiB quota, so the top-N and the
    // threshold ranges are realistic (a fifth of the mailboxes over 80%).
    let fill = if sqlite {
        format!(
            "BEGIN;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {domains})
             INSERT INTO domains (name, quota_limit) SELECT 'd' || i || '.example', {dq} FROM n;
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
             INSERT INTO mailboxes (username, domain_id, password_hash, quota_limit, quota_used, local_part)
             SELECT 'u' || i || '@d' || (i % {domains} + 1) || '.example', i % {domains} + 1, 'x',
                    1073741824, (i * 7919) % 1073741824, 'u' || i FROM n;
             COMMIT;",
            last = mailboxes - 1,
            dq = 200i64 << 30,
        )
    } else {
        format!(
            "INSERT INTO domains (name, quota_limit) SELECT 'd' || i || '.example', {dq} FROM generate_series(1, {domains}) i;
             INSERT INTO mailboxes (username, domain_id, password_hash, quota_limit, quota_used, local_part)
             SELECT 'u' || i || '@d' || (i % {domains} + 1) || '.example', i % {domains} + 1, 'x',
                    1073741824, (i::bigint * 7919) % 1073741824, 'u' || i FROM generate_series(0, {last}) i;
             ANALYZE;",
            last = mailboxes - 1,
            dq = 200i64 << 30,
        )
    };
    c.batch_execute(&fill)?;
    if sqlite {
        c.batch_execute("ANALYZE;")?;
    } else {
        // The fill is one transaction, so every trigger update left a dead
        // domain row version behind (~100 per domain); compact as after
        // any bulk import, so the figures show the steady state.
        c.batch_execute("VACUUM (FULL, ANALYZE) domains;")?;
    }
    println!(
        "filled {mailboxes} mailboxes in {domains} domains in {:.1} s ({})",
        t.elapsed().as_secs_f64(),
        url.redacted()
    );
    let rss_before = peak_rss_kib();

    let token = time("change token (the 2 s idle check)", 50, || {
        q::change_token(&mut c, None)
    })?;
    time("totals (domains/mailboxes/aliases/bytes)", 20, || {
        q::totals(&mut c, None)
    })?;
    time("top 20 domains by percent used", 20, || {
        q::domains_by_usage(&mut c, None, None, 20)
    })?;
    let top = time("top 20 mailboxes by percent used", 20, || {
        q::mailboxes_by_usage(&mut c, None, Some(0), None, 20)
    })?;
    let after = top.last().map(|m| (m.permille, m.id));
    time("next keyset page of 20 mailboxes", 20, || {
        q::mailboxes_by_usage(&mut c, None, Some(0), after, 20)
    })?;
    time("host history (60 samples)", 20, || {
        q::host_history(&mut c, 60)
    })?;
    time("count over 80% / 95% (quota check)", 5, || {
        q::count_over(&mut c, None, 800)?;
        q::count_over(&mut c, None, 950)
    })?;
    time("quota check rows (1000 mailboxes >= 80%)", 5, || {
        q::mailboxes_by_usage(&mut c, None, Some(800), None, 1000)
    })?;
    // One usage change, as Dovecot writes it, then the check sees it.
    c.batch_execute("UPDATE mailboxes SET quota_used = quota_used + 1 WHERE id = 4242;")?;
    let moved = q::change_token(&mut c, None)?;
    println!("token after one write moved: {}", moved != token);
    time("quota sample, first (all rows new)", 1, || {
        let now = chrono::Utc::now().naive_utc();
        q::sample(
            &mut c,
            now,
            now - chrono::TimeDelta::days(30),
            postfix_manager::ops::quota::SAMPLE_BATCH,
            &mut |_| {},
        )
    })?;
    c.batch_execute("UPDATE mailboxes SET quota_used = quota_used + 1 WHERE id % 100 = 0;")?;
    time("quota sample, 1% of mailboxes changed", 1, || {
        let now = chrono::Utc::now().naive_utc() + chrono::TimeDelta::seconds(1);
        q::sample(
            &mut c,
            now,
            now - chrono::TimeDelta::days(30),
            postfix_manager::ops::quota::SAMPLE_BATCH,
            &mut |_| {},
        )
    })?;
    println!(
        "peak RSS: {} MiB after filling, {} MiB after the queries",
        rss_before / 1024,
        peak_rss_kib() / 1024
    );
    if sqlite {
        for (name, sql) in [
            ("top mailboxes", format!("EXPLAIN QUERY PLAN SELECT id FROM mailboxes ORDER BY {} DESC, id DESC LIMIT 20", q::PERMILLE)),
            ("top domains", format!("EXPLAIN QUERY PLAN SELECT id FROM domains ORDER BY {} DESC, id DESC LIMIT 20", q::PERMILLE)),
            ("count over", format!("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM mailboxes WHERE {} >= 800", q::PERMILLE)),
        ] {
            let plan: Vec<Plan> = diesel::sql_query(sql).load(&mut c)?;
            let steps: Vec<String> = plan.into_iter().map(|p| p.detail).collect();
            println!("plan {name}: {}", steps.join(" | "));
        }
    }
    Ok(())
}
