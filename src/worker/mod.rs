//! The database worker: the only place the TUI's requests touch SQL.
//!
//! Three lanes, each a thread with its own connection: a reader for lists,
//! stats and the audit tail; a writer for logins and short writes; and a
//! slow lane for commands that wait on something other than the database
//! (CSV files, backups, LDAP servers, external commands). A write that
//! waits 30 s on another process's SQLite lock therefore never stops the
//! screens from paging, a CSV export never holds up a save, and the UI
//! thread never waits on any of them: it sends a [`Job`] and gets a
//! [`Reply`] on a channel. A change is a typed command (`ops::command`)
//! that says which lane it needs; the worker runs any of them the same way.
//!
//! Every job carries a [`Tag`]: the slot (which screen or modal asked) and a
//! generation number. The reader coalesces: of several reads queued for one
//! slot only the newest runs, because the UI would drop the older replies
//! anyway. Writes are never coalesced or dropped.

mod impact;
mod job;
mod reads;
mod runner;
pub mod source;
mod text;
mod throttle;
mod write;

use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::db::AnyConnection;
use crate::ops::command::Lane;
use crate::ops::{self, Policy};

pub use job::{
    BulkAction, Failure, Job, Listing, LiveToken, Reply, Request, Response, Session, Slot, Tag,
    TextMode,
};
pub use reads::MARK_CHUNK;
pub use write::Write;

use runner::{Runner, Shared};

/// What the worker needs to know about the host beyond the database.
#[derive(Debug, Clone, Default)]
pub struct HostSettings {
    pub url: Option<crate::db::DbUrl>,
    /// Stage checks and reload commands for applying mail server configs.
    pub mail: crate::config::MailConfig,
    /// `[dkim]`: selector pattern and grace period (DKIM screen and keys).
    pub dkim: crate::ops::dkim::Settings,
    /// `[dns]`: the Domains screen's DNS re-check (`c`).
    pub dns: crate::config::DnsSettings,
    /// `[policyd]`: the default sending limits the Senders screen shows.
    pub policyd: crate::policyd::settings::PolicydSettings,
}

/// The sending end the UI holds; dropping it (or calling `shutdown`) ends
/// every lane once its current job is done.
pub struct Worker {
    /// `[dkim]`, for the lane of a command that depends on it.
    dkim: ops::dkim::Settings,
    reads: Option<mpsc::Sender<Job>>,
    writes: Option<mpsc::Sender<Job>>,
    slow: Option<mpsc::Sender<Job>>,
    writers_done: mpsc::Receiver<()>,
}

pub type ReplySender = tokio::sync::mpsc::UnboundedSender<Reply>;

impl Worker {
    /// Start the lanes; `reader` and `writer` are two connections to the
    /// same database, already on the current schema.
    pub fn spawn(
        reader: AnyConnection,
        writer: AnyConnection,
        policy: Policy,
        replies: ReplySender,
    ) -> std::io::Result<Worker> {
        Worker::spawn_with(
            reader,
            writer,
            policy,
            ops::auth::Directory::default(),
            HostSettings::default(),
            replies,
        )
    }

    /// `spawn` with the directory settings LDAP needs and the host's URL
    /// and mail settings. The slow lane opens its own connection from the
    /// URL when its first job comes.
    pub fn spawn_with(
        reader: AnyConnection,
        writer: AnyConnection,
        policy: Policy,
        directory: ops::auth::Directory,
        host: HostSettings,
        replies: ReplySender,
    ) -> std::io::Result<Worker> {
        let dkim = host.dkim.clone();
        let shared = Arc::new(Shared {
            session: Mutex::new(None),
            policy,
            directory,
            host,
        });
        let (done_tx, done_rx) = mpsc::channel();
        let lane = |lane: Lane, conn: Option<AnyConnection>, name: &str| {
            let (tx, rx) = mpsc::channel();
            let runner = Runner {
                lane,
                conn,
                shared: shared.clone(),
                replies: replies.clone(),
                logins: Default::default(),
            };
            let done = done_tx.clone();
            thread::Builder::new().name(name.into()).spawn(move || {
                runner.run(rx);
                // The reader's end is not waited for: it never writes.
                if lane != Lane::Read {
                    let _ = done.send(());
                }
            })?;
            Ok::<_, std::io::Error>(tx)
        };
        let reads = lane(Lane::Read, Some(reader), "pm-db-reader")?;
        let writes = lane(Lane::Write, Some(writer), "pm-db-writer")?;
        let slow = lane(Lane::SlowIo, None, "pm-db-slow")?;
        Ok(Worker {
            dkim,
            reads: Some(reads),
            writes: Some(writes),
            slow: Some(slow),
            writers_done: done_rx,
        })
    }

    /// Queue a job on its lane; false when the worker has gone (its
    /// thread died).
    pub fn send(&self, job: Job) -> bool {
        let ch = match job.request.lane_with(&self.dkim) {
            Lane::Read => &self.reads,
            Lane::Write => &self.writes,
            Lane::SlowIo => &self.slow,
        };
        ch.as_ref().is_some_and(|c| c.send(job).is_ok())
    }

    /// Stop taking jobs and give the writing lanes' jobs in progress up to
    /// `wait` (together) to commit or roll back, so quitting (or a hang-up)
    /// never cuts a transaction short from our side.
    pub fn shutdown(mut self, wait: Duration) {
        self.reads = None;
        self.writes = None;
        self.slow = None;
        let deadline = std::time::Instant::now() + wait;
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if self.writers_done.recv_timeout(left).is_err() {
                return;
            }
        }
    }
}
