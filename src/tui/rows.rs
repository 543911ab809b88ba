//! A database row as a table draws it, and the helpers the specs
//! (`tui/spec/`) draw rows with. Each spec turns its rows into this; DB text
//! enters the screen only there, so every string goes through
//! `sanitize::for_terminal` (`clean`) and nowhere needs to remember it later.

use chrono::NaiveDateTime;

pub use super::spec::{audit_row, rows as from_listing, FieldId};
pub use crate::sanitize::for_terminal as clean;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What ops looks the row up by (name, address, "user/domain", id).
    pub key: String,
    /// The keyset cursor of this row in its list.
    pub cursor: String,
    pub id: i64,
    pub version: Option<i32>,
    pub status: Option<String>,
    pub cells: Vec<String>,
    /// Every shown value by name: the detail view and form pre-fill.
    pub fields: Vec<(&'static str, String)>,
    /// Bytes used and quota, for lists that sort by them (the cursor of a
    /// sorted page is the sort value plus the name).
    pub usage: Option<(i64, i64)>,
}

impl Row {
    /// The keyset cursor of this row under `sort` (the name, or the sort
    /// value and the name); the value is computed as the SQL does.
    pub fn cursor_for(&self, sort: crate::store::Sort) -> String {
        match self.usage {
            Some((used, limit)) => sort.cursor(used, limit, &self.cursor),
            None => self.cursor.clone(),
        }
    }
}

/// A row id beyond the 32-bit keys the table's ops take: never made up
/// (as 0, or cut to fit), always said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row id {0} is out of range for this table; nothing was done")]
pub struct IdOutOfRange(pub i64);

impl Row {
    /// The id as the 32-bit key of the tables that have one.
    pub fn id32(&self) -> Result<i32, IdOutOfRange> {
        i32::try_from(self.id).map_err(|_| IdOutOfRange(self.id))
    }

    /// A shown value by its id; every id a spec names is in its rows.
    pub fn field(&self, id: impl FieldId) -> &str {
        self.named(id.name())
    }

    /// A shown value by the name ops or a form uses for it ("" if the row
    /// has none: a form field the list does not show).
    pub fn named(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

pub fn opt(s: &Option<String>) -> String {
    s.as_deref().map(clean).unwrap_or_default()
}

/// In the admin's time zone (a preference; UTC until set).
pub fn time(t: &NaiveDateTime) -> String {
    crate::timefmt::local(t, "%Y-%m-%d %H:%M")
}

pub fn opt_time(t: &Option<NaiveDateTime>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "never".into())
}

pub fn count(n: i32) -> String {
    if n == 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

pub fn used(n: i64) -> String {
    crate::units::human(n)
}

/// The per-row usage bar of the Domains and Mailboxes screens: four cells
/// and the percent, plain characters so it reads without color.
pub fn usage_bar(used: i64, limit: i64) -> String {
    if limit <= 0 {
        "-".into()
    } else {
        super::dashboard::gauge(used, limit, 4)
    }
}

pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}
