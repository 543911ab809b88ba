//! Mailboxes, aliases and admin users: the rows with an address or a name
//! and, for mailboxes and users, a password.

use super::{Command, Host, Outcome};
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
    pub version: i32,
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
            Some(self.version),
            &self.edit,
            &self.access,
        )?;
        match self.password {
            Some(pw) => {
                let m = ops::mailboxes::set_password(c, ctx, &m.username, &pw)?;
                Outcome::new(
                    format!("saved mailbox {} and its new password", m.username),
                    &m,
                )
            }
            None => Outcome::new(format!("saved mailbox {}", m.username), &m),
        }
    }
}

#[derive(Debug)]
pub struct DeleteMailbox {
    pub address: String,
}

impl Command for DeleteMailbox {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let m = ops::mailboxes::delete(c, ctx, &self.address)?;
        Outcome::new(format!("deleted mailbox {}", m.username), &m)
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
