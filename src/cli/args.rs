//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::alias::AliasCommand;
use super::alias_domain::AliasDomainCommand;
use super::audit::AuditCommand;
use super::dkim::DkimCommand;
use super::domain::DomainCommand;
use super::ldap::LdapCommand;
use super::mailbox::MailboxCommand;
use super::permission::PermissionCommand;
use super::preferences::PreferencesCommand;
use super::user::UserCommand;

#[derive(Debug, Parser)]
#[command(
    name = "postfix-manager",
    version,
    about = "Terminal console for a Postfix + Dovecot virtual-mail host whose data lives in SQL",
    long_about = None
)]
pub struct Cli {
    /// Config file (TOML). Default: the platform config dir, e.g. ~/.config/postfix-manager/config.toml
    #[arg(
        long,
        global = true,
        env = "POSTFIX_MANAGER_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH, a file path, or postgres://... (overrides the config file)
    #[arg(
        long,
        global = true,
        env = "POSTFIX_MANAGER_DATABASE_URL",
        value_name = "URL"
    )]
    pub database_url: Option<String>,
    /// Act as this app user
    #[arg(long, global = true, env = "POSTFIX_MANAGER_USER", value_name = "NAME")]
    pub user: Option<String>,
    /// Read the app user's password from this file (first line)
    #[arg(
        long,
        global = true,
        env = "POSTFIX_MANAGER_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub password_file: Option<PathBuf>,
    /// Log in with a token from this file instead of a password (see `user token create`)
    #[arg(
        long,
        global = true,
        env = "POSTFIX_MANAGER_TOKEN_FILE",
        value_name = "FILE",
        conflicts_with = "password_file"
    )]
    pub token_file: Option<PathBuf>,
    /// Read the one-time code of your second factor from this file (or set POSTFIX_MANAGER_TOTP to the code)
    #[arg(
        long,
        global = true,
        env = "POSTFIX_MANAGER_TOTP_FILE",
        value_name = "FILE",
        conflicts_with = "token_file"
    )]
    pub totp_file: Option<PathBuf>,
    /// Machine-readable output
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the config, create and migrate the database, create the first admin
    Init(InitArgs),
    /// Schema migrations
    #[command(subcommand)]
    Db(DbCommand),
    /// Mail domains
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Mailboxes (Dovecot users)
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// Aliases and catch-alls (Postfix virtual_alias_maps)
    #[command(subcommand)]
    Alias(AliasCommand),
    /// Alias domains (user@alias.example -> user@target.example)
    #[command(subcommand, name = "alias-domain")]
    AliasDomain(AliasDomainCommand),
    /// App users (admins) of this console
    #[command(subcommand)]
    User(UserCommand),
    /// Per-domain permissions of users with role `user`
    #[command(subcommand)]
    Permission(PermissionCommand),
    /// The audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Mailbox totals and per-domain usage; `stats senders`: who is sending how much
    Stats(super::stats::StatsArgs),
    /// Your own preferences: theme, language, time zone (they follow you to every host)
    #[command(subcommand)]
    Preferences(PreferencesCommand),
    /// Monitoring check: connection, schema, table sizes, WAL, last backup, mail configs (exit 0/1/2 = OK/WARNING/CRITICAL)
    Health(HealthArgs),
    /// Postfix and Dovecot: generated SQL maps and config-file management
    #[command(subcommand)]
    Mail(MailCommand),
    /// Mailbox usage from Dovecot
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Sending suspensions: stop a mailbox from sending, resume it, list them (issue 21)
    #[command(subcommand)]
    Sending(super::sending::SendingCommand),
    /// Send-as grants: let a mailbox send as another address or @domain (issue 20)
    #[command(subcommand)]
    Sender(super::sender::SenderCommand),
    /// The Postfix policy service enforcing sending limits (docs/policy-service.md)
    #[command(subcommand)]
    Policyd(super::policyd::PolicydCommand),
    /// LDAP servers: admin login by LDAP bind, user import, the secrets key
    #[command(subcommand)]
    Ldap(LdapCommand),
    /// DKIM keys per domain: generate, publish, rotate, export to OpenDKIM and rspamd (docs/dkim.md)
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Demo data for trying things out and for benchmarks
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Measure paging, filtering and memory against this database (see docs/performance.md)
    Bench(BenchArgs),
    /// Print a shell completion script (e.g. `completions bash > /etc/bash_completion.d/postfix-manager`)
    Completions {
        /// bash, zsh, fish, elvish or powershell
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write one page per subcommand into --dir
    Man {
        /// Write postfix-manager.1, postfix-manager-domain-add.1, ... into this existing directory
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// A last backup older than this many hours is a warning
    #[arg(long, default_value_t = 26)]
    pub backup_max_age_hours: i64,
    /// Also verify the audit log's hash chain (reads every row)
    #[arg(long)]
    pub verify_audit: bool,
    /// PostgreSQL: a streaming replica further behind than this many seconds is a warning
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub replica_lag_warn_secs: f64,
    /// ... and this far behind, critical
    #[arg(long, default_value_t = 300.0, value_name = "SECS")]
    pub replica_lag_crit_secs: f64,
    /// Also summarise the cached DNS checks of `domain check` (an error is CRITICAL; warnings and unchecked domains WARNING)
    #[arg(long)]
    pub dns: bool,
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// Write Postfix map files, Dovecot SQL config and instructions for the configured database
    Generate {
        /// Directory to (re)create; an existing one must be empty or written by this command
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The database URL written into the files for Postfix and Dovecot (their read-only role); default: [mail] database_url, else the URL this program connects with. Never connected to here.
        #[arg(long, value_name = "URL")]
        lookup_url: Option<String>,
    },
    /// Stored versions of main.cf, master.cf, dovecot.conf and its includes
    #[command(subcommand)]
    Config(MailConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum MailConfigCommand {
    /// Store FILE (and, for dovecot, every file it !includes) as a new version
    Import {
        file: PathBuf,
        /// postfix or dovecot
        #[arg(long)]
        service: String,
    },
    /// Stored versions, newest first
    List {
        #[arg(long)]
        service: Option<String>,
        /// Only versions of this file (absolute path)
        #[arg(long)]
        file: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// One version with its contents
    Show { id: i32 },
    /// Unified diff of version ID against the file on disk (default) or another version
    Diff {
        id: i32,
        #[arg(long, conflicts_with = "against")]
        against_disk: bool,
        /// The other version's id (shown as the old side)
        #[arg(long, value_name = "ID")]
        against: Option<i32>,
    },
    /// Edit version ID in $VISUAL/$EDITOR; a change is stored as a new version
    Edit { id: i32 },
    /// Write version ID to its file: staged validation, backup, atomic replace, check, reload, roll back on failure
    Apply {
        id: i32,
        #[command(flatten)]
        how: ApplyArgs,
    },
    /// Put back the file as it was before version ID was applied (its backup), the same safe way as apply
    Rollback {
        id: i32,
        #[command(flatten)]
        how: ApplyArgs,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// Validation of a staged copy before the live file is touched (default: mail.postfix_stage_check /
    /// mail.dovecot_stage_check; PM_STAGE_FILE and PM_STAGE_DIR are set)
    #[arg(long, value_name = "CMD", conflicts_with = "no_stage_check")]
    pub stage_check: Option<String>,
    /// Skip the staged validation
    #[arg(long)]
    pub no_stage_check: bool,
    /// Validation run after writing, e.g. "postfix check" or "doveconf -n" (PM_CONFIG_FILE is set)
    #[arg(long, value_name = "CMD")]
    pub check: Option<String>,
    /// Run after a passing check, e.g. "postfix reload"
    #[arg(long, value_name = "CMD")]
    pub reload: Option<String>,
    /// Overwrite even if the file changed on disk since it was imported or applied
    #[arg(long)]
    pub force: bool,
    /// Put the backup here instead of beside the file
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Read Dovecot's usage of every mailbox and store it in one transaction
    Sync {
        /// Command printing `doveadm -f tab quota get -A` output (default: mail.quota_command)
        #[arg(long, value_name = "CMD")]
        command: Option<String>,
    },
    /// Record a usage sample per host, domain and mailbox (for cron) and prune old ones
    Sample,
    /// List mailboxes and domains over the thresholds; exit 0 OK, 1 WARNING, 2 CRITICAL
    Check {
        /// Warning threshold, percent used (default: quota.warn_percent, 80)
        #[arg(long, value_name = "PERCENT")]
        warn: Option<u32>,
        /// Critical threshold, percent used (default: quota.crit_percent, 95)
        #[arg(long, value_name = "PERCENT")]
        crit: Option<u32>,
    },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Read the first admin's password from this file instead of prompting or generating one
    #[arg(long, value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// The first admin's e-mail address
    #[arg(
        long,
        default_value = "admin@localhost.localdomain",
        value_name = "ADDRESS"
    )]
    pub admin_email: String,
    /// Local root's way back in: remove USER's second factor (needs the database and the secrets key file; audited)
    #[arg(long, value_name = "USER")]
    pub reset_totp: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Fill the database with generated domains, mailboxes, aliases and audit history (admin only)
    Seed(SeedArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SeedArgs {
    #[arg(long, default_value_t = 100)]
    pub domains: u64,
    #[arg(long, default_value_t = 10_000)]
    pub mailboxes: u64,
    #[arg(long, default_value_t = 1_000)]
    pub aliases: u64,
    /// Synthetic audit rows (chained like real ones)
    #[arg(long, default_value_t = 10_000)]
    pub audit: u64,
    /// Seed even if the database already has domains (new names get a suffix)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Timed repetitions of each query
    #[arg(long, default_value_t = 21)]
    pub runs: usize,
    /// Substring for the mailbox filter benchmark (besides a one-domain term, a missing one and a 2-character one)
    #[arg(long, default_value = "garcia")]
    pub term: String,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (creates a missing SQLite file)
    Migrate,
    /// Revert the most recent migration (admin login; one that drops tables holding rows needs --yes and --backup)
    Rollback {
        /// Confirm dropping tables that hold rows
        #[arg(long)]
        yes: bool,
        /// Back the database up to this new file before reverting
        #[arg(long, value_name = "FILE")]
        backup: Option<std::path::PathBuf>,
    },
    /// List migrations and whether each is applied
    Status,
    /// Write a consistent, integrity-checked backup to FILE (SQLite: VACUUM INTO; PostgreSQL: pg_dump)
    Backup { file: std::path::PathBuf },
    /// Replace the database with a backup, atomically (SQLite: only when no other session uses it)
    Restore { file: std::path::PathBuf },
    /// Upkeep: SQLite ANALYZE, PRAGMA optimize, WAL checkpoint (and VACUUM with --vacuum); PostgreSQL VACUUM (ANALYZE)
    Maintain {
        /// SQLite: also rewrite the file to give space back (writers wait meanwhile)
        #[arg(long)]
        vacuum: bool,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct PageArgs {
    /// Rows per page (1-10000)
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Start after this key (the "next" value of the previous page)
    #[arg(long, value_name = "KEY")]
    pub after: Option<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ListArgs {
    /// Only rows whose name contains this text
    #[arg(long)]
    pub filter: Option<String>,
    /// Only rows with this status (active, suspended)
    #[arg(long)]
    pub status: Option<String>,
    /// Order (domains and mailboxes): name, used, quota or usage (percent used)
    #[arg(long, value_name = "COLUMN")]
    pub sort: Option<String>,
    /// Largest first / reverse order
    #[arg(long)]
    pub desc: bool,
    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct NewPasswordArgs {
    /// Read the new password from this file (first line)
    #[arg(long, value_name = "FILE", conflicts_with = "generate_password")]
    pub new_password_file: Option<PathBuf>,
    /// Generate a random password and print it once
    #[arg(long)]
    pub generate_password: bool,
}

/// `edit-many`: which rows to open in $EDITOR.
#[derive(Debug, Args, Clone)]
pub struct EditManyArgs {
    /// Rows to edit (addresses or domain names), one per line ("-" = stdin)
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Apply without asking
    #[arg(long)]
    pub yes: bool,
}

/// Shared by every bulk action: which rows, and preview or apply.
#[derive(Debug, Args, Clone)]
pub struct BulkArgs {
    /// Keys, one per line ("-" = stdin; blank lines and # comments ignored)
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Only show what would change
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Apply without asking
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// CSV file ("-" = stdin)
    pub file: PathBuf,
    /// Check every line and report what would be created; change nothing
    #[arg(long)]
    pub dry_run: bool,
}
