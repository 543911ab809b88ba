//! All-or-nothing imports of mailboxes, domains and aliases (rows parsed by
//! `crate::csvio`), and the multi-row edit behind `edit-many` (`crate::sheet`).
//!
//! Every row is checked before anything is written and every bad row is
//! reported with its line number in one error; one bad line changes nothing.
//! Mailboxes take a fast path (batched reads, multi-row INSERTs on SQLite,
//! binary COPY with ids reserved from the sequence on PostgreSQL, batched
//! audit rows) because imports of 100,000 of them are expected; domains and
//! aliases, at most a few thousand, run the single-row operations inside the
//! import's transaction so every rule of `create` applies unchanged.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::bulk::{thousands, CHUNK};
use super::{audit, now, run_write, Ctx, Done, Principal};
use crate::db::models::Domain;
use crate::db::schema::{deleted_mailboxes, domains, mailboxes};
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
            let ids = reserve_mailbox_ids(pg, chunk.len())?;
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

/// `n` fresh ids from the mailboxes' own sequence, so rows written by COPY
/// (which cannot return the ids it assigns) never collide with rows
/// inserted later through the column default.
fn reserve_mailbox_ids(pg: &mut diesel::PgConnection, n: usize) -> OpResult<Vec<i32>> {
    let n = i32::try_from(n).map_err(|_| OpError::invalid("file", "too many rows"))?;
    let ids = diesel::sql_query(
        "SELECT nextval(pg_get_serial_sequence('mailboxes', 'id'))::integer AS id \
         FROM generate_series(1, $1)",
    )
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
            let report = ImportReport {
                kind: table.noun().into(),
                rows: rows.len(),
                summary: format!(
                    "import {} {}",
                    thousands(rows.len()),
                    if rows.len() == 1 {
                        table.noun()
                    } else {
                        table.plural()
                    }
                ),
                domains: doms.into_iter().collect(),
                dry_run: false,
            };
            let d = Done::new(
                None,
                json!({ "summary": report.summary, "rows": rows.len() }),
            );
            Ok((report, d))
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

pub fn aliases(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    rows: &[AliasRow],
    dry_run: bool,
) -> OpResult<ImportReport> {
    let run = |c: &mut AnyConnection| {
        each(
            c,
            ctx,
            Entity::Aliases,
            rows,
            |r| r.line,
            |c, r| {
                let a =
                    super::aliases::create(c, ctx, &r.address, &r.goto, r.description.as_deref())?;
                if r.status == Status::Suspended {
                    super::aliases::set_status(c, ctx, &a.address, Status::Suspended)?;
                }
                Ok(a.address
                    .rsplit_once('@')
                    .map(|x| x.1.to_string())
                    .unwrap_or_default())
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
