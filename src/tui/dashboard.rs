//! The live quota dashboard (issue 6): totals, the domains and mailboxes
//! with the highest percent used, threshold markers, a sparkline of the
//! host's usage history, and "updated N s ago".
//!
//! Live without waste: every `refresh_secs` it sends one request carrying
//! the change token of what it shows; the worker answers "unchanged" after
//! a single aggregate over the domain rows, and only a changed snapshot is
//! redrawn. Between changes the one thing that moves is the age label, once
//! a second. `p` pauses and resumes the checks.
//!
//! The sending alert (issue 21): with every check the dashboard asks how
//! many mailboxes the policy service suspended for sending (one small
//! table, on its own slot so it never makes the quota answer stale); while
//! any are, the summary box's bottom border says so, naming `:senders`.

use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row as TRow, Table};
use ratatui::Frame;

use super::action::Action;
use super::cells;
use super::keys::{self, Cmd, Offer};
use super::theme::Theme;
use crate::config::QuotaSettings;
use crate::num::float_to_usize;
use crate::ops::command::send_limits::SendingAlerts;
use crate::ops::command::Outcome;
use crate::ops::quota::{level, Snapshot};
use crate::sanitize::for_terminal as clean;
use crate::store::quota::{DomainRow, MailboxRow};
use crate::worker::Request;

/// Rows of the summary box, borders included.
pub const SUMMARY_HEIGHT: u16 = 5;

#[derive(Debug)]
pub struct Dashboard {
    pub snapshot: Option<Snapshot>,
    pub loading: bool,
    pub error: Option<String>,
    pub paused: bool,
    settings: QuotaSettings,
    /// Rows per table (domains, mailboxes) that fit.
    capacity: usize,
    /// Seconds since the snapshot last changed (counted in ticks, so tests
    /// that do not tick see a steady "0 s").
    age: u64,
    /// Seconds since the last check was sent.
    since_check: u64,
    /// Mailboxes suspended for sending by the policy service's
    /// containment: the sentence to show, None while there are none.
    pub alert: Option<String>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard::new(QuotaSettings::default())
    }
}

impl Dashboard {
    pub fn new(settings: QuotaSettings) -> Dashboard {
        Dashboard {
            snapshot: None,
            loading: false,
            error: None,
            paused: false,
            settings,
            capacity: 0,
            age: 0,
            since_check: 0,
            alert: None,
        }
    }

    /// The sending alert's check: automatic suspensions in the user's
    /// scope (`Slot::Alerts`, sent with every reload and quota check).
    pub fn alert_check() -> Request {
        Request::Run(Box::new(SendingAlerts))
    }

    /// The alert check's answer; true when the alert line changed.
    pub fn on_alert(&mut self, result: Result<&Outcome, String>) -> bool {
        let alert = match result {
            Ok(o) => {
                let automatic = o.data().get("automatic").and_then(|n| n.as_u64());
                automatic.is_some_and(|n| n > 0).then(|| o.to_string())
            }
            Err(e) => Some(format!("sending alerts unknown: {e}")),
        };
        if alert == self.alert {
            return false;
        }
        self.alert = alert;
        true
    }

    pub fn set_capacity(&mut self, rows: usize) -> Option<Request> {
        let rows = rows.max(1);
        if rows == self.capacity {
            return None;
        }
        self.capacity = rows;
        Some(self.reload())
    }

    /// A full reload (no token: the worker answers with a snapshot).
    pub fn reload(&mut self) -> Request {
        self.loading = true;
        self.since_check = 0;
        Request::Quota {
            known: None,
            top: self.capacity.max(1) as i64,
        }
    }

    /// A cheap check: answered "unchanged" unless something moved.
    fn check(&mut self) -> Request {
        self.since_check = 0;
        Request::Quota {
            known: self.snapshot.as_ref().map(|s| s.token),
            top: self.capacity.max(1) as i64,
        }
    }

    /// One second passed. Returns whether the screen changed (the age
    /// label) and the check to send, if one is due.
    pub fn tick(&mut self, may_check: bool) -> (bool, Option<Request>) {
        self.since_check += 1;
        let redraw = self.snapshot.is_some();
        if redraw {
            self.age += 1;
        }
        let due = may_check && !self.paused && self.since_check >= self.settings.refresh_secs;
        (redraw, due.then(|| self.check()))
    }

    /// A reply: None means unchanged. True when anything on screen changed.
    pub fn on_quota(&mut self, snap: Option<Snapshot>) -> bool {
        let had_error = self.error.take().is_some();
        let was_loading = std::mem::replace(&mut self.loading, false);
        match snap {
            None => had_error || was_loading,
            Some(s) => {
                // A reload that finds the same numbers draws nothing new
                // and keeps the age.
                if self.snapshot.as_ref() == Some(&s) {
                    return had_error || was_loading;
                }
                self.snapshot = Some(s);
                self.age = 0;
                true
            }
        }
    }

    pub fn on_error(&mut self, m: String) {
        self.loading = false;
        self.error = Some(m);
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        let available = |c| matches!(c, Cmd::Pause | Cmd::DashReload);
        match keys::lookup(&key, available) {
            Some(Cmd::DashReload) => Action::Fetch(self.reload()),
            Some(Cmd::Pause) => {
                self.paused = !self.paused;
                if self.paused {
                    Action::Status("Live updates paused; p resumes.".into())
                } else {
                    // Catch up at once rather than after the interval.
                    Action::Fetch(self.check())
                }
            }
            _ => Action::Ignored,
        }
    }

    pub fn keys(&self) -> Vec<Offer> {
        vec![
            Offer::of(Cmd::Pause).what(if self.paused { "resume" } else { "pause" }),
            Offer::of(Cmd::DashReload),
        ]
    }

    fn age_label(&self) -> String {
        let state = if self.paused {
            "‖ paused"
        } else {
            "● live"
        };
        let a = self.age;
        let age = if a < 120 {
            format!("{a} s")
        } else if a < 7200 {
            format!("{} min", a / 60)
        } else {
            format!("{} h", a / 3600)
        };
        format!("{state} · updated {age} ago")
    }

    fn mark(&self, permille: i64, theme: &Theme) -> (&'static str, Style) {
        match level(
            permille,
            self.settings.warn_percent,
            self.settings.crit_percent,
        ) {
            Some("critical") => ("!!", theme.crit()),
            Some(_) => ("! ", theme.warn()),
            None => ("  ", Style::default()),
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let [top, rest] =
            Layout::vertical([Constraint::Length(SUMMARY_HEIGHT), Constraint::Min(0)]).areas(area);
        let [doms, mbxs] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(rest);
        let mut block = Block::bordered()
            .title(Span::styled(" Dashboard ", theme.title()))
            .title(
                Line::from(Span::styled(format!(" {} ", self.age_label()), theme.dim()))
                    .right_aligned(),
            );
        if let Some(a) = &self.alert {
            // `!!` carries it without color (NO_COLOR, screen readers).
            block = block.title_bottom(Line::from(Span::styled(format!(" !! {a} "), theme.crit())));
        }
        let lines = match (&self.snapshot, &self.error) {
            (_, Some(e)) => vec![Line::styled(e.clone(), theme.error())],
            (Some(s), None) => self.summary(s, top.width.saturating_sub(2), theme),
            (None, None) => vec![Line::styled("Loading…", theme.dim())],
        };
        f.render_widget(Paragraph::new(lines).block(block), top);
        let empty = Vec::new();
        let (drows, mrows) = match &self.snapshot {
            Some(s) => (&s.domains, &s.mailboxes),
            None => (&empty, &Vec::new()),
        };
        if self
            .snapshot
            .as_ref()
            .is_some_and(|s| s.totals.domains == 0)
        {
            first_run(f, doms, theme);
        } else {
            self.draw_domains(f, doms, theme, drows);
        }
        self.draw_mailboxes(f, mbxs, theme, mrows);
    }

    fn summary(&self, s: &Snapshot, width: u16, theme: &Theme) -> Vec<Line<'static>> {
        let t = &s.totals;
        let pct = if t.allotted > 0 {
            format!(" ({:.0}%)", t.used as f64 / t.allotted as f64 * 100.0)
        } else {
            String::new()
        };
        let spark_w = usize::from(width.saturating_sub(10)).min(60);
        let history = if s.history.is_empty() {
            Span::styled("no samples yet (postfix-manager quota sample)", theme.dim())
        } else {
            Span::raw(sparkline(&s.history, spark_w))
        };
        vec![
            Line::from(vec![
                Span::styled("Domains ", theme.dim()),
                Span::raw(format!("{:<9}", t.domains)),
                Span::styled("Mailboxes ", theme.dim()),
                Span::raw(format!("{:<9}", t.mailboxes)),
                Span::styled("Aliases ", theme.dim()),
                Span::raw(t.aliases.to_string()),
            ]),
            Line::from(vec![
                Span::styled("Used ", theme.dim()),
                Span::raw(format!("{}{pct}", size0(t.used))),
                Span::styled("  of allotted ", theme.dim()),
                Span::raw(size0(t.allotted)),
                Span::styled(
                    format!(
                        "   marks: ! ≥{}%  !! ≥{}%",
                        self.settings.warn_percent, self.settings.crit_percent
                    ),
                    theme.dim(),
                ),
            ]),
            Line::from(vec![Span::styled("History ", theme.dim()), history]),
        ]
    }

    fn draw_domains(&self, f: &mut Frame, area: Rect, theme: &Theme, rows: &[DomainRow]) {
        let widths = [
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(17),
            Constraint::Length(19),
        ];
        let block = Block::bordered().title(Span::styled(" Domains by usage ", theme.title()));
        let fit = cells::column_widths(block.inner(area), &widths);
        let right = [3, 4];
        let body = rows.iter().map(|d| {
            let (m, style) = self.mark(d.permille, theme);
            let texts = [
                m.to_string(),
                clean(&d.name),
                clean(&d.status),
                d.mailboxes.to_string(),
                used_of(d.used, d.limit),
                gauge(d.used, d.limit, 12),
            ];
            TRow::new(cells::fitted(
                texts.iter().map(String::as_str),
                &fit,
                &right,
            ))
            .style(style)
        });
        let header = ["", "Domain", "Status", "Mbx", "Used / quota", "Usage ▼"];
        let t = Table::new(body, widths)
            .header(TRow::new(cells::fitted(header, &fit, &right)).style(theme.column_header()))
            .block(block);
        f.render_widget(t, area);
    }

    fn draw_mailboxes(&self, f: &mut Frame, area: Rect, theme: &Theme, rows: &[MailboxRow]) {
        let widths = [
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(17),
            Constraint::Length(19),
        ];
        let block = Block::bordered().title(Span::styled(" Fullest mailboxes ", theme.title()));
        let fit = cells::column_widths(block.inner(area), &widths);
        let right = [2];
        let body = rows.iter().map(|r| {
            let (m, style) = self.mark(r.permille, theme);
            let texts = [
                m.to_string(),
                clean(&r.username),
                used_of(r.used, r.limit),
                gauge(r.used, r.limit, 12),
            ];
            TRow::new(cells::fitted(
                texts.iter().map(String::as_str),
                &fit,
                &right,
            ))
            .style(style)
        });
        let header = ["", "Mailbox", "Used / quota", "Usage ▼"];
        let t = Table::new(body, widths)
            .header(TRow::new(cells::fitted(header, &fit, &right)).style(theme.column_header()))
            .block(block);
        f.render_widget(t, area);
    }
}

/// A new host has nothing to show: say where to start, until the first
/// domain exists.
fn first_run(f: &mut Frame, area: Rect, theme: &Theme) {
    let key = |k: &'static str| Span::styled(format!("{k:<12}"), theme.focus());
    let lines = vec![
        Line::raw("No domains yet. To set up the first one:"),
        Line::raw(""),
        Line::from(vec![
            key("  :domains"),
            Span::raw("opens the Domains screen"),
        ]),
        Line::from(vec![
            key("  n"),
            Span::raw("there adds a domain; then m lists its mailboxes"),
        ]),
        Line::from(vec![key("  ?"), Span::raw("lists every key")]),
    ];
    let block = Block::bordered().title(Span::styled(" Domains by usage ", theme.title()));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn size0(n: i64) -> String {
    crate::units::human(n)
}

/// "used / quota" as one right-aligned cell of the usage tables.
fn used_of(used: i64, limit: i64) -> String {
    format!("{} / {}", size0(used), crate::units::human_limit(limit))
}

/// A text gauge (works without color and in any font): `[#####.....] 50%`.
pub fn gauge(used: i64, limit: i64, width: usize) -> String {
    if limit <= 0 {
        return "no limit".into();
    }
    let pct = (used.max(0) as f64 / limit as f64 * 100.0).min(999.0);
    let filled = float_to_usize(((pct / 100.0) * width as f64).round().min(width as f64));
    format!(
        "[{}{}] {:>3.0}%",
        "#".repeat(filled),
        ".".repeat(width - filled),
        pct
    )
}

/// The last `width` values as block characters, scaled from the smallest
/// to the largest shown (a flat history is a flat low line).
pub fn sparkline(values: &[i64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let v = &values[values.len().saturating_sub(width)..];
    let (Some(lo), Some(hi)) = (v.iter().min(), v.iter().max()) else {
        return String::new();
    };
    let span = (hi - lo) as f64;
    v.iter()
        .map(|x| {
            if span <= 0.0 {
                BARS[0]
            } else {
                let i = float_to_usize(((x - lo) as f64 / span * 7.0).round());
                BARS[i.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn gauge_fills_in_proportion() {
        assert_eq!(super::gauge(50, 100, 10), "[#####.....]  50%");
        assert_eq!(super::gauge(0, 0, 10), "no limit");
        assert_eq!(super::gauge(300, 100, 4), "[####] 300%");
    }

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(super::sparkline(&[0, 7, 14], 10), "▁▅█");
        assert_eq!(super::sparkline(&[5, 5], 10), "▁▁");
        assert_eq!(super::sparkline(&[1, 2, 3], 2), "▁█");
        assert_eq!(super::sparkline(&[], 2), "");
    }
}
