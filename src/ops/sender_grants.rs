//! Send-as grants (issue 20): `sender grant MAILBOX ADDRESS|@DOMAIN` lets
//! a mailbox send as another address, or as any address of a domain,
//! through the generated sender login map (`smtpd_sender_login_maps`),
//! besides the addresses it owns already (its own, the aliases leading to
//! it, `user@alias-domain`).
//!
//! Rights: `mailboxes` on the grantee's domain (it gains a power) and
//! `aliases` on the granted address's domain, the permission that can
//! already give that address away (an alias of it leading to the mailbox
//! makes the mailbox an owner in the same map). Admins hold both
//! everywhere. A revoke needs either of the two: whoever runs the
//! address's domain may take its addresses back.

use diesel::prelude::*;
use serde_json::json;

use super::{now, run_write, Ctx, Done, Principal};
use crate::db::models::{Domain, Mailbox};
use crate::db::schema::sender_grants;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::store::sender_grants::{GrantFilter, SenderGrant};
use crate::store::{self, Page};
use crate::validate;

/// The grantee by any spelling of its address (field "mailbox"), if the
/// caller may see it.
fn grantee(c: &mut AnyConnection, who: &Principal, mailbox: &str) -> OpResult<(Mailbox, Domain)> {
    let (addr, _, _) = validate::lookup_address("mailbox", mailbox)?;
    let m = store::mailboxes::by_address(c, &addr)?
        .filter(|m| who.can_read_domain(m.domain_id))
        .ok_or_else(|| OpError::not_found_in("mailbox", "mailbox", addr.clone()))?;
    let d = store::domains::by_id(c, m.domain_id)?
        .ok_or_else(|| OpError::not_found("domain", m.domain_id.to_string()))?;
    Ok((m, d))
}

/// The granted address (normalized) and its domain, which must be one of
/// ours: a grant for a domain we do not host would let the mailbox forge
/// someone else's mail through this server.
fn granted(c: &mut AnyConnection, address: &str) -> OpResult<(String, Domain)> {
    let (addr, dom) = validate::alias_address("address", address)?;
    if let Some(d) = store::domains::by_name(c, &dom)? {
        return Ok((addr, d));
    }
    if let Some(ad) = store::alias_domains::by_name(c, &dom)? {
        let target = store::domains::by_id(c, ad.target_domain_id)?
            .map(|d| d.name)
            .unwrap_or_default();
        return Err(OpError::invalid(
            "address",
            format!(
                "{dom} is an alias domain of {target}: grant the address in {target} \
                 (its user@{dom} follows)"
            ),
        ));
    }
    Err(OpError::invalid(
        "address",
        format!("must be an address or @domain of a domain hosted here ({dom} is not)"),
    ))
}

/// Let `mailbox` send as `address` (an address, or `@domain` for every
/// address of the domain).
pub fn grant(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    mailbox: &str,
    address: &str,
) -> OpResult<SenderGrant> {
    let request = json!({ "mailbox": mailbox, "address": address });
    run_write(
        conn,
        ctx,
        AuditAction::Grant,
        AuditType::SenderGrant,
        request,
        |c, who| {
            let (m, md) = grantee(c, who, mailbox)?;
            let (addr, gd) = granted(c, address)?;
            who.require_domain(&md, Perm::Mailboxes)?;
            who.require_domain(&gd, Perm::Aliases)?;
            if addr == m.username {
                return Err(OpError::invalid(
                    "address",
                    format!(
                        "{addr} is the mailbox's own address: a mailbox always sends as itself"
                    ),
                ));
            }
            if let Some(g) = store::sender_grants::find(c, m.id, &addr)? {
                return Err(OpError::duplicate(
                    "address",
                    format!(
                        "{} may already send as {addr} (granted by {} on {})",
                        m.username,
                        g.created_by,
                        g.created_at.format("%Y-%m-%d")
                    ),
                ));
            }
            diesel::insert_into(sender_grants::table)
                .values((
                    sender_grants::mailbox_id.eq(m.id),
                    sender_grants::address.eq(&addr),
                    sender_grants::domain_id.eq(gd.id),
                    sender_grants::created_at.eq(now()),
                    sender_grants::created_by.eq(&who.username),
                ))
                .execute(c)?;
            let g = store::sender_grants::find(c, m.id, &addr)?.ok_or_else(|| {
                OpError::not_found("sender grant", format!("{} as {addr}", m.username))
            })?;
            let done = Done::new(i64::from(g.id), json!({ "grant": g.name(), "after": g }));
            Ok((g, done))
        },
    )
}

/// Take a grant back. Either right of `grant` is enough.
pub fn revoke(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    mailbox: &str,
    address: &str,
) -> OpResult<SenderGrant> {
    let request = json!({ "mailbox": mailbox, "address": address });
    run_write(
        conn,
        ctx,
        AuditAction::Revoke,
        AuditType::SenderGrant,
        request,
        |c, who| {
            let (mbox, _, _) = validate::lookup_address("mailbox", mailbox)?;
            let (addr, _) = validate::lookup_alias_address("address", address)?;
            let missing =
                || OpError::not_found_in("address", "sender grant", format!("{mbox} as {addr}"));
            let m = store::mailboxes::by_address(c, &mbox)?.ok_or_else(missing)?;
            let g = store::sender_grants::find(c, m.id, &addr)?
                .filter(|g| {
                    who.can_read_domain(g.mailbox_domain_id) || who.can_read_domain(g.domain_id)
                })
                .ok_or_else(missing)?;
            let md = store::domains::by_id(c, g.mailbox_domain_id)?;
            let gd = store::domains::by_id(c, g.domain_id)?;
            let on_mailbox = md.map(|d| who.require_domain(&d, Perm::Mailboxes));
            let on_address = gd.map(|d| who.require_domain(&d, Perm::Aliases));
            match (on_mailbox, on_address) {
                (Some(Ok(())), _) | (_, Some(Ok(()))) => {}
                (Some(Err(e)), _) | (None, Some(Err(e))) => return Err(e),
                (None, None) => return Err(missing()),
            }
            diesel::delete(sender_grants::table.find(g.id)).execute(c)?;
            let done = Done::new(i64::from(g.id), json!({ "grant": g.name(), "before": g }));
            Ok((g, done))
        },
    )
}

/// What `sender list` asks for: addresses as typed (resolved here).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub mailbox: Option<String>,
    pub address: Option<String>,
    pub text: Option<String>,
}

/// Grants the caller may see (of a mailbox or an address in its domains).
pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &ListFilter,
    page: &Page,
) -> OpResult<Vec<SenderGrant>> {
    let who = Principal::load(conn, ctx)?;
    let mut f = GrantFilter {
        text: filter.text.clone(),
        ..GrantFilter::default()
    };
    if let Some(m) = &filter.mailbox {
        let (addr, _, _) = validate::lookup_address("mailbox", m)?;
        match store::mailboxes::by_address(conn, &addr)? {
            Some(m) => f.mailbox_id = Some(m.id),
            None => return Ok(Vec::new()),
        }
    }
    if let Some(a) = &filter.address {
        f.address = Some(validate::lookup_alias_address("address", a)?.0);
    }
    let scope = who.domain_scope();
    Ok(store::sender_grants::list(
        conn,
        scope.as_deref(),
        &f,
        page,
    )?)
}

/// The deletion hold (`ops::deleted::hold`): the mailbox's grants move to
/// its hold row before the mailbox row goes (its delete would cascade
/// them away). Postfix stops seeing them at once: the map joins live
/// mailboxes only. Returns how many moved.
pub(crate) fn hold(c: &mut AnyConnection, mailbox_id: i32, held_id: i32) -> OpResult<usize> {
    Ok(
        diesel::update(sender_grants::table.filter(sender_grants::mailbox_id.eq(mailbox_id)))
            .set((
                sender_grants::mailbox_id.eq(None::<i32>),
                sender_grants::held_id.eq(Some(held_id)),
            ))
            .execute(c)?,
    )
}

/// A restore (`ops::deleted::restore`): the held grants belong to the
/// restored mailbox (its new id) again. Their domains still exist (a
/// domain's delete takes its grants), so each comes back as it was.
pub(crate) fn restore(
    c: &mut AnyConnection,
    held_id: i32,
    mailbox_id: i32,
) -> OpResult<Vec<String>> {
    let addrs: Vec<String> = sender_grants::table
        .filter(sender_grants::held_id.eq(held_id))
        .select(sender_grants::address)
        .order(sender_grants::address.asc())
        .load(c)?;
    diesel::update(sender_grants::table.filter(sender_grants::held_id.eq(held_id)))
        .set((
            sender_grants::mailbox_id.eq(Some(mailbox_id)),
            sender_grants::held_id.eq(None::<i32>),
        ))
        .execute(c)?;
    Ok(addrs)
}
