//! The Mail server configs screen: stored versions of Postfix and Dovecot
//! files, viewed, diffed, edited, applied and rolled back by key.

use crate::ops::mail_configs;
use crate::tui::form::{Field, Form};
use crate::tui::reader::Reader;
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::tui::action::Action;
use crate::tui::keys::{Cmd, RowCmd};
use crate::tui::rows::{clean, opt, time, yes_no, Row};
use crate::worker::{TextMode, Write};

fields! {
    pub enum F {
        Service = "service",
        ConfigFile = "config_file",
        Version = "version",
        BackupFile = "backup_file",
        Active = "active",
        Size = "size",
        UpdatedAt = "updated_at",
        /// The file a new version is imported from.
        File = "file",
    }
}

pub struct MailServers;

const COLUMNS: &[Column] = &[
    col("Id", Length(4)),
    col("Service", Length(10)),
    col("Config file", Fill(1)),
    col("Active", Length(6)),
    col("Updated", Length(16)),
];

impl Spec for MailServers {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        false
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            // Importing is "new"; view, diff, edit, apply and roll back
            // have their own keys.
            Role::Admin => Caps {
                create: true,
                ..Caps::NONE
            },
            Role::User | Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[
            Cmd::Row(RowCmd::ConfigView),
            Cmd::Row(RowCmd::ConfigDiffDisk),
            Cmd::Row(RowCmd::ConfigDiffPrevious),
            Cmd::Row(RowCmd::ConfigEdit),
            Cmd::Row(RowCmd::ConfigApply),
            Cmd::Row(RowCmd::ConfigRollback),
        ]
    }
    fn delete(&self, _row: &Row) -> Option<Write> {
        None
    }
    /// v view, D diff against disk, P against the previous version, e edit
    /// in $EDITOR, A apply, R roll back.
    fn run(&self, cmd: RowCmd, row: &Row) -> Action {
        let id = match row.id32() {
            Ok(id) => id,
            Err(e) => return Action::Fail(e.to_string()),
        };
        let file = row.field(F::ConfigFile);
        let version = row.field(F::Version);
        match cmd {
            RowCmd::ConfigView => Action::ConfigText(id, TextMode::Content),
            RowCmd::ConfigDiffDisk => Action::ConfigText(id, TextMode::DiffDisk),
            RowCmd::ConfigDiffPrevious => Action::ConfigText(id, TextMode::DiffPrevious),
            RowCmd::ConfigEdit => Action::ConfigText(id, TextMode::ForEdit),
            RowCmd::ConfigApply => Action::AskConfirm {
                text: format!(
                    "Apply version {version} of {file}? A staged copy is checked first, the current file is backed up, then replaced."
                ),
                write: Write::ApplyConfig { id },
            },
            RowCmd::ConfigRollback => Action::AskConfirm {
                text: format!(
                    "Put back {file} as it was before version {version} was applied (its backup)?"
                ),
                write: Write::RollbackConfig { id },
            },
            _ => Action::Ignored,
        }
    }
    /// Importing a file as a new version.
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::File, "File", "", "an absolute path")
                .with_default(mail_configs::default_file("postfix")),
            Field::choice(F::Service, "Service", "postfix", &mail_configs::SERVICES),
        ])
    }
    fn edit(&self, _row: &Row) -> Option<Vec<Field>> {
        None
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        if editing.is_some() {
            return None;
        }
        r.check(F::Service, mail_configs::check_service);
        Some(Write::ImportConfig {
            file: r.text(F::File),
            service: r.text(F::Service),
        })
    }
    /// The file follows the service picked.
    fn follow(&self, form: &mut Form) {
        let default = mail_configs::default_file(form.value(F::Service)).to_string();
        if let Some(f) = form.field_mut(F::File) {
            f.default = Some(default);
        }
    }
}

pub fn row(m: &crate::db::models::MailServerConfig) -> Row {
    Row {
        usage: None,
        key: m.id.to_string(),
        cursor: m.id.to_string(),
        id: i64::from(m.id),
        version: Some(m.version),
        status: None,
        cells: vec![
            m.id.to_string(),
            clean(&m.service_name),
            clean(&m.config_file),
            yes_no(m.is_active),
            time(&m.updated_at),
        ],
        fields: pairs(vec![
            (F::Service, clean(&m.service_name)),
            (F::ConfigFile, clean(&m.config_file)),
            (F::Version, m.version.to_string()),
            (F::BackupFile, opt(&m.backup_file)),
            (F::Active, yes_no(m.is_active)),
            (
                F::Size,
                crate::units::human(i64::try_from(m.config_data.len()).unwrap_or(i64::MAX)),
            ),
            (F::UpdatedAt, time(&m.updated_at)),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::db::models::MailServerConfig, row);
