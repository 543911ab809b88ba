use diesel::prelude::*;

use diesel::dsl::sql;
use diesel::sql_types::{Bool, Text};

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
        // On SQLite the trigram index narrows the rows first; the LIKE
        // above still decides, so results are LIKE's exactly. PostgreSQL's
        // pg_trgm index serves the LIKE itself.
        if let (AnyConnection::Sqlite(_), Some(phrase)) = (&*conn, fts_phrase(t)) {
            q = q.filter(
                sql::<Bool>(
                    "mailboxes.id IN (SELECT rowid FROM mailboxes_fts WHERE mailboxes_fts MATCH ",
                )
                .bind::<Text, _>(phrase)
                .sql(")"),
            );
        }
    }
    if let Some(s) = &f.status {
        q = q.filter(mailboxes::status.eq(s.clone()));
    }
    q = match (&page.after, page.backward) {
        (None, false) => q.order(mailboxes::username.asc()),
        (None, true) => q.order(mailboxes::username.desc()),
        (Some(a), false) => q
            .filter(mailboxes::username.gt(a.clone()))
            .order(mailboxes::username.asc()),
        (Some(a), true) => q
            .filter(mailboxes::username.lt(a.clone()))
            .order(mailboxes::username.desc()),
    };
    let mut rows: Vec<_> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// The FTS5 query for a substring: one quoted phrase (`"` doubled), which
/// the trigram tokenizer matches as "contains", case-insensitively. None
/// for terms under 3 characters: they have no trigram, so LIKE alone
/// serves them (a scan, but short terms match most rows anyway).
pub fn fts_phrase(term: &str) -> Option<String> {
    let t = term.to_lowercase();
    if t.chars().count() < 3 {
        return None;
    }
    Some(format!("\"{}\"", t.replace('"', "\"\"")))
}
