//! What comes back from $EDITOR: an edited mail config version, or the
//! marked rows' sheet, turned into the write it asks for (after a Yes).

use super::action::Action;
use super::app::{App, EditorJob, Modal};
use super::overlay;
use crate::worker::{Request, Slot};

impl App {
    /// The event loop's hand-off to $EDITOR: the job, if one is waiting.
    pub fn take_editor(&mut self) -> Option<EditorJob> {
        self.editor.take()
    }

    /// The edited sheet: bad lines are shown with their numbers and change
    /// nothing; otherwise the changes wait for a Yes.
    pub fn edited_rows(
        &mut self,
        sheet: crate::sheet::Sheet,
        result: Result<String, String>,
    ) -> bool {
        let text = match result {
            Ok(t) => t,
            Err(e) => {
                self.status = Some((e, true));
                return true;
            }
        };
        let changes = match sheet.diff(&text) {
            Ok(c) => c,
            Err(e) => {
                let e = e.to_string();
                self.status = Some((
                    "The edited file has bad lines; nothing changed. E reopens your text.".into(),
                    true,
                ));
                self.modal = Some(Modal::Text(overlay::TextView::wrapped(
                    "Nothing changed: fix these lines (E reopens your text)",
                    &e,
                )));
                self.draft = Some((Box::new(sheet), crate::sheet::with_errors(&text, &e)));
                return true;
            }
        };
        if changes.is_empty() {
            self.status = Some(("No changes; nothing was written.".into(), false));
            return true;
        }
        let n = changes.len();
        let noun = if n == 1 {
            sheet.table.noun()
        } else {
            sheet.table.plural()
        };
        let diff = crate::sheet::describe(&changes);
        self.apply(Action::AskConfirm {
            text: edit_summary(n, noun, &diff),
            write: crate::worker::Write::EditRows {
                table: sheet.table,
                changes,
            },
        });
        if let Some(Modal::Confirm(c)) = self.modal.as_mut() {
            c.rows = n as i64;
        }
        true
    }

    /// The editor's result: a changed text becomes a new (inactive) version.
    pub fn edited(&mut self, id: i32, original: &str, result: Result<String, String>) -> bool {
        match result {
            Ok(text) if text == original => {
                self.status = Some(("No change; nothing was stored.".into(), false));
            }
            Ok(data) => {
                self.status = Some(("Storing the edited version…".into(), false));
                self.send(
                    Slot::Action,
                    Request::Run(Box::new(crate::ops::command::EditConfig { id, data })),
                );
            }
            Err(e) => self.status = Some((e, true)),
        }
        true
    }
}

/// Lines of the change list the confirm dialog shows before "and N more".
const EDIT_LINES_SHOWN: usize = 10;

/// "Apply the edit: 3 mailboxes changed" and the first lines of what changes.
fn edit_summary(n: usize, noun: &str, diff: &str) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let mut s = format!(
        "Apply the edit: {} {noun} changed, in one transaction.\n",
        crate::ops::bulk::thousands(n),
    );
    for l in lines.iter().take(EDIT_LINES_SHOWN) {
        s.push_str(l);
        s.push('\n');
    }
    if lines.len() > EDIT_LINES_SHOWN {
        s.push_str(&format!(
            "… and {} more lines",
            crate::ops::bulk::thousands(lines.len() - EDIT_LINES_SHOWN)
        ));
    }
    s.trim_end().to_string()
}
