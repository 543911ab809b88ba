//! `postfix-manager mailbox app-password|access|password-expire`: how a
//! mailbox may log in (issue 19). The commands sit under `mailbox` through
//! one flattened arm; the work is `ops::app_passwords` and
//! `ops::mailboxes` (edit for the switches, set_password_expiry).

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::input::parse_date;
use super::output::{object, said, table, ts, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::app_passwords::{self, Protocols};
use crate::ops::mailboxes::{Access, MailboxEdit, PasswordExpiry};
use crate::ops::{self, Ctx};
use crate::store::app_passwords::AppPassword;

#[derive(Debug, Subcommand)]
pub enum MailboxAccessCommand {
    /// Per-device passwords limited to some protocols, revocable one by one
    #[command(subcommand)]
    AppPassword(AppPasswordCommand),
    /// Turn IMAP, POP3, SMTP (submission) or ManageSieve logins on or off
    Access {
        address: String,
        #[command(flatten)]
        switches: AccessArgs,
    },
    /// When the mailbox password stops working: now, never, or a date (YYYY-MM-DD or RFC 3339)
    PasswordExpire {
        address: String,
        /// "now" (the owner needs a new password), "never", or a date
        when: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppPasswordCommand {
    /// Generate an app password and print it once (stored only as a bcrypt hash)
    Add {
        address: String,
        /// What it is for, e.g. "phone" (unique among the mailbox's live app passwords)
        name: String,
        /// Comma-separated: imap, pop3, smtp, sieve
        #[arg(long, value_name = "LIST")]
        protocols: String,
        /// Lifetime, e.g. 90d or 12w (default: no expiry)
        #[arg(long, value_name = "DAYS")]
        expires: Option<String>,
    },
    /// List a mailbox's app passwords (revoked and expired ones too)
    List { address: String },
    /// Revoke an app password: logins with it fail from now on
    Revoke { address: String, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    fn on(v: Option<OnOff>) -> Option<bool> {
        v.map(|v| v == OnOff::On)
    }
}

/// The protocol switches, shared by `mailbox access` and `mailbox edit`.
#[derive(Debug, Clone, Default, Args)]
pub struct AccessArgs {
    /// IMAP logins
    #[arg(long, value_enum, value_name = "on|off")]
    pub imap: Option<OnOff>,
    /// POP3 logins
    #[arg(long, value_enum, value_name = "on|off")]
    pub pop3: Option<OnOff>,
    /// SMTP AUTH (Postfix SASL, submission)
    #[arg(long, value_enum, value_name = "on|off")]
    pub smtp: Option<OnOff>,
    /// ManageSieve logins
    #[arg(long, value_enum, value_name = "on|off")]
    pub sieve: Option<OnOff>,
}

impl AccessArgs {
    pub fn access(&self) -> Access {
        Access {
            imap: OnOff::on(self.imap),
            pop3: OnOff::on(self.pop3),
            smtp: OnOff::on(self.smtp),
            sieve: OnOff::on(self.sieve),
        }
    }

    fn is_empty(&self) -> bool {
        self.imap.is_none() && self.pop3.is_none() && self.smtp.is_none() && self.sieve.is_none()
    }
}

/// An app password as listed: no hash, no selector.
#[derive(Debug, Serialize)]
struct Listed {
    name: String,
    protocols: String,
    state: &'static str,
    created_at: chrono::NaiveDateTime,
    expires_at: Option<chrono::NaiveDateTime>,
    last_used: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
}

impl From<&AppPassword> for Listed {
    fn from(p: &AppPassword) -> Listed {
        Listed {
            name: p.name.clone(),
            protocols: p.protocols(),
            state: app_passwords::state(p),
            created_at: p.created_at,
            expires_at: p.expires_at,
            last_used: p.last_used,
            revoked_at: p.revoked_at,
        }
    }
}

fn when(t: &Option<chrono::NaiveDateTime>, none: &str) -> String {
    t.as_ref().map(ts).unwrap_or_else(|| none.to_string())
}

impl Row for Listed {
    const HEADERS: &'static [&'static str] = &[
        "NAME",
        "PROTOCOLS",
        "STATE",
        "CREATED",
        "EXPIRES",
        "LAST USED",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.protocols.clone(),
            self.state.to_string(),
            ts(&self.created_at),
            when(&self.expires_at, "never"),
            when(&self.last_used, "-"),
        ]
    }
    fn key(&self) -> String {
        self.name.clone()
    }
}

pub fn run(
    c: &MailboxAccessCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        MailboxAccessCommand::AppPassword(a) => return app_password(a, conn, ctx, j),
        MailboxAccessCommand::Access { address, switches } => {
            if switches.is_empty() {
                return Err(CliError::Usage(
                    "nothing to change: pass --imap, --pop3, --smtp or --sieve with on or off"
                        .into(),
                ));
            }
            let m = ops::mailboxes::edit_with_access(
                conn,
                ctx,
                address,
                None,
                &MailboxEdit::default(),
                &switches.access(),
            )?;
            let on = |b: bool| if b { "on" } else { "off" };
            said(
                j,
                &m,
                format!(
                    "access of {}: imap {}, pop3 {}, smtp {}, sieve {}",
                    m.username,
                    on(m.imap_enabled),
                    on(m.pop3_enabled),
                    on(m.smtp_enabled),
                    on(m.sieve_enabled)
                ),
            )
        }
        MailboxAccessCommand::PasswordExpire { address, when } => {
            let expiry = match when.trim().to_ascii_lowercase().as_str() {
                "now" => PasswordExpiry::Now,
                "never" => PasswordExpiry::Never,
                _ => PasswordExpiry::At(parse_date("when", when)?),
            };
            let m = ops::mailboxes::set_password_expiry(conn, ctx, address, expiry)?;
            let text = match &m.password_expires_at {
                Some(t) => format!("the password of {} expires at {}", m.username, ts(t)),
                None => format!("the password of {} does not expire", m.username),
            };
            said(j, &m, text)
        }
    })
}

fn app_password(
    a: &AppPasswordCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match a {
        AppPasswordCommand::Add {
            address,
            name,
            protocols,
            expires,
        } => {
            let new = app_passwords::NewAppPassword {
                address: address.clone(),
                name: name.clone(),
                protocols: Protocols::parse("protocols", protocols)?,
                lifetime: match expires {
                    Some(e) => Some(crate::lifetime::parse("expires", e)?),
                    None => None,
                },
            };
            let (row, pw) = app_passwords::add(conn, ctx, &new)?;
            let listed = Listed::from(&row);
            if j {
                let mut v = serde_json::to_value(&listed)
                    .map_err(|e| CliError::Op(crate::error::OpError::Io(e.to_string())))?;
                v["password"] = serde_json::json!(pw);
                object(&v, true)
            } else {
                format!(
                    "created app password {:?} of {} for {} (expires: {})\npassword (shown once): {pw}\n",
                    crate::sanitize::for_terminal(&row.name),
                    crate::sanitize::for_terminal(address),
                    listed.protocols,
                    when(&listed.expires_at, "never"),
                )
            }
        }
        AppPasswordCommand::List { address } => {
            let rows: Vec<Listed> = app_passwords::list(conn, ctx, address)?
                .iter()
                .map(Listed::from)
                .collect();
            if j {
                object(&serde_json::json!({ "items": rows }), true)
            } else {
                table(&rows)
            }
        }
        AppPasswordCommand::Revoke { address, name } => {
            let row = app_passwords::revoke(conn, ctx, address, name)?;
            said(
                j,
                &Listed::from(&row),
                format!(
                    "revoked app password {:?} of {}",
                    crate::sanitize::for_terminal(&row.name),
                    crate::sanitize::for_terminal(address)
                ),
            )
        }
    })
}
