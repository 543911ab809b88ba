//! The audit log: writing rows (only `ops` does, inside the write's
//! transaction), reading them, and the hash chain that makes edits,
//! deletions and reordering detectable.
//!
//! Each row's `row_hash` is SHA-256 over its fields and `prev_hash`, the
//! previous row's `row_hash`; ids are consecutive. The database refuses
//! UPDATE and DELETE on audit_logs (triggers), except inside `prune`, which
//! records where the remaining chain starts in audit_chain_anchor.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{now, run_write, Client, Ctx, Done, Principal, Role};
use crate::db::models::AuditLog;
use crate::db::schema::{audit_chain_anchor, audit_logs, audit_prune_guard};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::store::audit::AuditFilter;

pub const RESULT_OK: &str = "ok";
pub const RESULT_REFUSED: &str = "refused";
pub const RESULT_FAILED: &str = "failed";

/// prev_hash of the very first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Advisory-lock key ordering audit inserts on PostgreSQL ("pfm_audt"): the
/// write lock every `write_tx` already holds, taken again for appends made
/// outside one.
const PG_AUDIT_LOCK: i64 = crate::db::PG_WRITE_LOCK;

pub struct Entry<'a> {
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<i64>,
    pub details: Value,
    pub result: &'a str,
}

pub(crate) fn record(conn: &mut AnyConnection, ctx: &Ctx, e: Entry<'_>) -> QueryResult<()> {
    insert(conn, Some(ctx.user_id), &ctx.username, &ctx.client, e)
}

/// The fields a row's hash covers, in a fixed order and format.
/// `pub(crate)` so `ops::demo` can chain seeded rows exactly like `insert`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hash_row(
    id: i64,
    timestamp: &chrono::NaiveDateTime,
    user_id: Option<i32>,
    actor: Option<&str>,
    action: &str,
    resource_type: Option<&str>,
    resource_id: Option<i64>,
    details: Option<&str>,
    ip: Option<&str>,
    user_agent: Option<&str>,
    result: &str,
    prev_hash: &str,
) -> String {
    let canonical = json!([
        id,
        timestamp.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        user_id,
        actor,
        action,
        resource_type,
        resource_id,
        details,
        ip,
        user_agent,
        result,
        prev_hash
    ]);
    let digest = Sha256::digest(canonical.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_of(r: &AuditLog) -> String {
    hash_row(
        r.id,
        &r.timestamp,
        r.user_id,
        r.actor.as_deref(),
        &r.action,
        r.resource_type.as_deref(),
        r.resource_id,
        r.details.as_deref(),
        r.ip_address.as_deref(),
        r.user_agent.as_deref(),
        &r.result,
        &r.prev_hash,
    )
}

/// Where the chain continues: the next id and the hash to link to.
pub(crate) fn chain_head(conn: &mut AnyConnection) -> QueryResult<(i64, String)> {
    let last: Option<(i64, String)> = audit_logs::table
        .order(audit_logs::id.desc())
        .select((audit_logs::id, audit_logs::row_hash))
        .first(conn)
        .optional()?;
    if let Some((id, hash)) = last {
        return Ok((id + 1, hash));
    }
    let anchor: Option<(i64, String)> = audit_chain_anchor::table
        .select((audit_chain_anchor::first_id, audit_chain_anchor::prev_hash))
        .first(conn)
        .optional()?;
    Ok(anchor.unwrap_or((1, GENESIS.to_string())))
}

/// On PostgreSQL, the transaction-scoped lock that serialises appends to
/// the chain (SQLite's write transaction already does).
pub(crate) fn lock_chain(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK})"))?;
    }
    Ok(())
}

/// Append one row. Callers are inside a write transaction: on SQLite that
/// already serialises writers; on PostgreSQL a transaction-scoped advisory
/// lock keeps two sessions from linking to the same previous row.
pub(crate) fn insert(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    actor: &str,
    client: &Client,
    e: Entry<'_>,
) -> QueryResult<()> {
    lock_chain(conn)?;
    let (id, prev_hash) = chain_head(conn)?;
    let ts = now();
    let details = e.details.to_string();
    let ua = client.user_agent();
    let row_hash = hash_row(
        id,
        &ts,
        user_id,
        Some(actor),
        e.action,
        Some(e.resource_type),
        e.resource_id,
        Some(&details),
        Some(&client.ip),
        Some(&ua),
        e.result,
        &prev_hash,
    );
    diesel::insert_into(audit_logs::table)
        .values((
            audit_logs::id.eq(id),
            audit_logs::user_id.eq(user_id),
            audit_logs::action.eq(e.action),
            audit_logs::resource_type.eq(e.resource_type),
            audit_logs::resource_id.eq(e.resource_id),
            audit_logs::details.eq(&details),
            audit_logs::ip_address.eq(&client.ip),
            audit_logs::user_agent.eq(&ua),
            audit_logs::timestamp.eq(ts),
            audit_logs::actor.eq(actor),
            audit_logs::result.eq(e.result),
            audit_logs::prev_hash.eq(&prev_hash),
            audit_logs::row_hash.eq(&row_hash),
        ))
        .execute(conn)?;
    Ok(())
}

/// Append many rows in one go, for bulk operations: one chain-head read and
/// multi-row INSERTs in chunks instead of a SELECT + INSERT per row, so
/// auditing 10,000 changed rows costs a handful of round trips. The chain is
/// the same as `insert` would build row by row.
pub(crate) fn record_many(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    entries: Vec<Entry<'_>>,
) -> QueryResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    if let AnyConnection::Postgresql(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK})"))?;
    }
    let (mut id, mut prev_hash) = chain_head(conn)?;
    let ts = now();
    let ua = ctx.client.user_agent();
    let ip = ctx.client.ip.clone();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let details = e.details.to_string();
        let row_hash = hash_row(
            id,
            &ts,
            Some(ctx.user_id),
            Some(&ctx.username),
            e.action,
            Some(e.resource_type),
            e.resource_id,
            Some(&details),
            Some(&ip),
            Some(&ua),
            e.result,
            &prev_hash,
        );
        rows.push((
            audit_logs::id.eq(id),
            audit_logs::user_id.eq(Some(ctx.user_id)),
            audit_logs::action.eq(e.action.to_string()),
            audit_logs::resource_type.eq(e.resource_type.to_string()),
            audit_logs::resource_id.eq(e.resource_id),
            audit_logs::details.eq(details),
            audit_logs::ip_address.eq(ip.clone()),
            audit_logs::user_agent.eq(ua.clone()),
            audit_logs::timestamp.eq(ts),
            audit_logs::actor.eq(ctx.username.clone()),
            audit_logs::result.eq(e.result.to_string()),
            audit_logs::prev_hash.eq(std::mem::replace(&mut prev_hash, row_hash.clone())),
            audit_logs::row_hash.eq(row_hash),
        ));
        id += 1;
    }
    // 13 columns x 1,000 rows stays under both backends' bind-parameter limits.
    // Multi-row INSERT is backend-specific in diesel (MultiConnection does
    // not offer it), so the same statement is built for each backend.
    for chunk in rows.chunks(1000) {
        let q = diesel::insert_into(audit_logs::table).values(chunk.to_vec());
        match conn {
            AnyConnection::Sqlite(c) => q.execute(c)?,
            AnyConnection::Postgresql(c) => q.execute(c)?,
        };
    }
    Ok(())
}

/// Reading the audit log: admins and readonly users see every row; a
/// domain-scoped user sees its own actions only.
pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &AuditFilter,
    limit: i64,
) -> OpResult<Vec<AuditLog>> {
    let who = Principal::load(conn, ctx.user_id)?;
    let mut f = filter.clone();
    if who.role == Role::User {
        if f.user_id.is_some_and(|u| u != who.id) {
            return Err(OpError::Denied(format!(
                "{} may only read its own audit entries",
                who.username
            )));
        }
        f.user_id = Some(who.id);
    }
    Ok(crate::store::audit::list(
        conn,
        &f,
        limit.clamp(1, crate::store::MAX_PAGE),
    )?)
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, id: i64) -> OpResult<AuditLog> {
    let who = Principal::load(conn, ctx.user_id)?;
    let row = crate::store::audit::by_id(conn, id)?
        .filter(|r| who.role != Role::User || r.user_id == Some(who.id))
        .ok_or_else(|| OpError::not_found("audit entry", id.to_string()))?;
    Ok(row)
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChainReport {
    pub rows_checked: i64,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    /// Problems, first one first; empty means the chain is intact.
    pub problems: Vec<String>,
}

impl ChainReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Most problems listed before `verify` stops (one tampering often breaks
/// every link after it).
const MAX_PROBLEMS: usize = 20;
const VERIFY_BATCH: i64 = 5_000;

/// Walk the whole chain in id order, a batch at a time (constant memory).
/// An edited row fails its hash, a deleted one leaves a gap in the ids or a
/// broken link, a reordered one fails both.
pub fn verify(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<ChainReport> {
    require_reader(conn, ctx)?;
    verify_chain(conn)
}

/// The whole log (verifying it, reading archives) is for admins and
/// readonly users; a domain-scoped user sees only its own entries.
pub fn require_reader(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<()> {
    let who = Principal::load(conn, ctx.user_id)?;
    if who.role == Role::User {
        return Err(OpError::Denied(format!(
            "the whole audit log needs role admin or readonly; {} has role user",
            who.username
        )));
    }
    Ok(())
}

/// The chain check itself, without a login: for `health` and offline copies.
pub fn verify_chain(conn: &mut AnyConnection) -> OpResult<ChainReport> {
    let anchor: Option<(i64, String)> = audit_chain_anchor::table
        .select((audit_chain_anchor::first_id, audit_chain_anchor::prev_hash))
        .first(conn)
        .optional()?;
    let (mut expect_id, mut expect_prev) = anchor.unwrap_or((1, GENESIS.to_string()));
    let mut report = ChainReport {
        rows_checked: 0,
        first_id: None,
        last_id: None,
        problems: Vec::new(),
    };
    let mut after = i64::MIN;
    loop {
        let batch: Vec<AuditLog> = audit_logs::table
            .filter(audit_logs::id.gt(after))
            .order(audit_logs::id.asc())
            .limit(VERIFY_BATCH)
            .select(AuditLog::as_select())
            .load(conn)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for row in &batch {
            report.rows_checked += 1;
            report.first_id.get_or_insert(row.id);
            report.last_id = Some(row.id);
            if row.id != expect_id {
                report.problems.push(if row.id > expect_id {
                    format!(
                        "rows {}..{} are missing (deleted) before row {}",
                        expect_id,
                        row.id - 1,
                        row.id
                    )
                } else {
                    format!("row {} is out of order (expected {})", row.id, expect_id)
                });
            }
            if row.prev_hash != expect_prev {
                report.problems.push(format!(
                    "row {} does not link to the row before it (deleted or reordered rows)",
                    row.id
                ));
            }
            if hash_of(row) != row.row_hash {
                report.problems.push(format!(
                    "row {} was altered after it was written (hash mismatch)",
                    row.id
                ));
            }
            if report.problems.len() >= MAX_PROBLEMS {
                return Ok(report);
            }
            expect_id = row.id + 1;
            expect_prev = row.row_hash.clone();
        }
    }
    Ok(report)
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PruneReport {
    pub deleted: i64,
    /// The chain now starts at this id.
    pub first_id: i64,
}

/// Delete audit rows older than `before`, admin only. The chain stays
/// verifiable: the anchor records the first remaining id and the hash it
/// links to, and the prune itself is the next audited row.
pub fn prune(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    before: chrono::NaiveDateTime,
) -> OpResult<PruneReport> {
    let request = json!({ "before": before.to_string() });
    run_write(conn, ctx, "prune", "audit_log", request, |c, who| {
        who.require_admin("pruning the audit log")?;
        lock_chain(c)?;
        let report = verify_chain(c)?;
        if !report.ok() {
            return Err(OpError::invalid(
                "audit_log",
                format!(
                    "the chain is already broken ({}); run `postfix-manager audit verify` and investigate before pruning",
                    report.problems[0]
                ),
            ));
        }
        let last_old: Option<(i64, String)> = audit_logs::table
            .filter(audit_logs::timestamp.lt(before))
            .order(audit_logs::id.desc())
            .select((audit_logs::id, audit_logs::row_hash))
            .first(c)
            .optional()?;
        let Some((last_id, last_hash)) = last_old else {
            let (next, _) = chain_head(c)?;
            let r = PruneReport {
                deleted: 0,
                first_id: report.first_id.unwrap_or(next),
            };
            return Ok((r.clone(), Done::new(None, json!({ "deleted": 0 }))));
        };
        let deleted = delete_through(c, last_id, &last_hash)?;
        let r = PruneReport {
            deleted,
            first_id: last_id + 1,
        };
        let done = Done::new(
            None,
            json!({ "before": before.to_string(), "deleted": deleted, "chain_starts_at": last_id + 1 }),
        );
        Ok((r, done))
    })
}

/// Delete every row up to `last_id` (whose hash is `last_hash`) and record
/// where the chain now starts. The caller holds the write transaction and
/// has checked the chain; the guard row is what lets the append-only
/// trigger allow these deletes, and it is gone before the commit.
pub(crate) fn delete_through(
    c: &mut AnyConnection,
    last_id: i64,
    last_hash: &str,
) -> OpResult<i64> {
    diesel::insert_into(audit_prune_guard::table)
        .values(audit_prune_guard::token.eq(1))
        .execute(c)?;
    let deleted =
        diesel::delete(audit_logs::table.filter(audit_logs::id.le(last_id))).execute(c)? as i64;
    diesel::delete(audit_prune_guard::table).execute(c)?;
    diesel::delete(audit_chain_anchor::table).execute(c)?;
    diesel::insert_into(audit_chain_anchor::table)
        .values((
            audit_chain_anchor::id.eq(1),
            audit_chain_anchor::first_id.eq(last_id + 1),
            audit_chain_anchor::prev_hash.eq(last_hash),
            audit_chain_anchor::pruned_at.eq(now()),
        ))
        .execute(c)?;
    Ok(deleted)
}

/// Recompute a row's hash (for archives read back from disk).
pub fn row_hash_of(r: &AuditLog) -> String {
    hash_of(r)
}

/// The user id a reader of the log is limited to: None for admins and
/// readonly users, its own id for a domain-scoped user.
fn reader_scope(conn: &mut AnyConnection, ctx: &Ctx) -> crate::error::OpResult<Option<i32>> {
    let who = super::Principal::load(conn, ctx.user_id)?;
    Ok((who.role == super::Role::User).then_some(who.id))
}

/// A keyset page of the log (newest first), scoped like `list`.
pub fn page(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    page: &crate::store::Page,
) -> crate::error::OpResult<Vec<crate::db::models::AuditLog>> {
    let scope = reader_scope(conn, ctx)?;
    Ok(crate::store::audit::page(conn, scope, page)?)
}

/// Entries newer than `after_id` (the live tail), scoped like `list`.
pub fn newer_than(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    after_id: i64,
    limit: i64,
) -> crate::error::OpResult<Vec<crate::db::models::AuditLog>> {
    let scope = reader_scope(conn, ctx)?;
    Ok(crate::store::audit::newer_than(
        conn,
        scope,
        after_id,
        limit.clamp(1, crate::store::MAX_PAGE),
    )?)
}

/// An audit entry with what it acted on, by name: `mailbox bob@example.com`
/// rather than `mailbox #200001`.
#[derive(Debug, Clone)]
pub struct Named {
    pub entry: AuditLog,
    /// The resource type and its name now; for a resource gone since, the
    /// name the entry recorded, else `#id (deleted)`. Empty when the entry
    /// names no resource.
    pub resource: String,
}

/// The audit screen's `/` text: `actor:NAME` (or `user:`), `action:WORD`,
/// `resource:TYPE` (or `type:`; `alias-domain` = `alias_domain`) and
/// `result:ok|refused|failed` narrow exactly; every other word is searched
/// in the details, actor and action. A key with nothing after the colon
/// yet (still being typed) narrows nothing.
pub fn parse_query(text: Option<&str>, logins: bool) -> crate::store::audit::AuditQuery {
    let mut q = crate::store::audit::AuditQuery {
        logins,
        ..Default::default()
    };
    let mut words = Vec::new();
    for w in text.unwrap_or("").split_whitespace() {
        let Some((k, v)) = w.split_once(':') else {
            words.push(w);
            continue;
        };
        let value = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match k.to_lowercase().as_str() {
            // Usernames as stored (case kept).
            "actor" | "user" => q.actor = value(v),
            "action" => q.action = value(&v.to_lowercase()),
            "resource" | "type" => q.resource_type = value(&v.to_lowercase().replace('-', "_")),
            "result" => q.result = value(&v.to_lowercase()),
            _ => words.push(w),
        }
    }
    let words = words.join(" ");
    q.text = (!words.is_empty()).then_some(words);
    q
}

/// A filtered keyset page of the log (newest first), scoped like `list`,
/// with the resources named.
pub fn search(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    q: &crate::store::audit::AuditQuery,
    page: &crate::store::Page,
) -> OpResult<Vec<Named>> {
    let scope = reader_scope(conn, ctx)?;
    let rows = crate::store::audit::search(conn, scope, q, page)?;
    name_rows(conn, rows)
}

/// Name the resources of these entries: one lookup per resource type.
pub fn name_rows(conn: &mut AnyConnection, rows: Vec<AuditLog>) -> OpResult<Vec<Named>> {
    let names = crate::store::audit::resource_names(conn, &rows)?;
    Ok(rows
        .into_iter()
        .map(|entry| {
            let resource = resource_label(&entry, &names);
            Named { entry, resource }
        })
        .collect())
}

fn resource_label(
    a: &AuditLog,
    names: &std::collections::HashMap<(String, i64), String>,
) -> String {
    let Some(t) = a.resource_type.as_deref() else {
        return String::new();
    };
    let kind = t.replace('_', " ");
    let recorded = || a.details.as_deref().and_then(|d| recorded_name(d, t));
    let name = match a.resource_id {
        Some(id) => names
            .get(&(t.to_string(), id))
            .cloned()
            .or_else(recorded)
            .unwrap_or_else(|| format!("#{id} (deleted)")),
        None => match recorded() {
            Some(n) => n,
            None => return kind,
        },
    };
    format!("{kind} {name}")
}

/// The name an entry's details recorded for its resource: from the row
/// after or before the change, the refused request, or the top level.
fn recorded_name(details: &str, kind: &str) -> Option<String> {
    let v: Value = serde_json::from_str(details).ok()?;
    let text = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let keys: &[&str] = match kind {
        "domain" | "alias_domain" => &["name", "domain"],
        "mailbox" => &["username", "address"],
        "alias" => &["address"],
        "user" | "session" => &["username"],
        "mail_config" => &["config_file", "file"],
        _ => &["name", "username", "address"],
    };
    for o in [v.get("after"), v.get("before"), v.get("request"), Some(&v)]
        .into_iter()
        .flatten()
    {
        if kind == "permission" {
            if let (Some(u), Some(d)) = (text(o, "username"), text(o, "domain")) {
                return Some(format!("{u} on {d}"));
            }
            continue;
        }
        if let Some(n) = keys.iter().find_map(|k| text(o, k)) {
            return Some(n);
        }
    }
    None
}
