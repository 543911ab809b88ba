//! One expectation against what DNS answered: ok, warning or error, with
//! the reason in words an admin can act on.

use serde::{Deserialize, Serialize};

use super::expected::{Expected, Purpose};
use super::resolver::{Answer, Failure};
use super::{dmarc, norm_name, spf, Grade};

/// One graded check of one name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The DNS name asked (for PTR: the address).
    pub name: String,
    pub purpose: Purpose,
    pub grade: Grade,
    pub reason: String,
    /// What should be there ("" when any valid record will do).
    pub expected: String,
    /// What was there, each record as text.
    pub found: Vec<String>,
    /// The smallest TTL of the records found, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u32>,
}

fn finding(e: &Expected, grade: Grade, reason: impl Into<String>) -> Finding {
    Finding {
        name: e.name.clone(),
        purpose: e.purpose,
        grade,
        reason: reason.into(),
        expected: e.value.clone(),
        found: Vec::new(),
        ttl: None,
    }
}

impl Finding {
    fn with<T: ToString>(mut self, a: &Answer<T>) -> Finding {
        self.found = a.records.iter().map(ToString::to_string).collect();
        self.ttl = a.ttl;
        self
    }
}

/// The words for a lookup that got no usable answer; `missing` when the
/// name or record type does not exist.
fn failed(e: &Expected, f: &Failure, missing_grade: Grade, missing: &str) -> Finding {
    match f {
        Failure::NotFound => finding(e, missing_grade, missing),
        other => finding(e, Grade::Error, other.to_string()),
    }
}

/// A TXT answer, or a failure, narrowed to the records `keep` recognises.
fn txt_of(
    r: &Result<Answer<String>, Failure>,
    keep: fn(&str) -> bool,
) -> Result<Answer<String>, Failure> {
    match r {
        Ok(a) => {
            let records: Vec<String> = a.records.iter().filter(|t| keep(t)).cloned().collect();
            if records.is_empty() {
                Err(Failure::NotFound)
            } else {
                Ok(Answer {
                    records,
                    ttl: a.ttl,
                })
            }
        }
        Err(f) => Err(f.clone()),
    }
}

pub fn mx(e: &Expected, r: &Result<Answer<super::resolver::Mx>, Failure>) -> Finding {
    let a = match r {
        Ok(a) => a,
        Err(f) => {
            return failed(
                e,
                f,
                Grade::Error,
                "no MX record: senders fall back to the A record or bounce the mail",
            )
        }
    };
    let want = e
        .value
        .split_whitespace()
        .last()
        .map(norm_name)
        .unwrap_or_default();
    let hosts: Vec<String> = a.records.iter().map(|m| norm_name(&m.exchange)).collect();
    let f = if hosts.contains(&want) {
        finding(e, Grade::Ok, format!("MX points to {want}"))
    } else {
        finding(
            e,
            Grade::Error,
            format!(
                "MX points elsewhere ({}), not to {want}: mail for this domain does not reach this server",
                hosts.join(", ")
            ),
        )
    };
    f.with(a)
}

/// `count`: the DNS lookups the record costs, nested includes included
/// (Err: why it could not be counted, e.g. an include without SPF).
/// The sending IPs' verdicts in words, worst kind first: those the record
/// refuses, then those it could not be followed for.
fn unauthorised(auth: &[(std::net::IpAddr, spf::Verdict)]) -> Option<(Grade, String)> {
    let not: Vec<String> = auth
        .iter()
        .filter_map(|(ip, v)| match v {
            spf::Verdict::Not(how) => Some(format!("{ip} gets {how}")),
            _ => None,
        })
        .collect();
    if !not.is_empty() {
        return Some((
            Grade::Error,
            format!(
                "a sending IP is not authorised: {}; receivers treat this host's mail as forged (add ip4:/ip6: terms, or `domain dns --zone` for the record)",
                not.join("; ")
            ),
        ));
    }
    let unknown: Vec<String> = auth
        .iter()
        .filter_map(|(ip, v)| match v {
            spf::Verdict::Unknown(why) => Some(format!("{ip}: {why}")),
            _ => None,
        })
        .collect();
    (!unknown.is_empty()).then(|| {
        (
            Grade::Warning,
            format!(
                "cannot tell whether the sending IPs may send ({})",
                unknown.join("; ")
            ),
        )
    })
}

/// `auth`: each configured sending IP and whether the record lets it
/// send (empty when none are configured).
pub fn spf(
    e: &Expected,
    r: &Result<Answer<String>, Failure>,
    count: Option<Result<usize, String>>,
    auth: &[(std::net::IpAddr, spf::Verdict)],
) -> Finding {
    let a = match txt_of(r, spf::is_spf) {
        Ok(a) => a,
        Err(f) => {
            return failed(
                e,
                &f,
                Grade::Error,
                "no SPF record: receivers cannot tell who may send as this domain",
            )
        }
    };
    if a.records.len() > 1 {
        return finding(
            e,
            Grade::Error,
            format!(
                "{} SPF records: RFC 7208 makes that a permanent error, so SPF fails for every message",
                a.records.len()
            ),
        )
        .with(&a);
    }
    let parsed = spf::parse(&a.records[0]);
    let f = if parsed.all == Some('+') {
        finding(
            e,
            Grade::Error,
            "+all lets every host on the internet send as this domain",
        )
    } else if !parsed.unknown.is_empty() {
        finding(
            e,
            Grade::Error,
            format!("not SPF syntax: {}", parsed.unknown.join(" ")),
        )
    } else {
        match count {
            Some(Ok(n)) if n > spf::MAX_LOOKUPS => finding(
                e,
                Grade::Error,
                format!(
                    "{n} DNS lookups (include, a, mx, ptr, exists, redirect, nested includes counted): more than the {} RFC 7208 4.6.4 allows, so SPF fails",
                    spf::MAX_LOOKUPS
                ),
            ),
            Some(Err(why)) => finding(e, Grade::Error, why),
            _ => match unauthorised(auth) {
                Some((grade, why)) => finding(e, grade, why),
                None => {
                    let lookups = match count {
                        Some(Ok(n)) => format!(", {n} of {} DNS lookups", spf::MAX_LOOKUPS),
                        _ => String::new(),
                    };
                    let ips = if auth.is_empty() {
                        String::new()
                    } else {
                        let list: Vec<String> = auth.iter().map(|(ip, _)| ip.to_string()).collect();
                        format!(", authorises {}", list.join(", "))
                    };
                    finding(e, Grade::Ok, format!("SPF present{lookups}{ips}"))
                }
            },
        }
    };
    f.with(&a)
}

/// The `p=` value of a DKIM record, whitespace removed (None: no p= tag).
pub fn dkim_key(txt: &str) -> Option<String> {
    txt.split(';').find_map(|tag| {
        let (k, v) = tag.split_once('=')?;
        (k.trim() == "p").then(|| v.chars().filter(|c| !c.is_whitespace()).collect())
    })
}

pub fn dkim(e: &Expected, r: &Result<Answer<String>, Failure>) -> Finding {
    let state = e.dkim_state.as_deref().unwrap_or("active");
    let want = dkim_key(&e.value).unwrap_or_default();
    let a = match txt_of(r, |t| {
        t.contains("p=") || t.to_ascii_lowercase().contains("v=dkim1")
    }) {
        Ok(a) => a,
        Err(f) => {
            let (grade, why) = match state {
                "active" => (Grade::Error, "no DKIM record for the active key: receivers cannot verify this domain's signatures"),
                "pending" => (Grade::Warning, "no DKIM record yet for the pending key: publish it before activating"),
                "retiring" => (Grade::Warning, "no DKIM record for the retiring key: mail signed with it before the switch no longer verifies"),
                _ => (Grade::Ok, "revoked key not published (an empty p= is preferred, RFC 6376 3.6.1)"),
            };
            return failed(e, &f, grade, why);
        }
    };
    let keys: Vec<Option<String>> = a.records.iter().map(|t| dkim_key(t)).collect();
    let f = if state == "revoked" {
        if keys.iter().all(|k| k.as_deref() == Some("")) {
            finding(e, Grade::Ok, "revoked: p= is empty, as it should be")
        } else {
            finding(
                e,
                Grade::Warning,
                "revoked key still published: replace the record by one with an empty p=",
            )
        }
    } else if keys.len() > 1 {
        finding(
            e,
            Grade::Error,
            "more than one DKIM record under this selector",
        )
    } else if keys[0].as_deref() == Some(want.as_str()) {
        finding(
            e,
            Grade::Ok,
            format!("DKIM key matches the stored {state} key"),
        )
    } else if keys[0].as_deref() == Some("") {
        finding(
            e,
            Grade::Error,
            format!("the record has an empty p= (revoked) but the key is {state} here"),
        )
    } else {
        finding(
            e,
            if state == "active" {
                Grade::Error
            } else {
                Grade::Warning
            },
            format!(
                "the published key differs from the stored {state} key: signatures will not verify"
            ),
        )
    };
    f.with(&a)
}

pub fn dmarc(e: &Expected, r: &Result<Answer<String>, Failure>) -> Finding {
    let a =
        match txt_of(r, dmarc::is_dmarc) {
            Ok(a) => a,
            Err(f) => return failed(
                e,
                &f,
                Grade::Error,
                "no DMARC record: large receivers require one, and spoofed mail is not rejected",
            ),
        };
    if a.records.len() > 1 {
        return finding(
            e,
            Grade::Error,
            "more than one DMARC record: receivers use none of them",
        )
        .with(&a);
    }
    let v = dmarc::judge(&a.records[0]);
    let f = if !v.errors.is_empty() {
        finding(
            e,
            Grade::Error,
            format!("invalid DMARC record: {}", v.errors.join("; ")),
        )
    } else if v.policy.as_deref() == Some("none") {
        finding(
            e,
            Grade::Warning,
            "p=none: receivers only report, spoofed mail is still delivered",
        )
    } else if !v.warnings.is_empty() {
        finding(e, Grade::Warning, v.warnings.join("; "))
    } else {
        finding(
            e,
            Grade::Ok,
            format!("DMARC p={}", v.policy.unwrap_or_default()),
        )
    };
    f.with(&a)
}

fn tag_record(
    e: &Expected,
    r: &Result<Answer<String>, Failure>,
    version: &str,
    required: &str,
    missing: &str,
) -> Finding {
    let keep_version = |t: &str| t.trim_start().starts_with(version);
    let found = match r {
        Ok(a) => Answer {
            records: a
                .records
                .iter()
                .filter(|t| keep_version(t))
                .cloned()
                .collect(),
            ttl: a.ttl,
        },
        Err(f) => return failed(e, f, Grade::Warning, missing),
    };
    if found.records.is_empty() {
        return finding(e, Grade::Warning, missing);
    }
    let has_tag = found.records.len() == 1
        && found.records[0]
            .split(';')
            .filter_map(|t| t.split_once('='))
            .any(|(k, v)| k.trim() == required && !v.trim().is_empty());
    let f = if has_tag {
        finding(e, Grade::Ok, format!("{version} record with {required}="))
    } else if found.records.len() > 1 {
        finding(e, Grade::Error, format!("more than one {version} record"))
    } else {
        finding(
            e,
            Grade::Error,
            format!("{version} record without {required}="),
        )
    };
    f.with(&found)
}

pub fn mta_sts(e: &Expected, r: &Result<Answer<String>, Failure>) -> Finding {
    tag_record(
        e,
        r,
        "v=STSv1",
        "id",
        "no MTA-STS record: senders do not look for the TLS policy",
    )
}

pub fn tls_rpt(e: &Expected, r: &Result<Answer<String>, Failure>) -> Finding {
    tag_record(
        e,
        r,
        "v=TLSRPTv1",
        "rua",
        "no TLS-RPT record: nobody hears about TLS failures",
    )
}

pub fn srv(e: &Expected, r: &Result<Answer<super::resolver::Srv>, Failure>) -> Finding {
    let a = match r {
        Ok(a) => a,
        Err(f) => {
            return failed(
                e,
                f,
                Grade::Warning,
                "no SRV record: mail clients cannot find the server by themselves",
            )
        }
    };
    let mut want = e.value.split_whitespace();
    let port = want.nth(2).unwrap_or_default().to_string();
    let host = want.next().map(norm_name).unwrap_or_default();
    let f = if a
        .records
        .iter()
        .any(|s| norm_name(&s.target) == host && s.port.to_string() == port)
    {
        finding(e, Grade::Ok, format!("points to {host} port {port}"))
    } else {
        finding(
            e,
            Grade::Warning,
            format!("points elsewhere, not to {host} port {port}"),
        )
    };
    f.with(a)
}

/// autoconfig, autodiscover, mta-sts: a CNAME to the mail host, or at
/// least an address.
pub fn host_alias(
    e: &Expected,
    cname: &Result<Answer<String>, Failure>,
    ips: &Result<Answer<std::net::IpAddr>, Failure>,
) -> Finding {
    let host = norm_name(&e.value);
    if let Ok(a) = cname {
        let f = if a.records.iter().any(|c| norm_name(c) == host) {
            finding(e, Grade::Ok, format!("CNAME to {host}"))
        } else {
            finding(
                e,
                Grade::Warning,
                format!("CNAME to another host, not {host}"),
            )
        };
        return f.with(a);
    }
    match ips {
        Ok(a) => finding(
            e,
            Grade::Ok,
            "has an address (not a CNAME to the mail host)",
        )
        .with(a),
        Err(f) => failed(
            e,
            f,
            Grade::Warning,
            "missing: clients cannot set themselves up from it",
        ),
    }
}

/// FCrDNS for one sending IP: its PTR names a host whose addresses include it.
pub fn ptr(
    ip: std::net::IpAddr,
    host: &str,
    ptr: &Result<Answer<String>, Failure>,
    forward: Option<&Result<Answer<std::net::IpAddr>, Failure>>,
) -> Finding {
    let base = Finding {
        name: ip.to_string(),
        purpose: Purpose::Ptr,
        grade: Grade::Ok,
        reason: String::new(),
        expected: format!("{host}."),
        found: Vec::new(),
        ttl: None,
    };
    let say = |grade: Grade, reason: String| Finding {
        grade,
        reason,
        ..base.clone()
    };
    let a = match ptr {
        Ok(a) => a,
        Err(Failure::NotFound) => {
            return say(
                Grade::Error,
                format!(
                "no PTR record for {ip}: many receivers refuse mail from an address without one"
            ),
            )
        }
        Err(f) => return say(Grade::Error, f.to_string()),
    };
    let names: Vec<String> = a.records.iter().map(|n| norm_name(n)).collect();
    let f = match forward {
        Some(Ok(fw)) if fw.records.contains(&ip) => {
            if names.iter().any(|n| n == host) {
                say(
                    Grade::Ok,
                    format!("PTR {} resolves back to {ip}", names.join(", ")),
                )
            } else {
                say(
                    Grade::Warning,
                    format!(
                        "PTR {} resolves back to {ip}, but is not the mail host {host}",
                        names.join(", ")
                    ),
                )
            }
        }
        Some(Err(f @ (Failure::Timeout(_) | Failure::Other(_)))) => {
            say(Grade::Error, f.to_string())
        }
        _ => say(
            Grade::Error,
            format!(
                "PTR {} does not resolve back to {ip} (no forward-confirmed reverse DNS)",
                names.join(", ")
            ),
        ),
    };
    f.with(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::expected::Rtype;

    fn spf_expected() -> Expected {
        Expected {
            name: "a.test".into(),
            rtype: Rtype::Txt,
            value: "v=spf1 mx ip4:192.0.2.25 -all".into(),
            purpose: Purpose::Spf,
            dkim_state: None,
        }
    }

    fn found(txt: &str) -> Result<Answer<String>, Failure> {
        Ok(Answer {
            records: vec![txt.into()],
            ttl: Some(300),
        })
    }

    /// A sending IP the record does not let send is an error naming the
    /// IP and what it gets; one it cannot be followed for, a warning; all
    /// passing, ok with the IPs listed.
    #[test]
    fn sending_ips_against_the_record() {
        let e = spf_expected();
        let r = found("v=spf1 ip4:198.51.100.0/24 ~all");
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let not = [(
            ip("192.0.2.25"),
            spf::Verdict::Not("softfail (~all or a ~ term matches it)".into()),
        )];
        let f = spf(&e, &r, Some(Ok(0)), &not);
        assert_eq!(f.grade, Grade::Error);
        assert!(
            f.reason
                .starts_with("a sending IP is not authorised: 192.0.2.25 gets softfail"),
            "{}",
            f.reason
        );
        let unknown = [(
            ip("192.0.2.25"),
            spf::Verdict::Unknown("x.test: resolver timeout".into()),
        )];
        let f = spf(&e, &r, Some(Ok(0)), &unknown);
        assert_eq!(f.grade, Grade::Warning, "{}", f.reason);
        let pass = [
            (ip("192.0.2.25"), spf::Verdict::Pass),
            (ip("2001:db8::25"), spf::Verdict::Pass),
        ];
        let f = spf(&e, &r, Some(Ok(1)), &pass);
        assert_eq!(f.grade, Grade::Ok);
        assert_eq!(
            f.reason,
            "SPF present, 1 of 10 DNS lookups, authorises 192.0.2.25, 2001:db8::25"
        );
        // No sending IPs configured: nothing to authorise.
        let f = spf(&e, &r, Some(Ok(0)), &[]);
        assert_eq!(f.reason, "SPF present, 0 of 10 DNS lookups");
        // The other SPF errors still come first.
        let f = spf(&e, &found("v=spf1 +all"), Some(Ok(0)), &pass);
        assert!(f.reason.starts_with("+all"), "{}", f.reason);
    }
}
