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
