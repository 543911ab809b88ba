use diesel::prelude::*;

use super::{like_pattern, Filter, Page};
use crate::db::models::User;
use crate::db::schema::users;
use crate::db::AnyConnection;

pub fn by_name(conn: &mut AnyConnection, name: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(name))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn by_id(conn: &mut AnyConnection, id: i32) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn by_email(conn: &mut AnyConnection, email: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Active admins other than `except` (to keep the last one from being removed).
pub fn other_active_admins(conn: &mut AnyConnection, except: i32) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq("admin"))
        .filter(users::status.eq("active"))
        .filter(users::is_active.eq(true))
        .filter(users::id.ne(except))
        .count()
        .get_result(conn)
}

pub fn list(conn: &mut AnyConnection, f: &Filter, page: &Page) -> QueryResult<Vec<User>> {
    let mut q = users::table
        .select(User::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(t) = &f.text {
        let pat = like_pattern(t);
        q = q.filter(
            users::username
                .like(pat.clone())
                .escape('\\')
                .or(users::email.like(pat).escape('\\')),
        );
    }
    if let Some(s) = &f.status {
        q = q.filter(users::status.eq(s.clone()));
    }
    // Walk descending for a descending sort, reversed again for a page back.
    q = match (&page.after, f.sort.desc != page.backward) {
        (None, false) => q.order(users::username.asc()),
        (None, true) => q.order(users::username.desc()),
        (Some(a), false) => q
            .filter(users::username.gt(a.clone()))
            .order(users::username.asc()),
        (Some(a), true) => q
            .filter(users::username.lt(a.clone()))
            .order(users::username.desc()),
    };
    let mut rows: Vec<_> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}
