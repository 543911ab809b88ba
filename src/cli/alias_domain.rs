//! `postfix-manager alias-domain ...`: the arguments, the calls into
//! `ops::alias_domains`, and how an alias domain prints.

use clap::Subcommand;

use super::args::ListArgs;
use super::input::{by_name_only, domain_id, filter, page};
use super::output::{list, object, said, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::model::Status;
use crate::ops::alias_domains::AliasDomainView;
use crate::ops::{self, Ctx};

#[derive(Debug, Subcommand)]
pub enum AliasDomainCommand {
    /// Make NAME an alias of TARGET
    Add { name: String, target: String },
    /// List alias domains and their targets
    List {
        /// Only alias domains of this target
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show one alias domain with its target and version
    Show { name: String },
    /// Point NAME at another target
    Edit {
        name: String,
        #[arg(long)]
        target: String,
        #[arg(long)]
        version: Option<i32>,
    },
    /// Stop an alias domain (mail to it is refused)
    Suspend { name: String },
    /// Let a suspended alias domain receive mail again
    Activate { name: String },
    /// Delete an alias domain (its target is untouched)
    Delete { name: String },
}

pub fn run(
    c: &AliasDomainCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        AliasDomainCommand::Add { name, target } => {
            let a = ops::alias_domains::create(conn, ctx, name, target)?;
            said(
                j,
                &a,
                format!("created alias domain {} -> {}", a.row.name, a.target),
            )
        }
        AliasDomainCommand::List { domain, list: l } => {
            let d = domain_id(conn, ctx, domain)?;
            by_name_only(l)?;
            let pg = page(&l.page);
            list(
                &ops::alias_domains::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
            )
        }
        AliasDomainCommand::Show { name } => object(&ops::alias_domains::get(conn, ctx, name)?, j),
        AliasDomainCommand::Edit {
            name,
            target,
            version,
        } => {
            let a = ops::alias_domains::retarget(conn, ctx, name, *version, target)?;
            said(
                j,
                &a,
                format!("alias domain {} now points at {}", a.row.name, a.target),
            )
        }
        AliasDomainCommand::Suspend { name } => {
            let a = ops::alias_domains::set_status(conn, ctx, name, Status::Suspended)?;
            said(j, &a, format!("suspended alias domain {}", a.row.name))
        }
        AliasDomainCommand::Activate { name } => {
            let a = ops::alias_domains::set_status(conn, ctx, name, Status::Active)?;
            said(j, &a, format!("activated alias domain {}", a.row.name))
        }
        AliasDomainCommand::Delete { name } => {
            let a = ops::alias_domains::delete(conn, ctx, name)?;
            said(j, &a, format!("deleted alias domain {}", a.row.name))
        }
    })
}

impl Row for AliasDomainView {
    const HEADERS: &'static [&'static str] = &["ALIAS DOMAIN", "TARGET", "STATUS"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.row.name.clone(),
            self.target.clone(),
            self.row.status.clone(),
        ]
    }
    fn key(&self) -> String {
        self.row.name.clone()
    }
}
