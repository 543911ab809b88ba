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
use super::{spf, Grade};
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

async fn check_spf(r: &Resolver, e: &Expected) -> Finding {
    let answer = r.txt(&e.name).await;
    let single = match &answer {
        Ok(a) => {
            let v: Vec<&String> = a.records.iter().filter(|t| spf::is_spf(t)).collect();
            (v.len() == 1).then(|| v[0].clone())
        }
        Err(_) => None,
    };
    let count = match single {
        Some(rec) => Some(spf_lookups(r, &rec).await),
        None => None,
    };
    grade::spf(e, &answer, count)
}

async fn check_one(r: &Resolver, e: &Expected) -> Finding {
    match e.purpose {
        Purpose::Mx => grade::mx(e, &r.mx(&e.name).await),
        Purpose::Spf => check_spf(r, e).await,
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
    let ips: Vec<IpAddr> = s
        .sending_ips
        .iter()
        .filter_map(|i| i.parse().ok())
        .collect();
    let checks = ips.into_iter().map(|ip| {
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

/// Every record of a domain and its alias domains, asked at once; `ptr`
/// (from `ptr_findings`) is added to the domain's findings.
pub async fn domain(
    r: &Resolver,
    domain: &str,
    set: &[(NameFacts, Vec<Expected>)],
    ptr: &[Finding],
) -> Report {
    let all: Vec<&Expected> = set.iter().flat_map(|(_, records)| records).collect();
    let mut findings = futures::future::join_all(all.into_iter().map(|e| check_one(r, e))).await;
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
    let mut out: Vec<(usize, K, Report)> = futures::stream::iter(domains.into_iter().enumerate())
        .map(|(i, (key, name, set))| async move {
            let report = domain(r, &name, &set, ptr).await;
            (i, key, report)
        })
        .buffer_unordered(s.concurrency.max(1))
        .collect()
        .await;
    out.sort_by_key(|(i, _, _)| *i);
    out.into_iter().map(|(_, k, r)| (k, r)).collect()
}
