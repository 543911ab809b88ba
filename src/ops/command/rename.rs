//! The Mailboxes screen's rename (issue 20): the same `ops::rename` as
//! `mailbox rename`, on the slow lane since it runs the move command.

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{self, Ctx};

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
            "renamed mailbox {} to {} ({} re-pointed, mail moved to {})",
            r.old_address,
            r.new_address,
            crate::plural::count(
                i64::try_from(r.aliases).unwrap_or(i64::MAX),
                "alias",
                "aliases"
            ),
            r.new_home
        );
        if r.kept_alias {
            text.push_str(&format!("; {} kept as an alias", r.old_address));
        }
        Outcome::new(text, &r)
    }
}
