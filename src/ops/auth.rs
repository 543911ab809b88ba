//! Logging in. Every attempt is audited; the answer to a failure is the same
//! whether the name is unknown, the password wrong or the account inactive,
//! and an unknown name still costs one bcrypt so timing tells nothing.

use diesel::prelude::*;
use serde_json::json;

use super::{audit, now, Client, Ctx, Policy};
use crate::db::schema::users;
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::password;
use crate::store;
use crate::validate;

/// Longest typed name kept in the audit row of a failed login.
const MAX_LOGGED_NAME: usize = 80;

pub fn login(
    conn: &mut AnyConnection,
    username: &str,
    pw: &str,
    client: &Client,
    policy: &Policy,
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
    // Verify before looking at lock and status, so every path costs one bcrypt.
    let ok = password::verify(pw, &user.password_hash);
    let t = now();
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
    let active = user.status == "active" && user.is_active;
    if !ok {
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
            let lock = lock_for(policy, failed);
            let mut reason = format!("wrong password ({failed} in a row)");
            if let Some(secs) = lock {
                let until = t + chrono::TimeDelta::seconds(secs);
                diesel::update(users::table.find(user.id))
                    .set(users::locked_until.eq(Some(until)))
                    .execute(c)?;
                reason.push_str(&format!("; account locked for {secs} s"));
            }
            login_audit(
                c,
                Some(user.id),
                &user.username,
                client,
                audit::RESULT_FAILED,
                &reason,
            )
        })?;
        return Err(OpError::Auth);
    }
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
            "",
        )
    })?;
    Ok(Ctx {
        user_id: user.id,
        username: user.username,
        client: client.clone(),
        policy: policy.clone(),
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

fn record(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    name: &str,
    client: &Client,
    reason: &str,
) -> OpResult<()> {
    write_tx(conn, |c| {
        login_audit(c, user_id, name, client, audit::RESULT_REFUSED, reason)
    })
}

fn login_audit(
    c: &mut AnyConnection,
    user_id: Option<i32>,
    name: &str,
    client: &Client,
    result: &str,
    reason: &str,
) -> OpResult<()> {
    let details = if reason.is_empty() {
        json!({})
    } else {
        json!({ "reason": reason })
    };
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
