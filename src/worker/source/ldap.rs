//! LDAP servers: pages filtered by name, one row by name.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, Source};

pub struct Ldap;

impl Source for Ldap {
    fn entity(&self) -> Entity {
        Entity::Ldap
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::ldap::page(c, ctx, f.text.as_deref(), p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        let page = Page {
            limit: Some(50),
            ..Default::default()
        };
        let mut rows = ops::ldap::page(c, ctx, Some(key), &page)?;
        rows.retain(|r| r.server_name == key);
        Ok(Listing::new(rows))
    }
}
