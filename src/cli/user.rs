//! `postfix-manager user ...`: the arguments, the calls into `ops::users`,
//! and how an app user prints.

use clap::Subcommand;

use super::args::{ListArgs, NewPasswordArgs};
use super::input::{by_name_only, filter, page};
use super::output::{list, object, run_command, run_status, said, ts, with_generated, Row};
use super::{setup, CliError};
use crate::db::models::User;
use crate::db::AnyConnection;
use crate::model::{Entity, Status};
use crate::ops::command::{CreateUser, DeleteUser, EditUser};
use crate::ops::{self, Ctx};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an app user (admin, user or readonly) with a password
    Add {
        username: String,
        #[arg(long)]
        email: String,
        /// admin, user (domain-scoped) or readonly
        #[arg(long, default_value = "user")]
        role: String,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// List app users with role, status and login source
    List(ListArgs),
    /// Show one app user with role, last login and version
    Show { username: String },
    /// Change an app user's e-mail, role, login source or password-change flag
    Edit {
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        role: Option<String>,
        /// Require a new password at the next login (true) or stop requiring it (false)
        #[arg(long, value_name = "BOOL")]
        require_password_change: Option<bool>,
        /// local (password here) or ldap (bind to the directory at login)
        #[arg(long, value_name = "local|ldap")]
        auth_source: Option<String>,
        #[arg(long)]
        version: Option<i32>,
    },
    /// Set an app user's password (from a file, prompted, or generated)
    Password {
        username: String,
        #[command(flatten)]
        password: NewPasswordArgs,
    },
    /// Stop an app user logging in
    Suspend { username: String },
    /// Let a suspended app user log in again
    Activate { username: String },
    /// Delete an app user (their audit rows stay)
    Delete { username: String },
    /// Tokens for scripts: create, list, revoke
    #[command(subcommand)]
    Token(super::token::TokenCommand),
    /// Second factor (TOTP): enroll, confirm, disable, reset, status
    #[command(subcommand)]
    Totp(super::totp::TotpCommand),
}

pub fn run(
    c: &UserCommand,
    env: &crate::env::Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        UserCommand::Add {
            username,
            email,
            role,
            password,
        } => {
            let (pw, generated) = setup::new_password(password, username)?;
            let new = ops::users::NewUser {
                username: username.clone(),
                email: email.clone(),
                role: role.clone(),
                password: pw.clone(),
            };
            let out = run_command(CreateUser(new), env, conn, ctx, j)?;
            with_generated(out, generated.then_some(pw), j, username)
        }
        UserCommand::List(l) => {
            by_name_only(l)?;
            let pg = page(&l.page);
            list(
                &ops::users::list(conn, ctx, &filter(l, None)?, &pg)?,
                pg.limit(),
                j,
            )
        }
        UserCommand::Show { username } => object(&ops::users::get(conn, ctx, username)?, j),
        UserCommand::Edit {
            username,
            email,
            role,
            require_password_change,
            auth_source,
            version,
        } => {
            let e = ops::users::UserEdit {
                email: email.clone(),
                role: role.clone(),
                must_change_password: *require_password_change,
                auth_source: auth_source.clone(),
            };
            let cmd = EditUser {
                username: username.clone(),
                version: *version,
                edit: e,
                password: None,
            };
            run_command(cmd, env, conn, ctx, j)?
        }
        UserCommand::Password { username, password } => {
            let (pw, generated) = setup::new_password(password, username)?;
            let u = ops::users::set_password(conn, ctx, username, &pw)?;
            let out = said(
                j,
                &u,
                format!("changed the password of user {}", u.username),
            );
            with_generated(out, generated.then_some(pw), j, &u.username)
        }
        UserCommand::Suspend { username } => run_status(
            Entity::Users,
            username,
            Status::Suspended,
            env,
            conn,
            ctx,
            j,
        )?,
        UserCommand::Activate { username } => {
            run_status(Entity::Users, username, Status::Active, env, conn, ctx, j)?
        }
        UserCommand::Delete { username } => {
            let cmd = DeleteUser {
                username: username.clone(),
            };
            run_command(cmd, env, conn, ctx, j)?
        }
        UserCommand::Token(t) => super::token::run(t, conn, ctx, j)?,
        UserCommand::Totp(t) => super::totp::run(t, env, conn, ctx, j)?,
    })
}

impl Row for User {
    const HEADERS: &'static [&'static str] = &["USERNAME", "EMAIL", "ROLE", "STATUS", "LAST LOGIN"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.username.clone(),
            self.email.clone(),
            self.role.clone(),
            self.status.clone(),
            self.last_login
                .as_ref()
                .map(ts)
                .unwrap_or_else(|| "never".into()),
        ]
    }
    fn key(&self) -> String {
        self.username.clone()
    }
}
