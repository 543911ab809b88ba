//! App passwords: generated credentials a mailbox's owner gives one device
//! or program, each limited to some protocols, with an optional expiry, and
//! revocable on its own without touching the mailbox password.
//!
//! The generated password is `pmapp-XXXXXXXX-<24 characters>`. Its first
//! `SELECTOR_LEN` characters (the prefix and 8 random ones) are stored in
//! clear as the row's selector: the Dovecot passdb can only compare one
//! hash per login, so it picks the row by that prefix and lets Dovecot check
//! the whole password against the bcrypt hash. The passdb passes a typed
//! password's prefix to SQL only when it starts with `PREFIX`, so the
//! mailbox password never reaches a query (or a query log).

use chrono::TimeDelta;
use diesel::prelude::*;
use rand::distr::{Alphanumeric, SampleString};
use serde::Serialize;
use serde_json::json;

use super::{now, run_write, Ctx, Done, Principal};
use crate::db::schema::app_passwords;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::password;
use crate::store::{self, app_passwords::AppPassword};
use crate::validate;

pub use crate::password::{APP_PREFIX as PREFIX, APP_SELECTOR_LEN as SELECTOR_LEN};
/// Random characters after the selector (about 143 bits).
const SECRET_LEN: usize = 24;
/// Longest name (the column's width).
const MAX_NAME: usize = 64;
/// Longest lifetime: ten years, as the domains' password_max_age_days.
pub use crate::lifetime::MAX_DAYS;

/// The protocols an app password may log in to; at least one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Protocols {
    pub imap: bool,
    pub pop3: bool,
    pub smtp: bool,
    pub sieve: bool,
}

impl Protocols {
    /// `imap,smtp`: a comma-separated list of imap, pop3, smtp, sieve.
    pub fn parse(field: &str, s: &str) -> OpResult<Protocols> {
        let mut p = Protocols::default();
        for word in s.split(',').map(|w| w.trim().to_ascii_lowercase()) {
            match word.as_str() {
                "imap" => p.imap = true,
                "pop3" => p.pop3 = true,
                "smtp" | "submission" => p.smtp = true,
                "sieve" | "managesieve" => p.sieve = true,
                "" => {}
                _ => {
                    return Err(OpError::invalid(
                        field,
                        format!(
                        "unknown protocol {:?}: use imap, pop3, smtp or sieve, separated by commas",
                        crate::sanitize::for_terminal(&word)
                    ),
                    ))
                }
            }
        }
        if p == Protocols::default() {
            return Err(OpError::invalid(
                field,
                "name at least one of imap, pop3, smtp, sieve",
            ));
        }
        Ok(p)
    }
}

/// An app password's name: 1-64 characters, no control characters.
fn check_name(name: &str) -> OpResult<String> {
    let n = validate::description("name", name)?
        .ok_or_else(|| OpError::invalid("name", "must not be empty"))?;
    if n.chars().count() > MAX_NAME {
        return Err(OpError::invalid(
            "name",
            format!("must be at most {MAX_NAME} characters"),
        ));
    }
    Ok(n)
}

#[derive(Debug, Clone)]
pub struct NewAppPassword {
    pub address: String,
    pub name: String,
    pub protocols: Protocols,
    /// None: never expires.
    pub lifetime: Option<TimeDelta>,
}

/// A new password: the selector and the whole password.
fn generate() -> (String, String) {
    let mut rng = rand::rng();
    let selector = format!(
        "{PREFIX}{}",
        Alphanumeric.sample_string(&mut rng, SELECTOR_LEN - PREFIX.len())
    );
    let secret = Alphanumeric.sample_string(&mut rng, SECRET_LEN);
    let whole = format!("{selector}-{secret}");
    (selector, whole)
}

/// The label audit rows carry (`ops::audit` shows it for deleted rows).
fn label(address: &str, name: &str) -> String {
    format!("{address} {name}")
}

/// Create an app password; returns the row and the password, which is shown
/// once and never stored in clear.
pub fn add(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    new: &NewAppPassword,
) -> OpResult<(AppPassword, String)> {
    let (selector, whole) = generate();
    // bcrypt before the write lock, as for mailbox passwords.
    let hash = password::hash_mailbox(&whole, ctx.policy.bcrypt_cost)
        .map_err(|e| OpError::Io(e.to_string()));
    let request = json!({
        "address": new.address,
        "name": new.name,
        "app_password": label(&new.address, &new.name),
        "protocols": new.protocols,
        "lifetime_days": new.lifetime.map(|l| l.num_days()),
    });
    let row = run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::AppPassword,
        request,
        |c, who| {
            let (m, d) = super::mailboxes::find(c, who, &new.address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            let name = check_name(&new.name)?;
            if store::app_passwords::live_by_name(c, m.id, &name)?.is_some() {
                return Err(OpError::duplicate(
                    "name",
                    format!(
                        "{} already has an app password named {name:?}; revoke it first or pick another name",
                        m.username
                    ),
                ));
            }
            let hash = hash?;
            let t = now();
            let expires_at = new.lifetime.map(|l| t + l);
            diesel::insert_into(app_passwords::table)
                .values((
                    app_passwords::mailbox_id.eq(m.id),
                    app_passwords::name.eq(&name),
                    app_passwords::selector.eq(&selector),
                    app_passwords::password_hash.eq(&hash),
                    app_passwords::allow_imap.eq(new.protocols.imap),
                    app_passwords::allow_pop3.eq(new.protocols.pop3),
                    app_passwords::allow_smtp.eq(new.protocols.smtp),
                    app_passwords::allow_sieve.eq(new.protocols.sieve),
                    app_passwords::created_at.eq(t),
                    app_passwords::created_by.eq(who.id),
                    app_passwords::expires_at.eq(expires_at),
                ))
                .execute(c)?;
            let row = store::app_passwords::live_by_name(c, m.id, &name)?
                .ok_or_else(|| OpError::not_found("app password", name.clone()))?;
            let done = Done::new(
                i64::from(row.id),
                json!({
                    "app_password": label(&m.username, &row.name),
                    "address": m.username,
                    "after": row,
                    "protocols": row.protocols(),
                }),
            );
            Ok((row, done))
        },
    )?;
    Ok((row, whole))
}

/// Every app password of a mailbox (revoked ones too), for anyone who may
/// read the mailbox.
pub fn list(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Vec<AppPassword>> {
    let who = Principal::load(conn, ctx)?;
    let (m, _) = super::mailboxes::find(conn, &who, address)?;
    Ok(store::app_passwords::for_mailbox(conn, m.id)?)
}

/// Revoke the mailbox's live app password of this name: from now on the
/// passdb no longer finds it. The row stays, with revoked_at set.
pub fn revoke(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    name: &str,
) -> OpResult<AppPassword> {
    let request = json!({
        "address": address,
        "name": name,
        "app_password": label(address, name),
    });
    run_write(
        conn,
        ctx,
        AuditAction::Revoke,
        AuditType::AppPassword,
        request,
        |c, who| {
            let (m, d) = super::mailboxes::find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            let name = check_name(name)?;
            let before = store::app_passwords::live_by_name(c, m.id, &name)?.ok_or_else(|| {
                OpError::not_found_in("name", "app password", format!("{name} of {}", m.username))
            })?;
            let n = diesel::update(
                app_passwords::table
                    .find(before.id)
                    .filter(app_passwords::version.eq(before.version)),
            )
            .set((
                app_passwords::revoked_at.eq(Some(now())),
                app_passwords::version.eq(before.version + 1),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "app password {name} of {} changed while revoking; try again",
                    m.username
                )));
            }
            let after = store::app_passwords::by_id(c, before.id)?
                .ok_or_else(|| OpError::not_found("app password", name.clone()))?;
            let done = Done::new(
                i64::from(after.id),
                json!({
                    "app_password": label(&m.username, &after.name),
                    "address": m.username,
                    "before": before,
                    "after": after,
                }),
            );
            Ok((after, done))
        },
    )
}

/// The state an app password is in now ("active", "expired", "revoked").
pub fn state(p: &AppPassword) -> &'static str {
    p.state(now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_password_starts_with_its_selector() {
        let (sel, whole) = generate();
        assert_eq!(sel.len(), SELECTOR_LEN);
        assert!(sel.starts_with(PREFIX));
        assert!(whole.starts_with(&format!("{sel}-")));
        assert_eq!(whole.len(), SELECTOR_LEN + 1 + SECRET_LEN);
        assert!(whole.len() <= 72, "bcrypt reads 72 bytes");
        assert_ne!(generate().0, sel);
    }

    #[test]
    fn protocols_and_lifetimes_parse_or_name_the_field() {
        let p = Protocols::parse("protocols", "imap, SMTP").unwrap();
        assert!(p.imap && p.smtp && !p.pop3 && !p.sieve);
        let e = Protocols::parse("protocols", "imap,ftp").unwrap_err();
        assert!(e.to_string().starts_with("protocols:"), "{e}");
        assert!(Protocols::parse("protocols", " , ").is_err());
    }
}
