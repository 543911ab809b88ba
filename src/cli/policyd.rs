//! `postfix-manager policyd ...`: the policy service (issue 21;
//! docs/policy-service.md).

use clap::Subcommand;

use super::args::Cli;
use super::{start_args, CliError};
use crate::env::Env;

#[derive(Debug, Subcommand)]
pub enum PolicydCommand {
    /// The [policyd] settings in force (defaults for every mailbox without its own or its domain's limits)
    Defaults,
}

pub fn run(cli: &Cli, cmd: &PolicydCommand) -> Result<String, CliError> {
    let env = Env::load(&start_args(cli))?;
    match cmd {
        PolicydCommand::Defaults => Ok(super::output::object(&env.config.policyd, cli.json)),
    }
}
