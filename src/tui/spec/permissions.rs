//! The Permissions screen: one row per user and domain.

use crate::tui::form::Field;
use crate::tui::forms::{scoped, PERM_SETS};
use crate::tui::reader::Reader;
use crate::validate;
use ratatui::layout::Constraint::Fill;

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::tui::keys::Cmd;
use crate::tui::rows::{clean, time, Row};
use crate::worker::Write;

fields! {
    pub enum F {
        Username = "username",
        Domain = "domain",
        Permissions = "permissions",
        CreatedAt = "created_at",
    }
}

pub struct Permissions;

const COLUMNS: &[Column] = &[
    col("User", Fill(1)),
    col("Domain", Fill(2)),
    col("Permissions", Fill(2)),
];

impl Spec for Permissions {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        false
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin => Caps {
                status: false,
                ..Caps::ALL
            },
            Role::User | Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[]
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::Revoke {
            username: row.field(F::Username).to_string(),
            domain: row.field(F::Domain).to_string(),
        })
    }
    /// The permission query takes no text filter.
    fn filterable(&self) -> bool {
        false
    }
    fn create(&self, domain: Option<&str>) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Username, "User", "", "a user of role user"),
            scoped(Field::new(F::Domain, "Domain", "", "example.com"), domain),
            Field::choice(
                F::Permissions,
                "Permissions",
                "mailboxes,aliases",
                PERM_SETS,
            ),
        ])
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(vec![Field::choice(
            F::Permissions,
            "Permissions",
            row.field(F::Permissions),
            PERM_SETS,
        )])
    }
    /// A grant is edited by granting again: the key is "user/domain".
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        r.check(F::Username, validate::username);
        r.check(F::Domain, validate::domain);
        let (username, domain) = match editing {
            None => (r.text(F::Username), r.text(F::Domain)),
            Some((key, _)) => {
                let (user, domain) = key.split_once('/').unwrap_or((key, ""));
                (user.to_string(), domain.to_string())
            }
        };
        Some(Write::Grant {
            username,
            domain,
            perms: r.perms(F::Permissions),
        })
    }
}

pub fn row(g: &crate::store::permissions::Grant) -> Row {
    let perms: Vec<&str> = g.permissions.iter().map(|p| p.as_str()).collect();
    let perms = perms.join(",");
    let (user, dom) = (clean(&g.username), clean(&g.domain));
    Row {
        usage: None,
        key: format!("{user}/{dom}"),
        cursor: format!("{}/{}", g.username, g.domain),
        id: i64::from(g.id),
        version: Some(g.version),
        status: None,
        cells: vec![user.clone(), dom.clone(), perms.clone()],
        fields: pairs(vec![
            (F::Username, user),
            (F::Domain, dom),
            (F::Permissions, perms),
            (F::CreatedAt, time(&g.created_at)),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::store::permissions::Grant, row);
