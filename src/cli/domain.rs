//! `postfix-manager domain ...`: the arguments, the calls into
//! `ops::domains` (bulk, CSV and edit-many through `cli::bulk`), and how a
//! domain prints.

use clap::{Args, Subcommand};

use super::args::{BulkArgs, EditManyArgs, ImportArgs, ListArgs};
use super::input::{filter, page, size_opt};
use super::output::{limit, list_sorted, object, run_command, run_status, Row};
use super::CliError;
use crate::db::models::Domain;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::model::{Entity, Perm, Status};
use crate::ops::bulk::Action;
use crate::ops::command::{CreateDomain, DeleteDomain, EditDomain};
use crate::ops::{self, Ctx};
use crate::units::{human, human_limit};

#[derive(Debug, Args, Clone, Default)]
pub struct DomainFields {
    #[arg(long)]
    pub description: Option<String>,
    /// Total quota of the domain's mailboxes (e.g. 10G; 0 or "unlimited"). Default on add: unlimited; each new mailbox gets [mail] default_mailbox_quota (1G) unless --quota, and a domain total must leave room for every mailbox's quota
    #[arg(long, value_name = "SIZE")]
    pub quota: Option<String>,
    /// Most mailboxes the domain may have (0 = unlimited)
    #[arg(long, value_name = "N")]
    pub max_mailboxes: Option<i64>,
    /// Most aliases the domain may have (0 = unlimited)
    #[arg(long, value_name = "N")]
    pub max_aliases: Option<i64>,
    /// Largest quota of one mailbox (e.g. 2G; 0 = no cap)
    #[arg(long, value_name = "SIZE")]
    pub max_mailbox_quota: Option<String>,
    /// Postfix transport, e.g. smtp:[relay.example.com]:587 ("" clears)
    #[arg(long)]
    pub transport: Option<String>,
    /// Days a mailbox password lasts after each change (0 = no maximum); applies from the next change
    #[arg(long, value_name = "DAYS")]
    pub password_max_age: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Create a domain (limits: see the options; unset ones are unlimited or from the config)
    Add {
        name: String,
        #[command(flatten)]
        fields: DomainFields,
        /// Also create a pending DKIM key (dkim.default_algorithm), in the same transaction
        #[arg(long, conflicts_with = "no_dkim")]
        dkim: bool,
        /// No DKIM key even when dkim.on_domain_add is true
        #[arg(long)]
        no_dkim: bool,
        /// Skip the role aliases (lifecycle.default_aliases: postmaster, abuse, hostmaster, webmaster)
        #[arg(long)]
        no_default_aliases: bool,
    },
    /// List domains with their usage and limits, one page at a time
    List(ListArgs),
    /// Show one domain with its counters, limits and version
    Show { name: String },
    /// Change a domain's description, limits or transport
    Edit {
        name: String,
        #[command(flatten)]
        fields: DomainFields,
        /// Refuse if the row is no longer at this version (from `show`)
        #[arg(long)]
        version: Option<i32>,
    },
    /// Stop mail and logins for a domain and everything in it
    Suspend { name: String },
    /// Let a suspended domain receive mail and log in again
    Activate { name: String },
    /// Delete a domain (with --cascade also its mailboxes, aliases and alias domains)
    Delete {
        name: String,
        /// Also delete its mailboxes, aliases, alias domains and permissions
        #[arg(long)]
        cascade: bool,
    },
    /// Act on many domains at once (one name per line in --from)
    #[command(subcommand)]
    Bulk(DomainBulk),
    /// Create domains from a CSV file (header: name,description,quota,max_mailboxes,max_aliases,max_mailbox_quota,transport,status); all or nothing
    Import {
        #[command(flatten)]
        args: ImportArgs,
        /// Skip the role aliases of each new domain (lifecycle.default_aliases: postmaster, abuse, hostmaster, webmaster), e.g. when the aliases file of an export follows
        #[arg(long)]
        no_default_aliases: bool,
    },
    /// Write domains as CSV to stdout
    Export,
    /// Edit many domains in $EDITOR as tab-separated rows (description, limits, transport, status), then apply in one transaction
    EditMany(EditManyArgs),
    #[command(flatten)]
    Dns(super::dns::DomainDns),
    #[command(flatten)]
    Limits(super::limits::DomainLimits),
}

#[derive(Debug, Subcommand)]
pub enum DomainBulk {
    /// Suspend every listed domain in one transaction
    Suspend(BulkArgs),
    /// Activate every listed domain in one transaction
    Activate(BulkArgs),
    /// Set quota/limits/transport on every listed domain
    SetLimits {
        #[command(flatten)]
        fields: DomainFields,
        #[command(flatten)]
        args: BulkArgs,
    },
    /// Grant USER permissions on every listed domain
    Grant {
        username: String,
        #[arg(long, default_value = "mailboxes,aliases")]
        permissions: String,
        #[command(flatten)]
        args: BulkArgs,
    },
    /// Revoke USER's grant on every listed domain
    Revoke {
        username: String,
        #[command(flatten)]
        args: BulkArgs,
    },
}

pub fn run(
    c: &DomainCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        DomainCommand::Add {
            name,
            fields,
            dkim,
            no_dkim,
            no_default_aliases,
        } => {
            return add(
                env,
                conn,
                ctx,
                j,
                name,
                fields,
                (*dkim, *no_dkim, !*no_default_aliases),
            )
        }
        DomainCommand::List(l) => {
            let pg = page(&l.page);
            list_sorted(
                &ops::domains::list(conn, ctx, &filter(l, None)?, &pg)?,
                pg.limit(),
                j,
                filter(l, None)?.sort,
            )
        }
        DomainCommand::Show { name } => object(&ops::domains::get(conn, ctx, name)?, j),
        DomainCommand::Edit {
            name,
            fields,
            version,
        } => {
            let cmd = EditDomain {
                name: name.clone(),
                version: *version,
                input: domain_input(fields)?,
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        DomainCommand::Suspend { name } => {
            return run_status(Entity::Domains, name, Status::Suspended, env, conn, ctx, j)
        }
        DomainCommand::Activate { name } => {
            return run_status(Entity::Domains, name, Status::Active, env, conn, ctx, j)
        }
        DomainCommand::Delete { name, cascade } => {
            let cmd = DeleteDomain {
                name: name.clone(),
                cascade: *cascade,
            };
            return run_command(cmd, env, conn, ctx, j);
        }
        DomainCommand::Bulk(b) => return bulk(b, conn, ctx, j),
        DomainCommand::Import {
            args,
            no_default_aliases,
        } => return super::bulk::domain_import(args, !*no_default_aliases, conn, ctx, j),
        DomainCommand::Export => return super::bulk::domain_export(conn, ctx),
        DomainCommand::EditMany(a) => {
            return super::bulk::edit_many(Entity::Domains, a, conn, ctx, j)
        }
        DomainCommand::Dns(d) => return super::dns::run(d, env, conn, ctx, j),
        DomainCommand::Limits(l) => return super::limits::domain(l, env, conn, ctx, j),
    })
}

/// `domain add`, with the first DKIM key when asked (`--dkim`) or
/// configured (`dkim.on_domain_add`, unless `--no-dkim`): the TUI's
/// `CreateDomain` under those settings.
fn add(
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
    name: &str,
    fields: &DomainFields,
    (dkim, no_dkim, default_aliases): (bool, bool, bool),
) -> Result<String, CliError> {
    let mut settings = ops::dkim::Settings::from_config(&env.config.dkim);
    settings.on_domain_add = !no_dkim && (dkim || settings.on_domain_add);
    let create = CreateDomain {
        name: name.to_string(),
        input: domain_input(fields)?,
        default_aliases,
    };
    super::output::run_command_with(create, env, &settings, conn, ctx, j)
}

fn bulk(b: &DomainBulk, conn: &mut AnyConnection, ctx: &Ctx, j: bool) -> Result<String, CliError> {
    let (args, action) = match b {
        DomainBulk::Suspend(a) => (a, Action::Suspend),
        DomainBulk::Activate(a) => (a, Action::Activate),
        DomainBulk::SetLimits { fields, args } => (args, Action::SetLimits(domain_input(fields)?)),
        DomainBulk::Grant {
            username,
            permissions,
            args,
        } => (
            args,
            Action::Grant {
                username: username.clone(),
                perms: Perm::parse_list("permissions", permissions)?,
            },
        ),
        DomainBulk::Revoke { username, args } => (
            args,
            Action::Revoke {
                username: username.clone(),
            },
        ),
    };
    super::bulk::run_bulk(Entity::Domains, args, &action, conn, ctx, j)
}

fn domain_input(f: &DomainFields) -> Result<ops::domains::DomainInput, CliError> {
    Ok(ops::domains::DomainInput {
        description: f.description.clone(),
        quota_limit: size_opt("quota_limit", &f.quota)?,
        max_mailboxes: f.max_mailboxes,
        max_aliases: f.max_aliases,
        max_mailbox_quota: size_opt("max_mailbox_quota", &f.max_mailbox_quota)?,
        transport: f.transport.clone(),
        password_max_age_days: f.password_max_age,
    })
}

impl Row for Domain {
    const HEADERS: &'static [&'static str] = &[
        "DOMAIN",
        "STATUS",
        "QUOTA",
        "USED",
        "MAX MBOX",
        "MAX ALIAS",
        "DESCRIPTION",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.status.clone(),
            human_limit(self.quota_limit),
            human(self.quota_used),
            limit(self.max_mailboxes),
            limit(self.max_aliases),
            self.description.clone().unwrap_or_default(),
        ]
    }
    fn key(&self) -> String {
        self.name.clone()
    }
    fn cursor(&self, sort: crate::store::Sort) -> String {
        sort.cursor(self.quota_used, self.quota_limit, &self.name)
    }
}
