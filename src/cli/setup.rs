//! Asking for a new password (mailbox or user) on the command line. The
//! start-up every command shares (config, URL, connection, login) is in
//! `crate::env`.

use std::io::IsTerminal;

use super::CliError;
use crate::env::read_secret_file;

/// A new password for a mailbox or user: from a file, generated (returned so
/// the caller prints it once), or typed twice at a prompt.
pub fn new_password(
    args: &super::args::NewPasswordArgs,
    what: &str,
) -> Result<(String, bool), CliError> {
    if let Some(f) = &args.new_password_file {
        return Ok((read_secret_file(f, "new password")?, false));
    }
    if args.generate_password {
        return Ok((crate::password::generate(), true));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "no password for {what}: pass --new-password-file FILE or --generate-password, or run on a terminal"
        )));
    }
    let a = rpassword::prompt_password(format!("New password for {what}: "))
        .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
    let b = rpassword::prompt_password("Repeat it: ")
        .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
    if a != b {
        return Err(CliError::Usage(
            "the two passwords differ; nothing changed".into(),
        ));
    }
    Ok((a, false))
}
