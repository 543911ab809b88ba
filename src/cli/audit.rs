//! `postfix-manager audit ...`: the arguments, the calls into `ops::audit`
//! and `ops::audit_archive`, and how an audit entry prints.

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::json;

use super::input::parse_date;
use super::output::{list, object, said, ts, Row};
use super::CliError;
use crate::db::models::AuditLog;
use crate::db::AnyConnection;
use crate::ops::{self, Ctx};
use crate::store::audit::AuditFilter;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Newest first
    List {
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only entries older than this id (the "next" value of the previous page)
        #[arg(long)]
        before: Option<i64>,
        #[arg(long)]
        action: Option<String>,
        /// Only entries by this user
        #[arg(long = "by")]
        by_user: Option<String>,
        #[arg(long)]
        resource_type: Option<String>,
        /// ok, refused or failed
        #[arg(long)]
        result: Option<String>,
    },
    /// One entry by id; with --archive, entries from an archive file (all, or the one with ID)
    Show {
        #[arg(required_unless_present = "archive")]
        id: Option<i64>,
        /// Read an archive written by `audit archive` instead of the database
        #[arg(long, value_name = "FILE")]
        archive: Option<PathBuf>,
    },
    /// Move entries older than a date into a compressed file (verified before anything is deleted)
    Archive {
        #[arg(long, value_name = "DATE")]
        before: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Check the hash chain and the keyed checkpoints: finds edited, deleted
    /// or reordered rows, rows cut from either end, and rewrites with
    /// recomputed hashes (exit 1 if broken)
    Verify {
        /// Read checkpoints from this file instead of `[audit] checkpoint_file`
        /// (a copy, or `grep audit-checkpoint` of the syslog)
        #[arg(long, value_name = "FILE")]
        checkpoints: Option<PathBuf>,
    },
    /// Delete entries older than a date (YYYY-MM-DD or RFC 3339, UTC); the chain stays verifiable
    Prune {
        #[arg(long, value_name = "DATE")]
        before: String,
    },
}

pub fn run(
    c: &AuditCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        AuditCommand::List {
            limit,
            before,
            action,
            by_user,
            resource_type,
            result,
        } => {
            let user_id = match by_user {
                Some(u) => Some(ops::users::get(conn, ctx, u)?.id),
                None => None,
            };
            let f = AuditFilter {
                user_id,
                action: action.clone(),
                resource_type: resource_type.clone(),
                resource_id: None,
                result: result.clone(),
                before_id: *before,
            };
            let rows = ops::audit::list(conn, ctx, &f, *limit)?;
            let out = list(&rows, *limit, j);
            if j {
                out
            } else {
                out.replace("(more: --after", "(more: --before")
            }
        }
        AuditCommand::Show { id, archive: None } => {
            let id = id.ok_or_else(|| {
                CliError::Usage("audit show needs an ID or --archive FILE".into())
            })?;
            object(&ops::audit::get(conn, ctx, id)?, j)
        }
        AuditCommand::Show {
            id,
            archive: Some(file),
        } => show_archive(file, *id, conn, ctx, j)?,
        AuditCommand::Archive { before, out } => {
            let when = parse_date("before", before)?;
            let r = ops::audit_archive::archive(conn, ctx, when, out)?;
            said(
                j,
                &r,
                if r.rows == 0 {
                    format!("no entries older than {when} UTC; nothing archived, no file written")
                } else {
                    format!(
                        "archived {} (ids {}..{}) to {}, verified (sha256 {}), and removed {} from the table",
                        crate::plural::count(r.rows, "entry", "entries"),
                        r.first_id.unwrap_or(0),
                        r.last_id.unwrap_or(0),
                        r.file,
                        r.sha256.as_deref().unwrap_or(""),
                        if r.rows == 1 { "it" } else { "them" }
                    )
                },
            )
        }
        AuditCommand::Verify { checkpoints } => verify(checkpoints.as_deref(), conn, ctx, j)?,
        AuditCommand::Prune { before } => {
            let when = parse_date("before", before)?;
            let r = ops::audit::prune(conn, ctx, when)?;
            said(
                j,
                &r,
                format!(
                    "deleted {}; the chain now starts at id {}",
                    crate::plural::count(r.deleted, "audit entry", "audit entries"),
                    r.first_id
                ),
            )
        }
    })
}

/// `audit show --archive FILE [ID]`: the rows of an archive file.
fn show_archive(
    file: &std::path::Path,
    id: Option<i64>,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    ops::audit::require_reader(conn, ctx)?;
    let a = ops::audit_archive::read(file, ctx.policy.audit.as_ref())?;
    let rows: Vec<_> = a
        .rows
        .iter()
        .filter(|r| id.is_none_or(|i| r.id == i))
        .cloned()
        .collect();
    Ok(if j {
        object(
            &json!({ "header": a.header, "problems": a.problems, "items": rows }),
            true,
        )
    } else {
        let mut out = format!(
            "archive {}: ids {}..{}, {}, older than {} UTC; {}\n",
            file.display(),
            a.header.first_id,
            a.header.last_id,
            crate::plural::s(a.rows.len(), "row"),
            a.header.before,
            if !a.problems.is_empty() {
                crate::sanitize::for_terminal(&format!("PROBLEMS: {}", a.problems.join("; ")))
            } else if a.keyed_unchecked > 0 {
                format!(
                    "links intact; {} from row {} on unchecked (no audit key)",
                    crate::plural::s(a.keyed_unchecked, "keyed row"),
                    a.header.keyed_from.unwrap_or_default()
                )
            } else {
                "chain intact".to_string()
            }
        );
        out.push_str(&super::output::table(&rows));
        out
    })
}

/// `audit verify`: the chain and checkpoints; a broken chain exits 1.
fn verify(
    checkpoints: Option<&std::path::Path>,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    let r = ops::audit::verify_against(conn, ctx, checkpoints)?;
    let text = if r.ok() {
        let mut t = format!(
            "audit chain intact: {} checked",
            crate::plural::s(r.rows_checked, "row")
        );
        if let Some(k) = r.keyed_from {
            t.push_str(&format!(", keyed (HMAC) from row {k}"));
        }
        match &r.latest_checkpoint {
            Some(cp) => t.push_str(&format!(
                "; matches {}, the latest at {} (row {})",
                crate::plural::s(r.checkpoints, "checkpoint"),
                crate::sanitize::for_terminal(&cp.time),
                cp.last
            )),
            None => t.push_str("; no checkpoint to compare with"),
        }
        t.push('\n');
        t
    } else {
        let mut t = format!(
            "audit chain BROKEN after checking {}:\n",
            crate::plural::s(r.rows_checked, "row")
        );
        for p in &r.problems {
            t.push_str(&format!("  {}\n", crate::sanitize::for_terminal(p)));
        }
        t
    };
    let out = if j { object(&r, true) } else { text };
    if r.ok() {
        Ok(out)
    } else {
        Err(CliError::Report {
            out,
            code: 1,
            message: "the audit chain is broken".into(),
        })
    }
}

impl Row for AuditLog {
    const HEADERS: &'static [&'static str] = &[
        "ID", "TIME", "ACTOR", "ACTION", "RESOURCE", "RESULT", "FROM", "DETAILS",
    ];
    fn cells(&self) -> Vec<String> {
        let mut details = self.details.clone().unwrap_or_default();
        if details.chars().count() > 80 {
            details = details.chars().take(77).collect::<String>() + "...";
        }
        vec![
            self.id.to_string(),
            ts(&self.timestamp),
            self.actor.clone().unwrap_or_default(),
            self.action.clone(),
            match (&self.resource_type, self.resource_id) {
                (Some(t), Some(id)) => format!("{t}#{id}"),
                (Some(t), None) => t.clone(),
                _ => String::new(),
            },
            self.result.clone(),
            self.ip_address.clone().unwrap_or_default(),
            details,
        ]
    }
    fn key(&self) -> String {
        self.id.to_string()
    }
}
