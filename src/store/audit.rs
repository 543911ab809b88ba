use diesel::prelude::*;

use crate::db::models::AuditLog;
use crate::db::schema::audit_logs;
use crate::db::AnyConnection;
use crate::model::AuditType;

use super::Page;

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub user_id: Option<i32>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<i64>,
    pub result: Option<String>,
    /// Only rows with an id below this (newest first paging).
    pub before_id: Option<i64>,
}

/// Newest first, keyset on id.
pub fn list(conn: &mut AnyConnection, f: &AuditFilter, limit: i64) -> QueryResult<Vec<AuditLog>> {
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .order(audit_logs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(u) = f.user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_logs::action.eq(a.clone()));
    }
    if let Some(t) = &f.resource_type {
        q = q.filter(audit_logs::resource_type.eq(t.clone()));
    }
    if let Some(id) = f.resource_id {
        q = q.filter(audit_logs::resource_id.eq(id));
    }
    if let Some(r) = &f.result {
        q = q.filter(audit_logs::result.eq(r.clone()));
    }
    if let Some(b) = f.before_id {
        q = q.filter(audit_logs::id.lt(b));
    }
    q.load(conn)
}

pub fn by_id(conn: &mut AnyConnection, id: i64) -> QueryResult<Option<AuditLog>> {
    audit_logs::table
        .find(id)
        .select(AuditLog::as_select())
        .first(conn)
        .optional()
}

/// The newest entry's id (0 for none): the primary key's last entry.
pub fn newest_id(conn: &mut AnyConnection) -> QueryResult<i64> {
    Ok(audit_logs::table
        .select(audit_logs::id)
        .order(audit_logs::id.desc())
        .first::<i64>(conn)
        .optional()?
        .unwrap_or(0))
}

pub fn count(conn: &mut AnyConnection) -> QueryResult<i64> {
    audit_logs::table.count().get_result(conn)
}

/// A keyset page of the log, newest first like `list`; the cursor is an id
/// (as text, so every screen pages the same way). `user_id` limits the rows
/// to one actor (what a domain-scoped user may see).
pub fn page(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    page: &Page,
) -> QueryResult<Vec<AuditLog>> {
    let cursor = match page.after.as_deref() {
        Some(a) => Some(a.parse::<i64>().map_err(|_| {
            diesel::result::Error::QueryBuilderError(format!("bad audit cursor {a:?}").into())
        })?),
        None => None,
    };
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    // Newest first: "after" in list order means a smaller id.
    q = match (cursor, page.backward) {
        (None, false) => q.order(audit_logs::id.desc()),
        (None, true) => q.order(audit_logs::id.asc()),
        (Some(c), false) => q.filter(audit_logs::id.lt(c)).order(audit_logs::id.desc()),
        (Some(c), true) => q.filter(audit_logs::id.gt(c)).order(audit_logs::id.asc()),
    };
    let mut rows: Vec<AuditLog> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// The newest `limit` rows with an id above `after_id`, newest first: the
/// live tail polls this every second, an index range scan on the primary key.
pub fn newer_than(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    after_id: i64,
    limit: i64,
) -> QueryResult<Vec<AuditLog>> {
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .filter(audit_logs::id.gt(after_id))
        .order(audit_logs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    q.load(conn)
}

/// The rows the audit screen shows unless asked for everything: all but
/// the CLI's successful logins (every CLI command logs in first). Word for
/// word the WHERE of the partial index `idx_audit_logs_shown` (migration
/// 000027), which is what lets both planners walk that index.
pub const SHOWN: &str = "NOT (audit_logs.action = 'login' AND audit_logs.result = 'ok' AND COALESCE(audit_logs.user_agent, '') LIKE '%(cli)')";

/// The audit screen's filter: exact actor, action, resource type and
/// result (each an index walked in id order), words searched in the
/// entry's details, actor and action, and whether the CLI logins show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub resource_type: Option<String>,
    pub result: Option<String>,
    pub text: Option<String>,
    /// Also the CLI's successful logins (hidden by default).
    pub logins: bool,
}

/// A keyset page of the log, newest first like `page`, filtered.
pub fn search(
    conn: &mut AnyConnection,
    user_id: Option<i32>,
    f: &AuditQuery,
    page: &Page,
) -> QueryResult<Vec<AuditLog>> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let cursor = match page.after.as_deref() {
        Some(a) => Some(a.parse::<i64>().map_err(|_| {
            diesel::result::Error::QueryBuilderError(format!("bad audit cursor {a:?}").into())
        })?),
        None => None,
    };
    let mut q = audit_logs::table
        .select(AuditLog::as_select())
        .limit(page.limit())
        .into_boxed();
    if let Some(u) = user_id {
        q = q.filter(audit_logs::user_id.eq(u));
    }
    if !f.logins {
        q = q.filter(sql::<Bool>(SHOWN));
    }
    // SQLite's statistics know only a column's average rows per value:
    // with one busy admin that average is half the log, and it would walk
    // every id to find a rare actor. `unlikely()` tells it the value is
    // selective; the column's index then hands out that value's rows in
    // id order (the index ends in the rowid), which is right for a common
    // value too. PostgreSQL's histograms need no hint.
    let sqlite = matches!(conn, AnyConnection::Sqlite(_));
    let exact = |col: &str, v: &str| {
        let (open, close) = if sqlite {
            ("unlikely(", ")")
        } else {
            ("(", ")")
        };
        sql::<Bool>(&format!("{open}audit_logs.{col} = "))
            .bind::<Text, _>(v.to_string())
            .sql(close)
    };
    for (col, v) in [
        ("actor", &f.actor),
        ("action", &f.action),
        ("resource_type", &f.resource_type),
        ("result", &f.result),
    ] {
        if let Some(v) = v {
            q = q.filter(exact(col, v));
        }
    }
    if let Some(t) = &f.text {
        // No index serves a substring of the details: the page walks the
        // log newest first (through whichever index the other conditions
        // picked) and stops once it is full.
        let p = super::like_pattern(t);
        q = q.filter(
            sql::<Bool>("(lower(COALESCE(audit_logs.details, '')) LIKE ")
                .bind::<Text, _>(p.clone())
                .sql(" ESCAPE '\\' OR lower(COALESCE(audit_logs.actor, '')) LIKE ")
                .bind::<Text, _>(p.clone())
                .sql(" ESCAPE '\\' OR audit_logs.action LIKE ")
                .bind::<Text, _>(p)
                .sql(" ESCAPE '\\')"),
        );
    }
    q = match (cursor, page.backward) {
        (None, false) => q.order(audit_logs::id.desc()),
        (None, true) => q.order(audit_logs::id.asc()),
        (Some(c), false) => q.filter(audit_logs::id.lt(c)).order(audit_logs::id.desc()),
        (Some(c), true) => q.filter(audit_logs::id.gt(c)).order(audit_logs::id.asc()),
    };
    let mut rows: Vec<AuditLog> = q.load(conn)?;
    if page.backward {
        rows.reverse();
    }
    Ok(rows)
}

/// The current names of the resources `rows` point at, by (type, id): one
/// `id IN (...)` query per resource type on the page, never one per row.
/// Ids with no row now (deleted) are absent.
pub fn resource_names(
    conn: &mut AnyConnection,
    rows: &[AuditLog],
) -> QueryResult<std::collections::HashMap<(AuditType, i64), String>> {
    use crate::db::schema::{
        alias_domains, aliases, api_tokens, app_passwords, dkim_keys, domains, mail_server_configs,
        mailboxes, sender_grants, users,
    };
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    let mut wanted: BTreeMap<AuditType, BTreeSet<i32>> = BTreeMap::new();
    for r in rows {
        let t = r.resource_type.as_deref().and_then(AuditType::parse);
        if let (Some(t), Some(id)) = (t, r.resource_id) {
            if let Ok(id) = i32::try_from(id) {
                wanted.entry(t).or_default().insert(id);
            }
        }
    }
    let mut out = HashMap::new();
    for (t, ids) in wanted {
        let ids: Vec<i32> = ids.into_iter().collect();
        let found: Vec<(i32, String)> = match t {
            // A DNS check's id is its domain's.
            AuditType::Domain | AuditType::DnsCheck => domains::table
                .filter(domains::id.eq_any(&ids))
                .select((domains::id, domains::name))
                .load(conn)?,
            // A sending suspension's id is its mailbox's.
            AuditType::Mailbox | AuditType::Sending | AuditType::Vacation => mailboxes::table
                .filter(mailboxes::id.eq_any(&ids))
                .select((mailboxes::id, mailboxes::username))
                .load(conn)?,
            AuditType::Alias => aliases::table
                .filter(aliases::id.eq_any(&ids))
                .select((aliases::id, aliases::address))
                .load(conn)?,
            AuditType::AliasDomain => alias_domains::table
                .filter(alias_domains::id.eq_any(&ids))
                .select((alias_domains::id, alias_domains::name))
                .load(conn)?,
            // A login's resource is the session of that user.
            AuditType::User | AuditType::Session | AuditType::Totp => users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::username))
                .load(conn)?,
            AuditType::MailConfig => mail_server_configs::table
                .filter(mail_server_configs::id.eq_any(&ids))
                .select((mail_server_configs::id, mail_server_configs::config_file))
                .load(conn)?,
            AuditType::DkimKey => dkim_keys::table
                .filter(dkim_keys::id.eq_any(&ids))
                .select((
                    dkim_keys::id,
                    dkim_keys::domain.concat(":").concat(dkim_keys::selector),
                ))
                .load(conn)?,
            AuditType::ApiToken => api_tokens::table
                .inner_join(users::table)
                .filter(api_tokens::id.eq_any(&ids))
                .select((
                    api_tokens::id,
                    api_tokens::name.concat(" of ").concat(users::username),
                ))
                .load(conn)?,
            AuditType::AppPassword => app_passwords::table
                .inner_join(mailboxes::table)
                .filter(app_passwords::id.eq_any(&ids))
                .select((
                    app_passwords::id,
                    mailboxes::username.concat(" ").concat(app_passwords::name),
                ))
                .load(conn)?,
            AuditType::SenderGrant => sender_grants::table
                .inner_join(mailboxes::table)
                .filter(sender_grants::id.eq_any(&ids))
                .select((
                    sender_grants::id,
                    mailboxes::username
                        .concat(" as ")
                        .concat(sender_grants::address),
                ))
                .load(conn)?,
            // No table row to name (or named in the details: a permission).
            AuditType::Permission
            | AuditType::Database
            | AuditType::Secrets
            | AuditType::MailFiles
            | AuditType::AuditLog
            | AuditType::Preferences
            | AuditType::LdapServer
            | AuditType::SendLimit => Vec::new(),
        };
        for (id, name) in found {
            out.insert((t, i64::from(id)), name);
        }
    }
    Ok(out)
}
