//! Sending limits and sending suspensions (issue 21): what the policy
//! service enforces, written and audited like every other change.
//!
//! Who may do what:
//! - limits (a mailbox's or a domain's): admins only. They protect the
//!   host's sending reputation, which every tenant shares, so a domain's
//!   own managers may read them but not raise them;
//! - suspending a mailbox's sending: whoever may manage the domain's
//!   mailboxes (stopping a phished account should not wait for an admin);
//! - resuming: admins only, so a tenant cannot undo containment of its
//!   own compromised account.

use diesel::prelude::*;
use diesel::Connection;
use serde::Serialize;
use serde_json::json;

use super::{audit, now, run_write, Client, ClientKind, Ctx, Done, Principal};
use crate::db::schema::{send_limits, sending_suspensions};
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::policyd::settings::PolicydSettings;
use crate::store::{self, send_limits::Limits, send_limits::Suspension};

/// Largest limit accepted (per hour, per day, per message).
pub const MAX_LIMIT: i32 = 10_000_000;
/// Longest suspension reason.
const MAX_REASON: usize = 500;

/// One field of an edit: keep it, set it, or clear it (inherit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Set(i32),
    Inherit,
}

/// The fields an edit changes (None: unchanged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitsEdit {
    pub per_hour: Option<Change>,
    pub per_day: Option<Change>,
    pub rcpt_per_msg: Option<Change>,
    pub rcpt_per_day: Option<Change>,
}

impl LimitsEdit {
    /// `text` as a change of `field`: a number from 1 to MAX_LIMIT, or
    /// "none"/"inherit" to take the domain's (or the default) again.
    pub fn parse(field: &str, text: &str) -> OpResult<Change> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("inherit") {
            return Ok(Change::Inherit);
        }
        t.parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .map(Change::Set)
            .ok_or_else(|| {
                OpError::invalid(
                    field,
                    format!(
                        "must be a number from 1 to {MAX_LIMIT}, or \"none\" to inherit (got {:?})",
                        crate::sanitize::for_terminal(text)
                    ),
                )
            })
    }

    fn apply(&self, old: Limits) -> OpResult<Limits> {
        let one = |field: &str, c: Option<Change>, v: Option<i32>| -> OpResult<Option<i32>> {
            match c {
                None => Ok(v),
                Some(Change::Inherit) => Ok(None),
                Some(Change::Set(n)) if (1..=MAX_LIMIT).contains(&n) => Ok(Some(n)),
                Some(Change::Set(n)) => Err(OpError::invalid(
                    field,
                    format!("must be a number from 1 to {MAX_LIMIT} (got {n})"),
                )),
            }
        };
        Ok(Limits {
            per_hour: one("per_hour", self.per_hour, old.per_hour)?,
            per_day: one("per_day", self.per_day, old.per_day)?,
            rcpt_per_msg: one("rcpt_per_msg", self.rcpt_per_msg, old.rcpt_per_msg)?,
            rcpt_per_day: one("rcpt_per_day", self.rcpt_per_day, old.rcpt_per_day)?,
        })
    }
}

/// The `[policyd]` defaults as limits (0 there means none).
pub fn defaults(s: &PolicydSettings) -> Limits {
    let v = |n: u32| i32::try_from(n).ok().filter(|n| *n > 0);
    Limits {
        per_hour: v(s.per_hour),
        per_day: v(s.per_day),
        rcpt_per_msg: v(s.rcpt_per_msg),
        rcpt_per_day: v(s.rcpt_per_day),
    }
}

/// A mailbox's or domain's limits: its own, what it inherits, and what
/// applies.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsView {
    pub target: String,
    pub own: Limits,
    /// The domain's (for a mailbox); None for a domain.
    pub domain: Option<Limits>,
    pub defaults: Limits,
    pub effective: Limits,
    /// The mailbox's sending suspension, if any.
    pub suspended: Option<Suspension>,
}

/// Which row a limit belongs to.
#[derive(Clone, Copy)]
enum Owner {
    Mailbox(i32),
    Domain(i32),
}

fn stored(c: &mut AnyConnection, o: Owner) -> QueryResult<Option<Limits>> {
    match o {
        Owner::Mailbox(id) => store::send_limits::for_mailbox(c, id),
        Owner::Domain(id) => store::send_limits::for_domain(c, id),
    }
}

/// Write `new` as `o`'s row: update, insert, or delete when nothing is set.
fn save(c: &mut AnyConnection, o: Owner, existed: bool, new: Limits) -> QueryResult<()> {
    let (mailbox_id, domain_id) = match o {
        Owner::Mailbox(id) => (Some(id), None),
        Owner::Domain(id) => (None, Some(id)),
    };
    let mine = |c: &mut AnyConnection| -> QueryResult<Vec<i32>> {
        let q = send_limits::table.select(send_limits::id).into_boxed();
        match o {
            Owner::Mailbox(id) => q.filter(send_limits::mailbox_id.eq(id)).load(c),
            Owner::Domain(id) => q.filter(send_limits::domain_id.eq(id)).load(c),
        }
    };
    let values = (
        send_limits::per_hour.eq(new.per_hour),
        send_limits::per_day.eq(new.per_day),
        send_limits::rcpt_per_msg.eq(new.rcpt_per_msg),
        send_limits::rcpt_per_day.eq(new.rcpt_per_day),
        send_limits::updated_at.eq(now()),
    );
    if new.is_empty() {
        let ids = mine(c)?;
        diesel::delete(send_limits::table.filter(send_limits::id.eq_any(ids))).execute(c)?;
    } else if existed {
        let ids = mine(c)?;
        diesel::update(send_limits::table.filter(send_limits::id.eq_any(ids)))
            .set(values)
            .execute(c)?;
    } else {
        diesel::insert_into(send_limits::table)
            .values((
                send_limits::mailbox_id.eq(mailbox_id),
                send_limits::domain_id.eq(domain_id),
                values,
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Change a mailbox's limits (admins only).
pub fn set_mailbox(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    address: &str,
    edit: &LimitsEdit,
) -> OpResult<LimitsView> {
    let request = json!({ "target": address, "scope": "mailbox" });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::SendLimit,
        request,
        |c, who| {
            let (m, _) = super::mailboxes::find(c, who, address)?;
            who.require_admin("changing sending limits")?;
            let before = stored(c, Owner::Mailbox(m.id))?;
            let after = edit.apply(before.unwrap_or_default())?;
            save(c, Owner::Mailbox(m.id), before.is_some(), after)?;
            let view = mailbox_view(c, settings, &m)?;
            let done = Done::new(
                None,
                json!({ "target": m.username, "scope": "mailbox",
                        "before": before.unwrap_or_default(), "after": after }),
            );
            Ok((view, done))
        },
    )
}

/// Change a domain's limits, the default of its mailboxes (admins only).
pub fn set_domain(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    name: &str,
    edit: &LimitsEdit,
) -> OpResult<LimitsView> {
    let request = json!({ "target": name, "scope": "domain" });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::SendLimit,
        request,
        |c, who| {
            let d = domain(c, who, name)?;
            who.require_admin("changing sending limits")?;
            let before = stored(c, Owner::Domain(d.id))?;
            let after = edit.apply(before.unwrap_or_default())?;
            save(c, Owner::Domain(d.id), before.is_some(), after)?;
            let view = domain_view(c, settings, &d)?;
            let done = Done::new(
                None,
                json!({ "target": d.name, "scope": "domain",
                        "before": before.unwrap_or_default(), "after": after }),
            );
            Ok((view, done))
        },
    )
}

fn domain(
    c: &mut AnyConnection,
    who: &Principal,
    name: &str,
) -> OpResult<crate::db::models::Domain> {
    let d = super::domains::find(c, "domain", name)?;
    if !who.can_read_domain(d.id) {
        return Err(OpError::not_found("domain", name.to_string()));
    }
    Ok(d)
}

fn mailbox_view(
    c: &mut AnyConnection,
    settings: &PolicydSettings,
    m: &crate::db::models::Mailbox,
) -> OpResult<LimitsView> {
    let own = stored(c, Owner::Mailbox(m.id))?.unwrap_or_default();
    let dom = stored(c, Owner::Domain(m.domain_id))?.unwrap_or_default();
    let defaults = defaults(settings);
    Ok(LimitsView {
        target: m.username.clone(),
        own,
        domain: Some(dom),
        defaults,
        effective: own.or(dom).or(defaults),
        suspended: store::send_limits::suspension(c, m.id)?,
    })
}

fn domain_view(
    c: &mut AnyConnection,
    settings: &PolicydSettings,
    d: &crate::db::models::Domain,
) -> OpResult<LimitsView> {
    let own = stored(c, Owner::Domain(d.id))?.unwrap_or_default();
    let defaults = defaults(settings);
    Ok(LimitsView {
        target: d.name.clone(),
        own,
        domain: None,
        defaults,
        effective: own.or(defaults),
        suspended: None,
    })
}

/// A mailbox's limits, for anyone who may read the mailbox.
pub fn mailbox(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    address: &str,
) -> OpResult<LimitsView> {
    let who = Principal::load(conn, ctx)?;
    let (m, _) = super::mailboxes::find(conn, &who, address)?;
    mailbox_view(conn, settings, &m)
}

/// A domain's limits, for anyone who may read the domain.
pub fn domain_limits(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    name: &str,
) -> OpResult<LimitsView> {
    let who = Principal::load(conn, ctx)?;
    let d = domain(conn, &who, name)?;
    domain_view(conn, settings, &d)
}

fn check_reason(reason: &str) -> OpResult<String> {
    let r = crate::validate::description("reason", reason)?
        .ok_or_else(|| OpError::invalid("reason", "must not be empty"))?;
    if r.chars().count() > MAX_REASON {
        return Err(OpError::invalid(
            "reason",
            format!("must be at most {MAX_REASON} characters"),
        ));
    }
    Ok(r)
}

fn insert_suspension(
    c: &mut AnyConnection,
    mailbox_id: i32,
    reason: &str,
    automatic: bool,
    by: &str,
) -> QueryResult<usize> {
    diesel::insert_into(sending_suspensions::table)
        .values((
            sending_suspensions::mailbox_id.eq(mailbox_id),
            sending_suspensions::reason.eq(reason),
            sending_suspensions::automatic.eq(automatic),
            sending_suspensions::created_by.eq(by),
            sending_suspensions::created_at.eq(now()),
        ))
        .execute(c)
}

/// Stop a mailbox from sending: its smtp/submission logins, its sender
/// login map entry, and the policy service all refuse it until `resume`.
pub fn suspend(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    reason: &str,
) -> OpResult<Suspension> {
    let request = json!({ "address": address, "reason": reason });
    run_write(
        conn,
        ctx,
        AuditAction::Suspend,
        AuditType::Sending,
        request,
        |c, who| {
            let (m, d) = super::mailboxes::find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            let reason = check_reason(reason)?;
            if let Some(s) = store::send_limits::suspension(c, m.id)? {
                return Err(OpError::duplicate(
                    "address",
                    format!(
                        "{} is already suspended for sending since {} ({})",
                        m.username, s.created_at, s.reason
                    ),
                ));
            }
            insert_suspension(c, m.id, &reason, false, &who.username)?;
            let s = store::send_limits::suspension(c, m.id)?
                .ok_or_else(|| OpError::not_found("sending suspension", m.username.clone()))?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "address": m.username, "after": s }),
            );
            Ok((s, done))
        },
    )
}

/// Let a suspended mailbox send again (admins only).
pub fn resume(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Suspension> {
    let request = json!({ "address": address });
    run_write(
        conn,
        ctx,
        AuditAction::Activate,
        AuditType::Sending,
        request,
        |c, who| {
            let (m, _) = super::mailboxes::find(c, who, address)?;
            who.require_admin("resuming a mailbox's sending")?;
            let before = store::send_limits::suspension(c, m.id)?.ok_or_else(|| {
                OpError::not_found_in("address", "sending suspension", m.username.clone())
            })?;
            diesel::delete(
                sending_suspensions::table.filter(sending_suspensions::mailbox_id.eq(m.id)),
            )
            .execute(c)?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "address": m.username, "before": before }),
            );
            Ok((before, done))
        },
    )
}

/// Suspensions of the mailboxes the user may see.
pub fn suspensions(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Vec<Suspension>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    Ok(store::send_limits::suspensions(conn, scope.as_deref())?)
}

/// Containment by the policy service itself: suspend `address` with
/// `reason`, audited with no user (actor `policyd@HOST`). Returns false
/// when there is no such mailbox or it is already suspended (another host
/// may have been first).
pub fn auto_suspend(
    conn: &mut AnyConnection,
    seal: Option<&super::audit_seal::Seal>,
    host: &str,
    address: &str,
    reason: &str,
) -> OpResult<bool> {
    let actor = format!("policyd@{host}");
    let client = Client {
        kind: ClientKind::Cli,
        ip: "local".into(),
    };
    write_tx(conn, |c| {
        let Some(m) = store::mailboxes::by_address(c, address)? else {
            return Ok(false);
        };
        if store::send_limits::suspension(c, m.id)?.is_some() {
            return Ok(false);
        }
        insert_suspension(c, m.id, reason, true, &actor)?;
        let s = store::send_limits::suspension(c, m.id)?;
        audit::insert(
            c,
            (seal, crate::db::migrate::Tables::CURRENT),
            None,
            &actor,
            &client,
            audit::Entry {
                action: AuditAction::Suspend,
                resource_type: AuditType::Sending,
                resource_id: Some(i64::from(m.id)),
                details: json!({ "address": m.username, "after": s, "automatic": true }),
                result: audit::RESULT_OK,
            },
        )?;
        Ok(true)
    })
}

/// A sender's counts in the current window with its limit and state.
#[derive(Debug, Clone, Serialize)]
pub struct SenderView {
    pub sender: String,
    pub messages: i64,
    pub recipients: i64,
    pub refused: i64,
    /// The effective message limit of the window (per hour or per day).
    pub limit: Option<i32>,
    pub suspended: bool,
}

/// What a listing of senders needs to know besides the counts: who the
/// user may see, each sender's effective limits, who is suspended.
struct SenderIndex {
    /// The domains the user may see; None: all.
    scope: Option<std::collections::HashSet<String>>,
    mailboxes: std::collections::HashMap<String, Limits>,
    domains: std::collections::HashMap<String, Limits>,
    suspended: std::collections::HashSet<String>,
    defaults: Limits,
}

impl SenderIndex {
    fn load(c: &mut AnyConnection, who: &Principal, settings: &PolicydSettings) -> OpResult<Self> {
        use crate::db::schema::domains;
        // Counters are keyed by login name, not domain id: a scoped user's
        // rows are picked by the address's domain.
        let scope = match who.domain_scope() {
            None => None,
            Some(ids) => Some(
                domains::table
                    .filter(domains::id.eq_any(ids))
                    .select(domains::name)
                    .load::<String>(c)?
                    .into_iter()
                    .collect(),
            ),
        };
        let mut ix = SenderIndex {
            scope,
            mailboxes: Default::default(),
            domains: Default::default(),
            suspended: store::send_limits::suspended_addresses(c)?
                .into_iter()
                .collect(),
            defaults: defaults(settings),
        };
        for (name, is_mailbox, l) in store::send_limits::all_named(c)? {
            if is_mailbox {
                ix.mailboxes.insert(name, l);
            } else {
                ix.domains.insert(name, l);
            }
        }
        Ok(ix)
    }

    fn visible(&self, sender: &str) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|n| sender.rsplit_once('@').is_some_and(|(_, d)| n.contains(d)))
    }

    fn effective(&self, sender: &str) -> Limits {
        let own = self.mailboxes.get(sender).copied().unwrap_or_default();
        let dom = sender
            .rsplit_once('@')
            .and_then(|(_, d)| self.domains.get(d))
            .copied()
            .unwrap_or_default();
        own.or(dom).or(self.defaults)
    }
}

/// Unix seconds of the current hour's and UTC day's starts.
fn windows() -> (i64, i64) {
    let t = chrono::Utc::now().timestamp();
    (t - t.rem_euclid(3600), t - t.rem_euclid(86_400))
}

/// The busiest senders of the current hour (or day) that the user may
/// see: `stats senders` and `policyd senders`.
pub fn top_senders(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    day: bool,
    limit: i64,
) -> OpResult<Vec<SenderView>> {
    use store::send_limits::{DAY, HOUR};
    let who = Principal::load(conn, ctx)?;
    let limit = limit.clamp(1, 10_000);
    let (hour_start, day_start) = windows();
    let (span, start) = if day {
        (DAY, day_start)
    } else {
        (HOUR, hour_start)
    };
    let ix = SenderIndex::load(conn, &who, settings)?;
    let fetch = if ix.scope.is_some() { 10_000 } else { limit };
    let rows = store::send_limits::top(conn, span, start, fetch)?;
    Ok(rows
        .into_iter()
        .filter(|r| ix.visible(&r.sender))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|r| {
            let eff = ix.effective(&r.sender);
            SenderView {
                suspended: ix.suspended.contains(&r.sender),
                limit: if day { eff.per_day } else { eff.per_hour },
                sender: r.sender,
                messages: r.messages,
                recipients: r.recipients,
                refused: r.refused,
            }
        })
        .collect())
}

/// One row of the Senders screen: a sender's counts this hour and today,
/// the limits that apply to it, and whether it is suspended for sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SenderLine {
    pub sender: String,
    pub hour: store::send_limits::Counts,
    pub day: store::send_limits::Counts,
    pub limits: Limits,
    pub suspended: bool,
}

/// The Senders screen: the busiest senders of this hour and of today,
/// busiest first (messages this hour, then today), and every suspended
/// mailbox the user may see even when it sent nothing (an automatic
/// suspension is an alert to act on). At most `limit` rows.
pub fn sender_lines(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    limit: i64,
) -> OpResult<Vec<SenderLine>> {
    use store::send_limits::{DAY, HOUR};
    let who = Principal::load(conn, ctx)?;
    let limit = limit.clamp(1, 1000);
    let ix = SenderIndex::load(conn, &who, settings)?;
    let (hour, day) = windows();
    let fetch = if ix.scope.is_some() { 10_000 } else { limit };
    let mut names: Vec<String> = store::send_limits::top(conn, HOUR, hour, fetch)?
        .into_iter()
        .chain(store::send_limits::top(conn, DAY, day, fetch)?)
        .map(|r| r.sender)
        .chain(ix.suspended.iter().cloned())
        .filter(|s| ix.visible(s))
        .collect();
    names.sort();
    names.dedup();
    lines_of(conn, &ix, names, limit)
}

/// One sender's line (the screen's row after a write), for whoever may
/// see its domain.
pub fn sender_line(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &PolicydSettings,
    sender: &str,
) -> OpResult<SenderLine> {
    let who = Principal::load(conn, ctx)?;
    let ix = SenderIndex::load(conn, &who, settings)?;
    let sender = sender.trim().to_lowercase();
    if !ix.visible(&sender) {
        return Err(OpError::not_found("sender", sender));
    }
    lines_of(conn, &ix, vec![sender.clone()], 1)?
        .pop()
        .ok_or_else(|| OpError::not_found("sender", sender))
}

fn lines_of(
    conn: &mut AnyConnection,
    ix: &SenderIndex,
    names: Vec<String>,
    limit: i64,
) -> OpResult<Vec<SenderLine>> {
    use store::send_limits::HOUR;
    let (hour, day) = windows();
    let mut lines: std::collections::HashMap<String, SenderLine> = names
        .into_iter()
        .map(|n| {
            let l = SenderLine {
                hour: Default::default(),
                day: Default::default(),
                limits: ix.effective(&n),
                suspended: ix.suspended.contains(&n),
                sender: n.clone(),
            };
            (n, l)
        })
        .collect();
    let keys: Vec<String> = lines.keys().cloned().collect();
    // A page names up to 1,000 senders (10,000 for a domain admin's
    // filter): one read of the windows beats looking each one up; one
    // sender's line is one lookup.
    let counts = if keys.len() > 50 {
        store::send_limits::window_counts(conn, &keys, hour, day)?
    } else {
        store::send_limits::counts(conn, &keys, hour, day)?
    };
    for (sender, span, n) in counts {
        if let Some(l) = lines.get_mut(&sender) {
            if span == HOUR {
                l.hour = n;
            } else {
                l.day = n;
            }
        }
    }
    let mut out: Vec<SenderLine> = lines.into_values().collect();
    out.sort_by(|a, b| {
        (b.hour.messages, b.day.messages, b.hour.recipients)
            .cmp(&(a.hour.messages, a.day.messages, a.hour.recipients))
            .then_with(|| a.sender.cmp(&b.sender))
    });
    out.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(out)
}

/// The Senders screen's change token: the current windows' counters, and
/// the newest audit entry (suspensions and resumes are audited).
pub fn senders_token(
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> OpResult<(store::quota::ChangeToken, i64)> {
    Principal::load(conn, ctx)?;
    let (hour, day) = windows();
    let t = store::send_limits::window_token(conn, hour, day)?;
    Ok((t, store::audit::newest_id(conn)?))
}

/// One row of counts to add: (sender, window length, window start, counts).
pub type Delta = (String, i32, i64, store::send_limits::Counts);

/// Add the policy service's counts to the shared counters, one UPSERT per
/// row (multi-row on PostgreSQL, where each statement is a round trip), in
/// one transaction. Not audited: counting mail is not a change anyone made.
pub fn add_counts(conn: &mut AnyConnection, rows: &[Delta]) -> OpResult<()> {
    use crate::db::schema::send_counters::dsl as sc;
    use diesel::upsert::excluded;
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = rows
        .iter()
        .map(|(sender, span, start, n)| {
            (
                sc::sender.eq(sender),
                sc::span_secs.eq(*span),
                sc::window_start.eq(*start),
                sc::messages.eq(n.messages),
                sc::recipients.eq(n.recipients),
                sc::refused.eq(n.refused),
            )
        })
        .collect();
    let set = (
        sc::messages.eq(sc::messages + excluded(sc::messages)),
        sc::recipients.eq(sc::recipients + excluded(sc::recipients)),
        sc::refused.eq(sc::refused + excluded(sc::refused)),
    );
    conn.transaction(|c| {
        match c {
            AnyConnection::Postgresql(p) => {
                // 6 parameters a row, far below PostgreSQL's 65535.
                for chunk in values.chunks(1000) {
                    diesel::insert_into(sc::send_counters)
                        .values(chunk)
                        .on_conflict((sc::sender, sc::span_secs, sc::window_start))
                        .do_update()
                        .set(set)
                        .execute(p)?;
                }
            }
            AnyConnection::Sqlite(s) => {
                for v in &values {
                    diesel::insert_into(sc::send_counters)
                        .values(*v)
                        .on_conflict((sc::sender, sc::span_secs, sc::window_start))
                        .do_update()
                        .set(set)
                        .execute(s)?;
                }
            }
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// Drop counter windows that started before `before` (Unix seconds).
pub fn prune_counts(conn: &mut AnyConnection, before: i64) -> OpResult<usize> {
    use crate::db::schema::send_counters::dsl as sc;
    Ok(diesel::delete(sc::send_counters.filter(sc::window_start.lt(before))).execute(conn)?)
}

/// A policy service host's heartbeat: its totals so far and its last
/// trouble (kept until a newer one).
pub struct Heartbeat<'a> {
    pub host: &'a str,
    pub started_at: chrono::NaiveDateTime,
    pub decisions: i64,
    pub fail_open: i64,
    pub last_error: Option<(&'a str, chrono::NaiveDateTime)>,
}

pub fn heartbeat(conn: &mut AnyConnection, h: &Heartbeat<'_>) -> OpResult<()> {
    use crate::db::schema::policyd_status::dsl as ps;
    let t = now();
    let n = diesel::update(ps::policyd_status.filter(ps::host.eq(h.host)))
        .set((
            ps::started_at.eq(h.started_at),
            ps::seen_at.eq(t),
            ps::decisions.eq(h.decisions),
            ps::fail_open.eq(h.fail_open),
        ))
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(ps::policyd_status)
            .values((
                ps::host.eq(h.host),
                ps::started_at.eq(h.started_at),
                ps::seen_at.eq(t),
                ps::decisions.eq(h.decisions),
                ps::fail_open.eq(h.fail_open),
            ))
            .execute(conn)?;
    }
    if let Some((e, at)) = h.last_error {
        diesel::update(ps::policyd_status.filter(ps::host.eq(h.host)))
            .set((ps::last_error.eq(Some(e)), ps::last_error_at.eq(Some(at))))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_or_name_the_field() {
        assert_eq!(
            LimitsEdit::parse("per_hour", "200").unwrap(),
            Change::Set(200)
        );
        assert_eq!(
            LimitsEdit::parse("per_hour", "none").unwrap(),
            Change::Inherit
        );
        for bad in ["0", "-1", "10000001", "x", ""] {
            let e = LimitsEdit::parse("per_day", bad).unwrap_err();
            assert!(e.to_string().starts_with("per_day:"), "{bad}: {e}");
        }
    }

    #[test]
    fn inheritance_takes_each_unset_field_from_the_parent() {
        let own = Limits {
            per_hour: Some(5),
            ..Default::default()
        };
        let dom = Limits {
            per_hour: Some(50),
            per_day: Some(100),
            ..Default::default()
        };
        let eff = own.or(dom).or(defaults(&PolicydSettings::default()));
        assert_eq!(eff.per_hour, Some(5));
        assert_eq!(eff.per_day, Some(100));
        assert_eq!(eff.rcpt_per_msg, Some(50));
    }
}
