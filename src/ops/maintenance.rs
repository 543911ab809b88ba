//! Backup and restore as operations: admin only, and audited. The database
//! work itself lives in `db::backup`; this adds who may do it and the record.

use std::path::Path;

use serde_json::json;

use super::{audit, audit_seal, run_write, Ctx, Done, Principal};
use crate::db::backup::{self, BackupReport, RestoreReport};
use crate::db::{self, write_tx, AnyConnection, DbUrl};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
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
    require_admin(conn, ctx, AuditAction::Backup, &request, "taking a backup")?;
    match backup::backup(conn, url, target) {
        Ok(r) => run_write(
            conn,
            ctx,
            AuditAction::Backup,
            AuditType::Database,
            request,
            |_, _| {
                let done = Done::new(
                    None,
                    json!({ "file": r.file, "bytes": r.bytes, "integrity": r.integrity }),
                );
                Ok((r.clone(), done))
            },
        ),
        Err(e) => {
            // A failed backup is worth a row: `health` reports the last good one.
            let details = json!({ "request": request, "error": e.to_string() });
            write_tx(conn, |c| {
                audit::record(
                    c,
                    ctx,
                    audit::Entry {
                        action: AuditAction::Backup,
                        resource_type: AuditType::Database,
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
    action: AuditAction,
    request: &serde_json::Value,
    what: &str,
) -> OpResult<()> {
    let check = Principal::load(conn, ctx).and_then(|who| who.require_admin(what));
    if let Err(e) = check {
        let reason = match &e {
            OpError::Denied(m) => m.clone(),
            other => other.to_string(),
        };
        let _ = run_write(
            conn,
            ctx,
            action,
            AuditType::Database,
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
    require_admin(
        &mut conn,
        ctx,
        AuditAction::Restore,
        &request,
        "restoring a backup",
    )?;
    let report = backup::restore(conn, url, source, &mut restorable)?;
    let mut fresh = db::connect(url, false)?;
    // The restored database has its own users: record the restore under the
    // acting name, linked to an account only if the backup has one.
    let user_id = match store::users::by_name(&mut fresh, &ctx.username) {
        Ok(u) => u.map(|u| u.id),
        Err(_) => None,
    };
    if report.pending_migrations == 0 {
        write_tx(&mut fresh, |c| {
            // The restored chain replaces the one the checkpoints describe.
            audit::note_event(audit_seal::Event::Restore);
            audit::insert(
                c,
                ctx.policy.chain(),
                user_id,
                &ctx.username,
                &ctx.client,
                audit::Entry {
                    action: AuditAction::Restore,
                    resource_type: AuditType::Database,
                    resource_id: None,
                    details: json!({ "file": report.file }),
                    result: audit::RESULT_OK,
                },
            )
        })?;
    }
    Ok((report, fresh))
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RollbackReport {
    /// The migration reverted; None when none was applied.
    pub reverted: Option<String>,
    /// Tables the revert dropped that held rows, with their counts.
    pub dropped: Vec<(String, i64)>,
    /// The backup taken before the revert.
    pub backup: Option<BackupReport>,
}

/// Revert the most recent migration, admin only. When that would drop a
/// table holding rows it is refused unless `confirmed` and a `backup_to`
/// path (a new file) are given; the backup is then taken first. The audit
/// row is written before the revert (reverting the first migration drops
/// the audit table itself); a revert that then fails adds a failed row.
pub fn rollback(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    url: &DbUrl,
    confirmed: bool,
    backup_to: Option<&Path>,
) -> OpResult<RollbackReport> {
    let mut request = json!({
        "confirmed": confirmed,
        "backup": backup_to.map(|p| p.display().to_string()),
    });
    require_admin(
        conn,
        ctx,
        AuditAction::Rollback,
        &request,
        "rolling back a migration",
    )?;
    let Some((name, dropped)) = crate::db::migrate::revert_preview(conn)? else {
        return Ok(RollbackReport {
            reverted: None,
            dropped: Vec::new(),
            backup: None,
        });
    };
    request["migration"] = json!(name);
    request["drops"] = json!(dropped);
    let allowed = confirmed && backup_to.is_some();
    if !dropped.is_empty() && !allowed {
        let list: Vec<String> = dropped
            .iter()
            .map(|(t, n)| format!("{t} ({n} rows)"))
            .collect();
        let why = format!(
            "reverting {name} drops tables holding rows: {}; pass --yes and --backup FILE (a new file, written before anything is dropped); nothing was changed",
            list.join(", ")
        );
        let _ = run_write(
            conn,
            ctx,
            AuditAction::Rollback,
            AuditType::Database,
            request,
            |_, _| -> OpResult<((), Done)> { Err(OpError::invalid("rollback", why.clone())) },
        );
        return Err(OpError::invalid("rollback", why));
    }
    let backup = match backup_to {
        Some(p) => Some(backup::backup(conn, url, p)?),
        None => None,
    };
    run_write(
        conn,
        ctx,
        AuditAction::Rollback,
        AuditType::Database,
        request.clone(),
        |_, _| {
            Ok((
                (),
                Done::new(
                    None,
                    json!({ "migration": name, "backup": backup.as_ref().map(|b| &b.file) }),
                ),
            ))
        },
    )?;
    match crate::db::migrate::revert_last(conn) {
        Ok(reverted) => Ok(RollbackReport {
            reverted,
            dropped,
            backup,
        }),
        Err(e) => {
            let details = json!({ "request": request, "error": e.to_string() });
            let _ = write_tx(conn, |c| {
                audit::record(
                    c,
                    ctx,
                    audit::Entry {
                        action: AuditAction::Rollback,
                        resource_type: AuditType::Database,
                        resource_id: None,
                        details,
                        result: audit::RESULT_FAILED,
                    },
                )
            });
            Err(e.into())
        }
    }
}

/// Apply pending migrations as a logged-in admin (a database that has an
/// admin; an empty one is migrated without a login), audited once applied.
pub fn migrate(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Vec<String>> {
    let request = json!({});
    require_admin(
        conn,
        ctx,
        AuditAction::Migrate,
        &request,
        "migrating the database",
    )?;
    let applied = crate::db::migrate::run_pending(conn)?;
    // The login read the schema before; the audit row goes on the new one
    // (and starts keying the chain if this run brought its table).
    let mut ctx = ctx.clone();
    ctx.policy.tables = crate::db::migrate::Tables::read(conn)?;
    run_write(
        conn,
        &ctx,
        AuditAction::Migrate,
        AuditType::Database,
        request,
        |_, _| {
            Ok((
                applied.clone(),
                Done::new(None, json!({ "applied": applied })),
            ))
        },
    )
}

/// What `db::backup::restore` cannot check by the schema alone: the
/// candidate's audit chain verifies, and someone can log in to it as an
/// admin afterwards.
fn restorable(conn: &mut AnyConnection) -> Result<(), String> {
    use crate::db::schema::users;
    use diesel::prelude::*;
    let chain =
        audit::verify_chain(conn).map_err(|e| format!("cannot verify its audit chain: {e}"))?;
    if !chain.ok() {
        return Err(format!(
            "its audit chain does not verify: {}",
            chain.problems.join("; ")
        ));
    }
    let admins: i64 = users::table
        .filter(users::role.eq("admin"))
        .filter(users::is_active.eq(true))
        .filter(users::status.eq("active"))
        .count()
        .get_result(conn)
        .map_err(|e| format!("cannot count its admins: {e}"))?;
    if admins == 0 {
        return Err("it has no active admin: nobody could log in to manage it".into());
    }
    Ok(())
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
    require_admin(
        conn,
        ctx,
        AuditAction::Maintain,
        &request,
        "database maintenance",
    )?;
    let r = crate::db::maintain::maintain(conn, url, vacuum, progress)?;
    run_write(
        conn,
        ctx,
        AuditAction::Maintain,
        AuditType::Database,
        request,
        |_, _| {
            let done = Done::new(
                None,
                json!({ "steps": r.steps, "size_before": r.size_before, "size_after": r.size_after }),
            );
            Ok((r.clone(), done))
        },
    )
}
