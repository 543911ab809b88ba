//! Which processes use a SQLite database: each process that connects holds a
//! shared `flock` on `<db>.sessions` for as long as it runs. `db restore`
//! upgrades its own lock to exclusive, which succeeds only when no other
//! postfix-manager process (CLI, TUI) has the database open.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

fn registry() -> &'static Mutex<HashMap<PathBuf, File>> {
    static REG: OnceLock<Mutex<HashMap<PathBuf, File>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push(".sessions");
    PathBuf::from(s)
}

fn key(db: &Path) -> PathBuf {
    std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf())
}

/// Register this process as a user of `db` (idempotent per process).
pub fn join(db: &Path) -> std::io::Result<()> {
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    let k = key(db);
    if reg.contains_key(&k) {
        return Ok(());
    }
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(db))?;
    f.lock_shared()?;
    reg.insert(k, f);
    Ok(())
}

/// Try to become the only process using `db`. Ok(true) when exclusive; the
/// lock then stays exclusive until `share_again` or process exit.
pub fn try_exclusive(db: &Path) -> std::io::Result<bool> {
    join(db)?;
    let reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    let Some(f) = reg.get(&key(db)) else {
        return Ok(false);
    };
    match f.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Go back to a shared lock after an exclusive section.
pub fn share_again(db: &Path) -> std::io::Result<()> {
    let reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(f) = reg.get(&key(db)) {
        f.lock_shared()?;
    }
    Ok(())
}
