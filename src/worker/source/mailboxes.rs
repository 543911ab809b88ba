//! Mailboxes: pages, live by the quota triggers' change count; a delete
//! puts the mailbox on hold.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{counted, shown, HostSettings, LiveToken, Source};

pub struct Mailboxes;

impl Source for Mailboxes {
    fn entity(&self) -> Entity {
        Entity::Mailboxes
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::mailboxes::list(c, ctx, f, p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(vec![ops::mailboxes::get(c, ctx, key)?]))
    }

    fn token(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        f: &Filter,
    ) -> Result<Option<LiveToken>, OpError> {
        super::counted_changes(c, ctx, f)
    }

    fn keys(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        f: &Filter,
        p: &Page,
    ) -> Result<Vec<String>, OpError> {
        Ok(ops::mailboxes::list(c, ctx, f, p)?
            .into_iter()
            .map(|m| m.username)
            .collect())
    }

    fn delete_impact(
        &self,
        _c: &mut AnyConnection,
        ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        Ok((
            format!(
                "Delete mailbox {}? It stops receiving mail and logging in now, and is held for {} (restorable from :deleted) before its mail is purged.",
                shown(key),
                counted(ctx.policy.lifecycle.hold_days, "day", "days"),
            ),
            1,
        ))
    }
}
