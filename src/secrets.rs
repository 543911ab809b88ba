//! Encryption at rest for secrets the product must give back in clear (LDAP
//! bind passwords), unlike login passwords, which are only ever hashed.
//!
//! XChaCha20-Poly1305 with a random 24-byte nonce per encryption (large
//! enough that random nonces never collide in practice). The associated data
//! names the table, column and row id, so a ciphertext copied into another
//! row, or another column, fails authentication instead of decrypting.
//! Stored form: `v1:` + base64(nonce || ciphertext || tag); the prefix lets
//! a later format or cipher coexist with old rows.
//!
//! The key is 32 random bytes, base64 on the first line of a file named by
//! the config (`[secrets] key_file`). It is created with mode 0600 on first
//! need and refused when group or others may read or write it.

use std::fmt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::{Zeroize, Zeroizing};

const VERSION_PREFIX: &str = "v1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// `.0` names which key file ("secrets key file", "audit key file"),
    /// so the admin restores or fixes the right one.
    #[error("{0} {1}: {2}")]
    KeyFile(&'static str, PathBuf, String),
    #[error("{what} {path} is readable or writable by group or others (mode {mode:04o}); run `chmod 600 {path}` and check who could have copied it")]
    KeyFilePermissions {
        what: &'static str,
        path: PathBuf,
        mode: u32,
    },
    /// Wrong key, a tampered value, or a value copied from another row: the
    /// cipher cannot tell these apart, and neither do we.
    #[error("the stored {what} does not decrypt with the current key (wrong key file, or the value was altered or copied from another row)")]
    Decrypt { what: String },
    #[error("encrypting {what} failed")]
    Encrypt { what: String },
    #[error("the stored {what} is not in a known encrypted format")]
    Format { what: String },
    /// Secrets to move to a new key, and no old key to open them with.
    #[error("{count} {what} are stored encrypted but the key file {} does not exist; restore it from backup", path.display())]
    KeyMissing {
        count: usize,
        what: &'static str,
        path: PathBuf,
    },
}

/// A secret in memory: wiped on drop, never printed. There is deliberately
/// no Display and no Serialize.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn new(s: impl Into<String>) -> SecretString {
        SecretString(Zeroizing::new(s.into()))
    }

    /// The plaintext, for the one call that needs it (a bind).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where a ciphertext belongs; becomes the AEAD associated data.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row_id: i64,
}

impl Slot<'_> {
    pub fn ldap_bind_password(row_id: i32) -> Slot<'static> {
        Slot {
            table: "ldap_configs",
            column: "bind_password",
            row_id: i64::from(row_id),
        }
    }

    pub fn dkim_private_key(row_id: i32) -> Slot<'static> {
        Slot {
            table: "dkim_keys",
            column: "private_key",
            row_id: i64::from(row_id),
        }
    }

    fn aad(&self) -> Vec<u8> {
        format!(
            "postfix-manager/{}.{}/{}",
            self.table, self.column, self.row_id
        )
        .into_bytes()
    }

    fn what(&self) -> String {
        format!("{}.{} of row {}", self.table, self.column, self.row_id)
    }
}

/// Stored secrets moved to a new key (`ldap rotate-key`, inside its
/// transaction): each value opened with `old`, sealed with `new` in the
/// same slot and handed to `save` with its row's key; the number moved. With secrets to move
/// and no old key (its file is missing) nothing is moved: they could not
/// be opened, and the new key would lose them for good. `what` names them
/// then ("DKIM private keys").
pub fn reseal<K: Copy, E: From<SecretError>>(
    what: &'static str,
    sealed: &[(K, Slot<'_>, &str)],
    (old, new): (Option<&SecretKey>, &SecretKey),
    key_path: &Path,
    mut save: impl FnMut(K, String) -> Result<(), E>,
) -> Result<usize, E> {
    if sealed.is_empty() {
        return Ok(0);
    }
    let Some(old) = old else {
        return Err(SecretError::KeyMissing {
            count: sealed.len(),
            what,
            path: key_path.to_path_buf(),
        }
        .into());
    };
    for (key, slot, stored) in sealed {
        let plain = old.decrypt(*slot, stored)?;
        save(*key, new.encrypt(*slot, &plain)?)?;
    }
    Ok(sealed.len())
}

/// The 32-byte key, wiped on drop.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

impl SecretKey {
    pub fn generate() -> SecretKey {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        rand::rng().fill_bytes(k.as_mut());
        SecretKey(k)
    }

    /// The raw key, for the audit HMAC (`ops::audit_seal`), which keeps its
    /// own key in a file of the same format.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }

    fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}\n", B64.encode(self.0.as_ref())))
    }

    fn from_text(what: &'static str, path: &Path, text: &str) -> Result<SecretKey, SecretError> {
        let line = text.lines().next().unwrap_or("").trim();
        let mut bytes = Zeroizing::new(B64.decode(line).map_err(|_| {
            SecretError::KeyFile(
                what,
                path.to_path_buf(),
                "the first line is not base64 (was the file edited?)".into(),
            )
        })?);
        if bytes.len() != KEY_LEN {
            return Err(SecretError::KeyFile(
                what,
                path.to_path_buf(),
                format!(
                    "holds {} bytes, a key has {KEY_LEN} (was the file edited?)",
                    bytes.len()
                ),
            ));
        }
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        k.copy_from_slice(&bytes);
        bytes.zeroize();
        Ok(SecretKey(k))
    }

    pub fn encrypt(&self, slot: Slot<'_>, plain: &SecretString) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = slot.aad();
        let ct = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain.expose().as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::Encrypt { what: slot.what() })?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(format!("{VERSION_PREFIX}{}", B64.encode(out)))
    }

    pub fn decrypt(&self, slot: Slot<'_>, stored: &str) -> Result<SecretString, SecretError> {
        let body = stored
            .strip_prefix(VERSION_PREFIX)
            .ok_or_else(|| SecretError::Format { what: slot.what() })?;
        let raw = B64
            .decode(body)
            .map_err(|_| SecretError::Format { what: slot.what() })?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(SecretError::Format { what: slot.what() });
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let aad = slot.aad();
        let plain = Zeroizing::new(
            self.cipher()
                .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| SecretError::Decrypt { what: slot.what() })?,
        );
        let s =
            std::str::from_utf8(&plain).map_err(|_| SecretError::Decrypt { what: slot.what() })?;
        Ok(SecretString::new(s))
    }
}

/// Is this stored value in our encrypted format (as opposed to a plaintext
/// left by an older tool writing the seed table)?
pub fn is_encrypted(stored: &str) -> bool {
    stored.starts_with(VERSION_PREFIX)
}

/// The key file named by the config. Loading is lazy: commands that never
/// touch a secret never create or read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub path: PathBuf,
    /// What errors call it: "secrets key file" or "audit key file".
    pub what: &'static str,
}

impl KeyFile {
    pub fn new(path: impl Into<PathBuf>) -> KeyFile {
        KeyFile {
            path: path.into(),
            what: "secrets key file",
        }
    }

    /// The same file format under another name in errors (the audit HMAC
    /// key is not the secrets key, and restoring the wrong one helps nobody).
    pub fn named(mut self, what: &'static str) -> KeyFile {
        self.what = what;
        self
    }

    /// Read the key; refuses a file that group or others can access.
    pub fn load(&self) -> Result<SecretKey, SecretError> {
        let err = |e: String| SecretError::KeyFile(self.what, self.path.clone(), e);
        let meta = std::fs::metadata(&self.path).map_err(|e| err(e.to_string()))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SecretError::KeyFilePermissions {
                what: self.what,
                path: self.path.clone(),
                mode,
            });
        }
        let text =
            Zeroizing::new(std::fs::read_to_string(&self.path).map_err(|e| err(e.to_string()))?);
        SecretKey::from_text(self.what, &self.path, &text)
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Load the key, creating the file (mode 0600) when it does not exist.
    /// Two processes creating it at once end up with one key: the file is
    /// written under a temporary name and hard-linked into place, which
    /// fails for the loser, who then reads the winner's key.
    pub fn load_or_create(&self) -> Result<SecretKey, SecretError> {
        if self.path.exists() {
            return self.load();
        }
        let key = SecretKey::generate();
        let tmp = self.sibling(&format!("new.{}", std::process::id()));
        self.write_private(&tmp, &key)?;
        let linked = std::fs::hard_link(&tmp, &self.path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => self.load(),
            Err(e) => Err(SecretError::KeyFile(
                self.what,
                self.path.clone(),
                e.to_string(),
            )),
        }
    }

    /// A file next to the key: `<key file name>.<suffix>`.
    pub fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(format!(".{suffix}"));
        self.path.with_file_name(name)
    }

    /// Write `key` to `path` with mode 0600, creating the directory (0700)
    /// if needed; refuses to overwrite.
    pub fn write_private(&self, path: &Path, key: &SecretKey) -> Result<(), SecretError> {
        let err =
            |e: std::io::Error| SecretError::KeyFile(self.what, path.to_path_buf(), e.to_string());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(err)?;
            }
        }
        crate::db::files::write_new(path, key.to_text().as_bytes(), 0o600).map_err(err)
    }

    /// Replace the key file with `new` (written at `staged` beforehand):
    /// the current key is kept as `backup`, then `staged` is renamed over
    /// the key file, which is atomic on one filesystem.
    pub fn replace(&self, staged: &Path, backup: &Path) -> Result<(), SecretError> {
        let err = |p: &Path, e: std::io::Error| {
            SecretError::KeyFile(self.what, p.to_path_buf(), e.to_string())
        };
        std::fs::hard_link(&self.path, backup).map_err(|e| err(backup, e))?;
        std::fs::rename(staged, &self.path).map_err(|e| err(&self.path, e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable before anyone relies on it.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ldap rotate-key` moves every sealed value to the new key in its
    /// own slot; with values to move and no old key it moves none.
    #[test]
    fn reseal_moves_each_value_to_the_new_key_or_none() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let pw = SecretString::new("bind-pw");
        let a = old.encrypt(Slot::ldap_bind_password(1), &pw).unwrap();
        let b = old.encrypt(Slot::ldap_bind_password(2), &pw).unwrap();
        let sealed = [
            (1, Slot::ldap_bind_password(1), a.as_str()),
            (2, Slot::ldap_bind_password(2), b.as_str()),
        ];
        let mut saved = Vec::new();
        let n = reseal::<_, SecretError>(
            "LDAP bind passwords",
            &sealed,
            (Some(&old), &new),
            Path::new("k"),
            |id, v| {
                saved.push((id, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(n, 2);
        for (id, v) in &saved {
            let plain = new.decrypt(Slot::ldap_bind_password(*id), v).unwrap();
            assert_eq!(plain.expose(), "bind-pw");
            assert!(old.decrypt(Slot::ldap_bind_password(*id), v).is_err());
        }
        let none = reseal::<_, SecretError>(
            "LDAP bind passwords",
            &sealed,
            (None, &new),
            Path::new("/etc/pm/secret.key"),
            |_, _| panic!("nothing is saved without the old key"),
        )
        .unwrap_err();
        assert_eq!(
            none.to_string(),
            "2 LDAP bind passwords are stored encrypted but the key file /etc/pm/secret.key does not exist; restore it from backup"
        );
        let empty: [(i32, Slot<'_>, &str); 0] = [];
        assert_eq!(
            reseal::<_, SecretError>("x", &empty, (None, &new), Path::new("k"), |_, _| Ok(()))
                .unwrap(),
            0
        );
    }

    #[test]
    fn round_trip_and_row_binding() {
        let k = SecretKey::generate();
        let pw = SecretString::new("s3cret-bind");
        let c = k.encrypt(Slot::ldap_bind_password(1), &pw).unwrap();
        assert!(c.starts_with("v1:"));
        assert!(!c.contains("s3cret"));
        assert_eq!(k.decrypt(Slot::ldap_bind_password(1), &c).unwrap(), pw);
        assert!(matches!(
            k.decrypt(Slot::ldap_bind_password(2), &c),
            Err(SecretError::Decrypt { .. })
        ));
        let other = SecretKey::generate();
        assert!(other.decrypt(Slot::ldap_bind_password(1), &c).is_err());
        assert_ne!(
            c,
            k.encrypt(Slot::ldap_bind_password(1), &pw).unwrap(),
            "fresh nonce"
        );
    }

    #[test]
    fn any_flipped_byte_is_refused() {
        let k = SecretKey::generate();
        let c = k
            .encrypt(Slot::ldap_bind_password(3), &SecretString::new("pw"))
            .unwrap();
        let raw = B64.decode(&c[3..]).unwrap();
        for i in 0..raw.len() {
            let mut t = raw.clone();
            t[i] ^= 0x01;
            let tampered = format!("v1:{}", B64.encode(&t));
            assert!(
                k.decrypt(Slot::ldap_bind_password(3), &tampered).is_err(),
                "byte {i}"
            );
        }
        assert!(matches!(
            k.decrypt(Slot::ldap_bind_password(3), "plaintext"),
            Err(SecretError::Format { .. })
        ));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = SecretString::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        let k = SecretKey::generate();
        assert!(!format!("{k:?}").contains(&B64.encode(k.0.as_ref())));
    }

    #[test]
    fn key_file_created_private_and_refused_when_open() {
        let dir = tempfile::tempdir().unwrap();
        let kf = KeyFile::new(dir.path().join("sub/secret.key"));
        let k1 = kf.load_or_create().unwrap();
        let mode = std::fs::metadata(&kf.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let k2 = kf.load_or_create().unwrap();
        let c = k1
            .encrypt(Slot::ldap_bind_password(1), &SecretString::new("x"))
            .unwrap();
        assert!(
            k2.decrypt(Slot::ldap_bind_password(1), &c).is_ok(),
            "same key reloaded"
        );
        std::fs::set_permissions(&kf.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            kf.load(),
            Err(SecretError::KeyFilePermissions { mode: 0o644, .. })
        ));
        assert!(kf.load_or_create().is_err());
    }
}
