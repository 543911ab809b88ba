//! Entering and leaving the terminal's raw, alternate-screen mode (with
//! bracketed paste, so a pasted line break is text, not Enter). The guard
//! restores on drop (normal exit, error, a hang-up or SIGTERM breaking the
//! loop) and a panic hook restores before the panic message prints, so the
//! shell is never left in raw mode or with paste brackets on.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossterm::cursor::Show;
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// Counts the bytes frames cost: the figure that matters over SSH.
pub struct Counting<W> {
    inner: W,
    pub bytes: Arc<AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub type Term = Terminal<CrosstermBackend<Counting<Stdout>>>;

pub struct Guard {
    pub terminal: Term,
    pub bytes: Arc<AtomicU64>,
}

/// Whether the app's modes are on: `restore` undoes them once. A second
/// leave-alternate-screen would restore the cursor saved on entering, so
/// after a panic (hook, then the guard's drop) the shell's prompt would be
/// drawn over the panic report.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// Put the terminal back as the shell expects it. Errors are ignored: after
/// a hang-up there is no terminal left to restore, and nothing to tell.
pub fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let mut out = io::stdout();
    let _ = execute!(out, DisableBracketedPaste, LeaveAlternateScreen, Show);
    let _ = out.flush();
}

impl Guard {
    pub fn enter() -> io::Result<Guard> {
        install_panic_hook();
        if let Err(e) = enter_modes() {
            restore();
            return Err(e);
        }
        let bytes = Arc::new(AtomicU64::new(0));
        let backend = CrosstermBackend::new(Counting {
            inner: io::stdout(),
            bytes: bytes.clone(),
        });
        match Terminal::new(backend) {
            Ok(terminal) => Ok(Guard { terminal, bytes }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }
}

impl Guard {
    /// Hand the terminal to another program (an editor) and take it back
    /// afterwards; the next draw repaints everything.
    pub fn suspend_for<T>(&mut self, run: impl FnOnce() -> T) -> io::Result<T> {
        restore();
        let out = run();
        enter_modes()?;
        // Not `Terminal::clear`: it asks the terminal where the cursor is
        // and fails when no answer comes (a slow link, a terminal that does
        // not answer). A resize to the current size clears and forces the
        // next draw to repaint everything without asking anything.
        let size = self.terminal.size()?;
        self.terminal
            .resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))?;
        Ok(out)
    }
}

/// Raw mode, the alternate screen and bracketed paste: what the app runs in.
fn enter_modes() -> io::Result<()> {
    ENTERED.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableBracketedPaste)
}

/// Terminals the TUI cannot draw on: `TERM=dumb` (Emacs shell buffers,
/// some CI logs) or no `TERM` at all. Checked before a single escape
/// sequence is written.
pub fn unusable_term(term: Option<&std::ffi::OsStr>) -> Option<String> {
    match term.and_then(|t| t.to_str()) {
        None | Some("") => Some("TERM is not set".into()),
        Some("dumb") => Some("TERM=dumb".into()),
        Some(_) => None,
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
