//! A mailbox's vacation (issue 20) as the Mailboxes screen's `V` form uses
//! it: the form opens on what `ShowVacation` read (reader lane), and
//! saving runs `SetVacation` or `VacationOff`, which wait on the install
//! or remove command (`doveadm sieve ...`), so they run on the slow lane.

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::vacation;
use crate::ops::Ctx;

/// Read a mailbox's vacation; the outcome's data is the `VacationView`, or
/// `{"address": ..., "state": "none"}` when none was ever set.
#[derive(Debug)]
pub struct ShowVacation {
    pub address: String,
}

impl Command for ShowVacation {
    fn lane(&self) -> Lane {
        Lane::Read
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        match vacation::show(c, ctx, &self.address)? {
            Some(v) => Outcome::new(format!("vacation of {}", v.address), &v),
            None => Outcome::new(
                format!("{} has no vacation set", self.address),
                &serde_json::json!({ "address": self.address, "state": "none" }),
            ),
        }
    }
}

#[derive(Debug)]
pub struct SetVacation(pub vacation::SetVacation);

impl Command for SetVacation {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = vacation::set(c, ctx, &self.0)?;
        Outcome::new(format!("vacation of {} set ({})", v.address, v.state), &v)
    }
}

#[derive(Debug)]
pub struct VacationOff {
    pub address: String,
}

impl Command for VacationOff {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = vacation::off(c, ctx, &self.address)?;
        Outcome::new(format!("vacation of {} off", self.address), &v)
    }
}
