//! The names the rest of the program shares: which table (`Entity`), what
//! an audit row is about and what was done (`AuditType`, `AuditAction`), the
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
    DkimKey,
    /// Mailboxes on hold after a delete (issue 20).
    DeletedMailboxes,
    /// Send-as grants (issue 20).
    SenderGrants,
    /// The policy service's busiest senders, live (issue 21).
    Senders,
}

impl Entity {
    pub const ALL: [Entity; 13] = [
        Entity::Domains,
        Entity::Mailboxes,
        Entity::Aliases,
        Entity::AliasDomains,
        Entity::Users,
        Entity::Permissions,
        Entity::Audit,
        Entity::MailServers,
        Entity::Ldap,
        Entity::DkimKey,
        Entity::DeletedMailboxes,
        Entity::SenderGrants,
        Entity::Senders,
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
            Entity::DkimKey => "DKIM key",
            Entity::DeletedMailboxes => "deleted mailbox",
            Entity::SenderGrants => "send-as grant",
            Entity::Senders => "sender",
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
            Entity::DkimKey => "DKIM keys",
            Entity::DeletedMailboxes => "deleted mailboxes",
            Entity::SenderGrants => "send-as grants",
            Entity::Senders => "senders",
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
            Entity::DkimKey => "DKIM keys",
            Entity::DeletedMailboxes => "Deleted mailboxes",
            Entity::SenderGrants => "Send-as grants",
            Entity::Senders => "Senders",
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
            Entity::DkimKey => "dkim",
            Entity::DeletedMailboxes => "deleted",
            Entity::SenderGrants => "sendas",
            Entity::Senders => "senders",
        }
    }

    /// What the audit log calls one of its rows.
    pub fn audit_type(self) -> AuditType {
        match self {
            Entity::Domains => AuditType::Domain,
            Entity::Mailboxes => AuditType::Mailbox,
            Entity::Aliases => AuditType::Alias,
            Entity::AliasDomains => AuditType::AliasDomain,
            Entity::Users => AuditType::User,
            Entity::Permissions => AuditType::Permission,
            Entity::Audit => AuditType::AuditLog,
            Entity::MailServers => AuditType::MailConfig,
            Entity::Ldap => AuditType::LdapServer,
            Entity::DkimKey => AuditType::DkimKey,
            // Restore and purge are audited as what the row was.
            Entity::DeletedMailboxes => AuditType::Mailbox,
            Entity::SenderGrants => AuditType::SenderGrant,
            // Suspend and resume are audited as the mailbox's sending.
            Entity::Senders => AuditType::Sending,
        }
    }

    /// The table's CSV form, if it has one: rows import from and export
    /// to CSV, edit in `$EDITOR` as a sheet and take bulk actions. The
    /// CSV code matches on `CsvTable`, so a table without one touches none
    /// of it.
    pub fn csv_table(self) -> Option<CsvTable> {
        match self {
            Entity::Domains => Some(CsvTable::Domains),
            Entity::Mailboxes => Some(CsvTable::Mailboxes),
            Entity::Aliases => Some(CsvTable::Aliases),
            Entity::AliasDomains
            | Entity::Users
            | Entity::Permissions
            | Entity::Audit
            | Entity::MailServers
            | Entity::Ldap
            // Keys are generated, never typed in: nothing to import or
            // edit as a sheet, and no bulk state change (each step of a
            // rotation is its own decision).
            | Entity::DkimKey
            // Held rows are restored or purged one by one, never imported.
            | Entity::DeletedMailboxes
            // Granted one by one, each checked against two domains.
            | Entity::SenderGrants
            // Counted by the policy service, never typed in.
            | Entity::Senders => None,
        }
    }

    /// Whether rows import from and export to CSV, and edit in `$EDITOR`
    /// as a sheet.
    pub fn csv(self) -> bool {
        self.csv_table().is_some()
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

/// The tables with a CSV form (see `Entity::csv_table`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsvTable {
    Domains,
    Mailboxes,
    Aliases,
}

impl From<CsvTable> for Entity {
    fn from(t: CsvTable) -> Entity {
        match t {
            CsvTable::Domains => Entity::Domains,
            CsvTable::Mailboxes => Entity::Mailboxes,
            CsvTable::Aliases => Entity::Aliases,
        }
    }
}

/// What an audit row is about: its `resource_type` column. The strings are
/// stored and hashed into the audit chain, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditType {
    Domain,
    Mailbox,
    Alias,
    AliasDomain,
    User,
    Permission,
    /// A login; its id is the user's.
    Session,
    Database,
    /// The key file of the stored secrets.
    Secrets,
    MailConfig,
    /// The generated Postfix/Dovecot files.
    MailFiles,
    AuditLog,
    Preferences,
    LdapServer,
    DkimKey,
    /// A token for scripts (issue 19); its id is the token's.
    ApiToken,
    /// A mailbox's app password; its id is the app password's.
    AppPassword,
    /// The cached deliverability check of a domain; its id is the domain's.
    DnsCheck,
    /// A mailbox's or domain's sending limits (issue 21); no id, the
    /// details name the mailbox or domain.
    SendLimit,
    /// A mailbox's sending suspension (issue 21); its id is the mailbox's.
    Sending,
    /// A user's second factor (TOTP, recovery codes); its id is the user's.
    Totp,
    /// A send-as grant (issue 20); its id is the grant's.
    SenderGrant,
    /// A mailbox's vacation auto-reply (issue 20); its id is the mailbox's.
    Vacation,
}

impl AuditType {
    pub const ALL: [AuditType; 23] = [
        AuditType::Domain,
        AuditType::Mailbox,
        AuditType::Alias,
        AuditType::AliasDomain,
        AuditType::User,
        AuditType::Permission,
        AuditType::Session,
        AuditType::Database,
        AuditType::Secrets,
        AuditType::MailConfig,
        AuditType::MailFiles,
        AuditType::AuditLog,
        AuditType::Preferences,
        AuditType::LdapServer,
        AuditType::DkimKey,
        AuditType::ApiToken,
        AuditType::AppPassword,
        AuditType::DnsCheck,
        AuditType::SendLimit,
        AuditType::Sending,
        AuditType::Totp,
        AuditType::SenderGrant,
        AuditType::Vacation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditType::Domain => "domain",
            AuditType::Mailbox => "mailbox",
            AuditType::Alias => "alias",
            AuditType::AliasDomain => "alias_domain",
            AuditType::User => "user",
            AuditType::Permission => "permission",
            AuditType::Session => "session",
            AuditType::Database => "database",
            AuditType::Secrets => "secrets",
            AuditType::MailConfig => "mail_config",
            AuditType::MailFiles => "mail_files",
            AuditType::AuditLog => "audit_log",
            AuditType::Preferences => "preferences",
            AuditType::LdapServer => "ldap_server",
            AuditType::DkimKey => "dkim_key",
            AuditType::ApiToken => "api_token",
            AuditType::AppPassword => "app_password",
            AuditType::DnsCheck => "dns_check",
            AuditType::SendLimit => "send_limit",
            AuditType::Sending => "sending",
            AuditType::Totp => "totp",
            AuditType::SenderGrant => "sender_grant",
            AuditType::Vacation => "vacation",
        }
    }

    /// A stored `resource_type`; None for one this version never writes
    /// (a newer version's).
    pub fn parse(s: &str) -> Option<AuditType> {
        AuditType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What an audit row says was done: its `action` column. Stored and hashed
/// like `AuditType`, so the strings never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    Activate,
    Suspend,
    SetPassword,
    Grant,
    Revoke,
    Import,
    ExportHashes,
    BulkUpdate,
    BulkSuspend,
    BulkActivate,
    BulkDelete,
    BulkGrant,
    BulkRevoke,
    QuotaSync,
    Seed,
    Archive,
    Prune,
    RotateKey,
    Backup,
    Restore,
    Rollback,
    Migrate,
    Maintain,
    Apply,
    Generate,
    Login,
    Test,
    Rotate,
    Retire,
    ShowPrivate,
    Export,
    /// A check of something outside the database (DNS).
    Check,
    /// A held mailbox's maildir and row removed for good (issue 20).
    Purge,
    /// Issue 19: a second factor enrolled (pending its first code).
    Enroll,
    /// Issue 19: a second factor removed by an admin or local root.
    Reset,
    /// Issue 20: a mailbox's address changed (and its home moved).
    Rename,
}

impl AuditAction {
    pub const ALL: [AuditAction; 39] = [
        AuditAction::Create,
        AuditAction::Update,
        AuditAction::Delete,
        AuditAction::Activate,
        AuditAction::Suspend,
        AuditAction::SetPassword,
        AuditAction::Grant,
        AuditAction::Revoke,
        AuditAction::Import,
        AuditAction::ExportHashes,
        AuditAction::BulkUpdate,
        AuditAction::BulkSuspend,
        AuditAction::BulkActivate,
        AuditAction::BulkDelete,
        AuditAction::BulkGrant,
        AuditAction::BulkRevoke,
        AuditAction::QuotaSync,
        AuditAction::Seed,
        AuditAction::Archive,
        AuditAction::Prune,
        AuditAction::RotateKey,
        AuditAction::Backup,
        AuditAction::Restore,
        AuditAction::Rollback,
        AuditAction::Migrate,
        AuditAction::Maintain,
        AuditAction::Apply,
        AuditAction::Generate,
        AuditAction::Login,
        AuditAction::Test,
        AuditAction::Rotate,
        AuditAction::Retire,
        AuditAction::ShowPrivate,
        AuditAction::Export,
        AuditAction::Check,
        AuditAction::Purge,
        AuditAction::Enroll,
        AuditAction::Reset,
        AuditAction::Rename,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Activate => "activate",
            AuditAction::Suspend => "suspend",
            AuditAction::SetPassword => "set_password",
            AuditAction::Grant => "grant",
            AuditAction::Revoke => "revoke",
            AuditAction::Import => "import",
            AuditAction::ExportHashes => "export_hashes",
            AuditAction::BulkUpdate => "bulk_update",
            AuditAction::BulkSuspend => "bulk_suspend",
            AuditAction::BulkActivate => "bulk_activate",
            AuditAction::BulkDelete => "bulk_delete",
            AuditAction::BulkGrant => "bulk_grant",
            AuditAction::BulkRevoke => "bulk_revoke",
            AuditAction::QuotaSync => "quota_sync",
            AuditAction::Seed => "seed",
            AuditAction::Archive => "archive",
            AuditAction::Prune => "prune",
            AuditAction::RotateKey => "rotate_key",
            AuditAction::Backup => "backup",
            AuditAction::Restore => "restore",
            AuditAction::Rollback => "rollback",
            AuditAction::Migrate => "migrate",
            AuditAction::Maintain => "maintain",
            AuditAction::Apply => "apply",
            AuditAction::Generate => "generate",
            AuditAction::Login => "login",
            AuditAction::Test => "test",
            AuditAction::Rotate => "rotate",
            AuditAction::Retire => "retire",
            AuditAction::ShowPrivate => "show_private",
            AuditAction::Export => "export",
            AuditAction::Check => "check",
            AuditAction::Purge => "purge",
            AuditAction::Enroll => "enroll",
            AuditAction::Reset => "reset",
            AuditAction::Rename => "rename",
        }
    }

    /// A stored `action`; None for one this version never writes.
    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
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
    /// The audit action that sets this status.
    pub fn action(self) -> AuditAction {
        match self {
            Status::Active => AuditAction::Activate,
            Status::Suspended => AuditAction::Suspend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every `action` and `resource_type` written before these enums
    /// existed: the audit chain hashes them, so a renamed or lost string
    /// would break verification of every existing log.
    const LEGACY_ACTIONS: &[&str] = &[
        "create",
        "update",
        "delete",
        "activate",
        "suspend",
        "set_password",
        "grant",
        "revoke",
        "import",
        "export_hashes",
        "bulk_update",
        "bulk_suspend",
        "bulk_activate",
        "bulk_delete",
        "bulk_grant",
        "bulk_revoke",
        "quota_sync",
        "seed",
        "archive",
        "prune",
        "rotate_key",
        "backup",
        "restore",
        "rollback",
        "migrate",
        "maintain",
        "apply",
        "generate",
        "login",
        "test",
        // issue 17 (DKIM keys)
        "rotate",
        "retire",
        "show_private",
        "export",
        // issue 18 (DNS checks)
        "check",
        // issue 20 (mailbox lifecycle)
        "purge",
        // issue 19 (second factor)
        "enroll",
        "reset",
        // issue 20 (mailbox rename)
        "rename",
    ];
    const LEGACY_TYPES: &[&str] = &[
        "domain",
        "mailbox",
        "alias",
        "alias_domain",
        "user",
        "permission",
        "session",
        "database",
        "secrets",
        "mail_config",
        "mail_files",
        "audit_log",
        "preferences",
        "ldap_server",
        // issue 17
        "dkim_key",
        // issue 19
        "api_token",
        "app_password",
        // issue 18
        "dns_check",
        // issue 21
        "send_limit",
        "sending",
        // issue 19 (second factor)
        "totp",
        // issue 20 (send-as)
        "sender_grant",
        // issue 20 (vacation)
        "vacation",
    ];

    #[test]
    fn audit_strings_are_the_legacy_ones_and_round_trip() {
        let actions: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(actions, LEGACY_ACTIONS.iter().copied().collect());
        assert_eq!(
            actions.len(),
            AuditAction::ALL.len(),
            "no two share a string"
        );
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
        }
        let types: BTreeSet<&str> = AuditType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(types, LEGACY_TYPES.iter().copied().collect());
        assert_eq!(types.len(), AuditType::ALL.len(), "no two share a string");
        for t in AuditType::ALL {
            assert_eq!(AuditType::parse(t.as_str()), Some(t));
        }
        assert_eq!(AuditType::parse("hologram"), None, "a newer version's type");
    }

    #[test]
    fn each_entity_audits_under_its_legacy_type() {
        let types: Vec<&str> = Entity::ALL
            .iter()
            .map(|e| e.audit_type().as_str())
            .collect();
        assert_eq!(
            types,
            [
                "domain",
                "mailbox",
                "alias",
                "alias_domain",
                "user",
                "permission",
                "audit_log",
                "mail_config",
                "ldap_server",
                "dkim_key",
                "mailbox",
                "sender_grant",
                "sending",
            ]
        );
    }
}
