//! Logging in. Every attempt is audited; the answer to a failure is the same
//! whether the name is unknown, the password wrong or the account inactive,
//! and every path costs at least one bcrypt at the configured cost so timing
//! does not tell which names exist or how they are checked.
//!
//! Lockout: each attempt takes a slot (`reserve`) before its password is
//! checked, so parallel attempts cannot get more than the threshold checked.
//! Audit rows say whether the password was really compared (`verified`) and
//! what equalising work ran (`equalised_cost`).
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
use crate::model::{AuditAction, AuditType};
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

/// Log in with a password only: a user with a second factor gets
/// `OpError::CodeRequired` (after the right password) and must come back
/// through `login_code`.
pub fn login_with(
    conn: &mut AnyConnection,
    username: &str,
    pw: &str,
    client: &Client,
    policy: &Policy,
    directory: &Directory,
) -> OpResult<Ctx> {
    login_code(conn, username, pw, None, client, policy, directory)
}

/// Log in with a password and, for a user with a confirmed second factor,
/// a one-time code (TOTP or recovery code; `ops::totp`). The code is only
/// looked at after the right password. A wrong or replayed code is a
/// failed attempt like a wrong password (it counts toward the lockout);
/// a missing one gives the attempt back and answers `CodeRequired`.
pub fn login_code(
    conn: &mut AnyConnection,
    username: &str,
    pw: &str,
    code: Option<&str>,
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
        let spent = password::verify_dummy(pw, policy.bcrypt_cost);
        record(
            conn,
            policy,
            None,
            &typed,
            client,
            json!({ "reason": "unknown user", "verified": false, "equalised_cost": spent }),
        )?;
        return Err(OpError::Auth);
    };
    // The attempt is counted before any password is checked, so however
    // many arrive at once, no more than the threshold are ever checked.
    let attempt = match reserve(conn, &user, policy)? {
        Ok(n) => n,
        Err(until) => {
            // Never check the real hash (or bind) while locked: that would
            // be a free guess. A dummy at the configured cost keeps the
            // answer as slow as a real check.
            let spent = password::verify_dummy(pw, policy.bcrypt_cost);
            record(
                conn,
                policy,
                Some(user.id),
                &user.username,
                client,
                json!({
                    "reason": format!("account locked until {until} UTC"),
                    "verified": false,
                    "equalised_cost": spent,
                }),
            )?;
            return Err(OpError::Auth);
        }
    };
    let mut check = check_password(conn, &user, pw, policy, directory)?;
    check.details["attempt"] = json!(attempt);
    check.details["verified"] = json!(check.verified);
    if let Some(c) = check.equalised_cost {
        check.details["equalised_cost"] = json!(c);
    }
    match check.verdict {
        Verdict::Right => second_factor(
            conn, user, pw, code, client, policy, directory, attempt, check,
        ),
        Verdict::Wrong => wrong_password(conn, &user, client, policy, attempt, check.details),
        Verdict::Unavailable => {
            // Nobody could answer: not the user's mistake, so the attempt is
            // given back instead of counted.
            give_back(conn, &user, client, policy, attempt, check.details)?;
            Err(OpError::Auth)
        }
    }
}

/// The password was right: an active user with a confirmed second factor
/// must also have given a code that is right and unused. (An inactive one
/// is refused by `right_password` without a word about codes.)
#[allow(clippy::too_many_arguments)]
fn second_factor(
    conn: &mut AnyConnection,
    user: User,
    pw: &str,
    code: Option<&str>,
    client: &Client,
    policy: &Policy,
    directory: &Directory,
    attempt: i32,
    mut check: Check,
) -> OpResult<Ctx> {
    if !(user.status == "active" && user.is_active) {
        return right_password(conn, user, pw, client, policy, attempt, check);
    }
    let factor = match super::totp::at_login(
        conn,
        policy.tables,
        &user,
        code,
        directory.key_file.as_ref(),
    ) {
        Ok(f) => f,
        Err(e) => {
            // The key is missing or does not decrypt: nobody's mistake
            // that a guess could exploit, so the attempt is given back.
            check.details["reason"] = json!(format!("second factor not checked: {e}"));
            give_back(conn, &user, client, policy, attempt, check.details)?;
            return Err(e);
        }
    };
    match factor {
        super::totp::Factor::None => right_password(conn, user, pw, client, policy, attempt, check),
        super::totp::Factor::Missing => {
            check.details["reason"] = json!("one-time code required");
            give_back(conn, &user, client, policy, attempt, check.details)?;
            Err(OpError::CodeRequired)
        }
        super::totp::Factor::Checked(super::totp::Checked::Passed(d)) => {
            check.details["second_factor"] = d;
            right_password(conn, user, pw, client, policy, attempt, check)
        }
        super::totp::Factor::Checked(super::totp::Checked::Wrong(reason)) => {
            check.details["reason"] = json!(reason);
            wrong_password(conn, &user, client, policy, attempt, check.details)
        }
    }
}

/// A refusal that is not the user's guess (nobody could check, or the code
/// is still to come): the counted attempt is given back and the failure
/// audited with `details` saying why.
fn give_back(
    conn: &mut AnyConnection,
    user: &User,
    client: &Client,
    policy: &Policy,
    attempt: i32,
    details: serde_json::Value,
) -> OpResult<()> {
    write_tx(conn, |c| -> OpResult<()> {
        release(c, user, policy, attempt)?;
        login_audit(
            c,
            policy,
            Some(user.id),
            &user.username,
            client,
            audit::RESULT_FAILED,
            details,
        )
    })
}

/// The password was right: the counted attempt is cleared, the login recorded
/// (refused if the account is not active), and a cheap hash replaced.
fn right_password(
    conn: &mut AnyConnection,
    user: User,
    pw: &str,
    client: &Client,
    policy: &Policy,
    attempt: i32,
    check: Check,
) -> OpResult<Ctx> {
    let mut details = check.details;
    let active = user.status == "active" && user.is_active;
    // A stored hash cheaper than the configured cost is replaced while the
    // password is at hand; hashed outside the write lock.
    let rehash = match (active, check.stored_cost) {
        (true, Some(c)) if c < policy.bcrypt_cost => password::hash_admin(pw, policy.bcrypt_cost)
            .ok()
            .map(|h| (c, h)),
        _ => None,
    };
    let t = now();
    write_tx(conn, |c| -> OpResult<()> {
        succeeded(c, &user, attempt)?;
        if !active {
            details["reason"] = json!(format!("account {}", user.status));
            return login_audit(
                c,
                policy,
                Some(user.id),
                &user.username,
                client,
                audit::RESULT_REFUSED,
                details,
            );
        }
        diesel::update(users::table.find(user.id))
            .set(users::last_login.eq(Some(t)))
            .execute(c)?;
        if let Some((from, hash)) = &rehash {
            // Only if the hash is still the one just checked: a password
            // changed meanwhile must not be overwritten with the old one.
            let n = diesel::update(
                users::table
                    .find(user.id)
                    .filter(users::password_hash.eq(&user.password_hash)),
            )
            .set(users::password_hash.eq(hash))
            .execute(c)?;
            if n == 1 {
                details["rehashed"] = json!({ "from_cost": from, "to_cost": policy.bcrypt_cost });
            }
        }
        login_audit(
            c,
            policy,
            Some(user.id),
            &user.username,
            client,
            audit::RESULT_OK,
            details,
        )
    })?;
    if !active {
        return Err(OpError::Auth);
    }
    Ok(Ctx {
        user_id: user.id,
        username: user.username,
        client: client.clone(),
        policy: policy.clone(),
        token: None,
    })
}

/// Take one attempt slot: count it as a failure now (undone on success)
/// and lock the account as soon as the count reaches the threshold, all in
/// one conditional UPDATE that only succeeds while the account is not
/// locked. The row lock it takes (PostgreSQL) or the write transaction
/// (SQLite) makes concurrent attempts, from any process or host, see each
/// other's counts. Ok(n): this is the n-th failure-in-a-row candidate;
/// Err(until): locked, nothing counted.
/// A refused use of `user`'s token: counted like a wrong password (it
/// may lock the account), with nothing to give back later.
pub(super) fn count_failure(
    conn: &mut AnyConnection,
    user: &User,
    policy: &Policy,
) -> OpResult<()> {
    reserve(conn, user, policy).map(|_| ())
}

fn reserve(
    conn: &mut AnyConnection,
    user: &User,
    policy: &Policy,
) -> OpResult<Result<i32, chrono::NaiveDateTime>> {
    write_tx(conn, |c| {
        let t = now();
        let took = diesel::update(
            users::table
                .find(user.id)
                .filter(users::locked_until.is_null().or(users::locked_until.le(t))),
        )
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(c)?;
        let (n, until): (i32, Option<chrono::NaiveDateTime>) = users::table
            .find(user.id)
            .select((users::failed_logins, users::locked_until))
            .first(c)?;
        if took == 0 {
            return Ok(Err(until.unwrap_or(t)));
        }
        let lock = lock_for(policy, n).map(|secs| t + chrono::TimeDelta::seconds(secs));
        diesel::update(users::table.find(user.id))
            .set(users::locked_until.eq(lock))
            .execute(c)?;
        Ok(Ok(n))
    })
}

/// The right password: the attempts counted up to and including this one
/// are no longer failures in a row; those counted after it (still being
/// checked) stay. A lock earned by such a burst stays too: a success in
/// the middle of a guessing burst must not reopen the account to it.
fn succeeded(c: &mut AnyConnection, user: &User, attempt: i32) -> OpResult<()> {
    // Another success may already have cleared some of them (two right
    // passwords at once): never below zero (a CHECK refuses it).
    let took = diesel::update(
        users::table
            .find(user.id)
            .filter(users::failed_logins.ge(attempt)),
    )
    .set(users::failed_logins.eq(users::failed_logins - attempt))
    .execute(c)?;
    let left: i32 = users::table
        .find(user.id)
        .select(users::failed_logins)
        .first(c)?;
    if took == 0 || left <= 0 {
        diesel::update(users::table.find(user.id))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(c)?;
    }
    Ok(())
}

/// Give an attempt back (no one could check it). If it was the one that
/// locked the account, the lock goes too: it was the last one let through.
fn release(c: &mut AnyConnection, user: &User, policy: &Policy, attempt: i32) -> OpResult<()> {
    diesel::update(
        users::table
            .find(user.id)
            .filter(users::failed_logins.gt(0)),
    )
    .set(users::failed_logins.eq(users::failed_logins - 1))
    .execute(c)?;
    if lock_for(policy, attempt).is_some() {
        diesel::update(users::table.find(user.id))
            .set(users::locked_until.eq(None::<chrono::NaiveDateTime>))
            .execute(c)?;
    }
    Ok(())
}

/// A wrong password: the attempt was already counted by `reserve`, and
/// the lock (if this attempt reached the threshold) already set.
fn wrong_password(
    conn: &mut AnyConnection,
    user: &User,
    client: &Client,
    policy: &Policy,
    attempt: i32,
    mut details: Value,
) -> OpResult<Ctx> {
    let t = now();
    write_tx(conn, |c| -> OpResult<()> {
        diesel::update(users::table.find(user.id))
            .set(users::last_failed_login.eq(Some(t)))
            .execute(c)?;
        let failed: i32 = users::table
            .find(user.id)
            .select(users::failed_logins)
            .first(c)?;
        details["failed_in_a_row"] = json!(failed);
        if let Some(secs) = lock_for(policy, attempt) {
            details["locked"] = json!(format!("account locked for {secs} s"));
        }
        login_audit(
            c,
            policy,
            Some(user.id),
            &user.username,
            client,
            audit::RESULT_FAILED,
            details.clone(),
        )
    })?;
    Err(OpError::Auth)
}

enum Verdict {
    Right,
    Wrong,
    Unavailable,
}

/// What checking one password found, for the decision and the audit row.
struct Check {
    verdict: Verdict,
    /// The password was really compared (hash or directory), i.e. it was a guess.
    verified: bool,
    /// The cost of the stored local hash, when it was checked.
    stored_cost: Option<u32>,
    /// The cost of the dummy check run to equalise the answer time.
    equalised_cost: Option<u32>,
    details: Value,
}

/// Check the password: local users against their hash, LDAP users against
/// the directory. Every path spends at least one bcrypt at the configured
/// cost: a dummy where no real check at that cost ran.
fn check_password(
    conn: &mut AnyConnection,
    user: &User,
    pw: &str,
    policy: &Policy,
    directory: &Directory,
) -> OpResult<Check> {
    if user.auth_source == super::users::AUTH_LDAP {
        let (verdict, details) = match ldap_check(conn, user, pw, directory)? {
            LdapVerdict::Accepted(d) => (Verdict::Right, d),
            LdapVerdict::Rejected(d) => (Verdict::Wrong, d),
            LdapVerdict::Unavailable(d) => (Verdict::Unavailable, d),
        };
        let verified = !matches!(verdict, Verdict::Unavailable);
        return Ok(Check {
            verdict,
            verified,
            stored_cost: None,
            equalised_cost: password::verify_dummy(pw, policy.bcrypt_cost),
            details,
        });
    }
    if pw.len() > validate::BCRYPT_MAX_BYTES || pw.contains('\0') {
        // bcrypt would check only the first 72 bytes (or stop at the NUL),
        // so such a password is never compared: it cannot be the one set.
        return Ok(Check {
            verdict: Verdict::Wrong,
            verified: false,
            stored_cost: None,
            equalised_cost: password::verify_dummy(pw, policy.bcrypt_cost),
            details: json!({ "reason": "password longer than 72 bytes or holding a NUL byte" }),
        });
    }
    let ok = password::verify(pw, &user.password_hash);
    let stored_cost = password::cost_of(&user.password_hash);
    let equalised_cost = match stored_cost {
        Some(c) if c >= policy.bcrypt_cost => None,
        _ => password::verify_dummy(pw, policy.bcrypt_cost),
    };
    Ok(Check {
        verdict: if ok { Verdict::Right } else { Verdict::Wrong },
        verified: true,
        stored_cost,
        equalised_cost,
        details: if ok {
            json!({})
        } else {
            json!({ "reason": "wrong password" })
        },
    })
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
    policy: &Policy,
    user_id: Option<i32>,
    name: &str,
    client: &Client,
    details: Value,
) -> OpResult<()> {
    write_tx(conn, |c| {
        login_audit(
            c,
            policy,
            user_id,
            name,
            client,
            audit::RESULT_REFUSED,
            details,
        )
    })
}

pub(super) fn login_audit(
    c: &mut AnyConnection,
    policy: &Policy,
    user_id: Option<i32>,
    name: &str,
    client: &Client,
    result: &str,
    details: Value,
) -> OpResult<()> {
    audit::insert(
        c,
        policy.chain(),
        user_id,
        name,
        client,
        audit::Entry {
            action: AuditAction::Login,
            resource_type: AuditType::Session,
            resource_id: user_id.map(i64::from),
            details,
            result,
        },
    )?;
    Ok(())
}
