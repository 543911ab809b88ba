//! Paths an admin types (`:export ~/x.csv`, an import file, a mail server
//! config): `~` expanded as a shell would, and a failed file operation said
//! in words naming the path at fault, not as `(os error 2) at path …`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// `~` and `~/rest` become the home directory (`$HOME`); anything else,
/// `~user` included, is taken as typed.
pub fn expand_tilde(typed: &str) -> PathBuf {
    expand_with(typed, std::env::var_os("HOME").map(PathBuf::from))
}

fn expand_with(typed: &str, home: Option<PathBuf>) -> PathBuf {
    let Some(home) = home.filter(|h| !h.as_os_str().is_empty()) else {
        return PathBuf::from(typed);
    };
    if typed == "~" {
        return home;
    }
    match typed.strip_prefix("~/") {
        Some(rest) => home.join(rest.trim_start_matches('/')),
        None => PathBuf::from(typed),
    }
}

/// What was being done to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    Reading,
    Writing,
}

/// The directory a new file at `path` goes into.
fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// `e`, met while `doing` `path`, in words: which path is wrong and how.
pub fn explain(path: &Path, doing: Doing, e: &std::io::Error) -> String {
    let p = path.display();
    let dir = dir_of(path);
    match e.kind() {
        ErrorKind::NotFound => {
            if dir.is_dir() {
                format!("{p} does not exist")
            } else {
                format!("directory {} does not exist", dir.display())
            }
        }
        ErrorKind::PermissionDenied => match doing {
            Doing::Reading => format!("permission denied reading {p}"),
            Doing::Writing if path.exists() => format!("permission denied writing {p}"),
            Doing::Writing => format!("permission denied writing {}", dir.display()),
        },
        ErrorKind::IsADirectory => format!("{p} is a directory; name a file"),
        ErrorKind::NotADirectory => {
            let file = path
                .ancestors()
                .skip(1)
                .find(|a| a.is_file())
                .unwrap_or(dir);
            format!("{} is a file, not a directory", file.display())
        }
        ErrorKind::AlreadyExists => format!("{p} exists; nothing is overwritten"),
        ErrorKind::ReadOnlyFilesystem => {
            format!("{} is on a read-only file system", dir.display())
        }
        ErrorKind::StorageFull => format!("no space left on the device for {p}"),
        _ => {
            let what = match doing {
                Doing::Reading => "read",
                Doing::Writing => "write",
            };
            format!("cannot {what} {p}: {}", without_os_code(&e.to_string()))
        }
    }
}

/// "No such file (os error 2)" → "No such file": the number helps nobody.
fn without_os_code(s: &str) -> String {
    match s.find(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Error;

    #[test]
    fn tilde_is_the_home_directory() {
        let home = Some(PathBuf::from("/home/ann"));
        assert_eq!(expand_with("~", home.clone()), Path::new("/home/ann"));
        assert_eq!(
            expand_with("~/x.csv", home.clone()),
            Path::new("/home/ann/x.csv")
        );
        assert_eq!(
            expand_with("~//a/b", home.clone()),
            Path::new("/home/ann/a/b")
        );
        // Not ours to guess: another user's home, a name starting with ~.
        assert_eq!(expand_with("~bob/x", home.clone()), Path::new("~bob/x"));
        assert_eq!(expand_with("a/~/x", home.clone()), Path::new("a/~/x"));
        assert_eq!(expand_with("~/x", None), Path::new("~/x"));
    }

    #[test]
    fn errors_name_the_path_at_fault() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("no/such/dir/x.csv");
        let e = Error::from(ErrorKind::NotFound);
        assert_eq!(
            explain(&missing, Doing::Writing, &e),
            format!(
                "directory {} does not exist",
                dir.path().join("no/such/dir").display()
            )
        );
        let file = dir.path().join("absent.csv");
        assert_eq!(
            explain(&file, Doing::Reading, &e),
            format!("{} does not exist", file.display())
        );
        let denied = Error::from(ErrorKind::PermissionDenied);
        assert_eq!(
            explain(&file, Doing::Writing, &denied),
            format!("permission denied writing {}", dir.path().display())
        );
        let isdir = Error::from(ErrorKind::IsADirectory);
        assert!(
            explain(dir.path(), Doing::Writing, &isdir).ends_with("is a directory; name a file")
        );
        let raw = Error::from_raw_os_error(5);
        let said = explain(&file, Doing::Reading, &raw);
        assert!(!said.contains("os error"), "{said}");
    }
}
