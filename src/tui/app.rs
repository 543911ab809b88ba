//! The app's state, its screen stack and modal, and its answers to
//! ticks and resizes (worker replies: `replies.rs`; keys: `input.rs`,
//! `modals.rs`, `commands.rs`; actions: `action.rs`; drawing: `view.rs`). No terminal and no database here: every input returns whether
//! the screen must be redrawn, and requests wait in an outbox the event loop
//! hands to the worker. That is what lets tests drive it with a real worker
//! and draw it on a `TestBackend`.

use std::collections::HashMap;

use ratatui::layout::{Constraint, Layout, Rect};
use tui_input::Input;

use super::dashboard::Dashboard;
use super::form::Form;
use super::login::LoginScreen;
use super::overlay::{self, Confirm, Detail};
use super::table::TableScreen;
use super::tail::{self, Tail};
use super::theme::Theme;
use crate::model::Entity;
use crate::num::u16_from;
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
    /// `:totp`: enrolling a second factor (boxed: QR lines and secrets).
    Totp(Box<super::totp::TotpScreen>),
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
    pub(super) inflight: HashMap<Slot, u64>,
    pub(super) next_gen: u64,
    pub(super) outbox: Vec<Job>,
    pub(super) ticks: u64,
    /// Seconds without a key before the screen locks (0: never).
    pub lock_after: u64,
    /// Seconds since the last key.
    pub(super) idle: u64,
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
    pub(super) draft: Option<(Box<crate::sheet::Sheet>, String)>,
    /// `[quota]` thresholds and refresh interval for the dashboard.
    pub(super) quota: crate::config::QuotaSettings,
    /// Tab completion on the `:` line: what was typed and the candidate
    /// shown now.
    pub(super) completing: Option<(String, usize)>,
    /// "Mark all matching" in progress: the screen and filter it marks for.
    pub(super) marking: Option<(Entity, crate::store::Filter)>,
    /// A confirmed bulk write is out: its success clears the marks.
    pub(super) bulk_writing: bool,
    /// `Action::FormFrom`: the form the awaited `Slot::Text` outcome opens.
    pub(super) form_from: Option<fn(&crate::ops::command::Outcome) -> Option<super::form::Form>>,
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
        u16_from(tail::LINES).saturating_add(2)
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
            form_from: None,
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

    pub(super) fn send(&mut self, slot: Slot, request: Request) {
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
    pub(super) fn min_size(&self) -> (u16, u16) {
        if self.session.is_none() || self.lock.is_some() {
            (LOGIN_MIN_WIDTH, LOGIN_MIN_HEIGHT)
        } else {
            (MIN_WIDTH, MIN_HEIGHT)
        }
    }

    pub(super) fn too_small(&self) -> bool {
        let (w, h) = self.min_size();
        self.size.0 < w || self.size.1 < h
    }

    pub(super) fn body_capacity(&self) -> (usize, usize) {
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

    pub(super) fn top_slot(&self) -> Option<Slot> {
        match self.stack.last()? {
            Screen::Dashboard(_) => Some(Slot::Dashboard),
            Screen::Table(t) => Some(Slot::Table(t.resource)),
        }
    }

    /// Fit the top screen to the current size and ask for its rows again.
    pub(super) fn refresh_top(&mut self) {
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
        self.check_alerts();
    }

    /// The dashboard's sending alert, asked whenever the dashboard is
    /// (re)loaded or checked, one at a time.
    fn check_alerts(&mut self) {
        if matches!(self.stack.last(), Some(Screen::Dashboard(_))) && !self.waiting(Slot::Alerts) {
            self.send(Slot::Alerts, Dashboard::alert_check());
        }
    }

    pub(super) fn open(&mut self, resource: Entity, scope: Option<(i32, String)>) {
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
    pub(super) fn refit(&mut self) {
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
                self.check_alerts();
            }
            return redraw;
        }
        false
    }

    /// Esc (or `u`) while marking: stop asking; what is marked stays.
    pub(super) fn stop_marking(&mut self) -> bool {
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
}
