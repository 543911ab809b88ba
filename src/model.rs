//! The names the rest of the program shares: which table (`Entity`), the
//! roles and permissions a user holds, and the two states a row can be in.
//! A leaf: it imports nothing from ops, store, tui or cli, so every layer
//! can name a table without depending on another layer's enum.

use serde::Serialize;

use crate::error::{OpError, OpResult};

/// Every table the program manages, named once. A new table is a new
/// variant here: the exhaustive matches elsewhere then say what it lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Domains,
    Mailboxes,
    Aliases,
    AliasDomains,
    Users,
    Permissions,
    Audit,
    MailServers,
    Ldap,
}

impl Entity {
    pub const ALL: [Entity; 9] = [
        Entity::Domains,
        Entity::Mailboxes,
        Entity::Aliases,
        Entity::AliasDomains,
        Entity::Users,
        Entity::Permissions,
        Entity::Audit,
        Entity::MailServers,
        Entity::Ldap,
    ];

    /// One row, in running text ("mailbox bob@example.com").
    pub fn noun(self) -> &'static str {
        match self {
            Entity::Domains => "domain",
            Entity::Mailboxes => "mailbox",
            Entity::Aliases => "alias",
            Entity::AliasDomains => "alias domain",
            Entity::Users => "user",
            Entity::Permissions => "permission",
            Entity::Audit => "audit entry",
            Entity::MailServers => "mail server config",
            Entity::Ldap => "LDAP server",
        }
    }

    /// Many rows, in running text ("exporting mailboxes").
    pub fn plural(self) -> &'static str {
        match self {
            Entity::Domains => "domains",
            Entity::Mailboxes => "mailboxes",
            Entity::Aliases => "aliases",
            Entity::AliasDomains => "alias domains",
            Entity::Users => "users",
            Entity::Permissions => "permissions",
            Entity::Audit => "audit entries",
            Entity::MailServers => "mail server configs",
            Entity::Ldap => "LDAP servers",
        }
    }

    /// The table screen's title.
    pub fn title(self) -> &'static str {
        match self {
            Entity::Domains => "Domains",
            Entity::Mailboxes => "Mailboxes",
            Entity::Aliases => "Aliases",
            Entity::AliasDomains => "Alias domains",
            Entity::Users => "Admin users",
            Entity::Permissions => "Permissions",
            Entity::Audit => "Audit log",
            Entity::MailServers => "Mail server configs",
            Entity::Ldap => "LDAP servers",
        }
    }

    /// The name `:` jumps by.
    pub fn command(self) -> &'static str {
        match self {
            Entity::Domains => "domains",
            Entity::Mailboxes => "mailboxes",
            Entity::Aliases => "aliases",
            Entity::AliasDomains => "alias-domains",
            Entity::Users => "users",
            Entity::Permissions => "permissions",
            Entity::Audit => "audit",
            Entity::MailServers => "mail-servers",
            Entity::Ldap => "ldap",
        }
    }

    /// Whether rows import from and export to CSV, and edit in `$EDITOR`
    /// as a sheet.
    pub fn csv(self) -> bool {
        match self {
            Entity::Domains | Entity::Mailboxes | Entity::Aliases => true,
            Entity::AliasDomains
            | Entity::Users
            | Entity::Permissions
            | Entity::Audit
            | Entity::MailServers
            | Entity::Ldap => false,
        }
    }

    /// Whether marked rows take bulk actions (suspend, delete, ...).
    pub fn bulk(self) -> bool {
        self.csv()
    }

    /// The refusal for a CSV or sheet operation on a table without one.
    pub fn no_csv(self) -> OpError {
        OpError::invalid(
            "table",
            format!(
                "{} have no CSV form; use domains, mailboxes or aliases",
                self.plural()
            ),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    User,
    Readonly,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
            Role::Readonly => "readonly",
        }
    }

    pub fn parse(field: &str, s: &str) -> OpResult<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "user" => Ok(Role::User),
            "readonly" => Ok(Role::Readonly),
            other => Err(OpError::invalid(
                field,
                format!("must be admin, user or readonly (got {other:?})"),
            )),
        }
    }
}

/// What a `user` may do on a granted domain. Reading the domain's objects
/// comes with any grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    /// create, edit, suspend, delete mailboxes and set their passwords
    Mailboxes,
    /// create, edit, suspend, delete aliases
    Aliases,
    /// edit the domain's description; retarget, suspend and delete its
    /// alias domains (creating one, like creating a domain, is admin-only)
    Domain,
}

pub const ALL_PERMS: [Perm; 3] = [Perm::Mailboxes, Perm::Aliases, Perm::Domain];

impl Perm {
    pub fn as_str(self) -> &'static str {
        match self {
            Perm::Mailboxes => "mailboxes",
            Perm::Aliases => "aliases",
            Perm::Domain => "domain",
        }
    }

    pub fn parse(field: &str, s: &str) -> OpResult<Perm> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mailboxes" => Ok(Perm::Mailboxes),
            "aliases" => Ok(Perm::Aliases),
            "domain" => Ok(Perm::Domain),
            other => Err(OpError::invalid(
                field,
                format!("unknown permission {other:?}: use mailboxes, aliases or domain"),
            )),
        }
    }

    /// A comma-separated list ("mailboxes,aliases"); "all" for every one.
    pub fn parse_list(field: &str, s: &str) -> OpResult<Vec<Perm>> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(ALL_PERMS.to_vec());
        }
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let p = Perm::parse(field, part)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if out.is_empty() {
            return Err(OpError::invalid(
                field,
                "needs at least one of mailboxes, aliases, domain",
            ));
        }
        out.sort();
        Ok(out)
    }

    /// Decode the JSON stored in user_domains.permissions; unknown names
    /// (from a newer version) grant nothing.
    pub fn decode(json: Option<&str>) -> Vec<Perm> {
        let names: Vec<String> = json
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default();
        let mut out: Vec<Perm> = names
            .iter()
            .filter_map(|n| Perm::parse("permissions", n).ok())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn encode(perms: &[Perm]) -> String {
        serde_json::Value::from(perms.iter().map(|p| p.as_str()).collect::<Vec<_>>()).to_string()
    }
}

/// "active" or "suspended": the two states a user can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Suspended,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
        }
    }
    pub fn parse(field: &str, s: &str) -> OpResult<Status> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Ok(Status::Active),
            "suspended" => Ok(Status::Suspended),
            other => Err(OpError::invalid(
                field,
                format!("must be active or suspended (got {other:?})"),
            )),
        }
    }
    pub fn action(self) -> &'static str {
        match self {
            Status::Active => "activate",
            Status::Suspended => "suspend",
        }
    }
}
