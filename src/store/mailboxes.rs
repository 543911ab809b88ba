use diesel::prelude::*;

use super::{like_pattern, Filter, Page};
use crate::db::models::Mailbox;
use crate::db::schema::mailboxes;
use crate::db::AnyConnection;

pub fn by_address(conn: &mut AnyConnection, address: &str) -> QueryResult<Option<Mailbox>> {
    mailboxes::table
        .filter(mailboxes::username.eq(address))
        .select(Mailbox::as_select())
        .first(conn)
        .optional()
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Option<&[i32]>,
    f: &Filter,
    page: &Page,
) -> QueryResult<Vec<Mailbox>> {
    let mut q = mailboxes::table
        .select(Mailbox::as_select())
        .order(mailboxes::username.asc())
        .limit(page.limit())
        .into_boxed();
    if let Some(ids) = scope {
        q = q.filter(mailboxes::domain_id.eq_any(ids.to_vec()));
    }
    if let Some(d) = f.domain_id {
        q = q.filter(mailboxes::domain_id.eq(d));
    }
    if let Some(t) = &f.text {
        q = q.filter(mailboxes::username.like(like_pattern(t)).escape('\\'));
    }
    if let Some(s) = &f.status {
        q = q.filter(mailboxes::status.eq(s.clone()));
    }
    if let Some(a) = &page.after {
        q = q.filter(mailboxes::username.gt(a.clone()));
    }
    q.load(conn)
}
