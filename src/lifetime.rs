//! How long something lasts, as an admin types it: `30m`, `12h`, `90d`,
//! `2w`, or a bare number of days. Token expiries, app-password lifetimes
//! and hold periods all read it here so one spelling works everywhere.

use chrono::TimeDelta;

use crate::error::{OpError, OpResult};

/// Ten years: longer than any credential should live unattended, and far
/// below the point where adding it to now overflows a timestamp.
pub const MAX_DAYS: i64 = 3650;

const RULE: &str = "must be a whole number and a unit (30m, 12h, 90d, 2w; a bare number is days), from 1 minute to 3650 days";

/// Parses `s` for the form field or option `field`; the error names both
/// the field and the rule.
pub fn parse(field: &str, s: &str) -> OpResult<TimeDelta> {
    let t = s.trim().to_ascii_lowercase();
    let (num, minutes_per): (&str, i64) = match t.char_indices().last() {
        Some((i, 'm')) => (&t[..i], 1),
        Some((i, 'h')) => (&t[..i], 60),
        Some((i, 'd')) => (&t[..i], 24 * 60),
        Some((i, 'w')) => (&t[..i], 7 * 24 * 60),
        _ => (t.as_str(), 24 * 60),
    };
    num.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(minutes_per))
        .and_then(TimeDelta::try_minutes)
        .filter(|d| *d <= TimeDelta::days(MAX_DAYS))
        .ok_or_else(|| {
            OpError::invalid(
                field,
                format!("{RULE} (got {:?})", crate::sanitize::for_terminal(s.trim())),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_bare_days_parse() {
        assert_eq!(parse("expires", "30m").unwrap(), TimeDelta::minutes(30));
        assert_eq!(parse("expires", "12h").unwrap(), TimeDelta::hours(12));
        assert_eq!(parse("expires", "90d").unwrap(), TimeDelta::days(90));
        assert_eq!(parse("expires", " 2W ").unwrap(), TimeDelta::days(14));
        assert_eq!(parse("expires", "7").unwrap(), TimeDelta::days(7));
        assert_eq!(parse("expires", "3650d").unwrap(), TimeDelta::days(3650));
    }

    #[test]
    fn the_rest_is_refused_naming_field_and_rule() {
        for bad in [
            "",
            "d",
            "0d",
            "-5d",
            "3651d",
            "90y",
            "1.5d",
            "99999999999999w",
            "\u{1b}[2J",
        ] {
            let e = parse("expires", bad).unwrap_err().to_string();
            assert!(
                e.starts_with("expires: must be a whole number"),
                "{bad:?}: {e}"
            );
            assert!(
                !e.contains('\u{1b}'),
                "control characters reach the terminal: {e:?}"
            );
        }
    }
}
