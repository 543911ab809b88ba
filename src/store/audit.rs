use diesel::prelude::*;

use crate::db::models::AuditLog;
use crate::db::schema::audit_logs;
use crate::db::AnyConnection;

use super::Page;

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i32>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub result: Option<String>,
    /// Only rows with an id below this (newest first paging).
    pub before_id: Option<i64>,
}

/// Newest first, keyset on id.
pub fn list(conn: &mut AnyConnection, f: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditLog>> {
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .order(audit_logs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(u) = f.user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_logs::action.eq(a.clone()));
    }
    if let Some(t) = &f.resource_type {
        q = q.filter(audit_logs::resource_type.eq(t.clone()));
    }
    if let Some(id) = f.resource_id {
        q = q.filter(audit_logs::resource_id.eq(id));
    }
    if let Some(r) = &f.result {
        q = q.filter(audit_logs::result.eq(r.clone()));
    }
    if let Some(b) = f.before_id {
        q = q.filter(audit_logs::id.lt(b));
    }
    q.load(conn)
}

pub fn by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<AuditLog>> {
    audit_logs::table
        .find(id)
        .select(AuditLog::as_select())
        .first(conn)
        .optional()
}

pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    audit_logs::table.count().get_result(conn)
}

/// A keyset page of the log, newest first like `list`; the cursor is an id
/// (as text, so every screen pages the same way). `user_id` limits the rows
/// to one actor (what a domain-scoped user may see).
pub fn page(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    page: &Page,
) -> QueryResult<Vec<AuditLog>> {
    let cursor = match page.after.as_deref() {
        Some(a) => Some(a.parse::<i64>().map_err(|_| {
            diesel::result::Error::QueryBuilderError(format!("bad audit cursor {a:?}").into())
        })?),
        None => None,
    };
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    // Newest first: "after" in list order means a smaller id.
    q = match (cursor, page.backward) {
        (None, false) => q.order(audit_logs::id.desc()),
        (None, true) => q.order(audit_logs::id.asc()),
        (Some(c), false) => q.filter(audit_logs::id.lt(c)).order(audit_logs::id.desc()),
        (Some(c), true) => q.filter(audit_logs::id.gt(c)).order(audit_logs::id.asc()),
    };
    let mut rows: Vec<AuditLog> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// The newest `limit` rows with an id above `after_id`, newest first: the
/// live tail polls this every second, an index range scan on the primary key.
pub fn newer_than(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<AuditLog>> {
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .filter(audit_logs::id.gt(after_id))
        .order(audit_logs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    q.load(conn)
}
