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
use crate::ops::Ctx;

/// The acting user as the database says now, with its grants.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: i32,
    pub username: String,
    pub role: Role,
    /// An admin required a new password: until it is set, nothing else is allowed.
    pub must_change_password: bool,
    /// `[security] require_totp` covers this user's role and it has no
    /// confirmed second factor: until it enrols, nothing else is allowed.
    pub must_enrol_totp: bool,
    grants: HashMap<i32, Vec<Perm>>,
}

/// The token a script logged in with (see `ops::tokens`).
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub id: i32,
    pub name: String,
    /// The owner's username (the session's `username` is the audit name).
    pub owner: String,
}

impl Principal {
    /// Loaded inside each operation's transaction: a suspension, a revoked
    /// grant or a revoked token takes effect on the very next operation of
    /// a session already open.
    pub fn load(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Principal> {
        let p = Principal::load_enrolling(conn, ctx)?;
        if p.must_enrol_totp {
            return Err(OpError::Denied(format!(
                "{} must enrol a second factor first: postfix-manager user totp enroll \
                 ([security] require_totp covers role {})",
                p.username,
                p.role.as_str()
            )));
        }
        Ok(p)
    }

    /// Like `load`, for the second-factor operations themselves: a user
    /// that `[security] require_totp` holds back may still enrol.
    pub fn load_enrolling(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Principal> {
        let p = Principal::load_pending(conn, ctx)?;
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
    pub fn load_pending(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Principal> {
        let mut p = Principal::of_user(conn, ctx.user_id)?;
        // A token never went through a login prompt: the second factor was
        // its owner's business when the token was created.
        p.must_enrol_totp = ctx.token.is_none()
            && ctx.policy.require_totp.contains(&p.role)
            && ctx.policy.tables.user_totp
            && !crate::store::totp::enabled(conn, p.id)?;
        match &ctx.token {
            None => Ok(p),
            Some(t) => p.through_token(conn, t),
        }
    }

    /// The user as the database says now, with no token applied.
    fn of_user(conn: &mut AnyConnection, user_id: i32) -> OpResult<Principal> {
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
            must_enrol_totp: false,
            grants,
        })
    }

    /// What the owner may do now, capped by the token's role and domains;
    /// a token revoked or expired since login stops here.
    fn through_token(mut self, conn: &mut AnyConnection, t: &TokenGrant) -> OpResult<Principal> {
        let row = crate::store::api_tokens::by_id(conn, t.id)?
            .filter(|r| r.revoked_at.is_none())
            .ok_or_else(|| OpError::Denied(format!("token {} has been revoked", t.name)))?;
        if row.expires_at.is_some_and(|e| e <= super::now()) {
            return Err(OpError::Denied(format!("token {} has expired", t.name)));
        }
        let token_role = Role::parse("role", &row.role)?;
        let role = super::tokens::cap(self.role, token_role);
        let scope = row.scope();
        // A token's domain list (or a role below user) turns an admin or
        // a readonly owner into a user with explicit grants, so every
        // check below goes through the one per-domain path.
        let perms_for = |owner: Option<&Vec<Perm>>| -> Vec<Perm> {
            match role {
                Role::Readonly => Vec::new(),
                Role::Admin | Role::User => match self.role {
                    Role::Admin => crate::model::ALL_PERMS.to_vec(),
                    Role::User => owner.cloned().unwrap_or_default(),
                    Role::Readonly => Vec::new(),
                },
            }
        };
        match (scope, self.role) {
            (None, Role::User) => {
                for perms in self.grants.values_mut() {
                    *perms = perms_for(Some(perms));
                }
                self.role = Role::User;
            }
            (None, _) => self.role = role,
            (Some(ids), owner_role) => {
                let grants: HashMap<i32, Vec<Perm>> = ids
                    .into_iter()
                    .filter(|id| owner_role != Role::User || self.grants.contains_key(id))
                    .map(|id| (id, perms_for(self.grants.get(&id))))
                    .collect();
                self.grants = grants;
                self.role = Role::User;
            }
        }
        Ok(self)
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
