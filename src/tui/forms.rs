//! The create and edit form of each table, and how a filled form becomes a
//! worker `Write`. Sizes and counts are parsed here with the same rules
//! (`validate::size`) ops uses, so a typo is marked before any round trip;
//! everything else is left to ops, whose messages come back per field.
//! Edits send only the fields that changed, with the row's version.

use super::form::{Field, Form};
use super::rows::Row;
use crate::model::{Entity, Perm, Role};
use crate::ops::{
    aliases::AliasEdit, domains::DomainInput, mailboxes::MailboxEdit, mailboxes::NewMailbox,
    users::NewUser, users::UserEdit,
};
use crate::validate;
use crate::worker::{BulkAction, Write};

#[derive(Debug, Clone, PartialEq)]
pub enum FormKind {
    Create(Entity),
    /// Editing `key` as read at `version`.
    Edit {
        resource: Entity,
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
    /// Import a CSV file into this table.
    Import(Entity),
    /// Export this table's rows matching `filter` (the screen's) to a file.
    Export {
        table: Entity,
        filter: crate::store::Filter,
    },
    /// The parameter of a bulk action on the marked rows; submitting it
    /// opens the action's preview, never writes by itself.
    Bulk {
        resource: Entity,
        keys: Vec<String>,
        what: BulkForm,
    },
}

/// Import a CSV file: its header row names the columns
/// (`postfix-manager mailbox export` writes one to start from).
pub fn import(table: Entity, file: &str) -> Form {
    Form::new(
        format!("Import {} from CSV", table.plural()),
        FormKind::Import(table),
        vec![
            Field::new("file", "CSV file", file, "with a header row"),
            Field::choice("dry_run", "Dry run (check all)", "no", YES_NO),
        ],
    )
}

/// Export what the screen lists (every page) into a new CSV file.
/// `admin`: a mailbox export offers the password hashes (default no); for
/// anyone else the password column is empty and nothing is offered.
pub fn export(
    table: Entity,
    filter: crate::store::Filter,
    file: &str,
    default_file: &str,
    admin: bool,
) -> Form {
    let what = if filter.text.is_some() || filter.domain_id.is_some() {
        "rows matching this screen's filter"
    } else {
        "every row"
    };
    let mut fields = vec![
        Field::new("file", "CSV file", file, "a new file; never overwritten")
            .with_default(default_file),
    ];
    if admin && table == Entity::Mailboxes {
        // Yes: the file can re-import, and can be attacked offline.
        fields.push(Field::choice(
            "with_hashes",
            "Password hashes",
            "no",
            YES_NO,
        ));
    }
    Form::new(
        format!("Export {} to CSV ({what})", table.plural()),
        FormKind::Export { table, filter },
        fields,
    )
}

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
    let noun = match (resource, keys.len()) {
        (Entity::Domains, 1) => "domain",
        (Entity::Domains, _) => "domains",
        (_, 1) => "mailbox",
        _ => "mailboxes",
    };
    let (title, fields) = match what {
        BulkForm::Quota => (
            format!("Set the quota of {n} marked {noun}"),
            vec![Field::new("quota", "Quota", "", "e.g. 2G; 0 = unlimited")],
        ),
        BulkForm::Limits => (
            format!("Set limits of {n} marked {noun}"),
            vec![
                Field::new("quota_limit", "Total quota", "", "empty = keep; 2G"),
                Field::new(
                    "max_mailboxes",
                    "Max mailboxes",
                    "",
                    "empty = keep; 0 = unlimited",
                ),
                Field::new(
                    "max_aliases",
                    "Max aliases",
                    "",
                    "empty = keep; 0 = unlimited",
                ),
                Field::new(
                    "max_mailbox_quota",
                    "Max per mailbox",
                    "",
                    "empty = keep; 1G",
                ),
                Field::new("transport", "Transport", "", "empty = keep"),
            ],
        ),
        BulkForm::Grant => (
            format!("Grant a user rights on {n} marked {noun}"),
            vec![
                Field::new("username", "Username", "", "an admin user"),
                Field::choice("permissions", "Permissions", "mailboxes,aliases", PERM_SETS),
            ],
        ),
        BulkForm::Revoke => (
            format!("Revoke a user's rights on {n} marked {noun}"),
            vec![Field::new("username", "Username", "", "an admin user")],
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

/// Back the database up into a new file.
pub fn backup(default_file: &str) -> Form {
    Form::new(
        "Back up the database".into(),
        FormKind::Backup,
        vec![
            Field::new("file", "Backup file", "", "a new file; never overwritten")
                .with_default(default_file),
        ],
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
            Field::choice("theme", "Theme", &p.theme, &crate::ops::preferences::THEMES),
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
const YES_NO: &[&str] = &["no", "yes"];
const ROLES: &[&str] = &["admin", "user", "readonly"];
const TLS_MODES: &[&str] = &["none", "starttls", "ldaps"];
/// Every set of permissions, as the Permissions screen lists them.
const PERM_SETS: &[&str] = &[
    "mailboxes,aliases",
    "mailboxes",
    "aliases",
    "domain",
    "mailboxes,domain",
    "aliases,domain",
    "mailboxes,aliases,domain",
];

/// Defaults that depend on a picker: a mail config's file follows its
/// service, an LDAP server's port its TLS mode.
pub fn follow_choices(form: &mut Form) {
    let (to, default) = match form.kind {
        FormKind::Create(Entity::MailServers) => (
            "file",
            crate::ops::mail_configs::default_file(form.value("service")),
        ),
        FormKind::Create(Entity::Ldap) => (
            "port",
            if form.value("tls_mode") == "ldaps" {
                "636"
            } else {
                "389"
            },
        ),
        _ => return,
    };
    if let Some(f) = form.fields.iter_mut().find(|f| f.name == to) {
        f.default = Some(default.to_string());
    }
}

/// The create form; `domain` pre-fills the domain part when the list is
/// scoped to one domain.
pub fn create(r: Entity, domain: Option<&str>) -> Option<Form> {
    let at = domain.map(|d| format!("@{d}")).unwrap_or_default();
    let fields = match r {
        Entity::Domains => vec![
            Field::new("name", "Domain", "", "example.com"),
            Field::new("description", "Description", "", ""),
            // Unlimited, as `domain add` without --quota: a 1G total equal to
            // the default mailbox quota would refuse the second mailbox.
            Field::new("quota_limit", "Total quota", "", "e.g. 500M, 2T").with_default("unlimited"),
            Field::new("max_mailboxes", "Max mailboxes", "", "").with_default("unlimited"),
            Field::new("max_aliases", "Max aliases", "", "").with_default("unlimited"),
            Field::new("max_mailbox_quota", "Max per mailbox", "", "e.g. 2G")
                .with_default("unlimited"),
            Field::new("transport", "Transport", "", "empty = default"),
        ],
        Entity::Mailboxes => vec![
            Field::new("address", "Address", &at, "user@example.com").cursor_at_start(),
            Field::new("name", "Full name", "", ""),
            Field::secret("password", "Password", "at least 12 characters"),
            Field::new("quota", "Quota", "", "empty = default; e.g. 2G"),
        ],
        Entity::Aliases => vec![
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
        Entity::AliasDomains => vec![
            Field::new("name", "Alias domain", "", "example.org"),
            scoped(
                Field::new("target", "Target domain", "", "example.com"),
                domain,
            ),
        ],
        Entity::Users => vec![
            Field::new("username", "Username", "", ""),
            Field::new("email", "Email", "", ""),
            Field::choice("role", "Role", "user", ROLES),
            Field::secret("password", "Password", "at least 12 characters"),
        ],
        Entity::Permissions => vec![
            Field::new("username", "User", "", "a user of role user"),
            scoped(Field::new("domain", "Domain", "", "example.com"), domain),
            Field::choice("permissions", "Permissions", "mailboxes,aliases", PERM_SETS),
        ],
        Entity::Ldap => ldap_fields(None),
        Entity::MailServers => vec![
            Field::new("file", "File", "", "an absolute path")
                .with_default(crate::ops::mail_configs::default_file("postfix")),
            Field::choice(
                "service",
                "Service",
                "postfix",
                &crate::ops::mail_configs::SERVICES,
            ),
        ],
        Entity::Audit => return None,
    };
    let noun = r.noun();
    Some(Form::new(
        format!("New {noun}"),
        FormKind::Create(r),
        fields,
    ))
}

/// The domain the list is scoped to, as what an empty field means.
fn scoped(f: Field, domain: Option<&str>) -> Field {
    match domain {
        Some(d) => f.with_default(d),
        None => f,
    }
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
        Field::new("port", "Port", &v("port", ""), "").with_default("389"),
        Field::choice("tls_mode", "TLS", &v("tls_mode", "starttls"), TLS_MODES),
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
            &v("user_attribute", ""),
            "or sAMAccountName",
        )
        .with_default("uid"),
        Field::new(
            "user_filter",
            "User filter",
            &v("user_filter", ""),
            "(objectClass=person)",
        ),
        Field::new(
            "priority",
            "Priority",
            &v("priority", ""),
            "lower is tried first",
        )
        .with_default("100"),
    ]);
    f
}

/// The edit form, pre-filled from the row as listed.
/// A mailbox quota being set below what the mailbox already holds: the
/// warning to show beside the field, the first time for this value (the
/// next Enter with the same value saves it). New mail to it is refused
/// until it shrinks, so this is allowed, never silent.
pub fn below_usage(f: &mut Form, w: &Write) -> Option<String> {
    let Write::EditMailbox { edit, .. } = w else {
        return None;
    };
    let (Some(q), Some(used)) = (edit.quota, f.used) else {
        return None;
    };
    if q == 0 || used <= q || f.warned_quota == Some(q) {
        return None;
    }
    f.warned_quota = Some(q);
    Some(format!(
        "{} is below the {} in use ({}%): new mail will be refused. Enter again saves it anyway.",
        crate::units::human(q),
        crate::units::human(used),
        used.saturating_mul(100) / q
    ))
}

pub fn edit(r: Entity, row: &Row) -> Option<Form> {
    let v = |n: &str| row.field(n).to_string();
    let fields = match r {
        Entity::Domains => vec![
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
        Entity::Mailboxes => vec![
            Field::new("name", "Full name", &v("name"), ""),
            Field::new("quota", "Quota", &v("quota"), SIZE_HINT),
            Field::secret("password", "New password", "empty = keep"),
        ],
        Entity::Aliases => vec![
            Field::new("goto", "Goes to", &v("goto"), ""),
            Field::new("description", "Description", &v("description"), ""),
        ],
        Entity::AliasDomains => vec![Field::new("target", "Target domain", &v("target"), "")],
        Entity::Users => vec![
            Field::new("email", "Email", &v("email"), ""),
            Field::choice("role", "Role", &v("role"), ROLES),
            Field::secret("password", "New password", "empty = keep"),
        ],
        Entity::Permissions => vec![Field::choice(
            "permissions",
            "Permissions",
            &v("permissions"),
            PERM_SETS,
        )],
        Entity::Ldap => ldap_fields(Some(row)),
        Entity::Audit | Entity::MailServers => return None,
    };
    let noun = r.noun();
    let mut f = Form::new(
        format!("Edit {noun} {}", row.key),
        FormKind::Edit {
            resource: r,
            key: row.key.clone(),
            version: row.version.unwrap_or(0),
        },
        fields,
    );
    if r == Entity::Mailboxes {
        f.used = row.usage.map(|(used, _)| used);
    }
    Some(f)
}

/// A save refused as a conflict, and the row as the other writer left it
/// (None: it is gone). What was typed stays; a field nobody typed into
/// takes their value (saving must not quietly undo their change); a typed
/// field they changed too shows theirs under it ("now: …"). The form moves
/// to their version, so the next Enter saves what is typed over it,
/// deliberately.
pub fn rebase(f: &mut Form, row: Option<&Row>) {
    let FormKind::Edit { key, version, .. } = &mut f.kind else {
        return;
    };
    let Some(row) = row.filter(|r| r.key == *key) else {
        f.message = Some(format!(
            "{key} was changed or removed by someone else and cannot be read now; Esc closes the form"
        ));
        return;
    };
    *version = row.version.unwrap_or(*version);
    let new_version = *version;
    let mut differ = 0;
    for field in &mut f.fields {
        if field.kind == super::form::FieldKind::Secret {
            continue;
        }
        let now = row.field(field.name).to_string();
        let theirs_changed = now != field.initial;
        let typed = field.changed();
        if theirs_changed && !typed {
            field.input = tui_input::Input::new(now.clone());
        }
        field.theirs =
            (theirs_changed && typed && field.value().trim() != now).then(|| now.clone());
        differ += usize::from(field.theirs.is_some());
        field.initial = now;
    }
    if let Some((used, _)) = row.usage {
        f.used = Some(used);
    }
    f.message = Some(if differ == 0 {
        format!(
            "Someone else saved this row meanwhile (now version {new_version}); their other changes are filled in. Enter saves yours with them."
        )
    } else {
        format!(
            "Someone else saved this row meanwhile (now version {new_version}): your text is kept, theirs shows as \"now:\" under it. Enter saves yours over theirs; Esc keeps theirs."
        )
    });
}

/// Field-level problems found before sending.
pub type FieldErrors = Vec<(String, String)>;

struct Reader<'a> {
    form: &'a Form,
    errors: FieldErrors,
}

impl<'a> Reader<'a> {
    /// The trimmed value; an empty field with a default is its default.
    fn text(&self, name: &str) -> String {
        let v = self.form.value(name).trim();
        match self.form.field(name).and_then(|f| f.default.as_deref()) {
            Some(d) if v.is_empty() => d.to_string(),
            _ => v.to_string(),
        }
    }
    /// Some(value) only when it changed (edits) or always (creates).
    fn changed(&self, name: &str) -> Option<String> {
        let f = self.form.field(name)?;
        (f.changed() || matches!(self.form.kind, FormKind::Create(_))).then(|| self.text(name))
    }
    fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|s| !s.is_empty())
    }
    /// One message per field: the first problem found is the one to fix.
    fn push(&mut self, name: &str, e: &crate::error::OpError) {
        if !self.errors.iter().any(|(n, _)| n == name) {
            self.errors.push((name.to_string(), message_of(e)));
        }
    }
    /// Run ops' own rule for this field on what will be sent (created, or
    /// changed on an edit), so a bad value is marked before any round trip
    /// and every field's problem shows at once.
    fn check<T>(&mut self, name: &str, rule: impl FnOnce(&str, &str) -> crate::error::OpResult<T>) {
        if let Some(v) = self.changed(name) {
            if let Err(e) = rule(name, &v) {
                self.push(name, &e);
            }
        }
    }
    /// Like `check`, for a field ops skips when it is left empty.
    fn check_opt<T>(
        &mut self,
        name: &str,
        rule: impl FnOnce(&str, &str) -> crate::error::OpResult<T>,
    ) {
        if self.changed(name).is_some_and(|v| !v.is_empty()) {
            self.check(name, rule);
        }
    }
    fn size(&mut self, name: &str) -> Option<i64> {
        let raw = self.changed(name)?;
        self.parse_size(name, &raw)
    }
    fn parse_size(&mut self, name: &str, raw: &str) -> Option<i64> {
        match validate::size(name, raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(name, &e);
                None
            }
        }
    }
    /// A count limit: a whole number, then ops' rule (`count_limit`: not
    /// negative, fits the column).
    fn count(&mut self, name: &str) -> Option<i64> {
        let raw = self.changed(name)?;
        self.parse_count(name, &raw)
    }
    fn parse_count(&mut self, name: &str, raw: &str) -> Option<i64> {
        let parsed = if raw.eq_ignore_ascii_case("unlimited") {
            Ok(0)
        } else {
            raw.parse::<i64>()
        };
        let checked = match parsed {
            Ok(v) => validate::count_limit(name, v).map(|_| v),
            Err(_) => Err(crate::error::OpError::invalid(
                name,
                format!("{raw:?} is not a whole number (0 = unlimited)"),
            )),
        };
        match checked {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(name, &e);
                None
            }
        }
    }
    /// A whole number ops range-checks itself (LDAP port, priority).
    fn number(&mut self, name: &str) -> Option<i64> {
        let raw = self.changed(name)?;
        match raw.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.push(
                    name,
                    &crate::error::OpError::invalid(name, format!("{raw:?} is not a whole number")),
                );
                None
            }
        }
    }
    /// A size typed into a field that may stay empty (None).
    fn opt_size(&mut self, name: &str) -> Option<i64> {
        let raw = self.optional(name)?;
        self.parse_size(name, &raw)
    }
    fn opt_count(&mut self, name: &str) -> Option<i64> {
        let raw = self.optional(name)?;
        self.parse_count(name, &raw)
    }
    fn required(&mut self, name: &str) -> String {
        let v = self.text(name);
        if v.is_empty() {
            self.push(name, &crate::error::OpError::invalid(name, "required"));
        }
        v
    }
    fn secret(&self, name: &str) -> Option<String> {
        // Passwords are taken as typed: spaces may be part of them.
        Some(self.form.value(name).to_string()).filter(|s| !s.is_empty())
    }
    /// A password by ops' rule (length from the server's policy when the
    /// session told it); `required`: an empty one is checked too.
    fn password(&mut self, name: &str, required: bool) -> Option<String> {
        let pw = self.secret(name);
        if pw.is_some() || required {
            let min = self.form.min_password.unwrap_or(0);
            if let Err(e) = validate::password(name, pw.as_deref().unwrap_or(""), min) {
                self.push(name, &e);
            }
        }
        pw
    }
    fn perms(&mut self, name: &str) -> Vec<Perm> {
        match Perm::parse_list(name, &self.text(name)) {
            Ok(p) => p,
            Err(e) => {
                self.push(name, &e);
                Vec::new()
            }
        }
    }
}

/// An LDAP server's input: changed fields only on an edit (an emptied text
/// field clears it), the bind password only when one was typed.
fn ldap_input(r: &mut Reader<'_>, name: Option<&str>) -> crate::ops::ldap::ServerInput {
    use crate::ops::ldap::BindPassword;
    let input = crate::ops::ldap::ServerInput {
        host: r.changed("host"),
        port: r.number("port"),
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
        priority: r.number("priority"),
        is_active: None,
    };
    for e in crate::ops::ldap::field_errors(name, &input) {
        if let Some(field) = e.field() {
            let field = field.to_string();
            r.push(&field, &e);
        }
    }
    input
}

fn message_of(e: &crate::error::OpError) -> String {
    match e {
        crate::error::OpError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

fn bulk_action(r: &mut Reader<'_>, what: BulkForm) -> BulkAction {
    match what {
        BulkForm::Quota => {
            r.required("quota");
            BulkAction::SetQuota(r.opt_size("quota").unwrap_or(0))
        }
        BulkForm::Limits => {
            let input = DomainInput {
                description: None,
                quota_limit: r.opt_size("quota_limit"),
                max_mailboxes: r.opt_count("max_mailboxes"),
                max_aliases: r.opt_count("max_aliases"),
                max_mailbox_quota: r.opt_size("max_mailbox_quota"),
                transport: r.optional("transport"),
            };
            r.check_opt("transport", validate::transport);
            if r.errors.is_empty() && input == DomainInput::default() {
                r.errors.push((
                    "quota_limit".into(),
                    "nothing to change: fill in at least one limit".into(),
                ));
            }
            BulkAction::SetLimits(input)
        }
        BulkForm::Grant => {
            r.check("username", validate::username);
            BulkAction::Grant {
                username: r.required("username"),
                perms: r.perms("permissions"),
            }
        }
        BulkForm::Revoke => {
            r.check("username", validate::username);
            BulkAction::Revoke {
                username: r.required("username"),
            }
        }
    }
}

/// The text fields ops checks by name, checked here by the same rules
/// (sizes, counts and passwords are checked as they are read).
fn check_text_fields(r: &mut Reader<'_>) {
    use crate::ops::{mail_configs, preferences};
    match &r.form.kind {
        FormKind::Create(Entity::Domains)
        | FormKind::Edit {
            resource: Entity::Domains,
            ..
        } => {
            if matches!(r.form.kind, FormKind::Create(_)) {
                r.check("name", validate::domain);
            }
            r.check("description", validate::description);
            r.check("transport", validate::transport);
        }
        FormKind::Create(Entity::Mailboxes)
        | FormKind::Edit {
            resource: Entity::Mailboxes,
            ..
        } => {
            r.check("address", validate::mailbox_address);
            r.check("name", validate::description);
        }
        FormKind::Create(Entity::Aliases)
        | FormKind::Edit {
            resource: Entity::Aliases,
            ..
        } => {
            r.check("address", validate::alias_address);
            r.check("goto", validate::destinations);
            r.check("description", validate::description);
        }
        FormKind::Create(Entity::AliasDomains)
        | FormKind::Edit {
            resource: Entity::AliasDomains,
            ..
        } => {
            r.check("name", validate::domain);
            r.check("target", validate::domain);
        }
        FormKind::Create(Entity::Users)
        | FormKind::Edit {
            resource: Entity::Users,
            ..
        } => {
            r.check("username", validate::username);
            r.check("email", validate::address);
            r.check("role", Role::parse);
        }
        FormKind::Create(Entity::Permissions) => {
            r.check("username", validate::username);
            r.check("domain", validate::domain);
        }
        FormKind::Create(Entity::MailServers) => {
            r.check("service", mail_configs::check_service);
        }
        FormKind::Preferences { .. } => {
            r.check("theme", preferences::theme);
            r.check("timezone", preferences::timezone);
            r.check("language", preferences::language);
        }
        _ => {}
    }
}

/// The write this form asks for, or the fields to fix first.
pub fn build(form: &Form) -> Result<Write, FieldErrors> {
    let mut r = Reader {
        form,
        errors: Vec::new(),
    };
    check_text_fields(&mut r);
    let write = match &form.kind {
        FormKind::Create(Entity::Domains) => Write::CreateDomain {
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
            resource: Entity::Domains,
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
        FormKind::Create(Entity::Mailboxes) => {
            let quota = if r.text("quota").is_empty() {
                None
            } else {
                r.size("quota")
            };
            Write::CreateMailbox(NewMailbox {
                address: r.text("address"),
                password: r.password("password", true).unwrap_or_default(),
                quota,
                name: r.optional("name"),
            })
        }
        FormKind::Edit {
            resource: Entity::Mailboxes,
            key,
            version,
        } => Write::EditMailbox {
            address: key.clone(),
            version: *version,
            edit: MailboxEdit {
                quota: r.size("quota"),
                name: r.changed("name"),
            },
            password: r.password("password", false),
        },
        FormKind::Create(Entity::Aliases) => Write::CreateAlias {
            address: r.text("address"),
            goto: r.text("goto"),
            description: r.optional("description"),
        },
        FormKind::Edit {
            resource: Entity::Aliases,
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
        FormKind::Create(Entity::AliasDomains) => Write::CreateAliasDomain {
            name: r.text("name"),
            target: r.text("target"),
        },
        FormKind::Edit {
            resource: Entity::AliasDomains,
            key,
            version,
        } => Write::RetargetAliasDomain {
            name: key.clone(),
            version: *version,
            target: r.text("target"),
        },
        FormKind::Create(Entity::Users) => Write::CreateUser(NewUser {
            username: r.text("username"),
            email: r.text("email"),
            role: r.text("role"),
            password: r.password("password", true).unwrap_or_default(),
        }),
        FormKind::Edit {
            resource: Entity::Users,
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
            password: r.password("password", false),
        },
        FormKind::Create(Entity::Permissions) => Write::Grant {
            username: r.text("username"),
            domain: r.text("domain"),
            perms: r.perms("permissions"),
        },
        FormKind::Edit {
            resource: Entity::Permissions,
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
            let pw = r.password("password", true).unwrap_or_default();
            if r.secret("repeat").unwrap_or_default() != pw {
                r.errors
                    .push(("repeat".into(), "the two passwords differ".into()));
            }
            Write::SetOwnPassword { password: pw }
        }
        FormKind::Create(Entity::MailServers) => Write::ImportConfig {
            file: r.text("file"),
            service: r.text("service"),
        },
        FormKind::Create(Entity::Ldap) => Write::CreateLdap {
            name: r.text("name"),
            input: Box::new(ldap_input(&mut r, Some(form.value("name")))),
        },
        FormKind::Edit {
            resource: Entity::Ldap,
            key,
            version,
        } => Write::EditLdap {
            name: key.clone(),
            version: *version,
            input: Box::new(ldap_input(&mut r, None)),
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
        FormKind::Import(table) => {
            let dry_run = match r.text("dry_run").to_ascii_lowercase().as_str() {
                "yes" | "y" => true,
                "no" | "n" | "" => false,
                other => {
                    r.errors
                        .push(("dry_run".into(), format!("{other:?}: answer yes or no")));
                    false
                }
            };
            let file = r.required("file");
            // Caught here, the form stays open to fix it; the worker checks
            // again when it opens the file.
            if !file.is_empty() {
                let path = crate::paths::expand_tilde(&file);
                let wrong = match std::fs::File::open(&path) {
                    _ if path.is_dir() => Some(format!("{file} is a directory; name a CSV file")),
                    Ok(_) => None,
                    Err(e) => Some(crate::paths::explain(
                        &path,
                        crate::paths::Doing::Reading,
                        &e,
                    )),
                };
                if let Some(w) = wrong {
                    r.errors.push(("file".into(), w));
                }
            }
            Write::ImportCsv {
                table: *table,
                file: file.into(),
                dry_run,
            }
        }
        FormKind::Export { table, filter } => {
            let with_hashes = match r.text("with_hashes").to_ascii_lowercase().as_str() {
                "yes" | "y" => true,
                "no" | "n" | "" => false,
                other => {
                    r.errors
                        .push(("with_hashes".into(), format!("{other:?}: answer yes or no")));
                    false
                }
            };
            let file = r.required("file");
            let path = crate::paths::expand_tilde(&file);
            if !file.is_empty() && path.is_dir() {
                r.errors.push((
                    "file".into(),
                    format!("{file} is a directory; name a new file in it"),
                ));
            } else if !file.is_empty() && path.exists() {
                r.errors.push((
                    "file".into(),
                    format!("{file} exists; an export never overwrites a file"),
                ));
            }
            Write::ExportCsv {
                table: *table,
                filter: filter.clone(),
                with_hashes,
                file: file.into(),
            }
        }
        FormKind::Bulk {
            resource,
            keys,
            what,
        } => Write::Bulk {
            resource: *resource,
            keys: keys.clone(),
            action: bulk_action(&mut r, *what),
        },
        FormKind::Create(other)
        | FormKind::Edit {
            resource: other, ..
        } => {
            return Err(vec![(
                "form".into(),
                format!("{} rows cannot be changed here", other.noun()),
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
        let mut f = edit(Entity::Domains, &row()).unwrap();
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
        let mut f = create(Entity::Domains, None).unwrap();
        f.fields[0].input = "example.com".into();
        f.fields[2].input = tui_input::Input::new("lots".into());
        let errs = build(&f).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "quota_limit");
        assert!(errs[0].1.contains("not a size"), "{}", errs[0].1);
    }

    #[test]
    fn every_bad_field_is_marked_by_ops_rules_at_once() {
        let mut f = create(Entity::Domains, None).unwrap();
        f.fields[0].input = "not a domain".into();
        f.fields[2].input = "lots".into();
        f.fields[3].input = "-5".into();
        f.fields[6].input = "no-colon".into();
        let errs = build(&f).unwrap_err();
        let names: Vec<&str> = errs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["name", "transport", "quota_limit", "max_mailboxes"],
            "{errs:?}"
        );
        assert!(errs[3].1.contains("must not be negative"), "{}", errs[3].1);
    }

    #[test]
    fn sizes_are_human() {
        let mut f = create(Entity::Domains, None).unwrap();
        f.fields[0].input = tui_input::Input::new("example.com".into());
        f.fields[2].input = tui_input::Input::new("2G".into());
        match build(&f).unwrap() {
            Write::CreateDomain { input, .. } => assert_eq!(input.quota_limit, Some(2 << 30)),
            other => panic!("{other:?}"),
        }
    }
}
