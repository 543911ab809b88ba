//! Authenticating a user by binding as it. Servers are tried in the order
//! given (ops passes the active ones by priority), as replicas of one
//! directory: a server that cannot be reached or is misconfigured passes
//! the attempt to the next; an answer about the user (not found, wrong
//! password) is final, so a down replica never turns "no" into "yes".

use std::time::{Duration, Instant};

use serde::Serialize;

use super::connect::Session;
use super::error::LdapFailure;
use super::{filter, ms, ServerSettings};
use crate::secrets::SecretString;

/// One server's part in a login, for the audit row.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub server: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub ms: u64,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// Bound as `dn` on `server`.
    Accepted { server: String, dn: String },
    /// A server answered "no": unknown user, ambiguous user, wrong password.
    Rejected { reason: String },
    /// No server could give an answer.
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct LoginResult {
    pub outcome: Outcome,
    pub attempts: Vec<Attempt>,
}

/// Servers that could not even be prepared (a secret that did not decrypt)
/// come in as `Err` so they are reported in order with the others.
pub fn authenticate(
    servers: &[Result<ServerSettings, (String, String)>],
    username: &str,
    pw: &SecretString,
    timeout: Duration,
) -> LoginResult {
    let mut attempts = Vec::new();
    for s in servers {
        let s = match s {
            Ok(s) => s,
            Err((name, why)) => {
                attempts.push(Attempt {
                    server: name.clone(),
                    outcome: "not_usable".into(),
                    detail: Some(why.clone()),
                    ms: 0,
                });
                continue;
            }
        };
        let started = Instant::now();
        let step = one_server(s, username, pw, started + timeout);
        let mut push = |outcome: &str, detail: Option<String>| {
            attempts.push(Attempt {
                server: s.name.clone(),
                outcome: outcome.to_string(),
                detail,
                ms: ms(started.elapsed()),
            })
        };
        match step {
            Step::Accepted(dn) => {
                push("accepted", None);
                return LoginResult {
                    outcome: Outcome::Accepted {
                        server: s.name.clone(),
                        dn,
                    },
                    attempts,
                };
            }
            Step::Rejected(reason) => {
                push("rejected", Some(reason.clone()));
                return LoginResult {
                    outcome: Outcome::Rejected { reason },
                    attempts,
                };
            }
            Step::Unusable(e) => push(e.kind(), Some(e.to_string())),
        }
    }
    LoginResult {
        outcome: Outcome::Unavailable,
        attempts,
    }
}

enum Step {
    Accepted(String),
    Rejected(String),
    Unusable(LdapFailure),
}

fn one_server(s: &ServerSettings, username: &str, pw: &SecretString, deadline: Instant) -> Step {
    if pw.is_empty() {
        return Step::Rejected("empty password".into());
    }
    let mut session = match Session::open(s, deadline) {
        Ok(x) => x,
        Err(e) => return Step::Unusable(e),
    };
    if let (Some(dn), Some(bpw)) = (&s.bind_dn, &s.bind_password) {
        // The service account failing is this server's problem, not the user's.
        if let Err(e) = session.bind(dn, bpw) {
            return Step::Unusable(e);
        }
    }
    let f = filter::user_filter(&s.user_attribute, s.user_filter.as_deref(), username);
    let found = match session.search(&s.user_base, &f, &["1.1"], 2) {
        Ok((entries, _)) => entries,
        Err(e) => return Step::Unusable(e),
    };
    let dn = match found.as_slice() {
        [] => return Step::Rejected("not found in the directory".into()),
        [one] => one.dn.clone(),
        _ => {
            return Step::Rejected(format!(
                "more than one entry has {}={username}",
                s.user_attribute
            ))
        }
    };
    let result = match session.bind(&dn, pw) {
        Ok(()) => Step::Accepted(super::error::clean(&dn)),
        Err(LdapFailure::BadCredentials { .. }) => Step::Rejected("wrong password".into()),
        Err(e) => Step::Unusable(e),
    };
    session.close();
    result
}
