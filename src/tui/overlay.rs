//! Modals drawn over a screen: the delete confirmation (focus starts on
//! No), a read-only detail panel, and the `?` help.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::worker::Write;

#[derive(Debug)]
pub struct Confirm {
    /// None while the worker counts what the delete takes with it.
    pub text: Option<String>,
    pub rows: i64,
    pub yes: bool,
    pub write: Option<Write>,
    pub error: Option<String>,
    /// A bulk suspend/activate says so instead of "delete".
    verb: &'static str,
}

pub enum ConfirmKey {
    Ignored,
    Redraw,
    Cancel,
    Confirm(Write),
}

impl Confirm {
    pub fn new(write: Write) -> Confirm {
        let verb = match &write {
            Write::Bulk { action, .. } => action.verb(),
            Write::ApplyConfig { .. } | Write::EditRows { .. } => "apply",
            Write::RollbackConfig { .. } => "roll back",
            _ => "delete",
        };
        Confirm {
            verb,
            text: None,
            rows: 0,
            yes: false,
            write: Some(write),
            error: None,
        }
    }

    pub fn is_delete(&self) -> bool {
        self.verb == "delete"
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> ConfirmKey {
        match key.code {
            KeyCode::Esc | KeyCode::Char('n') | KeyCode::Char('q') => ConfirmKey::Cancel,
            KeyCode::Left
            | KeyCode::Right
            | KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Char('h')
            | KeyCode::Char('l') => {
                self.yes = !self.yes;
                ConfirmKey::Redraw
            }
            KeyCode::Enter if self.yes && self.text.is_some() => match self.write.take() {
                Some(w) => ConfirmKey::Confirm(w),
                None => ConfirmKey::Ignored,
            },
            KeyCode::Enter => ConfirmKey::Cancel,
            _ => ConfirmKey::Ignored,
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let width = 64.min(area.width);
        let inner_w = usize::from(width.saturating_sub(2)).max(1);
        let text: Vec<Line> = match (&self.error, &self.text) {
            (Some(e), _) => e
                .lines()
                .map(|l| Line::styled(l.to_string(), theme.error()))
                .collect(),
            (None, Some(t)) => t.lines().map(|l| Line::raw(l.to_string())).collect(),
            (None, None) => vec![Line::styled(
                "Working out which rows this changes…".to_string(),
                theme.dim(),
            )],
        };
        // Rows the text takes once wrapped (an edit's change list may wrap).
        let text_rows: usize = text
            .iter()
            .map(|l| l.width().max(1).div_ceil(inner_w))
            .sum();
        // Borders, a blank line, the buttons and their help: 5 rows that
        // are always drawn; the text gets what is left.
        let height = (text_rows as u16).saturating_add(5).max(6).min(area.height);
        let rect = area.centered(Constraint::Length(width), Constraint::Length(height));
        f.render_widget(Clear, rect);
        let block = Block::bordered().title(Span::styled(
            format!(
                " Confirm {} ",
                self.verb.trim_end_matches(" of").trim_end_matches(" on")
            ),
            theme.error(),
        ));
        let inner = block.inner(rect);
        f.render_widget(block, rect);
        let [text_area, _, buttons_area, help_area] = ratatui::layout::Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }), text_area);
        let button = |label: &str, on: bool| {
            if on {
                Span::styled(format!("[ {label} ]"), theme.selected())
            } else {
                Span::raw(format!("  {label}  "))
            }
        };
        f.render_widget(
            Paragraph::new(
                Line::from(vec![
                    button("No", !self.yes),
                    Span::raw("    "),
                    button(
                        &format!("Yes, {} {} row(s)", self.verb, self.rows),
                        self.yes,
                    ),
                ])
                .centered(),
            ),
            buttons_area,
        );
        f.render_widget(
            Paragraph::new(
                Line::styled("←/→ choose · Enter · Esc cancels", theme.dim()).centered(),
            ),
            help_area,
        );
    }
}

#[derive(Debug)]
pub struct Detail {
    pub title: String,
    pub fields: Vec<(String, String)>,
}

impl Detail {
    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let h = (self.fields.len() as u16 + 4).min(area.height);
        let rect = area.centered(
            Constraint::Length(76.min(area.width)),
            Constraint::Length(h),
        );
        f.render_widget(Clear, rect);
        let lines: Vec<Line> = self
            .fields
            .iter()
            .map(|(k, v)| {
                Line::from(vec![
                    Span::styled(format!("{k:>18}: "), theme.dim()),
                    Span::raw(v.clone()),
                ])
            })
            .collect();
        f.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(
                Block::bordered()
                    .title(Span::styled(format!(" {} ", self.title), theme.title()))
                    .title_bottom(Line::from(" Esc close ").centered()),
            ),
            rect,
        );
    }
}

pub const GLOBAL_KEYS: [(&str, &str); 7] = [
    (":", "go to a screen"),
    ("?", "this help"),
    ("t", "live audit tail"),
    ("Esc", "back / cancel"),
    ("q", "quit"),
    ("Ctrl-C", "quit, anywhere"),
    ("Tab", "next form field"),
];

/// Two columns (this screen's keys, then the global ones) so the whole
/// help fits an 80x24 terminal without scrolling.
pub fn draw_help(
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
    screen: &str,
    keys: &[(&'static str, &'static str)],
) {
    let key_line = |k: &str, what: &str| {
        vec![
            Span::styled(format!("{k:>10}  "), theme.key()),
            Span::raw(format!("{what:<24}")),
        ]
    };
    let rows = keys.len().max(GLOBAL_KEYS.len());
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("{:<36}", format!("On {screen}:")), theme.title()),
        Span::styled("Everywhere:", theme.title()),
    ])];
    for i in 0..rows {
        let mut spans = match keys.get(i) {
            Some((k, w)) => key_line(k, w),
            None => vec![Span::raw(" ".repeat(36))],
        };
        if let Some((k, w)) = GLOBAL_KEYS.get(i) {
            spans.extend(key_line(k, w));
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    let screens: Vec<&str> = std::iter::once("dashboard")
        .chain(
            super::resources::ALL
                .iter()
                .map(|r| super::resources::command(*r)),
        )
        .collect();
    lines.push(Line::from(vec![
        Span::styled("Screens for ':': ", theme.dim()),
        Span::raw(screens.join(" ")),
    ]));
    lines.push(Line::from(vec![
        Span::styled("Commands for ':': ", theme.dim()),
        Span::raw("import export backup maintain vacuum preferences password"),
    ]));
    let h = (lines.len() as u16 + 3).min(area.height);
    let rect = area.centered(
        Constraint::Length(78.min(area.width)),
        Constraint::Length(h),
    );
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(Span::styled(" Help ", theme.title()))
                .title_bottom(Line::from(" any key closes ").centered()),
        ),
        rect,
    );
}

/// A scrollable text: a config file or a diff. Lines are cleaned of control
/// characters once, when the text arrives.
pub struct TextView {
    pub title: String,
    pub lines: Vec<String>,
    pub scroll: usize,
}

/// Width error lists are wrapped to: the text panel on the smallest
/// terminal (80 columns) less its borders.
const WRAP: usize = 76;

impl TextView {
    /// A list of messages (bad lines), each wrapped to the panel with its
    /// continuation indented, so nothing is cut off at the right edge.
    pub fn wrapped(title: &str, body: &str) -> TextView {
        let mut t = TextView::new(title, body);
        t.lines = t
            .lines
            .iter()
            .flat_map(|l| {
                let chars: Vec<char> = l.chars().collect();
                let mut out = Vec::new();
                let mut rest: &[char] = &chars;
                let mut first = true;
                while first || !rest.is_empty() {
                    let room = if first { WRAP } else { WRAP - 4 };
                    let take = rest.len().min(room);
                    let piece: String = rest[..take].iter().collect();
                    out.push(if first { piece } else { format!("    {piece}") });
                    rest = &rest[take..];
                    first = false;
                }
                out
            })
            .collect();
        t
    }

    pub fn new(title: &str, body: &str) -> TextView {
        TextView {
            title: crate::sanitize::for_terminal(title),
            lines: body.lines().map(crate::sanitize::for_terminal).collect(),
            scroll: 0,
        }
    }

    /// Ok(false) = close; Ok(true) = redraw.
    pub fn handle_key(&mut self, key: KeyEvent, page: usize) -> Option<bool> {
        let last = self.lines.len().saturating_sub(1);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return Some(false),
            KeyCode::Char('j') | KeyCode::Down => self.scroll = (self.scroll + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll = (self.scroll + page).min(last),
            KeyCode::PageUp => self.scroll = self.scroll.saturating_sub(page),
            KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
            KeyCode::Char('G') | KeyCode::End => self.scroll = last,
            _ => return None,
        }
        Some(true)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        f.render_widget(Clear, area);
        let height = area.height.saturating_sub(2) as usize;
        let lines: Vec<Line> = self
            .lines
            .iter()
            .skip(self.scroll)
            .take(height)
            .map(|l| {
                let style = if l.starts_with('+') && !l.starts_with("+++") {
                    theme.ok()
                } else if l.starts_with('-') && !l.starts_with("---") {
                    theme.error()
                } else {
                    ratatui::style::Style::default()
                };
                Line::styled(l.clone(), style)
            })
            .collect();
        let title = format!(
            " {} · {}-{} of {} · j/k PgUp/PgDn scroll · Esc closes ",
            self.title,
            (self.scroll + 1).min(self.lines.len()),
            (self.scroll + height).min(self.lines.len()),
            self.lines.len()
        );
        let block = Block::default().borders(Borders::ALL).title(title);
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
