//! Drawing the app: the header, the screen on top, the tail, the modal,
//! the status line and the footer, whose keys come from the same key
//! table as the `?` help and the handlers.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::app::{areas, App, Modal, Screen, MIN_HEIGHT, MIN_WIDTH};
use super::keys::{self, Cmd, Offer};
use super::overlay;
use super::theme::Theme;
use crate::num::u16_from;

impl App {
    /// The footer's keys, most important first; `None` for a screen, whose
    /// footer ends with `? more`.
    fn footer_keys(&self) -> (Vec<Offer>, bool) {
        let fixed = |pairs: &[(&'static str, &'static str)]| {
            let offers = pairs
                .iter()
                .enumerate()
                .map(|(i, (label, what))| Offer {
                    label,
                    what,
                    group: keys::Group::Global,
                    rank: u8::try_from(i + 1).unwrap_or(u8::MAX),
                })
                .collect();
            (offers, false)
        };
        if self.session.is_none() {
            return fixed(&[
                ("Tab", "switch field"),
                ("Enter", "log in"),
                ("Ctrl-C", "quit"),
            ]);
        }
        match &self.modal {
            Some(Modal::Form(_)) => {
                return fixed(&[("Tab/S-Tab", "field"), ("Enter", "save"), ("Esc", "cancel")])
            }
            Some(Modal::Confirm(_)) => {
                return fixed(&[("←/→", "choose"), ("Enter", "answer"), ("Esc", "cancel")])
            }
            Some(Modal::Detail(_)) => return fixed(&[("Esc", "close")]),
            Some(Modal::Help(_)) => {
                return fixed(&[("j/k", "scroll"), ("any other key", "closes the help")])
            }
            Some(Modal::Text(_)) => {
                return fixed(&[("j/k", "scroll"), ("PgUp/PgDn", "page"), ("Esc", "close")])
            }
            Some(Modal::Command(_)) => {
                return fixed(&[("Tab", "complete"), ("Enter", "go"), ("Esc", "cancel")])
            }
            Some(Modal::Totp(t)) => {
                return match t.stage {
                    super::totp::Stage::Codes { .. } => fixed(&[("Enter/Esc", "close")]),
                    _ => fixed(&[("Enter", "confirm"), ("Esc", "cancel")]),
                }
            }
            None => {}
        }
        if let Some(Screen::Table(t)) = self.stack.last() {
            if t.captures_input() {
                return (t.keys(), false);
            }
        }
        let mut keys = self.screen_keys();
        keys.retain(|o| o.rank > 0);
        keys.sort_by_key(|o| o.rank);
        (keys, true)
    }

    /// Every key of the top screen and the global ones: what `?` lists.
    fn screen_keys(&self) -> Vec<Offer> {
        let mut keys = match self.stack.last() {
            Some(Screen::Dashboard(d)) => d.keys(),
            Some(Screen::Table(t)) => t.keys(),
            None => Vec::new(),
        };
        let filtered = matches!(self.stack.last(), Some(Screen::Table(t)) if !t.filter.is_empty());
        for x in keys::BINDINGS
            .iter()
            .filter(|x| x.group == keys::Group::Global)
        {
            let o = Offer::of(x.cmd);
            keys.push(match x.cmd {
                Cmd::Back if filtered => o.what("clear filter"),
                Cmd::Back if self.stack.len() <= 1 => o.rank(0),
                Cmd::Message if self.status.is_none() => o.rank(0),
                _ => o,
            });
        }
        keys.into_iter()
            .map(|o| Offer {
                label: self.keymap.label(o.label),
                ..o
            })
            .collect()
    }

    fn screen_title(&self) -> String {
        match self.stack.last() {
            Some(Screen::Dashboard(_)) => "Dashboard".into(),
            Some(Screen::Table(t)) => t.title(),
            None => "Log in".into(),
        }
    }

    pub fn draw(&self, f: &mut Frame) {
        let area = f.area();
        if self.too_small() {
            let (w, h) = self.min_size();
            let text = vec![
                Line::raw("Terminal too small."),
                Line::raw(format!(
                    "Need {w}x{h}, have {}x{}.",
                    area.width, area.height
                )),
                Line::raw("Enlarge it, or press q to quit."),
            ];
            f.render_widget(Paragraph::new(text), area);
            return;
        }
        let a = areas(area, self.tail.visible && self.session.is_some());
        let who = match &self.session {
            Some(s) => format!("{} ({})", s.username, s.role.as_str()),
            None => "not logged in".into(),
        };
        let header = header_line(&self.screen_title(), &who, &self.db_label, a.header.width);
        f.render_widget(Paragraph::new(header).style(self.theme.header()), a.header);
        if let Some(lock) = &self.lock {
            if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
                // The lock screen works down to 40x12; the screens under
                // it were never laid out below 80x24, so they are not
                // drawn there at all, only the header and the lock.
                let below = Rect::new(
                    area.x,
                    area.y + 1,
                    area.width,
                    area.height.saturating_sub(1),
                );
                let who = self.session.as_ref().map_or("", |s| s.username.as_str());
                lock.draw(f, below, who, &self.theme);
                return;
            }
        }
        match (&self.session, self.stack.last()) {
            (None, _) => self.login.draw(f, a.body, &self.theme),
            (Some(_), Some(Screen::Dashboard(d))) => d.draw(f, a.body, &self.theme),
            (Some(_), Some(Screen::Table(t))) => t.draw(f, a.body, &self.theme),
            (Some(_), None) => {}
        }
        if let Some(t) = a.tail {
            self.tail.draw(f, t, &self.theme);
        }
        match &self.modal {
            Some(Modal::Form(form)) => form.draw(f, a.body, &self.theme),
            Some(Modal::Confirm(c)) => c.draw(f, a.body, &self.theme),
            Some(Modal::Detail(d)) => d.draw(f, a.body, &self.theme),
            Some(Modal::Text(t)) => t.draw(f, a.body, &self.theme),
            Some(Modal::Help(scroll)) => {
                overlay::draw_help(
                    f,
                    a.body,
                    &self.theme,
                    &self.screen_title(),
                    &self.screen_keys(),
                    *scroll,
                );
            }
            Some(Modal::Command(_)) | Some(Modal::Totp(_)) | None => {}
        }
        let status = match (&self.modal, &self.status) {
            (Some(Modal::Command(input)), _) => {
                let line = Line::from(vec![
                    Span::styled(":", self.theme.key()),
                    Span::raw(input.value().to_string()),
                ]);
                f.set_cursor_position((
                    a.status.x + 1 + u16_from(input.visual_cursor()),
                    a.status.y,
                ));
                line
            }
            // One line, whatever the message holds; a longer one says how
            // to read the rest.
            (_, Some((m, failed))) => {
                let style = if *failed {
                    self.theme.error()
                } else {
                    self.theme.ok()
                };
                Line::styled(status_fit(m, a.status.width), style)
            }
            (_, None) => Line::default(),
        };
        f.render_widget(Paragraph::new(status), a.status);
        let (keys, more) = self.footer_keys();
        let line = footer_line(&keys, more, a.footer.width, &self.theme);
        f.render_widget(Paragraph::new(line), a.footer);
        if let Some(Modal::Totp(t)) = &self.modal {
            // Everything between the header and the footer, status line
            // included: the QR code needs 21 of the 24 lines.
            let top = area.y + 1;
            let r = Rect::new(area.x, top, area.width, a.footer.y.saturating_sub(top));
            t.draw(f, r, &self.theme);
        }
        if let Some(lock) = &self.lock {
            let who = self
                .session
                .as_ref()
                .map(|s| s.username.as_str())
                .unwrap_or("");
            lock.draw(f, area, who, &self.theme);
        }
    }
}

/// The header: program, screen, who, database. When it does not fit, the
/// database is cut from the left (`…/postfix-manager.db`): its file name
/// is what tells two sessions apart. Narrower still, the program name
/// goes, then who is logged in, before the file name would.
fn header_line(title: &str, who: &str, db: &str, width: u16) -> String {
    let width = usize::from(width);
    let len = |s: &str| s.chars().count();
    let file = db.rsplit('/').next().unwrap_or(db);
    let prefixes = [
        format!(" postfix-manager │ {title} │ {who} │ "),
        format!(" {title} │ {who} │ "),
        format!(" {title} │ "),
        " ".to_string(),
    ];
    let fits = |p: &String| len(p) + len(db).min(len(file) + 2) <= width;
    let prefix = prefixes.iter().find(|p| fits(p)).unwrap_or(&prefixes[3]);
    let room = width.saturating_sub(len(prefix));
    if len(db) <= room {
        return format!("{prefix}{db}");
    }
    let keep = room.saturating_sub(1);
    let tail: String = db.chars().skip(len(db) - keep).collect();
    // From a directory boundary when there is one: `…/data/pm.db`.
    let tail = match tail.find('/') {
        Some(i) if i > 0 => &tail[i..],
        _ => &tail[..],
    };
    format!("{prefix}…{tail}")
}

/// The most important keys that fit the width, in order of importance,
/// then `? more` on a screen (the rest are in `?`). A key that does not fit
/// ends the line, so a less important short key never pushes ahead.
fn footer_line(keys: &[Offer], more: bool, width: u16, theme: &Theme) -> Line<'static> {
    const MORE: &str = "? more";
    let mut spans = Vec::new();
    let room = if more {
        usize::from(width).saturating_sub(MORE.len() + 3)
    } else {
        usize::from(width)
    };
    let mut used = 0usize;
    for (i, o) in keys.iter().enumerate() {
        let sep = if i > 0 { 3 } else { 0 };
        let len = sep + o.label.chars().count() + 1 + o.what.chars().count();
        if used + len > room {
            break;
        }
        if i > 0 {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled(o.label, theme.key()));
        spans.push(Span::raw(format!(" {}", o.what)));
        used += len;
    }
    if more {
        if !spans.is_empty() {
            spans.push(Span::styled(" · ", theme.dim()));
        }
        spans.push(Span::styled("?", theme.key()));
        spans.push(Span::raw(" more"));
    }
    Line::from(spans)
}

/// The status message on one line of `width`: cut with "… M more" when
/// it does not fit (`M` opens all of it).
fn status_fit(m: &str, width: u16) -> String {
    const MORE: &str = "… M more";
    let one = m.replace('\n', " · ");
    let width = usize::from(width);
    if one.chars().count() <= width {
        return one;
    }
    let keep = width.saturating_sub(MORE.chars().count());
    let mut s: String = one.chars().take(keep).collect();
    s.push_str(MORE);
    s
}

#[cfg(test)]
mod header_tests {
    use super::header_line;

    #[test]
    fn the_database_file_name_stays_visible() {
        let db = "sqlite:///var/lib/postfix-manager/hosts/mx1/data/postfix-manager.db";
        let wide = header_line("Mailboxes", "admin (admin)", db, 200);
        assert!(wide.ends_with(db), "{wide}");
        for w in [80u16, 60, 40, 30] {
            let h = header_line("Mailboxes", "admin (admin)", db, w);
            assert!(h.chars().count() <= usize::from(w), "{w}: {h}");
            assert!(h.ends_with("/postfix-manager.db"), "{w}: {h}");
        }
        let h = header_line("Mailboxes", "admin (admin)", db, 80);
        assert!(
            h.starts_with(" postfix-manager │ Mailboxes │ admin (admin) │ …/"),
            "{h}"
        );
    }
}
