//! Roles and per-domain permissions, decided here and nowhere else.
//! `admin` does everything; `user` acts only on domains granted to it in
//! user_domains, within the granted permissions; `readonly` only reads.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::models::{Domain, User};
use crate::db::schema::{user_domains, users};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{Perm, Role};

/// The acting user as the database says now, with its grants.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: i32,
    pub username: String,
    pub role: Role,
    /// An admin required a new password: until it is set, nothing else is allowed.
    pub must_change_password: bool,
    grants: HashMap<i32, Vec<Perm>>,
}

impl Principal {
    /// Loaded inside each operation's transaction: a suspension or a revoked
    /// grant takes effect on the very next operation of a session already open.
    pub fn load(conn: &mut AnyConnection, user_id: i32) -> OpResult<Principal> {
        let p = Principal::load_pending(conn, user_id)?;
        if p.must_change_password {
            return Err(OpError::Denied(format!(
                "{} must set a new password first (postfix-manager user password {})",
                p.username, p.username
            )));
        }
        Ok(p)
    }

    /// Like `load`, but also for an account whose password change is pending
    /// (the one operation it may do is setting its own password).
    pub fn load_pending(conn: &mut AnyConnection, user_id: i32) -> OpResult<Principal> {
        let user: Option<User> = users::table
            .find(user_id)
            .select(User::as_select())
            .first(conn)
            .optional()?;
        let Some(user) = user else {
            return Err(OpError::Denied("your account no longer exists".into()));
        };
        if user.status != "active" || !user.is_active {
            return Err(OpError::Denied(format!(
                "account {} is {}",
                user.username, user.status
            )));
        }
        let role = Role::parse("role", &user.role)?;
        let mut grants = HashMap::new();
        if role == Role::User {
            let rows: Vec<(i32, Option<String>)> = user_domains::table
                .filter(user_domains::user_id.eq(user_id))
                .select((user_domains::domain_id, user_domains::permissions))
                .load(conn)?;
            for (domain_id, perms) in rows {
                grants.insert(domain_id, Perm::decode(perms.as_deref()));
            }
        }
        Ok(Principal {
            id: user.id,
            username: user.username,
            role,
            must_change_password: user.must_change_password,
            grants,
        })
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn require_admin(&self, what: &str) -> OpResult<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(OpError::Denied(format!(
                "{what} needs role admin; {} has role {}",
                self.username,
                self.role.as_str()
            )))
        }
    }

    /// Claiming a name Postfix will accept mail for (a domain or an alias
    /// domain): admin-only. A tenant could otherwise name any domain
    /// (gmail.example, another tenant's mail.b.test, localhost.localdomain)
    /// and receive its mail through the catch-all maps.
    pub fn require_claim_mail_domain(&self, what: &str) -> OpResult<()> {
        if self.is_admin() {
            return Ok(());
        }
        Err(OpError::Denied(format!(
            "{what} needs role admin: only an admin may add a name Postfix accepts mail for \
             (a domain or an alias domain); {} has role {}",
            self.username,
            self.role.as_str()
        )))
    }

    /// May this principal act on `domain` with `perm`?
    pub fn require_domain(&self, domain: &Domain, perm: Perm) -> OpResult<()> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Readonly => Err(OpError::Denied(format!(
                "{} has role readonly and may only read",
                self.username
            ))),
            Role::User => match self.grants.get(&domain.id) {
                Some(perms) if perms.contains(&perm) => Ok(()),
                Some(_) => Err(OpError::Denied(format!(
                    "{} has no '{}' permission on domain {}",
                    self.username,
                    perm.as_str(),
                    domain.name
                ))),
                None => Err(OpError::Denied(format!(
                    "{} has no access to domain {}",
                    self.username, domain.name
                ))),
            },
        }
    }

    pub fn can_read_domain(&self, domain_id: i32) -> bool {
        match self.role {
            Role::Admin | Role::Readonly => true,
            Role::User => self.grants.contains_key(&domain_id),
        }
    }

    /// Domain ids this principal may see; None means every domain.
    pub fn domain_scope(&self) -> Option<Vec<i32>> {
        match self.role {
            Role::Admin | Role::Readonly => None,
            Role::User => {
                let mut ids: Vec<i32> = self.grants.keys().copied().collect();
                ids.sort_unstable();
                Some(ids)
            }
        }
    }
}
