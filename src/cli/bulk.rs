//! Bulk commands: `mailbox|alias|domain bulk ...`, `import`, `export`, and
//! `edit-many` (the $EDITOR round trip). Parsing and hashing happen
//! here, before `ops` opens the one transaction that writes.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use super::args::{BulkArgs, EditManyArgs, ImportArgs};
use super::output::object;
use super::CliError;
use crate::csvio;
use crate::db::AnyConnection;
use crate::model::Entity;
use crate::ops::bulk::{self, Action, Preview};
use crate::ops::{self, Ctx};
use crate::store::Filter;

fn is_stdin(p: &Path) -> bool {
    p.as_os_str() == "-"
}

fn read_input(p: &Path) -> Result<Box<dyn Read>, CliError> {
    if is_stdin(p) {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = std::fs::File::open(p)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", p.display())))?;
    Ok(Box::new(std::io::BufReader::new(f)))
}

/// One key per line; blank lines and `#` comments are skipped.
fn read_keys(p: &Path) -> Result<Vec<String>, CliError> {
    let r = std::io::BufReader::new(read_input(p)?);
    let mut keys = Vec::new();
    for line in r.lines() {
        let line = line.map_err(|e| CliError::Usage(format!("reading {}: {e}", p.display())))?;
        let t = line.trim();
        if !t.is_empty() && !t.starts_with('#') {
            keys.push(t.to_string());
        }
    }
    if keys.is_empty() {
        return Err(CliError::Usage(format!("{} lists no rows", p.display())));
    }
    Ok(keys)
}

/// Ask a yes/no question on the terminal with this default.
pub(super) fn ask(question: &str, default: bool) -> Result<bool, CliError> {
    eprint!("{question}? {} ", if default { "[Y/n]" } else { "[y/N]" });
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| CliError::Usage(format!("reading the answer: {e}")))?;
    Ok(match answer.trim() {
        "" => default,
        a => matches!(a, "y" | "Y" | "yes" | "YES"),
    })
}

/// Ask on the terminal; default No. Without a terminal the caller must pass
/// --yes (or --dry-run): a script never applies by accident.
fn confirm(question: &str, from_stdin: bool) -> Result<bool, CliError> {
    if from_stdin || !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(format!(
            "{question}: pass --yes to apply or --dry-run to preview (no terminal to ask on)"
        )));
    }
    ask(question, false)
}

fn shown(p: &Preview, j: bool, done: bool) -> String {
    if j {
        return object(&serde_json::json!({ "applied": done, "preview": p }), true);
    }
    let mut s = if done {
        format!("done: {}\n", p.summary)
    } else {
        format!("would {}\n", p.summary)
    };
    if p.changes < p.rows {
        s.push_str(&format!(
            "({} of {} rows already as requested)\n",
            bulk::thousands(p.rows - p.changes),
            bulk::thousands(p.rows)
        ));
    }
    crate::sanitize::for_terminal(s.trim_end()) + "\n"
}

/// The shared shape: preview; stop on --dry-run; confirm unless --yes;
/// apply (the same `ops::bulk::run` both times).
pub(super) fn run_bulk(
    table: Entity,
    args: &BulkArgs,
    action: &Action,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let keys = read_keys(&args.from)?;
    let p = bulk::run(conn, ctx, table, &keys, action, false)?;
    if args.dry_run {
        return Ok(shown(&p, j, false));
    }
    if !args.yes && !confirm(&p.summary, is_stdin(&args.from))? {
        return Ok("nothing changed\n".into());
    }
    let p = bulk::run(conn, ctx, table, &keys, action, true)?;
    Ok(shown(&p, j, true))
}

/// Progress on stderr at most twice a second: done/total, rate, ETA.
/// Only for imports long enough to need it (over 1,000 rows).
struct Progress {
    what: &'static str,
    start: Instant,
    last: std::sync::Mutex<Instant>,
    tty: bool,
}

impl Progress {
    fn new(what: &'static str) -> Progress {
        let now = Instant::now();
        Progress {
            what,
            start: now,
            last: std::sync::Mutex::new(now),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn tick(&self, done: usize, total: usize) {
        if total <= 1000 {
            return;
        }
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if done < total && last.elapsed() < Duration::from_millis(500) {
            return;
        }
        *last = Instant::now();
        let msg = crate::csvfile::Progress {
            stage: self.what,
            done: done as u64,
            total: Some(total as u64),
            unit: crate::csvfile::Unit::Rows,
            elapsed_ms: crate::num::millis(self.start.elapsed()),
        }
        .line();
        if self.tty {
            eprint!("\r{msg}\x1b[K");
            if done >= total {
                eprintln!();
            }
        } else {
            eprintln!("{msg}");
        }
    }
}

fn import_report(r: &ops::import::ImportReport, j: bool) -> String {
    if j {
        return object(r, true);
    }
    r.sentence() + "\n"
}

pub fn mailbox_import(
    a: &ImportArgs,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let hashing = Progress::new("hashing passwords");
    let (rows, access) = csvio::parse_mailboxes_access(
        read_input(&a.file)?,
        ctx.policy.min_password_length,
        ctx.policy.bcrypt_cost,
        &|d, t| hashing.tick(d, t),
    )?;
    let writing = Progress::new("importing mailboxes");
    let r =
        ops::import::mailboxes_with_access(conn, ctx, &rows, &access, a.dry_run, &mut |d, t| {
            writing.tick(d, t)
        })?;
    Ok(import_report(&r, j))
}

pub fn domain_import(
    a: &ImportArgs,
    default_aliases: bool,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let rows = csvio::parse_domains(read_input(&a.file)?)?;
    let r = ops::import::domains(conn, ctx, &rows, a.dry_run, default_aliases)?;
    Ok(import_report(&r, j))
}

pub fn alias_import(
    a: &ImportArgs,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let rows = csvio::parse_aliases(read_input(&a.file)?)?;
    let r = ops::import::aliases(conn, ctx, &rows, a.dry_run)?;
    Ok(import_report(&r, j))
}

fn domain_filter(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    domain: &Option<String>,
) -> Result<Filter, CliError> {
    Ok(Filter {
        domain_id: match domain {
            Some(d) => Some(ops::domains::get(conn, ctx, d)?.id),
            None => None,
        },
        ..Default::default()
    })
}

/// Exports stream straight to stdout (a buffered writer over one page of
/// rows at a time) instead of building the whole file in memory.
pub fn mailbox_export(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    domain: &Option<String>,
    with_hashes: bool,
) -> Result<String, CliError> {
    let f = domain_filter(conn, ctx, domain)?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    csvio::export_mailboxes(conn, ctx, &f, with_hashes, out)?;
    Ok(String::new())
}

pub fn alias_export(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    domain: &Option<String>,
) -> Result<String, CliError> {
    let f = domain_filter(conn, ctx, domain)?;
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    csvio::export_aliases(conn, ctx, &f, out)?;
    Ok(String::new())
}

pub fn domain_export(conn: &mut AnyConnection, ctx: &Ctx) -> Result<String, CliError> {
    let out = std::io::BufWriter::new(std::io::stdout().lock());
    csvio::export_domains(conn, ctx, &Filter::default(), out)?;
    Ok(String::new())
}

/// Run $VISUAL or $EDITOR (default vi) on `path` through the shell, so an
/// editor with arguments ("code --wait") works; the path is passed as an
/// argument, never spliced into the command text.
pub fn run_editor(path: &Path) -> Result<(), CliError> {
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            std::env::var("EDITOR")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "vi".to_string());
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(path)
        .status()
        .map_err(|e| CliError::Usage(format!("cannot start editor {editor:?}: {e}")))?;
    if !status.success() {
        return Err(CliError::Usage(format!(
            "editor {editor:?} exited with {status}; nothing changed"
        )));
    }
    Ok(())
}

/// `mailbox|alias|domain edit-many`: the rows in $EDITOR, the changes
/// shown, confirmed (unless --yes) and applied in one transaction.
pub fn edit_many(
    table: Entity,
    a: &EditManyArgs,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let keys = read_keys(&a.from)?;
    let sheet = crate::sheet::Sheet::load(conn, ctx, table, &keys)?;
    let mut file = tempfile::Builder::new()
        .prefix("postfix-manager-")
        .suffix(".tsv")
        .tempfile()
        .map_err(|e| CliError::Usage(format!("cannot create a temporary file: {e}")))?;
    file.write_all(sheet.text().as_bytes())
        .and_then(|_| file.flush())
        .map_err(|e| CliError::Usage(format!("cannot write the temporary file: {e}")))?;
    // Bad lines: on a terminal, offer the admin's own text again with the
    // reasons appended (crontab -e style); a script gets the error.
    let changes = loop {
        run_editor(file.path())?;
        let edited = std::fs::read_to_string(file.path())
            .map_err(|e| CliError::Usage(format!("cannot read the edited file: {e}")))?;
        match sheet.diff(&edited) {
            Ok(c) => break c,
            Err(e) if !is_stdin(&a.from) && std::io::stdin().is_terminal() => {
                let e = e.to_string();
                eprintln!("{}", crate::sanitize::lines_for_terminal(&e));
                if !ask("edit the file again", true)? {
                    return Err(CliError::Usage("nothing changed".into()));
                }
                std::fs::write(file.path(), crate::sheet::with_errors(&edited, &e)).map_err(
                    |e| CliError::Usage(format!("cannot write the temporary file: {e}")),
                )?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if changes.is_empty() {
        return Ok("no changes\n".into());
    }
    let diff = crate::sheet::describe(&changes);
    if !a.yes {
        eprint!("{diff}");
        let q = format!(
            "apply changes to {} {}",
            bulk::thousands(changes.len()),
            if changes.len() == 1 {
                table.noun()
            } else {
                table.plural()
            }
        );
        if !confirm(&q, is_stdin(&a.from))? {
            return Ok("nothing changed\n".into());
        }
    }
    let r = ops::import::edit_rows(conn, ctx, table, &changes)?;
    if j {
        return Ok(object(
            &serde_json::json!({ "changes": changes, "report": r }),
            true,
        ));
    }
    Ok(format!("{diff}done: {}\n", r.summary))
}
