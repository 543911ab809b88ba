//! Mailboxes on hold: pages with days left, live by the newest audit entry
//! (every delete, restore and purge is audited); a delete here purges.

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};

use super::{shown, HostSettings, LiveToken, Source};

pub struct Deleted;

impl Source for Deleted {
    fn entity(&self) -> Entity {
        Entity::DeletedMailboxes
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(ops::deleted::list(c, ctx, f, p)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        Ok(Listing::new(vec![ops::deleted::get(c, ctx, key)?]))
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
        c: &mut AnyConnection,
        ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        let h = ops::deleted::get(c, ctx, key)?;
        let home = ops::deleted::home(
            &ctx.policy.lifecycle.mail_root,
            &h.row.domain,
            &h.row.local_part,
        )?;
        Ok((
            format!(
                "Purge mailbox {} now? Its mail in {} is removed for good; it cannot be restored afterwards.",
                shown(key),
                shown(&home.display().to_string()),
            ),
            1,
        ))
    }
}
