//! Send-as grants (issue 20): which live mailbox may send as which address
//! or `@domain`. Reads only; grants and revokes are `ops::sender_grants`,
//! the hold and restore move them (`ops::deleted`). Grants of a mailbox on
//! the deletion hold (`held_id` set) are not listed: they have no mailbox
//! until a restore.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::{like_pattern, Page};
use crate::db::schema::{mailboxes, sender_grants};
use crate::db::AnyConnection;

/// A grant with its mailbox's address.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Serialize)]
pub struct SenderGrant {
    pub id: i32,
    /// The grantee's address.
    pub mailbox: String,
    pub mailbox_id: i32,
    /// The grantee's domain.
    pub mailbox_domain_id: i32,
    /// An address, or `@domain` for every address of the domain.
    pub address: String,
    /// The granted address's domain.
    pub domain_id: i32,
    pub created_at: NaiveDateTime,
    pub created_by: String,
}

impl SenderGrant {
    /// "mailbox as address": how lists and the audit log name a grant.
    pub fn name(&self) -> String {
        format!("{} as {}", self.mailbox, self.address)
    }
}

type Cols = (
    sender_grants::id,
    mailboxes::username,
    mailboxes::id,
    mailboxes::domain_id,
    sender_grants::address,
    sender_grants::domain_id,
    sender_grants::created_at,
    sender_grants::created_by,
);
const COLS: Cols = (
    sender_grants::id,
    mailboxes::username,
    mailboxes::id,
    mailboxes::domain_id,
    sender_grants::address,
    sender_grants::domain_id,
    sender_grants::created_at,
    sender_grants::created_by,
);

/// The grant of `mailbox_id` for exactly `address`.
pub fn find(
    c: &mut AnyConnection,
    mailbox_id: i32,
    address: &str,
) -> QueryResult<Option<SenderGrant>> {
    sender_grants::table
        .inner_join(mailboxes::table)
        .filter(sender_grants::mailbox_id.eq(mailbox_id))
        .filter(sender_grants::address.eq(address))
        .select(COLS)
        .first(c)
        .optional()
}

pub fn by_id(c: &mut AnyConnection, id: i32) -> QueryResult<Option<SenderGrant>> {
    sender_grants::table
        .inner_join(mailboxes::table)
        .filter(sender_grants::id.eq(id))
        .select(COLS)
        .first(c)
        .optional()
}

/// What a list shows.
#[derive(Debug, Clone, Default)]
pub struct GrantFilter {
    /// Only the grants of this mailbox (by id, resolved by the caller).
    pub mailbox_id: Option<i32>,
    /// Only grants of exactly this address or `@domain`.
    pub address: Option<String>,
    /// Substring of the grantee or the granted address, case-insensitive.
    pub text: Option<String>,
}

/// A keyset page in creation order (the cursor is the grant's id).
/// `scope`: the caller's domain ids (None: all); a grant is visible when
/// its mailbox's domain or its address's domain is in scope.
pub fn list(
    c: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &GrantFilter,
    page: &Page,
) -> QueryResult<Vec<SenderGrant>> {
    let mut q = sender_grants::table
        .inner_join(mailboxes::table)
        .select(COLS)
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(
            mailboxes::domain_id
                .eq_any(ids.to_vec())
                .or(sender_grants::domain_id.eq_any(ids.to_vec())),
        );
    }
    if let Some(m) = f.mailbox_id {
        q = q.filter(sender_grants::mailbox_id.eq(m));
    }
    if let Some(a) = &f.address {
        q = q.filter(sender_grants::address.eq(a.clone()));
    }
    if let Some(t) = &f.text {
        let pat = like_pattern(&t.to_lowercase());
        q = q.filter(
            mailboxes::username
                .like(pat.clone())
                .escape('\\')
                .or(sender_grants::address.like(pat).escape('\\')),
        );
    }
    let after = page.after.as_deref().and_then(|a| a.parse::<i32>().ok());
    q = match (after, page.backward) {
        (None, false) => q.order(sender_grants::id.asc()),
        (None, true) => q.order(sender_grants::id.desc()),
        (Some(a), false) => q
            .filter(sender_grants::id.gt(a))
            .order(sender_grants::id.asc()),
        (Some(a), true) => q
            .filter(sender_grants::id.lt(a))
            .order(sender_grants::id.desc()),
    };
    let mut rows: Vec<SenderGrant> = q.load(c)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// How many grants a held mailbox keeps for its restore.
pub fn held_count(c: &mut AnyConnection, held_id: i32) -> QueryResult<i64> {
    sender_grants::table
        .filter(sender_grants::held_id.eq(held_id))
        .count()
        .get_result(c)
}
