//! Mailboxes: create, edit, set password, suspend/activate, delete.
//! Passwords are hashed before the transaction opens, so a 250 ms bcrypt
//! never holds the database's write lock.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{check_version, domains::lock, now, run_write, Ctx, Done, Principal};
use crate::db::models::{Domain, Mailbox};
use crate::db::schema::mailboxes;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm, Status};
use crate::password;
use crate::store::{self, Filter, Page};
use crate::validate::{self, format_size};

#[derive(Debug, Clone, Default)]
pub struct NewMailbox {
    pub address: String,
    pub password: String,
    /// Bytes; None = the configured default (capped at the domain's per-mailbox maximum).
    pub quota: Option<i64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MailboxEdit {
    pub quota: Option<i64>,
    /// Display name; Some("") clears it.
    pub name: Option<String>,
}

/// Protocol switches (None: unchanged); the generated passdb refuses a
/// login to a protocol switched off, whatever the password.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Access {
    pub imap: Option<bool>,
    pub pop3: Option<bool>,
    pub smtp: Option<bool>,
    pub sieve: Option<bool>,
}

impl Access {
    /// The protocols a form or a file names, comma separated ("imap,smtp";
    /// "none" switches every one off): each switch set, on or off.
    pub fn from_list(field: &str, s: &str) -> OpResult<Access> {
        let t = s.trim().to_ascii_lowercase();
        if t == "none" {
            return Ok(Access {
                imap: Some(false),
                pop3: Some(false),
                smtp: Some(false),
                sieve: Some(false),
            });
        }
        let p = super::app_passwords::Protocols::parse(field, &t).map_err(|_| {
            OpError::invalid(
                field,
                format!(
                    "must list imap, pop3, smtp, sieve separated by commas, or say none (got {:?})",
                    crate::sanitize::for_terminal(s.trim())
                ),
            )
        })?;
        Ok(Access {
            imap: Some(p.imap),
            pop3: Some(p.pop3),
            smtp: Some(p.smtp),
            sieve: Some(p.sieve),
        })
    }

    /// A mailbox's switched-on protocols as `from_list` reads them back.
    pub fn list_of(m: &Mailbox) -> String {
        let on: Vec<&str> = [
            (m.imap_enabled, "imap"),
            (m.pop3_enabled, "pop3"),
            (m.smtp_enabled, "smtp"),
            (m.sieve_enabled, "sieve"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if on.is_empty() {
            "none".into()
        } else {
            on.join(",")
        }
    }
}

/// When a mailbox password stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PasswordExpiry {
    /// At once: the owner needs a new password from an admin.
    Now,
    At(chrono::NaiveDateTime),
    Never,
}

/// Validate and hash a new password outside any transaction; the error (if
/// any) is reported inside the operation, after authorization, so refused
/// attempts are audited like every other refusal.
fn prepare_password(ctx: &Ctx, pw: &str) -> OpResult<String> {
    validate::password("password", pw, ctx.policy.min_password_length)?;
    // The passdb hands a typed password's first characters to SQL when they
    // look like an app password's; a mailbox password must never do so.
    if pw.starts_with(super::app_passwords::PREFIX) {
        return Err(OpError::invalid(
            "password",
            format!(
                "must not begin with {:?}, which marks app passwords",
                super::app_passwords::PREFIX
            ),
        ));
    }
    password::hash_mailbox(pw, ctx.policy.bcrypt_cost).map_err(|e| OpError::Io(e.to_string()))
}

/// The mailbox's domain, which must be a real (not alias) domain.
fn domain_of(c: &mut AnyConnection, dom: &str) -> OpResult<Domain> {
    match store::domains::by_name(c, dom)? {
        Some(d) => Ok(d),
        None if store::alias_domains::by_name(c, dom)?.is_some() => Err(OpError::invalid(
            "address",
            format!("{dom} is an alias domain; create the mailbox in its target domain"),
        )),
        None => Err(OpError::invalid(
            "address",
            format!("domain {dom} does not exist; add it first"),
        )),
    }
}

/// Find a mailbox by any spelling of its address, with its domain; a scoped
/// user is told "not found" for mailboxes outside its domains.
pub(crate) fn find(
    c: &mut AnyConnection,
    who: &Principal,
    address: &str,
) -> OpResult<(Mailbox, Domain)> {
    let (addr, _, _) = validate::lookup_address("address", address)?;
    let m = store::mailboxes::by_address(c, &addr)?
        .ok_or_else(|| OpError::not_found("mailbox", addr.clone()))?;
    if !who.can_read_domain(m.domain_id) {
        return Err(OpError::not_found("mailbox", addr));
    }
    let d = store::domains::by_id(c, m.domain_id)?
        .ok_or_else(|| OpError::not_found("domain", m.domain_id.to_string()))?;
    Ok((m, d))
}

/// The domain's quota rules for a mailbox quota `q`; `except` leaves the
/// mailbox being edited out of the domain's allotment.
pub(crate) fn check_quota(
    c: &mut AnyConnection,
    d: &Domain,
    q: i64,
    except: Option<i32>,
) -> OpResult<()> {
    if q < 0 {
        return Err(OpError::invalid("quota", "must not be negative"));
    }
    if d.max_mailbox_quota > 0 {
        if q == 0 {
            return Err(OpError::invalid(
                "quota",
                format!(
                    "unlimited is not allowed: {} caps mailboxes at {}",
                    d.name,
                    format_size(d.max_mailbox_quota)
                ),
            ));
        }
        if q > d.max_mailbox_quota {
            return Err(OpError::invalid(
                "quota",
                format!(
                    "{} exceeds the per-mailbox maximum of {} for {}",
                    format_size(q),
                    format_size(d.max_mailbox_quota),
                    d.name
                ),
            ));
        }
    }
    if d.quota_limit > 0 {
        if q == 0 {
            return Err(OpError::invalid(
                "quota",
                format!(
                    "unlimited is not allowed: {} has a total quota of {}",
                    d.name,
                    format_size(d.quota_limit)
                ),
            ));
        }
        let allotted = store::domains::allotted(c, d.id, except)?;
        if allotted.saturating_add(q) > d.quota_limit {
            return Err(OpError::invalid(
                "quota",
                format!(
                    "{} would bring {} to {} allotted, over its total quota of {} ({} free); pass a smaller quota or raise the domain's",
                    format_size(q),
                    d.name,
                    format_size(allotted.saturating_add(q)),
                    format_size(d.quota_limit),
                    free_bytes(d.quota_limit - allotted)
                ),
            ));
        }
    }
    Ok(())
}

pub fn create(conn: &mut AnyConnection, ctx: &Ctx, new: &NewMailbox) -> OpResult<Mailbox> {
    let hash = prepare_password(ctx, &new.password);
    let request = json!({ "address": new.address, "quota": new.quota, "name": new.name });
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::Mailbox,
        request,
        |c, who| {
            let (addr, local, dom) = validate::mailbox_address("address", &new.address)?;
            let d = domain_of(c, &dom)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            let hash = hash?;
            let name = match &new.name {
                Some(n) => validate::description("name", n)?,
                None => None,
            };
            lock(c, d.id)?;
            if store::mailboxes::by_address(c, &addr)?.is_some() {
                return Err(OpError::duplicate(
                    "address",
                    format!("mailbox {addr} already exists"),
                ));
            }
            super::deleted::refuse_held(c, &addr)?;
            if d.max_mailboxes > 0
                && store::domains::mailbox_count(c, d.id)? >= i64::from(d.max_mailboxes)
            {
                return Err(OpError::invalid(
                    "address",
                    format!(
                        "domain {} already has its maximum of {} mailboxes",
                        d.name, d.max_mailboxes
                    ),
                ));
            }
            let quota = match new.quota {
                Some(q) => q,
                None if d.max_mailbox_quota > 0 && ctx.policy.default_mailbox_quota == 0 => {
                    d.max_mailbox_quota
                }
                None if d.max_mailbox_quota > 0 => {
                    ctx.policy.default_mailbox_quota.min(d.max_mailbox_quota)
                }
                None => ctx.policy.default_mailbox_quota,
            };
            check_quota(c, &d, quota, None)?;
            let t = now();
            diesel::insert_into(mailboxes::table)
                .values((
                    mailboxes::username.eq(&addr),
                    mailboxes::domain_id.eq(d.id),
                    mailboxes::password_hash.eq(&hash),
                    mailboxes::quota_limit.eq(quota),
                    mailboxes::quota_used.eq(0i64),
                    mailboxes::status.eq("active"),
                    mailboxes::created_at.eq(t),
                    mailboxes::updated_at.eq(t),
                    mailboxes::created_by.eq(who.id),
                    mailboxes::local_part.eq(&local),
                    mailboxes::name.eq(&name),
                    mailboxes::password_expires_at.eq(expiry_from(&d, t)),
                ))
                .execute(c)?;
            let m = store::mailboxes::by_address(c, &addr)?
                .ok_or_else(|| OpError::not_found("mailbox", addr.clone()))?;
            let done = Done::new(i64::from(m.id), json!({ "after": m, "password": "set" }));
            Ok((m, done))
        },
    )
}

pub fn edit(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    expected_version: Option<i32>,
    e: &MailboxEdit,
) -> OpResult<Mailbox> {
    edit_with_access(conn, ctx, address, expected_version, e, &Access::default())
}

/// `edit` that also sets protocol switches, in the same transaction.
pub fn edit_with_access(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    expected_version: Option<i32>,
    e: &MailboxEdit,
    access: &Access,
) -> OpResult<Mailbox> {
    let request =
        json!({ "address": address, "edit": e, "access": access, "version": expected_version });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::Mailbox,
        request,
        |c, who| {
            let (before, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            check_version(
                "mailbox",
                &before.username,
                expected_version,
                before.version,
            )?;
            lock(c, d.id)?;
            let mut after = before.clone();
            if let Some(n) = &e.name {
                after.name = validate::description("name", n)?;
            }
            if let Some(q) = e.quota {
                check_quota(c, &d, q, Some(before.id))?;
                after.quota_limit = q;
            }
            after.imap_enabled = access.imap.unwrap_or(after.imap_enabled);
            after.pop3_enabled = access.pop3.unwrap_or(after.pop3_enabled);
            after.smtp_enabled = access.smtp.unwrap_or(after.smtp_enabled);
            after.sieve_enabled = access.sieve.unwrap_or(after.sieve_enabled);
            let n = diesel::update(
                mailboxes::table
                    .find(before.id)
                    .filter(mailboxes::version.eq(before.version)),
            )
            .set((
                mailboxes::name.eq(&after.name),
                mailboxes::quota_limit.eq(after.quota_limit),
                mailboxes::imap_enabled.eq(after.imap_enabled),
                mailboxes::pop3_enabled.eq(after.pop3_enabled),
                mailboxes::smtp_enabled.eq(after.smtp_enabled),
                mailboxes::sieve_enabled.eq(after.sieve_enabled),
                mailboxes::updated_at.eq(now()),
                mailboxes::version.eq(before.version + 1),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "mailbox {} changed while saving; reload and try again",
                    before.username
                )));
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

fn reload(c: &mut AnyConnection, id: i32) -> OpResult<Mailbox> {
    mailboxes::table
        .find(id)
        .select(Mailbox::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| OpError::not_found("mailbox", id.to_string()))
}

pub fn set_password(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    pw: &str,
) -> OpResult<Mailbox> {
    let hash = prepare_password(ctx, pw);
    let request = json!({ "address": address, "password": "[redacted]" });
    run_write(
        conn,
        ctx,
        AuditAction::SetPassword,
        AuditType::Mailbox,
        request,
        |c, who| {
            let (before, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            let hash = hash?;
            let t = now();
            diesel::update(mailboxes::table.find(before.id))
                .set((
                    mailboxes::password_hash.eq(&hash),
                    mailboxes::password_expires_at.eq(expiry_from(&d, t)),
                    mailboxes::updated_at.eq(t),
                    mailboxes::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "address": after.username, "password": "changed", "password_expires_at": after.password_expires_at }),
            );
            Ok((after, done))
        },
    )
}

/// A new password's expiry under its domain's `password_max_age_days`.
fn expiry_from(d: &Domain, t: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
    d.password_max_age_days
        .map(|days| t + chrono::TimeDelta::days(i64::from(days)))
}

/// Set when the mailbox password stops working (`Now` forces the owner to
/// get a new one; a password change sets it again from the domain's
/// maximum age). App passwords keep their own expiry.
pub fn set_password_expiry(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    expiry: PasswordExpiry,
) -> OpResult<Mailbox> {
    let request = json!({ "address": address, "password_expires": expiry });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::Mailbox,
        request,
        |c, who| {
            let (before, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            let t = now();
            let at = match expiry {
                PasswordExpiry::Now => Some(t),
                PasswordExpiry::Never => None,
                PasswordExpiry::At(at) if at <= t => {
                    return Err(OpError::invalid(
                        "password_expires_at",
                        "must be in the future (use \"now\" to expire the password at once)",
                    ))
                }
                PasswordExpiry::At(at) => Some(at),
            };
            diesel::update(mailboxes::table.find(before.id))
                .set((
                    mailboxes::password_expires_at.eq(at),
                    mailboxes::updated_at.eq(t),
                    mailboxes::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({
                    "address": after.username,
                    "before": { "password_expires_at": before.password_expires_at },
                    "after": { "password_expires_at": after.password_expires_at },
                }),
            );
            Ok((after, done))
        },
    )
}

pub fn set_status(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    status: Status,
) -> OpResult<Mailbox> {
    let request = json!({ "address": address, "status": status.as_str() });
    run_write(
        conn,
        ctx,
        status.action(),
        AuditType::Mailbox,
        request,
        |c, who| {
            let (before, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            // A pending rename keeps the mailbox suspended until its home
            // has moved; activating it now would deliver into a new home.
            if let Some(p) = store::mailbox_renames::for_mailbox(c, before.id)? {
                return Err(OpError::Conflict(format!(
                    "{} is being renamed from {}; run `mailbox rename --resume` first",
                    before.username, p.old_username
                )));
            }
            diesel::update(mailboxes::table.find(before.id))
                .set((
                    mailboxes::status.eq(status.as_str()),
                    mailboxes::updated_at.eq(now()),
                    mailboxes::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = reload(c, before.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "address": after.username, "before": { "status": before.status }, "after": { "status": after.status } }),
            );
            Ok((after, done))
        },
    )
}

/// What a delete does with the mailbox's mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeleteMode {
    /// Hold it for `lifecycle.hold_days`: restorable until purged.
    Hold,
    /// Purge at once (admins): the maildir through the purge command.
    Now,
}

/// What a delete did.
#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub mailbox: Mailbox,
    pub mode: DeleteMode,
    /// When `purge --due` removes its mail (Hold).
    pub purge_after: chrono::NaiveDateTime,
    /// The maildir removed (Now).
    pub purged: Option<super::deleted::Purged>,
}

/// Delete a mailbox: it goes on hold (issue 20), so Postfix and Dovecot
/// stop seeing it at once and `restore` can still bring it back.
pub fn delete(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Mailbox> {
    Ok(delete_with(conn, ctx, address, DeleteMode::Hold)?.mailbox)
}

/// `delete` choosing the mode. `Now` holds the mailbox due at once in one
/// transaction and then purges it, so a failing purge command leaves a due
/// hold that `purge --due` retries, never a maildir without a row.
pub fn delete_with(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    address: &str,
    mode: DeleteMode,
) -> OpResult<Deleted> {
    let request = json!({ "address": address, "mode": mode });
    let (mailbox, held) = run_write(
        conn,
        ctx,
        AuditAction::Delete,
        AuditType::Mailbox,
        request,
        |c, who| {
            let (m, d) = find(c, who, address)?;
            who.require_domain(&d, Perm::Mailboxes)?;
            if mode == DeleteMode::Now {
                who.require_admin("deleting a mailbox without the hold (--now)")?;
            }
            let held = super::deleted::hold_one(
                c,
                who,
                &m,
                &d,
                &ctx.policy.lifecycle,
                mode == DeleteMode::Now,
            )?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "before": m, "mode": mode, "purge_after": held.purge_after, "aliases": held.aliases }),
            );
            Ok(((m, held), done))
        },
    )?;
    let purged = match mode {
        DeleteMode::Hold => None,
        DeleteMode::Now => Some(
            super::deleted::purge(conn, ctx, &mailbox.username).map_err(|e| {
                OpError::Io(format!(
                    "mailbox {} is deleted (held, due now) but its purge failed: {e}; `mailbox purge --due` retries",
                    mailbox.username
                ))
            })?,
        ),
    };
    Ok(Deleted {
        mailbox,
        mode,
        purge_after: held.purge_after,
        purged,
    })
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Mailbox> {
    let who = Principal::load(conn, ctx)?;
    Ok(find(conn, &who, address)?.0)
}

/// May a mailbox export carry password hashes? Only when asked
/// (`with_hashes`) and only for an admin: a hash is an offline guessing
/// target, and readonly or scoped users never need one. Asking without the
/// role is refused (and audited) rather than quietly exporting without
/// them, so a script that expects hashes fails loudly. An admin's export
/// with hashes leaves an audit row naming the domain filter.
pub fn export_hashes(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    with_hashes: bool,
    domain: Option<&str>,
) -> OpResult<bool> {
    if !with_hashes {
        return Ok(false);
    }
    let request = json!({ "with_hashes": true, "domain": domain });
    run_write(
        conn,
        ctx,
        AuditAction::ExportHashes,
        AuditType::Mailbox,
        request.clone(),
        |_, who| {
            who.require_admin("exporting password hashes (--with-hashes)")?;
            Ok((true, Done::new(None, request)))
        },
    )
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    page: &Page,
) -> OpResult<Vec<Mailbox>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    Ok(store::mailboxes::list(
        conn,
        scope.as_deref(),
        filter,
        page,
    )?)
}

fn free_bytes(free: i64) -> String {
    if free <= 0 {
        "0 bytes".to_string()
    } else {
        format_size(free)
    }
}
