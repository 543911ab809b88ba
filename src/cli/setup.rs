//! What every command needs before it runs: the config, a database URL, a
//! connection on a current schema, and (for data commands) a logged-in user.

use std::io::IsTerminal;
use std::path::Path;

use super::{args::Cli, CliError};
use crate::config::{config_path, Config};
use crate::db::{self, migrate, AnyConnection, DbUrl};
use crate::ops::{self, Client, ClientKind, Ctx, Policy};
use crate::secrets::KeyFile;

pub struct Env {
    pub config: Config,
    pub url: DbUrl,
    /// The secrets key file (read only when a secret is needed).
    pub key_file: KeyFile,
    /// The audit key, checkpoint file and syslog socket (`[audit]`).
    pub audit: ops::audit_seal::Seal,
}

/// Config file plus the URL override; no file and no URL is an error that
/// points at `init`.
pub fn load(cli: &Cli) -> Result<Env, CliError> {
    let path = config_path(cli.config.as_deref())?;
    let config = Config::load(&path)?.unwrap_or_default();
    let raw = match (&cli.database_url, &config.database.url) {
        (Some(u), _) => u.clone(),
        (None, Some(u)) => u.clone(),
        (None, None) => {
            return Err(CliError::Usage(format!(
                "no database configured: run `postfix-manager init` (config file {} not found or has no database.url), or pass --database-url",
                path.display()
            )))
        }
    };
    let mut url = DbUrl::parse(&raw)?;
    if let Some(f) = &config.database.password_file {
        url = url.with_password(&read_secret_file(f, "database password")?)?;
    }
    Ok(Env {
        url,
        key_file: KeyFile::new(config.key_file(&path)),
        audit: config.audit_seal(&path),
        config,
    })
}

/// A connection to a database whose schema matches this binary.
pub fn connect_current(env: &Env) -> Result<AnyConnection, CliError> {
    let mut conn = db::connect(&env.url, false)?;
    migrate::ensure_current(&mut conn)?;
    Ok(conn)
}

/// Read a secret from a file: the first line, without its line ending.
/// Warns on stderr when other users could read it too.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, CliError> {
    if let Some(w) = crate::db::files::exposure_warning(path, what) {
        eprintln!("{w}");
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {what} file {}: {e}", path.display())))?;
    let first = text.split('\n').next().unwrap_or("");
    Ok(first.strip_suffix('\r').unwrap_or(first).to_string())
}

/// Log in as the app user from --user/--password-file (or their env vars, or
/// a prompt on a terminal).
pub fn login(cli: &Cli, env: &Env, conn: &mut AnyConnection) -> Result<Ctx, CliError> {
    let interactive = std::io::stdin().is_terminal();
    let user = match &cli.user {
        Some(u) => u.clone(),
        None if interactive => prompt_line("Username: ")?,
        None => {
            return Err(CliError::Usage(
                "who is acting? pass --user NAME (or set POSTFIX_MANAGER_USER)".into(),
            ))
        }
    };
    let pw = match &cli.password_file {
        Some(f) => read_secret_file(f, "password")?,
        None if interactive => rpassword::prompt_password(format!("Password for {user}: "))
            .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?,
        None => {
            return Err(CliError::Usage(
                "no password: pass --password-file FILE (or set POSTFIX_MANAGER_PASSWORD_FILE), or run on a terminal"
                    .into(),
            ))
        }
    };
    let client = Client::from_env(ClientKind::Cli);
    let directory = directory(env);
    Ok(ops::auth::login_with(
        conn,
        &user,
        &pw,
        &client,
        &policy(env),
        &directory,
    )?)
}

/// The config's policy, with the audit seal (which needs the config's path).
pub fn policy(env: &Env) -> Policy {
    Policy {
        audit: Some(env.audit.clone()),
        ..Policy::from_config(&env.config)
    }
}

/// What an LDAP login needs from the config: the secrets key and the timeout.
pub fn directory(env: &Env) -> ops::auth::Directory {
    ops::auth::Directory {
        key_file: Some(env.key_file.clone()),
        timeout: Some(env.config.ldap_timeout()),
    }
}

fn prompt_line(prompt: &str) -> Result<String, CliError> {
    use std::io::Write;
    let mut out = std::io::stderr();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::Usage(format!("cannot read from the terminal: {e}")))?;
    Ok(line.trim().to_string())
}

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
