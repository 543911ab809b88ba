//! The confirm dialogs' sentences: what a delete, a suspend or a bulk
//! action takes with it, counted before anything changes.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store;

use super::BulkAction;

/// A count for a confirmation, with thousands separators and the noun
/// agreeing with it ("1 mailbox", "12,000 mailboxes").
fn counted(n: impl TryInto<usize>, one: &str, many: &str) -> String {
    let n = n.try_into().unwrap_or(0);
    format!(
        "{} {}",
        ops::bulk::thousands(n),
        if n == 1 { one } else { many }
    )
}

fn shown(key: &str) -> String {
    crate::sanitize::for_terminal(key)
}

/// What deleting this row takes with it.
pub(super) fn delete(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    key: &str,
) -> Result<(String, i64), OpError> {
    Ok(match entity {
        Entity::Domains => {
            // Through ops first, so a scoped user learns nothing about a
            // domain it cannot see.
            let d = ops::domains::get(c, ctx, key)?;
            let mb = store::domains::mailbox_count(c, d.id)?;
            let al = store::domains::alias_count(c, d.id)?;
            let ad = store::alias_domains::count_for_target(c, d.id)?;
            let n = 1 + mb + al + ad;
            (
                format!(
                    "Delete domain {} with its {}, {} and {}? {} will be deleted.",
                    shown(&d.name),
                    counted(mb, "mailbox", "mailboxes"),
                    counted(al, "alias", "aliases"),
                    counted(ad, "alias domain", "alias domains"),
                    counted(n, "row", "rows"),
                ),
                n,
            )
        }
        Entity::Users => (
            format!(
                "Delete user {} (marked deleted; its grants are removed)? 1 row will change.",
                shown(key)
            ),
            1,
        ),
        Entity::Permissions => (
            format!("Revoke permission {}? 1 row will be deleted.", shown(key)),
            1,
        ),
        Entity::Mailboxes => (
            format!(
                "Delete mailbox {}? It stops receiving mail and logging in now, and is held for {} (restorable from :deleted) before its mail is purged.",
                shown(key),
                counted(ctx.policy.lifecycle.hold_days, "day", "days"),
            ),
            1,
        ),
        Entity::DeletedMailboxes => {
            let h = ops::deleted::get(c, ctx, key)?;
            let home = ops::deleted::home(&ctx.policy.lifecycle.mail_root, &h.row.domain, &h.row.local_part)?;
            (
                format!(
                    "Purge mailbox {} now? Its mail in {} is removed for good; it cannot be restored afterwards.",
                    shown(key),
                    shown(&home.display().to_string()),
                ),
                1,
            )
        }
        Entity::Aliases
        | Entity::AliasDomains
        | Entity::Audit
        | Entity::MailServers
        | Entity::Ldap
        | Entity::DkimKey => (
            format!(
                "Delete {} {}? 1 row will be deleted.",
                entity.noun(),
                shown(key)
            ),
            1,
        ),
    })
}

/// What suspending a domain stops: its mailboxes and aliases (Postfix and
/// Dovecot read the domain's status with every lookup).
pub(super) fn suspend(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    key: &str,
) -> Result<(String, i64), OpError> {
    if entity != Entity::Domains {
        return Ok((
            format!(
                "Suspend {} {}? 1 row will change.",
                entity.noun(),
                shown(key)
            ),
            1,
        ));
    }
    let d = ops::domains::get(c, ctx, key)?;
    let mb = store::domains::mailbox_count(c, d.id)?;
    let al = store::domains::alias_count(c, d.id)?;
    Ok((
        format!(
            "Suspend domain {}? Its {} and {} stop receiving mail and logging in until it is activated again. 1 row will change.",
            shown(&d.name),
            counted(mb, "mailbox", "mailboxes"),
            counted(al, "alias", "aliases"),
        ),
        1,
    ))
}

/// What a bulk action would change, previewed by the very code Yes runs.
pub(super) fn bulk(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    keys: &[String],
    action: &BulkAction,
) -> Result<(String, i64), OpError> {
    let p = ops::command::run_bulk(c, ctx, entity, keys, action, false)?;
    let mut s = p.summary.clone();
    if let Some(first) = s.get(..1) {
        s = first.to_uppercase() + &s[1..];
    }
    Ok((
        shown(&format!(
            "{s}? {} will change, in one transaction.",
            counted(p.changes, "row", "rows")
        )),
        p.changes as i64,
    ))
}
