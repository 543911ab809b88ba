//! Importing users from a directory: search (outside any transaction),
//! plan which entries become users and why others are skipped, then, unless
//! it is a preview, create them all in one audited transaction. Imported
//! users log in by LDAP bind; their role is chosen at import (default
//! readonly) and their domain permissions are granted here as for anyone.

use std::collections::HashSet;
use std::time::Duration;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{admin_settings, audit_refusal, find};
use crate::db::schema::users;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::ldap::import::Candidate;
use crate::model::{AuditAction, AuditType, Role};
use crate::ops::users::{insert_user, LDAP_PASSWORD_MARKER};
use crate::ops::{audit, run_write, Ctx, Done};
use crate::secrets::KeyFile;
use crate::{store, validate};

/// Most entries one import looks at.
pub const MAX_IMPORT: usize = 1000;

#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub server: String,
    /// An extra LDAP filter, e.g. (ou=mail-admins).
    pub filter: Option<String>,
    pub role: Role,
    pub limit: usize,
    /// Preview: search and plan, write nothing.
    pub dry_run: bool,
}

/// What an import does with a directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Planned {
    Create,
    Skip,
}

impl std::fmt::Display for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `pad`, so a width in the format string ("{:<6}") applies.
        f.pad(match self {
            Planned::Create => "create",
            Planned::Skip => "skip",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportRow {
    pub dn: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub action: Planned,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub server: String,
    pub dry_run: bool,
    pub role: Role,
    pub created: usize,
    pub skipped: usize,
    /// The directory had more matching entries than the limit.
    pub truncated: bool,
    pub rows: Vec<ImportRow>,
}

fn skip(c: &Candidate, username: Option<String>, reason: String) -> ImportRow {
    ImportRow {
        dn: c.dn.clone(),
        username: username.or_else(|| c.login.clone()),
        email: c.mail.clone(),
        name: c.name.clone(),
        action: Planned::Skip,
        reason: Some(reason),
    }
}

/// Decide each candidate against the users table as it is now.
fn plan(c: &mut AnyConnection, found: &[Candidate]) -> OpResult<Vec<ImportRow>> {
    let mut names = HashSet::new();
    let mut emails = HashSet::new();
    let mut rows = Vec::with_capacity(found.len());
    for cand in found {
        let Some(login) = &cand.login else {
            rows.push(skip(cand, None, "no user attribute value".into()));
            continue;
        };
        let name = match validate::username("username", login) {
            Ok(n) => n,
            Err(e) => {
                rows.push(skip(cand, None, e.to_string()));
                continue;
            }
        };
        let Some(mail) = &cand.mail else {
            rows.push(skip(
                cand,
                Some(name),
                "no mail attribute (users need an email)".into(),
            ));
            continue;
        };
        let email = match validate::address("email", mail) {
            Ok((a, _, _)) => a,
            Err(e) => {
                rows.push(skip(cand, Some(name), e.to_string()));
                continue;
            }
        };
        if store::users::by_name(c, &name)?.is_some() || !names.insert(name.clone()) {
            rows.push(skip(
                cand,
                Some(name.clone()),
                format!("user {name} already exists"),
            ));
            continue;
        }
        if let Some(u) = store::users::by_email(c, &email)? {
            rows.push(skip(
                cand,
                Some(name),
                format!("{email} is already used by user {}", u.username),
            ));
            continue;
        }
        if !emails.insert(email.clone()) {
            rows.push(skip(
                cand,
                Some(name),
                format!("{email} appears twice in this import"),
            ));
            continue;
        }
        rows.push(ImportRow {
            dn: cand.dn.clone(),
            username: Some(name),
            email: Some(email),
            name: cand.name.clone(),
            action: Planned::Create,
            reason: None,
        });
    }
    Ok(rows)
}

pub fn import(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: Option<&KeyFile>,
    req: &ImportRequest,
    timeout: Duration,
) -> OpResult<ImportReport> {
    let request = json!({
        "server_name": req.server, "filter": req.filter, "role": req.role,
        "limit": req.limit, "dry_run": req.dry_run,
    });
    let checked = (|| -> OpResult<_> {
        let filter = match &req.filter {
            Some(f) if !f.trim().is_empty() => Some(crate::ldap::filter::check("filter", f)?),
            _ => None,
        };
        if req.limit == 0 || req.limit > MAX_IMPORT {
            return Err(OpError::invalid("limit", format!("must be 1-{MAX_IMPORT}")));
        }
        let s = admin_settings(conn, ctx, keys, &req.server)?;
        Ok((filter, s))
    })();
    let (filter, s) =
        checked.map_err(|e| audit_refusal(conn, ctx, AuditAction::Import, request.clone(), e))?;
    let (found, truncated) = crate::ldap::import::search(&s, filter.as_deref(), req.limit, timeout)
        .map_err(|e| {
            let e = OpError::Io(format!("LDAP server {}: {e}", s.name));
            audit_refusal(conn, ctx, AuditAction::Import, request.clone(), e)
        })?;
    let report = |rows: Vec<ImportRow>| {
        let created = rows.iter().filter(|r| r.action == Planned::Create).count();
        ImportReport {
            server: s.name.clone(),
            dry_run: req.dry_run,
            role: req.role,
            created,
            skipped: rows.len() - created,
            truncated,
            rows,
        }
    };
    if req.dry_run {
        return Ok(report(plan(conn, &found)?));
    }
    run_write(
        conn,
        ctx,
        AuditAction::Import,
        AuditType::LdapServer,
        request,
        |c, who| {
            who.require_admin("importing users from LDAP")?;
            let server = find(c, &req.server)?;
            // Planned again inside the transaction: someone may have added a
            // user since the preview.
            let rows = plan(c, &found)?;
            let mut created = Vec::new();
            for row in rows.iter().filter(|r| r.action == Planned::Create) {
                let (Some(name), Some(email)) = (&row.username, &row.email) else {
                    continue;
                };
                let u = insert_user(c, name, email, req.role, LDAP_PASSWORD_MARKER)?;
                diesel::update(users::table.find(u.id))
                    .set((
                        users::auth_source.eq("ldap"),
                        users::ldap_server_id.eq(Some(server.id)),
                    ))
                    .execute(c)?;
                audit::record(
                    c,
                    ctx,
                    audit::Entry {
                        action: AuditAction::Create,
                        resource_type: AuditType::User,
                        resource_id: Some(i64::from(u.id)),
                        details: json!({
                            "username": u.username, "email": u.email, "role": u.role,
                            "auth_source": "ldap", "ldap_server": server.server_name, "dn": row.dn,
                        }),
                        result: audit::RESULT_OK,
                    },
                )?;
                created.push(u.username);
            }
            let r = report(rows);
            let done = Done::new(
                i64::from(server.id),
                json!({ "server": server.server_name, "role": req.role, "created": created, "skipped": r.skipped }),
            );
            Ok((r, done))
        },
    )
}
