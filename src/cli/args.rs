//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Mailbox totals and per-domain usage
    Stats(PageArgs),
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
    /// LDAP servers: admin login by LDAP bind, user import, the secrets key
    #[command(subcommand)]
    Ldap(LdapCommand),
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
}

#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Create a domain (limits: see the options; unset ones are unlimited or from the config)
    Add {
        name: String,
        #[command(flatten)]
        fields: DomainFields,
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
    Import(ImportArgs),
    /// Write domains as CSV to stdout
    Export,
    /// Edit many domains in $EDITOR as tab-separated rows (description, limits, transport, status), then apply in one transaction
    EditMany(EditManyArgs),
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
    /// Change a mailbox's quota or display name
    Edit {
        address: String,
        #[arg(long, value_name = "SIZE")]
        quota: Option<String>,
        #[arg(long)]
        name: Option<String>,
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
    /// Delete a mailbox (its mail on disk is left to the mail server)
    Delete { address: String },
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

#[derive(Debug, Subcommand)]
pub enum AliasBulk {
    /// Suspend every listed alias in one transaction
    Suspend(BulkArgs),
    /// Activate every listed alias in one transaction
    Activate(BulkArgs),
    /// Delete every listed alias in one transaction
    Delete(BulkArgs),
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

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an app user (admin, user or readonly) with a password
    Add {
        username: String,
        #[arg(long)]
        email: String,
        /// admin, user (domain-scoped) or readonly
        #[arg(long, default_value = "user")]
        role: String,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// List app users with role, status and login source
    List(ListArgs),
    /// Show one app user with role, last login and version
    Show { username: String },
    /// Change an app user's e-mail, role, login source or password-change flag
    Edit {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Require a new password at the next login (true) or stop requiring it (false)
        #[arg(long, value_name = "BOOL")]
        require_password_change: Option<bool>,
        /// local (password here) or ldap (bind to the directory at login)
        #[arg(long, value_name = "local|ldap")]
        auth_source: Option<String>,
        #[arg(long)]
        version: Option<i32>,
    },
    /// Set an app user's password (from a file, prompted, or generated)
    Password {
        username: String,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// Stop an app user logging in
    Suspend { username: String },
    /// Let a suspended app user log in again
    Activate { username: String },
    /// Delete an app user (their audit rows stay)
    Delete { username: String },
}

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

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Newest first
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only entries older than this id (the "next" value of the previous page)
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        action: Option<String>,
        /// Only entries by this user
        #[arg(long = "by")]
        by_user: Option<String>,
        #[arg(long)]
        resource_type: Option<String>,
        /// ok, refused or failed
        #[arg(long)]
        result: Option<String>,
    },
    /// One entry by id; with --archive, entries from an archive file (all, or the one with ID)
    Show {
        #[arg(required_unless_present = "archive")]
        id: Option<i64>,
        /// Read an archive written by `audit archive` instead of the database
        #[arg(long, value_name = "FILE")]
        archive: Option<PathBuf>,
    },
    /// Move entries older than a date into a compressed file (verified before anything is deleted)
    Archive {
        #[arg(long, value_name = "DATE")]
        before: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check the hash chain and the keyed checkpoints: finds edited, deleted
    /// or reordered rows, rows cut from either end, and rewrites with
    /// recomputed hashes (exit 1 if broken)
    Verify {
        /// Read checkpoints from this file instead of `[audit] checkpoint_file`
        /// (a copy, or `grep audit-checkpoint` of the syslog)
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
    },
    /// Delete entries older than a date (YYYY-MM-DD or RFC 3339, UTC); the chain stays verifiable
    Prune {
        #[arg(long, value_name = "DATE")]
        before: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PreferencesCommand {
    /// Show your theme, language and time zone
    Show,
    /// Change your theme, language or time zone
    Set {
        /// dark, light or no-color
        #[arg(long)]
        theme: Option<String>,
        /// A language tag such as en
        #[arg(long)]
        language: Option<String>,
        /// An IANA time zone such as Europe/Berlin; timestamps are shown in it
        #[arg(long)]
        timezone: Option<String>,
        #[arg(long)]
        version: Option<i32>,
    },
}

#[derive(Debug, Args, Clone, Default)]
pub struct LdapFields {
    /// Host name or IP address of the server
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default 389, or 636 with --tls ldaps)
    #[arg(long)]
    pub port: Option<i64>,
    /// none, starttls or ldaps
    #[arg(long = "tls", value_name = "MODE")]
    pub tls_mode: Option<String>,
    /// PEM file of the CA that signed the server's certificate ("" clears: system roots)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<String>,
    /// DN of the account used to search for users ("" clears: anonymous search)
    #[arg(long, value_name = "DN")]
    pub bind_dn: Option<String>,
    /// Read the bind password from this file (first line); it is stored encrypted
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ask_bind_password", "clear_bind_password"])]
    pub bind_password_file: Option<std::path::PathBuf>,
    /// Prompt for the bind password on the terminal
    #[arg(long, conflicts_with = "clear_bind_password")]
    pub ask_bind_password: bool,
    /// Remove the stored bind password
    #[arg(long)]
    pub clear_bind_password: bool,
    /// Base DN of the directory
    #[arg(long, value_name = "DN")]
    pub base_dn: Option<String>,
    /// Where users are searched (default: the base DN; "" clears)
    #[arg(long = "user-base", value_name = "DN")]
    pub user_search_base: Option<String>,
    /// Where groups are searched ("" clears)
    #[arg(long = "group-base", value_name = "DN")]
    pub group_search_base: Option<String>,
    /// Attribute holding the login name (default uid)
    #[arg(long, value_name = "ATTR")]
    pub user_attribute: Option<String>,
    /// Extra filter users must match, e.g. (objectClass=inetOrgPerson) ("" clears)
    #[arg(long, value_name = "FILTER")]
    pub user_filter: Option<String>,
    /// Login tries active servers by ascending priority (default 100)
    #[arg(long)]
    pub priority: Option<i64>,
    /// true or false: whether logins use this server
    #[arg(long, value_name = "BOOL")]
    pub active: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum LdapCommand {
    /// Add a server (needs --host and --base-dn)
    Add {
        name: String,
        #[command(flatten)]
        fields: LdapFields,
    },
    /// List LDAP servers (secrets are never shown)
    List(PageArgs),
    /// Show one LDAP server's settings (secrets are never shown)
    Show { name: String },
    /// Change an LDAP server's settings or bind secret
    Edit {
        name: String,
        #[command(flatten)]
        fields: LdapFields,
        /// Refuse if the row is no longer at this version (from `show`)
        #[arg(long)]
        version: Option<i32>,
    },
    /// Bind and search under the user base; report latency and the first entries
    Test {
        name: String,
        /// Seconds before giving up (default: ldap.timeout_secs from the config)
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Delete an LDAP server (refused while it is the last one LDAP users log in through)
    Delete { name: String },
    /// Create app users from directory entries (log in by LDAP bind)
    Import {
        /// The server to search
        name: String,
        /// Extra LDAP filter, e.g. (ou=mail-admins)
        #[arg(long)]
        filter: Option<String>,
        /// Role of the new users: admin, user or readonly
        #[arg(long, default_value = "readonly")]
        role: String,
        /// Most entries to consider (1-1000)
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Show what would be created and skipped; change nothing
        #[arg(long, visible_alias = "preview")]
        dry_run: bool,
    },
    /// Re-encrypt every stored secret with a new key, keeping the old key file as a backup
    RotateKey,
}
