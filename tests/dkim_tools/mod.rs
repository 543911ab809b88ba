//! The real DKIM programs for tests/dkim.rs and tests/dkim_cli.rs: OpenDKIM
//! signing in test mode with exported tables, and Python's dkimpy verifying
//! against given TXT records. Missing ones skip here and fail in CI.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::common;

/// The real programs: `opendkim` (test mode, the exported tables) and
/// Python's dkimpy. Missing ones skip here and fail in CI.
pub fn signer_tools() -> Option<PathBuf> {
    let opendkim = ["/usr/sbin/opendkim", "/usr/bin/opendkim"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let dkimpy = Command::new("python3")
        .args(["-c", "import dkim, nacl"])
        .status()
        .is_ok_and(|s| s.success());
    match (opendkim, dkimpy) {
        (Some(p), true) => Some(p),
        _ => {
            common::skip("opendkim (apt opendkim) or dkimpy+pynacl (pip) missing");
            None
        }
    }
}

pub const MESSAGE: &str = "From: someone@sign.test\r\nTo: far@elsewhere.example\r\nSubject: signed\r\nDate: Wed, 02 Dec 2026 07:00:00 +0000\r\nMessage-ID: <1@sign.test>\r\n\r\nHello from the DKIM test.\r\n";

/// Sign `message` with OpenDKIM reading the exported tables `key_table` /
/// `signing_table` from `dir`; returns the signed message.
pub fn opendkim_sign(
    bin: &Path,
    dir: &Path,
    suffix: &str,
    algorithm: &str,
    message: &str,
) -> String {
    let work = tempfile::tempdir().unwrap();
    let conf = work.path().join("opendkim.conf");
    std::fs::write(
        &conf,
        format!(
            "KeyTable file:{d}/KeyTable{suffix}\nSigningTable refile:{d}/SigningTable{suffix}\nMode s\nCanonicalization relaxed/relaxed\nSignatureAlgorithm {algorithm}\nMultipleSignatures yes\n# The test directories live under /tmp, which OpenDKIM calls unsafe.\nRequireSafeKeys false\nSyslog no\n",
            d = dir.display()
        ),
    )
    .unwrap();
    let msg = work.path().join("msg.eml");
    std::fs::write(&msg, message).unwrap();
    let out = Command::new(bin)
        .arg("-x")
        .arg(&conf)
        .arg("-t")
        .arg(&msg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    // Test mode prints "opendkim: FILE:" and then the header fields it adds.
    let headers: String = text
        .lines()
        .skip(1)
        .map(|l| format!("{}\r\n", l.trim_end_matches('\r')))
        .collect();
    assert!(
        headers.starts_with("DKIM-Signature:"),
        "opendkim did not sign: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{headers}{message}")
}

/// Verify every signature with dkimpy against `records` (name -> TXT value).
pub fn dkimpy_verify(signed: &str, records: &[(String, String)]) -> bool {
    let work = tempfile::tempdir().unwrap();
    let msg = work.path().join("signed.eml");
    std::fs::write(&msg, signed).unwrap();
    let zone = work.path().join("records.json");
    let map: serde_json::Map<String, serde_json::Value> = records
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(v.clone())))
        .collect();
    std::fs::write(&zone, serde_json::to_string(&map).unwrap()).unwrap();
    let script = r#"
import sys, json, dkim
records = json.load(open(sys.argv[2]))
def txt(name, timeout=5):
    v = records.get(name.decode().rstrip('.'))
    return v.encode() if v is not None else None
msg = open(sys.argv[1], 'rb').read()
d = dkim.DKIM(msg)
n = msg.count(b'DKIM-Signature:')
def good(i):
    # A bad body hash or a revoked key raises; either is a failed check.
    try:
        return d.verify(idx=i, dnsfunc=txt)
    except dkim.DKIMException as e:
        print(e, file=sys.stderr)
        return False
ok = n > 0 and all(good(i) for i in range(n))
print('pass' if ok else 'fail')
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&msg)
        .arg(&zone)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.trim() == "pass" || text.trim() == "fail",
        "dkimpy: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.trim() == "pass"
}
