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

/// One mechanism of a record, as evaluating it for an address needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// `+`, `-`, `~` or `?`.
    pub qualifier: char,
    /// Lower case: all, include, a, mx, ptr, ip4, ip6, exists.
    pub mechanism: String,
    /// The domain (include, a, mx, exists, ptr) or the address (ip4, ip6).
    pub arg: Option<String>,
    /// The prefix lengths after the argument (`a/24//64`, `ip4:x/24`).
    pub cidr4: Option<u8>,
    pub cidr6: Option<u8>,
}

/// What evaluating a record needs: its directives in order and the
/// `redirect=` target (used only when no directive matches).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub directives: Vec<Directive>,
    pub redirect: Option<String>,
}

/// `/24`, `//64`, `/24//64` after a mechanism's argument.
fn cidrs(s: &str) -> (Option<u8>, Option<u8>) {
    let (v4, v6) = match s.split_once("//") {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    };
    let v4 = v4.strip_prefix('/').and_then(|n| n.parse().ok());
    (v4, v6.and_then(|n| n.parse().ok()))
}

/// The directives of a record (after `v=spf1`), for `authorises`.
pub fn policy(txt: &str) -> Policy {
    let mut p = Policy::default();
    for term in txt.split_whitespace().skip(1) {
        let (qualifier, rest) = split_qualifier(term);
        let lower = rest.to_ascii_lowercase();
        let name_end = lower.find([':', '/', '=']).unwrap_or(lower.len());
        let name = &lower[..name_end];
        let after = &rest[name_end..];
        if let Some(target) = after.strip_prefix('=') {
            if name == "redirect" {
                p.redirect = Some(target.to_string());
            }
            continue;
        }
        let (arg, cidr) = match after.strip_prefix(':') {
            Some(a) => match a.find('/') {
                Some(i) => (Some(a[..i].to_string()), &a[i..]),
                None => (Some(a.to_string()), ""),
            },
            None => (None, after),
        };
        let (cidr4, cidr6) = match name {
            // An address's one prefix length is its family's.
            "ip4" => (cidrs(cidr).0, None),
            "ip6" => (None, cidrs(cidr).0),
            _ => cidrs(cidr),
        };
        p.directives.push(Directive {
            qualifier,
            mechanism: name.to_string(),
            arg,
            cidr4,
            cidr6,
        });
    }
    p
}

/// Is `ip` inside `net`/`len` (len None: the whole address)?
pub fn in_network(ip: std::net::IpAddr, net: std::net::IpAddr, len: Option<u8>) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (ip, net) {
        (V4(a), V4(n)) => {
            let len = u32::from(len.unwrap_or(32).min(32));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (V6(a), V6(n)) => {
            let len = u32::from(len.unwrap_or(128).min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Whether a record lets one sending address send, in words when not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The address gets `pass`.
    Pass,
    /// It gets fail, softfail or neutral: how, in words.
    Not(String),
    /// The record could not be followed to an answer (a lookup failed,
    /// macros or ptr that only a real message can evaluate): why.
    Unknown(String),
}

/// The result a qualifier gives, in the words RFC 7208 uses.
pub fn result_word(q: char) -> &'static str {
    match q {
        '+' => "pass",
        '-' => "fail",
        '~' => "softfail",
        _ => "neutral",
    }
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

    #[test]
    fn directives_with_their_arguments_and_prefixes() {
        let p = policy("v=spf1 ip4:192.0.2.0/24 -ip6:2001:DB8::/32 a a:Mail.Example.COM/28 mx//64 ~mx:x.test/24//48 include:_spf.x.test ?all redirect=r.test exp=e.test");
        let d = |i: usize| {
            let d = &p.directives[i];
            (
                d.qualifier,
                d.mechanism.as_str(),
                d.arg.as_deref(),
                d.cidr4,
                d.cidr6,
            )
        };
        assert_eq!(d(0), ('+', "ip4", Some("192.0.2.0"), Some(24), None));
        assert_eq!(d(1), ('-', "ip6", Some("2001:DB8::"), None, Some(32)));
        assert_eq!(d(2), ('+', "a", None, None, None));
        assert_eq!(d(3), ('+', "a", Some("Mail.Example.COM"), Some(28), None));
        assert_eq!(d(4), ('+', "mx", None, None, Some(64)));
        assert_eq!(d(5), ('~', "mx", Some("x.test"), Some(24), Some(48)));
        assert_eq!(d(6), ('+', "include", Some("_spf.x.test"), None, None));
        assert_eq!(d(7), ('?', "all", None, None, None));
        assert_eq!(p.directives.len(), 8);
        assert_eq!(p.redirect.as_deref(), Some("r.test"));
    }

    #[test]
    fn networks() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(in_network(ip("192.0.2.25"), ip("192.0.2.0"), Some(24)));
        assert!(in_network(ip("192.0.2.25"), ip("192.0.2.99"), Some(24)));
        assert!(!in_network(ip("192.0.3.25"), ip("192.0.2.0"), Some(24)));
        assert!(in_network(ip("192.0.2.25"), ip("192.0.2.25"), None));
        assert!(!in_network(ip("192.0.2.26"), ip("192.0.2.25"), None));
        assert!(in_network(ip("10.1.2.3"), ip("0.0.0.0"), Some(0)));
        assert!(in_network(ip("2001:db8::5"), ip("2001:db8::"), Some(32)));
        assert!(!in_network(ip("2001:db9::5"), ip("2001:db8::"), Some(32)));
        assert!(!in_network(ip("192.0.2.25"), ip("2001:db8::"), Some(0)));
    }
}
