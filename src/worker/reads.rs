//! The reader's answers: pages, rows, change tokens, counts and texts.
//! Nothing here writes.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{self, Filter, Page};

use super::source::source;
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
    source(entity).list(c, ctx, host, f, page)
}

fn live_token(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    f: &Filter,
) -> Result<Option<LiveToken>, OpError> {
    source(entity).token(c, ctx, f)
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
    let keys = source(entity).keys(c, ctx, &filter, &page)?;
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
    source(entity).row(c, ctx, host, key)
}
