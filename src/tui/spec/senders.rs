//! The Senders screen (issue 21, `:senders`): the busiest senders of this
//! hour and of today as the policy service counted them on every host,
//! with their limits and state, busiest first and live. `s` stops a
//! mailbox's sending (a form asks the reason) or resumes a suspended one
//! (after the dialog); Enter edits its own limits, `D` its domain's
//! (admins); `i` shows everything about it.
//!
//! The worker's side is `worker/source/senders.rs`: pages over the
//! `ops::send_limits::sender_lines` set, which is put together from the
//! counters rather than stored as rows.

use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, FieldId, Spec};
use crate::model::{Entity, Role};
use crate::ops::command::send_limits::{
    ResumeSending, SetDomainSendLimits, SetSendLimits, SuspendSending,
};
use crate::ops::send_limits::{Change, LimitsEdit};
use crate::store::send_limits::Limits;
use crate::tui::action::Action;
use crate::tui::form::{Field, Form};
use crate::tui::forms::FormKind;
use crate::tui::keys::{Cmd, RowCmd};
use crate::tui::reader::Reader;
use crate::tui::rows::{clean, time, Row};
use crate::validate;
use crate::worker::source::SenderEntry;
use crate::worker::Write;

fields! {
    pub enum F {
        Address = "address",
        State = "state",
        HourMessages = "messages_hour",
        HourRecipients = "recipients_hour",
        HourRefused = "refused_hour",
        DayMessages = "messages_today",
        DayRecipients = "recipients_today",
        DayRefused = "refused_today",
        PerHour = "per_hour",
        PerHourFrom = "per_hour_from",
        PerDay = "per_day",
        PerDayFrom = "per_day_from",
        RcptPerMsg = "rcpt_per_msg",
        RcptPerMsgFrom = "rcpt_per_msg_from",
        RcptPerDay = "rcpt_per_day",
        RcptPerDayFrom = "rcpt_per_day_from",
        Suspended = "suspended",
        SuspendedAt = "suspended_at",
        Reason = "reason",
        // The domain's own limits, for `D`'s form (not in `i`: the
        // `*_from` fields already say when the domain's apply).
        Domain = "domain",
        DomainPerHour = "domain_per_hour",
        DomainPerDay = "domain_per_day",
        DomainRcptPerMsg = "domain_rcpt_per_msg",
        DomainRcptPerDay = "domain_rcpt_per_day",
    }
}

pub struct Senders;

/// At 80 columns the address keeps at least 19 cells; a longer one folds
/// Rcpt/day, then Refused (both in `i`).
const COLUMNS: &[Column] = &[
    col("Sender", Fill(1)),
    col("Hour msg/max", Length(14)).right(),
    col("Today msg/max", Length(15)).right(),
    col("Refused", Length(7)).right().gives_way(),
    col("Rcpt/day", Length(9)).right().gives_way(),
    col("State", Length(9)),
];

/// The four limits: the form field, its label, and the detail saying
/// where the value comes from.
const LIMITS: [(F, &str, F); 4] = [
    (F::PerHour, "Per hour", F::PerHourFrom),
    (F::PerDay, "Per day", F::PerDayFrom),
    (F::RcptPerMsg, "Rcpt per msg", F::RcptPerMsgFrom),
    (F::RcptPerDay, "Rcpt per day", F::RcptPerDayFrom),
];

/// The domain's own limits behind each form field of `D`.
const DOMAIN_LIMITS: [(F, F); 4] = [
    (F::PerHour, F::DomainPerHour),
    (F::PerDay, F::DomainPerDay),
    (F::RcptPerMsg, F::DomainRcptPerMsg),
    (F::RcptPerDay, F::DomainRcptPerDay),
];

/// The row's fields `i` leaves out.
const HIDDEN: [F; 5] = [
    F::Domain,
    F::DomainPerHour,
    F::DomainPerDay,
    F::DomainRcptPerMsg,
    F::DomainRcptPerDay,
];

const SUSPENDED: &str = "suspended";

impl Spec for Senders {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        true
    }
    /// Limits are the admins' (they guard the host's reputation, which
    /// every tenant shares); stopping a mailbox's sending is for whoever
    /// manages its mailboxes, resuming it for admins (ops decides both).
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin => Caps {
                edit: true,
                status: true,
                ..Caps::NONE
            },
            Role::User => Caps {
                status: true,
                ..Caps::NONE
            },
            Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[
            Cmd::Row(RowCmd::SenderDetail),
            Cmd::Row(RowCmd::DomainLimits),
        ]
    }
    fn delete(&self, _row: &Row) -> Option<Write> {
        None
    }
    /// Senders are counted, never added; the one create form here is the
    /// reason asked when `s` stops a sender (`status_key`).
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        None
    }
    /// The mailbox's limits as they apply now; a changed field becomes the
    /// mailbox's own, `none` (or empty) gives it back to the domain's or
    /// the default, an unchanged one is not sent.
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        Some(
            LIMITS
                .iter()
                .map(|(id, label, _)| {
                    Field::new(*id, label, row.field(*id), "none = the domain's or default")
                })
                .collect(),
        )
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        match editing {
            // Limits carry no version: only the changed fields are sent,
            // each a value of its own, so two admins' edits of different
            // limits both stand.
            Some((address, _)) => Some(limits_write(r, |edit| {
                Box::new(SetSendLimits {
                    address: address.to_string(),
                    edit,
                })
            })),
            None => {
                r.check(F::Address, validate::lookup_address);
                let address = r.required(F::Address);
                let reason = r.required(F::Reason);
                Some(Write::Command {
                    verb: "suspend",
                    command: Box::new(SuspendSending { address, reason }),
                })
            }
        }
    }
    fn status_key(&self, row: &Row) -> Option<(&'static str, Action)> {
        let address = row.key.clone();
        if row.status.as_deref() != Some(SUSPENDED) {
            return Some(("stop sending", Action::OpenForm(suspend_form(&address))));
        }
        let text = format!(
            "Resume sending for {address}? It was suspended {} on {}: {}. Its SMTP logins, its \
             sender login map entry and the policy service accept it again.",
            row.field(F::Suspended),
            row.field(F::SuspendedAt),
            row.field(F::Reason),
        );
        Some((
            "resume sending",
            Action::AskConfirm {
                text,
                write: Write::Command {
                    verb: "resume",
                    command: Box::new(ResumeSending { address }),
                },
            },
        ))
    }
    /// Busiest first: the mark sits on this hour's messages.
    fn newest_first(&self) -> bool {
        true
    }
    fn ordered_by(&self) -> usize {
        1
    }
    fn run(&self, cmd: RowCmd, row: &Row) -> Action {
        match cmd {
            RowCmd::SenderDetail => Action::Detail(
                format!("sender {}", row.key),
                row.fields
                    .iter()
                    .filter(|(k, _)| !HIDDEN.iter().any(|h| h.name() == *k))
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            RowCmd::DomainLimits => match row.field(F::Domain) {
                "" => Action::Status(format!("{} has no domain part", row.key)),
                _ => Action::OpenForm(domain_form(row)),
            },
            _ => Action::Ignored,
        }
    }
}

/// `s` on a sender that may send: the reason is asked (it is audited and
/// shown to whoever resumes it).
fn suspend_form(address: &str) -> Form {
    let mut f = Form::new(
        format!("Stop sending: {address}"),
        FormKind::Create(Entity::Senders),
        vec![
            Field::new(F::Address, "Mailbox", address, "user@domain"),
            Field::new(F::Reason, "Reason", "", "why: audited, shown when resuming"),
        ],
    );
    f.focus = 1;
    f
}

/// `D`: the sending limits of the sender's domain, filled with the
/// domain's own (empty: it has none and the `[policyd]` default applies).
/// Only the changed fields are saved, as with a mailbox's.
fn domain_form(row: &Row) -> Form {
    let domain = row.field(F::Domain).to_string();
    Form::new(
        format!("Sending limits of domain {domain}"),
        FormKind::DomainSendLimits {
            domain: domain.clone(),
        },
        LIMITS
            .iter()
            .zip(DOMAIN_LIMITS)
            .map(|((id, label, _), (_, own))| {
                Field::new(*id, label, row.field(own), "empty = the [policyd] default")
            })
            .collect(),
    )
}

/// `D`'s form, saved through `SetDomainSendLimits` (admins; ops decides).
pub fn domain_limits_write(r: &mut Reader<'_>, domain: &str) -> Write {
    limits_write(r, |edit| {
        Box::new(SetDomainSendLimits {
            domain: domain.to_string(),
            edit,
        })
    })
}

/// The changed limit fields as an edit, each checked as ops checks it
/// (a bad one is marked beside its field), and the command saving it.
fn limits_write(
    r: &mut Reader<'_>,
    command: impl FnOnce(LimitsEdit) -> Box<dyn crate::ops::command::Command>,
) -> Write {
    let mut edit = LimitsEdit::default();
    for (id, _, _) in LIMITS {
        let Some(typed) = r.changed(id) else { continue };
        let typed = typed.replace(',', "");
        let change = if typed.is_empty() {
            Ok(Change::Inherit)
        } else {
            LimitsEdit::parse(id.name(), &typed)
        };
        let slot = match id {
            F::PerHour => &mut edit.per_hour,
            F::PerDay => &mut edit.per_day,
            F::RcptPerMsg => &mut edit.rcpt_per_msg,
            _ => &mut edit.rcpt_per_day,
        };
        match change {
            Ok(c) => *slot = Some(c),
            Err(e) => r.push(id.name(), &e),
        }
    }
    Write::Command {
        verb: "save",
        command: command(edit),
    }
}

/// A count as it fits a cell: thousands separated below a million
/// ("120,000"), then in millions ("1.2M", "12M").
pub fn count(n: i64) -> String {
    let a = n.unsigned_abs();
    let sign = if n < 0 { "-" } else { "" };
    if a < 1_000_000 {
        crate::ops::bulk::thousands(n)
    } else if a < 10_000_000 {
        let tenths = a / 100_000;
        format!("{sign}{}.{}M", tenths / 10, tenths % 10)
    } else {
        format!("{sign}{}M", a / 1_000_000)
    }
}

/// "sent/max", or the count alone when nothing limits it.
fn of(n: i64, limit: Option<i32>) -> String {
    match limit {
        Some(l) => format!("{}/{}", count(n), count(i64::from(l))),
        None => count(n),
    }
}

/// Where a limit that applies comes from.
fn from(f: fn(&Limits) -> Option<i32>, e: &SenderEntry) -> &'static str {
    if f(&e.own).is_some() {
        "own"
    } else if f(&e.domain).is_some() {
        "domain"
    } else if f(&e.defaults).is_some() {
        "[policyd] default"
    } else {
        "no limit anywhere"
    }
}

/// The State column: suspended (automatically by the policy service's
/// containment, or by hand), at a limit now, or ok.
fn state(e: &SenderEntry) -> &'static str {
    let l = &e.line;
    let at = |n: i64, lim: Option<i32>| lim.is_some_and(|m| n >= i64::from(m));
    match &e.suspension {
        Some(s) if s.automatic => "auto-susp",
        Some(_) => SUSPENDED,
        None if l.suspended => SUSPENDED,
        None if at(l.hour.messages, l.limits.per_hour)
            || at(l.day.messages, l.limits.per_day)
            || at(l.day.recipients, l.limits.rcpt_per_day) =>
        {
            "limited"
        }
        None => "ok",
    }
}

pub fn row(e: &SenderEntry) -> Row {
    let l = &e.line;
    let sender = clean(&l.sender);
    let suspended = e.suspension.is_some() || l.suspended;
    let limit = |n: Option<i32>| n.map_or_else(|| "none".to_string(), |n| count(i64::from(n)));
    let domain_own = |n: Option<i32>| n.map_or_else(String::new, |n| count(i64::from(n)));
    let domain = l
        .sender
        .rsplit_once('@')
        .map_or_else(String::new, |(_, d)| clean(d));
    let (by, at, reason) = match &e.suspension {
        Some(s) if s.automatic => (
            format!("automatically by {}", clean(&s.created_by)),
            time(&s.created_at),
            clean(&s.reason),
        ),
        Some(s) => (
            format!("by {}", clean(&s.created_by)),
            time(&s.created_at),
            clean(&s.reason),
        ),
        None => ("no".to_string(), String::new(), String::new()),
    };
    let state = state(e);
    Row {
        usage: None,
        key: sender.clone(),
        cursor: crate::worker::source::sender_cursor(l),
        // A sender is a login name the counters are keyed by, not a row.
        id: 0,
        // Limits carry no version (see `build`); the edit form needs one.
        version: Some(0),
        status: Some(if suspended { SUSPENDED } else { "active" }.to_string()),
        cells: vec![
            sender.clone(),
            of(l.hour.messages, l.limits.per_hour),
            of(l.day.messages, l.limits.per_day),
            count(l.day.refused),
            count(l.day.recipients),
            state.to_string(),
        ],
        fields: pairs(vec![
            (F::Address, sender),
            (F::State, state.to_string()),
            (F::HourMessages, count(l.hour.messages)),
            (F::HourRecipients, count(l.hour.recipients)),
            (F::HourRefused, count(l.hour.refused)),
            (F::DayMessages, count(l.day.messages)),
            (F::DayRecipients, count(l.day.recipients)),
            (F::DayRefused, count(l.day.refused)),
            (F::PerHour, limit(l.limits.per_hour)),
            (F::PerHourFrom, from(|x| x.per_hour, e).into()),
            (F::PerDay, limit(l.limits.per_day)),
            (F::PerDayFrom, from(|x| x.per_day, e).into()),
            (F::RcptPerMsg, limit(l.limits.rcpt_per_msg)),
            (F::RcptPerMsgFrom, from(|x| x.rcpt_per_msg, e).into()),
            (F::RcptPerDay, limit(l.limits.rcpt_per_day)),
            (F::RcptPerDayFrom, from(|x| x.rcpt_per_day, e).into()),
            (F::Suspended, by),
            (F::SuspendedAt, at),
            (F::Reason, reason),
            (F::Domain, domain),
            (F::DomainPerHour, domain_own(e.domain.per_hour)),
            (F::DomainPerDay, domain_own(e.domain.per_day)),
            (F::DomainRcptPerMsg, domain_own(e.domain.rcpt_per_msg)),
            (F::DomainRcptPerDay, domain_own(e.domain.rcpt_per_day)),
        ]),
    }
}

// The worker's pages of this screen, drawn by `row`.
crate::records!(SenderEntry, row);

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn counts_stay_readable_in_a_narrow_cell() {
        assert_eq!(count(0), "0");
        assert_eq!(count(120_000), "120,000");
        assert_eq!(count(999_999), "999,999");
        assert_eq!(count(1_234_567), "1.2M");
        assert_eq!(count(10_000_000), "10M");
        assert_eq!(count(-5), "-5");
    }
}
