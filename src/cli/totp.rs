//! `postfix-manager user totp ...`: the second factor (`ops::totp`).

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::output::{object, said};
use super::CliError;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::ops::{self, Ctx};

#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Enrol: prints a QR code and the otpauth:// URI, then asks for the first code (or run `confirm` later)
    Enroll {
        /// Do not ask for the first code now (confirm later with `user totp confirm`)
        #[arg(long)]
        no_confirm: bool,
    },
    /// Turn a pending enrolment on with the first code from the app; prints 10 recovery codes once
    Confirm {
        /// The 6 digits the app shows (prompted on a terminal when left out)
        code: Option<String>,
    },
    /// Turn your own second factor off (needs a current code or a recovery code)
    Disable {
        /// Read the code from this file (prompted on a terminal otherwise)
        #[arg(long, value_name = "FILE")]
        code_file: Option<PathBuf>,
    },
    /// Remove USER's second factor so they enrol again (admin; your own needs a recovery code)
    Reset {
        username: String,
        /// Read one of your recovery codes from this file (resetting your own; prompted on a terminal otherwise)
        #[arg(long, value_name = "FILE")]
        recovery_code_file: Option<PathBuf>,
    },
    /// Whether you (or USER, for an admin) have a second factor, and recovery codes left
    Status { username: Option<String> },
}

fn read_code(file: Option<&PathBuf>, prompt: &str, what: &str) -> Result<Option<String>, CliError> {
    if let Some(f) = file {
        return Ok(Some(crate::env::read_secret_file(f, what)?));
    }
    if std::io::stdin().is_terminal() {
        let c = rpassword::prompt_password(prompt)
            .map_err(|e| CliError::Usage(format!("cannot read the {what}: {e}")))?;
        return Ok(Some(c));
    }
    Ok(None)
}

/// The QR code, the URI and the secret, for the terminal.
fn show_enrolment(e: &ops::totp::Enrolment) -> String {
    let mut out = String::new();
    match crate::qr::Matrix::encode(e.uri.expose()) {
        Ok(m) => {
            out.push_str(
                "Scan this with an authenticator app (drawn for a dark terminal background):\n\n",
            );
            for line in m.half_blocks(crate::qr::QUIET) {
                out.push_str("  ");
                out.push_str(&line);
                out.push('\n');
            }
            out.push('\n');
        }
        Err(err) => out.push_str(&format!("({err})\n")),
    }
    out.push_str(&format!(
        "URI:    {}\nsecret: {} (to type into an app by hand)\n",
        e.uri.expose(),
        e.secret.expose()
    ));
    out
}

fn show_codes(r: &ops::totp::RecoveryCodes, j: bool) -> String {
    if j {
        let codes: Vec<&str> = r.codes.iter().map(|c| c.expose()).collect();
        return object(
            &json!({ "username": r.username, "state": "enabled", "recovery_codes": codes }),
            true,
        );
    }
    let mut out = format!(
        "second factor of {} is on.\n\nRecovery codes (shown once; each works once, in place of a code, also to reset a lost device; keep them offline):\n\n",
        r.username
    );
    for c in &r.codes {
        out.push_str(&format!("    {}\n", c.expose()));
    }
    out
}

pub fn run(
    c: &TotpCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let keys = &env.key_file;
    Ok(match c {
        TotpCommand::Enroll { no_confirm } => {
            let e = ops::totp::enroll(conn, ctx, keys)?;
            if j {
                return Ok(object(
                    &json!({ "username": e.username, "state": "pending",
                        "uri": e.uri.expose(), "secret": e.secret.expose() }),
                    true,
                ));
            }
            let shown = show_enrolment(&e);
            if *no_confirm || !std::io::stdin().is_terminal() {
                return Ok(format!(
                    "{shown}\nThen turn it on with the app's code: postfix-manager user totp confirm CODE\n"
                ));
            }
            // Printed before the prompt: the code is read off the app
            // that just scanned it.
            eprintln!("{shown}");
            let code = crate::env::prompt_line(&format!("Code from the app for {}: ", e.username))?;
            show_codes(&ops::totp::confirm(conn, ctx, keys, &code)?, j)
        }
        TotpCommand::Confirm { code } => {
            let code = match code {
                Some(c) => c.clone(),
                None => read_code(None, "Code from the app: ", "code")?.ok_or_else(|| {
                    CliError::Usage("pass the code: user totp confirm CODE".into())
                })?,
            };
            show_codes(&ops::totp::confirm(conn, ctx, keys, &code)?, j)
        }
        TotpCommand::Disable { code_file } => {
            let code = read_code(
                code_file.as_ref(),
                "Current code (or a recovery code): ",
                "code",
            )?
            .ok_or_else(|| CliError::Usage("pass --code-file FILE, or run on a terminal".into()))?;
            ops::totp::disable(conn, ctx, keys, &code)?;
            said(
                j,
                &json!({ "username": ctx.username, "state": "none" }),
                format!("second factor of {} is off", ctx.username),
            )
        }
        TotpCommand::Reset {
            username,
            recovery_code_file,
        } => {
            let own =
                crate::validate::username("username", username).is_ok_and(|u| u == ctx.username);
            let code = if own {
                read_code(
                    recovery_code_file.as_ref(),
                    "One of your recovery codes: ",
                    "recovery code",
                )?
            } else {
                None
            };
            ops::totp::reset(conn, ctx, keys, username, code.as_deref())?;
            said(
                j,
                &json!({ "username": username, "state": "none" }),
                format!(
                    "removed the second factor of {username}; they enrol again with `user totp enroll`"
                ),
            )
        }
        TotpCommand::Status { username } => {
            object(&ops::totp::status(conn, ctx, username.as_deref())?, j)
        }
    })
}
