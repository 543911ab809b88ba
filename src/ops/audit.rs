//! Writing audit rows. Only `ops` calls this, inside the write's transaction.

use diesel::prelude::*;
use serde_json::Value;

use super::Ctx;
use crate::db::schema::audit_logs;
use crate::db::AnyConnection;

pub const RESULT_OK: &str = "ok";
pub const RESULT_REFUSED: &str = "refused";
pub const RESULT_FAILED: &str = "failed";

pub struct Entry<'a> {
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<i64>,
    pub details: Value,
    pub result: &'a str,
}

pub(crate) fn record(conn: &mut AnyConnection, ctx: &Ctx, e: Entry<'_>) -> QueryResult<()> {
    insert(conn, Some(ctx.user_id), &ctx.username, &ctx.client, e)
}

pub(crate) fn insert(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    actor: &str,
    client: &super::Client,
    e: Entry<'_>,
) -> QueryResult<()> {
    diesel::insert_into(audit_logs::table)
        .values((
            audit_logs::user_id.eq(user_id),
            audit_logs::action.eq(e.action),
            audit_logs::resource_type.eq(e.resource_type),
            audit_logs::resource_id.eq(e.resource_id),
            audit_logs::details.eq(e.details.to_string()),
            audit_logs::ip_address.eq(&client.ip),
            audit_logs::user_agent.eq(client.user_agent()),
            audit_logs::timestamp.eq(super::now()),
            audit_logs::actor.eq(actor),
            audit_logs::result.eq(e.result),
        ))
        .execute(conn)?;
    Ok(())
}

/// Reading the audit log: admins and readonly users see every row; a
/// domain-scoped user sees its own actions only.
pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &crate::store::audit::AuditFilter,
    limit: i64,
) -> crate::error::OpResult<Vec<crate::db::models::AuditLog>> {
    let who = super::Principal::load(conn, ctx.user_id)?;
    let mut f = filter.clone();
    if who.role == super::Role::User {
        if f.user_id.is_some_and(|u| u != who.id) {
            return Err(crate::error::OpError::Denied(format!(
                "{} may only read its own audit entries",
                who.username
            )));
        }
        f.user_id = Some(who.id);
    }
    Ok(crate::store::audit::list(
        conn,
        &f,
        limit.clamp(1, crate::store::MAX_PAGE),
    )?)
}

pub fn get(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    id: i64,
) -> crate::error::OpResult<crate::db::models::AuditLog> {
    let who = super::Principal::load(conn, ctx.user_id)?;
    let row = crate::store::audit::by_id(conn, id)?
        .filter(|r| who.role != super::Role::User || r.user_id == Some(who.id))
        .ok_or_else(|| crate::error::OpError::not_found("audit entry", id.to_string()))?;
    Ok(row)
}

/// The user id a reader of the log is limited to: None for admins and
/// readonly users, its own id for a domain-scoped user.
fn reader_scope(conn: &mut AnyConnection, ctx: &Ctx) -> crate::error::OpResult<Option<i32>> {
    let who = super::Principal::load(conn, ctx.user_id)?;
    Ok((who.role == super::Role::User).then_some(who.id))
}

/// A keyset page of the log (newest first), scoped like `list`.
pub fn page(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    page: &crate::store::Page,
) -> crate::error::OpResult<Vec<crate::db::models::AuditLog>> {
    let scope = reader_scope(conn, ctx)?;
    Ok(crate::store::audit::page(conn, scope, page)?)
}

/// Entries newer than `after_id` (the live tail), scoped like `list`.
pub fn newer_than(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    after_id: i64,
    limit: i64,
) -> crate::error::OpResult<Vec<crate::db::models::AuditLog>> {
    let scope = reader_scope(conn, ctx)?;
    Ok(crate::store::audit::newer_than(
        conn,
        scope,
        after_id,
        limit.clamp(1, crate::store::MAX_PAGE),
    )?)
}
