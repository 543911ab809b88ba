//! Rename or move a mailbox (issue 20), also to another domain.
//!
//! The order, and why it never leaves a half state:
//! 1. One transaction gives the mailbox its new name (username, local part,
//!    domain: the Dovecot home follows, since the generated userdb computes
//!    it from them), re-points every alias goto and every other row that
//!    names the address as text, optionally adds the alias OLD -> NEW, and
//!    writes a `mailbox_renames` journal row. While that row exists the
//!    mailbox is suspended (so Dovecot neither logs it in nor delivers into
//!    a home that is not there yet) and recipient_access answers 450 for
//!    both names (senders retry).
//! 2. `lifecycle.rename_command` moves the home, outside any transaction.
//! 3. A second transaction restores the status and deletes the journal row;
//!    if the command failed and the old home is still where it was, a
//!    compensating transaction puts the old names back instead.
//!
//! A crash between 1 and 3 leaves the journal row; `resume` (run by
//! `mailbox rename --resume` and before every rename) decides by what is
//! on disk: the new home alone -> finish; otherwise run the move again;
//! both homes -> leave it pending for a person to look at.
//!
//! Rows that name the address by id (app passwords, quota history, send
//! limits and suspensions, send-as grants it holds) follow by themselves.
//! Rows that name it as text and are rewritten: alias goto lists, the
//! policy service's send counters, send-as grants of the address, the
//! alias snapshots of deleted-mailbox holds. The audit log is history
//! and keeps the old name; admin users' emails belong to the admins.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::deleted::{home, HeldAlias};
use super::{domains::lock, now, run_write, Ctx, Done, Principal};
use crate::db::models::{Domain, Mailbox};
use crate::db::schema::{
    aliases, deleted_mailboxes, mailbox_renames, mailboxes, send_counters, sender_grants,
};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::store::{self, mailbox_renames::MailboxRename};
use crate::validate;

/// How long a move may run before it is stopped (and judged by the disk).
const MOVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

/// What a rename did.
#[derive(Debug, Clone, Serialize)]
pub struct Renamed {
    pub mailbox: Mailbox,
    pub old_address: String,
    pub new_address: String,
    pub old_home: String,
    pub new_home: String,
    pub kept_alias: bool,
    /// Alias rows whose goto named the old address, now the new one.
    pub aliases: usize,
    /// Pending renames this run finished or rolled back first.
    pub resumed: Vec<Resumed>,
}

/// What `resume` did with one pending rename.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Resumed {
    pub old_address: String,
    pub new_address: String,
    /// "finished", "rolled back" or "pending" (left for a person).
    pub outcome: String,
    pub detail: String,
}

/// Rename `old` to `new` (see the module comment for the order).
pub fn rename(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    old: &str,
    new: &str,
    keep_alias: bool,
) -> OpResult<Renamed> {
    let resumed = resume(conn, ctx)?;
    let (j, n) = begin(conn, ctx, old, new, keep_alias)?;
    let outcome = carry_out(conn, ctx, &j)?;
    if outcome.outcome != "finished" {
        return Err(OpError::Io(format!(
            "renaming {} to {}: {}",
            j.old_username, j.new_username, outcome.detail
        )));
    }
    let m = store::mailboxes::by_address(conn, &j.new_username)?
        .ok_or_else(|| OpError::not_found("mailbox", j.new_username.clone()))?;
    Ok(Renamed {
        mailbox: m,
        old_address: j.old_username,
        new_address: j.new_username,
        old_home: j.old_home,
        new_home: j.new_home,
        kept_alias: j.keep_alias,
        aliases: n,
        resumed,
    })
}

/// Finish or roll back every pending rename the caller may act on.
pub fn resume(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Vec<Resumed>> {
    let who = Principal::load(conn, ctx)?;
    let mut out = Vec::new();
    for j in store::mailbox_renames::all(conn)? {
        let Some(m) = mailboxes::table
            .find(j.mailbox_id)
            .select(Mailbox::as_select())
            .first(conn)
            .optional()?
        else {
            continue;
        };
        if !(who.can_read_domain(m.domain_id) && who.can_read_domain(j.old_domain_id)) {
            continue;
        }
        out.push(carry_out(conn, ctx, &j)?);
    }
    Ok(out)
}

/// The pending renames, for `mailbox rename --resume` to show.
pub fn pending(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Vec<MailboxRename>> {
    let who = Principal::load(conn, ctx)?;
    Ok(store::mailbox_renames::all(conn)?
        .into_iter()
        .filter(|j| who.is_admin() || who.can_read_domain(j.old_domain_id))
        .collect())
}

/// Where the home is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disk {
    /// Only the new home: the move happened.
    Moved,
    /// Both: a move that copies was cut short, or something else made one.
    Both,
    /// The old home only, or neither (a mailbox that never got mail).
    NotMoved,
}

fn on_disk(j: &MailboxRename) -> Disk {
    let (old, new) = (
        Path::new(&j.old_home).exists(),
        Path::new(&j.new_home).exists(),
    );
    match (old, new) {
        (false, true) => Disk::Moved,
        (true, true) => Disk::Both,
        _ => Disk::NotMoved,
    }
}

/// Steps 2 and 3 for a journal row, decided by the disk.
fn carry_out(conn: &mut AnyConnection, ctx: &Ctx, j: &MailboxRename) -> OpResult<Resumed> {
    let both = |j: &MailboxRename| {
        format!(
            "both {} and {} exist; keep the one with the mail, remove the other, then run `mailbox rename --resume`",
            j.old_home, j.new_home
        )
    };
    let outcome = |what: &str, detail: String| Resumed {
        old_address: j.old_username.clone(),
        new_address: j.new_username.clone(),
        outcome: what.to_string(),
        detail,
    };
    match on_disk(j) {
        Disk::Moved => {
            finish(conn, ctx, j, "the home was already moved")?;
            return Ok(outcome("finished", format!("{} is in place", j.new_home)));
        }
        Disk::Both => return Ok(outcome("pending", both(j))),
        Disk::NotMoved => {}
    }
    let s = &ctx.policy.lifecycle;
    let ran = crate::mail::configs::run_hook_within(
        "the rename command (lifecycle.rename_command)",
        &s.rename_command,
        &[
            ("PM_OLD_HOME", Path::new(&j.old_home)),
            ("PM_NEW_HOME", Path::new(&j.new_home)),
            ("PM_OLD_ADDRESS", Path::new(&j.old_username)),
            ("PM_NEW_ADDRESS", Path::new(&j.new_username)),
        ],
        MOVE_TIMEOUT,
    );
    match (ran, on_disk(j)) {
        (Ok(()), Disk::Both) => Ok(outcome("pending", both(j))),
        (Ok(()), _) => {
            finish(conn, ctx, j, "moved")?;
            Ok(outcome("finished", format!("moved to {}", j.new_home)))
        }
        (Err(e), Disk::NotMoved) => {
            rollback(conn, ctx, j, &e)?;
            Ok(outcome(
                "rolled back",
                format!("{e}; rolled back: the mailbox is {} again", j.old_username),
            ))
        }
        (Err(e), _) => Ok(outcome(
            "pending",
            format!(
                "{e}; {} exists now, so the rename stays pending: check it, then run `mailbox rename --resume`",
                j.new_home
            ),
        )),
    }
}

/// A real (not alias) domain for the new address.
fn target_domain(c: &mut AnyConnection, dom: &str) -> OpResult<Domain> {
    match store::domains::by_name(c, dom)? {
        Some(d) => Ok(d),
        None if store::alias_domains::by_name(c, dom)?.is_some() => Err(OpError::invalid(
            "new address",
            format!("{dom} is an alias domain; a mailbox must be in a real domain (its target)"),
        )),
        None => Err(OpError::invalid(
            "new address",
            format!("domain {dom} does not exist; add it first"),
        )),
    }
}

/// Refuse a new address something else has: a mailbox, an alias, a held
/// deleted mailbox (its maildir is still at that home), a pending rename.
fn refuse_taken(c: &mut AnyConnection, addr: &str) -> OpResult<()> {
    let taken = |why: String| Err(OpError::duplicate("new address", why));
    if store::mailboxes::by_address(c, addr)?.is_some() {
        return taken(format!("mailbox {addr} already exists"));
    }
    if store::aliases::by_address(c, addr)?.is_some() {
        return taken(format!(
            "{addr} is an alias; delete the alias first (a mailbox and an alias cannot share an address)"
        ));
    }
    if let Some(h) = store::deleted_mailboxes::by_username(c, addr)? {
        return taken(format!(
            "{addr} is a deleted mailbox held until {} (its mail is still in that home); purge it first (`mailbox purge {addr}`)",
            h.purge_after.format("%Y-%m-%d")
        ));
    }
    if let Some(p) = store::mailbox_renames::naming(c, addr)? {
        return taken(format!(
            "{addr} is part of the pending rename {} -> {}; run `mailbox rename --resume` first",
            p.old_username, p.new_username
        ));
    }
    Ok(())
}

/// The target domain's limits (a move to another domain counts there like
/// a new mailbox) and, with --keep-alias, the old domain's alias limit.
fn check_limits(
    c: &mut AnyConnection,
    m: &Mailbox,
    from: &Domain,
    to: &Domain,
    keep_alias: bool,
) -> OpResult<()> {
    if to.id != from.id {
        if to.max_mailboxes > 0
            && store::domains::mailbox_count(c, to.id)? >= i64::from(to.max_mailboxes)
        {
            return Err(OpError::invalid(
                "new address",
                format!(
                    "domain {} already has its maximum of {} mailboxes",
                    to.name, to.max_mailboxes
                ),
            ));
        }
        super::mailboxes::check_quota(c, to, m.quota_limit, None)?;
    }
    if keep_alias
        && from.max_aliases > 0
        && store::domains::alias_count(c, from.id)? >= i64::from(from.max_aliases)
    {
        return Err(OpError::invalid(
            "keep alias",
            format!(
                "domain {} already has its maximum of {} aliases; rename without --keep-alias or raise the limit",
                from.name, from.max_aliases
            ),
        ));
    }
    Ok(())
}

/// Step 1: the new names, the optional alias and the journal row, in one
/// transaction.
fn begin(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    old: &str,
    new: &str,
    keep_alias: bool,
) -> OpResult<(MailboxRename, usize)> {
    let request = json!({ "address": old, "new_address": new, "keep_alias": keep_alias });
    let s = ctx.policy.lifecycle.clone();
    run_write(
        conn,
        ctx,
        AuditAction::Rename,
        AuditType::Mailbox,
        request,
        |c, who| {
            let (m, from) = super::mailboxes::find(c, who, old)?;
            who.require_domain(&from, Perm::Mailboxes)?;
            let (addr, local, dom) = validate::mailbox_address("new address", new)?;
            if addr == m.username {
                return Err(OpError::invalid(
                    "new address",
                    format!("is the mailbox's current address ({addr})"),
                ));
            }
            let to = target_domain(c, &dom)?;
            who.require_domain(&to, Perm::Mailboxes)?;
            if keep_alias {
                who.require_domain(&from, Perm::Aliases)?;
            }
            // Both domains, in id order, so two renames cannot deadlock.
            lock(c, from.id.min(to.id))?;
            lock(c, from.id.max(to.id))?;
            if let Some(p) = store::mailbox_renames::for_mailbox(c, m.id)? {
                return Err(OpError::Conflict(format!(
                    "{} is being renamed to {}; run `mailbox rename --resume` first",
                    p.old_username, p.new_username
                )));
            }
            refuse_taken(c, &addr)?;
            check_limits(c, &m, &from, &to, keep_alias)?;
            let old_home = home(&s.mail_root, &from.name, &m.local_part)?;
            let new_home = home(&s.mail_root, &to.name, &local)?;
            let t = now();
            diesel::update(mailboxes::table.find(m.id))
                .set((
                    mailboxes::username.eq(&addr),
                    mailboxes::local_part.eq(&local),
                    mailboxes::domain_id.eq(to.id),
                    mailboxes::status.eq("suspended"),
                    mailboxes::updated_at.eq(t),
                    mailboxes::version.eq(m.version + 1),
                ))
                .execute(c)?;
            let n = repoint(c, &m.username, (&addr, to.id), t)?;
            if keep_alias {
                diesel::insert_into(aliases::table)
                    .values((
                        aliases::address.eq(&m.username),
                        aliases::goto.eq(&addr),
                        aliases::domain_id.eq(from.id),
                        aliases::status.eq("active"),
                        aliases::description.eq(format!("renamed to {addr}")),
                        aliases::created_at.eq(t),
                        aliases::updated_at.eq(t),
                        aliases::created_by.eq(who.id),
                    ))
                    .execute(c)?;
            }
            diesel::insert_into(mailbox_renames::table)
                .values((
                    mailbox_renames::mailbox_id.eq(m.id),
                    mailbox_renames::old_username.eq(&m.username),
                    mailbox_renames::new_username.eq(&addr),
                    mailbox_renames::old_domain_id.eq(from.id),
                    mailbox_renames::old_local_part.eq(&m.local_part),
                    mailbox_renames::old_home.eq(old_home.display().to_string()),
                    mailbox_renames::new_home.eq(new_home.display().to_string()),
                    mailbox_renames::old_status.eq(&m.status),
                    mailbox_renames::keep_alias.eq(keep_alias),
                    mailbox_renames::started_at.eq(t),
                    mailbox_renames::started_by.eq(who.id),
                ))
                .execute(c)?;
            let j = store::mailbox_renames::for_mailbox(c, m.id)?
                .ok_or_else(|| OpError::not_found("rename", m.username.clone()))?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "before": m, "address": m.username, "new_address": addr, "old_home": j.old_home, "new_home": j.new_home, "keep_alias": keep_alias, "aliases": n, "phase": "pending" }),
            );
            Ok(((j, n), done))
        },
    )
}

/// Step 3 after a move: the status back, the journal row gone.
fn finish(conn: &mut AnyConnection, ctx: &Ctx, j: &MailboxRename, how: &str) -> OpResult<()> {
    let request =
        json!({ "address": j.old_username, "new_address": j.new_username, "phase": "finish" });
    run_write(
        conn,
        ctx,
        AuditAction::Rename,
        AuditType::Mailbox,
        request,
        |c, who| {
            let m = journaled(c, who, j)?;
            diesel::update(mailboxes::table.find(m.id))
                .set((
                    mailboxes::status.eq(&j.old_status),
                    mailboxes::updated_at.eq(now()),
                    mailboxes::version.eq(m.version + 1),
                ))
                .execute(c)?;
            diesel::delete(mailbox_renames::table.find(j.id)).execute(c)?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "address": j.old_username, "new_address": j.new_username, "new_home": j.new_home, "phase": "finished", "how": how }),
            );
            Ok(((), done))
        },
    )
}

/// The compensating transaction after a failed move: the old names back,
/// the kept alias gone, the journal row gone.
fn rollback(conn: &mut AnyConnection, ctx: &Ctx, j: &MailboxRename, why: &str) -> OpResult<()> {
    let request =
        json!({ "address": j.new_username, "old_address": j.old_username, "phase": "rollback" });
    run_write(
        conn,
        ctx,
        AuditAction::Rollback,
        AuditType::Mailbox,
        request,
        |c, who| {
            let m = journaled(c, who, j)?;
            if j.keep_alias {
                diesel::delete(
                    aliases::table
                        .filter(aliases::address.eq(&j.old_username))
                        .filter(aliases::goto.eq(&j.new_username)),
                )
                .execute(c)?;
            }
            if store::mailboxes::by_address(c, &j.old_username)?.is_some()
                || store::aliases::by_address(c, &j.old_username)?.is_some()
            {
                return Err(OpError::Conflict(format!(
                    "{} was taken while the rename was pending; the rename to {} stays pending",
                    j.old_username, j.new_username
                )));
            }
            let t = now();
            diesel::update(mailboxes::table.find(m.id))
                .set((
                    mailboxes::username.eq(&j.old_username),
                    mailboxes::local_part.eq(&j.old_local_part),
                    mailboxes::domain_id.eq(j.old_domain_id),
                    mailboxes::status.eq(&j.old_status),
                    mailboxes::updated_at.eq(t),
                    mailboxes::version.eq(m.version + 1),
                ))
                .execute(c)?;
            let n = repoint(c, &j.new_username, (&j.old_username, j.old_domain_id), t)?;
            diesel::delete(mailbox_renames::table.find(j.id)).execute(c)?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "address": j.old_username, "renamed_to": j.new_username, "phase": "rolled back", "aliases": n, "why": why }),
            );
            Ok(((), done))
        },
    )
}

/// The mailbox of a journal row that is still pending, if the caller may
/// act on both its domains.
fn journaled(c: &mut AnyConnection, who: &Principal, j: &MailboxRename) -> OpResult<Mailbox> {
    if store::mailbox_renames::for_mailbox(c, j.mailbox_id)?.as_ref() != Some(j) {
        return Err(OpError::Conflict(format!(
            "the rename of {} to {} was finished or rolled back by another run",
            j.old_username, j.new_username
        )));
    }
    let m: Mailbox = mailboxes::table
        .find(j.mailbox_id)
        .select(Mailbox::as_select())
        .first(c)?;
    for id in [m.domain_id, j.old_domain_id] {
        let d = store::domains::by_id(c, id)?
            .ok_or_else(|| OpError::not_found("domain", id.to_string()))?;
        who.require_domain(&d, Perm::Mailboxes)?;
    }
    Ok(m)
}

/// `goto` with every element equal to `from` replaced by `to`, spacing
/// kept (so a rollback gives back the same text); None if none was.
fn replace_in_list(goto: &str, from: &str, to: &str) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = goto
        .split(',')
        .map(|p| {
            if p.trim() == from {
                changed = true;
                p.replace(from, to)
            } else {
                p.to_string()
            }
        })
        .collect();
    changed.then(|| parts.join(","))
}

/// Rewrite every row that names `from` as text to name `to`; returns how
/// many alias rows changed. Aliases with the same new goto are updated
/// together, so 10,000 aliases of one mailbox take a handful of statements.
fn repoint(
    c: &mut AnyConnection,
    from: &str,
    (to, to_domain): (&str, i32),
    t: NaiveDateTime,
) -> OpResult<usize> {
    let pat = store::like_pattern(from);
    let rows: Vec<(i32, String)> = aliases::table
        .filter(aliases::goto.like(&pat).escape('\\'))
        .select((aliases::id, aliases::goto))
        .load(c)?;
    let mut by_goto: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for (id, goto) in rows {
        if let Some(g) = replace_in_list(&goto, from, to) {
            by_goto.entry(g).or_default().push(id);
        }
    }
    let mut n = 0;
    for (goto, ids) in &by_goto {
        for chunk in ids.chunks(500) {
            n += diesel::update(aliases::table.filter(aliases::id.eq_any(chunk)))
                .set((
                    aliases::goto.eq(goto),
                    aliases::updated_at.eq(t),
                    aliases::version.eq(aliases::version + 1),
                ))
                .execute(c)?;
        }
    }
    // The policy service counts per sender address: the counts follow the
    // mailbox, so a rename does not reset its limits. Counts left on the
    // new address by some earlier sender of that name are not this
    // mailbox's.
    diesel::delete(send_counters::table.filter(send_counters::sender.eq(to))).execute(c)?;
    diesel::update(send_counters::table.filter(send_counters::sender.eq(from)))
        .set(send_counters::sender.eq(to))
        .execute(c)?;
    // Send-as grants of the address (`sender grant X OLD`) are about this
    // mailbox's address: they follow it (a grantee holding both keeps one).
    let grantees: Vec<i32> = sender_grants::table
        .filter(sender_grants::address.eq(from))
        .select(sender_grants::mailbox_id)
        .load::<Option<i32>>(c)?
        .into_iter()
        .flatten()
        .collect();
    diesel::delete(
        sender_grants::table
            .filter(sender_grants::address.eq(to))
            .filter(sender_grants::mailbox_id.eq_any(&grantees)),
    )
    .execute(c)?;
    diesel::update(sender_grants::table.filter(sender_grants::address.eq(from)))
        .set((
            sender_grants::address.eq(to),
            sender_grants::domain_id.eq(to_domain),
        ))
        .execute(c)?;
    let held: Vec<(i32, String)> = deleted_mailboxes::table
        .filter(deleted_mailboxes::aliases.like(&pat).escape('\\'))
        .select((deleted_mailboxes::id, deleted_mailboxes::aliases))
        .load(c)?;
    for (id, text) in held {
        let Ok(mut list) = serde_json::from_str::<Vec<HeldAlias>>(&text) else {
            continue;
        };
        let mut changed = false;
        for a in &mut list {
            if let Some(g) = replace_in_list(&a.goto, from, to) {
                a.goto = g;
                changed = true;
            }
        }
        if changed {
            let json = serde_json::to_string(&list).map_err(|e| OpError::Io(e.to_string()))?;
            diesel::update(deleted_mailboxes::table.find(id))
                .set(deleted_mailboxes::aliases.eq(json))
                .execute(c)?;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::replace_in_list;

    #[test]
    fn goto_elements_not_substrings() {
        let (a, b) = ("bob@example.com", "robert@example.org");
        assert_eq!(replace_in_list("bob@example.com.au", a, b), None);
        assert_eq!(replace_in_list("xbob@example.com", a, b), None);
        assert_eq!(
            replace_in_list("alice@example.com, bob@example.com", a, b).as_deref(),
            Some("alice@example.com, robert@example.org")
        );
        let there = replace_in_list("bob@example.com,bob@example.com.au", a, b).unwrap();
        assert_eq!(there, "robert@example.org,bob@example.com.au");
        assert_eq!(
            replace_in_list(&there, b, a).as_deref(),
            Some("bob@example.com,bob@example.com.au")
        );
    }
}
