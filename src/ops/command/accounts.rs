//! The session's own account (password, preferences) and grants.

use super::{Command, Host, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::model::Perm;
use crate::ops::{self, preferences::PreferencesEdit, Ctx};

#[derive(Debug)]
pub struct Grant {
    pub username: String,
    pub domain: String,
    pub perms: Vec<Perm>,
}

impl Command for Grant {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let g = ops::permissions::grant(c, ctx, &self.username, &self.domain, &self.perms)?;
        let names: Vec<&str> = g.permissions.iter().map(|p| p.as_str()).collect();
        Outcome::new(
            format!(
                "granted {} on {}: {}",
                g.username,
                g.domain,
                names.join(",")
            ),
            &g,
        )
    }
}

#[derive(Debug)]
pub struct Revoke {
    pub username: String,
    pub domain: String,
}

impl Command for Revoke {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let g = ops::permissions::revoke(c, ctx, &self.username, &self.domain)?;
        Outcome::new(format!("revoked {} on {}", g.username, g.domain), &g)
    }
}

/// The logged-in admin's own password (the way out of a required change).
#[derive(Debug)]
pub struct SetOwnPassword {
    pub password: String,
}

impl Command for SetOwnPassword {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let u = ops::users::set_password(c, ctx, &ctx.username, &self.password)?;
        Outcome::new("password changed", &u)
    }
}

#[derive(Debug)]
pub struct SetPreferences {
    pub version: Option<i32>,
    pub edit: PreferencesEdit,
}

impl Command for SetPreferences {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let p = ops::preferences::set(c, ctx, self.version, &self.edit)?;
        Outcome::new(
            format!(
                "preferences saved: theme {}, time zone {}",
                p.theme, p.timezone
            ),
            &p,
        )
    }
}
