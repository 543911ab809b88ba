//! The terminal UI: `postfix-manager` with no subcommand. See
//! docs/architecture.md ("The TUI") for how the pieces fit.
//!
//! One tokio task on the main thread waits on three things at once: terminal
//! events, worker replies and a one-second tick. Each returns whether the
//! screen changed, and only then is a frame drawn; nothing redraws on a
//! timer. The database lives on the worker's threads (`crate::worker`).

mod action;
pub mod app;
mod bulk_forms;
mod cells;
mod commands;
mod csv_forms;
mod dashboard;
mod editing;
mod form;
mod forms;
mod input;
pub mod keymap;
pub mod keys;
mod lock;
mod login;
mod modals;
mod overlay;
mod reader;
pub mod rows;
mod spec;
mod table;
mod tail;
pub mod terminal;
pub mod theme;
pub mod totp;
mod vacation;
mod view;

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossterm::event::EventStream;
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::env::{Args, Env, EnvError};
use crate::worker::{Reply, Worker};
use app::App;

/// How long quitting waits for a write already running to finish.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Run the TUI until it is quit (`Ended::Quit`) or a signal ends it.
pub fn run(args: &Args) -> Result<Ended, EnvError> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(EnvError::Usage(
            "the terminal UI needs a terminal; for scripts run a subcommand (see --help)".into(),
        ));
    }
    if let Some(why) = terminal::unusable_term(std::env::var_os("TERM").as_deref()) {
        // Said before anything is drawn: no escape sequence reaches a
        // terminal that would print them as garbage.
        return Err(EnvError::Usage(format!(
            "the terminal UI cannot draw here ({why}); use the command line instead \
             (postfix-manager --help lists the commands), or set TERM to your terminal's type"
        )));
    }
    let env = Env::load(args)?;
    // Both connections are opened (and the schema checked) before the
    // screen changes, so a wrong URL is an ordinary error message.
    let reader = env.connect()?;
    let writer = env.connect()?;
    let io = EnvError::Terminal;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let worker = Worker::spawn_with(
        reader,
        writer,
        env.policy(),
        env.directory(),
        crate::worker::HostSettings {
            url: Some(env.url.clone()),
            mail: env.config.mail.clone(),
            dkim: crate::ops::dkim::Settings::from_config(&env.config.dkim),
            dns: env.config.dns.clone(),
            policyd: env.config.policyd.clone(),
        },
        tx,
    )
    .map_err(io)?;
    let lock_after = env.config.security.idle_lock_minutes.saturating_mul(60);
    // Checked before the screen changes, so a typo is an ordinary message.
    let keymap = keymap::KeyMap::parse(&env.config.keys)
        .map_err(|e| EnvError::Usage(format!("config: {e}")))?;
    let colors = theme::parse_colors(&env.config.colors)
        .map_err(|e| EnvError::Usage(format!("config: {e}")))?;
    let db_file = match &env.url {
        crate::db::DbUrl::Sqlite(p) => Some(p.clone()),
        crate::db::DbUrl::Postgres(_) => None,
    };
    let settings = Settings {
        db_label: env.url.redacted(),
        lock_after,
        keymap,
        colors,
        db_file,
        quota: env.config.quota.clone(),
    };
    let result = runtime.block_on(event_loop(env.user.as_deref(), settings, &worker, rx));
    worker.shutdown(SHUTDOWN_WAIT);
    let (stats, ended) = result.map_err(io)?;
    if std::env::var_os("POSTFIX_MANAGER_TUI_STATS").is_some() {
        eprintln!(
            "tui: {} frames, {} bytes written ({} per frame on average)",
            stats.frames,
            stats.bytes,
            stats.bytes / stats.frames.max(1)
        );
    }
    Ok(ended)
}

/// Debug builds only: with `POSTFIX_MANAGER_TEST_PANIC` set the TUI panics
/// once a frame is on the screen, so tests/panic_report.rs can check that a
/// panic leaves the terminal restored before its report. Release builds
/// have no such trigger.
#[cfg(debug_assertions)]
fn test_panic() {
    if std::env::var_os("POSTFIX_MANAGER_TEST_PANIC").is_some() {
        panic!("POSTFIX_MANAGER_TEST_PANIC is set: a panic under the TUI");
    }
}

/// How the event loop ended.
pub enum Ended {
    Quit,
    /// SIGHUP or SIGTERM, by number.
    Signal(u8),
}

impl Ended {
    /// 0 for a quit; for a signal the shell's convention for "killed by
    /// signal N", so scripts and service managers see the session did not
    /// end by choice.
    pub fn exit_code(&self) -> u8 {
        match self {
            Ended::Quit => 0,
            Ended::Signal(n) => n.saturating_add(128),
        }
    }
}

/// Longest a burst of input is read without a frame in between, so a
/// flood (a huge paste, a stuck key) still shows progress.
/// SIGHUP's number: what a session whose terminal went away ends with.
const HANGUP: u8 = 1;

const DRAIN_BUDGET: Duration = Duration::from_millis(100);

pub struct Stats {
    pub frames: u64,
    pub bytes: u64,
}

/// What the app takes from the config and the URL, applied once the
/// terminal is ours.
struct Settings {
    db_label: String,
    lock_after: u64,
    keymap: keymap::KeyMap,
    colors: [Option<ratatui::style::Color>; theme::ROLES.len()],
    db_file: Option<std::path::PathBuf>,
    quota: crate::config::QuotaSettings,
}

/// The app as the config and the URL set it up, for a terminal of `size`.
fn new_app(user: Option<&str>, settings: Settings, size: (u16, u16)) -> App {
    let mut app = App::new(theme::Theme::from_env(), size, user, settings.db_label);
    app.lock_after = settings.lock_after;
    app.keymap = settings.keymap;
    app.theme = app.theme.with_colors(settings.colors);
    app.db_file = settings.db_file;
    app.set_quota_settings(settings.quota);
    app
}

async fn event_loop(
    user: Option<&str>,
    settings: Settings,
    worker: &Worker,
    mut replies: UnboundedReceiver<Reply>,
) -> std::io::Result<(Stats, Ended)> {
    let mut guard = terminal::Guard::enter()?;
    let size = guard.terminal.size()?;
    let mut app = new_app(user, settings, (size.width, size.height));
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut hangup = hangup_signal()?;
    let mut frames = 0u64;
    let mut dirty = true;
    let mut ended = Ended::Quit;
    loop {
        if dirty {
            guard.terminal.draw(|f| app.draw(f))?;
            frames += 1;
            #[cfg(debug_assertions)]
            test_panic();
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    dirty = app.on_event(ev);
                    // Everything already typed (a burst, a paste without
                    // brackets) is handled before one frame is drawn:
                    // drawing after each key falls behind and leaves the
                    // screen showing the past.
                    dirty |= drain_input(&mut app);
                }
                // A failed read is an error (exit 1), an ended input a
                // hang-up: neither is a quit the user chose.
                Some(Err(e)) => return Err(e),
                None => {
                    ended = Ended::Signal(HANGUP);
                    break;
                }
            },
            Some(reply) = replies.recv() => dirty = app.on_reply(reply),
            _ = tick.tick() => dirty = app.on_tick(),
            n = hangup.recv() => {
                ended = Ended::Signal(n);
                break;
            }
        }
        if std::mem::take(&mut app.suspend) {
            // Ctrl-Z: as a shell would stop a program, after putting the
            // terminal back; `fg` continues here and repaints everything.
            drop(events);
            guard.suspend_for(|| {
                let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTSTP);
            })?;
            events = EventStream::new();
            if let Ok(size) = guard.terminal.size() {
                app.on_resize(size.width, size.height);
            }
            dirty = true;
        }
        if let Some(job) = app.take_editor() {
            // The editor owns the terminal meanwhile: stop reading keys
            // (a live EventStream would steal them) until it exits.
            drop(events);
            dirty = match job {
                app::EditorJob::Config(id, title, text) => {
                    let hint = title
                        .split(' ')
                        .next()
                        .unwrap_or("config")
                        .rsplit('/')
                        .next()
                        .unwrap_or("config")
                        .to_string();
                    let result = guard.suspend_for(|| {
                        crate::mail::configs::edit_in_editor(&text, &hint)
                            .map_err(|e| e.to_string())
                    })?;
                    app.edited(id, &text, result)
                }
                app::EditorJob::Rows(sheet, draft) => {
                    let text = draft.unwrap_or_else(|| sheet.text());
                    let result = guard.suspend_for(|| {
                        crate::mail::configs::edit_in_editor(&text, &sheet.file_name())
                            .map_err(|e| e.to_string())
                    })?;
                    app.edited_rows(*sheet, result)
                }
            };
            events = EventStream::new();
            // The window may have changed size while the editor had it.
            if let Ok(size) = guard.terminal.size() {
                app.on_resize(size.width, size.height);
            }
        }
        for job in app.take_jobs() {
            if !worker.send(job) {
                app.status = Some((
                    "the database worker stopped; quit and start again".into(),
                    true,
                ));
                dirty = true;
            }
        }
        if app.quit {
            break;
        }
    }
    let bytes = guard.bytes.load(Ordering::Relaxed);
    drop(guard);
    Ok((Stats { frames, bytes }, ended))
}

/// Handle every input event already waiting, up to `DRAIN_BUDGET`; whether
/// any of them needs a redraw. Stops early at anything the event loop must
/// act on between events (quitting, suspending, an editor).
///
/// crossterm's `poll` answers "nothing" at once when the stream's waker
/// thread holds the reader; its input source reads nothing new with a zero
/// timeout, hence the smallest non-zero one. `read` after a yes returns the
/// event it saw.
fn drain_input(app: &mut App) -> bool {
    let start = std::time::Instant::now();
    let mut dirty = false;
    while start.elapsed() < DRAIN_BUDGET
        && !app.quit
        && !app.suspend
        && app.editor.is_none()
        && matches!(crossterm::event::poll(Duration::from_millis(1)), Ok(true))
    {
        match crossterm::event::read() {
            Ok(ev) => dirty |= app.on_event(ev),
            Err(_) => break,
        }
    }
    dirty
}

/// SIGHUP (the SSH connection dropped) and SIGTERM end the loop; the
/// terminal is restored and the exit status says which signal it was.
struct Hangup {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Hangup {
    /// The signal's number.
    async fn recv(&mut self) -> u8 {
        tokio::select! {
            _ = self.hup.recv() => 1,
            _ = self.term.recv() => 15,
        }
    }
}

fn hangup_signal() -> std::io::Result<Hangup> {
    use tokio::signal::unix::{signal, SignalKind};
    Ok(Hangup {
        hup: signal(SignalKind::hangup())?,
        term: signal(SignalKind::terminate())?,
    })
}
