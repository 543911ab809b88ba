//! `postfix-manager mailbox ...`: the arguments, the calls into
//! `ops::mailboxes` (bulk, CSV and edit-many through `cli::bulk`), and how
//! a mailbox prints.

use clap::Subcommand;

use super::args::{BulkArgs, EditManyArgs, ImportArgs, ListArgs, NewPasswordArgs};
use super::input::{domain_id, filter, page, size_opt};
use super::output::{list_sorted, object, run_command, run_status, used, with_generated, Row};
use super::{setup, CliError};
use crate::db::models::Mailbox;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::model::{Entity, Status};
use crate::ops::bulk::Action;
use crate::ops::command::deleted::{PurgeDue, PurgeMailbox, RestoreMailbox};
use crate::ops::command::rename::{RenameMailbox, ResumeRenames};
use crate::ops::command::{CreateMailbox, DeleteMailbox, EditMailbox, SetMailboxPassword};
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};
use crate::units::human_limit;
use crate::validate;

#[derive(Debug, Subcommand)]
pub enum MailboxCommand {
    /// Create a mailbox with a password (from a file, prompted, or generated)
    Add {
        address: String,
        /// Quota (e.g. 500M, 2G); default from the config, within the domain's limits
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
        /// Display name
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        password: NewPasswordArgs,
        /// Purge a deleted mailbox held on this address first (its old mail is removed)
        #[arg(long)]
        force: bool,
    },
    /// List mailboxes with usage and quota, one page at a time (or --all)
    List {
        /// Only mailboxes of this domain
        #[arg(long)]
        domain: Option<String>,
        /// Every matching mailbox, streamed page by page in constant memory (ignores --limit)
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Show one mailbox with its quota, usage and version
    Show { address: String },
    /// Change a mailbox's quota, display name or protocol switches
    Edit {
        address: String,
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        access: super::app_password::AccessArgs,
        #[arg(long)]
        version: Option<i32>,
    },
    /// Set a new password
    Password {
        address: String,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// Stop a mailbox receiving mail and logging in (mail to it is refused)
    Suspend { address: String },
    /// Let a suspended mailbox receive mail and log in again
    Activate { address: String },
    /// Delete a mailbox: held for lifecycle.hold_days (restorable), then purged with its mail
    Delete {
        address: String,
        /// Skip the hold: remove the maildir at once through lifecycle.purge_command (admins)
        #[arg(long)]
        now: bool,
        /// Do not ask before --now
        #[arg(long, requires = "now")]
        yes: bool,
    },
    /// Bring a deleted mailbox on hold back, with the aliases that named it
    Restore { address: String },
    /// Remove held mailboxes for good: the maildir (lifecycle.purge_command), then the row
    Purge {
        /// One held address, due or not
        #[arg(required_unless_present = "due", conflicts_with = "due")]
        address: Option<String>,
        /// Every hold whose period is over (run it from a timer)
        #[arg(long)]
        due: bool,
    },
    /// Rename a mailbox or move it to another domain: its address, the aliases naming it, then its maildir (lifecycle.rename_command)
    Rename {
        /// The mailbox's current address
        #[arg(required_unless_present = "resume")]
        old: Option<String>,
        /// The new address (another domain within your rights and its limits)
        #[arg(required_unless_present = "resume")]
        new: Option<String>,
        /// Keep the old address as an alias to the new one
        #[arg(long)]
        keep_alias: bool,
        /// Finish or roll back renames an interruption left pending (decided by which home is on disk)
        #[arg(long)]
        resume: bool,
    },
    /// List deleted mailboxes on hold, with the days left before their purge
    Deleted {
        /// Only holds of this domain
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        list: ListArgs,
    },
    /// Act on many mailboxes at once (one address per line in --from)
    #[command(subcommand)]
    Bulk(MailboxBulk),
    /// Create mailboxes from a CSV file (header: address,password,quota,name,status); all or nothing
    Import(ImportArgs),
    /// Write mailboxes as CSV to stdout (the password column empty unless --with-hashes)
    Export {
        #[arg(long)]
        domain: Option<String>,
        /// Fill the password column with the stored bcrypt hashes (admins only), so the file imports back unchanged
        #[arg(long)]
        with_hashes: bool,
    },
    /// Edit many mailboxes in $EDITOR as tab-separated rows (quota, name, status), then apply in one transaction
    EditMany(EditManyArgs),
    #[command(flatten)]
    Access(super::app_password::MailboxAccessCommand),
    #[command(flatten)]
    Limits(super::limits::MailboxLimits),
    /// The mailbox's auto-reply (a Pigeonhole Sieve vacation script)
    #[command(subcommand)]
    Vacation(super::vacation::VacationCommand),
}

#[derive(Debug, Subcommand)]
pub enum MailboxBulk {
    /// Suspend every listed mailbox in one transaction
    Suspend(BulkArgs),
    /// Activate every listed mailbox in one transaction
    Activate(BulkArgs),
    /// Delete every listed mailbox in one transaction
    Delete(BulkArgs),
    /// Set one quota on every listed mailbox in one transaction
    SetQuota {
        /// New quota (e.g. 2G; 0 = unlimited)
        quota: String,
        #[command(flatten)]
        args: BulkArgs,
    },
}

pub fn run(
    c: &MailboxCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        MailboxCommand::Add {
            address,
            quota,
            name,
            password,
            force,
        } => add(env, conn, ctx, j, address, quota, name, password, *force)?,
        MailboxCommand::List {
            domain,
            all: true,
            list: l,
        } => {
            let d = domain_id(conn, ctx, domain)?;
            stream_mailboxes(conn, ctx, &filter(l, d)?, l.page.after.clone(), j)?;
            String::new()
        }
        MailboxCommand::List {
            domain,
            all: false,
            list: l,
        } => {
            let d = domain_id(conn, ctx, domain)?;
            let pg = page(&l.page);
            list_sorted(
                &ops::mailboxes::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
                filter(l, d)?.sort,
            )
        }
        MailboxCommand::Show { address } => object(&ops::mailboxes::get(conn, ctx, address)?, j),
        MailboxCommand::Edit {
            address,
            quota,
            name,
            access,
            version,
        } => {
            let edit = EditMailbox {
                address: address.clone(),
                version: *version,
                edit: ops::mailboxes::MailboxEdit {
                    quota: size_opt("quota", quota)?,
                    name: name.clone(),
                },
                access: access.access(),
                password: None,
            };
            run_command(edit, env, conn, ctx, j)?
        }
        MailboxCommand::Password { address, password } => {
            let (pw, generated) = setup::new_password(password, address)?;
            let set = SetMailboxPassword {
                address: address.clone(),
                password: pw.clone(),
            };
            let out = run_command(set, env, conn, ctx, j)?;
            with_generated(out, generated.then_some(pw), j, address)
        }
        MailboxCommand::Suspend { address } => run_status(
            Entity::Mailboxes,
            address,
            Status::Suspended,
            env,
            conn,
            ctx,
            j,
        )?,
        MailboxCommand::Activate { address } => run_status(
            Entity::Mailboxes,
            address,
            Status::Active,
            env,
            conn,
            ctx,
            j,
        )?,
        MailboxCommand::Delete { .. }
        | MailboxCommand::Restore { .. }
        | MailboxCommand::Purge { .. }
        | MailboxCommand::Rename { .. } => return lifecycle(c, env, conn, ctx, j),
        MailboxCommand::Deleted { domain, list: l } => {
            let d = domain_id(conn, ctx, domain)?;
            let pg = page(&l.page);
            list_sorted(
                &ops::deleted::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
                filter(l, d)?.sort,
            )
        }
        MailboxCommand::Bulk(b) => return bulk(b, conn, ctx, j),
        MailboxCommand::Import(a) => return super::bulk::mailbox_import(a, conn, ctx, j),
        MailboxCommand::Export {
            domain,
            with_hashes,
        } => return super::bulk::mailbox_export(conn, ctx, domain, *with_hashes),
        MailboxCommand::EditMany(a) => {
            return super::bulk::edit_many(Entity::Mailboxes, a, conn, ctx, j)
        }
        MailboxCommand::Access(a) => return super::app_password::run(a, conn, ctx, j),
        MailboxCommand::Vacation(v) => return super::vacation::run(v, conn, ctx, j),
        // Needs [policyd]: resources dispatches it before coming here.
        MailboxCommand::Limits(_) => return Err(CliError::Usage("not a mailbox command".into())),
    })
}

/// Delete (held, or `--now`), restore, purge and rename: the commands the
/// Mailboxes and Deleted screens send.
fn lifecycle(
    c: &MailboxCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    match c {
        MailboxCommand::Delete { address, now, yes } => {
            if *now && !*yes {
                confirm_now(address)?;
            }
            let delete = DeleteMailbox {
                address: address.clone(),
                now: *now,
            };
            run_command(delete, env, conn, ctx, j)
        }
        MailboxCommand::Restore { address } => {
            let restore = RestoreMailbox {
                address: address.clone(),
            };
            run_command(restore, env, conn, ctx, j)
        }
        MailboxCommand::Purge {
            address: Some(a),
            due: false,
        } => run_command(PurgeMailbox { address: a.clone() }, env, conn, ctx, j),
        MailboxCommand::Purge { .. } => run_command(PurgeDue, env, conn, ctx, j),
        MailboxCommand::Rename {
            old: Some(old),
            new: Some(new),
            keep_alias,
            ..
        } => {
            let rename = RenameMailbox {
                address: old.clone(),
                new_address: new.clone(),
                keep_alias: *keep_alias,
            };
            run_command(rename, env, conn, ctx, j)
        }
        MailboxCommand::Rename { .. } => run_command(ResumeRenames, env, conn, ctx, j),
        _ => Err(CliError::Usage("not a lifecycle command".into())),
    }
}

#[allow(clippy::too_many_arguments)]
fn add(
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
    address: &str,
    quota: &Option<String>,
    name: &Option<String>,
    password: &NewPasswordArgs,
    force: bool,
) -> Result<String, CliError> {
    let quota = size_opt("quota", quota)?;
    if force {
        purge_held(conn, ctx, address)?;
    }
    let (pw, generated) = setup::new_password(password, address)?;
    let new = ops::mailboxes::NewMailbox {
        address: address.to_string(),
        password: pw.clone(),
        quota,
        name: name.clone(),
    };
    let out = run_command(CreateMailbox(new), env, conn, ctx, j)?;
    Ok(with_generated(out, generated.then_some(pw), j, address))
}

/// `mailbox add --force`: purge a hold on the address first, so the new
/// mailbox never finds the old one's mail in its home.
fn purge_held(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> Result<(), CliError> {
    match ops::deleted::purge(conn, ctx, address) {
        Ok(p) => {
            eprintln!(
                "purged the deleted mailbox held on {} ({} removed)",
                crate::sanitize::for_terminal(&p.address),
                crate::sanitize::for_terminal(&p.home)
            );
            Ok(())
        }
        Err(crate::error::OpError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `mailbox delete --now` without `--yes`: asked on a terminal (default
/// No), refused without one.
fn confirm_now(address: &str) -> Result<(), CliError> {
    use std::io::IsTerminal;
    let q = format!(
        "delete mailbox {} and remove its mail now, with no hold to restore from",
        crate::sanitize::for_terminal(address)
    );
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "{q}: pass --yes to confirm (no terminal to ask on)"
        )));
    }
    if !super::bulk::ask(&q, false)? {
        return Err(CliError::Usage("cancelled; nothing was deleted".into()));
    }
    Ok(())
}

fn bulk(b: &MailboxBulk, conn: &mut AnyConnection, ctx: &Ctx, j: bool) -> Result<String, CliError> {
    let (args, action) = match b {
        MailboxBulk::Suspend(a) => (a, Action::Suspend),
        MailboxBulk::Activate(a) => (a, Action::Activate),
        MailboxBulk::Delete(a) => (a, Action::Delete),
        MailboxBulk::SetQuota { quota, args } => {
            (args, Action::SetQuota(validate::size("quota", quota)?))
        }
    };
    super::bulk::run_bulk(Entity::Mailboxes, args, &action, conn, ctx, j)
}

/// `mailbox list --all`: keyset pages of 1000 written as they arrive, so
/// memory stays flat at any table size. JSON keeps the shape of a single
/// page (`{"items": [...], "next": null}`), one compact row per line.
fn stream_mailboxes(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    f: &Filter,
    after: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    use std::io::Write;
    let io = |e: std::io::Error| CliError::Op(crate::error::OpError::Io(e.to_string()));
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let mut page = Page {
        after,
        limit: Some(1000),
        backward: false,
    };
    let mut first = true;
    if json {
        w.write_all(b"{\"items\": [\n").map_err(io)?;
    }
    loop {
        let rows = ops::mailboxes::list(conn, ctx, f, &page)?;
        let Some(last) = rows.last() else { break };
        page.after = Some(
            f.sort
                .cursor(last.quota_used, last.quota_limit, &last.username),
        );
        if json {
            for r in &rows {
                if !first {
                    w.write_all(b",\n").map_err(io)?;
                }
                first = false;
                let row = serde_json::to_string(r).map_err(|e| io(std::io::Error::other(e)))?;
                w.write_all(super::output::json_safe(&row).as_bytes())
                    .map_err(io)?;
            }
        } else {
            w.write_all(super::output::table(&rows).as_bytes())
                .map_err(io)?;
        }
    }
    if json {
        w.write_all(b"\n], \"next\": null}\n").map_err(io)?;
    }
    w.flush().map_err(io)
}

impl Row for ops::deleted::HoldView {
    const HEADERS: &'static [&'static str] = &[
        "ADDRESS",
        "DELETED",
        "PURGE AFTER",
        "DAYS LEFT",
        "ALIASES",
        "USED",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.row.username.clone(),
            self.row.deleted_at.format("%Y-%m-%d").to_string(),
            self.row.purge_after.format("%Y-%m-%d %H:%M").to_string(),
            if self.days_left == 0 {
                "due".into()
            } else {
                self.days_left.to_string()
            },
            self.alias_count.to_string(),
            used(self.row.quota_used),
        ]
    }
    fn key(&self) -> String {
        self.row.username.clone()
    }
}

impl Row for Mailbox {
    const HEADERS: &'static [&'static str] = &["ADDRESS", "STATUS", "QUOTA", "USED", "NAME"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.username.clone(),
            self.status.clone(),
            human_limit(self.quota_limit),
            used(self.quota_used),
            self.name.clone().unwrap_or_default(),
        ]
    }
    fn key(&self) -> String {
        self.username.clone()
    }
    fn cursor(&self, sort: crate::store::Sort) -> String {
        sort.cursor(self.quota_used, self.quota_limit, &self.username)
    }
}
