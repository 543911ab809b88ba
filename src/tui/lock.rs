//! The idle lock: after `security.idle_lock_minutes` without a key the
//! whole screen is covered and the password is asked again. Whatever sits
//! underneath (an open form with its typed text) is left as it was.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::theme::Theme;

pub const DEFAULT_AFTER_SECS: u64 = 15 * 60;

pub struct LockScreen {
    password: Input,
    /// The password just accepted, kept while the second factor's code is
    /// asked for (the unlock is a full login, code included).
    code_for: Option<String>,
    error: Option<String>,
    pending: bool,
    after_secs: u64,
}

impl LockScreen {
    pub fn new(after_secs: u64) -> LockScreen {
        LockScreen {
            password: Input::default(),
            code_for: None,
            error: None,
            pending: false,
            after_secs,
        }
    }

    /// A key while locked; returns the password (and, once asked for, the
    /// one-time code) when Enter submits it.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<(String, Option<String>)> {
        if self.pending {
            return None;
        }
        match key.code {
            KeyCode::Enter if !self.password.value().is_empty() => {
                self.pending = true;
                self.error = None;
                let typed = self.password.value().to_string();
                self.password.reset();
                Some(match self.code_for.take() {
                    Some(pw) => (pw, Some(typed)),
                    None => {
                        self.code_for = Some(typed.clone());
                        (typed, None)
                    }
                })
            }
            KeyCode::Esc => {
                self.password.reset();
                self.code_for = None;
                None
            }
            _ => {
                self.password.handle_event(&Event::Key(key));
                None
            }
        }
    }

    /// A pasted password; one with a line break is refused, not submitted.
    pub fn paste(&mut self, text: &str) -> bool {
        if self.pending {
            return false;
        }
        match super::form::one_line(text) {
            Some(t) => super::form::insert(&mut self.password, &t),
            None => self.error = Some(
                "Paste refused: the password takes one line and the pasted text has a line break."
                    .into(),
            ),
        }
        true
    }

    pub fn on_failure(&mut self, message: &str) {
        self.pending = false;
        self.code_for = None;
        self.error = Some(crate::sanitize::for_terminal(message));
    }

    /// The password was right and a second factor is on: the next line
    /// typed is the code (the password is kept for the second try).
    pub fn on_code_required(&mut self) {
        self.pending = false;
        self.error = None;
    }

    fn asking_code(&self) -> bool {
        self.code_for.is_some() && !self.pending
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, username: &str, theme: &Theme) {
        // Cover everything: a locked screen shows no data.
        f.render_widget(Clear, area);
        let w = area.width.min(60);
        // Room for a wrapped message (a failure, the wait after too many).
        let h = area.height.min(9);
        let x = area.x + (area.width.saturating_sub(w)) / 2;
        let y = area.y + (area.height.saturating_sub(h)) / 2;
        let r = Rect::new(x, y, w, h);
        let masked = "*".repeat(self.password.value().chars().count());
        let mut lines = vec![
            Line::raw(format!(
                "Locked after {} min without a key.",
                self.after_secs / 60
            )),
            Line::raw(""),
            Line::styled(
                if self.asking_code() {
                    format!("One-time code: {}", self.password.value())
                } else {
                    format!(
                        "Password for {}: {masked}",
                        crate::sanitize::for_terminal(username)
                    )
                },
                theme.input(true),
            ),
        ];
        if self.pending {
            lines.push(Line::styled("Checking…", theme.dim()));
        } else if let Some(e) = &self.error {
            lines.push(Line::styled(e.clone(), theme.error()));
        } else {
            lines.push(Line::styled("Enter unlocks · Ctrl-C quits", theme.dim()));
        }
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" postfix-manager ");
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(ratatui::widgets::Wrap { trim: false }),
            r,
        );
    }
}
