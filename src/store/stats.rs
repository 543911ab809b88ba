//! The seed's statistics queries, as the dashboard will call them.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::Serialize;

use super::Page;
use crate::db::models::Domain;
use crate::db::schema::{domains, mailboxes};
use crate::db::AnyConnection;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MailboxTotals {
    pub total_mailboxes: i64,
    pub total_used: i64,
    pub total_limit: i64,
    /// Average bytes used per mailbox, rounded down.
    pub avg_used: i64,
}

/// Count and usage of all mailboxes (or those of the scoped domains).
pub fn mailbox_totals(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
) -> QueryResult<MailboxTotals> {
    let mut q = mailboxes::table
        .select((
            diesel::dsl::count_star(),
            sql::<BigInt>("CAST(COALESCE(SUM(quota_used), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(quota_limit), 0) AS BIGINT)"),
        ))
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    let (n, used, limit): (i64, i64, i64) = q.first(conn)?;
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
            sql::<BigInt>("(SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = domains.id)"),
            sql::<BigInt>(
                "(SELECT CAST(COALESCE(SUM(m.quota_used), 0) AS BIGINT) FROM mailboxes m WHERE m.domain_id = domains.id)",
            ),
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
