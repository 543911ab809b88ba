//! Adding, editing, deleting and reading LDAP server rows.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::{find, require_reader, ServerView};
use crate::db::models::LdapConfig;
use crate::db::schema::{ldap_configs, users};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::ldap::{filter, TlsMode};
use crate::model::{AuditAction, AuditType};
use crate::ops::{check_version, now, run_write, Ctx, Done, Principal};
use crate::secrets::{KeyFile, SecretString, Slot};
use crate::store::{self, Page};

/// Longest bind password accepted (bytes); longer is a typo or an attack.
pub const MAX_BIND_PASSWORD: usize = 256;
const MAX_DN: usize = 1024;

/// What to do with the stored bind password.
#[derive(Debug, Clone, Default)]
pub enum BindPassword {
    #[default]
    Keep,
    Set(SecretString),
    Clear,
}

impl BindPassword {
    /// For audit rows and refusals: whether, never what.
    fn describe(&self) -> &'static str {
        match self {
            BindPassword::Keep => "unchanged",
            BindPassword::Set(_) => "set",
            BindPassword::Clear => "cleared",
        }
    }
}

/// Fields of a server; None keeps the current value (on add: the default).
/// For the optional text fields an empty string clears the value.
#[derive(Debug, Clone, Default)]
pub struct ServerInput {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub tls_mode: Option<String>,
    pub ca_file: Option<String>,
    pub bind_dn: Option<String>,
    pub bind_password: BindPassword,
    pub base_dn: Option<String>,
    pub user_search_base: Option<String>,
    pub group_search_base: Option<String>,
    pub user_attribute: Option<String>,
    pub user_filter: Option<String>,
    pub priority: Option<i64>,
    pub is_active: Option<bool>,
}

impl ServerInput {
    fn request(&self, name: &str) -> Value {
        json!({
            "server_name": name,
            "host": self.host, "port": self.port, "tls_mode": self.tls_mode,
            "ca_file": self.ca_file, "bind_dn": self.bind_dn,
            "bind_password": self.bind_password.describe(),
            "base_dn": self.base_dn, "user_search_base": self.user_search_base,
            "group_search_base": self.group_search_base,
            "user_attribute": self.user_attribute, "user_filter": self.user_filter,
            "priority": self.priority, "is_active": self.is_active,
        })
    }
}

/// A server's name: 1-64 of letters, digits, '.', '_', '-', starting with
/// a letter or digit; stored lower-case so names are unique in any case.
pub fn server_name(field: &str, input: &str) -> OpResult<String> {
    let s = input.trim().to_lowercase();
    if s.is_empty() || s.len() > 64 {
        return Err(OpError::invalid(field, "must be 1-64 characters"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(OpError::invalid(
            field,
            "must start with a letter or digit and hold only letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(s)
}

/// A host name or an IP address (IPv6 without brackets).
pub fn host(field: &str, input: &str) -> OpResult<String> {
    let h = input.trim().to_lowercase();
    if h.is_empty() || h.len() > 253 {
        return Err(OpError::invalid(field, "must be 1-253 characters"));
    }
    if h.parse::<std::net::IpAddr>().is_ok() {
        return Ok(h);
    }
    let ok = h.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !ok {
        return Err(OpError::invalid(
            field,
            format!("{h:?} is neither an IP address nor a host name (labels of letters, digits and '-')"),
        ));
    }
    Ok(h)
}

/// A distinguished name: non-empty, at most 1024 characters, no control
/// characters, with at least one attribute=value pair. The server has the
/// last word on its syntax (a bad one shows up in `ldap test`).
pub fn dn(field: &str, input: &str) -> OpResult<String> {
    let d = input.trim();
    if d.is_empty() || d.len() > MAX_DN {
        return Err(OpError::invalid(
            field,
            format!("must be 1-{MAX_DN} characters"),
        ));
    }
    crate::validate::refuse_unsafe(field, d)?;
    if !d.contains('=') {
        return Err(OpError::invalid(
            field,
            format!("{d:?} is not a DN (expected attribute=value pairs, e.g. dc=example,dc=com)"),
        ));
    }
    Ok(d.to_string())
}

fn tls_mode(field: &str, input: &str) -> OpResult<TlsMode> {
    TlsMode::parse(input).ok_or_else(|| {
        OpError::invalid(
            field,
            format!("must be none, starttls or ldaps (got {:?})", input.trim()),
        )
    })
}

fn ca_file(field: &str, input: &str) -> OpResult<String> {
    crate::validate::refuse_unsafe(field, input.trim())?;
    let p = std::path::Path::new(input.trim());
    if !p.is_absolute() {
        return Err(OpError::invalid(field, "must be an absolute path"));
    }
    crate::ldap::connect::check_ca_file(p).map_err(|e| OpError::invalid(field, e.to_string()))?;
    Ok(input.trim().to_string())
}

fn bind_password(field: &str, pw: &SecretString) -> OpResult<()> {
    if pw.is_empty() {
        return Err(OpError::invalid(
            field,
            "must not be empty (use --clear-bind-password to search anonymously)",
        ));
    }
    if pw.expose().len() > MAX_BIND_PASSWORD {
        return Err(OpError::invalid(
            field,
            format!("must be at most {MAX_BIND_PASSWORD} bytes"),
        ));
    }
    if pw.expose().contains('\0') {
        return Err(OpError::invalid(field, "must not contain NUL"));
    }
    Ok(())
}

/// "" -> None (clear), text -> checked value, None -> keep `current`.
fn optional<F>(
    input: &Option<String>,
    current: Option<String>,
    check: F,
) -> OpResult<Option<String>>
where
    F: FnOnce(&str) -> OpResult<String>,
{
    match input {
        None => Ok(current),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => check(s).map(Some),
    }
}

fn nonempty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Every field of `input` checked on its own by the rules `create` and
/// `edit` apply (the file-reading CA check and the rules joining two fields
/// aside), each problem reported: a form marks all of them at once.
pub fn field_errors(name: Option<&str>, input: &ServerInput) -> Vec<OpError> {
    let mut out = Vec::new();
    let mut keep = |r: OpResult<()>| {
        if let Err(e) = r {
            out.push(e);
        }
    };
    if let Some(n) = name {
        keep(server_name("name", n).map(drop));
    }
    if let Some(h) = &input.host {
        keep(host("host", h).map(drop));
    }
    if let Some(p) = input.port {
        if !(1..=65535).contains(&p) {
            keep(Err(OpError::invalid(
                "port",
                format!("must be 1-65535 (got {p})"),
            )));
        }
    }
    if let Some(t) = &input.tls_mode {
        keep(tls_mode("tls_mode", t).map(drop));
    }
    if let Some(d) = &input.base_dn {
        keep(dn("base_dn", d).map(drop));
    }
    for (field, v) in [
        ("bind_dn", &input.bind_dn),
        ("user_search_base", &input.user_search_base),
        ("group_search_base", &input.group_search_base),
    ] {
        if let Some(d) = nonempty(v) {
            keep(dn(field, d).map(drop));
        }
    }
    if let Some(a) = &input.user_attribute {
        keep(filter::check_attribute("user_attribute", a).map(drop));
    }
    if let Some(f) = nonempty(&input.user_filter) {
        keep(filter::check("user_filter", f).map(drop));
    }
    if let Some(p) = input.priority {
        if !(0..=1_000_000).contains(&p) {
            keep(Err(OpError::invalid(
                "priority",
                format!("must be 0-1000000 (got {p})"),
            )));
        }
    }
    out
}

/// The checked result of applying `input` to `current` (a new row's
/// defaults on add).
struct Merged {
    host: String,
    port: i32,
    tls: TlsMode,
    ca_file: Option<String>,
    bind_dn: Option<String>,
    base_dn: String,
    user_search_base: Option<String>,
    group_search_base: Option<String>,
    user_attribute: String,
    user_filter: Option<String>,
    priority: i32,
    is_active: bool,
}

fn merge(input: &ServerInput, current: Option<&LdapConfig>) -> OpResult<Merged> {
    let tls = match (&input.tls_mode, current) {
        (Some(t), _) => tls_mode("tls_mode", t)?,
        (None, Some(c)) => tls_mode("tls_mode", &c.tls_mode)?,
        (None, None) => TlsMode::None,
    };
    let host = match (&input.host, current) {
        (Some(h), _) => host("host", h)?,
        (None, Some(c)) => c.host.clone(),
        (None, None) => return Err(OpError::invalid("host", "is required")),
    };
    let port = match (input.port, current) {
        (Some(p), _) => match i32::try_from(p) {
            Ok(p) if (1..=65535).contains(&p) => p,
            _ => {
                return Err(OpError::invalid(
                    "port",
                    format!("must be 1-65535 (got {p})"),
                ))
            }
        },
        (None, Some(c)) if input.tls_mode.is_none() => c.port,
        // A new row, or a changed TLS mode without a port: the mode's usual port.
        _ => i32::from(tls.default_port()),
    };
    let base_dn = match (&input.base_dn, current) {
        (Some(d), _) => dn("base_dn", d)?,
        (None, Some(c)) => c.base_dn.clone(),
        (None, None) => return Err(OpError::invalid("base_dn", "is required")),
    };
    // The TLS rule first: a CA file is not read for a server that never uses it.
    let ca = optional(
        &input.ca_file,
        current.and_then(|c| c.ca_file.clone()),
        |s| {
            if tls == TlsMode::None {
                return Err(OpError::invalid(
                    "ca_file",
                    "is used only with tls_mode starttls or ldaps",
                ));
            }
            ca_file("ca_file", s)
        },
    )?;
    if ca.is_some() && tls == TlsMode::None {
        return Err(OpError::invalid(
            "ca_file",
            "is used only with tls_mode starttls or ldaps",
        ));
    }
    let user_attribute = match (&input.user_attribute, current) {
        (Some(a), _) => filter::check_attribute("user_attribute", a)?,
        (None, Some(c)) => c.user_attribute.clone(),
        (None, None) => "uid".to_string(),
    };
    let priority = match (input.priority, current) {
        (Some(p), _) => match i32::try_from(p) {
            Ok(p) if (0..=1_000_000).contains(&p) => p,
            _ => {
                return Err(OpError::invalid(
                    "priority",
                    format!("must be 0-1000000 (got {p})"),
                ))
            }
        },
        (None, Some(c)) => c.priority,
        (None, None) => 100,
    };
    Ok(Merged {
        host,
        port,
        tls,
        ca_file: ca,
        bind_dn: optional(
            &input.bind_dn,
            current.and_then(|c| c.bind_dn.clone()),
            |s| dn("bind_dn", s),
        )?,
        base_dn,
        user_search_base: optional(
            &input.user_search_base,
            current.and_then(|c| c.user_search_base.clone()),
            |s| dn("user_search_base", s),
        )?,
        group_search_base: optional(
            &input.group_search_base,
            current.and_then(|c| c.group_search_base.clone()),
            |s| dn("group_search_base", s),
        )?,
        user_attribute,
        user_filter: optional(
            &input.user_filter,
            current.and_then(|c| c.user_filter.clone()),
            |s| filter::check("user_filter", s),
        )?,
        priority,
        is_active: input
            .is_active
            .unwrap_or_else(|| current.is_none_or(|c| c.is_active)),
    })
}

/// A bind DN needs a password and a password needs a bind DN.
fn check_bind_pair(bind_dn: &Option<String>, has_password: bool) -> OpResult<()> {
    match (bind_dn.is_some(), has_password) {
        (true, false) => Err(OpError::invalid(
            "bind_password",
            "is required when bind_dn is set (or clear bind_dn to search anonymously)",
        )),
        (false, true) => Err(OpError::invalid(
            "bind_dn",
            "is required when a bind password is set",
        )),
        _ => Ok(()),
    }
}

/// Refuse to leave LDAP users with no server to log in through.
fn keep_a_server(c: &mut AnyConnection, row: &LdapConfig, what: &str) -> OpResult<()> {
    if !row.is_active {
        return Ok(());
    }
    let others = store::ldap_servers::active(c)?
        .iter()
        .filter(|r| r.id != row.id)
        .count();
    let users = store::ldap_servers::active_ldap_users(c)?;
    if others == 0 && users > 0 {
        return Err(OpError::invalid(
            "server_name",
            format!(
                "{} is the last active LDAP server and {} log in through LDAP; {what} would lock them out",
                row.server_name,
                crate::plural::count(users, "active user", "active users")
            ),
        ));
    }
    Ok(())
}

fn reload(c: &mut AnyConnection, id: i32) -> OpResult<LdapConfig> {
    store::ldap_servers::by_id(c, id)?
        .ok_or_else(|| OpError::not_found("LDAP server", id.to_string()))
}

/// Encrypt and store a new bind password for row `id`.
fn store_password(
    c: &mut AnyConnection,
    keys: Option<&KeyFile>,
    id: i32,
    pw: &SecretString,
) -> OpResult<()> {
    let key = super::configured(keys)?.load_or_create()?;
    let sealed = key.encrypt(Slot::ldap_bind_password(id), pw)?;
    diesel::update(ldap_configs::table.find(id))
        .set(ldap_configs::bind_password.eq(Some(sealed)))
        .execute(c)?;
    Ok(())
}

pub fn create(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: Option<&KeyFile>,
    name: &str,
    input: &ServerInput,
) -> OpResult<ServerView> {
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::LdapServer,
        input.request(name),
        |c, who| {
            who.require_admin("adding an LDAP server")?;
            let name = server_name("server_name", name)?;
            let m = merge(input, None)?;
            let pw = match &input.bind_password {
                BindPassword::Set(pw) => {
                    bind_password("bind_password", pw)?;
                    Some(pw)
                }
                _ => None,
            };
            check_bind_pair(&m.bind_dn, pw.is_some())?;
            if store::ldap_servers::by_name(c, &name)?.is_some() {
                return Err(OpError::duplicate(
                    "server_name",
                    format!("LDAP server {name} already exists"),
                ));
            }
            let t = now();
            diesel::insert_into(ldap_configs::table)
                .values((
                    ldap_configs::server_name.eq(&name),
                    ldap_configs::host.eq(&m.host),
                    ldap_configs::port.eq(m.port),
                    ldap_configs::use_ssl.eq(m.tls == TlsMode::Ldaps),
                    ldap_configs::tls_mode.eq(m.tls.as_str()),
                    ldap_configs::ca_file.eq(&m.ca_file),
                    ldap_configs::bind_dn.eq(&m.bind_dn),
                    ldap_configs::base_dn.eq(&m.base_dn),
                    ldap_configs::user_search_base.eq(&m.user_search_base),
                    ldap_configs::group_search_base.eq(&m.group_search_base),
                    ldap_configs::user_attribute.eq(&m.user_attribute),
                    ldap_configs::user_filter.eq(&m.user_filter),
                    ldap_configs::priority.eq(m.priority),
                    ldap_configs::is_active.eq(m.is_active),
                    ldap_configs::created_at.eq(t),
                    ldap_configs::updated_at.eq(t),
                    ldap_configs::updated_by.eq(Some(who.id)),
                ))
                .execute(c)?;
            let row = store::ldap_servers::by_name(c, &name)?
                .ok_or_else(|| OpError::not_found("LDAP server", name.clone()))?;
            // The ciphertext is bound to the row id, which exists only now.
            if let Some(pw) = pw {
                store_password(c, keys, row.id, pw)?;
            }
            let view = ServerView::from(&reload(c, row.id)?);
            let done = Done::new(i64::from(view.id), json!({ "after": view }));
            Ok((view, done))
        },
    )
}

pub fn edit(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: Option<&KeyFile>,
    name: &str,
    expected_version: Option<i32>,
    input: &ServerInput,
) -> OpResult<ServerView> {
    let mut request = input.request(name);
    request["version"] = json!(expected_version);
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::LdapServer,
        request,
        |c, who| {
            who.require_admin("editing an LDAP server")?;
            let before = find(c, name)?;
            check_version(
                "LDAP server",
                &before.server_name,
                expected_version,
                before.version,
            )?;
            let m = merge(input, Some(&before))?;
            let has_pw = match &input.bind_password {
                BindPassword::Keep => before.bind_password.is_some(),
                BindPassword::Set(pw) => {
                    bind_password("bind_password", pw)?;
                    true
                }
                BindPassword::Clear => false,
            };
            check_bind_pair(&m.bind_dn, has_pw)?;
            if !m.is_active {
                keep_a_server(c, &before, "deactivating it")?;
            }
            let n = diesel::update(
                ldap_configs::table
                    .find(before.id)
                    .filter(ldap_configs::version.eq(before.version)),
            )
            .set((
                ldap_configs::host.eq(&m.host),
                ldap_configs::port.eq(m.port),
                ldap_configs::use_ssl.eq(m.tls == TlsMode::Ldaps),
                ldap_configs::tls_mode.eq(m.tls.as_str()),
                ldap_configs::ca_file.eq(&m.ca_file),
                ldap_configs::bind_dn.eq(&m.bind_dn),
                ldap_configs::base_dn.eq(&m.base_dn),
                ldap_configs::user_search_base.eq(&m.user_search_base),
                ldap_configs::group_search_base.eq(&m.group_search_base),
                ldap_configs::user_attribute.eq(&m.user_attribute),
                ldap_configs::user_filter.eq(&m.user_filter),
                ldap_configs::priority.eq(m.priority),
                ldap_configs::is_active.eq(m.is_active),
                ldap_configs::updated_at.eq(now()),
                ldap_configs::updated_by.eq(Some(who.id)),
                ldap_configs::version.eq(before.version + 1),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "LDAP server {} changed while saving; reload and try again",
                    before.server_name
                )));
            }
            match &input.bind_password {
                BindPassword::Set(pw) => store_password(c, keys, before.id, pw)?,
                BindPassword::Clear => {
                    diesel::update(ldap_configs::table.find(before.id))
                        .set(ldap_configs::bind_password.eq(None::<String>))
                        .execute(c)?;
                }
                BindPassword::Keep => {}
            }
            let after = ServerView::from(&reload(c, before.id)?);
            let done = Done::new(
                i64::from(after.id),
                json!({
                    "before": ServerView::from(&before),
                    "after": after,
                    "bind_password": input.bind_password.describe(),
                }),
            );
            Ok((after, done))
        },
    )
}

pub fn delete(conn: &mut AnyConnection, ctx: &Ctx, name: &str) -> OpResult<ServerView> {
    run_write(
        conn,
        ctx,
        AuditAction::Delete,
        AuditType::LdapServer,
        json!({ "server_name": name }),
        |c, who| {
            who.require_admin("deleting an LDAP server")?;
            let before = find(c, name)?;
            keep_a_server(c, &before, "deleting it")?;
            let unlinked = diesel::update(users::table.filter(users::ldap_server_id.eq(before.id)))
                .set(users::ldap_server_id.eq(None::<i32>))
                .execute(c)?;
            diesel::delete(ldap_configs::table.find(before.id)).execute(c)?;
            let view = ServerView::from(&before);
            let done = Done::new(
                i64::from(view.id),
                json!({ "before": view, "users_unlinked": unlinked }),
            );
            Ok((view, done))
        },
    )
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, name: &str) -> OpResult<ServerView> {
    let who = Principal::load(conn, ctx)?;
    require_reader(&who)?;
    Ok(ServerView::from(&find(conn, name)?))
}

pub fn list(conn: &mut AnyConnection, ctx: &Ctx, page: &Page) -> OpResult<Vec<ServerView>> {
    let who = Principal::load(conn, ctx)?;
    require_reader(&who)?;
    Ok(store::ldap_servers::list(conn, page)?
        .iter()
        .map(ServerView::from)
        .collect())
}

/// A keyset page by id with a name filter, for the LDAP servers screen.
pub fn page(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    text: Option<&str>,
    page: &Page,
) -> OpResult<Vec<crate::db::models::LdapConfig>> {
    let who = Principal::load(conn, ctx)?;
    require_reader(&who)?;
    Ok(store::ldap_servers::page(conn, text, page)?)
}
