//! Finding users to import: entries under the user base that have the user
//! attribute, narrowed by the configured filter and the import filter.
//! Every value is cleaned of control characters before anyone sees it.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::connect::Session;
use super::error::{clean, LdapFailure};
use super::test::first;
use super::{filter, ServerSettings};

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub dn: String,
    /// The user attribute's value as the directory has it.
    pub login: Option<String>,
    pub mail: Option<String>,
    pub name: Option<String>,
}

pub fn search(
    s: &ServerSettings,
    import_filter: Option<&str>,
    limit: usize,
    timeout: Duration,
) -> Result<(Vec<Candidate>, bool), LdapFailure> {
    let mut session = Session::open(s, Instant::now() + timeout)?;
    if let (Some(dn), Some(pw)) = (&s.bind_dn, &s.bind_password) {
        session.bind(dn, pw)?;
    }
    let f = filter::users_filter(&s.user_attribute, s.user_filter.as_deref(), import_filter);
    let attrs = [s.user_attribute.as_str(), "mail", "cn", "displayName"];
    let (entries, more) = session.search(&s.user_base, &f, &attrs, limit)?;
    session.close();
    let out = entries
        .into_iter()
        .map(|e| Candidate {
            dn: clean(&e.dn),
            login: first(&e.attrs, &s.user_attribute),
            mail: first(&e.attrs, "mail"),
            name: first(&e.attrs, "displayName").or_else(|| first(&e.attrs, "cn")),
        })
        .collect();
    Ok((out, more))
}
