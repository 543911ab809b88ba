use diesel::prelude::*;

use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};

use super::{like_pattern, Filter, Page};
use crate::db::models::Mailbox;
use crate::db::schema::mailboxes;
use crate::db::AnyConnection;

pub fn by_address(conn: &mut AnyConnection, address: &str) -> QueryResult<Option<Mailbox>> {
    mailboxes::table
        .filter(mailboxes::username.eq(address))
        .select(Mailbox::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &Filter,
    page: &Page,
) -> QueryResult<Vec<Mailbox>> {
    let mut q = mailboxes::table
        .select(Mailbox::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    if let Some(d) = f.domain_id {
        q = q.filter(mailboxes::domain_id.eq(d));
    }
    if let Some(t) = &f.text {
        // The address or the name (what the table shows beside it), both
        // lower-cased: addresses are stored so, names keep their capitals.
        let pattern = like_pattern(t);
        let matches = |address: &str, name: &str| {
            sql::<Bool>(&format!("({address} LIKE "))
                .bind::<Text, _>(pattern.clone())
                .sql(&format!(" ESCAPE '\\' OR {name} LIKE "))
                .bind::<Text, _>(pattern.clone())
                .sql(" ESCAPE '\\')")
        };
        q = match text_plan(conn, t)? {
            // Few matches: on SQLite the trigram index (over both columns)
            // finds them and the LIKEs still decide (results are LIKE's
            // exactly); PostgreSQL's pg_trgm indexes on username and
            // lower(name) serve the LIKEs themselves, OR-ed as a BitmapOr.
            TextPlan::Sparse(Some(phrase)) => q
                .filter(matches("mailboxes.username", "lower(mailboxes.name)"))
                .filter(
                    sql::<Bool>(
                        "mailboxes.id IN (SELECT rowid FROM mailboxes_fts WHERE mailboxes_fts MATCH ",
                    )
                    .bind::<Text, _>(phrase)
                    .sql(")"),
                ),
            TextPlan::Sparse(None) => {
                q.filter(matches("mailboxes.username", "lower(mailboxes.name)"))
            }
            // Many matches: walking the username index in page order finds
            // a page within a few hundred rows, while the trigram index
            // would fetch and sort every match. `|| ''` keeps PostgreSQL
            // from choosing the trigram indexes for the same LIKEs.
            TextPlan::Dense(None) => q.filter(matches(
                "(mailboxes.username || '')",
                "(lower(mailboxes.name) || '')",
            )),
            // SQLite, a common term of 3+ characters: testing each walked
            // row's name would fetch it from the table (the walk is
            // otherwise index-only), which made a first page of "anna" at
            // 1,000,000 mailboxes 16x slower. The name's matches come from
            // the trigram index once, as a list of ids, which the walk
            // checks from the index entry; only those rows are fetched for
            // the LIKE that decides.
            TextPlan::Dense(Some(phrase)) => q.filter(
                sql::<Bool>("((mailboxes.username || '') LIKE ")
                    .bind::<Text, _>(pattern.clone())
                    .sql(" ESCAPE '\\' OR (mailboxes.id IN (SELECT rowid FROM mailboxes_fts WHERE mailboxes_fts MATCH ")
                    .bind::<Text, _>(format!("name : {phrase}"))
                    .sql(") AND lower(mailboxes.name) LIKE ")
                    .bind::<Text, _>(pattern.clone())
                    .sql(" ESCAPE '\\'))"),
            ),
        };
    }
    if let Some(s) = &f.status {
        q = q.filter(mailboxes::status.eq(s.clone()));
    }
    // The direction this page walks: the sort's, reversed for a page back.
    let asc = f.sort.desc == page.backward;
    q = match f.sort.expr() {
        None => match (&page.after, asc) {
            (None, true) => q.order(mailboxes::username.asc()),
            (None, false) => q.order(mailboxes::username.desc()),
            (Some(a), true) => q
                .filter(mailboxes::username.gt(a.clone()))
                .order(mailboxes::username.asc()),
            (Some(a), false) => q
                .filter(mailboxes::username.lt(a.clone()))
                .order(mailboxes::username.desc()),
        },
        Some(expr) => {
            let (order, [a, b, c, d]) = super::sorted_sql(expr, "mailboxes.username", asc);
            let q = q.order(sql::<Text>(&order));
            match page.after.as_deref().and_then(super::parse_sort_cursor) {
                Some((v, n)) => q.filter(
                    sql::<Bool>(&a)
                        .bind::<diesel::sql_types::BigInt, _>(v)
                        .sql(&b)
                        .bind::<diesel::sql_types::BigInt, _>(v)
                        .sql(&c)
                        .bind::<diesel::sql_types::BigInt, _>(v)
                        .sql(&d)
                        .bind::<Text, _>(n)
                        .sql(")))"),
                ),
                None => q,
            }
        }
    };
    let mut rows: Vec<_> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// The FTS5 query for a substring: one quoted phrase (`"` doubled), which
/// the trigram tokenizer matches as "contains", case-insensitively. None
/// for terms under 3 characters: they have no trigram, so LIKE alone
/// serves them (a scan, but short terms match most rows anyway).
pub fn fts_phrase(term: &str) -> Option<String> {
    let t = term.to_lowercase();
    if t.chars().count() < 3 {
        return None;
    }
    Some(format!("\"{}\"", t.replace('"', "\"\"")))
}

/// Matches the density probe may count before it calls a term "dense".
const DENSE: i64 = 5000;

enum TextPlan {
    /// Use the trigram index (SQLite: with this FTS phrase).
    Sparse(Option<String>),
    /// Scan in index order and test each address (SQLite: the names
    /// matching this FTS phrase, as an id list).
    Dense(Option<String>),
}

/// Pick the cheaper plan for a substring: on SQLite by counting its
/// matches through the trigram index, stopping at `DENSE`. Terms under 3 characters have no
/// trigram: they are short enough to match densely, so they scan in order.
fn text_plan(conn: &mut AnyConnection, term: &str) -> QueryResult<TextPlan> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let Some(phrase) = fts_phrase(term) else {
        return Ok(TextPlan::Dense(None));
    };
    let (n, sparse) = match conn {
        AnyConnection::Sqlite(_) => {
            let n = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM (SELECT rowid FROM mailboxes_fts WHERE mailboxes_fts MATCH ? LIMIT ?)",
            )
            .bind::<Text, _>(&phrase)
            .bind::<diesel::sql_types::BigInt, _>(DENSE)
            .get_result::<N>(conn)?
            .n;
            (n, phrase)
        }
        // PostgreSQL's planner estimates a LIKE's matches from pg_trgm
        // statistics and picks the ordered B-tree walk for common terms
        // itself (given ANALYZEd tables), so no probe is needed there.
        AnyConnection::Postgresql(_) => return Ok(TextPlan::Sparse(None)),
    };
    Ok(if n >= DENSE {
        TextPlan::Dense(Some(sparse))
    } else {
        TextPlan::Sparse(Some(sparse))
    })
}

/// Mailboxes whose local part holds a character Dovecot refuses in a
/// login (stored before the rule): how many, and the first `limit` by
/// name. A scan, for `mail generate` (admin-only), not for every request.
pub fn login_refused(conn: &mut AnyConnection, limit: i64) -> QueryResult<(i64, Vec<String>)> {
    let query = || {
        let mut q = mailboxes::table.into_boxed();
        let mut any = false;
        for c in crate::validate::retired_mailbox_chars() {
            let pat = like_pattern(&c.to_string());
            q = if any {
                q.or_filter(mailboxes::local_part.like(pat).escape('\\'))
            } else {
                q.filter(mailboxes::local_part.like(pat).escape('\\'))
            };
            any = true;
        }
        q
    };
    let n: i64 = query().count().get_result(conn)?;
    let names = query()
        .select(mailboxes::username)
        .order(mailboxes::username.asc())
        .limit(limit)
        .load(conn)?;
    Ok((n, names))
}
