//! What can go wrong talking to a server, in the words an admin needs to
//! fix it. Text that came from the server is stripped of control characters
//! when the error is made, so it is safe to print anywhere.

use serde::Serialize;

use crate::sanitize::for_terminal;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LdapFailure {
    #[error("host name {host:?} could not be resolved ({detail})")]
    NameNotResolved { host: String, detail: String },
    #[error("connection refused by {addr}: is the server running, and listening on this port?")]
    ConnectionRefused { addr: String },
    #[error("{addr} is unreachable: {detail}")]
    Unreachable { addr: String, detail: String },
    #[error("no answer within {after_ms} ms while {stage}")]
    Timeout { stage: String, after_ms: u64 },
    #[error("TLS failure: {detail}")]
    Tls { detail: String },
    #[error("bad credentials: the server refused the password for {dn:?}")]
    BadCredentials { dn: String },
    #[error("an empty password is never sent (the server would treat it as an anonymous bind)")]
    EmptyPassword,
    #[error("base DN {dn:?} does not exist on the server")]
    NoSuchBase { dn: String },
    #[error("the server answered rc={rc} ({text})")]
    Server { rc: u32, text: String },
    #[error("CA file {path}: {detail}")]
    CaFile { path: String, detail: String },
    #[error("LDAP protocol error: {detail}")]
    Protocol { detail: String },
}

impl LdapFailure {
    pub fn kind(&self) -> &'static str {
        match self {
            LdapFailure::NameNotResolved { .. } => "name_not_resolved",
            LdapFailure::ConnectionRefused { .. } => "connection_refused",
            LdapFailure::Unreachable { .. } => "unreachable",
            LdapFailure::Timeout { .. } => "timeout",
            LdapFailure::Tls { .. } => "tls",
            LdapFailure::BadCredentials { .. } => "bad_credentials",
            LdapFailure::EmptyPassword => "empty_password",
            LdapFailure::NoSuchBase { .. } => "no_such_base",
            LdapFailure::Server { .. } => "server_error",
            LdapFailure::CaFile { .. } => "ca_file",
            LdapFailure::Protocol { .. } => "protocol",
        }
    }

    pub(crate) fn server(rc: u32, text: &str) -> LdapFailure {
        LdapFailure::Server {
            rc,
            text: clean(text),
        }
    }

    pub(crate) fn tls(detail: impl std::fmt::Display) -> LdapFailure {
        LdapFailure::Tls {
            detail: clean(&detail.to_string()),
        }
    }

    pub(crate) fn protocol(detail: impl std::fmt::Display) -> LdapFailure {
        LdapFailure::Protocol {
            detail: clean(&detail.to_string()),
        }
    }
}

/// Server text is untrusted: no control characters, bounded length.
pub(crate) fn clean(s: &str) -> String {
    for_terminal(s).chars().take(300).collect()
}
