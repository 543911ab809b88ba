//! `postfix-manager domain dns` and `domain check`: the records a domain
//! must publish, and whether DNS has them (issue 18; docs/dns.md).

use clap::Subcommand;
use serde::Serialize;

use super::output::{json_safe, table, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::dns::check::Report;
use crate::dns::expected::{self, Expected};
use crate::dns::grade::Finding;
use crate::dns::Grade;
use crate::env::Env;
use crate::ops::{self, Ctx};
use crate::sanitize::for_terminal;

/// The `domain` subcommands about DNS (flattened into `DomainCommand`).
#[derive(Debug, Subcommand)]
pub enum DomainDns {
    /// The DNS records DOMAIN and its alias domains must publish (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV, autoconfig); from the data and [dns] in the config
    Dns {
        name: String,
        /// Print a BIND zone-file snippet (fully qualified names) to paste into each zone
        #[arg(long)]
        zone: bool,
    },
    /// Ask DNS whether DOMAIN (or every domain) publishes what it must; grades each record ok/warning/error and stores the result. Exit 0 ok, 1 warning, 2 error (for monitoring)
    Check {
        /// The domain (its alias domains are checked with it)
        name: Option<String>,
        /// Every domain you may see, a bounded number at a time ([dns] concurrency)
        #[arg(long, conflicts_with = "name")]
        all: bool,
        /// Print the stored result of the last check instead of asking DNS
        #[arg(long, conflicts_with = "all")]
        cached: bool,
    },
}

pub fn run(
    cmd: &DomainDns,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let s = &env.config.dns;
    match cmd {
        DomainDns::Dns { name, zone } => {
            let set = ops::dns::expected(conn, ctx, s, name)?;
            if *zone {
                return Ok(crate::sanitize::lines_for_terminal(&expected::zone(s, &set)) + "\n");
            }
            let rows: Vec<ExpectedRow> = set
                .iter()
                .flat_map(|(_, records)| records.iter().cloned().map(ExpectedRow))
                .collect();
            Ok(if j { json_doc(&rows) } else { table(&rows) })
        }
        DomainDns::Check { name, all, cached } => {
            let target = match (name, all) {
                (Some(n), false) => ops::dns::Target::One(n.clone()),
                (None, true) => ops::dns::Target::All,
                _ => {
                    return Err(CliError::Usage(
                        "domain check: name a DOMAIN or pass --all".into(),
                    ))
                }
            };
            if *cached {
                return show_cached(j, conn, ctx, name.as_deref().unwrap_or_default());
            }
            let checked = ops::dns::check(conn, ctx, s, &target)?;
            let worst = checked
                .iter()
                .map(|c| c.report.grade)
                .max()
                .unwrap_or_default();
            let out = if j {
                json_doc(&checked)
            } else if matches!(target, ops::dns::Target::All) {
                all_text(&checked)
            } else {
                checked.iter().map(|c| one_text(&c.report)).collect()
            };
            graded(out, worst)
        }
    }
}

fn json_doc<T: Serialize>(v: &T) -> String {
    let doc = serde_json::to_string_pretty(v).unwrap_or_default();
    format!("{}\n", json_safe(&doc))
}

/// The report as the exit status monitoring reads: 0 ok, 1 warning, 2 error.
fn graded(out: String, worst: Grade) -> Result<String, CliError> {
    match worst.exit_code() {
        0 => Ok(out),
        code => Err(CliError::Report {
            out,
            code,
            message: String::new(),
        }),
    }
}

fn finding_line(f: &Finding) -> String {
    format!(
        "  {:<7}  {:<14}  {}: {}\n",
        f.grade.as_str(),
        f.purpose.label(),
        f.name,
        for_terminal(&f.reason)
    )
}

/// One domain: every finding, and for the failing ones what was expected
/// and what DNS had.
fn one_text(r: &Report) -> String {
    let mut out = format!("{}: {}\n", r.domain, r.grade.as_str().to_uppercase());
    for f in &r.findings {
        out.push_str(&finding_line(f));
        if f.grade != Grade::Ok {
            if !f.expected.is_empty() {
                out.push_str(&format!(
                    "           expected: {}\n",
                    for_terminal(&f.expected)
                ));
            }
            for found in &f.found {
                out.push_str(&format!("           found:    {}\n", for_terminal(found)));
            }
        }
    }
    out
}

/// `--all`: a line per domain, its problems under it, then the totals.
fn all_text(checked: &[ops::dns::Checked]) -> String {
    let mut out = String::new();
    let mut counts = [0usize; 3];
    for c in checked {
        let r = &c.report;
        counts[match r.grade {
            Grade::Ok => 0,
            Grade::Warning => 1,
            Grade::Error => 2,
        }] += 1;
        out.push_str(&format!(
            "{:<7}  {}: {}\n",
            r.grade.as_str(),
            r.domain,
            for_terminal(&r.summary)
        ));
        for f in r.findings.iter().filter(|f| f.grade != Grade::Ok) {
            out.push_str(&finding_line(f));
        }
    }
    out.push_str(&format!(
        "{}: {} ok, {} warning, {} error\n",
        crate::plural::s(checked.len(), "domain"),
        counts[0],
        counts[1],
        counts[2]
    ));
    out
}

fn show_cached(
    j: bool,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
) -> Result<String, CliError> {
    let Some(c) = ops::dns::cached(conn, ctx, name)? else {
        return Err(CliError::Op(crate::error::OpError::invalid(
            "domain",
            format!("{name} was never checked: run `postfix-manager domain check {name}`"),
        )));
    };
    let grade = Grade::parse(&c.row.status).unwrap_or(Grade::Error);
    let out = if j {
        let mut v = serde_json::to_value(&c).unwrap_or_default();
        v["findings"] = serde_json::to_value(&c.findings).unwrap_or_default();
        json_doc(&v)
    } else {
        let report = Report {
            domain: c.domain.clone(),
            grade,
            summary: c.row.summary.clone(),
            findings: c.findings.clone(),
            min_ttl: None,
        };
        format!(
            "checked {}\n{}",
            super::output::ts(&c.row.checked_at),
            one_text(&report)
        )
    };
    graded(out, grade)
}

#[derive(Serialize)]
#[serde(transparent)]
struct ExpectedRow(Expected);

impl Row for ExpectedRow {
    const HEADERS: &'static [&'static str] = &["NAME", "TYPE", "FOR", "VALUE"];
    fn cells(&self) -> Vec<String> {
        let e = &self.0;
        let what = match &e.dkim_state {
            Some(state) => format!("{} ({state})", e.purpose.label()),
            None => e.purpose.label().to_string(),
        };
        vec![
            e.name.clone(),
            e.rtype.as_str().into(),
            what,
            e.value.clone(),
        ]
    }
    fn key(&self) -> String {
        self.0.name.clone()
    }
}
