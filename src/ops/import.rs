//! All-or-nothing imports of mailboxes, domains and aliases (rows parsed by
//! `crate::csvio`), and the multi-row edit behind `edit-many` (`crate::sheet`).
//!
//! Every row is checked before anything is written and every bad row is
//! reported with its line number in one error; one bad line changes nothing.
//! Mailboxes and aliases take a fast path (batched reads, every rule of the
//! single-row `create` checked for all rows at once, multi-row INSERTs on
//! SQLite, binary COPY with ids reserved from the sequence on PostgreSQL,
//! batched audit rows) because imports of 100,000 of them are expected;
//! domains, at most a few thousand, run the single-row operations inside
//! the import's transaction so every rule of `create` applies unchanged.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::bulk::{thousands, CHUNK};
use super::{audit, now, run_write, Ctx, Done, Principal};
use crate::db::models::{Alias, Domain};
use crate::db::schema::{
    alias_domains, aliases, deleted_mailboxes, domains, mailbox_renames, mailboxes,
};
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, CsvTable, Entity, Perm, Status};
use crate::validate::{self, format_size};

/// A mailbox row of an import, password already hashed (by the caller,
/// before the transaction opens: bcrypt is slow and must not hold the lock).
#[derive(Debug, Clone)]
pub struct MailboxRow {
    pub line: u64,
    pub address: String,
    /// `{BLF-CRYPT}$2y$...`
    pub password_hash: String,
    pub quota: Option<i64>,
    pub name: Option<String>,
    pub status: Status,
}

#[derive(Debug, Clone)]
pub struct DomainRow {
    pub line: u64,
    pub name: String,
    pub input: super::domains::DomainInput,
    pub status: Status,
}

#[derive(Debug, Clone)]
pub struct AliasRow {
    pub line: u64,
    pub address: String,
    pub goto: String,
    pub description: Option<String>,
    pub status: Status,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub kind: String,
    pub rows: usize,
    pub domains: Vec<String>,
    pub dry_run: bool,
    pub summary: String,
}

impl ImportReport {
    /// "done: import 3 mailboxes in 1 domain", or what a dry run would do.
    pub fn sentence(&self) -> String {
        if self.dry_run {
            format!("dry run, nothing changed: would {}", self.summary)
        } else {
            format!("done: {}", self.summary)
        }
    }
}

/// "line N: message" for every bad line, in line order, as one error.
pub fn line_errors(mut errs: Vec<(u64, String)>) -> OpError {
    errs.sort_by_key(|e| e.0);
    let n = errs.len();
    let lines: Vec<String> = errs
        .into_iter()
        .map(|(l, m)| format!("line {l}: {m}"))
        .collect();
    OpError::invalid(
        "file",
        format!(
            "{} bad line{}; nothing was changed\n{}",
            thousands(n),
            if n == 1 { "" } else { "s" },
            lines.join("\n")
        ),
    )
}

/// Run `f` and roll everything back afterwards: a dry run does every check
/// and every write of the real run, so what it reports is exactly what the
/// real run would do.
fn dry<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> OpResult<T>,
) -> OpResult<T> {
    enum Out<T> {
        Done(T),
        Failed(OpError),
    }
    impl<T> From<diesel::result::Error> for Out<T> {
        fn from(e: diesel::result::Error) -> Self {
            Out::Failed(e.into())
        }
    }
    let r: Result<(), Out<T>> = write_tx(conn, |c| match f(c) {
        Ok(v) => Err(Out::Done(v)),
        Err(e) => Err(Out::Failed(e)),
    });
    match r {
        Err(Out::Done(v)) => Ok(v),
        Err(Out::Failed(e)) => Err(e),
        Ok(()) => Err(OpError::Io("dry run did not roll back".into())),
    }
}

/// Import mailboxes; `progress(done, total)` is called after each chunk.
pub fn mailboxes(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[MailboxRow],
    dry_run: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> OpResult<ImportReport> {
    mailboxes_with_access(conn, ctx, rows, &[], dry_run, progress)
}

/// `mailboxes` with each row's protocol switches (`access[i]` for
/// `rows[i]`; missing entries: every protocol on).
pub fn mailboxes_with_access(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[MailboxRow],
    access: &[super::mailboxes::Access],
    dry_run: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> OpResult<ImportReport> {
    if dry_run {
        let mut r = dry(conn, |c| import_mailboxes(c, ctx, rows, access, progress))?;
        r.dry_run = true;
        return Ok(r);
    }
    import_mailboxes(conn, ctx, rows, access, progress)
}

/// Switch protocols off where the file said so (new rows start with every
/// protocol on), one UPDATE per combination, in the import's transaction.
fn apply_access(
    c: &mut AnyConnection,
    rows: &[MailboxRow],
    access: &[super::mailboxes::Access],
    prepared: &[Prepared],
) -> OpResult<()> {
    let by_line: HashMap<u64, &super::mailboxes::Access> =
        rows.iter().map(|r| r.line).zip(access).collect();
    let mut by_combo: HashMap<(bool, bool, bool, bool), Vec<String>> = HashMap::new();
    for p in prepared {
        let Some(a) = by_line.get(&p.row.line) else {
            continue;
        };
        let combo = (
            a.imap.unwrap_or(true),
            a.pop3.unwrap_or(true),
            a.smtp.unwrap_or(true),
            a.sieve.unwrap_or(true),
        );
        if combo != (true, true, true, true) {
            by_combo.entry(combo).or_default().push(p.addr.clone());
        }
    }
    for ((imap, pop3, smtp, sieve), addrs) in by_combo {
        for chunk in addrs.chunks(CHUNK) {
            diesel::update(mailboxes::table.filter(mailboxes::username.eq_any(chunk)))
                .set((
                    mailboxes::imap_enabled.eq(imap),
                    mailboxes::pop3_enabled.eq(pop3),
                    mailboxes::smtp_enabled.eq(smtp),
                    mailboxes::sieve_enabled.eq(sieve),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}

struct Prepared<'a> {
    row: &'a MailboxRow,
    addr: String,
    local: String,
    domain_id: i32,
    quota: i64,
    name: Option<String>,
}

fn import_mailboxes(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[MailboxRow],
    access: &[super::mailboxes::Access],
    progress: &mut dyn FnMut(usize, usize),
) -> OpResult<ImportReport> {
    let request = json!({ "rows": rows.len() });
    run_write(
        conn,
        ctx,
        AuditAction::Import,
        AuditType::Mailbox,
        request,
        |c, who| {
            let prepared = check_mailboxes(c, ctx, who, rows)?;
            let t = now();
            let total = prepared.len();
            let mut done = 0usize;
            let mut domain_names = BTreeSet::new();
            if let AnyConnection::Sqlite(s) = c {
                // Triggers stand aside; `sqlite_rollups` does their work per
                // chunk (migration 000022). Undone with everything else if the
                // import fails: it is inside the import's savepoint.
                s.batch_execute("INSERT INTO bulk_insert_mode (id) VALUES (1)")?;
            }
            // A COPY has no bind-parameter limit; larger batches mean fewer
            // round trips and one rollup-trigger run per batch.
            let batch = match c {
                AnyConnection::Sqlite(_) => CHUNK,
                AnyConnection::Postgresql(_) => COPY_BATCH,
            };
            for chunk in prepared.chunks(batch) {
                let ids = insert_chunk(c, who.id, t, chunk)?;
                let entries = chunk
                .iter()
                .map(|p| audit::Entry {
                    action: AuditAction::Create,
                    resource_type: AuditType::Mailbox,
                    resource_id: ids.get(&p.addr).map(|id| i64::from(*id)),
                    details: json!({ "after": { "address": p.addr, "quota_limit": p.quota, "name": p.name, "status": p.row.status.as_str() }, "password": "set", "import": true }),
                    result: audit::RESULT_OK,
                })
                .collect();
                audit::record_many(c, ctx, entries)?;
                done += chunk.len();
                progress(done, total);
            }
            if let AnyConnection::Sqlite(s) = c {
                s.batch_execute("DELETE FROM bulk_insert_mode")?;
            }
            apply_access(c, rows, access, &prepared)?;
            for p in &prepared {
                domain_names.insert(
                    p.addr
                        .rsplit_once('@')
                        .map(|x| x.1.to_string())
                        .unwrap_or_default(),
                );
            }
            let report = ImportReport {
                kind: "mailbox".into(),
                rows: total,
                summary: format!(
                    "import {} mailbox{} in {} domain{}",
                    thousands(total),
                    if total == 1 { "" } else { "es" },
                    thousands(domain_names.len()),
                    if domain_names.len() == 1 { "" } else { "s" }
                ),
                domains: domain_names.into_iter().collect(),
                dry_run: false,
            };
            let d = Done::new(None, json!({ "summary": report.summary, "rows": total }));
            Ok((report, d))
        },
    )
}

/// Insert one chunk of checked rows; the new ids by address.
fn insert_chunk(
    c: &mut AnyConnection,
    who: i32,
    t: NaiveDateTime,
    chunk: &[Prepared],
) -> OpResult<HashMap<String, i32>> {
    Ok(match c {
        AnyConnection::Sqlite(s) => {
            let values: Vec<_> = chunk
                .iter()
                .map(|p| {
                    (
                        mailboxes::username.eq(p.addr.clone()),
                        mailboxes::domain_id.eq(p.domain_id),
                        mailboxes::password_hash.eq(p.row.password_hash.clone()),
                        mailboxes::quota_limit.eq(p.quota),
                        mailboxes::quota_used.eq(0i64),
                        mailboxes::status.eq(p.row.status.as_str()),
                        mailboxes::created_at.eq(t),
                        mailboxes::updated_at.eq(t),
                        mailboxes::created_by.eq(Some(who)),
                        mailboxes::local_part.eq(p.local.clone()),
                        mailboxes::name.eq(p.name.clone()),
                    )
                })
                .collect();
            // Multi-row INSERT is backend-specific in diesel's MultiConnection.
            let q = diesel::insert_into(mailboxes::table).values(values);
            q.execute(s)?;
            let keys: Vec<&str> = chunk.iter().map(|p| p.addr.as_str()).collect();
            let ids: HashMap<String, i32> = mailboxes::table
                .filter(mailboxes::username.eq_any(keys))
                .select((mailboxes::username, mailboxes::id))
                .load::<(String, i32)>(s)?
                .into_iter()
                .collect();
            sqlite_rollups(s, chunk, &ids)?;
            ids
        }
        // Binary COPY with ids reserved from the sequence first: COPY
        // has no RETURNING, and a lookup by address afterwards is
        // what made the INSERT path slow (inside the import's one
        // transaction the statistics still say "empty", and
        // `username = ANY($1)` went through the trigram index,
        // every lookup slower than the last). The statement-level
        // rollup triggers (migration 000021) fire once per COPY
        // with the batch as their transition table.
        AnyConnection::Postgresql(pg) => {
            let ids = reserve_ids(pg, "mailboxes", chunk.len())?;
            let rows: Vec<_> = chunk
                .iter()
                .zip(&ids)
                .map(|(p, id)| {
                    (
                        mailboxes::id.eq(*id),
                        mailboxes::username.eq(p.addr.as_str()),
                        mailboxes::domain_id.eq(p.domain_id),
                        mailboxes::password_hash.eq(p.row.password_hash.as_str()),
                        mailboxes::quota_limit.eq(p.quota),
                        mailboxes::quota_used.eq(0i64),
                        mailboxes::status.eq(p.row.status.as_str()),
                        mailboxes::created_at.eq(t),
                        mailboxes::updated_at.eq(t),
                        mailboxes::created_by.eq(Some(who)),
                        mailboxes::local_part.eq(p.local.as_str()),
                        mailboxes::name.eq(p.name.as_deref()),
                    )
                })
                .collect();
            diesel::copy_from(mailboxes::table)
                .from_insertable(rows)
                .execute(pg)?;
            chunk
                .iter()
                .zip(ids)
                .map(|(p, id)| (p.addr.clone(), id))
                .collect()
        }
    })
}

/// Rows per COPY on PostgreSQL.
const COPY_BATCH: usize = 10_000;

#[derive(QueryableByName)]
struct ReservedId {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    id: i32,
}

/// `n` fresh ids from `table`'s own sequence (`table` is one of ours, never
/// user text), so rows written by COPY (which cannot return the ids it
/// assigns) never collide with rows inserted later through the column
/// default.
fn reserve_ids(pg: &mut diesel::PgConnection, table: &str, n: usize) -> OpResult<Vec<i32>> {
    let n = i32::try_from(n).map_err(|_| OpError::invalid("file", "too many rows"))?;
    let ids = diesel::sql_query(format!(
        "SELECT nextval(pg_get_serial_sequence('{table}', 'id'))::integer AS id \
         FROM generate_series(1, $1)"
    ))
    .bind::<diesel::sql_types::Integer, _>(n)
    .load::<ReservedId>(pg)?;
    Ok(ids.into_iter().map(|r| r.id).collect())
}

/// What SQLite's insert triggers do per row, once for a chunk of new
/// mailboxes: their search-index entries in one INSERT ... SELECT, and per
/// domain one update of its counters. New mailboxes use 0 bytes, so only
/// the counts, the allotted quota and the change sequence move (and the
/// per-percent counts, which hold no row under 1 %, are added all the
/// same, so they stay right whatever a row carries).
fn sqlite_rollups(
    s: &mut diesel::SqliteConnection,
    chunk: &[Prepared<'_>],
    ids: &HashMap<String, i32>,
) -> OpResult<()> {
    let list: Vec<String> = ids.values().map(i32::to_string).collect();
    if !list.is_empty() {
        // Integers from our own query: nothing user-typed in this text.
        s.batch_execute(&format!(
            "INSERT INTO mailboxes_fts(rowid, username, name) SELECT id, username, name FROM mailboxes WHERE id IN ({})",
            list.join(",")
        ))?;
        crate::store::quota::add_percent_counts_sqlite(s, &format!("id IN ({})", list.join(",")))?;
    }
    let mut per_domain: HashMap<i32, (i64, i64)> = HashMap::new();
    for p in chunk {
        let e = per_domain.entry(p.domain_id).or_default();
        e.0 += 1;
        e.1 += p.quota;
    }
    for (domain, (n, allotted)) in per_domain {
        s.batch_execute(&format!(
            "UPDATE domains SET mailbox_count = mailbox_count + {n}, \
             mailbox_quota = mailbox_quota + {allotted}, change_seq = change_seq + 1 \
             WHERE id = {domain}"
        ))?;
    }
    Ok(())
}

/// A row whose fields are valid on their own: (row, address, local part,
/// domain, name).
type Parsed<'a> = (&'a MailboxRow, String, String, String, Option<String>);

/// The per-row checks that need no database; refusals go to `errs`.
fn parse_mailbox_rows<'a>(
    rows: &'a [MailboxRow],
    errs: &mut Vec<(u64, String)>,
) -> Vec<Parsed<'a>> {
    let mut parsed = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for r in rows {
        let (addr, local, dom) = match validate::mailbox_address("address", &r.address) {
            Ok(x) => x,
            Err(e) => {
                errs.push((r.line, e.to_string()));
                continue;
            }
        };
        if let Some(l) = first_line.get(&addr) {
            errs.push((r.line, format!("address: {addr} is also on line {l}")));
            continue;
        }
        first_line.insert(addr.clone(), r.line);
        if crate::password::normalize_mailbox_hash(&r.password_hash).is_none() {
            errs.push((r.line, "password: not a bcrypt hash".into()));
            continue;
        }
        let name = match &r.name {
            Some(n) => match validate::description("name", n) {
                Ok(n) => n,
                Err(e) => {
                    errs.push((r.line, e.to_string()));
                    continue;
                }
            },
            None => None,
        };
        parsed.push((r, addr, local, dom, name));
    }
    parsed
}

/// The quota a new mailbox in `d` gets (`asked`, or the default), if the
/// domain's per-mailbox rules allow it.
fn mailbox_quota(ctx: &Ctx, d: &Domain, asked: Option<i64>) -> Result<i64, String> {
    let quota = match asked {
        Some(q) => q,
        None if d.max_mailbox_quota > 0 && ctx.policy.default_mailbox_quota == 0 => {
            d.max_mailbox_quota
        }
        None if d.max_mailbox_quota > 0 => {
            ctx.policy.default_mailbox_quota.min(d.max_mailbox_quota)
        }
        None => ctx.policy.default_mailbox_quota,
    };
    if quota < 0 {
        return Err("quota: must not be negative".into());
    }
    if quota == 0 && (d.max_mailbox_quota > 0 || d.quota_limit > 0) {
        return Err(format!(
            "quota: unlimited is not allowed in {}: it has a quota limit",
            d.name
        ));
    }
    if d.max_mailbox_quota > 0 && quota > d.max_mailbox_quota {
        return Err(format!(
            "quota: {} exceeds the per-mailbox maximum of {} for {}",
            format_size(quota),
            format_size(d.max_mailbox_quota),
            d.name
        ));
    }
    Ok(quota)
}

/// Which of `addrs` are live mailboxes, and which are on the deletion hold
/// (with the day the hold ends). A new mailbox on a held address would
/// find the held one's mail in its home, and its purge would be refused.
fn taken(
    c: &mut AnyConnection,
    addrs: &[String],
) -> OpResult<(BTreeSet<String>, HashMap<String, String>)> {
    let mut existing = BTreeSet::new();
    let mut held: HashMap<String, String> = HashMap::new();
    for chunk in addrs.chunks(CHUNK) {
        let got: Vec<String> = mailboxes::table
            .filter(mailboxes::username.eq_any(chunk))
            .select(mailboxes::username)
            .load(c)?;
        existing.extend(got);
        let got: Vec<(String, NaiveDateTime)> = deleted_mailboxes::table
            .filter(deleted_mailboxes::username.eq_any(chunk))
            .select((deleted_mailboxes::username, deleted_mailboxes::purge_after))
            .load(c)?;
        held.extend(
            got.into_iter()
                .map(|(a, until)| (a, until.format("%Y-%m-%d").to_string())),
        );
    }
    Ok((existing, held))
}

/// Every rule of `mailboxes::create`, for all rows at once; every bad line
/// is collected, then reported together.
fn check_mailboxes<'a>(
    c: &mut AnyConnection,
    ctx: &Ctx,
    who: &Principal,
    rows: &'a [MailboxRow],
) -> OpResult<Vec<Prepared<'a>>> {
    if rows.is_empty() {
        return Err(OpError::invalid("file", "has no rows"));
    }
    let mut errs: Vec<(u64, String)> = Vec::new();
    let parsed = parse_mailbox_rows(rows, &mut errs);
    // Domains by name, in chunks; one authorization decision per domain.
    let names: Vec<String> = parsed
        .iter()
        .map(|p| p.3.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut doms: HashMap<String, Domain> = HashMap::new();
    for chunk in names.chunks(CHUNK) {
        let ds: Vec<Domain> = domains::table
            .filter(domains::name.eq_any(chunk))
            .select(Domain::as_select())
            .load(c)?;
        doms.extend(ds.into_iter().map(|d| (d.name.clone(), d)));
    }
    let mut refused: HashMap<String, String> = HashMap::new();
    for d in doms.values() {
        if let Err(e) = who.require_domain(d, Perm::Mailboxes) {
            refused.insert(d.name.clone(), e.to_string());
        }
    }
    let addrs: Vec<String> = parsed.iter().map(|p| p.1.clone()).collect();
    let (existing, held) = taken(c, &addrs)?;
    // Per-domain counters: mailboxes and allotted bytes so far.
    let mut counts: HashMap<i32, (i64, i64)> = HashMap::new();
    let mut out = Vec::with_capacity(parsed.len());
    for (r, addr, local, dom, name) in parsed {
        let Some(d) = doms.get(&dom) else {
            errs.push((
                r.line,
                format!("address: domain {dom} does not exist; add it first"),
            ));
            continue;
        };
        if let Some(why) = refused.get(&dom) {
            errs.push((r.line, format!("{addr}: {why}")));
            continue;
        }
        if existing.contains(&addr) {
            errs.push((r.line, format!("address: mailbox {addr} already exists")));
            continue;
        }
        if let Some(until) = held.get(&addr) {
            errs.push((
                r.line,
                format!("address: {addr} is deleted and held until {until}; restore it (`mailbox restore`) or purge it (`mailbox purge {addr}`) first"),
            ));
            continue;
        }
        let quota = match mailbox_quota(ctx, d, r.quota) {
            Ok(q) => q,
            Err(e) => {
                errs.push((r.line, e));
                continue;
            }
        };
        let entry = match counts.entry(d.id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let n = crate::store::domains::mailbox_count(c, d.id)?;
                let a = crate::store::domains::allotted(c, d.id, None)?;
                v.insert((n, a))
            }
        };
        if d.max_mailboxes > 0 && entry.0 >= i64::from(d.max_mailboxes) {
            errs.push((
                r.line,
                format!(
                    "address: domain {} would exceed its maximum of {} mailboxes",
                    d.name, d.max_mailboxes
                ),
            ));
            continue;
        }
        if d.quota_limit > 0 && entry.1.saturating_add(quota) > d.quota_limit {
            errs.push((
                r.line,
                format!(
                    "quota: {} would bring {} over its total quota of {}",
                    format_size(quota),
                    d.name,
                    format_size(d.quota_limit)
                ),
            ));
            continue;
        }
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(quota);
        out.push(Prepared {
            row: r,
            addr,
            local,
            domain_id: d.id,
            quota,
            name,
        });
    }
    if !errs.is_empty() {
        return Err(line_errors(errs));
    }
    Ok(out)
}

/// Rows that run through a single-row operation each, inside one
/// transaction: every refusal is collected with its line, then all roll back.
fn each<R>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    table: Entity,
    rows: &[R],
    line: impl Fn(&R) -> u64,
    mut f: impl FnMut(&mut AnyConnection, &R) -> OpResult<String>,
) -> OpResult<ImportReport> {
    let request = json!({ "rows": rows.len() });
    run_write(
        conn,
        ctx,
        AuditAction::Import,
        table.audit_type(),
        request,
        |c, _who| {
            if rows.is_empty() {
                return Err(OpError::invalid("file", "has no rows"));
            }
            let mut errs = Vec::new();
            let mut doms = BTreeSet::new();
            for r in rows {
                match f(c, r) {
                    Ok(d) => {
                        doms.insert(d);
                    }
                    Err(e) if e.is_refusal() => errs.push((line(r), e.to_string())),
                    Err(e) => return Err(e),
                }
            }
            if !errs.is_empty() {
                return Err(line_errors(errs));
            }
            Ok(imported(table, rows.len(), doms))
        },
    )
}

/// Each domain through `domains::create_with`, the function `domain add`
/// uses: with `default_aliases` it gets its RFC 2142 role aliases
/// (`[lifecycle] default_aliases`) in the same transaction. Re-importing an
/// export that also has an aliases file skips them (the file has them).
pub fn domains(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[DomainRow],
    dry_run: bool,
    default_aliases: bool,
) -> OpResult<ImportReport> {
    let run = |c: &mut AnyConnection| {
        each(
            c,
            ctx,
            Entity::Domains,
            rows,
            |r| r.line,
            |c, r| {
                let (d, _) =
                    super::domains::create_with(c, ctx, &r.name, &r.input, None, default_aliases)?;
                if r.status == Status::Suspended {
                    super::domains::set_status(c, ctx, &d.name, Status::Suspended)?;
                }
                Ok(d.name)
            },
        )
    };
    if dry_run {
        let mut r = dry(conn, run)?;
        r.dry_run = true;
        return Ok(r);
    }
    run(conn)
}

/// Import aliases: every rule of `aliases::create` (and of `set_status`
/// for the suspended rows) checked for all rows at once, then the rows
/// written set-wise (multi-row INSERTs on SQLite, COPY with ids reserved
/// from the sequence on PostgreSQL) with the audit rows the single-row
/// operations would have written, in the same order: per row its create
/// (and, when suspended, its suspend), then the import's own row.
///
/// The single-row route this replaces was quadratic: each create counted
/// the domain's aliases (`COUNT(*)`, growing with every row already
/// imported) and rewrote the domain's row twice (its lock, its alias
/// counter), on PostgreSQL one more version of the same row per alias
/// inside the one transaction, which every later read of the domain had to
/// step over (docs/performance.md, "Alias import").
pub fn aliases(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[AliasRow],
    dry_run: bool,
) -> OpResult<ImportReport> {
    if dry_run {
        let mut r = dry(conn, |c| import_aliases(c, ctx, rows))?;
        r.dry_run = true;
        return Ok(r);
    }
    import_aliases(conn, ctx, rows)
}

/// Alias rows per multi-row INSERT on SQLite: 9 columns x 1,000 rows stays
/// under its 32,766 bind parameters.
const ALIAS_CHUNK: usize = 1_000;

/// An alias row that passed every rule: what `aliases::create` would insert.
struct AliasPrepared<'a> {
    row: &'a AliasRow,
    addr: String,
    domain: String,
    domain_id: i32,
    goto: String,
    description: Option<String>,
}

fn import_aliases(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[AliasRow],
) -> OpResult<ImportReport> {
    let request = json!({ "rows": rows.len() });
    run_write(
        conn,
        ctx,
        AuditAction::Import,
        AuditType::Alias,
        request,
        |c, who| {
            let prepared = check_aliases(c, who, rows)?;
            let t = now();
            let batch = match c {
                AnyConnection::Sqlite(_) => ALIAS_CHUNK,
                AnyConnection::Postgresql(_) => COPY_BATCH,
            };
            let mut domain_names = BTreeSet::new();
            for chunk in prepared.chunks(batch) {
                let created = insert_alias_chunk(c, who.id, t, chunk)?;
                let mut entries = Vec::with_capacity(created.len());
                for (p, a) in chunk.iter().zip(created) {
                    domain_names.insert(p.domain.clone());
                    let id = i64::from(a.id);
                    entries.push(audit::Entry {
                        action: AuditAction::Create,
                        resource_type: AuditType::Alias,
                        resource_id: Some(id),
                        details: json!({ "after": a }),
                        result: audit::RESULT_OK,
                    });
                    if p.row.status == Status::Suspended {
                        // What `aliases::set_status` records after the create.
                        entries.push(audit::Entry {
                            action: Status::Suspended.action(),
                            resource_type: AuditType::Alias,
                            resource_id: Some(id),
                            details: json!({ "address": a.address, "before": { "status": "active" }, "after": { "status": "suspended" } }),
                            result: audit::RESULT_OK,
                        });
                    }
                }
                audit::record_many(c, ctx, entries)?;
            }
            Ok(imported(Entity::Aliases, prepared.len(), domain_names))
        },
    )
}

/// Insert one chunk of checked aliases; the rows as `aliases::create`
/// returned them (status active, version 1), in chunk order. A suspended
/// row is written as `set_status` leaves it (suspended, version 2).
fn insert_alias_chunk(
    c: &mut AnyConnection,
    who: i32,
    t: NaiveDateTime,
    chunk: &[AliasPrepared<'_>],
) -> OpResult<Vec<Alias>> {
    let stored = |p: &AliasPrepared<'_>| match p.row.status {
        Status::Suspended => (Status::Suspended.as_str(), 2),
        Status::Active => (Status::Active.as_str(), 1),
    };
    let ids: Vec<i32> = match c {
        AnyConnection::Sqlite(s) => {
            let values: Vec<_> = chunk
                .iter()
                .map(|p| {
                    let (status, version) = stored(p);
                    (
                        aliases::address.eq(p.addr.clone()),
                        aliases::goto.eq(p.goto.clone()),
                        aliases::domain_id.eq(p.domain_id),
                        aliases::status.eq(status),
                        aliases::description.eq(p.description.clone()),
                        aliases::created_at.eq(t),
                        aliases::updated_at.eq(t),
                        aliases::created_by.eq(Some(who)),
                        aliases::version.eq(version),
                    )
                })
                .collect();
            diesel::insert_into(aliases::table)
                .values(values)
                .execute(s)?;
            let keys: Vec<&str> = chunk.iter().map(|p| p.addr.as_str()).collect();
            let by_addr: HashMap<String, i32> = aliases::table
                .filter(aliases::address.eq_any(keys))
                .select((aliases::address, aliases::id))
                .load::<(String, i32)>(s)?
                .into_iter()
                .collect();
            chunk
                .iter()
                .map(|p| {
                    by_addr
                        .get(&p.addr)
                        .copied()
                        .ok_or_else(|| OpError::not_found("alias", p.addr.clone()))
                })
                .collect::<OpResult<_>>()?
        }
        // Binary COPY, ids reserved first (COPY returns none); the
        // statement-level alias counter trigger (migration
        // 2026-12-02-000010) runs once per COPY.
        AnyConnection::Postgresql(pg) => {
            let ids = reserve_ids(pg, "aliases", chunk.len())?;
            let rows: Vec<_> = chunk
                .iter()
                .zip(&ids)
                .map(|(p, id)| {
                    let (status, version) = stored(p);
                    (
                        aliases::id.eq(*id),
                        aliases::address.eq(p.addr.as_str()),
                        aliases::goto.eq(p.goto.as_str()),
                        aliases::domain_id.eq(p.domain_id),
                        aliases::status.eq(status),
                        aliases::description.eq(p.description.as_deref()),
                        aliases::created_at.eq(t),
                        aliases::updated_at.eq(t),
                        aliases::created_by.eq(Some(who)),
                        aliases::version.eq(version),
                    )
                })
                .collect();
            diesel::copy_from(aliases::table)
                .from_insertable(rows)
                .execute(pg)?;
            ids
        }
    };
    Ok(chunk
        .iter()
        .zip(ids)
        .map(|(p, id)| Alias {
            id,
            address: p.addr.clone(),
            goto: p.goto.clone(),
            domain_id: p.domain_id,
            status: Status::Active.as_str().to_string(),
            description: p.description.clone(),
            created_at: t,
            updated_at: t,
            created_by: Some(who),
            version: 1,
        })
        .collect())
}

/// A row's fields checked on their own (no database), each kept as its
/// result so the row reports the same first failure `create` would.
struct AliasParsed<'a> {
    row: &'a AliasRow,
    addr: String,
    domain: String,
    goto: OpResult<Vec<String>>,
    description: OpResult<Option<String>>,
}

/// Every rule of `aliases::create`, in its order, for all rows at once:
/// the address; its domain exists (an alias domain is named as such); the
/// user's `aliases` permission on it; the destinations (a scoped user's
/// stay in domains it may read); the description; not an existing alias,
/// nor twice in the file; not a held (deleted) mailbox's address nor part
/// of a pending rename; the domain's alias limit, counting the rows of the
/// file before it. Every bad line is collected, then reported together.
fn check_aliases<'a>(
    c: &mut AnyConnection,
    who: &Principal,
    rows: &'a [AliasRow],
) -> OpResult<Vec<AliasPrepared<'a>>> {
    if rows.is_empty() {
        return Err(OpError::invalid("file", "has no rows"));
    }
    let mut errs: Vec<(u64, String)> = Vec::new();
    let parsed = parse_alias_rows(rows, &mut errs);
    let hosted = Hosted::load(c, who, &parsed)?;
    let ready = check_before_lock(who, &hosted, parsed, &mut errs);
    // `create` locks the domain's row before it counts; once per domain.
    let ids: Vec<i32> = ready
        .iter()
        .map(|x| x.domain.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for chunk in ids.chunks(CHUNK) {
        diesel::update(domains::table.filter(domains::id.eq_any(chunk)))
            .set(domains::version.eq(domains::version))
            .execute(c)?;
    }
    let out = check_after_lock(c, ready, &mut errs)?;
    if !errs.is_empty() {
        return Err(line_errors(errs));
    }
    Ok(out)
}

/// The per-row checks that need no database. A bad address is refused
/// here; the other fields keep their results for `check_before_lock`.
fn parse_alias_rows<'a>(
    rows: &'a [AliasRow],
    errs: &mut Vec<(u64, String)>,
) -> Vec<AliasParsed<'a>> {
    let mut parsed = Vec::with_capacity(rows.len());
    for r in rows {
        match validate::alias_address("address", &r.address) {
            Ok((addr, domain)) => parsed.push(AliasParsed {
                row: r,
                addr,
                domain,
                goto: validate::destinations("goto", &r.goto),
                description: match &r.description {
                    Some(t) => validate::description("description", t),
                    None => Ok(None),
                },
            }),
            Err(e) => errs.push((r.line, e.to_string())),
        }
    }
    parsed
}

/// The domains and alias domains the rows name: their own, and for a
/// scoped user also those of the destinations.
struct Hosted {
    scoped: bool,
    doms: HashMap<String, Domain>,
    alias_doms: HashMap<String, i32>,
}

impl Hosted {
    fn load(c: &mut AnyConnection, who: &Principal, parsed: &[AliasParsed<'_>]) -> OpResult<Self> {
        // An admin (or readonly user) may read every domain: no
        // destination needs looking up.
        let scoped = who.domain_scope().is_some();
        let mut names: BTreeSet<&str> = parsed.iter().map(|p| p.domain.as_str()).collect();
        if scoped {
            for p in parsed {
                if let Ok(list) = &p.goto {
                    names.extend(list.iter().map(|a| destination_domain(a)));
                }
            }
        }
        let names: Vec<&str> = names.into_iter().collect();
        let mut doms: HashMap<String, Domain> = HashMap::new();
        let mut alias_doms: HashMap<String, i32> = HashMap::new();
        for chunk in names.chunks(CHUNK) {
            let ds: Vec<Domain> = domains::table
                .filter(domains::name.eq_any(chunk))
                .select(Domain::as_select())
                .load(c)?;
            doms.extend(ds.into_iter().map(|d| (d.name.clone(), d)));
            let ads: Vec<(String, i32)> = alias_domains::table
                .filter(alias_domains::name.eq_any(chunk))
                .select((alias_domains::name, alias_domains::target_domain_id))
                .load(c)?;
            alias_doms.extend(ads);
        }
        Ok(Hosted {
            scoped,
            doms,
            alias_doms,
        })
    }

    /// The domain (id) a destination's domain is hosted as, if any.
    fn hosting(&self, dom: &str) -> Option<i32> {
        self.doms
            .get(dom)
            .map(|d| d.id)
            .or_else(|| self.alias_doms.get(dom).copied())
    }

    /// `aliases::checked_destinations`' refusal for a scoped user.
    fn outside(&self, who: &Principal, list: &[String]) -> Option<OpError> {
        if !self.scoped {
            return None;
        }
        let a = list.iter().find(|a| {
            self.hosting(destination_domain(a))
                .is_some_and(|id| !who.can_read_domain(id))
        })?;
        Some(OpError::Denied(format!(
            "goto: {a} is in a domain hosted here that {} has no access to",
            who.username
        )))
    }
}

/// A row past the checks `create` makes before its lock.
struct AliasReady<'a, 'h> {
    parsed: AliasParsed<'a>,
    domain: &'h Domain,
    goto: String,
    description: Option<String>,
}

/// `create`'s checks before the lock, in its order: the domain, the
/// permission, the destinations, the description.
fn check_before_lock<'a, 'h>(
    who: &Principal,
    hosted: &'h Hosted,
    parsed: Vec<AliasParsed<'a>>,
    errs: &mut Vec<(u64, String)>,
) -> Vec<AliasReady<'a, 'h>> {
    let mut refused: HashMap<i32, Option<String>> = HashMap::new();
    let mut ready = Vec::with_capacity(parsed.len());
    for p in parsed {
        let line = p.row.line;
        let Some(d) = hosted.doms.get(&p.domain) else {
            let why = if hosted.alias_doms.contains_key(&p.domain) {
                format!(
                    "{} is an alias domain; create the alias in its target domain",
                    p.domain
                )
            } else {
                format!("domain {} does not exist; add it first", p.domain)
            };
            errs.push((line, OpError::invalid("address", why).to_string()));
            continue;
        };
        let denied = refused.entry(d.id).or_insert_with(|| {
            who.require_domain(d, Perm::Aliases)
                .err()
                .map(|e| e.to_string())
        });
        if let Some(why) = denied {
            errs.push((line, format!("address: {why}")));
            continue;
        }
        let list = match &p.goto {
            Ok(l) => l,
            Err(e) => {
                errs.push((line, e.to_string()));
                continue;
            }
        };
        if let Some(e) = hosted.outside(who, list) {
            errs.push((line, e.to_string()));
            continue;
        }
        let goto = list.join(",");
        let description = match &p.description {
            Ok(t) => t.clone(),
            Err(e) => {
                errs.push((line, e.to_string()));
                continue;
            }
        };
        ready.push(AliasReady {
            parsed: p,
            domain: d,
            goto,
            description,
        });
    }
    ready
}

/// `create`'s checks after the lock: not taken (an existing alias, an
/// earlier line, a held address, a pending rename), and the domain's alias
/// limit with the accepted rows before it counted.
fn check_after_lock<'a>(
    c: &mut AnyConnection,
    ready: Vec<AliasReady<'a, '_>>,
    errs: &mut Vec<(u64, String)>,
) -> OpResult<Vec<AliasPrepared<'a>>> {
    let addrs: Vec<&str> = ready.iter().map(|x| x.parsed.addr.as_str()).collect();
    let taken = aliases_taken(c, &addrs)?;
    // (aliases there now, accepted on earlier lines) per limited domain.
    let limited: Vec<i32> = ready
        .iter()
        .filter(|x| x.domain.max_aliases > 0)
        .map(|x| x.domain.id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut counts: HashMap<i32, (i64, i64)> = HashMap::new();
    for chunk in limited.chunks(CHUNK) {
        let got: Vec<(i32, i64)> = aliases::table
            .filter(aliases::domain_id.eq_any(chunk))
            .group_by(aliases::domain_id)
            .select((aliases::domain_id, diesel::dsl::count_star()))
            .load(c)?;
        counts.extend(got.into_iter().map(|(id, n)| (id, (n, 0))));
    }
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::with_capacity(ready.len());
    for x in ready {
        let (p, d) = (x.parsed, x.domain);
        let line = p.row.line;
        if taken.existing.contains(&p.addr) {
            let why = format!("alias {} already exists", p.addr);
            errs.push((line, OpError::duplicate("address", why).to_string()));
            continue;
        }
        if let Some(l) = first_line.get(&p.addr) {
            let why = format!("alias {} is also on line {l}", p.addr);
            errs.push((line, OpError::duplicate("address", why).to_string()));
            continue;
        }
        first_line.insert(p.addr.clone(), line);
        if let Some(why) = taken.held.get(&p.addr) {
            errs.push((line, OpError::duplicate("address", why.clone()).to_string()));
            continue;
        }
        if d.max_aliases > 0 {
            let (now, before) = counts.entry(d.id).or_insert((0, 0));
            if *now + *before >= i64::from(d.max_aliases) {
                let why = if *before == 0 {
                    format!(
                        "domain {} already has its maximum of {} aliases",
                        d.name, d.max_aliases
                    )
                } else {
                    format!(
                        "domain {} would exceed its maximum of {} aliases ({now} there now, {before} on earlier lines of this file)",
                        d.name, d.max_aliases
                    )
                };
                errs.push((line, OpError::invalid("address", why).to_string()));
                continue;
            }
            *before += 1;
        }
        out.push(AliasPrepared {
            row: p.row,
            addr: p.addr,
            domain: p.domain,
            domain_id: d.id,
            goto: x.goto,
            description: x.description,
        });
    }
    Ok(out)
}

/// The domain part of a checked destination address.
fn destination_domain(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
}

/// Which addresses an alias may not take: existing aliases, and held or
/// pending-rename addresses (with `deleted::refuse_held`'s message).
struct AliasesTaken {
    existing: BTreeSet<String>,
    held: HashMap<String, String>,
}

fn aliases_taken(c: &mut AnyConnection, addrs: &[&str]) -> OpResult<AliasesTaken> {
    let mut existing = BTreeSet::new();
    let mut held = HashMap::new();
    for chunk in addrs.chunks(CHUNK) {
        let got: Vec<String> = aliases::table
            .filter(aliases::address.eq_any(chunk))
            .select(aliases::address)
            .load(c)?;
        existing.extend(got);
        let got: Vec<(String, NaiveDateTime, NaiveDateTime)> = deleted_mailboxes::table
            .filter(deleted_mailboxes::username.eq_any(chunk))
            .order(deleted_mailboxes::id.asc())
            .select((
                deleted_mailboxes::username,
                deleted_mailboxes::deleted_at,
                deleted_mailboxes::purge_after,
            ))
            .load(c)?;
        for (a, at, until) in got {
            let why = format!(
                "{a} was deleted on {} and is held until {}; restore it (`mailbox restore`), purge it (`mailbox purge {a}`) or pass --force",
                at.format("%Y-%m-%d"),
                until.format("%Y-%m-%d")
            );
            held.entry(a).or_insert(why);
        }
        let got: Vec<(String, String)> = mailbox_renames::table
            .filter(
                mailbox_renames::old_username
                    .eq_any(chunk)
                    .or(mailbox_renames::new_username.eq_any(chunk)),
            )
            .order(mailbox_renames::id.asc())
            .select((mailbox_renames::old_username, mailbox_renames::new_username))
            .load(c)?;
        for (old, new) in got {
            for a in [&old, &new] {
                if chunk.contains(&a.as_str()) && !held.contains_key(a) {
                    held.insert(
                        a.clone(),
                        format!(
                            "{a} is part of the pending rename {old} -> {new}; run `mailbox rename --resume` first"
                        ),
                    );
                }
            }
        }
    }
    Ok(AliasesTaken { existing, held })
}

/// One row changed in the $EDITOR round trip (`crate::sheet` builds them):
/// the row as it was read (`version`) and its changed fields.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowChange {
    /// The line of the edited file.
    pub line: u64,
    pub key: String,
    pub version: i32,
    pub fields: Vec<FieldChange>,
}

/// A field's value before and after, both in the sheet's normal form
/// (sizes in bytes, counts as numbers, statuses as words; "" clears).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldChange {
    pub column: &'static str,
    pub old: String,
    pub new: String,
}

impl RowChange {
    fn new_value(&self, column: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.column == column)
            .map(|f| f.new.as_str())
    }
    fn number(&self, column: &str) -> OpResult<Option<i64>> {
        self.new_value(column)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| OpError::invalid(column, format!("{v:?} is not a number")))
            })
            .transpose()
    }
    fn status(&self) -> OpResult<Option<Status>> {
        self.new_value("status")
            .map(|s| Status::parse("status", s))
            .transpose()
    }
}

/// The report and the audit's summary of an import of `rows` rows of
/// `table` into `domains`.
fn imported(table: Entity, rows: usize, domains: BTreeSet<String>) -> (ImportReport, Done) {
    let report = ImportReport {
        kind: table.noun().into(),
        rows,
        summary: format!(
            "import {} {}",
            thousands(rows),
            if rows == 1 {
                table.noun()
            } else {
                table.plural()
            }
        ),
        domains: domains.into_iter().collect(),
        dry_run: false,
    };
    let d = Done::new(None, json!({ "summary": report.summary, "rows": rows }));
    (report, d)
}

/// Apply edited rows in one transaction through the single-row operations
/// (each audited, every rule of a single edit applies). A row changed by
/// someone else since the file was written is refused, as is any row the
/// user may not change; every refusal is reported with its line and rolls
/// every row back.
pub fn edit_rows(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    table: Entity,
    changes: &[RowChange],
) -> OpResult<ImportReport> {
    if !table.csv() {
        return Err(table.no_csv());
    }
    let request = json!({ "rows": changes.len() });
    run_write(
        conn,
        ctx,
        AuditAction::BulkUpdate,
        table.audit_type(),
        request,
        |c, _who| {
            let mut errs = Vec::new();
            for ch in changes {
                match edit_row(c, ctx, table, ch) {
                    Ok(()) => {}
                    Err(e) if e.is_refusal() => errs.push((ch.line, format!("{}: {e}", ch.key))),
                    Err(e) => return Err(e),
                }
            }
            if !errs.is_empty() {
                return Err(line_errors(errs));
            }
            let n = changes.len();
            let report = ImportReport {
                kind: table.noun().into(),
                rows: n,
                domains: Vec::new(),
                dry_run: false,
                summary: format!(
                    "edit {} {}",
                    thousands(n),
                    if n == 1 { table.noun() } else { table.plural() }
                ),
            };
            let d = Done::new(
                None,
                json!({ "summary": report.summary, "changes": changes }),
            );
            Ok((report, d))
        },
    )
}

fn stale(ch: &RowChange, now: i32) -> OpError {
    OpError::Conflict(format!(
        "changed by someone else since the file was written (version {} then, {now} now); nothing was changed, open the rows again",
        ch.version
    ))
}

fn edit_row(c: &mut AnyConnection, ctx: &Ctx, table: Entity, ch: &RowChange) -> OpResult<()> {
    match table.csv_table().ok_or_else(|| table.no_csv())? {
        CsvTable::Mailboxes => edit_mailbox_row(c, ctx, ch),
        CsvTable::Aliases => edit_alias_row(c, ctx, ch),
        CsvTable::Domains => edit_domain_row(c, ctx, ch),
    }
}

/// The row's status change, once the row is known unchanged since the file
/// was written (the single-row `get` also decides whether this user may see it).
fn checked_status(ch: &RowChange, now: i32) -> OpResult<Option<Status>> {
    if now != ch.version {
        return Err(stale(ch, now));
    }
    ch.status()
}

fn edit_mailbox_row(c: &mut AnyConnection, ctx: &Ctx, ch: &RowChange) -> OpResult<()> {
    let now = super::mailboxes::get(c, ctx, &ch.key)?.version;
    let status = checked_status(ch, now)?;
    let quota = ch.number("quota")?;
    let name = ch.new_value("name").map(str::to_string);
    if quota.is_some() || name.is_some() {
        let e = super::mailboxes::MailboxEdit { quota, name };
        super::mailboxes::edit(c, ctx, &ch.key, None, &e)?;
    }
    if let Some(s) = status {
        super::mailboxes::set_status(c, ctx, &ch.key, s)?;
    }
    Ok(())
}

fn edit_alias_row(c: &mut AnyConnection, ctx: &Ctx, ch: &RowChange) -> OpResult<()> {
    let now = super::aliases::get(c, ctx, &ch.key)?.version;
    let status = checked_status(ch, now)?;
    let e = super::aliases::AliasEdit {
        goto: ch.new_value("goto").map(str::to_string),
        description: ch.new_value("description").map(str::to_string),
    };
    if e.goto.is_some() || e.description.is_some() {
        super::aliases::edit(c, ctx, &ch.key, None, &e)?;
    }
    if let Some(s) = status {
        super::aliases::set_status(c, ctx, &ch.key, s)?;
    }
    Ok(())
}

fn edit_domain_row(c: &mut AnyConnection, ctx: &Ctx, ch: &RowChange) -> OpResult<()> {
    let now = super::domains::get(c, ctx, &ch.key)?.version;
    let status = checked_status(ch, now)?;
    let input = super::domains::DomainInput {
        description: ch.new_value("description").map(str::to_string),
        quota_limit: ch.number("quota")?,
        max_mailboxes: ch.number("max_mailboxes")?,
        max_aliases: ch.number("max_aliases")?,
        max_mailbox_quota: ch.number("max_mailbox_quota")?,
        transport: ch.new_value("transport").map(str::to_string),
        password_max_age_days: None,
    };
    if input != super::domains::DomainInput::default() {
        // The sheet's column is "quota" (as in the CSV files).
        super::domains::edit(c, ctx, &ch.key, None, &input).map_err(|e| match e {
            OpError::Invalid { field, message } if field == "quota_limit" => {
                OpError::invalid("quota", message)
            }
            e => e,
        })?;
    }
    if let Some(s) = status {
        super::domains::set_status(c, ctx, &ch.key, s)?;
    }
    Ok(())
}
