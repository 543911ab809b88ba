//! What DNS must publish for a DKIM key, and the selector names that go in
//! it: RFC 6376 3.6.2 (the `selector._domainkey.domain` TXT record) split
//! into the 255-byte character strings a TXT record is made of.

use serde::Serialize;

use super::key::Algorithm;
use crate::error::{OpError, OpResult};

/// A selector: one or more dot-separated labels of letters, digits and
/// hyphens, none starting or ending with a hyphen (RFC 6376 3.1, the
/// `sub-domain` of RFC 5321), stored in lower case.
pub fn selector(field: &str, input: &str) -> OpResult<String> {
    let s = input.trim().to_ascii_lowercase();
    if s.is_empty() {
        return Err(OpError::invalid(field, "must not be empty"));
    }
    if s.len() > 63 {
        return Err(OpError::invalid(
            field,
            "must be at most 63 characters (it becomes part of a DNS name)",
        ));
    }
    for label in s.split('.') {
        let ok = !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(OpError::invalid(
                field,
                "must be letters, digits and hyphens in dot-separated labels, no label empty or starting or ending with a hyphen (RFC 6376 selector syntax)",
            ));
        }
    }
    Ok(s)
}

/// The selector a new key gets from the configured pattern (`%Y`, `%m`,
/// `%d` replaced by the date), with `-2`, `-3`... appended when the domain
/// already has that selector (a second rotation in one month).
pub fn next_selector(
    pattern: &str,
    today: chrono::NaiveDate,
    algorithm: Algorithm,
    taken: &[String],
) -> OpResult<String> {
    let base = pattern
        .replace("%Y", &today.format("%Y").to_string())
        .replace("%m", &today.format("%m").to_string())
        .replace("%d", &today.format("%d").to_string());
    // The two keys of a dual-signing pair are told apart by a suffix, so
    // `dkim add --algorithm ed25519` right after an RSA key does not collide.
    let base = match algorithm {
        Algorithm::Rsa => base,
        Algorithm::Ed25519 => format!("{base}e"),
    };
    let base = selector("dkim.selector_pattern", &base)?;
    if !taken.contains(&base) {
        return Ok(base);
    }
    for n in 2..1000 {
        let s = format!("{base}-{n}");
        if !taken.contains(&s) {
            return selector("selector", &s);
        }
    }
    Err(OpError::invalid(
        "selector",
        "every selector the pattern makes is taken; name one with --selector",
    ))
}

/// The TXT record of one selector. `public` is `None` for a revoked key:
/// an empty `p=` tells verifiers the key is revoked (RFC 6376 3.6.1), which
/// is better than a missing record (a temporary failure to some).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxtRecord {
    /// Fully qualified, without the trailing dot.
    pub name: String,
    pub value: String,
}

impl TxtRecord {
    pub fn new(domain: &str, selector: &str, algorithm: Algorithm, public: Option<&str>) -> Self {
        TxtRecord {
            name: format!("{selector}._domainkey.{domain}"),
            value: format!(
                "v=DKIM1; k={}; p={}",
                algorithm.as_str(),
                public.unwrap_or("")
            ),
        }
    }

    /// The value cut into character strings of at most 255 bytes, the
    /// largest one TXT string holds (RFC 1035 3.3.14); verifiers join them.
    pub fn strings(&self) -> Vec<&str> {
        // The value is ASCII, so any byte offset is a char boundary.
        self.value
            .as_bytes()
            .chunks(255)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect()
    }

    /// A BIND zone-file line, strings in parentheses one per line.
    pub fn zone(&self) -> String {
        let strings: Vec<String> = self.strings().iter().map(|s| format!("\"{s}\"")).collect();
        format!("{}. IN TXT ( {} )", self.name, strings.join("\n        "))
    }

    /// Name and the whole value, for DNS panels that take one field.
    pub fn plain(&self) -> String {
        format!("{}\tTXT\t{}", self.name, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_syntax() {
        assert_eq!(selector("selector", " PM202612 ").unwrap(), "pm202612");
        assert_eq!(selector("selector", "a.b-c").unwrap(), "a.b-c");
        for bad in ["", "-a", "a-", "a..b", "a_b", "a b", "ä"] {
            let e = selector("selector", bad).unwrap_err().to_string();
            assert!(e.starts_with("selector: must"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn pattern_and_collisions() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert_eq!(
            next_selector("pm%Y%m", d, Algorithm::Rsa, &[]).unwrap(),
            "pm202612"
        );
        assert_eq!(
            next_selector("pm%Y%m", d, Algorithm::Ed25519, &[]).unwrap(),
            "pm202612e"
        );
        let taken = vec!["pm202612".to_string(), "pm202612-2".to_string()];
        assert_eq!(
            next_selector("pm%Y%m", d, Algorithm::Rsa, &taken).unwrap(),
            "pm202612-3"
        );
        assert!(next_selector("pm_%Y", d, Algorithm::Rsa, &[]).is_err());
    }

    #[test]
    fn long_values_split_into_255_byte_strings() {
        let p = "A".repeat(392); // the p= of a 2048-bit RSA key
        let r = TxtRecord::new("example.test", "s1", Algorithm::Rsa, Some(&p));
        let parts = r.strings();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].len(), 255);
        assert_eq!(parts.concat(), r.value);
        assert!(r
            .zone()
            .starts_with("s1._domainkey.example.test. IN TXT ( \"v=DKIM1; k=rsa; p=AAA"));
        let revoked = TxtRecord::new("example.test", "s1", Algorithm::Rsa, None);
        assert_eq!(revoked.value, "v=DKIM1; k=rsa; p=");
    }
}
