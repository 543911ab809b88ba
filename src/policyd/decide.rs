//! The rules, without I/O: given a sender's limits and counts, what a
//! request gets.
//!
//! Which protocol states count what, and why:
//! - `RCPT` (smtpd_recipient_restrictions): each recipient is checked
//!   against recipients per message and per day and against the message
//!   limits (messages already sent this hour/day), and counted when
//!   accepted. Refusing at RCPT is the only place a deferral costs the
//!   client nothing and leaves no partial message: the client keeps the
//!   mail and retries later.
//! - `END-OF-MESSAGE` (smtpd_end_of_data_restrictions): the message is
//!   counted once, after Postfix accepted its data. Counting at RCPT or
//!   DATA would count messages the client abandoned or Postfix refused.
//!   The answer there is always DUNNO.
//!
//! Every other state is answered DUNNO without counting.

use crate::store::send_limits::{Counts, Limits};

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Dunno,
    /// Over a limit: the reason names it.
    Over(String),
}

/// A sender's counts in the current hour and day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Now {
    pub hour: Counts,
    pub day: Counts,
}

fn over(n: i64, limit: Option<i32>) -> Option<i64> {
    limit.map(i64::from).filter(|l| n >= *l)
}

/// The verdict for one more recipient, `in_message` recipients of this
/// message having been accepted already.
pub fn rcpt(l: &Limits, now: &Now, in_message: i64) -> Verdict {
    if let Some(x) = over(in_message, l.rcpt_per_msg) {
        return Verdict::Over(format!("recipients per message limit ({x}) reached"));
    }
    if let Some(x) = over(now.hour.messages, l.per_hour) {
        return Verdict::Over(format!("hourly message limit ({x}) reached"));
    }
    if let Some(x) = over(now.day.messages, l.per_day) {
        return Verdict::Over(format!("daily message limit ({x}) reached"));
    }
    if let Some(x) = over(now.day.recipients, l.rcpt_per_day) {
        return Verdict::Over(format!("daily recipient limit ({x}) reached"));
    }
    Verdict::Dunno
}

/// Has the sender earned containment? Refused recipients within the hour
/// at `factor` times its hourly message limit (or, with none, its
/// recipients-per-message limit). A client that keeps trying after being
/// deferred is a spam run, not a user who hit a limit once.
pub fn abusive(l: &Limits, now: &Now, factor: u32) -> bool {
    if factor == 0 {
        return false;
    }
    l.per_hour
        .or(l.rcpt_per_msg)
        .is_some_and(|base| now.hour.refused >= i64::from(base) * i64::from(factor))
}

/// The Postfix action for a verdict under `[policyd] action`.
pub fn action(v: &Verdict, reject: bool) -> String {
    match v {
        Verdict::Dunno => "DUNNO".into(),
        Verdict::Over(why) if reject => format!("REJECT 5.7.1 Sending limit: {why}"),
        Verdict::Over(why) => {
            format!("DEFER_IF_PERMIT 4.7.1 Sending limit: {why}, try again later")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_is_named_when_reached() {
        let l = Limits {
            per_hour: Some(2),
            per_day: Some(3),
            rcpt_per_msg: Some(2),
            rcpt_per_day: Some(10),
        };
        let mut n = Now::default();
        assert_eq!(rcpt(&l, &n, 1), Verdict::Dunno);
        assert!(matches!(rcpt(&l, &n, 2), Verdict::Over(w) if w.contains("per message")));
        n.hour.messages = 2;
        assert!(matches!(rcpt(&l, &n, 0), Verdict::Over(w) if w.contains("hourly")));
        n.hour.messages = 0;
        n.day.messages = 3;
        assert!(matches!(rcpt(&l, &n, 0), Verdict::Over(w) if w.contains("daily message")));
        n.day.messages = 0;
        n.day.recipients = 10;
        assert!(matches!(rcpt(&l, &n, 0), Verdict::Over(w) if w.contains("daily recipient")));
        assert_eq!(rcpt(&Limits::default(), &n, 1000), Verdict::Dunno);
        n.hour.refused = 9;
        assert!(!abusive(&l, &n, 5));
        n.hour.refused = 10;
        assert!(abusive(&l, &n, 5));
        assert!(!abusive(&l, &n, 0));
        let a = action(&Verdict::Over("x".into()), false);
        assert!(a.starts_with("DEFER_IF_PERMIT 4.7.1 "), "{a}");
        assert!(action(&Verdict::Over("x".into()), true).starts_with("REJECT 5.7.1 "));
    }
}
