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
    Bulk {
        resource: Entity,
        keys: Vec<String>,
        action: BulkAction,
    },
    ImportCsv {
        table: Entity,
        file: PathBuf,
        dry_run: bool,
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
    },
    EditDomain {
        name: String,
        version: i32,
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
        version: i32,
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
        version: i32,
        target: String,
    },
    DeleteAliasDomain {
        name: String,
    },
    CreateUser(NewUser),
    EditUser {
        username: String,
        version: i32,
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

impl Write {
    pub fn into_command(self) -> Box<dyn Command> {
        match self {
            Write::Bulk {
                resource,
                keys,
                action,
            } => Box::new(cmd::Bulk {
                entity: resource,
                keys,
                action,
            }),
            Write::ImportCsv {
                table,
                file,
                dry_run,
            } => Box::new(cmd::ImportCsv {
                table,
                file,
                dry_run,
            }),
            Write::ExportCsv {
                table,
                filter,
                with_hashes,
                file,
            } => Box::new(cmd::ExportCsv {
                table,
                filter,
                with_hashes,
                file,
            }),
            Write::EditRows { table, changes } => Box::new(cmd::EditRows { table, changes }),
            Write::CreateDomain { name, input } => Box::new(cmd::CreateDomain { name, input }),
            Write::EditDomain {
                name,
                version,
                input,
            } => Box::new(cmd::EditDomain {
                name,
                version,
                input,
            }),
            Write::DeleteDomain { name, cascade } => Box::new(cmd::DeleteDomain { name, cascade }),
            Write::CreateMailbox(new) => Box::new(cmd::CreateMailbox(new)),
            Write::EditMailbox {
                address,
                version,
                edit,
                password,
            } => Box::new(cmd::EditMailbox {
                address,
                version,
                edit,
                password,
            }),
            Write::DeleteMailbox { address } => Box::new(cmd::DeleteMailbox { address }),
            Write::CreateAlias {
                address,
                goto,
                description,
            } => Box::new(cmd::CreateAlias {
                address,
                goto,
                description,
            }),
            Write::EditAlias {
                address,
                version,
                edit,
            } => Box::new(cmd::EditAlias {
                address,
                version,
                edit,
            }),
            Write::DeleteAlias { address } => Box::new(cmd::DeleteAlias { address }),
            Write::CreateAliasDomain { name, target } => {
                Box::new(cmd::CreateAliasDomain { name, target })
            }
            Write::RetargetAliasDomain {
                name,
                version,
                target,
            } => Box::new(cmd::RetargetAliasDomain {
                name,
                version,
                target,
            }),
            Write::DeleteAliasDomain { name } => Box::new(cmd::DeleteAliasDomain { name }),
            Write::CreateUser(new) => Box::new(cmd::CreateUser(new)),
            Write::EditUser {
                username,
                version,
                edit,
                password,
            } => Box::new(cmd::EditUser {
                username,
                version,
                edit,
                password,
            }),
            Write::DeleteUser { username } => Box::new(cmd::DeleteUser { username }),
            Write::Grant {
                username,
                domain,
                perms,
            } => Box::new(cmd::Grant {
                username,
                domain,
                perms,
            }),
            Write::Revoke { username, domain } => Box::new(cmd::Revoke { username, domain }),
            Write::CreateLdap { name, input } => Box::new(cmd::CreateLdap { name, input }),
            Write::EditLdap {
                name,
                version,
                input,
            } => Box::new(cmd::EditLdap {
                name,
                version,
                input,
            }),
            Write::DeleteLdap { name } => Box::new(cmd::DeleteLdap { name }),
            Write::TestLdap { name } => Box::new(cmd::TestLdap { name }),
            Write::ImportConfig { file, service } => Box::new(cmd::ImportConfig { file, service }),
            Write::EditConfig { id, data } => Box::new(cmd::EditConfig { id, data }),
            Write::ApplyConfig { id } => Box::new(cmd::ApplyConfig { id }),
            Write::RollbackConfig { id } => Box::new(cmd::RollbackConfig { id }),
            Write::Backup { file } => Box::new(cmd::Backup { file }),
            Write::Maintain { vacuum } => Box::new(cmd::Maintain { vacuum }),
            Write::SetOwnPassword { password } => Box::new(cmd::SetOwnPassword { password }),
            Write::SetPreferences { version, edit } => {
                Box::new(cmd::SetPreferences { version, edit })
            }
            Write::SetStatus {
                resource,
                key,
                status,
            } => Box::new(cmd::SetStatus {
                entity: resource,
                key,
                status,
            }),
        }
    }
}
