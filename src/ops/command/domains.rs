//! Domains and alias domains.

use super::{Command, Host, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{self, domains::DomainInput, Ctx};

#[derive(Debug)]
pub struct CreateDomain {
    pub name: String,
    pub input: DomainInput,
}

impl Command for CreateDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let d = ops::domains::create(c, ctx, &self.name, &self.input)?;
        Outcome::new(format!("created domain {}", d.name), &d)
    }
}

#[derive(Debug)]
pub struct EditDomain {
    pub name: String,
    pub version: i32,
    pub input: DomainInput,
}

impl Command for EditDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let d = ops::domains::edit(c, ctx, &self.name, Some(self.version), &self.input)?;
        Outcome::new(format!("saved domain {}", d.name), &d)
    }
}

#[derive(Debug)]
pub struct DeleteDomain {
    pub name: String,
    pub cascade: bool,
}

impl Command for DeleteDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let s = ops::domains::delete(c, ctx, &self.name, self.cascade)?;
        Outcome::new(
            format!(
                "deleted domain {} ({} mailboxes, {} aliases, {} alias domains)",
                s.domain, s.mailboxes, s.aliases, s.alias_domains
            ),
            &s,
        )
    }
}

#[derive(Debug)]
pub struct CreateAliasDomain {
    pub name: String,
    pub target: String,
}

impl Command for CreateAliasDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::alias_domains::create(c, ctx, &self.name, &self.target)?;
        Outcome::new(
            format!("created alias domain {} -> {}", v.row.name, v.target),
            &v,
        )
    }
}

#[derive(Debug)]
pub struct RetargetAliasDomain {
    pub name: String,
    pub version: i32,
    pub target: String,
}

impl Command for RetargetAliasDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::alias_domains::retarget(c, ctx, &self.name, Some(self.version), &self.target)?;
        Outcome::new(
            format!("alias domain {} now points at {}", v.row.name, v.target),
            &v,
        )
    }
}

#[derive(Debug)]
pub struct DeleteAliasDomain {
    pub name: String,
}

impl Command for DeleteAliasDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::alias_domains::delete(c, ctx, &self.name)?;
        Outcome::new(format!("deleted alias domain {}", v.row.name), &v)
    }
}
