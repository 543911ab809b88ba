//! Quota usage from Dovecot written into mailboxes.quota_used, all mailboxes
//! in one transaction with one audit row. Domain totals follow through the
//! database trigger. Admin-only: it rewrites every domain's numbers.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{run_write, Ctx, Done};
use crate::db::schema::mailboxes;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};

/// Usernames named in an audit row at most; the counts are always complete.
const LISTED: usize = 20;
/// Rows per `IN (...)` lookup, well under every backend's parameter limit.
const CHUNK: usize = 500;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncSummary {
    /// Mailboxes Dovecot reported.
    pub reported: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Reported by Dovecot but not in the database (first few named).
    pub unknown: usize,
    pub unknown_names: Vec<String>,
    /// Sum of the reported usage, bytes.
    pub total_bytes: i64,
}

/// Parse `output` of `doveadm -f tab quota get -A` and write it; malformed
/// output is refused (and audited) with its line number, changing nothing.
/// `source` (the command run) goes into the audit row.
pub fn sync_from_output(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    output: &str,
    source: &str,
) -> OpResult<SyncSummary> {
    let request = json!({ "source": source, "output_bytes": output.len() });
    run_write(conn, ctx, "quota_sync", "mailbox", request, |c, who| {
        who.require_admin("quota sync")?;
        let usage: Vec<(String, i64)> = crate::mail::quota::parse(output)?
            .into_iter()
            .map(|u| (u.username, u.bytes))
            .collect();
        write_usage(c, &usage, source)
    })
}

fn write_usage(
    c: &mut AnyConnection,
    usage: &[(String, i64)],
    source: &str,
) -> OpResult<(SyncSummary, Done)> {
    {
        if let Some((u, b)) = usage.iter().find(|(_, b)| *b < 0) {
            return Err(OpError::invalid(
                "quota_used",
                format!("{u}: {b} bytes is negative"),
            ));
        }
        let mut current: HashMap<String, (i32, i64)> = HashMap::new();
        for chunk in usage.chunks(CHUNK) {
            let names: Vec<&str> = chunk.iter().map(|(u, _)| u.as_str()).collect();
            let rows: Vec<(i32, String, i64)> = mailboxes::table
                .filter(mailboxes::username.eq_any(names))
                .select((mailboxes::id, mailboxes::username, mailboxes::quota_used))
                .load(c)?;
            current.extend(rows.into_iter().map(|(id, u, q)| (u, (id, q))));
        }
        let mut s = SyncSummary {
            reported: usage.len(),
            ..Default::default()
        };
        for (user, bytes) in usage {
            s.total_bytes = s.total_bytes.saturating_add(*bytes);
            match current.get(user) {
                None => {
                    s.unknown += 1;
                    if s.unknown_names.len() < LISTED {
                        s.unknown_names.push(user.clone());
                    }
                }
                Some((_, q)) if q == bytes => s.unchanged += 1,
                // version and updated_at stay: usage is not an admin's edit,
                // and bumping them would break admins' optimistic locks.
                Some((id, _)) => {
                    diesel::update(mailboxes::table.find(*id))
                        .set(mailboxes::quota_used.eq(*bytes))
                        .execute(c)?;
                    s.updated += 1;
                }
            }
        }
        let done = Done::new(None, json!({ "source": source, "summary": s }));
        Ok((s, done))
    }
}
