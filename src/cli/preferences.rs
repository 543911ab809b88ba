//! `postfix-manager preferences ...`: the arguments and the calls into
//! `ops::preferences`.

use clap::Subcommand;

use super::output::{object, said};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::{self, Ctx};

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

pub fn run(
    c: &PreferencesCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    match c {
        PreferencesCommand::Show => Ok(object(&ops::preferences::get(conn, ctx)?, j)),
        PreferencesCommand::Set {
            theme,
            language,
            timezone,
            version,
        } => {
            let e = ops::preferences::PreferencesEdit {
                theme: theme.clone(),
                language: language.clone(),
                timezone: timezone.clone(),
            };
            let p = ops::preferences::set(conn, ctx, *version, &e)?;
            Ok(said(
                j,
                &p,
                format!(
                    "preferences saved: theme {}, language {}, time zone {}",
                    p.theme, p.language, p.timezone
                ),
            ))
        }
    }
}
