//! One lane's thread: takes jobs off its channel, runs them on its own
//! connection and replies on the job's tag.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::throttle::LoginThrottle;
use super::{
    reads, Failure, HostSettings, Job, Reply, ReplySender, Request, Response, Session, Tag,
};
use crate::db::AnyConnection;
use crate::error::ErrorKind;
use crate::ops::command::{Host, Lane};
use crate::ops::{self, Client, ClientKind, Ctx, Policy, Principal};

/// What every lane shares: the session once logged in, and the settings
/// the host gave.
pub(super) struct Shared {
    pub session: Mutex<Option<Ctx>>,
    pub policy: Policy,
    /// What LDAP logins and LDAP servers need (key file, timeout).
    pub directory: ops::auth::Directory,
    /// The database's URL and the mail settings, for backups, maintenance
    /// and applying mail server configs.
    pub host: HostSettings,
}

pub(super) struct Runner {
    pub lane: Lane,
    /// None until the first job of a lane that opens its own connection
    /// (the slow lane: most sessions never use it).
    pub conn: Option<AnyConnection>,
    pub shared: Arc<Shared>,
    pub replies: ReplySender,
    /// Failed logins from this session (logins all run on the writer).
    pub logins: LoginThrottle,
}

impl Runner {
    pub(super) fn run(mut self, rx: mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            if self.lane == Lane::Read {
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                batch = newest_per_slot(batch);
            }
            for job in batch {
                let result = self.execute(job.tag, job.request);
                // Only the writing lanes write audit rows, so only they
                // drain the (process-wide) checkpoint warning queue; a
                // reader taking them would drop them. Every kind of result
                // carries them: a login (Session), a refusal or a failed
                // write is audited and checkpointed too.
                let warnings = if self.lane == Lane::Read {
                    Vec::new()
                } else {
                    ops::audit_seal::take_warnings()
                        .iter()
                        .map(|w| crate::sanitize::for_terminal(w))
                        .collect()
                };
                let reply = Reply {
                    tag: job.tag,
                    result,
                    warnings,
                };
                if self.replies.send(reply).is_err() {
                    return;
                }
            }
        }
    }

    fn ctx(&self) -> Result<Ctx, Failure> {
        let guard = self
            .shared
            .session
            .lock()
            .map_err(|_| Failure::internal("session lock poisoned"))?;
        guard.clone().ok_or_else(|| Failure {
            kind: ErrorKind::Auth,
            field: None,
            message: "not logged in".into(),
        })
    }

    fn execute(&mut self, tag: Tag, request: Request) -> Result<Response, Failure> {
        if let Request::Login {
            username,
            password,
            code,
        } = request
        {
            self.logins.check()?;
            let result = self.login(&username, &password, code.as_deref());
            return self.logins.record(&self.shared.policy, result);
        }
        let ctx = self.ctx()?;
        let shared = self.shared.clone();
        let progress = progress_sender(self.replies.clone(), tag);
        let conn = connection(&mut self.conn, &shared.host)?;
        match request {
            Request::Run(command) => {
                let host = Host {
                    url: shared.host.url.as_ref(),
                    directory: &shared.directory,
                    mail: &shared.host.mail,
                    dkim: &shared.host.dkim,
                    dns: &shared.host.dns,
                    policyd: &shared.host.policyd,
                    progress: &progress,
                };
                Ok(Response::Done(command.run(conn, &ctx, &host)?))
            }
            read => Ok(reads::read(conn, &ctx, &shared.host, read)?),
        }
    }

    fn login(
        &mut self,
        username: &str,
        password: &str,
        code: Option<&str>,
    ) -> Result<Response, Failure> {
        let shared = self.shared.clone();
        let conn = connection(&mut self.conn, &shared.host)?;
        let client = Client::from_env(ClientKind::Tui);
        let ctx = ops::auth::login_code(
            conn,
            username,
            password,
            code,
            &client,
            &shared.policy,
            &shared.directory,
        )?;
        let who = Principal::load_pending(conn, &ctx)?;
        let preferences = ops::preferences::get(conn, &ctx)?;
        let session = Session {
            username: ctx.username.clone(),
            role: who.role,
            must_change_password: who.must_change_password,
            must_enrol_totp: who.must_enrol_totp,
            preferences,
            min_password_length: ctx.policy.min_password_length,
            dkim_algorithm: shared.host.dkim.default_algorithm,
            dkim_bits: shared.host.dkim.default_bits,
        };
        if let Ok(mut s) = shared.session.lock() {
            *s = Some(ctx);
        }
        Ok(Response::Session(session))
    }
}

/// The lane's connection, opened from the URL on first use when the lane
/// was started without one.
fn connection<'a>(
    slot: &'a mut Option<AnyConnection>,
    host: &HostSettings,
) -> Result<&'a mut AnyConnection, Failure> {
    if slot.is_none() {
        let url = host
            .url
            .as_ref()
            .ok_or_else(|| Failure::internal("this session does not know its database URL"))?;
        let conn = crate::db::connect(url, false)
            .map_err(|e| Failure::from(crate::error::OpError::from(e)))?;
        *slot = Some(conn);
    }
    slot.as_mut()
        .ok_or_else(|| Failure::internal("no database connection"))
}

/// The one progress sink for a job: replies on its tag, at most ten a
/// second (the last step always goes through), from any thread.
fn progress_sender(replies: ReplySender, tag: Tag) -> impl Fn(crate::csvfile::Progress) + Sync {
    let last = Mutex::new(None::<Instant>);
    move |p: crate::csvfile::Progress| {
        let finished = p.total == Some(p.done);
        if let Ok(mut last) = last.lock() {
            let now = Instant::now();
            if !finished && last.is_some_and(|t| now - t < Duration::from_millis(100)) {
                return;
            }
            *last = Some(now);
        }
        let _ = replies.send(Reply {
            tag,
            result: Ok(Response::Progress(p)),
            warnings: Vec::new(),
        });
    }
}

/// Keep, for each slot, only its newest read (the last queued); writes are
/// never in this batch. Order of the survivors is kept.
fn newest_per_slot(batch: Vec<Job>) -> Vec<Job> {
    let mut seen = HashSet::new();
    let mut keep: Vec<Job> = batch
        .into_iter()
        .rev()
        .filter(|j| seen.insert(j.tag.slot))
        .collect();
    keep.reverse();
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entity;
    use crate::store::Page;
    use crate::worker::Slot;

    fn job(slot: Slot, gen: u64) -> Job {
        Job {
            tag: Tag { slot, gen },
            request: Request::Stats {
                page: Page::default(),
            },
        }
    }

    #[test]
    fn coalescing_keeps_the_newest_read_of_each_slot() {
        let batch = vec![
            job(Slot::Table(Entity::Domains), 1),
            job(Slot::Tail, 2),
            job(Slot::Table(Entity::Domains), 3),
            job(Slot::Table(Entity::Domains), 4),
        ];
        let gens: Vec<u64> = newest_per_slot(batch).iter().map(|j| j.tag.gen).collect();
        assert_eq!(gens, vec![2, 4]);
    }
}
