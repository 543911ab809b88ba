//! This session's own count of failed logins, whatever names were typed.
//! Once it reaches the lockout threshold the answer is "too many failed
//! logins: wait N s" (the wait `lock_for` gives an account with that many
//! failures) and nothing is checked until it passes. Counting the session,
//! not the account, is what lets it say so without telling whether the
//! name exists or is locked.

use std::time::{Duration, Instant};

use super::{Failure, Response};
use crate::error::ErrorKind;
use crate::ops::{self, Policy};

#[derive(Debug, Default)]
pub(super) struct LoginThrottle {
    failed: i32,
    until: Option<Instant>,
}

impl LoginThrottle {
    fn refusal(wait: Duration) -> Failure {
        // Whole seconds, rounded up: "wait 0 s" would be a lie.
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Failure {
            kind: ErrorKind::Throttled,
            field: None,
            message: format!("Too many failed logins: wait {secs} s, then try again."),
        }
    }

    /// Refused without checking while the wait runs.
    pub(super) fn check(&self) -> Result<(), Failure> {
        match self.until {
            Some(t) if t > Instant::now() => Err(Self::refusal(t - Instant::now())),
            _ => Ok(()),
        }
    }

    /// Count a login's outcome; a failure at or past the threshold becomes
    /// the wait.
    pub(super) fn record(
        &mut self,
        policy: &Policy,
        result: Result<Response, Failure>,
    ) -> Result<Response, Failure> {
        match result {
            Ok(r) => {
                *self = LoginThrottle::default();
                Ok(r)
            }
            Err(f) if f.kind == ErrorKind::Auth => {
                self.failed = self.failed.saturating_add(1);
                match ops::auth::lock_for(policy, self.failed) {
                    Some(secs) => {
                        let wait = Duration::from_secs(u64::try_from(secs).unwrap_or(1));
                        self.until = Some(Instant::now() + wait);
                        Err(Self::refusal(wait))
                    }
                    None => Err(f),
                }
            }
            Err(f) => Err(f),
        }
    }
}
