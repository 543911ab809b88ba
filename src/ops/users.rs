//! Admin accounts (the users table). Managing them needs role admin, except
//! that every user may change its own password. Deleting marks the account
//! deleted (its audit history keeps pointing at it) and drops its grants.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{
    audit, check_version, now, run_write, run_write_pending, Client, Ctx, Done, Policy, Principal,
};
use crate::db::models::User;
use crate::db::schema::{user_domains, users};
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Role, Status};
use crate::password;
use crate::store::{self, Filter, Page};
use crate::validate;

pub const BOOTSTRAP_ADMIN: &str = "admin";

/// password_hash of a user who logs in by LDAP bind: not a bcrypt hash, so
/// no password ever verifies against it locally.
pub const LDAP_PASSWORD_MARKER: &str = "!ldap";

/// Where a user's password is checked.
pub const AUTH_LOCAL: &str = "local";
pub const AUTH_LDAP: &str = "ldap";

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: String,
    pub role: String,
    pub password: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UserEdit {
    pub email: Option<String>,
    pub role: Option<String>,
    /// Require (true) or stop requiring (false) a new password at next login.
    pub must_change_password: Option<bool>,
    /// "local" or "ldap". Switching to ldap drops the local password hash;
    /// switching back needs a new password (`set_password`).
    pub auth_source: Option<String>,
}

fn auth_source(field: &str, s: &str) -> OpResult<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        AUTH_LOCAL => Ok(AUTH_LOCAL),
        AUTH_LDAP => Ok(AUTH_LDAP),
        other => Err(OpError::invalid(
            field,
            format!("must be local or ldap (got {other:?})"),
        )),
    }
}

fn prepare_password(policy: &Policy, pw: &str) -> OpResult<String> {
    validate::password("password", pw, policy.min_password_length)?;
    password::hash_admin(pw, policy.bcrypt_cost).map_err(|e| OpError::Io(e.to_string()))
}

fn find(c: &mut AnyConnection, name: &str) -> OpResult<User> {
    let norm = validate::username("username", name)?;
    store::users::by_name(c, &norm)?.ok_or_else(|| OpError::not_found("user", norm))
}

fn reload(c: &mut AnyConnection, id: i32) -> OpResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| OpError::not_found("user", id.to_string()))
}

fn check_email(c: &mut AnyConnection, email: &str, except: Option<i32>) -> OpResult<String> {
    let (addr, _, _) = validate::address("email", email)?;
    if let Some(u) = store::users::by_email(c, &addr)? {
        if Some(u.id) != except {
            return Err(OpError::duplicate(
                "email",
                format!("{addr} is already used by user {}", u.username),
            ));
        }
    }
    Ok(addr)
}

/// Refuse to remove the last active admin (nobody could administer the host).
fn keep_an_admin(c: &mut AnyConnection, target: &User, what: &str) -> OpResult<()> {
    if target.role == "admin"
        && target.status == "active"
        && store::users::other_active_admins(c, target.id)? == 0
    {
        return Err(OpError::invalid(
            "username",
            format!(
                "{} is the last active admin; {what} would leave nobody able to administer",
                target.username
            ),
        ));
    }
    Ok(())
}

pub fn create(conn: &mut AnyConnection, ctx: &Ctx, new: &NewUser) -> OpResult<User> {
    let hash = prepare_password(&ctx.policy, &new.password);
    let request = json!({ "username": new.username, "email": new.email, "role": new.role });
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::User,
        request,
        |c, who| {
            who.require_admin("creating a user")?;
            let name = validate::username("username", &new.username)?;
            let role = Role::parse("role", &new.role)?;
            let email = check_email(c, &new.email, None)?;
            let hash = hash?;
            if store::users::by_name(c, &name)?.is_some() {
                return Err(OpError::duplicate(
                    "username",
                    format!("user {name} already exists"),
                ));
            }
            let u = insert_user(c, &name, &email, role, &hash)?;
            let done = Done::new(i64::from(u.id), json!({ "after": u, "password": "set" }));
            Ok((u, done))
        },
    )
}

pub(crate) fn insert_user(
    c: &mut AnyConnection,
    name: &str,
    email: &str,
    role: Role,
    hash: &str,
) -> OpResult<User> {
    let t = now();
    diesel::insert_into(users::table)
        .values((
            users::username.eq(name),
            users::email.eq(email),
            users::password_hash.eq(hash),
            users::role.eq(role.as_str()),
            users::status.eq("active"),
            users::created_at.eq(t),
            users::updated_at.eq(t),
            users::is_active.eq(true),
        ))
        .execute(c)?;
    store::users::by_name(c, name)?.ok_or_else(|| OpError::not_found("user", name))
}

/// Create the first admin, `admin`, when the users table is empty. Returns
/// None (and writes nothing) when any user exists. The check and the insert
/// share one write transaction, so two `init`s at once create one admin.
pub fn bootstrap_admin(
    conn: &mut AnyConnection,
    client: &Client,
    policy: &Policy,
    email: &str,
    pw: &str,
) -> OpResult<Option<User>> {
    let hash = prepare_password(policy, pw)?;
    write_tx(conn, |c| {
        if store::users::count(c)? > 0 {
            return Ok(None);
        }
        let (email, _, _) = validate::address("email", email)?;
        let u = insert_user(c, BOOTSTRAP_ADMIN, &email, Role::Admin, &hash)?;
        audit::insert(
            c,
            policy.chain(),
            Some(u.id),
            "init",
            client,
            audit::Entry {
                action: AuditAction::Create,
                resource_type: AuditType::User,
                resource_id: Some(i64::from(u.id)),
                details: json!({ "after": u, "password": "set", "reason": "first admin created by init" }),
                result: audit::RESULT_OK,
            },
        )?;
        Ok(Some(u))
    })
}

pub fn edit(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    username: &str,
    expected_version: Option<i32>,
    e: &UserEdit,
) -> OpResult<User> {
    let request = json!({ "username": username, "edit": e, "version": expected_version });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::User,
        request,
        |c, who| {
            who.require_admin("editing a user")?;
            let before = find(c, username)?;
            check_version("user", &before.username, expected_version, before.version)?;
            let mut after = before.clone();
            if let Some(m) = &e.email {
                after.email = check_email(c, m, Some(before.id))?;
            }
            if let Some(r) = &e.role {
                let role = Role::parse("role", r)?;
                if role != Role::Admin {
                    keep_an_admin(c, &before, "changing its role")?;
                }
                after.role = role.as_str().to_string();
            }
            if let Some(m) = e.must_change_password {
                after.must_change_password = m;
            }
            let mut hash = before.password_hash.clone();
            if let Some(a) = &e.auth_source {
                let a = auth_source("auth_source", a)?;
                if a == AUTH_LDAP && before.auth_source != AUTH_LDAP {
                    if crate::store::ldap_servers::active(c)?.is_empty() {
                        return Err(OpError::invalid(
                            "auth_source",
                            "no active LDAP server is configured (add one with `ldap add`)",
                        ));
                    }
                    // A stale local password must not remain a second way in.
                    hash = LDAP_PASSWORD_MARKER.to_string();
                }
                if a == AUTH_LOCAL && before.auth_source == AUTH_LDAP {
                    // No password verifies until `set_password` gives one.
                    hash = LDAP_PASSWORD_MARKER.to_string();
                }
                after.auth_source = a.to_string();
            }
            let n = diesel::update(
                users::table
                    .find(before.id)
                    .filter(users::version.eq(before.version)),
            )
            .set((
                users::email.eq(&after.email),
                users::role.eq(&after.role),
                users::must_change_password.eq(after.must_change_password),
                users::auth_source.eq(&after.auth_source),
                users::password_hash.eq(&hash),
                users::updated_at.eq(now()),
                users::version.eq(before.version + 1),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "user {} changed while saving; reload and try again",
                    before.username
                )));
            }
            if after.role != "user" {
                // Grants mean something only for role user; a role change drops them.
                diesel::delete(user_domains::table.filter(user_domains::user_id.eq(before.id)))
                    .execute(c)?;
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

/// Set a user's password: admins for anyone, every user for itself.
pub fn set_password(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    username: &str,
    pw: &str,
) -> OpResult<User> {
    let hash = prepare_password(&ctx.policy, pw);
    let request = json!({ "username": username, "password": "[redacted]" });
    run_write_pending(
        conn,
        ctx,
        AuditAction::SetPassword,
        AuditType::User,
        request,
        |c, who| {
            let target = find(c, username)?;
            let own = target.id == who.id;
            if !own {
                if who.must_change_password {
                    return Err(OpError::Denied(format!(
                        "{} must set its own new password first",
                        who.username
                    )));
                }
                if who.must_enrol_totp {
                    return Err(OpError::Denied(format!(
                        "{} must enrol a second factor first (postfix-manager user totp enroll)",
                        who.username
                    )));
                }
                who.require_admin("setting another user's password")?;
            }
            if target.auth_source == AUTH_LDAP {
                return Err(OpError::invalid(
                "password",
                format!(
                    "{} logs in through LDAP; change the password in the directory, or switch the account to local first (user edit --auth-source local)",
                    target.username
                ),
            ));
            }
            let hash = hash?;
            diesel::update(users::table.find(target.id))
                .set((
                    users::password_hash.eq(&hash),
                    users::failed_logins.eq(0),
                    users::locked_until.eq(None::<chrono::NaiveDateTime>),
                    // Setting your own password is the change that was required.
                    users::must_change_password.eq(target.must_change_password && !own),
                    users::updated_at.eq(now()),
                    users::version.eq(target.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, target.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "username": after.username, "password": "changed" }),
            );
            Ok((after, done))
        },
    )
}

pub fn set_status(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    username: &str,
    status: Status,
) -> OpResult<User> {
    let request = json!({ "username": username, "status": status.as_str() });
    run_write(
        conn,
        ctx,
        status.action(),
        AuditType::User,
        request,
        |c, who| {
            who.require_admin("suspending or activating a user")?;
            let before = find(c, username)?;
            if before.status == "deleted" {
                return Err(OpError::invalid(
                    "username",
                    format!("user {} is deleted", before.username),
                ));
            }
            if status == Status::Suspended {
                if before.id == who.id {
                    return Err(OpError::invalid("username", "you cannot suspend yourself"));
                }
                keep_an_admin(c, &before, "suspending it")?;
            }
            diesel::update(users::table.find(before.id))
                .set((
                    users::status.eq(status.as_str()),
                    users::is_active.eq(status == Status::Active),
                    users::updated_at.eq(now()),
                    users::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "username": after.username, "before": { "status": before.status }, "after": { "status": after.status } }),
            );
            Ok((after, done))
        },
    )
}

pub fn delete(conn: &mut AnyConnection, ctx: &Ctx, username: &str) -> OpResult<User> {
    let request = json!({ "username": username });
    run_write(
        conn,
        ctx,
        AuditAction::Delete,
        AuditType::User,
        request,
        |c, who| {
            who.require_admin("deleting a user")?;
            let before = find(c, username)?;
            if before.id == who.id {
                return Err(OpError::invalid("username", "you cannot delete yourself"));
            }
            if before.status == "deleted" {
                return Err(OpError::invalid(
                    "username",
                    format!("user {} is already deleted", before.username),
                ));
            }
            keep_an_admin(c, &before, "deleting it")?;
            let grants =
                diesel::delete(user_domains::table.filter(user_domains::user_id.eq(before.id)))
                    .execute(c)?;
            diesel::update(users::table.find(before.id))
                .set((
                    users::status.eq("deleted"),
                    users::is_active.eq(false),
                    users::updated_at.eq(now()),
                    users::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "before": before, "after": { "status": after.status }, "grants_removed": grants }),
            );
            Ok((after, done))
        },
    )
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, username: &str) -> OpResult<User> {
    let who = Principal::load(conn, ctx)?;
    let u = find(conn, username)?;
    if who.role == Role::User && u.id != who.id {
        return Err(OpError::Denied(format!(
            "{} may only see its own account",
            who.username
        )));
    }
    Ok(u)
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    page: &Page,
) -> OpResult<Vec<User>> {
    let who = Principal::load(conn, ctx)?;
    if who.role == Role::User {
        let me = reload(conn, who.id)?;
        return Ok(vec![me]);
    }
    Ok(store::users::list(conn, filter, page)?)
}
