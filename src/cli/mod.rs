//! Subcommands: the same operations as the TUI, for scripts. Each command
//! resolves the database, logs in, calls `ops`, and prints text or JSON.

pub mod alias;
pub mod alias_domain;
pub mod app_password;
pub mod args;
pub mod audit;
mod bench;
mod bulk;
mod demo;
pub mod dkim;
pub mod dns;
pub mod domain;
mod init;
mod input;
pub mod ldap;
pub mod limits;
mod mail;
pub mod mailbox;
mod manuals;
pub mod output;
pub mod permission;
mod policyd;
pub mod preferences;
mod resources;
pub mod sender;
pub mod sending;
pub mod setup;
mod stats;
mod token;
mod totp;
pub mod user;
pub mod vacation;

use crate::config::ConfigError;
use crate::db::{self, migrate, AnyConnection, DbError};
use crate::env::{self, Env, EnvError};
use crate::error::OpError;
use crate::ops::Ctx;
use args::{Cli, Command, DbCommand};

/// Exit status: 0 done, 1 refused or failed, 2 usage error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Op(#[from] OpError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// Not a usage error: exit 1.
    #[error("terminal: {0}")]
    Terminal(std::io::Error),
    /// A check that ran and found a problem: the report is printed on
    /// stdout and the process exits with `code`.
    #[error("{message}")]
    Report {
        out: String,
        code: u8,
        message: String,
    },
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Report { code, .. } => *code,
            _ => 1,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (kind, field) = match self {
            CliError::Usage(_) => ("usage", None),
            CliError::Op(e) => (e.kind().as_str(), e.field()),
            CliError::Config(_) => ("config", None),
            CliError::Db(_) => ("database", None),
            CliError::Terminal(_) => ("terminal", None),
            CliError::Report { .. } => ("check_failed", None),
        };
        serde_json::json!({ "error": { "kind": kind, "field": field, "message": self.to_string() } })
    }
}

impl From<EnvError> for CliError {
    fn from(e: EnvError) -> CliError {
        match e {
            EnvError::Usage(m) => CliError::Usage(m),
            EnvError::Config(e) => CliError::Config(e),
            EnvError::Db(e) => CliError::Db(e),
            EnvError::Op(e) => CliError::Op(e),
            EnvError::Terminal(e) => CliError::Terminal(e),
        }
    }
}

/// What start-up takes from the command line.
pub fn start_args(cli: &Cli) -> env::Args {
    env::Args {
        config: cli.config.clone(),
        database_url: cli.database_url.clone(),
        user: cli.user.clone(),
        password_file: cli.password_file.clone(),
        token_file: cli.token_file.clone(),
        totp_file: cli.totp_file.clone(),
        totp_code: std::env::var("POSTFIX_MANAGER_TOTP").ok(),
    }
}

/// Config, a current database and a logged-in user: what data commands need.
fn session(cli: &Cli) -> Result<(Env, AnyConnection, Ctx), CliError> {
    let env = Env::load(&start_args(cli))?;
    let mut conn = env.connect()?;
    let ctx = env.login(&mut conn)?;
    Ok((env, conn, ctx))
}

/// Run a subcommand; returns what to print on stdout. Without one, `main`
/// starts the TUI instead.
pub fn run(cli: &Cli) -> Result<String, CliError> {
    let Some(command) = &cli.command else {
        return Err(CliError::Usage("no subcommand (see --help)".into()));
    };
    match command {
        Command::Init(a) => init::run(cli, a),
        Command::Completions { shell } => Ok(manuals::completions(*shell)),
        Command::Man { dir } => manuals::man(dir.as_deref()),
        Command::Db(DbCommand::Backup { file }) => {
            let (env, mut conn, ctx) = session(cli)?;
            let r = crate::ops::maintenance::backup(&mut conn, &ctx, &env.url, file)?;
            Ok(if cli.json {
                output::object(&r, true)
            } else {
                format!(
                    "backup written to {} ({} bytes, {})\n",
                    r.file, r.bytes, r.integrity
                )
            })
        }
        Command::Db(DbCommand::Restore { file }) => {
            let (env, conn, ctx) = session(cli)?;
            let (r, _) = crate::ops::maintenance::restore(conn, &ctx, &env.url, file)?;
            Ok(if cli.json {
                output::object(&r, true)
            } else if r.pending_migrations > 0 {
                format!(
                    "restored {}; it needs {}: run `postfix-manager db migrate`\n",
                    r.file,
                    crate::plural::s(r.pending_migrations, "migration")
                )
            } else {
                format!("restored {}\n", r.file)
            })
        }
        Command::Db(DbCommand::Maintain { vacuum }) => {
            let (env, mut conn, ctx) = session(cli)?;
            let mut progress = |s: &str| eprintln!("maintain: {s}");
            let r = crate::ops::maintenance::maintain(
                &mut conn,
                &ctx,
                &env.url,
                *vacuum,
                &mut progress,
            )?;
            if cli.json {
                return Ok(output::object(&r, true));
            }
            let mut out = String::new();
            if let (Some(b), Some(a)) = (r.size_before, r.size_after) {
                out.push_str(&format!("file size: {b} -> {a} bytes\n"));
            }
            for (before, after) in r.tables_before.iter().zip(&r.tables_after) {
                out.push_str(&format!(
                    "{:<28} {:>12} -> {:>12} bytes, dead rows {} -> {}\n",
                    before.table, before.bytes, after.bytes, before.dead_rows, after.dead_rows
                ));
            }
            out.push_str(&format!("done: {}\n", r.steps.join("; ")));
            Ok(out)
        }
        Command::Db(c) => run_db(cli, c),
        Command::Health(h) => health(cli, h),
        Command::Mail(c) => {
            let (env, mut conn, ctx) = session(cli)?;
            mail::run_mail(cli, c, &env, &mut conn, &ctx)
        }
        Command::Policyd(c) => policyd::run(cli, c),
        Command::Quota(c) => {
            let (env, mut conn, ctx) = session(cli)?;
            mail::run_quota(cli, c, &env, &mut conn, &ctx)
        }
        other => {
            let (env, mut conn, ctx) = session(cli)?;
            match other {
                Command::Ldap(c) => ldap::run(cli, c, &env, &mut conn, &ctx),
                Command::Dkim(c) => dkim::run(cli, c, &env, &mut conn, &ctx),
                Command::Demo(c) => demo::run(cli, c, &mut conn, &ctx),
                Command::Bench(b) => bench::run(cli, b, &mut conn, &ctx),
                _ => resources::run(cli, other, &env, &mut conn, &ctx),
            }
        }
    }
}

/// `health`: the checks, printed; a problem is the exit status.
fn health(cli: &Cli, h: &args::HealthArgs) -> Result<String, CliError> {
    let env = Env::load(&start_args(cli))?;
    if !(h.replica_lag_warn_secs >= 0.0 && h.replica_lag_warn_secs <= h.replica_lag_crit_secs) {
        return Err(crate::error::OpError::invalid(
            "replica-lag-warn-secs",
            "must be 0 or more and not above --replica-lag-crit-secs",
        )
        .into());
    }
    let opts = crate::health::Options {
        backup_max_age_hours: h.backup_max_age_hours,
        verify_audit: h.verify_audit,
        replica_lag_warn_secs: h.replica_lag_warn_secs,
        replica_lag_crit_secs: h.replica_lag_crit_secs,
        audit_seal: Some(env.audit.clone()),
        dns: h.dns,
        ..Default::default()
    };
    let r = crate::health::run(&env.url, &opts);
    let out = if cli.json {
        output::object(&r, true)
    } else {
        let mut t = format!(
            "{}: {}\n",
            format!("{:?}", r.status).to_uppercase(),
            env.url.redacted()
        );
        for c in &r.checks {
            t.push_str(&format!(
                "  {:<8} {}: {}\n",
                format!("{:?}", c.status).to_uppercase(),
                c.name,
                c.message
            ));
        }
        if !r.tables.is_empty() {
            let sizes: Vec<String> = r.tables.iter().map(|(t, n)| format!("{t}={n}")).collect();
            t.push_str(&format!("  tables: {}\n", sizes.join(" ")));
        }
        t
    };
    match r.status.exit_code() {
        0 => Ok(out),
        code => Err(CliError::Report {
            out,
            code,
            message: String::new(),
        }),
    }
}

fn run_db(cli: &Cli, c: &DbCommand) -> Result<String, CliError> {
    let env = Env::load(&start_args(cli))?;
    match c {
        DbCommand::Migrate => {
            let mut conn = db::connect(&env.url, true)?;
            // Nobody to log in as on an empty database; once there is an
            // admin, changing the schema is an admin's (audited) act.
            let applied = if migrate::has_admin(&mut conn)? {
                let ctx = env.login(&mut conn)?;
                crate::ops::maintenance::migrate(&mut conn, &ctx)?
            } else {
                migrate::run_pending(&mut conn)?
            };
            if cli.json {
                return Ok(output::object(
                    &serde_json::json!({ "applied": applied }),
                    true,
                ));
            }
            Ok(if applied.is_empty() {
                format!("{}: no pending migrations\n", env.url.redacted())
            } else {
                format!("{}: applied {}\n", env.url.redacted(), applied.join(", "))
            })
        }
        DbCommand::Rollback { yes, backup } => {
            let mut conn = db::connect(&env.url, false)?;
            let ctx = env.login(&mut conn)?;
            let r = crate::ops::maintenance::rollback(
                &mut conn,
                &ctx,
                &env.url,
                *yes,
                backup.as_deref(),
            )?;
            if cli.json {
                return Ok(output::object(&r, true));
            }
            let mut out = String::new();
            if let Some(b) = &r.backup {
                out.push_str(&format!(
                    "backup written to {} ({} bytes)\n",
                    b.file, b.bytes
                ));
            }
            Ok(out
                + &match r.reverted {
                    Some(v) => format!("{}: reverted {v}\n", env.url.redacted()),
                    None => format!("{}: nothing to revert\n", env.url.redacted()),
                })
        }
        DbCommand::Backup { .. } | DbCommand::Restore { .. } | DbCommand::Maintain { .. } => {
            Err(CliError::Usage("handled above".into()))
        }
        DbCommand::Status => {
            let mut conn = db::connect(&env.url, false)?;
            let state = migrate::status(&mut conn)?;
            if cli.json {
                return Ok(output::object(
                    &serde_json::json!({ "database": env.url.redacted(), "backend": env.url.backend(), "migrations": state }),
                    true,
                ));
            }
            let mut out = format!("{}\n", env.url.redacted());
            for m in state {
                out.push_str(&format!(
                    "  [{}] {}\n",
                    if m.applied { "x" } else { " " },
                    m.name
                ));
            }
            Ok(out)
        }
    }
}
