use diesel::prelude::*;

use super::like_pattern;

use super::Page;
use crate::db::models::LdapConfig;
use crate::db::schema::{ldap_configs, users};
use crate::db::AnyConnection;

pub fn by_name(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<LdapConfig>> {
    ldap_configs::table
        .filter(ldap_configs::server_name.eq(name))
        .select(LdapConfig::as_select())
        .first(conn)
        .optional()
}

pub fn by_id(conn: &mut AnyConnection, id: i32) -> QueryResult<Option<LdapConfig>> {
    ldap_configs::table
        .find(id)
        .select(LdapConfig::as_select())
        .first(conn)
        .optional()
}

/// Active servers in the order a login tries them.
pub fn active(conn: &mut AnyConnection) -> QueryResult<Vec<LdapConfig>> {
    ldap_configs::table
        .filter(ldap_configs::is_active.eq(true))
        .order((ldap_configs::priority.asc(), ldap_configs::id.asc()))
        .select(LdapConfig::as_select())
        .load(conn)
}

/// Every row holding a stored secret (for key rotation).
pub fn with_bind_password(conn: &mut AnyConnection) -> QueryResult<Vec<LdapConfig>> {
    ldap_configs::table
        .filter(ldap_configs::bind_password.is_not_null())
        .order(ldap_configs::id.asc())
        .select(LdapConfig::as_select())
        .load(conn)
}

/// Keyset page by name.
pub fn list(conn: &mut AnyConnection, page: &Page) -> QueryResult<Vec<LdapConfig>> {
    let mut q = ldap_configs::table
        .select(LdapConfig::as_select())
        .order(ldap_configs::server_name.asc())
        .limit(page.limit())
        .into_boxed();
    if let Some(a) = &page.after {
        q = q.filter(ldap_configs::server_name.gt(a.clone()));
    }
    q.load(conn)
}

/// Active users who log in through LDAP.
pub fn active_ldap_users(conn: &mut AnyConnection) -> QueryResult<i64> {
    users::table
        .filter(users::auth_source.eq("ldap"))
        .filter(users::status.eq("active"))
        .count()
        .get_result(conn)
}

/// Keyset page by id (as text, like every screen's cursor); `text` filters
/// on the server_name (case-insensitive).
pub fn page(
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
