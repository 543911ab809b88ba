//! The deliverability check (issue 18) as the Domains screen uses it: the
//! DNS marker of each listed domain and the detail view read the cached
//! results (`dns_checks`, the reader lane: drawing never resolves); the
//! re-check asks DNS, which waits on the network for up to the resolver's
//! deadline per query, so it runs on the slow lane, never on the writer
//! where every save would queue behind it.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::dns::grade::Finding;
use crate::dns::Grade;
use crate::error::OpResult;
use crate::ops::dns::{self, Target};
use crate::ops::Ctx;
use crate::sanitize::for_terminal;
use crate::store;

/// What the Domains screen shows of a domain's last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsMark {
    pub grade: Grade,
    /// The worst finding in a line (stored text: sanitised when drawn).
    pub summary: String,
    pub checked_at: NaiveDateTime,
}

/// The marks of these (listed, so visible) domains, in one query on the
/// cache's primary key; a domain never checked has none.
pub fn marks(c: &mut AnyConnection, domain_ids: &[i32]) -> OpResult<HashMap<i32, DnsMark>> {
    Ok(store::dns_checks::marks(c, domain_ids)?
        .into_iter()
        .map(|(id, status, summary, checked_at)| {
            // Written by this program only; anything else is shown as the
            // worst, never as fine.
            let grade = Grade::parse(&status).unwrap_or(Grade::Error);
            (
                id,
                DnsMark {
                    grade,
                    summary,
                    checked_at,
                },
            )
        })
        .collect())
}

/// Prose broken at spaces into lines of at most `width` columns after
/// `indent` (the text panel would cut a longer line mid-word). A word
/// longer than a line (a key, a record) is left for the panel to wrap.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return String::new();
    }
    crate::wrap::at_spaces(&text, width)
        .iter()
        .map(|l| format!("{indent}{l}\n"))
        .collect()
}

/// Prose lines of the panel: under its 76 columns with the indent.
const PROSE: usize = 70;

fn when(t: &NaiveDateTime) -> String {
    crate::timefmt::local(t, "%Y-%m-%d %H:%M %Z")
}

/// One check: grade, record and name, the reason, then what was expected
/// and what DNS had.
fn finding_text(f: &Finding) -> String {
    let mut out = format!(
        "{:<7}  {}  {}\n",
        f.grade.as_str(),
        f.purpose.label(),
        for_terminal(&f.name)
    );
    out.push_str(&wrap(&for_terminal(&f.reason), PROSE, "    "));
    if !f.expected.is_empty() {
        out.push_str(&format!("    expected: {}\n", for_terminal(&f.expected)));
    }
    if f.found.is_empty() {
        out.push_str("    found:    nothing\n");
    }
    for found in &f.found {
        out.push_str(&format!("    found:    {}\n", for_terminal(found)));
    }
    out
}

/// The detail view (`i` on Domains): every check of the last run, worst
/// first, each with its reason and expected against found. The first line
/// is the panel's title.
#[derive(Debug)]
pub struct DnsDetail {
    pub domain: String,
}

impl Command for DnsDetail {
    fn lane(&self) -> Lane {
        Lane::Read
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let cached = dns::cached(c, ctx, &self.domain)?;
        let mut text = format!("DNS checks of {}\n", self.domain);
        let Some(cached) = cached else {
            text.push_str(&format!(
                "\nNot checked yet: c checks it now (or run postfix-manager domain check {}).\n",
                self.domain
            ));
            return Outcome::new(text, &serde_json::Value::Null);
        };
        let row = &cached.row;
        let grade = Grade::parse(&row.status).unwrap_or(Grade::Error);
        text.push_str(&format!(
            "\n{} ({} checks), checked {}\n",
            grade.as_str().to_uppercase(),
            cached.findings.len(),
            when(&row.checked_at)
        ));
        if let Some(until) = &row.fresh_until {
            let line = format!(
                "Good until {} (the shortest TTL seen); c on the list checks again.",
                when(until)
            );
            text.push_str(&wrap(&line, PROSE + 4, ""));
        }
        text.push_str(&wrap(&for_terminal(&row.summary), PROSE + 4, ""));
        let mut findings = cached.findings.clone();
        // Worst first; the stored order (record by record) within a grade.
        findings.sort_by_key(|f| std::cmp::Reverse(f.grade));
        for f in &findings {
            text.push('\n');
            text.push_str(&finding_text(f));
        }
        Outcome::new(text, &findings)
    }
}

/// Re-check one domain now (`c` on Domains): resolve, grade, store; the
/// marker follows from the stored row when the screen reloads.
#[derive(Debug)]
pub struct CheckDns {
    pub domain: String,
}

impl Command for CheckDns {
    /// Waits on DNS, up to the resolver's deadline per query.
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let checked = dns::check(c, ctx, host.dns, &Target::One(self.domain.clone()))?;
        let text = match checked.first() {
            Some(one) => format!(
                "DNS of {}: {}: {} (i shows every check)",
                one.report.domain,
                one.report.grade.as_str(),
                for_terminal(&one.report.summary)
            ),
            // Deleted while DNS was being asked.
            None => format!("{} is gone; nothing was stored", self.domain),
        };
        Outcome::new(text, &checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading the cache is a read; asking DNS waits on the network, so
    /// it never runs on the writer (nor on the UI thread: only the worker
    /// runs commands).
    #[test]
    fn lanes() {
        let detail = DnsDetail {
            domain: "a.test".into(),
        };
        let check = CheckDns {
            domain: "a.test".into(),
        };
        assert_eq!(detail.lane(), Lane::Read);
        assert_eq!(check.lane(), Lane::SlowIo);
    }

    #[test]
    fn prose_breaks_at_spaces() {
        let w = wrap("aaa bbb ccc ddd", 7, "  ");
        assert_eq!(w, "  aaa bbb\n  ccc ddd\n");
        assert_eq!(wrap("", 7, "  "), "");
        let long = "x".repeat(20);
        assert_eq!(wrap(&format!("a {long}"), 7, ""), format!("a\n{long}\n"));
    }
}
