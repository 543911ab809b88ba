//! The forms asking for a bulk action's value (quota, limits, grant,
//! revoke) before its preview, and the action they ask for.

use super::form::{Field, Form};
use super::forms::{FormKind, Own, PERM_SETS};
use super::reader::Reader;
use crate::model::Entity;
use crate::ops::domains::DomainInput;
use crate::validate;
use crate::worker::BulkAction;

/// Bulk actions that need a value before their preview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkForm {
    /// Mailboxes: one quota for all.
    Quota,
    /// Domains: limits; an empty field keeps each domain's own value.
    Limits,
    /// Domains: give a user permissions on all of them.
    Grant,
    /// Domains: take a user's permissions on all of them.
    Revoke,
}

/// The form asking for a bulk action's value; `keys` are the marked rows.
pub fn bulk(resource: Entity, keys: Vec<String>, what: BulkForm) -> Form {
    let n = crate::ops::bulk::thousands(keys.len());
    let noun = if keys.len() == 1 {
        resource.noun()
    } else {
        resource.plural()
    };
    let (title, fields) = match what {
        BulkForm::Quota => (
            format!("Set the quota of {n} marked {noun}"),
            vec![Field::new(
                Own::Quota,
                "Quota",
                "",
                "e.g. 2G; 0 = unlimited",
            )],
        ),
        BulkForm::Limits => (
            format!("Set limits of {n} marked {noun}"),
            vec![
                Field::new(Own::QuotaLimit, "Total quota", "", "empty = keep; 2G"),
                Field::new(
                    Own::MaxMailboxes,
                    "Max mailboxes",
                    "",
                    "empty = keep; 0 = unlimited",
                ),
                Field::new(
                    Own::MaxAliases,
                    "Max aliases",
                    "",
                    "empty = keep; 0 = unlimited",
                ),
                Field::new(
                    Own::MaxMailboxQuota,
                    "Max per mailbox",
                    "",
                    "empty = keep; 1G",
                ),
                Field::new(Own::Transport, "Transport", "", "empty = keep"),
            ],
        ),
        BulkForm::Grant => (
            format!("Grant a user rights on {n} marked {noun}"),
            vec![
                Field::new(Own::Username, "Username", "", "an admin user"),
                Field::choice(
                    Own::Permissions,
                    "Permissions",
                    "mailboxes,aliases",
                    PERM_SETS,
                ),
            ],
        ),
        BulkForm::Revoke => (
            format!("Revoke a user's rights on {n} marked {noun}"),
            vec![Field::new(Own::Username, "Username", "", "an admin user")],
        ),
    };
    Form::new(
        title,
        FormKind::Bulk {
            resource,
            keys,
            what,
        },
        fields,
    )
}

pub fn bulk_action(r: &mut Reader<'_>, what: BulkForm) -> BulkAction {
    match what {
        BulkForm::Quota => {
            r.required(Own::Quota);
            BulkAction::SetQuota(r.opt_size(Own::Quota).unwrap_or(0))
        }
        BulkForm::Limits => {
            let input = DomainInput {
                description: None,
                quota_limit: r.opt_size(Own::QuotaLimit),
                max_mailboxes: r.opt_count(Own::MaxMailboxes),
                max_aliases: r.opt_count(Own::MaxAliases),
                max_mailbox_quota: r.opt_size(Own::MaxMailboxQuota),
                transport: r.optional(Own::Transport),
                password_max_age_days: None,
            };
            r.check_opt(Own::Transport, validate::transport);
            if r.errors.is_empty() && input == DomainInput::default() {
                r.fail(
                    Own::QuotaLimit,
                    "nothing to change: fill in at least one limit",
                );
            }
            BulkAction::SetLimits(input)
        }
        BulkForm::Grant => {
            r.check(Own::Username, validate::username);
            BulkAction::Grant {
                username: r.required(Own::Username),
                perms: r.perms(Own::Permissions),
            }
        }
        BulkForm::Revoke => {
            r.check(Own::Username, validate::username);
            BulkAction::Revoke {
                username: r.required(Own::Username),
            }
        }
    }
}
