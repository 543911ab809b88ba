//! The LDAP servers screen.

use crate::tui::form::{Field, Form};
use crate::tui::reader::Reader;

const TLS_MODES: &[&str] = &["none", "starttls", "ldaps"];
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::tui::action::Action;
use crate::tui::keys::{Cmd, RowCmd};
use crate::tui::rows::{clean, opt, yes_no, Row};
use crate::worker::Write;

fields! {
    pub enum F {
        Name = "name",
        Host = "host",
        Port = "port",
        TlsMode = "tls_mode",
        Ssl = "ssl",
        CaFile = "ca_file",
        BindDn = "bind_dn",
        BindPassword = "bind_password",
        BaseDn = "base_dn",
        UserSearchBase = "user_search_base",
        GroupSearchBase = "group_search_base",
        UserAttribute = "user_attribute",
        UserFilter = "user_filter",
        Priority = "priority",
        Active = "active",
    }
}

pub struct Ldap;

const COLUMNS: &[Column] = &[
    col("Id", Length(4)),
    col("Name", Fill(1)),
    col("Host:port", Fill(1)),
    col("SSL", Length(4)),
    col("Base DN", Fill(1)),
    col("Active", Length(6)),
];

impl Spec for Ldap {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        false
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin => Caps::ALL,
            Role::User | Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[Cmd::Row(RowCmd::TestLdap)]
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::DeleteLdap {
            name: row.key.clone(),
        })
    }
    /// T: the worker binds and searches; the screen keeps answering keys
    /// meanwhile.
    fn run(&self, cmd: RowCmd, row: &Row) -> Action {
        match cmd {
            RowCmd::TestLdap => Action::Write(Write::TestLdap {
                name: row.key.clone(),
            }),
            _ => Action::Ignored,
        }
    }
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        Some(fields(None))
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(fields(Some(row)))
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        Some(match editing {
            None => {
                let name = r.raw(F::Name);
                Write::CreateLdap {
                    name: r.text(F::Name),
                    input: Box::new(input(r, Some(name))),
                }
            }
            Some((key, version)) => Write::EditLdap {
                name: key.to_string(),
                version,
                input: Box::new(input(r, None)),
            },
        })
    }
    /// The port follows the TLS mode picked.
    fn follow(&self, form: &mut Form) {
        let default = if form.value(F::TlsMode) == "ldaps" {
            "636"
        } else {
            "389"
        };
        if let Some(f) = form.field_mut(F::Port) {
            f.default = Some(default.to_string());
        }
    }
}

/// An LDAP server's fields, pre-filled from a listed row when editing (the
/// name is the key then, and an empty bind password keeps the stored one).
fn fields(row: Option<&Row>) -> Vec<Field> {
    let v = |id: F, d: &str| row.map_or_else(|| d.to_string(), |r| r.field(id).to_string());
    let mut f = Vec::new();
    if row.is_none() {
        f.push(Field::new(F::Name, "Name", "", "e.g. corp-dc1"));
    }
    f.extend([
        Field::new(F::Host, "Host", &v(F::Host, ""), "ldap.example.com"),
        Field::new(F::Port, "Port", &v(F::Port, ""), "").with_default("389"),
        Field::choice(F::TlsMode, "TLS", &v(F::TlsMode, "starttls"), TLS_MODES),
        Field::new(
            F::CaFile,
            "CA file",
            &v(F::CaFile, ""),
            "PEM; empty = system roots",
        ),
        Field::new(F::BindDn, "Bind DN", &v(F::BindDn, ""), "empty = anonymous"),
        Field::secret(
            F::BindPassword,
            "Bind password",
            if row.is_some() {
                "empty = keep the stored one"
            } else {
                ""
            },
        ),
        Field::new(F::BaseDn, "Base DN", &v(F::BaseDn, ""), "dc=example,dc=com"),
        Field::new(
            F::UserSearchBase,
            "User base",
            &v(F::UserSearchBase, ""),
            "ou=people,...",
        ),
        Field::new(
            F::UserAttribute,
            "User attribute",
            &v(F::UserAttribute, ""),
            "or sAMAccountName",
        )
        .with_default("uid"),
        Field::new(
            F::UserFilter,
            "User filter",
            &v(F::UserFilter, ""),
            "(objectClass=person)",
        ),
        Field::new(
            F::Priority,
            "Priority",
            &v(F::Priority, ""),
            "lower is tried first",
        )
        .with_default("100"),
    ]);
    f
}

/// An LDAP server's input: changed fields only on an edit (an emptied text
/// field clears it), the bind password only when one was typed. ops names
/// the fields its own checks refuse; each goes beside its field.
fn input(r: &mut Reader<'_>, name: Option<&str>) -> crate::ops::ldap::ServerInput {
    use crate::ops::ldap::BindPassword;
    let input = crate::ops::ldap::ServerInput {
        host: r.changed(F::Host),
        port: r.number(F::Port),
        tls_mode: r.changed(F::TlsMode),
        ca_file: r.changed(F::CaFile),
        bind_dn: r.changed(F::BindDn),
        bind_password: match r.secret(F::BindPassword) {
            Some(pw) => BindPassword::Set(crate::secrets::SecretString::new(&pw)),
            None => BindPassword::Keep,
        },
        base_dn: r.changed(F::BaseDn),
        user_search_base: r.changed(F::UserSearchBase),
        group_search_base: None,
        user_attribute: r.changed(F::UserAttribute),
        user_filter: r.changed(F::UserFilter),
        priority: r.number(F::Priority),
        is_active: None,
    };
    for e in crate::ops::ldap::field_errors(name, &input) {
        if let Some(field) = e.field() {
            let field = field.to_string();
            r.push(&field, &e);
        }
    }
    input
}

pub fn row(l: &crate::db::models::LdapConfig) -> Row {
    Row {
        usage: None,
        // ops address servers by name; the list pages by id.
        key: clean(&l.server_name),
        cursor: l.id.to_string(),
        id: i64::from(l.id),
        version: Some(l.version),
        status: Some(if l.is_active { "active" } else { "inactive" }.to_string()),
        cells: vec![
            l.id.to_string(),
            clean(&l.server_name),
            format!("{}:{}", clean(&l.host), l.port),
            yes_no(l.use_ssl),
            clean(&l.base_dn),
            yes_no(l.is_active),
        ],
        fields: pairs(vec![
            (F::Name, clean(&l.server_name)),
            (F::Host, clean(&l.host)),
            (F::Port, l.port.to_string()),
            (F::TlsMode, clean(&l.tls_mode)),
            (F::Ssl, yes_no(l.use_ssl)),
            (F::CaFile, opt(&l.ca_file)),
            (F::BindDn, opt(&l.bind_dn)),
            // Whether one is stored; never what it is.
            (
                F::BindPassword,
                if l.bind_password.is_some() {
                    "set"
                } else {
                    "not set"
                }
                .into(),
            ),
            (F::BaseDn, clean(&l.base_dn)),
            (F::UserSearchBase, opt(&l.user_search_base)),
            (F::GroupSearchBase, opt(&l.group_search_base)),
            (F::UserAttribute, clean(&l.user_attribute)),
            (F::UserFilter, opt(&l.user_filter)),
            (F::Priority, l.priority.to_string()),
            (F::Active, yes_no(l.is_active)),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::db::models::LdapConfig, row);
