use diesel::prelude::*;

use super::{like_pattern, Filter, Page};
use crate::db::models::Domain;
use crate::db::schema::{aliases, domains, mailboxes};
use crate::db::AnyConnection;

pub fn by_name(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<Domain>> {
    domains::table
        .filter(domains::name.eq(name))
        .select(Domain::as_select())
        .first(conn)
        .optional()
}

pub fn by_id(conn: &mut AnyConnection, id: i32) -> QueryResult<Option<Domain>> {
    domains::table
        .find(id)
        .select(Domain::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &Filter,
    page: &Page,
) -> QueryResult<Vec<Domain>> {
    let mut q = domains::table
        .select(Domain::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(domains::id.eq_any(ids.to_vec()));
    }
    if let Some(t) = &f.text {
        // The name or the description (a few thousand domain rows: a scan,
        // as the name's substring search already was).
        let pat = like_pattern(t);
        q = q.filter(
            domains::name
                .like(pat.clone())
                .escape('\\')
                .or(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "lower(domains.description) LIKE ",
                )
                .bind::<diesel::sql_types::Text, _>(pat)
                .sql(" ESCAPE '\\'")),
        );
    }
    if let Some(s) = &f.status {
        q = q.filter(domains::status.eq(s.clone()));
    }
    let asc = f.sort.desc == page.backward;
    q = match f.sort.expr() {
        None => match (&page.after, asc) {
            (None, true) => q.order(domains::name.asc()),
            (None, false) => q.order(domains::name.desc()),
            (Some(a), true) => q
                .filter(domains::name.gt(a.clone()))
                .order(domains::name.asc()),
            (Some(a), false) => q
                .filter(domains::name.lt(a.clone()))
                .order(domains::name.desc()),
        },
        Some(expr) => {
            let (order, [a, b, c, d]) = super::sorted_sql(expr, "domains.name", asc);
            let q = q.order(diesel::dsl::sql::<diesel::sql_types::Text>(&order));
            match page.after.as_deref().and_then(super::parse_sort_cursor) {
                Some((v, n)) => q.filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(&a)
                        .bind::<diesel::sql_types::BigInt, _>(v)
                        .sql(&b)
                        .bind::<diesel::sql_types::BigInt, _>(v)
                        .sql(&c)
                        .bind::<diesel::sql_types::BigInt, _>(v)
                        .sql(&d)
                        .bind::<diesel::sql_types::Text, _>(n)
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

pub fn mailbox_count(conn: &mut AnyConnection, domain_id: i32) -> QueryResult<i64> {
    mailboxes::table
        .filter(mailboxes::domain_id.eq(domain_id))
        .count()
        .get_result(conn)
}

pub fn alias_count(conn: &mut AnyConnection, domain_id: i32) -> QueryResult<i64> {
    aliases::table
        .filter(aliases::domain_id.eq(domain_id))
        .count()
        .get_result(conn)
}

/// Bytes allotted to the domain's mailboxes (sum of their quota limits),
/// optionally leaving one mailbox out (the one being edited).
pub fn allotted(
    conn: &mut AnyConnection,
    domain_id: i32,
    except_mailbox: Option<i32>,
) -> QueryResult<i64> {
    let mut q = mailboxes::table
        .filter(mailboxes::domain_id.eq(domain_id))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "CAST(COALESCE(SUM(quota_limit), 0) AS BIGINT)",
        ))
        .into_boxed();
    if let Some(id) = except_mailbox {
        q = q.filter(mailboxes::id.ne(id));
    }
    q.first(conn)
}

/// The largest single mailbox quota in the domain, and whether any is unlimited.
pub fn largest_mailbox_quota(conn: &mut AnyConnection, domain_id: i32) -> QueryResult<(i64, bool)> {
    let max: i64 = mailboxes::table
        .filter(mailboxes::domain_id.eq(domain_id))
        .select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "CAST(COALESCE(MAX(quota_limit), 0) AS BIGINT)",
        ))
        .first(conn)?;
    let unlimited: i64 = mailboxes::table
        .filter(mailboxes::domain_id.eq(domain_id))
        .filter(mailboxes::quota_limit.eq(0i64))
        .count()
        .get_result(conn)?;
    Ok((max, unlimited > 0))
}

/// Domain names for a set of ids (for messages and joins in output).
pub fn names(conn: &mut AnyConnection, ids: &[i32]) -> QueryResult<Vec<(i32, String)>> {
    domains::table
        .filter(domains::id.eq_any(ids.to_vec()))
        .select((domains::id, domains::name))
        .load(conn)
}
