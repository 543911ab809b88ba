//! `postfix-manager stats`: mailbox totals and per-domain usage; `stats
//! senders`: the busiest senders with their limits and state (issue 21,
//! the monitoring view of the policy service's shared counters).

use clap::{Args, Subcommand};
use serde_json::json;

use super::args::PageArgs;
use super::input::page;
use super::output::{list, object, used, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::ops::send_limits::SenderView;
use crate::ops::{self, Ctx};
use crate::store::stats::DomainUsage;
use crate::units::human_limit;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct StatsArgs {
    #[command(subcommand)]
    pub command: Option<StatsCommand>,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Busiest senders of the current hour (or day) across all policy service hosts, with limit and state
    Senders(SendersArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SendersArgs {
    /// The day's window instead of the hour's
    #[arg(long)]
    pub day: bool,
    /// How many senders (1-10000)
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
}

pub fn run(
    a: &StatsArgs,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    if let Some(StatsCommand::Senders(s)) = &a.command {
        return senders(s, env, conn, ctx, j);
    }
    let p = &a.page;
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

/// `stats senders` and `policyd senders`: one implementation, two names.
pub fn senders(
    a: &SendersArgs,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let rows = ops::send_limits::top_senders(conn, ctx, &env.config.policyd, a.day, a.limit)?;
    Ok(senders_text(&rows, j))
}

fn senders_text(rows: &[SenderView], json: bool) -> String {
    if json {
        return format!(
            "{}\n",
            serde_json::to_string_pretty(&json!({ "items": rows })).unwrap_or_default()
        );
    }
    let mut out = format!(
        "{:<40} {:>9} {:>11} {:>8} {:>9}  STATE\n",
        "SENDER", "MESSAGES", "RECIPIENTS", "REFUSED", "LIMIT"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<40} {:>9} {:>11} {:>8} {:>9}  {}\n",
            crate::sanitize::for_terminal(&r.sender),
            r.messages,
            r.recipients,
            r.refused,
            r.limit.map_or_else(|| "-".into(), |n| n.to_string()),
            if r.suspended { "suspended" } else { "" }
        ));
    }
    out
}
