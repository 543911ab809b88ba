//! The modal form: labelled tui-input fields, Tab/Shift-Tab between them,
//! Enter submits, Esc cancels. Messages from ops' validation sit under the
//! field they name; anything else goes at the bottom.
//!
//! One look for what is not a value: an empty field shows its placeholder
//! dim and italic, gone at the first typed character. A placeholder is only
//! a hint unless the field has a `default`, which it then names
//! ("unlimited (default)") and which is what an empty field sends. Fields with a
//! fixed set of values are pickers (`‹ admin ›`), never free text.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::{Input, InputRequest};
use unicode_width::UnicodeWidthChar;

use super::forms::FormKind;
use super::spec::FieldId;
use super::theme::Theme;
use crate::num::u16_from;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    /// Drawn as one `*` per character; never pre-filled.
    Secret,
    /// One of a fixed set: Left/Right/Space cycle, typed letters pick the
    /// option they spell. The value is the option's text.
    Choice(&'static [&'static str]),
}

#[derive(Debug, Clone)]
pub struct Field {
    /// The name ops uses in `OpError::field()` (from the field's id).
    pub name: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
    pub input: Input,
    /// The value the form opened with: edits send only what changed.
    pub initial: String,
    pub hint: &'static str,
    /// What an empty field means and sends (shown as "X (default)").
    pub default: Option<String>,
    pub error: Option<String>,
    /// After a conflict: the other writer's value, where it differs from
    /// what is typed here (drawn as "now: …" under the field).
    pub theirs: Option<String>,
    /// Letters typed into a picker since it was focused or moved.
    typed: String,
}

impl Field {
    pub fn new(id: impl FieldId, label: &'static str, value: &str, hint: &'static str) -> Field {
        Field {
            name: id.name(),
            label,
            kind: FieldKind::Text,
            input: Input::new(value.to_string()),
            initial: value.to_string(),
            hint,
            default: None,
            error: None,
            theirs: None,
            typed: String::new(),
        }
    }

    /// A picker of `options`, at `value`.
    pub fn choice(
        id: impl FieldId,
        label: &'static str,
        value: &str,
        options: &'static [&'static str],
    ) -> Field {
        Field {
            kind: FieldKind::Choice(options),
            ..Field::new(id, label, value, "")
        }
    }

    /// An empty field stands for `default` (and sends it).
    pub fn with_default(mut self, default: &str) -> Field {
        self.default = Some(default.to_string());
        self
    }

    /// What an empty field shows in `width` columns: the default it sends,
    /// then the hint. A default too long to fit keeps its end (a file
    /// name) and "(default)": `…mailboxes-20261202.csv (default)`.
    pub fn placeholder(&self, width: usize) -> String {
        const MARK: &str = " (default)";
        let Some(d) = &self.default else {
            return self.hint.to_string();
        };
        let n = d.chars().count();
        if n + MARK.len() > width && width > MARK.len() + 1 {
            let keep = width - MARK.len() - 1;
            let tail: String = d.chars().skip(n.saturating_sub(keep)).collect();
            return format!("…{tail}{MARK}");
        }
        match self.hint {
            "" => format!("{d}{MARK}"),
            h => format!("{d}{MARK}; {h}"),
        }
    }

    /// Move a picker by `step` options (wrapping); an unknown value goes
    /// to the first option.
    fn cycle(&mut self, options: &[&str], step: isize) {
        let n = options.len() as isize;
        if n == 0 {
            return;
        }
        let next = match options.iter().position(|o| *o == self.value()) {
            Some(i) => (i as isize + step).rem_euclid(n) as usize,
            None => 0,
        };
        self.set(options[next]);
        self.typed.clear();
    }

    /// Type-ahead: the option spelled so far (exactly, else by prefix);
    /// a letter that spells nothing starts again from itself and steps to
    /// the next option starting with it.
    fn pick(&mut self, options: &[&str], c: char) -> bool {
        let c = c.to_ascii_lowercase();
        let mut typed = format!("{}{c}", self.typed);
        let found = |t: &str| {
            options
                .iter()
                .position(|o| *o == t)
                .or_else(|| options.iter().position(|o| o.starts_with(t)))
        };
        let hit = match found(&typed) {
            Some(i) => Some(i),
            None => {
                typed = c.to_string();
                let here = options.iter().position(|o| *o == self.value());
                let start = here.map_or(0, |i| i + 1);
                (0..options.len())
                    .map(|k| (start + k) % options.len())
                    .find(|&i| options[i].starts_with(c))
            }
        };
        match hit {
            Some(i) => {
                self.set(options[i]);
                self.typed = typed;
                true
            }
            None => false,
        }
    }

    fn set(&mut self, v: &str) {
        self.input = Input::new(v.to_string());
    }

    pub fn secret(id: impl FieldId, label: &'static str, hint: &'static str) -> Field {
        Field {
            kind: FieldKind::Secret,
            ..Field::new(id, label, "", hint)
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
    /// The configured RSA key size (from the session): the DKIM form's
    /// bits default when its algorithm picker is back on rsa.
    pub rsa_bits: Option<u32>,
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
            rsa_bits: None,
        }
    }

    /// What is typed into a field of this form ("" for a field it lacks:
    /// the field ids of a form are its spec's, so that is a form that
    /// leaves the field out on purpose, as an edit leaves out the key).
    pub fn value(&self, id: impl FieldId) -> &str {
        self.field(id).map(Field::value).unwrap_or("")
    }

    pub fn field(&self, id: impl FieldId) -> Option<&Field> {
        let name = id.name();
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_mut(&mut self, id: impl FieldId) -> Option<&mut Field> {
        let name = id.name();
        self.fields.iter_mut().find(|f| f.name == name)
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
        // A picker takes only one of its values, never free text.
        if let FieldKind::Choice(options) = f.kind {
            let Some(o) = options.iter().find(|o| **o == text.trim()) else {
                return Ok(false);
            };
            f.set(o);
            return Ok(true);
        }
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
                self.leave_pickers();
                FormKey::Changed
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + n - 1) % n;
                self.leave_pickers();
                FormKey::Changed
            }
            _ if self.on_picker() => {
                if self.picker_key(key) {
                    super::forms::follow_choices(self);
                    FormKey::Changed
                } else {
                    FormKey::Ignored
                }
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

    fn on_picker(&self) -> bool {
        self.fields
            .get(self.focus)
            .is_some_and(|f| matches!(f.kind, FieldKind::Choice(_)))
    }

    fn leave_pickers(&mut self) {
        for f in &mut self.fields {
            f.typed.clear();
        }
    }

    /// A key on a focused picker: true when it moved it. Other keys that
    /// would edit text do nothing there.
    fn picker_key(&mut self, key: KeyEvent) -> bool {
        let Some(f) = self.fields.get_mut(self.focus) else {
            return false;
        };
        let FieldKind::Choice(options) = f.kind else {
            return false;
        };
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            f.typed.clear();
            return false;
        }
        let before = f.value().to_string();
        match key.code {
            KeyCode::Left => f.cycle(options, -1),
            KeyCode::Right | KeyCode::Char(' ') => f.cycle(options, 1),
            KeyCode::Char(c) => {
                f.pick(options, c);
            }
            _ => {}
        }
        f.value() != before
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
            .sum::<u16>()
            + u16_from(self.fields.iter().filter(|f| f.theirs.is_some()).count());
        let message_lines = match &self.message {
            Some(m) => u16_from(m.chars().count()).div_ceil(width.saturating_sub(2).max(1)),
            None => 1,
        };
        // Fields, their messages, a blank line, the form's own message.
        let height = u16_from(self.fields.len())
            .saturating_add(errors)
            .saturating_add(3)
            .saturating_add(message_lines)
            .min(area.height);
        let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
        f.render_widget(Clear, rect);
        let keys = if self.on_picker() {
            " ←/→ choose · Enter save · Tab next field · Esc cancel "
        } else {
            " Enter save · Tab next field · Esc cancel "
        };
        let block = Block::bordered()
            .title(Span::styled(format!(" {} ", self.title), theme.title()))
            .title_bottom(Line::from(keys).centered());
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
            let input_rect = Rect::new(inner.x + label_w + 1, y, input_w, 1);
            if let FieldKind::Choice(options) = field.kind {
                f.render_widget(
                    Paragraph::new(picker_line(field.value(), options, input_w, focused, theme)),
                    input_rect,
                );
            } else {
                let shown: String = match field.kind {
                    FieldKind::Secret => "*".repeat(field.value().chars().count()),
                    _ => field.value().to_string(),
                };
                let (visible, cursor_col) =
                    window(&shown, field.input.cursor(), usize::from(input_w));
                let text = if field.value().is_empty() {
                    Span::styled(field.placeholder(input_w as usize), theme.placeholder())
                } else {
                    Span::raw(visible)
                };
                f.render_widget(
                    Paragraph::new(Line::from(text)).style(theme.input(focused)),
                    input_rect,
                );
                if focused && !self.pending {
                    let cx = u16::try_from(cursor_col).unwrap_or(0);
                    f.set_cursor_position(Position::new(
                        (input_rect.x + cx).min(input_rect.right().saturating_sub(1)),
                        y,
                    ));
                }
            }
            y += 1;
            if let Some(v) = &field.theirs {
                if y < inner.bottom() {
                    let shown = if v.is_empty() { "(empty)" } else { v.as_str() };
                    f.render_widget(
                        Paragraph::new(Span::styled(format!("now: {shown}"), theme.warn())),
                        Rect::new(inner.x + label_w + 1, y, input_w, 1),
                    );
                    y += 1;
                }
            }
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

/// What a one-line field of `width` columns shows of `shown` with the
/// cursor before its `cursor`th character, and the cursor's column in it.
/// Scrolled as tui-input's `visual_scroll` does (the login and Form fields),
/// keeping room for the cursor so at the end of a long entry it sits after
/// the last character instead of on it; measured in display
/// columns, so wide (CJK) characters neither overflow the field nor put the
/// cursor on the wrong character. Padded to exactly `width` columns.
pub fn window(shown: &str, cursor: usize, width: usize) -> (String, usize) {
    let w = |c: char| c.width().unwrap_or(0);
    let cursor_col: usize = shown.chars().take(cursor).map(w).sum();
    // The character under the cursor is shown whole (a wide one takes
    // two columns); at the end the cursor needs one empty column.
    let under = shown.chars().nth(cursor).map_or(1, |c| w(c).max(1));
    let target = (cursor_col + under).saturating_sub(width);
    let mut skipped = 0;
    let mut chars = shown.chars().peekable();
    while skipped < target {
        match chars.next() {
            Some(c) => skipped += w(c),
            None => break,
        }
    }
    let mut text = String::new();
    let mut used = 0;
    for c in chars {
        if used + w(c) > width {
            break;
        }
        used += w(c);
        text.push(c);
    }
    text.extend(std::iter::repeat_n(' ', width - used));
    (text, cursor_col - skipped)
}

/// Pasted text for a one-line field: None when it holds a line break;
/// otherwise with tabs as spaces and every other character the stored
/// data refuses dropped: control characters, and bidi controls, which are
/// invisible in the field and would reorder what the terminal shows after
/// them (a filter title or a login name that reads backwards).
pub fn one_line(text: &str) -> Option<String> {
    if text.contains(['\n', '\r']) {
        return None;
    }
    Some(
        text.chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !crate::validate::is_unsafe_char(*c))
            .collect(),
    )
}

/// Insert at the cursor, as typing would.
pub fn insert(input: &mut Input, text: &str) {
    for c in text.chars() {
        input.handle(InputRequest::InsertChar(c));
    }
}

/// A picker: every option in a row, the chosen one as `‹ admin ›` and the
/// others dim, each in the same width so choosing moves nothing; when they
/// do not fit, the chosen one and its place (`‹ domain › 4/7`).
fn picker_line(
    value: &str,
    options: &[&str],
    width: u16,
    focused: bool,
    theme: &Theme,
) -> Line<'static> {
    let chosen = theme.input(focused);
    let all: usize = options.iter().map(|o| o.chars().count() + 4).sum();
    if all <= usize::from(width) && options.contains(&value) {
        let spans: Vec<Span<'static>> = options
            .iter()
            .map(|o| {
                if *o == value {
                    Span::styled(format!("‹ {o} ›"), chosen)
                } else {
                    Span::styled(format!("  {o}  "), theme.dim())
                }
            })
            .collect();
        return Line::from(spans);
    }
    let place = options
        .iter()
        .position(|o| *o == value)
        .map(|i| format!(" {}/{}", i + 1, options.len()))
        .unwrap_or_default();
    Line::from(vec![
        Span::styled(format!("‹ {value} ›"), chosen),
        Span::styled(place, theme.dim()),
    ])
}

/// Lines a field's message takes when wrapped under the input (at most 3).
fn error_lines(e: &str, width: u16) -> u16 {
    let w = usize::from(width.max(1));
    let n = (e.chars().count() + 2).div_ceil(w);
    u16_from(n.clamp(1, 3))
}
