//! `postfix-manager ldap ...`: thin calls into `ops::ldap`. Bind passwords
//! come from a file or a prompt, never from the command line (where `ps`
//! would show them), and are never printed.

use std::io::IsTerminal;
use std::time::Duration;

use serde_json::json;

use clap::{Args, Subcommand};

use super::args::{Cli, PageArgs};
use super::output::{list, object, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::env::{read_secret_file, Env};
use crate::ldap::test::TestReport;
use crate::model::Role;
use crate::ops::ldap::{BindPassword, ImportReport, ImportRequest, ServerInput, ServerView};
use crate::ops::{self, Ctx};
use crate::secrets::SecretString;
use crate::store::Page;

#[derive(Debug, Args, Clone, Default)]
pub struct LdapFields {
    /// Host name or IP address of the server
    #[arg(long)]
    pub host: Option<String>,
    /// Port (default 389, or 636 with --tls ldaps)
    #[arg(long)]
    pub port: Option<i64>,
    /// none, starttls or ldaps
    #[arg(long = "tls", value_name = "MODE")]
    pub tls_mode: Option<String>,
    /// PEM file of the CA that signed the server's certificate ("" clears: system roots)
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<String>,
    /// DN of the account used to search for users ("" clears: anonymous search)
    #[arg(long, value_name = "DN")]
    pub bind_dn: Option<String>,
    /// Read the bind password from this file (first line); it is stored encrypted
    #[arg(long, value_name = "FILE", conflicts_with_all = ["ask_bind_password", "clear_bind_password"])]
    pub bind_password_file: Option<std::path::PathBuf>,
    /// Prompt for the bind password on the terminal
    #[arg(long, conflicts_with = "clear_bind_password")]
    pub ask_bind_password: bool,
    /// Remove the stored bind password
    #[arg(long)]
    pub clear_bind_password: bool,
    /// Base DN of the directory
    #[arg(long, value_name = "DN")]
    pub base_dn: Option<String>,
    /// Where users are searched (default: the base DN; "" clears)
    #[arg(long = "user-base", value_name = "DN")]
    pub user_search_base: Option<String>,
    /// Where groups are searched ("" clears)
    #[arg(long = "group-base", value_name = "DN")]
    pub group_search_base: Option<String>,
    /// Attribute holding the login name (default uid)
    #[arg(long, value_name = "ATTR")]
    pub user_attribute: Option<String>,
    /// Extra filter users must match, e.g. (objectClass=inetOrgPerson) ("" clears)
    #[arg(long, value_name = "FILTER")]
    pub user_filter: Option<String>,
    /// Login tries active servers by ascending priority (default 100)
    #[arg(long)]
    pub priority: Option<i64>,
    /// true or false: whether logins use this server
    #[arg(long, value_name = "BOOL")]
    pub active: Option<bool>,
}

#[derive(Debug, Subcommand)]
pub enum LdapCommand {
    /// Add a server (needs --host and --base-dn)
    Add {
        name: String,
        #[command(flatten)]
        fields: LdapFields,
    },
    /// List LDAP servers (secrets are never shown)
    List(PageArgs),
    /// Show one LDAP server's settings (secrets are never shown)
    Show { name: String },
    /// Change an LDAP server's settings or bind secret
    Edit {
        name: String,
        #[command(flatten)]
        fields: LdapFields,
        /// Refuse if the row is no longer at this version (from `show`)
        #[arg(long)]
        version: Option<i32>,
    },
    /// Bind and search under the user base; report latency and the first entries
    Test {
        name: String,
        /// Seconds before giving up (default: ldap.timeout_secs from the config)
        #[arg(long, value_name = "SECS")]
        timeout: Option<u64>,
    },
    /// Delete an LDAP server (refused while it is the last one LDAP users log in through)
    Delete { name: String },
    /// Create app users from directory entries (log in by LDAP bind)
    Import {
        /// The server to search
        name: String,
        /// Extra LDAP filter, e.g. (ou=mail-admins)
        #[arg(long)]
        filter: Option<String>,
        /// Role of the new users: admin, user or readonly
        #[arg(long, default_value = "readonly")]
        role: String,
        /// Most entries to consider (1-1000)
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Show what would be created and skipped; change nothing
        #[arg(long, visible_alias = "preview")]
        dry_run: bool,
    },
    /// Re-encrypt every stored secret with a new key, keeping the old key file as a backup
    RotateKey,
}

impl Row for ServerView {
    const HEADERS: &'static [&'static str] = &[
        "NAME",
        "URL",
        "TLS",
        "PRIO",
        "ACTIVE",
        "BIND DN",
        "USER BASE",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.server_name.clone(),
            format!("{}:{}", self.host, self.port),
            self.tls_mode.clone(),
            self.priority.to_string(),
            if self.is_active { "yes" } else { "no" }.into(),
            self.bind_dn.clone().unwrap_or_else(|| "(anonymous)".into()),
            self.user_search_base
                .clone()
                .unwrap_or_else(|| self.base_dn.clone()),
        ]
    }
    fn key(&self) -> String {
        self.server_name.clone()
    }
}

fn bind_password(f: &LdapFields) -> Result<BindPassword, CliError> {
    if f.clear_bind_password {
        return Ok(BindPassword::Clear);
    }
    if let Some(path) = &f.bind_password_file {
        return Ok(BindPassword::Set(SecretString::new(read_secret_file(
            path,
            "bind password",
        )?)));
    }
    if f.ask_bind_password {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "--ask-bind-password needs a terminal; use --bind-password-file FILE".into(),
            ));
        }
        let pw = rpassword::prompt_password("Bind password: ")
            .map_err(|e| CliError::Usage(format!("cannot read the password: {e}")))?;
        return Ok(BindPassword::Set(SecretString::new(pw)));
    }
    Ok(BindPassword::Keep)
}

fn input(f: &LdapFields) -> Result<ServerInput, CliError> {
    Ok(ServerInput {
        host: f.host.clone(),
        port: f.port,
        tls_mode: f.tls_mode.clone(),
        ca_file: f.ca_file.clone(),
        bind_dn: f.bind_dn.clone(),
        bind_password: bind_password(f)?,
        base_dn: f.base_dn.clone(),
        user_search_base: f.user_search_base.clone(),
        group_search_base: f.group_search_base.clone(),
        user_attribute: f.user_attribute.clone(),
        user_filter: f.user_filter.clone(),
        priority: f.priority,
        is_active: f.active,
    })
}

fn said<T: serde::Serialize>(json: bool, item: &T, text: String) -> String {
    if json {
        object(item, true)
    } else {
        text + "\n"
    }
}

pub fn run(
    cli: &Cli,
    c: &LdapCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    let j = cli.json;
    let keys = &env.key_file;
    Ok(match c {
        LdapCommand::Add { name, fields } => {
            let v = ops::ldap::create(conn, ctx, Some(keys), name, &input(fields)?)?;
            said(
                j,
                &v,
                format!("created LDAP server {} (id {})", v.server_name, v.id),
            )
        }
        LdapCommand::List(p) => {
            let pg = Page {
                after: p.after.clone(),
                limit: Some(p.limit),
                ..Default::default()
            };
            list(&ops::ldap::list(conn, ctx, &pg)?, pg.limit(), j)
        }
        LdapCommand::Show { name } => object(&ops::ldap::get(conn, ctx, name)?, j),
        LdapCommand::Edit {
            name,
            fields,
            version,
        } => {
            let v = ops::ldap::edit(conn, ctx, Some(keys), name, *version, &input(fields)?)?;
            said(
                j,
                &v,
                format!(
                    "updated LDAP server {} (version {})",
                    v.server_name, v.version
                ),
            )
        }
        LdapCommand::Delete { name } => {
            let v = ops::ldap::delete(conn, ctx, name)?;
            said(j, &v, format!("deleted LDAP server {}", v.server_name))
        }
        LdapCommand::Test { name, timeout } => {
            let t = match timeout {
                Some(0) => {
                    return Err(CliError::Usage(
                        "--timeout must be at least 1 second".into(),
                    ))
                }
                Some(s) => Duration::from_secs(*s),
                None => env.config.ldap_timeout(),
            };
            let r = ops::ldap::test(conn, ctx, Some(keys), name, t)?;
            let out = if j { object(&r, true) } else { test_text(&r) };
            if !r.ok {
                // Exit 1 so scripts notice, with the report still on stdout.
                return Err(CliError::Report {
                    out,
                    code: 1,
                    message: format!("LDAP server {} failed the test", r.server),
                });
            }
            out
        }
        LdapCommand::Import {
            name,
            filter,
            role,
            limit,
            dry_run,
        } => {
            let req = ImportRequest {
                server: name.clone(),
                filter: filter.clone(),
                role: Role::parse("role", role)?,
                limit: *limit,
                dry_run: *dry_run,
            };
            let r = ops::ldap::import(conn, ctx, Some(keys), &req, env.config.ldap_timeout())?;
            if j {
                object(&r, true)
            } else {
                import_text(&r)
            }
        }
        LdapCommand::RotateKey => {
            let r = ops::ldap::rotate_key(conn, ctx, keys)?;
            said(
                j,
                &r,
                format!(
                    "re-encrypted {}; new key in {}{}",
                    crate::plural::s(r.secrets_reencrypted, "secret"),
                    r.key_file,
                    r.old_key_backup
                        .as_ref()
                        .map(|b| format!(", previous key kept as {b}"))
                        .unwrap_or_default()
                ),
            )
        }
    })
}

fn test_text(r: &TestReport) -> String {
    let step = |v: Option<u64>| v.map(|m| format!("{m} ms")).unwrap_or_else(|| "-".into());
    let mut out = format!(
        "server   {}\nurl      {} (tls {})\nresult   {}\nconnect  {}\nbind     {}\nsearch   {}\ntotal    {} ms\n",
        r.server,
        r.url,
        r.tls,
        match (&r.error, r.failed_step) {
            (Some(e), Some(s)) => format!("FAILED at {s}: {e}"),
            _ => "ok".into(),
        },
        step(r.connect_ms),
        step(r.bind_ms),
        step(r.search_ms),
        r.total_ms,
    );
    if r.ok {
        out.push_str(&format!(
            "entries under {}{}:\n",
            r.search_base,
            if r.more_entries { " (first ones)" } else { "" }
        ));
        for e in &r.entries {
            out.push_str(&format!(
                "  {}  {}  {}\n",
                e.dn,
                e.user.as_deref().unwrap_or("-"),
                e.mail.as_deref().unwrap_or("-")
            ));
        }
    }
    for_terminal_lines(&out)
}

fn import_text(r: &ImportReport) -> String {
    let mut out = format!(
        "{} from {}: {} to create, {} skipped, role {}{}\n",
        if r.dry_run { "preview" } else { "imported" },
        r.server,
        r.created,
        r.skipped,
        json!(r.role).as_str().unwrap_or("?"),
        if r.truncated {
            " (more entries in the directory than --limit)"
        } else {
            ""
        }
    );
    for row in &r.rows {
        out.push_str(&format!(
            "  {:<6}  {:<20}  {:<30}  {}{}\n",
            row.action,
            row.username.as_deref().unwrap_or("-"),
            row.email.as_deref().unwrap_or("-"),
            row.dn,
            row.reason
                .as_ref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        ));
    }
    for_terminal_lines(&out)
}

/// Every value in these reports is already cleaned; this keeps any future
/// field honest without flattening the report's own newlines.
fn for_terminal_lines(s: &str) -> String {
    let mut out = crate::sanitize::lines_for_terminal(s);
    if !out.is_empty() {
        out.push('\n');
    }
    out
}
