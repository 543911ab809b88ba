//! App passwords: the row type and its reads. The bcrypt hash is never
//! serialized or shown; the selector (the password's public first part) is
//! kept out of output too, since with it a listing would hand out a third
//! of each credential.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::app_passwords;
use crate::db::AnyConnection;

#[derive(Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = app_passwords)]
pub struct AppPassword {
    pub id: i32,
    pub mailbox_id: i32,
    pub name: String,
    #[serde(skip)]
    pub selector: String,
    #[serde(skip)]
    pub password_hash: String,
    pub allow_imap: bool,
    pub allow_pop3: bool,
    pub allow_smtp: bool,
    pub allow_sieve: bool,
    pub created_at: NaiveDateTime,
    pub created_by: Option<i32>,
    pub last_used: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub version: i32,
}

impl AppPassword {
    /// The allowed protocols as `imap,smtp` (the order of the CLI's list).
    pub fn protocols(&self) -> String {
        [
            (self.allow_imap, "imap"),
            (self.allow_pop3, "pop3"),
            (self.allow_smtp, "smtp"),
            (self.allow_sieve, "sieve"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, p)| *p)
        .collect::<Vec<_>>()
        .join(",")
    }

    /// "active", "revoked" or "expired" at `now`.
    pub fn state(&self, now: NaiveDateTime) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

impl std::fmt::Debug for AppPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppPassword")
            .field("id", &self.id)
            .field("mailbox_id", &self.mailbox_id)
            .field("name", &self.name)
            .field("protocols", &self.protocols())
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

/// Every app password of a mailbox, revoked ones included, by name then age.
pub fn for_mailbox(c: &mut AnyConnection, mailbox_id: i32) -> QueryResult<Vec<AppPassword>> {
    app_passwords::table
        .filter(app_passwords::mailbox_id.eq(mailbox_id))
        .order((app_passwords::name.asc(), app_passwords::id.asc()))
        .select(AppPassword::as_select())
        .load(c)
}

/// The mailbox's app password of this name that is not revoked (at most one:
/// a unique index on live names).
pub fn live_by_name(
    c: &mut AnyConnection,
    mailbox_id: i32,
    name: &str,
) -> QueryResult<Option<AppPassword>> {
    app_passwords::table
        .filter(app_passwords::mailbox_id.eq(mailbox_id))
        .filter(app_passwords::name.eq(name))
        .filter(app_passwords::revoked_at.is_null())
        .select(AppPassword::as_select())
        .first(c)
        .optional()
}

pub fn by_id(c: &mut AnyConnection, id: i32) -> QueryResult<Option<AppPassword>> {
    app_passwords::table
        .find(id)
        .select(AppPassword::as_select())
        .first(c)
        .optional()
}
