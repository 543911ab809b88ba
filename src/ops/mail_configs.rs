//! Stored versions of the mail servers' config files (mail_server_configs).
//! Every row is one version of one file; `is_active` marks the version that
//! is on disk as far as we know (the last one imported or applied), which is
//! what `apply` compares the disk against before overwriting it. Config
//! files may hold secrets, so every operation here is admin-only, reads
//! included. Touching the disk is the caller's closure (`crate::mail`), run
//! inside the operation so its result and the rows are audited together.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{now, run_write, Ctx, Done, Principal};
use crate::db::models::MailServerConfig;
use crate::db::schema::mail_server_configs as msc;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};

pub const SERVICES: [&str; 2] = ["postfix", "dovecot"];
/// Column widths in the migrations.
const MAX_PATH: usize = 255;
/// Large enough for any real main.cf or dovecot.conf; a bigger file is
/// probably not a config file.
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// The main config file of a service where the distributions put it: what
/// an import reads when no file is named.
pub fn default_file(service: &str) -> &'static str {
    match service {
        "dovecot" => "/etc/dovecot/dovecot.conf",
        _ => "/etc/postfix/main.cf",
    }
}

pub fn check_service(field: &str, s: &str) -> OpResult<String> {
    let s = s.trim().to_ascii_lowercase();
    if SERVICES.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(OpError::invalid(
            field,
            format!("must be postfix or dovecot (got {s:?})"),
        ))
    }
}

fn check_file(path: &str, data: &str) -> OpResult<()> {
    // Bidi controls too, not just C0/C1: a path shown reversed in the list
    // would name a different file than the one stored.
    crate::validate::refuse_unsafe("config_file", path)?;
    if !path.starts_with('/') || path.len() > MAX_PATH {
        return Err(OpError::invalid(
            "config_file",
            format!("must be an absolute path of at most {MAX_PATH} characters without control characters (got {path:?})"),
        ));
    }
    if data.len() > MAX_CONFIG_BYTES {
        return Err(OpError::invalid(
            "config_data",
            format!(
                "{path} is {} bytes, more than the {MAX_CONFIG_BYTES} a config file may have",
                data.len()
            ),
        ));
    }
    if data.contains('\0') {
        return Err(OpError::invalid(
            "config_data",
            format!("{path} contains NUL bytes; not a text config file"),
        ));
    }
    Ok(())
}

fn by_id(c: &mut AnyConnection, id: i32) -> OpResult<MailServerConfig> {
    msc::table
        .find(id)
        .select(MailServerConfig::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| OpError::not_found("config", id.to_string()))
}

fn latest(
    c: &mut AnyConnection,
    service: &str,
    file: &str,
) -> QueryResult<Option<MailServerConfig>> {
    msc::table
        .filter(msc::service_name.eq(service))
        .filter(msc::config_file.eq(file))
        .order(msc::version.desc())
        .select(MailServerConfig::as_select())
        .first(c)
        .optional()
}

/// The version believed to be on disk for this file.
pub fn active_for(
    c: &mut AnyConnection,
    service: &str,
    file: &str,
) -> QueryResult<Option<MailServerConfig>> {
    msc::table
        .filter(msc::service_name.eq(service))
        .filter(msc::config_file.eq(file))
        .filter(msc::is_active.eq(true))
        .order(msc::version.desc())
        .select(MailServerConfig::as_select())
        .first(c)
        .optional()
}

fn insert_version(
    c: &mut AnyConnection,
    who: &Principal,
    service: &str,
    file: &str,
    data: &str,
    active: bool,
) -> OpResult<MailServerConfig> {
    let next = latest(c, service, file)?
        .map(|r| r.version + 1)
        .unwrap_or(1);
    if active {
        deactivate(c, service, file)?;
    }
    let t = now();
    diesel::insert_into(msc::table)
        .values((
            msc::service_name.eq(service),
            msc::config_file.eq(file),
            msc::config_data.eq(data),
            msc::is_active.eq(active),
            msc::created_at.eq(t),
            msc::updated_at.eq(t),
            msc::updated_by.eq(who.id),
            msc::version.eq(next),
        ))
        .execute(c)?;
    latest(c, service, file)?.ok_or_else(|| OpError::not_found("config", file.to_string()))
}

fn deactivate(c: &mut AnyConnection, service: &str, file: &str) -> QueryResult<usize> {
    diesel::update(
        msc::table
            .filter(msc::service_name.eq(service))
            .filter(msc::config_file.eq(file))
            .filter(msc::is_active.eq(true)),
    )
    .set(msc::is_active.eq(false))
    .execute(c)
}

/// What importing one file did.
#[derive(Debug, Clone, Serialize)]
pub struct Imported {
    pub id: i32,
    pub config_file: String,
    pub version: i32,
    /// False when the file equals its latest stored version (no new row).
    pub new_version: bool,
}

/// Store the files read from disk (path, contents) as new active versions;
/// a file identical to its latest version only becomes active again.
pub fn import(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    service: &str,
    files: &[(String, String)],
) -> OpResult<Vec<Imported>> {
    let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    let request = json!({ "service": service, "files": names });
    run_write(
        conn,
        ctx,
        AuditAction::Import,
        AuditType::MailConfig,
        request,
        |c, who| {
            who.require_admin("importing mail server configs")?;
            let service = check_service("service", service)?;
            if files.is_empty() {
                return Err(OpError::invalid("file", "no files to import"));
            }
            let mut out = Vec::new();
            for (path, data) in files {
                check_file(path, data)?;
                let imported = match latest(c, &service, path)? {
                    Some(last) if last.config_data == *data => {
                        deactivate(c, &service, path)?;
                        diesel::update(msc::table.find(last.id))
                            .set((msc::is_active.eq(true), msc::updated_at.eq(now())))
                            .execute(c)?;
                        Imported {
                            id: last.id,
                            config_file: path.clone(),
                            version: last.version,
                            new_version: false,
                        }
                    }
                    _ => {
                        let row = insert_version(c, who, &service, path, data, true)?;
                        Imported {
                            id: row.id,
                            config_file: path.clone(),
                            version: row.version,
                            new_version: true,
                        }
                    }
                };
                out.push(imported);
            }
            let done = Done::new(
                out.first().map(|i| i64::from(i.id)),
                json!({ "service": service, "imported": out }),
            );
            Ok((out, done))
        },
    )
}

/// A new (inactive) version of row `id`'s file with `data`.
pub fn edit(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    id: i32,
    data: &str,
) -> OpResult<MailServerConfig> {
    let request = json!({ "id": id });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::MailConfig,
        request,
        |c, who| {
            who.require_admin("editing mail server configs")?;
            let base = by_id(c, id)?;
            check_file(&base.config_file, data)?;
            if base.config_data == data {
                return Err(OpError::invalid(
                    "config_data",
                    format!("no change to {} version {}", base.config_file, base.version),
                ));
            }
            let row = insert_version(c, who, &base.service_name, &base.config_file, data, false)?;
            let done = Done::new(
                i64::from(row.id),
                json!({ "file": row.config_file, "from": { "id": base.id, "version": base.version }, "version": row.version }),
            );
            Ok((row, done))
        },
    )
}

/// What the disk side of an apply reports, for the rows and the audit log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Applied {
    /// Where the previous file was copied (None when there was no file).
    pub backup_file: Option<String>,
    /// Each step taken, in order, e.g. "backup /etc/postfix/main.cf.pm-...".
    pub steps: Vec<String>,
}

/// Put row `id` on disk through `write_disk(row, active_version)`, which
/// must leave the old file in place (or restore it) when it fails. On
/// success the row becomes the active version with its backup recorded.
pub fn apply(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    id: i32,
    write_disk: impl FnOnce(&MailServerConfig, Option<&MailServerConfig>) -> OpResult<Applied>,
) -> OpResult<(MailServerConfig, Applied)> {
    let request = json!({ "id": id });
    run_write(
        conn,
        ctx,
        AuditAction::Apply,
        AuditType::MailConfig,
        request,
        |c, who| {
            who.require_admin("applying mail server configs")?;
            let row = by_id(c, id)?;
            let active = active_for(c, &row.service_name, &row.config_file)?;
            let applied = write_disk(&row, active.as_ref())?;
            deactivate(c, &row.service_name, &row.config_file)?;
            diesel::update(msc::table.find(row.id))
                .set((
                    msc::is_active.eq(true),
                    msc::backup_file.eq(&applied.backup_file),
                    msc::updated_at.eq(now()),
                    msc::updated_by.eq(who.id),
                ))
                .execute(c)?;
            let after = by_id(c, row.id)?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "file": after.config_file, "version": after.version, "applied": applied }),
            );
            Ok(((after, applied), done))
        },
    )
}

/// Put the file back as it was before version `id` was applied: the backup
/// taken then becomes a new version, applied through `write_disk` like any
/// other (so it is staged, checked and audited the same way). Returns the
/// applied row, what the apply did, and the backup's path.
pub fn rollback(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    id: i32,
    write_disk: impl FnOnce(&MailServerConfig, Option<&MailServerConfig>) -> OpResult<Applied>,
) -> OpResult<(MailServerConfig, Applied, String)> {
    let row = get(conn, ctx, id)?;
    let backup = row.backup_file.clone().ok_or_else(|| {
        OpError::invalid(
            "id",
            format!(
                "version {} of {} has no backup (it was never applied over an existing file)",
                row.version, row.config_file
            ),
        )
    })?;
    let data = std::fs::read_to_string(&backup)
        .map_err(|e| OpError::Io(format!("reading the backup {backup}: {e}")))?;
    let restored = edit(conn, ctx, row.id, &data)?;
    let (after, applied) = apply(conn, ctx, restored.id, write_disk)?;
    Ok((after, applied, backup))
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, id: i32) -> OpResult<MailServerConfig> {
    Principal::load(conn, ctx)?.require_admin("reading mail server configs")?;
    by_id(conn, id)
}

/// A keyset page for the mail server configs screen; admin only, like every
/// read of these rows (the files can hold database credentials).
pub fn page(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    text: Option<&str>,
    page: &crate::store::Page,
) -> OpResult<Vec<MailServerConfig>> {
    Principal::load(conn, ctx)?.require_admin("reading mail server configs")?;
    Ok(crate::store::mail_servers::list(conn, text, page)?)
}

/// Versions, newest first, optionally of one service or file.
pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    service: Option<&str>,
    file: Option<&str>,
    limit: i64,
) -> OpResult<Vec<MailServerConfig>> {
    Principal::load(conn, ctx)?.require_admin("reading mail server configs")?;
    let mut q = msc::table
        .select(MailServerConfig::as_select())
        .order(msc::id.desc())
        .limit(limit.clamp(1, crate::store::MAX_PAGE))
        .into_boxed();
    if let Some(s) = service {
        q = q.filter(msc::service_name.eq(check_service("service", s)?));
    }
    if let Some(f) = file {
        q = q.filter(msc::config_file.eq(f.to_string()));
    }
    Ok(q.load(conn)?)
}

/// Run `write` (which generates the Postfix/Dovecot files) as an audited,
/// admin-only operation: the files carry the database credentials.
pub fn generate_files<T: Serialize>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    out: &str,
    write: impl FnOnce() -> OpResult<T>,
) -> OpResult<T> {
    let request = json!({ "out": out });
    run_write(
        conn,
        ctx,
        AuditAction::Generate,
        AuditType::MailFiles,
        request,
        |_, who| {
            who.require_admin("generating mail server files")?;
            let made = write()?;
            let done = Done::new(
                None,
                json!({ "out": out, "result": serde_json::to_value(&made).unwrap_or_default() }),
            );
            Ok((made, done))
        },
    )
}
