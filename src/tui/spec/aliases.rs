//! The Aliases screen.

use crate::ops::aliases::AliasEdit;
use crate::tui::form::Field;
use crate::tui::reader::Reader;
use crate::validate;
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::store::SortKey;
use crate::tui::keys::Cmd;
use crate::tui::rows::{clean, opt, time, Row};
use crate::worker::Write;

fields! {
    pub enum F {
        Address = "address",
        Goto = "goto",
        Status = "status",
        Description = "description",
        CreatedAt = "created_at",
        UpdatedAt = "updated_at",
        Version = "version",
    }
}

pub struct Aliases;

const COLUMNS: &[Column] = &[
    col("Address", Fill(2)).sort(SortKey::Name),
    col("Goes to", Fill(3)),
    col("Status", Length(9)),
];

impl Spec for Aliases {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        true
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin | Role::User => Caps::ALL,
            Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[
            Cmd::Mark,
            Cmd::MarkRange,
            Cmd::MarkAll,
            Cmd::Unmark,
            Cmd::BulkSuspend,
            Cmd::BulkActivate,
            Cmd::BulkDelete,
            Cmd::BulkEdit,
        ]
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::DeleteAlias {
            address: row.key.clone(),
        })
    }
    fn create(&self, domain: Option<&str>) -> Option<Vec<Field>> {
        let at = domain.map(|d| format!("@{d}")).unwrap_or_default();
        Some(vec![
            Field::new(
                F::Address,
                "Address",
                &at,
                "info@example.com or @example.com",
            )
            .cursor_at_start(),
            Field::new(F::Goto, "Goes to", "", "a@example.com, b@elsewhere.org"),
            Field::new(F::Description, "Description", "", ""),
        ])
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Goto, "Goes to", row.field(F::Goto), ""),
            Field::new(F::Description, "Description", row.field(F::Description), ""),
        ])
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        r.check(F::Address, validate::alias_address);
        r.check(F::Goto, validate::destinations);
        r.check(F::Description, validate::description);
        Some(match editing {
            None => Write::CreateAlias {
                address: r.text(F::Address),
                goto: r.text(F::Goto),
                description: r.optional(F::Description),
            },
            Some((key, version)) => Write::EditAlias {
                address: key.to_string(),
                version: Some(version),
                edit: AliasEdit {
                    goto: r.changed(F::Goto),
                    description: r.changed(F::Description),
                },
            },
        })
    }
}

pub fn row(a: &crate::db::models::Alias) -> Row {
    let addr = clean(&a.address);
    let goto = clean(&a.goto).replace(',', ", ");
    Row {
        usage: None,
        key: addr.clone(),
        cursor: a.address.clone(),
        id: i64::from(a.id),
        version: Some(a.version),
        status: Some(clean(&a.status)),
        cells: vec![addr.clone(), goto.clone(), clean(&a.status)],
        fields: pairs(vec![
            (F::Address, addr),
            (F::Goto, goto),
            (F::Status, clean(&a.status)),
            (F::Description, opt(&a.description)),
            (F::CreatedAt, time(&a.created_at)),
            (F::UpdatedAt, time(&a.updated_at)),
            (F::Version, a.version.to_string()),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::db::models::Alias, row);
