//! The login screen. Whatever went wrong with the name or password, the
//! answer is the same sentence (ops already makes it so and audits it).

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::form::window;
use super::theme::Theme;
use crate::error::ErrorKind;
use crate::worker::{Failure, Request};

pub const FAILED: &str = "Login failed: unknown user, wrong password, or account not active.";

#[derive(Debug, Default)]
pub struct LoginScreen {
    pub username: Input,
    pub password: Input,
    /// The second factor's code, asked for once the password was right.
    pub code: Input,
    /// The password was right and a code is wanted: only the code field
    /// takes keys (Esc goes back to the password).
    pub needs_code: bool,
    /// 0 = username, 1 = password.
    pub focus: usize,
    pub message: Option<String>,
    pub pending: bool,
}

pub enum LoginKey {
    Ignored,
    Redraw,
    Submit(Request),
}

impl LoginScreen {
    pub fn new(username: Option<&str>) -> LoginScreen {
        let name = username.unwrap_or("").to_string();
        LoginScreen {
            focus: usize::from(!name.is_empty()),
            username: Input::new(name),
            ..LoginScreen::default()
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> LoginKey {
        if self.pending {
            return LoginKey::Ignored;
        }
        if self.needs_code {
            return self.code_key(key);
        }
        match key.code {
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                self.focus = 1 - self.focus;
                LoginKey::Redraw
            }
            KeyCode::Enter if self.focus == 0 => {
                self.focus = 1;
                LoginKey::Redraw
            }
            KeyCode::Enter => {
                let username = self.username.value().trim().to_string();
                if username.is_empty() {
                    self.focus = 0;
                    self.message = Some("Type a user name.".into());
                    return LoginKey::Redraw;
                }
                self.pending = true;
                self.message = None;
                LoginKey::Submit(Request::Login {
                    username,
                    password: self.password.value().to_string(),
                    code: None,
                })
            }
            _ => {
                let input = if self.focus == 0 {
                    &mut self.username
                } else {
                    &mut self.password
                };
                match input.handle_event(&Event::Key(key)) {
                    Some(_) => LoginKey::Redraw,
                    None => LoginKey::Ignored,
                }
            }
        }
    }

    fn code_key(&mut self, key: KeyEvent) -> LoginKey {
        match key.code {
            KeyCode::Esc => {
                self.back_to_password(None);
                LoginKey::Redraw
            }
            KeyCode::Enter if self.code.value().trim().is_empty() => {
                self.message = Some("Type the code from your authenticator app.".into());
                LoginKey::Redraw
            }
            KeyCode::Enter => {
                self.pending = true;
                self.message = None;
                LoginKey::Submit(Request::Login {
                    username: self.username.value().trim().to_string(),
                    password: self.password.value().to_string(),
                    code: Some(self.code.value().trim().to_string()),
                })
            }
            _ => match self.code.handle_event(&Event::Key(key)) {
                Some(_) => LoginKey::Redraw,
                None => LoginKey::Ignored,
            },
        }
    }

    fn back_to_password(&mut self, message: Option<String>) {
        self.needs_code = false;
        self.code.reset();
        self.password.reset();
        self.focus = 1;
        self.message = message;
    }

    /// Pasted text into the focused field (a password manager's paste);
    /// one with a line break is refused, never submitted.
    pub fn paste(&mut self, text: &str) -> bool {
        if self.pending {
            return false;
        }
        let Some(text) = super::form::one_line(text) else {
            let field = if self.focus == 0 { "User" } else { "Password" };
            self.message = Some(format!(
                "Paste refused: {field} takes one line and the pasted text has a line break."
            ));
            return true;
        };
        let input = if self.needs_code {
            &mut self.code
        } else if self.focus == 0 {
            &mut self.username
        } else {
            &mut self.password
        };
        super::form::insert(input, &text);
        true
    }

    pub fn on_failure(&mut self, f: &Failure) {
        self.pending = false;
        if f.kind == ErrorKind::CodeRequired {
            // The password was right: keep it for the second request.
            self.needs_code = true;
            self.code.reset();
            self.message = None;
            return;
        }
        self.back_to_password(None);
        // Only a database problem and this session's own too-many-failures
        // wait get their own words; anything about the account itself is
        // the one generic sentence.
        self.message = Some(
            if matches!(
                f.kind,
                ErrorKind::Database | ErrorKind::Io | ErrorKind::Throttled
            ) {
                f.message.clone()
            } else {
                FAILED.to_string()
            },
        );
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        // 60 wide where there is room; down to a 40x12 terminal (a phone,
        // a split pane) the box shrinks with it and the message wraps.
        let rect = area.centered(
            Constraint::Length(area.width.min(60)),
            Constraint::Length(area.height.min(if self.needs_code { 11 } else { 9 })),
        );
        let block = Block::bordered().title(Span::styled(" Log in ", theme.title()));
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let input_w = usize::from(inner.width.saturating_sub(13)).clamp(1, 40);
        let field = |label: &str, shown: &str, input: &Input, focused: bool| {
            Line::from(vec![
                Span::styled(
                    format!("{label:>10}: "),
                    if focused {
                        theme.focus()
                    } else {
                        ratatui::style::Style::default()
                    },
                ),
                Span::styled(
                    window(shown, input.cursor(), input_w).0,
                    theme.input(focused),
                ),
            ])
        };
        let stars = "*".repeat(self.password.value().chars().count());
        let mut lines = vec![
            Line::default(),
            field(
                "User",
                self.username.value(),
                &self.username,
                self.focus == 0,
            ),
            Line::default(),
            field(
                "Password",
                &stars,
                &self.password,
                self.focus == 1 && !self.needs_code,
            ),
            Line::default(),
        ];
        if self.needs_code {
            lines.push(field("Code", self.code.value(), &self.code, true));
            lines.push(Line::default());
        }
        lines.push(match (&self.message, self.pending, self.needs_code) {
            (_, true, _) => Line::styled("Checking…", theme.dim()),
            (Some(m), _, _) => Line::styled(m.clone(), theme.error()),
            (None, _, true) => Line::styled(
                "The app's 6-digit code, or a recovery code · Esc back",
                theme.dim(),
            ),
            (None, _, false) => Line::styled("Enter to continue · Ctrl-C to quit", theme.dim()),
        });
        f.render_widget(
            Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
            inner,
        );
        if !self.pending && self.needs_code {
            let col = window(self.code.value(), self.code.cursor(), input_w).1;
            let x = inner.x + 12 + u16::try_from(col).unwrap_or(0);
            f.set_cursor_position((x, inner.y + 5));
        } else if !self.pending {
            let (shown, input, row) = if self.focus == 0 {
                (self.username.value(), &self.username, 1)
            } else {
                (stars.as_str(), &self.password, 3)
            };
            let col = window(shown, input.cursor(), input_w).1;
            let x = inner.x + 12 + u16::try_from(col).unwrap_or(0);
            f.set_cursor_position((x, inner.y + row));
        }
    }
}
