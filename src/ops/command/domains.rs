//! Domains and alias domains.

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::error::OpResult;
use crate::ops::{self, domains::DomainInput, Ctx};

/// `domain add` from the TUI's form. With `[dkim] on_domain_add` the
/// domain gets its first DKIM key (pending) in the same transaction, as
/// `domain add` does on the command line; with `default_aliases` its RFC
/// 2142 role aliases (`[lifecycle] default_aliases`), also as there.
#[derive(Debug)]
pub struct CreateDomain {
    pub name: String,
    pub input: DomainInput,
    pub default_aliases: bool,
}

impl Command for CreateDomain {
    /// Generating the key takes a while (RSA 4096: seconds): on the slow
    /// lane, as `AddDkim`, so no other save waits behind it.
    fn lane_with(&self, dkim: &ops::dkim::Settings) -> Lane {
        if dkim.on_domain_add {
            Lane::SlowIo
        } else {
            Lane::Write
        }
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        // Without `on_domain_add` a session with no key file creates
        // domains as before.
        let on_create = if host.dkim.on_domain_add {
            host.dkim.on_create(super::dkim::key_file(host)?)
        } else {
            None
        };
        let (d, key) = ops::domains::create_with(
            c,
            ctx,
            &self.name,
            &self.input,
            on_create.as_ref(),
            self.default_aliases,
        )?;
        let mut text = format!("created domain {}", d.name);
        if let Some(k) = &key {
            text.push_str(&format!(
                " with pending DKIM key {}:{} (id {}): publish its record, then activate it",
                k.row.domain, k.row.selector, k.row.id
            ));
        }
        let roles = &ctx.policy.lifecycle.default_aliases;
        if self.default_aliases && !roles.is_empty() {
            let joint = if key.is_some() { ";" } else { " with" };
            text.push_str(&format!("{joint} role aliases {}", roles.join(", ")));
        }
        // The domain's fields, with its key (if any) beside them.
        #[derive(serde::Serialize)]
        struct Created<'a> {
            #[serde(flatten)]
            domain: &'a crate::db::models::Domain,
            #[serde(skip_serializing_if = "Option::is_none")]
            dkim: Option<&'a ops::dkim::KeyView>,
        }
        let data = Created {
            domain: &d,
            dkim: key.as_ref(),
        };
        Outcome::new(text, &data)
    }
}

#[derive(Debug)]
pub struct EditDomain {
    pub name: String,
    /// None: whatever the row holds now (the CLI without `--version`).
    pub version: Option<i32>,
    pub input: DomainInput,
}

impl Command for EditDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let d = ops::domains::edit(c, ctx, &self.name, self.version, &self.input)?;
        Outcome::new(
            format!("saved domain {} (version {})", d.name, d.version),
            &d,
        )
    }
}

#[derive(Debug)]
pub struct DeleteDomain {
    pub name: String,
    pub cascade: bool,
}

impl Command for DeleteDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let s = ops::domains::delete(c, ctx, &self.name, self.cascade)?;
        Outcome::new(
            format!(
                "deleted domain {} with {}, {}, {}, {}",
                s.domain,
                crate::plural::count(s.mailboxes, "mailbox", "mailboxes"),
                crate::plural::count(s.aliases, "alias", "aliases"),
                crate::plural::s(s.alias_domains, "alias domain"),
                crate::plural::s(s.permissions, "permission")
            ),
            &s,
        )
    }
}

#[derive(Debug)]
pub struct CreateAliasDomain {
    pub name: String,
    pub target: String,
}

impl Command for CreateAliasDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::alias_domains::create(c, ctx, &self.name, &self.target)?;
        Outcome::new(
            format!("created alias domain {} -> {}", v.row.name, v.target),
            &v,
        )
    }
}

#[derive(Debug)]
pub struct RetargetAliasDomain {
    pub name: String,
    /// None: whatever the row holds now (the CLI without `--version`).
    pub version: Option<i32>,
    pub target: String,
}

impl Command for RetargetAliasDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::alias_domains::retarget(c, ctx, &self.name, self.version, &self.target)?;
        Outcome::new(
            format!("alias domain {} now points at {}", v.row.name, v.target),
            &v,
        )
    }
}

#[derive(Debug)]
pub struct DeleteAliasDomain {
    pub name: String,
}

impl Command for DeleteAliasDomain {
    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let v = ops::alias_domains::delete(c, ctx, &self.name)?;
        Outcome::new(format!("deleted alias domain {}", v.row.name), &v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A domain create generates a DKIM key only with `on_domain_add`, and
    /// then it leaves the writer (key generation would hold up every save).
    #[test]
    fn create_moves_to_the_slow_lane_with_on_domain_add() {
        let c = CreateDomain {
            name: "a.test".into(),
            input: DomainInput::default(),
            default_aliases: false,
        };
        let mut s = ops::dkim::Settings::default();
        assert_eq!(c.lane_with(&s), Lane::Write);
        assert_eq!(c.lane(), Lane::Write);
        s.on_domain_add = true;
        assert_eq!(c.lane_with(&s), Lane::SlowIo);
    }
}
