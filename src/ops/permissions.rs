//! Per-domain grants (user_domains) for users of role `user`. Admin only.

use diesel::prelude::*;
use serde_json::json;

use super::{domains, now, run_write, Ctx, Done, Principal};
use crate::db::models::User;
use crate::db::schema::user_domains;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm, Role};
use crate::store::{self, permissions::Grant, Page};
use crate::validate;

fn grantee(c: &mut AnyConnection, username: &str) -> OpResult<User> {
    let norm = validate::username("username", username)?;
    let u = store::users::by_name(c, &norm)?
        .ok_or_else(|| OpError::not_found_in("username", "user", norm))?;
    if u.role != Role::User.as_str() {
        return Err(OpError::invalid(
            "username",
            format!(
                "permissions apply to users of role 'user'; {} has role '{}' ({})",
                u.username,
                u.role,
                if u.role == "admin" {
                    "already allowed everything"
                } else {
                    "may only read"
                }
            ),
        ));
    }
    if u.status == "deleted" {
        return Err(OpError::invalid(
            "username",
            format!("user {} is deleted", u.username),
        ));
    }
    Ok(u)
}

fn grant_view(c: &mut AnyConnection, user_id: i32, domain_id: i32) -> OpResult<Grant> {
    let page = Page {
        after: None,
        limit: Some(1),
        ..Default::default()
    };
    store::permissions::list(c, Some(user_id), Some(domain_id), &page)?
        .into_iter()
        .next()
        .ok_or_else(|| OpError::not_found("permission", format!("{user_id}/{domain_id}")))
}

/// Grant `perms` on a domain, or replace the permissions of an existing grant.
pub fn grant(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    username: &str,
    domain: &str,
    perms: &[Perm],
) -> OpResult<Grant> {
    let names: Vec<&str> = perms.iter().map(|p| p.as_str()).collect();
    let request = json!({ "username": username, "domain": domain, "permissions": names });
    run_write(
        conn,
        ctx,
        AuditAction::Grant,
        AuditType::Permission,
        request,
        |c, who| {
            who.require_admin("granting permissions")?;
            if perms.is_empty() {
                return Err(OpError::invalid(
                    "permissions",
                    "needs at least one of mailboxes, aliases, domain",
                ));
            }
            let u = grantee(c, username)?;
            let d = domains::find(c, "domain", domain)?;
            let encoded = Perm::encode(perms);
            let before = store::permissions::find(c, u.id, d.id)?;
            match &before {
                Some(g) => {
                    diesel::update(user_domains::table.find(g.id))
                        .set((
                            user_domains::permissions.eq(&encoded),
                            user_domains::version.eq(g.version + 1),
                        ))
                        .execute(c)?;
                }
                None => {
                    diesel::insert_into(user_domains::table)
                        .values((
                            user_domains::user_id.eq(u.id),
                            user_domains::domain_id.eq(d.id),
                            user_domains::permissions.eq(&encoded),
                            user_domains::created_at.eq(now()),
                        ))
                        .execute(c)?;
                }
            }
            let g = grant_view(c, u.id, d.id)?;
            let done = Done::new(
                i64::from(g.id),
                json!({
                    "username": u.username,
                    "domain": d.name,
                    "before": before.map(|b| Perm::decode(b.permissions.as_deref())),
                    "after": g.permissions,
                }),
            );
            Ok((g, done))
        },
    )
}

pub fn revoke(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    username: &str,
    domain: &str,
) -> OpResult<Grant> {
    let request = json!({ "username": username, "domain": domain });
    run_write(
        conn,
        ctx,
        AuditAction::Revoke,
        AuditType::Permission,
        request,
        |c, who| {
            who.require_admin("revoking permissions")?;
            let norm = validate::username("username", username)?;
            let u = store::users::by_name(c, &norm)?
                .ok_or_else(|| OpError::not_found_in("username", "user", norm))?;
            let d = domains::find(c, "domain", domain)?;
            let g = grant_view(c, u.id, d.id).map_err(|_| {
                OpError::not_found("permission", format!("{} on {}", u.username, d.name))
            })?;
            diesel::delete(user_domains::table.find(g.id)).execute(c)?;
            let done = Done::new(i64::from(g.id), json!({ "before": g }));
            Ok((g, done))
        },
    )
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    username: Option<&str>,
    domain: Option<&str>,
    page: &Page,
) -> OpResult<Vec<Grant>> {
    let who = Principal::load(conn, ctx)?;
    let mut user_id = match username {
        Some(n) => {
            let norm = validate::username("username", n)?;
            Some(
                store::users::by_name(conn, &norm)?
                    .ok_or_else(|| OpError::not_found("user", norm))?
                    .id,
            )
        }
        None => None,
    };
    if who.role == Role::User {
        // A scoped user sees its own grants only.
        if user_id.is_some_and(|u| u != who.id) {
            return Err(OpError::Denied(format!(
                "{} may only see its own permissions",
                who.username
            )));
        }
        user_id = Some(who.id);
    }
    let domain_id = match domain {
        Some(d) => Some(domains::find(conn, "domain", d)?.id),
        None => None,
    };
    Ok(store::permissions::list(conn, user_id, domain_id, page)?)
}
