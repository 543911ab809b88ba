//! The Admin users screen.

use crate::ops::users::{NewUser, UserEdit};
use crate::tui::form::Field;
use crate::tui::reader::Reader;
use crate::validate;

const ROLES: &[&str] = &["admin", "user", "readonly"];
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::store::SortKey;
use crate::tui::keys::Cmd;
use crate::tui::rows::{clean, opt_time, time, Row};
use crate::worker::Write;

fields! {
    pub enum F {
        Username = "username",
        Email = "email",
        Role = "role",
        Status = "status",
        LastLogin = "last_login",
        FailedLogins = "failed_logins",
        CreatedAt = "created_at",
        Version = "version",
        Password = "password",
    }
}

pub struct Users;

const COLUMNS: &[Column] = &[
    col("Username", Fill(2)).sort(SortKey::Name),
    col("Email", Fill(3)),
    col("Role", Length(8)),
    col("Status", Length(9)),
    col("Last login", Length(16)),
];

impl Spec for Users {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        true
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin => Caps::ALL,
            Role::User | Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[]
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::DeleteUser {
            username: row.key.clone(),
        })
    }
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Username, "Username", "", ""),
            Field::new(F::Email, "Email", "", ""),
            Field::choice(F::Role, "Role", "user", ROLES),
            Field::secret(F::Password, "Password", "at least 12 characters"),
        ])
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Email, "Email", row.field(F::Email), ""),
            Field::choice(F::Role, "Role", row.field(F::Role), ROLES),
            Field::secret(F::Password, "New password", "empty = keep"),
        ])
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        r.check(F::Username, validate::username);
        r.check(F::Email, validate::address);
        r.check(F::Role, Role::parse);
        Some(match editing {
            None => Write::CreateUser(NewUser {
                username: r.text(F::Username),
                email: r.text(F::Email),
                role: r.text(F::Role),
                password: r.password(F::Password, true).unwrap_or_default(),
            }),
            Some((key, version)) => Write::EditUser {
                username: key.to_string(),
                version: Some(version),
                edit: UserEdit {
                    email: r.changed(F::Email),
                    role: r.changed(F::Role),
                    ..Default::default()
                },
                password: r.password(F::Password, false),
            },
        })
    }
}

pub fn row(u: &crate::db::models::User) -> Row {
    let name = clean(&u.username);
    Row {
        usage: None,
        key: name.clone(),
        cursor: u.username.clone(),
        id: i64::from(u.id),
        version: Some(u.version),
        status: Some(clean(&u.status)),
        cells: vec![
            name.clone(),
            clean(&u.email),
            clean(&u.role),
            clean(&u.status),
            opt_time(&u.last_login),
        ],
        fields: pairs(vec![
            (F::Username, name),
            (F::Email, clean(&u.email)),
            (F::Role, clean(&u.role)),
            (F::Status, clean(&u.status)),
            (F::LastLogin, opt_time(&u.last_login)),
            (F::FailedLogins, u.failed_logins.to_string()),
            (F::CreatedAt, time(&u.created_at)),
            (F::Version, u.version.to_string()),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::db::models::User, row);
