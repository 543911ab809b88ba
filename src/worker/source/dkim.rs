//! DKIM keys: pages and rows as the `[dkim]` settings name them; every
//! change is audited, so the newest audit entry tells the screen when to
//! read again (a CLI `dkim activate`, a timer's `revoke --due`).

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{command::dkim, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, LiveToken, Source};

pub struct DkimKeys;

impl Source for DkimKeys {
    fn entity(&self) -> Entity {
        Entity::DkimKey
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(dkim::page(c, ctx, &host.dkim, f, p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(vec![dkim::row(c, ctx, &host.dkim, key)?]))
    }

    fn token(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _f: &Filter,
    ) -> Result<Option<LiveToken>, OpError> {
        super::newest_audit(c, ctx)
    }
}
