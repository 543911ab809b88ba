//! The Send-as screen (issue 20, `:sendas`): which mailbox may send as
//! which address or `@domain` (the sender login map's grants); `n` grants,
//! `d` revokes after the confirm dialog.

use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::ops::command::sender_grants::{GrantSender, RevokeSender};
use crate::store::sender_grants::SenderGrant;
use crate::tui::form::Field;
use crate::tui::keys::Cmd;
use crate::tui::reader::Reader;
use crate::tui::rows::{clean, time, Row};
use crate::validate;
use crate::worker::Write;

fields! {
    pub enum F {
        Mailbox = "mailbox",
        Address = "address",
        CreatedAt = "created_at",
        CreatedBy = "created_by",
    }
}

pub struct SenderGrants;

const COLUMNS: &[Column] = &[
    col("Mailbox", Fill(1)),
    col("May send as", Fill(1)),
    col("Since", Length(16)),
];

impl Spec for SenderGrants {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    /// Rows are not read one by one: a grant has no edit, only a revoke.
    fn keyed(&self) -> bool {
        false
    }
    /// A `user` grants within its domains (ops checks both ends).
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin | Role::User => Caps {
                create: true,
                delete: true,
                ..Caps::NONE
            },
            Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[]
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::Command {
            verb: "revoke",
            command: Box::new(RevokeSender {
                mailbox: row.field(F::Mailbox).to_string(),
                address: row.field(F::Address).to_string(),
            }),
        })
    }
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Mailbox, "Mailbox", "", "alice@example.com"),
            Field::new(
                F::Address,
                "May send as",
                "",
                "info@example.com or @example.org",
            ),
        ])
    }
    fn edit(&self, _row: &Row) -> Option<Vec<Field>> {
        None
    }
    fn build(&self, r: &mut Reader<'_>, _editing: Option<(&str, i32)>) -> Option<Write> {
        r.check(F::Mailbox, validate::lookup_address);
        r.check(F::Address, validate::alias_address);
        Some(Write::Command {
            verb: "grant",
            command: Box::new(GrantSender {
                mailbox: r.required(F::Mailbox),
                address: r.required(F::Address),
            }),
        })
    }
}

pub fn row(g: &SenderGrant) -> Row {
    let (mailbox, address) = (clean(&g.mailbox), clean(&g.address));
    Row {
        usage: None,
        key: format!("{mailbox} as {address}"),
        cursor: g.id.to_string(),
        id: i64::from(g.id),
        version: None,
        status: None,
        cells: vec![mailbox.clone(), address.clone(), time(&g.created_at)],
        fields: pairs(vec![
            (F::Mailbox, mailbox),
            (F::Address, address),
            (F::CreatedAt, time(&g.created_at)),
            (F::CreatedBy, clean(&g.created_by)),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(SenderGrant, row);
