//! Every operation a user can do. Each write runs as: load the acting user
//! (fresh, inside the transaction) -> validate -> authorize -> write -> audit,
//! all in one transaction. A refusal rolls back its savepoint and commits
//! only its audit row. The TUI and the CLI both come through here, so no
//! second path can skip a check or an audit entry.

pub mod alias_domains;
pub mod aliases;
pub mod app_passwords;
pub mod audit;
pub mod audit_archive;
pub mod audit_seal;
pub mod auth;
pub mod authz;
pub mod bulk;
pub mod command;
pub mod deleted;
pub mod demo;
pub mod dkim;
pub mod dns;
pub mod domains;
pub mod import;
pub mod ldap;
pub mod mail_configs;
pub mod mailboxes;
pub mod maintenance;
pub mod permissions;
pub mod preferences;
pub mod quota;
pub mod rename;
pub mod send_limits;
pub mod sender_grants;
pub mod tokens;
pub mod totp;
pub mod users;
pub mod vacation;

use diesel::Connection;
use serde_json::Value;

use crate::config::Config;
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
pub use authz::Principal;

/// Which front end made the request; recorded in every audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Cli,
    Tui,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Cli => "cli",
            ClientKind::Tui => "tui",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub kind: ClientKind,
    /// The SSH client's address, or "local".
    pub ip: String,
}

impl Client {
    /// The SSH origin from SSH_CONNECTION ("client port server port") or
    /// SSH_CLIENT ("client port sport"); "local" when neither is set.
    pub fn from_env(kind: ClientKind) -> Client {
        let get = |v: &str| std::env::var(v).ok();
        Client::from_ssh_vars(
            kind,
            get("SSH_CONNECTION").as_deref(),
            get("SSH_CLIENT").as_deref(),
        )
    }

    /// The first word of SSH_CONNECTION or SSH_CLIENT if it looks like an IP
    /// address (anything else could be an injection attempt), else "local".
    pub fn from_ssh_vars(
        kind: ClientKind,
        ssh_connection: Option<&str>,
        ssh_client: Option<&str>,
    ) -> Client {
        let ip = [ssh_connection, ssh_client]
            .into_iter()
            .flatten()
            .find_map(|s| s.split_whitespace().next().map(str::to_string))
            .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
            .unwrap_or_else(|| "local".to_string());
        Client { kind, ip }
    }

    pub fn user_agent(&self) -> String {
        format!(
            "postfix-manager/{} ({})",
            env!("CARGO_PKG_VERSION"),
            self.kind.as_str()
        )
    }
}

/// Settings from the config file that operations enforce.
#[derive(Debug, Clone)]
pub struct Policy {
    pub min_password_length: usize,
    pub bcrypt_cost: u32,
    pub default_mailbox_quota: i64,
    pub lockout_threshold: i32,
    pub lockout_base_seconds: i64,
    pub lockout_max_seconds: i64,
    /// The audit key and where checkpoints go (`[audit]`); set by the front
    /// ends, which know where the config file is. None: unkeyed chain, no
    /// checkpoints (library use and tests that are not about the audit).
    pub audit: Option<audit_seal::Seal>,
    /// What a delete does with a mailbox (`[lifecycle]`, issue 20).
    pub lifecycle: deleted::Settings,
    /// Roles that must have a confirmed second factor (`[security]
    /// require_totp`); until then such a user may only enrol.
    pub require_totp: Vec<crate::model::Role>,
    /// How vacation scripts reach Dovecot (`[vacation]`, issue 20).
    pub vacation: crate::sieve::VacationSettings,
    /// Which later tables the schema has: all of them (a session's schema
    /// is checked current at start-up) unless the login read otherwise
    /// (`db migrate` / `db rollback` on an older schema).
    pub tables: crate::db::migrate::Tables,
}

impl Policy {
    pub fn from_config(cfg: &Config) -> Policy {
        Policy {
            min_password_length: cfg.security.min_password_length,
            bcrypt_cost: cfg.security.bcrypt_cost,
            default_mailbox_quota: cfg.mail.default_mailbox_quota,
            lockout_threshold: cfg.security.lockout_threshold,
            lockout_base_seconds: cfg.security.lockout_base_seconds,
            lockout_max_seconds: cfg.security.lockout_max_seconds,
            audit: None,
            lifecycle: deleted::Settings::from_config(cfg),
            require_totp: cfg.security.totp_roles(),
            vacation: cfg.vacation.clone(),
            tables: crate::db::migrate::Tables::CURRENT,
        }
    }
}

impl Policy {
    /// What an audit append needs: the audit key and which tables exist.
    pub(crate) fn chain(&self) -> (Option<&audit_seal::Seal>, crate::db::migrate::Tables) {
        (self.audit.as_ref(), self.tables)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_config(&Config::default())
    }
}

/// Who is acting, from where, under which policy.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub user_id: i32,
    pub username: String,
    pub client: Client,
    pub policy: Policy,
    /// Set when a script logged in with a token: every operation is then
    /// capped by the token's role and domains (`Principal::load`).
    pub token: Option<authz::TokenGrant>,
}

/// What a successful write tells the audit log.
pub(crate) struct Done {
    pub resource_id: Option<i64>,
    pub details: Value,
}

impl Done {
    pub fn new(resource_id: impl Into<Option<i64>>, details: Value) -> Done {
        Done {
            resource_id: resource_id.into(),
            details,
        }
    }
}

/// The transaction shape every write shares (see the module comment).
/// `request` describes the attempt for the audit row of a refusal; it must
/// never hold a secret.
pub(crate) fn run_write<T>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    action: AuditAction,
    resource_type: AuditType,
    request: Value,
    f: impl FnOnce(&mut AnyConnection, &Principal) -> OpResult<(T, Done)>,
) -> OpResult<T> {
    run_write_as(
        conn,
        ctx,
        Principal::load,
        action,
        resource_type,
        request,
        f,
    )
}

/// `run_write` for the one write a user whose password must change may
/// make: setting a user's password (`users::set_password` then lets it set
/// only its own).
pub(crate) fn run_write_pending<T>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    action: AuditAction,
    resource_type: AuditType,
    request: Value,
    f: impl FnOnce(&mut AnyConnection, &Principal) -> OpResult<(T, Done)>,
) -> OpResult<T> {
    run_write_as(
        conn,
        ctx,
        Principal::load_pending,
        action,
        resource_type,
        request,
        f,
    )
}

pub(crate) fn run_write_as<T>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    load: fn(&mut AnyConnection, &Ctx) -> OpResult<Principal>,
    action: AuditAction,
    resource_type: AuditType,
    request: Value,
    f: impl FnOnce(&mut AnyConnection, &Principal) -> OpResult<(T, Done)>,
) -> OpResult<T> {
    // The outer Result is the transaction's; the inner one is the operation's
    // answer, committed together with its audit row either way.
    write_tx(conn, |c| {
        let attempt = c.transaction(|c| {
            let who = load(c, ctx)?;
            f(c, &who)
        });
        match attempt {
            Ok((value, done)) => {
                audit::record(
                    c,
                    ctx,
                    audit::Entry {
                        action,
                        resource_type,
                        resource_id: done.resource_id,
                        details: done.details,
                        result: audit::RESULT_OK,
                    },
                )?;
                Ok(Ok(value))
            }
            Err(e) if e.is_refusal() => {
                audit::record(
                    c,
                    ctx,
                    audit::Entry {
                        action,
                        resource_type,
                        resource_id: None,
                        details: serde_json::json!({ "request": request, "error": e.to_string() }),
                        result: audit::RESULT_REFUSED,
                    },
                )?;
                Ok(Err(e))
            }
            Err(e) => Err(e),
        }
    })?
}

/// The current UTC time at microsecond precision: what PostgreSQL stores, so
/// a timestamp reads back exactly as written on both backends (the audit
/// chain hashes it).
pub(crate) fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let t = chrono::Utc::now().naive_utc();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// Refuse a save when the row changed since the caller read it.
pub(crate) fn check_version(
    kind: &str,
    key: &str,
    expected: Option<i32>,
    actual: i32,
) -> OpResult<()> {
    match expected {
        Some(v) if v != actual => Err(OpError::Conflict(format!(
            "{kind} {key} was changed by someone else since you opened it (version {v}, now {actual}); reload and try again"
        ))),
        _ => Ok(()),
    }
}

/// Statistics for the dashboard and `stats`, scoped to what the user may see.
pub fn stats(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    page: &crate::store::Page,
) -> OpResult<(
    crate::store::stats::MailboxTotals,
    Vec<crate::store::stats::DomainUsage>,
)> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    let totals = crate::store::stats::mailbox_totals(conn, scope.as_deref())?;
    let domains = crate::store::stats::domains_with_usage(conn, scope.as_deref(), page)?;
    Ok((totals, domains))
}
