//! The Deleted screen's writes (issue 20): restore a held mailbox, or
//! purge it now.

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{self, Ctx};

#[derive(Debug)]
pub struct RestoreMailbox {
    pub address: String,
}

impl Command for RestoreMailbox {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let r = ops::deleted::restore(c, ctx, &self.address)?;
        let mut text = format!("restored mailbox {}", r.mailbox.username);
        if !r.aliases.is_empty() {
            text.push_str(&format!(" with {}", r.aliases.join(", ")));
        }
        if !r.skipped.is_empty() {
            text.push_str(&format!("; not restored: {}", r.skipped.join(", ")));
        }
        Outcome::new(text, &r)
    }
}

#[derive(Debug)]
pub struct PurgeMailbox {
    pub address: String,
}

impl Command for PurgeMailbox {
    /// The purge command may take minutes on a large maildir.
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let p = ops::deleted::purge(c, ctx, &self.address)?;
        Outcome::new(
            format!("purged mailbox {} ({} removed)", p.address, p.home),
            &p,
        )
    }
}
