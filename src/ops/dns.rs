//! The deliverability check (issue 18): what each domain's DNS must say
//! (`domain dns`), whether it does (`domain check`), and the cached results
//! the TUI and `health --dns` read. Resolving happens outside any
//! transaction; only storing the results takes the write lock.
//!
//! Who may: anyone who may read the domain (a user role only its granted
//! domains). The cached rows are observations of the outside world, not
//! configuration, so a readonly admin may refresh them too; every refresh
//! is audited (one row per run, however many domains).

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{now, run_write, Ctx, Done, Principal};
use crate::config::DnsSettings;
use crate::db::models::Domain;
use crate::db::schema::dns_checks;
use crate::db::AnyConnection;
use crate::dkim::key::Algorithm;
use crate::dkim::record::TxtRecord;
use crate::dns::check::{self, Report};
use crate::dns::expected::{self, DkimKeyFact, ExpectedSet, NameFacts};
use crate::dns::grade::Finding;
use crate::dns::{resolver, Grade};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
use crate::store;
use crate::store::dns_checks::DnsCheck;
use crate::validate;

/// A hosted domain the principal may read, by name.
fn readable(c: &mut AnyConnection, who: &Principal, name: &str) -> OpResult<Domain> {
    let norm = validate::domain("domain", name)?;
    match store::domains::by_name(c, &norm)? {
        Some(d) if who.can_read_domain(d.id) => Ok(d),
        _ => {
            if let Some(a) = store::alias_domains::by_name(c, &norm)? {
                if who.can_read_domain(a.target_domain_id) {
                    return Err(OpError::invalid(
                        "domain",
                        format!(
                            "{norm} is an alias domain; name its domain (its records are listed and checked with it)"
                        ),
                    ));
                }
            }
            Err(OpError::not_found_in("domain", "domain", norm))
        }
    }
}

/// The keys published under `name`: its own, or (an alias domain without
/// keys of its own) its target's under its name, as `dkim dns` has it.
fn dkim_facts(
    c: &mut AnyConnection,
    name: &str,
    target: Option<&str>,
) -> OpResult<Vec<DkimKeyFact>> {
    let mut rows = store::dkim_keys::of_domain(c, name)?;
    if rows.is_empty() {
        if let Some(t) = target {
            rows = store::dkim_keys::of_domain(c, t)?;
        }
    }
    rows.iter()
        .map(|k| {
            let algorithm = Algorithm::parse("algorithm", &k.algorithm)?;
            let public = (k.state != "revoked").then_some(k.public_key.as_str());
            Ok(DkimKeyFact {
                selector: k.selector.clone(),
                state: k.state.clone(),
                record: TxtRecord::new(name, &k.selector, algorithm, public),
            })
        })
        .collect()
}

/// The names of `d` (itself, then its alias domains) with their keys.
pub(crate) fn name_facts(c: &mut AnyConnection, d: &Domain) -> OpResult<Vec<NameFacts>> {
    let mut out = vec![NameFacts {
        name: d.name.clone(),
        alias_of: None,
        dkim: dkim_facts(c, &d.name, None)?,
    }];
    for alias in store::dns_checks::alias_names(c, d.id)? {
        out.push(NameFacts {
            dkim: dkim_facts(c, &alias, Some(&d.name))?,
            name: alias,
            alias_of: Some(d.name.clone()),
        });
    }
    Ok(out)
}

fn expected_of(c: &mut AnyConnection, s: &DnsSettings, d: &Domain) -> OpResult<ExpectedSet> {
    name_facts(c, d)?
        .into_iter()
        .map(|f| {
            let records = expected::for_name(s, &f)?;
            Ok((f, records))
        })
        .collect()
}

/// `domain dns DOMAIN`: every record the domain and its alias domains need.
pub fn expected(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    s: &DnsSettings,
    domain: &str,
) -> OpResult<ExpectedSet> {
    expected::mail_host(s)?;
    let who = Principal::load(conn, ctx)?;
    let d = readable(conn, &who, domain)?;
    expected_of(conn, s, &d)
}

/// Which domains `domain check` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    One(String),
    /// Every domain the principal may read.
    All,
}

/// One checked domain: its id and what DNS said.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub domain_id: i32,
    #[serde(flatten)]
    pub report: Report,
    pub checked_at: chrono::NaiveDateTime,
}

/// `domain check`: resolve every expected record of the target domains
/// (no transaction open meanwhile), grade them, and store each domain's
/// result in one audited write.
pub fn check(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    s: &DnsSettings,
    target: &Target,
) -> OpResult<Vec<Checked>> {
    expected::mail_host(s)?;
    let who = Principal::load(conn, ctx)?;
    let domains: Vec<Domain> = match target {
        Target::One(name) => vec![readable(conn, &who, name)?],
        Target::All => {
            let scope = who.domain_scope();
            store::dns_checks::domains_in_scope(conn, scope.as_deref())?
        }
    };
    let mut work = Vec::with_capacity(domains.len());
    for d in &domains {
        work.push((d.id, d.name.clone(), expected_of(conn, s, d)?));
    }
    let reports = resolver::run(async {
        let r = resolver::Resolver::new(s)?;
        Ok::<_, OpError>(check::many(&r, s, work).await)
    })??;
    store_results(conn, ctx, target, reports)
}

fn store_results(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    target: &Target,
    reports: Vec<(i32, Report)>,
) -> OpResult<Vec<Checked>> {
    let request = match target {
        Target::One(name) => json!({ "domain": name }),
        Target::All => json!({ "all": true }),
    };
    run_write(
        conn,
        ctx,
        AuditAction::Check,
        AuditType::DnsCheck,
        request,
        |c, who| {
            let at = now();
            let mut out = Vec::with_capacity(reports.len());
            let (mut ok, mut warning, mut error) = (0, 0, 0);
            for (domain_id, report) in reports {
                // Deleted (or out of reach) while DNS was being asked.
                if !who.can_read_domain(domain_id) || store::domains::by_id(c, domain_id)?.is_none()
                {
                    continue;
                }
                save(c, domain_id, &report, at)?;
                match report.grade {
                    Grade::Ok => ok += 1,
                    Grade::Warning => warning += 1,
                    Grade::Error => error += 1,
                }
                out.push(Checked {
                    domain_id,
                    report,
                    checked_at: at,
                });
            }
            let resource = match (target, out.first()) {
                (Target::One(_), Some(one)) => Some(i64::from(one.domain_id)),
                _ => None,
            };
            let details = match (target, out.first()) {
                (Target::One(_), Some(one)) => json!({
                    "domain": one.report.domain,
                    "status": one.report.grade,
                    "summary": one.report.summary,
                }),
                _ => json!({
                    "domains": out.len(),
                    "ok": ok,
                    "warning": warning,
                    "error": error,
                }),
            };
            Ok((out, Done::new(resource, details)))
        },
    )
}

/// Replace a domain's cached result.
fn save(
    c: &mut AnyConnection,
    domain_id: i32,
    report: &Report,
    at: chrono::NaiveDateTime,
) -> OpResult<()> {
    let findings = serde_json::to_string(&report.findings)
        .map_err(|e| OpError::Io(format!("encoding the DNS findings: {e}")))?;
    let min_ttl = report.min_ttl.and_then(|t| i32::try_from(t).ok());
    let fresh_until = min_ttl.map(|t| at + chrono::TimeDelta::seconds(i64::from(t)));
    diesel::delete(dns_checks::table.find(domain_id)).execute(c)?;
    diesel::insert_into(dns_checks::table)
        .values(&DnsCheck {
            domain_id,
            status: report.grade.as_str().into(),
            summary: report.summary.clone(),
            findings,
            checked_at: at,
            min_ttl,
            fresh_until,
        })
        .execute(c)?;
    Ok(())
}

/// The cached result of one domain, if it was ever checked.
#[derive(Debug, Clone, Serialize)]
pub struct Cached {
    pub domain: String,
    #[serde(flatten)]
    pub row: DnsCheck,
    #[serde(skip)]
    pub findings: Vec<Finding>,
}

/// `domain check --cached DOMAIN` and the TUI's detail view: what the last
/// check found, without asking DNS.
pub fn cached(conn: &mut AnyConnection, ctx: &Ctx, domain: &str) -> OpResult<Option<Cached>> {
    let who = Principal::load(conn, ctx)?;
    let d = readable(conn, &who, domain)?;
    let Some(row) = store::dns_checks::by_domain(conn, d.id)? else {
        return Ok(None);
    };
    // Written by this program only; unreadable JSON shows as no findings
    // rather than hiding the stored state.
    let findings = serde_json::from_str(&row.findings).unwrap_or_default();
    Ok(Some(Cached {
        domain: d.name,
        row,
        findings,
    }))
}
