//! Audit log rotation: old rows go to a gzip-compressed JSON-lines file,
//! which is read back and verified (count, every hash, every link, and the
//! last row against the database) before the rows are deleted in one
//! audited transaction. A failure at any step before the delete leaves the
//! table as it was; a failure after the file is written leaves a complete
//! archive and all rows, never fewer.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::audit::{delete_through, keyed_row_hash_of, lock_chain, row_hash_of, GENESIS};
use super::audit_seal::Seal;
use super::{run_write, Ctx, Done, Principal};
use crate::db::models::AuditLog;
use crate::db::schema::{audit_chain_anchor, audit_logs};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};

const FORMAT: &str = "postfix-manager audit archive";
const BATCH: i64 = 5_000;

/// The archive's first line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// Rows strictly older than this (UTC) were archived.
    pub before: chrono::NaiveDateTime,
    pub first_id: i64,
    pub last_id: i64,
    pub rows: i64,
    /// The hash the first archived row links to.
    pub prev_hash: String,
    /// Rows from this id on are HMAC-keyed: read back with the audit key
    /// their HMACs are checked; without it they are reported unchecked.
    /// Absent in archives of unkeyed rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyed_from: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    pub file: String,
    pub rows: i64,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
    pub sha256: Option<String>,
}

/// A read-back archive: its header, its rows, and whether its chain holds.
#[derive(Debug, Clone, Serialize)]
pub struct Archive {
    pub header: Header,
    pub rows: Vec<AuditLog>,
    pub problems: Vec<String>,
    /// Keyed rows whose HMAC could not be checked (no audit key at hand):
    /// their ids and links hold, but anyone can recompute those, so they
    /// are not called clean.
    pub keyed_unchecked: i64,
}

impl Archive {
    /// Every row checked, nothing wrong.
    pub fn verified(&self) -> bool {
        self.problems.is_empty() && self.keyed_unchecked == 0
    }
}

fn io(what: &str, e: impl std::fmt::Display) -> OpError {
    OpError::Io(format!("{what}: {e}"))
}

/// Read and check an archive file. Problems (a broken link, an altered
/// row, a count that does not match) are listed, not fatal, so a damaged
/// archive can still be looked at. Keyed rows are checked with the audit
/// key of `seal`; without one they are counted as unchecked.
pub fn read(path: &Path, seal: Option<&Seal>) -> OpResult<Archive> {
    let f = std::fs::File::open(path).map_err(|e| io(&format!("opening {}", path.display()), e))?;
    let mut lines = BufReader::new(GzDecoder::new(f)).lines();
    let first = lines
        .next()
        .ok_or_else(|| OpError::invalid("archive", "the file is empty"))?
        .map_err(|e| io("reading the archive (is it gzip?)", e))?;
    let header: Header = serde_json::from_str(&first).map_err(|e| {
        OpError::invalid("archive", format!("line 1 is not an archive header: {e}"))
    })?;
    if header.format != FORMAT || header.version != 1 {
        return Err(OpError::invalid(
            "archive",
            format!(
                "unknown format {:?} version {}",
                header.format, header.version
            ),
        ));
    }
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let key = match (header.keyed_from, seal) {
        (Some(_), Some(seal)) if seal.key_file.exists() => match seal.key_file.load() {
            Ok(k) => Some(k),
            Err(e) => {
                problems.push(format!("cannot check the keyed rows: {e}"));
                None
            }
        },
        _ => None,
    };
    let mut keyed_unchecked = 0;
    let mut prev = header.prev_hash.clone();
    let mut expect_id = header.first_id;
    for (n, line) in lines.enumerate() {
        let line = line.map_err(|e| io("reading the archive", e))?;
        let row: AuditLog = serde_json::from_str(&line)
            .map_err(|e| OpError::invalid("archive", format!("line {}: {e}", n + 2)))?;
        if row.id != expect_id {
            problems.push(format!("row {} where {} was expected", row.id, expect_id));
        }
        if row.prev_hash != prev {
            problems.push(format!("row {} does not link to the row before it", row.id));
        }
        // A keyed row's hash is an HMAC: its links alone prove nothing,
        // since anyone can relink rows rehashed without the key.
        let keyed = header.keyed_from.is_some_and(|k| row.id >= k);
        match (keyed, &key) {
            (false, _) => {
                if row_hash_of(&row) != row.row_hash {
                    problems.push(format!("row {} was altered (hash mismatch)", row.id));
                }
            }
            (true, Some(k)) => {
                if keyed_row_hash_of(&row, k) != row.row_hash {
                    problems.push(format!(
                        "row {} was altered (HMAC mismatch: its hash was not made with the audit key)",
                        row.id
                    ));
                }
            }
            (true, None) => keyed_unchecked += 1,
        }
        prev = row.row_hash.clone();
        expect_id = row.id + 1;
        rows.push(row);
    }
    if rows.len() as i64 != header.rows {
        problems.push(format!(
            "the header promises {} rows, the file has {}",
            header.rows,
            rows.len()
        ));
    }
    Ok(Archive {
        header,
        rows,
        problems,
        keyed_unchecked,
    })
}

fn temp_beside(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    dir.join(format!(".{name}.archive-{}.tmp", std::process::id()))
}

/// Write rows `..=last_id` to `out` (gzip JSON lines, mode 0600, atomic).
fn write_file(c: &mut AnyConnection, header: &Header, out: &Path) -> OpResult<String> {
    let tmp = temp_beside(out);
    let result = (|| -> OpResult<()> {
        let f = crate::db::files::create_new(&tmp, 0o600)
            .map_err(|e| io(&format!("creating {}", tmp.display()), e))?;
        let mut gz = GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::default());
        let w = |gz: &mut GzEncoder<_>, v: &str| -> OpResult<()> {
            gz.write_all(v.as_bytes())
                .and_then(|_| gz.write_all(b"\n"))
                .map_err(|e| io("writing the archive", e))
        };
        w(
            &mut gz,
            &serde_json::to_string(header).map_err(|e| io("encoding", e))?,
        )?;
        let mut after = header.first_id - 1;
        loop {
            let batch: Vec<AuditLog> = audit_logs::table
                .filter(audit_logs::id.gt(after))
                .filter(audit_logs::id.le(header.last_id))
                .order(audit_logs::id.asc())
                .limit(BATCH)
                .select(AuditLog::as_select())
                .load(c)?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            for r in &batch {
                w(
                    &mut gz,
                    &serde_json::to_string(r).map_err(|e| io("encoding", e))?,
                )?;
            }
        }
        let inner = gz.finish().map_err(|e| io("finishing the archive", e))?;
        let f = inner
            .into_inner()
            .map_err(|e| io("flushing the archive", e.error()))?;
        f.sync_all().map_err(|e| io("syncing the archive", e))?;
        std::fs::hard_link(&tmp, out).map_err(|e| {
            io(
                &format!("placing {} (it must not exist yet)", out.display()),
                e,
            )
        })?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    result?;
    let bytes = std::fs::read(out).map_err(|e| io("reading the archive back", e))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Move audit rows older than `before` into `out`, verified, then delete
/// them. Admin only.
pub fn archive(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    before: chrono::NaiveDateTime,
    out: &Path,
) -> OpResult<ArchiveReport> {
    Principal::load(conn, ctx)?.require_admin("archiving the audit log")?;
    if out.exists() {
        return Err(OpError::invalid(
            "out",
            format!(
                "{} already exists; archives are never overwritten",
                out.display()
            ),
        ));
    }
    let chain = super::audit::verify_with(conn, ctx.policy.audit.as_ref(), None)?;
    if !chain.ok() {
        return Err(OpError::invalid(
            "audit_log",
            format!(
                "the chain is broken ({}); run `postfix-manager audit verify` first",
                chain.problems[0]
            ),
        ));
    }
    let last: Option<(i64, String)> = audit_logs::table
        .filter(audit_logs::timestamp.lt(before))
        .order(audit_logs::id.desc())
        .select((audit_logs::id, audit_logs::row_hash))
        .first(conn)
        .optional()?;
    let Some((last_id, last_hash)) = last else {
        return Ok(ArchiveReport {
            file: out.display().to_string(),
            rows: 0,
            first_id: None,
            last_id: None,
            sha256: None,
        });
    };
    let anchor: Option<(i64, String)> = audit_chain_anchor::table
        .select((audit_chain_anchor::first_id, audit_chain_anchor::prev_hash))
        .first(conn)
        .optional()?;
    let (first_id, prev_hash) = anchor.unwrap_or((1, GENESIS.to_string()));
    let header = Header {
        format: FORMAT.into(),
        version: 1,
        before,
        first_id,
        last_id,
        rows: last_id - first_id + 1,
        prev_hash,
        keyed_from: super::audit::keyed_from(conn)?,
    };
    let sha = write_file(conn, &header, out)?;
    // Read it back as a stranger would: every row, hash and link.
    let back = read(out, ctx.policy.audit.as_ref())?;
    let tail_ok = back
        .rows
        .last()
        .is_some_and(|r| r.id == last_id && r.row_hash == last_hash);
    if !back.verified() || !tail_ok {
        return Err(OpError::Io(format!(
            "the archive {} did not verify ({}); nothing was deleted",
            out.display(),
            back.problems
                .first()
                .map(String::as_str)
                .unwrap_or(if back.keyed_unchecked > 0 {
                    "its keyed rows cannot be checked without the audit key"
                } else {
                    "its last row differs from the database"
                })
        )));
    }
    let request = json!({ "before": before.to_string(), "out": out.display().to_string() });
    run_write(
        conn,
        ctx,
        AuditAction::Archive,
        AuditType::AuditLog,
        request,
        |c, who| {
            who.require_admin("archiving the audit log")?;
            lock_chain(c)?;
            // Rows are append-only, so the archived range cannot have changed;
            // the chain check inside delete's transaction would catch it anyway.
            let deleted = delete_through(c, last_id, &last_hash)?;
            if deleted != header.rows {
                return Err(OpError::Conflict(format!(
                    "expected to delete {} archived rows, found {deleted}; nothing was deleted",
                    header.rows
                )));
            }
            let r = ArchiveReport {
                file: out.display().to_string(),
                rows: deleted,
                first_id: Some(first_id),
                last_id: Some(last_id),
                sha256: Some(sha.clone()),
            };
            let done = Done::new(
                None,
                json!({ "file": r.file, "rows": deleted, "first_id": first_id, "last_id": last_id, "sha256": sha, "chain_starts_at": last_id + 1 }),
            );
            Ok((r, done))
        },
    )
}
