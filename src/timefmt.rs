//! Showing stored UTC timestamps in the acting admin's time zone (a
//! preference). One process serves one admin, so the zone is process-wide;
//! it changes when the admin logs in or edits their preferences. Machine
//! output (JSON) stays UTC.

use std::sync::RwLock;

use chrono::{NaiveDateTime, TimeZone};
use chrono_tz::Tz;

static DISPLAY_TZ: RwLock<Tz> = RwLock::new(chrono_tz::UTC);

pub fn set_zone(tz: Tz) {
    if let Ok(mut z) = DISPLAY_TZ.write() {
        *z = tz;
    }
}

pub fn zone() -> Tz {
    DISPLAY_TZ.read().map(|z| *z).unwrap_or(chrono_tz::UTC)
}

/// `t` (UTC) in the display zone with `fmt` (chrono strftime; `%Z` gives the
/// zone's abbreviation).
pub fn local(t: &NaiveDateTime, fmt: &str) -> String {
    zone().from_utc_datetime(t).format(fmt).to_string()
}

/// 75 -> "1 min 15 s", 7300 -> "2 h 1 min": a time left, short.
pub fn duration_short(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}
