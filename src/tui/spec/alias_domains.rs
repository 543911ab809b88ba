//! The Alias domains screen.

use crate::tui::form::Field;
use crate::tui::forms::scoped;
use crate::tui::reader::Reader;
use crate::validate;
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::store::SortKey;
use crate::tui::keys::Cmd;
use crate::tui::rows::{clean, time, Row};
use crate::worker::Write;

fields! {
    pub enum F {
        Name = "name",
        Target = "target",
        Status = "status",
        CreatedAt = "created_at",
        Version = "version",
    }
}

pub struct AliasDomains;

const COLUMNS: &[Column] = &[
    col("Alias domain", Fill(1)).sort(SortKey::Name),
    col("Target", Fill(1)),
    col("Status", Length(9)),
];

impl Spec for AliasDomains {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        true
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin => Caps::ALL,
            // Adding an alias domain claims a mail domain name: admins only.
            Role::User => Caps {
                create: false,
                ..Caps::ALL
            },
            Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[]
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::DeleteAliasDomain {
            name: row.key.clone(),
        })
    }
    fn create(&self, domain: Option<&str>) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Name, "Alias domain", "", "example.org"),
            scoped(
                Field::new(F::Target, "Target domain", "", "example.com"),
                domain,
            ),
        ])
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(vec![Field::new(
            F::Target,
            "Target domain",
            row.field(F::Target),
            "",
        )])
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        r.check(F::Name, validate::domain);
        r.check(F::Target, validate::domain);
        Some(match editing {
            None => Write::CreateAliasDomain {
                name: r.text(F::Name),
                target: r.text(F::Target),
            },
            Some((key, version)) => Write::RetargetAliasDomain {
                name: key.to_string(),
                version: Some(version),
                target: r.text(F::Target),
            },
        })
    }
}

pub fn row(a: &crate::ops::alias_domains::AliasDomainView) -> Row {
    let name = clean(&a.row.name);
    Row {
        usage: None,
        key: name.clone(),
        cursor: a.row.name.clone(),
        id: i64::from(a.row.id),
        version: Some(a.row.version),
        status: Some(clean(&a.row.status)),
        cells: vec![name.clone(), clean(&a.target), clean(&a.row.status)],
        fields: pairs(vec![
            (F::Name, name),
            (F::Target, clean(&a.target)),
            (F::Status, clean(&a.row.status)),
            (F::CreatedAt, time(&a.row.created_at)),
            (F::Version, a.row.version.to_string()),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::ops::alias_domains::AliasDomainView, row);
