//! The app's state and its answers to keys, worker replies, ticks and
//! resizes. No terminal and no database here: every input returns whether
//! the screen must be redrawn, and requests wait in an outbox the event loop
//! hands to the worker. That is what lets tests drive it with a real worker
//! and draw it on a `TestBackend`.

use std::collections::HashMap;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::action::Action;
use super::dashboard::Dashboard;
use super::form::{Form, FormKey};
use super::forms;
use super::keys::{self, Cmd, Offer};
use super::login::{LoginKey, LoginScreen};
use super::overlay::{self, Confirm, ConfirmKey, Detail};
use super::resources;
use super::table::TableScreen;
use super::tail::{self, Tail};
use super::theme::Theme;
use crate::model::{Entity, Role};
use crate::worker::{Job, Request, Session, Slot, Tag};

// A child of this module, so the reply handlers keep the app's private
// state private.
#[path = "replies.rs"]
mod replies;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;
/// The login and lock screens need far less: a phone's SSH client or a
/// split pane must be able to log in (and see why it failed).
pub const LOGIN_MIN_WIDTH: u16 = 40;
pub const LOGIN_MIN_HEIGHT: u16 = 12;

pub enum Screen {
    Dashboard(Dashboard),
    Table(TableScreen),
}

pub enum Modal {
    Form(Form),
    /// Boxed: it holds the pending write, the largest of the modals.
    Confirm(Box<Confirm>),
    Detail(Detail),
    /// A config file or a diff, scrollable.
    Text(overlay::TextView),
    /// The `?` help, scrolled this many lines.
    Help(u16),
    /// The `:` line.
    Command(Input),
}

pub struct App {
    pub theme: Theme,
    pub size: (u16, u16),
    pub session: Option<Session>,
    pub login: LoginScreen,
    pub stack: Vec<Screen>,
    pub modal: Option<Modal>,
    pub tail: Tail,
    /// The status line: text and whether it reports a failure.
    pub status: Option<(String, bool)>,
    pub quit: bool,
    /// Ctrl-Z: the event loop restores the terminal and stops the process.
    pub suspend: bool,
    pub db_label: String,
    inflight: HashMap<Slot, u64>,
    next_gen: u64,
    outbox: Vec<Job>,
    ticks: u64,
    /// Seconds without a key before the screen locks (0: never).
    pub lock_after: u64,
    /// Seconds since the last key.
    idle: u64,
    /// The idle lock, drawn over everything; forms underneath keep their text.
    pub lock: Option<super::lock::LockScreen>,
    /// Command keys moved in the config file's `[keys]`.
    pub keymap: super::keymap::KeyMap,
    /// The SQLite file, when there is one (a backup's default name ends
    /// in `.db` then, `.sql` otherwise).
    pub db_file: Option<std::path::PathBuf>,
    /// Something to open in $EDITOR. The event loop takes it, hands the
    /// terminal to the editor, and gives the result back through `edited`
    /// or `edited_mailboxes`.
    pub editor: Option<EditorJob>,
    /// An edit refused for bad lines: its sheet and the admin's text (with
    /// the reasons appended), which `E` on the same rows reopens instead of
    /// starting again from the database.
    draft: Option<(Box<crate::sheet::Sheet>, String)>,
    /// `[quota]` thresholds and refresh interval for the dashboard.
    quota: crate::config::QuotaSettings,
    /// Tab completion on the `:` line: what was typed and the candidate
    /// shown now.
    completing: Option<(String, usize)>,
    /// "Mark all matching" in progress: the screen and filter it marks for.
    marking: Option<(Entity, crate::store::Filter)>,
    /// A confirmed bulk write is out: its success clears the marks.
    bulk_writing: bool,
}

/// What the event loop opens in $EDITOR.
#[derive(Debug)]
pub enum EditorJob {
    /// A mail server config version: (id, file name hint, text).
    Config(i32, String, String),
    /// The marked rows, as a tab-separated file; with the admin's own
    /// text when reopening an edit that had bad lines.
    Rows(Box<crate::sheet::Sheet>, Option<String>),
}

/// Where things go on screen; shared by drawing and by page sizing, so a
/// page holds exactly the rows that will be drawn.
pub struct Areas {
    pub header: Rect,
    pub body: Rect,
    pub tail: Option<Rect>,
    pub status: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect, tail_visible: bool) -> Areas {
    let tail_h = if tail_visible {
        tail::LINES as u16 + 2
    } else {
        0
    };
    let [header, body, tail, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(tail_h),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Areas {
        header,
        body,
        tail: tail_visible.then_some(tail),
        status,
        footer,
    }
}

impl App {
    pub fn new(theme: Theme, size: (u16, u16), user: Option<&str>, db_label: String) -> App {
        App {
            theme,
            size,
            session: None,
            login: LoginScreen::new(user),
            stack: Vec::new(),
            modal: None,
            tail: Tail::default(),
            status: None,
            quit: false,
            suspend: false,
            db_label,
            inflight: HashMap::new(),
            next_gen: 0,
            outbox: Vec::new(),
            ticks: 0,
            lock_after: super::lock::DEFAULT_AFTER_SECS,
            idle: 0,
            lock: None,
            db_file: None,
            keymap: Default::default(),
            editor: None,
            draft: None,
            quota: crate::config::QuotaSettings::default(),
            completing: None,
            marking: None,
            bulk_writing: false,
        }
    }

    /// Use the config's `[quota]` settings (before logging in).
    pub fn set_quota_settings(&mut self, q: crate::config::QuotaSettings) {
        self.quota = q;
    }

    /// Requests to hand to the worker, oldest first.
    pub fn take_jobs(&mut self) -> Vec<Job> {
        std::mem::take(&mut self.outbox)
    }

    /// Nothing queued and no reply awaited (tests wait for this).
    pub fn idle(&self) -> bool {
        self.inflight.is_empty() && self.outbox.is_empty()
    }

    /// Is a request for this slot still awaited?
    pub fn waiting(&self, slot: Slot) -> bool {
        self.inflight.contains_key(&slot)
    }

    fn send(&mut self, slot: Slot, request: Request) {
        self.next_gen += 1;
        // Replacing the slot's generation is what makes any older reply
        // for it stale.
        self.inflight.insert(slot, self.next_gen);
        self.outbox.push(Job {
            tag: Tag {
                slot,
                gen: self.next_gen,
            },
            request,
        });
    }

    /// The size the current screen needs.
    fn min_size(&self) -> (u16, u16) {
        if self.session.is_none() || self.lock.is_some() {
            (LOGIN_MIN_WIDTH, LOGIN_MIN_HEIGHT)
        } else {
            (MIN_WIDTH, MIN_HEIGHT)
        }
    }

    fn too_small(&self) -> bool {
        let (w, h) = self.min_size();
        self.size.0 < w || self.size.1 < h
    }

    fn body_capacity(&self) -> (usize, usize) {
        let a = areas(Rect::new(0, 0, self.size.0, self.size.1), self.tail.visible);
        // Table: borders and the column header. Dashboard: totals box,
        // then the usage table's borders and header.
        let table = a.body.height.saturating_sub(3) as usize;
        // Dashboard: the summary box, then two tables sharing the rest,
        // each with borders and a header.
        let dash = (a
            .body
            .height
            .saturating_sub(super::dashboard::SUMMARY_HEIGHT)
            / 2)
        .saturating_sub(3) as usize;
        (table, dash)
    }

    fn top_slot(&self) -> Option<Slot> {
        match self.stack.last()? {
            Screen::Dashboard(_) => Some(Slot::Dashboard),
            Screen::Table(t) => Some(Slot::Table(t.resource)),
        }
    }

    /// Fit the top screen to the current size and ask for its rows again.
    fn refresh_top(&mut self) {
        let (table_cap, dash_cap) = self.body_capacity();
        let request = match self.stack.last_mut() {
            Some(Screen::Dashboard(d)) => {
                d.set_capacity(dash_cap);
                Some(d.reload())
            }
            Some(Screen::Table(t)) => {
                t.set_capacity(table_cap);
                Some(t.reload())
            }
            None => None,
        };
        if let (Some(slot), Some(r)) = (self.top_slot(), request) {
            self.send(slot, r);
        }
    }

    fn open(&mut self, resource: Entity, scope: Option<(i32, String)>) {
        let Some(session) = &self.session else {
            return;
        };
        self.stack.push(Screen::Table(TableScreen::new(
            resource,
            scope,
            session.role,
        )));
        self.refresh_top();
    }

    pub fn on_event(&mut self, ev: Event) -> bool {
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            Event::Resize(w, h) => self.on_resize(w, h),
            Event::Paste(text) => self.on_paste(&text),
            _ => false,
        }
    }

    /// Bracketed paste: the text goes into the field being typed in, as if
    /// typed, except that a line break is never Enter. Every field is one
    /// line, so a paste holding one is refused whole, saying which field.
    /// Outside a field a paste does nothing.
    fn on_paste(&mut self, text: &str) -> bool {
        self.idle = 0;
        let refused = |field: &str| {
            format!(
                "Paste refused: {field} takes one line and the pasted text has a line break; nothing was inserted."
            )
        };
        if let Some(lock) = self.lock.as_mut() {
            return lock.paste(text);
        }
        if self.too_small() {
            return false;
        }
        if self.session.is_none() {
            return self.login.paste(text);
        }
        match self.modal.as_mut() {
            Some(Modal::Form(f)) => match f.paste(text) {
                Ok(changed) => changed,
                Err(label) => {
                    self.status = Some((refused(&label), true));
                    true
                }
            },
            Some(Modal::Command(input)) => match super::form::one_line(text) {
                Some(t) => {
                    self.completing = None;
                    super::form::insert(input, &t);
                    true
                }
                None => {
                    self.status = Some((refused("the : line"), true));
                    true
                }
            },
            Some(_) => false,
            None => match self.stack.last_mut() {
                Some(Screen::Table(t)) if t.captures_input() => match t.paste(text) {
                    Some(action) => self.apply(action),
                    None => {
                        self.status = Some((refused("the filter"), true));
                        true
                    }
                },
                _ => false,
            },
        }
    }

    pub fn on_resize(&mut self, w: u16, h: u16) -> bool {
        self.size = (w, h);
        // Locked, nothing under the lock screen is shown, so nothing is
        // fetched for it (a 40x12 lock would otherwise shrink the page to
        // a row or two and ask the database for it); unlocking reloads the
        // top screen at whatever size the terminal has then.
        if self.session.is_some() && self.lock.is_none() && !self.too_small() {
            self.refit();
        }
        true
    }

    /// Re-ask the top screen for a page of the new height, if it changed.
    fn refit(&mut self) {
        let (table_cap, dash_cap) = self.body_capacity();
        let request = match self.stack.last_mut() {
            Some(Screen::Dashboard(d)) => d.set_capacity(dash_cap),
            Some(Screen::Table(t)) => t.set_capacity(table_cap),
            None => None,
        };
        if let (Some(slot), Some(r)) = (self.top_slot(), request) {
            self.send(slot, r);
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> bool {
        if keys::binding(Cmd::QuitNow).matches(&key) {
            self.quit = true;
            return true;
        }
        if keys::binding(Cmd::Stop).matches(&key) {
            // Anywhere, even locked: what shows is the admin's own shell.
            self.suspend = true;
            return false;
        }
        self.idle = 0;
        if let Some(lock) = self.lock.as_mut() {
            let username = self
                .session
                .as_ref()
                .map(|s| s.username.clone())
                .unwrap_or_default();
            if let Some(password) = lock.on_key(key) {
                // Unlocking is logging in again as the same user: checked,
                // counted and audited like any login.
                self.send(Slot::Login, Request::Login { username, password });
            }
            return true;
        }
        if self.too_small() {
            if key.code == KeyCode::Char('q') {
                self.quit = true;
            }
            return false;
        }
        if self.session.is_none() {
            return match self.login.handle_key(key) {
                LoginKey::Ignored => false,
                LoginKey::Redraw => true,
                LoginKey::Submit(r) => {
                    self.send(Slot::Login, r);
                    true
                }
            };
        }
        if self.modal.is_some() {
            return self.modal_key(key);
        }
        if self.marking.is_some() && matches!(key.code, KeyCode::Esc | KeyCode::Char('u')) {
            self.stop_marking();
            if key.code == KeyCode::Esc {
                return true;
            }
        }
        let captures = matches!(self.stack.last(), Some(Screen::Table(t)) if t.captures_input());
        // Command keys follow `[keys]`; text being typed is never translated.
        let key = if captures {
            key
        } else {
            self.keymap.translate(key)
        };
        if !captures {
            let global = |c| {
                matches!(
                    c,
                    Cmd::Command | Cmd::Help | Cmd::Quit | Cmd::Tail | Cmd::Back | Cmd::Message
                )
            };
            match keys::lookup(&key, global) {
                Some(Cmd::Command) => {
                    self.modal = Some(Modal::Command(Input::default()));
                    return true;
                }
                Some(Cmd::Help) => {
                    self.modal = Some(Modal::Help(0));
                    return true;
                }
                Some(Cmd::Quit) => {
                    self.quit = true;
                    return true;
                }
                Some(Cmd::Tail) => {
                    self.tail.visible = !self.tail.visible;
                    if self.tail.visible && !self.waiting(Slot::Tail) {
                        let r = self.tail.poll();
                        self.send(Slot::Tail, r);
                    }
                    self.refit();
                    return true;
                }
                Some(Cmd::Message) => {
                    let Some((text, _)) = &self.status else {
                        return false;
                    };
                    self.modal = Some(Modal::Text(overlay::TextView::message("Message", text)));
                    return true;
                }
                Some(Cmd::Back) => {
                    // A filter applied is the first thing Esc takes back,
                    // as in k9s and lazygit; then the screen itself.
                    if let Some(Screen::Table(t)) = self.stack.last_mut() {
                        if let Some(r) = t.clear_filter() {
                            self.status = None;
                            return self.apply(Action::Fetch(r));
                        }
                    }
                    if self.stack.len() > 1 {
                        self.stack.pop();
                        self.refresh_top();
                        return true;
                    }
                    return false;
                }
                _ => {}
            }
        }
        let action = match self.stack.last_mut() {
            Some(Screen::Dashboard(d)) => d.handle_key(key),
            Some(Screen::Table(t)) => t.handle_key(key),
            None => Action::Ignored,
        };
        if !matches!(action, Action::Ignored) {
            self.status = None;
        }
        self.apply(action)
    }

    fn apply(&mut self, action: Action) -> bool {
        match action {
            Action::Ignored => false,
            Action::Redraw => true,
            Action::Fetch(r) => {
                if let Some(slot) = self.top_slot() {
                    self.send(slot, r);
                }
                true
            }
            Action::Open(r, scope) => {
                self.open(r, scope);
                true
            }
            Action::OpenForm(f) => {
                self.modal = Some(Modal::Form(f));
                true
            }
            Action::AskDelete {
                resource,
                key,
                write,
            } => {
                self.modal = Some(Modal::Confirm(Box::new(Confirm::new(write))));
                self.send(Slot::Impact, Request::DeleteImpact { resource, key });
                true
            }
            Action::AskBulk { preview, write } => {
                self.modal = Some(Modal::Confirm(Box::new(Confirm::new(write))));
                self.send(Slot::Impact, preview);
                true
            }
            Action::EditMarked(table, keys) => {
                let same = |sheet: &crate::sheet::Sheet| {
                    sheet.table == table && {
                        let a: std::collections::BTreeSet<&str> = sheet.keys().collect();
                        let b: std::collections::BTreeSet<&str> =
                            keys.iter().map(String::as_str).collect();
                        a == b
                    }
                };
                if let Some((sheet, text)) = self.draft.take() {
                    if same(&sheet) {
                        self.status = None;
                        self.editor = Some(EditorJob::Rows(sheet, Some(text)));
                        return true;
                    }
                }
                self.status = Some((format!("Loading the marked {}…", table.plural()), false));
                self.send(Slot::Text, Request::Sheet { table, keys });
                true
            }
            Action::MarkAll(resource, filter) => {
                self.status = Some(("Marking every matching row… (Esc stops)".into(), false));
                self.marking = Some((resource, filter.clone()));
                self.send(
                    Slot::Marks,
                    Request::MatchingKeys {
                        resource,
                        filter,
                        after: None,
                    },
                );
                true
            }
            Action::Write(w) => {
                self.status = Some(("Working…".into(), false));
                self.send(Slot::Action, Request::Run(w.into_command()));
                true
            }
            Action::Detail(title, fields) => {
                self.modal = Some(Modal::Detail(Detail { title, fields }));
                true
            }
            Action::Status(s) => {
                self.status = Some((s, false));
                true
            }
            Action::ConfigText(id, mode) => {
                self.status = Some(("Loading…".into(), false));
                self.send(Slot::Text, Request::ConfigText { id, mode });
                true
            }
            Action::AskConfirm { text, write } => {
                let mut c = Confirm::new(write);
                c.text = Some(text);
                c.rows = 1;
                self.modal = Some(Modal::Confirm(Box::new(c)));
                true
            }
            Action::History(resource, id, title) => {
                self.modal = Some(Modal::Detail(Detail {
                    title,
                    fields: vec![("history".into(), "loading…".into())],
                }));
                self.send(
                    Slot::History,
                    Request::History {
                        mailbox: resource == Entity::Mailboxes,
                        id,
                    },
                );
                true
            }
        }
    }

    fn modal_key(&mut self, key: KeyEvent) -> bool {
        let Some(modal) = self.modal.as_mut() else {
            return false;
        };
        match modal {
            Modal::Help(scroll) => {
                // Scrolling keys scroll a help taller than the screen; any
                // other key closes it.
                let page = self.size.1.saturating_sub(8).max(1);
                *scroll = match key.code {
                    KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::PageDown => scroll.saturating_add(page),
                    KeyCode::PageUp => scroll.saturating_sub(page),
                    _ => {
                        self.modal = None;
                        return true;
                    }
                };
                true
            }
            Modal::Text(t) => {
                let page = usize::from(self.size.1.saturating_sub(6));
                match t.handle_key(key, page) {
                    Some(true) => true,
                    Some(false) => {
                        self.modal = None;
                        true
                    }
                    None => false,
                }
            }
            Modal::Detail(_) => {
                if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                    self.modal = None;
                    return true;
                }
                false
            }
            Modal::Confirm(c) => match c.handle_key(key) {
                ConfirmKey::Ignored => false,
                ConfirmKey::Redraw => true,
                ConfirmKey::Cancel => {
                    let said = if c.is_delete() {
                        "Nothing deleted."
                    } else {
                        "Nothing changed."
                    };
                    self.modal = None;
                    // A late impact count for a closed dialog is dropped.
                    self.inflight.remove(&Slot::Impact);
                    self.status = Some((said.into(), false));
                    true
                }
                ConfirmKey::Confirm(w) => {
                    let deleting = c.is_delete();
                    self.modal = None;
                    // The marks go once the bulk write has succeeded; a
                    // refused one leaves them for another try.
                    self.bulk_writing = matches!(w, crate::worker::Write::Bulk { .. });
                    let working = if deleting {
                        "Deleting…"
                    } else {
                        "Working…"
                    };
                    self.status = Some((working.into(), false));
                    self.send(Slot::Action, Request::Run(w.into_command()));
                    true
                }
            },
            Modal::Form(f) => match f.handle_key(key) {
                FormKey::Ignored => false,
                FormKey::Changed => true,
                FormKey::Cancel => {
                    if f.kind == (forms::FormKind::OwnPassword { required: true }) {
                        self.status = Some((
                            "A new password is required before anything else (Ctrl-C quits)."
                                .into(),
                            true,
                        ));
                        return true;
                    }
                    self.modal = None;
                    self.status = Some(("Cancelled; nothing was saved.".into(), false));
                    true
                }
                FormKey::Submit => {
                    f.min_password = self.session.as_ref().map(|s| s.min_password_length);
                    match forms::build(f) {
                        // A bulk form only collects the value: the preview
                        // dialog (default No) is what asks before writing.
                        Ok(crate::worker::Write::Bulk {
                            resource,
                            keys,
                            action,
                        }) => {
                            self.modal = None;
                            return self.apply(Action::bulk(resource, keys, action));
                        }
                        // Imports and exports run in the background with
                        // progress on the status line; one at a time.
                        Ok(
                            w @ (crate::worker::Write::ImportCsv { .. }
                            | crate::worker::Write::ExportCsv { .. }),
                        ) => {
                            if self.inflight.contains_key(&Slot::Transfer) {
                                f.set_errors(
                                    &[],
                                    Some(
                                        "an import or export is still running; wait for it".into(),
                                    ),
                                );
                                return true;
                            }
                            self.modal = None;
                            self.status = Some(("Starting…".into(), false));
                            self.send(Slot::Transfer, Request::Run(w.into_command()));
                            return true;
                        }
                        Ok(w) => {
                            if let Some(warning) = forms::below_usage(f, &w) {
                                f.set_errors(&[("quota".into(), warning)], None);
                                return true;
                            }
                            f.pending = true;
                            f.message = None;
                            self.send(Slot::Form, Request::Run(w.into_command()));
                        }
                        Err(errors) => f.set_errors(&errors, None),
                    }
                    true
                }
            },
            Modal::Command(input) => match key.code {
                KeyCode::Esc => {
                    self.modal = None;
                    self.completing = None;
                    true
                }
                KeyCode::Enter => {
                    let word = input.value().trim().to_string();
                    self.modal = None;
                    self.completing = None;
                    self.command(&word);
                    true
                }
                KeyCode::Tab => {
                    // The first Tab completes what was typed; each further
                    // Tab moves to the next word with that same beginning.
                    let typed = input.value().to_string();
                    if typed.contains(' ') {
                        return false;
                    }
                    let (prefix, next) = match self.completing.take() {
                        Some((p, i)) => (p, i + 1),
                        None => (typed, 0),
                    };
                    let hits = resources::completions(&prefix);
                    if hits.is_empty() {
                        self.status = Some((format!("nothing starts with {prefix:?}"), true));
                        return true;
                    }
                    let word = hits[next % hits.len()];
                    *input = Input::new(word.to_string());
                    self.status =
                        (hits.len() > 1).then(|| (format!("Tab: {}", hits.join(", ")), false));
                    self.completing = Some((prefix, next % hits.len()));
                    true
                }
                _ => {
                    self.completing = None;
                    input.handle_event(&Event::Key(key)).is_some()
                }
            },
        }
    }

    /// Run a `:` command: a screen name, or q/quit.
    pub fn command(&mut self, word: &str) {
        match word {
            "" => {}
            "q" | "quit" => self.quit = true,
            "dashboard" | "dash" | "home" => {
                self.stack.truncate(1);
                self.refresh_top();
            }
            "preferences" | "prefs" => {
                if let Some(s) = &self.session {
                    self.modal = Some(Modal::Form(forms::preferences(&s.preferences)));
                }
            }
            "password" | "passwd" => self.modal = Some(Modal::Form(forms::own_password(false))),
            "backup" => {
                let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
                let ext = if self.db_file.is_some() { "db" } else { "sql" };
                let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
                let default = format!("{home}/postfix-manager-{stamp}.{ext}");
                self.modal = Some(Modal::Form(forms::backup(&default)));
            }
            "maintain" | "vacuum" => {
                self.status = Some(("Maintaining the database…".into(), false));
                self.send(
                    Slot::Action,
                    Request::Run(Box::new(crate::ops::command::Maintain {
                        vacuum: word == "vacuum",
                    })),
                );
            }
            w if w == "import"
                || w.starts_with("import ")
                || w == "export"
                || w.starts_with("export ") =>
            {
                self.csv_form(w);
            }
            "restore" => {
                self.status = Some((
                    "Restore replaces the database under every open session: quit and run `postfix-manager db restore FILE`.".into(),
                    true,
                ));
            }
            other => match resources::by_command(other) {
                Some(r) => {
                    self.stack.truncate(1);
                    self.open(r, None);
                }
                None => {
                    let hits = resources::completions(other);
                    let text = if hits.len() > 1 {
                        format!(
                            ":{other} could be {}; type more, or Tab to complete",
                            hits.join(", ")
                        )
                    } else {
                        format!(
                            "no screen {other:?}; Tab completes, ? lists them: {}",
                            resources::command_words().join(", ")
                        )
                    };
                    self.status = Some((text, true));
                }
            },
        }
    }

    /// `:import [FILE]` / `:export [FILE]` on the domains, mailboxes or
    /// aliases screen: the form, pre-filled.
    fn csv_form(&mut self, line: &str) {
        let (verb, file) = line.split_once(' ').unwrap_or((line, ""));
        let Some(Screen::Table(t)) = self.stack.last() else {
            self.status = Some((
                format!("open the domains, mailboxes or aliases screen first; :{verb} works on its table"),
                true,
            ));
            return;
        };
        let table = t.resource;
        if !table.csv() {
            self.status = Some((
                format!(
                    "{} rows have no CSV form; use the domains, mailboxes or aliases screen",
                    table.noun()
                ),
                true,
            ));
            return;
        }
        let file = file.trim();
        self.modal = Some(Modal::Form(if verb == "import" {
            forms::import(table, file)
        } else {
            // A placeholder naming the default, not a value typing would
            // append to.
            let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
            let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
            let default = format!("{home}/postfix-manager-{}-{stamp}.csv", table.plural());
            let admin = self.session.as_ref().is_some_and(|s| s.role == Role::Admin);
            forms::export(table, t.export_filter(), file, &default, admin)
        }));
    }

    /// One second passed: poll the tail, refresh the dashboard now and then.
    pub fn on_tick(&mut self) -> bool {
        self.ticks += 1;
        self.idle += 1;
        if self.session.is_none() {
            return false;
        }
        if self.lock.is_some() {
            return false;
        }
        if self.lock_after > 0 && self.idle >= self.lock_after {
            self.lock = Some(super::lock::LockScreen::new(self.lock_after));
            return true;
        }
        if self.tail.visible && !self.waiting(Slot::Tail) {
            let r = self.tail.poll();
            self.send(Slot::Tail, r);
        }
        let may_check = self.modal.is_none() && !self.waiting(Slot::Dashboard);
        // A table screen under a form, dialog or help is not checked: what
        // the admin is editing stays exactly as it was opened.
        if let Some(Screen::Table(t)) = self.stack.last_mut() {
            let slot = Slot::Table(t.resource);
            let free = self.modal.is_none() && !self.inflight.contains_key(&slot);
            if let Some(r) = t.tick(free, self.quota.refresh_secs) {
                self.send(slot, r);
            }
            return false;
        }
        if let Some(Screen::Dashboard(d)) = self.stack.last_mut() {
            // The age label ticks; the data only moves when a reply says so.
            let (redraw, check) = d.tick(may_check);
            if let Some(r) = check {
                self.send(Slot::Dashboard, r);
            }
            return redraw;
        }
        false
    }

    /// Esc (or `u`) while marking: stop asking; what is marked stays.
    fn stop_marking(&mut self) -> bool {
        if self.marking.take().is_none() {
            return false;
        }
        self.inflight.remove(&Slot::Marks);
        let n = match self.stack.last() {
            Some(Screen::Table(t)) => t.marks.len(),
            _ => 0,
        };
        self.status = Some((
            format!(
                "Stopped marking: {} marked (u unmarks).",
                crate::ops::bulk::thousands(n)
            ),
            false,
        ));
        true
    }

    /// The event loop's hand-off to $EDITOR: the job, if one is waiting.
    pub fn take_editor(&mut self) -> Option<EditorJob> {
        self.editor.take()
    }

    /// The edited sheet: bad lines are shown with their numbers and change
    /// nothing; otherwise the changes wait for a Yes.
    pub fn edited_rows(
        &mut self,
        sheet: crate::sheet::Sheet,
        result: Result<String, String>,
    ) -> bool {
        let text = match result {
            Ok(t) => t,
            Err(e) => {
                self.status = Some((e, true));
                return true;
            }
        };
        let changes = match sheet.diff(&text) {
            Ok(c) => c,
            Err(e) => {
                let e = e.to_string();
                self.status = Some((
                    "The edited file has bad lines; nothing changed. E reopens your text.".into(),
                    true,
                ));
                self.modal = Some(Modal::Text(overlay::TextView::wrapped(
                    "Nothing changed: fix these lines (E reopens your text)",
                    &e,
                )));
                self.draft = Some((Box::new(sheet), crate::sheet::with_errors(&text, &e)));
                return true;
            }
        };
        if changes.is_empty() {
            self.status = Some(("No changes; nothing was written.".into(), false));
            return true;
        }
        let n = changes.len();
        let noun = if n == 1 {
            sheet.table.noun()
        } else {
            sheet.table.plural()
        };
        let diff = crate::sheet::describe(&changes);
        self.apply(Action::AskConfirm {
            text: edit_summary(n, noun, &diff),
            write: crate::worker::Write::EditRows {
                table: sheet.table,
                changes,
            },
        });
        if let Some(Modal::Confirm(c)) = self.modal.as_mut() {
            c.rows = n as i64;
        }
        true
    }

    /// The editor's result: a changed text becomes a new (inactive) version.
    pub fn edited(&mut self, id: i32, original: &str, result: Result<String, String>) -> bool {
        match result {
            Ok(text) if text == original => {
                self.status = Some(("No change; nothing was stored.".into(), false));
            }
            Ok(data) => {
                self.status = Some(("Storing the edited version…".into(), false));
                self.send(
                    Slot::Action,
                    Request::Run(Box::new(crate::ops::command::EditConfig { id, data })),
                );
            }
            Err(e) => self.status = Some((e, true)),
        }
        true
    }

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
                    rank: i as u8 + 1,
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
            Some(Modal::Command(_)) | None => {}
        }
        let status = match (&self.modal, &self.status) {
            (Some(Modal::Command(input)), _) => {
                let line = Line::from(vec![
                    Span::styled(":", self.theme.key()),
                    Span::raw(input.value().to_string()),
                ]);
                f.set_cursor_position((a.status.x + 1 + input.visual_cursor() as u16, a.status.y));
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

/// Lines of the change list the confirm dialog shows before "and N more".
const EDIT_LINES_SHOWN: usize = 10;

/// "Apply the edit: 3 mailboxes changed" and the first lines of what changes.
fn edit_summary(n: usize, noun: &str, diff: &str) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let mut s = format!(
        "Apply the edit: {} {noun} changed, in one transaction.\n",
        crate::ops::bulk::thousands(n),
    );
    for l in lines.iter().take(EDIT_LINES_SHOWN) {
        s.push_str(l);
        s.push('\n');
    }
    if lines.len() > EDIT_LINES_SHOWN {
        s.push_str(&format!(
            "… and {} more lines",
            crate::ops::bulk::thousands(lines.len() - EDIT_LINES_SHOWN)
        ));
    }
    s.trim_end().to_string()
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
