//! Aliases (Postfix virtual_alias_maps rows): an address or `@domain`
//! catch-all, forwarding to one or more destinations.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{check_version, domains::lock, now, run_write, Ctx, Done, Principal};
use crate::db::models::{Alias, Domain};
use crate::db::schema::aliases;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm, Status};
use crate::store::{self, Filter, Page};
use crate::validate;

#[derive(Debug, Clone, Default, Serialize)]
pub struct AliasEdit {
    /// New destinations (comma, space or newline separated).
    pub goto: Option<String>,
    /// Some("") clears it.
    pub description: Option<String>,
}

fn find(c: &mut AnyConnection, who: &Principal, address: &str) -> OpResult<(Alias, Domain)> {
    let (addr, _) = validate::lookup_alias_address("address", address)?;
    let a = store::aliases::by_address(c, &addr)?
        .ok_or_else(|| OpError::not_found("alias", addr.clone()))?;
    if !who.can_read_domain(a.domain_id) {
        return Err(OpError::not_found("alias", addr));
    }
    let d = store::domains::by_id(c, a.domain_id)?
        .ok_or_else(|| OpError::not_found("domain", a.domain_id.to_string()))?;
    Ok((a, d))
}

/// Normalize destinations and keep a scoped user inside its domains: a
/// destination in a domain hosted here (or an alias domain of one) must be
/// one the user was granted. External addresses are ordinary forwarding.
fn checked_destinations(c: &mut AnyConnection, who: &Principal, goto: &str) -> OpResult<String> {
    let list = validate::destinations("goto", goto)?;
    for addr in &list {
        let dom = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        let hosted = match store::domains::by_name(c, dom)? {
            Some(d) => Some(d.id),
            None => store::alias_domains::by_name(c, dom)?.map(|a| a.target_domain_id),
        };
        if let Some(id) = hosted {
            if !who.can_read_domain(id) {
                return Err(OpError::Denied(format!(
                    "goto: {addr} is in a domain hosted here that {} has no access to",
                    who.username
                )));
            }
        }
    }
    Ok(list.join(","))
}

pub fn create(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    goto: &str,
    description: Option<&str>,
) -> OpResult<Alias> {
    let request = json!({ "address": address, "goto": goto, "description": description });
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::Alias,
        request,
        |c, who| {
            let (addr, dom) = validate::alias_address("address", address)?;
            let d = match store::domains::by_name(c, &dom)? {
                Some(d) => d,
                None if store::alias_domains::by_name(c, &dom)?.is_some() => {
                    return Err(OpError::invalid(
                        "address",
                        format!("{dom} is an alias domain; create the alias in its target domain"),
                    ))
                }
                None => {
                    return Err(OpError::invalid(
                        "address",
                        format!("domain {dom} does not exist; add it first"),
                    ))
                }
            };
            who.require_domain(&d, Perm::Aliases)?;
            let goto = checked_destinations(c, who, goto)?;
            let description = match description {
                Some(t) => validate::description("description", t)?,
                None => None,
            };
            lock(c, d.id)?;
            if store::aliases::by_address(c, &addr)?.is_some() {
                return Err(OpError::duplicate(
                    "address",
                    format!("alias {addr} already exists"),
                ));
            }
            super::deleted::refuse_held(c, &addr)?;
            if d.max_aliases > 0
                && store::domains::alias_count(c, d.id)? >= i64::from(d.max_aliases)
            {
                return Err(OpError::invalid(
                    "address",
                    format!(
                        "domain {} already has its maximum of {} aliases",
                        d.name, d.max_aliases
                    ),
                ));
            }
            let t = now();
            diesel::insert_into(aliases::table)
                .values((
                    aliases::address.eq(&addr),
                    aliases::goto.eq(&goto),
                    aliases::domain_id.eq(d.id),
                    aliases::status.eq("active"),
                    aliases::description.eq(&description),
                    aliases::created_at.eq(t),
                    aliases::updated_at.eq(t),
                    aliases::created_by.eq(who.id),
                ))
                .execute(c)?;
            let a = store::aliases::by_address(c, &addr)?
                .ok_or_else(|| OpError::not_found("alias", addr.clone()))?;
            let done = Done::new(i64::from(a.id), json!({ "after": a }));
            Ok((a, done))
        },
    )
}

fn reload(c: &mut AnyConnection, id: i32) -> OpResult<Alias> {
    aliases::table
        .find(id)
        .select(Alias::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| OpError::not_found("alias", id.to_string()))
}

pub fn edit(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    expected_version: Option<i32>,
    e: &AliasEdit,
) -> OpResult<Alias> {
    let request = json!({ "address": address, "edit": e, "version": expected_version });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::Alias,
        request,
        |c, who| {
            let (before, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Aliases)?;
            check_version("alias", &before.address, expected_version, before.version)?;
            let mut after = before.clone();
            if let Some(g) = &e.goto {
                after.goto = checked_destinations(c, who, g)?;
            }
            if let Some(t) = &e.description {
                after.description = validate::description("description", t)?;
            }
            let n = diesel::update(
                aliases::table
                    .find(before.id)
                    .filter(aliases::version.eq(before.version)),
            )
            .set((
                aliases::goto.eq(&after.goto),
                aliases::description.eq(&after.description),
                aliases::updated_at.eq(now()),
                aliases::version.eq(before.version + 1),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "alias {} changed while saving; reload and try again",
                    before.address
                )));
            }
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "before": before, "after": after }),
            );
            Ok((after, done))
        },
    )
}

pub fn set_status(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    status: Status,
) -> OpResult<Alias> {
    let request = json!({ "address": address, "status": status.as_str() });
    run_write(
        conn,
        ctx,
        status.action(),
        AuditType::Alias,
        request,
        |c, who| {
            let (before, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Aliases)?;
            diesel::update(aliases::table.find(before.id))
                .set((
                    aliases::status.eq(status.as_str()),
                    aliases::updated_at.eq(now()),
                    aliases::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "address": after.address, "before": { "status": before.status }, "after": { "status": after.status } }),
            );
            Ok((after, done))
        },
    )
}

pub fn delete(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Alias> {
    let request = json!({ "address": address });
    run_write(
        conn,
        ctx,
        AuditAction::Delete,
        AuditType::Alias,
        request,
        |c, who| {
            let (a, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Aliases)?;
            diesel::delete(aliases::table.find(a.id)).execute(c)?;
            let done = Done::new(i64::from(a.id), json!({ "before": a }));
            Ok((a, done))
        },
    )
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Alias> {
    let who = Principal::load(conn, ctx)?;
    Ok(find(conn, &who, address)?.0)
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    page: &Page,
) -> OpResult<Vec<Alias>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    Ok(store::aliases::list(conn, scope.as_deref(), filter, page)?)
}
