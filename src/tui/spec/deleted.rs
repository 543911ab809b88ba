//! The Deleted mailboxes screen (issue 20): mailboxes on hold after a
//! delete, with the days left before `purge --due` removes their mail; `u`
//! restores one, `d` purges it now, both after a dialog.

use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::ops::command::deleted::{PurgeMailbox, RestoreMailbox};
use crate::ops::deleted::HoldView;
use crate::tui::action::Action;
use crate::tui::form::Field;
use crate::tui::keys::{Cmd, RowCmd};
use crate::tui::reader::Reader;
use crate::tui::rows::{clean, time, Row};
use crate::units::human;
use crate::worker::Write;

fields! {
    pub enum F {
        Address = "address",
        Domain = "domain",
        DeletedAt = "deleted_at",
        PurgeAfter = "purge_after",
        DaysLeft = "days_left",
        Aliases = "aliases",
        Used = "quota_used",
        PreviousId = "previous_id",
    }
}

pub struct Deleted;

const COLUMNS: &[Column] = &[
    col("Address", Fill(1)),
    col("Deleted", Length(16)),
    col("Days left", Length(9)).right(),
    col("Aliases", Length(7)).right(),
    col("Used", Length(9)).right(),
];

impl Spec for Deleted {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        true
    }
    /// A `user` restores and purges the holds of domains granted with
    /// `mailboxes`; ops says no to the others.
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin | Role::User => Caps {
                edit: true,
                delete: true,
                ..Caps::NONE
            },
            Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[Cmd::Row(RowCmd::Restore)]
    }
    /// `d` here purges: the maildir through the purge command, then the row.
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::Command {
            verb: "purge",
            command: Box::new(PurgeMailbox {
                address: row.key.clone(),
            }),
        })
    }
    fn run(&self, cmd: RowCmd, row: &Row) -> Action {
        match cmd {
            RowCmd::Restore => Action::AskConfirm {
                text: format!(
                    "Restore mailbox {}? It receives mail and logs in again with its old password, \
                     and the aliases that led to it ({}) come back where their address is free.",
                    row.key,
                    row.field(F::Aliases)
                ),
                write: Write::Command {
                    verb: "restore",
                    command: Box::new(RestoreMailbox {
                        address: row.key.clone(),
                    }),
                },
            },
            _ => Action::Ignored,
        }
    }
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        None
    }
    fn edit(&self, _row: &Row) -> Option<Vec<Field>> {
        None
    }
    fn build(&self, _r: &mut Reader<'_>, _editing: Option<(&str, i32)>) -> Option<Write> {
        None
    }
}

pub fn row(h: &HoldView) -> Row {
    let address = clean(&h.row.username);
    let days = if h.days_left == 0 {
        "due".to_string()
    } else {
        h.days_left.to_string()
    };
    Row {
        usage: None,
        key: address.clone(),
        cursor: h.row.username.clone(),
        id: i64::from(h.row.id),
        version: None,
        status: None,
        cells: vec![
            address.clone(),
            time(&h.row.deleted_at),
            days.clone(),
            h.alias_count.to_string(),
            human(h.row.quota_used),
        ],
        fields: pairs(vec![
            (F::Address, address),
            (F::Domain, clean(&h.row.domain)),
            (F::DeletedAt, time(&h.row.deleted_at)),
            (F::PurgeAfter, time(&h.row.purge_after)),
            (F::DaysLeft, days),
            (F::Aliases, h.alias_count.to_string()),
            (F::Used, human(h.row.quota_used)),
            (F::PreviousId, h.row.mailbox_id.to_string()),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::ops::deleted::HoldView, row);
