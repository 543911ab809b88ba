//! Architecture rules checked on the source text (issue 16), so a change
//! that breaks them fails `cargo test` instead of waiting for a review:
//! - the TUI never touches the database itself: `src/tui` names no
//!   `diesel`, no `db::connect` and no connection type (the worker does);
//! - `src/store` (queries) never imports `ops` (the layer above it);
//! - no function in `src/` is longer than `MAX_FN_LINES`, outside the
//!   directories still listed in `FN_LENGTH_PENDING`.
//!
//! Comments and string literals are blanked before matching, so a doc
//! comment may mention what the code must not use.

use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 120;

/// Not yet split below `MAX_FN_LINES` (issue 16 moves these); remove an
/// entry once its directory complies.
const FN_LENGTH_PENDING: &[&str] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, sorted, as (path relative to the crate
/// root with `/` separators, contents).
fn sources(dir: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    let base = root();
    let start = base.join(dir);
    if start.is_file() {
        files.push(start);
    } else {
        walk(&start, &mut files);
    }
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read source");
            let rel = p
                .strip_prefix(&base)
                .expect("under the crate")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, text)
        })
        .collect()
}

/// `src` with comments and the insides of string and char literals
/// replaced by spaces; line breaks are kept so line numbers still match.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let blank = |out: &mut Vec<u8>, s: &[u8]| {
        out.extend(s.iter().map(|&c| if c == b'\n' { b'\n' } else { b' ' }));
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let mut depth = 0;
            let mut j = 0;
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if (rest.starts_with(b"r\"") || rest.starts_with(b"r#") || rest.starts_with(b"br"))
            && (i == 0 || !ident(b[i - 1]))
            && raw_string_len(rest).is_some()
        {
            let n = raw_string_len(rest).unwrap_or(1);
            blank(&mut out, &rest[..n]);
            i += n;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let n = (j + 1).min(rest.len());
            out.push(b'"');
            blank(&mut out, &rest[1..n - 1]);
            out.push(b'"');
            i += n;
        } else if rest[0] == b'\'' {
            // A char literal ('x', '\n', '\u{..}'), not a lifetime ('a).
            let n = if rest.get(1) == Some(&b'\\') {
                rest.iter().skip(2).position(|&c| c == b'\'').map(|p| p + 3)
            } else if rest.get(2) == Some(&b'\'') {
                Some(3)
            } else {
                // A multi-byte UTF-8 char: find the closing quote within 5 bytes.
                rest.iter()
                    .take(6)
                    .skip(1)
                    .position(|&c| c == b'\'')
                    .filter(|_| rest[1] >= 0x80)
                    .map(|p| p + 2)
            };
            match n {
                Some(n) => {
                    blank(&mut out, &rest[..n]);
                    i += n;
                }
                None => {
                    out.push(b'\'');
                    i += 1;
                }
            }
        } else {
            out.push(rest[0]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Length of a raw string literal (`r"..."`, `r#"..."#`, `br"..."`) at the
/// start of `s`, if there is one.
fn raw_string_len(s: &[u8]) -> Option<usize> {
    let mut i = usize::from(s.first() == Some(&b'b'));
    if s.get(i) != Some(&b'r') {
        return None;
    }
    i += 1;
    let hashes = s[i..].iter().take_while(|&&c| c == b'#').count();
    i += hashes;
    if s.get(i) != Some(&b'"') {
        return None;
    }
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = i + 1;
    s[body..]
        .windows(close.len())
        .position(|w| w == close.as_slice())
        .map(|p| body + p + close.len())
}

/// Whether `word` occurs in `code` as a whole identifier path (not as
/// part of a longer name).
fn names(code: &str, word: &str) -> Vec<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut lines = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find(word) {
        let at = from + p;
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        if !before.is_some_and(ident) && !after.is_some_and(ident) {
            lines.push(code[..at].matches('\n').count() + 1);
        }
        from = at + word.len();
    }
    lines
}

/// Every `crate::ops` reference, including inside a `use crate::{...}` group.
fn imports_ops(code: &str) -> Vec<usize> {
    let mut lines = names(code, "crate::ops");
    let mut from = 0;
    while let Some(p) = code[from..].find("crate::{") {
        let start = from + p + "crate::{".len();
        let mut depth = 1;
        let mut end = start;
        for (k, c) in code[start..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + k;
                break;
            }
        }
        // Top-level items of the group only: `ops` or `ops::...`.
        let group = &code[start..end];
        let mut depth = 0;
        let mut item = String::new();
        for c in group.chars().chain(std::iter::once(',')) {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    let t = item.trim();
                    if t == "ops" || t.starts_with("ops::") || t.starts_with("ops ") {
                        lines.push(code[..start].matches('\n').count() + 1);
                    }
                    item.clear();
                    continue;
                }
                _ => {}
            }
            item.push(c);
        }
        from = end.max(start);
    }
    lines
}

/// Every function with a body longer than `max` lines (counted from the
/// `fn` line to the closing brace): (line, name, length).
fn long_fns(code: &str, max: usize) -> Vec<(usize, String, usize)> {
    let b = code.as_bytes();
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find("fn ") {
        let at = from + p;
        from = at + 3;
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let name: String = code[at + 3..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // The body starts at the first `{` outside the signature's
        // parentheses and brackets; a `;` first means no body.
        let mut j = at;
        let mut nest = 0i32;
        while j < b.len() {
            match b[j] {
                b'(' | b'[' => nest += 1,
                b')' | b']' => nest -= 1,
                b'{' | b';' if nest == 0 => break,
                _ => {}
            }
            j += 1;
        }
        if j >= b.len() || b[j] == b';' {
            continue;
        }
        let mut depth = 0;
        let mut end = j;
        for (k, &c) in b.iter().enumerate().skip(j) {
            match c {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let len = line_of(end) - line_of(at) + 1;
        if len > max {
            found.push((line_of(at), name, len));
        }
    }
    found
}

#[test]
fn the_tui_never_touches_the_database_directly() {
    let mut bad = Vec::new();
    for (path, text) in sources("src/tui") {
        let code = code_only(&text);
        for word in [
            "diesel",
            "db::connect",
            "AnyConnection",
            "PgConnection",
            "SqliteConnection",
        ] {
            for line in names(&code, word) {
                bad.push(format!("{path}:{line}: {word}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "src/tui must reach the database only through the worker:\n{}",
        bad.join("\n")
    );
}

#[test]
fn store_never_imports_ops() {
    let mut bad = Vec::new();
    for (path, text) in sources("src/store") {
        for line in imports_ops(&code_only(&text)) {
            bad.push(format!("{path}:{line}"));
        }
    }
    assert!(
        bad.is_empty(),
        "src/store is below ops and must not import it:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let mut bad = Vec::new();
    for (path, text) in sources("src") {
        if FN_LENGTH_PENDING.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for (line, name, len) in long_fns(&code_only(&text), MAX_FN_LINES) {
            bad.push(format!("{path}:{line}: fn {name} is {len} lines"));
        }
    }
    assert!(
        bad.is_empty(),
        "functions over {MAX_FN_LINES} lines (split them):\n{}",
        bad.join("\n")
    );
}

/// The checks themselves: each must see what it is meant to catch.
#[test]
fn the_checks_catch_planted_violations() {
    let tui = code_only(
        "// diesel in a comment is fine\nlet s = \"AnyConnection\";\nuse diesel::prelude::*;\nlet c = db::connect(&u, false);\nfn f(c: &mut AnyConnection) {}\nstruct MyAnyConnectionish;\n",
    );
    assert_eq!(names(&tui, "diesel"), vec![3]);
    assert_eq!(names(&tui, "db::connect"), vec![4]);
    assert_eq!(names(&tui, "AnyConnection"), vec![5]);

    let store = code_only(
        "//! crate::ops is above us\nuse crate::ops::Perm;\nuse crate::{db, ops};\nuse crate::{db::{self, x}, ops::authz};\nuse crate::{db, operations};\nlet x = crate::ops::now();\n",
    );
    assert_eq!(imports_ops(&store), vec![2, 6, 3, 4]);

    let body = (0..130).map(|_| "    x();\n").collect::<String>();
    let src = format!(
        "fn short() {{ }}\nfn long(a: [u8; 2]) -> Result<(), ()> {{\n{body}}}\nfn decl();\nconst S: &str = \"fn fake() {{\";\n"
    );
    let long = long_fns(&code_only(&src), MAX_FN_LINES);
    assert_eq!(long, vec![(2, "long".to_string(), 132)]);
}
