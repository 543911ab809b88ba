//! `postfix-manager alias-domain ...`: the arguments, the calls into
//! `ops::alias_domains`, and how an alias domain prints.

use clap::Subcommand;

use super::args::ListArgs;
use super::input::{by_name_only, domain_id, filter, page};
use super::output::{list, object, run_command, run_status, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::model::{Entity, Status};
use crate::ops::alias_domains::AliasDomainView;
use crate::ops::command::{CreateAliasDomain, DeleteAliasDomain, RetargetAliasDomain};
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
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    match c {
        AliasDomainCommand::Add { name, target } => {
            let cmd = CreateAliasDomain {
                name: name.clone(),
                target: target.clone(),
            };
            run_command(cmd, env, conn, ctx, j)
        }
        AliasDomainCommand::List { domain, list: l } => {
            let d = domain_id(conn, ctx, domain)?;
            by_name_only(l)?;
            let pg = page(&l.page);
            Ok(list(
                &ops::alias_domains::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
            ))
        }
        AliasDomainCommand::Show { name } => {
            Ok(object(&ops::alias_domains::get(conn, ctx, name)?, j))
        }
        AliasDomainCommand::Edit {
            name,
            target,
            version,
        } => {
            let cmd = RetargetAliasDomain {
                name: name.clone(),
                version: *version,
                target: target.clone(),
            };
            run_command(cmd, env, conn, ctx, j)
        }
        AliasDomainCommand::Suspend { name } => run_status(
            Entity::AliasDomains,
            name,
            Status::Suspended,
            env,
            conn,
            ctx,
            j,
        ),
        AliasDomainCommand::Activate { name } => run_status(
            Entity::AliasDomains,
            name,
            Status::Active,
            env,
            conn,
            ctx,
            j,
        ),
        AliasDomainCommand::Delete { name } => {
            let cmd = DeleteAliasDomain { name: name.clone() };
            run_command(cmd, env, conn, ctx, j)
        }
    }
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
