//! `postfix-manager bench`: timings against whatever database the URL names,
//! through the same `ops` calls the TUI's worker makes (so authorization
//! and the acting-user reload are in every figure). In-process: no terminal
//! is involved. docs/performance.md has the figures and the commands.

use std::io::Write;
use std::time::Instant;

use diesel::prelude::*;
use serde::Serialize;

use super::args::{BenchArgs, Cli};
use super::{output, CliError};
use crate::db::schema::{alias_domains, aliases, audit_logs, domains, mailboxes, users};
use crate::db::AnyConnection;
use crate::error::OpError;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page, Sort, SortKey};

/// Rows per page, as a tall terminal's table screen asks for.
const PAGE: i64 = 100;
/// Rows in each of the dashboard's two top lists (a tall terminal).
const DASHBOARD_TOP: i64 = 40;

#[derive(Debug, Serialize)]
struct Timing {
    name: String,
    rows: usize,
    median_ms: f64,
    p95_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    backend: String,
    counts: Vec<(String, i64)>,
    runs: usize,
    timings: Vec<Timing>,
    /// Paging through every mailbox (keyset pages of 1000, each row
    /// serialised to JSON and discarded, as `mailbox list --all --json` does).
    scan_rows: usize,
    scan_rows_per_s: f64,
    /// VmHWM of this process after the scan: peak resident memory.
    peak_rss_kib: Option<u64>,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Time `f` `runs` times (after one warm-up run); median and p95.
fn time<T>(
    name: String,
    runs: usize,
    mut f: impl FnMut() -> Result<Vec<T>, OpError>,
) -> Result<Timing, OpError> {
    let rows = f()?.len();
    let mut v: Vec<f64> = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let r = f()?;
        v.push(ms(t.elapsed()));
        drop(r);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[crate::num::float_to_usize(((v.len() - 1) as f64 * q).round())];
    Ok(Timing {
        name,
        rows,
        median_ms: at(0.5),
        p95_ms: at(0.95),
    })
}

/// VmHWM (peak resident set) from /proc/self/status, in KiB; None off Linux.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn count(c: &mut AnyConnection, t: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // `t` is one of our own table names below, never user input.
    Ok(
        diesel::sql_query(format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {t}"))
            .get_result::<N>(c)?
            .n,
    )
}

/// The key in the middle of a name-ordered table (not timed).
macro_rules! middle_key {
    ($c:expr, $table:expr, $col:expr, $n:expr) => {
        $table
            .select($col)
            .order($col.asc())
            .offset($n / 2)
            .first::<String>($c)
            .optional()?
    };
}

/// first / middle / last page of one screen.
fn pages<T>(
    out: &mut Vec<Timing>,
    name: &str,
    runs: usize,
    middle: Option<String>,
    mut f: impl FnMut(&Page) -> Result<Vec<T>, OpError>,
) -> Result<(), OpError> {
    let first = Page {
        after: None,
        limit: Some(PAGE),
        backward: false,
    };
    out.push(time(format!("{name}: first page"), runs, || f(&first))?);
    if let Some(m) = middle {
        let mid = Page {
            after: Some(m),
            limit: Some(PAGE),
            backward: false,
        };
        out.push(time(format!("{name}: middle page"), runs, || f(&mid))?);
    }
    let last = Page {
        after: None,
        limit: Some(PAGE),
        backward: true,
    };
    out.push(time(format!("{name}: last page"), runs, || f(&last))?);
    Ok(())
}

pub fn run(cli: &Cli, b: &BenchArgs, c: &mut AnyConnection, ctx: &Ctx) -> Result<String, CliError> {
    let r = bench(b, c, ctx)?;
    if cli.json {
        return Ok(output::object(&r, true));
    }
    let mut s = format!("backend {}; ", r.backend);
    let counts: Vec<String> = r.counts.iter().map(|(t, n)| format!("{t}={n}")).collect();
    s.push_str(&counts.join(" "));
    s.push_str(&format!("; {} runs each, pages of {PAGE}\n", r.runs));
    s.push_str(&format!(
        "{:<44} {:>6} {:>10} {:>10}\n",
        "query", "rows", "median ms", "p95 ms"
    ));
    for t in &r.timings {
        s.push_str(&format!(
            "{:<44} {:>6} {:>10.2} {:>10.2}\n",
            t.name, t.rows, t.median_ms, t.p95_ms
        ));
    }
    s.push_str(&format!(
        "all mailboxes paged and serialised: {} rows, {:.0} rows/s\npeak RSS (VmHWM): {}\n",
        r.scan_rows,
        r.scan_rows_per_s,
        r.peak_rss_kib.map_or("unknown".to_string(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        ))
    ));
    Ok(s)
}

fn bench(b: &BenchArgs, c: &mut AnyConnection, ctx: &Ctx) -> Result<Report, OpError> {
    let runs = b.runs.clamp(1, 10_000);
    let backend = match c {
        AnyConnection::Sqlite(_) => "sqlite",
        AnyConnection::Postgresql(_) => "postgresql",
    }
    .to_string();
    let mut counts = Vec::new();
    for t in [
        "domains",
        "mailboxes",
        "aliases",
        "alias_domains",
        "users",
        "user_domains",
        "audit_logs",
    ] {
        counts.push((t.to_string(), count(c, t)?));
    }
    let n = |t: &str| counts.iter().find(|(x, _)| x == t).map_or(0, |(_, n)| *n);
    let (nd, nm, na, nad, nu) = (
        n("domains"),
        n("mailboxes"),
        n("aliases"),
        n("alias_domains"),
        n("users"),
    );
    let none = Filter::default();
    let mut out = Vec::new();

    let mid = middle_key!(c, domains::table, domains::name, nd);
    pages(&mut out, "domains", runs, mid, |p| {
        ops::domains::list(c, ctx, &none, p)
    })?;
    let mid = middle_key!(c, mailboxes::table, mailboxes::username, nm);
    pages(&mut out, "mailboxes", runs, mid, |p| {
        ops::mailboxes::list(c, ctx, &none, p)
    })?;
    let mid = middle_key!(c, aliases::table, aliases::address, na);
    pages(&mut out, "aliases", runs, mid, |p| {
        ops::aliases::list(c, ctx, &none, p)
    })?;
    let mid = middle_key!(c, alias_domains::table, alias_domains::name, nad);
    pages(&mut out, "alias domains", runs, mid, |p| {
        ops::alias_domains::list(c, ctx, &none, p)
    })?;
    let mid = middle_key!(c, users::table, users::username, nu);
    pages(&mut out, "users", runs, mid, |p| {
        ops::users::list(c, ctx, &none, p)
    })?;
    pages(&mut out, "permissions", runs, None, |p| {
        ops::permissions::list(c, ctx, None, None, p)
    })?;
    let (lo, hi): (Option<i64>, Option<i64>) = audit_logs::table
        .select((
            diesel::dsl::min(audit_logs::id),
            diesel::dsl::max(audit_logs::id),
        ))
        .first(c)?;
    let mid = lo.zip(hi).map(|(a, z)| ((a + z) / 2).to_string());
    pages(&mut out, "audit", runs, mid, |p| {
        ops::audit::page(c, ctx, p)
    })?;
    let first = Page {
        limit: Some(PAGE),
        ..Default::default()
    };
    // The mailbox screen's other orders (bytes used, quota, percent used),
    // both ends: each walks its own index.
    for key in [SortKey::Used, SortKey::Quota, SortKey::Usage] {
        let f = Filter {
            sort: Sort { key, desc: true },
            ..Default::default()
        };
        let name = format!("mailboxes by {key:?}, descending").to_lowercase();
        pages(&mut out, &name, runs, None, |p| {
            ops::mailboxes::list(c, ctx, &f, p)
        })?;
    }
    aggregates(&mut out, c, ctx, runs, &first)?;

    // Substring filters on the mailbox address, first page.
    // `-04242.` is one seeded domain's 100 addresses; `zzzq` matches
    // nothing (the worst case for a scan); `an` is too short for trigrams.
    for term in [b.term.as_str(), "-04242.", "zzzq", "an"] {
        let f = Filter {
            text: Some(term.to_string()),
            ..Default::default()
        };
        out.push(time(
            format!("mailbox filter {term:?}: first page"),
            runs,
            || ops::mailboxes::list(c, ctx, &f, &first),
        )?);
    }

    let t = Instant::now();
    let scanned = scan_mailboxes(c, ctx)?;
    let secs = t.elapsed().as_secs_f64().max(1e-9);
    Ok(Report {
        backend,
        counts,
        runs,
        timings: out,
        scan_rows: scanned,
        scan_rows_per_s: scanned as f64 / secs,
        peak_rss_kib: peak_rss_kib(),
    })
}

/// What the TUI's dashboard, `stats` and `quota check` run.
fn aggregates(
    out: &mut Vec<Timing>,
    c: &mut AnyConnection,
    ctx: &Ctx,
    runs: usize,
    first: &Page,
) -> Result<(), OpError> {
    // What the TUI's dashboard runs (`ops::quota::watch`): the change check
    // every `quota.refresh_secs` while nothing moves, the snapshot when it
    // did. Then `stats` and `quota check`, which read the same aggregates
    // and indexes.
    let token = ops::quota::watch(c, ctx, None, DASHBOARD_TOP)?
        .map(|s| s.token)
        .ok_or_else(|| OpError::Io("no dashboard snapshot".into()))?;
    out.push(time("dashboard: change check".into(), runs, || {
        ops::quota::watch(c, ctx, Some(token), DASHBOARD_TOP).map(|s| s.into_iter().collect())
    })?);
    out.push(time(
        "dashboard: snapshot (on change)".into(),
        runs,
        || ops::quota::watch(c, ctx, None, DASHBOARD_TOP).map(|s| s.into_iter().collect()),
    )?);
    out.push(time(
        "stats: totals + first domain page".into(),
        runs,
        || ops::stats(c, ctx, first).map(|(_, d)| d),
    )?);
    out.push(time(
        "quota check --warn 80 --crit 95".into(),
        runs,
        || ops::quota::check(c, ctx, 80, 95).map(|r| r.rows),
    )?);
    Ok(())
}

/// Every mailbox, as `mailbox list --all --json` pages them: the rows read.
fn scan_mailboxes(c: &mut AnyConnection, ctx: &Ctx) -> Result<usize, OpError> {
    let mut page = Page {
        limit: Some(1000),
        ..Default::default()
    };
    let mut scanned = 0usize;
    let mut sink = std::io::sink();
    loop {
        let rows = ops::mailboxes::list(c, ctx, &Filter::default(), &page)?;
        let Some(last) = rows.last() else { break };
        page.after = Some(last.username.clone());
        for r in &rows {
            serde_json::to_writer(&mut sink, r).map_err(|e| OpError::Io(e.to_string()))?;
            sink.write_all(b"\n")
                .map_err(|e| OpError::Io(e.to_string()))?;
        }
        scanned += rows.len();
    }
    Ok(scanned)
}
