//! Talking to LDAP servers: open a connection (plain, StartTLS or LDAPS,
//! within a deadline), test a server, authenticate a user by binding as it,
//! and search users to import. No database here: callers (ops::ldap,
//! ops::auth) load and decrypt the settings, and every function is a blocking
//! call bounded by a timeout, meant to run on a worker thread.

pub mod connect;
pub mod error;
pub mod filter;
pub mod import;
pub mod login;
pub mod test;

use std::path::PathBuf;
use std::time::Duration;

pub use error::LdapFailure;

use crate::secrets::SecretString;

/// How long one server may take for a whole exchange unless the config says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    None,
    StartTls,
    Ldaps,
}

impl TlsMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::None => "none",
            TlsMode::StartTls => "starttls",
            TlsMode::Ldaps => "ldaps",
        }
    }

    pub fn parse(s: &str) -> Option<TlsMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Some(TlsMode::None),
            "starttls" | "start-tls" => Some(TlsMode::StartTls),
            "ldaps" | "ssl" => Some(TlsMode::Ldaps),
            _ => None,
        }
    }

    /// The port a server listens on for this mode unless told otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Ldaps => 636,
            _ => 389,
        }
    }
}

/// Everything needed to reach one server, with the bind password decrypted.
/// Debug is safe: SecretString prints as "[redacted]".
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub id: i32,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub ca_file: Option<PathBuf>,
    /// None: search anonymously.
    pub bind_dn: Option<String>,
    pub bind_password: Option<SecretString>,
    pub base_dn: String,
    /// Where users are searched: the user search base, else the base DN.
    pub user_base: String,
    pub user_attribute: String,
    pub user_filter: Option<String>,
}

impl ServerSettings {
    pub fn url(&self) -> String {
        let scheme = match self.tls {
            TlsMode::Ldaps => "ldaps",
            _ => "ldap",
        };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Milliseconds as a whole number, for reports and audit rows.
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
