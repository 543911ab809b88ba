//! LDAP servers as a resource: add, edit, delete, list, show (servers.rs),
//! test a connection (test.rs), import users (import.rs) and rotate the
//! secrets key (rotate.rs). Writes need role admin; admins and readonly
//! users may read server settings, never a bind password. A bind password
//! is encrypted with the row id as associated data before it is stored,
//! and never appears in a view, an audit row or an error.
//!
//! Network work (test, import search) runs outside any database
//! transaction, so a slow server never holds SQLite's write lock.

mod import;
mod rotate;
mod servers;
mod test;

pub use import::{import, ImportReport, ImportRequest, ImportRow, Planned};
pub use rotate::{rotate_key, RotateReport};
pub use servers::{create, delete, edit, field_errors, get, list, page, BindPassword, ServerInput};
pub use test::{prepare_test, record_test, test};

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Value};

use super::{audit, Ctx, Principal};
use crate::db::models::LdapConfig;
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::ldap::{ServerSettings, TlsMode};
use crate::model::{AuditAction, AuditType, Role};
use crate::secrets::{KeyFile, SecretKey, Slot};
use crate::store;

/// A server as people and scripts see it: everything but the password,
/// of which only its presence is told.
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    pub id: i32,
    pub server_name: String,
    pub host: String,
    pub port: i32,
    pub tls_mode: String,
    pub use_ssl: bool,
    pub ca_file: Option<String>,
    pub bind_dn: Option<String>,
    pub bind_password_set: bool,
    pub base_dn: String,
    pub user_search_base: Option<String>,
    pub group_search_base: Option<String>,
    pub user_attribute: String,
    pub user_filter: Option<String>,
    pub priority: i32,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

impl From<&LdapConfig> for ServerView {
    fn from(r: &LdapConfig) -> Self {
        ServerView {
            id: r.id,
            server_name: r.server_name.clone(),
            host: r.host.clone(),
            port: r.port,
            tls_mode: r.tls_mode.clone(),
            use_ssl: r.use_ssl,
            ca_file: r.ca_file.clone(),
            bind_dn: r.bind_dn.clone(),
            bind_password_set: r.bind_password.is_some(),
            base_dn: r.base_dn.clone(),
            user_search_base: r.user_search_base.clone(),
            group_search_base: r.group_search_base.clone(),
            user_attribute: r.user_attribute.clone(),
            user_filter: r.user_filter.clone(),
            priority: r.priority,
            is_active: r.is_active,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// Reading server settings: admins and readonly users.
fn require_reader(who: &Principal) -> OpResult<()> {
    match who.role {
        Role::Admin | Role::Readonly => Ok(()),
        Role::User => Err(OpError::Denied(format!(
            "{} has role user; LDAP server settings need role admin or readonly",
            who.username
        ))),
    }
}

pub(crate) fn find(c: &mut AnyConnection, name: &str) -> OpResult<LdapConfig> {
    let norm = name.trim().to_lowercase();
    store::ldap_servers::by_name(c, &norm)?.ok_or_else(|| OpError::not_found("LDAP server", norm))
}

/// Audit a refusal that happened outside `run_write` (the operations whose
/// network part must not run inside a transaction).
pub(crate) fn audit_refusal(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    action: AuditAction,
    request: Value,
    e: OpError,
) -> OpError {
    let result = if e.is_refusal() {
        audit::RESULT_REFUSED
    } else {
        audit::RESULT_FAILED
    };
    let written = write_tx(conn, |c| {
        audit::record(
            c,
            ctx,
            audit::Entry {
                action,
                resource_type: AuditType::LdapServer,
                resource_id: None,
                details: json!({ "request": request, "error": e.to_string() }),
                result,
            },
        )
    });
    match written {
        Ok(()) => e,
        Err(err) => err,
    }
}

/// A hint for the one recoverable case of a key that does not decrypt: a
/// rotation that stopped between committing and replacing the key file.
fn key_hint(keys: Option<&KeyFile>, e: OpError) -> OpError {
    let Some(keys) = keys else { return e };
    let staged = keys.sibling(rotate::STAGED_SUFFIX);
    match e {
        OpError::Secret(m) if staged.exists() => OpError::Secret(format!(
            "{m}; {} exists: a key rotation may have stopped half-way, see docs/operations.md",
            staged.display()
        )),
        other => other,
    }
}

/// Turn a stored row into connection settings, decrypting the bind
/// password with `key` (loaded by the caller, once).
pub(crate) fn settings(row: &LdapConfig, key: Option<&SecretKey>) -> OpResult<ServerSettings> {
    let tls = TlsMode::parse(&row.tls_mode).ok_or_else(|| {
        OpError::invalid(
            "tls_mode",
            format!("unknown TLS mode {:?} in the database", row.tls_mode),
        )
    })?;
    let port = u16::try_from(row.port)
        .map_err(|_| OpError::invalid("port", format!("{} is not a port", row.port)))?;
    let bind_password = match &row.bind_password {
        None => None,
        Some(stored) => {
            let key = key.ok_or_else(|| {
                OpError::Secret(
                    "no secrets key file is configured to decrypt the bind password".into(),
                )
            })?;
            Some(key.decrypt(Slot::ldap_bind_password(row.id), stored)?)
        }
    };
    Ok(ServerSettings {
        id: row.id,
        name: row.server_name.clone(),
        host: row.host.clone(),
        port,
        tls,
        ca_file: row.ca_file.as_ref().map(Into::into),
        bind_dn: row.bind_dn.clone(),
        bind_password,
        base_dn: row.base_dn.clone(),
        user_base: row
            .user_search_base
            .clone()
            .unwrap_or_else(|| row.base_dn.clone()),
        user_attribute: row.user_attribute.clone(),
        user_filter: row.user_filter.clone(),
    })
}

/// The key, loaded only when a row actually holds a secret.
pub(crate) fn key_for(keys: Option<&KeyFile>, row: &LdapConfig) -> OpResult<Option<SecretKey>> {
    if row.bind_password.is_none() {
        return Ok(None);
    }
    Ok(Some(configured(keys)?.load()?))
}

/// The secrets key file; without one (a front end started with no
/// config) only servers without a bind password can be used or stored.
pub(crate) fn configured(keys: Option<&KeyFile>) -> OpResult<&KeyFile> {
    keys.ok_or_else(|| {
        OpError::Secret(
            "no secrets key file configured ([secrets] key_file): a bind password cannot be stored or read"
                .into(),
        )
    })
}

/// Settings for one named server, for an admin (they hold a secret).
pub(crate) fn admin_settings(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: Option<&KeyFile>,
    name: &str,
) -> OpResult<ServerSettings> {
    let who = Principal::load(conn, ctx)?;
    who.require_admin("using an LDAP server's bind account")?;
    let row = find(conn, name)?;
    let key = key_for(keys, &row).map_err(|e| key_hint(keys, e))?;
    settings(&row, key.as_ref()).map_err(|e| key_hint(keys, e))
}
