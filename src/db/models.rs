//! Row types. Field order follows `schema.rs` so `Queryable` maps by position.
//! Secrets (password hashes) are never serialised.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub email: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login: Option<NaiveDateTime>,
    pub is_active: bool,
    pub failed_logins: i32,
    pub last_failed_login: Option<NaiveDateTime>,
    pub locked_until: Option<NaiveDateTime>,
    pub must_change_password: bool,
    pub version: i32,
    /// "local" (bcrypt hash here) or "ldap" (bind to the directory at login).
    pub auth_source: String,
    /// The LDAP server an account was imported from.
    pub ldap_server_id: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = domains)]
pub struct Domain {
    pub id: i32,
    pub name: String,
    pub status: String,
    pub quota_limit: i64,
    pub quota_used: i64,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: Option<i32>,
    pub max_mailboxes: i32,
    pub max_aliases: i32,
    pub max_mailbox_quota: i64,
    pub transport: Option<String>,
    pub version: i32,
    /// Days a mailbox password of this domain lasts; None: no expiry.
    pub password_max_age_days: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = mailboxes)]
pub struct Mailbox {
    pub id: i32,
    pub username: String,
    pub domain_id: i32,
    #[serde(skip)]
    pub password_hash: String,
    pub quota_limit: i64,
    pub quota_used: i64,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub last_login: Option<NaiveDateTime>,
    pub created_by: Option<i32>,
    pub local_part: String,
    pub name: Option<String>,
    pub version: i32,
    /// Protocol switches the generated passdb honours (smtp: Postfix SASL
    /// and submission; sieve: ManageSieve).
    pub imap_enabled: bool,
    pub pop3_enabled: bool,
    pub smtp_enabled: bool,
    pub sieve_enabled: bool,
    /// After this the passdb refuses the mailbox password (app passwords
    /// keep their own expiry); None: never.
    pub password_expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = aliases)]
pub struct Alias {
    pub id: i32,
    pub address: String,
    pub goto: String,
    pub domain_id: i32,
    pub status: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: Option<i32>,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = alias_domains)]
pub struct AliasDomain {
    pub id: i32,
    pub name: String,
    pub target_domain_id: i32,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub created_by: Option<i32>,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, serde::Deserialize)]
#[diesel(table_name = audit_logs)]
pub struct AuditLog {
    pub id: i64,
    pub user_id: Option<i32>,
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub details: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub timestamp: NaiveDateTime,
    pub actor: Option<String>,
    pub result: String,
    pub prev_hash: String,
    pub row_hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = user_domains)]
pub struct UserDomain {
    pub id: i32,
    pub user_id: i32,
    pub domain_id: i32,
    pub permissions: Option<String>,
    pub created_at: NaiveDateTime,
    pub version: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = mail_server_configs)]
pub struct MailServerConfig {
    pub id: i32,
    pub service_name: String,
    pub config_file: String,
    pub config_data: String,
    pub backup_file: Option<String>,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<i32>,
    pub version: i32,
}

/// A row of ldap_configs as stored: `bind_password` is the encrypted form
/// (see `crate::secrets`), never plaintext, and is kept out of Debug and
/// serialisation all the same.
#[derive(Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = ldap_configs)]
pub struct LdapConfig {
    pub id: i32,
    pub server_name: String,
    pub host: String,
    pub port: i32,
    pub use_ssl: bool,
    pub bind_dn: Option<String>,
    #[serde(skip)]
    pub bind_password: Option<String>,
    pub base_dn: String,
    pub user_search_base: Option<String>,
    pub group_search_base: Option<String>,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub updated_by: Option<i32>,
    pub version: i32,
    /// "none", "starttls" or "ldaps".
    pub tls_mode: String,
    pub ca_file: Option<String>,
    pub user_attribute: String,
    pub user_filter: Option<String>,
    pub priority: i32,
}

impl std::fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapConfig")
            .field("id", &self.id)
            .field("server_name", &self.server_name)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls_mode", &self.tls_mode)
            .field("bind_dn", &self.bind_dn)
            .field(
                "bind_password",
                &self.bind_password.as_ref().map(|_| "[redacted]"),
            )
            .field("base_dn", &self.base_dn)
            .field("is_active", &self.is_active)
            .field("priority", &self.priority)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = user_preferences)]
pub struct UserPreferences {
    pub id: i32,
    pub user_id: i32,
    pub theme: String,
    pub language: String,
    pub timezone: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}
