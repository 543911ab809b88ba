//! The Mailboxes screen.

use crate::ops::mailboxes::{Access, MailboxEdit, NewMailbox};
use crate::tui::form::Field;
use crate::tui::forms::SIZE_HINT;
use crate::tui::reader::Reader;
use crate::validate;
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, FieldId, Spec, USAGE_WIDTH};
use crate::model::Role;
use crate::store::SortKey;
use crate::tui::keys::{Cmd, RowCmd};
use crate::tui::rows::{clean, opt, opt_time, time, usage_bar, used, Row};
use crate::validate::format_size;
use crate::worker::Write;

fields! {
    pub enum F {
        Address = "address",
        Name = "name",
        Status = "status",
        QuotaUsed = "quota_used",
        Quota = "quota",
        Password = "password",
        Protocols = "protocols",
        LastLogin = "last_login",
        CreatedAt = "created_at",
        UpdatedAt = "updated_at",
        Version = "version",
    }
}

pub struct Mailboxes;

const COLUMNS: &[Column] = &[
    col("Address", Fill(3)).sort(SortKey::Name),
    col("Name", Fill(2)),
    col("Status", Length(9)),
    col("Used", Length(7)).sort(SortKey::Used).right(),
    col("Quota", Length(9)).sort(SortKey::Quota).right(),
    col("Usage", Length(USAGE_WIDTH)).sort(SortKey::Usage),
];

impl Spec for Mailboxes {
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
            Cmd::BulkQuota,
            Cmd::History,
            Cmd::Row(RowCmd::Vacation),
            Cmd::Row(RowCmd::Rename),
        ]
    }
    /// `V`: read the vacation, then open its form on what was read.
    fn run(&self, cmd: RowCmd, row: &Row) -> crate::tui::action::Action {
        use crate::ops::command::vacation::ShowVacation;
        use crate::tui::action::Action;
        match cmd {
            RowCmd::Vacation => Action::FormFrom(
                Box::new(ShowVacation {
                    address: row.key.clone(),
                }),
                crate::tui::vacation::form,
            ),
            RowCmd::Rename => Action::OpenForm(crate::tui::forms::rename_mailbox(&row.key)),
            _ => Action::Ignored,
        }
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::DeleteMailbox {
            address: row.key.clone(),
        })
    }
    fn create(&self, domain: Option<&str>) -> Option<Vec<Field>> {
        let at = domain.map(|d| format!("@{d}")).unwrap_or_default();
        Some(vec![
            Field::new(F::Address, "Address", &at, "user@example.com").cursor_at_start(),
            Field::new(F::Name, "Full name", "", ""),
            Field::secret(F::Password, "Password", "at least 12 characters"),
            Field::new(F::Quota, "Quota", "", "empty = default; e.g. 2G"),
        ])
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Name, "Full name", row.field(F::Name), ""),
            Field::new(F::Quota, "Quota", row.field(F::Quota), SIZE_HINT),
            Field::secret(F::Password, "New password", "empty = keep"),
            Field::new(
                F::Protocols,
                "Protocols",
                row.field(F::Protocols),
                "imap,pop3,smtp,sieve or none",
            ),
        ])
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        r.check(F::Address, validate::mailbox_address);
        r.check(F::Name, validate::description);
        Some(match editing {
            None => {
                let quota = if r.text(F::Quota).is_empty() {
                    None
                } else {
                    r.size(F::Quota)
                };
                Write::CreateMailbox(NewMailbox {
                    address: r.text(F::Address),
                    password: r.password(F::Password, true).unwrap_or_default(),
                    quota,
                    name: r.optional(F::Name),
                })
            }
            Some((key, version)) => Write::EditMailbox {
                address: key.to_string(),
                version,
                edit: MailboxEdit {
                    quota: r.size(F::Quota),
                    name: r.changed(F::Name),
                },
                access: match r.changed(F::Protocols) {
                    Some(list) => match Access::from_list(F::Protocols.name(), &list) {
                        Ok(a) => a,
                        Err(e) => {
                            r.push(F::Protocols.name(), &e);
                            Access::default()
                        }
                    },
                    None => Access::default(),
                },
                password: r.password(F::Password, false),
            },
        })
    }
}

pub fn row(m: &crate::db::models::Mailbox) -> Row {
    let addr = clean(&m.username);
    Row {
        usage: Some((m.quota_used, m.quota_limit)),
        key: addr.clone(),
        cursor: m.username.clone(),
        id: i64::from(m.id),
        version: Some(m.version),
        status: Some(clean(&m.status)),
        cells: vec![
            addr.clone(),
            opt(&m.name),
            clean(&m.status),
            used(m.quota_used),
            crate::units::human_limit(m.quota_limit),
            usage_bar(m.quota_used, m.quota_limit),
        ],
        fields: pairs(vec![
            (F::Address, addr),
            (F::Name, opt(&m.name)),
            (F::Status, clean(&m.status)),
            (F::QuotaUsed, used(m.quota_used)),
            (F::Quota, format_size(m.quota_limit)),
            (F::Protocols, Access::list_of(m)),
            (F::LastLogin, opt_time(&m.last_login)),
            (F::CreatedAt, time(&m.created_at)),
            (F::UpdatedAt, time(&m.updated_at)),
            (F::Version, m.version.to_string()),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::db::models::Mailbox, row);
