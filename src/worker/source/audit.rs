//! The audit log: pages by its own query syntax, live by the newest entry.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, Source};

pub struct Audit;

impl Source for Audit {
    fn entity(&self) -> Entity {
        Entity::Audit
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::audit::search(
            c,
            ctx,
            &ops::audit::parse_query(f.text.as_deref(), f.show_hidden),
            p,
        )?))
    }

    fn token(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _f: &Filter,
    ) -> Result<Option<super::LiveToken>, OpError> {
        super::newest_audit(c, ctx)
    }
}
