//! Aliases: pages, live by the quota triggers' change count, markable.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, LiveToken, Source};

pub struct Aliases;

impl Source for Aliases {
    fn entity(&self) -> Entity {
        Entity::Aliases
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::aliases::list(c, ctx, f, p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(vec![ops::aliases::get(c, ctx, key)?]))
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
        Ok(ops::aliases::list(c, ctx, f, p)?
            .into_iter()
            .map(|a| a.address)
            .collect())
    }
}
