//! "Mark all matching" (`*`) on a million mailboxes, through the real App
//! state machine and the real worker threads, under every sort order (not a
//! test: nothing here asserts a time; figures go in docs/performance.md).
//!
//!   cargo bench --bench mark_all                    # SQLite, 1,000,000 mailboxes
//!   MARK_BENCH_ROWS=200000 cargo bench --bench mark_all
//!   POSTFIX_MANAGER_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/test cargo bench --bench mark_all
//!
//! For each order: seconds from `*` to the last key marked, and the peak
//! RSS; once, the latency of another screen's page read sent while marking
//! runs (the reader answers it between two chunks).

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use diesel::connection::SimpleConnection;
use diesel::Connection;
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::model::Entity;
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};
use postfix_manager::store::{Filter, Page};
use postfix_manager::tui::app::{App, Screen};
use postfix_manager::tui::theme::Theme;
use postfix_manager::worker::{Job, Reply, Request, Slot, Tag, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

const PW: &str = "bench-admin-password-1";

fn policy() -> Policy {
    Policy {
        bcrypt_cost: 4,
        ..Policy::default()
    }
}

fn admin(c: &mut AnyConnection) -> Ctx {
    let client = Client::from_env(ClientKind::Cli);
    ops::users::bootstrap_admin(c, &client, &policy(), "admin@example.net", PW).expect("bootstrap");
    ops::auth::login(c, "admin", PW, &client, &policy()).expect("login")
}

fn peak_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

struct Driver {
    app: App,
    worker: Worker,
    replies: UnboundedReceiver<Reply>,
}

impl Driver {
    fn pump(&mut self) {
        for job in self.app.take_jobs() {
            assert!(self.worker.send(job), "worker gone");
        }
    }

    /// Feed replies until nothing is pending.
    fn settle(&mut self) {
        loop {
            self.pump();
            if self.app.idle() {
                return;
            }
            match self.replies.try_recv() {
                Ok(r) => {
                    self.app.on_reply(r);
                }
                Err(_) => std::thread::sleep(Duration::from_micros(200)),
            }
        }
    }

    fn key(&mut self, c: KeyCode) {
        self.app.on_key(KeyEvent::new(c, KeyModifiers::NONE));
    }

    fn text(&mut self, s: &str) {
        for c in s.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    fn marked(&self) -> usize {
        match self.app.stack.last() {
            Some(Screen::Table(t)) => t.marks.len(),
            _ => 0,
        }
    }

    fn sort(&self) -> String {
        match self.app.stack.last() {
            Some(Screen::Table(t)) => format!(
                "{:?} {}",
                t.sort.key,
                if t.sort.desc { "desc" } else { "asc" }
            ),
            _ => String::new(),
        }
    }
}

fn run(name: &str, url: &DbUrl, rows: u64) {
    let mut c = db::connect(url, true).expect("connect");
    migrate::run_pending(&mut c).expect("migrate");
    let ctx = admin(&mut c);
    let t = Instant::now();
    ops::demo::seed(
        &mut c,
        &ctx,
        &ops::demo::SeedOptions {
            domains: (rows / 100).max(1),
            mailboxes: rows,
            aliases: 0,
            audit: 0,
            force: false,
        },
        &mut |_| {},
    )
    .expect("seed");
    println!(
        "{name}: seeded {rows} mailboxes in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (tx, replies) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::spawn(
        db::connect(url, false).expect("reader"),
        db::connect(url, false).expect("writer"),
        policy(),
        tx,
    )
    .expect("worker");
    let app = App::new(
        Theme {
            color: false,
            light: false,
            overrides: Default::default(),
        },
        (200, 50),
        None,
        "bench.db".into(),
    );
    let mut d = Driver {
        app,
        worker,
        replies,
    };
    d.text("admin");
    d.key(KeyCode::Enter);
    d.text(PW);
    d.key(KeyCode::Enter);
    d.settle();
    assert!(d.app.session.is_some(), "login");
    d.key(KeyCode::Char(':'));
    d.text("mailboxes");
    d.key(KeyCode::Enter);
    d.settle();
    for _ in 0..4 {
        for _ in 0..2 {
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            let t = Instant::now();
            d.key(KeyCode::Char('*'));
            d.settle();
            let s = t.elapsed().as_secs_f64();
            println!(
                "{name}: mark all {} rows sorted by {:<11}: {s:.2} s, peak RSS {} MiB",
                d.marked(),
                d.sort(),
                peak_kb() / 1024
            );
            assert_eq!(d.marked() as u64, rows, "every row marked");
            d.key(KeyCode::Char('u'));
            d.key(KeyCode::Char('O'));
            d.settle();
        }
        d.key(KeyCode::Char('o'));
        d.settle();
    }
    // Another screen's read while marking runs: sent right after `*`.
    d.key(KeyCode::Char('*'));
    d.pump();
    std::thread::sleep(Duration::from_millis(50));
    let probe = Tag {
        slot: Slot::Table(Entity::Domains),
        gen: u64::MAX,
    };
    let t = Instant::now();
    d.worker.send(Job {
        tag: probe,
        request: Request::List {
            resource: Entity::Domains,
            filter: Filter::default(),
            page: Page {
                after: None,
                limit: Some(50),
                backward: false,
            },
        },
    });
    let mut probe_ms = None;
    loop {
        d.pump();
        if d.app.idle() && probe_ms.is_some() {
            break;
        }
        match d.replies.try_recv() {
            Ok(r) if r.tag == probe => probe_ms = Some(t.elapsed().as_secs_f64() * 1000.0),
            Ok(r) => {
                d.app.on_reply(r);
            }
            Err(_) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
    println!(
        "{name}: a domains page read sent while marking: answered in {:.0} ms",
        probe_ms.unwrap_or_default()
    );
    d.worker.shutdown(Duration::from_secs(5));
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rows: u64 = std::env::var("MARK_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    run("sqlite", &DbUrl::Sqlite(dir.path().join("mark.db")), rows);
    if let Ok(base) = std::env::var("POSTFIX_MANAGER_BENCH_PG_URL") {
        let name = format!("pm_mark_{}", std::process::id());
        let mut admin_conn = diesel::PgConnection::establish(&base).expect("connect pg");
        admin_conn
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create db");
        let url = match base.rsplit_once('/') {
            Some((head, _)) => format!("{head}/{name}"),
            None => base.clone(),
        };
        run("postgres", &DbUrl::Postgres(url), rows);
        let _ = admin_conn.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"));
    }
}
