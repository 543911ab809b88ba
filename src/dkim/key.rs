//! DKIM key pairs: generated here or imported from a PEM file, checked
//! against the rules receivers apply (RFC 8301: RSA below 1024 bits fails,
//! and we refuse below 2048), and the public half in the form DNS publishes.

use base64::Engine as _;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use serde::Serialize;

use crate::error::{OpError, OpResult};
use crate::secrets::SecretString;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    Rsa,
    /// RFC 8463, published beside an RSA key for dual signing: many
    /// verifiers still ignore it, so it never signs alone.
    Ed25519,
}

pub const RSA_BITS: [u32; 3] = [2048, 3072, 4096];
pub const DEFAULT_RSA_BITS: u32 = 2048;
/// What `bits` means for an Ed25519 key (its size is fixed).
pub const ED25519_BITS: u32 = 256;

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::Rsa, Algorithm::Ed25519];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Rsa => "rsa",
            Algorithm::Ed25519 => "ed25519",
        }
    }

    pub fn parse(field: &str, s: &str) -> OpResult<Algorithm> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rsa" => Ok(Algorithm::Rsa),
            "ed25519" => Ok(Algorithm::Ed25519),
            _ => Err(OpError::invalid(field, "must be rsa or ed25519")),
        }
    }

    /// The signature algorithm's name in a DKIM-Signature `a=` tag and in
    /// rspamd's configuration.
    pub fn signing_name(self) -> &'static str {
        match self {
            Algorithm::Rsa => "rsa-sha256",
            Algorithm::Ed25519 => "ed25519-sha256",
        }
    }
}

/// The key size to generate: RSA 2048 unless asked for 3072 or 4096;
/// Ed25519 has one size.
pub fn bits(field: &str, algorithm: Algorithm, asked: Option<u32>) -> OpResult<u32> {
    match (algorithm, asked) {
        (Algorithm::Rsa, None) => Ok(DEFAULT_RSA_BITS),
        (Algorithm::Rsa, Some(b)) if b < DEFAULT_RSA_BITS => Err(OpError::invalid(
            field,
            format!("must be at least 2048 for RSA (got {b}): shorter keys are refused or ignored by receivers (RFC 8301)"),
        )),
        (Algorithm::Rsa, Some(b)) if RSA_BITS.contains(&b) => Ok(b),
        (Algorithm::Rsa, Some(b)) => Err(OpError::invalid(
            field,
            format!("must be 2048, 3072 or 4096 for RSA (got {b})"),
        )),
        (Algorithm::Ed25519, None) => Ok(ED25519_BITS),
        (Algorithm::Ed25519, Some(b)) if b == ED25519_BITS => Ok(b),
        (Algorithm::Ed25519, Some(b)) => Err(OpError::invalid(
            field,
            format!("does not apply to ed25519 keys, which are always 256 bits (got {b})"),
        )),
    }
}

/// A key pair ready to store: the private half as PKCS#8 PEM (what OpenDKIM
/// and rspamd both read), the public half as the `p=` value of the record.
pub struct KeyPair {
    pub algorithm: Algorithm,
    pub bits: u32,
    pub private_pem: SecretString,
    pub public: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("algorithm", &self.algorithm)
            .field("bits", &self.bits)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

fn crypto_failed(what: &str, e: openssl::error::ErrorStack) -> OpError {
    OpError::Io(format!("{what} failed in OpenSSL: {e}"))
}

/// Generate a new key pair. `bits` must come from [`bits`].
pub fn generate(algorithm: Algorithm, bits: u32) -> OpResult<KeyPair> {
    let key = match algorithm {
        Algorithm::Rsa => Rsa::generate(bits)
            .and_then(PKey::from_rsa)
            .map_err(|e| crypto_failed("generating the RSA key", e))?,
        Algorithm::Ed25519 => {
            PKey::generate_ed25519().map_err(|e| crypto_failed("generating the Ed25519 key", e))?
        }
    };
    pair(algorithm, bits, &key)
}

/// Read a private key an admin brings (`dkim import`): PKCS#8 or the
/// traditional `BEGIN RSA PRIVATE KEY` form, RSA of 2048 bits or more, or
/// Ed25519. Errors name `field` and never quote the file.
pub fn import(field: &str, pem: &str) -> OpResult<KeyPair> {
    let key = PKey::private_key_from_pem(pem.as_bytes()).map_err(|_| {
        OpError::invalid(
            field,
            "is not a PEM private key (expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY; an encrypted key must be decrypted first)",
        )
    })?;
    match key.id() {
        Id::RSA => {
            let b = key.bits();
            if b < DEFAULT_RSA_BITS {
                return Err(OpError::invalid(
                    field,
                    format!(
                        "holds a {b}-bit RSA key; DKIM keys must be at least 2048 bits (RFC 8301)"
                    ),
                ));
            }
            pair(Algorithm::Rsa, b, &key)
        }
        Id::ED25519 => pair(Algorithm::Ed25519, ED25519_BITS, &key),
        _ => Err(OpError::invalid(
            field,
            "holds a key that is neither RSA nor Ed25519, the two DKIM algorithms",
        )),
    }
}

fn pair(algorithm: Algorithm, bits: u32, key: &PKey<Private>) -> OpResult<KeyPair> {
    let pem = key
        .private_key_to_pem_pkcs8()
        .map_err(|e| crypto_failed("encoding the private key", e))?;
    let pem = String::from_utf8(pem)
        .map_err(|_| OpError::Io("OpenSSL wrote a private key PEM that is not text".into()))?;
    Ok(KeyPair {
        algorithm,
        bits,
        private_pem: SecretString::new(pem),
        public: public_value(algorithm, key)?,
    })
}

/// The record's `p=`: for RSA the DER SubjectPublicKeyInfo (RFC 6376
/// 3.6.1), for Ed25519 the bare 32-byte key (RFC 8463 4.2), base64.
fn public_value(algorithm: Algorithm, key: &PKey<Private>) -> OpResult<String> {
    let bytes = match algorithm {
        Algorithm::Rsa => key
            .public_key_to_der()
            .map_err(|e| crypto_failed("encoding the public key", e))?,
        Algorithm::Ed25519 => key
            .raw_public_key()
            .map_err(|e| crypto_failed("encoding the public key", e))?,
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The public value of a stored private key, to check a stored pair still
/// belongs together (and for keys imported before their public half was kept).
pub fn public_of(algorithm: Algorithm, private_pem: &SecretString) -> OpResult<String> {
    let key = PKey::private_key_from_pem(private_pem.expose().as_bytes())
        .map_err(|e| crypto_failed("reading the stored private key", e))?;
    public_value(algorithm, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_sizes_follow_the_rules() {
        assert_eq!(bits("bits", Algorithm::Rsa, None).unwrap(), 2048);
        assert_eq!(bits("bits", Algorithm::Rsa, Some(4096)).unwrap(), 4096);
        let e = bits("bits", Algorithm::Rsa, Some(1024))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bits: must be at least 2048"), "{e}");
        let e = bits("bits", Algorithm::Rsa, Some(2500))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2048, 3072 or 4096"), "{e}");
        assert!(bits("bits", Algorithm::Ed25519, Some(2048)).is_err());
        assert_eq!(bits("bits", Algorithm::Ed25519, None).unwrap(), 256);
    }

    #[test]
    fn generated_keys_round_trip_through_import() {
        for (alg, b) in [(Algorithm::Rsa, 2048), (Algorithm::Ed25519, 256)] {
            let k = generate(alg, b).unwrap();
            assert!(k
                .private_pem
                .expose()
                .starts_with("-----BEGIN PRIVATE KEY-----"));
            let again = import("key_file", k.private_pem.expose()).unwrap();
            assert_eq!(again.algorithm, alg);
            assert_eq!(again.bits, b);
            assert_eq!(again.public, k.public);
            assert_eq!(public_of(alg, &k.private_pem).unwrap(), k.public);
        }
        // Ed25519's p= is the raw 32-byte key: 44 base64 characters.
        let ed = generate(Algorithm::Ed25519, 256).unwrap();
        assert_eq!(ed.public.len(), 44);
        // RSA's is the SubjectPublicKeyInfo, which always starts MII.
        assert!(generate(Algorithm::Rsa, 2048)
            .unwrap()
            .public
            .starts_with("MIIBIjAN"));
    }

    #[test]
    fn short_or_foreign_keys_are_refused_by_name() {
        let short = PKey::from_rsa(Rsa::generate(1024).unwrap()).unwrap();
        let pem = String::from_utf8(short.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let e = import("key_file", &pem).unwrap_err().to_string();
        assert!(e.starts_with("key_file: holds a 1024-bit RSA key"), "{e}");
        let e = import("key_file", "not a key").unwrap_err().to_string();
        assert!(e.starts_with("key_file: is not a PEM private key"), "{e}");
        let ec = openssl::ec::EcKey::generate(
            &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
        )
        .unwrap();
        let pem = String::from_utf8(
            PKey::from_ec_key(ec)
                .unwrap()
                .private_key_to_pem_pkcs8()
                .unwrap(),
        )
        .unwrap();
        let e = import("key_file", &pem).unwrap_err().to_string();
        assert!(e.contains("neither RSA nor Ed25519"), "{e}");
    }

    #[test]
    fn traditional_rsa_pem_is_accepted() {
        let rsa = Rsa::generate(2048).unwrap();
        let pem = String::from_utf8(rsa.private_key_to_pem().unwrap()).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        let k = import("key_file", &pem).unwrap();
        assert_eq!((k.algorithm, k.bits), (Algorithm::Rsa, 2048));
        assert!(k
            .private_pem
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}
