//! Counters for `/metrics` (Prometheus text format) and the bench.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram, in microseconds.
pub const BUCKETS_US: [u64; 10] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000, 1_000_000,
];

#[derive(Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub dunno: AtomicU64,
    pub over: AtomicU64,
    /// Answers DUNNO because the database was slow or unreachable.
    pub fail_open: AtomicU64,
    /// Refusals of a suspended sender (also counted in `over`).
    pub suspended: AtomicU64,
    pub auto_suspensions: AtomicU64,
    pub db_errors: AtomicU64,
    pub connections: AtomicU64,
    /// Connections closed for a bad request (too large, stalled, truncated).
    pub bad_connections: AtomicU64,
    /// Senders whose shared totals the flushes read back.
    pub read_back: AtomicU64,
    /// ANALYZE runs of the counters table (PostgreSQL).
    pub analyzes: AtomicU64,
    buckets: [AtomicU64; BUCKETS_US.len()],
    latency_sum_us: AtomicU64,
}

impl Metrics {
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
        if let Some(i) = BUCKETS_US.iter().position(|b| us <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Decisions made (DUNNO or over a limit).
    pub fn decisions(&self) -> u64 {
        self.dunno.load(Ordering::Relaxed) + self.over.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let counters = [
            ("requests_total", "Policy requests answered", &self.requests),
            ("dunno_total", "DUNNO answers", &self.dunno),
            (
                "over_limit_total",
                "Answers refusing a recipient over a limit",
                &self.over,
            ),
            (
                "fail_open_total",
                "DUNNO answers because the database was slow or unreachable",
                &self.fail_open,
            ),
            (
                "suspended_total",
                "Recipients refused because the sender is suspended",
                &self.suspended,
            ),
            (
                "auto_suspensions_total",
                "Senders suspended automatically",
                &self.auto_suspensions,
            ),
            (
                "db_errors_total",
                "Database errors and timeouts",
                &self.db_errors,
            ),
            (
                "connections_total",
                "Connections accepted",
                &self.connections,
            ),
            (
                "bad_connections_total",
                "Connections closed for a bad or stalled request",
                &self.bad_connections,
            ),
            (
                "counter_analyzes_total",
                "ANALYZE runs of the counters table after many new senders",
                &self.analyzes,
            ),
            (
                "read_back_senders_total",
                "Senders whose shared counters a flush read back",
                &self.read_back,
            ),
        ];
        for (name, help, v) in counters {
            out.push_str(&format!(
                "# HELP postfix_manager_policyd_{name} {help}\n# TYPE postfix_manager_policyd_{name} counter\npostfix_manager_policyd_{name} {}\n",
                g(v)
            ));
        }
        let name = "postfix_manager_policyd_latency_seconds";
        out.push_str(&format!(
            "# HELP {name} Time from a complete request to its answer\n# TYPE {name} histogram\n"
        ));
        let mut cum = 0;
        for (b, n) in BUCKETS_US.iter().zip(&self.buckets) {
            cum += g(n);
            out.push_str(&format!(
                "{name}_bucket{{le=\"{}\"}} {cum}\n",
                *b as f64 / 1e6
            ));
        }
        let total = g(&self.requests);
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {total}\n"));
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {total}\n",
            g(&self.latency_sum_us) as f64 / 1e6
        ));
        out
    }
}
