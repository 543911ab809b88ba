//! Read queries, one module per table: lookups by key, keyset-paged lists
//! with filters, statistics. No policy here: callers pass the domain scope
//! that `ops::authz` computed.

pub mod alias_domains;
pub mod aliases;
pub mod audit;
pub mod domains;
pub mod ldap_servers;
pub mod mail_servers;
pub mod mailboxes;
pub mod permissions;
pub mod quota;
pub mod stats;
pub mod users;

/// Default and largest page sizes for lists.
pub const DEFAULT_PAGE: i64 = 100;
pub const MAX_PAGE: i64 = 10_000;

/// A keyset page: rows strictly after `after` in the list's order, or with
/// `backward` the last `limit` rows strictly before it (all of the list's
/// last rows when `after` is None), still returned in the list's order.
/// Backward pages let a screen page up and jump to the end without counting
/// or loading what lies in between.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub after: Option<String>,
    pub limit: Option<i64>,
    pub backward: bool,
}

impl Page {
    pub fn limit(&self) -> i64 {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }
}

/// Filters shared by the name-keyed lists.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Substring of the row's name/address (case-insensitive: names are stored lower-case).
    pub text: Option<String>,
    pub status: Option<String>,
    /// Only rows of this domain (by id, resolved by the caller).
    pub domain_id: Option<i32>,
}

/// `%term%` with LIKE's wildcards escaped, lower-cased to match stored names.
pub fn like_pattern(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    out.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
