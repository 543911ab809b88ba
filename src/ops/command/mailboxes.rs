//! Mailboxes, aliases and admin users: the rows with an address or a name
//! and, for mailboxes and users, a password.

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{
    self, aliases::AliasEdit, mailboxes::MailboxEdit, mailboxes::NewMailbox, users::NewUser,
    users::UserEdit, Ctx,
};

#[derive(Debug)]
pub struct CreateMailbox(pub NewMailbox);

impl Command for CreateMailbox {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let m = ops::mailboxes::create(c, ctx, &self.0)?;
        Outcome::new(format!("created mailbox {} (id {})", m.username, m.id), &m)
    }
}

/// An edit, with a new password set after it when one was typed.
#[derive(Debug)]
pub struct EditMailbox {
    pub address: String,
    /// None: whatever the row holds now (the CLI without `--version`).
    pub version: Option<i32>,
    pub edit: MailboxEdit,
    pub access: ops::mailboxes::Access,
    pub password: Option<String>,
}

impl Command for EditMailbox {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let m = ops::mailboxes::edit_with_access(
            c,
            ctx,
            &self.address,
            self.version,
            &self.edit,
            &self.access,
        )?;
        let below = self.edit.quota.is_some() && m.quota_limit > 0 && m.quota_used > m.quota_limit;
        let outcome = match self.password {
            Some(pw) => {
                let m = ops::mailboxes::set_password(c, ctx, &m.username, &pw)?;
                Outcome::new(
                    format!(
                        "saved mailbox {} (version {}) and its new password",
                        m.username, m.version
                    ),
                    &m,
                )?
            }
            None => Outcome::new(
                format!("saved mailbox {} (version {})", m.username, m.version),
                &m,
            )?,
        };
        if !below {
            return Ok(outcome);
        }
        // Saved as asked, but not silently.
        Ok(outcome.with_warning(format!(
            "the quota of {} ({}) is below the {} it holds ({}%): new mail to it is refused until it shrinks",
            m.username,
            crate::units::human(m.quota_limit),
            crate::units::human(m.quota_used),
            m.quota_used.saturating_mul(100) / m.quota_limit
        )))
    }
}

/// `mailbox password`: a new password, nothing else.
#[derive(Debug)]
pub struct SetMailboxPassword {
    pub address: String,
    pub password: String,
}

impl Command for SetMailboxPassword {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let m = ops::mailboxes::set_password(c, ctx, &self.address, &self.password)?;
        Outcome::new(
            format!("changed the password of mailbox {}", m.username),
            &m,
        )
    }
}

/// A delete: on hold for `[lifecycle] hold_days` (restorable), or with
/// `now` purged at once (the maildir removed by the purge command).
#[derive(Debug)]
pub struct DeleteMailbox {
    pub address: String,
    pub now: bool,
}

impl Command for DeleteMailbox {
    /// `now` runs the purge command, which may take minutes.
    fn lane(&self) -> Lane {
        if self.now {
            Lane::SlowIo
        } else {
            Lane::Write
        }
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let mode = if self.now {
            ops::mailboxes::DeleteMode::Now
        } else {
            ops::mailboxes::DeleteMode::Hold
        };
        let d = ops::mailboxes::delete_with(c, ctx, &self.address, mode)?;
        let text = match &d.purged {
            Some(p) => format!(
                "deleted mailbox {} and removed {}",
                d.mailbox.username, p.home
            ),
            None => format!(
                "deleted mailbox {} (held until {}; `mailbox restore` or :deleted brings it back)",
                d.mailbox.username,
                d.purge_after.format("%Y-%m-%d %H:%M UTC"),
            ),
        };
        Outcome::new(text, &d)
    }
}

#[derive(Debug)]
pub struct CreateAlias {
    pub address: String,
    pub goto: String,
    pub description: Option<String>,
}

impl Command for CreateAlias {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let a = ops::aliases::create(
            c,
            ctx,
            &self.address,
            &self.goto,
            self.description.as_deref(),
        )?;
        Outcome::new(format!("created alias {} -> {}", a.address, a.goto), &a)
    }
}

#[derive(Debug)]
pub struct EditAlias {
    pub address: String,
    /// None: whatever the row holds now (the CLI without `--version`).
    pub version: Option<i32>,
    pub edit: AliasEdit,
}

impl Command for EditAlias {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let a = ops::aliases::edit(c, ctx, &self.address, self.version, &self.edit)?;
        Outcome::new(format!("saved alias {} -> {}", a.address, a.goto), &a)
    }
}

#[derive(Debug)]
pub struct DeleteAlias {
    pub address: String,
}

impl Command for DeleteAlias {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let a = ops::aliases::delete(c, ctx, &self.address)?;
        Outcome::new(format!("deleted alias {}", a.address), &a)
    }
}

#[derive(Debug)]
pub struct CreateUser(pub NewUser);

impl Command for CreateUser {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let u = ops::users::create(c, ctx, &self.0)?;
        Outcome::new(
            format!(
                "created user {} with role {} (id {})",
                u.username, u.role, u.id
            ),
            &u,
        )
    }
}

/// An edit, with a new password set after it when one was typed.
#[derive(Debug)]
pub struct EditUser {
    pub username: String,
    /// None: whatever the row holds now (the CLI without `--version`).
    pub version: Option<i32>,
    pub edit: UserEdit,
    pub password: Option<String>,
}

impl Command for EditUser {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let u = ops::users::edit(c, ctx, &self.username, self.version, &self.edit)?;
        match self.password {
            Some(pw) => {
                let u = ops::users::set_password(c, ctx, &u.username, &pw)?;
                Outcome::new(
                    format!("saved user {} and its new password", u.username),
                    &u,
                )
            }
            None => Outcome::new(
                format!("saved user {} (version {})", u.username, u.version),
                &u,
            ),
        }
    }
}

#[derive(Debug)]
pub struct DeleteUser {
    pub username: String,
}

impl Command for DeleteUser {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let u = ops::users::delete(c, ctx, &self.username)?;
        Outcome::new(format!("deleted user {}", u.username), &u)
    }
}
