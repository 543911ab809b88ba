//! Per-domain permissions: pages; a delete revokes the grant.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, Source};

pub struct Permissions;

impl Source for Permissions {
    fn entity(&self) -> Entity {
        Entity::Permissions
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        _f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::permissions::list(c, ctx, None, None, p)?))
    }

    fn delete_impact(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        Ok((
            format!(
                "Revoke permission {}? 1 row will be deleted.",
                super::shown(key)
            ),
            1,
        ))
    }
}
