//! `postfix-manager dkim ...` end to end on both backends (issue 17): the
//! binary's answers and exit codes, refusals that name their rule and
//! change nothing, private keys printed only by `--show-private` for an
//! admin, every step audited; `domain add --dkim` in one transaction;
//! `mail generate` writing the signer sets; and the rotation walk with the
//! exported OpenDKIM files at each step, signed by the real opendkim.

mod common;
mod dkim_tools;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::prelude::*;
use postfix_manager::db::schema::{audit_logs, dkim_keys, domains};
use postfix_manager::db::{self, AnyConnection, DbUrl};
use serde_json::Value;

use dkim_tools::{dkimpy_verify, opendkim_sign, signer_tools, MESSAGE};

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const ADMIN_PW: &str = "cli-admin-password-1";
const BASE_CONFIG: &str = "[security]\nbcrypt_cost = 4\n";

struct Site {
    dir: tempfile::TempDir,
    url: String,
    _db: Option<common::TestDb>,
}

impl Site {
    fn new(t: &common::TestDb) -> Site {
        let db = match t.name {
            "postgres" => common::TestDb::postgres(),
            _ => None,
        };
        let dir = tempfile::tempdir().unwrap();
        let url = match &db {
            Some(t) => t.url_string(),
            None => format!("sqlite://{}", dir.path().join("pm.db").display()),
        };
        let s = Site { dir, url, _db: db };
        s.config("");
        std::fs::write(s.path("admin.pw"), format!("{ADMIN_PW}\n")).unwrap();
        let pw = s.path("admin.pw");
        let o = s.run(
            None,
            &[
                "init",
                "--database-url",
                &s.url,
                "--admin-password-file",
                pw.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "init: {}", text(&o));
        s.ok(&["domain", "add", "sign.test"]);
        s.ok(&["domain", "add", "other.test"]);
        s.ok(&["alias-domain", "add", "alias.test", "sign.test"]);
        s
    }

    /// Rewrite the config with `dkim` as its `[dkim]` section (init's
    /// database URL kept).
    fn config(&self, dkim: &str) {
        let old = std::fs::read_to_string(self.path("config.toml")).unwrap_or_default();
        let url_line = old
            .lines()
            .find(|l| l.starts_with("url = "))
            .map(|l| format!("[database]\n{l}\n"))
            .unwrap_or_default();
        std::fs::write(
            self.path("config.toml"),
            format!("{url_line}{BASE_CONFIG}[dkim]\n{dkim}\n"),
        )
        .unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, user: Option<&str>, args: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", self.path("config.toml"))
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .stdin(std::process::Stdio::null());
        if let Some(u) = user {
            let pw = self.path(&format!("{u}.pw"));
            c.args(["--user", u, "--password-file", pw.to_str().unwrap()]);
        }
        c.args(args).output().unwrap()
    }

    /// As admin, expecting success; stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_as("admin", args)
    }

    fn ok_as(&self, user: &str, args: &[&str]) -> String {
        let o = self.run(Some(user), args);
        assert!(o.status.success(), "{args:?} failed: {}", text(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            !out.contains("PRIVATE KEY") || args.contains(&"--show-private"),
            "{args:?} printed a private key"
        );
        out
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        serde_json::from_str(&self.ok(&full)).unwrap()
    }

    /// As `user`, expecting refusal (exit 1) with `rule` in the message and
    /// no DKIM key row added, removed or changed.
    fn refused(&self, user: &str, args: &[&str], rule: &str) {
        let before = keys_state(&mut self.conn());
        let o = self.run(Some(user), args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(rule), "{args:?}: wanted {rule:?} in {err}");
        assert!(!text(&o).contains("PRIVATE KEY"), "{args:?}");
        assert_eq!(
            keys_state(&mut self.conn()),
            before,
            "{args:?} changed keys"
        );
    }

    fn add_user(&self, name: &str, role: &str, grant: Option<&str>) {
        std::fs::write(
            self.path(&format!("{name}.pw")),
            format!("{name}-password-1\n"),
        )
        .unwrap();
        let pw = self.path(&format!("{name}.pw"));
        self.ok(&[
            "user",
            "add",
            name,
            "--email",
            &format!("{name}@example.net"),
            "--role",
            role,
            "--new-password-file",
            pw.to_str().unwrap(),
        ]);
        if let Some(perms) = grant {
            self.ok(&[
                "permission",
                "grant",
                name,
                "sign.test",
                "--permissions",
                perms,
            ]);
        }
    }

    fn conn(&self) -> AnyConnection {
        db::connect(&DbUrl::parse(&self.url).unwrap(), false).unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every key's (id, selector, state, version): equal before and after a
/// refusal proves it changed nothing.
fn keys_state(c: &mut AnyConnection) -> Vec<(i32, String, String, i32)> {
    dkim_keys::table
        .order(dkim_keys::id.asc())
        .select((
            dkim_keys::id,
            dkim_keys::selector,
            dkim_keys::state,
            dkim_keys::version,
        ))
        .load(c)
        .unwrap()
}

/// (action, result) of every DKIM audit row, oldest first.
fn dkim_audit(c: &mut AnyConnection) -> Vec<(String, String)> {
    audit_logs::table
        .filter(audit_logs::resource_type.eq("dkim_key"))
        .order(audit_logs::id.asc())
        .select((audit_logs::action, audit_logs::result))
        .load(c)
        .unwrap()
}

fn audited(c: &mut AnyConnection, action: &str, result: &str) -> bool {
    dkim_audit(c)
        .iter()
        .any(|(a, r)| a == action && r == result)
}

/// `dkim add` as admin; (id, selector).
fn add(s: &Site, args: &[&str]) -> (String, String) {
    let mut full = vec!["dkim", "add"];
    full.extend_from_slice(args);
    let v = s.json(&full);
    (
        v["id"].to_string(),
        v["selector"].as_str().unwrap().to_string(),
    )
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

on_both_backends!(commands_answer_and_refusals_name_the_rule, |t| {
    let s = Site::new(t);
    let out = s.ok(&["dkim", "add", "sign.test"]);
    assert!(
        out.starts_with("created pending DKIM key sign.test:pm"),
        "{out}"
    );
    assert!(
        out.contains("._domainkey.sign.test. IN TXT ( \"v=DKIM1; k=rsa; p="),
        "{out}"
    );
    let list = s.json(&["dkim", "list", "--domain", "sign.test"]);
    let first = &list["items"][0];
    assert_eq!(first["state"], "pending");
    assert!(first.get("private_key").is_none(), "{first}");
    let (id, sel) = (
        first["id"].to_string(),
        first["selector"].as_str().unwrap().to_string(),
    );
    let table = s.ok(&["dkim", "list"]);
    assert!(
        table.starts_with("ID") && table.contains(&sel) && table.contains("rsa-2048"),
        "{table}"
    );

    // dns: both forms by default, one with --zone/--plain; 255-byte strings.
    let both = s.ok(&["dkim", "dns", "sign.test"]);
    let zone = s.ok(&["dkim", "dns", "sign.test", "--zone"]);
    let plain = s.ok(&["dkim", "dns", "sign.test", "--plain"]);
    let name = format!("{sel}._domainkey.sign.test");
    assert!(
        zone.starts_with(&format!("{name}. IN TXT ( \"v=DKIM1;")),
        "{zone}"
    );
    assert!(!zone.contains('\t'));
    assert!(
        plain.starts_with(&format!("{name}\tTXT\tv=DKIM1; k=rsa; p=MII")),
        "{plain}"
    );
    assert_eq!(plain.lines().count(), 1, "{plain}");
    assert_eq!(both, format!("{zone}{plain}"));
    let rec = &s.json(&["dkim", "dns", "sign.test"])[0];
    let strings: Vec<&str> = rec["strings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        strings.len(),
        2,
        "a 2048-bit key's record needs two strings"
    );
    assert!(strings.iter().all(|x| x.len() <= 255) && strings[0].len() == 255);
    assert_eq!(strings.concat(), rec["value"].as_str().unwrap());
    assert_eq!(zone.matches('"').count(), 4, "{zone}");

    // Refusals: each names its rule and changes nothing.
    s.refused(
        "admin",
        &["dkim", "add", "sign.test", "--bits", "1024"],
        "bits: must be at least 2048",
    );
    s.refused(
        "admin",
        &["dkim", "add", "sign.test", "--selector", "bad_sel"],
        "selector: must be letters, digits and hyphens",
    );
    s.refused(
        "admin",
        &["dkim", "add", "sign.test", "--selector=x-"],
        "RFC 6376 selector syntax",
    );
    s.refused(
        "admin",
        &["dkim", "add", "nowhere.test"],
        "domain \"nowhere.test\" not found",
    );
    s.refused(
        "admin",
        &["dkim", "add", "sign.test", "--algorithm", "dsa"],
        "algorithm: must be rsa or ed25519",
    );
    s.ok(&["dkim", "activate", &format!("sign.test:{sel}")]);
    s.refused(
        "admin",
        &["dkim", "add", "sign.test"],
        "two active keys of one algorithm",
    );
    s.refused("admin", &["dkim", "activate", &id], "is already active");
    s.refused("admin", &["dkim", "revoke", &id], "is signing now");
    s.refused(
        "admin",
        &["dkim", "rotate", "other.test"],
        "no active rsa key to rotate",
    );
    let usage = s.run(Some("admin"), &["dkim", "revoke"]);
    assert_eq!(usage.status.code(), Some(2), "{}", text(&usage));

    // show: the public side only, unless --show-private (admin, audited).
    let shown = s.ok(&["dkim", "show", &id]);
    assert!(
        shown.contains("state") && shown.contains("active") && shown.contains(&name),
        "{shown}"
    );
    let j = s.json(&["dkim", "show", &format!("sign.test:{sel}")]);
    assert!(j.get("private_key").is_none(), "{j}");
    let private = s.ok(&["dkim", "show", &id, "--show-private"]);
    assert!(private.contains("-----BEGIN PRIVATE KEY-----"), "{private}");
    let pj = s.json(&["dkim", "show", &id, "--show-private"]);
    assert!(pj["private_key"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));

    // import: a PEM from outside, as a pending key; a short one refused.
    let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
    std::fs::write(s.path("good.pem"), rsa.private_key_to_pem().unwrap()).unwrap();
    let short = openssl::rsa::Rsa::generate(1024).unwrap();
    std::fs::write(s.path("short.pem"), short.private_key_to_pem().unwrap()).unwrap();
    let good = s.path("good.pem");
    let imported = s.ok(&[
        "dkim",
        "import",
        "other.test",
        "--selector",
        "imp1",
        "--key-file",
        good.to_str().unwrap(),
    ]);
    assert!(
        imported.starts_with("imported pending DKIM key other.test:imp1"),
        "{imported}"
    );
    let short = s.path("short.pem");
    s.refused(
        "admin",
        &[
            "dkim",
            "import",
            "other.test",
            "--selector",
            "imp2",
            "--key-file",
            short.to_str().unwrap(),
        ],
        "key_file: holds a 1024-bit RSA key",
    );
    s.refused(
        "admin",
        &[
            "dkim",
            "import",
            "other.test",
            "--selector",
            "imp1",
            "--key-file",
            good.to_str().unwrap(),
        ],
        "selector",
    );

    // rotate, activate (the old key retires), retire, revoke.
    let rotated = s.json(&["dkim", "rotate", "sign.test"]);
    let new_id = rotated["id"].to_string();
    assert_eq!(rotated["state"], "pending");
    assert_eq!(rotated["replaces_id"].to_string(), id);
    let on = s.ok(&["dkim", "activate", &new_id]);
    assert!(on.contains("is now retiring"), "{on}");
    s.refused("admin", &["dkim", "revoke", &id], "grace period");
    assert!(s
        .ok(&["dkim", "revoke", "--due"])
        .starts_with("no retiring key"));
    s.ok(&["dkim", "retire", &new_id]);
    s.config("grace_days = 0");
    let due = s.ok(&["dkim", "revoke", "--due"]);
    assert!(due.contains(&format!("sign.test:{sel}")), "{due}");
    let revoked_rec = s.ok(&["dkim", "dns", "sign.test", "--plain"]);
    assert!(
        revoked_rec.contains(&format!("{name}\tTXT\tv=DKIM1; k=rsa; p=\n")),
        "{revoked_rec}"
    );
    s.refused(
        "admin",
        &["dkim", "show", &id, "--show-private"],
        "its private key was erased",
    );

    let mut c = s.conn();
    for (action, result) in [
        ("create", "ok"),
        ("create", "refused"),
        ("activate", "ok"),
        ("activate", "refused"),
        ("import", "ok"),
        ("import", "refused"),
        ("rotate", "ok"),
        ("rotate", "refused"),
        ("retire", "ok"),
        ("revoke", "ok"),
        ("revoke", "refused"),
        ("show_private", "ok"),
    ] {
        assert!(
            audited(&mut c, action, result),
            "{action}/{result} not audited: {:?}",
            dkim_audit(&mut c)
        );
    }
});

on_both_backends!(scoped_users_and_private_keys, |t| {
    let s = Site::new(t);
    s.add_user("tenant", "user", Some("domain"));
    s.add_user("helper", "user", Some("mailboxes"));
    s.add_user("viewer", "readonly", None);
    s.refused("tenant", &["dkim", "add", "other.test"], "not found");
    s.refused(
        "helper",
        &["dkim", "add", "sign.test"],
        "no 'domain' permission on domain sign.test",
    );
    s.refused("viewer", &["dkim", "add", "sign.test"], "permission denied");
    let out = s.ok_as("tenant", &["dkim", "add", "sign.test"]);
    assert!(
        out.starts_with("created pending DKIM key sign.test:"),
        "{out}"
    );
    // The alias domain is the tenant's through its target.
    s.ok_as("tenant", &["dkim", "add", "alias.test"]);
    let (theirs, _) = add(&s, &["other.test"]);
    let mine: Value =
        serde_json::from_str(&s.ok_as("tenant", &["--json", "dkim", "list"])).unwrap();
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{mine}");
    let my_id = items[0]["id"].to_string();
    s.ok_as("tenant", &["dkim", "activate", &my_id]);
    s.refused("tenant", &["dkim", "show", &theirs], "not found");
    s.refused("tenant", &["dkim", "activate", &theirs], "not found");
    s.refused(
        "tenant",
        &["dkim", "show", &my_id, "--show-private"],
        "needs role admin",
    );
    let d = s.path("export");
    s.refused(
        "tenant",
        &["dkim", "export", "--opendkim", d.to_str().unwrap()],
        "needs role admin",
    );
    assert!(!d.exists());
    // A scoped user's `revoke --due` (a timer) revokes its own due keys and
    // passes over the others'.
    s.ok(&["dkim", "activate", &theirs]);
    let mine2 = s.json(&["dkim", "rotate", "sign.test"])["id"].to_string();
    s.ok_as("tenant", &["dkim", "activate", &mine2]);
    let theirs2 = s.json(&["dkim", "rotate", "other.test"])["id"].to_string();
    s.ok(&["dkim", "activate", &theirs2]);
    s.config("grace_days = 0");
    let due = s.ok_as("tenant", &["dkim", "revoke", "--due"]);
    assert!(
        due.starts_with("revoked sign.test:") && !due.contains("other.test"),
        "{due}"
    );
    let shown = s.json(&["dkim", "show", &theirs]);
    assert_eq!(shown["state"], "retiring", "{shown}");
    let mut c = s.conn();
    assert!(audited(&mut c, "show_private", "refused"));
    assert!(audited(&mut c, "export", "refused"));
    assert!(audited(&mut c, "create", "refused"));
});

on_both_backends!(domain_add_dkim_is_one_transaction, |t| {
    let s = Site::new(t);
    let out = s.ok(&["domain", "add", "a.test", "--dkim"]);
    assert!(
        out.contains("created domain a.test with pending DKIM key a.test:pm"),
        "{out}"
    );
    s.ok(&["domain", "add", "b.test"]);
    s.config("on_domain_add = true\ndefault_algorithm = \"ed25519\"");
    let j = s.json(&["domain", "add", "c.test"]);
    assert_eq!(j["dkim"]["algorithm"], "ed25519", "{j}");
    assert_eq!(j["dkim"]["state"], "pending");
    s.ok(&["domain", "add", "d.test", "--no-dkim"]);
    let mut c = s.conn();
    let names: Vec<String> = dkim_keys::table
        .order(dkim_keys::id.asc())
        .select(dkim_keys::domain)
        .load(&mut c)
        .unwrap();
    assert_eq!(names, ["a.test", "c.test"]);
    assert!(audited(&mut c, "create", "ok"));

    // The key cannot be sealed (the secrets key file cannot be created):
    // the domain is not created either. The audit key stays where it was.
    std::fs::write(s.path("config.toml"), format!(
        "{}[secrets]\nkey_file = \"/proc/nonexistent/secret.key\"\n[audit]\nkey_file = \"audit.key\"\n",
        std::fs::read_to_string(s.path("config.toml")).unwrap()
    )).unwrap();
    let o = s.run(Some("admin"), &["domain", "add", "e.test", "--dkim"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e: i64 = domains::table
        .filter(domains::name.eq("e.test"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(e, 0, "the domain was created without its key");
    assert_eq!(common::count(&mut c, "dkim_keys"), 2);
});

on_both_backends!(mail_generate_writes_the_signer_sets, |t| {
    let s = Site::new(t);
    s.config("signers = [\"opendkim\", \"rspamd\"]\nopendkim_reload = \"echo reloaded >> \\\"$PM_DKIM_DIR.log\\\"\"");
    let mail = s.path("mail");
    let gen = |s: &Site| {
        s.run(
            Some("admin"),
            &["mail", "generate", "--out", mail.to_str().unwrap()],
        )
    };
    let o = gen(&s);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!s.path("opendkim").exists(), "no keys, no signer files");

    let (id, sel) = add(&s, &["sign.test"]);
    s.ok(&["dkim", "activate", &id]);
    let o = gen(&s);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!text(&o).contains("PRIVATE KEY"));
    let od = s.path("opendkim");
    let kt = read(&od, "KeyTable");
    assert!(
        kt.contains(&format!(
            "{sel}._domainkey.sign.test sign.test:{sel}:{}/sign.test.{sel}.key",
            od.display()
        )),
        "{kt}"
    );
    assert!(
        read(&od, "SigningTable").contains(&format!("*@alias.test {sel}._domainkey.alias.test"))
    );
    assert!(read(&s.path("rspamd"), "dkim_signing.conf").contains(&format!("selector = \"{sel}\"")));
    let key = od.join(format!("sign.test.{sel}.key"));
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        read(&s.path("."), "opendkim.log"),
        "reloaded\n",
        "the reload ran once, for opendkim"
    );
    let j: Value = serde_json::from_str(&s.ok(&[
        "--json",
        "mail",
        "generate",
        "--out",
        mail.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(j["dkim"].as_array().unwrap().len(), 2, "{j}");

    // A failing reload: the files are in place, the command exits 1.
    s.config("opendkim_reload = \"echo 'fatal: no opendkim here' >&2; exit 3\"");
    let (id2, sel2) = add(&s, &["sign.test", "--algorithm", "ed25519"]);
    s.ok(&["dkim", "activate", &id2]);
    let o = gen(&s);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("reload FAILED") && text(&o).contains("fatal: no opendkim here"),
        "{}",
        text(&o)
    );
    assert!(read(&od, "KeyTable.ed25519").contains(&sel2));
    // A reload that hangs is stopped at dkim.reload_timeout_secs.
    s.config("opendkim_reload = \"sleep 60\"\nreload_timeout_secs = 1");
    let o = gen(&s);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("did not finish within 1 s"),
        "{}",
        text(&o)
    );
    let mut c = s.conn();
    assert!(audited(&mut c, "export", "ok"));
});

/// The OpenDKIM set after each step: (KeyTable, SigningTable, key files).
fn snapshot(dir: &Path) -> (String, String, Vec<String>) {
    let mut keys: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".key"))
        .collect();
    keys.sort();
    (read(dir, "KeyTable"), read(dir, "SigningTable"), keys)
}

/// Every record `dkim dns` gives, as a verifier's resolver would join them.
fn published(s: &Site, domain: &str) -> Vec<(String, String)> {
    s.json(&["dkim", "dns", domain])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let strings: Vec<&str> = r["strings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            (r["name"].as_str().unwrap().to_string(), strings.concat())
        })
        .collect()
}

on_both_backends!(rotation_walks_the_exported_opendkim_files, |t| {
    let s = Site::new(t);
    // Exported files belong to dkim.key_owner; giving them away needs root.
    let owner = nix::unistd::User::from_name("opendkim")
        .ok()
        .flatten()
        .filter(|_| nix::unistd::Uid::effective().is_root());
    let owner_line = if owner.is_some() {
        "key_owner = \"opendkim\"\n"
    } else {
        common::skip("not root or no opendkim user: key_owner is not checked");
        ""
    };
    s.config(owner_line);
    let out = s.path("opendkim");
    let export = |s: &Site| {
        let e = s.ok(&["dkim", "export", "--opendkim", out.to_str().unwrap()]);
        assert!(e.starts_with("wrote "), "{e}");
        snapshot(&out)
    };
    let line = |sel: &str| {
        format!(
            "{sel}._domainkey.sign.test sign.test:{sel}:{}/sign.test.{sel}.key\n",
            out.display()
        )
    };

    // pending: published, not signing.
    let (id1, sel1) = add(&s, &["sign.test"]);
    let (kt, st, files) = export(&s);
    assert!(!kt.contains("_domainkey") && !st.contains("*@"), "{kt}{st}");
    assert!(files.is_empty(), "{files:?}");
    // active: the key signs for its domain and the alias domain.
    s.ok(&["dkim", "activate", &id1]);
    let active = export(&s);
    assert!(active.0.contains(&line(&sel1)), "{}", active.0);
    assert!(
        active
            .1
            .contains(&format!("*@sign.test {sel1}._domainkey.sign.test\n")),
        "{}",
        active.1
    );
    assert!(
        active
            .1
            .contains(&format!("*@alias.test {sel1}._domainkey.alias.test\n")),
        "{}",
        active.1
    );
    assert_eq!(active.2, [format!("sign.test.{sel1}.key")]);
    let key1 = out.join(format!("sign.test.{sel1}.key"));
    let meta = std::fs::metadata(&key1).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    if let Some(u) = &owner {
        assert_eq!(
            meta.uid(),
            u.uid.as_raw(),
            "dkim.key_owner owns the key file"
        );
        assert_eq!(meta.gid(), u.gid.as_raw(), "and its primary group");
        assert_eq!(std::fs::metadata(&out).unwrap().uid(), u.uid.as_raw());
    }
    let pem = s.json(&["dkim", "show", &id1, "--show-private"])["private_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(std::fs::read_to_string(&key1).unwrap(), pem);
    let tools = signer_tools();
    let signed1 = tools
        .as_ref()
        .map(|bin| opendkim_sign(bin, &out, "", "rsa-sha256", MESSAGE));

    // rotate: the new key is pending; the exported set does not change.
    let rotated = s.json(&["dkim", "rotate", "sign.test"]);
    let (id2, sel2) = (
        rotated["id"].to_string(),
        rotated["selector"].as_str().unwrap().to_string(),
    );
    assert_eq!(export(&s), active, "a pending key changes no signer file");
    assert_eq!(
        published(&s, "sign.test").len(),
        2,
        "both records are published"
    );
    // activate: the new selector signs, the old key file is gone.
    s.ok(&["dkim", "activate", &id2]);
    let switched = export(&s);
    assert!(
        switched.0.contains(&line(&sel2)) && !switched.0.contains(&format!("{sel1}._domainkey")),
        "{}",
        switched.0
    );
    assert!(
        switched
            .1
            .contains(&format!("*@sign.test {sel2}._domainkey.sign.test\n")),
        "{}",
        switched.1
    );
    assert_eq!(switched.2, [format!("sign.test.{sel2}.key")]);
    if let (Some(bin), Some(old)) = (&tools, &signed1) {
        let signed2 = opendkim_sign(bin, &out, "", "rsa-sha256", MESSAGE);
        assert!(signed2.contains(&format!("s={sel2};")), "{signed2}");
        assert!(
            dkimpy_verify(&signed2, &published(&s, "sign.test")),
            "the rotated selector's signature does not verify"
        );
        assert!(
            dkimpy_verify(old, &published(&s, "sign.test")),
            "mail signed before the switch verifies in the grace period"
        );
    }
    // retiring -> revoked after the grace period: the set stays; the old
    // record becomes p= and old signatures stop verifying.
    s.config(&format!("{owner_line}grace_days = 0"));
    let due = s.ok(&["dkim", "revoke", "--due"]);
    assert!(due.contains(&format!("sign.test:{sel1}")), "{due}");
    assert_eq!(
        export(&s),
        switched,
        "revoking a retired key changes no signer file"
    );
    let states: Vec<(String, String)> = s.json(&["dkim", "list", "--domain", "sign.test"])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["selector"].as_str().unwrap().to_string(),
                k["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (sel1.clone(), "revoked".into()),
            (sel2.clone(), "active".into())
        ]
    );
    if let Some(old) = &signed1 {
        assert!(
            !dkimpy_verify(old, &published(&s, "sign.test")),
            "a revoked key verified"
        );
    }
    let mut c = s.conn();
    let steps: Vec<String> = dkim_audit(&mut c)
        .into_iter()
        .filter(|(_, r)| r == "ok")
        .map(|(a, _)| a)
        .collect();
    for step in [
        "create",
        "activate",
        "rotate",
        "revoke",
        "export",
        "show_private",
    ] {
        assert!(steps.iter().any(|x| x == step), "{step}: {steps:?}");
    }
});

// `ldap rotate-key` replaces the secrets key: DKIM private keys sealed
// under the old one must come out the same under the new one (they were
// once left behind, undecryptable after the rotation).
on_both_backends!(secrets_key_rotation_reseals_dkim_keys, |t| {
    let s = Site::new(t);
    let added = s.json(&["dkim", "add", "sign.test"]);
    let id = added["id"].to_string();
    let before = s.json(&["dkim", "show", &id, "--show-private"])["private_key"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated = s.json(&["ldap", "rotate-key"]);
    assert!(
        rotated["secrets_reencrypted"].as_u64().unwrap() >= 1,
        "{rotated}"
    );
    let after = s.json(&["dkim", "show", &id, "--show-private"])["private_key"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        after, before,
        "the same key, sealed under the new secrets key"
    );
    let out = s.path("signers");
    s.ok(&["dkim", "activate", &id]);
    s.ok(&["dkim", "export", "--opendkim", out.to_str().unwrap()]);
});
