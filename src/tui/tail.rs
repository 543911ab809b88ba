//! The live audit tail: the newest entries from any admin in any process,
//! polled every second with a query that only reads ids above the last one
//! seen (a primary-key range scan, usually empty).

use std::collections::VecDeque;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::rows::{audit_row, Row};
use super::spec::AuditField;
use super::theme::Theme;
use crate::ops::audit::Named;
use crate::worker::Request;

pub const LINES: usize = 5;

#[derive(Debug, Default)]
pub struct Tail {
    pub visible: bool,
    last_id: i64,
    entries: VecDeque<Row>,
    pub error: Option<String>,
}

impl Tail {
    pub fn poll(&self) -> Request {
        Request::Tail {
            after_id: self.last_id,
            limit: LINES as i64,
        }
    }

    /// New rows (newest first from the worker); true when something changed.
    pub fn on_rows(&mut self, rows: Vec<Named>) -> bool {
        let had_error = self.error.take().is_some();
        if rows.is_empty() {
            return had_error;
        }
        for r in rows.iter().rev() {
            self.last_id = self.last_id.max(r.entry.id);
            self.entries.push_front(audit_row(r));
        }
        self.entries.truncate(LINES);
        true
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let block = Block::bordered().title(Span::styled(" Audit (live) ", theme.title()));
        let mut lines: Vec<Line> = self
            .entries
            .iter()
            .map(|r| {
                let result = r.field(AuditField::Result);
                let style = if result == "ok" {
                    theme.ok()
                } else {
                    theme.error()
                };
                Line::from(vec![
                    Span::styled(format!("{} ", r.field(AuditField::Time)), theme.dim()),
                    Span::raw(format!("{:<12} ", r.field(AuditField::Actor))),
                    Span::raw(format!(
                        "{} {} ",
                        r.field(AuditField::Action),
                        r.field(AuditField::Resource)
                    )),
                    Span::styled(result.to_string(), style),
                ])
            })
            .collect();
        if let Some(e) = &self.error {
            lines.insert(0, Line::styled(e.clone(), theme.error()));
        }
        if lines.is_empty() {
            lines.push(Line::styled("waiting for entries…", theme.dim()));
        }
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}
