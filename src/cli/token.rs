//! `postfix-manager user token ...`: tokens for scripts (`ops::tokens`).

use clap::Subcommand;
use serde_json::json;

use super::output::{list, said, ts, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::ops::tokens::{NewToken, TokenView};
use crate::ops::{self, Ctx};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token for yourself; it is printed once
    Create {
        name: String,
        /// What the token may do, at most your own role: admin, user or readonly
        #[arg(long)]
        role: String,
        /// Limit it to these domains (comma-separated)
        #[arg(long, value_delimiter = ',', value_name = "DOMAINS")]
        domains: Vec<String>,
        /// Refuse it after this long: 90d, 12h, 2w (default: never)
        #[arg(long, value_name = "AGE")]
        expires: Option<String>,
        /// Accept it only from these client addresses (CIDR, comma-separated; no SSH client = 127.0.0.1)
        #[arg(long, value_delimiter = ',', value_name = "CIDR")]
        from: Vec<String>,
    },
    /// List your tokens (an admin: --owner NAME or --all)
    List {
        #[arg(long, value_name = "NAME", conflicts_with = "all")]
        owner: Option<String>,
        #[arg(long)]
        all: bool,
    },
    /// Revoke a token at once
    Revoke {
        name: String,
        /// Another user's token (admin)
        #[arg(long, value_name = "NAME")]
        owner: Option<String>,
    },
}

pub fn run(
    c: &TokenCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        TokenCommand::Create {
            name,
            role,
            domains,
            expires,
            from,
        } => {
            let expires_at = match expires {
                Some(a) => {
                    Some(chrono::Utc::now().naive_utc() + crate::lifetime::parse("expires", a)?)
                }
                None => None,
            };
            let new = NewToken {
                name: name.clone(),
                role: role.clone(),
                domains: domains.clone(),
                from: from.clone(),
                expires_at,
            };
            let made = ops::tokens::create(conn, ctx, &new)?;
            let t = &made.token;
            if j {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                v["secret"] = json!(made.secret.expose());
                format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
            } else {
                format!(
                    "created token {} of {} with role {} (id {})\n\
                     token (shown once; store it in a file only its script can read, \
                     and pass --token-file FILE):\n{}\n",
                    t.name,
                    t.owner,
                    t.role,
                    t.id,
                    made.secret.expose()
                )
            }
        }
        TokenCommand::List { owner, all } => {
            let rows = ops::tokens::list(conn, ctx, owner.as_deref(), *all)?;
            // Every token of one owner fits on one page.
            let n = i64::try_from(rows.len())
                .unwrap_or(i64::MAX)
                .saturating_add(1);
            list(&rows, n, j)
        }
        TokenCommand::Revoke { name, owner } => {
            let t = ops::tokens::revoke(conn, ctx, owner.as_deref(), name)?;
            said(j, &t, format!("revoked token {} of {}", t.name, t.owner))
        }
    })
}

impl Row for TokenView {
    const HEADERS: &'static [&'static str] = &[
        "OWNER",
        "NAME",
        "ROLE",
        "DOMAINS",
        "FROM",
        "STATE",
        "EXPIRES",
        "LAST USED",
    ];
    fn cells(&self) -> Vec<String> {
        let or_all = |v: &Option<Vec<String>>| v.as_ref().map_or("all".into(), |d| d.join(","));
        let when = |t: &Option<chrono::NaiveDateTime>, none: &str| {
            t.as_ref().map(ts).unwrap_or_else(|| none.into())
        };
        vec![
            self.owner.clone(),
            self.name.clone(),
            self.role.clone(),
            or_all(&self.domains),
            self.from
                .as_ref()
                .map_or("anywhere".into(), |f| f.join(",")),
            self.state.into(),
            when(&self.expires_at, "never"),
            when(&self.last_used_at, "never"),
        ]
    }
    fn key(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}
