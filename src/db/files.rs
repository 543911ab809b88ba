//! Files that hold password hashes (the SQLite database, backups and their
//! temporary copies) are private from their first byte: created with the
//! final mode instead of chmod-ed afterwards, so no other user can open them
//! in between (an open descriptor outlives a later chmod).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of a new file holding hashes: owner only, unless its directory is
/// setgid. docs/mail-server-setup.md puts a SQLite database the mail servers
/// read in a setgid directory (2770) owned by their group; the file then
/// inherits that group and needs its read/write (WAL readers write the -shm).
pub fn private_mode(dir: &Path) -> u32 {
    let setgid = std::fs::metadata(dir)
        .map(|m| m.mode() & 0o2000 != 0)
        .unwrap_or(false);
    if setgid {
        0o660
    } else {
        0o600
    }
}

/// Make sure the SQLite database at `path` exists with a private mode,
/// creating missing parent directories 0700. An existing file is left as it
/// is (the operator may have given it to the mail group). SQLite opens the
/// empty file as an empty database and creates its -wal and -shm files with
/// the database file's mode.
pub fn create_private(path: &Path) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.exists() {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    match create_new(path, private_mode(dir)) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Create `path` (which must not exist) with `mode`, exactly: the umask may
/// only narrow it, and a narrower mode than asked would lock the mail group
/// out, so it is set again on the open descriptor.
pub fn create_new(path: &Path, mode: u32) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    Ok(f)
}

/// `create_new`, then `bytes` written and synced: key files and mail
/// configs are never overwritten in place nor left half-written unnoticed.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = create_new(path, mode)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// A warning when a secret file can be read by its group or by others (the
/// CLI prints it on stderr); None when it is private or cannot be checked.
pub fn exposure_warning(path: &Path, what: &str) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "warning: {what} file {} is readable by {} (mode {mode:04o}); chmod 600 it",
            path.display(),
            if mode & 0o007 != 0 {
                "other users"
            } else {
                "its group"
            }
        )
    })
}
