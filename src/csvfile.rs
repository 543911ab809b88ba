//! CSV imports from a file and exports into a file, reporting progress as
//! they go: what the TUI's `:import` and `:export` run on the worker's
//! writer thread. (The CLI streams stdin/stdout through `csvio` directly.)
//!
//! An export is written to a temporary file beside the target and renamed
//! onto it only when complete, so a failure (disk full, a lost database
//! connection) leaves no half-written file; an existing file is never
//! overwritten. Mailbox exports hold password hashes: the file is 0600.

use std::io::Write;
use std::path::Path;

use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::ops::{self, import::ImportReport, Ctx};
use crate::paths::Doing;
use crate::store::Filter;

use crate::model::{CsvTable, Entity};

/// How far a long job has got: `done` of `total` (None: not known ahead,
/// as for an export's bytes) in `unit`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub stage: &'static str,
    pub done: u64,
    pub total: Option<u64>,
    pub unit: Unit,
    /// Since the stage began (where the rate and the time left come from).
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Rows,
    Bytes,
}

impl Progress {
    /// "importing mailboxes [########............] 40% 40,000/100,000 ·
    /// 20,000/s · 3 s left"; the TUI's status line and the CLI's stderr
    /// show the same.
    pub fn line(&self) -> String {
        use crate::ops::bulk::thousands;
        let secs = self.elapsed_ms as f64 / 1000.0;
        let rate = if secs > 0.0 {
            self.done as f64 / secs
        } else {
            0.0
        };
        match (self.unit, self.total) {
            (Unit::Rows, Some(total)) if total > 0 => {
                let pct = crate::num::usize_from(self.done.min(total) * 100 / total);
                let bar = format!("{}{}", "#".repeat(pct / 5), ".".repeat(20 - pct / 5));
                let left = if rate > 0.0 && self.done < total {
                    let s = crate::num::float_to_u64(((total - self.done) as f64 / rate).ceil());
                    format!(" · {} left", crate::timefmt::duration_short(s))
                } else {
                    String::new()
                };
                format!(
                    "{} [{bar}] {pct}% {}/{} · {}/s{left}",
                    self.stage,
                    thousands(self.done),
                    thousands(total),
                    thousands(crate::num::float_to_u64(rate))
                )
            }
            (Unit::Rows, _) => format!("{}… {} rows", self.stage, thousands(self.done)),
            (Unit::Bytes, Some(total)) if total > 0 => {
                let pct = crate::num::usize_from(self.done.min(total) * 100 / total);
                let bar = format!("{}{}", "#".repeat(pct / 5), ".".repeat(20 - pct / 5));
                let mib = self.done as f64 / (1u64 << 20) as f64;
                format!("{}… [{bar}] {pct}% ({mib:.1} MiB)", self.stage)
            }
            (Unit::Bytes, _) => {
                let mib = self.done as f64 / (1u64 << 20) as f64;
                format!(
                    "{}… {mib:.1} MiB written · {:.1} MiB/s",
                    self.stage,
                    mib / secs.max(0.001)
                )
            }
        }
    }
}

/// Progress reports go to another thread (bcrypt hashes on every core).
pub type OnProgress<'a> = &'a (dyn Fn(Progress) + Sync);

/// A file error in words, against the `file` field.
fn cannot(path: &Path, doing: crate::paths::Doing, e: &std::io::Error) -> OpError {
    OpError::invalid("file", crate::paths::explain(path, doing, e))
}

/// Parse `path` (hashing plaintext passwords on every core) and import it
/// in one transaction; `dry_run` checks and writes everything, then rolls
/// back. `default_aliases`: new domains get their role aliases. Every bad line is reported with its number and nothing changes.
pub fn import_file(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    table: Entity,
    path: &Path,
    dry_run: bool,
    default_aliases: bool,
    progress: OnProgress<'_>,
) -> OpResult<ImportReport> {
    let expanded = crate::paths::expand_tilde(&path.to_string_lossy());
    let path = expanded.as_path();
    if path.is_dir() {
        return Err(OpError::invalid(
            "file",
            format!("{} is a directory; name a CSV file", path.display()),
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| cannot(path, Doing::Reading, &e))?;
    let input = std::io::BufReader::new(file);
    // Each stage's clock starts when its reporter is made, just before it runs.
    let rows_progress = |stage| {
        let start = std::time::Instant::now();
        move |done: usize, total: usize| {
            progress(Progress {
                stage,
                done: done as u64,
                total: Some(total as u64),
                unit: Unit::Rows,
                elapsed_ms: crate::num::millis(start.elapsed()),
            })
        }
    };
    match table.csv_table().ok_or_else(|| table.no_csv())? {
        CsvTable::Mailboxes => {
            let hashing = rows_progress("hashing passwords");
            let (rows, access) = crate::csvio::parse_mailboxes_access(
                input,
                ctx.policy.min_password_length,
                ctx.policy.bcrypt_cost,
                &hashing,
            )?;
            let mut writing = rows_progress("importing mailboxes");
            ops::import::mailboxes_with_access(conn, ctx, &rows, &access, dry_run, &mut writing)
        }
        CsvTable::Domains => {
            let rows = crate::csvio::parse_domains(input)?;
            ops::import::domains(conn, ctx, &rows, dry_run, default_aliases)
        }
        CsvTable::Aliases => {
            let rows = crate::csvio::parse_aliases(input)?;
            ops::import::aliases(conn, ctx, &rows, dry_run)
        }
    }
}

/// Counts the bytes going through, reporting every MiB.
struct Counting<'a, W> {
    inner: W,
    bytes: u64,
    reported: u64,
    stage: &'static str,
    progress: OnProgress<'a>,
    start: std::time::Instant,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        if self.bytes - self.reported >= 1 << 20 {
            self.reported = self.bytes;
            (self.progress)(Progress {
                stage: self.stage,
                done: self.bytes,
                total: None,
                unit: Unit::Bytes,
                elapsed_ms: crate::num::millis(self.start.elapsed()),
            });
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub rows: u64,
    pub bytes: u64,
}

/// Export every row the user may see that matches `filter` into the new
/// file `path`. `with_hashes`: mailbox password hashes (admins only, see
/// `csvio::export_mailboxes`).
pub fn export_file(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    table: Entity,
    filter: &Filter,
    with_hashes: bool,
    path: &Path,
    progress: OnProgress<'_>,
) -> OpResult<Exported> {
    let stage = match table.csv_table().ok_or_else(|| table.no_csv())? {
        CsvTable::Domains => "exporting domains",
        CsvTable::Mailboxes => "exporting mailboxes",
        CsvTable::Aliases => "exporting aliases",
    };
    if path.as_os_str().is_empty() {
        return Err(OpError::invalid("file", "required"));
    }
    let expanded = crate::paths::expand_tilde(&path.to_string_lossy());
    let path = expanded.as_path();
    if path.is_dir() {
        return Err(OpError::invalid(
            "file",
            format!("{} is a directory; name a new file in it", path.display()),
        ));
    }
    if path.exists() {
        return Err(OpError::invalid(
            "file",
            format!(
                "{} exists; an export never overwrites a file",
                path.display()
            ),
        ));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates it 0600: a mailbox export holds password hashes.
    let tmp = tempfile::Builder::new()
        .prefix(".postfix-manager-export-")
        .tempfile_in(dir)
        .map_err(|e| cannot(path, Doing::Writing, &e))?;
    let mut out = Counting {
        inner: std::io::BufWriter::new(tmp.as_file()),
        bytes: 0,
        reported: 0,
        stage,
        progress,
        start: std::time::Instant::now(),
    };
    // Exports page by name: the screen's sort order would break the keyset.
    let filter = Filter {
        sort: Default::default(),
        ..filter.clone()
    };
    let rows = match table.csv_table().ok_or_else(|| table.no_csv())? {
        CsvTable::Mailboxes => {
            crate::csvio::export_mailboxes(conn, ctx, &filter, with_hashes, &mut out)?
        }
        CsvTable::Aliases => crate::csvio::export_aliases(conn, ctx, &filter, &mut out)?,
        CsvTable::Domains => crate::csvio::export_domains(conn, ctx, &filter, &mut out)?,
    };
    out.flush().map_err(|e| cannot(path, Doing::Writing, &e))?;
    let bytes = out.bytes;
    drop(out);
    tmp.as_file()
        .sync_all()
        .map_err(|e| cannot(path, Doing::Writing, &e))?;
    tmp.persist_noclobber(path)
        .map_err(|e| cannot(path, Doing::Writing, &e.error))?;
    Ok(Exported { rows, bytes })
}
