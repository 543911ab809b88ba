//! `postfix-manager stats`: mailbox totals and per-domain usage.

use serde_json::json;

use super::args::PageArgs;
use super::input::page;
use super::output::{list, object, used, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::{self, Ctx};
use crate::store::stats::DomainUsage;
use crate::units::human_limit;

pub fn run(p: &PageArgs, conn: &mut AnyConnection, ctx: &Ctx, j: bool) -> Result<String, CliError> {
    let pg = page(p);
    let (totals, domains) = ops::stats(conn, ctx, &pg)?;
    if j {
        let next = (domains.len() as i64 >= pg.limit())
            .then(|| domains.last().map(|d| d.domain.name.clone()));
        return Ok(object(
            &json!({ "totals": totals, "domains": domains, "next": next.flatten() }),
            true,
        ));
    }
    let mut out = format!(
        "mailboxes {}  used {}  allotted {}  average used {}\n\n",
        totals.total_mailboxes,
        crate::units::human(totals.total_used),
        crate::units::human(totals.total_limit),
        crate::units::human(totals.avg_used),
    );
    out.push_str(&list(&domains, pg.limit(), false));
    Ok(out)
}

impl Row for DomainUsage {
    const HEADERS: &'static [&'static str] =
        &["DOMAIN", "STATUS", "MAILBOXES", "USED", "QUOTA", "USE%"];
    fn cells(&self) -> Vec<String> {
        let pct = if self.domain.quota_limit > 0 {
            format!(
                "{:.1}",
                self.mailbox_used as f64 * 100.0 / self.domain.quota_limit as f64
            )
        } else {
            "-".into()
        };
        vec![
            self.domain.name.clone(),
            self.domain.status.clone(),
            self.mailbox_count.to_string(),
            used(self.mailbox_used),
            human_limit(self.domain.quota_limit),
            pct,
        ]
    }
    fn key(&self) -> String {
        self.domain.name.clone()
    }
}
