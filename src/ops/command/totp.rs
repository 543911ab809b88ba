//! The second factor as typed commands, for the TUI's `:totp` screen.
//! Their outcomes carry what is shown once (the secret and URI, then the
//! recovery codes); `Debug` never prints them.

use serde_json::json;

use super::{Command, Host, Outcome};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::ops::{totp, Ctx};
use crate::secrets::KeyFile;

fn keys<'a>(host: &'a Host<'_>) -> OpResult<&'a KeyFile> {
    host.directory.key_file.as_ref().ok_or_else(|| {
        OpError::Secret(
            "no secrets key file is configured ([secrets] key_file): a second factor cannot be stored"
                .into(),
        )
    })
}

/// Start an enrolment: a pending secret; the outcome's data holds
/// `uri` and `secret`.
#[derive(Debug)]
pub struct EnrollTotp;

impl Command for EnrollTotp {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let e = totp::enroll(c, ctx, keys(host)?)?;
        Outcome::new(
            format!("scan the code for {}, then type the app's code", e.username),
            &json!({ "username": e.username, "uri": e.uri.expose(), "secret": e.secret.expose() }),
        )
    }
}

/// Confirm the pending enrolment with the app's first code; the outcome's
/// data holds the ten `codes`.
pub struct ConfirmTotp {
    pub code: String,
}

impl std::fmt::Debug for ConfirmTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfirmTotp { .. }")
    }
}

impl Command for ConfirmTotp {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let r = totp::confirm(c, ctx, keys(host)?, &self.code)?;
        let codes: Vec<&str> = r.codes.iter().map(|s| s.expose()).collect();
        Outcome::new(
            format!("second factor of {} is on", r.username),
            &json!({ "username": r.username, "codes": codes }),
        )
    }
}
