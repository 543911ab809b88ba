use diesel::prelude::*;

use super::{like_pattern, Filter, Page};
use crate::db::models::Alias;
use crate::db::schema::aliases;
use crate::db::AnyConnection;

pub fn by_address(conn: &mut AnyConnection, address: &str) -> QueryResult<Option<Alias>> {
    aliases::table
        .filter(aliases::address.eq(address))
        .select(Alias::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &Filter,
    page: &Page,
) -> QueryResult<Vec<Alias>> {
    let mut q = aliases::table
        .select(Alias::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(aliases::domain_id.eq_any(ids.to_vec()));
    }
    if let Some(d) = f.domain_id {
        q = q.filter(aliases::domain_id.eq(d));
    }
    if let Some(t) = &f.text {
        let pat = like_pattern(t);
        q = q.filter(
            aliases::address
                .like(pat.clone())
                .escape('\\')
                .or(aliases::goto.like(pat.clone()).escape('\\'))
                .or(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    "lower(aliases.description) LIKE ",
                )
                .bind::<diesel::sql_types::Text, _>(pat)
                .sql(" ESCAPE '\\'")),
        );
    }
    if let Some(s) = &f.status {
        q = q.filter(aliases::status.eq(s.clone()));
    }
    // Walk descending for a descending sort, reversed again for a page back.
    q = match (&page.after, f.sort.desc != page.backward) {
        (None, false) => q.order(aliases::address.asc()),
        (None, true) => q.order(aliases::address.desc()),
        (Some(a), false) => q
            .filter(aliases::address.gt(a.clone()))
            .order(aliases::address.asc()),
        (Some(a), true) => q
            .filter(aliases::address.lt(a.clone()))
            .order(aliases::address.desc()),
    };
    let mut rows: Vec<_> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}
