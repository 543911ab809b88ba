//! What each table screen is: its columns and which keys a role gets
//! there (its title and `:` command are `model::Entity`'s). The keys shown follow the role; ops still has
//! the last word on every write.

use ratatui::layout::Constraint;

use crate::model::{Entity, Role};

/// Width of the per-row usage bar, `[####]  45%`.
pub const USAGE_WIDTH: u16 = 11;

pub fn columns(r: Entity) -> (&'static [&'static str], Vec<Constraint>) {
    use Constraint::{Fill, Length};
    match r {
        Entity::Domains => (
            &[
                "Domain",
                "Status",
                "Used",
                "Quota",
                "Mbx max",
                "Usage",
                "Description",
            ],
            vec![
                Fill(3),
                Length(9),
                Length(6),
                Length(9),
                Length(9),
                Length(USAGE_WIDTH),
                Fill(2),
            ],
        ),
        Entity::Mailboxes => (
            &["Address", "Name", "Status", "Used", "Quota", "Usage"],
            vec![
                Fill(3),
                Fill(2),
                Length(9),
                Length(7),
                Length(9),
                Length(USAGE_WIDTH),
            ],
        ),
        Entity::Aliases => (
            &["Address", "Goes to", "Status"],
            vec![Fill(2), Fill(3), Length(9)],
        ),
        Entity::AliasDomains => (
            &["Alias domain", "Target", "Status"],
            vec![Fill(1), Fill(1), Length(9)],
        ),
        Entity::Users => (
            &["Username", "Email", "Role", "Status", "Last login"],
            vec![Fill(2), Fill(3), Length(8), Length(9), Length(16)],
        ),
        Entity::Permissions => (
            &["User", "Domain", "Permissions"],
            vec![Fill(1), Fill(2), Fill(2)],
        ),
        Entity::Audit => (
            &["Id", "Time", "Actor", "Action", "Resource", "Result"],
            // The resource is a type and a name (`mailbox bob@example.com`):
            // it gets most of the room, so an address stays whole at 80.
            vec![Length(6), Length(16), Fill(1), Fill(1), Fill(4), Length(7)],
        ),
        Entity::MailServers => (
            &["Id", "Service", "Config file", "Active", "Updated"],
            vec![Length(4), Length(10), Fill(1), Length(6), Length(16)],
        ),
        Entity::Ldap => (
            &["Id", "Name", "Host:port", "SSL", "Base DN", "Active"],
            vec![Length(4), Fill(1), Fill(1), Length(4), Fill(1), Length(6)],
        ),
    }
}

/// `columns(r).1` fitted to a table `width` cells wide whose first column
/// (an address, a domain, a user name) needs `need` cells on this page:
/// that column gets what it needs, so addresses stay whole, and the other
/// text columns (Name, Description, Goes to…) share what is left, giving
/// way first (down to nothing, marked `…`, before an address is cut).
/// Screens whose first column is not a name keep their layout.
pub fn fit_columns(r: Entity, width: u16, need: usize) -> Vec<Constraint> {
    let mut cols = columns(r).1;
    let keyed = matches!(
        r,
        Entity::Domains
            | Entity::Mailboxes
            | Entity::Aliases
            | Entity::AliasDomains
            | Entity::Users
    );
    if !keyed || cols.is_empty() {
        return cols;
    }
    let spacing = cols.len().saturating_sub(1) as u16;
    let fixed: u16 = cols[1..]
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let room = width.saturating_sub(spacing + fixed);
    let need = u16::try_from(need).unwrap_or(u16::MAX);
    cols[0] = Constraint::Length(need.min(room).max(1));
    cols
}

/// The columns of `r` that hold numbers (sizes, counts, percents): drawn
/// right-aligned so their magnitudes line up.
pub fn right_columns(r: Entity) -> &'static [usize] {
    match r {
        Entity::Domains => &[2, 3, 4],
        Entity::Mailboxes => &[3, 4],
        Entity::Audit => &[0],
        _ => &[],
    }
}

/// What a role may try on a screen. A `user` may act on its granted
/// domains' rows (ops checks which); it never manages domains, users or
/// permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
    pub status: bool,
}

pub fn caps(r: Entity, role: Role) -> Caps {
    let none = Caps {
        create: false,
        edit: false,
        delete: false,
        status: false,
    };
    let all = Caps {
        create: true,
        edit: true,
        delete: true,
        status: true,
    };
    match (role, r) {
        (Role::Readonly, _) => none,
        (Role::Admin, Entity::Ldap) => all,
        // Importing is "new"; view, diff, edit, apply and roll back have their own keys.
        (Role::Admin, Entity::MailServers) => Caps {
            create: true,
            ..none
        },
        (_, Entity::Audit | Entity::MailServers | Entity::Ldap) => none,
        (Role::Admin, Entity::Permissions) => Caps {
            status: false,
            ..all
        },
        (Role::Admin, _) => all,
        (Role::User, Entity::Mailboxes | Entity::Aliases) => all,
        // Adding an alias domain claims a mail domain name: admins only.
        (Role::User, Entity::AliasDomains) => Caps {
            create: false,
            ..all
        },
        // A user with the `domain` permission may edit a domain's description.
        (Role::User, Entity::Domains) => Caps { edit: true, ..none },
        (Role::User, _) => none,
    }
}

/// Whether `/` filters this list (the permission and audit queries take no
/// text filter).
pub fn filterable(r: Entity) -> bool {
    !matches!(r, Entity::Permissions)
}

/// Look up a `:` command: an exact name, or an unambiguous prefix.
pub fn by_command(word: &str) -> Option<Entity> {
    let w = word.trim().to_ascii_lowercase();
    if let Some(r) = Entity::ALL.iter().find(|r| r.command() == w) {
        return Some(*r);
    }
    let aliases: [(&str, Entity); 5] = [
        ("admins", Entity::Users),
        ("alias-domain", Entity::AliasDomains),
        ("aliasdomains", Entity::AliasDomains),
        ("mailservers", Entity::MailServers),
        ("perms", Entity::Permissions),
    ];
    if let Some((_, r)) = aliases.iter().find(|(a, _)| *a == w) {
        return Some(*r);
    }
    let hits: Vec<Entity> = Entity::ALL
        .iter()
        .copied()
        .filter(|r| !w.is_empty() && r.command().starts_with(&w))
        .collect();
    match hits.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Every word the `:` line takes, for Tab completion and for naming the
/// candidates of an ambiguous prefix.
pub fn command_words() -> Vec<&'static str> {
    let mut words = vec!["dashboard"];
    words.extend(Entity::ALL.iter().map(|r| r.command()));
    words.extend([
        "preferences",
        "password",
        "backup",
        "maintain",
        "vacuum",
        "import",
        "export",
        "quit",
    ]);
    words
}

/// The `:` words starting with `prefix` (case-insensitive).
pub fn completions(prefix: &str) -> Vec<&'static str> {
    let p = prefix.trim().to_ascii_lowercase();
    command_words()
        .into_iter()
        .filter(|w| w.starts_with(&p))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_name_every_candidate() {
        assert_eq!(completions("mail"), vec!["mailboxes", "mail-servers"]);
        assert_eq!(completions("mai").len(), 3, "and maintain");
        assert_eq!(completions("alias-"), vec!["alias-domains"]);
        assert!(completions("zzz").is_empty());
    }

    #[test]
    fn commands_resolve_by_name_alias_and_unique_prefix() {
        assert_eq!(by_command("mailboxes"), Some(Entity::Mailboxes));
        assert_eq!(by_command("mail"), None, "mailboxes or mail-servers");
        assert_eq!(by_command("mailb"), Some(Entity::Mailboxes));
        assert_eq!(by_command("alias"), None, "aliases or alias-domains");
        assert_eq!(by_command("admins"), Some(Entity::Users));
        assert_eq!(by_command("nonsense"), None);
    }

    #[test]
    fn readonly_gets_no_write_keys_anywhere() {
        for r in Entity::ALL {
            let c = caps(r, Role::Readonly);
            assert!(!c.create && !c.edit && !c.delete && !c.status, "{r:?}");
        }
    }
}
