//! Keys on the modal on top (help, text, details, a dialog, a form, the
//! `:` line): each kind of modal has its own small handler here.

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::action::Action;
use super::app::{App, Modal};
use super::form::FormKey;
use super::forms;
use super::overlay::ConfirmKey;
use crate::worker::{Request, Slot, Write};

impl App {
    pub(super) fn modal_key(&mut self, key: KeyEvent) -> bool {
        match self.modal.as_mut() {
            None => false,
            Some(Modal::Help(scroll)) => {
                // Scrolling keys scroll a help taller than the screen; any
                // other key closes it.
                let page = self.size.1.saturating_sub(8).max(1);
                *scroll = match key.code {
                    KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::PageDown => scroll.saturating_add(page),
                    KeyCode::PageUp => scroll.saturating_sub(page),
                    _ => {
                        self.modal = None;
                        return true;
                    }
                };
                true
            }
            Some(Modal::Text(t)) => {
                let page = usize::from(self.size.1.saturating_sub(6));
                match t.handle_key(key, page) {
                    Some(true) => true,
                    Some(false) => {
                        self.modal = None;
                        true
                    }
                    None => false,
                }
            }
            Some(Modal::Detail(_)) => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                    self.modal = None;
                    return true;
                }
                false
            }
            Some(Modal::Confirm(_)) => self.confirm_key(key),
            Some(Modal::Form(_)) => self.form_key(key),
            Some(Modal::Command(_)) => self.command_key(key),
            Some(Modal::Totp(t)) => match t.handle_key(key) {
                super::totp::TotpKey::Ignored => false,
                super::totp::TotpKey::Redraw => true,
                super::totp::TotpKey::Close => {
                    // Drops the secret and the recovery codes with it.
                    self.modal = None;
                    self.refresh_top();
                    true
                }
                super::totp::TotpKey::Confirm(c) => {
                    self.send(Slot::Totp, Request::Run(c));
                    true
                }
            },
        }
    }

    fn confirm_key(&mut self, key: KeyEvent) -> bool {
        let Some(Modal::Confirm(c)) = self.modal.as_mut() else {
            return false;
        };
        match c.handle_key(key) {
            ConfirmKey::Ignored => false,
            ConfirmKey::Redraw => true,
            ConfirmKey::Cancel => {
                let said = if c.is_delete() {
                    "Nothing deleted."
                } else {
                    "Nothing changed."
                };
                self.modal = None;
                // A late impact count for a closed dialog is dropped.
                self.inflight.remove(&Slot::Impact);
                self.status = Some((said.into(), false));
                true
            }
            ConfirmKey::Confirm(w) => {
                let deleting = c.is_delete();
                self.modal = None;
                // The marks go once the bulk write has succeeded; a
                // refused one leaves them for another try.
                self.bulk_writing = matches!(w, Write::Bulk { .. });
                let working = if deleting {
                    "Deleting…"
                } else {
                    "Working…"
                };
                self.status = Some((working.into(), false));
                self.send(Slot::Action, Request::Run(w.into_command()));
                true
            }
        }
    }

    fn form_key(&mut self, key: KeyEvent) -> bool {
        let Some(Modal::Form(f)) = self.modal.as_mut() else {
            return false;
        };
        match f.handle_key(key) {
            FormKey::Ignored => false,
            FormKey::Changed => true,
            FormKey::Cancel => {
                if f.kind == (forms::FormKind::OwnPassword { required: true }) {
                    self.status = Some((
                        "A new password is required before anything else (Ctrl-C quits).".into(),
                        true,
                    ));
                    return true;
                }
                self.modal = None;
                self.status = Some(("Cancelled; nothing was saved.".into(), false));
                true
            }
            FormKey::Submit => self.submit_form(),
        }
    }

    /// Enter on a form: its write, or its problems beside their fields.
    fn submit_form(&mut self) -> bool {
        let transfer_running = self.inflight.contains_key(&Slot::Transfer);
        let min_password = self.session.as_ref().map(|s| s.min_password_length);
        let Some(Modal::Form(f)) = self.modal.as_mut() else {
            return false;
        };
        f.min_password = min_password;
        match forms::build(f) {
            // A bulk form only collects the value: the preview dialog
            // (default No) is what asks before writing.
            Ok(Write::Bulk {
                resource,
                keys,
                action,
            }) => {
                self.modal = None;
                return self.apply(Action::bulk(resource, keys, action));
            }
            // Imports and exports run in the background with progress on
            // the status line; one at a time.
            Ok(w @ (Write::ImportCsv { .. } | Write::ExportCsv { .. })) => {
                if transfer_running {
                    f.set_errors(
                        &[],
                        Some("an import or export is still running; wait for it".into()),
                    );
                    return true;
                }
                self.modal = None;
                self.status = Some(("Starting…".into(), false));
                self.send(Slot::Transfer, Request::Run(w.into_command()));
                return true;
            }
            Ok(w) => {
                if let Some(warning) = forms::below_usage(f, &w) {
                    f.set_errors(&[("quota".into(), warning)], None);
                    return true;
                }
                f.pending = true;
                f.message = None;
                self.send(Slot::Form, Request::Run(w.into_command()));
            }
            Err(errors) => f.set_errors(&errors, None),
        }
        true
    }

    /// The `:` line: Tab completes, Enter runs, Esc cancels.
    fn command_key(&mut self, key: KeyEvent) -> bool {
        let Some(Modal::Command(input)) = self.modal.as_mut() else {
            return false;
        };
        match key.code {
            KeyCode::Esc => {
                self.modal = None;
                self.completing = None;
                true
            }
            KeyCode::Enter => {
                let word = input.value().trim().to_string();
                self.modal = None;
                self.completing = None;
                self.command(&word);
                true
            }
            KeyCode::Tab => {
                // The first Tab completes what was typed; each further
                // Tab moves to the next word with that same beginning.
                let typed = input.value().to_string();
                if typed.contains(' ') {
                    return false;
                }
                let (prefix, next) = match self.completing.take() {
                    Some((p, i)) => (p, i + 1),
                    None => (typed, 0),
                };
                let hits = super::commands::completions(&prefix);
                if hits.is_empty() {
                    self.status = Some((format!("nothing starts with {prefix:?}"), true));
                    return true;
                }
                let word = hits[next % hits.len()];
                *input = Input::new(word.to_string());
                self.status =
                    (hits.len() > 1).then(|| (format!("Tab: {}", hits.join(", ")), false));
                self.completing = Some((prefix, next % hits.len()));
                true
            }
            _ => {
                self.completing = None;
                input.handle_event(&Event::Key(key)).is_some()
            }
        }
    }
}
