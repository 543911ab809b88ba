//! What keeps the audit chain honest against someone who can write to the
//! database (issue 14 item 5). An unkeyed hash chain only shows edits made
//! by someone who did not bother to recompute the hashes after them; this
//! adds two things the database does not hold:
//!
//! - an HMAC key in a file (`[audit] key_file`, 0600, beside the secrets
//!   key): rows from `audit_chain_key.keyed_from` on are chained with
//!   HMAC-SHA256, so recomputing the hashes after an edit needs the key;
//! - checkpoints of the chain head (first id, last id, its hash, time),
//!   MACed with the same key and appended after every committed write to a
//!   checkpoint file (O_APPEND, 0600) and, if enabled, to syslog. Deleting
//!   the newest rows, or the oldest ones and rewriting the anchor, leaves a
//!   table that disagrees with a checkpoint nobody without the key can
//!   rewrite, and a copy in syslog that the database user cannot touch.
//!
//! A checkpoint that cannot be written does not undo the write it
//! describes (the row is committed, the admin's change is done): the
//! failure is queued as a warning that the CLI prints on stderr and the
//! TUI shows in its status line, and `audit verify` later reports how far
//! the checkpoints reach.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::secrets::{KeyFile, SecretKey};

/// Where the audit key, the checkpoint file and the syslog copy live.
/// Front ends build it from the config (`[audit]`); without one (library
/// callers, most tests) rows are chained with the old unkeyed hash and no
/// checkpoints are written, and writing to a chain that is already keyed
/// is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    pub key_file: KeyFile,
    pub checkpoint_file: PathBuf,
    /// The syslog socket (normally /dev/log); None: syslog copy off.
    pub syslog_socket: Option<PathBuf>,
}

impl Seal {
    pub fn new(key_file: impl Into<PathBuf>, checkpoint_file: impl Into<PathBuf>) -> Seal {
        Seal {
            key_file: KeyFile::new(key_file).named("audit key file"),
            checkpoint_file: checkpoint_file.into(),
            syslog_socket: None,
        }
    }

    pub fn with_syslog(mut self, socket: impl Into<PathBuf>) -> Seal {
        self.syslog_socket = Some(socket.into());
        self
    }
}

/// HMAC-SHA256 of `msg` under the audit key, lower-case hex.
pub(crate) fn mac_hex(key: &SecretKey, msg: &[u8]) -> String {
    // A 32-byte key is always a valid HMAC key; the fallback is unreachable
    // but keeps this free of expect().
    match <Hmac<Sha256> as Mac>::new_from_slice(key.bytes()) {
        Ok(mut m) => {
            m.update(msg);
            hex(&m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A short public name for a key: a MAC of a fixed label. Recorded in the
/// database and every checkpoint, so "wrong key file" is reported as such
/// instead of as every row being tampered with.
pub(crate) fn key_id(key: &SecretKey) -> String {
    mac_hex(key, b"postfix-manager audit key id")[..16].to_string()
}

/// Why a checkpoint was written: prunes (which move the chain's first id)
/// and restores (which replace the chain) are what make a moved first id or
/// an older head legitimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    Write,
    Prune,
    Restore,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Write => "write",
            Event::Prune => "prune",
            Event::Restore => "restore",
        }
    }
}

/// One checkpoint line: the chain as it stood when a write committed.
/// `last` is the newest id and `hash` its row hash; for an empty table
/// they are `first - 1` and the hash the next row will link to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub v: u32,
    pub time: String,
    pub event: String,
    pub first: i64,
    pub last: i64,
    pub hash: String,
    pub keyed_from: i64,
    pub key_id: String,
    pub mac: String,
}

impl Checkpoint {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        key: &SecretKey,
        time: chrono::NaiveDateTime,
        event: Event,
        first: i64,
        last: i64,
        hash: String,
        keyed_from: i64,
    ) -> Checkpoint {
        let mut cp = Checkpoint {
            v: 1,
            time: time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            event: event.as_str().to_string(),
            first,
            last,
            hash,
            keyed_from,
            key_id: key_id(key),
            mac: String::new(),
        };
        cp.mac = mac_hex(key, cp.signed_text().as_bytes());
        cp
    }

    /// Every field but the MAC, in a fixed order and format.
    fn signed_text(&self) -> String {
        json!([
            self.v,
            self.time,
            self.event,
            self.first,
            self.last,
            self.hash,
            self.keyed_from,
            self.key_id
        ])
        .to_string()
    }

    pub fn mac_ok(&self, key: &SecretKey) -> bool {
        let want = mac_hex(key, self.signed_text().as_bytes());
        // Not secret-dependent timing that matters here (the MAC is public
        // once written), but compare in constant time anyway.
        want.len() == self.mac.len()
            && want
                .bytes()
                .zip(self.mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    pub fn event(&self) -> Event {
        match self.event.as_str() {
            "prune" => Event::Prune,
            "restore" => Event::Restore,
            _ => Event::Write,
        }
    }

    fn line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Warnings about checkpoints that could not be written, for the front end
/// to show (stderr in the CLI, the status line in the TUI).
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn warn(msg: String) {
    if let Ok(mut w) = WARNINGS.lock() {
        // One per distinct message: a missing /dev/log must not grow a list
        // for every write of a long TUI session.
        if !w.contains(&msg) {
            w.push(msg);
        }
    }
}

/// Take the queued checkpoint warnings (oldest first).
pub fn take_warnings() -> Vec<String> {
    WARNINGS
        .lock()
        .map(|mut w| std::mem::take(&mut *w))
        .unwrap_or_default()
}

/// Append the checkpoint to the file and to syslog. Never fails the caller:
/// the write it describes is already committed.
pub(crate) fn publish(seal: &Seal, cp: &Checkpoint) {
    if let Err(e) = append_line(&seal.checkpoint_file, &cp.line()) {
        warn(format!(
            "warning: the audit checkpoint was not written to {}: {e}; the change itself is saved, but until the file is writable again `audit verify` cannot vouch for the newest rows",
            seal.checkpoint_file.display()
        ));
    }
    if let Some(sock) = &seal.syslog_socket {
        match send_syslog(sock, &cp.line()) {
            Ok(()) => {}
            // No socket at all: this host runs no syslog daemon (a
            // container), a setup, not a failure; the file copy stands.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn(format!(
                "warning: the audit checkpoint was not sent to syslog ({}): {e}; the change itself is saved (is the syslog daemon running? set [audit] syslog = false to stop sending)",
                sock.display()
            )),
        }
    }
}

/// One line appended with O_APPEND and a single write, so concurrent
/// writers never interleave inside a line; created 0600 (its directory
/// 0700) and synced, since it is evidence.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{line}\n").as_bytes())?;
    f.sync_data()
}

/// Facility authpriv (10), severity notice (5).
const SYSLOG_PRI: u32 = 10 * 8 + 5;
/// The word that marks checkpoint lines in syslog, for `grep`.
pub const SYSLOG_TAG: &str = "audit-checkpoint";

/// An RFC 3164 datagram on the local syslog socket (what syslog(3) sends;
/// journald and rsyslog both read it from /dev/log).
fn send_syslog(socket: &Path, line: &str) -> std::io::Result<()> {
    let msg = format!(
        "<{SYSLOG_PRI}>{} postfix-manager[{}]: {SYSLOG_TAG} {line}",
        chrono::Utc::now().format("%b %e %H:%M:%S"),
        std::process::id()
    );
    let s = std::os::unix::net::UnixDatagram::unbound()?;
    s.send_to(msg.as_bytes(), socket)?;
    Ok(())
}

/// A checkpoint file read back: the lines whose MAC checks, and a problem
/// for each line that does not (forged, edited, or not a checkpoint).
pub(crate) struct Read {
    pub valid: Vec<Checkpoint>,
    pub problems: Vec<String>,
}

/// Read checkpoints from `path`. Lines may carry a prefix before the JSON
/// (a syslog extract: `grep audit-checkpoint /var/log/auth.log`), so the
/// checkpoint is taken from the first `{` on.
pub(crate) fn read(path: &Path, key: &SecretKey) -> std::io::Result<Read> {
    let text = std::fs::read_to_string(path)?;
    let want_id = key_id(key);
    let mut out = Read {
        valid: Vec::new(),
        problems: Vec::new(),
    };
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line
            .find('{')
            .and_then(|i| serde_json::from_str::<Checkpoint>(&line[i..]).ok());
        let Some(cp) = parsed else {
            out.problems.push(format!(
                "checkpoint file {} line {n} is not a checkpoint (edited or torn); ignored",
                path.display()
            ));
            continue;
        };
        if cp.key_id != want_id {
            out.problems.push(format!(
                "checkpoint file {} line {n} (row {}, {}) names audit key {} but the key file holds key {want_id}: forged, or written under another key; ignored",
                path.display(),
                cp.last,
                crate::sanitize::for_terminal(&cp.time),
                crate::sanitize::for_terminal(&cp.key_id)
            ));
        } else if !cp.mac_ok(key) {
            out.problems.push(format!(
                "checkpoint file {} line {n} (claims row {}, {}) has a bad HMAC: forged or edited; ignored",
                path.display(),
                cp.last,
                crate::sanitize::for_terminal(&cp.time)
            ));
        } else {
            out.valid.push(cp);
        }
    }
    Ok(out)
}

/// The checkpoint could not even be computed (the database failed between
/// the write and its commit); same policy as a failed append.
pub(crate) fn publish_failed(seal: &Seal, err: &str) {
    warn(format!(
        "warning: no audit checkpoint was written to {}: reading the chain head failed: {err}",
        seal.checkpoint_file.display()
    ));
}
