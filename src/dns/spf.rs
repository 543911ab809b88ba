//! SPF records (RFC 7208): recognising one among a name's TXT records,
//! its terms, and which of them cost a DNS lookup (4.6.4: include, a, mx,
//! ptr, exists and redirect count; at most 10 in all, nested includes
//! included, or the result is a permanent error).

/// The most DNS-querying terms one evaluation may use (RFC 7208 4.6.4).
pub const MAX_LOOKUPS: usize = 10;

/// Is this TXT record an SPF record? `v=spf1` alone or followed by a space
/// (4.5: `v=spf10` is not one), case-insensitively.
pub fn is_spf(txt: &str) -> bool {
    let t = txt.trim_start();
    t.len() >= 6
        && t.get(..6).is_some_and(|v| v.eq_ignore_ascii_case("v=spf1"))
        && t[6..].chars().next().is_none_or(|c| c == ' ')
}

/// A term that makes a DNS query, and the name it queries when the
/// evaluation goes on there (include, redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub term: String,
    /// include:/redirect= target; None for a, mx, ptr, exists, and for a
    /// target holding macros (unknown until a message is evaluated).
    pub follow: Option<String>,
}

/// The parts of an SPF record the checks need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Spf {
    pub lookups: Vec<Lookup>,
    /// The qualifier of `all` (`+`, `-`, `~`, `?`), if the record has one.
    pub all: Option<char>,
    /// Terms that are not SPF syntax.
    pub unknown: Vec<String>,
}

fn split_qualifier(term: &str) -> (char, &str) {
    match term.chars().next() {
        Some(q @ ('+' | '-' | '~' | '?')) => (q, &term[1..]),
        _ => ('+', term),
    }
}

/// Parse the terms after `v=spf1`.
pub fn parse(txt: &str) -> Spf {
    let mut spf = Spf::default();
    for term in txt.split_whitespace().skip(1) {
        let (q, rest) = split_qualifier(term);
        let lower = rest.to_ascii_lowercase();
        let (name, arg) = match lower.find([':', '=', '/']) {
            Some(i) => (&lower[..i], Some(&rest[i + 1..])),
            None => (lower.as_str(), None),
        };
        let follow = |arg: Option<&str>| arg.filter(|t| !t.contains('%')).map(super::norm_name);
        match name {
            "all" => spf.all = Some(q),
            "include" => spf.lookups.push(Lookup {
                term: term.to_string(),
                follow: follow(arg),
            }),
            "a" | "mx" | "ptr" | "exists" => spf.lookups.push(Lookup {
                term: term.to_string(),
                follow: None,
            }),
            "redirect" => spf.lookups.push(Lookup {
                term: term.to_string(),
                follow: follow(arg),
            }),
            "ip4" | "ip6" | "exp" => {}
            _ if lower.contains('=') => {} // unknown modifiers are ignored (6)
            _ => spf.unknown.push(term.to_string()),
        }
    }
    spf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_spf_records() {
        assert!(is_spf("v=spf1 -all"));
        assert!(is_spf("V=SPF1"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("google-site-verification=x"));
    }

    #[test]
    fn counts_the_terms_that_query() {
        let s = parse("v=spf1 ip4:192.0.2.1 a mx:mx.example.com include:_spf.Example.NET. ptr exists:%{i}.x.test -all redirect=other.test");
        let terms: Vec<&str> = s.lookups.iter().map(|l| l.term.as_str()).collect();
        assert_eq!(
            terms,
            [
                "a",
                "mx:mx.example.com",
                "include:_spf.Example.NET.",
                "ptr",
                "exists:%{i}.x.test",
                "redirect=other.test"
            ]
        );
        assert_eq!(s.lookups[2].follow.as_deref(), Some("_spf.example.net"));
        assert_eq!(s.lookups[5].follow.as_deref(), Some("other.test"));
        assert_eq!(s.all, Some('-'));
        assert_eq!(parse("v=spf1 +all").all, Some('+'));
        assert_eq!(parse("v=spf1 all").all, Some('+'));
        assert_eq!(parse("v=spf1 includ:x.test").unknown, ["includ:x.test"]);
    }
}
