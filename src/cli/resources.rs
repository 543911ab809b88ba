//! The data commands (domain, mailbox, alias, alias-domain, user,
//! permission, audit, stats, preferences): each entity's module holds its
//! arguments, its calls into `ops` and its output; this only dispatches.

use super::args::{Cli, Command};
use super::CliError;
use crate::db::AnyConnection;
use crate::env::Env;
use crate::ops::{self, Ctx};

pub fn run(
    cli: &Cli,
    cmd: &Command,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    let j = cli.json;
    if let Ok(p) = ops::preferences::get(conn, ctx) {
        crate::timefmt::set_zone(p.tz());
    }
    match cmd {
        Command::Preferences(c) => super::preferences::run(c, conn, ctx, j),
        Command::Domain(c) => super::domain::run(c, env, conn, ctx, j),
        Command::Mailbox(super::mailbox::MailboxCommand::Limits(l)) => {
            super::limits::mailbox(l, env, conn, ctx, j)
        }
        Command::Mailbox(c) => super::mailbox::run(c, env, conn, ctx, j),
        Command::Sending(c) => super::sending::run(c, conn, ctx, j),
        Command::Sender(c) => super::sender::run(c, conn, ctx, j),
        Command::Alias(c) => super::alias::run(c, env, conn, ctx, j),
        Command::AliasDomain(c) => super::alias_domain::run(c, env, conn, ctx, j),
        Command::User(c) => super::user::run(c, env, conn, ctx, j),
        Command::Permission(c) => super::permission::run(c, env, conn, ctx, j),
        Command::Audit(c) => super::audit::run(c, conn, ctx, j),
        Command::Stats(p) => super::stats::run(p, env, conn, ctx, j),
        Command::Init(_)
        | Command::Db(_)
        | Command::Health(_)
        | Command::Mail(_)
        | Command::Quota(_)
        | Command::Ldap(_)
        | Command::Dkim(_)
        | Command::Demo(_)
        | Command::Bench(_)
        | Command::Policyd(_)
        | Command::Completions { .. }
        | Command::Man { .. } => Err(CliError::Usage("not a data command".into())),
    }
}
