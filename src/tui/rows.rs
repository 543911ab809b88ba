//! A database row as a table draws it, and the helpers the specs
//! (`tui/spec/`) draw rows with. Each spec turns its rows into this; DB text
//! enters the screen only there, so every string goes through
//! `sanitize::for_terminal` (`clean`) and nowhere needs to remember it later.

use chrono::NaiveDateTime;

pub use super::spec::audit_row;
pub use crate::listing::{FieldId, IdOutOfRange, Row};
pub use crate::sanitize::for_terminal as clean;

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
