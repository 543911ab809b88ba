//! The Mailboxes screen's vacation form (`V`, issue 20): opened on what
//! `ShowVacation` read, it saves through `SetVacation` or `VacationOff`
//! (the slow lane: both wait on `doveadm sieve`). Form fields are single
//! lines, so the body shows a line break as `\n` (and a backslash as
//! `\\`); the same rules as `mailbox vacation set` are checked by ops.

use serde_json::Value;

use super::form::{Field, Form};
use super::forms::FormKind;
use super::reader::Reader;
use super::spec::fields;
use crate::ops::command::vacation::{SetVacation, VacationOff};
use crate::ops::command::Outcome;
use crate::ops::vacation;
use crate::worker::Write;

fields! {
    pub enum V {
        State = "state",
        Subject = "subject",
        Body = "body",
        From = "from",
        Until = "until",
        Days = "days",
        Exclude = "exclude",
    }
}

pub const ON_OFF: &[&str] = &["on", "off"];

/// A body as one line: `\` doubled, line breaks as `\n`.
pub fn one_line(body: &str) -> String {
    body.replace('\\', "\\\\").replace('\n', "\\n")
}

/// `one_line` undone.
pub fn lines(typed: &str) -> String {
    let mut out = String::with_capacity(typed.len());
    let mut chars = typed.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The form for `address`, filled from `ShowVacation`'s outcome (a
/// mailbox without a vacation opens on "on" with empty text).
pub fn form(outcome: &Outcome) -> Option<Form> {
    let d = outcome.data();
    let address = d.get("address")?.as_str()?.to_string();
    let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let state = match d.get("enabled").and_then(Value::as_bool) {
        Some(false) => "off",
        _ => "on",
    };
    let days = d
        .get("days")
        .and_then(Value::as_i64)
        .unwrap_or(i64::from(vacation::DEFAULT_DAYS))
        .to_string();
    let exclude = text("excludes").lines().collect::<Vec<_>>().join(", ");
    let version = d
        .get("version")
        .and_then(Value::as_i64)
        .and_then(|v| i32::try_from(v).ok());
    let shown = match text("state").as_str() {
        "none" => "none set".to_string(),
        s => s.to_string(),
    };
    Some(Form::new(
        format!(
            "Vacation of {} ({shown})",
            crate::sanitize::for_terminal(&address)
        ),
        FormKind::Vacation { address, version },
        vec![
            Field::choice(V::State, "Replies", state, ON_OFF),
            Field::new(
                V::Subject,
                "Subject",
                &text("subject"),
                "at most 200 characters",
            ),
            Field::new(V::Body, "Body", &one_line(&text("body")), "\\n = new line"),
            Field::new(
                V::From,
                "First day",
                &text("from_date"),
                "YYYY-MM-DD; empty = now",
            ),
            Field::new(
                V::Until,
                "Last day",
                &text("until_date"),
                "YYYY-MM-DD; empty = open",
            ),
            Field::new(V::Days, "Reply every", &days, "days, 1-365"),
            Field::new(
                V::Exclude,
                "Never answer",
                &exclude,
                "addresses or @domains, commas",
            ),
        ],
    ))
}

fn date(r: &mut Reader<'_>, id: V) -> Option<chrono::NaiveDate> {
    let t = r.text(id);
    if t.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            r.fail(id, format!("{t:?} is not a date: use YYYY-MM-DD"));
            None
        }
    }
}

/// What saving the form sends: off, or the whole vacation.
pub fn write(r: &mut Reader<'_>, address: &str, version: Option<i32>) -> Write {
    if r.text(V::State) == "off" {
        return Write::Command {
            verb: "switch off",
            command: Box::new(VacationOff {
                address: address.to_string(),
            }),
        };
    }
    let from = date(r, V::From);
    let until = date(r, V::Until);
    let days = match r.text(V::Days).parse::<i32>() {
        Ok(d) => d,
        Err(_) => {
            r.fail(V::Days, "a whole number of days, 1-365");
            vacation::DEFAULT_DAYS
        }
    };
    Write::Command {
        verb: "set",
        command: Box::new(SetVacation(vacation::SetVacation {
            address: address.to_string(),
            subject: r.text(V::Subject),
            body: lines(r.raw(V::Body)),
            from,
            until,
            days,
            excludes: vec![r.text(V::Exclude)],
            version,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_survives_the_one_line_field() {
        for b in ["a\nb", "back\\slash\\n", "\\", "x\n\n.\ny\\\\z"] {
            assert_eq!(lines(&one_line(b)), b, "{b:?}");
        }
        assert_eq!(lines("a\\nb\\q"), "a\nb\\q");
    }
}
