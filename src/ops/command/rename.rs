//! Mailbox renames (issue 20): the same `ops::rename` for the Mailboxes
//! screen's `R` form and `mailbox rename`, on the slow lane since it runs
//! the move command; and `mailbox rename --resume`.

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{self, rename::Resumed, Ctx};

#[derive(Debug)]
pub struct RenameMailbox {
    pub address: String,
    pub new_address: String,
    pub keep_alias: bool,
}

impl Command for RenameMailbox {
    /// The move command may take as long as a large maildir needs.
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let r = ops::rename::rename(c, ctx, &self.address, &self.new_address, self.keep_alias)?;
        let mut text = format!(
            "renamed mailbox {} to {} (home {} -> {}; {} re-pointed)",
            r.old_address,
            r.new_address,
            r.old_home,
            r.new_home,
            crate::plural::count(r.aliases, "alias", "aliases")
        );
        if r.kept_alias {
            text.push_str(&format!("; {} is now an alias of it", r.old_address));
        }
        let mut lines = resumed_lines(&r.resumed);
        lines.push(text);
        with_pending(Outcome::new(lines.join("\n"), &r)?, &r.resumed)
    }
}

/// Finish or roll back the renames an interruption left pending (decided
/// by which home is on disk).
#[derive(Debug)]
pub struct ResumeRenames;

impl Command for ResumeRenames {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let resumed = ops::rename::resume(c, ctx)?;
        let mut lines = resumed_lines(&resumed);
        if lines.is_empty() {
            lines.push("no rename was pending".into());
        }
        with_pending(Outcome::new(lines.join("\n"), &resumed)?, &resumed)
    }
}

/// One line per pending rename this run decided (or left pending).
fn resumed_lines(resumed: &[Resumed]) -> Vec<String> {
    resumed
        .iter()
        .map(|r| {
            format!(
                "{} the pending rename {} -> {}: {}",
                r.outcome, r.old_address, r.new_address, r.detail
            )
        })
        .collect()
}

/// A rename still pending after this run is a failure to report.
fn with_pending(outcome: Outcome, resumed: &[Resumed]) -> OpResult<Outcome> {
    let stuck = resumed.iter().filter(|r| r.outcome == "pending").count();
    Ok(if stuck == 0 {
        outcome
    } else {
        outcome.with_failure(format!("{stuck} rename(s) stay pending; see above"))
    })
}
