//! Alias domains: pages and one row by name; changes show on `r` and after this session's writes.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, Source};

pub struct AliasDomains;

impl Source for AliasDomains {
    fn entity(&self) -> Entity {
        Entity::AliasDomains
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::alias_domains::list(c, ctx, f, p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(vec![ops::alias_domains::get(c, ctx, key)?]))
    }
}
