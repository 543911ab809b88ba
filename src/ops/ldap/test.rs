//! Testing a server. Split in three so a screen's worker can run the slow
//! middle part without holding a database connection: `prepare_test`
//! (database: authorize, load, decrypt), `crate::ldap::test::run`
//! (network only, bounded by the timeout), `record_test` (database: audit).

use std::time::Duration;

use serde_json::json;

use super::{admin_settings, audit_refusal};
use crate::db::{write_tx, AnyConnection};
use crate::error::OpResult;
use crate::ldap::test::TestReport;
use crate::ldap::ServerSettings;
use crate::model::{AuditAction, AuditType};
use crate::ops::{audit, Ctx};
use crate::secrets::KeyFile;

pub fn prepare_test(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: Option<&KeyFile>,
    name: &str,
) -> OpResult<ServerSettings> {
    admin_settings(conn, ctx, keys, name).map_err(|e| {
        audit_refusal(
            conn,
            ctx,
            AuditAction::Test,
            json!({ "server_name": name }),
            e,
        )
    })
}

/// The audit row of a test: what failed and how long it took, nothing the
/// server said about its entries.
pub fn record_test(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    server_id: i32,
    r: &TestReport,
) -> OpResult<()> {
    write_tx(conn, |c| {
        audit::record(
            c,
            ctx,
            audit::Entry {
                action: AuditAction::Test,
                resource_type: AuditType::LdapServer,
                resource_id: Some(i64::from(server_id)),
                details: json!({
                    "server": r.server,
                    "ok": r.ok,
                    "failed_step": r.failed_step,
                    "error": r.error.as_ref().map(|e| e.to_string()),
                    "total_ms": r.total_ms,
                }),
                result: if r.ok {
                    audit::RESULT_OK
                } else {
                    audit::RESULT_FAILED
                },
            },
        )
    })?;
    Ok(())
}

/// All three steps on the calling thread.
pub fn test(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: Option<&KeyFile>,
    name: &str,
    timeout: Duration,
) -> OpResult<TestReport> {
    let s = prepare_test(conn, ctx, keys, name)?;
    let report = crate::ldap::test::run(&s, timeout);
    record_test(conn, ctx, s.id, &report)?;
    Ok(report)
}
