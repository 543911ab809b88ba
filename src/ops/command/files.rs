//! Commands on many rows or on files: bulk actions, the $EDITOR round trip,
//! CSV import and export, backups and database upkeep. The file ones run on
//! the slow lane and report progress through the host's sink.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Command, Host, Lane, Outcome};
use crate::csvfile::{Progress, Unit};
use crate::db::{AnyConnection, DbUrl};
use crate::error::{OpError, OpResult};
use crate::model::Entity;
use crate::ops::{self, bulk::Action, import::RowChange, Ctx};
use crate::store::Filter;

/// Preview (`apply: false`) or apply a bulk action on marked rows: the same
/// `ops::bulk::run` for both, so a dialog previews exactly what Yes does.
pub fn run_bulk(
    c: &mut AnyConnection,
    ctx: &Ctx,
    entity: Entity,
    keys: &[String],
    action: &Action,
    apply: bool,
) -> OpResult<ops::bulk::Preview> {
    if !entity.bulk() {
        return Err(OpError::invalid(
            "action",
            format!("no bulk actions on {}s", entity.noun()),
        ));
    }
    ops::bulk::run(c, ctx, entity, keys, action, apply)
}

/// A bulk action on marked rows, in one transaction.
#[derive(Debug)]
pub struct Bulk {
    pub entity: Entity,
    pub keys: Vec<String>,
    pub action: Action,
}

impl Command for Bulk {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let p = run_bulk(c, ctx, self.entity, &self.keys, &self.action, true)?;
        Outcome::new(format!("done: {}", p.summary), &p)
    }
}

/// The rows changed in the $EDITOR round trip, in one transaction.
#[derive(Debug)]
pub struct EditRows {
    pub table: Entity,
    pub changes: Vec<RowChange>,
}

impl Command for EditRows {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let r = ops::import::edit_rows(c, ctx, self.table, &self.changes)?;
        Outcome::new(format!("done: {}", r.summary), &r)
    }
}

/// Import a CSV file (all rows or none), reporting progress.
#[derive(Debug)]
pub struct ImportCsv {
    pub table: Entity,
    pub file: PathBuf,
    pub dry_run: bool,
    /// Domains: each new one gets its role aliases (as `domain import`).
    pub default_aliases: bool,
}

impl Command for ImportCsv {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let report = crate::csvfile::import_file(
            c,
            ctx,
            self.table,
            &self.file,
            self.dry_run,
            self.default_aliases,
            host.progress,
        )?;
        Outcome::new(crate::sanitize::for_terminal(&report.sentence()), &report)
    }
}

/// Export the rows matching `filter` into a new CSV file.
#[derive(Debug)]
pub struct ExportCsv {
    pub table: Entity,
    pub filter: Filter,
    /// Mailbox password hashes in the file (admins only; ops refuses others).
    pub with_hashes: bool,
    pub file: PathBuf,
}

impl Command for ExportCsv {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        // Expanded here too, so the message names the real file.
        let file = crate::paths::expand_tilde(&self.file.to_string_lossy());
        let out = crate::csvfile::export_file(
            c,
            ctx,
            self.table,
            &self.filter,
            self.with_hashes,
            &file,
            host.progress,
        )?;
        let text = format!(
            "exported {} {} ({} bytes) to {}",
            ops::bulk::thousands(out.rows),
            self.table.plural(),
            ops::bulk::thousands(out.bytes),
            file.display()
        );
        let data = serde_json::json!({
            "rows": out.rows, "bytes": out.bytes, "file": file.display().to_string(),
        });
        Outcome::new(crate::sanitize::for_terminal(&text), &data)
    }
}

/// A consistent, checked backup into `file` (admin only).
#[derive(Debug)]
pub struct Backup {
    pub file: PathBuf,
}

/// How often a running backup reports its temporary file's size.
const BACKUP_POLL: Duration = Duration::from_millis(200);

impl Command for Backup {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let url = host.url()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let file = &self.file;
        let r = std::thread::scope(|s| {
            s.spawn(move || backup_progress(host, url, file, &stopped));
            let r = ops::maintenance::backup(c, ctx, url, file);
            drop(stop);
            r
        })?;
        Outcome::new(
            format!(
                "backup written to {} ({} bytes, {})",
                r.file, r.bytes, r.integrity
            ),
            &r,
        )
    }
}

/// Until `stopped` hangs up: how far the backup's temporary file has grown,
/// against the SQLite file's size (PostgreSQL dumps have no known size).
fn backup_progress(
    host: &Host<'_>,
    url: &DbUrl,
    target: &std::path::Path,
    stopped: &mpsc::Receiver<()>,
) {
    let tmp = crate::db::backup::temp_name(target, "backup");
    let total = match url {
        DbUrl::Sqlite(p) => std::fs::metadata(p)
            .map(|m| m.len())
            .ok()
            .filter(|n| *n > 0),
        DbUrl::Postgres(_) => None,
    };
    let start = Instant::now();
    loop {
        // Not there yet (or already renamed into place): nothing written.
        let written = std::fs::metadata(&tmp).map(|m| m.len()).unwrap_or(0);
        (host.progress)(Progress {
            stage: "Backing up",
            done: total.map_or(written, |t| written.min(t.saturating_sub(1))),
            total,
            unit: Unit::Bytes,
            elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        if !matches!(
            stopped.recv_timeout(BACKUP_POLL),
            Err(mpsc::RecvTimeoutError::Timeout)
        ) {
            return;
        }
    }
}

/// Database upkeep (admin only); `vacuum` also rewrites a SQLite file.
#[derive(Debug)]
pub struct Maintain {
    pub vacuum: bool,
}

// The writer's lane: a vacuum holds the database's write lock, and saves
// queued behind it wait for it rather than time out on the lock.
impl Command for Maintain {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let r = ops::maintenance::maintain(c, ctx, host.url()?, self.vacuum, &mut |_| {})?;
        let steps = crate::plural::s(r.steps.len(), "step");
        let text = match (r.size_before, r.size_after) {
            (Some(b), Some(a)) => format!("maintenance done: {steps}; file {b} -> {a} bytes"),
            _ => format!("maintenance done: {steps}"),
        };
        Outcome::new(text, &r)
    }
}
