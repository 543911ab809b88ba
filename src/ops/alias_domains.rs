//! Alias domains: every address `user@alias.example` resolves as
//! `user@target.example`, for mailboxes and aliases alike. Creating one is
//! admin-only (Postfix starts accepting mail for the name); a user with the
//! `domain` permission on the target may retarget, suspend or delete it.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{domains, now, run_write, Ctx, Done, Principal};
use crate::db::models::{AliasDomain, Domain};
use crate::db::schema::alias_domains;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm, Status};
use crate::store::{self, Filter, Page};
use crate::validate;

/// An alias domain with its target's name, as lists show it.
#[derive(Debug, Clone, Serialize)]
pub struct AliasDomainView {
    #[serde(flatten)]
    pub row: AliasDomain,
    pub target: String,
}

fn find(c: &mut AnyConnection, who: &Principal, name: &str) -> OpResult<(AliasDomain, Domain)> {
    let norm = validate::domain("name", name)?;
    let a = store::alias_domains::by_name(c, &norm)?
        .ok_or_else(|| OpError::not_found("alias domain", norm.clone()))?;
    if !who.can_read_domain(a.target_domain_id) {
        return Err(OpError::not_found("alias domain", norm));
    }
    let d = store::domains::by_id(c, a.target_domain_id)?
        .ok_or_else(|| OpError::not_found("domain", a.target_domain_id.to_string()))?;
    Ok((a, d))
}

fn view(row: AliasDomain, target: &Domain) -> AliasDomainView {
    AliasDomainView {
        row,
        target: target.name.clone(),
    }
}

pub fn create(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    target: &str,
) -> OpResult<AliasDomainView> {
    let request = json!({ "name": name, "target": target });
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::AliasDomain,
        request,
        |c, who| {
            who.require_claim_mail_domain("creating an alias domain")?;
            let norm = validate::domain("name", name)?;
            let t = domains::find(c, "target", target)?;
            // Also catches a name equal to its target, which is a domain.
            if store::domains::by_name(c, &norm)?.is_some() {
                return Err(OpError::duplicate(
                    "name",
                    format!("{norm} already exists as a domain"),
                ));
            }
            if store::alias_domains::by_name(c, &norm)?.is_some() {
                return Err(OpError::duplicate(
                    "name",
                    format!("alias domain {norm} already exists"),
                ));
            }
            let ts = now();
            diesel::insert_into(alias_domains::table)
                .values((
                    alias_domains::name.eq(&norm),
                    alias_domains::target_domain_id.eq(t.id),
                    alias_domains::status.eq("active"),
                    alias_domains::created_at.eq(ts),
                    alias_domains::updated_at.eq(ts),
                    alias_domains::created_by.eq(who.id),
                ))
                .execute(c)?;
            let a = store::alias_domains::by_name(c, &norm)?
                .ok_or_else(|| OpError::not_found("alias domain", norm.clone()))?;
            let done = Done::new(i64::from(a.id), json!({ "after": a, "target": t.name }));
            Ok((view(a, &t), done))
        },
    )
}

/// Point an alias domain at another target; needs the permission on both.
pub fn retarget(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    expected_version: Option<i32>,
    target: &str,
) -> OpResult<AliasDomainView> {
    let request = json!({ "name": name, "target": target, "version": expected_version });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::AliasDomain,
        request,
        |c, who| {
            let (before, old) = find(c, who, name)?;
            who.require_domain(&old, Perm::Domain)?;
            let t = domains::find(c, "target", target)?;
            who.require_domain(&t, Perm::Domain)?;
            super::check_version(
                "alias domain",
                &before.name,
                expected_version,
                before.version,
            )?;
            diesel::update(alias_domains::table.find(before.id))
                .set((
                    alias_domains::target_domain_id.eq(t.id),
                    alias_domains::updated_at.eq(now()),
                    alias_domains::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = store::alias_domains::by_name(c, &before.name)?
                .ok_or_else(|| OpError::not_found("alias domain", before.name.clone()))?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "name": after.name, "before": { "target": old.name }, "after": { "target": t.name } }),
            );
            Ok((view(after, &t), done))
        },
    )
}

pub fn set_status(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    status: Status,
) -> OpResult<AliasDomainView> {
    let request = json!({ "name": name, "status": status.as_str() });
    run_write(
        conn,
        ctx,
        status.action(),
        AuditType::AliasDomain,
        request,
        |c, who| {
            let (before, t) = find(c, who, name)?;
            who.require_domain(&t, Perm::Domain)?;
            diesel::update(alias_domains::table.find(before.id))
                .set((
                    alias_domains::status.eq(status.as_str()),
                    alias_domains::updated_at.eq(now()),
                    alias_domains::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = store::alias_domains::by_name(c, &before.name)?
                .ok_or_else(|| OpError::not_found("alias domain", before.name.clone()))?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "name": after.name, "before": { "status": before.status }, "after": { "status": after.status } }),
            );
            Ok((view(after, &t), done))
        },
    )
}

pub fn delete(conn: &mut AnyConnection, ctx: &Ctx, name: &str) -> OpResult<AliasDomainView> {
    let request = json!({ "name": name });
    run_write(
        conn,
        ctx,
        AuditAction::Delete,
        AuditType::AliasDomain,
        request,
        |c, who| {
            let (a, t) = find(c, who, name)?;
            who.require_domain(&t, Perm::Domain)?;
            diesel::delete(alias_domains::table.find(a.id)).execute(c)?;
            let done = Done::new(i64::from(a.id), json!({ "before": a, "target": t.name }));
            Ok((view(a, &t), done))
        },
    )
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, name: &str) -> OpResult<AliasDomainView> {
    let who = Principal::load(conn, ctx)?;
    let (a, t) = find(conn, &who, name)?;
    Ok(view(a, &t))
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    page: &Page,
) -> OpResult<Vec<AliasDomainView>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    let rows = store::alias_domains::list(conn, scope.as_deref(), filter, page)?;
    let mut ids: Vec<i32> = rows.iter().map(|r| r.target_domain_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names: std::collections::HashMap<i32, String> =
        store::domains::names(conn, &ids)?.into_iter().collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let target = names
                .get(&row.target_domain_id)
                .cloned()
                .unwrap_or_default();
            AliasDomainView { row, target }
        })
        .collect())
}
