//! What a screen asks the app to do after a key. Screens never send to the
//! worker themselves: the app tags each request with the screen's slot and
//! a new generation, which is what lets it drop stale replies.

use super::app::{App, EditorJob, Modal};
use super::form::Form;
use super::overlay::{Confirm, Detail};
use crate::model::Entity;
use crate::worker::{Request, Slot, Write};

#[derive(Debug)]
pub enum Action {
    /// The key meant nothing here.
    Ignored,
    /// State changed; redraw.
    Redraw,
    /// Send this read for the current screen (replacing its pending one).
    Fetch(Request),
    /// Open a table screen, optionally scoped to one domain (id, name).
    Open(Entity, Option<(i32, String)>),
    OpenForm(Form),
    /// Ask to delete: the app counts what goes with it, then confirms.
    AskDelete {
        resource: Entity,
        key: String,
        write: Write,
    },
    /// A bulk action on marked rows: the worker previews it ("suspend 1,284
    /// mailboxes in 3 domains"), the dialog confirms (default No).
    AskBulk {
        preview: Request,
        write: Write,
    },
    /// Load these rows and open them in $EDITOR.
    EditMarked(Entity, Vec<String>),
    /// Ask the worker for every key matching the filter, chunk by chunk,
    /// to mark them all.
    MarkAll(Entity, crate::store::Filter),
    /// A write that needs no confirmation (suspend/activate).
    Write(Write),
    /// Show these name/value pairs in a read-only panel.
    Detail(String, Vec<(String, String)>),
    /// A one-line message for the status bar.
    Status(String),
    /// A failure for the status bar (shown as one).
    Fail(String),
    /// Open the usage history panel of a domain or mailbox (by id).
    History(Entity, i32, String),
    /// Show (or, for `TextMode::ForEdit`, edit) a mail server config version.
    ConfigText(i32, crate::worker::TextMode),
    /// Ask before a write that is not a delete (apply, roll back): the
    /// dialog shows `text` and starts on No.
    AskConfirm {
        text: String,
        write: Write,
    },
    /// Run a read-only command and show its outcome in a scrollable
    /// panel: the outcome's first line is the title, the rest the text.
    View(Box<dyn crate::ops::command::Command>),
    /// Run a read-only command and open the form `open` builds from its
    /// outcome (a mailbox's vacation form on what is stored now).
    FormFrom(
        Box<dyn crate::ops::command::Command>,
        fn(&crate::ops::command::Outcome) -> Option<Form>,
    ),
}

impl Action {
    /// Preview then confirm `action` on these rows: the same request shapes
    /// from a key (suspend) and from a form (set quota).
    pub fn bulk(resource: Entity, keys: Vec<String>, action: crate::worker::BulkAction) -> Action {
        Action::AskBulk {
            preview: Request::BulkPreview {
                resource,
                keys: keys.clone(),
                action: action.clone(),
            },
            write: Write::Bulk {
                resource,
                keys,
                action,
            },
        }
    }
}

impl App {
    /// Do what a screen asked; whether to redraw.
    pub(super) fn apply(&mut self, action: Action) -> bool {
        match action {
            Action::Ignored => false,
            Action::Redraw => true,
            Action::Fetch(r) => {
                if let Some(slot) = self.top_slot() {
                    self.send(slot, r);
                }
                true
            }
            Action::Open(r, scope) => {
                self.open(r, scope);
                true
            }
            Action::OpenForm(mut f) => {
                if let super::forms::FormKind::Create(e) = f.kind {
                    if let Some(s) = &self.session {
                        super::spec::spec(e).session_defaults(&mut f, s);
                    }
                }
                self.modal = Some(Modal::Form(f));
                true
            }
            Action::AskDelete {
                resource,
                key,
                write,
            } => {
                self.modal = Some(Modal::Confirm(Box::new(Confirm::new(write))));
                self.send(Slot::Impact, Request::DeleteImpact { resource, key });
                true
            }
            Action::AskBulk { preview, write } => {
                self.modal = Some(Modal::Confirm(Box::new(Confirm::new(write))));
                self.send(Slot::Impact, preview);
                true
            }
            Action::EditMarked(table, keys) => self.edit_marked(table, keys),
            Action::MarkAll(resource, filter) => {
                self.status = Some(("Marking every matching row… (Esc stops)".into(), false));
                self.marking = Some((resource, filter.clone()));
                self.send(
                    Slot::Marks,
                    Request::MatchingKeys {
                        resource,
                        filter,
                        after: None,
                    },
                );
                true
            }
            Action::Write(w) => {
                self.status = Some(("Working…".into(), false));
                self.send(Slot::Action, Request::Run(w.into_command()));
                true
            }
            Action::Detail(title, fields) => {
                self.modal = Some(Modal::Detail(Detail { title, fields }));
                true
            }
            Action::Status(s) => {
                self.status = Some((s, false));
                true
            }
            Action::Fail(s) => {
                self.status = Some((s, true));
                true
            }
            Action::ConfigText(id, mode) => {
                self.status = Some(("Loading…".into(), false));
                self.send(Slot::Text, Request::ConfigText { id, mode });
                true
            }
            Action::AskConfirm { text, write } => {
                let mut c = Confirm::new(write);
                c.text = Some(text);
                c.rows = 1;
                self.modal = Some(Modal::Confirm(Box::new(c)));
                true
            }
            Action::View(command) => {
                self.status = Some(("Loading…".into(), false));
                self.form_from = None;
                self.send(Slot::Text, Request::Run(command));
                true
            }
            Action::FormFrom(command, open) => {
                self.status = Some(("Loading…".into(), false));
                self.form_from = Some(open);
                self.send(Slot::Text, Request::Run(command));
                true
            }
            Action::History(resource, id, title) => {
                self.modal = Some(Modal::Detail(Detail {
                    title,
                    fields: vec![("history".into(), "loading…".into())],
                }));
                self.send(
                    Slot::History,
                    Request::History {
                        mailbox: resource == Entity::Mailboxes,
                        id,
                    },
                );
                true
            }
        }
    }

    /// `E`: the marked rows in $EDITOR, reopening the admin's own text
    /// when the last edit of the same rows had bad lines.
    fn edit_marked(&mut self, table: Entity, keys: Vec<String>) -> bool {
        let same = |sheet: &crate::sheet::Sheet| {
            sheet.table == table && {
                let a: std::collections::BTreeSet<&str> = sheet.keys().collect();
                let b: std::collections::BTreeSet<&str> = keys.iter().map(String::as_str).collect();
                a == b
            }
        };
        if let Some((sheet, text)) = self.draft.take() {
            if same(&sheet) {
                self.status = None;
                self.editor = Some(EditorJob::Rows(sheet, Some(text)));
                return true;
            }
        }
        self.status = Some((format!("Loading the marked {}…", table.plural()), false));
        self.send(Slot::Text, Request::Sheet { table, keys });
        true
    }
}
