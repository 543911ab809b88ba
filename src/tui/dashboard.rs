//! The dashboard: mailbox totals and each domain's usage against its quota,
//! one keyset page of domains (as many as fit), refreshed every few seconds
//! and redrawn only when a number moved.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row as TRow, Table};
use ratatui::Frame;

use super::action::Action;
use super::theme::Theme;
use crate::sanitize::for_terminal as clean;
use crate::store::stats::{DomainUsage, MailboxTotals};
use crate::store::Page;
use crate::validate::format_size;
use crate::worker::Request;

#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    pub name: String,
    pub status: String,
    pub mailboxes: i64,
    pub used: i64,
    pub limit: i64,
}

#[derive(Debug, Default)]
pub struct Dashboard {
    pub totals: Option<MailboxTotals>,
    pub domains: Vec<UsageLine>,
    pub loading: bool,
    pub error: Option<String>,
    capacity: usize,
    /// Cursor of the page shown (None = first) and whether more follow.
    after: Option<String>,
    pending_after: Option<String>,
    more: bool,
    history: Vec<Option<String>>,
}

impl Dashboard {
    pub fn set_capacity(&mut self, rows: usize) -> Option<Request> {
        let rows = rows.max(1);
        if rows == self.capacity {
            return None;
        }
        self.capacity = rows;
        Some(self.reload())
    }

    pub fn reload(&mut self) -> Request {
        let a = self.after.clone();
        self.fetch(a)
    }

    fn fetch(&mut self, after: Option<String>) -> Request {
        self.loading = true;
        self.pending_after = after.clone();
        Request::Stats {
            page: Page {
                after,
                limit: Some(self.capacity.max(1) as i64),
                backward: false,
            },
        }
    }

    /// True when anything on screen changes.
    pub fn on_stats(&mut self, totals: MailboxTotals, rows: Vec<DomainUsage>) -> bool {
        let lines: Vec<UsageLine> = rows
            .iter()
            .map(|d| UsageLine {
                name: clean(&d.domain.name),
                status: clean(&d.domain.status),
                mailboxes: d.mailbox_count,
                used: d.mailbox_used,
                limit: d.domain.quota_limit,
            })
            .collect();
        let more = lines.len() >= self.capacity;
        // A periodic refresh that finds the same numbers draws nothing.
        let changed =
            self.totals.as_ref() != Some(&totals) || self.domains != lines || self.error.is_some();
        self.loading = false;
        self.error = None;
        self.totals = Some(totals);
        self.domains = lines;
        self.after = self.pending_after.take();
        self.more = more;
        changed
    }

    pub fn on_error(&mut self, m: String) {
        self.loading = false;
        self.error = Some(m);
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::PageDown | KeyCode::Char('j') | KeyCode::Down if self.more => {
                match self.domains.last() {
                    Some(last) => {
                        self.history.push(self.after.clone());
                        let after = Some(last.name.clone());
                        Action::Fetch(self.fetch(after))
                    }
                    None => Action::Ignored,
                }
            }
            KeyCode::PageUp | KeyCode::Char('k') | KeyCode::Up => match self.history.pop() {
                Some(prev) => Action::Fetch(self.fetch(prev)),
                None => Action::Ignored,
            },
            KeyCode::Char('g') | KeyCode::Home => {
                self.history.clear();
                Action::Fetch(self.fetch(None))
            }
            KeyCode::Char('r') => Action::Fetch(self.reload()),
            _ => Action::Ignored,
        }
    }

    pub fn keys(&self) -> Vec<(&'static str, &'static str)> {
        vec![("PgUp/PgDn", "more domains"), ("r", "reload")]
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let [top, bottom] =
            Layout::vertical([Constraint::Length(4), Constraint::Min(0)]).areas(area);
        let totals = match (&self.totals, &self.error) {
            (_, Some(e)) => vec![Line::styled(e.clone(), theme.error())],
            (Some(t), None) => vec![
                Line::from(vec![
                    Span::styled("Mailboxes ", theme.dim()),
                    Span::raw(format!("{:<10}", t.total_mailboxes)),
                    Span::styled("Used ", theme.dim()),
                    Span::raw(format!("{:<10}", size0(t.total_used))),
                    Span::styled("Allotted ", theme.dim()),
                    Span::raw(format!("{:<10}", format_size(t.total_limit))),
                    Span::styled("Average ", theme.dim()),
                    Span::raw(size0(t.avg_used)),
                ]),
                Line::raw(""),
            ],
            (None, None) => vec![Line::styled("Loading…", theme.dim())],
        };
        f.render_widget(
            Paragraph::new(totals)
                .block(Block::bordered().title(Span::styled(" Dashboard ", theme.title()))),
            top,
        );
        let rows = self.domains.iter().map(|d| {
            TRow::new(vec![
                d.name.clone(),
                d.status.clone(),
                d.mailboxes.to_string(),
                format!("{} / {}", size0(d.used), format_size(d.limit)),
                gauge(d.used, d.limit, 20),
            ])
        });
        let more = if self.more { " ↓ more " } else { "" };
        let table = Table::new(
            rows,
            [
                Constraint::Fill(1),
                Constraint::Length(9),
                Constraint::Length(5),
                Constraint::Length(19),
                Constraint::Length(27),
            ],
        )
        .header(
            TRow::new(["Domain ▲", "Status", "Mbx", "Used / quota", "Usage"])
                .style(theme.column_header()),
        )
        .block(
            Block::bordered()
                .title(Span::styled(" Usage per domain ", theme.title()))
                .title_bottom(Line::from(more).right_aligned()),
        );
        f.render_widget(table, bottom);
    }
}

fn size0(n: i64) -> String {
    if n == 0 {
        "0".into()
    } else {
        format_size(n)
    }
}

/// A text gauge (works without color and in any font): `[#####.....] 50%`.
pub fn gauge(used: i64, limit: i64, width: usize) -> String {
    if limit <= 0 {
        return "no limit".into();
    }
    let pct = (used.max(0) as f64 / limit as f64 * 100.0).min(999.0);
    let filled = ((pct / 100.0) * width as f64).round().min(width as f64) as usize;
    format!(
        "[{}{}] {:>3.0}%",
        "#".repeat(filled),
        ".".repeat(width - filled),
        pct
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn gauge_fills_in_proportion() {
        assert_eq!(super::gauge(50, 100, 10), "[#####.....]  50%");
        assert_eq!(super::gauge(0, 0, 10), "no limit");
        assert_eq!(super::gauge(300, 100, 4), "[####] 300%");
    }
}
