//! `sending suspend|resume|list` (issue 21): containment by hand. The
//! policy service suspends by itself over the abuse threshold; an admin
//! resumes here.

use clap::Subcommand;
use serde::Serialize;

use super::output::{said, table, ts, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::{send_limits, Ctx};
use crate::store::send_limits::Suspension;

#[derive(Debug, Subcommand)]
pub enum SendingCommand {
    /// Stop ADDRESS from sending: SMTP AUTH/submission logins, its sender login map entry and the policy service refuse it
    Suspend {
        address: String,
        /// Why (kept with the suspension and in the audit log)
        #[arg(long)]
        reason: String,
    },
    /// Let ADDRESS send again (admins)
    Resume { address: String },
    /// Mailboxes suspended for sending
    List,
}

#[derive(Serialize)]
#[serde(transparent)]
struct SuspensionRow(Suspension);

impl Row for SuspensionRow {
    const HEADERS: &'static [&'static str] = &["ADDRESS", "SINCE", "BY", "AUTO", "REASON"];
    fn cells(&self) -> Vec<String> {
        let s = &self.0;
        vec![
            s.address.clone(),
            ts(&s.created_at),
            s.created_by.clone(),
            if s.automatic { "yes" } else { "no" }.into(),
            s.reason.clone(),
        ]
    }
    fn key(&self) -> String {
        self.0.address.clone()
    }
}

pub fn run(
    cmd: &SendingCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match cmd {
        SendingCommand::Suspend { address, reason } => {
            let s = send_limits::suspend(conn, ctx, address, reason)?;
            said(j, &s, format!("suspended sending of {}", s.address))
        }
        SendingCommand::Resume { address } => {
            let s = send_limits::resume(conn, ctx, address)?;
            said(j, &s, format!("resumed sending of {}", s.address))
        }
        SendingCommand::List => {
            let rows: Vec<SuspensionRow> = send_limits::suspensions(conn, ctx)?
                .into_iter()
                .map(SuspensionRow)
                .collect();
            if j {
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&serde_json::json!({ "items": rows }))
                        .unwrap_or_default()
                )
            } else {
                table(&rows)
            }
        }
    })
}
