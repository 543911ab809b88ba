//! Running the PostgreSQL client programs (pg_dump, psql) without putting
//! the password on their command line, where `ps` and /proc/PID/cmdline
//! show it to every local user. The URL goes without its password; the
//! password goes into a temporary passfile (0600, removed when the guard
//! drops) named by PGPASSFILE in the child's environment only.

use std::io::Write;
use std::process::Command;

use std::path::Path;

use super::{files, DbError};

fn err(msg: impl Into<String>) -> DbError {
    DbError::Migration(msg.into())
}

/// A client command ready to run, and the passfile it reads (kept alive by
/// holding this value until the child has finished).
pub struct PgCommand {
    pub command: Command,
    _passfile: Option<tempfile::NamedTempFile>,
}

/// `program` (pg_dump or psql) connecting to `url`.
pub fn command(program: &str, url: &str) -> Result<PgCommand, DbError> {
    let (bare, password) = split_password(url);
    let mut command = Command::new(program);
    command.arg(format!("--dbname={bare}"));
    let passfile = match password {
        Some(pw) => {
            // NamedTempFile is created 0600 and removed on drop.
            let mut f = tempfile::Builder::new()
                .prefix(".pm-pgpass-")
                .tempfile()
                .map_err(|e| DbError::Migration(format!("creating a passfile: {e}")))?;
            writeln!(f, "*:*:*:*:{}", passfile_escape(&pw))
                .and_then(|_| f.flush())
                .map_err(|e| DbError::Migration(format!("writing a passfile: {e}")))?;
            command.env("PGPASSFILE", f.path());
            command.env_remove("PGPASSWORD");
            Some(f)
        }
        None => None,
    };
    Ok(PgCommand {
        command,
        _passfile: passfile,
    })
}

/// The URL without its password (userinfo or `password=` parameter) and
/// the password, percent-decoded.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let mut password = None;
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let query_at = rest.find(['?', '#']).unwrap_or(rest.len());
    let (head, query) = rest.split_at(query_at);
    let head = match head.rfind('@') {
        Some(at) => match head[..at].split_once(':') {
            Some((user, pw)) => {
                password = Some(percent_decode(pw));
                format!("{user}{}", &head[at..])
            }
            None => head.to_string(),
        },
        None => head.to_string(),
    };
    let query = match query.strip_prefix('?') {
        Some(q) => {
            let kept: Vec<&str> = q
                .split('&')
                .filter(|kv| match kv.split_once('=') {
                    Some((k, v)) if k.eq_ignore_ascii_case("password") => {
                        password.get_or_insert_with(|| percent_decode(v));
                        false
                    }
                    _ => true,
                })
                .collect();
            if kept.is_empty() {
                String::new()
            } else {
                format!("?{}", kept.join("&"))
            }
        }
        None => query.to_string(),
    };
    (format!("{scheme}://{head}{query}"), password)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A passfile field: `:` and `\` are escaped with a backslash.
fn passfile_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace(':', "\\:")
}

/// `pg_dump` of the database at `url` into `file` (plain SQL; with
/// `clean`, DROP ... IF EXISTS before each CREATE), checked for completeness.
pub fn pg_dump(url: &str, file: &Path, clean: bool) -> Result<(), DbError> {
    let mut pg = command("pg_dump", url)?;
    pg.command
        .args(["--format=plain", "--no-owner", "--no-privileges"])
        .arg(format!("--file={}", file.display()));
    if clean {
        pg.command.args(["--clean", "--if-exists"]);
    }
    let out = pg.command.output().map_err(|e| {
        err(format!(
            "cannot run pg_dump (is the PostgreSQL client installed?): {e}"
        ))
    })?;
    if !out.status.success() {
        return Err(err(format!(
            "pg_dump failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = std::fs::read_to_string(file).map_err(|e| err(format!("reading the dump: {e}")))?;
    if !text.contains("PostgreSQL database dump complete") {
        return Err(err("pg_dump's output is incomplete (no completion marker)"));
    }
    Ok(())
}

/// Run psql on `url`: the `commands` (-c) first, then `file` (-f), stopping
/// at the first error, in psql's restricted mode: a file is SQL, never psql
/// meta-commands (`\!` runs a shell, `\connect` leaves the scratch
/// database). The file is read through a copy without pg_dump's own
/// `\restrict`/`\unrestrict` lines, whose key it would otherwise know.
pub fn psql(
    url: &str,
    flags: &[&str],
    commands: &[&str],
    file: Option<&Path>,
) -> Result<(), DbError> {
    let dir = tempfile::Builder::new()
        .prefix(".pm-psql-")
        .tempdir()
        .map_err(|e| err(format!("creating a temporary directory: {e}")))?;
    let key = crate::password::generate();
    let mut pg = command("psql", url)?;
    pg.command
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1"])
        .args(flags)
        .arg("-c")
        .arg(format!("\\restrict {key}"));
    for c in commands {
        pg.command.arg("-c").arg(c);
    }
    if let Some(f) = file {
        let copy = dir.path().join("input.sql");
        strip_restrict_lines(f, &copy).map_err(|e| err(format!("reading {}: {e}", f.display())))?;
        pg.command.arg(format!("--file={}", copy.display()));
    }
    let out = pg.command.output().map_err(|e| {
        err(format!(
            "cannot run psql (is the PostgreSQL client installed?): {e}"
        ))
    })?;
    if !out.status.success() {
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(())
}

fn strip_restrict_lines(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::io::{BufRead, Write};
    let input = std::io::BufReader::new(std::fs::File::open(from)?);
    let mut out = std::io::BufWriter::new(files::create_new(to, 0o600)?);
    for line in input.split(b'\n') {
        let line = line?;
        let is_key_line = [&b"\\restrict "[..], &b"\\unrestrict "[..]]
            .iter()
            .any(|p| {
                line.strip_prefix(*p).is_some_and(|k| {
                    !k.is_empty() && k.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'\r')
                })
            });
        if !is_key_line {
            out.write_all(&line)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_and_is_decoded() {
        assert_eq!(
            split_password("postgres://pm:p%40ss%3Aw@db:5432/mail?sslmode=require"),
            (
                "postgres://pm@db:5432/mail?sslmode=require".to_string(),
                Some("p@ss:w".to_string())
            )
        );
        assert_eq!(
            split_password("postgres://db/mail?user=pm&password=x%2Fy"),
            ("postgres://db/mail?user=pm".to_string(), Some("x/y".into()))
        );
        assert_eq!(
            split_password("postgres://pm@db/mail"),
            ("postgres://pm@db/mail".to_string(), None)
        );
        assert_eq!(passfile_escape(r"a:b\c"), r"a\:b\\c");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
