//! The forms that are not a table's (own password, preferences, backup,
//! CSV import and export, bulk values), the generic create and edit forms
//! built from a table's spec, and how a filled form becomes a worker
//! `Write`. Sizes and counts are parsed with the same rules
//! (`validate::size`) ops uses, so a typo is marked before any round trip;
//! everything else is left to ops, whose messages come back per field.
//! Edits send only the fields that changed, with the row's version.

use super::form::{Field, Form};
use super::reader::Reader;
use super::rows::Row;
use super::spec::{self, fields};
use crate::model::Entity;
use crate::worker::Write;

pub use super::bulk_forms::{bulk, BulkForm};
pub use super::csv_forms::{export, import};
pub use super::reader::FieldErrors;

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
    /// A mailbox's vacation (`V`, issue 20), as read at `version` (None:
    /// none was set).
    Vacation {
        address: String,
        version: Option<i32>,
    },
    /// Rename or move this mailbox (issue 20).
    RenameMailbox {
        address: String,
    },
    /// The sending limits of this domain (Senders, `D`; issue 21).
    DomainSendLimits {
        domain: String,
    },
}

fields! {
    /// The fields of the forms in this file.
    pub enum Own {
        File = "file",
        DryRun = "dry_run",
        WithHashes = "with_hashes",
        DefaultAliases = "default_aliases",
        Password = "password",
        Repeat = "repeat",
        Theme = "theme",
        Timezone = "timezone",
        Language = "language",
        Quota = "quota",
        QuotaLimit = "quota_limit",
        MaxMailboxes = "max_mailboxes",
        MaxAliases = "max_aliases",
        MaxMailboxQuota = "max_mailbox_quota",
        Transport = "transport",
        Username = "username",
        Permissions = "permissions",
        NewAddress = "new_address",
        KeepAlias = "keep_alias",
    }
}

pub const SIZE_HINT: &str = "e.g. 500M, 2G, unlimited";
pub const COUNT_HINT: &str = "0 = unlimited";
pub const YES_NO: &[&str] = &["no", "yes"];
/// Every set of permissions, as the Permissions screen lists them.
pub const PERM_SETS: &[&str] = &[
    "mailboxes,aliases",
    "mailboxes",
    "aliases",
    "domain",
    "mailboxes,domain",
    "aliases,domain",
    "mailboxes,aliases,domain",
];

/// Back the database up into a new file.
pub fn backup(default_file: &str) -> Form {
    Form::new(
        "Back up the database".into(),
        FormKind::Backup,
        vec![Field::new(
            Own::File,
            "Backup file",
            "",
            "a new file; never overwritten",
        )
        .with_default(default_file)],
    )
}

/// Rename or move a mailbox: the new address (another domain is fine)
/// and whether the old one stays as an alias to it.
pub fn rename_mailbox(address: &str) -> Form {
    Form::new(
        format!("Rename mailbox {address}"),
        FormKind::RenameMailbox {
            address: address.to_string(),
        },
        vec![
            Field::new(
                Own::NewAddress,
                "New address",
                address,
                "user@domain; another domain moves it",
            ),
            Field::choice(Own::KeepAlias, "Keep old as alias", "no", YES_NO),
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
            Field::secret(Own::Password, "New password", "at least 12 characters"),
            Field::secret(Own::Repeat, "Repeat it", ""),
        ],
    )
}

/// Your preferences: theme, time zone, language.
pub fn preferences(p: &crate::ops::preferences::Preferences) -> Form {
    Form::new(
        "Your preferences".into(),
        FormKind::Preferences { version: p.version },
        vec![
            Field::choice(
                Own::Theme,
                "Theme",
                &p.theme,
                &crate::ops::preferences::THEMES,
            ),
            Field::new(
                Own::Timezone,
                "Time zone",
                &p.timezone,
                "e.g. Europe/Berlin, UTC",
            ),
            Field::new(Own::Language, "Language", &p.language, "en"),
        ],
    )
}

/// Defaults that depend on a picker (a mail config's file follows its
/// service, an LDAP server's port its TLS mode): the table's to say.
pub fn follow_choices(form: &mut Form) {
    if let FormKind::Create(e) = form.kind {
        spec::spec(e).follow(form);
    }
}

/// The create form; `domain` pre-fills the domain part when the list is
/// scoped to one domain.
pub fn create(r: Entity, domain: Option<&str>) -> Option<Form> {
    let fields = spec::spec(r).create(domain)?;
    Some(Form::new(
        format!("New {}", r.noun()),
        FormKind::Create(r),
        fields,
    ))
}

/// The domain the list is scoped to, as what an empty field means.
pub fn scoped(f: Field, domain: Option<&str>) -> Field {
    match domain {
        Some(d) => f.with_default(d),
        None => f,
    }
}

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

/// The edit form, pre-filled from the row as listed.
pub fn edit(r: Entity, row: &Row) -> Option<Form> {
    let fields = spec::spec(r).edit(row)?;
    let mut f = Form::new(
        format!("Edit {} {}", r.noun(), row.key),
        FormKind::Edit {
            resource: r,
            key: row.key.clone(),
            // A row without a version (an audit entry) has nothing to
            // save against: no edit form, rather than a save at version 0
            // that would only ever be refused as a conflict.
            version: row.version?,
        },
        fields,
    );
    // What the row holds: a quota set below it is saved only on a second Enter.
    f.used = row.usage.map(|(used, _)| used);
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
        let now = row.named(field.name).to_string();
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

/// The write this form asks for, or the fields to fix first.
pub fn build(form: &Form) -> Result<Write, FieldErrors> {
    let mut r = Reader::new(form);
    let write = match &form.kind {
        FormKind::Create(e) => spec::spec(*e).build(&mut r, None),
        FormKind::Edit {
            resource,
            key,
            version,
        } => spec::spec(*resource).build(&mut r, Some((key.as_str(), *version))),
        FormKind::OwnPassword { .. } => Some(own_password_write(&mut r)),
        FormKind::Preferences { version } => Some(preferences_write(&mut r, *version)),
        FormKind::Backup => Some(Write::Backup {
            file: std::path::PathBuf::from(r.text(Own::File)),
        }),
        FormKind::Import(table) => Some(super::csv_forms::import_write(&mut r, *table)),
        FormKind::Export { table, filter } => {
            Some(super::csv_forms::export_write(&mut r, *table, filter))
        }
        FormKind::RenameMailbox { address } => {
            r.check(Own::NewAddress, crate::validate::mailbox_address);
            Some(Write::Command {
                verb: "rename",
                command: Box::new(crate::ops::command::rename::RenameMailbox {
                    address: address.clone(),
                    new_address: r.text(Own::NewAddress),
                    keep_alias: r.yes_no(Own::KeepAlias),
                }),
            })
        }
        FormKind::Bulk {
            resource,
            keys,
            what,
        } => Some(Write::Bulk {
            resource: *resource,
            keys: keys.clone(),
            action: super::bulk_forms::bulk_action(&mut r, *what),
        }),
        FormKind::Vacation { address, version } => {
            Some(super::vacation::write(&mut r, address, *version))
        }
        FormKind::DomainSendLimits { domain } => Some(spec::domain_limits_write(&mut r, domain)),
    };
    let Some(write) = write else {
        let e = match &form.kind {
            FormKind::Create(e) | FormKind::Edit { resource: e, .. } => e.noun(),
            _ => "these",
        };
        return Err(vec![(
            "form".into(),
            format!("{e} rows cannot be changed here"),
        )]);
    };
    if r.errors.is_empty() {
        Ok(write)
    } else {
        Err(r.errors)
    }
}

fn own_password_write(r: &mut Reader<'_>) -> Write {
    let pw = r.password(Own::Password, true).unwrap_or_default();
    if r.secret(Own::Repeat).unwrap_or_default() != pw {
        r.fail(Own::Repeat, "the two passwords differ");
    }
    Write::SetOwnPassword { password: pw }
}

fn preferences_write(r: &mut Reader<'_>, version: i32) -> Write {
    use crate::ops::preferences;
    r.check(Own::Theme, preferences::theme);
    r.check(Own::Timezone, preferences::timezone);
    r.check(Own::Language, preferences::language);
    Write::SetPreferences {
        version: Some(version),
        edit: preferences::PreferencesEdit {
            theme: r.changed(Own::Theme),
            language: r.changed(Own::Language),
            timezone: r.changed(Own::Timezone),
        },
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
                assert_eq!(version, Some(3));
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
