//! A mailbox's vacation (auto-reply) row and its reads (issue 20). The
//! text is the user's own words, not a secret; it is sanitized where it is
//! printed.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{aliases, vacations};
use crate::db::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = vacations)]
pub struct Vacation {
    pub id: i32,
    pub mailbox_id: i32,
    pub enabled: bool,
    pub subject: String,
    pub body: String,
    pub from_date: Option<NaiveDate>,
    pub until_date: Option<NaiveDate>,
    pub days: i32,
    /// One sender per line: `user@domain` or `@domain`.
    pub excludes: String,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<i32>,
    pub version: i32,
}

impl Vacation {
    /// The excluded senders as a list.
    pub fn exclude_list(&self) -> Vec<String> {
        self.excludes
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// "off", "scheduled" (before its first day), "ended" (after its last),
    /// or "on" on `today`, as the script decides it.
    pub fn state(&self, today: NaiveDate) -> &'static str {
        if !self.enabled {
            "off"
        } else if self.from_date.is_some_and(|f| today < f) {
            "scheduled"
        } else if self.until_date.is_some_and(|u| today > u) {
            "ended"
        } else {
            "on"
        }
    }
}

pub fn for_mailbox(c: &mut AnyConnection, mailbox_id: i32) -> QueryResult<Option<Vacation>> {
    vacations::table
        .filter(vacations::mailbox_id.eq(mailbox_id))
        .select(Vacation::as_select())
        .first(c)
        .optional()
}

/// Addresses whose alias leads to `address` (catch-alls left out: a reply
/// "from" a whole domain means nothing), at most `limit`, in order.
pub fn aliases_to(c: &mut AnyConnection, address: &str, limit: i64) -> QueryResult<Vec<String>> {
    let pat = super::like_pattern(address);
    let rows: Vec<(String, String)> = aliases::table
        .filter(aliases::goto.like(pat).escape('\\'))
        .filter(aliases::address.not_like("@%"))
        .order(aliases::address.asc())
        .select((aliases::address, aliases::goto))
        .limit(limit.saturating_mul(4))
        .load(c)?;
    Ok(rows
        .into_iter()
        .filter(|(a, g)| a != address && g.split(',').any(|x| x.trim() == address))
        .map(|(a, _)| a)
        .take(usize::try_from(limit).unwrap_or(0))
        .collect())
}
