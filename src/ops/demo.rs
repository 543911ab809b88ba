//! `demo seed`: fill a database with realistic data fast, for benchmarks
//! and demos. Admin only, and one audit row for the whole seed.
//!
//! Speed comes from one precomputed bcrypt hash shared by every mailbox (of
//! a random password nobody is told: demo mailboxes cannot log in), multi-row
//! INSERTs of `BATCH` rows on SQLite and binary COPYs of `COPY_BATCH` rows on
//! PostgreSQL, and a single transaction (all or nothing: an
//! error leaves the database as it was). The invariants still hold because
//! the rows go through the same tables and triggers as any write: the
//! triggers keep `domains.quota_used`, every domain's limits are set above
//! what it receives, names are lower-case, and synthetic audit rows are
//! chained with `audit::hash_row`, exactly like `audit::insert`.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{audit, now, run_write, Ctx, Done};
use crate::db::schema::{alias_domains, aliases, audit_logs, domains, mailboxes};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
use crate::password;

/// Rows per INSERT: 1000 rows x 13 columns stays under SQLite's 32766 and
/// PostgreSQL's 65535 bind parameters.
const BATCH: usize = 1000;
const COPY_BATCH: usize = 10_000;

/// Largest sizes accepted (a typo like an extra zero should not run for hours).
const MAX_DOMAINS: u64 = 1_000_000;
const MAX_ROWS: u64 = 100_000_000;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SeedOptions {
    pub domains: u64,
    pub mailboxes: u64,
    pub aliases: u64,
    pub audit: u64,
    /// Seed even though the database already holds mail data.
    pub force: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SeedReport {
    pub domains: u64,
    pub mailboxes: u64,
    pub aliases: u64,
    pub audit: u64,
    /// Suffix of the generated domain names ("" on an empty database).
    pub tag: String,
    pub seconds: f64,
}

/// Where a seed is, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
}

/// Check sizes before anything else; each error names the option.
pub fn validate(o: &SeedOptions) -> OpResult<()> {
    if o.domains > MAX_DOMAINS {
        return Err(OpError::invalid(
            "domains",
            format!("at most {MAX_DOMAINS} domains"),
        ));
    }
    for (field, n) in [
        ("mailboxes", o.mailboxes),
        ("aliases", o.aliases),
        ("audit", o.audit),
    ] {
        if n > MAX_ROWS {
            return Err(OpError::invalid(field, format!("at most {MAX_ROWS} rows")));
        }
    }
    if o.domains == 0 && (o.mailboxes > 0 || o.aliases > 0) {
        return Err(OpError::invalid(
            "domains",
            "mailboxes and aliases need at least one domain",
        ));
    }
    Ok(())
}

/// Multi-row INSERT. diesel's `MultiBackend` has no batch-insert
/// dialect, so the statement is built for the concrete backend.
macro_rules! insert_batch {
    ($c:expr, $table:expr, $rows:expr) => {
        match $c {
            AnyConnection::Sqlite(s) => diesel::insert_into($table).values($rows).execute(s)?,
            AnyConnection::Postgresql(p) => diesel::insert_into($table).values($rows).execute(p)?,
        }
    };
}

/// Bulk load of rows whose ids nothing reads back: binary COPY on
/// PostgreSQL (one statement per batch, the statement-level rollup
/// triggers fire once per batch with its rows as a transition table), a
/// multi-row INSERT on SQLite.
macro_rules! copy_batch {
    ($c:expr, $table:expr, $rows:expr) => {
        match $c {
            AnyConnection::Sqlite(s) => diesel::insert_into($table).values($rows).execute(s)?,
            AnyConnection::Postgresql(p) => diesel::copy_from($table)
                .from_insertable($rows)
                .execute(p)?,
        }
    };
}

/// Rows per batch: SQLite's bind-parameter limit caps a multi-row INSERT;
/// a COPY has no such limit, and fewer, larger batches save round trips.
fn batch_size(c: &AnyConnection) -> usize {
    match c {
        AnyConnection::Sqlite(_) => BATCH,
        AnyConnection::Postgresql(_) => COPY_BATCH,
    }
}

/// splitmix64: deterministic, so two seeds of the same size are the same
/// data and benchmark figures are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

const FIRST: &[&str] = &[
    "anna", "ben", "carla", "david", "emma", "felix", "greta", "hugo", "ines", "jonas", "karin",
    "lars", "maria", "niko", "olga", "paul", "quinn", "rosa", "sven", "tina", "uwe", "vera",
    "walter", "xenia", "yusuf", "zoe", "alex", "bruno", "chloe", "dora", "erik", "fatima",
];
const LAST: &[&str] = &[
    "schmidt", "mueller", "garcia", "rossi", "novak", "smith", "jones", "dubois", "kowalski",
    "silva", "jensen", "nagy", "popescu", "ivanova", "tanaka", "kim", "nguyen", "okafor", "haddad",
    "larsen", "meyer", "weber", "fischer", "becker", "wagner", "bauer", "klein", "wolf", "peters",
    "lang", "berg", "vogel",
];
const WORDS: &[&str] = &[
    "acme",
    "nordwind",
    "bluebird",
    "granite",
    "harbor",
    "lumen",
    "meadow",
    "orbit",
    "pioneer",
    "quartz",
    "riverside",
    "summit",
    "tundra",
    "vertex",
    "willow",
    "zenith",
];
const ROLES: &[&str] = &[
    "info", "sales", "support", "billing", "office", "team", "press", "jobs",
];
const GIB: i64 = 1 << 30;
const MAILBOX_QUOTAS: &[i64] = &[GIB / 4, GIB / 2, GIB, 2 * GIB];

/// Share `total` over `parts` as evenly as possible; part `i`'s share.
fn share(total: u64, parts: u64, i: u64) -> u64 {
    total / parts + u64::from(i < total % parts)
}

/// The `k`-th item of `list`, counting round and round.
fn pick<T>(list: &[T], k: u64) -> &T {
    &list[crate::num::usize_from(k % list.len() as u64)]
}

/// Local part of a domain's `k`-th mailbox: first.last, then first.lastN.
fn local_part(k: u64) -> String {
    let f = *pick(FIRST, k);
    let l = *pick(LAST, k / FIRST.len() as u64);
    let n = k / (FIRST.len() * LAST.len()) as u64;
    if n == 0 {
        format!("{f}.{l}")
    } else {
        format!("{f}.{l}{n}")
    }
}

/// Quota of a domain's `k`-th mailbox (deterministic, so the domain's
/// total can be computed before its mailboxes exist).
fn mailbox_quota(domain: u64, k: u64) -> i64 {
    *pick(MAILBOX_QUOTAS, domain.wrapping_mul(31) + k)
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn to_i32(field: &str, n: u64) -> OpResult<i32> {
    i32::try_from(n).map_err(|_| OpError::invalid(field, "too large for one domain"))
}

/// True when the database holds any mail data (users and audit rows from
/// `init` do not count: seeding a freshly initialised database is the
/// normal case).
fn has_mail_data(c: &mut AnyConnection) -> QueryResult<bool> {
    let n: i64 = domains::table.count().get_result(c)?;
    let a: i64 = alias_domains::table.count().get_result(c)?;
    Ok(n + a > 0)
}

/// Fill the database. Refuses (audited, nothing written) a database that
/// already holds mail data unless `force`; then the new domains get a
/// suffix so their names cannot collide with existing ones.
pub fn seed(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    o: &SeedOptions,
    progress: &mut dyn FnMut(Progress),
) -> OpResult<SeedReport> {
    let started = std::time::Instant::now();
    // The shared hash is computed before the transaction opens (bcrypt
    // must never hold the write lock). Its password is random and dropped.
    let hash = password::hash_mailbox(&password::generate(), ctx.policy.bcrypt_cost)
        .map_err(|e| OpError::Io(e.to_string()));
    // A 256 MiB page cache for this connection (the default is 2 MiB):
    // a million inserts into five indexes and the FTS table otherwise
    // spend most of their time re-reading pages. It is a ceiling on this
    // connection only, not an allocation.
    if let AnyConnection::Sqlite(c) = conn {
        c.batch_execute("PRAGMA cache_size = -262144")?;
    }
    let request = serde_json::to_value(o).unwrap_or_default();
    let report = run_write(
        conn,
        ctx,
        AuditAction::Seed,
        AuditType::Database,
        request,
        |c, who| {
            who.require_admin("seeding demo data")?;
            validate(o)?;
            let hash = hash?;
            let tag = if has_mail_data(c)? {
                if !o.force {
                    return Err(OpError::invalid(
                    "yes",
                    "the database already holds domains; pass --yes to add demo data next to them",
                ));
                }
                // Seconds since the epoch in base 36: short, lower-case, and
                // different for every seed run.
                let mut n = chrono::Utc::now().timestamp().unsigned_abs();
                let mut s = String::new();
                while n > 0 {
                    let d = (n % 36) as u32;
                    s.insert(0, char::from_digit(d, 36).unwrap_or('0'));
                    n /= 36;
                }
                format!("-{s}")
            } else {
                String::new()
            };
            let t0 = now();
            let mut rng = Rng(0x5EED);
            // Into an empty database, the secondary indexes are built once
            // after the load instead of row by row (see `set_indexes_aside`).
            let deferred = if tag.is_empty() {
                set_indexes_aside(c, DEFERRED_TABLES)?
            } else {
                Vec::new()
            };
            let first_new = next_mailbox_id(c)?;
            let ids = seed_domains(c, o, &tag, who.id, t0, progress)?;
            bulk_insert_mode(c, true)?;
            seed_mailboxes(c, o, &ids, &hash, who.id, t0, &mut rng, progress)?;
            bulk_insert_mode(c, false)?;
            sqlite_rollups(c, first_new)?;
            seed_aliases(c, o, &ids, who.id, t0, &mut rng, progress)?;
            seed_audit(c, ctx, o, &ids, t0, &mut rng, progress)?;
            rebuild_indexes(c, &deferred, progress)?;
            let report = SeedReport {
                domains: o.domains,
                mailboxes: o.mailboxes,
                aliases: o.aliases,
                audit: o.audit,
                tag,
                seconds: started.elapsed().as_secs_f64(),
            };
            let done = Done::new(None, serde_json::to_value(&report).unwrap_or_default());
            Ok((report, done))
        },
    )?;
    // Fresh planner statistics: without them PostgreSQL guesses a few
    // dozen matches for any LIKE and fetches every match through the
    // trigram index instead of walking the B-tree in page order. On
    // PostgreSQL also the visibility map, which lets `quota check` count
    // from the permille index alone: right after a 1M seed it visited the
    // heap (271 ms); after VACUUM (1.7 s more here) 33-44 ms.
    conn.batch_execute(match conn {
        AnyConnection::Sqlite(_) => "ANALYZE",
        AnyConnection::Postgresql(_) => "VACUUM (ANALYZE)",
    })?;
    Ok(report)
}

/// Tables whose secondary indexes a seed into an empty database builds
/// after the load. Measured at 1M mailboxes on PostgreSQL: the rows with
/// every index in place took 54 s in one `INSERT ... SELECT`, without the
/// secondary ones 15 s, and building those afterwards a few seconds (two
/// GIN trigram indexes most of it): sorting once beats a million
/// descents into ten indexes.
const DEFERRED_TABLES: &[&str] = &["mailboxes", "aliases", "audit_logs"];

#[derive(QueryableByName)]
struct IndexDef {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    def: String,
}

/// Drop the indexes of `tables` that no constraint owns (primary keys and
/// UNIQUE constraints stay: they check the rows as they arrive) and, on
/// PostgreSQL, their foreign keys, and return the statements that create
/// them again, as the database reports them.
/// Inside the seed's transaction: nothing else sees the tables without
/// them, and a failed seed rolls the drops back with the rows.
fn set_indexes_aside(c: &mut AnyConnection, tables: &[&str]) -> OpResult<Vec<String>> {
    let mut defs = Vec::new();
    for t in tables {
        let found: Vec<IndexDef> = match c {
            AnyConnection::Sqlite(_) => diesel::sql_query(
                "SELECT name, sql AS def FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            )
            .bind::<diesel::sql_types::Text, _>(*t)
            .load(c)?,
            AnyConnection::Postgresql(_) => diesel::sql_query(
                "SELECT i.relname::text AS name, pg_get_indexdef(x.indexrelid) AS def \
                 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
                 WHERE x.indrelid = to_regclass($1) \
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)",
            )
            .bind::<diesel::sql_types::Text, _>(*t)
            .load(c)?,
        };
        for ix in found {
            c.batch_execute(&format!("DROP INDEX {}", quoted(&ix.name)))?;
            defs.push(ix.def);
        }
        if let AnyConnection::Postgresql(_) = c {
            // Foreign keys too: each checks every new row with a trigger
            // (1M mailboxes: 12.6 s with them, 8.2 s plus 2.0 s to
            // validate them afterwards in one join). SQLite's check is a
            // primary-key probe and cannot be switched off in a transaction.
            let fks: Vec<IndexDef> = diesel::sql_query(
                "SELECT conname::text AS name, pg_get_constraintdef(oid) AS def \
                 FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass($1)",
            )
            .bind::<diesel::sql_types::Text, _>(*t)
            .load(c)?;
            for fk in fks {
                let (table, name) = (quoted(t), quoted(&fk.name));
                c.batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {name}"))?;
                defs.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} {}",
                    fk.def
                ));
            }
        }
    }
    Ok(defs)
}

/// A name read from the catalogue, quoted as an identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Create the indexes [`set_indexes_aside`] dropped and add its foreign
/// keys again (which validates every row against its parent once).
fn rebuild_indexes(
    c: &mut AnyConnection,
    defs: &[String],
    progress: &mut dyn FnMut(Progress),
) -> OpResult<()> {
    if defs.is_empty() {
        return Ok(());
    }
    if let AnyConnection::Postgresql(_) = c {
        // Sorts in memory rather than in temporary files; for this
        // transaction only.
        c.batch_execute("SET LOCAL maintenance_work_mem = '256MB'")?;
    }
    let total = defs.len() as u64;
    for (i, def) in defs.iter().enumerate() {
        c.batch_execute(def)?;
        progress(Progress {
            phase: "indexes",
            done: i as u64 + 1,
            total,
        });
    }
    Ok(())
}

/// The id the next mailbox gets at the earliest (SQLite: above every
/// existing one).
fn next_mailbox_id(c: &mut AnyConnection) -> OpResult<i32> {
    let max: Option<i32> = mailboxes::table
        .select(diesel::dsl::max(mailboxes::id))
        .first(c)?;
    Ok(max.unwrap_or(0).saturating_add(1))
}

/// SQLite only: while on, the mailboxes' per-row insert triggers (search
/// index entry, domain counters) stand aside (migration 000022) and
/// [`sqlite_rollups`] does their work once for all seeded mailboxes.
/// PostgreSQL's rollup is already statement-level, once per COPY.
fn bulk_insert_mode(c: &mut AnyConnection, on: bool) -> OpResult<()> {
    if let AnyConnection::Sqlite(s) = c {
        s.batch_execute(if on {
            "INSERT INTO bulk_insert_mode (id) VALUES (1)"
        } else {
            "DELETE FROM bulk_insert_mode"
        })?;
    }
    Ok(())
}

/// What SQLite's mailbox insert triggers would have done for the seeded
/// mailboxes (ids from `first_new` on, all in the seed's own domains): one
/// pass into the search index, one grouped update of the domain counters
/// (whose own triggers move the domains' per-percent counts), one grouped
/// upsert of the mailboxes' per-percent counts.
fn sqlite_rollups(c: &mut AnyConnection, first_new: i32) -> OpResult<()> {
    if let AnyConnection::Sqlite(s) = c {
        s.batch_execute(&format!(
            "INSERT INTO mailboxes_fts(rowid, username, name) \
             SELECT id, username, name FROM mailboxes WHERE id >= {first_new}; \
             UPDATE domains SET quota_used = domains.quota_used + t.used, \
                 mailbox_count = domains.mailbox_count + t.n, \
                 mailbox_quota = domains.mailbox_quota + t.allotted, \
                 change_seq = domains.change_seq + 1 \
             FROM (SELECT domain_id, SUM(quota_used) AS used, COUNT(*) AS n, \
                       SUM(quota_limit) AS allotted \
                   FROM mailboxes WHERE id >= {first_new} GROUP BY domain_id) AS t \
             WHERE domains.id = t.domain_id"
        ))?;
        crate::store::quota::add_percent_counts_sqlite(s, &format!("id >= {first_new}"))?;
    }
    Ok(())
}

/// Domain `i`'s name.
fn domain_name(i: u64, tag: &str) -> String {
    let w = *pick(WORDS, i);
    format!("{w}-{i:05}{tag}.example")
}

/// Inserts the domains; returns their ids and names in order.
fn seed_domains(
    c: &mut AnyConnection,
    o: &SeedOptions,
    tag: &str,
    by: i32,
    t: NaiveDateTime,
    progress: &mut dyn FnMut(Progress),
) -> OpResult<Vec<(i32, String)>> {
    let mut ids = Vec::with_capacity(crate::num::usize_from(o.domains));
    let mut i = 0;
    while i < o.domains {
        let end = (i + BATCH as u64).min(o.domains);
        let mut rows = Vec::with_capacity(BATCH);
        let mut names = Vec::with_capacity(BATCH);
        for d in i..end {
            let n_mail = share(o.mailboxes, o.domains, d);
            let n_alias = share(o.aliases, o.domains, d);
            // Every other domain has a total quota: the sum of its
            // mailboxes' quotas plus room for ten more of the largest.
            let total: i64 = if d % 2 == 0 {
                (0..n_mail).map(|k| mailbox_quota(d, k)).sum::<i64>() + 10 * 2 * GIB
            } else {
                0
            };
            let name = domain_name(d, tag);
            rows.push((
                domains::name.eq(name.clone()),
                domains::status.eq(if d % 97 == 96 { "suspended" } else { "active" }),
                domains::quota_limit.eq(total),
                domains::quota_used.eq(0i64),
                domains::description
                    .eq(Some(format!("{} demo", capitalize(pick::<&str>(WORDS, d))))),
                domains::created_at.eq(t),
                domains::updated_at.eq(t),
                domains::created_by.eq(Some(by)),
                domains::max_mailboxes.eq(to_i32("mailboxes", n_mail * 2 + 10)?),
                domains::max_aliases.eq(to_i32("aliases", n_alias * 2 + 10)?),
                domains::max_mailbox_quota.eq(2 * GIB),
            ));
            names.push(name);
        }
        insert_batch!(c, domains::table, rows);
        let found: HashMap<String, i32> = domains::table
            .filter(domains::name.eq_any(&names))
            .select((domains::name, domains::id))
            .load::<(String, i32)>(c)?
            .into_iter()
            .collect();
        for n in names {
            let id = *found
                .get(&n)
                .ok_or_else(|| OpError::not_found("domain", n.clone()))?;
            ids.push((id, n));
        }
        i = end;
        progress(Progress {
            phase: "domains",
            done: i,
            total: o.domains,
        });
    }
    Ok(ids)
}

#[allow(clippy::too_many_arguments)]
fn seed_mailboxes(
    c: &mut AnyConnection,
    o: &SeedOptions,
    ids: &[(i32, String)],
    hash: &str,
    by: i32,
    t: NaiveDateTime,
    rng: &mut Rng,
    progress: &mut dyn FnMut(Progress),
) -> OpResult<()> {
    let batch = batch_size(c);
    let mut rows = Vec::with_capacity(batch);
    let mut done = 0u64;
    for (d, (domain_id, dom)) in ids.iter().enumerate() {
        let (d, domain_id) = (d as u64, *domain_id);
        for k in 0..share(o.mailboxes, o.domains, d) {
            let local = local_part(k);
            let quota = mailbox_quota(d, k);
            // Usage below the quota; a few mailboxes never used.
            let used = if rng.below(10) == 0 {
                0
            } else {
                (rng.below(1000) as i64) * quota / 1000
            };
            let created = t - TimeDelta::seconds(rng.below(2 * 365 * 86400) as i64);
            let name = local
                .split('.')
                .map(|p| capitalize(p.trim_end_matches(|ch: char| ch.is_ascii_digit())))
                .collect::<Vec<_>>()
                .join(" ");
            rows.push((
                mailboxes::username.eq(format!("{local}@{dom}")),
                mailboxes::domain_id.eq(domain_id),
                mailboxes::password_hash.eq(hash.to_string()),
                mailboxes::quota_limit.eq(quota),
                mailboxes::quota_used.eq(used),
                mailboxes::status.eq(if rng.below(50) == 0 {
                    "suspended"
                } else {
                    "active"
                }),
                mailboxes::created_at.eq(created),
                mailboxes::updated_at.eq(created),
                mailboxes::created_by.eq(Some(by)),
                mailboxes::local_part.eq(local),
                mailboxes::name.eq(Some(name)),
            ));
            if rows.len() == batch {
                done += rows.len() as u64;
                copy_batch!(c, mailboxes::table, std::mem::take(&mut rows));
                progress(Progress {
                    phase: "mailboxes",
                    done,
                    total: o.mailboxes,
                });
            }
        }
    }
    if !rows.is_empty() {
        done += rows.len() as u64;
        copy_batch!(c, mailboxes::table, rows);
        progress(Progress {
            phase: "mailboxes",
            done,
            total: o.mailboxes,
        });
    }
    Ok(())
}

fn seed_aliases(
    c: &mut AnyConnection,
    o: &SeedOptions,
    ids: &[(i32, String)],
    by: i32,
    t: NaiveDateTime,
    rng: &mut Rng,
    progress: &mut dyn FnMut(Progress),
) -> OpResult<()> {
    let batch = batch_size(c);
    let mut rows = Vec::with_capacity(batch);
    let mut done = 0u64;
    for (d, (domain_id, dom)) in ids.iter().enumerate() {
        let (d, domain_id) = (d as u64, *domain_id);
        let n_alias = share(o.aliases, o.domains, d);
        if n_alias == 0 {
            continue;
        }
        let n_mail = share(o.mailboxes, o.domains, d);
        for k in 0..n_alias {
            let role = *pick(ROLES, k);
            let n = k / ROLES.len() as u64;
            let address = if n == 0 {
                format!("{role}@{dom}")
            } else {
                format!("{role}{n}@{dom}")
            };
            // Role addresses forward to one or two local mailboxes, or to
            // an outside address when the domain has none.
            let goto = if n_mail == 0 {
                format!("{role}@example.net")
            } else {
                let a = local_part(rng.below(n_mail));
                let b = local_part(rng.below(n_mail));
                if a == b || rng.below(2) == 0 {
                    format!("{a}@{dom}")
                } else {
                    format!("{a}@{dom},{b}@{dom}")
                }
            };
            rows.push((
                aliases::address.eq(address),
                aliases::goto.eq(goto),
                aliases::domain_id.eq(domain_id),
                aliases::status.eq("active"),
                aliases::description.eq(Option::<String>::None),
                aliases::created_at.eq(t),
                aliases::updated_at.eq(t),
                aliases::created_by.eq(Some(by)),
            ));
            if rows.len() == batch {
                done += rows.len() as u64;
                copy_batch!(c, aliases::table, std::mem::take(&mut rows));
                progress(Progress {
                    phase: "aliases",
                    done,
                    total: o.aliases,
                });
            }
        }
    }
    if !rows.is_empty() {
        done += rows.len() as u64;
        copy_batch!(c, aliases::table, rows);
        progress(Progress {
            phase: "aliases",
            done,
            total: o.aliases,
        });
    }
    Ok(())
}

/// Synthetic history: mailbox and alias edits and logins over the past
/// year, oldest first, chained like `audit::insert` chains rows.
fn seed_audit(
    c: &mut AnyConnection,
    ctx: &Ctx,
    o: &SeedOptions,
    ids: &[(i32, String)],
    t: NaiveDateTime,
    rng: &mut Rng,
    progress: &mut dyn FnMut(Progress),
) -> OpResult<()> {
    if o.audit == 0 {
        return Ok(());
    }
    let (mut id, mut prev, hasher) =
        audit::begin_append(c, ctx.policy.audit.as_ref(), ctx.policy.tables)?;
    let ua = ctx.client.user_agent();
    let ip = ctx.client.ip.clone();
    let actor = ctx.username.clone();
    let span = 365 * 86400 * 1_000_000i64;
    let step = (span / o.audit as i64).max(1);
    let mut ts = t - TimeDelta::microseconds(span);
    let batch = batch_size(c);
    let mut rows = Vec::with_capacity(batch);
    let doms = ids.len().max(1) as u64;
    for i in 0..o.audit {
        ts += TimeDelta::microseconds(step);
        let dom = ids
            .get(crate::num::usize_from(rng.below(doms)))
            .map_or("example.org", |(_, n)| n.as_str());
        let (action, rtype, details) = match i % 4 {
            0 => (
                AuditAction::Create,
                AuditType::Mailbox,
                json!({ "after": { "username": format!("{}@{dom}", local_part(rng.below(100))) }, "password": "set" }),
            ),
            1 => (
                AuditAction::Update,
                AuditType::Mailbox,
                json!({ "before": { "quota_limit": GIB }, "after": { "quota_limit": 2 * GIB }, "address": format!("{}@{dom}", local_part(rng.below(100))) }),
            ),
            2 => (
                AuditAction::SetPassword,
                AuditType::Mailbox,
                json!({ "address": format!("{}@{dom}", local_part(rng.below(100))), "password": "set" }),
            ),
            _ => (
                AuditAction::Create,
                AuditType::Alias,
                json!({ "after": { "address": format!("{}@{dom}", *pick(ROLES, i)) } }),
            ),
        };
        let details = details.to_string();
        let row_hash = audit::hash_row(
            &hasher,
            id,
            &ts,
            Some(ctx.user_id),
            Some(&actor),
            action.as_str(),
            Some(rtype.as_str()),
            None,
            Some(&details),
            Some(&ip),
            Some(&ua),
            audit::RESULT_OK,
            &prev,
        );
        rows.push((
            audit_logs::id.eq(id),
            audit_logs::user_id.eq(Some(ctx.user_id)),
            audit_logs::action.eq(action.as_str()),
            audit_logs::resource_type.eq(Some(rtype.as_str())),
            audit_logs::resource_id.eq(Option::<i64>::None),
            audit_logs::details.eq(Some(details)),
            audit_logs::ip_address.eq(Some(ip.clone())),
            audit_logs::user_agent.eq(Some(ua.clone())),
            audit_logs::timestamp.eq(ts),
            audit_logs::actor.eq(Some(actor.clone())),
            audit_logs::result.eq(audit::RESULT_OK),
            audit_logs::prev_hash.eq(std::mem::replace(&mut prev, row_hash.clone())),
            audit_logs::row_hash.eq(row_hash),
        ));
        id += 1;
        if rows.len() == batch {
            copy_batch!(c, audit_logs::table, std::mem::take(&mut rows));
            progress(Progress {
                phase: "audit",
                done: i + 1,
                total: o.audit,
            });
        }
    }
    if !rows.is_empty() {
        copy_batch!(c, audit_logs::table, rows);
    }
    progress(Progress {
        phase: "audit",
        done: o.audit,
        total: o.audit,
    });
    Ok(())
}
