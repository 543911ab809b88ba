//! DKIM keys: the row type and its reads. The sealed private key is never
//! serialized; `ops::dkim` opens it only to export or (for an admin) show it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{alias_domains, dkim_keys};
use crate::db::AnyConnection;

#[derive(Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = dkim_keys)]
pub struct DkimKey {
    pub id: i32,
    pub domain: String,
    pub domain_id: Option<i32>,
    pub alias_domain_id: Option<i32>,
    pub selector: String,
    pub algorithm: String,
    pub bits: i32,
    #[serde(skip)]
    pub private_key: Option<String>,
    pub public_key: String,
    pub state: String,
    pub replaces_id: Option<i32>,
    pub created_at: NaiveDateTime,
    pub activated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_by: Option<i32>,
    pub version: i32,
}

impl std::fmt::Debug for DkimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKey")
            .field("id", &self.id)
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .field(
                "private_key",
                &self.private_key.as_ref().map(|_| "[sealed]"),
            )
            .finish_non_exhaustive()
    }
}

pub fn by_id(c: &mut AnyConnection, id: i32) -> QueryResult<Option<DkimKey>> {
    dkim_keys::table
        .find(id)
        .select(DkimKey::as_select())
        .first(c)
        .optional()
}

pub fn by_selector(
    c: &mut AnyConnection,
    domain: &str,
    selector: &str,
) -> QueryResult<Option<DkimKey>> {
    dkim_keys::table
        .filter(dkim_keys::domain.eq(domain))
        .filter(dkim_keys::selector.eq(selector))
        .select(DkimKey::as_select())
        .first(c)
        .optional()
}

/// Every key of one name, oldest first.
pub fn of_domain(c: &mut AnyConnection, domain: &str) -> QueryResult<Vec<DkimKey>> {
    dkim_keys::table
        .filter(dkim_keys::domain.eq(domain))
        .order(dkim_keys::id.asc())
        .select(DkimKey::as_select())
        .load(c)
}

/// The key of `algorithm` signing for `domain`, if any.
pub fn active(
    c: &mut AnyConnection,
    domain: &str,
    algorithm: &str,
) -> QueryResult<Option<DkimKey>> {
    dkim_keys::table
        .filter(dkim_keys::domain.eq(domain))
        .filter(dkim_keys::algorithm.eq(algorithm))
        .filter(dkim_keys::state.eq("active"))
        .select(DkimKey::as_select())
        .first(c)
        .optional()
}

/// Keys in `state`, by name then selector (exports, the due revokes).
pub fn in_state(c: &mut AnyConnection, state: &str) -> QueryResult<Vec<DkimKey>> {
    dkim_keys::table
        .filter(dkim_keys::state.eq(state))
        .order((dkim_keys::domain.asc(), dkim_keys::selector.asc()))
        .select(DkimKey::as_select())
        .load(c)
}

/// Keyset page by id (the screen's cursor); `scope` limits to keys of those
/// hosted domains (an alias domain's key counts as its target's).
pub fn page(
    c: &mut AnyConnection,
    domain: Option<&str>,
    scope: Option<&[i32]>,
    after: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<DkimKey>> {
    let mut q = dkim_keys::table
        .select(DkimKey::as_select())
        .order(dkim_keys::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(d) = domain {
        q = q.filter(dkim_keys::domain.eq(d.to_string()));
    }
    if let Some(ids) = scope {
        let via_alias = alias_domains::table
            .filter(alias_domains::target_domain_id.eq_any(ids.to_vec()))
            .select(alias_domains::id.nullable());
        q = q.filter(
            dkim_keys::domain_id
                .eq_any(ids.to_vec())
                .or(dkim_keys::alias_domain_id.eq_any(via_alias)),
        );
    }
    if let Some(a) = after {
        q = q.filter(dkim_keys::id.gt(a));
    }
    q.load(c)
}

/// Every name with a key of its own, in any state.
pub fn names(c: &mut AnyConnection) -> QueryResult<Vec<String>> {
    dkim_keys::table
        .select(dkim_keys::domain)
        .distinct()
        .load(c)
}

/// Keyset page by id in either direction (the TUI screen's cursor is the
/// id as text); `text` matches the name or the selector, `domain_id` keeps
/// one hosted domain's keys (its alias domains' included), `scope` as in
/// `page`.
pub fn page_both(
    c: &mut AnyConnection,
    text: Option<&str>,
    domain_id: Option<i32>,
    scope: Option<&[i32]>,
    page: &crate::store::Page,
) -> QueryResult<Vec<DkimKey>> {
    let cursor = match page.after.as_deref() {
        Some(a) => Some(a.parse::<i32>().map_err(|_| {
            diesel::result::Error::QueryBuilderError(format!("bad cursor {a:?}").into())
        })?),
        None => None,
    };
    let mut q = dkim_keys::table
        .select(DkimKey::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(t) = text {
        let p = crate::store::like_pattern(t);
        q = q.filter(
            dkim_keys::domain
                .like(p.clone())
                .escape('\\')
                .or(dkim_keys::selector.like(p).escape('\\')),
        );
    }
    for ids in [domain_id.map(|d| vec![d]), scope.map(<[i32]>::to_vec)]
        .into_iter()
        .flatten()
    {
        let via_alias = alias_domains::table
            .filter(alias_domains::target_domain_id.eq_any(ids.clone()))
            .select(alias_domains::id.nullable());
        q = q.filter(
            dkim_keys::domain_id
                .eq_any(ids)
                .or(dkim_keys::alias_domain_id.eq_any(via_alias)),
        );
    }
    q = match (cursor, page.backward) {
        (None, false) => q.order(dkim_keys::id.asc()),
        (None, true) => q.order(dkim_keys::id.desc()),
        (Some(a), false) => q.filter(dkim_keys::id.gt(a)).order(dkim_keys::id.asc()),
        (Some(a), true) => q.filter(dkim_keys::id.lt(a)).order(dkim_keys::id.desc()),
    };
    let mut rows = q.load(c)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// What the Domains screen says about each listed domain's own keys:
/// (domain id, selector, algorithm, state) of every key not revoked, for
/// the page's domain ids in one query (no query per row), oldest first.
pub fn states_of_domains(
    c: &mut AnyConnection,
    domain_ids: &[i32],
) -> QueryResult<Vec<(i32, String, String, String)>> {
    if domain_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(Option<i32>, String, String, String)> = dkim_keys::table
        .filter(dkim_keys::domain_id.eq_any(domain_ids.to_vec()))
        .filter(dkim_keys::state.ne("revoked"))
        .order(dkim_keys::id.asc())
        .select((
            dkim_keys::domain_id,
            dkim_keys::selector,
            dkim_keys::algorithm,
            dkim_keys::state,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter_map(|(d, s, a, st)| d.map(|d| (d, s, a, st)))
        .collect())
}
