//! Writing files that running mail servers read: never half-written. A file
//! is written beside its target, fsynced, then renamed over it; a whole
//! directory is built beside its target and swapped in with one
//! `renameat2(RENAME_EXCHANGE)`, so a reader sees the old set or the new set.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::db::files::write_new;
use std::path::{Path, PathBuf};

/// Marks a directory as ours: `write_dir` refuses to replace a non-empty
/// directory without it (so `--out /etc/postfix` cannot wipe a live config).
pub const MARKER: &str = ".postfix-manager-generated";

fn unique(dir: &Path, stem: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    dir.join(format!(".{stem}.{}.{nanos}.tmp", std::process::id()))
}

fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Replace (or create) `path` with `bytes`. An existing file keeps its owner
/// and mode; a new one gets `mode`.
pub fn replace_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_of(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let tmp = unique(dir, &name);
    let existing = fs::metadata(path).ok();
    let mode = existing
        .as_ref()
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(mode);
    let result = (|| {
        write_new(&tmp, bytes, mode)?;
        if let Some(m) = &existing {
            std::os::unix::fs::chown(&tmp, Some(m.uid()), Some(m.gid()))?;
        }
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Owner, group and mode a generated file (or the directory) gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Perms {
    uid: Option<u32>,
    gid: Option<u32>,
    mode: u32,
}

impl Perms {
    fn of(m: &fs::Metadata) -> Perms {
        Perms {
            uid: Some(m.uid()),
            gid: Some(m.gid()),
            mode: m.permissions().mode() & 0o7777,
        }
    }

    /// chown only what differs from what creating the file gave it, so a
    /// non-root run that changes nothing never needs the privilege.
    fn apply(&self, path: &Path) -> io::Result<()> {
        let now = fs::metadata(path)?;
        let uid = self.uid.filter(|u| *u != now.uid());
        let gid = self.gid.filter(|g| *g != now.gid());
        if uid.is_some() || gid.is_some() {
            std::os::unix::fs::chown(path, uid, gid).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "cannot give {} owner {:?} group {:?} (as the previous file had, or mail.file_group asks): {e}",
                        path.display(),
                        uid,
                        gid
                    ),
                )
            })?;
        }
        // chown may clear set-id bits; the mode is set last.
        fs::set_permissions(path, fs::Permissions::from_mode(self.mode))
    }
}

/// Make `out` hold exactly `files` (name, contents). A file that exists in
/// `out` already keeps its owner, group and mode (an admin's `chgrp
/// postfix` survives re-generating: losing it makes every lookup fail after
/// the next reload); a new file gets `mode` and, if given, group `gid`. The
/// directory itself likewise.
pub fn write_dir(
    out: &Path,
    files: &[(String, String)],
    mode: u32,
    gid: Option<u32>,
) -> io::Result<()> {
    write_dir_owned(out, files, mode, None, gid)
}

/// `write_dir` whose new files and new directory also get owner `uid`
/// (DKIM key sets belong to the signer's user, e.g. `opendkim`).
pub fn write_dir_owned(
    out: &Path,
    files: &[(String, String)],
    mode: u32,
    uid: Option<u32>,
    gid: Option<u32>,
) -> io::Result<()> {
    for (name, _) in files {
        if name.contains('/') || name.starts_with('.') || name.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad generated file name {name:?}"),
            ));
        }
    }
    let exists = match fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a directory", out.display()),
            ))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e),
    };
    if exists && !out.join(MARKER).exists() && fs::read_dir(out)?.next().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} is not empty and was not written by postfix-manager (no {MARKER}); choose an empty or new directory",
                out.display()
            ),
        ));
    }
    let fresh = |mode: u32| Perms { uid, gid, mode };
    let perms_of = |name: &str, default: Perms| -> Perms {
        fs::symlink_metadata(out.join(name))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| Perms::of(&m))
            .unwrap_or(default)
    };
    let dir_perms = if exists {
        Perms::of(&fs::metadata(out)?)
    } else {
        fresh(0o750)
    };
    let parent = parent_of(out);
    fs::create_dir_all(parent)?;
    let stem = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "generated".into());
    let tmp = unique(parent, &stem);
    let built = (|| {
        fs::create_dir(&tmp)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o700))?;
        for (name, body) in files {
            let path = tmp.join(name);
            // Created 0600, widened only once owner and group are right.
            write_new(&path, body.as_bytes(), 0o600)?;
            perms_of(name, fresh(mode)).apply(&path)?;
        }
        let marker = tmp.join(MARKER);
        write_new(
            &marker,
            b"Written by `postfix-manager mail generate`; the whole directory is replaced on each run.\n",
            0o600,
        )?;
        perms_of(MARKER, fresh(mode)).apply(&marker)?;
        dir_perms.apply(&tmp)?;
        sync_dir(&tmp)
    })();
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let swapped = if exists {
        nix::fcntl::renameat2(
            None,
            &tmp,
            None,
            out,
            nix::fcntl::RenameFlags::RENAME_EXCHANGE,
        )
        .map_err(io::Error::from)
    } else {
        fs::rename(&tmp, out)
    };
    match swapped {
        Ok(()) => {
            sync_dir(parent)?;
            // After an exchange `tmp` holds the previous set.
            if exists {
                fs::remove_dir_all(&tmp)?;
            }
            Ok(())
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_is_swapped_whole_and_foreign_dirs_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("gen");
        write_dir(&out, &[("a.cf".into(), "one".into())], 0o640, None).unwrap();
        write_dir(&out, &[("b.cf".into(), "two".into())], 0o640, None).unwrap();
        assert!(!out.join("a.cf").exists(), "old files do not linger");
        assert_eq!(fs::read_to_string(out.join("b.cf")).unwrap(), "two");
        assert_eq!(
            fs::metadata(out.join("b.cf")).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let leftovers: Vec<_> = fs::read_dir(t.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp dirs left behind");

        let foreign = t.path().join("etc");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("main.cf"), "x").unwrap();
        let err = write_dir(&foreign, &[("a.cf".into(), "x".into())], 0o640, None).unwrap_err();
        assert!(err.to_string().contains("not written by postfix-manager"));
        assert_eq!(fs::read_to_string(foreign.join("main.cf")).unwrap(), "x");
    }

    #[test]
    fn replace_keeps_mode() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("main.cf");
        fs::write(&f, "old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o604)).unwrap();
        replace_file(&f, b"new", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&f).unwrap(), "new");
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o604
        );
    }
}
