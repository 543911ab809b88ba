//! The app's answers to the worker's replies: each slot's reply goes to
//! what asked for it. A reply of a kind its slot never gets is a bug
//! between the worker and the app: it is shown, never dropped silently.

use super::{App, EditorJob, Modal, Screen};
use crate::error::ErrorKind;
use crate::tui::dashboard::Dashboard;
use crate::tui::form::Form;
use crate::tui::{forms, overlay};
use crate::worker::{Failure, Reply, Request, Response, Slot, Tag};

impl App {
    pub fn on_reply(&mut self, reply: Reply) -> bool {
        let Reply {
            tag,
            result,
            warnings,
        } = reply;
        let redraw = self.on_result(tag, result);
        if warnings.is_empty() {
            return redraw;
        }
        // After the result's own status (a saved write's sentence, a
        // refusal), and even for a reply no screen awaits any more: a
        // checkpoint that was not written must not go unseen.
        let mut line = match self.status.take() {
            Some((s, _)) if !s.is_empty() => s,
            _ => String::new(),
        };
        for w in warnings {
            if !line.is_empty() {
                line.push_str(" | ");
            }
            line.push_str(&w);
        }
        self.status = Some((line, true));
        true
    }

    fn on_result(&mut self, tag: Tag, result: Result<Response, Failure>) -> bool {
        if self.inflight.get(&tag.slot) != Some(&tag.gen) {
            return false;
        }
        if let Ok(Response::Progress(p)) = result {
            // More replies follow for this request: keep awaiting it.
            self.status = Some((p.line(), false));
            return true;
        }
        self.inflight.remove(&tag.slot);
        match tag.slot {
            Slot::Login => self.on_login(result),
            Slot::Totp => self.on_totp(result),
            Slot::Dashboard => {
                let Some(Screen::Dashboard(d)) = self.stack.first_mut() else {
                    return false;
                };
                match result {
                    Ok(Response::Quota(snap)) => d.on_quota(snap.map(|b| *b)),
                    Ok(other) => self.unexpected(tag.slot, &other),
                    Err(e) => {
                        d.on_error(e.message);
                        true
                    }
                }
            }
            Slot::Alerts => {
                let Some(Screen::Dashboard(d)) = self.stack.first_mut() else {
                    return false;
                };
                match result {
                    Ok(Response::Done(o)) => d.on_alert(Ok(&o)),
                    Ok(other) => self.unexpected(tag.slot, &other),
                    Err(e) => d.on_alert(Err(e.message)),
                }
            }
            Slot::Table(r) => {
                let screen = self.stack.iter_mut().rev().find_map(|s| match s {
                    Screen::Table(t) if t.resource == r => Some(t),
                    _ => None,
                });
                let Some(t) = screen else {
                    return false;
                };
                match result {
                    Ok(Response::Rows(l)) => t.on_rows(l.rows()),
                    Ok(Response::Live(token, l)) => match t.on_live(token, l.rows()) {
                        crate::tui::table::Refreshed::Same => return false,
                        crate::tui::table::Refreshed::Redraw => {}
                        crate::tui::table::Refreshed::Refetch(r) => self.send(tag.slot, r),
                    },
                    // A change check found nothing new: not a byte to draw.
                    Ok(Response::Unchanged) => return false,
                    Ok(other) => return self.unexpected(tag.slot, &other),
                    Err(e) => t.on_error(e.message),
                }
                true
            }
            Slot::Tail => match result {
                Ok(Response::Tail(rows)) => self.tail.on_rows(rows),
                Ok(other) => self.unexpected(tag.slot, &other),
                Err(e) => {
                    self.tail.error = Some(e.message);
                    true
                }
            },
            Slot::Text => self.on_text(tag.slot, result),
            Slot::History => {
                if !matches!(self.modal, Some(Modal::Detail(_))) {
                    return false;
                }
                let fields = match result {
                    Ok(Response::History(points)) => history_fields(&points),
                    Ok(other) => return self.unexpected(tag.slot, &other),
                    Err(e) => vec![("error".into(), e.message)],
                };
                if let Some(Modal::Detail(d)) = self.modal.as_mut() {
                    d.fields = fields;
                }
                true
            }
            Slot::Form => self.on_saved(result),
            Slot::Action | Slot::Transfer => self.on_action(tag.slot, result),
            Slot::Impact => self.on_impact(result),
            Slot::Marks => self.on_keys(result),
        }
    }

    /// A text, sheet or viewed command's outcome for `Slot::Text`; with
    /// `form_from` set, the outcome opens that form instead.
    fn on_text(&mut self, slot: Slot, result: Result<Response, Failure>) -> bool {
        match result {
            Ok(Response::Text {
                id,
                mode: crate::worker::TextMode::ForEdit,
                title,
                body,
            }) => {
                self.status = None;
                self.editor = Some(EditorJob::Config(id, title, body));
            }
            Ok(Response::Sheet(sheet)) => {
                self.status = None;
                self.editor = Some(EditorJob::Rows(sheet, None));
            }
            Ok(Response::Text { title, body, .. }) => {
                self.status = None;
                self.modal = Some(Modal::Text(overlay::TextView::new(&title, &body)));
            }
            // `Action::FormFrom`: the outcome fills the form it opens.
            Ok(Response::Done(outcome)) if self.form_from.is_some() => {
                self.status = None;
                let open = self.form_from.take();
                match open.and_then(|open| open(&outcome)) {
                    Some(f) => self.modal = Some(Modal::Form(f)),
                    None => self.status = Some((format!("cannot open a form on: {outcome}"), true)),
                }
            }
            // A viewed command's outcome (`Action::View`): wrapped
            // to the panel, so a long line (a DKIM key) is whole.
            Ok(Response::Done(outcome)) => {
                self.status = None;
                let text = outcome.to_string();
                let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
                self.modal = Some(Modal::Text(overlay::TextView::wrapped(title, body)));
            }
            Ok(other) => return self.unexpected(slot, &other),
            Err(e) => {
                self.form_from = None;
                self.status = Some((e.message, true));
            }
        }
        true
    }

    /// A step of `:totp` enrolment; the recovery codes' outcome also goes
    /// to the status line.
    fn on_totp(&mut self, result: Result<Response, Failure>) -> bool {
        let Some(Modal::Totp(t)) = self.modal.as_mut() else {
            return false;
        };
        match result {
            Ok(Response::Done(outcome)) => {
                t.on_outcome(&outcome);
                if matches!(t.stage, crate::tui::totp::Stage::Codes { .. }) {
                    self.status = Some((outcome.to_string(), false));
                }
            }
            Ok(other) => return self.unexpected(Slot::Totp, &other),
            Err(f) => t.on_failure(&f.message),
        }
        true
    }

    /// A chunk of "mark all matching": mark it, ask for the next. The
    /// worker's reader takes other screens' reads between chunks.
    fn on_keys(&mut self, result: Result<Response, Failure>) -> bool {
        let Some((resource, filter)) = self.marking.take() else {
            return false;
        };
        let (keys, next) = match result {
            Ok(Response::Keys { keys, next }) => (keys, next),
            Ok(other) => return self.unexpected(Slot::Marks, &other),
            Err(e) => {
                self.status = Some((e.message, true));
                return true;
            }
        };
        let Some(Screen::Table(t)) = self.stack.last_mut() else {
            return false;
        };
        if t.resource != resource {
            // The screen it was for has gone: stop.
            return false;
        }
        let n = crate::ops::bulk::thousands(t.mark_keys(keys));
        match next {
            Some(after) => {
                self.status = Some((format!("Marking… {n} so far (Esc stops)"), false));
                self.marking = Some((resource, filter.clone()));
                self.send(
                    Slot::Marks,
                    Request::MatchingKeys {
                        resource,
                        filter,
                        after: Some(after),
                    },
                );
            }
            None => self.status = Some((format!("{n} marked"), false)),
        }
        true
    }

    fn on_login(&mut self, result: Result<Response, Failure>) -> bool {
        if let Some(lock) = self.lock.as_mut() {
            match result {
                Ok(Response::Session(s)) => {
                    self.lock = None;
                    self.session = Some(s);
                    self.status = Some(("Unlocked.".into(), false));
                    self.refresh_top();
                }
                Ok(other) => return self.unexpected(Slot::Login, &other),
                Err(f) if f.kind == ErrorKind::CodeRequired => lock.on_code_required(),
                Err(f) => lock.on_failure(&f.message),
            }
            return true;
        }
        match result {
            Ok(Response::Session(s)) => {
                self.login.pending = false;
                self.login.password.reset();
                self.login.code.reset();
                self.login.needs_code = false;
                self.status = Some((
                    format!(
                        "Logged in as {} ({}). ? shows the keys.",
                        s.username,
                        s.role.as_str()
                    ),
                    false,
                ));
                crate::timefmt::set_zone(s.preferences.tz());
                self.theme = self.theme.with_preference(&s.preferences.theme);
                let required = s.must_change_password;
                let enrol = s.must_enrol_totp;
                self.session = Some(s);
                self.stack = vec![Screen::Dashboard(Dashboard::new(self.quota.clone()))];
                if enrol && !required {
                    // Nothing else would work: ops refuses every other
                    // request until the second factor is on.
                    self.open_totp();
                    self.status = Some((
                        "Your role must use a second factor: enrol it first.".into(),
                        true,
                    ));
                } else if required {
                    self.modal = Some(Modal::Form(forms::own_password(true)));
                    self.status = Some((
                        "An admin requires you to set a new password first.".into(),
                        true,
                    ));
                } else {
                    self.refresh_top();
                }
            }
            Ok(other) => return self.unexpected(Slot::Login, &other),
            Err(f) => self.login.on_failure(&f),
        }
        true
    }

    fn on_saved(&mut self, result: Result<Response, Failure>) -> bool {
        match result {
            Ok(Response::Done(outcome)) => {
                let msg = outcome.to_string();
                if let Some(Modal::Form(f)) = self.modal.take() {
                    self.saved_own_settings(&f);
                }
                self.status = Some((msg, false));
                self.refresh_top();
            }
            // The row as the other writer left it, after a conflict.
            Ok(Response::Rows(listing)) => {
                if let Some(Modal::Form(f)) = self.modal.as_mut() {
                    let rows = listing.rows();
                    forms::rebase(f, rows.first());
                }
            }
            Ok(other) => return self.unexpected(Slot::Form, &other),
            Err(e) if e.message.contains('\n') => self.show_failure(e),
            Err(e) => match self.modal.as_mut() {
                Some(Modal::Form(f)) => {
                    f.pending = false;
                    let fields: Vec<(String, String)> = e.field.iter().cloned().collect();
                    let general = e.field.is_none().then(|| e.message.clone());
                    f.set_errors(&fields, general);
                    // Someone else saved the row since the form opened: read
                    // it as it is now, to show their values beside what was
                    // typed (which stays) and save against their version.
                    if let (ErrorKind::Conflict, forms::FormKind::Edit { resource, key, .. }) =
                        (e.kind, &f.kind)
                    {
                        let request = Request::Row {
                            resource: *resource,
                            key: key.clone(),
                        };
                        self.send(Slot::Form, request);
                    }
                }
                _ => self.status = Some((e.message, true)),
            },
        }
        true
    }

    /// After saving the admin's own password or preferences, the session
    /// follows without another round trip: the form holds what was saved.
    fn saved_own_settings(&mut self, f: &Form) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        match f.kind {
            forms::FormKind::OwnPassword { .. } => session.must_change_password = false,
            forms::FormKind::Preferences { version } => {
                use forms::Own;
                let value = |id: Own| f.value(id).trim().to_string();
                let p = &mut session.preferences;
                p.theme = value(Own::Theme).to_ascii_lowercase();
                p.timezone = value(Own::Timezone);
                p.language = value(Own::Language);
                p.version = version + 1;
                crate::timefmt::set_zone(p.tz());
                self.theme = self.theme.with_preference(&p.theme);
            }
            _ => {}
        }
    }

    fn on_impact(&mut self, result: Result<Response, Failure>) -> bool {
        let Some(Modal::Confirm(c)) = self.modal.as_mut() else {
            return false;
        };
        match result {
            Ok(Response::Impact(text, n)) => {
                c.text = Some(text);
                c.rows = n;
            }
            Ok(other) => return self.unexpected(Slot::Impact, &other),
            Err(e) => {
                // Nothing to confirm when the row cannot even be looked at.
                c.error = Some(e.message);
                c.write = None;
            }
        }
        true
    }

    fn on_action(&mut self, slot: Slot, result: Result<Response, Failure>) -> bool {
        let bulk = std::mem::take(&mut self.bulk_writing);
        match result {
            Ok(Response::Done(outcome)) => {
                let msg = outcome.to_string();
                if bulk {
                    if let Some(Screen::Table(t)) = self.stack.last_mut() {
                        t.clear_marks();
                    }
                }
                self.status = Some((msg, false));
                self.refresh_top();
            }
            Ok(other) => return self.unexpected(slot, &other),
            Err(e) => self.show_failure(e),
        }
        true
    }

    /// A refused write: one line goes to the status line; many (every bad
    /// line of an import, every stale row of an edit) open a scrollable
    /// panel, unless the admin is busy in another dialog.
    fn show_failure(&mut self, e: Failure) {
        let first = e.message.lines().next().unwrap_or_default().to_string();
        let free = matches!(
            self.modal,
            None | Some(Modal::Help(_)) | Some(Modal::Form(_))
        );
        if e.message.contains('\n') && free {
            self.modal = Some(Modal::Text(overlay::TextView::wrapped(
                "Refused: nothing was changed",
                &e.message,
            )));
        }
        self.status = Some((first, true));
    }

    /// A reply of a kind `slot` never gets: an internal error on the status
    /// line, so the mismatch is seen and reported instead of lost.
    fn unexpected(&mut self, slot: Slot, reply: &Response) -> bool {
        self.status = Some((
            format!(
                "internal error: a {} reply came for {slot:?}, which never asks for one; please report this",
                reply.kind()
            ),
            true,
        ));
        true
    }
}

/// The history panel's lines: a sparkline of the recorded change points and
/// the range they cover.
fn history_fields(points: &[(chrono::NaiveDateTime, i64)]) -> Vec<(String, String)> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return vec![(
            "history".into(),
            "no samples yet (postfix-manager quota sample)".into(),
        )];
    };
    let values: Vec<i64> = points.iter().map(|p| p.1).collect();
    let size = crate::units::human;
    vec![
        (
            "usage".into(),
            crate::tui::dashboard::sparkline(&values, 50),
        ),
        ("changes".into(), points.len().to_string()),
        (
            "from".into(),
            format!("{} ({})", crate::tui::rows::time(&first.0), size(first.1)),
        ),
        (
            "to".into(),
            format!("{} ({})", crate::tui::rows::time(&last.0), size(last.1)),
        ),
        (
            "lowest".into(),
            size(values.iter().copied().min().unwrap_or(0)),
        ),
        (
            "highest".into(),
            size(values.iter().copied().max().unwrap_or(0)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::theme::Theme;

    #[test]
    fn a_reply_of_the_wrong_kind_is_shown_not_dropped() {
        let theme = Theme {
            color: false,
            light: false,
            overrides: Default::default(),
        };
        let mut app = App::new(theme, (100, 30), None, "test.db".into());
        app.inflight.insert(Slot::Form, 7);
        let redraw = app.on_reply(Reply {
            tag: Tag {
                slot: Slot::Form,
                gen: 7,
            },
            result: Ok(Response::Unchanged),
            warnings: Vec::new(),
        });
        assert!(redraw);
        let (line, failed) = app.status.clone().expect("a status line");
        assert!(
            failed && line.contains("unchanged reply came for Form"),
            "{line}"
        );
    }

    /// Beside the field goes the refusal's own message for it, whatever the
    /// whole message says (it is not cut out of the Display text).
    #[test]
    fn a_refused_field_shows_its_own_message() {
        let theme = Theme {
            color: false,
            light: false,
            overrides: Default::default(),
        };
        let mut app = App::new(theme, (100, 30), None, "test.db".into());
        let Some(form) = forms::create(crate::model::Entity::Mailboxes, None) else {
            panic!("mailboxes have a create form");
        };
        app.modal = Some(Modal::Form(form));
        app.inflight.insert(Slot::Form, 3);
        app.on_reply(Reply {
            tag: Tag {
                slot: Slot::Form,
                gen: 3,
            },
            result: Err(Failure {
                kind: ErrorKind::Invalid,
                field: Some(("quota".into(), "exceeds the domain's limit".into())),
                message: "mailbox bob@example.com: quota: exceeds the domain's limit".into(),
            }),
            warnings: Vec::new(),
        });
        let Some(Modal::Form(f)) = &app.modal else {
            panic!("the form stays open");
        };
        let quota = f.fields.iter().find(|x| x.name == "quota");
        assert_eq!(
            quota.and_then(|x| x.error.as_deref()),
            Some("exceeds the domain's limit")
        );
        assert_eq!(f.message, None);
    }
}
