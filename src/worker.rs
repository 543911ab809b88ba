//! The database worker: the only place the TUI's requests touch SQL.
//!
//! Two threads, each owning its own connection: a reader for lists, stats
//! and the audit tail, and a writer for logins and every `ops` write. A write
//! that waits 30 s on another process's SQLite lock therefore never stops
//! the screens from paging or the tail from moving, and the UI thread never
//! waits on either: it sends a [`Job`] and gets a [`Reply`] on a channel.
//!
//! Every job carries a [`Tag`]: the slot (which screen or modal asked) and a
//! generation number. The reader coalesces: of several reads queued for one
//! slot only the newest runs, because the UI would drop the older replies
//! anyway. Writes are never coalesced or dropped.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::db::models::{LdapConfig, MailServerConfig, User};
use crate::db::AnyConnection;
use crate::error::OpError;
use crate::model::{Entity, Perm, Role, Status};
use crate::ops::{
    self, alias_domains::AliasDomainView, aliases::AliasEdit, domains::DomainInput,
    mailboxes::MailboxEdit, mailboxes::NewMailbox, users::NewUser, users::UserEdit, Client,
    ClientKind, Ctx, Policy, Principal,
};
use crate::store::{self, permissions::Grant, stats, Filter, Page};

/// Who asked: one pending request per slot, newer replaces older.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Login,
    Dashboard,
    Table(Entity),
    /// A create/edit form's save.
    Form,
    /// A confirmed delete or a status toggle.
    Action,
    /// The delete dialog's count of what goes with the row. Apart from
    /// `Action` so opening a dialog never makes a write's answer stale.
    Impact,
    Tail,
    /// The mail-config text panel (content, diffs).
    Text,
    /// "Mark every row matching the filter": the keys of all pages.
    Marks,
    /// The usage history panel.
    History,
    /// A CSV import or export: long, with progress; the form closes when
    /// it starts, so nothing else can make its answer stale.
    Transfer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub slot: Slot,
    pub gen: u64,
}

#[derive(Debug)]
pub struct Job {
    pub tag: Tag,
    pub request: Request,
}

#[derive(Debug)]
pub enum Request {
    Login {
        username: String,
        password: String,
    },
    Stats {
        page: Page,
    },
    /// The live dashboard: answered with `Quota(None)` when nothing changed
    /// since the snapshot whose token is `known`.
    Quota {
        known: Option<crate::store::quota::ChangeToken>,
        top: i64,
    },
    /// A mail server config version's text, or a diff of it.
    ConfigText {
        id: i32,
        mode: TextMode,
    },
    /// Usage samples of one domain (`mailbox: false`) or mailbox, by id.
    History {
        mailbox: bool,
        id: i32,
    },
    List {
        resource: Entity,
        filter: Filter,
        page: Page,
    },
    /// A table screen's page, with the change token of the data under it
    /// (read before the rows). With `known` equal to the token now, the
    /// answer is `Unchanged` and no rows are read: the screen's once-a-
    /// refresh "did anything change?" costs one aggregate.
    Live {
        resource: Entity,
        filter: Filter,
        page: Page,
        known: Option<LiveToken>,
    },
    /// Audit entries above this id (the live tail).
    Tail {
        after_id: i64,
        limit: i64,
    },
    /// How many rows deleting this row takes with it (for the confirm dialog).
    DeleteImpact {
        resource: Entity,
        key: String,
    },
    /// What suspending this row takes with it (for the confirm dialog).
    StatusImpact {
        resource: Entity,
        key: String,
    },
    /// What a bulk action on the marked rows would change (for its dialog).
    BulkPreview {
        resource: Entity,
        keys: Vec<String>,
        action: BulkAction,
    },
    /// The marked rows as a sheet, to open in $EDITOR (answered with
    /// `Response::Sheet`).
    Sheet {
        table: Entity,
        keys: Vec<String>,
    },
    /// One chunk of the keys of `resource` matching `filter`, after the
    /// key `after` (None: from the first). The UI asks chunk after chunk,
    /// so other reads run in between and Esc stops it at any chunk.
    MatchingKeys {
        resource: Entity,
        filter: Filter,
        after: Option<String>,
    },
    /// One row as it is now, by key (a form whose save met a conflict
    /// shows the other writer's values): `Rows` with that row.
    Row {
        resource: Entity,
        key: String,
    },
    Write(Write),
}

/// What a table screen compares to know its rows changed: the dashboard's
/// change token and the newest audit id (`ops::quota::table_token`) for
/// domains, mailboxes and aliases; the newest visible audit id for the
/// audit log.
pub type LiveToken = (crate::store::quota::ChangeToken, i64);

/// Bulk actions on marked rows: `ops::bulk::Action`, shared with the CLI.
pub use crate::ops::bulk::Action as BulkAction;

impl Request {
    fn is_read(&self) -> bool {
        !matches!(self, Request::Login { .. } | Request::Write(_))
    }
}

/// Every change the TUI can ask for; each maps onto one `ops` call (edits
/// with a new password onto two, the password second).
#[derive(Debug)]
pub enum Write {
    /// A bulk action on marked rows, in one transaction.
    Bulk {
        resource: Entity,
        keys: Vec<String>,
        action: BulkAction,
    },
    /// Import a CSV file (all rows or none), reporting progress.
    ImportCsv {
        table: Entity,
        file: std::path::PathBuf,
        dry_run: bool,
    },
    /// Export the rows matching `filter` into a new CSV file.
    ExportCsv {
        table: Entity,
        filter: Filter,
        /// Mailbox password hashes in the file (admins only; ops refuses others).
        with_hashes: bool,
        file: std::path::PathBuf,
    },
    /// The rows changed in the $EDITOR round trip, in one transaction.
    EditRows {
        table: Entity,
        changes: Vec<ops::import::RowChange>,
    },
    CreateDomain {
        name: String,
        input: DomainInput,
    },
    EditDomain {
        name: String,
        version: i32,
        input: DomainInput,
    },
    DeleteDomain {
        name: String,
        cascade: bool,
    },
    CreateMailbox(NewMailbox),
    EditMailbox {
        address: String,
        version: i32,
        edit: MailboxEdit,
        password: Option<String>,
    },
    DeleteMailbox {
        address: String,
    },
    CreateAlias {
        address: String,
        goto: String,
        description: Option<String>,
    },
    EditAlias {
        address: String,
        version: i32,
        edit: AliasEdit,
    },
    DeleteAlias {
        address: String,
    },
    CreateAliasDomain {
        name: String,
        target: String,
    },
    RetargetAliasDomain {
        name: String,
        version: i32,
        target: String,
    },
    DeleteAliasDomain {
        name: String,
    },
    CreateUser(NewUser),
    EditUser {
        username: String,
        version: i32,
        edit: UserEdit,
        password: Option<String>,
    },
    DeleteUser {
        username: String,
    },
    Grant {
        username: String,
        domain: String,
        perms: Vec<Perm>,
    },
    Revoke {
        username: String,
        domain: String,
    },
    /// LDAP servers: these need the secrets key file, which the runner holds.
    // Boxed: a server's input is the largest write by far.
    CreateLdap {
        name: String,
        input: Box<ops::ldap::ServerInput>,
    },
    EditLdap {
        name: String,
        version: i32,
        input: Box<ops::ldap::ServerInput>,
    },
    DeleteLdap {
        name: String,
    },
    /// Bind and search as the server is configured; the writer thread waits
    /// (up to the LDAP timeout), the screen does not.
    TestLdap {
        name: String,
    },
    /// Mail server configs: import a file (and its includes), store an
    /// edited text as a new version, apply a version, or put back the
    /// backup taken when a version was applied.
    ImportConfig {
        file: String,
        service: String,
    },
    EditConfig {
        id: i32,
        data: String,
    },
    ApplyConfig {
        id: i32,
    },
    RollbackConfig {
        id: i32,
    },
    /// A consistent, checked backup into `file` (admin only).
    Backup {
        file: std::path::PathBuf,
    },
    /// Database upkeep (admin only); `vacuum` also rewrites a SQLite file.
    Maintain {
        vacuum: bool,
    },
    /// The logged-in admin's own password (the way out of a required change).
    SetOwnPassword {
        password: String,
    },
    SetPreferences {
        version: Option<i32>,
        edit: ops::preferences::PreferencesEdit,
    },
    SetStatus {
        resource: Entity,
        key: String,
        status: Status,
    },
}

#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub role: Role,
    /// An admin required a new password: nothing else works until it is set.
    pub must_change_password: bool,
    pub preferences: ops::preferences::Preferences,
    /// The password policy's minimum, for the forms' own checks.
    pub min_password_length: usize,
}

#[derive(Debug, Clone)]
pub enum Listing {
    Domains(Vec<crate::db::models::Domain>),
    Mailboxes(Vec<crate::db::models::Mailbox>),
    Aliases(Vec<crate::db::models::Alias>),
    AliasDomains(Vec<AliasDomainView>),
    Users(Vec<User>),
    Permissions(Vec<Grant>),
    Audit(Vec<ops::audit::Named>),
    MailServers(Vec<MailServerConfig>),
    Ldap(Vec<LdapConfig>),
}

#[derive(Debug, Clone)]
pub enum Response {
    Session(Session),
    Stats(stats::MailboxTotals, Vec<stats::DomainUsage>),
    /// A new dashboard snapshot, or None: unchanged.
    Quota(Option<Box<ops::quota::Snapshot>>),
    /// (taken_at, bytes used) change points, oldest first.
    History(Vec<(chrono::NaiveDateTime, i64)>),
    /// A titled text (a config file or a diff), and what it was asked for.
    Text {
        id: i32,
        mode: TextMode,
        title: String,
        body: String,
    },
    Rows(Listing),
    /// A `Live` page and its token (None: this table has no token, so it
    /// is not refreshed on its own).
    Live(Option<LiveToken>, Listing),
    /// A `Live` check found the token unchanged: nothing to redraw.
    Unchanged,
    Tail(Vec<ops::audit::Named>),
    /// What a delete would remove: a sentence and the row count.
    Impact(String, i64),
    /// A write succeeded; the sentence for the status line.
    Written(String),
    /// A chunk of the keys matching a filter; `next` is where the next
    /// chunk starts (None: this was the last).
    Keys {
        keys: Vec<String>,
        next: Option<String>,
    },
    /// A long job's progress; more replies for the same request follow.
    Progress(crate::csvfile::Progress),
    /// The marked rows, for $EDITOR.
    Sheet(Box<crate::sheet::Sheet>),
}

/// An `OpError` as the UI needs it: plain data, safe to send across threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: &'static str,
    pub field: Option<String>,
    pub message: String,
}

impl From<OpError> for Failure {
    fn from(e: OpError) -> Self {
        Failure {
            kind: e.kind(),
            field: e.field().map(str::to_string),
            // Line breaks kept: a refusal may list many bad lines, which
            // the TUI shows in a scrollable panel.
            message: crate::sanitize::lines_for_terminal(&e.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub tag: Tag,
    pub result: Result<Response, Failure>,
    /// Audit checkpoint warnings raised while this job ran (writer only,
    /// sanitised): a write is saved, refused or fails and its checkpoint
    /// could not be written; the status line shows them whatever the result.
    pub warnings: Vec<String>,
}

/// The sending end the UI holds; dropping it (or calling `shutdown`) ends
/// both threads once their current job is done.
pub struct Worker {
    reads: Option<mpsc::Sender<Job>>,
    writes: Option<mpsc::Sender<Job>>,
    writer_done: mpsc::Receiver<()>,
}

pub type ReplySender = tokio::sync::mpsc::UnboundedSender<Reply>;

impl Worker {
    /// Start both threads; `reader` and `writer` are two connections to the
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

    /// `spawn` with the directory settings LDAP logins need.
    pub fn spawn_with(
        reader: AnyConnection,
        writer: AnyConnection,
        policy: Policy,
        directory: ops::auth::Directory,
        host: HostSettings,
        replies: ReplySender,
    ) -> std::io::Result<Worker> {
        let session: Arc<Mutex<Option<Ctx>>> = Arc::new(Mutex::new(None));
        let (rtx, rrx) = mpsc::channel();
        let (wtx, wrx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let r = Runner {
            conn: reader,
            session: session.clone(),
            policy: policy.clone(),
            directory: directory.clone(),
            host: host.clone(),
            replies: replies.clone(),
            current: None,
            logins: LoginThrottle::default(),
        };
        thread::Builder::new()
            .name("pm-db-reader".into())
            .spawn(move || r.run(rrx, true))?;
        let w = Runner {
            conn: writer,
            session,
            policy,
            directory,
            host,
            replies,
            current: None,
            logins: LoginThrottle::default(),
        };
        thread::Builder::new()
            .name("pm-db-writer".into())
            .spawn(move || {
                w.run(wrx, false);
                let _ = done_tx.send(());
            })?;
        Ok(Worker {
            reads: Some(rtx),
            writes: Some(wtx),
            writer_done: done_rx,
        })
    }

    /// Queue a job; false when the worker has gone (its thread died).
    pub fn send(&self, job: Job) -> bool {
        let ch = if job.request.is_read() {
            &self.reads
        } else {
            &self.writes
        };
        ch.as_ref().is_some_and(|c| c.send(job).is_ok())
    }

    /// Stop taking jobs and give a write in progress up to `wait` to commit
    /// or roll back, so quitting (or a hang-up) never cuts a transaction
    /// short from our side.
    pub fn shutdown(mut self, wait: Duration) {
        self.reads = None;
        self.writes = None;
        let _ = self.writer_done.recv_timeout(wait);
    }
}

struct Runner {
    conn: AnyConnection,
    session: Arc<Mutex<Option<Ctx>>>,
    policy: Policy,
    /// What LDAP logins need (key file, timeout).
    directory: ops::auth::Directory,
    /// The database's URL and the mail settings, for backups, maintenance
    /// and applying mail server configs.
    host: HostSettings,
    replies: ReplySender,
    /// The job being run, so a long one can send progress replies.
    current: Option<Tag>,
    /// Failed logins from this session (logins all run on the writer).
    logins: LoginThrottle,
}

/// This session's own count of failed logins, whatever names were typed.
/// Once it reaches the lockout threshold the answer is "too many failed
/// logins: wait N s" (the wait `lock_for` gives an account with that many
/// failures) and nothing is checked until it passes. Counting the session,
/// not the account, is what lets it say so without telling whether the
/// name exists or is locked.
#[derive(Debug, Default)]
struct LoginThrottle {
    failed: i32,
    until: Option<std::time::Instant>,
}

impl LoginThrottle {
    fn refusal(wait: Duration) -> Failure {
        // Whole seconds, rounded up: "wait 0 s" would be a lie.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Failure {
            kind: "throttled",
            field: None,
            message: format!("Too many failed logins: wait {secs} s, then try again."),
        }
    }

    /// Refused without checking while the wait runs.
    fn check(&self) -> Result<(), Failure> {
        match self.until {
            Some(t) if t > std::time::Instant::now() => {
                Err(Self::refusal(t - std::time::Instant::now()))
            }
            _ => Ok(()),
        }
    }

    /// Count a login's outcome; a failure at or past the threshold becomes
    /// the wait.
    fn record(
        &mut self,
        policy: &Policy,
        result: Result<Response, Failure>,
    ) -> Result<Response, Failure> {
        match result {
            Ok(r) => {
                *self = LoginThrottle::default();
                Ok(r)
            }
            Err(f) if f.kind == "auth" => {
                self.failed = self.failed.saturating_add(1);
                match ops::auth::lock_for(policy, self.failed) {
                    Some(secs) => {
                        let wait = Duration::from_secs(u64::try_from(secs).unwrap_or(1));
                        self.until = Some(std::time::Instant::now() + wait);
                        Err(Self::refusal(wait))
                    }
                    None => Err(f),
                }
            }
            Err(f) => Err(f),
        }
    }
}

/// What the worker needs to know about the host beyond the database.
#[derive(Debug, Clone, Default)]
pub struct HostSettings {
    pub url: Option<crate::db::DbUrl>,
    /// Stage checks and reload commands for applying mail server configs.
    pub mail: crate::config::MailConfig,
}

/// What the mail-config text panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    Content,
    DiffDisk,
    DiffPrevious,
    /// The content, to open in $EDITOR.
    ForEdit,
}

fn no_url() -> Failure {
    Failure {
        kind: "internal",
        field: None,
        message: "this session does not know its database URL".into(),
    }
}

impl Runner {
    fn run(mut self, rx: mpsc::Receiver<Job>, coalesce: bool) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            if coalesce {
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                batch = newest_per_slot(batch);
            }
            for job in batch {
                self.current = Some(job.tag);
                let result = self.execute(job.request);
                // Only the writer writes audit rows, so only it drains the
                // (process-wide) checkpoint warning queue; a reader taking
                // them would drop them. Every kind of writer result carries
                // them: a login (Session), a refusal or a failed write is
                // audited and checkpointed too.
                let warnings = if coalesce {
                    Vec::new()
                } else {
                    ops::audit_seal::take_warnings()
                        .iter()
                        .map(|w| crate::sanitize::for_terminal(w))
                        .collect()
                };
                if self
                    .replies
                    .send(Reply {
                        tag: job.tag,
                        result,
                        warnings,
                    })
                    .is_err()
                {
                    return;
                }
            }
        }
    }

    fn ctx(&self) -> Result<Ctx, Failure> {
        let guard = self.session.lock().map_err(|_| Failure {
            kind: "internal",
            field: None,
            message: "session lock poisoned".into(),
        })?;
        guard.clone().ok_or_else(|| Failure {
            kind: "auth",
            field: None,
            message: "not logged in".into(),
        })
    }

    fn execute(&mut self, request: Request) -> Result<Response, Failure> {
        match request {
            Request::Login { username, password } => {
                self.logins.check()?;
                let result = self.login(&username, &password);
                self.logins.record(&self.policy, result)
            }
            // These need the database URL, which only the runner knows.
            Request::Write(Write::Backup { file }) => {
                let ctx = self.ctx()?;
                let url = self.host.url.clone().ok_or_else(no_url)?;
                let r = ops::maintenance::backup(&mut self.conn, &ctx, &url, &file)?;
                Ok(Response::Written(format!(
                    "backup written to {} ({} bytes, {})",
                    r.file, r.bytes, r.integrity
                )))
            }
            Request::Write(
                w @ (Write::CreateLdap { .. }
                | Write::EditLdap { .. }
                | Write::DeleteLdap { .. }
                | Write::TestLdap { .. }
                | Write::SetStatus {
                    resource: Entity::Ldap,
                    ..
                }),
            ) => {
                let ctx = self.ctx()?;
                Ok(Response::Written(self.ldap(&ctx, w)?))
            }
            Request::Write(
                w @ (Write::ImportConfig { .. }
                | Write::EditConfig { .. }
                | Write::ApplyConfig { .. }
                | Write::RollbackConfig { .. }),
            ) => {
                let ctx = self.ctx()?;
                Ok(Response::Written(self.mail_config(&ctx, w)?))
            }
            Request::Write(Write::ImportCsv {
                table,
                file,
                dry_run,
            }) => {
                let ctx = self.ctx()?;
                let report = {
                    let progress = self.progress_sender();
                    crate::csvfile::import_file(
                        &mut self.conn,
                        &ctx,
                        table,
                        &file,
                        dry_run,
                        &progress,
                    )?
                };
                Ok(Response::Written(crate::sanitize::for_terminal(
                    &report.sentence(),
                )))
            }
            Request::Write(Write::ExportCsv {
                table,
                filter,
                with_hashes,
                file,
            }) => {
                let ctx = self.ctx()?;
                // Expanded here too, so the message names the real file.
                let file = crate::paths::expand_tilde(&file.to_string_lossy());
                let out = {
                    let progress = self.progress_sender();
                    crate::csvfile::export_file(
                        &mut self.conn,
                        &ctx,
                        table,
                        &filter,
                        with_hashes,
                        &file,
                        &progress,
                    )?
                };
                Ok(Response::Written(crate::sanitize::for_terminal(&format!(
                    "exported {} {} ({} bytes) to {}",
                    ops::bulk::thousands(out.rows as usize),
                    table.plural(),
                    ops::bulk::thousands(out.bytes as usize),
                    file.display()
                ))))
            }
            Request::Write(Write::Maintain { vacuum }) => {
                let ctx = self.ctx()?;
                let url = self.host.url.clone().ok_or_else(no_url)?;
                let r =
                    ops::maintenance::maintain(&mut self.conn, &ctx, &url, vacuum, &mut |_| {})?;
                Ok(Response::Written(match (r.size_before, r.size_after) {
                    (Some(b), Some(a)) => {
                        format!(
                            "maintenance done: {}; file {b} -> {a} bytes",
                            crate::plural::s(r.steps.len(), "step")
                        )
                    }
                    _ => format!(
                        "maintenance done: {}",
                        crate::plural::s(r.steps.len(), "step")
                    ),
                }))
            }
            other => {
                let ctx = self.ctx()?;
                Ok(run(&mut self.conn, &ctx, other)?)
            }
        }
    }

    /// A progress callback for the current job: replies on its tag, at most
    /// ten a second (the last step always goes through), from any thread.
    fn progress_sender(&self) -> impl Fn(crate::csvfile::Progress) + Sync {
        let replies = self.replies.clone();
        let tag = self.current;
        let last = Mutex::new(None::<std::time::Instant>);
        move |p: crate::csvfile::Progress| {
            let Some(tag) = tag else { return };
            let finished = p.total == Some(p.done);
            if let Ok(mut last) = last.lock() {
                let now = std::time::Instant::now();
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

    fn mail_config(&mut self, ctx: &Ctx, w: Write) -> Result<String, OpError> {
        use crate::mail::configs;
        let mail = self.host.mail.clone();
        let opts = |service: &str| configs::ApplyOptions {
            stage_check: Some(match service {
                "postfix" => mail.postfix_stage_check.clone(),
                _ => mail.dovecot_stage_check.clone(),
            }),
            reload: Some(match service {
                "postfix" => mail.postfix_reload.clone(),
                _ => mail.dovecot_reload.clone(),
            })
            .filter(|c| !c.trim().is_empty()),
            ..Default::default()
        };
        let c = &mut self.conn;
        let applied_text = |row: &crate::db::models::MailServerConfig,
                            a: &ops::mail_configs::Applied| {
            format!(
                "applied {} version {}: {}",
                row.config_file,
                row.version,
                a.steps.join("; ")
            )
        };
        Ok(match w {
            Write::ImportConfig { file, service } => {
                let files = configs::read_with_includes(&service, std::path::Path::new(&file))?;
                let out = ops::mail_configs::import(c, ctx, &service, &files)?;
                format!(
                    "imported {} from {file}",
                    crate::plural::s(out.len(), "file")
                )
            }
            Write::EditConfig { id, data } => {
                let row = ops::mail_configs::edit(c, ctx, id, &data)?;
                format!(
                    "stored {} version {} (not applied yet: A applies it)",
                    row.config_file, row.version
                )
            }
            Write::ApplyConfig { id } => {
                let (row, a) = ops::mail_configs::apply(c, ctx, id, |r, active| {
                    configs::write_to_disk(r, active, &opts(&r.service_name))
                })?;
                applied_text(&row, &a)
            }
            Write::RollbackConfig { id } => {
                let (after, a, backup) = ops::mail_configs::rollback(c, ctx, id, |r, active| {
                    configs::write_to_disk(r, active, &opts(&r.service_name))
                })?;
                format!("rolled back to {backup}; {}", applied_text(&after, &a))
            }
            _ => Err(OpError::Denied("not a mail config request".into()))?,
        })
    }

    fn ldap(&mut self, ctx: &Ctx, w: Write) -> Result<String, OpError> {
        let keys = self.directory.key_file.as_ref();
        let c = &mut self.conn;
        Ok(match w {
            Write::CreateLdap { name, input } => {
                let v = ops::ldap::create(c, ctx, keys, &name, &input)?;
                format!("added LDAP server {}", v.server_name)
            }
            Write::EditLdap {
                name,
                version,
                input,
            } => {
                let v = ops::ldap::edit(c, ctx, keys, &name, Some(version), &input)?;
                format!("updated LDAP server {}", v.server_name)
            }
            Write::DeleteLdap { name } => {
                let v = ops::ldap::delete(c, ctx, &name)?;
                format!("deleted LDAP server {}", v.server_name)
            }
            Write::SetStatus { key, status, .. } => {
                let input = ops::ldap::ServerInput {
                    is_active: Some(status == Status::Active),
                    ..Default::default()
                };
                let v = ops::ldap::edit(c, ctx, keys, &key, None, &input)?;
                format!(
                    "LDAP server {} is now {}",
                    v.server_name,
                    if status == Status::Active {
                        "active"
                    } else {
                        "inactive"
                    }
                )
            }
            Write::TestLdap { name } => {
                let timeout = self
                    .directory
                    .timeout
                    .unwrap_or(crate::ldap::DEFAULT_TIMEOUT);
                let r = ops::ldap::test(c, ctx, keys, &name, timeout)?;
                if r.ok {
                    format!(
                        "LDAP {}: bind and search fine in {} ms ({} entries under {})",
                        r.server,
                        r.total_ms,
                        r.entries.len(),
                        r.search_base
                    )
                } else {
                    let why = r.error.as_ref().map(|e| e.to_string()).unwrap_or_default();
                    return Err(OpError::invalid(
                        "test",
                        format!(
                            "LDAP {} failed at {} after {} ms: {why}",
                            r.server,
                            r.failed_step.unwrap_or("connect"),
                            r.total_ms
                        ),
                    ));
                }
            }
            _ => return Err(OpError::Denied("not an LDAP request".into())),
        })
    }

    fn login(&mut self, username: &str, password: &str) -> Result<Response, Failure> {
        let client = Client::from_env(ClientKind::Tui);
        let ctx = ops::auth::login_with(
            &mut self.conn,
            username,
            password,
            &client,
            &self.policy,
            &self.directory,
        )?;
        let who = Principal::load_pending(&mut self.conn, ctx.user_id)?;
        let preferences = ops::preferences::get(&mut self.conn, &ctx)?;
        let session = Session {
            username: ctx.username.clone(),
            role: who.role,
            must_change_password: who.must_change_password,
            preferences,
            min_password_length: ctx.policy.min_password_length,
        };
        if let Ok(mut s) = self.session.lock() {
            *s = Some(ctx);
        }
        Ok(Response::Session(session))
    }
}

fn run(c: &mut AnyConnection, ctx: &Ctx, request: Request) -> Result<Response, OpError> {
    Ok(match request {
        // `execute` answers logins itself; one arriving here is refused
        // rather than panicking.
        Request::Login { .. } => return Err(OpError::Denied("already logged in".into())),
        Request::Stats { page } => {
            let (totals, domains) = ops::stats(c, ctx, &page)?;
            Response::Stats(totals, domains)
        }
        Request::History { mailbox, id } => {
            Response::History(ops::quota::history(c, ctx, mailbox, id)?)
        }
        Request::ConfigText { id, mode } => config_text(c, ctx, id, mode)?,
        Request::Quota { known, top } => {
            Response::Quota(ops::quota::watch(c, ctx, known, top)?.map(Box::new))
        }
        Request::List {
            resource,
            filter,
            page,
        } => Response::Rows(list(c, ctx, resource, &filter, &page)?),
        Request::Row { resource, key } => Response::Rows(row(c, ctx, resource, &key)?),
        Request::Live {
            resource,
            filter,
            page,
            known,
        } => {
            // Read before the rows: a write landing in between shows now
            // and merely causes one more refresh later.
            let token = live_token(c, ctx, resource, &filter)?;
            if token.is_some() && token == known {
                Response::Unchanged
            } else {
                Response::Live(token, list(c, ctx, resource, &filter, &page)?)
            }
        }
        Request::Tail { after_id, limit } => {
            let rows = ops::audit::newer_than(c, ctx, after_id, limit)?;
            Response::Tail(ops::audit::name_rows(c, rows)?)
        }
        Request::DeleteImpact { resource, key } => {
            let (text, n) = impact(c, ctx, resource, &key)?;
            Response::Impact(text, n)
        }
        Request::StatusImpact { resource, key } => {
            let (text, n) = suspend_impact(c, ctx, resource, &key)?;
            Response::Impact(text, n)
        }
        Request::BulkPreview {
            resource,
            keys,
            action,
        } => {
            let p = bulk_run(c, ctx, resource, &keys, &action, false)?;
            let mut s = p.summary.clone();
            if let Some(first) = s.get(..1) {
                s = first.to_uppercase() + &s[1..];
            }
            let n = p.changes as i64;
            Response::Impact(
                crate::sanitize::for_terminal(&format!(
                    "{s}? {} will change, in one transaction.",
                    rows(p.changes)
                )),
                n,
            )
        }
        Request::Sheet { table, keys } => {
            Response::Sheet(Box::new(crate::sheet::Sheet::load(c, ctx, table, &keys)?))
        }
        Request::MatchingKeys {
            resource,
            filter,
            after,
        } => {
            let (keys, next) = matching_keys(c, ctx, resource, &filter, after)?;
            Response::Keys { keys, next }
        }
        Request::Write(w) => Response::Written(write(c, ctx, w)?),
    })
}

/// Preview (`apply: false`) or apply a bulk action on a table screen's
/// rows: the same `ops::bulk::run` for both, so the dialog previews exactly
/// what Yes will do.
fn bulk_run(
    c: &mut AnyConnection,
    ctx: &Ctx,
    resource: Entity,
    keys: &[String],
    action: &BulkAction,
    apply: bool,
) -> Result<ops::bulk::Preview, OpError> {
    if !resource.bulk() {
        return Err(OpError::invalid(
            "action",
            format!("no bulk actions on {}s", resource.noun()),
        ));
    }
    ops::bulk::run(c, ctx, resource, keys, action, apply)
}

/// Keys per `MatchingKeys` chunk: one keyset page of the largest size.
pub const MARK_CHUNK: i64 = store::MAX_PAGE;

/// One chunk of the keys matching the filter, for "mark all matching", and
/// the key the next chunk starts after. Always walked in name order,
/// whatever order the screen shows: the marks are a set, and the name is
/// the one cursor every list pages by (a sorted list's cursor is the sort
/// value plus the name, which these keys are not).
fn matching_keys(
    c: &mut AnyConnection,
    ctx: &Ctx,
    resource: Entity,
    filter: &Filter,
    after: Option<String>,
) -> Result<(Vec<String>, Option<String>), OpError> {
    let filter = Filter {
        sort: store::Sort::default(),
        ..filter.clone()
    };
    let page = Page {
        after,
        limit: Some(MARK_CHUNK),
        backward: false,
    };
    let keys: Vec<String> = match resource {
        Entity::Mailboxes => ops::mailboxes::list(c, ctx, &filter, &page)?
            .into_iter()
            .map(|m| m.username)
            .collect(),
        Entity::Aliases => ops::aliases::list(c, ctx, &filter, &page)?
            .into_iter()
            .map(|a| a.address)
            .collect(),
        Entity::Domains => ops::domains::list(c, ctx, &filter, &page)?
            .into_iter()
            .map(|d| d.name)
            .collect(),
        other => {
            return Err(OpError::invalid(
                "marks",
                format!("{} rows cannot be marked", other.noun()),
            ))
        }
    };
    let next = if keys.len() as i64 >= MARK_CHUNK {
        keys.last().cloned()
    } else {
        None
    };
    Ok((keys, next))
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

/// One row by key through ops' scoped `get`, as a listing of one.
fn row(c: &mut AnyConnection, ctx: &Ctx, resource: Entity, key: &str) -> Result<Listing, OpError> {
    Ok(match resource {
        Entity::Domains => Listing::Domains(vec![ops::domains::get(c, ctx, key)?]),
        Entity::Mailboxes => Listing::Mailboxes(vec![ops::mailboxes::get(c, ctx, key)?]),
        Entity::Aliases => Listing::Aliases(vec![ops::aliases::get(c, ctx, key)?]),
        Entity::AliasDomains => Listing::AliasDomains(vec![ops::alias_domains::get(c, ctx, key)?]),
        Entity::Users => Listing::Users(vec![ops::users::get(c, ctx, key)?]),
        Entity::Ldap => {
            let page = Page {
                limit: Some(50),
                ..Default::default()
            };
            let mut rows = ops::ldap::page(c, ctx, Some(key), &page)?;
            rows.retain(|r| r.server_name == key);
            Listing::Ldap(rows)
        }
        other => {
            return Err(OpError::invalid(
                "resource",
                format!("{} rows are not read one by one", other.noun()),
            ))
        }
    })
}

fn list(
    c: &mut AnyConnection,
    ctx: &Ctx,
    resource: Entity,
    f: &Filter,
    page: &Page,
) -> Result<Listing, OpError> {
    Ok(match resource {
        Entity::Domains => Listing::Domains(ops::domains::list(c, ctx, f, page)?),
        Entity::Mailboxes => Listing::Mailboxes(ops::mailboxes::list(c, ctx, f, page)?),
        Entity::Aliases => Listing::Aliases(ops::aliases::list(c, ctx, f, page)?),
        Entity::AliasDomains => Listing::AliasDomains(ops::alias_domains::list(c, ctx, f, page)?),
        Entity::Users => Listing::Users(ops::users::list(c, ctx, f, page)?),
        Entity::Permissions => {
            Listing::Permissions(ops::permissions::list(c, ctx, None, None, page)?)
        }
        Entity::Audit => Listing::Audit(ops::audit::search(
            c,
            ctx,
            &ops::audit::parse_query(f.text.as_deref(), f.show_hidden),
            page,
        )?),
        Entity::MailServers => {
            Listing::MailServers(ops::mail_configs::page(c, ctx, f.text.as_deref(), page)?)
        }
        Entity::Ldap => Listing::Ldap(ops::ldap::page(c, ctx, f.text.as_deref(), page)?),
    })
}

/// The change token of a table's rows; None for tables no trigger counts
/// changes of (users, grants, alias domains, mail configs, LDAP servers),
/// which refresh on `r` and after this session's own writes.
fn live_token(
    c: &mut AnyConnection,
    ctx: &Ctx,
    resource: Entity,
    f: &Filter,
) -> Result<Option<LiveToken>, OpError> {
    Ok(match resource {
        Entity::Domains | Entity::Mailboxes | Entity::Aliases => {
            Some(ops::quota::table_token(c, ctx, f.domain_id)?)
        }
        // The newest entry this user may see: the primary key's last
        // entry, one index probe at any size.
        Entity::Audit => {
            let newest = ops::audit::newer_than(c, ctx, 0, 1)?;
            Some(((0, 0, 0), newest.first().map(|a| a.id).unwrap_or(0)))
        }
        _ => None,
    })
}

/// What suspending a domain stops: its mailboxes and aliases (Postfix and
/// Dovecot read the domain's status with every lookup).
fn suspend_impact(
    c: &mut AnyConnection,
    ctx: &Ctx,
    resource: Entity,
    key: &str,
) -> Result<(String, i64), OpError> {
    if resource != Entity::Domains {
        return Ok((
            format!(
                "Suspend {} {}? 1 row will change.",
                resource.noun(),
                crate::sanitize::for_terminal(key)
            ),
            1,
        ));
    }
    let d = ops::domains::get(c, ctx, key)?;
    let mb = store::domains::mailbox_count(c, d.id)?;
    let al = store::domains::alias_count(c, d.id)?;
    Ok((
        format!(
            "Suspend domain {}? Its {} and {} stop receiving mail and logging in until it is activated again. 1 row will change.",
            crate::sanitize::for_terminal(&d.name),
            counted(mb, "mailbox", "mailboxes"),
            counted(al, "alias", "aliases"),
        ),
        1,
    ))
}

/// A count for a confirmation, with thousands separators and the noun
/// agreeing with it ("1 mailbox", "12,000 mailboxes").
fn counted(n: impl TryInto<usize>, one: &str, many: &str) -> String {
    let n = n.try_into().unwrap_or(0);
    format!(
        "{} {}",
        ops::bulk::thousands(n),
        if n == 1 { one } else { many }
    )
}

fn rows(n: usize) -> String {
    counted(n, "row", "rows")
}

fn impact(
    c: &mut AnyConnection,
    ctx: &Ctx,
    resource: Entity,
    key: &str,
) -> Result<(String, i64), OpError> {
    Ok(match resource {
        Entity::Domains => {
            // Through ops first, so a scoped user learns nothing about a
            // domain it cannot see.
            let d = ops::domains::get(c, ctx, key)?;
            let mb = store::domains::mailbox_count(c, d.id)?;
            let al = store::domains::alias_count(c, d.id)?;
            let ad = store::alias_domains::count_for_target(c, d.id)?;
            let n = 1 + mb + al + ad;
            (
                format!(
                    "Delete domain {} with its {}, {} and {}? {} will be deleted.",
                    crate::sanitize::for_terminal(&d.name),
                    counted(mb, "mailbox", "mailboxes"),
                    counted(al, "alias", "aliases"),
                    counted(ad, "alias domain", "alias domains"),
                    counted(n, "row", "rows"),
                ),
                n,
            )
        }
        Entity::Users => (
            format!(
                "Delete user {} (marked deleted; its grants are removed)? 1 row will change.",
                crate::sanitize::for_terminal(key)
            ),
            1,
        ),
        Entity::Permissions => (
            format!(
                "Revoke permission {}? 1 row will be deleted.",
                crate::sanitize::for_terminal(key)
            ),
            1,
        ),
        other => (
            format!(
                "Delete {} {}? 1 row will be deleted.",
                other.noun(),
                crate::sanitize::for_terminal(key)
            ),
            1,
        ),
    })
}

fn config_text(
    c: &mut AnyConnection,
    ctx: &Ctx,
    id: i32,
    mode: TextMode,
) -> Result<Response, OpError> {
    use crate::mail::configs::unified_diff;
    let row = ops::mail_configs::get(c, ctx, id)?;
    let label = format!("{} version {}", row.config_file, row.version);
    let (title, body) = match mode {
        TextMode::Content | TextMode::ForEdit => (label, row.config_data.clone()),
        TextMode::DiffDisk => {
            let disk = std::fs::read_to_string(&row.config_file).unwrap_or_default();
            let d = unified_diff(
                &format!("{} (on disk)", row.config_file),
                &disk,
                &label,
                &row.config_data,
            );
            (format!("{label} against the file on disk"), d)
        }
        TextMode::DiffPrevious => {
            let versions = ops::mail_configs::list(
                c,
                ctx,
                Some(&row.service_name),
                Some(&row.config_file),
                1000,
            )?;
            let prev = versions
                .iter()
                .filter(|v| v.version < row.version)
                .max_by_key(|v| v.version)
                .ok_or_else(|| {
                    OpError::invalid("version", format!("{label} is the first version"))
                })?;
            let d = unified_diff(
                &format!("{} version {}", prev.config_file, prev.version),
                &prev.config_data,
                &label,
                &row.config_data,
            );
            (format!("{label} against version {}", prev.version), d)
        }
    };
    Ok(Response::Text {
        id,
        mode,
        title,
        body: if body.is_empty() && mode != TextMode::ForEdit {
            "(no differences)".into()
        } else {
            body
        },
    })
}

fn write(c: &mut AnyConnection, ctx: &Ctx, w: Write) -> Result<String, OpError> {
    Ok(match w {
        Write::Backup { .. }
        | Write::Maintain { .. }
        | Write::ImportConfig { .. }
        | Write::EditConfig { .. }
        | Write::ApplyConfig { .. }
        | Write::RollbackConfig { .. }
        | Write::CreateLdap { .. }
        | Write::EditLdap { .. }
        | Write::DeleteLdap { .. }
        | Write::TestLdap { .. }
        | Write::ImportCsv { .. }
        | Write::ExportCsv { .. } => {
            // The runner answers these itself (they need its URL, key file,
            // mail settings or progress channel); reaching here is a bug.
            return Err(OpError::Denied(
                "this write runs on the worker's writer thread".into(),
            ));
        }
        Write::SetOwnPassword { password } => {
            ops::users::set_password(c, ctx, &ctx.username, &password)?;
            "password changed".to_string()
        }
        Write::SetPreferences { version, edit } => {
            let p = ops::preferences::set(c, ctx, version, &edit)?;
            format!(
                "preferences saved: theme {}, time zone {}",
                p.theme, p.timezone
            )
        }
        Write::Bulk {
            resource,
            keys,
            action,
        } => format!(
            "done: {}",
            bulk_run(c, ctx, resource, &keys, &action, true)?.summary
        ),
        Write::EditRows { table, changes } => format!(
            "done: {}",
            ops::import::edit_rows(c, ctx, table, &changes)?.summary
        ),
        Write::CreateDomain { name, input } => {
            format!(
                "created domain {}",
                ops::domains::create(c, ctx, &name, &input)?.name
            )
        }
        Write::EditDomain {
            name,
            version,
            input,
        } => format!(
            "saved domain {}",
            ops::domains::edit(c, ctx, &name, Some(version), &input)?.name
        ),
        Write::DeleteDomain { name, cascade } => {
            let s = ops::domains::delete(c, ctx, &name, cascade)?;
            format!(
                "deleted domain {} ({} mailboxes, {} aliases, {} alias domains)",
                s.domain, s.mailboxes, s.aliases, s.alias_domains
            )
        }
        Write::CreateMailbox(new) => format!(
            "created mailbox {}",
            ops::mailboxes::create(c, ctx, &new)?.username
        ),
        Write::EditMailbox {
            address,
            version,
            edit,
            password,
        } => {
            let m = ops::mailboxes::edit(c, ctx, &address, Some(version), &edit)?;
            if let Some(pw) = password {
                ops::mailboxes::set_password(c, ctx, &m.username, &pw)?;
                format!("saved mailbox {} and its new password", m.username)
            } else {
                format!("saved mailbox {}", m.username)
            }
        }
        Write::DeleteMailbox { address } => format!(
            "deleted mailbox {}",
            ops::mailboxes::delete(c, ctx, &address)?.username
        ),
        Write::CreateAlias {
            address,
            goto,
            description,
        } => format!(
            "created alias {}",
            ops::aliases::create(c, ctx, &address, &goto, description.as_deref())?.address
        ),
        Write::EditAlias {
            address,
            version,
            edit,
        } => format!(
            "saved alias {}",
            ops::aliases::edit(c, ctx, &address, Some(version), &edit)?.address
        ),
        Write::DeleteAlias { address } => format!(
            "deleted alias {}",
            ops::aliases::delete(c, ctx, &address)?.address
        ),
        Write::CreateAliasDomain { name, target } => {
            let v = ops::alias_domains::create(c, ctx, &name, &target)?;
            format!("created alias domain {} -> {}", v.row.name, v.target)
        }
        Write::RetargetAliasDomain {
            name,
            version,
            target,
        } => {
            let v = ops::alias_domains::retarget(c, ctx, &name, Some(version), &target)?;
            format!("alias domain {} now points at {}", v.row.name, v.target)
        }
        Write::DeleteAliasDomain { name } => format!(
            "deleted alias domain {}",
            ops::alias_domains::delete(c, ctx, &name)?.row.name
        ),
        Write::CreateUser(new) => format!(
            "created user {}",
            ops::users::create(c, ctx, &new)?.username
        ),
        Write::EditUser {
            username,
            version,
            edit,
            password,
        } => {
            let u = ops::users::edit(c, ctx, &username, Some(version), &edit)?;
            if let Some(pw) = password {
                ops::users::set_password(c, ctx, &u.username, &pw)?;
                format!("saved user {} and its new password", u.username)
            } else {
                format!("saved user {}", u.username)
            }
        }
        Write::DeleteUser { username } => format!(
            "deleted user {}",
            ops::users::delete(c, ctx, &username)?.username
        ),
        Write::Grant {
            username,
            domain,
            perms,
        } => {
            let g = ops::permissions::grant(c, ctx, &username, &domain, &perms)?;
            format!("granted {} on {}", g.username, g.domain)
        }
        Write::Revoke { username, domain } => {
            let g = ops::permissions::revoke(c, ctx, &username, &domain)?;
            format!("revoked {} on {}", g.username, g.domain)
        }
        Write::SetStatus {
            resource,
            key,
            status,
        } => {
            match resource {
                Entity::Domains => {
                    ops::domains::set_status(c, ctx, &key, status)?;
                }
                Entity::Mailboxes => {
                    ops::mailboxes::set_status(c, ctx, &key, status)?;
                }
                Entity::Aliases => {
                    ops::aliases::set_status(c, ctx, &key, status)?;
                }
                Entity::AliasDomains => {
                    ops::alias_domains::set_status(c, ctx, &key, status)?;
                }
                Entity::Users => {
                    ops::users::set_status(c, ctx, &key, status)?;
                }
                other => {
                    return Err(OpError::invalid(
                        "status",
                        format!("a {} has no status to change", other.noun()),
                    ))
                }
            }
            format!("{} {} is now {}", resource.noun(), key, status.as_str())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
