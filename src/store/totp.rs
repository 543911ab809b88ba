//! A user's second factor (TOTP) and recovery codes: the rows and their
//! reads. The encrypted secret and the codes' hashes are never serialized
//! or printed.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{user_totp, user_totp_recovery};
use crate::db::AnyConnection;

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = user_totp)]
pub struct UserTotp {
    pub user_id: i32,
    /// `v1:` ciphertext (src/secrets.rs), bound to this user's id.
    pub secret: String,
    pub enabled: bool,
    pub last_step: i64,
    pub created_at: NaiveDateTime,
    pub enabled_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for UserTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserTotp")
            .field("user_id", &self.user_id)
            .field("enabled", &self.enabled)
            .field("last_step", &self.last_step)
            .field("enabled_at", &self.enabled_at)
            .finish_non_exhaustive()
    }
}

/// The user's second factor, if any. The table is there on a current
/// schema; a login on an older one (`db rollback`) does not ask
/// (`migrate::Tables`, read at login).
pub fn by_user(conn: &mut AnyConnection, user_id: i32) -> QueryResult<Option<UserTotp>> {
    user_totp::table
        .find(user_id)
        .select(UserTotp::as_select())
        .first(conn)
        .optional()
}

/// Has this user a confirmed second factor?
pub fn enabled(conn: &mut AnyConnection, user_id: i32) -> QueryResult<bool> {
    Ok(by_user(conn, user_id)?.is_some_and(|t| t.enabled))
}

/// Recovery codes not used yet.
pub fn unused_recovery_codes(conn: &mut AnyConnection, user_id: i32) -> QueryResult<i64> {
    user_totp_recovery::table
        .filter(user_totp_recovery::user_id.eq(user_id))
        .filter(user_totp_recovery::used_at.is_null())
        .count()
        .get_result(conn)
}
