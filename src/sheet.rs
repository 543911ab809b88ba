//! The tab-separated file of the $EDITOR round trip (`edit-many` in the
//! CLI, `E` on marked rows in the TUI) for mailboxes, aliases and domains.
//!
//! A sheet is the rows as read, one per line, key first. After the editor
//! exits, `Sheet::diff` compares each line with the row it came from, field
//! by field in a normal form (sizes in bytes, so "1G" and "1073741824" are
//! the same), and returns only what changed; `ops::import::edit_rows`
//! applies that in one transaction. Every bad line is reported with its
//! number and then nothing changes.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{CsvTable, Entity, Status};
use crate::ops::import::{line_errors, FieldChange, RowChange};
use crate::ops::{self, Ctx};
use crate::validate;

/// How a column's text is read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The row's name: identifies it, cannot change.
    Key,
    /// Bytes; typed as 500M, 2G, 0 = unlimited.
    Size,
    /// A whole number ≥ 0.
    Count,
    /// Free text; empty clears it.
    Text,
    /// Free text that may not be empty (an alias's destinations).
    Required,
    Status,
}

#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: &'static str,
    kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

const MAILBOX: &[Column] = &[
    col("address", Kind::Key),
    col("quota", Kind::Size),
    col("name", Kind::Text),
    col("status", Kind::Status),
];
const ALIAS: &[Column] = &[
    col("address", Kind::Key),
    col("goto", Kind::Required),
    col("description", Kind::Text),
    col("status", Kind::Status),
];
const DOMAIN: &[Column] = &[
    col("name", Kind::Key),
    col("description", Kind::Text),
    col("quota", Kind::Size),
    col("max_mailboxes", Kind::Count),
    col("max_aliases", Kind::Count),
    col("max_mailbox_quota", Kind::Size),
    col("transport", Kind::Text),
    col("status", Kind::Status),
];

/// A table's columns and the line telling how to edit them.
#[derive(Debug, PartialEq, Eq)]
struct Layout {
    cols: &'static [Column],
    how: &'static str,
}

fn layout(table: Entity) -> OpResult<&'static Layout> {
    Ok(match table.csv_table().ok_or_else(|| table.no_csv())? {
        CsvTable::Mailboxes => &Layout {
            cols: MAILBOX,
            how: "# Edit quota (bytes, 500M, 2G, 0 = unlimited), name and status (active|suspended).\n",
        },
        CsvTable::Aliases => &Layout {
            cols: ALIAS,
            how: "# Edit goto (addresses, comma-separated), description and status (active|suspended).\n",
        },
        CsvTable::Domains => &Layout {
            cols: DOMAIN,
            how: "# Edit description, quota and max_mailbox_quota (bytes, 500M, 2G, 0 = unlimited),\n# max_mailboxes and max_aliases (0 = unlimited), transport and status (active|suspended).\n",
        },
    })
}

/// A cell as written to the file: control characters (tabs, newlines)
/// become spaces so every row stays one line of the same fields.
fn cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A cell's normal form, or why it is not valid.
fn normal(c: &Column, raw: &str) -> OpResult<String> {
    let t = raw.trim();
    Ok(match c.kind {
        Kind::Key | Kind::Text => cell(t),
        Kind::Required => {
            if t.is_empty() {
                return Err(OpError::invalid(c.name, "may not be empty"));
            }
            cell(t)
        }
        Kind::Size => validate::size(c.name, t)?.to_string(),
        Kind::Count => match t.parse::<i64>() {
            Ok(n) if n >= 0 => n.to_string(),
            _ => {
                return Err(OpError::invalid(
                    c.name,
                    format!("{t:?} is not a whole number ≥ 0 (0 = unlimited)"),
                ))
            }
        },
        Kind::Status => Status::parse(c.name, t)?.as_str().to_string(),
    })
}

/// Rows as read for editing: their cells and versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sheet {
    pub table: Entity,
    #[serde(skip)]
    layout: &'static Layout,
    rows: Vec<(i32, Vec<String>)>,
}

impl Sheet {
    /// Read these rows (each checked as a single `get` is: a row the user
    /// may not see is "not found").
    pub fn load(
        conn: &mut AnyConnection,
        ctx: &Ctx,
        table: Entity,
        keys: &[String],
    ) -> OpResult<Sheet> {
        let layout = layout(table)?;
        let opt = |s: &Option<String>| s.clone().unwrap_or_default();
        let mut rows: Vec<(i32, Vec<String>)> = Vec::with_capacity(keys.len());
        // A row named twice (or spelled two ways) appears once.
        let mut seen = HashSet::new();
        for k in keys {
            let row = match table.csv_table().ok_or_else(|| table.no_csv())? {
                CsvTable::Mailboxes => {
                    let m = ops::mailboxes::get(conn, ctx, k)?;
                    let cells = vec![
                        m.username,
                        m.quota_limit.to_string(),
                        opt(&m.name),
                        m.status,
                    ];
                    (m.version, cells)
                }
                CsvTable::Aliases => {
                    let a = ops::aliases::get(conn, ctx, k)?;
                    let cells = vec![a.address, a.goto, opt(&a.description), a.status];
                    (a.version, cells)
                }
                CsvTable::Domains => {
                    let d = ops::domains::get(conn, ctx, k)?;
                    let cells = vec![
                        d.name,
                        opt(&d.description),
                        d.quota_limit.to_string(),
                        d.max_mailboxes.to_string(),
                        d.max_aliases.to_string(),
                        d.max_mailbox_quota.to_string(),
                        opt(&d.transport),
                        d.status,
                    ];
                    (d.version, cells)
                }
            };
            if seen.insert(row.1[0].clone()) {
                rows.push(row);
            }
        }
        Ok(Sheet {
            table,
            layout,
            rows,
        })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rows' keys (names), in the sheet's order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().map(|r| r.1[0].as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The file name the editor sees (its syntax highlighting may care).
    pub fn file_name(&self) -> String {
        format!("{}.tsv", self.table.plural())
    }

    /// The file the editor opens: how to edit it, a header, one row a line.
    pub fn text(&self) -> String {
        let cols = self.layout.cols;
        let mut out = String::new();
        out.push_str(self.layout.how);
        out.push_str(&format!(
            "# Do not change the {} column or add rows; lines starting with # are ignored.\n",
            cols[0].name
        ));
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        out.push_str(&format!("# {}\n", names.join("\t")));
        for (_, cells) in &self.rows {
            let cells: Vec<String> = cells.iter().map(|c| cell(c)).collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out
    }

    /// The changed rows of the edited file, or every bad line by number.
    pub fn diff(&self, edited: &str) -> OpResult<Vec<RowChange>> {
        let cols = self.layout.cols;
        let by_key: HashMap<&str, &(i32, Vec<String>)> =
            self.rows.iter().map(|r| (r.1[0].as_str(), r)).collect();
        let mut seen = HashSet::new();
        let mut errs = Vec::new();
        let mut out = Vec::new();
        for (i, raw) in edited.lines().enumerate() {
            let line = (i + 1) as u64;
            if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
                continue;
            }
            let f: Vec<&str> = raw.split('\t').collect();
            if f.len() != cols.len() {
                let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
                errs.push((
                    line,
                    format!(
                        "has {} tab-separated fields, needs {} ({})",
                        f.len(),
                        cols.len(),
                        names.join(", ")
                    ),
                ));
                continue;
            }
            let key = f[0].trim();
            let Some((version, before)) = by_key.get(key) else {
                errs.push((
                    line,
                    format!(
                        "{}: {key:?} is not one of the rows being edited (the {} column cannot change)",
                        cols[0].name, cols[0].name
                    ),
                ));
                continue;
            };
            if !seen.insert(key.to_string()) {
                errs.push((line, format!("{}: {key} appears twice", cols[0].name)));
                continue;
            }
            let mut fields = Vec::new();
            let mut bad = false;
            for (j, c) in cols.iter().enumerate().skip(1) {
                match (normal(c, f[j]), normal(c, &before[j])) {
                    (Ok(new), Ok(old)) if new != old => fields.push(FieldChange {
                        column: c.name,
                        old,
                        new,
                    }),
                    (Ok(_), Ok(_)) => {}
                    // A stored value outside today's rules (a status only
                    // the database uses): any valid value is a change.
                    (Ok(new), Err(_)) => fields.push(FieldChange {
                        column: c.name,
                        old: cell(before[j].trim()),
                        new,
                    }),
                    (Err(e), _) => {
                        errs.push((line, e.to_string()));
                        bad = true;
                    }
                }
            }
            if !bad && !fields.is_empty() {
                out.push(RowChange {
                    line,
                    key: key.to_string(),
                    version: *version,
                    fields,
                });
            }
        }
        if !errs.is_empty() {
            return Err(line_errors(errs));
        }
        Ok(out)
    }
}

/// Marks where `with_errors` appended its comments.
const ERRORS_MARK: &str =
    "# ---- not applied: fix the lines named below (line numbers as above) ----";

/// The edited text with the reasons it was refused appended as comments
/// (replacing any from an earlier try), to open in the editor again:
/// comments are ignored, and appending keeps every line number true.
pub fn with_errors(edited: &str, error: &str) -> String {
    let kept = match edited.find(ERRORS_MARK) {
        Some(i) => &edited[..i],
        None => edited,
    };
    let mut out = kept.trim_end_matches('\n').to_string();
    out.push_str("\n\n");
    out.push_str(ERRORS_MARK);
    out.push('\n');
    for l in error.lines() {
        out.push_str("# ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// The diff shown before applying: one line per changed field. Values are
/// stripped of control characters one by one (the lines between are ours).
pub fn describe(changes: &[RowChange]) -> String {
    let t = crate::sanitize::for_terminal;
    let mut out = String::new();
    for ch in changes {
        out.push_str(&format!("{} (line {}):\n", t(&ch.key), ch.line));
        for f in &ch.fields {
            let quoted = matches!(f.column, "name" | "description" | "goto" | "transport");
            if quoted {
                out.push_str(&format!(
                    "  {}: {:?} -> {:?}\n",
                    f.column,
                    t(&f.old),
                    t(&f.new)
                ));
            } else {
                out.push_str(&format!("  {}: {} -> {}\n", f.column, t(&f.old), t(&f.new)));
            }
        }
    }
    out
}
