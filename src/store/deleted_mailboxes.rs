//! Mailboxes on hold after a delete (issue 20): the row as it was, the
//! aliases that named it, and when its purge is due. Reads only; the hold,
//! restore and purge are `ops::deleted`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{like_pattern, Filter, Page};
use crate::db::schema::deleted_mailboxes;
use crate::db::AnyConnection;

#[derive(Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = deleted_mailboxes)]
pub struct DeletedMailbox {
    pub id: i32,
    pub username: String,
    pub domain: String,
    /// None once the domain itself was deleted (`domain delete --cascade`).
    pub domain_id: Option<i32>,
    pub local_part: String,
    /// The id the mailbox had; a restored mailbox gets a new one.
    pub mailbox_id: i32,
    #[serde(skip)]
    pub password_hash: String,
    pub quota_limit: i64,
    pub quota_used: i64,
    pub status: String,
    pub name: Option<String>,
    pub imap_enabled: bool,
    pub pop3_enabled: bool,
    pub smtp_enabled: bool,
    pub sieve_enabled: bool,
    pub password_expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub created_by: Option<i32>,
    /// JSON list of `ops::deleted::HeldAlias`.
    #[serde(skip)]
    pub aliases: String,
    pub deleted_at: NaiveDateTime,
    pub deleted_by: Option<i32>,
    pub purge_after: NaiveDateTime,
}

// The hash never reaches a log line.
impl std::fmt::Debug for DeletedMailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeletedMailbox")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("domain_id", &self.domain_id)
            .field("purge_after", &self.purge_after)
            .finish_non_exhaustive()
    }
}

pub fn by_username(
    conn: &mut AnyConnection,
    username: &str,
) -> QueryResult<Option<DeletedMailbox>> {
    deleted_mailboxes::table
        .filter(deleted_mailboxes::username.eq(username))
        .select(DeletedMailbox::as_select())
        .first(conn)
        .optional()
}

/// Holds on addresses of a domain (by name: a cascade-deleted domain's
/// holds have lost the id).
pub fn count_for_domain(conn: &mut AnyConnection, domain: &str) -> QueryResult<i64> {
    deleted_mailboxes::table
        .filter(deleted_mailboxes::domain.eq(domain))
        .count()
        .get_result(conn)
}

/// Holds whose purge is due at `now`, oldest due first. `scope`: the
/// caller's domain ids (None: every hold, the admin's view).
pub fn due(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<DeletedMailbox>> {
    let mut q = deleted_mailboxes::table
        .filter(deleted_mailboxes::purge_after.le(now))
        .select(DeletedMailbox::as_select())
        .order((
            deleted_mailboxes::purge_after.asc(),
            deleted_mailboxes::id.asc(),
        ))
        .limit(limit)
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(deleted_mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    q.load(conn)
}

/// A keyset page by address, filtered like the other name-keyed lists.
pub fn list(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &Filter,
    page: &Page,
) -> QueryResult<Vec<DeletedMailbox>> {
    let mut q = deleted_mailboxes::table
        .select(DeletedMailbox::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(deleted_mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    if let Some(d) = f.domain_id {
        q = q.filter(deleted_mailboxes::domain_id.eq(d));
    }
    if let Some(t) = &f.text {
        q = q.filter(
            deleted_mailboxes::username
                .like(like_pattern(t))
                .escape('\\'),
        );
    }
    q = match (&page.after, f.sort.desc != page.backward) {
        (None, false) => q.order(deleted_mailboxes::username.asc()),
        (None, true) => q.order(deleted_mailboxes::username.desc()),
        (Some(a), false) => q
            .filter(deleted_mailboxes::username.gt(a.clone()))
            .order(deleted_mailboxes::username.asc()),
        (Some(a), true) => q
            .filter(deleted_mailboxes::username.lt(a.clone()))
            .order(deleted_mailboxes::username.desc()),
    };
    let mut rows: Vec<_> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}
