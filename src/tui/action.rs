//! What a screen asks the app to do after a key. Screens never send to the
//! worker themselves: the app tags each request with the screen's slot and
//! a new generation, which is what lets it drop stale replies.

use super::form::Form;
use crate::model::Entity;
use crate::worker::{Request, Write};

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
