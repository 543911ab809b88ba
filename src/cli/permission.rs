//! `postfix-manager permission ...`: the arguments, the calls into
//! `ops::permissions`, and how a grant prints.

use clap::Subcommand;

use super::args::PageArgs;
use super::input::page;
use super::output::{list, run_command, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::model::Perm;
use crate::ops::command::{Grant as GrantPerms, Revoke};
use crate::ops::{self, Ctx};
use crate::store::permissions::Grant;

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Grant USER permissions on DOMAIN (replaces an existing grant's permissions)
    Grant {
        username: String,
        domain: String,
        /// Comma-separated: mailboxes, aliases, domain; or "all"
        #[arg(long, default_value = "mailboxes,aliases")]
        permissions: String,
    },
    /// Take away USER's permissions on DOMAIN
    Revoke { username: String, domain: String },
    /// List per-domain grants, by user or by domain
    List {
        #[arg(long = "for")]
        for_user: Option<String>,
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
}

pub fn run(
    c: &PermissionCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        PermissionCommand::Grant {
            username,
            domain,
            permissions,
        } => {
            let cmd = GrantPerms {
                username: username.clone(),
                domain: domain.clone(),
                perms: Perm::parse_list("permissions", permissions)?,
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        PermissionCommand::Revoke { username, domain } => {
            let cmd = Revoke {
                username: username.clone(),
                domain: domain.clone(),
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        PermissionCommand::List {
            for_user,
            domain,
            page: p,
        } => {
            let pg = page(p);
            let rows =
                ops::permissions::list(conn, ctx, for_user.as_deref(), domain.as_deref(), &pg)?;
            list(&rows, pg.limit(), j)
        }
    })
}

impl Row for Grant {
    const HEADERS: &'static [&'static str] = &["USERNAME", "DOMAIN", "PERMISSIONS"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.username.clone(),
            self.domain.clone(),
            self.permissions
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ]
    }
    fn key(&self) -> String {
        format!("{}/{}", self.username, self.domain)
    }
}
