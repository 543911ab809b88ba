//! Deleted mailboxes on hold (issue 20): restore one, purge one now, or
//! purge every due hold (`mailbox purge --due`, from a timer).

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
            text.push_str(&format!(" with aliases {}", r.aliases.join(", ")));
        }
        if !r.skipped.is_empty() {
            text.push_str(&format!(
                "; not restored (address taken or domain gone): {}",
                r.skipped.join(", ")
            ));
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

/// Every hold whose period is over. A hold whose purge fails stays for
/// the next run; the outcome lists it and carries a failure.
#[derive(Debug)]
pub struct PurgeDue;

impl Command for PurgeDue {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let r = ops::deleted::purge_due(c, ctx)?;
        let mut text = format!(
            "purged {}",
            crate::plural::count(r.purged.len(), "held mailbox", "held mailboxes")
        );
        for (a, why) in &r.failed {
            text.push_str(&format!("\nnot purged {a}: {why}"));
        }
        let outcome = Outcome::new(text, &r)?;
        if r.failed.is_empty() {
            return Ok(outcome);
        }
        Ok(outcome.with_failure(format!(
            "{} of the due holds could not be purged; they stay on hold for the next run",
            r.failed.len()
        )))
    }
}
