//! Logging in. Every attempt is audited; the answer to a failure is the same
//! whether the name is unknown, the password wrong or the account inactive,
//! and an unknown name still costs one bcrypt so timing tells nothing.
//!
//! Users whose auth_source is `ldap` are checked by binding to the active
//! LDAP servers in priority order (see `crate::ldap::login`); their role and
//! domain grants still come from this database. Local users are unchanged.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::{json, Value};

use super::{audit, now, Client, Ctx, Policy};
use crate::db::models::User;
use crate::db::schema::users;
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::ldap::login::Outcome;
use crate::password;
use crate::secrets::{KeyFile, SecretKey, SecretString};
use crate::store;
use crate::validate;

/// Longest typed name kept in the audit row of a failed login.
const MAX_LOGGED_NAME: usize = 80;

/// What an LDAP login needs beyond the database: the key that decrypts
/// the servers' bind passwords, and how long one server may take.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// None: only servers without a bind password (anonymous search) work.
    pub key_file: Option<KeyFile>,
    /// None: `crate::ldap::DEFAULT_TIMEOUT`.
    pub timeout: Option<Duration>,
}

/// Log in; LDAP users can only use servers that search anonymously. Front
/// ends with a config should call `login_with`.
pub fn login(
    conn: &mut AnyConnection,
    username: &str,
    pw: &str,
    client: &Client,
    policy: &Policy,
) -> OpResult<Ctx> {
    login_with(conn, username, pw, client, policy, &Directory::default())
}

pub fn login_with(
    conn: &mut AnyConnection,
    username: &str,
    pw: &str,
    client: &Client,
    policy: &Policy,
    directory: &Directory,
) -> OpResult<Ctx> {
    let typed: String = crate::sanitize::for_terminal(username)
        .chars()
        .take(MAX_LOGGED_NAME)
        .collect();
    let user = match validate::username("username", username) {
        Ok(norm) => store::users::by_name(conn, &norm)?,
        Err(_) => None,
    };
    let Some(user) = user else {
        password::verify_dummy(pw, policy.bcrypt_cost);
        record(conn, None, &typed, client, "unknown user")?;
        return Err(OpError::Auth);
    };
    let t = now();
    // Local users: verify before looking at lock and status, so every path
    // costs one bcrypt. LDAP users are not sent to the directory while
    // locked: repeated binds there could lock them out of everything else.
    let local_ok = (user.auth_source != super::users::AUTH_LDAP)
        .then(|| password::verify(pw, &user.password_hash));
    if let Some(until) = user.locked_until.filter(|u| *u > t) {
        record(
            conn,
            Some(user.id),
            &user.username,
            client,
            &format!("account locked until {until} UTC"),
        )?;
        return Err(OpError::Auth);
    }
    let extra = match local_ok {
        Some(true) => json!({}),
        Some(false) => {
            return wrong_password(
                conn,
                &user,
                client,
                policy,
                json!({ "reason": "wrong password" }),
            )
        }
        None => match ldap_check(conn, &user, pw, directory)? {
            LdapVerdict::Accepted(details) => details,
            LdapVerdict::Rejected(details) => {
                return wrong_password(conn, &user, client, policy, details)
            }
            LdapVerdict::Unavailable(details) => {
                // Nobody could answer: not the user's mistake, so no failure count.
                write_tx(conn, |c| {
                    login_audit(
                        c,
                        Some(user.id),
                        &user.username,
                        client,
                        audit::RESULT_FAILED,
                        details,
                    )
                })?;
                return Err(OpError::Auth);
            }
        },
    };
    let active = user.status == "active" && user.is_active;
    if !active {
        record(
            conn,
            Some(user.id),
            &user.username,
            client,
            &format!("account {}", user.status),
        )?;
        return Err(OpError::Auth);
    }
    write_tx(conn, |c| -> OpResult<()> {
        diesel::update(users::table.find(user.id))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<chrono::NaiveDateTime>),
                users::last_login.eq(Some(t)),
            ))
            .execute(c)?;
        login_audit(
            c,
            Some(user.id),
            &user.username,
            client,
            audit::RESULT_OK,
            extra,
        )
    })?;
    Ok(Ctx {
        user_id: user.id,
        username: user.username,
        client: client.clone(),
        policy: policy.clone(),
    })
}

/// Count a failed login and lock the account once the failures in a row
/// reach the policy's threshold (see `lock_for`).
fn wrong_password(
    conn: &mut AnyConnection,
    user: &User,
    client: &Client,
    policy: &Policy,
    mut details: Value,
) -> OpResult<Ctx> {
    let t = now();
    write_tx(conn, |c| -> OpResult<()> {
        diesel::update(users::table.find(user.id))
            .set((
                users::failed_logins.eq(users::failed_logins + 1),
                users::last_failed_login.eq(Some(t)),
            ))
            .execute(c)?;
        let failed: i32 = users::table
            .find(user.id)
            .select(users::failed_logins)
            .first(c)?;
        details["failed_in_a_row"] = json!(failed);
        if let Some(secs) = lock_for(policy, failed) {
            let until = t + chrono::TimeDelta::seconds(secs);
            diesel::update(users::table.find(user.id))
                .set(users::locked_until.eq(Some(until)))
                .execute(c)?;
            details["locked"] = json!(format!("account locked for {secs} s"));
        }
        login_audit(
            c,
            Some(user.id),
            &user.username,
            client,
            audit::RESULT_FAILED,
            details.clone(),
        )
    })?;
    Err(OpError::Auth)
}

/// Seconds to lock after `failed` failures in a row: none below the
/// threshold, then the base doubling with each further failure, capped.
pub fn lock_for(policy: &Policy, failed: i32) -> Option<i64> {
    if policy.lockout_threshold <= 0 || failed < policy.lockout_threshold {
        return None;
    }
    let doublings = u32::try_from(failed - policy.lockout_threshold)
        .unwrap_or(0)
        .min(30);
    let secs = policy
        .lockout_base_seconds
        .saturating_mul(1i64 << doublings);
    Some(secs.min(policy.lockout_max_seconds).max(1))
}

enum LdapVerdict {
    Accepted(Value),
    Rejected(Value),
    Unavailable(Value),
}

/// Bind as the user against the active servers. The returned details go
/// into the audit row: which servers were tried and what each said, never
/// the password.
fn ldap_check(
    conn: &mut AnyConnection,
    user: &User,
    pw: &str,
    directory: &Directory,
) -> OpResult<LdapVerdict> {
    let rows = crate::store::ldap_servers::active(conn)?;
    if rows.is_empty() {
        return Ok(LdapVerdict::Unavailable(
            json!({ "method": "ldap", "reason": "no active LDAP server" }),
        ));
    }
    // The key is read once, and only if some server holds a bind password.
    let mut key: Option<Result<SecretKey, String>> = None;
    let prepared: Vec<_> = rows
        .iter()
        .map(|row| {
            let k = if row.bind_password.is_some() {
                let k = key.get_or_insert_with(|| match &directory.key_file {
                    Some(kf) => kf.load().map_err(|e| e.to_string()),
                    None => Err("no secrets key file configured".into()),
                });
                match k {
                    Ok(k) => Some(k.clone()),
                    Err(e) => return Err((row.server_name.clone(), e.clone())),
                }
            } else {
                None
            };
            crate::ops::ldap::settings(row, k.as_ref())
                .map_err(|e| (row.server_name.clone(), e.to_string()))
        })
        .collect();
    let timeout = directory.timeout.unwrap_or(crate::ldap::DEFAULT_TIMEOUT);
    let r = crate::ldap::login::authenticate(
        &prepared,
        &user.username,
        &SecretString::new(pw),
        timeout,
    );
    Ok(match r.outcome {
        Outcome::Accepted { server, dn } => LdapVerdict::Accepted(
            json!({ "method": "ldap", "server": server, "dn": dn, "attempts": r.attempts }),
        ),
        Outcome::Rejected { reason } => LdapVerdict::Rejected(
            json!({ "method": "ldap", "reason": reason, "attempts": r.attempts }),
        ),
        Outcome::Unavailable => LdapVerdict::Unavailable(json!({
            "method": "ldap", "reason": "no LDAP server could answer", "attempts": r.attempts,
        })),
    })
}

fn record(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    name: &str,
    client: &Client,
    reason: &str,
) -> OpResult<()> {
    write_tx(conn, |c| {
        login_audit(
            c,
            user_id,
            name,
            client,
            audit::RESULT_REFUSED,
            json!({ "reason": reason }),
        )
    })
}

fn login_audit(
    c: &mut AnyConnection,
    user_id: Option<i32>,
    name: &str,
    client: &Client,
    result: &str,
    details: Value,
) -> OpResult<()> {
    audit::insert(
        c,
        user_id,
        name,
        client,
        audit::Entry {
            action: "login",
            resource_type: "session",
            resource_id: user_id.map(i64::from),
            details,
            result,
        },
    )?;
    Ok(())
}
