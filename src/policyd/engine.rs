//! The counters: decisions are made from memory, and the database is
//! merged in on a coalescing window.
//!
//! Each host keeps, per sender, the counts last read from the shared
//! `send_counters` rows (`db`) plus its own increments not yet seen in such
//! a read (`unacked`); a decision compares their sum with the limits, so
//! it costs a hash lookup under a mutex, not a database round trip. Every
//! `flush_ms` the flusher thread adds all increments of the window to the
//! database in one transaction (multi-row UPSERTs on PostgreSQL) and reads
//! back the totals of the active senders, which carry the other hosts'
//! counts. Hence the error bound for hosts sharing one database: a host
//! learns of another host's messages at most one flush interval plus one
//! round trip late, so together they can overshoot a limit by at most what
//! the other hosts accept from that sender in that time (docs/policy-service.md).
//!
//! A sender seen for the first time is read from the database on the
//! request's path, waited for at most `db_timeout_ms`; past that, or while
//! the database is failing, the answer is DUNNO (fail open, counted and
//! logged) and the increments still count locally.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::decide::{self, Now, Verdict};
use super::metrics::Metrics;
use super::protocol::Request;
use super::settings::PolicydSettings;
use crate::db::{self, AnyConnection, DbUrl};
use crate::ops::audit_seal::Seal;
use crate::ops::send_limits as ops_limits;
use crate::store::send_limits::{self as store, Counts, Limits, DAY, HOUR};

/// How long a sender stays in memory after its last request.
const FORGET_AFTER: Duration = Duration::from_secs(3 * 3600);
/// Senders whose totals each flush reads back: seen this recently.
const ACTIVE: Duration = Duration::from_secs(120);
/// Counter windows are kept this long (for `stats senders`), then pruned.
const KEEP_SECS: i64 = 2 * 86_400;
/// The window of `abuse_domains`: distinct recipient domains this recent.
const SPREAD_WINDOW: Duration = Duration::from_secs(600);

/// What the service needs to run.
#[derive(Clone)]
pub struct Config {
    pub settings: PolicydSettings,
    pub url: DbUrl,
    /// The audit key, so automatic suspensions chain like any other row.
    pub seal: Option<Seal>,
    /// This host's name in `policyd_status` and in audit rows.
    pub host: String,
}

/// One Postfix connection's message in progress: recipients-per-message
/// needs it, since Postfix sends `recipient_count` only at END-OF-MESSAGE.
#[derive(Debug, Default)]
pub struct ConnState {
    instance: String,
    rcpts: i64,
}

#[derive(Debug, Default)]
struct Sender {
    hour_start: i64,
    day_start: i64,
    db: Now,
    unacked: Now,
    loaded: bool,
    last_seen: Option<Instant>,
    suspending: bool,
    /// Refused recipients of this hour that no longer count towards
    /// `abuse_factor`: those from before an admin resumed the sender, so a
    /// resumed account is not suspended again by its first refusal.
    refused_base: i64,
    /// Recipient domains asked for within SPREAD_WINDOW, each with when it
    /// was last asked for (`abuse_domains`); at most that many entries.
    domains: HashMap<String, Instant>,
    /// When this host wrote the sender's suspension (a read of the
    /// suspensions begun before that cannot show it yet).
    suspended_at: Option<Instant>,
}

impl Sender {
    /// Start new windows when the clock moved past the old ones.
    fn roll(&mut self, hour: i64, day: i64) {
        if self.hour_start != hour {
            self.hour_start = hour;
            self.refused_base = 0;
            self.db.hour = Counts::default();
            self.unacked.hour = Counts::default();
        }
        if self.day_start != day {
            self.day_start = day;
            self.db.day = Counts::default();
            self.unacked.day = Counts::default();
        }
    }

    fn now(&self) -> Now {
        Now {
            hour: add(self.db.hour, self.unacked.hour),
            day: add(self.db.day, self.unacked.day),
        }
    }

    /// Note `recipient`'s domain; true when the sender has now asked for
    /// `max` distinct domains within SPREAD_WINDOW.
    fn spread(&mut self, recipient: &str, max: u32) -> bool {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let Some((_, d)) = recipient.trim().rsplit_once('@') else {
            return self.domains.len() >= max;
        };
        let d = d.trim_end_matches(['>', '.']).to_ascii_lowercase();
        let now = Instant::now();
        if let Some(cut) = now.checked_sub(SPREAD_WINDOW) {
            self.domains.retain(|_, t| *t > cut);
        }
        // Bounded: past `max` the sender is being suspended anyway.
        if !d.is_empty() && (self.domains.len() < max || self.domains.contains_key(&d)) {
            self.domains.insert(d, now);
        }
        self.domains.len() >= max
    }

    /// An admin resumed the sender: containment starts over.
    fn resumed(&mut self) {
        self.suspending = false;
        self.refused_base = self.now().hour.refused;
        self.domains.clear();
    }
}

fn add(a: Counts, b: Counts) -> Counts {
    Counts {
        messages: a.messages + b.messages,
        recipients: a.recipients + b.recipients,
        refused: a.refused + b.refused,
    }
}

fn sub(a: Counts, b: Counts) -> Counts {
    Counts {
        messages: (a.messages - b.messages).max(0),
        recipients: (a.recipients - b.recipients).max(0),
        refused: (a.refused - b.refused).max(0),
    }
}

#[derive(Default)]
struct LimitTable {
    mailboxes: HashMap<String, Limits>,
    domains: HashMap<String, Limits>,
}

#[derive(Default)]
struct State {
    /// None until the first successful read: until then every answer is
    /// DUNNO (fail open).
    limits: Option<LimitTable>,
    suspended: HashSet<String>,
    senders: HashMap<String, Sender>,
    /// Increments not yet written: (sender, span, window start) -> counts.
    pending: HashMap<(String, i32, i64), Counts>,
}

enum Job {
    Load(String, oneshot::Sender<()>),
    Suspend(String, String),
}

/// The shared part of a running service.
pub struct Engine {
    cfg: Config,
    defaults: Limits,
    state: Mutex<State>,
    pub metrics: Metrics,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Set after a database error, cleared by the next success: while set,
    /// new senders fail open at once instead of each waiting db_timeout.
    db_down: AtomicBool,
    /// Senders read for the first time since the last ANALYZE (PostgreSQL).
    new_senders: AtomicU64,
    last_error: Mutex<Option<(String, chrono::NaiveDateTime)>>,
    last_log: AtomicU64,
    started: chrono::NaiveDateTime,
    stop: AtomicBool,
}

/// Unix seconds now, and the starts of the current hour and UTC day.
fn windows() -> (i64, i64) {
    let t = chrono::Utc::now().timestamp();
    (t - t.rem_euclid(3600), t - t.rem_euclid(86_400))
}

impl Engine {
    /// Start the engine's two database threads (loader, flusher).
    pub fn start(cfg: Config) -> Arc<Engine> {
        let (tx, rx) = mpsc::channel();
        let e = Arc::new(Engine {
            defaults: ops_limits::defaults(&cfg.settings),
            cfg,
            state: Mutex::new(State::default()),
            metrics: Metrics::default(),
            jobs: Mutex::new(tx),
            db_down: AtomicBool::new(false),
            new_senders: AtomicU64::new(0),
            last_error: Mutex::new(None),
            last_log: AtomicU64::new(0),
            started: crate::ops::now(),
            stop: AtomicBool::new(false),
        });
        let l = Arc::clone(&e);
        std::thread::spawn(move || l.loader(rx));
        let f = Arc::clone(&e);
        std::thread::spawn(move || f.flusher());
        e
    }

    /// Limits and suspensions have been read at least once (until then
    /// every answer fails open).
    pub fn ready(&self) -> bool {
        self.lock().limits.is_some()
    }

    pub fn cfg(&self) -> &Config {
        &self.cfg
    }

    /// Ask the threads to finish (after one last flush).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the counters in a
        // state worse than stale; keep serving.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer to one request (`action=` value).
    pub async fn answer(&self, req: &Request, cs: &mut ConnState) -> String {
        if req.malformed > 0 {
            self.log(&format!(
                "request with {} malformed line(s): answered DUNNO",
                req.malformed
            ));
        }
        match self.try_decide(req, cs, true) {
            Step::Done(a) => a,
            Step::Load(rx) => {
                let t = Duration::from_millis(self.cfg.settings.db_timeout_ms);
                if tokio::time::timeout(t, rx).await.is_err() {
                    self.trouble(&format!(
                        "database slower than db_timeout_ms ({} ms) reading a sender's counters",
                        self.cfg.settings.db_timeout_ms
                    ));
                }
                match self.try_decide(req, cs, false) {
                    Step::Done(a) => a,
                    Step::Load(_) => "DUNNO".into(),
                }
            }
        }
    }

    fn try_decide(&self, req: &Request, cs: &mut ConnState, may_wait: bool) -> Step {
        let stage = req.get("protocol_state").unwrap_or("").to_ascii_uppercase();
        let rcpt = match stage.as_str() {
            "RCPT" => true,
            "END-OF-MESSAGE" => false,
            _ => return self.done(Verdict::Dunno),
        };
        let sender = req
            .get("sasl_username")
            .map(|s| s.trim().to_lowercase())
            .unwrap_or_default();
        if sender.is_empty() {
            // Not logged in: inbound mail, not this service's business.
            return self.done(Verdict::Dunno);
        }
        let instance = req.get("instance").unwrap_or("");
        if cs.instance != instance {
            cs.instance = instance.to_string();
            cs.rcpts = 0;
        }
        let (hour, day) = windows();
        let mut st = self.lock();
        let Some(table) = &st.limits else {
            drop(st);
            return self.fail_open("limits not read from the database yet");
        };
        if st.suspended.contains(&sender) {
            drop(st);
            self.metrics.suspended.fetch_add(1, Ordering::Relaxed);
            return self.done(Verdict::Over("sending suspended for this account".into()));
        }
        let limits = effective(table, &sender, self.defaults);
        let s = st.senders.entry(sender.clone()).or_default();
        s.roll(hour, day);
        s.last_seen = Some(Instant::now());
        let loaded = s.loaded;
        if !loaded && may_wait && !self.db_down.load(Ordering::Relaxed) {
            drop(st);
            let (tx, rx) = oneshot::channel();
            self.send(Job::Load(sender, tx));
            return Step::Load(rx);
        }
        if !rcpt {
            cs.rcpts = 0;
            cs.instance.clear();
            bump(&mut st, &sender, hour, day, |c| c.messages += 1);
            drop(st);
            return self.counted(loaded, Verdict::Dunno);
        }
        let spread_max = self.cfg.settings.abuse_domains;
        let spread = spread_max > 0
            && st
                .senders
                .get_mut(&sender)
                .is_some_and(|s| s.spread(req.get("recipient").unwrap_or(""), spread_max));
        let now = st.senders.get(&sender).map(Sender::now).unwrap_or_default();
        let verdict = if spread {
            Verdict::Over(format!(
                "sending suspended for this account ({spread_max} recipient domains within 10 minutes)"
            ))
        } else {
            decide::rcpt(&limits, &now, cs.rcpts)
        };
        if matches!(verdict, Verdict::Dunno) {
            cs.rcpts += 1;
            bump(&mut st, &sender, hour, day, |c| c.recipients += 1);
            drop(st);
            return self.counted(loaded, verdict);
        }
        bump(&mut st, &sender, hour, day, |c| c.refused += 1);
        let why = self.containment(&mut st, &sender, &limits, spread);
        drop(st);
        if let Some(why) = why {
            self.log(&format!("suspending sending of {sender}: {why}"));
            self.send(Job::Suspend(sender, why));
        }
        self.counted(loaded, verdict)
    }

    /// After a refusal: the reason to suspend `sender` when it crossed a
    /// containment threshold for the first time (`abuse_domains`, seen by
    /// the caller as `spread`, or `abuse_factor`), else None.
    fn containment(
        &self,
        st: &mut State,
        sender: &str,
        limits: &Limits,
        spread: bool,
    ) -> Option<String> {
        let s = st.senders.get_mut(sender)?;
        if s.suspending {
            return None;
        }
        let factor = self.cfg.settings.abuse_factor;
        let mut now = s.now();
        now.hour.refused -= s.refused_base.min(now.hour.refused);
        let why = if spread {
            let n = self.cfg.settings.abuse_domains;
            format!(
                "automatic: {n} distinct recipient domains within 10 minutes (abuse_domains {n})"
            )
        } else if decide::abusive(limits, &now, factor) {
            format!(
                "automatic: {} refused recipients within the hour (abuse_factor {factor} x its limit)",
                now.hour.refused
            )
        } else {
            return None;
        };
        s.suspending = true;
        Some(why)
    }

    /// Without the database's counts only a refusal is sure (this host's
    /// own counts are a lower bound); anything else fails open.
    fn counted(&self, loaded: bool, v: Verdict) -> Step {
        if loaded || matches!(v, Verdict::Over(_)) {
            self.done(v)
        } else {
            self.fail_open("the database did not answer within db_timeout_ms")
        }
    }

    fn done(&self, v: Verdict) -> Step {
        let m = &self.metrics;
        match &v {
            Verdict::Dunno => m.dunno.fetch_add(1, Ordering::Relaxed),
            Verdict::Over(_) => m.over.fetch_add(1, Ordering::Relaxed),
        };
        Step::Done(decide::action(&v, self.cfg.settings.rejects()))
    }

    fn fail_open(&self, why: &str) -> Step {
        self.metrics.fail_open.fetch_add(1, Ordering::Relaxed);
        self.metrics.dunno.fetch_add(1, Ordering::Relaxed);
        self.log(&format!("fail open (DUNNO): {why}"));
        Step::Done("DUNNO".into())
    }

    fn send(&self, j: Job) {
        let tx = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        let _ = tx.send(j);
    }

    /// A log line on stderr (the journal under systemd), at most one a
    /// second so a failing database does not flood it.
    pub fn log(&self, msg: &str) {
        let sec = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        if self.last_log.swap(sec, Ordering::Relaxed) != sec {
            eprintln!("policyd: {}", crate::sanitize::for_terminal(msg));
        }
    }

    /// A database problem: logged, kept for `health`, and new senders fail
    /// open at once until the database answers again.
    fn trouble(&self, msg: &str) {
        self.db_down.store(true, Ordering::Relaxed);
        self.metrics.db_errors.fetch_add(1, Ordering::Relaxed);
        self.log(msg);
        let mut e = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *e = Some((msg.to_string(), crate::ops::now()));
    }

    fn healthy(&self) {
        self.db_down.store(false, Ordering::Relaxed);
    }

    /// A connection with the service's own short statement timeout on
    /// PostgreSQL (a stuck query must not hold the counters forever).
    fn connect(&self) -> Option<AnyConnection> {
        match db::connect(&self.cfg.url, false) {
            Ok(mut c) => {
                if let AnyConnection::Postgresql(_) = c {
                    use diesel::connection::SimpleConnection;
                    let _ = c.batch_execute("SET statement_timeout = 10000");
                }
                Some(c)
            }
            Err(e) => {
                self.trouble(&format!("cannot connect to the database: {e}"));
                None
            }
        }
    }

    /// The loader thread: first-time senders' counters, and suspensions.
    fn loader(self: Arc<Self>, rx: mpsc::Receiver<Job>) {
        let mut conn: Option<AnyConnection> = None;
        let mut failed_at: Option<Instant> = None;
        while !self.stop.load(Ordering::SeqCst) {
            let Ok(first) = rx.recv_timeout(Duration::from_millis(200)) else {
                continue;
            };
            let mut loads = Vec::new();
            let mut suspends = Vec::new();
            for j in std::iter::once(first).chain(rx.try_iter()) {
                match j {
                    Job::Load(s, tx) => loads.push((s, tx)),
                    Job::Suspend(s, why) => suspends.push((s, why)),
                }
            }
            // Just failed: answer the waiters at once (they fail open)
            // instead of retrying a connection per request.
            if failed_at.is_some_and(|t| t.elapsed() < Duration::from_millis(500)) {
                continue;
            }
            if conn.is_none() {
                conn = self.connect();
            }
            let Some(c) = conn.as_mut() else {
                failed_at = Some(Instant::now());
                continue;
            };
            let ok = self.load(c, &loads) && self.suspend(c, &suspends);
            if ok {
                failed_at = None;
                self.healthy();
            } else {
                failed_at = Some(Instant::now());
                conn = None;
            }
            for (_, tx) in loads {
                let _ = tx.send(());
            }
        }
    }

    fn load(&self, c: &mut AnyConnection, loads: &[(String, oneshot::Sender<()>)]) -> bool {
        if loads.is_empty() {
            return true;
        }
        let mut names: Vec<String> = loads.iter().map(|(s, _)| s.clone()).collect();
        names.sort();
        names.dedup();
        let (hour, day) = windows();
        match store::counts(c, &names, hour, day) {
            Ok(rows) => {
                self.new_senders.fetch_add(
                    u64::try_from(names.len()).unwrap_or(u64::MAX),
                    Ordering::Relaxed,
                );
                let mut st = self.lock();
                for n in &names {
                    if let Some(s) = st.senders.get_mut(n) {
                        s.roll(hour, day);
                        s.db = Now::default();
                        s.loaded = true;
                    }
                }
                apply_counts(&mut st, rows, hour, day);
                true
            }
            Err(e) => {
                self.trouble(&format!("reading counters: {e}"));
                false
            }
        }
    }

    fn suspend(&self, c: &mut AnyConnection, suspends: &[(String, String)]) -> bool {
        for (sender, why) in suspends {
            match ops_limits::auto_suspend(c, self.cfg.seal.as_ref(), &self.cfg.host, sender, why) {
                Ok(_) => {
                    self.metrics
                        .auto_suspensions
                        .fetch_add(1, Ordering::Relaxed);
                    let mut st = self.lock();
                    st.suspended.insert(sender.clone());
                    if let Some(s) = st.senders.get_mut(sender) {
                        s.suspended_at = Some(Instant::now());
                    }
                }
                Err(e) => {
                    // Let a later refusal try again.
                    if let Some(s) = self.lock().senders.get_mut(sender) {
                        s.suspending = false;
                    }
                    self.trouble(&format!("suspending {sender}: {e}"));
                    return false;
                }
            }
        }
        true
    }

    /// The flusher thread: increments out, totals and limits in, the
    /// heartbeat, and pruning old windows.
    fn flusher(self: Arc<Self>) {
        let s = &self.cfg.settings;
        let flush = Duration::from_millis(s.flush_ms);
        let refresh = Duration::from_millis(s.refresh_ms);
        let mut conn: Option<AnyConnection> = None;
        let mut refreshed: Option<Instant> = None;
        let mut beat: Option<Instant> = None;
        let mut pruned: Option<Instant> = None;
        let mut analyzed: Option<Instant> = None;
        loop {
            let stopping = self.stop.load(Ordering::SeqCst);
            if conn.is_none() {
                conn = self.connect();
            }
            if let Some(c) = conn.as_mut() {
                let due =
                    |t: Option<Instant>, every: Duration| t.is_none_or(|t| t.elapsed() >= every);
                let mut ok = true;
                if due(refreshed, refresh) {
                    ok = self.refresh(c);
                    if ok {
                        refreshed = Some(Instant::now());
                    }
                }
                ok = ok && self.flush(c);
                if ok && due(beat, Duration::from_secs(2)) {
                    ok = self.heartbeat(c);
                    beat = Some(Instant::now());
                }
                if ok && due(analyzed, Duration::from_secs(60)) && self.analyze(c) {
                    analyzed = Some(Instant::now());
                }
                if ok && due(pruned, Duration::from_secs(3600)) {
                    let (_, day) = windows();
                    if let Err(e) = ops_limits::prune_counts(c, day - KEEP_SECS) {
                        self.trouble(&format!("pruning counters: {e}"));
                    }
                    pruned = Some(Instant::now());
                }
                if ok {
                    self.healthy();
                } else {
                    conn = None;
                }
            }
            if stopping {
                return;
            }
            std::thread::sleep(flush);
        }
    }

    /// On PostgreSQL, once 1,000 senders new to this host have been read:
    /// ANALYZE the counters. Their windows grow from nothing every hour and
    /// day, faster than autovacuum's ANALYZE follows, and with statistics
    /// that still see the windows empty PostgreSQL reads a first-time
    /// sender's counts by scanning the windows (8-17 ms a batch at 20,000
    /// rows) instead of the primary key; the loader, one batch at a time,
    /// then answered 3,100 first-time senders a second at most. True when
    /// it ran (a failure is only logged: the plan is slower, not wrong).
    fn analyze(&self, c: &mut AnyConnection) -> bool {
        use diesel::connection::SimpleConnection;
        if !matches!(c, AnyConnection::Postgresql(_))
            || self.new_senders.load(Ordering::Relaxed) < 1000
        {
            return false;
        }
        self.new_senders.store(0, Ordering::Relaxed);
        if let Err(e) = c.batch_execute("ANALYZE send_counters") {
            self.log(&format!("ANALYZE send_counters: {e}"));
        }
        self.metrics.analyzes.fetch_add(1, Ordering::Relaxed);
        true
    }

    fn refresh(&self, c: &mut AnyConnection) -> bool {
        let began = Instant::now();
        let limits = store::all_named(c);
        let suspended = store::suspended_addresses(c);
        match (limits, suspended) {
            (Ok(rows), Ok(susp)) => {
                let mut t = LimitTable::default();
                for (name, is_mailbox, l) in rows {
                    if is_mailbox {
                        t.mailboxes.insert(name, l);
                    } else {
                        t.domains.insert(name, l);
                    }
                }
                let mut susp: HashSet<String> = susp.into_iter().collect();
                let mut st = self.lock();
                let was = std::mem::take(&mut st.suspended);
                for (name, s) in st.senders.iter_mut() {
                    if was.contains(name) && !susp.contains(name) {
                        if s.suspended_at.is_some_and(|t| t >= began) {
                            // Written by this host after the read began.
                            susp.insert(name.clone());
                        } else {
                            s.resumed();
                        }
                    } else if !susp.contains(name) {
                        // A suspension still being written, or one that failed.
                        s.suspending = false;
                    }
                }
                st.limits = Some(t);
                st.suspended = susp;
                let cutoff = Instant::now().checked_sub(FORGET_AFTER);
                let pending: HashSet<String> = st.pending.keys().map(|k| k.0.clone()).collect();
                st.senders.retain(|n, s| {
                    pending.contains(n) || cutoff.is_none_or(|c| s.last_seen.is_some_and(|t| t > c))
                });
                true
            }
            (Err(e), _) | (_, Err(e)) => {
                self.trouble(&format!("reading limits: {e}"));
                false
            }
        }
    }

    fn flush(&self, c: &mut AnyConnection) -> bool {
        let (hour, day) = windows();
        let (batch, active) = {
            let mut st = self.lock();
            let batch = std::mem::take(&mut st.pending);
            let cutoff = Instant::now().checked_sub(ACTIVE);
            let counted: HashSet<&str> = batch.keys().map(|k| k.0.as_str()).collect();
            let active: Vec<String> =
                st.senders
                    .iter()
                    .filter(|(n, s)| {
                        s.loaded
                            && cutoff.is_none_or(|c| s.last_seen.is_some_and(|t| t > c))
                            && (counted.contains(n.as_str())
                                || st.limits.as_ref().is_some_and(|t| {
                                    near(&effective(t, n, self.defaults), &s.now())
                                }))
                    })
                    .map(|(n, _)| n.clone())
                    .collect();
            (batch, active)
        };
        let rows: Vec<ops_limits::Delta> = batch
            .iter()
            .map(|((s, span, start), n)| (s.clone(), *span, *start, *n))
            .collect();
        if let Err(e) = ops_limits::add_counts(c, &rows) {
            let mut st = self.lock();
            for (k, n) in batch {
                let e = st.pending.entry(k).or_default();
                *e = add(*e, n);
            }
            drop(st);
            self.trouble(&format!("writing counters: {e}"));
            return false;
        }
        let mut read = Vec::new();
        self.metrics.read_back.fetch_add(
            u64::try_from(active.len()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        for chunk in active.chunks(500) {
            match store::counts(c, chunk, hour, day) {
                Ok(r) => read.extend(r),
                Err(e) => {
                    self.trouble(&format!("reading counters: {e}"));
                    // The increments are written: only the read-back failed.
                    self.ack(&batch, hour, day);
                    return false;
                }
            }
        }
        let mut st = self.lock();
        ack_locked(&mut st, &batch, hour, day);
        for n in &active {
            if let Some(s) = st.senders.get_mut(n) {
                s.roll(hour, day);
                s.db = Now::default();
            }
        }
        apply_counts(&mut st, read, hour, day);
        true
    }

    fn ack(&self, batch: &HashMap<(String, i32, i64), Counts>, hour: i64, day: i64) {
        let mut st = self.lock();
        ack_locked(&mut st, batch, hour, day);
    }

    fn heartbeat(&self, c: &mut AnyConnection) -> bool {
        let m = &self.metrics;
        let err = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let hb = ops_limits::Heartbeat {
            host: &self.cfg.host,
            started_at: self.started,
            decisions: i64::try_from(m.decisions()).unwrap_or(i64::MAX),
            fail_open: i64::try_from(m.fail_open.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            last_error: err.as_ref().map(|(e, t)| (e.as_str(), *t)),
        };
        match ops_limits::heartbeat(c, &hb) {
            Ok(()) => true,
            Err(e) => {
                self.trouble(&format!("writing the heartbeat: {e}"));
                false
            }
        }
    }
}

enum Step {
    Done(String),
    Load(oneshot::Receiver<()>),
}

/// Limits for `sender`: its own, else its domain's, else the defaults,
/// field by field.
fn effective(t: &LimitTable, sender: &str, defaults: Limits) -> Limits {
    let own = t.mailboxes.get(sender).copied().unwrap_or_default();
    let domain = sender
        .rsplit_once('@')
        .and_then(|(_, d)| t.domains.get(d))
        .copied()
        .unwrap_or_default();
    own.or(domain).or(defaults)
}

/// Whether a sender's counts as this host knows them are at or past half
/// of one of its limits, or refused something this hour: then the other
/// hosts' counts can decide its next answer, and each flush reads them
/// back. A sender further from its limits is read back only when this host
/// counted it in the flush (so once it sends through this host again);
/// reading back every active sender made each flush cost in proportion to
/// all senders of the last two minutes (100,000 distinct senders at 5,000
/// decisions a second on PostgreSQL: 3,300 answered a second, p99 3.4 s).
fn near(l: &Limits, n: &Now) -> bool {
    let half = |count: i64, limit: Option<i32>| limit.is_some_and(|l| count * 2 >= i64::from(l));
    n.hour.refused > 0
        || half(n.hour.messages, l.per_hour)
        || half(n.day.messages, l.per_day)
        || half(n.day.recipients, l.rcpt_per_day)
}

/// Count `f` for `sender` in both windows, locally and for the next flush.
fn bump(st: &mut State, sender: &str, hour: i64, day: i64, f: impl Fn(&mut Counts)) {
    if let Some(s) = st.senders.get_mut(sender) {
        f(&mut s.unacked.hour);
        f(&mut s.unacked.day);
    }
    for (span, start) in [(HOUR, hour), (DAY, day)] {
        f(st.pending
            .entry((sender.to_string(), span, start))
            .or_default());
    }
}

/// The flushed increments are now in the database's totals.
fn ack_locked(st: &mut State, batch: &HashMap<(String, i32, i64), Counts>, hour: i64, day: i64) {
    for ((sender, span, start), n) in batch {
        if let Some(s) = st.senders.get_mut(sender) {
            if *span == HOUR && *start == hour && s.hour_start == hour {
                s.unacked.hour = sub(s.unacked.hour, *n);
            } else if *span == DAY && *start == day && s.day_start == day {
                s.unacked.day = sub(s.unacked.day, *n);
            }
        }
    }
}

fn apply_counts(st: &mut State, rows: Vec<(String, i32, Counts)>, hour: i64, day: i64) {
    for (sender, span, n) in rows {
        if let Some(s) = st.senders.get_mut(&sender) {
            if span == HOUR && s.hour_start == hour {
                s.db.hour = n;
            } else if span == DAY && s.day_start == day {
                s.db.day = n;
            }
        }
    }
}
