//! What the worker reads for each table screen, one file per table: its
//! pages, one row by key, the change token a live screen polls, the keys
//! "mark all matching" walks, and the sentences a delete or suspend asks
//! with. `reads` and `impact` dispatch through `source()` and name no
//! table; a new table is a new file here and one arm below.
//!
//! What a table does not offer is a default here, each a refusal that says
//! so (no row-by-row reads, no marks) or the plain one-row sentence.

mod alias_domains;
mod aliases;
mod audit;
mod deleted;
mod dkim;
mod domains;
mod ldap;
mod mail_servers;
mod mailboxes;
mod permissions;
mod sender_grants;
mod senders;
mod users;

pub use domains::DomainPage;
pub use senders::{cursor as sender_cursor, SenderEntry};

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, LiveToken};

/// The reader of one table.
pub trait Source: Sync {
    fn entity(&self) -> Entity;

    /// A page of rows, scoped by ops to what the session may see.
    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &HostSettings,
        f: &Filter,
        page: &Page,
    ) -> Result<Listing, OpError>;

    /// One row by key through ops' scoped `get`, as a listing of one.
    fn row(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        _host: &HostSettings,
        _key: &str,
    ) -> Result<Listing, OpError> {
        Err(OpError::invalid(
            "resource",
            format!("{} rows are not read one by one", self.entity().noun()),
        ))
    }

    /// The change token of the table's rows; None for tables no trigger
    /// or audit entry counts changes of, which refresh on `r` and after
    /// this session's own writes.
    fn token(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        _f: &Filter,
    ) -> Result<Option<LiveToken>, OpError> {
        Ok(None)
    }

    /// One page of the keys matching `f`, in name order, for "mark all
    /// matching".
    fn keys(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        _f: &Filter,
        _page: &Page,
    ) -> Result<Vec<String>, OpError> {
        Err(OpError::invalid(
            "marks",
            format!("{} rows cannot be marked", self.entity().noun()),
        ))
    }

    /// What deleting this row takes with it, and the row count.
    fn delete_impact(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        Ok((
            format!(
                "Delete {} {}? 1 row will be deleted.",
                self.entity().noun(),
                shown(key)
            ),
            1,
        ))
    }

    /// What suspending this row stops, and the row count.
    fn suspend_impact(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        Ok((
            format!(
                "Suspend {} {}? 1 row will change.",
                self.entity().noun(),
                shown(key)
            ),
            1,
        ))
    }
}

/// The reader of a table: the one registration a new table adds here.
pub fn source(e: Entity) -> &'static dyn Source {
    match e {
        Entity::Domains => &domains::Domains,
        Entity::Mailboxes => &mailboxes::Mailboxes,
        Entity::Aliases => &aliases::Aliases,
        Entity::AliasDomains => &alias_domains::AliasDomains,
        Entity::Users => &users::Users,
        Entity::Permissions => &permissions::Permissions,
        Entity::Audit => &audit::Audit,
        Entity::MailServers => &mail_servers::MailServers,
        Entity::Ldap => &ldap::Ldap,
        Entity::DkimKey => &dkim::DkimKeys,
        Entity::DeletedMailboxes => &deleted::Deleted,
        Entity::SenderGrants => &sender_grants::SenderGrants,
        Entity::Senders => &senders::Senders,
    }
}

/// A count for a confirmation, with thousands separators and the noun
/// agreeing with it ("1 mailbox", "12,000 mailboxes").
pub(super) fn counted(n: impl TryInto<usize>, one: &str, many: &str) -> String {
    let n = n.try_into().unwrap_or(0);
    format!(
        "{} {}",
        ops::bulk::thousands(n),
        if n == 1 { one } else { many }
    )
}

pub(super) fn shown(key: &str) -> String {
    crate::sanitize::for_terminal(key)
}

/// The token of tables whose every change is audited (the audit log, DKIM
/// keys, holds): the newest entry this user may see, the primary key's
/// last entry, one index probe at any size.
fn newest_audit(c: &mut AnyConnection, ctx: &Ctx) -> Result<Option<LiveToken>, OpError> {
    let newest = ops::audit::newer_than(c, ctx, 0, 1)?;
    Ok(Some(((0, 0, 0), newest.first().map(|a| a.id).unwrap_or(0))))
}

/// The token of the tables the quota triggers count changes of (domains,
/// mailboxes, aliases): the dashboard's change token and the newest audit
/// id.
fn counted_changes(
    c: &mut AnyConnection,
    ctx: &Ctx,
    f: &Filter,
) -> Result<Option<LiveToken>, OpError> {
    Ok(Some(ops::quota::table_token(c, ctx, f.domain_id)?))
}
