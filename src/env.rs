//! Start-up shared by both front ends: the config, a database URL, a
//! connection on a current schema and (for data work) a logged-in user.
//! `main.rs` chooses the TUI or the CLI; both start here, so neither front
//! end depends on the other.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::config::{config_path, Config, ConfigError};
use crate::db::{self, migrate, AnyConnection, DbError, DbUrl};
use crate::error::OpError;
use crate::ops::{self, Client, ClientKind, Ctx, Policy};
use crate::secrets::KeyFile;

/// What start-up takes from the command line (or its environment
/// variables); the front end's own options stay with the front end.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub config: Option<PathBuf>,
    pub database_url: Option<String>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A script's token instead of a password (`--token-file`).
    pub token_file: Option<PathBuf>,
    /// The second factor's code: from this file (`--totp-file`) ...
    pub totp_file: Option<PathBuf>,
    /// ... or given directly (`POSTFIX_MANAGER_TOTP`).
    pub totp_code: Option<String>,
}

/// Why start-up (or the terminal under the TUI) failed; each kind has its
/// exit status.
#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    /// Fixable on the command line or in the config: exit 2.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    /// The login was refused, or the database refused a read.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The terminal failed under the TUI (I/O on a vanished or broken
    /// terminal): a failure, exit 1, not a usage error.
    #[error("terminal: {0}")]
    Terminal(#[source] std::io::Error),
}

impl EnvError {
    /// 2 for a usage error, 1 for everything that failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            EnvError::Usage(_) => 2,
            EnvError::Config(_) | EnvError::Db(_) | EnvError::Op(_) | EnvError::Terminal(_) => 1,
        }
    }
}

pub struct Env {
    pub config: Config,
    pub url: DbUrl,
    /// The secrets key file (read only when a secret is needed).
    pub key_file: KeyFile,
    /// The audit key, checkpoint file and syslog socket (`[audit]`).
    pub audit: ops::audit_seal::Seal,
    /// Who logs in (`--user`), if given.
    pub user: Option<String>,
    password_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
    totp_file: Option<PathBuf>,
    totp_code: Option<String>,
}

impl Env {
    /// Config file plus the URL override; no file and no URL is an error
    /// that points at `init`.
    pub fn load(args: &Args) -> Result<Env, EnvError> {
        let path = config_path(args.config.as_deref())?;
        let config = Config::load(&path)?.unwrap_or_default();
        let raw = match (&args.database_url, &config.database.url) {
            (Some(u), _) => u.clone(),
            (None, Some(u)) => u.clone(),
            (None, None) => {
                return Err(EnvError::Usage(format!(
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
            user: args.user.clone(),
            password_file: args.password_file.clone(),
            token_file: args.token_file.clone(),
            totp_file: args.totp_file.clone(),
            totp_code: args.totp_code.clone(),
        })
    }

    /// A connection to a database whose schema matches this binary.
    pub fn connect(&self) -> Result<AnyConnection, EnvError> {
        let mut conn = db::connect(&self.url, false)?;
        migrate::ensure_current(&mut conn)?;
        Ok(conn)
    }

    /// Log in as the app user from --user/--password-file (or their env
    /// vars, or a prompt on a terminal).
    pub fn login(&self, conn: &mut AnyConnection) -> Result<Ctx, EnvError> {
        if let Some(f) = &self.token_file {
            return self.token_login(conn, f);
        }
        let interactive = std::io::stdin().is_terminal();
        let user = match &self.user {
            Some(u) => u.clone(),
            None if interactive => prompt_line("Username: ")?,
            None => {
                return Err(EnvError::Usage(
                    "who is acting? pass --user NAME (or set POSTFIX_MANAGER_USER)".into(),
                ))
            }
        };
        let pw = match &self.password_file {
            Some(f) => read_secret_file(f, "password")?,
            None if interactive => rpassword::prompt_password(format!("Password for {user}: "))
                .map_err(|e| EnvError::Usage(format!("cannot read the password: {e}")))?,
            None => {
                return Err(EnvError::Usage(
                    "no password: pass --password-file FILE (or set POSTFIX_MANAGER_PASSWORD_FILE), or run on a terminal"
                        .into(),
                ))
            }
        };
        let client = Client::from_env(ClientKind::Cli);
        let given = self.given_code()?;
        let policy = self.session_policy(conn)?;
        let attempt = |conn: &mut AnyConnection, code: Option<&str>| {
            ops::auth::login_code(conn, &user, &pw, code, &client, &policy, &self.directory())
        };
        match attempt(conn, given.as_deref()) {
            // Asked only after the right password, as the TUI does.
            Err(OpError::CodeRequired) if given.is_none() && interactive => {
                let code = prompt_line(&format!(
                    "One-time code for {user} (or a recovery code): "
                ))?;
                Ok(attempt(conn, Some(&code))?)
            }
            Err(OpError::CodeRequired) => Err(EnvError::Usage(format!(
                "{user} has a second factor: pass --totp-file FILE or set POSTFIX_MANAGER_TOTP to the current code, or run on a terminal"
            ))),
            r => Ok(r?),
        }
    }

    /// The one-time code given up front (file first, then the variable).
    fn given_code(&self) -> Result<Option<String>, EnvError> {
        if let Some(f) = &self.totp_file {
            return Ok(Some(read_secret_file(f, "one-time code")?));
        }
        Ok(self
            .totp_code
            .as_ref()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()))
    }

    /// A script's login: the token names its owner, so `--user` is only a
    /// check that it is the expected one.
    fn token_login(&self, conn: &mut AnyConnection, file: &Path) -> Result<Ctx, EnvError> {
        let secret = read_secret_file(file, "token")?;
        let client = Client::from_env(ClientKind::Cli);
        let policy = self.session_policy(conn)?;
        let ctx = ops::tokens::login(conn, &secret, &client, &policy)?;
        let owner = ctx.token.as_ref().map(|t| t.owner.as_str());
        match (&self.user, owner) {
            (Some(u), Some(o)) if u != o => Err(EnvError::Usage(format!(
                "--user {u} does not own this token (it is {o}'s); drop --user or use {o}'s token"
            ))),
            _ => Ok(ctx),
        }
    }

    /// The config's policy, with the audit seal (which needs the config's
    /// path).
    pub fn policy(&self) -> Policy {
        Policy {
            audit: Some(self.audit.clone()),
            ..Policy::from_config(&self.config)
        }
    }

    /// `policy` with the tables this connection's schema has, read once at
    /// login: the session's writes then ask no catalog. A connection from
    /// `connect` is current; `db migrate` and `db rollback` log in on
    /// whatever schema the database has.
    fn session_policy(&self, conn: &mut AnyConnection) -> Result<Policy, EnvError> {
        let tables = migrate::Tables::read(conn).map_err(DbError::from)?;
        Ok(Policy {
            tables,
            ..self.policy()
        })
    }

    /// What an LDAP login needs from the config: the secrets key and the
    /// timeout.
    pub fn directory(&self) -> ops::auth::Directory {
        ops::auth::Directory {
            key_file: Some(self.key_file.clone()),
            timeout: Some(self.config.ldap_timeout()),
        }
    }
}

/// Read a secret from a file: the first line, without its line ending.
/// Warns on stderr when other users could read it too.
pub fn read_secret_file(path: &Path, what: &str) -> Result<String, EnvError> {
    if let Some(w) = crate::db::files::exposure_warning(path, what) {
        eprintln!("{w}");
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| EnvError::Usage(format!("cannot read {what} file {}: {e}", path.display())))?;
    let first = text.split('\n').next().unwrap_or("");
    Ok(first.strip_suffix('\r').unwrap_or(first).to_string())
}

pub(crate) fn prompt_line(prompt: &str) -> Result<String, EnvError> {
    use std::io::Write;
    let mut out = std::io::stderr();
    let _ = write!(out, "{prompt}");
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| EnvError::Usage(format!("cannot read from the terminal: {e}")))?;
    Ok(line.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::EnvError;

    /// A broken terminal is a failure (1), not a usage error (2): the TUI
    /// used to report every terminal I/O error as a usage error.
    #[test]
    fn a_terminal_failure_is_not_a_usage_error() {
        let e = EnvError::Terminal(std::io::Error::other("gone"));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(e.to_string(), "terminal: gone");
        assert_eq!(EnvError::Usage("x".into()).exit_code(), 2);
    }
}
