//! The deletion hold (issue 20): a deleted mailbox leaves `mailboxes` for
//! `deleted_mailboxes` in the same transaction, so Postfix and Dovecot stop
//! seeing it at once, while its maildir stays on disk for
//! `lifecycle.hold_days`. `restore` puts the row and the aliases that named
//! it back, and its send-as grants (which wait with the hold); `purge` runs
//! the purge command on the maildir and only then deletes the held row, so
//! a failed or interrupted purge leaves a hold that the next `purge --due`
//! retries, never a maildir nobody knows of.

use std::path::PathBuf;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{domains::lock, now, run_write, Ctx, Done, Principal};
use crate::config::Config;
use crate::db::models::{Alias, Domain, Mailbox};
use crate::db::schema::{aliases, deleted_mailboxes, mailboxes};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::store::deleted_mailboxes::DeletedMailbox;
use crate::store::{self, Filter, Page};
use crate::validate;

/// How long a purge command may run: it works outside any transaction, so
/// only a hung command is cut short.
const PURGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// `[lifecycle]` and the mail root, as operations need them.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub hold_days: u32,
    pub purge_command: String,
    pub rename_command: String,
    pub mail_root: String,
    /// `domain add`'s aliases (local parts) and where they lead (empty:
    /// the creating user's email).
    pub default_aliases: Vec<String>,
    pub default_alias_target: String,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Settings {
        Settings {
            hold_days: cfg.lifecycle.hold_days,
            purge_command: cfg.lifecycle.purge_command.clone(),
            rename_command: cfg.lifecycle.rename_command.clone(),
            mail_root: cfg.mail.mail_root.clone(),
            default_aliases: cfg.lifecycle.default_aliases.clone(),
            default_alias_target: cfg.lifecycle.default_alias_target.clone(),
        }
    }

    fn purge_after(&self, t: NaiveDateTime) -> NaiveDateTime {
        t + TimeDelta::days(i64::from(self.hold_days))
    }
}

/// An alias row that named the held mailbox, as it was. `removed`: the
/// hold deleted the row (it led only to the mailbox, or was the mailbox's
/// own address); otherwise only the address was taken out of its goto.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldAlias {
    pub address: String,
    pub goto: String,
    pub description: Option<String>,
    pub status: String,
    pub removed: bool,
}

/// The mail home of an address as the generated Dovecot userdb computes it
/// (`'<mail_root>/' || d.name || '/' || m.local_part`), refusing anything
/// that could point outside the mail root.
pub fn home(mail_root: &str, domain: &str, local_part: &str) -> OpResult<PathBuf> {
    let bad =
        |s: &str| s.is_empty() || s == "." || s == ".." || s.contains('/') || s.contains('\0');
    if bad(domain) || bad(local_part) {
        return Err(OpError::invalid(
            "address",
            format!("{local_part}@{domain} does not map to a mail home under the mail root"),
        ));
    }
    if !mail_root.starts_with('/') {
        return Err(OpError::invalid(
            "mail.mail_root",
            format!("must be an absolute path (got {mail_root:?})"),
        ));
    }
    Ok(PathBuf::from(mail_root.trim_end_matches('/'))
        .join(domain)
        .join(local_part))
}

/// Refuse a new mailbox or alias on an address held for a purge: the
/// maildir is still there and would be the newcomer's.
pub(crate) fn refuse_held(c: &mut AnyConnection, address: &str) -> OpResult<()> {
    if let Some(h) = store::deleted_mailboxes::by_username(c, address)? {
        return Err(OpError::duplicate(
            "address",
            format!(
                "{address} was deleted on {} and is held until {}; restore it (`mailbox restore`), purge it (`mailbox purge {address}`) or pass --force",
                h.deleted_at.format("%Y-%m-%d"),
                h.purge_after.format("%Y-%m-%d")
            ),
        ));
    }
    // A pending rename's old home still holds its mail until the move.
    if let Some(p) = store::mailbox_renames::naming(c, address)? {
        return Err(OpError::duplicate(
            "address",
            format!(
                "{address} is part of the pending rename {} -> {}; run `mailbox rename --resume` first",
                p.old_username, p.new_username
            ),
        ));
    }
    Ok(())
}

/// The aliases whose address is `addr` or whose goto names it.
fn aliases_naming(c: &mut AnyConnection, addr: &str) -> OpResult<Vec<Alias>> {
    let pat = store::like_pattern(addr);
    let rows: Vec<Alias> = aliases::table
        .filter(
            aliases::address
                .eq(addr)
                .or(aliases::goto.like(pat).escape('\\')),
        )
        .select(Alias::as_select())
        .order(aliases::address.asc())
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|a| a.address == addr || goto_list(&a.goto).any(|g| g == addr))
        .collect())
}

fn goto_list(goto: &str) -> impl Iterator<Item = &str> {
    goto.split(',').map(str::trim).filter(|g| !g.is_empty())
}

/// Move one mailbox to the hold: snapshot and detach the aliases naming
/// it, insert the hold row, delete the mailbox (its app passwords and
/// quota samples go with it). Runs inside the caller's write.
pub(crate) fn hold(
    c: &mut AnyConnection,
    who: &Principal,
    m: &Mailbox,
    domain: &str,
    purge_after: NaiveDateTime,
) -> OpResult<DeletedMailbox> {
    if store::deleted_mailboxes::by_username(c, &m.username)?.is_some() {
        return Err(OpError::Conflict(format!(
            "an earlier deletion of {} is still held; purge it first (`mailbox purge {}`)",
            m.username, m.username
        )));
    }
    // Its home may still be at the old name's path: a hold would purge
    // the wrong one.
    if let Some(p) = store::mailbox_renames::for_mailbox(c, m.id)? {
        return Err(OpError::Conflict(format!(
            "{} is being renamed from {}; run `mailbox rename --resume` first",
            m.username, p.old_username
        )));
    }
    let t = now();
    let mut held = Vec::new();
    for a in aliases_naming(c, &m.username)? {
        let rest: Vec<&str> = goto_list(&a.goto).filter(|g| *g != m.username).collect();
        let removed = a.address == m.username || rest.is_empty();
        if removed {
            diesel::delete(aliases::table.find(a.id)).execute(c)?;
        } else {
            diesel::update(aliases::table.find(a.id))
                .set((
                    aliases::goto.eq(rest.join(",")),
                    aliases::updated_at.eq(t),
                    aliases::version.eq(a.version + 1),
                ))
                .execute(c)?;
        }
        held.push(HeldAlias {
            address: a.address,
            goto: a.goto,
            description: a.description,
            status: a.status,
            removed,
        });
    }
    let aliases_json = serde_json::to_string(&held).map_err(|e| OpError::Io(e.to_string()))?;
    diesel::insert_into(deleted_mailboxes::table)
        .values((
            deleted_mailboxes::username.eq(&m.username),
            deleted_mailboxes::domain.eq(domain),
            deleted_mailboxes::domain_id.eq(m.domain_id),
            deleted_mailboxes::local_part.eq(&m.local_part),
            deleted_mailboxes::mailbox_id.eq(m.id),
            deleted_mailboxes::password_hash.eq(&m.password_hash),
            deleted_mailboxes::quota_limit.eq(m.quota_limit),
            deleted_mailboxes::quota_used.eq(m.quota_used),
            deleted_mailboxes::status.eq(&m.status),
            deleted_mailboxes::name.eq(&m.name),
            deleted_mailboxes::imap_enabled.eq(m.imap_enabled),
            deleted_mailboxes::pop3_enabled.eq(m.pop3_enabled),
            deleted_mailboxes::smtp_enabled.eq(m.smtp_enabled),
            deleted_mailboxes::sieve_enabled.eq(m.sieve_enabled),
            deleted_mailboxes::password_expires_at.eq(m.password_expires_at),
            deleted_mailboxes::created_at.eq(m.created_at),
            deleted_mailboxes::created_by.eq(m.created_by),
            deleted_mailboxes::aliases.eq(&aliases_json),
            deleted_mailboxes::deleted_at.eq(t),
            deleted_mailboxes::deleted_by.eq(who.id),
            deleted_mailboxes::purge_after.eq(purge_after),
        ))
        .execute(c)?;
    let h = store::deleted_mailboxes::by_username(c, &m.username)?
        .ok_or_else(|| OpError::not_found("deleted mailbox", m.username.clone()))?;
    super::sender_grants::hold(c, m.id, h.id)?;
    diesel::delete(mailboxes::table.find(m.id)).execute(c)?;
    Ok(h)
}

/// Hold every mailbox of `ids` (a bulk delete, a domain's cascade);
/// returns how many were held.
pub(crate) fn hold_many(
    c: &mut AnyConnection,
    who: &Principal,
    ids: &[i32],
    s: &Settings,
) -> OpResult<usize> {
    let rows: Vec<(Mailbox, String)> = mailboxes::table
        .inner_join(crate::db::schema::domains::table)
        .filter(mailboxes::id.eq_any(ids))
        .select((Mailbox::as_select(), crate::db::schema::domains::name))
        .load(c)?;
    let until = s.purge_after(now());
    for (m, d) in &rows {
        hold(c, who, m, d, until)?;
    }
    Ok(rows.len())
}

/// Hold the mailbox `m` of `d` for the configured period (`mailboxes::delete`).
pub(crate) fn hold_one(
    c: &mut AnyConnection,
    who: &Principal,
    m: &Mailbox,
    d: &Domain,
    s: &Settings,
    skip_hold: bool,
) -> OpResult<DeletedMailbox> {
    let t = now();
    hold(
        c,
        who,
        m,
        &d.name,
        if skip_hold { t } else { s.purge_after(t) },
    )
}

/// A hold by any spelling of its address, if the caller may see it: a
/// scoped user sees the holds of its domains; one whose domain was
/// deleted is the admins' alone.
fn find(c: &mut AnyConnection, who: &Principal, address: &str) -> OpResult<DeletedMailbox> {
    let (addr, _, _) = validate::lookup_address("address", address)?;
    let h = store::deleted_mailboxes::by_username(c, &addr)?
        .ok_or_else(|| OpError::not_found("deleted mailbox", addr.clone()))?;
    let visible = match h.domain_id {
        Some(id) => who.can_read_domain(id),
        None => who.is_admin(),
    };
    if !visible {
        return Err(OpError::not_found("deleted mailbox", addr));
    }
    Ok(h)
}

/// Who may restore or purge a hold: the mailboxes permission on its
/// domain, or an admin when the domain is gone.
fn authorize(c: &mut AnyConnection, who: &Principal, h: &DeletedMailbox) -> OpResult<()> {
    match h.domain_id {
        Some(id) => {
            let d = store::domains::by_id(c, id)?
                .ok_or_else(|| OpError::not_found("domain", h.domain.clone()))?;
            who.require_domain(&d, Perm::Mailboxes)
        }
        None => who.require_admin("restoring or purging a mailbox whose domain was deleted"),
    }
}

/// One hold as listed: the row and the days left before its purge.
#[derive(Debug, Clone, Serialize)]
pub struct HoldView {
    #[serde(flatten)]
    pub row: DeletedMailbox,
    /// Whole days until `purge_after` (0: due).
    pub days_left: i64,
    /// How many alias rows a restore would put back or re-point.
    pub alias_count: usize,
}

impl HoldView {
    pub fn new(row: DeletedMailbox, t: NaiveDateTime) -> HoldView {
        let secs = (row.purge_after - t).num_seconds().max(0);
        let days_left = (secs + 86_399) / 86_400;
        let alias_count = serde_json::from_str::<Vec<HeldAlias>>(&row.aliases)
            .map(|v| v.len())
            .unwrap_or(0);
        HoldView {
            row,
            days_left,
            alias_count,
        }
    }
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    page: &Page,
) -> OpResult<Vec<HoldView>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    let t = now();
    Ok(
        store::deleted_mailboxes::list(conn, scope.as_deref(), filter, page)?
            .into_iter()
            .map(|r| HoldView::new(r, t))
            .collect(),
    )
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<HoldView> {
    let who = Principal::load(conn, ctx)?;
    Ok(HoldView::new(find(conn, &who, address)?, now()))
}

/// What a restore put back.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub mailbox: Mailbox,
    /// Alias rows re-created or re-pointed at the mailbox.
    pub aliases: Vec<String>,
    /// Alias rows left alone: their address is now taken by something
    /// else, or their domain is gone.
    pub skipped: Vec<String>,
}

/// Bring a held mailbox back as it was (a new id), with the aliases that
/// named it, inside its domain's limits.
pub fn restore(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Restored> {
    let request = json!({ "address": address });
    run_write(
        conn,
        ctx,
        AuditAction::Restore,
        AuditType::Mailbox,
        request,
        |c, who| {
            let h = find(c, who, address)?;
            authorize(c, who, &h)?;
            let d = store::domains::by_name(c, &h.domain)?.ok_or_else(|| {
                OpError::invalid(
                    "address",
                    format!(
                        "domain {} no longer exists; add it again, then restore {}",
                        h.domain, h.username
                    ),
                )
            })?;
            who.require_domain(&d, Perm::Mailboxes)?;
            lock(c, d.id)?;
            if store::mailboxes::by_address(c, &h.username)?.is_some()
                || store::aliases::by_address(c, &h.username)?.is_some()
            {
                return Err(OpError::duplicate(
                    "address",
                    format!(
                        "{} is in use again; delete that mailbox or alias first, or purge the hold",
                        h.username
                    ),
                ));
            }
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
            super::mailboxes::check_quota(c, &d, h.quota_limit, None)?;
            let t = now();
            diesel::insert_into(mailboxes::table)
                .values((
                    mailboxes::username.eq(&h.username),
                    mailboxes::domain_id.eq(d.id),
                    mailboxes::password_hash.eq(&h.password_hash),
                    mailboxes::quota_limit.eq(h.quota_limit),
                    mailboxes::quota_used.eq(h.quota_used),
                    mailboxes::status.eq(&h.status),
                    mailboxes::created_at.eq(h.created_at),
                    mailboxes::updated_at.eq(t),
                    mailboxes::created_by.eq(h.created_by),
                    mailboxes::local_part.eq(&h.local_part),
                    mailboxes::name.eq(&h.name),
                    mailboxes::imap_enabled.eq(h.imap_enabled),
                    mailboxes::pop3_enabled.eq(h.pop3_enabled),
                    mailboxes::smtp_enabled.eq(h.smtp_enabled),
                    mailboxes::sieve_enabled.eq(h.sieve_enabled),
                    mailboxes::password_expires_at.eq(h.password_expires_at),
                ))
                .execute(c)?;
            let (restored, skipped) = restore_aliases(c, who, &h, t)?;
            let m = store::mailboxes::by_address(c, &h.username)?
                .ok_or_else(|| OpError::not_found("mailbox", h.username.clone()))?;
            // Before the hold row goes: its delete would cascade them.
            let grants = super::sender_grants::restore(c, h.id, m.id)?;
            super::vacation::clear_restored(ctx, &m, &d)?;
            diesel::delete(deleted_mailboxes::table.find(h.id)).execute(c)?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "address": m.username, "held_since": h.deleted_at, "previous_id": h.mailbox_id, "aliases": restored, "skipped": skipped, "sender_grants": grants }),
            );
            Ok((
                Restored {
                    mailbox: m,
                    aliases: restored,
                    skipped,
                },
                done,
            ))
        },
    )
}

/// Put back the aliases a hold took: a removed row is re-created if its
/// address is free; a re-pointed one gets the address back in its goto.
fn restore_aliases(
    c: &mut AnyConnection,
    who: &Principal,
    h: &DeletedMailbox,
    t: NaiveDateTime,
) -> OpResult<(Vec<String>, Vec<String>)> {
    let held: Vec<HeldAlias> = serde_json::from_str(&h.aliases)
        .map_err(|e| OpError::Io(format!("the hold of {}: aliases: {e}", h.username)))?;
    let (mut done, mut skipped) = (Vec::new(), Vec::new());
    for a in held {
        let dom = a
            .address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default();
        let Some(d) = store::domains::by_name(c, dom)? else {
            skipped.push(a.address);
            continue;
        };
        let current = store::aliases::by_address(c, &a.address)?;
        let free =
            a.address == h.username || store::mailboxes::by_address(c, &a.address)?.is_none();
        match (a.removed, current) {
            // A removed row comes back as it was; a re-pointed one that
            // has since gone (its other destinations deleted too) comes
            // back pointing at this mailbox alone.
            (_, None) if free => {
                let goto = if a.removed {
                    a.goto.clone()
                } else {
                    h.username.clone()
                };
                diesel::insert_into(aliases::table)
                    .values((
                        aliases::address.eq(&a.address),
                        aliases::goto.eq(&goto),
                        aliases::domain_id.eq(d.id),
                        aliases::status.eq(&a.status),
                        aliases::description.eq(&a.description),
                        aliases::created_at.eq(t),
                        aliases::updated_at.eq(t),
                        aliases::created_by.eq(who.id),
                    ))
                    .execute(c)?;
                done.push(a.address);
            }
            (false, Some(cur)) => {
                if !goto_list(&cur.goto).any(|g| g == h.username) {
                    let goto = format!("{},{}", cur.goto, h.username);
                    diesel::update(aliases::table.find(cur.id))
                        .set((
                            aliases::goto.eq(goto),
                            aliases::updated_at.eq(t),
                            aliases::version.eq(cur.version + 1),
                        ))
                        .execute(c)?;
                }
                done.push(a.address);
            }
            _ => skipped.push(a.address),
        }
    }
    Ok((done, skipped))
}

/// What a purge removed.
#[derive(Debug, Clone, Serialize)]
pub struct Purged {
    pub address: String,
    pub home: String,
}

/// Purge one hold now, due or not: the maildir through the purge command,
/// then the row. The command runs outside any transaction (a large
/// maildir must not hold the write lock); the row is deleted only if the
/// command succeeded and the hold is still the one it ran for.
pub fn purge(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Purged> {
    let h = {
        let who = Principal::load(conn, ctx)?;
        let h = find(conn, &who, address)?;
        authorize(conn, &who, &h)?;
        h
    };
    purge_hold(conn, ctx, h)
}

fn purge_hold(conn: &mut AnyConnection, ctx: &Ctx, h: DeletedMailbox) -> OpResult<Purged> {
    let s = &ctx.policy.lifecycle;
    let request = json!({ "address": h.username });
    let home = home(&s.mail_root, &h.domain, &h.local_part)?;
    let home_s = home.display().to_string();
    let reused = store::mailboxes::by_address(conn, &h.username)?.is_some();
    let ran = if reused {
        // Refused below, before anything is removed.
        Ok(())
    } else {
        crate::mail::configs::run_hook_within(
            "the purge command (lifecycle.purge_command)",
            &s.purge_command,
            &[
                ("PM_HOME", home.as_path()),
                ("PM_ADDRESS", std::path::Path::new(&h.username)),
            ],
            PURGE_TIMEOUT,
        )
    };
    run_write(
        conn,
        ctx,
        AuditAction::Purge,
        AuditType::Mailbox,
        request,
        |c, who| {
            authorize(c, who, &h)?;
            if reused {
                return Err(OpError::Conflict(format!(
                    "{} is a live mailbox again, and {home_s} is its mail now; nothing was removed",
                    h.username
                )));
            }
            if let Err(e) = &ran {
                // Refused and audited; the hold stays for the next run.
                return Err(OpError::Conflict(format!(
                    "{}: {e}; the hold stays and the next purge retries",
                    h.username
                )));
            }
            let n = diesel::delete(
                deleted_mailboxes::table
                    .find(h.id)
                    .filter(deleted_mailboxes::username.eq(&h.username)),
            )
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "the hold of {} changed while its maildir was being removed (restored?); check {home_s}",
                    h.username
                )));
            }
            let done = Done::new(
                i64::from(h.mailbox_id),
                json!({ "address": h.username, "home": home_s, "held_since": h.deleted_at, "purge_after": h.purge_after }),
            );
            Ok((
                Purged {
                    address: h.username.clone(),
                    home: home_s.clone(),
                },
                done,
            ))
        },
    )
}

/// What `purge --due` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PurgeReport {
    pub purged: Vec<Purged>,
    /// (address, why): each left on hold for the next run.
    pub failed: Vec<(String, String)>,
}

/// Purge every hold whose period is over, `batch` at a time, until none
/// is left or every remaining one failed this run. One failure does not
/// stop the rest.
pub fn purge_due(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<PurgeReport> {
    const BATCH: i64 = 500;
    let mut report = PurgeReport::default();
    loop {
        let who = Principal::load(conn, ctx)?;
        let scope = who.domain_scope();
        let failed = i64::try_from(report.failed.len()).unwrap_or(i64::MAX);
        let rows = store::deleted_mailboxes::due(
            conn,
            scope.as_deref(),
            now(),
            BATCH.saturating_add(failed),
        )?;
        let todo: Vec<DeletedMailbox> = rows
            .into_iter()
            .filter(|r| !report.failed.iter().any(|(a, _)| a == &r.username))
            .collect();
        if todo.is_empty() {
            break;
        }
        for h in todo {
            let addr = h.username.clone();
            if let Err(e) = authorize(conn, &who, &h) {
                report.failed.push((addr, e.to_string()));
                continue;
            }
            match purge_hold(conn, ctx, h) {
                Ok(p) => report.purged.push(p),
                Err(e) => report.failed.push((addr, e.to_string())),
            }
        }
    }
    Ok(report)
}
