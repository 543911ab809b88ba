//! Typed commands: every change a front end can ask for, as a value that
//! runs itself against `ops` and answers with an [`Outcome`].
//!
//! A command says which [`Lane`] it needs, so the TUI's worker can run it
//! on the thread for that kind of work (a CSV export or an LDAP test never
//! queues a save behind it), and its success sentence is written once, here:
//! the TUI's status line and the CLI print the same `Outcome`.

mod accounts;
pub mod deleted;
pub mod dkim;
pub mod dns;
mod domains;
mod files;
mod ldap;
mod mail_configs;
mod mailboxes;
pub mod rename;
pub mod send_limits;
pub mod sender_grants;
mod status;
pub mod totp;
pub mod vacation;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::config::MailConfig;
use crate::csvfile::OnProgress;
use crate::db::{AnyConnection, DbUrl};
use crate::error::{OpError, OpResult};
use crate::ops::{auth::Directory, Ctx};

pub use accounts::{Grant, Revoke, SetOwnPassword, SetPreferences};
pub use dkim::{AddDkim, DkimDns, RotateDkim, StepDkim};
pub use dns::{CheckDns, DnsDetail};
pub use domains::{
    CreateAliasDomain, CreateDomain, DeleteAliasDomain, DeleteDomain, EditDomain,
    RetargetAliasDomain,
};
pub use files::{run_bulk, Backup, Bulk, EditRows, ExportCsv, ImportCsv, Maintain};
pub use ldap::{CreateLdap, DeleteLdap, EditLdap, TestLdap};
pub use mail_configs::{ApplyConfig, EditConfig, ImportConfig, RollbackConfig};
pub use mailboxes::{
    CreateAlias, CreateMailbox, CreateUser, DeleteAlias, DeleteMailbox, DeleteUser, EditAlias,
    EditMailbox, EditUser, SetMailboxPassword,
};
pub use status::SetStatus;

/// Which kind of work a command is, and so which worker thread runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Reads only; may be answered out of order with writes.
    Read,
    /// A short transaction: a save, a delete, a status change.
    Write,
    /// Waits on something other than the database (files, LDAP servers,
    /// external commands) for as long as that takes.
    SlowIo,
}

/// What a command needs from the host besides a connection and a session.
pub struct Host<'a> {
    /// The database's URL, for backups and maintenance.
    pub url: Option<&'a DbUrl>,
    /// The secrets key file and LDAP timeout.
    pub directory: &'a Directory,
    /// Stage checks and reload commands for applying mail server configs.
    pub mail: &'a MailConfig,
    /// `[dkim]`: the selector pattern and grace period.
    pub dkim: &'a crate::ops::dkim::Settings,
    /// `[dns]`: what each domain must publish, and the resolver to ask.
    pub dns: &'a crate::config::DnsSettings,
    /// `[policyd]`: the default sending limits (issue 21).
    pub policyd: &'a crate::policyd::settings::PolicydSettings,
    /// Where a long command reports how far it got; the one sink for every
    /// kind of progress (CSV files, backups).
    pub progress: OnProgress<'a>,
}

impl Host<'_> {
    fn url(&self) -> OpResult<&DbUrl> {
        self.url
            .ok_or_else(|| OpError::Io("this session does not know its database URL".into()))
    }
}

/// A change to run: its lane, then its run.
pub trait Command: Send + fmt::Debug {
    fn lane(&self) -> Lane {
        Lane::Write
    }

    /// The lane on a host with these `[dkim]` settings: a command whose
    /// work grows with them (a domain create that also generates a key)
    /// says so here; the rest keep `lane`.
    fn lane_with(&self, _dkim: &crate::ops::dkim::Settings) -> Lane {
        self.lane()
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, host: &Host<'_>)
        -> OpResult<Outcome>;
}

/// What a command did: a sentence (`Display`: the status line, the CLI's
/// text output) and the data behind it (`Serialize`: `--json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    text: String,
    data: serde_json::Value,
    warning: Option<String>,
    failure: Option<String>,
}

impl Outcome {
    pub fn new(text: impl Into<String>, data: &impl Serialize) -> OpResult<Outcome> {
        let data = serde_json::to_value(data)
            .map_err(|e| OpError::Io(format!("cannot describe the result: {e}")))?;
        Ok(Outcome {
            text: text.into(),
            data,
            warning: None,
            failure: None,
        })
    }

    /// Done as asked, but worth a second look (a quota set below what the
    /// mailbox holds): the CLI says it on stderr, apart from the result.
    pub fn with_warning(mut self, warning: impl Into<String>) -> Outcome {
        self.warning = Some(warning.into());
        self
    }

    /// Part of the work failed and stays to be done (a due hold whose
    /// purge failed, a rename left pending): the CLI prints the outcome,
    /// then this as its error, and exits 1.
    pub fn with_failure(mut self, failure: impl Into<String>) -> Outcome {
        self.failure = Some(failure.into());
        self
    }

    /// The data behind the sentence (what `--json` prints).
    pub fn data(&self) -> &serde_json::Value {
        &self.data
    }

    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

/// The LDAP timeout the host configured, or the library's default.
fn ldap_timeout(host: &Host<'_>) -> Duration {
    host.directory
        .timeout
        .unwrap_or(crate::ldap::DEFAULT_TIMEOUT)
}
