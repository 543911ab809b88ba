//! `stats` (CLI) and the worker's stats request. Both read the per-domain
//! aggregates the triggers keep (`mailbox_count`, `mailbox_quota`,
//! `quota_used` on each domain row, see `store::quota`), like the live
//! dashboard: one row per domain, never a count over the mailboxes.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::Serialize;

use super::Page;
use crate::db::models::Domain;
use crate::db::schema::domains;
use crate::db::AnyConnection;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MailboxTotals {
    pub total_mailboxes: i64,
    pub total_used: i64,
    pub total_limit: i64,
    /// Average bytes used per mailbox, rounded down.
    pub avg_used: i64,
}

/// Count and usage of all mailboxes (or those of the scoped domains),
/// summed from the domain rows.
pub fn mailbox_totals(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
) -> QueryResult<MailboxTotals> {
    let t = crate::store::quota::totals(conn, scope)?;
    let (n, used, limit) = (t.mailboxes, t.used, t.allotted);
    Ok(MailboxTotals {
        total_mailboxes: n,
        total_used: used,
        total_limit: limit,
        avg_used: if n == 0 { 0 } else { used / n },
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainUsage {
    #[serde(flatten)]
    pub domain: Domain,
    pub mailbox_count: i64,
    /// Sum of the mailboxes' usage (equals domain.quota_used, kept by triggers).
    pub mailbox_used: i64,
}

/// Domains with their mailbox counts and usage, a keyset page by name.
pub fn domains_with_usage(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    page: &Page,
) -> QueryResult<Vec<DomainUsage>> {
    let mut q = domains::table
        .select((
            Domain::as_select(),
            sql::<BigInt>("domains.mailbox_count"),
            sql::<BigInt>("domains.quota_used"),
        ))
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(domains::id.eq_any(ids.to_vec()));
    }
    q = match (&page.after, page.backward) {
        (None, false) => q.order(domains::name.asc()),
        (None, true) => q.order(domains::name.desc()),
        (Some(a), false) => q
            .filter(domains::name.gt(a.clone()))
            .order(domains::name.asc()),
        (Some(a), true) => q
            .filter(domains::name.lt(a.clone()))
            .order(domains::name.desc()),
    };
    let mut rows: Vec<(Domain, i64, i64)> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows
        .into_iter()
        .map(|(domain, mailbox_count, mailbox_used)| DomainUsage {
            domain,
            mailbox_count,
            mailbox_used,
        })
        .collect())
}
