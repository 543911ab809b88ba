//! The deliverability check's reads: which names a domain answers for, and
//! (with the cache table) the last check of each domain.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::Domain;
use crate::db::schema::{alias_domains, dns_checks, domains};
use crate::db::AnyConnection;

/// The alias domains pointing at `domain_id`, by name.
pub fn alias_names(c: &mut AnyConnection, domain_id: i32) -> QueryResult<Vec<String>> {
    alias_domains::table
        .filter(alias_domains::target_domain_id.eq(domain_id))
        .select(alias_domains::name)
        .order(alias_domains::name.asc())
        .load(c)
}

/// Every domain in `scope` (None: all), by name: what `domain check
/// --all` walks.
pub fn domains_in_scope(c: &mut AnyConnection, scope: Option<&[i32]>) -> QueryResult<Vec<Domain>> {
    let mut q = domains::table
        .select(Domain::as_select())
        .order(domains::name.asc())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(domains::id.eq_any(ids.to_vec()));
    }
    q.load(c)
}

/// The last check of one domain, as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = dns_checks)]
pub struct DnsCheck {
    pub domain_id: i32,
    pub status: String,
    pub summary: String,
    /// JSON array of `dns::grade::Finding`.
    pub findings: String,
    pub checked_at: NaiveDateTime,
    pub min_ttl: Option<i32>,
    pub fresh_until: Option<NaiveDateTime>,
}

pub fn by_domain(c: &mut AnyConnection, domain_id: i32) -> QueryResult<Option<DnsCheck>> {
    dns_checks::table
        .find(domain_id)
        .select(DnsCheck::as_select())
        .first(c)
        .optional()
}

/// The state of each of `ids` that has been checked (the Domains screen's
/// marker: only the rows on screen).
pub fn states(c: &mut AnyConnection, ids: &[i32]) -> QueryResult<Vec<(i32, String)>> {
    dns_checks::table
        .filter(dns_checks::domain_id.eq_any(ids.to_vec()))
        .select((dns_checks::domain_id, dns_checks::status))
        .load(c)
}

/// (domain id, state, summary, checked at) of each of `ids` that has been
/// checked: the Domains screen's marker and its row details.
pub fn marks(
    c: &mut AnyConnection,
    ids: &[i32],
) -> QueryResult<Vec<(i32, String, String, NaiveDateTime)>> {
    dns_checks::table
        .filter(dns_checks::domain_id.eq_any(ids.to_vec()))
        .select((
            dns_checks::domain_id,
            dns_checks::status,
            dns_checks::summary,
            dns_checks::checked_at,
        ))
        .load(c)
}

/// Counts by state over the domains in `scope`, for `health --dns`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub domains: i64,
    pub unchecked: i64,
    pub ok: i64,
    pub warning: i64,
    pub error: i64,
    pub oldest_check: Option<NaiveDateTime>,
}

pub fn summary(c: &mut AnyConnection, scope: Option<&[i32]>) -> QueryResult<Summary> {
    let mut domains_q = domains::table.count().into_boxed();
    let mut checks_q = dns_checks::table
        .group_by(dns_checks::status)
        .select((
            dns_checks::status,
            diesel::dsl::count_star(),
            diesel::dsl::min(dns_checks::checked_at),
        ))
        .into_boxed();
    if let Some(ids) = scope {
        domains_q = domains_q.filter(domains::id.eq_any(ids.to_vec()));
        checks_q = checks_q.filter(dns_checks::domain_id.eq_any(ids.to_vec()));
    }
    let mut s = Summary {
        domains: domains_q.get_result(c)?,
        ..Summary::default()
    };
    let rows: Vec<(String, i64, Option<NaiveDateTime>)> = checks_q.load(c)?;
    let mut checked = 0;
    for (status, n, oldest) in rows {
        checked += n;
        match status.as_str() {
            "ok" => s.ok = n,
            "warning" => s.warning = n,
            _ => s.error += n,
        }
        s.oldest_check = match (s.oldest_check, oldest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    s.unchecked = (s.domains - checked).max(0);
    Ok(s)
}
