//! Printing results: aligned text for people, JSON for scripts. Every value
//! from the database is stripped of control characters before printing as
//! text; JSON keeps them, escaped (`json_safe`).

use serde::Serialize;
use serde_json::{json, Value};

use crate::sanitize::for_terminal;
use crate::units::{human, human_limit};

/// JSON text with every unsafe character (`validate::is_unsafe_char`) that
/// serde_json leaves raw written as a `\uXXXX` escape: DEL, the C1 controls
/// (U+009B is a one-byte CSI on many terminals, so a stored value could
/// drive the terminal of whoever reads `--json` output) and the bidi
/// controls. serde_json already escapes U+0000-U+001F. Such characters can
/// only stand inside JSON strings, where the escape decodes to the same
/// character: the document means exactly what it meant.
pub fn json_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_raw = |c: char| u32::from(c) >= 0x7f && crate::validate::is_unsafe_char(c);
    if !text.chars().any(unsafe_raw) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_raw(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A row in a text table.
pub trait Row {
    const HEADERS: &'static [&'static str];
    fn cells(&self) -> Vec<String>;
    /// The keyset cursor a following page starts after.
    fn key(&self) -> String;
    /// The cursor under a sort order; lists that sort only by name use `key`.
    fn cursor(&self, _sort: crate::store::Sort) -> String {
        self.key()
    }
}

/// A stored UTC timestamp in the admin's time zone, with the zone's abbreviation.
pub fn ts(t: &chrono::NaiveDateTime) -> String {
    crate::timefmt::local(t, "%Y-%m-%d %H:%M:%S %Z")
}

/// A timestamp as serde writes it ("2026-11-27T05:24:10.223999"), shown local.
fn ts_text(s: &str) -> Option<String> {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| ts(&t))
}

pub(super) fn limit(n: i32) -> String {
    if n == 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

pub(super) fn used(bytes: i64) -> String {
    human(bytes)
}

/// Columns of numbers, right-aligned so their magnitudes line up.
const RIGHT: &[&str] = &["QUOTA", "USED", "USE%", "MAILBOXES", "ID"];

pub fn table<T: Row>(rows: &[T]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.cells().iter().map(|c| for_terminal(c)).collect())
        .collect();
    let mut widths: Vec<usize> = T::HEADERS.iter().map(|h| h.chars().count()).collect();
    for row in &body {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let last = cells.len().saturating_sub(1);
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let right = RIGHT.contains(&T::HEADERS[i.min(T::HEADERS.len() - 1)]);
            if i == last && !right {
                out.push_str(cell);
            } else if right {
                out.push_str(&format!("{cell:>w$}"));
                if i != last {
                    out.push_str("  ");
                }
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push('\n');
    };
    line(T::HEADERS.to_vec(), &mut out);
    for row in &body {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

/// A page of rows; `next` is set when the page was full.
pub fn list<T: Row + Serialize>(rows: &[T], limit: i64, json: bool) -> String {
    list_sorted(rows, limit, json, crate::store::Sort::default())
}

/// A page of a list in `sort` order; `next` is the last row's cursor.
pub fn list_sorted<T: Row + Serialize>(
    rows: &[T],
    limit: i64,
    json: bool,
    sort: crate::store::Sort,
) -> String {
    let next = if rows.len() as i64 >= limit {
        rows.last().map(|r| r.cursor(sort))
    } else {
        None
    };
    if json {
        let v = serde_json::json!({ "items": rows, "next": next });
        return format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    let mut out = table(rows);
    if let Some(n) = next {
        out.push_str(&format!("(more: --after {})\n", for_terminal(&n)));
    }
    out
}

/// Fields of `object` that hold bytes (0 means unlimited, except usage).
const SIZE_KEYS: &[&str] = &["quota_limit", "quota_used", "max_mailbox_quota"];

/// One object: pretty JSON, or "key: value" lines.
pub fn object<T: Serialize>(item: &T, json: bool) -> String {
    let v = serde_json::to_value(item).unwrap_or(Value::Null);
    if json {
        return format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
    }
    let mut out = String::new();
    if let Value::Object(map) = v {
        let width = map.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, val) in map {
            let text = match val {
                // Sizes by the same rule as the tables; --json has the bytes.
                Value::Number(n) if SIZE_KEYS.contains(&k.as_str()) => match n.as_i64() {
                    Some(b) if k == "quota_used" => human(b),
                    Some(b) => human_limit(b),
                    None => n.to_string(),
                },
                Value::String(s) => ts_text(&s).unwrap_or(s),
                Value::Null => "-".into(),
                other => other.to_string(),
            };
            out.push_str(&format!("{:<width$}  {}\n", k, for_terminal(&text)));
        }
    }
    out
}

pub(super) fn said<T: serde::Serialize>(json: bool, item: &T, text: String) -> String {
    if json {
        object(item, true)
    } else {
        text + "\n"
    }
}

/// Append the generated password (shown once) to a result.
pub(super) fn with_generated(
    mut out: String,
    generated: Option<String>,
    json: bool,
    what: &str,
) -> String {
    if let Some(pw) = generated {
        if json {
            // Keep stdout one JSON document: put the password in it.
            if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&out) {
                v["generated_password"] = json!(pw);
                out = format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
        } else {
            out.push_str(&format!(
                "generated password for {what} (shown once): {pw}\n"
            ));
        }
    }
    out
}

/// Runs a typed command as the terminal UI's worker runs it, and prints
/// what it did: the outcome's sentence (the TUI's status line says the
/// same), or its data with `--json`. One sentence per change, written
/// once in `ops::command`. A warning goes to stderr (stdout stays the
/// result); a partial failure prints the outcome and exits 1.
pub(super) fn run_command(
    cmd: impl crate::ops::command::Command + 'static,
    env: &crate::env::Env,
    conn: &mut crate::db::AnyConnection,
    ctx: &crate::ops::Ctx,
    json: bool,
) -> Result<String, super::CliError> {
    let dkim = crate::ops::dkim::Settings::from_config(&env.config.dkim);
    run_command_with(cmd, env, &dkim, conn, ctx, json)
}

/// `run_command` under these `[dkim]` settings (`domain add --dkim` and
/// `--no-dkim` decide `on_domain_add` for one run).
pub(super) fn run_command_with(
    cmd: impl crate::ops::command::Command + 'static,
    env: &crate::env::Env,
    dkim: &crate::ops::dkim::Settings,
    conn: &mut crate::db::AnyConnection,
    ctx: &crate::ops::Ctx,
    json: bool,
) -> Result<String, super::CliError> {
    let directory = env.directory();
    let quiet = |_: crate::csvfile::Progress| {};
    let host = crate::ops::command::Host {
        url: Some(&env.url),
        directory: &directory,
        mail: &env.config.mail,
        dkim,
        dns: &env.config.dns,
        policyd: &env.config.policyd,
        progress: &quiet,
    };
    let done = Box::new(cmd).run(conn, ctx, &host)?;
    if let Some(w) = done.warning() {
        eprintln!("warning: {}", for_terminal(w));
    }
    let out = if json {
        object(&done, true)
    } else {
        crate::sanitize::lines_for_terminal(&done.to_string()) + "\n"
    };
    match done.failure() {
        None => Ok(out),
        Some(f) => Err(super::CliError::Report {
            out,
            code: 1,
            message: f.to_string(),
        }),
    }
}

/// `suspend` / `activate` of one row: the TUI's `SetStatus` (`s` on a
/// table screen), printed as its outcome.
pub(super) fn run_status(
    entity: crate::model::Entity,
    key: &str,
    status: crate::model::Status,
    env: &crate::env::Env,
    conn: &mut crate::db::AnyConnection,
    ctx: &crate::ops::Ctx,
    json: bool,
) -> Result<String, super::CliError> {
    let cmd = crate::ops::command::SetStatus {
        entity,
        key: key.to_string(),
        status,
    };
    run_command(cmd, env, conn, ctx, json)
}
