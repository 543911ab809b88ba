//! Tokens for scripts (issue 19): created by a user logged in with a
//! password, shown once, stored as SHA-256, used instead of a password.
//!
//! A token session acts for its owner, never beyond the owner's rights at
//! the moment of use (`Principal::load` re-reads the owner and the token in
//! every operation's transaction, so a revoke or a demotion applies to the
//! very next call). Its own role and domain list narrow that further.
//!
//! Why no bcrypt: the token holds 256 random bits, so a single fast hash
//! cannot be guessed backwards, and one indexed probe finds the row. A
//! script making 1,000 calls pays microseconds per call, not 250 ms.
//!
//! Why a token cannot create tokens: a leaked token must not be able to
//! mint itself a longer-lived or wider successor.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::authz::TokenGrant;
use super::{audit, now, run_write, Client, Ctx, Done, Policy, Principal};
use crate::cidr::Cidr;
use crate::db::models::User;
use crate::db::schema::api_tokens;
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Role};
use crate::secrets::SecretString;
use crate::store;
use crate::store::api_tokens::ApiToken;

const AUDIT_TYPE: AuditType = AuditType::ApiToken;

/// What every token starts with, so a secret scanner (or an admin reading
/// a crontab) can tell one from a password.
pub const PREFIX: &str = "pmt_";

/// What `user token create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    pub name: String,
    pub role: String,
    /// Domain names; empty: not limited to domains.
    pub domains: Vec<String>,
    /// CIDR ranges; empty: from anywhere.
    pub from: Vec<String>,
    pub expires_at: Option<NaiveDateTime>,
}

/// A token as listed: never its secret or hash.
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: i32,
    pub owner: String,
    pub name: String,
    pub role: String,
    pub domains: Option<Vec<String>>,
    pub from: Option<Vec<String>>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    /// active, expired or revoked (as of the read).
    pub state: &'static str,
}

/// A new token: the secret, shown once, and its row.
#[derive(Debug)]
pub struct Created {
    pub secret: SecretString,
    pub token: TokenView,
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Readonly => 0,
        Role::User => 1,
        Role::Admin => 2,
    }
}

/// The lower of two roles: what a token of role `token` may do for an
/// owner of role `owner`.
pub fn cap(owner: Role, token: Role) -> Role {
    if rank(token) < rank(owner) {
        token
    } else {
        owner
    }
}

fn hash(secret: &str) -> String {
    super::audit_seal::hex(&Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> SecretString {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    SecretString::new(format!("{PREFIX}{}", super::audit_seal::hex(&raw)))
}

fn valid_name(name: &str) -> OpResult<String> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(n.to_string())
    } else {
        Err(OpError::invalid(
            "name",
            "must be 1 to 64 characters of letters, digits, '.', '_' or '-'",
        ))
    }
}

fn parse_from(from: &[String]) -> OpResult<Option<String>> {
    if from.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(from.len());
    for f in from {
        let c = Cidr::parse(f).map_err(|e| OpError::invalid("from", e))?;
        out.push(c.to_string());
    }
    Ok(Some(out.join(",")))
}

/// The domains a token is limited to, as ids the owner may reach with
/// the token's role.
fn scope_ids(
    c: &mut AnyConnection,
    who: &Principal,
    role: Role,
    names: &[String],
) -> OpResult<Option<String>> {
    if names.is_empty() {
        if role == Role::User && who.role == Role::Admin {
            return Err(OpError::invalid(
                "domains",
                "a token of role user acts on the domains it is given: pass --domains (or choose role admin or readonly)",
            ));
        }
        return Ok(None);
    }
    let mut ids = Vec::with_capacity(names.len());
    for n in names {
        let name = crate::validate::domain("domains", n)?;
        let d = store::domains::by_name(c, &name)?
            .ok_or_else(|| OpError::not_found_in("domains", "domain", &name))?;
        if !who.can_read_domain(d.id) {
            return Err(OpError::Denied(format!(
                "{} has no access to domain {}, so a token of theirs cannot have it",
                who.username, d.name
            )));
        }
        ids.push(d.id);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(
        ids.iter().map(i32::to_string).collect::<Vec<_>>().join(","),
    ))
}

/// `user token create`: a token for the logged-in user.
pub fn create(conn: &mut AnyConnection, ctx: &Ctx, new: &NewToken) -> OpResult<Created> {
    let request = json!({
        "token": new.name, "role": new.role, "domains": new.domains,
        "from": new.from, "expires_at": new.expires_at,
    });
    let secret = new_secret();
    let token_hash = hash(secret.expose());
    let (row, owner) = run_write(
        conn,
        ctx,
        AuditAction::Create,
        AUDIT_TYPE,
        request,
        |c, who| {
            if let Some(t) = &ctx.token {
                return Err(OpError::Denied(format!(
                    "token {} cannot create tokens: log in with a password to do that",
                    t.name
                )));
            }
            let name = valid_name(&new.name)?;
            let role = Role::parse("role", &new.role)?;
            if rank(role) > rank(who.role) {
                return Err(OpError::Denied(format!(
                    "a token of role {} would exceed {}'s role {}",
                    role.as_str(),
                    who.username,
                    who.role.as_str()
                )));
            }
            let t = now();
            if new.expires_at.is_some_and(|e| e <= t) {
                return Err(OpError::invalid("expires", "must be in the future"));
            }
            let domain_ids = scope_ids(c, who, role, &new.domains)?;
            let allowed_from = parse_from(&new.from)?;
            if store::api_tokens::by_owner_and_name(c, who.id, &name)?.is_some() {
                return Err(OpError::Duplicate {
                    field: "name".into(),
                    message: format!("{} already has a token named {name}", who.username),
                });
            }
            diesel::insert_into(api_tokens::table)
                .values((
                    api_tokens::user_id.eq(who.id),
                    api_tokens::name.eq(&name),
                    api_tokens::token_hash.eq(&token_hash),
                    api_tokens::role.eq(role.as_str()),
                    api_tokens::domain_ids.eq(&domain_ids),
                    api_tokens::allowed_from.eq(&allowed_from),
                    api_tokens::expires_at.eq(new.expires_at),
                    api_tokens::created_at.eq(t),
                ))
                .execute(c)?;
            let row = store::api_tokens::by_owner_and_name(c, who.id, &name)?
                .ok_or_else(|| OpError::not_found("token", &name))?;
            let details = json!({
                "token": name, "owner": who.username, "role": role.as_str(),
                "domain_ids": domain_ids, "from": allowed_from, "expires_at": new.expires_at,
            });
            let id = row.id;
            Ok((
                (row, who.username.clone()),
                Done::new(i64::from(id), details),
            ))
        },
    )?;
    Ok(Created {
        secret,
        token: view(conn, row, owner)?,
    })
}

fn state(row: &ApiToken, t: NaiveDateTime) -> &'static str {
    if row.revoked_at.is_some() {
        "revoked"
    } else if row.expires_at.is_some_and(|e| e <= t) {
        "expired"
    } else {
        "active"
    }
}

fn view(conn: &mut AnyConnection, row: ApiToken, owner: String) -> OpResult<TokenView> {
    let domains = match row.scope() {
        None => None,
        Some(ids) => {
            let mut names: Vec<String> = store::domains::names(conn, &ids)?
                .into_iter()
                .map(|(_, name)| name)
                .collect();
            names.sort_unstable();
            Some(names)
        }
    };
    Ok(TokenView {
        state: state(&row, now()),
        id: row.id,
        owner,
        name: row.name,
        role: row.role,
        domains,
        from: row
            .allowed_from
            .map(|f| f.split(',').map(str::to_string).collect()),
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
}

/// The owner a token command names: `None` is the caller; another user's
/// tokens are an admin's business.
fn owner_id(c: &mut AnyConnection, who: &Principal, owner: Option<&str>) -> OpResult<User> {
    let name = owner.unwrap_or(&who.username);
    if name != who.username {
        who.require_admin("managing another user's tokens")?;
    }
    store::users::by_name(c, name)?.ok_or_else(|| OpError::not_found("user", name))
}

/// `user token list [--user NAME | --all]`.
pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    owner: Option<&str>,
    all: bool,
) -> OpResult<Vec<TokenView>> {
    let who = Principal::load(conn, ctx)?;
    let filter = if all {
        who.require_admin("listing every user's tokens")?;
        None
    } else {
        Some(owner_id(conn, &who, owner)?.id)
    };
    let rows = store::api_tokens::list(conn, filter)?;
    rows.into_iter()
        .map(|(row, owner)| view(conn, row, owner))
        .collect()
}

/// `user token revoke NAME [--user OWNER]`: at once and for good.
pub fn revoke(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    owner: Option<&str>,
    name: &str,
) -> OpResult<TokenView> {
    let request = json!({ "token": name, "owner": owner });
    let (row, owner_name) = run_write(
        conn,
        ctx,
        AuditAction::Revoke,
        AUDIT_TYPE,
        request,
        |c, who| {
            let user = owner_id(c, who, owner)?;
            let row = store::api_tokens::by_owner_and_name(c, user.id, name)?.ok_or_else(|| {
                OpError::not_found("token", format!("{name} of {}", user.username))
            })?;
            if row.revoked_at.is_some() {
                return Err(OpError::invalid(
                    "name",
                    format!("token {name} is already revoked"),
                ));
            }
            let mut row = row;
            row.revoked_at = Some(now());
            diesel::update(api_tokens::table.find(row.id))
                .set(api_tokens::revoked_at.eq(row.revoked_at))
                .execute(c)?;
            let details = json!({ "token": row.name, "owner": user.username });
            let id = row.id;
            Ok(((row, user.username), Done::new(i64::from(id), details)))
        },
    )?;
    view(conn, row, owner_name)
}

/// Why a presented token is not accepted (said in the audit row only; the
/// caller always gets the one login-failed answer).
fn unusable(row: &ApiToken, owner: &User, client: &Client, t: NaiveDateTime) -> Option<String> {
    if row.revoked_at.is_some() {
        return Some("token revoked".into());
    }
    if row.expires_at.is_some_and(|e| e <= t) {
        return Some("token expired".into());
    }
    if let Some(until) = owner.locked_until.filter(|u| *u > t) {
        return Some(format!("owner locked until {until} UTC"));
    }
    if owner.status != "active" || !owner.is_active {
        return Some(format!("owner account {}", owner.status));
    }
    if let Some(ranges) = &row.allowed_from {
        // No SSH client address: the script runs on this host.
        let ip: std::net::IpAddr = match client.ip.parse() {
            Ok(ip) => ip,
            Err(_) => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        };
        let inside = ranges
            .split(',')
            .filter_map(|r| Cidr::parse(r).ok())
            .any(|c| c.contains(ip));
        if !inside {
            return Some(format!("client {ip} is outside {ranges}"));
        }
    }
    None
}

/// The audit name of a token session: who acted, and through what.
pub fn actor(token: &str, owner: &str) -> String {
    format!("token {token} of {owner}")
}

/// Log in with a token (`--token-file`). Every use is audited, accepted or
/// not; a refused use of a real token counts toward its owner's lockout,
/// like a wrong password.
pub fn login(
    conn: &mut AnyConnection,
    secret: &str,
    client: &Client,
    policy: &Policy,
) -> OpResult<Ctx> {
    let row = store::api_tokens::by_hash(conn, &hash(secret.trim()))?;
    let owner = match &row {
        Some(r) => store::users::by_id(conn, r.user_id)?,
        None => None,
    };
    let (Some(row), Some(owner)) = (row, owner) else {
        write_tx(conn, |c| {
            super::auth::login_audit(
                c,
                policy,
                None,
                "token (unknown)",
                client,
                audit::RESULT_REFUSED,
                json!({ "reason": "unknown token", "verified": true }),
            )
        })?;
        return Err(OpError::Auth);
    };
    let t = now();
    let actor = actor(&row.name, &owner.username);
    if let Some(reason) = unusable(&row, &owner, client, t) {
        let locked = owner.locked_until.is_some_and(|u| u > t);
        if !locked {
            super::auth::count_failure(conn, &owner, policy)?;
        }
        write_tx(conn, |c| {
            super::auth::login_audit(
                c,
                policy,
                Some(owner.id),
                &actor,
                client,
                audit::RESULT_REFUSED,
                json!({ "reason": reason, "token_id": row.id, "verified": true }),
            )
        })?;
        return Err(OpError::Auth);
    }
    let role = Role::parse("role", &row.role)?;
    write_tx(conn, |c| {
        diesel::update(api_tokens::table.find(row.id))
            .set(api_tokens::last_used_at.eq(Some(t)))
            .execute(c)?;
        super::auth::login_audit(
            c,
            policy,
            Some(owner.id),
            &actor,
            client,
            audit::RESULT_OK,
            json!({ "token_id": row.id, "token": row.name, "role": role.as_str(), "verified": true }),
        )
    })?;
    Ok(Ctx {
        user_id: owner.id,
        username: actor,
        client: client.clone(),
        policy: policy.clone(),
        token: Some(TokenGrant {
            id: row.id,
            name: row.name,
            owner: owner.username,
        }),
    })
}
