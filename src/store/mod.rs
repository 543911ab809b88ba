//! Read queries, one module per table: lookups by key, keyset-paged lists
//! with filters, statistics. No policy here: callers pass the domain scope
//! that `ops::authz` computed.

pub mod alias_domains;
pub mod aliases;
pub mod api_tokens;
pub mod app_passwords;
pub mod audit;
pub mod deleted_mailboxes;
pub mod dkim_keys;
pub mod dns_checks;
pub mod domains;
pub mod ldap_servers;
pub mod mail_servers;
pub mod mailbox_renames;
pub mod mailboxes;
pub mod permissions;
pub mod quota;
pub mod send_limits;
pub mod sender_grants;
pub mod stats;
pub mod totp;
pub mod users;
pub mod vacations;

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Substring of the row's name/address or of the text shown beside it
    /// (a mailbox's name, a domain's or alias's description, an alias's
    /// targets), case-insensitive.
    pub text: Option<String>,
    pub status: Option<String>,
    /// Only rows of this domain (by id, resolved by the caller).
    pub domain_id: Option<i32>,
    /// Order of the list (domains and mailboxes; other lists go by name).
    pub sort: Sort,
    /// Also the rows a screen hides by default (the audit log's CLI logins).
    pub show_hidden: bool,
}

/// A column a list can be ordered by. `Name` is the row's unique name; the
/// others are tie-broken by it, so keyset paging stays exact.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    #[default]
    Name,
    Used,
    Quota,
    /// Percent of the quota used (permille; no limit sorts as -1).
    Usage,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub desc: bool,
}

impl Sort {
    /// The SQL expression of a numeric key; None for `Name`. `Usage` is the
    /// migration's indexed permille expression, word for word.
    pub fn expr(&self) -> Option<&'static str> {
        match self.key {
            SortKey::Name => None,
            SortKey::Used => Some("quota_used"),
            SortKey::Quota => Some("quota_limit"),
            SortKey::Usage => Some(quota::PERMILLE),
        }
    }
}

impl Sort {
    /// The keyset cursor of a row with this usage and name: what the next
    /// page starts after. The permille is computed as the SQL does.
    pub fn cursor(&self, used: i64, limit: i64, name: &str) -> String {
        match self.key {
            SortKey::Name => name.to_string(),
            SortKey::Used => sort_cursor(used, name),
            SortKey::Quota => sort_cursor(limit, name),
            SortKey::Usage => sort_cursor(if limit > 0 { used * 1000 / limit } else { -1 }, name),
        }
    }

    /// "name", "used", "quota" or "usage" (CLI `--sort`).
    pub fn parse(field: &str, s: &str, desc: bool) -> Result<Sort, crate::error::OpError> {
        let key = match s.trim().to_ascii_lowercase().as_str() {
            "name" => SortKey::Name,
            "used" => SortKey::Used,
            "quota" => SortKey::Quota,
            "usage" => SortKey::Usage,
            other => {
                return Err(crate::error::OpError::invalid(
                    field,
                    format!("must be name, used, quota or usage (got {other:?})"),
                ))
            }
        };
        Ok(Sort { key, desc })
    }
}

/// Cursor of a row in a numerically sorted list: the key's value and the
/// row's name (the tie-breaker), joined by a unit separator.
pub fn sort_cursor(value: i64, name: &str) -> String {
    format!("{value}\u{1f}{name}")
}

pub fn parse_sort_cursor(s: &str) -> Option<(i64, String)> {
    let (v, n) = s.split_once('\u{1f}')?;
    Some((v.parse().ok()?, n.to_string()))
}

/// ORDER BY and keyset condition for `expr` then `name_col`, in the
/// direction the page walks (`asc`): the condition is the row-value
/// comparison `(expr, name) > (v, n)` spelled out, the same on both
/// backends, behind a redundant `expr >= v` that both planners can start
/// an index range at (the OR alone made them walk the index from its first
/// entry and filter, so a page deep into a million rows read half of them).
/// The caller binds v, v, v, n between the five parts and closes with ")))".
pub(crate) fn sorted_sql(expr: &str, name_col: &str, asc: bool) -> (String, [String; 4]) {
    let (dir, op) = if asc { ("ASC", ">") } else { ("DESC", "<") };
    (
        format!("{expr} {dir}, {name_col} {dir}"),
        [
            format!("({expr} {op}= "),
            format!(" AND ({expr} {op} "),
            format!(" OR ({expr} = "),
            format!(" AND {name_col} {op} "),
        ],
    )
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
