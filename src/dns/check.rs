//! Asking DNS for every expected record of a domain at once, and for many
//! domains through a bounded pool. Every query is bounded by the resolver's
//! deadline, so a dead resolver costs each domain about one timeout, never
//! a hang.

use std::collections::{BTreeSet, VecDeque};
use std::net::IpAddr;

use futures::stream::StreamExt;
use serde::{Deserialize, Serialize};

use super::expected::{self, Expected, ExpectedSet, NameFacts, Purpose};
use super::grade::{self, Finding};
use super::resolver::{Answer, Failure, Resolver};
use super::{norm_name, spf, Grade};
use crate::config::DnsSettings;

/// The result of one domain (its alias domains included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub domain: String,
    pub grade: Grade,
    /// The worst finding in a line, or "all N checks ok".
    pub summary: String,
    pub findings: Vec<Finding>,
    /// The smallest TTL among the records seen, seconds.
    pub min_ttl: Option<u32>,
}

impl Report {
    pub fn new(domain: &str, findings: Vec<Finding>) -> Report {
        let grade = findings.iter().map(|f| f.grade).max().unwrap_or_default();
        // The first of the worst findings, and how many others are not ok.
        let worst = findings
            .iter()
            .find(|f| f.grade == grade && grade != Grade::Ok);
        let summary = match worst {
            Some(f) => {
                let others = findings.iter().filter(|f| f.grade > Grade::Ok).count() - 1;
                let more = if others > 0 {
                    format!(" (+{others} more)")
                } else {
                    String::new()
                };
                format!("{} {}: {}{more}", f.purpose.label(), f.name, f.reason)
            }
            None => format!("all {} checks ok", findings.len()),
        };
        let min_ttl = findings.iter().filter_map(|f| f.ttl).min();
        Report {
            domain: domain.to_string(),
            grade,
            summary,
            findings,
            min_ttl,
        }
    }
}

/// Most lookups followed while counting an SPF record's (past 10 it fails
/// anyway; the cap bounds a pathological chain).
const SPF_FOLLOW_CAP: usize = 30;

/// The DNS lookups `record` costs with its includes and redirects followed
/// (RFC 7208 4.6.4), or why they cannot be counted.
async fn spf_lookups(r: &Resolver, record: &str) -> Result<usize, String> {
    let mut count = 0;
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([spf::parse(record)]);
    while let Some(rec) = queue.pop_front() {
        for l in rec.lookups {
            count += 1;
            if count > SPF_FOLLOW_CAP {
                return Ok(count);
            }
            let Some(target) = l.follow else { continue };
            if !seen.insert(target.clone()) {
                continue;
            }
            let found: Vec<String> = match r.txt(&target).await {
                Ok(a) => a.records.into_iter().filter(|t| spf::is_spf(t)).collect(),
                Err(Failure::NotFound) => Vec::new(),
                Err(f) => return Err(format!("{}: {f}", l.term)),
            };
            match found.as_slice() {
                [one] => queue.push_back(spf::parse(one)),
                [] => {
                    return Err(format!(
                        "{}: {target} has no SPF record, a permanent error for receivers",
                        l.term
                    ))
                }
                _ => return Err(format!("{}: {target} has more than one SPF record", l.term)),
            }
        }
    }
    Ok(count)
}

/// Where an evaluation stands: the lookups it may still make (RFC 7208
/// 4.6.4's 10, with room for the ones `spf_lookups` reports on), and what
/// stopped a term from being evaluated.
struct Walk {
    budget: usize,
    skipped: Vec<String>,
}

/// The record `name` publishes, if exactly one; else why not.
async fn spf_record(r: &Resolver, name: &str) -> Result<String, String> {
    let found: Vec<String> = match r.txt(name).await {
        Ok(a) => a.records.into_iter().filter(|t| spf::is_spf(t)).collect(),
        Err(Failure::NotFound) => Vec::new(),
        Err(f) => return Err(format!("{name}: {f}")),
    };
    match <[String; 1]>::try_from(found) {
        Ok([one]) => Ok(one),
        Err(v) if v.is_empty() => Err(format!("{name} has no SPF record")),
        Err(_) => Err(format!("{name} has more than one SPF record")),
    }
}

/// A term as an admin wrote it (the default `+` left out).
fn term_text(d: &spf::Directive) -> String {
    let q = if d.qualifier == '+' {
        String::new()
    } else {
        d.qualifier.to_string()
    };
    match &d.arg {
        Some(a) => format!("{q}{}:{a}", d.mechanism),
        None => format!("{q}{}", d.mechanism),
    }
}

/// Does any address of `host` fall in the directive's network?
async fn host_matches(
    r: &Resolver,
    host: &str,
    ip: IpAddr,
    d: &spf::Directive,
) -> Result<bool, String> {
    let len = if ip.is_ipv4() { d.cidr4 } else { d.cidr6 };
    let net_of = |a: &IpAddr| {
        let a = *a;
        spf::in_network(ip, a, len)
    };
    match r.ips(host).await {
        Ok(a) => Ok(a.records.iter().any(net_of)),
        Err(Failure::NotFound) => Ok(false),
        Err(f) => Err(format!("{host}: {f}")),
    }
}

/// The qualifier of the first directive of `record` (published by
/// `domain`) that matches `ip`, following include and redirect as a
/// receiver would; None: nothing matched (neutral). Err: a lookup failed
/// or the budget ran out, so no receiver gets an answer either.
fn evaluate<'a>(
    r: &'a Resolver,
    domain: &'a str,
    record: String,
    ip: IpAddr,
    walk: &'a mut Walk,
) -> futures::future::LocalBoxFuture<'a, Result<Option<char>, String>> {
    Box::pin(async move {
        let p = spf::policy(&record);
        for d in &p.directives {
            let target = d
                .arg
                .as_deref()
                .map_or_else(|| domain.to_string(), norm_name);
            let queries = matches!(
                d.mechanism.as_str(),
                "include" | "a" | "mx" | "ptr" | "exists"
            );
            if queries {
                if target.contains('%') || matches!(d.mechanism.as_str(), "ptr" | "exists") {
                    // Only a real message gives macros and ptr their meaning.
                    walk.skipped.push(term_text(d));
                    continue;
                }
                walk.budget = walk
                    .budget
                    .checked_sub(1)
                    .ok_or_else(|| format!("more than {} DNS lookups", spf::MAX_LOOKUPS))?;
            }
            let hit = match d.mechanism.as_str() {
                "all" => true,
                "ip4" | "ip6" => {
                    let len = if d.mechanism == "ip4" {
                        d.cidr4
                    } else {
                        d.cidr6
                    };
                    d.arg
                        .as_deref()
                        .and_then(|a| a.parse::<IpAddr>().ok())
                        .is_some_and(|net| spf::in_network(ip, net, len))
                }
                "a" => host_matches(r, &target, ip, d).await?,
                "mx" => {
                    let hosts = match r.mx(&target).await {
                        Ok(a) => a.records,
                        Err(Failure::NotFound) => Vec::new(),
                        Err(f) => return Err(format!("{target}: {f}")),
                    };
                    let mut hit = false;
                    for h in hosts {
                        if host_matches(r, &norm_name(&h.exchange), ip, d).await? {
                            hit = true;
                            break;
                        }
                    }
                    hit
                }
                "include" => {
                    let inner = spf_record(r, &target).await?;
                    evaluate(r, &target, inner, ip, walk).await? == Some('+')
                }
                _ => {
                    walk.skipped.push(term_text(d));
                    false
                }
            };
            if hit {
                return Ok(Some(d.qualifier));
            }
        }
        match p.redirect.as_deref().map(norm_name) {
            Some(t) if !t.contains('%') => {
                walk.budget = walk
                    .budget
                    .checked_sub(1)
                    .ok_or_else(|| format!("more than {} DNS lookups", spf::MAX_LOOKUPS))?;
                let inner = spf_record(r, &t).await?;
                evaluate(r, &t, inner, ip, walk).await
            }
            _ => Ok(None),
        }
    })
}

/// May `ip` send as `domain` under `record`?
async fn authorises(r: &Resolver, domain: &str, record: &str, ip: IpAddr) -> spf::Verdict {
    let mut walk = Walk {
        budget: SPF_FOLLOW_CAP,
        skipped: Vec::new(),
    };
    match evaluate(r, domain, record.to_string(), ip, &mut walk).await {
        Ok(Some('+')) => spf::Verdict::Pass,
        Ok(q) if walk.skipped.is_empty() => spf::Verdict::Not(match q {
            Some(q) => format!("{} ({q}all or a {q} term matches it)", spf::result_word(q)),
            None => "neutral (no term matches it)".into(),
        }),
        Ok(_) => spf::Verdict::Unknown(format!(
            "it is not listed, and {} can only be evaluated for a real message",
            walk.skipped.join(", ")
        )),
        Err(why) => spf::Verdict::Unknown(why),
    }
}

async fn check_spf(r: &Resolver, e: &Expected, sending: &[IpAddr]) -> Finding {
    let answer = r.txt(&e.name).await;
    let single = match &answer {
        Ok(a) => {
            let v: Vec<&String> = a.records.iter().filter(|t| spf::is_spf(t)).collect();
            (v.len() == 1).then(|| v[0].clone())
        }
        Err(_) => None,
    };
    let (count, auth) = match single {
        Some(rec) => {
            let count = spf_lookups(r, &rec).await;
            let auth = futures::future::join_all(sending.iter().map(|ip| {
                let rec = &rec;
                async move { (*ip, authorises(r, &e.name, rec, *ip).await) }
            }))
            .await;
            (Some(count), auth)
        }
        None => (None, Vec::new()),
    };
    grade::spf(e, &answer, count, &auth)
}

async fn check_one(r: &Resolver, e: &Expected, sending: &[IpAddr]) -> Finding {
    match e.purpose {
        Purpose::Mx => grade::mx(e, &r.mx(&e.name).await),
        Purpose::Spf => check_spf(r, e, sending).await,
        Purpose::Dkim => grade::dkim(e, &r.txt(&e.name).await),
        Purpose::Dmarc => grade::dmarc(e, &r.txt(&e.name).await),
        Purpose::MtaSts => grade::mta_sts(e, &r.txt(&e.name).await),
        Purpose::TlsRpt => grade::tls_rpt(e, &r.txt(&e.name).await),
        Purpose::Imaps | Purpose::Submission => grade::srv(e, &r.srv(&e.name).await),
        // Ptr is host-wide (`ptr_findings`), never a domain's expectation.
        Purpose::Autoconfig | Purpose::Autodiscover | Purpose::MtaStsHost | Purpose::Ptr => {
            let cname = r.cname(&e.name).await;
            let ips = match &cname {
                Ok(_) => Err(Failure::NotFound),
                Err(Failure::NotFound) => r.ips(&e.name).await,
                Err(f) => Err(f.clone()),
            };
            grade::host_alias(e, &cname, &ips)
        }
    }
}

fn min_ttl(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// FCrDNS of every sending IP: host-wide, so asked once per run.
pub async fn ptr_findings(r: &Resolver, s: &DnsSettings) -> Vec<Finding> {
    let host = match expected::mail_host(s) {
        Ok(h) => h,
        Err(_) => return Vec::new(),
    };
    let checks = sending_ips(s).into_iter().map(|ip| {
        let host = host.clone();
        async move {
            let names = r.ptr(ip).await;
            let forward: Option<Result<Answer<IpAddr>, Failure>> = match &names {
                Ok(a) => {
                    let mut all = Answer {
                        records: Vec::new(),
                        ttl: None,
                    };
                    let mut failure = None;
                    for n in &a.records {
                        match r.ips(n).await {
                            Ok(f) => {
                                all.records.extend(f.records);
                                all.ttl = min_ttl(all.ttl, f.ttl);
                            }
                            Err(f @ (Failure::Timeout(_) | Failure::Other(_))) => failure = Some(f),
                            Err(Failure::NotFound) => {}
                        }
                    }
                    Some(match failure {
                        Some(f) if all.records.is_empty() => Err(f),
                        _ => Ok(all),
                    })
                }
                Err(_) => None,
            };
            grade::ptr(ip, &host, &names, forward.as_ref())
        }
    });
    futures::future::join_all(checks).await
}

/// The configured sending IPs (`DnsSettings::check` refused bad ones).
pub fn sending_ips(s: &DnsSettings) -> Vec<IpAddr> {
    s.sending_ips
        .iter()
        .filter_map(|i| i.parse().ok())
        .collect()
}

/// Every record of a domain and its alias domains, asked at once; `ptr`
/// (from `ptr_findings`) is added to the domain's findings; each name's
/// SPF record must let every address of `sending` send.
pub async fn domain(
    r: &Resolver,
    domain: &str,
    set: &[(NameFacts, Vec<Expected>)],
    ptr: &[Finding],
    sending: &[IpAddr],
) -> Report {
    let all: Vec<&Expected> = set.iter().flat_map(|(_, records)| records).collect();
    let mut findings =
        futures::future::join_all(all.into_iter().map(|e| check_one(r, e, sending))).await;
    findings.extend(ptr.iter().cloned());
    Report::new(domain, findings)
}

/// Many domains, at most `concurrency` at a time; results in input order.
pub async fn many<K: Clone>(
    r: &Resolver,
    s: &DnsSettings,
    domains: Vec<(K, String, ExpectedSet)>,
) -> Vec<(K, Report)> {
    let ptr = ptr_findings(r, s).await;
    let ptr = &ptr;
    let sending = sending_ips(s);
    let sending = &sending;
    let mut out: Vec<(usize, K, Report)> = futures::stream::iter(domains.into_iter().enumerate())
        .map(|(i, (key, name, set))| async move {
            let report = domain(r, &name, &set, ptr, sending).await;
            (i, key, report)
        })
        .buffer_unordered(s.concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, k, r)| (k, r)).collect()
}
