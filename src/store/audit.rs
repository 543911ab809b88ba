use diesel::prelude::*;

use crate::db::models::AuditLog;
use crate::db::schema::audit_logs;
use crate::db::AnyConnection;

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
