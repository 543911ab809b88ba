//! Live quota queries (issue 6): the dashboard's snapshot, its cheap change
//! check, percent-used rankings with keyset pages, threshold lists and the
//! usage history. Everything reads the per-domain aggregates the triggers of
//! migration `2026-11-27-000020_quota_history` keep, or walks the
//! `used_permille` expression indexes, so no query here scans all mailboxes.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Integer, Timestamp};
use serde::Serialize;

use crate::db::schema::mailboxes;
use crate::db::{write_tx, AnyConnection};

/// Percent used in permille; -1 when there is no limit. The text must stay
/// identical to the migration's index expression: that is what lets
/// SQLite and PostgreSQL answer ORDER BY/WHERE on it from the index.
pub const PERMILLE: &str =
    "(CASE WHEN quota_limit > 0 THEN quota_used * 1000 / quota_limit ELSE -1 END)";

// The domains table seen with the aggregate columns the migration added;
// declared here rather than in schema.rs so the shared `Domain` model (and
// every query selecting it) stays as it was.
diesel::table! {
    #[sql_name = "domains"]
    domain_usage (id) {
        id -> Integer,
        name -> Text,
        status -> Text,
        quota_limit -> BigInt,
        quota_used -> BigInt,
        mailbox_count -> BigInt,
        mailbox_quota -> BigInt,
        alias_count -> BigInt,
        change_seq -> BigInt,
    }
}

diesel::table! {
    quota_watch (id) {
        id -> Integer,
        domains_seq -> BigInt,
    }
}

// Change counters the domain triggers bump (migration
// `000010_watch_at_scale`): an unscoped change check sums these few rows
// instead of every domain's change_seq.
diesel::table! {
    quota_watch_stripes (stripe) {
        stripe -> Integer,
        changes -> BigInt,
    }
}

diesel::table! {
    quota_samples (id) {
        id -> BigInt,
        taken_at -> Timestamp,
        used -> BigInt,
        allotted -> BigInt,
        mailboxes -> BigInt,
    }
}

diesel::table! {
    domain_quota_samples (domain_id, taken_at) {
        domain_id -> Integer,
        taken_at -> Timestamp,
        used -> BigInt,
    }
}

diesel::table! {
    mailbox_quota_samples (mailbox_id, taken_at) {
        mailbox_id -> Integer,
        taken_at -> Timestamp,
        used -> BigInt,
    }
}

// The newest sample of each domain and mailbox (migration
// `000024_quota_latest`); the two tables above hold the older ones.
diesel::table! {
    domain_quota_latest (domain_id) {
        domain_id -> Integer,
        taken_at -> Timestamp,
        used -> BigInt,
    }
}

diesel::table! {
    mailbox_quota_latest (mailbox_id) {
        mailbox_id -> Integer,
        taken_at -> Timestamp,
        used -> BigInt,
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub domains: i64,
    pub mailboxes: i64,
    pub aliases: i64,
    /// Bytes used by all mailboxes.
    pub used: i64,
    /// Sum of the mailboxes' quota limits (0 = unlimited counts as 0).
    pub allotted: i64,
}

/// What changes whenever anything the dashboard shows changes: the number
/// of domains in scope (0 unscoped), the domain create/delete counter (a
/// create plus a delete between two checks still moves it) and a change
/// count: for a scope, the sum of its domains' change counters the
/// mailbox, alias and domain triggers bump; unscoped, the stripe counters
/// every such bump also moves.
pub type ChangeToken = (i64, i64, i64);

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DomainRow {
    pub id: i32,
    pub name: String,
    pub status: String,
    pub used: i64,
    pub limit: i64,
    pub mailboxes: i64,
    /// Permille used, -1 without a limit.
    pub permille: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MailboxRow {
    pub id: i32,
    pub username: String,
    pub used: i64,
    pub limit: i64,
    pub permille: i64,
}

fn sum(col: &str) -> diesel::expression::SqlLiteral<BigInt> {
    // PostgreSQL's SUM(bigint) is numeric: cast back.
    sql::<BigInt>(&format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT)"))
}

pub fn change_token(conn: &mut AnyConnection, scope: Option<&[i32]>) -> QueryResult<ChangeToken> {
    let seq: i64 = quota_watch::table
        .select(quota_watch::domains_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    let Some(ids) = scope else {
        // A few stripe rows, however many domains: summing every domain's
        // change_seq cost ~15 ms at 100,000 domains, every 2 s per screen.
        let changes: i64 = quota_watch_stripes::table
            .select(sum("changes"))
            .first(conn)?;
        return Ok((0, seq, changes));
    };
    let (n, changes): (i64, i64) = domain_usage::table
        .select((diesel::dsl::count_star(), sum("change_seq")))
        .filter(domain_usage::id.eq_any(ids.to_vec()))
        .first(conn)?;
    Ok((n, seq, changes))
}

pub fn totals(conn: &mut AnyConnection, scope: Option<&[i32]>) -> QueryResult<Totals> {
    let mut q = domain_usage::table
        .select((
            diesel::dsl::count_star(),
            sum("mailbox_count"),
            sum("alias_count"),
            sum("quota_used"),
            sum("mailbox_quota"),
        ))
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(domain_usage::id.eq_any(ids.to_vec()));
    }
    let (domains, mailboxes, aliases, used, allotted) = q.first(conn)?;
    Ok(Totals {
        domains,
        mailboxes,
        aliases,
        used,
        allotted,
    })
}

/// Rows ranked after the keyset `(permille, id)` in a highest-first
/// ranking whose ids are `id_col`: `(permille, id) < (p, id)` spelled out,
/// the same on both backends.
fn ranked_after<QS>(
    id_col: &str,
    (p, id): (i64, i32),
) -> Box<dyn BoxableExpression<QS, <AnyConnection as Connection>::Backend, SqlType = Bool>> {
    Box::new(
        sql::<Bool>(&format!("({PERMILLE} < "))
            .bind::<BigInt, _>(p)
            .sql(&format!(" OR ({PERMILLE} = "))
            .bind::<BigInt, _>(p)
            .sql(&format!(" AND {id_col} < "))
            .bind::<Integer, _>(id)
            .sql("))"),
    )
}

/// Domains by percent used, highest first (id breaks ties), after the
/// keyset `after` = (permille, id) of the last row already shown.
pub fn domains_by_usage(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    after: Option<(i64, i32)>,
    limit: i64,
) -> QueryResult<Vec<DomainRow>> {
    let mut q = domain_usage::table
        .select((
            domain_usage::id,
            domain_usage::name,
            domain_usage::status,
            domain_usage::quota_used,
            domain_usage::quota_limit,
            domain_usage::mailbox_count,
            sql::<BigInt>(PERMILLE),
        ))
        .order((
            sql::<BigInt>(&format!("{PERMILLE} DESC")),
            domain_usage::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(domain_usage::id.eq_any(ids.to_vec()));
    }
    if let Some(key) = after {
        q = q.filter(ranked_after("domains.id", key));
    }
    let rows: Vec<(i32, String, String, i64, i64, i64, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, status, used, limit, mailboxes, permille)| DomainRow {
                id,
                name,
                status,
                used,
                limit,
                mailboxes,
                permille,
            },
        )
        .collect())
}

/// Mailboxes by percent used, highest first, keyset-paged like
/// [`domains_by_usage`]. `min_permille` drops rows below it (and, at 0 or
/// more, the unlimited ones).
pub fn mailboxes_by_usage(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    min_permille: Option<i64>,
    after: Option<(i64, i32)>,
    limit: i64,
) -> QueryResult<Vec<MailboxRow>> {
    let mut q = mailboxes::table
        .select((
            mailboxes::id,
            mailboxes::username,
            mailboxes::quota_used,
            mailboxes::quota_limit,
            sql::<BigInt>(PERMILLE),
        ))
        .order((
            sql::<BigInt>(&format!("{PERMILLE} DESC")),
            mailboxes::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    if let Some(m) = min_permille {
        q = q.filter(sql::<Bool>(&format!("{PERMILLE} >= ")).bind::<BigInt, _>(m));
    }
    if let Some(key) = after {
        q = q.filter(ranked_after("mailboxes.id", key));
    }
    let rows: Vec<(i32, String, i64, i64, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, username, used, limit, permille)| MailboxRow {
            id,
            username,
            used,
            limit,
            permille,
        })
        .collect())
}

/// Domains at or above `min_permille`, highest first.
pub fn domains_over(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    min_permille: i64,
    limit: i64,
) -> QueryResult<Vec<DomainRow>> {
    let mut q = domain_usage::table
        .select((
            domain_usage::id,
            domain_usage::name,
            domain_usage::status,
            domain_usage::quota_used,
            domain_usage::quota_limit,
            domain_usage::mailbox_count,
            sql::<BigInt>(PERMILLE),
        ))
        .filter(sql::<Bool>(&format!("{PERMILLE} >= ")).bind::<BigInt, _>(min_permille))
        .order((
            sql::<BigInt>(&format!("{PERMILLE} DESC")),
            domain_usage::id.desc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(domain_usage::id.eq_any(ids.to_vec()));
    }
    let rows: Vec<(i32, String, String, i64, i64, i64, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, status, used, limit, mailboxes, permille)| DomainRow {
                id,
                name,
                status,
                used,
                limit,
                mailboxes,
                permille,
            },
        )
        .collect())
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SampleSummary {
    pub taken_at: String,
    pub domains: usize,
    pub mailboxes: usize,
    pub pruned: usize,
}

/// Record one sample at `now` and drop history older than `keep_before`,
/// `batch` ids per slice (see [`sample_range`]), calling `between` after
/// each slice, outside any transaction.
pub fn sample(
    conn: &mut AnyConnection,
    now: NaiveDateTime,
    keep_before: NaiveDateTime,
    batch: i32,
    between: &mut dyn FnMut(&mut AnyConnection),
) -> QueryResult<SampleSummary> {
    let batch = batch.max(1);
    write_tx(conn, |c| sample_host(c, now))?;
    between(conn);
    let mut counts = [0usize; 2];
    for (i, kind) in [SampleKind::Domains, SampleKind::Mailboxes]
        .into_iter()
        .enumerate()
    {
        let Some((min, max)) = sample_bounds(conn, kind)? else {
            continue;
        };
        let mut lo = min;
        loop {
            let hi = lo.saturating_add(batch - 1).min(max);
            counts[i] += sample_range(conn, kind, now, lo, hi)?;
            between(conn);
            if hi >= max {
                break;
            }
            lo = hi + 1;
        }
    }
    let pruned = write_tx(conn, |c| prune_samples(c, keep_before))?;
    Ok(SampleSummary {
        taken_at: now.format("%Y-%m-%d %H:%M:%S").to_string(),
        domains: counts[0],
        mailboxes: counts[1],
        pruned,
    })
}

/// What `quota sample` samples besides the host: domains or mailboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    Domains,
    Mailboxes,
}

impl SampleKind {
    /// (table sampled, its latest table, its history table, their id column)
    fn tables(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            SampleKind::Domains => (
                "domains",
                "domain_quota_latest",
                "domain_quota_samples",
                "domain_id",
            ),
            SampleKind::Mailboxes => (
                "mailboxes",
                "mailbox_quota_latest",
                "mailbox_quota_samples",
                "mailbox_id",
            ),
        }
    }
}

/// The same SQL on both backends, with `$n` parameters: PostgreSQL's own
/// spelling, and SQLite reads `?n` as the same numbered parameter.
fn numbered(conn: &AnyConnection, sql: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => sql.replace('$', "?"),
        AnyConnection::Postgresql(_) => sql.to_string(),
    }
}

/// The host row of a sample: always written (the sparkline's x axis).
pub fn sample_host(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<()> {
    let t = totals(conn, None)?;
    diesel::insert_into(quota_samples::table)
        .values((
            quota_samples::taken_at.eq(now),
            quota_samples::used.eq(t.used),
            quota_samples::allotted.eq(t.allotted),
            quota_samples::mailboxes.eq(t.mailboxes),
        ))
        .execute(conn)?;
    Ok(())
}

/// Lowest and highest id of the sampled table, `None` when it is empty.
pub fn sample_bounds(
    conn: &mut AnyConnection,
    kind: SampleKind,
) -> QueryResult<Option<(i32, i32)>> {
    let (min, max): (Option<i32>, Option<i32>) = match kind {
        SampleKind::Domains => domain_usage::table
            .select((
                diesel::dsl::min(domain_usage::id),
                diesel::dsl::max(domain_usage::id),
            ))
            .first(conn)?,
        SampleKind::Mailboxes => mailboxes::table
            .select((
                diesel::dsl::min(mailboxes::id),
                diesel::dsl::max(mailboxes::id),
            ))
            .first(conn)?,
    };
    Ok(min.zip(max))
}

/// Sample the rows with `lo <= id <= hi` at `now`: a row whose usage differs
/// from its latest sample gets a new latest sample (the superseded one
/// moves to the history table), a row without one gets its first. Returns
/// how many rows were sampled.
///
/// One read first, outside any transaction: a join of the slice with its
/// latest samples over the id range (both sides bounded, one primary-key
/// range each) counting what there is to do. Only a slice with work opens
/// a write transaction, and it runs only the statements that work needs,
/// each re-checking its condition under the write lock (a row that changes
/// after the read is caught by the next sample). So a run where nothing
/// changed takes the write lock for the host row alone and an admin's save
/// never waits behind it, and a first sample is one plain
/// `INSERT ... SELECT` per slice. (The old `INSERT ... SELECT` probing the
/// newest history row per mailbox ran over five minutes at 1M on
/// PostgreSQL, inside one transaction.)
pub fn sample_range(
    conn: &mut AnyConnection,
    kind: SampleKind,
    now: NaiveDateTime,
    lo: i32,
    hi: i32,
) -> QueryResult<usize> {
    let (src, latest, _, fk) = kind.tables();
    let counts = numbered(
        conn,
        &format!(
            "SELECT COUNT(*) AS n, COUNT(l.{fk}) AS k, \
             COALESCE(SUM(CASE WHEN l.{fk} IS NOT NULL AND m.quota_used <> l.used THEN 1 ELSE 0 END), 0) AS changed \
             FROM {src} m LEFT JOIN {latest} l \
             ON l.{fk} = m.id AND l.{fk} >= $1 AND l.{fk} <= $2 WHERE m.id >= $1 AND m.id <= $2"
        ),
    );
    let todo = diesel::sql_query(counts)
        .bind::<Integer, _>(lo)
        .bind::<Integer, _>(hi)
        .get_result::<Counts>(conn)?;
    if todo.changed == 0 && todo.n == todo.k {
        return Ok(0);
    }
    write_tx(conn, |c| write_range(c, kind, now, (lo, hi), &todo))
}

/// The writes of one slice, under the write lock: archive and overwrite
/// the changed latest samples, add the missing ones.
fn write_range(
    conn: &mut AnyConnection,
    kind: SampleKind,
    now: NaiveDateTime,
    (lo, hi): (i32, i32),
    todo: &Counts,
) -> QueryResult<usize> {
    let (src, latest, history, fk) = kind.tables();
    let mut sampled = 0;
    if todo.changed > 0 {
        let range = format!("l.{fk} >= $1 AND l.{fk} <= $2 AND m.id >= $1 AND m.id <= $2");
        let archive = numbered(
            conn,
            &format!(
                "INSERT INTO {history} ({fk}, taken_at, used) \
                 SELECT l.{fk}, l.taken_at, l.used FROM {latest} l JOIN {src} m ON m.id = l.{fk} \
                 WHERE {range} AND m.quota_used <> l.used"
            ),
        );
        diesel::sql_query(archive)
            .bind::<Integer, _>(lo)
            .bind::<Integer, _>(hi)
            .execute(conn)?;
        let update = numbered(
            conn,
            &format!(
                "UPDATE {latest} SET taken_at = $3, used = m.quota_used FROM {src} m \
                 WHERE m.id = {latest}.{fk} AND {latest}.{fk} >= $1 AND {latest}.{fk} <= $2 \
                 AND m.id >= $1 AND m.id <= $2 AND m.quota_used <> {latest}.used"
            ),
        );
        sampled += diesel::sql_query(update)
            .bind::<Integer, _>(lo)
            .bind::<Integer, _>(hi)
            .bind::<Timestamp, _>(now)
            .execute(conn)?;
    }
    if todo.n > todo.k {
        // A slice without latest rows (a first sample) is one plain insert
        // reading only the sampled table; otherwise the insert anti-joins
        // against the rows that exist before it starts. Decided again here
        // under the write lock (one primary-key probe): the count was read
        // before it, and another sampler may have filled the slice since.
        let probe = numbered(
            conn,
            &format!(
                "SELECT COUNT(*) AS n, COUNT(*) AS k, CAST(0 AS BIGINT) AS changed FROM \
                 (SELECT 1 FROM {latest} WHERE {fk} >= $1 AND {fk} <= $2 LIMIT 1) AS x"
            ),
        );
        let sampled_before = diesel::sql_query(probe)
            .bind::<Integer, _>(lo)
            .bind::<Integer, _>(hi)
            .get_result::<Counts>(conn)?
            .n
            > 0;
        let unseen = if sampled_before {
            format!(" AND NOT EXISTS (SELECT 1 FROM {latest} l WHERE l.{fk} = m.id)")
        } else {
            String::new()
        };
        let insert = numbered(
            conn,
            &format!(
                "INSERT INTO {latest} ({fk}, taken_at, used) \
                 SELECT m.id, $3, m.quota_used FROM {src} m \
                 WHERE m.id >= $1 AND m.id <= $2{unseen}"
            ),
        );
        sampled += diesel::sql_query(insert)
            .bind::<Integer, _>(lo)
            .bind::<Integer, _>(hi)
            .bind::<Timestamp, _>(now)
            .execute(conn)?;
    }
    Ok(sampled)
}

#[derive(QueryableByName)]
struct Counts {
    /// Rows in the slice.
    #[diesel(sql_type = BigInt)]
    n: i64,
    /// ... of which have a latest sample.
    #[diesel(sql_type = BigInt)]
    k: i64,
    /// ... of which differ from it.
    #[diesel(sql_type = BigInt)]
    changed: i64,
}

/// Drop history older than `keep_before` (each row's latest sample stays,
/// however old: it is the value the row still has).
pub fn prune_samples(conn: &mut AnyConnection, keep_before: NaiveDateTime) -> QueryResult<usize> {
    let mut pruned =
        diesel::delete(quota_samples::table.filter(quota_samples::taken_at.lt(keep_before)))
            .execute(conn)?;
    pruned += diesel::delete(
        domain_quota_samples::table.filter(domain_quota_samples::taken_at.lt(keep_before)),
    )
    .execute(conn)?;
    pruned += diesel::delete(
        mailbox_quota_samples::table.filter(mailbox_quota_samples::taken_at.lt(keep_before)),
    )
    .execute(conn)?;
    Ok(pruned)
}

/// The host's last `n` samples of bytes used, oldest first.
pub fn host_history(conn: &mut AnyConnection, n: i64) -> QueryResult<Vec<i64>> {
    let mut v: Vec<i64> = quota_samples::table
        .select(quota_samples::used)
        .order(quota_samples::taken_at.desc())
        .limit(n)
        .load(conn)?;
    v.reverse();
    Ok(v)
}

/// A domain's last `n` change points (taken_at, used), oldest first.
pub fn domain_history(
    conn: &mut AnyConnection,
    domain_id: i32,
    n: i64,
) -> QueryResult<Vec<(NaiveDateTime, i64)>> {
    let newest: Option<(NaiveDateTime, i64)> = domain_quota_latest::table
        .find(domain_id)
        .select((domain_quota_latest::taken_at, domain_quota_latest::used))
        .first(conn)
        .optional()?;
    let older: Vec<(NaiveDateTime, i64)> = domain_quota_samples::table
        .filter(domain_quota_samples::domain_id.eq(domain_id))
        .select((domain_quota_samples::taken_at, domain_quota_samples::used))
        .order(domain_quota_samples::taken_at.desc())
        .limit(n)
        .load(conn)?;
    Ok(oldest_first(newest, older, n))
}

/// A mailbox's last `n` change points (taken_at, used), oldest first.
pub fn mailbox_history(
    conn: &mut AnyConnection,
    mailbox_id: i32,
    n: i64,
) -> QueryResult<Vec<(NaiveDateTime, i64)>> {
    let newest: Option<(NaiveDateTime, i64)> = mailbox_quota_latest::table
        .find(mailbox_id)
        .select((mailbox_quota_latest::taken_at, mailbox_quota_latest::used))
        .first(conn)
        .optional()?;
    let older: Vec<(NaiveDateTime, i64)> = mailbox_quota_samples::table
        .filter(mailbox_quota_samples::mailbox_id.eq(mailbox_id))
        .select((mailbox_quota_samples::taken_at, mailbox_quota_samples::used))
        .order(mailbox_quota_samples::taken_at.desc())
        .limit(n)
        .load(conn)?;
    Ok(oldest_first(newest, older, n))
}

/// The latest sample plus the history (newest first), cut to `n` and
/// turned oldest first.
fn oldest_first(
    newest: Option<(NaiveDateTime, i64)>,
    older: Vec<(NaiveDateTime, i64)>,
    n: i64,
) -> Vec<(NaiveDateTime, i64)> {
    let mut v: Vec<(NaiveDateTime, i64)> = newest.into_iter().chain(older).collect();
    v.truncate(usize::try_from(n).unwrap_or(0));
    v.reverse();
    v
}

/// How many mailboxes and domains are at or above `min_permille`. For
/// the whole host at a whole percent (what `quota check` asks), from the
/// per-percent counts the triggers keep (migration `000005_scale`): a
/// sum over at most a few thousand rows, where the range count on the
/// permille index is linear in the matches (381-626 ms for 2M of 10M
/// mailboxes). Otherwise an exact range count on the permille indexes.
pub fn count_over(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    min_permille: i64,
) -> QueryResult<(i64, i64)> {
    if scope.is_none() && min_permille >= 10 && min_permille % 10 == 0 && min_permille <= 10_000 {
        return kept_count_over(conn, min_permille / 10);
    }
    count_over_by_index(conn, scope, min_permille)
}

diesel::table! {
    quota_percent_counts (percent, stripe) {
        percent -> Integer,
        stripe -> Integer,
        n_mailboxes -> BigInt,
        n_domains -> BigInt,
    }
}

/// SQLite only: what the mailboxes' percent insert trigger (standing
/// aside in bulk mode, migration 000022) would have added for the
/// mailboxes matching `cond` (SQL over `mailboxes`, built by the caller
/// from integers only), as one grouped upsert.
pub fn add_percent_counts_sqlite(s: &mut diesel::SqliteConnection, cond: &str) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    let pct = "CASE WHEN quota_limit > 0 AND quota_used * 1000 / quota_limit >= 10 \
               THEN MIN(quota_used * 1000 / quota_limit / 10, 1000) END";
    s.batch_execute(&format!(
        "INSERT INTO quota_percent_counts (percent, stripe, n_mailboxes) \
         SELECT p, 0, COUNT(*) FROM (SELECT {pct} AS p FROM mailboxes WHERE {cond}) \
         WHERE p IS NOT NULL GROUP BY p \
         ON CONFLICT (percent, stripe) DO UPDATE SET n_mailboxes = n_mailboxes + excluded.n_mailboxes"
    ))
}

/// The kept counts at or above `percent` (1..=1000; 1000 holds every row
/// at 1000 % or more, so a threshold up to 1000 % is exact).
pub fn kept_count_over(conn: &mut AnyConnection, percent: i64) -> QueryResult<(i64, i64)> {
    let p = i32::try_from(percent).unwrap_or(i32::MAX);
    quota_percent_counts::table
        .select((sum("n_mailboxes"), sum("n_domains")))
        .filter(quota_percent_counts::percent.ge(p))
        .first(conn)
}

/// [`count_over`] as a range count on the permille indexes (exact for any
/// threshold and scope; what the kept counts are checked against).
pub fn count_over_by_index(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    min_permille: i64,
) -> QueryResult<(i64, i64)> {
    let mut m = mailboxes::table
        .select(diesel::dsl::count_star())
        .filter(sql::<Bool>(&format!("{PERMILLE} >= ")).bind::<BigInt, _>(min_permille))
        .into_boxed();
    if let Some(ids) = scope {
        m = m.filter(mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    let mut d = domain_usage::table
        .select(diesel::dsl::count_star())
        .filter(sql::<Bool>(&format!("{PERMILLE} >= ")).bind::<BigInt, _>(min_permille))
        .into_boxed();
    if let Some(ids) = scope {
        d = d.filter(domain_usage::id.eq_any(ids.to_vec()));
    }
    Ok((m.first(conn)?, d.first(conn)?))
}
