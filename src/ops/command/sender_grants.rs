//! The Send-as screen's writes (issue 20): grant and revoke.

use super::{Command, Host, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{self, Ctx};

#[derive(Debug)]
pub struct GrantSender {
    pub mailbox: String,
    pub address: String,
}

impl Command for GrantSender {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let g = ops::sender_grants::grant(c, ctx, &self.mailbox, &self.address)?;
        Outcome::new(format!("{} may send as {}", g.mailbox, g.address), &g)
    }
}

#[derive(Debug)]
pub struct RevokeSender {
    pub mailbox: String,
    pub address: String,
}

impl Command for RevokeSender {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let g = ops::sender_grants::revoke(c, ctx, &self.mailbox, &self.address)?;
        Outcome::new(
            format!("{} may no longer send as {}", g.mailbox, g.address),
            &g,
        )
    }
}
