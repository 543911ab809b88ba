//! The files a DKIM signer reads, rendered from the keys that sign: OpenDKIM
//! (`KeyTable`, `SigningTable` as regular-expression files, one key file per
//! selector) and rspamd (`dkim_signing.conf` with a selector list per
//! domain, one key file per selector). Rendering only; writing the set into
//! its directory in one swap is `mail::atomic::write_dir`'s job.

use std::path::Path;

use super::key::Algorithm;
use crate::secrets::SecretString;

/// One key that signs for one domain. An alias domain signing with its
/// target's key is its own entry (same key, `domain` = the alias domain),
/// so `d=` matches the From domain and DMARC aligns.
pub struct Signing<'a> {
    pub domain: &'a str,
    pub selector: &'a str,
    pub algorithm: Algorithm,
    pub private_pem: &'a SecretString,
    /// Where the key's own row lives, to name the file after the key (an
    /// alias domain shares its target's file).
    pub key_domain: &'a str,
}

impl Signing<'_> {
    pub fn key_file(&self) -> String {
        format!("{}.{}.key", self.key_domain, self.selector)
    }
}

fn header(out: &mut String, comment: &str) {
    out.push_str(comment);
    out.push_str(" Written by `postfix-manager dkim export`; edits are overwritten.\n");
}

/// Key files, one per key (not per signing domain), sorted by name.
fn key_files(keys: &[Signing<'_>]) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Vec::new();
    for k in keys {
        let name = k.key_file();
        if !files.iter().any(|(n, _)| *n == name) {
            files.push((name, k.private_pem.expose().to_string()));
        }
    }
    files.sort();
    files
}

/// OpenDKIM's set. `dir` is where the set will live, as OpenDKIM sees it:
/// KeyTable names each key file by absolute path. One OpenDKIM instance
/// signs with one algorithm (`SignatureAlgorithm`), so RSA keys go in
/// `KeyTable`/`SigningTable` and Ed25519 keys, when there are any, in
/// `KeyTable.ed25519`/`SigningTable.ed25519` for a second instance with
/// `SignatureAlgorithm ed25519-sha256` (docs/dkim.md).
pub fn opendkim(keys: &[Signing<'_>], dir: &Path) -> Vec<(String, String)> {
    let rsa: Vec<&Signing<'_>> = keys
        .iter()
        .filter(|k| k.algorithm == Algorithm::Rsa)
        .collect();
    let ed: Vec<&Signing<'_>> = keys
        .iter()
        .filter(|k| k.algorithm == Algorithm::Ed25519)
        .collect();
    let (key_table, signing_table) = opendkim_tables(&rsa, dir);
    let mut files = vec![
        ("KeyTable".to_string(), key_table),
        ("SigningTable".to_string(), signing_table),
    ];
    if !ed.is_empty() {
        let (key_table, signing_table) = opendkim_tables(&ed, dir);
        files.push(("KeyTable.ed25519".to_string(), key_table));
        files.push(("SigningTable.ed25519".to_string(), signing_table));
    }
    files.extend(key_files(keys));
    files
}

fn opendkim_tables(keys: &[&Signing<'_>], dir: &Path) -> (String, String) {
    let mut key_table = String::new();
    let mut signing_table = String::new();
    header(&mut key_table, "#");
    header(&mut signing_table, "#");
    signing_table
        .push_str("# Patterns (`*` the only wildcard): opendkim.conf needs SigningTable refile:<this file>.\n");
    for k in keys {
        let id = format!("{}._domainkey.{}", k.selector, k.domain);
        key_table.push_str(&format!(
            "{id} {}:{}:{}\n",
            k.domain,
            k.selector,
            dir.join(k.key_file()).display()
        ));
        // In a refile only `*` is special; dots are literal.
        signing_table.push_str(&format!("*@{} {id}\n", k.domain));
    }
    (key_table, signing_table)
}

/// rspamd's set: `dkim_signing.conf` (include it from
/// `/etc/rspamd/local.d/dkim_signing.conf`) and the key files.
pub fn rspamd(keys: &[Signing<'_>], dir: &Path) -> Vec<(String, String)> {
    let mut conf = String::new();
    header(&mut conf, "#");
    conf.push_str(
        "# Sign only what this host's users send, with the From domain's keys.\nsign_authenticated = true;\nsign_local = true;\nuse_domain = \"header\";\nuse_esld = false;\nallow_username_mismatch = true;\ntry_fallback = false;\n\ndomain {\n",
    );
    let mut domains: Vec<&str> = keys.iter().map(|k| k.domain).collect();
    domains.sort_unstable();
    domains.dedup();
    for d in domains {
        conf.push_str(&format!("  \"{d}\" {{\n    selectors [\n"));
        for k in keys.iter().filter(|k| k.domain == d) {
            conf.push_str(&format!(
                "      {{ path = \"{}\"; selector = \"{}\"; }}\n",
                dir.join(k.key_file()).display(),
                k.selector
            ));
        }
        conf.push_str("    ]\n  }\n");
    }
    conf.push_str("}\n");
    let mut files = vec![("dkim_signing.conf".to_string(), conf)];
    files.extend(key_files(keys));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_name_every_signing_domain_and_share_alias_keys() {
        let pem = SecretString::new("-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n");
        let keys = [
            Signing {
                domain: "a.test",
                selector: "s1",
                algorithm: Algorithm::Rsa,
                private_pem: &pem,
                key_domain: "a.test",
            },
            Signing {
                domain: "alias.test",
                selector: "s1",
                algorithm: Algorithm::Rsa,
                private_pem: &pem,
                key_domain: "a.test",
            },
        ];
        let files = opendkim(&keys, Path::new("/etc/opendkim/pm"));
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["KeyTable", "SigningTable", "a.test.s1.key"]);
        let with_ed = [
            Signing {
                domain: "a.test",
                selector: "s1",
                algorithm: Algorithm::Rsa,
                private_pem: &pem,
                key_domain: "a.test",
            },
            Signing {
                domain: "a.test",
                selector: "s1e",
                algorithm: Algorithm::Ed25519,
                private_pem: &pem,
                key_domain: "a.test",
            },
        ];
        let both = opendkim(&with_ed, Path::new("/k"));
        let names: Vec<&str> = both.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "KeyTable",
                "SigningTable",
                "KeyTable.ed25519",
                "SigningTable.ed25519",
                "a.test.s1.key",
                "a.test.s1e.key"
            ]
        );
        assert!(
            !both[0].1.contains("s1e")
                && both[2]
                    .1
                    .contains("s1e._domainkey.a.test a.test:s1e:/k/a.test.s1e.key")
        );
        assert!(files[0]
            .1
            .contains("s1._domainkey.alias.test alias.test:s1:/etc/opendkim/pm/a.test.s1.key\n"));
        assert!(files[1].1.contains("*@a.test s1._domainkey.a.test\n"));
        assert!(files[1]
            .1
            .contains("*@alias.test s1._domainkey.alias.test\n"));
        let r = rspamd(&keys, Path::new("/var/lib/rspamd/dkim"));
        assert!(r[0].1.contains("\"alias.test\" {\n    selectors [\n      { path = \"/var/lib/rspamd/dkim/a.test.s1.key\"; selector = \"s1\"; }"));
    }
}
