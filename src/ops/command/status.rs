//! Suspend or activate a row of any table that has a status.

use super::{ldap::key_file, Command, Host, Outcome};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{Entity, Status};
use crate::ops::{self, Ctx};

#[derive(Debug)]
pub struct SetStatus {
    pub entity: Entity,
    pub key: String,
    pub status: Status,
}

impl Command for SetStatus {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let SetStatus {
            entity,
            key,
            status,
        } = *self;
        let said = format!("{} {key} is now {}", entity.noun(), status.as_str());
        match entity {
            Entity::Domains => Outcome::new(said, &ops::domains::set_status(c, ctx, &key, status)?),
            Entity::Mailboxes => {
                Outcome::new(said, &ops::mailboxes::set_status(c, ctx, &key, status)?)
            }
            Entity::Aliases => Outcome::new(said, &ops::aliases::set_status(c, ctx, &key, status)?),
            Entity::AliasDomains => {
                Outcome::new(said, &ops::alias_domains::set_status(c, ctx, &key, status)?)
            }
            Entity::Users => Outcome::new(said, &ops::users::set_status(c, ctx, &key, status)?),
            Entity::Ldap => {
                // An LDAP server is active or not; its edit carries the flag.
                let active = status == Status::Active;
                let input = ops::ldap::ServerInput {
                    is_active: Some(active),
                    ..Default::default()
                };
                let v = ops::ldap::edit(c, ctx, key_file(host), &key, None, &input)?;
                let now = if active { "active" } else { "inactive" };
                Outcome::new(format!("LDAP server {} is now {now}", v.server_name), &v)
            }
            Entity::Permissions
            | Entity::Audit
            | Entity::MailServers
            | Entity::DkimKey
            | Entity::DeletedMailboxes
            | Entity::SenderGrants
            // Sending is stopped and resumed by its own commands
            // (ops::command::send_limits), with a reason.
            | Entity::Senders => Err(OpError::invalid(
                "status",
                format!("a {} has no status to change", entity.noun()),
            )),
        }
    }
}
