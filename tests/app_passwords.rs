//! Issue 19, mailboxes: app passwords, per-protocol switches and password
//! expiry, proven against the real Dovecot reading the generated passdb
//! (`doveadm auth test -x service=...`) on both backends, plus the rules
//! of the operations and the CLI.

mod common;
mod mail_harness;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use mail_harness::Dovecot;
use postfix_manager::db::schema::{app_passwords, audit_logs, mailboxes};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::{Perm, Status};
use postfix_manager::ops::app_passwords::{self as apps, NewAppPassword, Protocols};
use postfix_manager::ops::mailboxes::{Access, MailboxEdit, NewMailbox, PasswordExpiry};
use postfix_manager::ops::{self, Ctx};

const PW: &str = "mailbox-password-1";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str) {
    ops::mailboxes::create(
        c,
        a,
        &NewMailbox {
            address: addr.into(),
            password: PW.into(),
            quota: Some(100 << 20),
            name: None,
        },
    )
    .unwrap();
}

fn fixture(c: &mut AnyConnection, a: &Ctx) {
    ops::domains::create(c, a, "example.com", &Default::default()).unwrap();
    ops::domains::create(c, a, "other.example", &Default::default()).unwrap();
    mailbox(c, a, ALICE);
    mailbox(c, a, BOB);
    mailbox(c, a, "olga@other.example");
}

fn add(
    c: &mut AnyConnection,
    a: &Ctx,
    address: &str,
    name: &str,
    protocols: &str,
    days: Option<i64>,
) -> String {
    let new = NewAppPassword {
        address: address.into(),
        name: name.into(),
        protocols: Protocols::parse("protocols", protocols).unwrap(),
        lifetime: days.map(TimeDelta::days),
    };
    apps::add(c, a, &new).unwrap().1
}

fn now() -> chrono::NaiveDateTime {
    Utc::now().naive_utc()
}

/// Move an app password's expiry into the past (a lifetime cannot be
/// shorter than a day, and the test cannot wait one).
fn expire_app_password(c: &mut AnyConnection, name: &str) {
    let n = diesel::update(app_passwords::table.filter(app_passwords::name.eq(name)))
        .set(app_passwords::expires_at.eq(Some(now() - TimeDelta::minutes(1))))
        .execute(c)
        .unwrap();
    assert_eq!(n, 1);
}

/// Set protocol switches (None: leave as is).
fn switch(
    c: &mut AnyConnection,
    a: &Ctx,
    address: &str,
    access: Access,
) -> postfix_manager::error::OpResult<postfix_manager::db::models::Mailbox> {
    ops::mailboxes::edit_with_access(c, a, address, None, &MailboxEdit::default(), &access)
}

fn switches(imap: Option<bool>, pop3: Option<bool>, smtp: Option<bool>) -> Access {
    Access {
        imap,
        pop3,
        smtp,
        ..Default::default()
    }
}

/// The fixture, the generated files and a private Dovecot reading them;
/// None when Dovecot is not installed (a skip, a failure under CI).
fn world(t: &common::TestDb) -> Option<(AnyConnection, Ctx, tempfile::TempDir, Dovecot)> {
    if !mail_harness::have(&["dovecot", "doveadm", "doveconf"]) {
        return None;
    }
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let homes = mail_harness::shared_dir(root.path(), "vmail");
    let out = root.path().join("generated");
    mail_harness::generate_files(t, &a, &mut c, &out, &mail_harness::mail_config(&homes));
    let dc = Dovecot::start(&out);
    Some((c, a, root, dc))
}

on_both_backends!(dovecot_takes_app_passwords_only_where_allowed, |t| {
    let Some((mut c, a, _root, dc)) = world(t) else {
        return;
    };
    for svc in ["imap", "pop3", "smtp", "submission", "sieve"] {
        assert!(dc.auth_as(svc, ALICE, PW), "mailbox password for {svc}");
    }

    let smtp_pw = add(&mut c, &a, ALICE, "phone", "smtp", None);
    assert!(smtp_pw.starts_with(apps::PREFIX), "{smtp_pw}");
    assert!(
        dc.auth_as("smtp", ALICE, &smtp_pw),
        "smtp app password for smtp"
    );
    assert!(dc.auth_as("submission", ALICE, &smtp_pw), "and submission");
    for svc in ["imap", "pop3", "sieve", "doveadm"] {
        assert!(
            !dc.auth_as(svc, ALICE, &smtp_pw),
            "smtp-only app password for {svc}"
        );
    }
    assert!(
        dc.auth_as("smtp", ALICE, PW),
        "the mailbox password still works"
    );

    // Several at once: each finds its own row.
    let imap_pw = add(&mut c, &a, ALICE, "laptop", "imap,pop3", None);
    assert!(dc.auth_as("imap", ALICE, &imap_pw));
    assert!(dc.auth_as("pop3", ALICE, &imap_pw));
    assert!(!dc.auth_as("smtp", ALICE, &imap_pw));
    assert!(dc.auth_as("smtp", ALICE, &smtp_pw));

    // The selector finds the row; the rest must still match the hash.
    let mut forged = smtp_pw.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'x' { 'y' } else { 'x' });
    assert!(
        !dc.auth_as("smtp", ALICE, &forged),
        "right selector, wrong secret"
    );
    assert!(
        !dc.auth_as("smtp", BOB, &smtp_pw),
        "another mailbox's app password"
    );

    apps::revoke(&mut c, &a, ALICE, "phone").unwrap();
    assert!(!dc.auth_as("smtp", ALICE, &smtp_pw), "revoked");
    assert!(
        dc.auth_as("imap", ALICE, &imap_pw),
        "the other one lives on"
    );

    let tablet = add(&mut c, &a, ALICE, "tablet", "imap", Some(30));
    assert!(dc.auth_as("imap", ALICE, &tablet), "before its expiry");
    expire_app_password(&mut c, "tablet");
    assert!(!dc.auth_as("imap", ALICE, &tablet), "expired");

    ops::mailboxes::set_status(&mut c, &a, ALICE, Status::Suspended).unwrap();
    assert!(!dc.auth_as("imap", ALICE, &imap_pw), "suspended mailbox");
    ops::mailboxes::set_status(&mut c, &a, ALICE, Status::Active).unwrap();
    assert!(dc.auth_as("imap", ALICE, &imap_pw));
    ops::domains::set_status(&mut c, &a, "example.com", Status::Suspended).unwrap();
    assert!(!dc.auth_as("imap", ALICE, &imap_pw), "suspended domain");
});

on_both_backends!(dovecot_honours_protocol_switches_and_password_expiry, |t| {
    let Some((mut c, a, _root, dc)) = world(t) else {
        return;
    };
    let both = add(&mut c, &a, ALICE, "client", "imap,smtp", None);

    let m = switch(&mut c, &a, ALICE, switches(Some(false), None, None)).unwrap();
    assert!(!m.imap_enabled && m.pop3_enabled && m.smtp_enabled && m.sieve_enabled);
    assert!(!dc.auth_as("imap", ALICE, PW), "imap switched off");
    assert!(!dc.auth_as("imap", ALICE, &both), "for app passwords too");
    assert!(dc.auth_as("smtp", ALICE, PW), "smtp still on");
    assert!(dc.auth_as("smtp", ALICE, &both));
    assert!(dc.auth_as("pop3", ALICE, PW), "pop3 still on");
    assert!(dc.auth_as("imap", BOB, PW), "other mailboxes unaffected");

    switch(&mut c, &a, ALICE, switches(None, Some(false), Some(false))).unwrap();
    assert!(!dc.auth_as("pop3", ALICE, PW));
    assert!(!dc.auth_as("smtp", ALICE, PW));
    assert!(!dc.auth_as("submission", ALICE, PW));
    assert!(!dc.auth_as("smtp", ALICE, &both));
    let sieve_off = Access {
        sieve: Some(false),
        ..Default::default()
    };
    assert!(dc.auth_as("sieve", ALICE, PW));
    switch(&mut c, &a, ALICE, sieve_off).unwrap();
    assert!(!dc.auth_as("sieve", ALICE, PW));
    let all_on = Access {
        imap: Some(true),
        pop3: Some(true),
        smtp: Some(true),
        sieve: Some(true),
    };
    switch(&mut c, &a, ALICE, all_on).unwrap();
    for svc in ["imap", "pop3", "smtp", "sieve"] {
        assert!(dc.auth_as(svc, ALICE, PW), "{svc} back on");
    }

    // Expired mailbox password: refused everywhere; app passwords keep
    // their own expiry.
    let m = ops::mailboxes::set_password_expiry(&mut c, &a, ALICE, PasswordExpiry::Now).unwrap();
    assert!(m.password_expires_at.is_some());
    assert!(!dc.auth_as("imap", ALICE, PW), "expired password");
    assert!(!dc.auth_as("smtp", ALICE, PW), "expired password");
    assert!(dc.auth_as("imap", ALICE, &both), "app password still valid");
    let later = PasswordExpiry::At(now() + TimeDelta::days(1));
    ops::mailboxes::set_password_expiry(&mut c, &a, ALICE, later).unwrap();
    assert!(dc.auth_as("imap", ALICE, PW), "expires tomorrow");

    // A domain's maximum age: each password change sets the expiry.
    let input = ops::domains::DomainInput {
        password_max_age_days: Some(30),
        ..Default::default()
    };
    let d = ops::domains::edit(&mut c, &a, "example.com", None, &input).unwrap();
    assert_eq!(d.password_max_age_days, Some(30));
    let m = ops::mailboxes::set_password(&mut c, &a, BOB, "bob-new-password-2").unwrap();
    let left = m.password_expires_at.unwrap() - now();
    assert!(
        left > TimeDelta::days(30) - TimeDelta::minutes(5) && left <= TimeDelta::days(30),
        "{left:?}"
    );
    assert!(dc.auth_as("imap", BOB, "bob-new-password-2"));
    diesel::update(mailboxes::table.filter(mailboxes::username.eq(BOB)))
        .set(mailboxes::password_expires_at.eq(Some(now() - TimeDelta::minutes(1))))
        .execute(&mut c)
        .unwrap();
    assert!(
        !dc.auth_as("imap", BOB, "bob-new-password-2"),
        "past its age"
    );
    // Never, then no maximum: a change leaves the password without expiry.
    ops::mailboxes::set_password_expiry(&mut c, &a, BOB, PasswordExpiry::Never).unwrap();
    assert!(dc.auth_as("imap", BOB, "bob-new-password-2"));
    let none = ops::domains::DomainInput {
        password_max_age_days: Some(0),
        ..Default::default()
    };
    ops::domains::edit(&mut c, &a, "example.com", None, &none).unwrap();
    let m = ops::mailboxes::set_password(&mut c, &a, ALICE, "alice-new-password-2").unwrap();
    assert_eq!(m.password_expires_at, None);
    assert!(dc.auth_as("imap", ALICE, "alice-new-password-2"));
});

fn field(e: &OpError) -> Option<&str> {
    e.field()
}

fn count_apps(c: &mut AnyConnection) -> i64 {
    common::count(c, "app_passwords")
}

on_both_backends!(operations_check_store_hashed_and_audit, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);

    let pw = add(&mut c, &a, ALICE, "phone", "smtp", Some(90));
    let row: (String, String, Option<chrono::NaiveDateTime>) = app_passwords::table
        .select((
            app_passwords::password_hash,
            app_passwords::selector,
            app_passwords::expires_at,
        ))
        .first(&mut c)
        .unwrap();
    assert!(
        row.0.starts_with("{BLF-CRYPT}$2y$04$"),
        "configured cost: {}",
        row.0
    );
    assert!(postfix_manager::password::verify(&pw, &row.0));
    assert_eq!(row.1, pw[..apps::SELECTOR_LEN]);
    let left = row.2.unwrap() - now();
    assert!(
        left > TimeDelta::days(89) && left <= TimeDelta::days(90),
        "{left:?}"
    );
    let stored = common::database_text(t, &mut c, &["app_passwords", "audit_logs"]);
    let secret = &pw[apps::SELECTOR_LEN..];
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the password is stored only hashed"
    );

    // Refusals name the field and change nothing.
    let before = count_apps(&mut c);
    let bad = |name: &str| NewAppPassword {
        address: ALICE.into(),
        name: name.into(),
        protocols: Protocols::parse("protocols", "imap").unwrap(),
        lifetime: None,
    };
    let e = apps::add(&mut c, &a, &bad("  ")).unwrap_err();
    assert_eq!(field(&e), Some("name"), "{e}");
    let e = apps::add(&mut c, &a, &bad("x\u{1b}[2J")).unwrap_err();
    assert_eq!(field(&e), Some("name"), "{e}");
    let e = apps::add(&mut c, &a, &bad(&"n".repeat(65))).unwrap_err();
    assert_eq!(field(&e), Some("name"), "{e}");
    let e = apps::add(&mut c, &a, &bad("phone")).unwrap_err();
    assert!(matches!(e, OpError::Duplicate { .. }), "{e}");
    assert_eq!(field(&e), Some("name"), "{e}");
    let e = apps::revoke(&mut c, &a, ALICE, "tablet").unwrap_err();
    assert_eq!(field(&e), Some("name"), "{e}");
    let e = apps::add(
        &mut c,
        &a,
        &NewAppPassword {
            address: "nobody@example.com".into(),
            ..bad("x")
        },
    )
    .unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e}");
    assert_eq!(count_apps(&mut c), before);

    // Revoked names may be used again; the revoked row stays.
    apps::revoke(&mut c, &a, ALICE, "phone").unwrap();
    let e = apps::revoke(&mut c, &a, ALICE, "phone").unwrap_err();
    assert_eq!(field(&e), Some("name"), "already revoked: {e}");
    add(&mut c, &a, ALICE, "phone", "imap", None);
    let listed = apps::list(&mut c, &a, ALICE).unwrap();
    let states: Vec<&str> = listed.iter().map(apps::state).collect();
    assert_eq!(states, ["revoked", "active"]);
    let json = serde_json::to_string(&listed).unwrap();
    assert!(
        !json.contains("password_hash")
            && !json.contains("selector")
            && !json.contains(apps::PREFIX),
        "{json}"
    );

    // Audited under its own type, never with the password.
    let rows: Vec<(String, Option<String>, String)> = audit_logs::table
        .filter(audit_logs::resource_type.eq("app_password"))
        .order(audit_logs::id.asc())
        .select((audit_logs::action, audit_logs::details, audit_logs::result))
        .load(&mut c)
        .unwrap();
    let actions: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.2.as_str())).collect();
    assert_eq!(
        actions,
        [
            ("create", "ok"),
            ("create", "refused"),
            ("create", "refused"),
            ("create", "refused"),
            ("create", "refused"),
            ("revoke", "refused"),
            ("create", "refused"),
            ("revoke", "ok"),
            ("revoke", "refused"),
            ("create", "ok"),
        ]
    );
    for r in &rows {
        let d = r.1.as_deref().unwrap_or_default();
        assert!(!d.contains(secret) && !d.contains("password_hash"), "{d}");
    }
    let named = ops::audit::search(
        &mut c,
        &a,
        &ops::audit::parse_query(None, false),
        &Default::default(),
    )
    .unwrap();
    assert!(
        named
            .iter()
            .any(|n| n.resource == format!("app password {ALICE} phone")),
        "the audit list names the app password"
    );

    // Who may: scoped users on their domains, readonly only reads.
    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    let e = apps::add(&mut c, &ro, &bad("ro")).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    assert_eq!(apps::list(&mut c, &ro, ALICE).unwrap().len(), 2);
    let e = apps::revoke(&mut c, &ro, ALICE, "phone").unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    let e = switch(&mut c, &ro, ALICE, switches(Some(false), None, None)).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    let scoped = common::user_with_role(&mut c, &a, "tenant", "user");
    ops::permissions::grant(&mut c, &a, "tenant", "example.com", &[Perm::Mailboxes]).unwrap();
    add(&mut c, &scoped, BOB, "tenant-made", "imap", None);
    let e = apps::add(
        &mut c,
        &scoped,
        &NewAppPassword {
            address: "olga@other.example".into(),
            ..bad("x")
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, OpError::NotFound { .. }),
        "outside its domains: {e}"
    );
    let e = apps::list(&mut c, &scoped, "olga@other.example").unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e}");

    // Deleting the mailbox takes its app passwords along.
    ops::mailboxes::delete(&mut c, &a, BOB).unwrap();
    let left: i64 = app_passwords::table
        .filter(app_passwords::name.eq("tenant-made"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(left, 0);
});

on_both_backends!(mailbox_and_domain_rules_name_the_field, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);

    // A mailbox password must not look like an app password (the passdb
    // would hand its first characters to SQL).
    let e =
        ops::mailboxes::set_password(&mut c, &a, ALICE, "pmapp-abcdefgh-long-enough").unwrap_err();
    assert_eq!(e.field(), Some("password"), "{e}");
    let e = ops::mailboxes::create(
        &mut c,
        &a,
        &NewMailbox {
            address: "new@example.com".into(),
            password: "pmapp-abcdefgh-long-enough".into(),
            quota: None,
            name: None,
        },
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("password"), "{e}");

    let before = ops::domains::get(&mut c, &a, "example.com").unwrap();
    for bad in [-1, 3651] {
        let input = ops::domains::DomainInput {
            password_max_age_days: Some(bad),
            ..Default::default()
        };
        let e = ops::domains::edit(&mut c, &a, "example.com", None, &input).unwrap_err();
        assert_eq!(e.field(), Some("password_max_age_days"), "{e}");
        let e = ops::domains::create(&mut c, &a, "new.example", &input).unwrap_err();
        assert_eq!(e.field(), Some("password_max_age_days"), "{e}");
    }
    let after = ops::domains::get(&mut c, &a, "example.com").unwrap();
    assert_eq!(after.version, before.version);
    assert!(ops::domains::get(&mut c, &a, "new.example").is_err());

    // A new mailbox in a domain with a maximum age starts with an expiry.
    let input = ops::domains::DomainInput {
        password_max_age_days: Some(7),
        ..Default::default()
    };
    ops::domains::create(&mut c, &a, "strict.example", &input).unwrap();
    mailbox(&mut c, &a, "sam@strict.example");
    let m = ops::mailboxes::get(&mut c, &a, "sam@strict.example").unwrap();
    let left = m.password_expires_at.unwrap() - now();
    assert!(
        left > TimeDelta::days(6) && left <= TimeDelta::days(7),
        "{left:?}"
    );

    let past = PasswordExpiry::At(now() - TimeDelta::days(1));
    let e = ops::mailboxes::set_password_expiry(&mut c, &a, ALICE, past).unwrap_err();
    assert_eq!(e.field(), Some("password_expires_at"), "{e}");
    assert_eq!(
        ops::mailboxes::get(&mut c, &a, ALICE)
            .unwrap()
            .password_expires_at,
        None
    );
});

// The binary: the password printed once works in Dovecot where allowed.
const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const ADMIN_PW: &str = "cli-admin-password-1";

struct Site {
    dir: tempfile::TempDir,
    url: String,
}

impl Site {
    fn run(&self, args: &[&str]) -> std::process::Output {
        let pw = self.dir.path().join("admin.pw");
        std::process::Command::new(BIN)
            .current_dir(self.dir.path())
            .env(
                "POSTFIX_MANAGER_CONFIG",
                self.dir.path().join("config.toml"),
            )
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .stdin(std::process::Stdio::null())
            .args(["--user", "admin", "--password-file", pw.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

on_both_backends!(cli_prints_the_password_once_and_dovecot_takes_it, |t| {
    if !mail_harness::have(&["dovecot", "doveadm", "doveconf"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let homes = mail_harness::shared_dir(dir.path(), "vmail");
    std::fs::write(
        dir.path().join("config.toml"),
        format!(
            "[security]\nbcrypt_cost = 4\n[mail]\nvmail_uid = 65534\nvmail_gid = 65534\nmail_root = \"{}\"\n",
            homes.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("admin.pw"), format!("{ADMIN_PW}\n")).unwrap();
    std::fs::write(dir.path().join("mailbox.pw"), format!("{PW}\n")).unwrap();
    let s = Site {
        url: t.url_string(),
        dir,
    };
    let pwfile = s.path("admin.pw");
    let init = std::process::Command::new(BIN)
        .current_dir(s.dir.path())
        .env("POSTFIX_MANAGER_CONFIG", s.path("config.toml"))
        .args(["init", "--database-url", &s.url, "--admin-password-file"])
        .arg(&pwfile)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    s.ok(&["domain", "add", "example.com"]);
    let mpw = s.path("mailbox.pw");
    s.ok(&[
        "mailbox",
        "add",
        ALICE,
        "--new-password-file",
        mpw.to_str().unwrap(),
    ]);

    let text = s.ok(&[
        "mailbox",
        "app-password",
        "add",
        ALICE,
        "phone",
        "--protocols",
        "smtp",
        "--expires",
        "90d",
    ]);
    let pw = text
        .lines()
        .find_map(|l| l.strip_prefix("password (shown once): "))
        .unwrap_or_else(|| panic!("{text}"))
        .to_string();
    let j: serde_json::Value = serde_json::from_str(&s.ok(&[
        "mailbox",
        "app-password",
        "add",
        ALICE,
        "laptop",
        "--protocols",
        "imap",
        "--json",
    ]))
    .unwrap();
    let imap_pw = j["password"].as_str().unwrap().to_string();
    assert_eq!(j["protocols"], "imap");

    let listed: serde_json::Value =
        serde_json::from_str(&s.ok(&["mailbox", "app-password", "list", ALICE, "--json"])).unwrap();
    let listed_text = listed.to_string();
    assert_eq!(listed["items"][0]["name"], "laptop");
    assert_eq!(listed["items"][1]["protocols"], "smtp");
    assert!(listed["items"][1]["expires_at"].is_string());
    assert!(
        !listed_text.contains(&pw[..apps::SELECTOR_LEN]),
        "never shown again"
    );
    assert!(!listed_text.contains(&imap_pw[..apps::SELECTOR_LEN]));

    // Refusals: exit status, the field named, nothing stored.
    let bad = s.run(&[
        "mailbox",
        "app-password",
        "add",
        ALICE,
        "x",
        "--protocols",
        "ftp",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("protocols"),
        "{bad:?}"
    );
    let bad = s.run(&[
        "mailbox",
        "app-password",
        "add",
        ALICE,
        "x",
        "--protocols",
        "imap",
        "--expires",
        "1y",
    ]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("expires"),
        "{bad:?}"
    );
    let bad = s.run(&["mailbox", "access", ALICE]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "nothing to change is a usage error"
    );
    let bad = s.run(&[
        "domain",
        "edit",
        "example.com",
        "--password-max-age",
        "99999",
    ]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("password_max_age_days"),
        "{bad:?}"
    );

    s.ok(&["mail", "generate", "--out", "gen"]);
    let files: Vec<PathBuf> = std::fs::read_dir(s.path("gen"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    mail_harness::backdate(&files);
    let dc = Dovecot::start(&s.path("gen"));
    assert!(dc.auth_as("smtp", ALICE, &pw));
    assert!(!dc.auth_as("imap", ALICE, &pw));
    assert!(dc.auth_as("imap", ALICE, &imap_pw));

    s.ok(&["mailbox", "access", ALICE, "--imap", "off"]);
    assert!(!dc.auth_as("imap", ALICE, &imap_pw));
    assert!(!dc.auth_as("imap", ALICE, PW));
    s.ok(&["mailbox", "edit", ALICE, "--imap", "on", "--smtp", "off"]);
    assert!(dc.auth_as("imap", ALICE, PW));
    assert!(!dc.auth_as("smtp", ALICE, &pw));
    s.ok(&["mailbox", "access", ALICE, "--smtp", "on"]);
    s.ok(&["mailbox", "app-password", "revoke", ALICE, "phone"]);
    assert!(!dc.auth_as("smtp", ALICE, &pw));
    s.ok(&["mailbox", "password-expire", ALICE, "now"]);
    assert!(!dc.auth_as("imap", ALICE, PW));
    let shown: serde_json::Value =
        serde_json::from_str(&s.ok(&["mailbox", "show", ALICE, "--json"])).unwrap();
    assert!(shown["password_expires_at"].is_string(), "{shown}");
    assert_eq!(shown["imap_enabled"], true);
    s.ok(&["mailbox", "password-expire", ALICE, "never"]);
    assert!(dc.auth_as("imap", ALICE, PW));
    s.ok(&["domain", "edit", "example.com", "--password-max-age", "60"]);
    let d: serde_json::Value =
        serde_json::from_str(&s.ok(&["domain", "show", "example.com", "--json"])).unwrap();
    assert_eq!(d["password_max_age_days"], 60);
});
