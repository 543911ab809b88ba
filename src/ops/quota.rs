//! Quota usage from Dovecot written into mailboxes.quota_used, all mailboxes
//! in one transaction with one audit row. Domain totals follow through the
//! database trigger. Admin-only: it rewrites every domain's numbers.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{run_write, Ctx, Done};
use crate::db::schema::mailboxes;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
use crate::ops::Principal;
use crate::store::quota::{
    self as store, ChangeToken, DomainRow, MailboxRow, SampleSummary, Totals,
};

/// Usernames named in an audit row at most; the counts are always complete.
const LISTED: usize = 20;
/// Rows per `IN (...)` lookup, well under every backend's parameter limit.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncSummary {
    /// Mailboxes Dovecot reported.
    pub reported: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Reported by Dovecot but not in the database (first few named).
    pub unknown: usize,
    pub unknown_names: Vec<String>,
    /// Sum of the reported usage, bytes.
    pub total_bytes: i64,
}

/// Parse `output` of `doveadm -f tab quota get -A` and write it; malformed
/// output is refused (and audited) with its line number, changing nothing.
/// `source` (the command run) goes into the audit row.
pub fn sync_from_output(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    output: &str,
    source: &str,
) -> OpResult<SyncSummary> {
    let request = json!({ "source": source, "output_bytes": output.len() });
    run_write(
        conn,
        ctx,
        AuditAction::QuotaSync,
        AuditType::Mailbox,
        request,
        |c, who| {
            who.require_admin("quota sync")?;
            let usage: Vec<(String, i64)> = crate::mail::quota::parse(output)?
                .into_iter()
                .map(|u| (u.username, u.bytes))
                .collect();
            write_usage(c, &usage, source)
        },
    )
}

fn write_usage(
    c: &mut AnyConnection,
    usage: &[(String, i64)],
    source: &str,
) -> OpResult<(SyncSummary, Done)> {
    {
        if let Some((u, b)) = usage.iter().find(|(_, b)| *b < 0) {
            return Err(OpError::invalid(
                "quota_used",
                format!("{u}: {b} bytes is negative"),
            ));
        }
        let mut current: HashMap<String, (i32, i64)> = HashMap::new();
        for chunk in usage.chunks(CHUNK) {
            let names: Vec<&str> = chunk.iter().map(|(u, _)| u.as_str()).collect();
            let rows: Vec<(i32, String, i64)> = mailboxes::table
                .filter(mailboxes::username.eq_any(names))
                .select((mailboxes::id, mailboxes::username, mailboxes::quota_used))
                .load(c)?;
            current.extend(rows.into_iter().map(|(id, u, q)| (u, (id, q))));
        }
        let mut s = SyncSummary {
            reported: usage.len(),
            ..Default::default()
        };
        for (user, bytes) in usage {
            s.total_bytes = s.total_bytes.saturating_add(*bytes);
            match current.get(user) {
                None => {
                    s.unknown += 1;
                    if s.unknown_names.len() < LISTED {
                        s.unknown_names.push(user.clone());
                    }
                }
                Some((_, q)) if q == bytes => s.unchanged += 1,
                // version and updated_at stay: usage is not an admin's edit,
                // and bumping them would break admins' optimistic locks.
                Some((id, _)) => {
                    diesel::update(mailboxes::table.find(*id))
                        .set(mailboxes::quota_used.eq(*bytes))
                        .execute(c)?;
                    s.updated += 1;
                }
            }
        }
        let done = Done::new(None, json!({ "source": source, "summary": s }));
        Ok((s, done))
    }
}

/// How many history samples the dashboard's sparkline shows.
pub const HISTORY_POINTS: i64 = 60;

/// Everything the live dashboard draws, read from aggregates and indexes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Snapshot {
    pub token: ChangeToken,
    pub totals: Totals,
    /// Domains by percent used, highest first.
    pub domains: Vec<DomainRow>,
    /// Mailboxes by percent used, highest first (unlimited ones left out).
    pub mailboxes: Vec<MailboxRow>,
    /// The host's recent usage samples, oldest first (admins only: the
    /// host total would tell a scoped user about other domains).
    pub history: Vec<i64>,
}

/// The dashboard's refresh: `None` when the change token still equals
/// `known` (one aggregate over the domain rows, nothing else read), else a
/// fresh snapshot. The token is read before the data, so a write landing
/// in between shows now and merely causes one more refresh later.
pub fn watch(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    known: Option<ChangeToken>,
    top: i64,
) -> OpResult<Option<Snapshot>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    let scope = scope.as_deref();
    let token = store::change_token(conn, scope)?;
    if known == Some(token) {
        return Ok(None);
    }
    let top = top.clamp(1, 200);
    let history = if scope.is_none() {
        store::host_history(conn, HISTORY_POINTS)?
    } else {
        Vec::new()
    };
    Ok(Some(Snapshot {
        token,
        totals: store::totals(conn, scope)?,
        domains: store::domains_by_usage(conn, scope, None, top)?,
        mailboxes: store::mailboxes_by_usage(conn, scope, Some(0), None, top)?,
        history,
    }))
}

/// The change token of the rows a table screen lists: the dashboard's
/// token (same triggers, same single aggregate over domain rows) over the
/// domains this user may see, or only `domain` for a screen scoped to one,
/// and, for an admin or readonly user, the newest audit id. Every `ops`
/// write adds an audit row in its own transaction, so that catches the
/// edits the counters do not count (a status, a name, an alias's targets)
/// from any process, for one primary-key probe; a domain-scoped user gets
/// the counters only, which tell nothing about other domains. A table
/// screen re-reads its visible page only when this moves.
pub fn table_token(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    domain: Option<i32>,
) -> OpResult<(ChangeToken, i64)> {
    let who = Principal::load(conn, ctx)?;
    let newest = if who.domain_scope().is_none() {
        crate::store::audit::newest_id(conn)?
    } else {
        0
    };
    let scope = match (who.domain_scope(), domain) {
        (None, None) => None,
        (None, Some(d)) => Some(vec![d]),
        (Some(ids), None) => Some(ids),
        (Some(ids), Some(d)) => Some(ids.into_iter().filter(|x| *x == d).collect()),
    };
    Ok((store::change_token(conn, scope.as_deref())?, newest))
}

/// A domain's or mailbox's recent usage change points, oldest first, for
/// whoever may see that domain.
pub fn history(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    mailbox: bool,
    id: i32,
) -> OpResult<Vec<(chrono::NaiveDateTime, i64)>> {
    let who = Principal::load(conn, ctx)?;
    let domain_id = if mailbox {
        mailboxes::table
            .find(id)
            .select(mailboxes::domain_id)
            .first::<i32>(conn)
            .optional()?
    } else {
        Some(id)
    };
    let visible = match (domain_id, who.domain_scope()) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(d), Some(scope)) => scope.contains(&d),
    };
    if !visible {
        return Err(OpError::NotFound {
            kind: if mailbox { "mailbox" } else { "domain" },
            key: format!("#{id}"),
            field: None,
        });
    }
    Ok(if mailbox {
        store::mailbox_history(conn, id, HISTORY_POINTS)?
    } else {
        store::domain_history(conn, id, HISTORY_POINTS)?
    })
}

/// Rows listed by `quota check` at most, per kind; the counts stay exact.
pub const CHECK_LIMIT: i64 = 1000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Flagged {
    pub kind: &'static str,
    pub name: String,
    pub used: i64,
    pub limit: i64,
    pub percent: f64,
    /// "warning" or "critical".
    pub level: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CheckReport {
    /// "OK", "WARNING" or "CRITICAL".
    pub status: &'static str,
    pub warn_percent: u32,
    pub crit_percent: u32,
    /// Mailboxes plus domains at or over --crit (exact).
    pub critical: i64,
    /// ... at or over --warn but under --crit (exact).
    pub warning: i64,
    /// The flagged rows, highest first; at most CHECK_LIMIT per kind.
    pub rows: Vec<Flagged>,
    /// True when more rows are over --warn than `rows` lists.
    pub truncated: bool,
}

impl CheckReport {
    /// Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            "CRITICAL" => 2,
            "WARNING" => 1,
            _ => 0,
        }
    }
}

/// Which level a permille value reaches, if any.
pub fn level(permille: i64, warn_percent: u32, crit_percent: u32) -> Option<&'static str> {
    if permille < 0 {
        None
    } else if permille >= i64::from(crit_percent) * 10 {
        Some("critical")
    } else if permille >= i64::from(warn_percent) * 10 {
        Some("warning")
    } else {
        None
    }
}

/// Validate thresholds: 1..=1000 percent, warn not above crit.
pub fn check_thresholds(warn: u32, crit: u32) -> OpResult<()> {
    if !(1..=1000).contains(&warn) {
        return Err(OpError::invalid(
            "warn",
            "must be a percent between 1 and 1000",
        ));
    }
    if !(1..=1000).contains(&crit) {
        return Err(OpError::invalid(
            "crit",
            "must be a percent between 1 and 1000",
        ));
    }
    if warn > crit {
        return Err(OpError::invalid("warn", "must not be above --crit"));
    }
    Ok(())
}

/// Mailboxes and domains at or over the thresholds (what the caller may see).
pub fn check(conn: &mut AnyConnection, ctx: &Ctx, warn: u32, crit: u32) -> OpResult<CheckReport> {
    check_thresholds(warn, crit)?;
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    let scope = scope.as_deref();
    let min = i64::from(warn) * 10;
    let (cm, cd) = store::count_over(conn, scope, i64::from(crit) * 10)?;
    let (wm, wd) = store::count_over(conn, scope, min)?;
    // With none over, the lists would be empty: skip their reads (on
    // PostgreSQL the domains' is a scan of every domain row, no permille
    // index there).
    let mut rows = Vec::new();
    let domains = if wd > 0 {
        store::domains_over(conn, scope, min, CHECK_LIMIT)?
    } else {
        Vec::new()
    };
    for d in domains {
        if let Some(l) = level(d.permille, warn, crit) {
            rows.push(Flagged {
                kind: "domain",
                name: crate::sanitize::for_terminal(&d.name),
                used: d.used,
                limit: d.limit,
                percent: d.permille as f64 / 10.0,
                level: l,
            });
        }
    }
    let mailboxes = if wm > 0 {
        store::mailboxes_by_usage(conn, scope, Some(min), None, CHECK_LIMIT)?
    } else {
        Vec::new()
    };
    for m in mailboxes {
        if let Some(l) = level(m.permille, warn, crit) {
            rows.push(Flagged {
                kind: "mailbox",
                name: crate::sanitize::for_terminal(&m.username),
                used: m.used,
                limit: m.limit,
                percent: m.permille as f64 / 10.0,
                level: l,
            });
        }
    }
    let critical = cm + cd;
    let warning = wm + wd - critical;
    let truncated = (rows.len() as i64) < wm + wd;
    let status = if critical > 0 {
        "CRITICAL"
    } else if warning > 0 {
        "WARNING"
    } else {
        "OK"
    };
    Ok(CheckReport {
        status,
        warn_percent: warn,
        crit_percent: crit,
        critical,
        warning,
        rows,
        truncated,
    })
}

/// Ids per slice of `quota sample`: a slice with changes holds the write
/// lock for tens of milliseconds at most, so an admin's save waits at most
/// that long behind the cron job, never for the whole run; a slice without
/// changes does not take it at all.
pub const SAMPLE_BATCH: i32 = 20_000;

/// Record a usage sample (and prune what is older than `history_days`).
/// Admin-only. Not audited: it changes no setting, and a cron job every
/// few minutes would bury the audit log in identical rows.
pub fn sample(conn: &mut AnyConnection, ctx: &Ctx, history_days: u32) -> OpResult<SampleSummary> {
    sample_in_batches(conn, ctx, history_days, SAMPLE_BATCH, |_| {})
}

/// [`sample`] with the batch size given, calling `between` after each
/// slice (outside any transaction). Each batch is a slice of `batch` ids
/// read, and written only if something changed, on its own: a sample is a
/// set of independent per-row facts, so a run stopped halfway leaves
/// correct samples for the slices it finished, and the next run carries on.
pub fn sample_in_batches(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    history_days: u32,
    batch: i32,
    mut between: impl FnMut(&mut AnyConnection),
) -> OpResult<SampleSummary> {
    if !(1..=3650).contains(&history_days) {
        return Err(OpError::invalid(
            "history_days",
            "must be between 1 and 3650",
        ));
    }
    if batch < 1 {
        return Err(OpError::invalid("batch", "must be at least 1"));
    }
    let who = Principal::load(conn, ctx)?;
    who.require_admin("quota sample")?;
    let now = super::now();
    let keep = now - chrono::TimeDelta::days(i64::from(history_days));
    Ok(store::sample(conn, now, keep, batch, &mut between)?)
}
