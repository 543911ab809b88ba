//! The rename journal (issue 20): one row per mailbox rename whose
//! maildir move has not finished. Reads only; `ops::rename` writes it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::mailbox_renames;
use crate::db::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, PartialEq, Eq)]
#[diesel(table_name = mailbox_renames)]
pub struct MailboxRename {
    pub id: i32,
    pub mailbox_id: i32,
    pub old_username: String,
    pub new_username: String,
    pub old_domain_id: i32,
    pub old_local_part: String,
    pub old_home: String,
    pub new_home: String,
    /// The mailbox's status before the rename suspended it.
    pub old_status: String,
    pub keep_alias: bool,
    pub started_at: NaiveDateTime,
    pub started_by: Option<i32>,
}

/// Every pending rename, oldest first (there are only ever a few).
pub fn all(conn: &mut AnyConnection) -> QueryResult<Vec<MailboxRename>> {
    mailbox_renames::table
        .select(MailboxRename::as_select())
        .order(mailbox_renames::id.asc())
        .load(conn)
}

/// The pending rename that has `address` as its old or new name.
pub fn naming(conn: &mut AnyConnection, address: &str) -> QueryResult<Option<MailboxRename>> {
    mailbox_renames::table
        .filter(
            mailbox_renames::old_username
                .eq(address)
                .or(mailbox_renames::new_username.eq(address)),
        )
        .select(MailboxRename::as_select())
        .first(conn)
        .optional()
}

pub fn for_mailbox(conn: &mut AnyConnection, id: i32) -> QueryResult<Option<MailboxRename>> {
    mailbox_renames::table
        .filter(mailbox_renames::mailbox_id.eq(id))
        .select(MailboxRename::as_select())
        .first(conn)
        .optional()
}
