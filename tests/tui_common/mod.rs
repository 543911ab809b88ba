//! Drives the real TUI state machine against a real SQLite database through
//! the real worker threads, and draws it on ratatui's TestBackend. Nothing
//! is mocked: a test that passes here passed through ops and SQL.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use postfix_manager::db::AnyConnection;
use postfix_manager::ops::Ctx;
use postfix_manager::tui::app::App;
use postfix_manager::tui::theme::Theme;
use postfix_manager::worker::{Reply, Worker};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::common::{self, TestDb};

pub struct Tui {
    pub app: App,
    pub term: Terminal<TestBackend>,
    /// A connection and the bootstrap admin, for fixtures and for checking
    /// what the TUI wrote.
    pub conn: AnyConnection,
    pub admin: Ctx,
    worker: Option<Worker>,
    replies: UnboundedReceiver<Reply>,
    pub db: TestDb,
}

impl Tui {
    pub fn new(w: u16, h: u16) -> Tui {
        Tui::on(TestDb::sqlite(), w, h)
    }

    /// The TUI on a given database (PostgreSQL for tests on both backends).
    pub fn on(db: TestDb, w: u16, h: u16) -> Tui {
        Tui::with_policy(db, w, h, common::policy())
    }

    /// The TUI whose worker runs with `policy` (an audit seal, say).
    pub fn with_policy(db: TestDb, w: u16, h: u16, policy: postfix_manager::ops::Policy) -> Tui {
        let host = postfix_manager::worker::HostSettings {
            url: Some(db.url.clone()),
            ..Default::default()
        };
        Tui::with_host(db, w, h, policy, Default::default(), host)
    }

    /// The TUI whose worker has this secrets key file (`directory`) and
    /// host settings (`url` is filled in when empty).
    pub fn with_host(
        db: TestDb,
        w: u16,
        h: u16,
        policy: postfix_manager::ops::Policy,
        directory: postfix_manager::ops::auth::Directory,
        mut host: postfix_manager::worker::HostSettings,
    ) -> Tui {
        let mut conn = db.conn();
        let admin = common::admin(&mut conn);
        let (tx, replies) = tokio::sync::mpsc::unbounded_channel();
        host.url.get_or_insert_with(|| db.url.clone());
        let worker =
            Worker::spawn_with(db.conn(), db.conn(), policy, directory, host, tx).expect("worker");
        let app = App::new(
            Theme {
                color: false,
                light: false,
                overrides: Default::default(),
            },
            (w, h),
            None,
            "test.db".into(),
        );
        let term = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        Tui {
            app,
            term,
            conn,
            admin,
            worker: Some(worker),
            replies,
            db,
        }
    }

    /// Hand queued requests to the worker and feed replies back until
    /// nothing is pending.
    pub fn settle(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(w) = &self.worker {
                for job in self.app.take_jobs() {
                    assert!(w.send(job), "worker gone");
                }
            }
            if self.app.idle() {
                return;
            }
            match self.replies.try_recv() {
                Ok(r) => {
                    self.app.on_reply(r);
                }
                Err(_) => {
                    assert!(Instant::now() < deadline, "worker did not answer in time");
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }

    /// Hand queued requests to the worker without waiting for answers.
    pub fn send_only(&mut self) {
        if let Some(w) = &self.worker {
            for job in self.app.take_jobs() {
                assert!(w.send(job), "worker gone");
            }
        }
    }

    /// The next reply from the worker, not yet given to the app.
    pub fn next_reply(&mut self, within: Duration) -> Option<Reply> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(r) = self.replies.try_recv() {
                return Some(r);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Press a key without waiting for the worker.
    pub fn key_nowait(&mut self, code: KeyCode) -> bool {
        self.app.on_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    /// Keys of the rows on the top table screen.
    pub fn rows(&self) -> Vec<String> {
        match self.app.stack.last() {
            Some(postfix_manager::tui::app::Screen::Table(t)) => {
                t.rows.iter().map(|r| r.key.clone()).collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn selected(&self) -> Option<String> {
        match self.app.stack.last() {
            Some(postfix_manager::tui::app::Screen::Table(t)) => t.current().map(|r| r.key.clone()),
            _ => None,
        }
    }

    pub fn press(&mut self, code: KeyCode) -> bool {
        let dirty = self.app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        self.settle();
        dirty
    }

    pub fn ctrl(&mut self, c: char) -> bool {
        let dirty = self
            .app
            .on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
        self.settle();
        dirty
    }

    pub fn shift_tab(&mut self) {
        self.app
            .on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
        self.settle();
    }

    pub fn char(&mut self, c: char) -> bool {
        self.press(KeyCode::Char(c))
    }

    pub fn text(&mut self, s: &str) {
        for c in s.chars() {
            self.app
                .on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
        self.settle();
    }

    pub fn enter(&mut self) {
        self.press(KeyCode::Enter);
    }

    pub fn tab(&mut self) {
        self.press(KeyCode::Tab);
    }

    pub fn esc(&mut self) {
        self.press(KeyCode::Esc);
    }

    /// Clear the focused input (Ctrl-U, as in a shell).
    pub fn clear_field(&mut self) {
        self.ctrl('u');
    }

    pub fn command(&mut self, cmd: &str) {
        self.char(':');
        self.text(cmd);
        self.enter();
    }

    pub fn login(&mut self, user: &str, pw: &str) {
        self.text(user);
        self.enter();
        self.text(pw);
        self.enter();
    }

    pub fn login_admin(&mut self) {
        self.login("admin", common::ADMIN_PW);
        assert!(self.app.session.is_some(), "admin login failed");
    }

    pub fn resize(&mut self, w: u16, h: u16) {
        self.term.backend_mut().resize(w, h);
        self.app.on_resize(w, h);
        self.settle();
    }

    /// The screen as text, one line per row.
    pub fn screen(&mut self) -> String {
        let app = &self.app;
        self.term.draw(|f| app.draw(f)).expect("draw");
        let buf = self.term.backend().buffer();
        let mut out = String::new();
        for y in 0..buf.area.height {
            let mut line = String::new();
            for x in 0..buf.area.width {
                line.push_str(buf[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.shutdown(Duration::from_secs(5));
        }
    }
}

/// Snapshot a screen with times (which change every run) masked.
#[macro_export]
macro_rules! snap {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({
            filters => vec![(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "YYYY-MM-DD hh:mm")],
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!($name, $screen);
        });
    };
}

/// A domain with this description and total quota, created through ops.
pub fn domain(t: &mut Tui, name: &str, description: &str, quota: i64) {
    postfix_manager::ops::domains::create(
        &mut t.conn,
        &t.admin,
        name,
        &postfix_manager::ops::domains::DomainInput {
            description: Some(description.into()),
            quota_limit: Some(quota),
            ..Default::default()
        },
    )
    .expect("domain");
}

/// A mailbox with this quota and this much in use (set as Dovecot's quota
/// sync would: the column, which the triggers roll up into the domain).
pub fn mailbox(t: &mut Tui, address: &str, name: &str, quota: i64, used: i64) {
    use diesel::prelude::*;
    use postfix_manager::db::schema::mailboxes;
    postfix_manager::ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &postfix_manager::ops::mailboxes::NewMailbox {
            address: address.into(),
            password: "mailbox-password-1".into(),
            quota: Some(quota),
            name: Some(name.into()),
        },
    )
    .expect("mailbox");
    diesel::update(mailboxes::table.filter(mailboxes::username.eq(address)))
        .set(mailboxes::quota_used.eq(used))
        .execute(&mut t.conn)
        .expect("usage");
}
