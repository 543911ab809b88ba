//! The binary end to end against a real slapd: `ldap add|list|show|test|
//! import|rotate-key`, login of an imported user by LDAP bind, exit codes,
//! and no bind password in any output.

mod common;
mod ldap_slapd;

use std::path::Path;
use std::process::{Command, Output};

use ldap_slapd::{Slapd, ALICE_PW, PEOPLE, READER_DN, READER_PW, SUFFIX};

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const ADMIN_PW: &str = "cli-admin-password-1";

fn run(dir: &Path, user: Option<(&str, &str)>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .stdin(std::process::Stdio::null());
    if let Some((name, pwfile)) = user {
        c.args(["--user", name, "--password-file", pwfile]);
    }
    c.args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn ldap_commands_end_to_end() {
    let Some(s) = Slapd::start() else { return };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("config.toml"), "[security]\nbcrypt_cost = 4\n").unwrap();
    std::fs::write(dir.join("admin.pw"), format!("{ADMIN_PW}\n")).unwrap();
    std::fs::write(dir.join("bind.pw"), format!("{READER_PW}\n")).unwrap();
    std::fs::write(dir.join("alice.pw"), format!("{ALICE_PW}\n")).unwrap();
    let url = format!("sqlite://{}", dir.join("pm.db").display());
    let admin_pw = dir.join("admin.pw");
    let admin = Some(("admin", admin_pw.to_str().unwrap()));
    let outputs = std::cell::RefCell::new(String::new());
    let ok = |user: Option<(&str, &str)>, args: &[&str]| -> String {
        let o = run(dir, user, args);
        outputs.borrow_mut().push_str(&text(&o));
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    ok(
        None,
        &[
            "init",
            "--database-url",
            &url,
            "--admin-password-file",
            admin_pw.to_str().unwrap(),
        ],
    );
    let port = s.ldaps_port.to_string();
    let ca = s.ca.display().to_string();
    let bind = dir.join("bind.pw");
    ok(
        admin,
        &[
            "ldap",
            "add",
            "corp",
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--tls",
            "ldaps",
            "--ca-file",
            &ca,
            "--bind-dn",
            READER_DN,
            "--bind-password-file",
            bind.to_str().unwrap(),
            "--base-dn",
            SUFFIX,
            "--user-base",
            PEOPLE,
        ],
    );
    let key = dir.join("secret.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let list: serde_json::Value =
        serde_json::from_str(&ok(admin, &["--json", "ldap", "list"])).unwrap();
    assert_eq!(list["items"][0]["server_name"], "corp");
    assert_eq!(list["items"][0]["tls_mode"], "ldaps");
    assert_eq!(list["items"][0]["bind_password_set"], true);
    let show = ok(admin, &["ldap", "show", "corp"]);
    assert!(show.contains("bind_password_set  true"), "{show}");

    let t: serde_json::Value =
        serde_json::from_str(&ok(admin, &["--json", "ldap", "test", "corp"])).unwrap();
    assert_eq!(t["ok"], true, "{t}");
    assert!(t["total_ms"].as_u64().unwrap() < 5000);
    let human = ok(admin, &["ldap", "test", "corp"]);
    assert!(
        human.contains("result   ok") && human.contains("uid=alice"),
        "{human}"
    );

    let preview = ok(admin, &["ldap", "import", "corp", "--preview"]);
    assert!(
        preview.starts_with("preview from corp: 3 to create, 1 skipped"),
        "{preview}"
    );
    assert!(
        !preview.contains('\x1b'),
        "escape sequences from the directory reach the terminal"
    );
    ok(admin, &["ldap", "import", "corp", "--role", "readonly"]);

    // the imported user logs in by LDAP bind through the CLI
    let alice_pw = dir.join("alice.pw");
    let mine = ok(
        Some(("alice", alice_pw.to_str().unwrap())),
        &["ldap", "list"],
    );
    assert!(mine.contains("corp"), "{mine}");
    let o = run(
        dir,
        Some(("alice", alice_pw.to_str().unwrap())),
        &["ldap", "delete", "corp"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "readonly may not delete: {}",
        text(&o)
    );

    ok(admin, &["ldap", "rotate-key"]);
    let backups: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("secret.key.old-")
        })
        .collect();
    assert_eq!(backups.len(), 1);
    ok(admin, &["ldap", "test", "corp"]);

    // a failing test: report on stdout, exit 1
    let closed = ldap_slapd::free_port().to_string();
    ok(admin, &["ldap", "edit", "corp", "--port", &closed]);
    let o = run(dir, admin, &["ldap", "test", "corp"]);
    outputs.borrow_mut().push_str(&text(&o));
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("FAILED at connect: connection refused"),
        "{out}"
    );

    // bad input: usage or validation errors name the field
    let o = run(dir, admin, &["ldap", "edit", "corp", "--tls", "tls13"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("tls_mode: must be none, starttls or ldaps"),
        "{}",
        text(&o)
    );

    assert!(
        !outputs.borrow().contains(READER_PW),
        "the bind password was printed"
    );
    let audit = ok(admin, &["--json", "audit", "list", "--limit", "500"]);
    assert!(!audit.contains(READER_PW));
}
