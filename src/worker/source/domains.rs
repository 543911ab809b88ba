//! Domains: pages with each domain's DKIM marker and cached DNS mark, the
//! counts a delete or suspend takes with it.

use std::collections::HashMap;

use crate::db::models::Domain;
use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::command::{dkim::Marker, dns::DnsMark};
use crate::ops::{self, Ctx};
use crate::store::{self, Filter, Page};

use super::{counted, shown, HostSettings, LiveToken, Source};

/// A page of domains (already scoped by ops) with the DKIM marker of each
/// that has a live key and the DNS mark of each that was checked: one
/// query each for the page, never a DNS lookup.
#[derive(Debug, Clone)]
pub struct DomainPage {
    pub domains: Vec<Domain>,
    pub dkim: HashMap<i32, Marker>,
    pub dns: HashMap<i32, DnsMark>,
}

fn page(c: &mut AnyConnection, domains: Vec<Domain>) -> Result<Listing, OpError> {
    let ids: Vec<i32> = domains.iter().map(|d| d.id).collect();
    let dkim = ops::command::dkim::markers(c, &ids)?;
    let dns = ops::command::dns::marks(c, &ids)?;
    Ok(Listing::new(DomainPage { domains, dkim, dns }))
}

pub struct Domains;

impl Source for Domains {
    fn entity(&self) -> Entity {
        Entity::Domains
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        let v = ops::domains::list(c, ctx, f, p)?;
        page(c, v)
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        let d = ops::domains::get(c, ctx, key)?;
        page(c, vec![d])
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
        Ok(ops::domains::list(c, ctx, f, p)?
            .into_iter()
            .map(|d| d.name)
            .collect())
    }

    fn delete_impact(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        // Through ops first, so a scoped user learns nothing about a
        // domain it cannot see.
        let d = ops::domains::get(c, ctx, key)?;
        let mb = store::domains::mailbox_count(c, d.id)?;
        let al = store::domains::alias_count(c, d.id)?;
        let ad = store::alias_domains::count_for_target(c, d.id)?;
        let n = 1 + mb + al + ad;
        Ok((
            format!(
                "Delete domain {} with its {}, {} and {}? {} will be deleted.",
                shown(&d.name),
                counted(mb, "mailbox", "mailboxes"),
                counted(al, "alias", "aliases"),
                counted(ad, "alias domain", "alias domains"),
                counted(n, "row", "rows"),
            ),
            n,
        ))
    }

    /// Suspending a domain stops its mailboxes and aliases (Postfix and
    /// Dovecot read the domain's status with every lookup).
    fn suspend_impact(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        key: &str,
    ) -> Result<(String, i64), OpError> {
        let d = ops::domains::get(c, ctx, key)?;
        let mb = store::domains::mailbox_count(c, d.id)?;
        let al = store::domains::alias_count(c, d.id)?;
        Ok((
            format!(
                "Suspend domain {}? Its {} and {} stop receiving mail and logging in until it is activated again. 1 row will change.",
                shown(&d.name),
                counted(mb, "mailbox", "mailboxes"),
                counted(al, "alias", "aliases"),
            ),
            1,
        ))
    }
}
