//! Mail server configs: import a file (and its includes), store an edited
//! text as a new version, apply a version, or put back the backup taken
//! when a version was applied. Applying runs the host's stage check and
//! reload commands, so it (and reading files) runs on the slow lane.

use super::{Command, Host, Lane, Outcome};
use crate::db::models::MailServerConfig;
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::mail::configs;
use crate::ops::{self, mail_configs::Applied, Ctx};

/// The host's stage check and reload command for a service.
fn options(host: &Host<'_>, service: &str) -> configs::ApplyOptions {
    let mail = host.mail;
    let postfix = service == "postfix";
    configs::ApplyOptions {
        stage_check: Some(if postfix {
            mail.postfix_stage_check.clone()
        } else {
            mail.dovecot_stage_check.clone()
        }),
        reload: Some(if postfix {
            mail.postfix_reload.clone()
        } else {
            mail.dovecot_reload.clone()
        })
        .filter(|c| !c.trim().is_empty()),
        ..Default::default()
    }
}

fn applied_text(row: &MailServerConfig, a: &Applied) -> String {
    format!(
        "applied {} version {}: {}",
        row.config_file,
        row.version,
        a.steps.join("; ")
    )
}

#[derive(Debug)]
pub struct ImportConfig {
    pub file: String,
    pub service: String,
}

impl Command for ImportConfig {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let files = configs::read_with_includes(&self.service, std::path::Path::new(&self.file))?;
        let out = ops::mail_configs::import(c, ctx, &self.service, &files)?;
        Outcome::new(
            format!(
                "imported {} from {}",
                crate::plural::s(out.len(), "file"),
                self.file
            ),
            &out,
        )
    }
}

#[derive(Debug)]
pub struct EditConfig {
    pub id: i32,
    pub data: String,
}

impl Command for EditConfig {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let row = ops::mail_configs::edit(c, ctx, self.id, &self.data)?;
        Outcome::new(
            format!(
                "stored {} version {} (not applied yet: A applies it)",
                row.config_file, row.version
            ),
            &row,
        )
    }
}

#[derive(Debug)]
pub struct ApplyConfig {
    pub id: i32,
}

impl Command for ApplyConfig {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let (row, a) = ops::mail_configs::apply(c, ctx, self.id, |r, active| {
            configs::write_to_disk(r, active, &options(host, &r.service_name))
        })?;
        Outcome::new(applied_text(&row, &a), &a)
    }
}

#[derive(Debug)]
pub struct RollbackConfig {
    pub id: i32,
}

impl Command for RollbackConfig {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let (after, a, backup) = ops::mail_configs::rollback(c, ctx, self.id, |r, active| {
            configs::write_to_disk(r, active, &options(host, &r.service_name))
        })?;
        Outcome::new(
            format!("rolled back to {backup}; {}", applied_text(&after, &a)),
            &a,
        )
    }
}
