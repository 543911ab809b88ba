//! The reader's answers: pages, rows, change tokens, counts and texts.
//! Nothing here writes.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::model::Entity;
use crate::ops::{self, command::dkim, Ctx};
use crate::store::{self, Filter, Page};

use super::{impact, text, HostSettings, Listing, LiveToken, Request, Response};

/// Keys per `MatchingKeys` chunk: one keyset page of the largest size.
pub const MARK_CHUNK: i64 = store::MAX_PAGE;

pub(super) fn read(
    c: &mut AnyConnection,
    ctx: &Ctx,
    host: &HostSettings,
    request: Request,
) -> Result<Response, OpError> {
    Ok(match request {
        // The runner answers logins and commands on their own lanes; one
        // arriving here is refused rather than run on the wrong thread.
        Request::Login { .. } | Request::Run(_) => {
            return Err(OpError::Denied("not a read; sent to the wrong lane".into()))
        }
        Request::Stats { page } => {
            let (totals, domains) = ops::stats(c, ctx, &page)?;
            Response::Stats(totals, domains)
        }
        Request::History { mailbox, id } => {
            Response::History(ops::quota::history(c, ctx, mailbox, id)?)
        }
        Request::ConfigText { id, mode } => text::config_text(c, ctx, id, mode)?,
        Request::Quota { known, top } => {
            Response::Quota(ops::quota::watch(c, ctx, known, top)?.map(Box::new))
        }
        Request::List {
            resource,
            filter,
            page,
        } => Response::Rows(list(c, ctx, host, resource, &filter, &page)?),
        Request::Row { resource, key } => Response::Rows(row(c, ctx, host, resource, &key)?),
        Request::Live {
            resource,
            filter,
            page,
            known,
        } => {
            // Read before the rows: a write landing in between shows now
            // and merely causes one more refresh later.
            let token = live_token(c, ctx, resource, &filter)?;
            if token.is_some() && token == known {
                Response::Unchanged
            } else {
                Response::Live(token, list(c, ctx, host, resource, &filter, &page)?)
            }
        }
        Request::Tail { after_id, limit } => {
            let rows = ops::audit::newer_than(c, ctx, after_id, limit)?;
            Response::Tail(ops::audit::name_rows(c, rows)?)
        }
        Request::DeleteImpact { resource, key } => {
            let (text, n) = impact::delete(c, ctx, resource, &key)?;
            Response::Impact(text, n)
        }
        Request::StatusImpact { resource, key } => {
            let (text, n) = impact::suspend(c, ctx, resource, &key)?;
            Response::Impact(text, n)
        }
        Request::BulkPreview {
            resource,
            keys,
            action,
        } => {
            let (text, n) = impact::bulk(c, ctx, resource, &keys, &action)?;
            Response::Impact(text, n)
        }
        Request::Sheet { table, keys } => {
            Response::Sheet(Box::new(crate::sheet::Sheet::load(c, ctx, table, &keys)?))
        }
        Request::MatchingKeys {
            resource,
            filter,
            after,
        } => {
            let (keys, next) = matching_keys(c, ctx, resource, &filter, after)?;
            Response::Keys { keys, next }
        }
    })
}

fn list(
    c: &mut AnyConnection,
    ctx: &Ctx,
    host: &HostSettings,
    entity: Entity,
    f: &Filter,
    page: &Page,
) -> Result<Listing, OpError> {
    Ok(match entity {
        Entity::Domains => {
            let v = ops::domains::list(c, ctx, f, page)?;
            domains(c, v)?
        }
        Entity::Mailboxes => Listing::Mailboxes(ops::mailboxes::list(c, ctx, f, page)?),
        Entity::Aliases => Listing::Aliases(ops::aliases::list(c, ctx, f, page)?),
        Entity::AliasDomains => Listing::AliasDomains(ops::alias_domains::list(c, ctx, f, page)?),
        Entity::Users => Listing::Users(ops::users::list(c, ctx, f, page)?),
        Entity::Permissions => {
            Listing::Permissions(ops::permissions::list(c, ctx, None, None, page)?)
        }
        Entity::Audit => Listing::Audit(ops::audit::search(
            c,
            ctx,
            &ops::audit::parse_query(f.text.as_deref(), f.show_hidden),
            page,
        )?),
        Entity::MailServers => {
            Listing::MailServers(ops::mail_configs::page(c, ctx, f.text.as_deref(), page)?)
        }
        Entity::Ldap => Listing::Ldap(ops::ldap::page(c, ctx, f.text.as_deref(), page)?),
        Entity::DkimKey => Listing::DkimKeys(dkim::page(c, ctx, &host.dkim, f, page)?),
        Entity::DeletedMailboxes => Listing::DeletedMailboxes(ops::deleted::list(c, ctx, f, page)?),
    })
}

/// Domains (already scoped by ops) with their DKIM markers and cached DNS
/// states, one query each for the page (never a DNS lookup).
fn domains(c: &mut AnyConnection, v: Vec<crate::db::models::Domain>) -> Result<Listing, OpError> {
    let ids: Vec<i32> = v.iter().map(|d| d.id).collect();
    let marks = dkim::markers(c, &ids)?;
    let dns = ops::command::dns::marks(c, &ids)?;
    Ok(Listing::Domains(v, marks, dns))
}

/// The change token of a table's rows; None for tables no trigger counts
/// changes of (users, grants, alias domains, mail configs, LDAP servers),
/// which refresh on `r` and after this session's own writes.
fn live_token(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    f: &Filter,
) -> Result<Option<LiveToken>, OpError> {
    Ok(match entity {
        Entity::Domains | Entity::Mailboxes | Entity::Aliases => {
            Some(ops::quota::table_token(c, ctx, f.domain_id)?)
        }
        // The newest entry this user may see: the primary key's last
        // entry, one index probe at any size. Every DKIM change is audited
        // (a CLI `dkim activate`, a timer's `revoke --due`), so the same
        // probe tells the DKIM screen when to read its page again; so
        // too for holds (every delete, restore and purge is audited).
        Entity::Audit | Entity::DkimKey | Entity::DeletedMailboxes => {
            let newest = ops::audit::newer_than(c, ctx, 0, 1)?;
            Some(((0, 0, 0), newest.first().map(|a| a.id).unwrap_or(0)))
        }
        Entity::AliasDomains
        | Entity::Users
        | Entity::Permissions
        | Entity::MailServers
        | Entity::Ldap => None,
    })
}

/// One chunk of the keys matching the filter, for "mark all matching", and
/// the key the next chunk starts after. Always walked in name order,
/// whatever order the screen shows: the marks are a set, and the name is
/// the one cursor every list pages by (a sorted list's cursor is the sort
/// value plus the name, which these keys are not).
fn matching_keys(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    filter: &Filter,
    after: Option<String>,
) -> Result<(Vec<String>, Option<String>), OpError> {
    let filter = Filter {
        sort: store::Sort::default(),
        ..filter.clone()
    };
    let page = Page {
        after,
        limit: Some(MARK_CHUNK),
        backward: false,
    };
    let keys: Vec<String> = match entity {
        Entity::Mailboxes => ops::mailboxes::list(c, ctx, &filter, &page)?
            .into_iter()
            .map(|m| m.username)
            .collect(),
        Entity::Aliases => ops::aliases::list(c, ctx, &filter, &page)?
            .into_iter()
            .map(|a| a.address)
            .collect(),
        Entity::Domains => ops::domains::list(c, ctx, &filter, &page)?
            .into_iter()
            .map(|d| d.name)
            .collect(),
        Entity::AliasDomains
        | Entity::Users
        | Entity::Permissions
        | Entity::Audit
        | Entity::MailServers
        | Entity::Ldap
        | Entity::DkimKey
        | Entity::DeletedMailboxes => {
            return Err(OpError::invalid(
                "marks",
                format!("{} rows cannot be marked", entity.noun()),
            ))
        }
    };
    let next = if keys.len() as i64 >= MARK_CHUNK {
        keys.last().cloned()
    } else {
        None
    };
    Ok((keys, next))
}

/// One row by key through ops' scoped `get`, as a listing of one.
fn row(
    c: &mut AnyConnection,
    ctx: &Ctx,
    host: &HostSettings,
    entity: Entity,
    key: &str,
) -> Result<Listing, OpError> {
    Ok(match entity {
        Entity::Domains => {
            let d = ops::domains::get(c, ctx, key)?;
            domains(c, vec![d])?
        }
        Entity::Mailboxes => Listing::Mailboxes(vec![ops::mailboxes::get(c, ctx, key)?]),
        Entity::Aliases => Listing::Aliases(vec![ops::aliases::get(c, ctx, key)?]),
        Entity::AliasDomains => Listing::AliasDomains(vec![ops::alias_domains::get(c, ctx, key)?]),
        Entity::Users => Listing::Users(vec![ops::users::get(c, ctx, key)?]),
        Entity::Ldap => {
            let page = Page {
                limit: Some(50),
                ..Default::default()
            };
            let mut rows = ops::ldap::page(c, ctx, Some(key), &page)?;
            rows.retain(|r| r.server_name == key);
            Listing::Ldap(rows)
        }
        Entity::DkimKey => Listing::DkimKeys(vec![dkim::row(c, ctx, &host.dkim, key)?]),
        Entity::DeletedMailboxes => {
            Listing::DeletedMailboxes(vec![ops::deleted::get(c, ctx, key)?])
        }
        Entity::Permissions | Entity::Audit | Entity::MailServers => {
            return Err(OpError::invalid(
                "resource",
                format!("{} rows are not read one by one", entity.noun()),
            ))
        }
    })
}
