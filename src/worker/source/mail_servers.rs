//! Mail server configs: pages filtered by name.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{HostSettings, Source};

pub struct MailServers;

impl Source for MailServers {
    fn entity(&self) -> Entity {
        Entity::MailServers
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::mail_configs::page(
            c,
            ctx,
            f.text.as_deref(),
            p,
        )?))
    }
}
