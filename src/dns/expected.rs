//! The records a domain must publish, from the data (its DKIM keys) and
//! `[dns]` (mail host, sending IPs, DMARC policy, MTA-STS mode). The same
//! list drives `domain dns --zone` and `domain check`, so the snippet and
//! the checker cannot disagree.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::norm_name;
use crate::config::DnsSettings;
use crate::dkim::record::TxtRecord;
use crate::error::{OpError, OpResult};

/// TTL written into the snippet: an hour, short enough to fix mistakes.
pub const ZONE_TTL: u32 = 3600;

/// What a record is for; the checks and their words follow from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Mx,
    Spf,
    Dkim,
    Dmarc,
    MtaSts,
    MtaStsHost,
    TlsRpt,
    Imaps,
    Submission,
    Autoconfig,
    Autodiscover,
    /// Host-wide: a sending IP's reverse name (checked with every domain).
    Ptr,
}

impl Purpose {
    pub fn label(self) -> &'static str {
        match self {
            Purpose::Mx => "MX",
            Purpose::Spf => "SPF",
            Purpose::Dkim => "DKIM",
            Purpose::Dmarc => "DMARC",
            Purpose::MtaSts => "MTA-STS",
            Purpose::MtaStsHost => "MTA-STS host",
            Purpose::TlsRpt => "TLS-RPT",
            Purpose::Imaps => "IMAPS SRV",
            Purpose::Submission => "submission SRV",
            Purpose::Autoconfig => "autoconfig",
            Purpose::Autodiscover => "autodiscover",
            Purpose::Ptr => "PTR",
        }
    }

    /// Why the record matters, for the docs and `domain dns`.
    pub fn why(self) -> &'static str {
        match self {
            Purpose::Mx => "where other servers deliver this domain's mail",
            Purpose::Spf => "which hosts may send as this domain (RFC 7208)",
            Purpose::Dkim => "the public key receivers verify signatures with (RFC 6376)",
            Purpose::Dmarc => {
                "what receivers do when SPF and DKIM fail, and where reports go (RFC 7489)"
            }
            Purpose::MtaSts => "tells senders a TLS policy exists and its version (RFC 8461)",
            Purpose::MtaStsHost => "the web host serving /.well-known/mta-sts.txt",
            Purpose::TlsRpt => "where senders report TLS failures (RFC 8460)",
            Purpose::Imaps => "lets mail clients find the IMAP server (RFC 6186)",
            Purpose::Submission => "lets mail clients find the submission server (RFC 6186)",
            Purpose::Autoconfig => "Thunderbird-style client set-up",
            Purpose::Autodiscover => "Outlook-style client set-up",
            Purpose::Ptr => "the sending IP's name; receivers check that it resolves back (FCrDNS)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rtype {
    #[serde(rename = "MX")]
    Mx,
    #[serde(rename = "TXT")]
    Txt,
    #[serde(rename = "SRV")]
    Srv,
    #[serde(rename = "CNAME")]
    Cname,
}

impl Rtype {
    pub fn as_str(self) -> &'static str {
        match self {
            Rtype::Mx => "MX",
            Rtype::Txt => "TXT",
            Rtype::Srv => "SRV",
            Rtype::Cname => "CNAME",
        }
    }
}

/// One DKIM key of a name, as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimKeyFact {
    pub selector: String,
    /// pending, active, retiring or revoked.
    pub state: String,
    /// The record to publish (`p=` empty once revoked).
    pub record: TxtRecord,
}

/// A name that receives mail here: a hosted domain or an alias domain,
/// with the DKIM keys published under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NameFacts {
    pub name: String,
    /// The hosted domain, for an alias domain.
    pub alias_of: Option<String>,
    pub dkim: Vec<DkimKeyFact>,
}

/// One record to publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Fully qualified, lower case, without the trailing dot.
    pub name: String,
    pub rtype: Rtype,
    /// The record data: `10 host.` (MX), the text (TXT, unsplit),
    /// `0 1 993 host.` (SRV), `host.` (CNAME).
    pub value: String,
    pub purpose: Purpose,
    /// DKIM only: the selector and the key's state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dkim_state: Option<String>,
}

/// What a domain and its alias domains must publish, name by name.
pub type ExpectedSet = Vec<(NameFacts, Vec<Expected>)>;

fn rec(name: String, rtype: Rtype, value: String, purpose: Purpose) -> Expected {
    Expected {
        name,
        rtype,
        value,
        purpose,
        dkim_state: None,
    }
}

/// The mail host as configured, normalised; refused when unset.
pub fn mail_host(s: &DnsSettings) -> OpResult<String> {
    let h = norm_name(&s.mail_host);
    if h.is_empty() {
        return Err(OpError::invalid(
            "dns.mail_host",
            "must be set in the config ([dns] mail_host = \"mail.example.com\"): every MX, SRV and autoconfig record points at it",
        ));
    }
    Ok(h)
}

/// `v=spf1 mx ip4:... ip6:... -all`: the MX hosts and the sending IPs may
/// send, nobody else (1 DNS lookup of the 10 allowed).
pub fn spf_value(s: &DnsSettings) -> String {
    let mut v = String::from("v=spf1 mx");
    for ip in &s.sending_ips {
        match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a)) => v.push_str(&format!(" ip4:{a}")),
            Ok(std::net::IpAddr::V6(a)) => v.push_str(&format!(" ip6:{a}")),
            Err(_) => {}
        }
    }
    v.push_str(" -all");
    v
}

pub fn dmarc_value(s: &DnsSettings) -> String {
    let mut v = format!("v=DMARC1; p={}", s.dmarc_policy);
    if !s.dmarc_rua.trim().is_empty() {
        v.push_str(&format!("; rua=mailto:{}", s.dmarc_rua.trim()));
    }
    v
}

/// The MTA-STS policy id: changes whenever what the policy says changes
/// (mode, MX), which is what tells senders to fetch it again.
pub fn mta_sts_id(s: &DnsSettings, host: &str) -> String {
    let h = Sha256::digest(format!("{}|{host}", s.mta_sts_mode).as_bytes());
    let hex: String = h.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("pm{hex}")
}

fn tls_rpt_address(s: &DnsSettings) -> Option<&str> {
    [s.tls_rpt_rua.trim(), s.dmarc_rua.trim()]
        .into_iter()
        .find(|a| !a.is_empty())
}

/// Every record `name` must publish.
pub fn for_name(s: &DnsSettings, facts: &NameFacts) -> OpResult<Vec<Expected>> {
    let host = mail_host(s)?;
    let d = norm_name(&facts.name);
    let mut out = vec![
        rec(d.clone(), Rtype::Mx, format!("10 {host}."), Purpose::Mx),
        rec(d.clone(), Rtype::Txt, spf_value(s), Purpose::Spf),
    ];
    for k in &facts.dkim {
        out.push(Expected {
            dkim_state: Some(k.state.clone()),
            ..rec(
                norm_name(&k.record.name),
                Rtype::Txt,
                k.record.value.clone(),
                Purpose::Dkim,
            )
        });
    }
    out.push(rec(
        format!("_dmarc.{d}"),
        Rtype::Txt,
        dmarc_value(s),
        Purpose::Dmarc,
    ));
    if s.mta_sts_mode != "none" {
        out.push(rec(
            format!("_mta-sts.{d}"),
            Rtype::Txt,
            format!("v=STSv1; id={}", mta_sts_id(s, &host)),
            Purpose::MtaSts,
        ));
        out.push(rec(
            format!("mta-sts.{d}"),
            Rtype::Cname,
            format!("{host}."),
            Purpose::MtaStsHost,
        ));
    }
    if let Some(a) = tls_rpt_address(s) {
        out.push(rec(
            format!("_smtp._tls.{d}"),
            Rtype::Txt,
            format!("v=TLSRPTv1; rua=mailto:{a}"),
            Purpose::TlsRpt,
        ));
    }
    out.push(rec(
        format!("_imaps._tcp.{d}"),
        Rtype::Srv,
        format!("0 1 993 {host}."),
        Purpose::Imaps,
    ));
    out.push(rec(
        format!("_submission._tcp.{d}"),
        Rtype::Srv,
        format!("0 1 587 {host}."),
        Purpose::Submission,
    ));
    for (label, p) in [
        ("autoconfig", Purpose::Autoconfig),
        ("autodiscover", Purpose::Autodiscover),
    ] {
        out.push(rec(
            format!("{label}.{d}"),
            Rtype::Cname,
            format!("{host}."),
            p,
        ));
    }
    Ok(out)
}

/// TXT data as zone-file strings of at most 255 bytes (RFC 1035 3.3.14),
/// quotes and backslashes escaped.
fn txt_strings(value: &str) -> String {
    let escaped: Vec<String> = value
        .as_bytes()
        .chunks(255)
        .map(|c| {
            let s = String::from_utf8_lossy(c);
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    if escaped.len() == 1 {
        escaped.concat()
    } else {
        format!("( {} )", escaped.join(" "))
    }
}

/// One zone-file line, the name fully qualified so the line means the same
/// whatever `$ORIGIN` the file it is pasted into has.
pub fn zone_line(e: &Expected) -> String {
    let data = match e.rtype {
        Rtype::Txt => txt_strings(&e.value),
        _ => e.value.clone(),
    };
    format!("{}. {ZONE_TTL} IN {} {data}", e.name, e.rtype.as_str())
}

/// The BIND snippet for a domain and its alias domains: one section per
/// name (each belongs in that name's zone), then what cannot go there.
pub fn zone(s: &DnsSettings, names: &[(NameFacts, Vec<Expected>)]) -> String {
    let mut out = String::new();
    for (facts, records) in names {
        match &facts.alias_of {
            Some(t) => out.push_str(&format!(
                "; zone {} (alias domain of {t})\n",
                norm_name(&facts.name)
            )),
            None => out.push_str(&format!("; zone {}\n", norm_name(&facts.name))),
        }
        let mut last = None;
        for e in records {
            if last != Some(e.purpose) {
                out.push_str(&format!("; {}: {}\n", e.purpose.label(), e.purpose.why()));
                last = Some(e.purpose);
            }
            out.push_str(&zone_line(e));
            out.push('\n');
        }
        out.push('\n');
    }
    if let Ok(host) = mail_host(s) {
        out.push_str(&format!(
            "; Outside these zones: {host} needs A/AAAA records for the sending IPs, and each\n\
             ; sending IP a PTR record naming {host} (set where the address is leased).\n"
        ));
        for ip in &s.sending_ips {
            if let Ok(a) = ip.parse::<std::net::IpAddr>() {
                out.push_str(&format!("; PTR {} -> {host}.\n", reverse_name(a)));
            }
        }
    }
    out
}

/// The in-addr.arpa / ip6.arpa name of an address.
pub fn reverse_name(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(a) => {
            let o = a.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        std::net::IpAddr::V6(a) => {
            let mut nibbles = Vec::with_capacity(32);
            for b in a.octets().iter().rev() {
                nibbles.push(format!("{:x}", b & 0xf));
                nibbles.push(format!("{:x}", b >> 4));
            }
            format!("{}.ip6.arpa", nibbles.join("."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dkim::key::Algorithm;

    fn settings() -> DnsSettings {
        DnsSettings {
            mail_host: "MX.Example.NET.".into(),
            sending_ips: vec!["192.0.2.5".into(), "2001:db8::5".into()],
            dmarc_rua: "dmarc@example.net".into(),
            mta_sts_mode: "enforce".into(),
            ..DnsSettings::default()
        }
    }

    #[test]
    fn every_record_of_a_name() {
        let s = settings();
        let facts = NameFacts {
            name: "example.com".into(),
            alias_of: None,
            dkim: vec![DkimKeyFact {
                selector: "s1".into(),
                state: "active".into(),
                record: TxtRecord::new("example.com", "s1", Algorithm::Rsa, Some(&"A".repeat(300))),
            }],
        };
        let r = for_name(&s, &facts).unwrap();
        let find = |p: Purpose| r.iter().find(|e| e.purpose == p).unwrap();
        assert_eq!(find(Purpose::Mx).value, "10 mx.example.net.");
        assert_eq!(
            find(Purpose::Spf).value,
            "v=spf1 mx ip4:192.0.2.5 ip6:2001:db8::5 -all"
        );
        assert_eq!(find(Purpose::Dkim).name, "s1._domainkey.example.com");
        assert_eq!(find(Purpose::Dkim).dkim_state.as_deref(), Some("active"));
        assert_eq!(
            find(Purpose::Dmarc).value,
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.net"
        );
        assert!(find(Purpose::MtaSts).value.starts_with("v=STSv1; id=pm"));
        assert_eq!(find(Purpose::TlsRpt).name, "_smtp._tls.example.com");
        assert_eq!(find(Purpose::Imaps).value, "0 1 993 mx.example.net.");
        assert_eq!(find(Purpose::Autodiscover).name, "autodiscover.example.com");
        // A 2048-bit key's record is longer than one TXT string.
        let line = zone_line(find(Purpose::Dkim));
        assert!(line.contains("( \"v=DKIM1; k=rsa; p=AAA"), "{line}");
        assert!(line.contains("\" \"AAA"), "{line}");
    }

    #[test]
    fn optional_records_follow_the_config() {
        let s = DnsSettings {
            mail_host: "mx.example.net".into(),
            ..DnsSettings::default()
        };
        let facts = NameFacts {
            name: "example.com".into(),
            alias_of: None,
            dkim: vec![],
        };
        let r = for_name(&s, &facts).unwrap();
        assert!(r.iter().all(|e| e.purpose != Purpose::MtaSts));
        assert!(r.iter().all(|e| e.purpose != Purpose::TlsRpt));
        assert_eq!(
            r.iter().find(|e| e.purpose == Purpose::Spf).unwrap().value,
            "v=spf1 mx -all"
        );
        let e = for_name(&DnsSettings::default(), &facts)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("dns.mail_host: must be set"), "{e}");
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.5".parse().unwrap()),
            "5.2.0.192.in-addr.arpa"
        );
        assert!(reverse_name("2001:db8::5".parse().unwrap())
            .starts_with("5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"));
    }
}
