//! What the UI sends the worker and what it gets back: jobs tagged with
//! their slot and generation, and replies on the same tag.

use crate::error::{ErrorKind, OpError};
use crate::model::Entity;
use crate::ops;
use crate::ops::command::{Command, Lane, Outcome};
use crate::store::{stats, Filter, Page};

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
    /// The `:totp` enrolment: its secret, then its confirmation.
    Totp,
    /// The dashboard's sending alert (issue 21): apart from `Dashboard`
    /// so neither check makes the other's answer stale.
    Alerts,
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
        /// The second factor's code, once the password alone was answered
        /// with `CodeRequired`.
        code: Option<String>,
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
    /// A change, run on the lane it declares; answered with `Done`.
    Run(Box<dyn Command>),
}

impl Request {
    /// The thread that runs this request.
    pub fn lane(&self) -> Lane {
        self.lane_with(&ops::dkim::Settings::default())
    }

    /// The lane on a host with these `[dkim]` settings (`Command::lane_with`).
    pub fn lane_with(&self, dkim: &ops::dkim::Settings) -> Lane {
        match self {
            // Logins write audit rows and count failures on the writer.
            Request::Login { .. } => Lane::Write,
            Request::Run(c) => c.lane_with(dkim),
            _ => Lane::Read,
        }
    }
}

/// What a table screen compares to know its rows changed: the dashboard's
/// change token and the newest audit id (`ops::quota::table_token`) for
/// domains, mailboxes and aliases; the newest visible audit id for the
/// audit log.
pub type LiveToken = (crate::store::quota::ChangeToken, i64);

/// Bulk actions on marked rows: `ops::bulk::Action`, shared with the CLI.
pub use crate::ops::bulk::Action as BulkAction;

/// What the mail-config text panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    Content,
    DiffDisk,
    DiffPrevious,
    /// The content, to open in $EDITOR.
    ForEdit,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub role: crate::model::Role,
    /// An admin required a new password: nothing else works until it is set.
    pub must_change_password: bool,
    /// `[security] require_totp` holds this user back until it enrols.
    pub must_enrol_totp: bool,
    pub preferences: ops::preferences::Preferences,
    /// The password policy's minimum, for the forms' own checks.
    pub min_password_length: usize,
    /// `[dkim] default_algorithm` and `default_bits`: what the DKIM form
    /// starts with (the worker has the config; the UI thread reads none).
    pub dkim_algorithm: crate::dkim::key::Algorithm,
    pub dkim_bits: u32,
}

pub use crate::listing::Listing;

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
    /// A command succeeded; its outcome says what it did.
    Done(Outcome),
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

impl Response {
    /// The variant's name, for saying which reply arrived where it was not
    /// expected.
    pub fn kind(&self) -> &'static str {
        match self {
            Response::Session(_) => "session",
            Response::Stats(..) => "stats",
            Response::Quota(_) => "quota",
            Response::History(_) => "history",
            Response::Text { .. } => "text",
            Response::Rows(_) => "rows",
            Response::Live(..) => "live rows",
            Response::Unchanged => "unchanged",
            Response::Tail(_) => "tail",
            Response::Impact(..) => "impact",
            Response::Done(_) => "done",
            Response::Keys { .. } => "keys",
            Response::Progress(_) => "progress",
            Response::Sheet(_) => "sheet",
        }
    }
}

/// An `OpError` as the UI needs it: plain data, safe to send across threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    /// The input at fault, if one is, and what to say beside it (without
    /// the field's name, which the whole `message` starts with).
    pub field: Option<(String, String)>,
    pub message: String,
}

impl Failure {
    pub(super) fn internal(message: impl Into<String>) -> Failure {
        Failure {
            kind: ErrorKind::Internal,
            field: None,
            message: message.into(),
        }
    }
}

impl From<OpError> for Failure {
    fn from(e: OpError) -> Self {
        // Line breaks kept: a refusal may list many bad lines, which the
        // TUI shows in a scrollable panel.
        let clean = crate::sanitize::lines_for_terminal;
        let field = match &e {
            OpError::Invalid { field, message } | OpError::Duplicate { field, message } => {
                Some((field.clone(), clean(message)))
            }
            OpError::NotFound {
                field: Some(field), ..
            } => Some((field.clone(), clean(&e.to_string()))),
            _ => None,
        };
        Failure {
            kind: e.kind(),
            field,
            message: clean(&e.to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub tag: Tag,
    pub result: Result<Response, Failure>,
    /// Audit checkpoint warnings raised while this job ran (writing lanes
    /// only, sanitised): a write is saved, refused or fails and its
    /// checkpoint could not be written; the status line shows them
    /// whatever the result.
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_failure_keeps_the_field_and_its_own_message_apart() {
        let f = Failure::from(OpError::invalid("quota", "must be at least 1 MiB"));
        assert_eq!(
            f.field,
            Some(("quota".into(), "must be at least 1 MiB".into()))
        );
        assert_eq!(f.message, "quota: must be at least 1 MiB");
        let f = Failure::from(OpError::not_found_in("target", "domain", "x.example"));
        let beside = "domain \"x.example\" not found".to_string();
        assert_eq!(f.field, Some(("target".into(), beside.clone())));
        assert_eq!(f.message, beside);
        assert_eq!(Failure::from(OpError::Auth).field, None);
    }
}
