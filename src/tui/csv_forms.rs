//! The CSV forms of `:import` and `:export`, and the writes they ask for.
//! A file that cannot be read, or would be overwritten, is marked on the
//! form before anything is sent.

use super::form::{Field, Form};
use super::forms::{FormKind, Own, YES_NO};
use super::reader::Reader;
use crate::model::Entity;
use crate::worker::Write;

/// Import a CSV file: its header row names the columns
/// (`postfix-manager mailbox export` writes one to start from).
pub fn import(table: Entity, file: &str) -> Form {
    let mut fields = vec![
        Field::new(Own::File, "CSV file", file, "with a header row"),
        Field::choice(Own::DryRun, "Dry run (check all)", "no", YES_NO),
    ];
    if table == Entity::Domains {
        // As `domain import`; "no" when an aliases file of an export follows.
        fields.push(Field::choice(
            Own::DefaultAliases,
            "Role aliases",
            "yes",
            YES_NO,
        ));
    }
    Form::new(
        format!("Import {} from CSV", table.plural()),
        FormKind::Import(table),
        fields,
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
        Field::new(Own::File, "CSV file", file, "a new file; never overwritten")
            .with_default(default_file),
    ];
    if admin && table == Entity::Mailboxes {
        // Yes: the file can re-import, and can be attacked offline.
        fields.push(Field::choice(
            Own::WithHashes,
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

pub fn import_write(r: &mut Reader<'_>, table: Entity) -> Write {
    let dry_run = r.yes_no(Own::DryRun);
    let default_aliases = table == Entity::Domains && r.yes_no(Own::DefaultAliases);
    let file = r.required(Own::File);
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
            r.fail(Own::File, w);
        }
    }
    Write::ImportCsv {
        table,
        file: file.into(),
        dry_run,
        default_aliases,
    }
}

pub fn export_write(r: &mut Reader<'_>, table: Entity, filter: &crate::store::Filter) -> Write {
    let with_hashes = r.yes_no(Own::WithHashes);
    let file = r.required(Own::File);
    let path = crate::paths::expand_tilde(&file);
    if !file.is_empty() && path.is_dir() {
        r.fail(
            Own::File,
            format!("{file} is a directory; name a new file in it"),
        );
    } else if !file.is_empty() && path.exists() {
        r.fail(
            Own::File,
            format!("{file} exists; an export never overwrites a file"),
        );
    }
    Write::ExportCsv {
        table,
        filter: filter.clone(),
        with_hashes,
        file: file.into(),
    }
}
