//! Bulk operations on many rows at once: suspend, activate, delete and set
//! quota on mailboxes; suspend, activate, delete aliases; suspend, activate,
//! set limits, grant and revoke a user's permission on domains.
//!
//! Every bulk action is one `run_write`: one transaction, all rows or none.
//! The plan (which rows, which domains, what changes) is computed inside the
//! transaction, so a row deleted by another session between `preview` and
//! `apply` makes the apply a refusal that changes nothing.
//!
//! Speed: rows are loaded and written with `eq_any` in chunks of `CHUNK`, and
//! authorization is decided once per distinct domain, so 10,000 rows cost a
//! few dozen queries, not 10,000.
//!
//! Audit: one audit row per changed row (same action and resource type as the
//! single-row operation, with `"bulk": true` in its details) plus one summary
//! row for the whole action written by `run_write`. Per-row rows keep the
//! question "what happened to mailbox 42?" answerable by resource id, exactly
//! as for single edits; the summary ties them together and is where a refusal
//! is recorded. They are inserted in batches (`audit::record_many`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{audit, now, run_write, Ctx, Done, Principal};
use crate::db::models::Domain;
use crate::db::schema::{aliases, domains, mailboxes};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, CsvTable, Entity, Perm, Status};
use crate::validate::{self, format_size};

/// Rows per `eq_any` query and per UPDATE/DELETE statement: well under the
/// bind-parameter limits of SQLite (32,766) and PostgreSQL (65,535).
pub const CHUNK: usize = 500;

/// How many offending rows an error names before saying "and N more".
const NAMED: usize = 20;

/// What a bulk action will do (or did): "suspend 1,284 mailboxes in 3 domains".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Preview {
    pub action: String,
    pub kind: String,
    /// Rows named in the request (after removing duplicates).
    pub rows: usize,
    /// Rows the action changes (a suspend of an already suspended row does not).
    pub changes: usize,
    /// The domains of the rows, by name.
    pub domains: Vec<String>,
    pub summary: String,
}

/// 1284 -> "1,284", for any integer type (no cast needed to call it).
pub fn thousands(n: impl std::fmt::Display) -> String {
    let s = n.to_string();
    if let Some(digits) = s.strip_prefix('-') {
        return format!("-{}", thousands(digits));
    }
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

fn summary(verb: &str, n: usize, one: &str, many: &str, domains: usize, extra: &str) -> String {
    let mut s = format!("{verb} {}", plural(n, one, many));
    if one != "domain" {
        s.push_str(&format!(" in {}", plural(domains, "domain", "domains")));
    }
    if !extra.is_empty() {
        s.push(' ');
        s.push_str(extra);
    }
    s
}

/// "a, b, c and 17 more"
fn name_some(keys: &[String]) -> String {
    let shown: Vec<&str> = keys.iter().take(NAMED).map(String::as_str).collect();
    let mut s = shown.join(", ");
    if keys.len() > NAMED {
        s.push_str(&format!(" and {} more", thousands(keys.len() - NAMED)));
    }
    s
}

/// Deduplicate keys keeping their first order; `norm` validates one key
/// (errors name the item's position, 1-based).
fn normalize(keys: &[String], norm: impl Fn(&str) -> OpResult<String>) -> OpResult<Vec<String>> {
    if keys.is_empty() {
        return Err(OpError::invalid("rows", "no rows given"));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let n = norm(k).map_err(|e| OpError::invalid(format!("row {}", i + 1), e.to_string()))?;
        if seen.insert(n.clone()) {
            out.push(n);
        }
    }
    Ok(out)
}

/// The least every bulk row needs: its id, key, domain and status.
#[derive(Debug, Clone)]
struct Row {
    id: i32,
    key: String,
    domain_id: i32,
    status: String,
    quota: i64,
    /// Bytes in use: a quota below it is warned about in the preview.
    used: i64,
}

fn load_domains(c: &mut AnyConnection, ids: &BTreeSet<i32>) -> OpResult<HashMap<i32, Domain>> {
    let ids: Vec<i32> = ids.iter().copied().collect();
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let ds: Vec<Domain> = domains::table
            .filter(domains::id.eq_any(chunk.to_vec()))
            .select(Domain::as_select())
            .load(c)?;
        out.extend(ds.into_iter().map(|d| (d.id, d)));
    }
    Ok(out)
}

/// Keys that matched no row, and rows the principal may not even read
/// (reported as "not found", as single-row operations do), refuse the
/// whole action naming them; then rows in domains where the principal lacks
/// `perm` refuse it naming them and why.
fn authorize(
    who: &Principal,
    kind: &'static str,
    keys: &[String],
    rows: &[Row],
    doms: &HashMap<i32, Domain>,
    perm: Perm,
) -> OpResult<()> {
    let found: HashMap<&str, &Row> = rows.iter().map(|r| (r.key.as_str(), r)).collect();
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| {
            found
                .get(k.as_str())
                .is_none_or(|r| !who.can_read_domain(r.domain_id))
        })
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(OpError::not_found(kind, name_some(&missing)));
    }
    // One decision per domain, not per row.
    let mut refused: BTreeMap<i32, String> = BTreeMap::new();
    for (id, d) in doms {
        if let Err(e) = who.require_domain(d, perm) {
            refused.insert(*id, e.to_string());
        }
    }
    if refused.is_empty() {
        return Ok(());
    }
    let offending: Vec<String> = keys
        .iter()
        .filter(|k| {
            found
                .get(k.as_str())
                .is_some_and(|r| refused.contains_key(&r.domain_id))
        })
        .cloned()
        .collect();
    let reasons: Vec<String> = refused
        .values()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Err(OpError::Denied(format!(
        "{} of {} {kind} rows may not be changed by {}: {} ({}); nothing was changed",
        thousands(offending.len()),
        thousands(keys.len()),
        who.username,
        name_some(&offending),
        reasons.join("; ")
    )))
}

// ---------------------------------------------------------------- mailboxes

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MailboxAction {
    Suspend,
    Activate,
    Delete,
    /// Bytes; 0 = unlimited (where the domain allows it).
    SetQuota(i64),
}

impl MailboxAction {
    fn verb(self) -> &'static str {
        match self {
            MailboxAction::Suspend => "suspend",
            MailboxAction::Activate => "activate",
            MailboxAction::Delete => "delete",
            MailboxAction::SetQuota(_) => "set quota of",
        }
    }
    /// Each changed row's audit row.
    fn audit_action(self) -> AuditAction {
        match self {
            MailboxAction::Suspend => AuditAction::Suspend,
            MailboxAction::Activate => AuditAction::Activate,
            MailboxAction::Delete => AuditAction::Delete,
            MailboxAction::SetQuota(_) => AuditAction::Update,
        }
    }
    /// The whole action's audit row.
    fn bulk_action(self) -> AuditAction {
        match self {
            MailboxAction::Suspend => AuditAction::BulkSuspend,
            MailboxAction::Activate => AuditAction::BulkActivate,
            MailboxAction::Delete => AuditAction::BulkDelete,
            MailboxAction::SetQuota(_) => AuditAction::BulkUpdate,
        }
    }
    fn changes(self, r: &Row) -> bool {
        match self {
            MailboxAction::Suspend => r.status != "suspended",
            MailboxAction::Activate => r.status != "active",
            MailboxAction::Delete => true,
            MailboxAction::SetQuota(q) => r.quota != q,
        }
    }
}

fn load_mailboxes(c: &mut AnyConnection, keys: &[String]) -> OpResult<Vec<Row>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let rows: Vec<(i32, String, i32, String, i64, i64)> = mailboxes::table
            .filter(mailboxes::username.eq_any(chunk))
            .select((
                mailboxes::id,
                mailboxes::username,
                mailboxes::domain_id,
                mailboxes::status,
                mailboxes::quota_limit,
                mailboxes::quota_used,
            ))
            .load(c)?;
        out.extend(
            rows.into_iter()
                .map(|(id, key, domain_id, status, quota, used)| Row {
                    id,
                    key,
                    domain_id,
                    status,
                    quota,
                    used,
                }),
        );
    }
    Ok(out)
}

struct Plan {
    rows: Vec<Row>,
    preview: Preview,
}

fn normalize_addresses(keys: &[String]) -> OpResult<Vec<String>> {
    normalize(keys, |k| Ok(validate::lookup_address("address", k)?.0))
}

fn plan_mailboxes(
    c: &mut AnyConnection,
    who: &Principal,
    keys: &[String],
    action: MailboxAction,
) -> OpResult<Plan> {
    let keys = normalize_addresses(keys)?;
    let rows = load_mailboxes(c, &keys)?;
    let dom_ids: BTreeSet<i32> = rows.iter().map(|r| r.domain_id).collect();
    let doms = load_domains(c, &dom_ids)?;
    authorize(who, "mailbox", &keys, &rows, &doms, Perm::Mailboxes)?;
    if let MailboxAction::SetQuota(q) = action {
        check_bulk_quota(c, &rows, &doms, q)?;
    }
    let changing: Vec<Row> = rows.into_iter().filter(|r| action.changes(r)).collect();
    let extra = match action {
        MailboxAction::SetQuota(q) => {
            let mut t = format!("to {}", quota_text(q));
            // Allowed (the admin may mean it), never silent: those
            // mailboxes refuse new mail until they shrink.
            let over: Vec<String> = changing
                .iter()
                .filter(|r| q > 0 && r.used > q)
                .map(|r| format!("{} ({} in use)", r.key, crate::units::human(r.used)))
                .collect();
            if !over.is_empty() {
                let (holds, refuses) = if over.len() == 1 {
                    ("holds", "refuses")
                } else {
                    ("hold", "refuse")
                };
                t.push_str(&format!(
                    "; WARNING: {} already {holds} more and then {refuses} new mail: {}",
                    plural(over.len(), "mailbox", "mailboxes"),
                    name_some(&over)
                ));
            }
            t
        }
        _ => String::new(),
    };
    let mut names: Vec<String> = doms.values().map(|d| d.name.clone()).collect();
    names.sort();
    let preview = Preview {
        action: action.verb().to_string(),
        kind: "mailbox".into(),
        rows: keys.len(),
        changes: changing.len(),
        summary: summary(
            action.verb(),
            changing.len(),
            "mailbox",
            "mailboxes",
            changing
                .iter()
                .map(|r| r.domain_id)
                .collect::<BTreeSet<_>>()
                .len(),
            &extra,
        ),
        domains: names,
    };
    Ok(Plan {
        rows: changing,
        preview,
    })
}

fn quota_text(q: i64) -> String {
    if q == 0 {
        "unlimited".into()
    } else {
        format_size(q)
    }
}

/// The domain rules of `mailboxes::check_quota`, decided per domain for all
/// of its rows at once: per-mailbox cap, and the total allotment after every
/// row of the domain has the new quota.
fn check_bulk_quota(
    c: &mut AnyConnection,
    rows: &[Row],
    doms: &HashMap<i32, Domain>,
    q: i64,
) -> OpResult<()> {
    if q < 0 {
        return Err(OpError::invalid("quota", "must not be negative"));
    }
    let mut per_domain: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    for r in rows {
        let e = per_domain.entry(r.domain_id).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(r.quota);
    }
    for (id, (n, old_sum)) in per_domain {
        let Some(d) = doms.get(&id) else { continue };
        if (d.max_mailbox_quota > 0 || d.quota_limit > 0) && q == 0 {
            return Err(OpError::invalid(
                "quota",
                format!(
                    "unlimited is not allowed in {}: it has a quota limit",
                    d.name
                ),
            ));
        }
        if d.max_mailbox_quota > 0 && q > d.max_mailbox_quota {
            return Err(OpError::invalid(
                "quota",
                format!(
                    "{} exceeds the per-mailbox maximum of {} for {}",
                    format_size(q),
                    format_size(d.max_mailbox_quota),
                    d.name
                ),
            ));
        }
        if d.quota_limit > 0 {
            let allotted = crate::store::domains::allotted(c, id, None)?;
            let after = allotted
                .saturating_sub(old_sum)
                .saturating_add(q.saturating_mul(n));
            if after > d.quota_limit {
                return Err(OpError::invalid(
                    "quota",
                    format!(
                        "{} for {} mailboxes would bring {} to {} allotted, over its total quota of {}",
                        format_size(q),
                        thousands(n),
                        d.name,
                        format_size(after),
                        format_size(d.quota_limit)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// What `mailboxes_apply` would do, without writing.
pub fn mailboxes_preview(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &[String],
    action: MailboxAction,
) -> OpResult<Preview> {
    let who = Principal::load(conn, ctx)?;
    Ok(plan_mailboxes(conn, &who, keys, action)?.preview)
}

/// Apply `action` to every mailbox in `keys`, in one transaction.
pub fn mailboxes_apply(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &[String],
    action: MailboxAction,
) -> OpResult<Preview> {
    let request = json!({ "action": action.verb(), "rows": keys.len(), "first": keys.iter().take(NAMED).collect::<Vec<_>>() });
    run_write(
        conn,
        ctx,
        action.bulk_action(),
        AuditType::Mailbox,
        request,
        |c, who| {
            let plan = plan_mailboxes(c, who, keys, action)?;
            let t = now();
            let ids: Vec<i32> = plan.rows.iter().map(|r| r.id).collect();
            let mut written = 0usize;
            for chunk in ids.chunks(CHUNK) {
                let target = mailboxes::table.filter(mailboxes::id.eq_any(chunk));
                written += match action {
                    MailboxAction::Delete => {
                        super::deleted::hold_many(c, who, chunk, &ctx.policy.lifecycle)?
                    }
                    MailboxAction::Suspend | MailboxAction::Activate => {
                        let s = if action == MailboxAction::Suspend {
                            Status::Suspended
                        } else {
                            Status::Active
                        };
                        diesel::update(target)
                            .set((
                                mailboxes::status.eq(s.as_str()),
                                mailboxes::updated_at.eq(t),
                                mailboxes::version.eq(mailboxes::version + 1),
                            ))
                            .execute(c)?
                    }
                    MailboxAction::SetQuota(q) => diesel::update(target)
                        .set((
                            mailboxes::quota_limit.eq(q),
                            mailboxes::updated_at.eq(t),
                            mailboxes::version.eq(mailboxes::version + 1),
                        ))
                        .execute(c)?,
                };
            }
            if written != ids.len() {
                // Another session deleted rows after we read them (PostgreSQL):
                // refuse, which rolls every chunk back.
                return Err(OpError::Conflict(format!(
                    "{} of {} mailboxes changed while saving; nothing was changed, try again",
                    thousands(ids.len() - written),
                    thousands(ids.len())
                )));
            }
            let entries = plan
            .rows
            .iter()
            .map(|r| audit::Entry {
                action: action.audit_action(),
                resource_type: AuditType::Mailbox,
                resource_id: Some(i64::from(r.id)),
                details: match action {
                    MailboxAction::Delete => json!({ "address": r.key, "before": { "status": r.status, "quota_limit": r.quota }, "bulk": true }),
                    MailboxAction::SetQuota(q) => json!({ "address": r.key, "before": { "quota_limit": r.quota }, "after": { "quota_limit": q }, "bulk": true }),
                    _ => json!({ "address": r.key, "before": { "status": r.status }, "after": { "status": if action == MailboxAction::Suspend { "suspended" } else { "active" } }, "bulk": true }),
                },
                result: audit::RESULT_OK,
            })
            .collect();
            audit::record_many(c, ctx, entries)?;
            let p = plan.preview;
            let done = Done::new(
                None,
                json!({ "summary": p.summary, "rows": p.rows, "changed": p.changes, "domains": p.domains }),
            );
            Ok((p, done))
        },
    )
}

// ---------------------------------------------------------------- aliases

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AliasAction {
    Suspend,
    Activate,
    Delete,
}

impl AliasAction {
    fn verb(self) -> &'static str {
        match self {
            AliasAction::Suspend => "suspend",
            AliasAction::Activate => "activate",
            AliasAction::Delete => "delete",
        }
    }
    /// Each changed row's audit row.
    fn audit_action(self) -> AuditAction {
        match self {
            AliasAction::Suspend => AuditAction::Suspend,
            AliasAction::Activate => AuditAction::Activate,
            AliasAction::Delete => AuditAction::Delete,
        }
    }
    /// The whole action's audit row.
    fn bulk_action(self) -> AuditAction {
        match self {
            AliasAction::Suspend => AuditAction::BulkSuspend,
            AliasAction::Activate => AuditAction::BulkActivate,
            AliasAction::Delete => AuditAction::BulkDelete,
        }
    }
    fn changes(self, r: &Row) -> bool {
        match self {
            AliasAction::Suspend => r.status != "suspended",
            AliasAction::Activate => r.status != "active",
            AliasAction::Delete => true,
        }
    }
}

fn plan_aliases(
    c: &mut AnyConnection,
    who: &Principal,
    keys: &[String],
    action: AliasAction,
) -> OpResult<Plan> {
    let keys = normalize(
        keys,
        |k| Ok(validate::lookup_alias_address("address", k)?.0),
    )?;
    let mut rows = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(CHUNK) {
        let got: Vec<(i32, String, i32, String)> = aliases::table
            .filter(aliases::address.eq_any(chunk))
            .select((
                aliases::id,
                aliases::address,
                aliases::domain_id,
                aliases::status,
            ))
            .load(c)?;
        rows.extend(got.into_iter().map(|(id, key, domain_id, status)| Row {
            id,
            key,
            domain_id,
            status,
            quota: 0,
            used: 0,
        }));
    }
    let dom_ids: BTreeSet<i32> = rows.iter().map(|r| r.domain_id).collect();
    let doms = load_domains(c, &dom_ids)?;
    authorize(who, "alias", &keys, &rows, &doms, Perm::Aliases)?;
    let changing: Vec<Row> = rows.into_iter().filter(|r| action.changes(r)).collect();
    let mut names: Vec<String> = doms.values().map(|d| d.name.clone()).collect();
    names.sort();
    let preview = Preview {
        action: action.verb().into(),
        kind: "alias".into(),
        rows: keys.len(),
        changes: changing.len(),
        summary: summary(
            action.verb(),
            changing.len(),
            "alias",
            "aliases",
            changing
                .iter()
                .map(|r| r.domain_id)
                .collect::<BTreeSet<_>>()
                .len(),
            "",
        ),
        domains: names,
    };
    Ok(Plan {
        rows: changing,
        preview,
    })
}

pub fn aliases_preview(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &[String],
    action: AliasAction,
) -> OpResult<Preview> {
    let who = Principal::load(conn, ctx)?;
    Ok(plan_aliases(conn, &who, keys, action)?.preview)
}

pub fn aliases_apply(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &[String],
    action: AliasAction,
) -> OpResult<Preview> {
    let request = json!({ "action": action.verb(), "rows": keys.len(), "first": keys.iter().take(NAMED).collect::<Vec<_>>() });
    run_write(
        conn,
        ctx,
        action.bulk_action(),
        AuditType::Alias,
        request,
        |c, who| {
            let plan = plan_aliases(c, who, keys, action)?;
            let t = now();
            let ids: Vec<i32> = plan.rows.iter().map(|r| r.id).collect();
            let mut written = 0usize;
            for chunk in ids.chunks(CHUNK) {
                let target = aliases::table.filter(aliases::id.eq_any(chunk));
                written += match action {
                    AliasAction::Delete => diesel::delete(target).execute(c)?,
                    AliasAction::Suspend | AliasAction::Activate => {
                        let s = if action == AliasAction::Suspend {
                            "suspended"
                        } else {
                            "active"
                        };
                        diesel::update(target)
                            .set((
                                aliases::status.eq(s),
                                aliases::updated_at.eq(t),
                                aliases::version.eq(aliases::version + 1),
                            ))
                            .execute(c)?
                    }
                };
            }
            if written != ids.len() {
                return Err(OpError::Conflict(format!(
                    "{} of {} aliases changed while saving; nothing was changed, try again",
                    thousands(ids.len() - written),
                    thousands(ids.len())
                )));
            }
            let entries = plan
            .rows
            .iter()
            .map(|r| audit::Entry {
                action: action.audit_action(),
                resource_type: AuditType::Alias,
                resource_id: Some(i64::from(r.id)),
                details: match action {
                    AliasAction::Delete => json!({ "address": r.key, "before": { "status": r.status }, "bulk": true }),
                    _ => json!({ "address": r.key, "before": { "status": r.status }, "after": { "status": if action == AliasAction::Suspend { "suspended" } else { "active" } }, "bulk": true }),
                },
                result: audit::RESULT_OK,
            })
            .collect();
            audit::record_many(c, ctx, entries)?;
            let p = plan.preview;
            let done = Done::new(
                None,
                json!({ "summary": p.summary, "rows": p.rows, "changed": p.changes, "domains": p.domains }),
            );
            Ok((p, done))
        },
    )
}

// ---------------------------------------------------------------- domains

/// Domain actions are admin-only and touch at most a few hundred rows, so
/// apply runs the single-row operations inside the bulk transaction (each a
/// savepoint with its own audit row): every validation rule of the single
/// edit applies unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainAction {
    Suspend,
    Activate,
    SetLimits(super::domains::DomainInput),
    Grant { username: String, perms: Vec<Perm> },
    Revoke { username: String },
}

impl PartialEq for super::domains::DomainInput {
    fn eq(&self, o: &Self) -> bool {
        self.description == o.description
            && self.quota_limit == o.quota_limit
            && self.max_mailboxes == o.max_mailboxes
            && self.max_aliases == o.max_aliases
            && self.max_mailbox_quota == o.max_mailbox_quota
            && self.transport == o.transport
            && self.password_max_age_days == o.password_max_age_days
    }
}
impl Eq for super::domains::DomainInput {}

impl DomainAction {
    fn verb(&self) -> String {
        match self {
            DomainAction::Suspend => "suspend".into(),
            DomainAction::Activate => "activate".into(),
            DomainAction::SetLimits(_) => "set limits of".into(),
            DomainAction::Grant { username, perms } => format!(
                "grant {username} {} on",
                perms
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            DomainAction::Revoke { username } => format!("revoke {username}'s permissions on"),
        }
    }
    /// The whole action's audit row (each row's is its single-row operation's).
    fn bulk_action(&self) -> AuditAction {
        match self {
            DomainAction::Suspend => AuditAction::BulkSuspend,
            DomainAction::Activate => AuditAction::BulkActivate,
            DomainAction::SetLimits(_) => AuditAction::BulkUpdate,
            DomainAction::Grant { .. } => AuditAction::BulkGrant,
            DomainAction::Revoke { .. } => AuditAction::BulkRevoke,
        }
    }
}

fn plan_domains(
    c: &mut AnyConnection,
    who: &Principal,
    keys: &[String],
    action: &DomainAction,
) -> OpResult<(Vec<Domain>, Preview)> {
    let keys = normalize(keys, |k| validate::domain("name", k))?;
    let mut found: HashMap<String, Domain> = HashMap::new();
    for chunk in keys.chunks(CHUNK) {
        let ds: Vec<Domain> = domains::table
            .filter(domains::name.eq_any(chunk))
            .select(Domain::as_select())
            .load(c)?;
        found.extend(ds.into_iter().map(|d| (d.name.clone(), d)));
    }
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| !found.contains_key(*k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(OpError::not_found("domain", name_some(&missing)));
    }
    if !who.is_admin() {
        return Err(OpError::Denied(format!(
            "{} of {} domain rows may not be changed by {}: {} (bulk domain actions need role admin; {} has role {}); nothing was changed",
            thousands(keys.len()),
            thousands(keys.len()),
            who.username,
            name_some(&keys),
            who.username,
            who.role.as_str()
        )));
    }
    let rows: Vec<Domain> = keys.iter().filter_map(|k| found.remove(k)).collect();
    if let DomainAction::SetLimits(input) = action {
        refuse_limits(c, &rows, input)?;
    }
    let changes = match action {
        DomainAction::Suspend => rows.iter().filter(|d| d.status != "suspended").count(),
        DomainAction::Activate => rows.iter().filter(|d| d.status != "active").count(),
        _ => rows.len(),
    };
    let verb = action.verb();
    let preview = Preview {
        action: verb.clone(),
        kind: "domain".into(),
        rows: rows.len(),
        changes,
        domains: keys.clone(),
        summary: summary(&verb, changes, "domain", "domains", 0, ""),
    };
    Ok((rows, preview))
}

/// The checks a limits edit makes on each domain (`domains::checked_edit`,
/// the same function the apply runs), made on every row before anything is
/// written: the preview then names each row that would be refused instead
/// of promising a change the apply cannot make.
fn refuse_limits(
    c: &mut AnyConnection,
    rows: &[Domain],
    input: &super::domains::DomainInput,
) -> OpResult<()> {
    let mut refused = Vec::new();
    let mut field = None;
    for d in rows {
        if let Err(e) = super::domains::checked_edit(c, d, input) {
            match e {
                OpError::Invalid { field: f, message } => {
                    refused.push(format!("{}: {f} {message}", d.name));
                    field.get_or_insert(f);
                }
                other => return Err(other),
            }
        }
    }
    let Some(field) = field else {
        return Ok(());
    };
    let n = refused.len();
    let mut text = format!(
        "{} of {} would be refused, so nothing will change:",
        plural(n, "domain", "domains"),
        thousands(rows.len())
    );
    for line in refused.iter().take(NAMED) {
        text.push_str("\n  ");
        text.push_str(line);
    }
    if n > NAMED {
        text.push_str(&format!("\n  and {} more", thousands(n - NAMED)));
    }
    Err(OpError::invalid(field, text))
}

pub fn domains_preview(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &[String],
    action: &DomainAction,
) -> OpResult<Preview> {
    let who = Principal::load(conn, ctx)?;
    Ok(plan_domains(conn, &who, keys, action)?.1)
}

pub fn domains_apply(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &[String],
    action: &DomainAction,
) -> OpResult<Preview> {
    let request = json!({ "action": action.verb(), "rows": keys.len(), "first": keys.iter().take(NAMED).collect::<Vec<_>>() });
    run_write(
        conn,
        ctx,
        action.bulk_action(),
        AuditType::Domain,
        request,
        |c, who| {
            let (rows, preview) = plan_domains(c, who, keys, action)?;
            for d in &rows {
                // A failing row names itself: the single-row errors say which field.
                let named = |e: OpError| match e {
                    OpError::Invalid { field, message } => {
                        OpError::invalid(field, format!("{}: {message}", d.name))
                    }
                    other => other,
                };
                match action {
                    DomainAction::Suspend if d.status != "suspended" => {
                        super::domains::set_status(c, ctx, &d.name, Status::Suspended)
                            .map_err(named)?;
                    }
                    DomainAction::Activate if d.status != "active" => {
                        super::domains::set_status(c, ctx, &d.name, Status::Active)
                            .map_err(named)?;
                    }
                    DomainAction::Suspend | DomainAction::Activate => {}
                    DomainAction::SetLimits(input) => {
                        super::domains::edit(c, ctx, &d.name, None, input).map_err(named)?;
                    }
                    DomainAction::Grant { username, perms } => {
                        super::permissions::grant(c, ctx, username, &d.name, perms)
                            .map_err(named)?;
                    }
                    DomainAction::Revoke { username } => {
                        super::permissions::revoke(c, ctx, username, &d.name).map_err(named)?;
                    }
                }
            }
            let done = Done::new(
                None,
                json!({ "summary": preview.summary, "rows": preview.rows, "changed": preview.changes, "domains": preview.domains }),
            );
            Ok((preview, done))
        },
    )
}

// ------------------------------------------------------------ any table

/// A bulk action named apart from its table: what the CLI's `bulk`
/// commands and the TUI's marks both ask for, mapped onto the per-table
/// actions above by `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Activate,
    /// Mailboxes and aliases.
    Delete,
    /// Mailboxes: one quota for every row (bytes, 0 = unlimited).
    SetQuota(i64),
    /// Domains: the limits given (None = keep each domain's own).
    SetLimits(super::domains::DomainInput),
    /// Domains: give `username` these permissions on every row.
    Grant {
        username: String,
        perms: Vec<Perm>,
    },
    /// Domains: take every permission of `username` on the rows.
    Revoke {
        username: String,
    },
}

impl Action {
    /// The verb of a confirmation ("Yes, set quota of 12 rows").
    pub fn verb(&self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Activate => "activate",
            Action::Delete => "delete",
            Action::SetQuota(_) => "set quota of",
            Action::SetLimits(_) => "set limits of",
            Action::Grant { .. } => "grant on",
            Action::Revoke { .. } => "revoke on",
        }
    }
}

/// Preview (`apply: false`) or apply `action` on these rows of `table`;
/// an action the table does not have is refused.
pub fn run(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    table: Entity,
    keys: &[String],
    action: &Action,
    apply: bool,
) -> OpResult<Preview> {
    let unsupported = || {
        OpError::invalid(
            "action",
            format!(
                "{} is not a bulk action on {}",
                action.verb(),
                table.plural()
            ),
        )
    };
    match table.csv_table().ok_or_else(unsupported)? {
        CsvTable::Mailboxes => {
            let a = match action {
                Action::Suspend => MailboxAction::Suspend,
                Action::Activate => MailboxAction::Activate,
                Action::Delete => MailboxAction::Delete,
                Action::SetQuota(q) => MailboxAction::SetQuota(*q),
                _ => return Err(unsupported()),
            };
            if apply {
                mailboxes_apply(conn, ctx, keys, a)
            } else {
                mailboxes_preview(conn, ctx, keys, a)
            }
        }
        CsvTable::Aliases => {
            let a = match action {
                Action::Suspend => AliasAction::Suspend,
                Action::Activate => AliasAction::Activate,
                Action::Delete => AliasAction::Delete,
                _ => return Err(unsupported()),
            };
            if apply {
                aliases_apply(conn, ctx, keys, a)
            } else {
                aliases_preview(conn, ctx, keys, a)
            }
        }
        CsvTable::Domains => {
            let a = match action {
                Action::Suspend => DomainAction::Suspend,
                Action::Activate => DomainAction::Activate,
                Action::SetLimits(input) => DomainAction::SetLimits(input.clone()),
                Action::Grant { username, perms } => DomainAction::Grant {
                    username: username.clone(),
                    perms: perms.clone(),
                },
                Action::Revoke { username } => DomainAction::Revoke {
                    username: username.clone(),
                },
                Action::Delete | Action::SetQuota(_) => return Err(unsupported()),
            };
            if apply {
                domains_apply(conn, ctx, keys, &a)
            } else {
                domains_preview(conn, ctx, keys, &a)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_any_integer() {
        assert_eq!(super::thousands(1284usize), "1,284");
        assert_eq!(super::thousands(1_000_000u64), "1,000,000");
        assert_eq!(super::thousands(-1284i64), "-1,284");
        assert_eq!(super::thousands(999u32), "999");
    }
}
