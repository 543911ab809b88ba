//! What each domain's DNS must publish for mail to be delivered and
//! trusted, and whether it does (issue 18). No database code: `ops::dns`
//! gathers the facts (domains, alias domains, DKIM keys), stores the
//! results and decides who may see what; this module computes and asks DNS.
//!
//! - `expected`: the records to publish, as data and as a BIND snippet;
//! - `spf`, `dmarc`: the parsers and rules of the two policy records;
//! - `resolver`: the configured resolver with a hard per-query deadline;
//! - `grade`: one found answer against one expectation, in words;
//! - `check`: every name of a domain, and many domains with a bounded pool.

pub mod check;
pub mod dmarc;
pub mod expected;
pub mod grade;
pub mod resolver;
pub mod spf;

use serde::{Deserialize, Serialize};

/// How one check came out; a domain's state is its worst check.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Grade {
    #[default]
    Ok,
    Warning,
    Error,
}

impl Grade {
    pub fn as_str(self) -> &'static str {
        match self {
            Grade::Ok => "ok",
            Grade::Warning => "warning",
            Grade::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Grade> {
        match s {
            "ok" => Some(Grade::Ok),
            "warning" => Some(Grade::Warning),
            "error" => Some(Grade::Error),
            _ => None,
        }
    }

    /// The exit status monitoring reads, as `health` has it: 0, 1, 2.
    pub fn exit_code(self) -> u8 {
        match self {
            Grade::Ok => 0,
            Grade::Warning => 1,
            Grade::Error => 2,
        }
    }
}

/// A DNS name as compared here: lower case, no trailing dot.
pub fn norm_name(s: &str) -> String {
    s.trim().trim_end_matches('.').to_ascii_lowercase()
}
