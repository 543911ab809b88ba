use diesel::prelude::*;
use serde::Serialize;

use super::Page;
use crate::db::models::UserDomain;
use crate::db::schema::{domains, user_domains, users};
use crate::db::AnyConnection;
use crate::model::Perm;

/// A grant as screens and `--json` show it.
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub id: i32,
    pub username: String,
    pub domain: String,
    pub permissions: Vec<Perm>,
    pub created_at: chrono::NaiveDateTime,
    pub version: i32,
}

pub fn find(
    conn: &mut AnyConnection,
    user_id: i32,
    domain_id: i32,
) -> QueryResult<Option<UserDomain>> {
    user_domains::table
        .filter(user_domains::user_id.eq(user_id))
        .filter(user_domains::domain_id.eq(domain_id))
        .select(UserDomain::as_select())
        .first(conn)
        .optional()
}

/// Grants ordered by (username, domain); `after` is "username/domain".
pub fn list(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    domain_id: Option<i32>,
    page: &Page,
) -> QueryResult<Vec<Grant>> {
    let mut q = user_domains::table
        .inner_join(users::table)
        .inner_join(domains::table)
        .select((
            user_domains::id,
            users::username,
            domains::name,
            user_domains::permissions,
            user_domains::created_at,
            user_domains::version,
        ))
        .limit(page.limit())
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(user_domains::user_id.eq(u));
    }
    if let Some(d) = domain_id {
        q = q.filter(user_domains::domain_id.eq(d));
    }
    let cursor = page.after.as_deref().and_then(|a| a.split_once('/'));
    q = match (cursor, page.backward) {
        (None, false) => q.order((users::username.asc(), domains::name.asc())),
        (None, true) => q.order((users::username.desc(), domains::name.desc())),
        (Some((u, d)), false) => q
            .filter(
                users::username.gt(u.to_string()).or(users::username
                    .eq(u.to_string())
                    .and(domains::name.gt(d.to_string()))),
            )
            .order((users::username.asc(), domains::name.asc())),
        (Some((u, d)), true) => q
            .filter(
                users::username.lt(u.to_string()).or(users::username
                    .eq(u.to_string())
                    .and(domains::name.lt(d.to_string()))),
            )
            .order((users::username.desc(), domains::name.desc())),
    };
    let mut rows: Vec<(
        i32,
        String,
        String,
        Option<String>,
        chrono::NaiveDateTime,
        i32,
    )> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows
        .into_iter()
        .map(|(id, username, domain, perms, created_at, version)| Grant {
            id,
            username,
            domain,
            permissions: Perm::decode(perms.as_deref()),
            created_at,
            version,
        })
        .collect())
}
