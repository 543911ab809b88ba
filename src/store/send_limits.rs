//! Sending limits, suspensions, the policy service's shared counters and
//! its heartbeat (issue 21): row types and reads. The writes are
//! `ops::send_limits` (audited) and the counter UPSERTs of `policyd::store`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    domains, mailboxes, policyd_status, send_counters, send_limits, sending_suspensions,
};
use crate::db::AnyConnection;

/// Seconds in the two fixed windows.
pub const HOUR: i32 = 3600;
pub const DAY: i32 = 86_400;

/// Limits as stored: None inherits (mailbox -> domain -> `[policyd]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub per_hour: Option<i32>,
    pub per_day: Option<i32>,
    pub rcpt_per_msg: Option<i32>,
    pub rcpt_per_day: Option<i32>,
}

impl Limits {
    /// Each unset field taken from `parent`.
    pub fn or(self, parent: Limits) -> Limits {
        Limits {
            per_hour: self.per_hour.or(parent.per_hour),
            per_day: self.per_day.or(parent.per_day),
            rcpt_per_msg: self.rcpt_per_msg.or(parent.rcpt_per_msg),
            rcpt_per_day: self.rcpt_per_day.or(parent.rcpt_per_day),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

type LimitCols = (
    send_limits::per_hour,
    send_limits::per_day,
    send_limits::rcpt_per_msg,
    send_limits::rcpt_per_day,
);
const LIMIT_COLS: LimitCols = (
    send_limits::per_hour,
    send_limits::per_day,
    send_limits::rcpt_per_msg,
    send_limits::rcpt_per_day,
);

fn limits_of(t: (Option<i32>, Option<i32>, Option<i32>, Option<i32>)) -> Limits {
    Limits {
        per_hour: t.0,
        per_day: t.1,
        rcpt_per_msg: t.2,
        rcpt_per_day: t.3,
    }
}

pub fn for_mailbox(c: &mut AnyConnection, mailbox_id: i32) -> QueryResult<Option<Limits>> {
    Ok(send_limits::table
        .filter(send_limits::mailbox_id.eq(mailbox_id))
        .select(LIMIT_COLS)
        .first(c)
        .optional()?
        .map(limits_of))
}

pub fn for_domain(c: &mut AnyConnection, domain_id: i32) -> QueryResult<Option<Limits>> {
    Ok(send_limits::table
        .filter(send_limits::domain_id.eq(domain_id))
        .select(LIMIT_COLS)
        .first(c)
        .optional()?
        .map(limits_of))
}

/// Every stored limit by name: (mailbox address or domain name, is a
/// mailbox, limits). What the policy service caches; one row per mailbox
/// or domain that has its own limits, so small next to `mailboxes`.
pub fn all_named(c: &mut AnyConnection) -> QueryResult<Vec<(String, bool, Limits)>> {
    let m: Vec<(String, _)> = send_limits::table
        .inner_join(mailboxes::table.on(send_limits::mailbox_id.eq(mailboxes::id.nullable())))
        .select((mailboxes::username, LIMIT_COLS))
        .load(c)?;
    let d: Vec<(String, _)> = send_limits::table
        .inner_join(domains::table.on(send_limits::domain_id.eq(domains::id.nullable())))
        .select((domains::name, LIMIT_COLS))
        .load(c)?;
    Ok(m.into_iter()
        .map(|(n, l)| (n, true, limits_of(l)))
        .chain(d.into_iter().map(|(n, l)| (n, false, limits_of(l))))
        .collect())
}

/// A suspension with its mailbox's address.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct Suspension {
    pub address: String,
    pub mailbox_id: i32,
    pub domain_id: i32,
    pub reason: String,
    pub automatic: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

type SuspensionCols = (
    mailboxes::username,
    sending_suspensions::mailbox_id,
    mailboxes::domain_id,
    sending_suspensions::reason,
    sending_suspensions::automatic,
    sending_suspensions::created_by,
    sending_suspensions::created_at,
);
const SUSPENSION_COLS: SuspensionCols = (
    mailboxes::username,
    sending_suspensions::mailbox_id,
    mailboxes::domain_id,
    sending_suspensions::reason,
    sending_suspensions::automatic,
    sending_suspensions::created_by,
    sending_suspensions::created_at,
);

pub fn suspension(c: &mut AnyConnection, mailbox_id: i32) -> QueryResult<Option<Suspension>> {
    sending_suspensions::table
        .inner_join(mailboxes::table)
        .filter(sending_suspensions::mailbox_id.eq(mailbox_id))
        .select(SUSPENSION_COLS)
        .first(c)
        .optional()
}

/// Suspensions in the scope (None: all), by address.
pub fn suspensions(c: &mut AnyConnection, scope: Option<&[i32]>) -> QueryResult<Vec<Suspension>> {
    let mut q = sending_suspensions::table
        .inner_join(mailboxes::table)
        .select(SUSPENSION_COLS)
        .order(mailboxes::username.asc())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    q.load(c)
}

/// Every suspended address (the policy service's cache).
pub fn suspended_addresses(c: &mut AnyConnection) -> QueryResult<Vec<String>> {
    sending_suspensions::table
        .inner_join(mailboxes::table)
        .select(mailboxes::username)
        .load(c)
}

/// One sender's counts in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub messages: i64,
    pub recipients: i64,
    pub refused: i64,
}

/// Counts of `senders` in the windows starting at `hour` and `day`:
/// (sender, span, counts), looked up by sender: for the policy service,
/// which asks for the few senders it just saw or counted, whatever the
/// number of senders in the windows.
pub fn counts(
    c: &mut AnyConnection,
    senders: &[String],
    hour: i64,
    day: i64,
) -> QueryResult<Vec<(String, i32, Counts)>> {
    let rows: Vec<(String, i32, i64, i64, i64)> = send_counters::table
        .filter(send_counters::sender.eq_any(senders))
        .filter(in_windows(hour, day))
        .select(COUNT_COLUMNS)
        .load(c)?;
    Ok(rows.into_iter().map(count_row).collect())
}

/// `counts` for many senders (the Senders screen's page): both windows are
/// read whole through their index and the senders picked here, not with
/// `sender IN (...)` in SQL: PostgreSQL plans that from statistics which
/// do not know a window that just started (a new hour, before autovacuum's
/// ANALYZE), and then tests every row of both windows against the list one
/// name at a time (330-640 ms for 1,000 names at 10,000 active senders;
/// 35 ms this way, see docs/policy-service.md). The Senders screen's
/// change token reads the same rows. Costs in proportion to the senders
/// of the windows, so not for the policy service's few names.
pub fn window_counts(
    c: &mut AnyConnection,
    senders: &[String],
    hour: i64,
    day: i64,
) -> QueryResult<Vec<(String, i32, Counts)>> {
    let wanted: std::collections::HashSet<&str> = senders.iter().map(String::as_str).collect();
    let rows: Vec<(String, i32, i64, i64, i64)> = send_counters::table
        .filter(in_windows(hour, day))
        .select(COUNT_COLUMNS)
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|(s, ..)| wanted.contains(s.as_str()))
        .map(count_row)
        .collect())
}

type CountColumns = (
    send_counters::sender,
    send_counters::span_secs,
    send_counters::messages,
    send_counters::recipients,
    send_counters::refused,
);

const COUNT_COLUMNS: CountColumns = (
    send_counters::sender,
    send_counters::span_secs,
    send_counters::messages,
    send_counters::recipients,
    send_counters::refused,
);

/// One window: its length and start.
type InWindow = diesel::dsl::And<
    diesel::dsl::Eq<send_counters::span_secs, i32>,
    diesel::dsl::Eq<send_counters::window_start, i64>,
>;

/// The hour window starting at `hour` or the day window starting at `day`.
fn in_windows(hour: i64, day: i64) -> diesel::dsl::Or<InWindow, InWindow> {
    send_counters::span_secs
        .eq(HOUR)
        .and(send_counters::window_start.eq(hour))
        .or(send_counters::span_secs
            .eq(DAY)
            .and(send_counters::window_start.eq(day)))
}

fn count_row((s, span, m, r, f): (String, i32, i64, i64, i64)) -> (String, i32, Counts) {
    (
        s,
        span,
        Counts {
            messages: m,
            recipients: r,
            refused: f,
        },
    )
}

/// A sender's counts in a window, for `stats senders` and the TUI.
#[derive(Debug, Clone, Serialize)]
pub struct SenderRow {
    pub sender: String,
    pub messages: i64,
    pub recipients: i64,
    pub refused: i64,
}

/// The busiest senders of one window (by messages, then recipients).
pub fn top(
    c: &mut AnyConnection,
    span: i32,
    window_start: i64,
    limit: i64,
) -> QueryResult<Vec<SenderRow>> {
    let rows: Vec<(String, i64, i64, i64)> = send_counters::table
        .filter(send_counters::span_secs.eq(span))
        .filter(send_counters::window_start.eq(window_start))
        .order((
            send_counters::messages.desc(),
            send_counters::recipients.desc(),
            send_counters::sender.asc(),
        ))
        .limit(limit)
        .select((
            send_counters::sender,
            send_counters::messages,
            send_counters::recipients,
            send_counters::refused,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(sender, messages, recipients, refused)| SenderRow {
            sender,
            messages,
            recipients,
            refused,
        })
        .collect())
}

/// A policy service host's heartbeat row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = policyd_status)]
pub struct HostStatus {
    pub host: String,
    pub started_at: NaiveDateTime,
    pub seen_at: NaiveDateTime,
    pub decisions: i64,
    pub fail_open: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<NaiveDateTime>,
}

pub fn hosts(c: &mut AnyConnection) -> QueryResult<Vec<HostStatus>> {
    policyd_status::table
        .order(policyd_status::host.asc())
        .select(HostStatus::as_select())
        .load(c)
}

/// What changes when any sender's counts in the current hour or day
/// change: (rows, messages, recipients + refused) over the two windows'
/// rows (one row per active sender and window, so a small sum). The
/// Senders screen's live check.
pub fn window_token(c: &mut AnyConnection, hour: i64, day: i64) -> QueryResult<(i64, i64, i64)> {
    let rows: Vec<(i64, i64, i64)> = send_counters::table
        .filter(
            send_counters::span_secs
                .eq(HOUR)
                .and(send_counters::window_start.eq(hour))
                .or(send_counters::span_secs
                    .eq(DAY)
                    .and(send_counters::window_start.eq(day))),
        )
        .select((
            send_counters::messages,
            send_counters::recipients,
            send_counters::refused,
        ))
        .load(c)?;
    let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    Ok(rows.iter().fold((n, 0, 0), |(n, m, r), (a, b, f)| {
        (n, m.saturating_add(*a), r.saturating_add(b + f))
    }))
}
