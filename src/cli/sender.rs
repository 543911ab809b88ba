//! `sender grant|revoke|list` (issue 20): send-as grants, which the
//! generated sender login map (`smtpd_sender_login_maps`) adds to the
//! addresses a mailbox owns.

use clap::Subcommand;
use serde::Serialize;

use super::args::PageArgs;
use super::input::page;
use super::output::{list, said, ts, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::{sender_grants, Ctx};
use crate::store::sender_grants::SenderGrant;

#[derive(Debug, Subcommand)]
pub enum SenderCommand {
    /// Let MAILBOX send as ADDRESS, or as every address of @DOMAIN (a domain hosted here)
    Grant {
        mailbox: String,
        #[arg(value_name = "ADDRESS|@DOMAIN")]
        address: String,
    },
    /// Take a grant back
    Revoke {
        mailbox: String,
        #[arg(value_name = "ADDRESS|@DOMAIN")]
        address: String,
    },
    /// Send-as grants, oldest first
    List {
        /// Only the grants of this mailbox
        #[arg(long)]
        mailbox: Option<String>,
        /// Only grants of exactly this address or @domain
        #[arg(long)]
        address: Option<String>,
        /// Only grants whose mailbox or address contains this text
        #[arg(long)]
        filter: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

#[derive(Serialize)]
#[serde(transparent)]
struct GrantRow(SenderGrant);

impl Row for GrantRow {
    const HEADERS: &'static [&'static str] = &["MAILBOX", "MAY SEND AS", "SINCE", "BY"];
    fn cells(&self) -> Vec<String> {
        let g = &self.0;
        vec![
            g.mailbox.clone(),
            g.address.clone(),
            ts(&g.created_at),
            g.created_by.clone(),
        ]
    }
    fn key(&self) -> String {
        self.0.id.to_string()
    }
}

pub fn run(
    cmd: &SenderCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match cmd {
        SenderCommand::Grant { mailbox, address } => {
            let g = sender_grants::grant(conn, ctx, mailbox, address)?;
            said(j, &g, format!("{} may send as {}", g.mailbox, g.address))
        }
        SenderCommand::Revoke { mailbox, address } => {
            let g = sender_grants::revoke(conn, ctx, mailbox, address)?;
            said(
                j,
                &g,
                format!("{} may no longer send as {}", g.mailbox, g.address),
            )
        }
        SenderCommand::List {
            mailbox,
            address,
            filter,
            page: p,
        } => {
            let pg = page(p);
            let f = sender_grants::ListFilter {
                mailbox: mailbox.clone(),
                address: address.clone(),
                text: filter.clone(),
            };
            let rows: Vec<GrantRow> = sender_grants::list(conn, ctx, &f, &pg)?
                .into_iter()
                .map(GrantRow)
                .collect();
            list(&rows, pg.limit(), j)
        }
    })
}
