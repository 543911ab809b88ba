//! The TUI's forms and keys still describe a change as a `Write`; each one
//! becomes its typed command (`ops::command`) before it is sent. New code
//! builds the commands directly.

use std::path::PathBuf;

use crate::model::{Entity, Perm, Status};
use crate::ops::command::{self as cmd, Command};
use crate::ops::{
    self, aliases::AliasEdit, domains::DomainInput, mailboxes::MailboxEdit, mailboxes::NewMailbox,
    users::NewUser, users::UserEdit,
};
use crate::store::Filter;

use super::BulkAction;

#[derive(Debug)]
pub enum Write {
    /// A typed command built directly (new tables' keys and forms): no
    /// variant here per table. `verb` is what its confirm dialog says
    /// ("activate", "revoke").
    Command {
        verb: &'static str,
        command: Box<dyn Command>,
    },
    Bulk {
        resource: Entity,
        keys: Vec<String>,
        action: BulkAction,
    },
    ImportCsv {
        table: Entity,
        file: PathBuf,
        dry_run: bool,
        default_aliases: bool,
    },
    ExportCsv {
        table: Entity,
        filter: Filter,
        with_hashes: bool,
        file: PathBuf,
    },
    EditRows {
        table: Entity,
        changes: Vec<ops::import::RowChange>,
    },
    CreateDomain {
        name: String,
        input: DomainInput,
        default_aliases: bool,
    },
    EditDomain {
        name: String,
        version: Option<i32>,
        input: DomainInput,
    },
    DeleteDomain {
        name: String,
        cascade: bool,
    },
    CreateMailbox(NewMailbox),
    EditMailbox {
        address: String,
        version: i32,
        edit: MailboxEdit,
        access: crate::ops::mailboxes::Access,
        password: Option<String>,
    },
    DeleteMailbox {
        address: String,
    },
    CreateAlias {
        address: String,
        goto: String,
        description: Option<String>,
    },
    EditAlias {
        address: String,
        version: Option<i32>,
        edit: AliasEdit,
    },
    DeleteAlias {
        address: String,
    },
    CreateAliasDomain {
        name: String,
        target: String,
    },
    RetargetAliasDomain {
        name: String,
        version: Option<i32>,
        target: String,
    },
    DeleteAliasDomain {
        name: String,
    },
    CreateUser(NewUser),
    EditUser {
        username: String,
        version: Option<i32>,
        edit: UserEdit,
        password: Option<String>,
    },
    DeleteUser {
        username: String,
    },
    Grant {
        username: String,
        domain: String,
        perms: Vec<Perm>,
    },
    Revoke {
        username: String,
        domain: String,
    },
    // Boxed: a server's input is the largest write by far.
    CreateLdap {
        name: String,
        input: Box<ops::ldap::ServerInput>,
    },
    EditLdap {
        name: String,
        version: i32,
        input: Box<ops::ldap::ServerInput>,
    },
    DeleteLdap {
        name: String,
    },
    TestLdap {
        name: String,
    },
    ImportConfig {
        file: String,
        service: String,
    },
    EditConfig {
        id: i32,
        data: String,
    },
    ApplyConfig {
        id: i32,
    },
    RollbackConfig {
        id: i32,
    },
    Backup {
        file: PathBuf,
    },
    Maintain {
        vacuum: bool,
    },
    SetOwnPassword {
        password: String,
    },
    SetPreferences {
        version: Option<i32>,
        edit: ops::preferences::PreferencesEdit,
    },
    SetStatus {
        resource: Entity,
        key: String,
        status: Status,
    },
}

/// Each listed variant becomes the command of the same name with the same
/// fields (or the same one value); `extra` arms say the rest.
macro_rules! same_shape {
    ($w:expr; { $($v:ident { $($f:ident),* }),* $(,)? }; { $($t:ident),* $(,)? }; $($extra:tt)*) => {
        match $w {
            $(Write::$v { $($f),* } => Box::new(cmd::$v { $($f),* }),)*
            $(Write::$t(x) => Box::new(cmd::$t(x)),)*
            $($extra)*
        }
    };
}

impl Write {
    pub fn into_command(self) -> Box<dyn Command> {
        same_shape!(self;
            {
                ImportCsv { table, file, dry_run, default_aliases },
                ExportCsv { table, filter, with_hashes, file },
                EditRows { table, changes },
                CreateDomain { name, input, default_aliases },
                EditDomain { name, version, input },
                DeleteDomain { name, cascade },
                CreateAlias { address, goto, description },
                EditAlias { address, version, edit },
                DeleteAlias { address },
                CreateAliasDomain { name, target },
                RetargetAliasDomain { name, version, target },
                DeleteAliasDomain { name },
                EditUser { username, version, edit, password },
                DeleteUser { username },
                Grant { username, domain, perms },
                Revoke { username, domain },
                CreateLdap { name, input },
                EditLdap { name, version, input },
                DeleteLdap { name },
                TestLdap { name },
                ImportConfig { file, service },
                EditConfig { id, data },
                ApplyConfig { id },
                RollbackConfig { id },
                Backup { file },
                Maintain { vacuum },
                SetOwnPassword { password },
                SetPreferences { version, edit },
            };
            { CreateMailbox, CreateUser };
            Write::Command { command, .. } => command,
            Write::Bulk { resource, keys, action } => Box::new(cmd::Bulk {
                entity: resource,
                keys,
                action,
            }),
            Write::EditMailbox { address, version, edit, access, password } => {
                Box::new(cmd::EditMailbox {
                    address,
                    version: Some(version),
                    edit,
                    access,
                    password,
                })
            }
            // The TUI's delete holds the mailbox; purging is on :deleted.
            Write::DeleteMailbox { address } => Box::new(cmd::DeleteMailbox { address, now: false }),
            Write::SetStatus { resource, key, status } => Box::new(cmd::SetStatus {
                entity: resource,
                key,
                status,
            }),
        )
    }
}
