//! Subcommands: the same operations as the TUI, for scripts. Each command
//! resolves the database, logs in, calls `ops`, and prints text or JSON.

pub mod args;
mod init;
pub mod output;
mod resources;
pub mod setup;

use crate::config::ConfigError;
use crate::db::{self, migrate, DbError};
use crate::error::OpError;
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
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (kind, field) = match self {
            CliError::Usage(_) => ("usage", None),
            CliError::Op(e) => (e.kind(), e.field()),
            CliError::Config(_) => ("config", None),
            CliError::Db(_) => ("database", None),
        };
        serde_json::json!({ "error": { "kind": kind, "field": field, "message": self.to_string() } })
    }
}

/// Run a parsed command line; returns what to print on stdout.
pub fn run(cli: &Cli) -> Result<String, CliError> {
    let Some(command) = &cli.command else {
        crate::tui::run(cli)?;
        return Ok(String::new());
    };
    match command {
        Command::Init(a) => init::run(cli, a),
        Command::Db(c) => run_db(cli, c),
        other => {
            let env = setup::load(cli)?;
            let mut conn = setup::connect_current(&env)?;
            let ctx = setup::login(cli, &env, &mut conn)?;
            resources::run(cli, other, &mut conn, &ctx)
        }
    }
}

fn run_db(cli: &Cli, c: &DbCommand) -> Result<String, CliError> {
    let env = setup::load(cli)?;
    match c {
        DbCommand::Migrate => {
            let mut conn = db::connect(&env.url, true)?;
            let applied = migrate::run_pending(&mut conn)?;
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
        DbCommand::Rollback => {
            let mut conn = db::connect(&env.url, false)?;
            let reverted = migrate::revert_last(&mut conn)?;
            if cli.json {
                return Ok(output::object(
                    &serde_json::json!({ "reverted": reverted }),
                    true,
                ));
            }
            Ok(match reverted {
                Some(v) => format!("{}: reverted {v}\n", env.url.redacted()),
                None => format!("{}: nothing to revert\n", env.url.redacted()),
            })
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
