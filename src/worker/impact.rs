//! The confirm dialogs' sentences: what a delete, a suspend or a bulk
//! action takes with it, counted before anything changes.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::model::Entity;
use crate::ops::{self, Ctx};

use super::source::{counted, shown, source};
use super::BulkAction;

/// What deleting this row takes with it.
pub(super) fn delete(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    key: &str,
) -> Result<(String, i64), OpError> {
    source(entity).delete_impact(c, ctx, key)
}

/// What suspending this row stops.
pub(super) fn suspend(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    key: &str,
) -> Result<(String, i64), OpError> {
    source(entity).suspend_impact(c, ctx, key)
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
