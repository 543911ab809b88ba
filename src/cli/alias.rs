//! `postfix-manager alias ...`: the arguments, the calls into
//! `ops::aliases` (bulk, CSV and edit-many through `cli::bulk`), and how an
//! alias prints.

use clap::Subcommand;

use super::args::{BulkArgs, EditManyArgs, ImportArgs, ListArgs};
use super::input::{by_name_only, domain_id, filter, page};
use super::output::{list, object, run_command, run_status, Row};
use super::CliError;
use crate::db::models::Alias;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::model::{Entity, Status};
use crate::ops::bulk::Action;
use crate::ops::command::{CreateAlias, DeleteAlias, EditAlias};
use crate::ops::{self, Ctx};

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add an alias: ADDRESS (or @domain for a catch-all) forwarding to DESTINATION...
    Add {
        address: String,
        #[arg(required = true, num_args = 1..)]
        destinations: Vec<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// List aliases and catch-alls with their destinations
    List {
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show one alias with its destinations and version
    Show { address: String },
    /// Change an alias's destinations or description
    Edit {
        address: String,
        /// New destinations, comma-separated (replaces the list)
        #[arg(long)]
        goto: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        version: Option<i32>,
    },
    /// Stop an alias forwarding (mail to it is refused)
    Suspend { address: String },
    /// Let a suspended alias forward again
    Activate { address: String },
    /// Delete an alias
    Delete { address: String },
    /// Act on many aliases at once (one address per line in --from)
    #[command(subcommand)]
    Bulk(AliasBulk),
    /// Create aliases from a CSV file (header: address,goto,description,status); all or nothing
    Import(ImportArgs),
    /// Write aliases as CSV to stdout
    Export {
        #[arg(long)]
        domain: Option<String>,
    },
    /// Edit many aliases in $EDITOR as tab-separated rows (goto, description, status), then apply in one transaction
    EditMany(EditManyArgs),
}

#[derive(Debug, Subcommand)]
pub enum AliasBulk {
    /// Suspend every listed alias in one transaction
    Suspend(BulkArgs),
    /// Activate every listed alias in one transaction
    Activate(BulkArgs),
    /// Delete every listed alias in one transaction
    Delete(BulkArgs),
}

pub fn run(
    c: &AliasCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        AliasCommand::Add {
            address,
            destinations,
            description,
        } => {
            let cmd = CreateAlias {
                address: address.clone(),
                goto: destinations.join(","),
                description: description.clone(),
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        AliasCommand::List { domain, list: l } => {
            let d = domain_id(conn, ctx, domain)?;
            by_name_only(l)?;
            let pg = page(&l.page);
            list(
                &ops::aliases::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
            )
        }
        AliasCommand::Show { address } => object(&ops::aliases::get(conn, ctx, address)?, j),
        AliasCommand::Edit {
            address,
            goto,
            description,
            version,
        } => {
            let edit = ops::aliases::AliasEdit {
                goto: goto.clone(),
                description: description.clone(),
            };
            let cmd = EditAlias {
                address: address.clone(),
                version: *version,
                edit,
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        AliasCommand::Suspend { address } => {
            return run_status(
                Entity::Aliases,
                address,
                Status::Suspended,
                env,
                conn,
                ctx,
                j,
            )
        }
        AliasCommand::Activate { address } => {
            return run_status(Entity::Aliases, address, Status::Active, env, conn, ctx, j)
        }
        AliasCommand::Delete { address } => {
            let cmd = DeleteAlias {
                address: address.clone(),
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        AliasCommand::Bulk(b) => return bulk(b, conn, ctx, j),
        AliasCommand::Import(a) => return super::bulk::alias_import(a, conn, ctx, j),
        AliasCommand::Export { domain } => return super::bulk::alias_export(conn, ctx, domain),
        AliasCommand::EditMany(a) => {
            return super::bulk::edit_many(Entity::Aliases, a, conn, ctx, j)
        }
    })
}

fn bulk(b: &AliasBulk, conn: &mut AnyConnection, ctx: &Ctx, j: bool) -> Result<String, CliError> {
    let (args, action) = match b {
        AliasBulk::Suspend(a) => (a, Action::Suspend),
        AliasBulk::Activate(a) => (a, Action::Activate),
        AliasBulk::Delete(a) => (a, Action::Delete),
    };
    super::bulk::run_bulk(Entity::Aliases, args, &action, conn, ctx, j)
}

impl Row for Alias {
    const HEADERS: &'static [&'static str] = &["ADDRESS", "STATUS", "GOTO", "DESCRIPTION"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.address.clone(),
            self.status.clone(),
            self.goto.clone(),
            self.description.clone().unwrap_or_default(),
        ]
    }
    fn key(&self) -> String {
        self.address.clone()
    }
}
