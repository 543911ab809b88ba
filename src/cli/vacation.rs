//! `postfix-manager mailbox vacation set|show|off` (issue 20): a mailbox's
//! auto-reply. The work is `ops::vacation`; this holds the arguments and
//! how a vacation prints.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Subcommand;

use super::output::{object, ts};
use super::CliError;
use crate::db::AnyConnection;
use crate::error::OpError;
use crate::ops::vacation::{self, SetVacation, VacationView};
use crate::ops::Ctx;
use crate::sanitize::{for_terminal, lines_for_terminal};

#[derive(Debug, Subcommand)]
pub enum VacationCommand {
    /// Switch the auto-reply on (replacing an earlier one) and install its Sieve script
    Set {
        address: String,
        /// The reply's subject (at most 200 characters)
        #[arg(long)]
        subject: String,
        /// The reply's text from a file ("-": standard input)
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "body",
            required_unless_present = "body"
        )]
        body_file: Option<PathBuf>,
        /// The reply's text
        #[arg(long)]
        body: Option<String>,
        /// First day replies go out (YYYY-MM-DD, the mail server's calendar; default: now)
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day replies go out (YYYY-MM-DD; default: until switched off)
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Days before the same sender is answered again (1-365)
        #[arg(long, value_name = "N", default_value_t = vacation::DEFAULT_DAYS)]
        days: i32,
        /// A sender never answered: an address or @domain (repeatable)
        #[arg(long, value_name = "ADDR")]
        exclude: Vec<String>,
        /// Print the Sieve script instead of installing it
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the auto-reply (state: on, off, scheduled, ended)
    Show { address: String },
    /// Switch the auto-reply off and remove its script (the text is kept)
    Off { address: String },
}

fn date(field: &str, s: &Option<String>) -> Result<Option<NaiveDate>, CliError> {
    s.as_deref()
        .map(|s| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                CliError::Op(OpError::invalid(
                    field,
                    format!("{s:?} is not a date: use YYYY-MM-DD"),
                ))
            })
        })
        .transpose()
}

fn read_body(path: &PathBuf) -> Result<String, CliError> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)
            .map_err(|e| CliError::Usage(format!("cannot read the body from stdin: {e}")))?;
        b
    } else {
        std::fs::read(path).map_err(|e| {
            CliError::Usage(format!("cannot read body file {}: {e}", path.display()))
        })?
    };
    String::from_utf8(bytes).map_err(|_| {
        CliError::Op(OpError::invalid(
            "body",
            format!("{} is not UTF-8 text", path.display()),
        ))
    })
}

/// A vacation as text: one field a line, the body indented below.
fn text(v: &VacationView) -> String {
    let r = &v.vacation;
    let day = |d: &Option<NaiveDate>, none: &str| {
        d.map(|d| d.to_string()).unwrap_or_else(|| none.to_string())
    };
    let mut out = format!(
        "address   {}\nstate     {}\nsubject   {}\nfrom      {}\nuntil     {}\ndays      {}\nexclude   {}\nupdated   {}\nbody\n",
        for_terminal(&v.address),
        v.state,
        for_terminal(&r.subject),
        day(&r.from_date, "-"),
        day(&r.until_date, "-"),
        r.days,
        for_terminal(&r.exclude_list().join(", ")),
        ts(&r.updated_at),
    );
    for l in lines_for_terminal(&r.body).lines() {
        out.push_str("    ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

pub fn run(
    c: &VacationCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        VacationCommand::Set {
            address,
            subject,
            body_file,
            body,
            from,
            until,
            days,
            exclude,
            dry_run,
        } => {
            let body = match (body_file, body) {
                (Some(f), _) => read_body(f)?,
                (None, Some(b)) => b.clone(),
                (None, None) => return Err(CliError::Usage("pass --body or --body-file".into())),
            };
            let req = SetVacation {
                address: address.clone(),
                subject: subject.clone(),
                body,
                from: date("from", from)?,
                until: date("until", until)?,
                days: *days,
                excludes: exclude.clone(),
                version: None,
            };
            if *dry_run {
                return Ok(vacation::preview(conn, ctx, &req)?);
            }
            let v = vacation::set(conn, ctx, &req)?;
            if j {
                object(&v, true)
            } else {
                format!(
                    "vacation of {} set ({})\n",
                    for_terminal(&v.address),
                    v.state
                )
            }
        }
        VacationCommand::Show { address } => match vacation::show(conn, ctx, address)? {
            Some(v) if j => object(&v, true),
            Some(v) => text(&v),
            None if j => object(
                &serde_json::json!({ "address": address, "state": "none" }),
                true,
            ),
            None => format!("{} has no vacation set\n", for_terminal(address)),
        },
        VacationCommand::Off { address } => match vacation::off(conn, ctx, address)? {
            Some(v) if j => object(&v, true),
            Some(v) => format!("vacation of {} off\n", for_terminal(&v.address)),
            None if j => object(
                &serde_json::json!({ "address": address, "state": "none" }),
                true,
            ),
            None => format!(
                "{} had no vacation set; its script was removed if there was one\n",
                for_terminal(address)
            ),
        },
    })
}
