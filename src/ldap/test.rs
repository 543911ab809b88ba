//! "Test connection": connect, bind with the configured account (or
//! anonymously), search under the user base, and report how long each step
//! took and the first entries found, or the first step that failed.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::connect::Session;
use super::error::{clean, LdapFailure};
use super::{filter, ms, ServerSettings};

/// How many entries a test shows.
pub const SHOWN_ENTRIES: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct EntryPreview {
    pub dn: String,
    /// The user attribute's first value, when present.
    pub user: Option<String>,
    pub mail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub server: String,
    pub url: String,
    pub tls: &'static str,
    pub ok: bool,
    /// The step that failed: connect, bind or search.
    pub failed_step: Option<&'static str>,
    pub error: Option<LdapFailure>,
    pub connect_ms: Option<u64>,
    pub bind_ms: Option<u64>,
    pub search_ms: Option<u64>,
    pub total_ms: u64,
    pub search_base: String,
    pub entries: Vec<EntryPreview>,
    pub more_entries: bool,
}

pub fn run(s: &ServerSettings, timeout: Duration) -> TestReport {
    let started = Instant::now();
    let deadline = started + timeout;
    let mut r = TestReport {
        server: clean(&s.name),
        url: s.url(),
        tls: s.tls.as_str(),
        ok: false,
        failed_step: None,
        error: None,
        connect_ms: None,
        bind_ms: None,
        search_ms: None,
        total_ms: 0,
        search_base: clean(&s.user_base),
        entries: Vec::new(),
        more_entries: false,
    };
    let fail = |mut r: TestReport, step: &'static str, e: LdapFailure| {
        r.failed_step = Some(step);
        r.error = Some(e);
        r.total_ms = ms(started.elapsed());
        r
    };
    let mut session = match Session::open(s, deadline) {
        Ok(x) => x,
        Err(e) => return fail(r, "connect", e),
    };
    r.connect_ms = Some(ms(started.elapsed()));
    let t = Instant::now();
    if let (Some(dn), Some(pw)) = (&s.bind_dn, &s.bind_password) {
        if let Err(e) = session.bind(dn, pw) {
            return fail(r, "bind", e);
        }
    }
    r.bind_ms = Some(ms(t.elapsed()));
    let t = Instant::now();
    let f = filter::users_filter(&s.user_attribute, s.user_filter.as_deref(), None);
    let attrs = [s.user_attribute.as_str(), "mail"];
    match session.search(&s.user_base, &f, &attrs, SHOWN_ENTRIES) {
        Ok((entries, more)) => {
            r.search_ms = Some(ms(t.elapsed()));
            r.entries = entries
                .into_iter()
                .map(|e| EntryPreview {
                    dn: clean(&e.dn),
                    user: first(&e.attrs, &s.user_attribute),
                    mail: first(&e.attrs, "mail"),
                })
                .collect();
            r.more_entries = more;
        }
        Err(e) => return fail(r, "search", e),
    }
    session.close();
    r.ok = true;
    r.total_ms = ms(started.elapsed());
    r
}

/// First value of an attribute (names compare case-insensitively), cleaned.
pub(crate) fn first(
    attrs: &std::collections::HashMap<String, Vec<String>>,
    name: &str,
) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first())
        .map(|v| clean(v))
}
