//! Input to the app: keys and pastes. Ctrl-C and Ctrl-Z work everywhere;
//! then the lock, the login, a modal, the global keys of the key table,
//! and last the screen on top, which answers with an `Action`.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use tui_input::Input;

use super::action::Action;
use super::app::{App, Modal, Screen};
use super::keys::{self, Cmd};
use super::login::LoginKey;
use super::overlay;
use crate::worker::{Request, Slot};

impl App {
    pub fn on_event(&mut self, ev: Event) -> bool {
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            Event::Resize(w, h) => self.on_resize(w, h),
            Event::Paste(text) => self.on_paste(&text),
            _ => false,
        }
    }

    /// Bracketed paste: the text goes into the field being typed in, as if
    /// typed, except that a line break is never Enter. Every field is one
    /// line, so a paste holding one is refused whole, saying which field.
    /// Outside a field a paste does nothing.
    fn on_paste(&mut self, text: &str) -> bool {
        self.idle = 0;
        let refused = |field: &str| {
            format!(
                "Paste refused: {field} takes one line and the pasted text has a line break; nothing was inserted."
            )
        };
        if let Some(lock) = self.lock.as_mut() {
            return lock.paste(text);
        }
        if self.too_small() {
            return false;
        }
        if self.session.is_none() {
            return self.login.paste(text);
        }
        match self.modal.as_mut() {
            Some(Modal::Totp(t)) => t.paste(text),
            Some(Modal::Form(f)) => match f.paste(text) {
                Ok(changed) => changed,
                Err(label) => {
                    self.status = Some((refused(&label), true));
                    true
                }
            },
            Some(Modal::Command(input)) => match super::form::one_line(text) {
                Some(t) => {
                    self.completing = None;
                    super::form::insert(input, &t);
                    true
                }
                None => {
                    self.status = Some((refused("the : line"), true));
                    true
                }
            },
            Some(_) => false,
            None => match self.stack.last_mut() {
                Some(Screen::Table(t)) if t.captures_input() => match t.paste(text) {
                    Some(action) => self.apply(action),
                    None => {
                        self.status = Some((refused("the filter"), true));
                        true
                    }
                },
                _ => false,
            },
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> bool {
        if keys::binding(Cmd::QuitNow).matches(&key) {
            self.quit = true;
            return true;
        }
        if keys::binding(Cmd::Stop).matches(&key) {
            // Anywhere, even locked: what shows is the admin's own shell.
            self.suspend = true;
            return false;
        }
        self.idle = 0;
        if let Some(lock) = self.lock.as_mut() {
            let username = self
                .session
                .as_ref()
                .map(|s| s.username.clone())
                .unwrap_or_default();
            if let Some((password, code)) = lock.on_key(key) {
                // Unlocking is logging in again as the same user: checked,
                // counted and audited like any login, code included.
                self.send(
                    Slot::Login,
                    Request::Login {
                        username,
                        password,
                        code,
                    },
                );
            }
            return true;
        }
        if self.too_small() {
            if key.code == KeyCode::Char('q') {
                self.quit = true;
            }
            return false;
        }
        if self.session.is_none() {
            return match self.login.handle_key(key) {
                LoginKey::Ignored => false,
                LoginKey::Redraw => true,
                LoginKey::Submit(r) => {
                    self.send(Slot::Login, r);
                    true
                }
            };
        }
        if self.modal.is_some() {
            return self.modal_key(key);
        }
        if self.marking.is_some() && matches!(key.code, KeyCode::Esc | KeyCode::Char('u')) {
            self.stop_marking();
            if key.code == KeyCode::Esc {
                return true;
            }
        }
        let captures = matches!(self.stack.last(), Some(Screen::Table(t)) if t.captures_input());
        // Command keys follow `[keys]`; text being typed is never translated.
        let key = if captures {
            key
        } else {
            self.keymap.translate(key)
        };
        if !captures {
            // The global rows of the key table: the same rows `?` and the
            // footer list under "Everywhere".
            let global = |c| keys::binding(c).group == keys::Group::Global;
            if let Some(redraw) = keys::lookup(&key, global).and_then(|c| self.global_key(c)) {
                return redraw;
            }
        }
        let action = match self.stack.last_mut() {
            Some(Screen::Dashboard(d)) => d.handle_key(key),
            Some(Screen::Table(t)) => t.handle_key(key),
            None => Action::Ignored,
        };
        if !matches!(action, Action::Ignored) {
            self.status = None;
        }
        self.apply(action)
    }

    /// A key of the "Everywhere" group: Some(redraw?) when it was handled.
    fn global_key(&mut self, cmd: Cmd) -> Option<bool> {
        match cmd {
            Cmd::Command => self.modal = Some(Modal::Command(Input::default())),
            Cmd::Help => self.modal = Some(Modal::Help(0)),
            Cmd::Quit => self.quit = true,
            Cmd::Tail => {
                self.tail.visible = !self.tail.visible;
                if self.tail.visible && !self.waiting(Slot::Tail) {
                    let r = self.tail.poll();
                    self.send(Slot::Tail, r);
                }
                self.refit();
            }
            Cmd::Message => {
                let Some((text, _)) = &self.status else {
                    return Some(false);
                };
                self.modal = Some(Modal::Text(overlay::TextView::message("Message", text)));
            }
            Cmd::Back => {
                // A filter applied is the first thing Esc takes back, as
                // in k9s and lazygit; then the screen itself.
                if let Some(Screen::Table(t)) = self.stack.last_mut() {
                    if let Some(r) = t.clear_filter() {
                        self.status = None;
                        return Some(self.apply(Action::Fetch(r)));
                    }
                }
                if self.stack.len() <= 1 {
                    return Some(false);
                }
                self.stack.pop();
                self.refresh_top();
            }
            _ => return None,
        }
        Some(true)
    }
}
