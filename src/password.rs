//! bcrypt hashing for admin users and mailboxes. Mailbox hashes carry the
//! `{BLF-CRYPT}` scheme prefix so Dovecot verifies them whatever its
//! default_pass_scheme is.

use rand::distr::{Alphanumeric, SampleString};

pub const DOVECOT_PREFIX: &str = "{BLF-CRYPT}";

/// Every app password begins with this (issue 19); the generated Dovecot
/// passdb tells app passwords from mailbox passwords by it.
pub const APP_PREFIX: &str = "pmapp-";
/// An app password's selector, stored in clear to find its row: the prefix
/// and 8 random characters.
pub const APP_SELECTOR_LEN: usize = APP_PREFIX.len() + 8;

/// Length of generated passwords (about 143 bits from 62 symbols).
pub const GENERATED_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn bcrypt_2y(pw: &str, cost: u32) -> Result<String, HashError> {
    let parts = bcrypt::hash_with_result(pw, cost).map_err(|e| HashError(e.to_string()))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoY))
}

/// Hash for the users table.
pub fn hash_admin(pw: &str, cost: u32) -> Result<String, HashError> {
    bcrypt_2y(pw, cost)
}

/// Hash for the mailboxes table, in Dovecot's `{BLF-CRYPT}$2y$...` form.
pub fn hash_mailbox(pw: &str, cost: u32) -> Result<String, HashError> {
    Ok(format!("{DOVECOT_PREFIX}{}", bcrypt_2y(pw, cost)?))
}

/// Accept an already hashed mailbox password (from an import): bcrypt in
/// modular-crypt form `$2y$`/`$2b$`/`$2a$`, cost 04-31, 53 characters of salt
/// and hash, with or without the `{BLF-CRYPT}` prefix. Returns it with the
/// prefix, which is what Dovecot needs; None when it is not such a hash.
pub fn normalize_mailbox_hash(s: &str) -> Option<String> {
    let bare = s.strip_prefix(DOVECOT_PREFIX).unwrap_or(s);
    let b = bare.as_bytes();
    let ok = b.len() == 60
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && (4..=31).contains(&((b[4] - b'0') * 10 + (b[5] - b'0')))
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/');
    ok.then(|| format!("{DOVECOT_PREFIX}{bare}"))
}

/// Does this look like any password hash (so an import must not treat it as
/// a plaintext password)? `{SCHEME}` prefixes and `$id$` crypt strings.
pub fn looks_hashed(s: &str) -> bool {
    (s.starts_with('{') && s.contains('}')) || (s.starts_with('$') && s[1..].contains('$'))
}

/// Check a password against a stored hash with or without the scheme prefix.
pub fn verify(pw: &str, stored: &str) -> bool {
    let hash = stored.strip_prefix(DOVECOT_PREFIX).unwrap_or(stored);
    bcrypt::verify(pw, hash).unwrap_or(false)
}

/// Spend the time of one real check at `cost` where no real one ran (an
/// unknown user, a locked account, an LDAP user, a stored hash cheaper than
/// the configured cost), so the answer time does not reveal which names are
/// real or how their passwords are checked. Returns the cost actually spent,
/// read back from the hash it made, which is what the audit row records.
pub fn verify_dummy(pw: &str, cost: u32) -> Option<u32> {
    // Hashing with a fresh salt costs what verifying at that cost does.
    bcrypt::hash(pw, cost).ok().and_then(|h| cost_of(&h))
}

/// The cost factor of a bcrypt hash (with or without the scheme prefix).
pub fn cost_of(stored: &str) -> Option<u32> {
    let hash = stored.strip_prefix(DOVECOT_PREFIX).unwrap_or(stored);
    let b = hash.as_bytes();
    if b.len() < 7 || b[0] != b'$' || b[3] != b'$' || b[6] != b'$' {
        return None;
    }
    hash.get(4..6)?.parse().ok()
}

pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), GENERATED_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imported_hashes_are_checked_and_prefixed() {
        let h = hash_mailbox("correct horse battery", 4).unwrap();
        let bare = h.strip_prefix(DOVECOT_PREFIX).unwrap();
        assert_eq!(normalize_mailbox_hash(&h).as_deref(), Some(h.as_str()));
        assert_eq!(normalize_mailbox_hash(bare).as_deref(), Some(h.as_str()));
        let b = bare.replacen("$2y$", "$2b$", 1);
        assert_eq!(
            normalize_mailbox_hash(&b),
            Some(format!("{DOVECOT_PREFIX}{b}"))
        );
        assert!(verify(
            "correct horse battery",
            &normalize_mailbox_hash(&b).unwrap()
        ));
        for bad in [
            bare.replacen("$04$", "$03$", 1),
            bare.replacen("$04$", "$32$", 1),
            bare.replacen("$2y$", "$2x$", 1),
            bare[..59].to_string(),
            format!("{bare}x"),
            "{SHA512-CRYPT}$6$salt$hash".to_string(),
        ] {
            assert_eq!(normalize_mailbox_hash(&bad), None, "{bad}");
        }
        assert!(looks_hashed("{SHA512-CRYPT}$6$x"));
        assert!(looks_hashed("$6$salt$hash"));
        assert!(!looks_hashed("plain password"));
    }

    #[test]
    fn mailbox_hash_round_trips() {
        let h = hash_mailbox("correct horse battery", 4).unwrap();
        assert!(h.starts_with("{BLF-CRYPT}$2y$04$"), "{h}");
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong", &h));
    }

    #[test]
    fn cost_is_read_from_the_hash() {
        assert_eq!(cost_of(&hash_admin("x-password", 5).unwrap()), Some(5));
        assert_eq!(cost_of(&hash_mailbox("x-password", 4).unwrap()), Some(4));
        assert_eq!(verify_dummy("anything", 6), Some(6));
        assert_eq!(cost_of("plain"), None);
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate();
        assert_eq!(a.len(), GENERATED_LEN);
        assert_ne!(a, generate());
    }
}
