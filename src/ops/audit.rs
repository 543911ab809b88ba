//! The audit log: writing rows (only `ops` does, inside the write's
//! transaction), reading them, and the hash chain that makes edits,
//! deletions and reordering detectable.
//!
//! Each row's `row_hash` is SHA-256 over its fields and `prev_hash`, the
//! previous row's `row_hash`; ids are consecutive. The database refuses
//! UPDATE and DELETE on audit_logs (triggers), except inside `prune`, which
//! records where the remaining chain starts in audit_chain_anchor.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::audit_seal::{self, Checkpoint, Event, Seal};
use super::{now, run_write, Client, Ctx, Done, Principal};
use crate::db::migrate::Tables;
use crate::db::models::AuditLog;
use crate::db::schema::{audit_chain_anchor, audit_chain_key, audit_logs, audit_prune_guard};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Role};
use crate::secrets::SecretKey;
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
    pub action: AuditAction,
    pub resource_type: AuditType,
    pub resource_id: Option<i64>,
    pub details: Value,
    pub result: &'a str,
}

pub(crate) fn record(conn: &mut AnyConnection, ctx: &Ctx, e: Entry<'_>) -> OpResult<()> {
    insert(
        conn,
        ctx.policy.chain(),
        Some(ctx.user_id),
        &ctx.username,
        &ctx.client,
        e,
    )
}

/// How a row's hash is made: plain SHA-256 for rows written before the
/// audit key existed (and by callers without one), HMAC-SHA256 under the
/// audit key from `audit_chain_key.keyed_from` on.
#[derive(Clone)]
pub(crate) enum Hasher {
    Plain,
    Keyed(SecretKey),
}

impl Hasher {
    fn digest(&self, canonical: &str) -> String {
        match self {
            Hasher::Plain => audit_seal::hex(&Sha256::digest(canonical.as_bytes())),
            Hasher::Keyed(k) => audit_seal::mac_hex(k, canonical.as_bytes()),
        }
    }
}

/// The fields a row's hash covers, in a fixed order and format.
/// `pub(crate)` so `ops::demo` can chain seeded rows exactly like `insert`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn hash_row(
    hasher: &Hasher,
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
    hasher.digest(&canonical.to_string())
}

fn hash_of(r: &AuditLog, hasher: &Hasher) -> String {
    hash_row(
        hasher,
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
    Ok(anchor(conn)?.unwrap_or((1, GENESIS.to_string())))
}

/// Where the chain starts after a prune: first id and the hash it links to.
fn anchor(conn: &mut AnyConnection) -> QueryResult<Option<(i64, String)>> {
    audit_chain_anchor::table
        .select((audit_chain_anchor::first_id, audit_chain_anchor::prev_hash))
        .first(conn)
        .optional()
}

/// From which id rows are keyed, and with which key (`audit_seal::key_id`).
/// None too on a schema from before keying (the login and audit row of the
/// `db migrate` that brings the table are written on the old schema).
fn keyed_state(conn: &mut AnyConnection, tables: Tables) -> QueryResult<Option<(i64, String)>> {
    if !tables.audit_chain_key {
        return Ok(None);
    }
    audit_chain_key::table
        .select((audit_chain_key::keyed_from, audit_chain_key::key_id))
        .first(conn)
        .optional()
}

/// `keyed_state` for a reader outside any session (verify, status): the
/// schema is asked first.
fn keyed_now(conn: &mut AnyConnection) -> QueryResult<Option<(i64, String)>> {
    let tables = Tables::read(conn)?;
    keyed_state(conn, tables)
}

/// On PostgreSQL, the transaction-scoped lock that serialises appends to
/// the chain (SQLite's write transaction already does).
pub(crate) fn lock_chain(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_xact_lock({PG_AUDIT_LOCK})"))?;
    }
    Ok(())
}

// The checkpoint of a transaction that appended audit rows: noted when the
// first row is appended, computed by `db::write_tx` just before the
// outermost commit (still under the write lock, so it is exactly the state
// being committed) and published after the commit succeeds, so a rolled
// back write never leaves a checkpoint of rows that do not exist.
thread_local! {
    static PENDING: RefCell<Option<(Seal, SecretKey)>> = const { RefCell::new(None) };
    static PENDING_EVENT: Cell<Event> = const { Cell::new(Event::Write) };
    static READY: RefCell<Option<(Seal, Checkpoint)>> = const { RefCell::new(None) };
}

/// This transaction moves the chain's start (prune) or replaces the chain
/// (restore): its checkpoint says so, which is what lets `verify` accept
/// the change.
pub(crate) fn note_event(e: Event) {
    PENDING_EVENT.with(|p| p.set(p.get().max(e)));
}

/// Called by `db::write_tx` before the outermost commit.
pub(crate) fn checkpoint_before_commit(conn: &mut AnyConnection) {
    let event = PENDING_EVENT.with(|p| p.replace(Event::Write));
    let Some((seal, key)) = PENDING.with(|p| p.borrow_mut().take()) else {
        return;
    };
    let state = (|| -> QueryResult<Checkpoint> {
        let (next, hash) = chain_head(conn)?;
        let first = anchor(conn)?.map_or(1, |a| a.0);
        // Pending only after a keyed append: the table is there.
        let keyed_from = keyed_state(conn, Tables::CURRENT)?.map_or(next, |k| k.0);
        Ok(Checkpoint::new(
            &key,
            now(),
            event,
            first,
            next - 1,
            hash,
            keyed_from,
        ))
    })();
    match state {
        Ok(cp) => READY.with(|r| *r.borrow_mut() = Some((seal, cp))),
        Err(e) => audit_seal::publish_failed(&seal, &e.to_string()),
    }
}

/// Called by `db::write_tx` after the outermost commit succeeded.
pub(crate) fn checkpoint_after_commit() {
    if let Some((seal, cp)) = READY.with(|r| r.borrow_mut().take()) {
        audit_seal::publish(&seal, &cp);
    }
}

/// Called by `db::write_tx` when the outermost transaction rolls back.
pub(crate) fn checkpoint_discard() {
    PENDING.with(|p| p.borrow_mut().take());
    PENDING_EVENT.with(|p| p.set(Event::Write));
    READY.with(|r| r.borrow_mut().take());
}

/// Start appending: take the chain lock, find the head, and decide how the
/// new rows are hashed. With a seal the key is loaded (created 0600 on
/// first use) and, the first time, where keyed hashing starts is recorded;
/// a key other than the one the chain is keyed with is refused, as is
/// writing without a key to a chain that is already keyed (both would
/// write rows `verify` must call forged).
pub(crate) fn begin_append(
    conn: &mut AnyConnection,
    seal: Option<&Seal>,
    tables: Tables,
) -> OpResult<(i64, String, Hasher)> {
    lock_chain(conn)?;
    let (next, prev) = chain_head(conn)?;
    let keyed = keyed_state(conn, tables)?;
    let Some(seal) = seal else {
        if let Some((from, _)) = keyed {
            return Err(OpError::Secret(format!(
                "the audit log is keyed (HMAC) from row {from} on, and no audit key file is configured here ([audit] key_file); refusing to write an audit row nobody could verify"
            )));
        }
        return Ok((next, prev, Hasher::Plain));
    };
    if keyed.is_none() && !tables.audit_chain_key {
        // The schema predates keying (see keyed_state): the next write
        // after `db migrate` starts it.
        return Ok((next, prev, Hasher::Plain));
    }
    let key = match &keyed {
        // Keyed already: a fresh random key could never match the stored
        // key id, so creating one would only leave a wrong key file behind
        // for the next run to trip over. The real one must come back.
        Some((from, _)) if !seal.key_file.exists() => {
            return Err(OpError::Secret(format!(
                "the audit log is keyed (HMAC) from row {from} on, but the audit key file {} does not exist; restore it from backup (a new key would make every new row look forged, so none is created)",
                seal.key_file.path.display()
            )));
        }
        Some(_) => seal.key_file.load()?,
        None => seal.key_file.load_or_create()?,
    };
    let id = audit_seal::key_id(&key);
    match keyed {
        None => {
            diesel::insert_into(audit_chain_key::table)
                .values((
                    audit_chain_key::id.eq(1),
                    audit_chain_key::keyed_from.eq(next),
                    audit_chain_key::key_id.eq(&id),
                ))
                .execute(conn)?;
        }
        Some((from, stored)) if stored != id => {
            return Err(OpError::Secret(format!(
                "the audit log is keyed from row {from} with audit key {}, but {} holds key {id}; restore the right key file from backup (writing with another key would make every new row look forged)",
                crate::sanitize::for_terminal(&stored),
                seal.key_file.path.display()
            )));
        }
        Some(_) => {}
    }
    PENDING.with(|p| *p.borrow_mut() = Some((seal.clone(), key.clone())));
    Ok((next, prev, Hasher::Keyed(key)))
}

/// Append one row. Callers are inside a write transaction: on SQLite that
/// already serialises writers; on PostgreSQL a transaction-scoped advisory
/// lock keeps two sessions from linking to the same previous row.
pub(crate) fn insert(
    conn: &mut AnyConnection,
    (seal, tables): (Option<&Seal>, Tables),
    user_id: Option<i32>,
    actor: &str,
    client: &Client,
    e: Entry<'_>,
) -> OpResult<()> {
    let (id, prev_hash, hasher) = begin_append(conn, seal, tables)?;
    let ts = now();
    let details = e.details.to_string();
    let ua = client.user_agent();
    let row_hash = hash_row(
        &hasher,
        id,
        &ts,
        user_id,
        Some(actor),
        e.action.as_str(),
        Some(e.resource_type.as_str()),
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
            audit_logs::action.eq(e.action.as_str()),
            audit_logs::resource_type.eq(e.resource_type.as_str()),
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
) -> OpResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let (mut id, mut prev_hash, hasher) =
        begin_append(conn, ctx.policy.audit.as_ref(), ctx.policy.tables)?;
    let ts = now();
    let ua = ctx.client.user_agent();
    let ip = ctx.client.ip.clone();
    let mut rows = Vec::with_capacity(entries.len());
    for e in entries {
        let details = e.details.to_string();
        let row_hash = hash_row(
            &hasher,
            id,
            &ts,
            Some(ctx.user_id),
            Some(&ctx.username),
            e.action.as_str(),
            Some(e.resource_type.as_str()),
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
            audit_logs::action.eq(e.action.as_str().to_string()),
            audit_logs::resource_type.eq(e.resource_type.as_str().to_string()),
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
    // On PostgreSQL one binary COPY takes them all (no parameter limit,
    // one round trip); the rows and their chain are the same either way.
    if let AnyConnection::Postgresql(c) = conn {
        diesel::copy_from(audit_logs::table)
            .from_insertable(rows)
            .execute(c)?;
        return Ok(());
    }
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
    let who = Principal::load(conn, ctx)?;
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
    let who = Principal::load(conn, ctx)?;
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
    /// Rows from this id on are chained with the audit key (HMAC).
    pub keyed_from: Option<i64>,
    /// Keyed rows whose HMAC was not checked because no key was at hand
    /// (`verify_chain`); their ids and links were.
    pub keyed_unchecked: i64,
    /// Checkpoints read whose HMAC is good (since the last restore).
    pub checkpoints: usize,
    /// The newest of them: what the table was compared against.
    pub latest_checkpoint: Option<Checkpoint>,
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

/// Walk the whole chain in id order, a batch at a time (constant memory),
/// and compare it with the checkpoints. An edited row fails its hash, a
/// deleted one leaves a gap in the ids or a broken link, a reordered one
/// fails both; rows deleted from either end, or edited with every later
/// hash recomputed, disagree with a checkpoint.
pub fn verify(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<ChainReport> {
    verify_against(conn, ctx, None)
}

/// `verify` reading the checkpoints from `checkpoints` instead of the
/// configured file (a copy, or lines extracted from syslog).
pub fn verify_against(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    checkpoints: Option<&Path>,
) -> OpResult<ChainReport> {
    require_reader(conn, ctx)?;
    verify_with(conn, ctx.policy.audit.as_ref(), checkpoints)
}

/// The whole log (verifying it, reading archives) is for admins and
/// readonly users; a domain-scoped user sees only its own entries.
pub fn require_reader(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<()> {
    let who = Principal::load(conn, ctx)?;
    if who.role == Role::User {
        return Err(OpError::Denied(format!(
            "the whole audit log needs role admin or readonly; {} has role user",
            who.username
        )));
    }
    Ok(())
}

/// The chain check itself, without a login and without the key: for
/// `health`, restores and offline copies. Keyed rows get their ids and
/// links checked, not their HMAC.
pub fn verify_chain(conn: &mut AnyConnection) -> OpResult<ChainReport> {
    verify_with(conn, None, None)
}

/// The full check: with a seal, keyed rows' HMACs and the checkpoints too.
pub fn verify_with(
    conn: &mut AnyConnection,
    seal: Option<&Seal>,
    checkpoint_file: Option<&Path>,
) -> OpResult<ChainReport> {
    let (chain_first, anchor_prev) = anchor(conn)?.unwrap_or((1, GENESIS.to_string()));
    let keyed = keyed_now(conn)?;
    let table_last: Option<i64> = audit_logs::table
        .select(diesel::dsl::max(audit_logs::id))
        .first(conn)?;
    let mut report = ChainReport {
        rows_checked: 0,
        first_id: None,
        last_id: None,
        keyed_from: keyed.as_ref().map(|k| k.0),
        keyed_unchecked: 0,
        checkpoints: 0,
        latest_checkpoint: None,
        problems: Vec::new(),
    };
    let key = seal.and_then(|s| load_key(s, keyed.as_ref(), &mut report.problems));
    let hasher_keyed = key.clone().map(Hasher::Keyed);
    let expect = match (seal, &key) {
        (Some(s), Some(k)) => {
            let path = checkpoint_file.unwrap_or(&s.checkpoint_file);
            let cps = read_checkpoints(path, k, keyed.is_some(), &mut report.problems);
            let cur_last = table_last.unwrap_or(chain_first - 1);
            let expect = compare_checkpoints(
                &cps,
                chain_first,
                &anchor_prev,
                cur_last,
                keyed.as_ref().map(|k| k.0),
                &mut report.problems,
            );
            report.checkpoints = cps.len();
            report.latest_checkpoint = cps.last().cloned();
            expect
        }
        _ => HashMap::new(),
    };

    let (mut expect_id, mut expect_prev) = (chain_first, anchor_prev);
    let mut after = i64::MIN;
    'walk: loop {
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
            let is_keyed = keyed.as_ref().is_some_and(|(from, _)| row.id >= *from);
            match (is_keyed, &hasher_keyed) {
                (false, _) => {
                    if hash_of(row, &Hasher::Plain) != row.row_hash {
                        report.problems.push(format!(
                            "row {} was altered after it was written (hash mismatch)",
                            row.id
                        ));
                    }
                }
                (true, Some(h)) => {
                    if hash_of(row, h) != row.row_hash {
                        report.problems.push(format!(
                            "row {} was altered after it was written (HMAC mismatch: its hash was not made with the audit key)",
                            row.id
                        ));
                    }
                }
                (true, None) => report.keyed_unchecked += 1,
            }
            if let Some((hash, time)) = expect.get(&row.id) {
                if *hash != row.row_hash {
                    report.problems.push(format!(
                        "row {} does not match the checkpoint of {time} (hash then {}, now {}): it or a row before it was rewritten and the hashes after it recomputed",
                        row.id,
                        short(hash),
                        short(&row.row_hash)
                    ));
                }
            }
            if report.problems.len() >= MAX_PROBLEMS {
                break 'walk;
            }
            expect_id = row.id + 1;
            expect_prev = row.row_hash.clone();
        }
    }
    // Problems quote checkpoint lines, file paths and stored values that
    // anyone able to write those files could fill with escapes; every
    // reader (CLI, TUI, health) gets them already safe to print.
    for p in &mut report.problems {
        *p = crate::sanitize::for_terminal(p);
    }
    Ok(report)
}

fn short(h: &str) -> String {
    crate::sanitize::for_terminal(h.get(..12).unwrap_or(h))
}

/// The audit key for checking, never created here (verifying changes
/// nothing). A missing key is a problem only when rows are keyed.
fn load_key(
    seal: &Seal,
    keyed: Option<&(i64, String)>,
    problems: &mut Vec<String>,
) -> Option<SecretKey> {
    if !seal.key_file.exists() {
        if let Some((from, _)) = keyed {
            problems.push(format!(
                "rows from {from} on are keyed, but the audit key file {} does not exist: their HMACs and the checkpoints cannot be checked (restore the key file from backup)",
                seal.key_file.path.display()
            ));
        }
        return None;
    }
    match seal.key_file.load() {
        Ok(k) => {
            if let Some((from, stored)) = keyed {
                let id = audit_seal::key_id(&k);
                if *stored != id {
                    problems.push(format!(
                        "rows from {from} on are keyed with audit key {}, but {} holds key {id}: wrong key file, or audit_chain_key was edited",
                        crate::sanitize::for_terminal(stored),
                        seal.key_file.path.display()
                    ));
                }
            }
            Some(k)
        }
        Err(e) => {
            problems.push(format!("cannot check the keyed rows: {e}"));
            None
        }
    }
}

/// The checkpoints that describe this chain: good HMAC, since the last
/// restore (a restore replaces the chain and says so in its checkpoint).
fn read_checkpoints(
    path: &Path,
    key: &SecretKey,
    keyed: bool,
    problems: &mut Vec<String>,
) -> Vec<Checkpoint> {
    let read = match audit_seal::read(path, key) {
        Ok(r) => r,
        Err(e) => {
            if keyed || e.kind() != std::io::ErrorKind::NotFound {
                problems.push(format!(
                    "cannot read the checkpoint file {}: {e}; rows deleted from the end or rewritten with recomputed hashes cannot be ruled out",
                    path.display()
                ));
            }
            return Vec::new();
        }
    };
    problems.extend(read.problems);
    let mut cps = read.valid;
    if let Some(i) = cps.iter().rposition(|c| c.event() == Event::Restore) {
        cps.drain(..i);
    }
    if cps.is_empty() && keyed {
        problems.push(format!(
            "no valid checkpoint in {}: rows deleted from the end or rewritten with recomputed hashes cannot be ruled out",
            path.display()
        ));
    }
    cps
}

/// Compare the table's shape with the checkpoints; returns the hash each
/// checkpointed row id must still have, for the walk to check.
fn compare_checkpoints(
    cps: &[Checkpoint],
    chain_first: i64,
    anchor_prev: &str,
    cur_last: i64,
    keyed_from: Option<i64>,
    problems: &mut Vec<String>,
) -> HashMap<i64, (String, String)> {
    let mut expect: HashMap<i64, (String, String)> = HashMap::new();
    let (Some(initial), Some(latest)) = (cps.first(), cps.last()) else {
        return expect;
    };
    let time = |c: &Checkpoint| crate::sanitize::for_terminal(&c.time);

    // Keyed hashing cannot move once started: a table that says otherwise
    // had its keyed rows rewritten with the unkeyed hash.
    if keyed_from != Some(latest.keyed_from) {
        problems.push(format!(
            "the checkpoint of {} says rows are keyed from row {} on, but the table says {}: keyed rows were rewritten with the unkeyed hash (or audit_chain_key was edited)",
            time(latest),
            latest.keyed_from,
            keyed_from.map_or("no row is keyed".to_string(), |k| format!("from row {k}"))
        ));
    }

    // The first id moves only by a prune, and each prune writes a
    // checkpoint saying where the chain then starts.
    let mut allowed: Vec<i64> = vec![initial.first];
    allowed.extend(
        cps.iter()
            .filter(|c| c.event() == Event::Prune)
            .map(|c| c.first),
    );
    let expected_first = allowed.iter().copied().max().unwrap_or(initial.first);
    let mut reported: Vec<i64> = Vec::new();
    for c in cps {
        if !allowed.contains(&c.first) && !reported.contains(&c.first) {
            reported.push(c.first);
            problems.push(format!(
                "the checkpoint of {} saw the chain start at row {}, but no prune moved it there: older rows were deleted outside the product before then",
                time(c),
                c.first
            ));
        }
    }
    if chain_first > expected_first {
        problems.push(format!(
            "rows {expected_first}..{} are missing from the start: the chain now starts at row {chain_first} (audit_chain_anchor), but the checkpoints (latest {}) record no prune past row {expected_first}: the oldest rows were deleted and the anchor rewritten",
            chain_first - 1,
            time(latest)
        ));
    } else if chain_first < expected_first {
        problems.push(format!(
            "the chain starts at row {chain_first}, but a prune recorded in the checkpoints left it starting at row {expected_first}: the anchor was rewritten or pruned rows put back"
        ));
    }

    // Rows deleted from the end: a checkpoint saw a longer chain.
    if let Some(far) = cps.iter().max_by_key(|c| c.last) {
        if far.last > cur_last {
            problems.push(format!(
                "rows {}..{} are missing since the checkpoint of {}: rows were deleted from the end of the log",
                cur_last + 1,
                far.last,
                time(far)
            ));
        }
    }

    // The row each checkpoint names must still carry the hash it had.
    for c in cps {
        if c.last < chain_first - 1 || c.last > cur_last {
            continue;
        }
        if c.last == chain_first - 1 {
            if c.hash != anchor_prev {
                problems.push(format!(
                    "the chain's anchor (the hash before row {chain_first}) does not match the checkpoint of {}: the anchor was rewritten",
                    time(c)
                ));
            }
            continue;
        }
        match expect.get(&c.last) {
            Some((h, t)) if *h != c.hash => problems.push(format!(
                "row {} had hash {} at the checkpoint of {t} and {} at the checkpoint of {}: rows were deleted from the end and the ids written again",
                c.last,
                short(h),
                short(&c.hash),
                time(c)
            )),
            Some(_) => {}
            None => {
                expect.insert(c.last, (c.hash.clone(), time(c)));
            }
        }
    }
    expect
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
    run_write(
        conn,
        ctx,
        AuditAction::Prune,
        AuditType::AuditLog,
        request,
        |c, who| {
            who.require_admin("pruning the audit log")?;
            lock_chain(c)?;
            let report = verify_with(c, ctx.policy.audit.as_ref(), None)?;
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
        },
    )
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
    note_event(Event::Prune);
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

/// Recompute an unkeyed row's hash (for archives read back from disk;
/// keyed rows need the key, see `keyed_from`).
pub fn row_hash_of(r: &AuditLog) -> String {
    hash_of(r, &Hasher::Plain)
}

/// A keyed row's hash (HMAC with the audit key), for archives read back.
pub(crate) fn keyed_row_hash_of(r: &AuditLog, key: &SecretKey) -> String {
    hash_of(r, &Hasher::Keyed(key.clone()))
}

/// From which id the chain is keyed (None: no row is).
pub fn keyed_from(conn: &mut AnyConnection) -> OpResult<Option<i64>> {
    Ok(keyed_now(conn)?.map(|k| k.0))
}

/// The user id a reader of the log is limited to: None for admins and
/// readonly users, its own id for a domain-scoped user.
fn reader_scope(conn: &mut AnyConnection, ctx: &Ctx) -> crate::error::OpResult<Option<i32>> {
    let who = super::Principal::load(conn, ctx)?;
    Ok((who.role == Role::User).then_some(who.id))
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
    names: &std::collections::HashMap<(AuditType, i64), String>,
) -> String {
    let Some(t) = a.resource_type.as_deref() else {
        return String::new();
    };
    // A type this version does not know (a newer one's) is still shown.
    let kind = t.replace('_', " ");
    let typed = AuditType::parse(t);
    let recorded = || a.details.as_deref().and_then(|d| recorded_name(d, typed));
    let name = match a.resource_id {
        Some(id) => typed
            .and_then(|t| names.get(&(t, id)))
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
fn recorded_name(details: &str, kind: Option<AuditType>) -> Option<String> {
    let v: Value = serde_json::from_str(details).ok()?;
    let text = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let keys: &[&str] = match kind {
        Some(AuditType::Domain | AuditType::AliasDomain | AuditType::DnsCheck) => {
            &["name", "domain"]
        }
        Some(AuditType::Mailbox) => &["username", "address"],
        Some(AuditType::Alias) => &["address"],
        Some(AuditType::User | AuditType::Session | AuditType::Totp) => &["username"],
        Some(AuditType::MailConfig) => &["config_file", "file"],
        Some(AuditType::DkimKey) => &["key", "domain"],
        Some(AuditType::ApiToken) => &["token"],
        Some(AuditType::AppPassword) => &["app_password"],
        Some(AuditType::SendLimit) => &["target"],
        Some(AuditType::Sending | AuditType::Vacation) => &["address"],
        Some(AuditType::SenderGrant) => &["grant", "mailbox"],
        Some(
            AuditType::Permission
            | AuditType::Database
            | AuditType::Secrets
            | AuditType::MailFiles
            | AuditType::AuditLog
            | AuditType::Preferences
            | AuditType::LdapServer,
        )
        | None => &["name", "username", "address"],
    };
    for o in [v.get("after"), v.get("before"), v.get("request"), Some(&v)]
        .into_iter()
        .flatten()
    {
        if kind == Some(AuditType::DkimKey) {
            if let (Some(d), Some(sel)) = (text(o, "domain"), text(o, "selector")) {
                return Some(format!("{d}:{sel}"));
            }
        }
        if kind == Some(AuditType::Permission) {
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
