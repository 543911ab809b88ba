//! Vacation replies (issue 20): a mailbox's subject, body, first and last
//! day, reply interval and excluded senders, kept in `vacations` and put
//! into Dovecot as a Pigeonhole Sieve script (`crate::sieve`).
//!
//! Order: the row is written, then `[vacation] install_command` (or
//! `remove_command` for `off`) runs inside the same transaction. A command
//! that fails turns the write into a refusal: the row change is rolled
//! back, the refusal is audited with the command and its stderr, and
//! nothing on the mail server changed (the command failed). A crash after
//! the command succeeded and before the commit leaves the new script with
//! the old row; `vacation set` or `off` again puts both in line (both are
//! idempotent on the Dovecot side). The command runs under the write lock
//! and is cut off after `HOOK_TIMEOUT` (25 s), within the lock's wait.
//!
//! Who may: whoever may edit the mailbox (an admin, or a user with the
//! `mailboxes` permission on its domain); mailbox owners do not log in to
//! postfix-manager, so there is no self-service path.

use std::path::Path;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{check_version, now, run_write, Ctx, Done, Principal};
use crate::db::models::{Domain, Mailbox};
use crate::db::schema::vacations;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::sieve::{self, SCRIPT_NAME};
use crate::store::{self, vacations::Vacation};
use crate::validate;

/// Pigeonhole shortens a reply's subject beyond 256 code points
/// (`sieve_vacation_max_subject_codepoints`); stay under it.
pub const MAX_SUBJECT: usize = 200;
/// A reply is a short note, and the script is compiled on every delivery.
pub const MAX_BODY: usize = 32 * 1024;
/// `:days` (Pigeonhole has no upper limit by default; a year is plenty).
pub const DAYS: std::ops::RangeInclusive<i32> = 1..=365;
pub const DEFAULT_DAYS: i32 = 7;
pub const MAX_EXCLUDES: usize = 100;
/// Alias addresses named in `:addresses` besides the mailbox's own.
const MAX_ALIASES: i64 = 50;

/// What `vacation set` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetVacation {
    pub address: String,
    pub subject: String,
    pub body: String,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub days: i32,
    pub excludes: Vec<String>,
    /// The row's version the form was opened on (None: no check).
    pub version: Option<i32>,
}

/// The checked, normalized input.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Checked {
    subject: String,
    body: String,
    excludes: Vec<String>,
}

fn check_subject(s: &str) -> OpResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return Err(OpError::invalid("subject", "must not be empty"));
    }
    validate::refuse_unsafe("subject", s)?;
    let n = s.chars().count();
    if n > MAX_SUBJECT {
        return Err(OpError::invalid(
            "subject",
            format!("must be at most {MAX_SUBJECT} characters (is {n})"),
        ));
    }
    Ok(s.to_string())
}

/// Line ends become `\n`; tabs and newlines are the only control
/// characters allowed.
fn check_body(b: &str) -> OpResult<String> {
    let b = b.replace("\r\n", "\n");
    let b = b.trim_end();
    if b.trim().is_empty() {
        return Err(OpError::invalid("body", "must not be empty"));
    }
    if let Some(c) = b
        .chars()
        .find(|c| *c != '\n' && *c != '\t' && validate::is_unsafe_char(*c))
    {
        return Err(OpError::invalid(
            "body",
            format!(
                "must not contain control characters other than newlines and tabs (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    if b.len() > MAX_BODY {
        return Err(OpError::invalid(
            "body",
            format!("must be at most {MAX_BODY} bytes (is {})", b.len()),
        ));
    }
    Ok(b.to_string())
}

fn check_excludes(list: &[String]) -> OpResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in list
        .iter()
        .flat_map(|i| i.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|s| !s.is_empty())
    {
        let (a, _) = validate::alias_address("exclude", item).map_err(|e| match e {
            OpError::Invalid { message, .. } => OpError::invalid(
                "exclude",
                format!("{item:?} is not an address or @domain: {message}"),
            ),
            other => other,
        })?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.len() > MAX_EXCLUDES {
        return Err(OpError::invalid(
            "exclude",
            format!("at most {MAX_EXCLUDES} senders (got {})", out.len()),
        ));
    }
    Ok(out)
}

/// Every rule of a `set`, each error naming its field.
fn check(v: &SetVacation) -> OpResult<Checked> {
    let subject = check_subject(&v.subject)?;
    let body = check_body(&v.body)?;
    if let (Some(f), Some(u)) = (v.from, v.until) {
        if f > u {
            return Err(OpError::invalid(
                "until",
                format!("must not be before from ({f} > {u})"),
            ));
        }
    }
    if !DAYS.contains(&v.days) {
        return Err(OpError::invalid(
            "days",
            format!(
                "must be between {} and {} (got {})",
                DAYS.start(),
                DAYS.end(),
                v.days
            ),
        ));
    }
    let excludes = check_excludes(&v.excludes)?;
    Ok(Checked {
        subject,
        body,
        excludes,
    })
}

/// A vacation as shown: the row, the mailbox, and its state today.
#[derive(Debug, Clone, Serialize)]
pub struct VacationView {
    pub address: String,
    /// "on", "off", "scheduled" or "ended" (the mail server's dates decide;
    /// this is today's date where postfix-manager runs, in UTC).
    pub state: &'static str,
    #[serde(flatten)]
    pub vacation: Vacation,
}

impl VacationView {
    fn new(address: &str, v: Vacation) -> VacationView {
        VacationView {
            address: address.to_string(),
            state: v.state(now().date()),
            vacation: v,
        }
    }
}

/// The mailbox, for someone who may edit it.
fn editable(c: &mut AnyConnection, who: &Principal, address: &str) -> OpResult<(Mailbox, Domain)> {
    let (m, d) = super::mailboxes::find(c, who, address)?;
    who.require_domain(&d, Perm::Mailboxes)?;
    Ok((m, d))
}

/// Run `command` with the mailbox's variables; `script` on stdin and in
/// PM_SCRIPT. A failure is a refusal naming the command and its stderr.
fn run(ctx: &Ctx, home: &Path, install: bool, m: &Mailbox, script: Option<&str>) -> OpResult<()> {
    let s = &ctx.policy.vacation;
    let file = tempfile::Builder::new()
        .prefix("pm-vacation")
        .suffix(".sieve")
        .tempfile()
        .map_err(|e| OpError::Io(format!("vacation script temp file: {e}")))?;
    std::fs::write(file.path(), script.unwrap_or(""))
        .map_err(|e| OpError::Io(format!("{}: {e}", file.path().display())))?;
    let (what, cmd) = if install {
        (
            "the vacation install command (vacation.install_command)",
            &s.install_command,
        )
    } else {
        (
            "the vacation remove command (vacation.remove_command)",
            &s.remove_command,
        )
    };
    crate::mail::configs::run_hook_io(
        what,
        cmd,
        &[
            ("PM_USER", Path::new(&m.username)),
            ("PM_SCRIPT", file.path()),
            ("PM_SCRIPT_NAME", Path::new(SCRIPT_NAME)),
            ("PM_HOME", home),
        ],
        crate::mail::configs::HOOK_TIMEOUT,
        Some(file.path()),
        false,
    )
    .map_err(|e| OpError::Conflict(format!("{e}; nothing was changed")))
}

/// The script for a checked request.
fn script_for(
    c: &mut AnyConnection,
    m: &Mailbox,
    v: &SetVacation,
    ck: &Checked,
) -> OpResult<String> {
    let mut addresses = vec![m.username.clone()];
    addresses.extend(store::vacations::aliases_to(c, &m.username, MAX_ALIASES)?);
    Ok(sieve::script(&sieve::Reply {
        addresses: &addresses,
        subject: &ck.subject,
        body: &ck.body,
        from: v.from,
        until: v.until,
        days: v.days,
        excludes: &ck.excludes,
    }))
}

/// Switch a mailbox's vacation on with this text and these dates (replacing
/// any earlier one) and install its script.
pub fn set(conn: &mut AnyConnection, ctx: &Ctx, v: &SetVacation) -> OpResult<VacationView> {
    let request = json!({
        "address": v.address,
        "subject": v.subject,
        "from": v.from,
        "until": v.until,
        "days": v.days,
        "excludes": v.excludes,
    });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::Vacation,
        request,
        |c, who| {
            let (m, d) = editable(c, who, &v.address)?;
            let ck = check(v)?;
            let before = store::vacations::for_mailbox(c, m.id)?;
            if let Some(b) = &before {
                check_version("vacation of", &m.username, v.version, b.version)?;
            }
            let t = now();
            let values = (
                vacations::enabled.eq(true),
                vacations::subject.eq(&ck.subject),
                vacations::body.eq(&ck.body),
                vacations::from_date.eq(v.from),
                vacations::until_date.eq(v.until),
                vacations::days.eq(v.days),
                vacations::excludes.eq(ck.excludes.join("\n")),
                vacations::updated_at.eq(t),
                vacations::updated_by.eq(who.id),
            );
            match &before {
                Some(b) => {
                    diesel::update(vacations::table.find(b.id))
                        .set((values, vacations::version.eq(b.version + 1)))
                        .execute(c)?;
                }
                None => {
                    diesel::insert_into(vacations::table)
                        .values((vacations::mailbox_id.eq(m.id), values))
                        .execute(c)?;
                }
            }
            let script = script_for(c, &m, v, &ck)?;
            run(ctx, &home_of(ctx, &m, &d)?, true, &m, Some(&script))?;
            let after = store::vacations::for_mailbox(c, m.id)?
                .ok_or_else(|| OpError::not_found("vacation", m.username.clone()))?;
            let done = Done::new(
                i64::from(m.id),
                json!({ "address": m.username, "before": before, "after": after }),
            );
            Ok((VacationView::new(&m.username, after), done))
        },
    )
}

/// Switch a mailbox's vacation off: the row stays (enabled = false, for
/// switching on again) and the script is removed. The remove command runs
/// also when the row is off already or missing (None): a script left
/// behind by a crash before a commit, or by a deleted and restored
/// mailbox (the row goes with the mailbox, the script with the maildir),
/// goes too.
pub fn off(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Option<VacationView>> {
    let request = json!({ "address": address });
    run_write(
        conn,
        ctx,
        AuditAction::Suspend,
        AuditType::Vacation,
        request,
        |c, who| {
            let (m, d) = editable(c, who, address)?;
            let before = store::vacations::for_mailbox(c, m.id)?;
            if let Some(b) = &before {
                diesel::update(vacations::table.find(b.id))
                    .set((
                        vacations::enabled.eq(false),
                        vacations::updated_at.eq(now()),
                        vacations::updated_by.eq(who.id),
                        vacations::version.eq(b.version + 1),
                    ))
                    .execute(c)?;
            }
            run(ctx, &home_of(ctx, &m, &d)?, false, &m, None)?;
            let after = store::vacations::for_mailbox(c, m.id)?;
            let done = Done::new(
                i64::from(m.id),
                json!({
                    "address": m.username,
                    "before": { "enabled": before.as_ref().map(|b| b.enabled) },
                    "after": { "enabled": after.as_ref().map(|_| false) },
                }),
            );
            Ok((after.map(|v| VacationView::new(&m.username, v)), done))
        },
    )
}

/// After a restore. The hold took the mailbox's vacation row with it (the
/// row follows the mailbox), but the script may still sit in the home,
/// where the generated `sieve_before` (`~/sieve/<name>.sieve`) would go on
/// answering mail while `vacation show` says none is set. Removed through
/// the remove command, in the restore's transaction, so a failure undoes
/// the restore and says why; nothing runs when no script is there.
pub(crate) fn clear_restored(ctx: &Ctx, m: &Mailbox, d: &Domain) -> OpResult<()> {
    let home = home_of(ctx, m, d)?;
    let script = home.join("sieve").join(format!("{SCRIPT_NAME}.sieve"));
    if !script.exists() {
        return Ok(());
    }
    run(ctx, &home, false, m, None)
}

/// The mailbox's home as the generated userdb computes it.
fn home_of(ctx: &Ctx, m: &Mailbox, d: &Domain) -> OpResult<std::path::PathBuf> {
    super::deleted::home(&ctx.policy.lifecycle.mail_root, &d.name, &m.local_part)
}

/// A mailbox's vacation (None: never set), for anyone who may read it.
pub fn show(conn: &mut AnyConnection, ctx: &Ctx, address: &str) -> OpResult<Option<VacationView>> {
    let who = Principal::load(conn, ctx)?;
    let (m, _) = super::mailboxes::find(conn, &who, address)?;
    Ok(store::vacations::for_mailbox(conn, m.id)?.map(|v| VacationView::new(&m.username, v)))
}

/// The script `set` would install for this request, without installing
/// anything (`vacation set --dry-run`, the tests' sievec check).
pub fn preview(conn: &mut AnyConnection, ctx: &Ctx, v: &SetVacation) -> OpResult<String> {
    let who = Principal::load(conn, ctx)?;
    let (m, _) = editable(conn, &who, &v.address)?;
    let ck = check(v)?;
    script_for(conn, &m, v, &ck)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> SetVacation {
        SetVacation {
            address: "a@example.com".into(),
            subject: "Away".into(),
            body: "Back on Monday.\r\n".into(),
            days: DEFAULT_DAYS,
            ..SetVacation::default()
        }
    }

    fn field(v: &SetVacation) -> String {
        match check(v).unwrap_err() {
            OpError::Invalid { field, .. } => field,
            e => panic!("{e}"),
        }
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(check(&req()).unwrap().body, "Back on Monday.");
        assert_eq!(
            field(&SetVacation {
                subject: " ".into(),
                ..req()
            }),
            "subject"
        );
        assert_eq!(
            field(&SetVacation {
                subject: "a\nb".into(),
                ..req()
            }),
            "subject"
        );
        assert_eq!(
            field(&SetVacation {
                subject: "x".repeat(MAX_SUBJECT + 1),
                ..req()
            }),
            "subject"
        );
        assert_eq!(
            field(&SetVacation {
                body: "a\u{1b}[2J".into(),
                ..req()
            }),
            "body"
        );
        assert_eq!(
            field(&SetVacation {
                body: "a\rb".into(),
                ..req()
            }),
            "body"
        );
        assert_eq!(
            field(&SetVacation {
                body: "\n \n".into(),
                ..req()
            }),
            "body"
        );
        assert_eq!(
            field(&SetVacation {
                body: "x".repeat(MAX_BODY + 1),
                ..req()
            }),
            "body"
        );
        assert!(check(&SetVacation {
            body: "a\n\tb".into(),
            ..req()
        })
        .is_ok());
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let bad_dates = SetVacation {
            from: d("2027-01-02"),
            until: d("2027-01-01"),
            ..req()
        };
        assert_eq!(field(&bad_dates), "until");
        assert!(check(&SetVacation {
            from: d("2027-01-01"),
            until: d("2027-01-01"),
            ..req()
        })
        .is_ok());
        assert_eq!(field(&SetVacation { days: 0, ..req() }), "days");
        assert_eq!(field(&SetVacation { days: 366, ..req() }), "days");
        assert_eq!(
            field(&SetVacation {
                excludes: vec!["not an address".into()],
                ..req()
            }),
            "exclude"
        );
        let ok = check(&SetVacation {
            excludes: vec![
                "Boss@Example.org, @lists.example".into(),
                "boss@example.org".into(),
            ],
            ..req()
        })
        .unwrap();
        assert_eq!(ok.excludes, vec!["boss@example.org", "@lists.example"]);
    }
}
