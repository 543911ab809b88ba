//! Mail server config rows (Postfix/Dovecot files the product manages). Read
//! only for now: writing them belongs to the mail-server issue.

use diesel::prelude::*;

use super::{like_pattern, Page};
use crate::db::models::MailServerConfig;
use crate::db::schema::mail_server_configs;
use crate::db::AnyConnection;

/// Keyset page by id (as text, like every screen's cursor); `text` filters
/// on the service_name (case-insensitive).
pub fn list(
    conn: &mut AnyConnection,
    text: Option<&str>,
    page: &Page,
) -> QueryResult<Vec<MailServerConfig>> {
    let cursor = match page.after.as_deref() {
        Some(a) => Some(a.parse::<i32>().map_err(|_| {
            diesel::result::Error::QueryBuilderError(format!("bad cursor {a:?}").into())
        })?),
        None => None,
    };
    let mut q = mail_server_configs::table
        .select(MailServerConfig::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(t) = text {
        q = q.filter(
            diesel::dsl::sql::<diesel::sql_types::Text>("lower(service_name)")
                .like(like_pattern(t))
                .escape('\\'),
        );
    }
    q = match (cursor, page.backward) {
        (None, false) => q.order(mail_server_configs::id.asc()),
        (None, true) => q.order(mail_server_configs::id.desc()),
        (Some(c), false) => q
            .filter(mail_server_configs::id.gt(c))
            .order(mail_server_configs::id.asc()),
        (Some(c), true) => q
            .filter(mail_server_configs::id.lt(c))
            .order(mail_server_configs::id.desc()),
    };
    let mut rows: Vec<MailServerConfig> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}
