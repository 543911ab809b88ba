//! LDAP servers: they need the secrets key file, which the host holds, and
//! a test waits on the network.

use super::{ldap_timeout, Command, Host, Lane, Outcome};
use crate::secrets::KeyFile;

/// The host's secrets key file, if it has one (ops says when one is needed).
pub(super) fn key_file<'a>(host: &Host<'a>) -> Option<&'a KeyFile> {
    host.directory.key_file.as_ref()
}

use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::ops::{self, ldap::ServerInput, Ctx};

// Boxed: a server's input is the largest command by far.
#[derive(Debug)]
pub struct CreateLdap {
    pub name: String,
    pub input: Box<ServerInput>,
}

impl Command for CreateLdap {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let v = ops::ldap::create(c, ctx, key_file(host), &self.name, &self.input)?;
        Outcome::new(format!("added LDAP server {}", v.server_name), &v)
    }
}

#[derive(Debug)]
pub struct EditLdap {
    pub name: String,
    pub version: i32,
    pub input: Box<ServerInput>,
}

impl Command for EditLdap {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let keys = key_file(host);
        let v = ops::ldap::edit(c, ctx, keys, &self.name, Some(self.version), &self.input)?;
        Outcome::new(format!("updated LDAP server {}", v.server_name), &v)
    }
}

#[derive(Debug)]
pub struct DeleteLdap {
    pub name: String,
}

impl Command for DeleteLdap {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::ldap::delete(c, ctx, &self.name)?;
        Outcome::new(format!("deleted LDAP server {}", v.server_name), &v)
    }
}

/// Bind and search as the server is configured: up to the LDAP timeout on
/// the network, so it runs on the slow lane.
#[derive(Debug)]
pub struct TestLdap {
    pub name: String,
}

impl Command for TestLdap {
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let r = ops::ldap::test(c, ctx, key_file(host), &self.name, ldap_timeout(host))?;
        if !r.ok {
            let why = r.error.as_ref().map(|e| e.to_string()).unwrap_or_default();
            return Err(OpError::invalid(
                "test",
                format!(
                    "LDAP {} failed at {} after {} ms: {why}",
                    r.server,
                    r.failed_step.unwrap_or("connect"),
                    r.total_ms
                ),
            ));
        }
        Outcome::new(
            format!(
                "LDAP {}: bind and search fine in {} ms ({} entries under {})",
                r.server,
                r.total_ms,
                r.entries.len(),
                r.search_base
            ),
            &r,
        )
    }
}
