//! Replacing the secrets key. Order matters so that no step can leave a
//! secret that nothing decrypts:
//! 1. the new key is written beside the old one (`<key>.next`, 0600);
//! 2. one transaction decrypts every stored secret (LDAP bind passwords,
//!    TOTP secrets, DKIM private keys) with the old key
//!    (any failure: nothing changes) and re-encrypts it with the new one;
//! 3. after the commit, the old key is kept as `<key>.old-<UTC time>` and
//!    the new one renamed over the key file (atomic).
//!
//! A stop between 2 and 3 leaves `<key>.next` holding the key that the
//! database now needs; docs/operations.md says to move it into place.

use serde::Serialize;
use serde_json::json;

use diesel::prelude::*;

use crate::db::schema::ldap_configs;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
use crate::ops::{run_write, Ctx, Done};
use crate::secrets::{KeyFile, SecretKey, Slot};
use crate::store;

pub const STAGED_SUFFIX: &str = "next";

#[derive(Debug, Clone, Serialize)]
pub struct RotateReport {
    pub secrets_reencrypted: usize,
    pub key_file: String,
    /// Where the previous key was kept; None when there was none.
    pub old_key_backup: Option<String>,
}

pub fn rotate_key(conn: &mut AnyConnection, ctx: &Ctx, keys: &KeyFile) -> OpResult<RotateReport> {
    let staged = keys.sibling(STAGED_SUFFIX);
    let request = json!({ "key_file": keys.path.display().to_string() });
    let old = if keys.exists() {
        Some(keys.load()?)
    } else {
        None
    };
    if staged.exists() {
        return Err(OpError::Secret(format!(
            "{} exists from an earlier rotation that did not finish; see docs/operations.md before rotating again",
            staged.display()
        )));
    }
    let new = SecretKey::generate();
    keys.write_private(&staged, &new)?;
    let result = run_write(
        conn,
        ctx,
        AuditAction::RotateKey,
        AuditType::Secrets,
        request,
        |c, who| {
            who.require_admin("rotating the secrets key")?;
            let rows = store::ldap_servers::with_bind_password(c)?;
            let sealed: Vec<_> = rows
                .iter()
                .filter_map(|r| {
                    let stored = r.bind_password.as_deref()?;
                    Some((r.id, Slot::ldap_bind_password(r.id), stored))
                })
                .collect();
            let ldap = crate::secrets::reseal(
                "LDAP bind passwords",
                &sealed,
                (old.as_ref(), &new),
                &keys.path,
                |id, resealed| {
                    diesel::update(ldap_configs::table.find(id))
                        .set(ldap_configs::bind_password.eq(Some(resealed)))
                        .execute(c)
                        .map(drop)
                        .map_err(OpError::from)
                },
            )?;
            let n = ldap
                + crate::ops::totp::reencrypt(c, old.as_ref(), &new, &keys.path)?
                + crate::ops::dkim::reencrypt(c, old.as_ref(), &new, &keys.path)?;
            Ok((n, Done::new(None, json!({ "secrets_reencrypted": n }))))
        },
    );
    let n = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };
    let backup = if old.is_some() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let backup = keys.sibling(&format!("old-{stamp}"));
        keys.replace(&staged, &backup)?;
        Some(backup.display().to_string())
    } else {
        std::fs::rename(&staged, &keys.path)
            .map_err(|e| OpError::Secret(format!("{}: {e}", keys.path.display())))?;
        None
    };
    Ok(RotateReport {
        secrets_reencrypted: n,
        key_file: keys.path.display().to_string(),
        old_key_backup: backup,
    })
}
