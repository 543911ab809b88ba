//! Search filters. Values that come from a user (a login name) are escaped
//! per RFC 4515, so `*`, `(`, `)`, `\` and NUL match literally and cannot
//! widen or rewrite the filter. Filters an admin configures are checked
//! for syntax before they are stored.

use crate::error::{OpError, OpResult};

/// `(&<extra>(<attr>=<escaped value>))`, or just the equality match.
pub fn user_filter(attr: &str, extra: Option<&str>, value: &str) -> String {
    let eq = format!("({attr}={})", ldap3::ldap_escape(value));
    and(extra, &eq)
}

/// Every entry that has the user attribute, narrowed by the configured
/// filter and an import filter.
pub fn users_filter(attr: &str, configured: Option<&str>, import: Option<&str>) -> String {
    let present = format!("({attr}=*)");
    let mut parts: Vec<&str> = [configured, import].into_iter().flatten().collect();
    if parts.is_empty() {
        return present;
    }
    parts.push(&present);
    format!("(&{})", parts.concat())
}

fn and(extra: Option<&str>, term: &str) -> String {
    match extra {
        Some(f) if !f.trim().is_empty() => format!("(&{f}{term})"),
        _ => term.to_string(),
    }
}

/// A filter an admin typed: parenthesised, RFC 4515 syntax, at most 1024
/// characters. Returns it trimmed.
pub fn check(field: &str, input: &str) -> OpResult<String> {
    let f = input.trim();
    if f.len() > 1024 {
        return Err(OpError::invalid(field, "must be at most 1024 characters"));
    }
    crate::validate::refuse_unsafe(field, f)?;
    if !f.starts_with('(') || !f.ends_with(')') || ldap3::parse_filter(f).is_err() {
        return Err(OpError::invalid(
            field,
            format!("{f:?} is not an LDAP filter (RFC 4515), e.g. (objectClass=inetOrgPerson)"),
        ));
    }
    Ok(f.to_string())
}

/// An attribute name: a letter then letters, digits and hyphens (RFC 4512
/// descr), at most 64 characters.
pub fn check_attribute(field: &str, input: &str) -> OpResult<String> {
    let a = input.trim();
    let ok = !a.is_empty()
        && a.len() <= 64
        && a.starts_with(|c: char| c.is_ascii_alphabetic())
        && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !ok {
        return Err(OpError::invalid(
            field,
            "must be an attribute name: a letter, then letters, digits or '-', at most 64 (e.g. uid, sAMAccountName)",
        ));
    }
    Ok(a.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            user_filter("uid", None, "*)(uid=*"),
            "(uid=\\2a\\29\\28uid=\\2a)"
        );
        assert_eq!(
            user_filter("uid", Some("(objectClass=person)"), "bob"),
            "(&(objectClass=person)(uid=bob))"
        );
        assert!(ldap3::parse_filter(user_filter("cn", None, "a\\b\0c")).is_ok());
    }

    #[test]
    fn configured_filters_are_checked() {
        assert!(check("user_filter", "(objectClass=person)").is_ok());
        for bad in [
            "objectClass=person",
            "(objectClass=person",
            "(&(a=b)",
            "(a=b))(",
        ] {
            let e = check("user_filter", bad).unwrap_err().to_string();
            assert!(e.starts_with("user_filter:"), "{bad}: {e}");
        }
        assert!(check_attribute("user_attribute", "sAMAccountName").is_ok());
        assert!(check_attribute("user_attribute", "uid)(x").is_err());
        assert_eq!(
            users_filter("uid", Some("(objectClass=person)"), Some("(ou=it)")),
            "(&(objectClass=person)(ou=it)(uid=*))"
        );
    }
}
