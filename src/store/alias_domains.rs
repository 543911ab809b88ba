use diesel::prelude::*;

use super::{like_pattern, Filter, Page};
use crate::db::models::AliasDomain;
use crate::db::schema::alias_domains;
use crate::db::AnyConnection;

pub fn by_name(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<AliasDomain>> {
    alias_domains::table
        .filter(alias_domains::name.eq(name))
        .select(AliasDomain::as_select())
        .first(conn)
        .optional()
}

pub fn count_for_target(conn: &mut AnyConnection, domain_id: i32) -> QueryResult<i64> {
    alias_domains::table
        .filter(alias_domains::target_domain_id.eq(domain_id))
        .count()
        .get_result(conn)
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &Filter,
    page: &Page,
) -> QueryResult<Vec<AliasDomain>> {
    let mut q = alias_domains::table
        .select(AliasDomain::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(alias_domains::target_domain_id.eq_any(ids.to_vec()));
    }
    if let Some(d) = f.domain_id {
        q = q.filter(alias_domains::target_domain_id.eq(d));
    }
    if let Some(t) = &f.text {
        q = q.filter(alias_domains::name.like(like_pattern(t)).escape('\\'));
    }
    if let Some(s) = &f.status {
        q = q.filter(alias_domains::status.eq(s.clone()));
    }
    // Walk descending for a descending sort, reversed again for a page back.
    q = match (&page.after, f.sort.desc != page.backward) {
        (None, false) => q.order(alias_domains::name.asc()),
        (None, true) => q.order(alias_domains::name.desc()),
        (Some(a), false) => q
            .filter(alias_domains::name.gt(a.clone()))
            .order(alias_domains::name.asc()),
        (Some(a), true) => q
            .filter(alias_domains::name.lt(a.clone()))
            .order(alias_domains::name.desc()),
    };
    let mut rows: Vec<_> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// Active alias domains with their target's name (the DKIM signing set).
pub fn active_with_target(conn: &mut AnyConnection) -> QueryResult<Vec<(String, String)>> {
    alias_domains::table
        .inner_join(crate::db::schema::domains::table)
        .filter(alias_domains::status.eq("active"))
        .filter(crate::db::schema::domains::status.eq("active"))
        .select((alias_domains::name, crate::db::schema::domains::name))
        .order(alias_domains::name.asc())
        .load(conn)
}
