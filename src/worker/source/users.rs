//! Admin users: pages and one row by name; a delete marks the user deleted.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, Source};

pub struct Users;

impl Source for Users {
    fn entity(&self) -> Entity {
        Entity::Users
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::users::list(c, ctx, f, p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(vec![ops::users::get(c, ctx, key)?]))
    }

    fn delete_impact(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        Ok((
            format!(
                "Delete user {} (marked deleted; its grants are removed)? 1 row will change.",
                super::shown(key)
            ),
            1,
        ))
    }
}
