//! Backup and restore as operations: admin only, and audited. The database
//! work itself lives in `db::backup`; this adds who may do it and the record.

use std::path::Path;

use serde_json::json;

use super::{audit, run_write, Ctx, Done, Principal};
use crate::db::backup::{self, BackupReport, RestoreReport};
use crate::db::{self, write_tx, AnyConnection, DbUrl};
use crate::error::{OpError, OpResult};
use crate::store;

pub fn backup(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    url: &DbUrl,
    target: &Path,
) -> OpResult<BackupReport> {
    let request = json!({ "file": target.display().to_string() });
    // The snapshot cannot run inside our write transaction (VACUUM INTO and
    // pg_dump take their own), so authorize first, then record the outcome.
    require_admin(conn, ctx, "backup", &request, "taking a backup")?;
    match backup::backup(conn, url, target) {
        Ok(r) => run_write(conn, ctx, "backup", "database", request, |_, _| {
            let done = Done::new(
                None,
                json!({ "file": r.file, "bytes": r.bytes, "integrity": r.integrity }),
            );
            Ok((r.clone(), done))
        }),
        Err(e) => {
            // A failed backup is worth a row: `health` reports the last good one.
            let details = json!({ "request": request, "error": e.to_string() });
            write_tx(conn, |c| {
                audit::record(
                    c,
                    ctx,
                    audit::Entry {
                        action: "backup",
                        resource_type: "database",
                        resource_id: None,
                        details,
                        result: audit::RESULT_FAILED,
                    },
                )
            })?;
            Err(e.into())
        }
    }
}

/// Admin check for operations that cannot run inside `run_write`; a refusal
/// is audited like any other.
fn require_admin(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    action: &str,
    request: &serde_json::Value,
    what: &str,
) -> OpResult<()> {
    let check = Principal::load(conn, ctx.user_id).and_then(|who| who.require_admin(what));
    if let Err(e) = check {
        let reason = match &e {
            OpError::Denied(m) => m.clone(),
            other => other.to_string(),
        };
        let _ = run_write(
            conn,
            ctx,
            action,
            "database",
            request.clone(),
            |_, _| -> OpResult<((), Done)> { Err(OpError::Denied(reason)) },
        );
        return Err(e);
    }
    Ok(())
}

/// Restore from `source`. Returns the report; the connection is replaced by
/// a fresh one on the restored database.
pub fn restore(
    conn: AnyConnection,
    ctx: &Ctx,
    url: &DbUrl,
    source: &Path,
) -> OpResult<(RestoreReport, AnyConnection)> {
    let mut conn = conn;
    let request = json!({ "file": source.display().to_string() });
    require_admin(&mut conn, ctx, "restore", &request, "restoring a backup")?;
    let report = backup::restore(conn, url, source)?;
    let mut fresh = db::connect(url, false)?;
    // The restored database has its own users: record the restore under the
    // acting name, linked to an account only if the backup has one.
    let user_id = match store::users::by_name(&mut fresh, &ctx.username) {
        Ok(u) => u.map(|u| u.id),
        Err(_) => None,
    };
    if report.pending_migrations == 0 {
        write_tx(&mut fresh, |c| {
            audit::insert(
                c,
                user_id,
                &ctx.username,
                &ctx.client,
                audit::Entry {
                    action: "restore",
                    resource_type: "database",
                    resource_id: None,
                    details: json!({ "file": report.file }),
                    result: audit::RESULT_OK,
                },
            )
        })?;
    }
    Ok((report, fresh))
}

/// Database upkeep (see `db::maintain`), admin only and audited. It runs
/// outside a write transaction (VACUUM cannot run inside one), so the audit
/// row follows it.
pub fn maintain(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    url: &DbUrl,
    vacuum: bool,
    progress: &mut dyn FnMut(&str),
) -> OpResult<crate::db::maintain::MaintainReport> {
    let request = json!({ "vacuum": vacuum });
    require_admin(conn, ctx, "maintain", &request, "database maintenance")?;
    let r = crate::db::maintain::maintain(conn, url, vacuum, progress)?;
    run_write(conn, ctx, "maintain", "database", request, |_, _| {
        let done = Done::new(
            None,
            json!({ "steps": r.steps, "size_before": r.size_before, "size_after": r.size_after }),
        );
        Ok((r.clone(), done))
    })
}
