//! `mailbox limits` and `domain limits` (issue 21): show or change the
//! sending limits the policy service enforces. Flattened into the
//! `mailbox` and `domain` trees; dispatched from `resources` because they
//! need `[policyd]` for the defaults.

use clap::{Args, Subcommand};

use super::output::object;
use super::CliError;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::ops::send_limits::{self, LimitsEdit, LimitsView};
use crate::ops::Ctx;

/// The limit options; each takes a number or "none" (inherit).
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Messages per hour (a number, or "none" to inherit)
    #[arg(long, value_name = "N|none")]
    pub per_hour: Option<String>,
    /// Messages per day
    #[arg(long, value_name = "N|none")]
    pub per_day: Option<String>,
    /// Recipients per message
    #[arg(long, value_name = "N|none")]
    pub rcpt_per_msg: Option<String>,
    /// Recipients per day
    #[arg(long, value_name = "N|none")]
    pub rcpt_per_day: Option<String>,
}

impl LimitArgs {
    fn edit(&self) -> Result<Option<LimitsEdit>, CliError> {
        let one = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| LimitsEdit::parse(field, t))
                .transpose()
        };
        let e = LimitsEdit {
            per_hour: one("per-hour", &self.per_hour)?,
            per_day: one("per-day", &self.per_day)?,
            rcpt_per_msg: one("rcpt-per-msg", &self.rcpt_per_msg)?,
            rcpt_per_day: one("rcpt-per-day", &self.rcpt_per_day)?,
        };
        Ok((e != LimitsEdit::default()).then_some(e))
    }
}

#[derive(Debug, Subcommand)]
pub enum MailboxLimits {
    /// Show ADDRESS's sending limits (own, inherited, effective), or change them with the options (admins)
    Limits {
        address: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainLimits {
    /// Show DOMAIN's sending limits (the default of its mailboxes), or change them with the options (admins)
    Limits {
        name: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
}

pub fn mailbox(
    cmd: &MailboxLimits,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let MailboxLimits::Limits { address, limits } = cmd;
    let s = &env.config.policyd;
    let v = match limits.edit()? {
        Some(e) => send_limits::set_mailbox(conn, ctx, s, address, &e)?,
        None => send_limits::mailbox(conn, ctx, s, address)?,
    };
    Ok(view(&v, j))
}

pub fn domain(
    cmd: &DomainLimits,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let DomainLimits::Limits { name, limits } = cmd;
    let s = &env.config.policyd;
    let v = match limits.edit()? {
        Some(e) => send_limits::set_domain(conn, ctx, s, name, &e)?,
        None => send_limits::domain_limits(conn, ctx, s, name)?,
    };
    Ok(view(&v, j))
}

fn cell(n: Option<i32>) -> String {
    n.map_or_else(|| "-".into(), |n| n.to_string())
}

/// A table: one line per level (own, domain, defaults, effective).
pub fn view(v: &LimitsView, j: bool) -> String {
    if j {
        return object(v, true);
    }
    let mut out = format!("{}\n", crate::sanitize::for_terminal(&v.target));
    out.push_str(&format!(
        "  {:<10} {:>9} {:>9} {:>12} {:>12}\n",
        "", "PER-HOUR", "PER-DAY", "RCPT/MSG", "RCPT/DAY"
    ));
    let mut rows = vec![("own", v.own)];
    if let Some(d) = v.domain {
        rows.push(("domain", d));
    }
    rows.push(("defaults", v.defaults));
    rows.push(("effective", v.effective));
    for (name, l) in rows {
        out.push_str(&format!(
            "  {:<10} {:>9} {:>9} {:>12} {:>12}\n",
            name,
            cell(l.per_hour),
            cell(l.per_day),
            cell(l.rcpt_per_msg),
            cell(l.rcpt_per_day)
        ));
    }
    if let Some(s) = &v.suspended {
        out.push_str(&format!(
            "  sending suspended since {} by {}: {}\n",
            super::output::ts(&s.created_at),
            crate::sanitize::for_terminal(&s.created_by),
            crate::sanitize::for_terminal(&s.reason)
        ));
    }
    out
}
