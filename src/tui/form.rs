//! The modal form: labelled tui-input fields, Tab/Shift-Tab between them,
//! Enter submits, Esc cancels. Messages from ops' validation sit under the
//! field they name; anything else goes at the bottom.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::{Input, InputRequest};

use super::forms::FormKind;
use super::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// Drawn as one `*` per character; never pre-filled.
    Secret,
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The name ops uses in `OpError::field()`.
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub input: Input,
    /// The value the form opened with: edits send only what changed.
    pub initial: String,
    pub hint: &'static str,
    pub error: Option<String>,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, value: &str, hint: &'static str) -> Field {
        Field {
            name,
            label,
            kind: FieldKind::Text,
            input: Input::new(value.to_string()),
            initial: value.to_string(),
            hint,
            error: None,
        }
    }

    pub fn secret(name: &'static str, label: &'static str, hint: &'static str) -> Field {
        Field {
            kind: FieldKind::Secret,
            ..Field::new(name, label, "", hint)
        }
    }

    /// For a pre-filled "@domain": the local part is typed in front of it.
    pub fn cursor_at_start(mut self) -> Field {
        self.input = self.input.with_cursor(0);
        self
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn changed(&self) -> bool {
        self.input.value() != self.initial
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    pub title: String,
    pub kind: FormKind,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// A message not tied to one field (a conflict, a refusal).
    pub message: Option<String>,
    /// Saving: waiting for the worker's answer.
    pub pending: bool,
    /// Bytes the edited row has in use (mailbox edits): a quota below it
    /// is saved only on a second Enter.
    pub used: Option<i64>,
    /// The quota below usage the admin was warned about (Enter again saves it).
    pub warned_quota: Option<i64>,
    /// The server's minimum password length (from the session), so a short
    /// password is marked with the other fields' problems.
    pub min_password: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    Ignored,
    Changed,
    Submit,
    Cancel,
}

impl Form {
    pub fn new(title: String, kind: FormKind, fields: Vec<Field>) -> Form {
        Form {
            title,
            kind,
            fields,
            focus: 0,
            message: None,
            pending: false,
            used: None,
            warned_quota: None,
            min_password: None,
        }
    }

    pub fn value(&self, name: &str) -> &str {
        self.field(name).map(Field::value).unwrap_or("")
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Pasted text into the focused field: Ok(changed), or Err(the
    /// field's label) when the text holds a line break (nothing inserted).
    pub fn paste(&mut self, text: &str) -> Result<bool, String> {
        if self.pending {
            return Ok(false);
        }
        let Some(f) = self.fields.get_mut(self.focus) else {
            return Ok(false);
        };
        let Some(text) = one_line(text) else {
            return Err(f.label.to_string());
        };
        insert(&mut f.input, &text);
        Ok(!text.is_empty())
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormKey {
        if self.pending {
            // One save at a time; Esc still closes (the save may land anyway,
            // and the screen refreshes either way).
            return if key.code == KeyCode::Esc {
                FormKey::Cancel
            } else {
                FormKey::Ignored
            };
        }
        let n = self.fields.len().max(1);
        match key.code {
            KeyCode::Esc => FormKey::Cancel,
            KeyCode::Enter => FormKey::Submit,
            KeyCode::Tab | KeyCode::Down => {
                self.focus = (self.focus + 1) % n;
                FormKey::Changed
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + n - 1) % n;
                FormKey::Changed
            }
            _ => {
                let Some(f) = self.fields.get_mut(self.focus) else {
                    return FormKey::Ignored;
                };
                if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
                    return FormKey::Ignored;
                }
                match f.input.handle_event(&Event::Key(key)) {
                    Some(_) => FormKey::Changed,
                    None => FormKey::Ignored,
                }
            }
        }
    }

    /// Put the worker's (or local parsing's) messages beside their fields.
    pub fn set_errors(&mut self, errors: &[(String, String)], general: Option<String>) {
        for f in &mut self.fields {
            f.error = None;
        }
        let mut rest = general;
        for (name, msg) in errors {
            match self.fields.iter().position(|f| f.name == name) {
                Some(i) => {
                    self.fields[i].error = Some(msg.clone());
                    self.focus = i;
                }
                None => rest = Some(format!("{name}: {msg}")),
            }
        }
        if let Some(first) = self.fields.iter().position(|f| f.error.is_some()) {
            self.focus = first;
        }
        self.message = rest;
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = 72.min(area.width);
        let input_w = width.saturating_sub(2 + 19);
        let errors: u16 = self
            .fields
            .iter()
            .filter_map(|f| f.error.as_deref())
            .map(|e| error_lines(e, input_w))
            .sum();
        let message_lines = match &self.message {
            Some(m) => (m.chars().count() as u16).div_ceil(width.saturating_sub(2).max(1)),
            None => 1,
        };
        // Fields, their messages, a blank line, the form's own message.
        let height = (self.fields.len() as u16 + errors + 3 + message_lines).min(area.height);
        let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
        f.render_widget(Clear, rect);
        let block = Block::bordered()
            .title(Span::styled(format!(" {} ", self.title), theme.title()))
            .title_bottom(Line::from(" Enter save · Tab next field · Esc cancel ").centered());
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let label_w = 18u16;
        let input_w = inner.width.saturating_sub(label_w + 1);
        let mut y = inner.y;
        for (i, field) in self.fields.iter().enumerate() {
            if y >= inner.bottom() {
                break;
            }
            let focused = i == self.focus;
            let label_style = if focused {
                theme.focus()
            } else {
                ratatui::style::Style::default()
            };
            f.render_widget(
                Paragraph::new(Span::styled(format!("{}:", field.label), label_style)),
                Rect::new(inner.x, y, label_w, 1),
            );
            let scroll = field.input.visual_scroll(input_w as usize);
            let shown: String = match field.kind {
                FieldKind::Secret => "*".repeat(field.value().chars().count()),
                FieldKind::Text => field.value().to_string(),
            };
            let visible: String = shown.chars().skip(scroll).collect();
            let text = if visible.is_empty() && !focused {
                Span::styled(field.hint, theme.dim())
            } else {
                Span::raw(visible)
            };
            let input_rect = Rect::new(inner.x + label_w + 1, y, input_w, 1);
            f.render_widget(
                Paragraph::new(Line::from(text)).style(theme.input(focused)),
                input_rect,
            );
            if focused && !self.pending {
                let cx = field.input.visual_cursor().saturating_sub(scroll) as u16;
                f.set_cursor_position(Position::new(
                    (input_rect.x + cx).min(input_rect.right().saturating_sub(1)),
                    y,
                ));
            }
            y += 1;
            if let Some(e) = &field.error {
                let h = error_lines(e, input_w).min(inner.bottom().saturating_sub(y));
                if h > 0 {
                    f.render_widget(
                        Paragraph::new(Span::styled(format!("↑ {e}"), theme.error()))
                            .wrap(Wrap { trim: true }),
                        Rect::new(inner.x + label_w + 1, y, input_w, h),
                    );
                    y += h;
                }
            }
        }
        let bottom = Rect::new(
            inner.x,
            y + 1,
            inner.width,
            inner.bottom().saturating_sub(y + 1),
        );
        let line = if self.pending {
            Line::styled("Saving…", theme.dim())
        } else if let Some(m) = &self.message {
            Line::styled(m.clone(), theme.error())
        } else {
            Line::default()
        };
        if bottom.height > 0 {
            f.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), bottom);
        }
    }
}

/// Pasted text for a one-line field: None when it holds a line break;
/// otherwise with tabs as spaces and other control characters dropped
/// (they would be invisible in the field and could reach the terminal).
pub fn one_line(text: &str) -> Option<String> {
    if text.contains(['\n', '\r']) {
        return None;
    }
    Some(
        text.chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect(),
    )
}

/// Insert at the cursor, as typing would.
pub fn insert(input: &mut Input, text: &str) {
    for c in text.chars() {
        input.handle(InputRequest::InsertChar(c));
    }
}

/// Lines a field's message takes when wrapped under the input (at most 3).
fn error_lines(e: &str, width: u16) -> u16 {
    let w = usize::from(width.max(1));
    let n = (e.chars().count() + 2).div_ceil(w);
    n.clamp(1, 3) as u16
}
