//! Reading the mail-server and LDAP configuration rows. They describe the
//! whole host, so a domain-scoped user sees none of them; writes come with
//! the issues that manage those files and directories.

use super::{Ctx, Principal, Role};
use crate::db::models::{LdapConfig, MailServerConfig};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::store::{self, Page};

fn require_host_reader(conn: &mut AnyConnection, ctx: &Ctx, what: &str) -> OpResult<()> {
    let who = Principal::load(conn, ctx.user_id)?;
    if who.role == Role::User {
        return Err(OpError::Denied(format!(
            "reading {what} needs role admin or readonly; {} has role user",
            who.username
        )));
    }
    Ok(())
}

pub fn mail_servers(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    text: Option<&str>,
    page: &Page,
) -> OpResult<Vec<MailServerConfig>> {
    require_host_reader(conn, ctx, "mail server configs")?;
    Ok(store::mail_servers::list(conn, text, page)?)
}

pub fn ldap_servers(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    text: Option<&str>,
    page: &Page,
) -> OpResult<Vec<LdapConfig>> {
    require_host_reader(conn, ctx, "LDAP servers")?;
    Ok(store::ldap::list(conn, text, page)?)
}
