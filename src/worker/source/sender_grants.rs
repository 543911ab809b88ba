//! Send-as grants: pages in creation order, live by the newest audit entry
//! (every grant and revoke is audited); a delete revokes.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{shown, HostSettings, LiveToken, Source};

pub struct SenderGrants;

impl Source for SenderGrants {
    fn entity(&self) -> Entity {
        Entity::SenderGrants
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        let lf = ops::sender_grants::ListFilter {
            text: f.text.clone(),
            ..Default::default()
        };
        Ok(Listing::new(ops::sender_grants::list(c, ctx, &lf, p)?))
    }

    fn token(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _f: &Filter,
    ) -> Result<Option<LiveToken>, OpError> {
        super::newest_audit(c, ctx)
    }

    fn delete_impact(
        &self,
        _c: &mut AnyConnection,
        _ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        Ok((
            format!(
                "Revoke the grant {}? The mailbox can no longer send as that address.",
                shown(key)
            ),
            1,
        ))
    }
}
