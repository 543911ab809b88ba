//! The create and edit form of each table, and how a filled form becomes a
//! worker `Write`. Sizes and counts are parsed here with the same rules
//! (`validate::size`) ops uses, so a typo is marked before any round trip;
//! everything else is left to ops, whose messages come back per field.
//! Edits send only the fields that changed, with the row's version.

use super::form::{Field, Form};
use super::rows::Row;
use crate::ops::{
    aliases::AliasEdit, domains::DomainInput, mailboxes::MailboxEdit, mailboxes::NewMailbox,
    users::NewUser, users::UserEdit, Perm,
};
use crate::validate;
use crate::worker::{Resource, Write};

#[derive(Debug, Clone, PartialEq)]
pub enum FormKind {
    Create(Resource),
    /// Editing `key` as read at `version`.
    Edit {
        resource: Resource,
        key: String,
        version: i32,
    },
    /// The admin's own password; `required` when an admin demanded a change
    /// (then the form cannot be dismissed: nothing else would work).
    OwnPassword {
        required: bool,
    },
    /// The admin's own preferences, as read at `version`.
    Preferences {
        version: i32,
    },
    /// Where to write a backup of the whole database.
    Backup,
}

/// Back the database up into a new file.
pub fn backup(default_file: &str) -> Form {
    Form::new(
        "Back up the database".into(),
        FormKind::Backup,
        vec![Field::new(
            "file",
            "Backup file",
            default_file,
            "a new file; never overwritten",
        )],
    )
}

/// Set your own password (typed twice).
pub fn own_password(required: bool) -> Form {
    let title = if required {
        "A new password is required"
    } else {
        "Change your password"
    };
    Form::new(
        title.into(),
        FormKind::OwnPassword { required },
        vec![
            Field::secret("password", "New password", "at least 12 characters"),
            Field::secret("repeat", "Repeat it", ""),
        ],
    )
}

/// Your preferences: theme, time zone, language.
pub fn preferences(p: &crate::ops::preferences::Preferences) -> Form {
    Form::new(
        "Your preferences".into(),
        FormKind::Preferences { version: p.version },
        vec![
            Field::new("theme", "Theme", &p.theme, "dark, light or no-color"),
            Field::new(
                "timezone",
                "Time zone",
                &p.timezone,
                "e.g. Europe/Berlin, UTC",
            ),
            Field::new("language", "Language", &p.language, "en"),
        ],
    )
}

const SIZE_HINT: &str = "e.g. 500M, 2G, unlimited";
const COUNT_HINT: &str = "0 = unlimited";

/// The create form; `domain` pre-fills the domain part when the list is
/// scoped to one domain.
pub fn create(r: Resource, domain: Option<&str>) -> Option<Form> {
    let at = domain.map(|d| format!("@{d}")).unwrap_or_default();
    let fields = match r {
        Resource::Domains => vec![
            Field::new("name", "Domain", "", "example.com"),
            Field::new("description", "Description", "", ""),
            Field::new("quota_limit", "Total quota", "1G", SIZE_HINT),
            Field::new("max_mailboxes", "Max mailboxes", "0", COUNT_HINT),
            Field::new("max_aliases", "Max aliases", "0", COUNT_HINT),
            Field::new(
                "max_mailbox_quota",
                "Max per mailbox",
                "unlimited",
                SIZE_HINT,
            ),
            Field::new("transport", "Transport", "", "empty = default"),
        ],
        Resource::Mailboxes => vec![
            Field::new("address", "Address", &at, "user@example.com").cursor_at_start(),
            Field::new("name", "Full name", "", ""),
            Field::secret("password", "Password", "at least 12 characters"),
            Field::new("quota", "Quota", "", "empty = default; e.g. 2G"),
        ],
        Resource::Aliases => vec![
            Field::new(
                "address",
                "Address",
                &at,
                "info@example.com or @example.com",
            )
            .cursor_at_start(),
            Field::new("goto", "Goes to", "", "a@example.com, b@elsewhere.org"),
            Field::new("description", "Description", "", ""),
        ],
        Resource::AliasDomains => vec![
            Field::new("name", "Alias domain", "", "example.org"),
            Field::new(
                "target",
                "Target domain",
                domain.unwrap_or(""),
                "example.com",
            ),
        ],
        Resource::Users => vec![
            Field::new("username", "Username", "", ""),
            Field::new("email", "Email", "", ""),
            Field::new("role", "Role", "user", "admin, user or readonly"),
            Field::secret("password", "Password", "at least 12 characters"),
        ],
        Resource::Permissions => vec![
            Field::new("username", "User", "", "a user of role user"),
            Field::new("domain", "Domain", domain.unwrap_or(""), "example.com"),
            Field::new(
                "permissions",
                "Permissions",
                "mailboxes,aliases",
                "mailboxes, aliases, domain",
            ),
        ],
        Resource::Ldap => ldap_fields(None),
        Resource::MailServers => vec![
            Field::new(
                "file",
                "File",
                "/etc/postfix/main.cf",
                "absolute path; Dovecot includes follow",
            ),
            Field::new("service", "Service", "postfix", "postfix or dovecot"),
        ],
        Resource::Audit => return None,
    };
    let noun = crate::worker::noun(r);
    Some(Form::new(
        format!("New {noun}"),
        FormKind::Create(r),
        fields,
    ))
}

/// An LDAP server's fields, pre-filled from a listed row when editing (the
/// name is the key then, and an empty bind password keeps the stored one).
fn ldap_fields(row: Option<&Row>) -> Vec<Field> {
    let v = |n: &str, d: &str| {
        row.map(|r| r.field(n).to_string())
            .unwrap_or_else(|| d.to_string())
    };
    let mut f = Vec::new();
    if row.is_none() {
        f.push(Field::new("name", "Name", "", "e.g. corp-dc1"));
    }
    f.extend([
        Field::new("host", "Host", &v("host", ""), "ldap.example.com"),
        Field::new("port", "Port", &v("port", "389"), "389 or 636"),
        Field::new(
            "tls_mode",
            "TLS",
            &v("tls_mode", "starttls"),
            "none, starttls or ldaps",
        ),
        Field::new(
            "ca_file",
            "CA file",
            &v("ca_file", ""),
            "PEM; empty = system roots",
        ),
        Field::new("bind_dn", "Bind DN", &v("bind_dn", ""), "empty = anonymous"),
        Field::secret(
            "bind_password",
            "Bind password",
            if row.is_some() {
                "empty = keep the stored one"
            } else {
                ""
            },
        ),
        Field::new("base_dn", "Base DN", &v("base_dn", ""), "dc=example,dc=com"),
        Field::new(
            "user_search_base",
            "User base",
            &v("user_search_base", ""),
            "ou=people,...",
        ),
        Field::new(
            "user_attribute",
            "User attribute",
            &v("user_attribute", "uid"),
            "uid, sAMAccountName",
        ),
        Field::new(
            "user_filter",
            "User filter",
            &v("user_filter", ""),
            "(objectClass=person)",
        ),
        Field::new(
            "priority",
            "Priority",
            &v("priority", "0"),
            "lower is tried first",
        ),
    ]);
    f
}

/// The edit form, pre-filled from the row as listed.
pub fn edit(r: Resource, row: &Row) -> Option<Form> {
    let v = |n: &str| row.field(n).to_string();
    let fields = match r {
        Resource::Domains => vec![
            Field::new("description", "Description", &v("description"), ""),
            Field::new("quota_limit", "Total quota", &v("quota_limit"), SIZE_HINT),
            Field::new(
                "max_mailboxes",
                "Max mailboxes",
                &v("max_mailboxes"),
                COUNT_HINT,
            ),
            Field::new("max_aliases", "Max aliases", &v("max_aliases"), COUNT_HINT),
            Field::new(
                "max_mailbox_quota",
                "Max per mailbox",
                &v("max_mailbox_quota"),
                SIZE_HINT,
            ),
            Field::new("transport", "Transport", &v("transport"), "empty = default"),
        ],
        Resource::Mailboxes => vec![
            Field::new("name", "Full name", &v("name"), ""),
            Field::new("quota", "Quota", &v("quota"), SIZE_HINT),
            Field::secret("password", "New password", "empty = keep"),
        ],
        Resource::Aliases => vec![
            Field::new("goto", "Goes to", &v("goto"), ""),
            Field::new("description", "Description", &v("description"), ""),
        ],
        Resource::AliasDomains => vec![Field::new("target", "Target domain", &v("target"), "")],
        Resource::Users => vec![
            Field::new("email", "Email", &v("email"), ""),
            Field::new("role", "Role", &v("role"), "admin, user or readonly"),
            Field::secret("password", "New password", "empty = keep"),
        ],
        Resource::Permissions => vec![Field::new(
            "permissions",
            "Permissions",
            &v("permissions"),
            "mailboxes, aliases, domain",
        )],
        Resource::Ldap => ldap_fields(Some(row)),
        Resource::Audit | Resource::MailServers => return None,
    };
    let noun = crate::worker::noun(r);
    Some(Form::new(
        format!("Edit {noun} {}", row.key),
        FormKind::Edit {
            resource: r,
            key: row.key.clone(),
            version: row.version.unwrap_or(0),
        },
        fields,
    ))
}

/// Field-level problems found before sending.
pub type FieldErrors = Vec<(String, String)>;

struct Reader<'a> {
    form: &'a Form,
    errors: FieldErrors,
}

impl<'a> Reader<'a> {
    fn text(&self, name: &str) -> String {
        self.form.value(name).trim().to_string()
    }
    /// Some(value) only when it changed (edits) or always (creates).
    fn changed(&self, name: &str) -> Option<String> {
        let f = self.form.field(name)?;
        (f.changed() || matches!(self.form.kind, FormKind::Create(_))).then(|| self.text(name))
    }
    fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|s| !s.is_empty())
    }
    fn size(&mut self, name: &str) -> Option<i64> {
        let raw = self.changed(name)?;
        match validate::size(name, &raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push((name.to_string(), message_of(&e)));
                None
            }
        }
    }
    fn count(&mut self, name: &str) -> Option<i64> {
        let raw = self.changed(name)?;
        match raw.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.errors.push((
                    name.to_string(),
                    format!("{raw:?} is not a whole number (0 = unlimited)"),
                ));
                None
            }
        }
    }
    fn secret(&self, name: &str) -> Option<String> {
        // Passwords are taken as typed: spaces may be part of them.
        Some(self.form.value(name).to_string()).filter(|s| !s.is_empty())
    }
    fn perms(&mut self, name: &str) -> Vec<Perm> {
        match Perm::parse_list(name, &self.text(name)) {
            Ok(p) => p,
            Err(e) => {
                self.errors.push((name.to_string(), message_of(&e)));
                Vec::new()
            }
        }
    }
}

/// An LDAP server's input: changed fields only on an edit (an emptied text
/// field clears it), the bind password only when one was typed.
fn ldap_input(r: &mut Reader<'_>) -> crate::ops::ldap::ServerInput {
    use crate::ops::ldap::BindPassword;
    crate::ops::ldap::ServerInput {
        host: r.changed("host"),
        port: r.count("port"),
        tls_mode: r.changed("tls_mode"),
        ca_file: r.changed("ca_file"),
        bind_dn: r.changed("bind_dn"),
        bind_password: match r.secret("bind_password") {
            Some(pw) => BindPassword::Set(crate::secrets::SecretString::new(&pw)),
            None => BindPassword::Keep,
        },
        base_dn: r.changed("base_dn"),
        user_search_base: r.changed("user_search_base"),
        group_search_base: None,
        user_attribute: r.changed("user_attribute"),
        user_filter: r.changed("user_filter"),
        priority: r.count("priority"),
        is_active: None,
    }
}

fn message_of(e: &crate::error::OpError) -> String {
    match e {
        crate::error::OpError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// The write this form asks for, or the fields to fix first.
pub fn build(form: &Form) -> Result<Write, FieldErrors> {
    let mut r = Reader {
        form,
        errors: Vec::new(),
    };
    let write = match &form.kind {
        FormKind::Create(Resource::Domains) => Write::CreateDomain {
            name: r.text("name"),
            input: DomainInput {
                description: r.optional("description"),
                quota_limit: r.size("quota_limit"),
                max_mailboxes: r.count("max_mailboxes"),
                max_aliases: r.count("max_aliases"),
                max_mailbox_quota: r.size("max_mailbox_quota"),
                transport: r.optional("transport"),
            },
        },
        FormKind::Edit {
            resource: Resource::Domains,
            key,
            version,
        } => Write::EditDomain {
            name: key.clone(),
            version: *version,
            input: DomainInput {
                description: r.changed("description"),
                quota_limit: r.size("quota_limit"),
                max_mailboxes: r.count("max_mailboxes"),
                max_aliases: r.count("max_aliases"),
                max_mailbox_quota: r.size("max_mailbox_quota"),
                transport: r.changed("transport"),
            },
        },
        FormKind::Create(Resource::Mailboxes) => {
            let quota = if r.text("quota").is_empty() {
                None
            } else {
                r.size("quota")
            };
            Write::CreateMailbox(NewMailbox {
                address: r.text("address"),
                password: r.secret("password").unwrap_or_default(),
                quota,
                name: r.optional("name"),
            })
        }
        FormKind::Edit {
            resource: Resource::Mailboxes,
            key,
            version,
        } => Write::EditMailbox {
            address: key.clone(),
            version: *version,
            edit: MailboxEdit {
                quota: r.size("quota"),
                name: r.changed("name"),
            },
            password: r.secret("password"),
        },
        FormKind::Create(Resource::Aliases) => Write::CreateAlias {
            address: r.text("address"),
            goto: r.text("goto"),
            description: r.optional("description"),
        },
        FormKind::Edit {
            resource: Resource::Aliases,
            key,
            version,
        } => Write::EditAlias {
            address: key.clone(),
            version: *version,
            edit: AliasEdit {
                goto: r.changed("goto"),
                description: r.changed("description"),
            },
        },
        FormKind::Create(Resource::AliasDomains) => Write::CreateAliasDomain {
            name: r.text("name"),
            target: r.text("target"),
        },
        FormKind::Edit {
            resource: Resource::AliasDomains,
            key,
            version,
        } => Write::RetargetAliasDomain {
            name: key.clone(),
            version: *version,
            target: r.text("target"),
        },
        FormKind::Create(Resource::Users) => Write::CreateUser(NewUser {
            username: r.text("username"),
            email: r.text("email"),
            role: r.text("role"),
            password: r.secret("password").unwrap_or_default(),
        }),
        FormKind::Edit {
            resource: Resource::Users,
            key,
            version,
        } => Write::EditUser {
            username: key.clone(),
            version: *version,
            edit: UserEdit {
                email: r.changed("email"),
                role: r.changed("role"),
                ..Default::default()
            },
            password: r.secret("password"),
        },
        FormKind::Create(Resource::Permissions) => Write::Grant {
            username: r.text("username"),
            domain: r.text("domain"),
            perms: r.perms("permissions"),
        },
        FormKind::Edit {
            resource: Resource::Permissions,
            key,
            ..
        } => {
            let (user, domain) = key.split_once('/').unwrap_or((key.as_str(), ""));
            Write::Grant {
                username: user.to_string(),
                domain: domain.to_string(),
                perms: r.perms("permissions"),
            }
        }
        FormKind::OwnPassword { .. } => {
            let pw = r.secret("password").unwrap_or_default();
            if r.secret("repeat").unwrap_or_default() != pw {
                r.errors
                    .push(("repeat".into(), "the two passwords differ".into()));
            }
            Write::SetOwnPassword { password: pw }
        }
        FormKind::Create(Resource::MailServers) => Write::ImportConfig {
            file: r.text("file"),
            service: r.text("service"),
        },
        FormKind::Create(Resource::Ldap) => Write::CreateLdap {
            name: r.text("name"),
            input: Box::new(ldap_input(&mut r)),
        },
        FormKind::Edit {
            resource: Resource::Ldap,
            key,
            version,
        } => Write::EditLdap {
            name: key.clone(),
            version: *version,
            input: Box::new(ldap_input(&mut r)),
        },
        FormKind::Backup => Write::Backup {
            file: std::path::PathBuf::from(r.text("file")),
        },
        FormKind::Preferences { version } => Write::SetPreferences {
            version: Some(*version),
            edit: crate::ops::preferences::PreferencesEdit {
                theme: r.changed("theme"),
                language: r.changed("language"),
                timezone: r.changed("timezone"),
            },
        },
        FormKind::Create(other)
        | FormKind::Edit {
            resource: other, ..
        } => {
            return Err(vec![(
                "form".into(),
                format!(
                    "{} rows cannot be changed here",
                    crate::worker::noun(*other)
                ),
            )])
        }
    };
    if r.errors.is_empty() {
        Ok(write)
    } else {
        Err(r.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            usage: None,
            key: "example.com".into(),
            cursor: "example.com".into(),
            id: 1,
            version: Some(3),
            status: Some("active".into()),
            cells: vec![],
            fields: vec![
                ("description", "old".into()),
                ("quota_limit", "10G".into()),
                ("max_mailboxes", "0".into()),
                ("max_aliases", "0".into()),
                ("max_mailbox_quota", "unlimited".into()),
                ("transport", "".into()),
            ],
        }
    }

    #[test]
    fn an_edit_sends_only_changed_fields_with_the_version() {
        let mut f = edit(Resource::Domains, &row()).unwrap();
        f.fields[0].input = tui_input::Input::new("new text".into());
        match build(&f).unwrap() {
            Write::EditDomain {
                name,
                version,
                input,
            } => {
                assert_eq!(name, "example.com");
                assert_eq!(version, 3);
                assert_eq!(input.description.as_deref(), Some("new text"));
                assert!(input.quota_limit.is_none() && input.max_mailboxes.is_none());
                assert!(input.transport.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_size_is_marked_on_its_field_before_sending() {
        let mut f = create(Resource::Domains, None).unwrap();
        f.fields[2].input = tui_input::Input::new("lots".into());
        let errs = build(&f).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "quota_limit");
        assert!(errs[0].1.contains("not a size"), "{}", errs[0].1);
    }

    #[test]
    fn sizes_are_human() {
        let mut f = create(Resource::Domains, None).unwrap();
        f.fields[0].input = tui_input::Input::new("example.com".into());
        f.fields[2].input = tui_input::Input::new("2G".into());
        match build(&f).unwrap() {
            Write::CreateDomain { input, .. } => assert_eq!(input.quota_limit, Some(2 << 30)),
            other => panic!("{other:?}"),
        }
    }
}
