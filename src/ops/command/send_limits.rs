//! The Senders screen's writes and the dashboard's sending alert (issue
//! 21): stop a mailbox's sending, resume it, change its limits or its
//! domain's; and the count of automatic suspensions the dashboard shows.

use serde::Serialize;

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::send_limits::{self, LimitsEdit};
use crate::ops::Ctx;
use crate::sanitize::for_terminal as clean;
use crate::store::send_limits::Limits;

/// Stop `address` from sending (mailbox managers), with a reason.
#[derive(Debug)]
pub struct SuspendSending {
    pub address: String,
    pub reason: String,
}

impl Command for SuspendSending {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let s = send_limits::suspend(c, ctx, &self.address, &self.reason)?;
        Outcome::new(
            format!(
                "{} may no longer send mail (until an admin resumes it)",
                clean(&s.address)
            ),
            &s,
        )
    }
}

/// Let a suspended mailbox send again (admins).
#[derive(Debug)]
pub struct ResumeSending {
    pub address: String,
}

impl Command for ResumeSending {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let s = send_limits::resume(c, ctx, &self.address)?;
        Outcome::new(format!("{} may send mail again", clean(&s.address)), &s)
    }
}

/// Change a mailbox's own sending limits (admins); fields not in `edit`
/// keep what they were.
#[derive(Debug)]
pub struct SetSendLimits {
    pub address: String,
    pub edit: LimitsEdit,
}

impl Command for SetSendLimits {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let v = send_limits::set_mailbox(c, ctx, host.policyd, &self.address, &self.edit)?;
        Outcome::new(
            format!(
                "sending limits of {} now {}",
                clean(&v.target),
                limits_sentence(&v.effective)
            ),
            &v,
        )
    }
}

/// Change a domain's sending limits, the default of its mailboxes without
/// their own (admins); fields not in `edit` keep what they were, an
/// inherited field takes the `[policyd]` default.
#[derive(Debug)]
pub struct SetDomainSendLimits {
    pub domain: String,
    pub edit: LimitsEdit,
}

impl Command for SetDomainSendLimits {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let v = send_limits::set_domain(c, ctx, host.policyd, &self.domain, &self.edit)?;
        Outcome::new(
            format!(
                "sending limits of domain {} now {} (its mailboxes without their own follow)",
                clean(&v.target),
                limits_sentence(&v.effective)
            ),
            &v,
        )
    }
}

/// "200 a hour, 1,000 a day, 50 recipients a message, no limit on
/// recipients a day".
pub fn limits_sentence(l: &Limits) -> String {
    let one = |n: Option<i32>, what: &str| match n {
        Some(n) => format!("{} {what}", crate::ops::bulk::thousands(n)),
        None => format!("no limit {what}"),
    };
    format!(
        "{}, {}, {}, {}",
        one(l.per_hour, "an hour"),
        one(l.per_day, "a day"),
        one(l.rcpt_per_msg, "recipients a message"),
        one(l.rcpt_per_day, "recipients a day")
    )
}

/// How many mailbox suspensions the user may see: the dashboard's alert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SendingAlert {
    /// Suspended by the policy service's containment.
    pub automatic: usize,
    /// Suspended by an admin or a domain manager.
    pub by_hand: usize,
}

/// Count the sending suspensions in the user's scope (reader lane; one
/// small table, no counters read).
#[derive(Debug)]
pub struct SendingAlerts;

impl Command for SendingAlerts {
    fn lane(&self) -> Lane {
        Lane::Read
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let all = send_limits::suspensions(c, ctx)?;
        let automatic = all.iter().filter(|s| s.automatic).count();
        let a = SendingAlert {
            automatic,
            by_hand: all.len() - automatic,
        };
        let text = match all.iter().find(|s| s.automatic) {
            None => String::new(),
            Some(s) if automatic == 1 => format!(
                "{} suspended for sending (automatic) — :senders",
                clean(&s.address)
            ),
            Some(_) => format!(
                "{} mailboxes suspended for sending (automatic) — :senders",
                crate::ops::bulk::thousands(automatic)
            ),
        };
        Outcome::new(text, &a)
    }
}
