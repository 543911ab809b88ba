//! `postfix-manager init`: config file, database, migrations, first admin.
//! Idempotent: a second run finds everything in place and says so.

use std::io::IsTerminal;

use super::{args::Cli, args::InitArgs, CliError};
use crate::config::{config_path, default_sqlite_path, Config};
use crate::db::{self, migrate, DbError, DbUrl};
use crate::ops::{self, Client, ClientKind, Policy};
use crate::validate;

pub fn run(cli: &Cli, args: &InitArgs) -> Result<String, CliError> {
    if let Some(user) = &args.reset_totp {
        return reset_totp(cli, user);
    }
    let path = config_path(cli.config.as_deref())?;
    let existing = Config::load(&path)?;
    let mut config = existing.clone().unwrap_or_default();
    let url = match (&cli.database_url, existing.as_ref().and_then(|c| c.database.url.clone())) {
        (Some(given), Some(saved)) if DbUrl::parse(given)? != DbUrl::parse(&saved)? => {
            return Err(CliError::Usage(format!(
                "config {} already names database {}; refusing to switch it to {} (edit the file or pass --config for a new one)",
                path.display(),
                DbUrl::parse(&saved)?.redacted(),
                DbUrl::parse(given)?.redacted()
            )))
        }
        (Some(given), _) => DbUrl::parse(given)?,
        (None, Some(saved)) => DbUrl::parse(&saved)?,
        (None, None) => DbUrl::Sqlite(default_sqlite_path()?),
    };
    let policy = Policy {
        audit: Some(config.audit_seal(&path)),
        ..Policy::from_config(&config)
    };

    // Read and check a password file before creating anything, so a bad one
    // leaves no database or config behind.
    let from_file = match &args.admin_password_file {
        Some(f) => {
            let pw = crate::env::read_secret_file(f, "admin password")?;
            validate::password("admin password", &pw, policy.min_password_length)?;
            Some(pw)
        }
        None => None,
    };
    validate::address("admin email", &args.admin_email)?;

    let mut conn = db::connect(&url, true)?;
    let applied = migrate::run_pending(&mut conn)?;
    let mut report = Vec::new();
    if !applied.is_empty() {
        report.push(format!(
            "applied {} to {}",
            crate::plural::s(applied.len(), "migration"),
            url.redacted()
        ));
    }

    let mut generated = None;
    if crate::store::users::count(&mut conn).map_err(DbError::from)? == 0 {
        let pw = match from_file {
            Some(pw) => pw,
            None if std::io::stdin().is_terminal() => {
                prompt_admin_password(policy.min_password_length)?
            }
            None => {
                let pw = crate::password::generate();
                generated = Some(pw.clone());
                pw
            }
        };
        let client = Client::from_env(ClientKind::Cli);
        if ops::users::bootstrap_admin(&mut conn, &client, &policy, &args.admin_email, &pw)?
            .is_some()
        {
            report.push(format!(
                "created admin user `{}`",
                ops::users::BOOTSTRAP_ADMIN
            ));
        } else {
            generated = None;
        }
    }

    let config_changed = existing
        .as_ref()
        .and_then(|c| c.database.url.as_deref())
        .is_none();
    if config_changed {
        config.database.url = Some(match &url {
            DbUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DbUrl::Postgres(u) => u.clone(),
        });
        config.save(&path)?;
        report.push(format!("wrote config {}", path.display()));
    }

    if report.is_empty() {
        return Ok(format!(
            "already initialized: config {}, database {} is current and has users; nothing changed\n",
            path.display(),
            url.redacted()
        ));
    }
    let mut out = report.join("\n") + "\n";
    if let Some(pw) = generated {
        out.push_str(&format!(
            "\nThe password of `admin` is shown once; store it now:\n\n    {pw}\n\nChange it with: postfix-manager --user admin user password admin\n"
        ));
    }
    Ok(out)
}

/// `init --reset-totp USER`: no login (the admin who would log in is
/// locked out by the lost device); what it needs instead is the host's
/// files, the database and the secrets key, which only root can read.
fn reset_totp(cli: &Cli, user: &str) -> Result<String, CliError> {
    let env = crate::env::Env::load(&super::start_args(cli))?;
    let mut conn = env.connect()?;
    let client = Client::from_env(ClientKind::Cli);
    ops::totp::root_reset(&mut conn, &env.key_file, &client, &env.policy(), user)?;
    Ok(format!(
        "removed the second factor of {user}; they log in with the password and enrol again (postfix-manager user totp enroll)\n"
    ))
}

fn prompt_admin_password(min: usize) -> Result<String, CliError> {
    let a = rpassword::prompt_password(format!(
        "Password for the first admin `admin` (at least {min} characters): "
    ))
    .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
    validate::password("admin password", &a, min)?;
    let b = rpassword::prompt_password("Repeat it: ")
        .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
    if a != b {
        return Err(CliError::Usage(
            "the two passwords differ; nothing changed".into(),
        ));
    }
    Ok(a)
}
