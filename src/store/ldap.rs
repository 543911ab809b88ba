//! LDAP server rows. Read only for now: binding and importing belong to the
//! LDAP issue. The row type skips the bind password when serialised; screens
//! never show it.

use diesel::prelude::*;

use super::{like_pattern, Page};
use crate::db::models::LdapConfig;
use crate::db::schema::ldap_configs;
use crate::db::AnyConnection;

/// Keyset page by id (as text, like every screen's cursor); `text` filters
/// on the server_name (case-insensitive).
pub fn list(
    conn: &mut AnyConnection,
    text: Option<&str>,
    page: &Page,
) -> QueryResult<Vec<LdapConfig>> {
    let cursor = match page.after.as_deref() {
        Some(a) => Some(a.parse::<i32>().map_err(|_| {
            diesel::result::Error::QueryBuilderError(format!("bad cursor {a:?}").into())
        })?),
        None => None,
    };
    let mut q = ldap_configs::table
        .select(LdapConfig::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(t) = text {
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Text>("lower(server_name)")
                .like(like_pattern(t))
                .escape('\\'),
        );
    }
    q = match (cursor, page.backward) {
        (None, false) => q.order(ldap_configs::id.asc()),
        (None, true) => q.order(ldap_configs::id.desc()),
        (Some(c), false) => q
            .filter(ldap_configs::id.gt(c))
            .order(ldap_configs::id.asc()),
        (Some(c), true) => q
            .filter(ldap_configs::id.lt(c))
            .order(ldap_configs::id.desc()),
    };
    let mut rows: Vec<LdapConfig> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}
