//! placeholder
use super::args::{BenchArgs, Cli};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::Ctx;

pub fn run(
    _cli: &Cli,
    _b: &BenchArgs,
    _conn: &mut AnyConnection,
    _ctx: &Ctx,
) -> Result<String, CliError> {
    Err(CliError::Usage("bench: not yet".into()))
}
