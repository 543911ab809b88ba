//! Modals drawn over a screen: the delete confirmation (focus starts on
//! No), a read-only detail panel, and the `?` help.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::num::u16_from;
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
            Write::SetStatus { .. } => "suspend",
            Write::Command { verb, .. } => verb,
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
        let height = u16_from(text_rows)
            .saturating_add(5)
            .max(6)
            .min(area.height);
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
                        &format!("Yes, {} {}", self.verb, crate::plural::s(self.rows, "row")),
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
        let h = u16_from(self.fields.len())
            .saturating_add(4)
            .min(area.height);
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

/// Width of one help column: the key, two spaces, what it does.
const HELP_KEY: usize = 9;
const HELP_COL: usize = 36;

/// The `?` help: every key the screen offers, grouped by purpose (the
/// groups of the key table), flowed into as many columns as the width
/// holds; j/k scroll it when it is still taller than the screen.
pub fn draw_help(
    f: &mut Frame,
    area: Rect,
    theme: &Theme,
    screen: &str,
    keys: &[super::keys::Offer],
    scroll: u16,
) {
    use super::keys::Group;
    let mut groups: Vec<(Group, Vec<Line>)> = Vec::new();
    let mut sorted: Vec<&super::keys::Offer> = keys.iter().collect();
    sorted.sort_by_key(|o| o.group);
    for o in sorted {
        if groups.last().map(|(g, _)| *g) != Some(o.group) {
            let heading = Line::styled(o.group.heading().to_string(), theme.title());
            groups.push((o.group, vec![heading]));
        }
        let what: String = o.what.chars().take(HELP_COL - HELP_KEY - 3).collect();
        if let Some((_, lines)) = groups.last_mut() {
            lines.push(Line::from(vec![
                Span::styled(format!("{:>w$}  ", o.label, w = HELP_KEY), theme.key()),
                Span::raw(format!("{what:<w$}", w = HELP_COL - HELP_KEY - 2)),
            ]));
        }
    }
    let width = 78.min(area.width);
    let columns = (usize::from(width.saturating_sub(2)) / HELP_COL).max(1);
    let total: usize = groups.iter().map(|(_, l)| l.len() + 1).sum();
    let tallest = groups.iter().map(|(_, l)| l.len()).max().unwrap_or(0);
    // Whole groups per column, as even as they go.
    let mut height = total.div_ceil(columns).max(tallest);
    let cols = loop {
        let mut cols: Vec<Vec<Line>> = vec![Vec::new()];
        for (_, lines) in &groups {
            let cur = cols.len() - 1;
            let len = cols[cur].len();
            if len > 0 && len + 1 + lines.len() > height {
                cols.push(Vec::new());
            } else if len > 0 {
                cols[cur].push(Line::default());
            }
            let cur = cols.len() - 1;
            cols[cur].extend(lines.iter().cloned());
        }
        if cols.len() <= columns {
            break cols;
        }
        height += 1;
    };
    let rows = cols.iter().map(Vec::len).max().unwrap_or(0);
    let mut lines = vec![Line::styled(format!("On {screen}:"), theme.title())];
    for i in 0..rows {
        let mut spans = Vec::new();
        for col in &cols {
            match col.get(i) {
                Some(l) => {
                    let w = l.width();
                    spans.extend(l.spans.iter().cloned());
                    spans.push(Span::raw(" ".repeat(HELP_COL.saturating_sub(w))));
                }
                None => spans.push(Span::raw(" ".repeat(HELP_COL))),
            }
        }
        lines.push(Line::from(spans));
    }
    lines.push(Line::default());
    let screens = super::commands::screen_words();
    lines.push(Line::from(vec![
        Span::styled("Screens for ':': ", theme.dim()),
        Span::raw(screens.join(" ")),
    ]));
    lines.push(Line::from(vec![
        Span::styled("Commands for ':': ", theme.dim()),
        Span::raw(super::commands::HELP_COMMANDS.join(" ")),
    ]));
    let h = u16_from(lines.len()).saturating_add(4).min(area.height);
    let rect = area.centered(Constraint::Length(width), Constraint::Length(h));
    let inner_h = h.saturating_sub(2);
    let overflow = u16_from(lines.len())
        .saturating_add(2)
        .saturating_sub(inner_h);
    let scroll = scroll.min(overflow);
    let bottom = if overflow > 0 {
        " j/k scroll · any other key closes "
    } else {
        " any key closes "
    };
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(
                Block::bordered()
                    .title(Span::styled(" Help ", theme.title()))
                    .title_bottom(Line::from(bottom).centered()),
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

    /// A message wrapped at spaces to the panel, so no word is split.
    pub fn message(title: &str, body: &str) -> TextView {
        let mut t = TextView::new(title, body);
        t.lines = t
            .lines
            .iter()
            .flat_map(|l| crate::wrap::at_spaces(l, WRAP))
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
