//! Issue 20, send-as: grants (mailbox -> address or @domain) validated,
//! authorized and audited; the generated sender login map returns the
//! grantees to the real `postmap -q` (exact and @domain), stops after a
//! revoke, a sending suspension, an inactive mailbox or domain and the
//! deletion hold, and comes back with a restore; the CLI. Both backends.

mod common;
mod mail_harness;

use std::collections::BTreeSet;

use diesel::prelude::*;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::{Perm, Status};
use postfix_manager::ops::mailboxes::NewMailbox;
use postfix_manager::ops::sender_grants::{self as sg, ListFilter};
use postfix_manager::ops::{self, Ctx};
use postfix_manager::store::Page;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";
const OLGA: &str = "olga@other.example";
const PW: &str = "mailbox-password-1";
const MAP: &str = "sender_login_maps.cf";

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str) {
    ops::mailboxes::create(
        c,
        a,
        &NewMailbox {
            address: addr.into(),
            password: PW.into(),
            quota: None,
            name: None,
        },
    )
    .unwrap();
}

fn fixture(c: &mut AnyConnection, a: &Ctx) {
    for d in ["example.com", "other.example", "third.example"] {
        ops::domains::create(c, a, d, &Default::default()).unwrap();
    }
    ops::alias_domains::create(c, a, "example.net", "example.com").unwrap();
    for addr in [ALICE, BOB, CAROL, OLGA] {
        mailbox(c, a, addr);
    }
}

fn grants(c: &mut AnyConnection, a: &Ctx, mailbox: Option<&str>) -> Vec<(String, String)> {
    let f = ListFilter {
        mailbox: mailbox.map(str::to_string),
        ..Default::default()
    };
    sg::list(c, a, &f, &Page::default())
        .unwrap()
        .into_iter()
        .map(|g| (g.mailbox, g.address))
        .collect()
}

/// The logins the map names for `key`, as a set (SQL gives no order).
fn owners(pf: &mail_harness::Postfix, key: &str) -> BTreeSet<String> {
    pf.query(MAP, key)
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// (action, resource_type, result, details) of the newest audit row.
fn last_audit(c: &mut AnyConnection) -> (String, Option<String>, String, Option<String>) {
    audit_logs::table
        .order(audit_logs::id.desc())
        .select((
            audit_logs::action,
            audit_logs::resource_type,
            audit_logs::result,
            audit_logs::details,
        ))
        .first(c)
        .unwrap()
}

// The generated map, read by the real postmap: an exact grant answers for
// its address together with the owner; an @domain grant answers for every
// address of the domain (on the user@domain key: Postfix never asks this
// query for @domain). Suspensions, the hold and a revoke take it away.
on_both_backends!(grants_reach_the_sender_login_map, |t| {
    use std::os::unix::fs::PermissionsExt;
    if !mail_harness::have(&["postmap", "postconf"]) {
        return;
    }
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let homes = mail_harness::shared_dir(root.path(), "vmail");
    let out = root.path().join("generated");
    mail_harness::generate_files(t, &a, &mut c, &out, &mail_harness::mail_config(&homes));
    let kind = match t.url {
        postfix_manager::db::DbUrl::Sqlite(_) => "sqlite",
        postfix_manager::db::DbUrl::Postgres(_) => "pgsql",
    };
    let Some(pf) = mail_harness::Postfix::new(kind, &out) else {
        return;
    };

    assert_eq!(owners(&pf, BOB), set(&[BOB]));
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[]));
    sg::grant(&mut c, &a, ALICE, BOB).unwrap();
    sg::grant(&mut c, &a, ALICE, "@other.example").unwrap();
    assert_eq!(owners(&pf, BOB), set(&[BOB, ALICE]), "exact grant");
    assert_eq!(
        owners(&pf, CAROL),
        set(&[CAROL]),
        "only the granted address"
    );
    assert_eq!(
        owners(&pf, "anyone@other.example"),
        set(&[ALICE]),
        "@domain grant, an address nobody owns"
    );
    assert_eq!(owners(&pf, OLGA), set(&[OLGA, ALICE]), "@domain grant");
    assert_eq!(
        owners(&pf, "anyone@third.example"),
        set(&[]),
        "another domain"
    );
    // Postfix skips a query using %u for a key without a local part: the
    // reason the @domain grant is matched on user@domain.
    assert_eq!(pf.query(MAP, "@other.example"), None);

    // Not while alice may not send, is suspended, or a domain is.
    ops::send_limits::suspend(&mut c, &a, ALICE, "phished").unwrap();
    assert_eq!(owners(&pf, BOB), set(&[BOB]), "suspended for sending");
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[]));
    ops::send_limits::resume(&mut c, &a, ALICE).unwrap();
    ops::mailboxes::set_status(&mut c, &a, ALICE, Status::Suspended).unwrap();
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[]), "suspended");
    ops::mailboxes::set_status(&mut c, &a, ALICE, Status::Active).unwrap();
    ops::domains::set_status(&mut c, &a, "other.example", Status::Suspended).unwrap();
    assert_eq!(
        owners(&pf, "anyone@other.example"),
        set(&[]),
        "the granted address's domain suspended"
    );
    ops::domains::set_status(&mut c, &a, "other.example", Status::Active).unwrap();
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[ALICE]));

    // The hold: no effect while held, back with the restore.
    ops::mailboxes::delete(&mut c, &a, ALICE).unwrap();
    assert_eq!(owners(&pf, BOB), set(&[BOB]), "held");
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[]), "held");
    assert_eq!(
        grants(&mut c, &a, None),
        vec![],
        "a held mailbox lists none"
    );
    let r = ops::deleted::restore(&mut c, &a, ALICE).unwrap();
    assert_eq!(r.mailbox.username, ALICE);
    assert_eq!(
        grants(&mut c, &a, Some(ALICE)),
        vec![
            (ALICE.to_string(), BOB.to_string()),
            (ALICE.to_string(), "@other.example".to_string())
        ],
        "restored with its grants"
    );
    assert_eq!(owners(&pf, BOB), set(&[BOB, ALICE]), "after restore");
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[ALICE]));

    // Revoke.
    sg::revoke(&mut c, &a, ALICE, BOB).unwrap();
    assert_eq!(owners(&pf, BOB), set(&[BOB]), "revoked");
    assert_eq!(owners(&pf, OLGA), set(&[OLGA, ALICE]), "the other stays");
    sg::revoke(&mut c, &a, "Alice@Example.COM", "@Other.Example").unwrap();
    assert_eq!(owners(&pf, OLGA), set(&[OLGA]));
    assert_eq!(owners(&pf, "anyone@other.example"), set(&[]));
    assert_eq!(common::count(&mut c, "sender_grants"), 0);
});

// A purge takes the held grants with it; a deleted domain takes the
// grants of its addresses (a domain added again later does not inherit
// them); a deleted mailbox's grants go with it.
on_both_backends!(grants_end_with_their_mailbox_or_domain, |t| {
    let mut c = t.conn();
    let mut a = common::admin(&mut c);
    let root = tempfile::tempdir().unwrap();
    a.policy.lifecycle.mail_root = root.path().display().to_string();
    a.policy.lifecycle.purge_command = "true".into();
    fixture(&mut c, &a);
    sg::grant(&mut c, &a, ALICE, "@third.example").unwrap();
    sg::grant(&mut c, &a, ALICE, BOB).unwrap();
    sg::grant(&mut c, &a, CAROL, "x@third.example").unwrap();
    ops::domains::delete(&mut c, &a, "third.example", false).unwrap();
    assert_eq!(
        grants(&mut c, &a, None),
        vec![(ALICE.to_string(), BOB.to_string())],
        "the domain's grants went with it"
    );
    ops::domains::create(&mut c, &a, "third.example", &Default::default()).unwrap();
    assert_eq!(grants(&mut c, &a, None).len(), 1, "not inherited");

    ops::mailboxes::delete(&mut c, &a, ALICE).unwrap();
    assert_eq!(common::count(&mut c, "sender_grants"), 1, "held, kept");
    ops::deleted::purge(&mut c, &a, ALICE).unwrap();
    assert_eq!(common::count(&mut c, "sender_grants"), 0, "purged with it");
});

// Bad input names the field and the rule and changes nothing; rights are
// the grantee's domain (mailboxes) and the address's domain (aliases);
// every write and refusal is audited.
on_both_backends!(grants_are_validated_authorized_and_audited, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let field_of = |e: OpError| match e {
        OpError::Invalid { field, message } => (field, message),
        OpError::Duplicate { field, message } => (field, message),
        other => panic!("not a field error: {other:?}"),
    };
    for (mbox, addr, field, rule) in [
        (ALICE, "not-an-address", "address", "user@domain"),
        (ALICE, "x@nowhere.example", "address", "hosted here"),
        (ALICE, "@nowhere.example", "address", "hosted here"),
        (
            ALICE,
            "x@example.net",
            "address",
            "alias domain of example.com",
        ),
        (ALICE, ALICE, "address", "own address"),
        (ALICE, "a b@example.com", "address", "spaces"),
        ("nobody", BOB, "mailbox", "user@domain"),
    ] {
        let (f, m) = field_of(sg::grant(&mut c, &a, mbox, addr).unwrap_err());
        assert_eq!(f, field, "{mbox} {addr}: {m}");
        assert!(m.contains(rule), "{mbox} {addr}: {m}");
        let (action, ty, result, _) = last_audit(&mut c);
        assert_eq!(
            (action.as_str(), ty.as_deref(), result.as_str()),
            ("grant", Some("sender_grant"), "refused")
        );
    }
    assert!(matches!(
        sg::grant(&mut c, &a, "nobody@example.com", BOB),
        Err(OpError::NotFound { .. })
    ));
    assert_eq!(common::count(&mut c, "sender_grants"), 0, "nothing written");

    let g = sg::grant(&mut c, &a, ALICE, "Bob@Example.COM").unwrap();
    assert_eq!((g.mailbox.as_str(), g.address.as_str()), (ALICE, BOB));
    let (action, ty, result, details) = last_audit(&mut c);
    assert_eq!(
        (action.as_str(), ty.as_deref(), result.as_str()),
        ("grant", Some("sender_grant"), "ok")
    );
    assert!(
        details
            .unwrap_or_default()
            .contains("alice@example.com as bob@example.com"),
        "the audit names the grant"
    );
    let (f, m) = field_of(sg::grant(&mut c, &a, ALICE, BOB).unwrap_err());
    assert_eq!(f, "address");
    assert!(m.contains("may already send as"), "{m}");
    assert_eq!(common::count(&mut c, "sender_grants"), 1);

    // A tenant of example.com with both permissions there: grants within
    // it, not for another tenant's domain.
    let tenant = common::user_with_role(&mut c, &a, "tenant", "user");
    ops::permissions::grant(
        &mut c,
        &a,
        "tenant",
        "example.com",
        &[Perm::Mailboxes, Perm::Aliases],
    )
    .unwrap();
    sg::grant(&mut c, &tenant, CAROL, BOB).unwrap();
    let e = sg::grant(&mut c, &tenant, CAROL, "@other.example").unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    let e = sg::grant(&mut c, &tenant, OLGA, BOB).unwrap_err();
    assert!(
        matches!(e, OpError::NotFound { .. }),
        "olga is not visible: {e:?}"
    );
    // mailboxes alone on example.com is not enough to give its addresses away.
    let mb = common::user_with_role(&mut c, &a, "mbonly", "user");
    ops::permissions::grant(&mut c, &a, "mbonly", "example.com", &[Perm::Mailboxes]).unwrap();
    let e = sg::grant(&mut c, &mb, CAROL, ALICE).unwrap_err();
    assert!(
        matches!(&e, OpError::Denied(m) if m.contains("aliases")),
        "{e:?}"
    );
    // The address's domain may take its addresses back from a mailbox it
    // cannot manage; the tenant sees that grant too.
    sg::grant(&mut c, &a, OLGA, "@example.com").unwrap();
    let al = common::user_with_role(&mut c, &a, "alonly", "user");
    ops::permissions::grant(&mut c, &a, "alonly", "example.com", &[Perm::Aliases]).unwrap();
    assert_eq!(grants(&mut c, &al, None).len(), 3);
    sg::revoke(&mut c, &al, OLGA, "@example.com").unwrap();
    let (action, ty, result, _) = last_audit(&mut c);
    assert_eq!(
        (action.as_str(), ty.as_deref(), result.as_str()),
        ("revoke", Some("sender_grant"), "ok")
    );
    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    assert!(matches!(
        sg::revoke(&mut c, &ro, CAROL, BOB),
        Err(OpError::Denied(_))
    ));
    assert!(matches!(
        sg::revoke(&mut c, &a, CAROL, "nobody@example.com"),
        Err(OpError::NotFound { .. })
    ));
    assert_eq!(common::count(&mut c, "sender_grants"), 2);
    // A scoped user sees only grants touching its domains.
    ops::permissions::grant(&mut c, &a, "alonly", "third.example", &[Perm::Aliases]).unwrap();
    let other = common::user_with_role(&mut c, &a, "otheruser", "user");
    ops::permissions::grant(&mut c, &a, "otheruser", "third.example", &[Perm::Aliases]).unwrap();
    assert_eq!(grants(&mut c, &other, None), vec![]);
});

// `sender grant|list|revoke` through the binary.
on_both_backends!(sender_cli, |t| {
    const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[security]\nbcrypt_cost = 4\n").unwrap();
    let pw = dir.path().join("admin.pw");
    std::fs::write(&pw, "cli-admin-password-1\n").unwrap();
    let url = t.url_string();
    let run = |args: &[&str]| {
        std::process::Command::new(BIN)
            .env("POSTFIX_MANAGER_CONFIG", &cfg)
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .stdin(std::process::Stdio::null())
            .args(["--database-url", &url, "--user", "admin", "--password-file"])
            .arg(&pw)
            .args(args)
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let init = std::process::Command::new(BIN)
        .env("POSTFIX_MANAGER_CONFIG", &cfg)
        .args(["init", "--database-url", &url, "--admin-password-file"])
        .arg(&pw)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    ok(&["domain", "add", "example.com", "--no-default-aliases"]);
    ok(&["domain", "add", "other.example", "--no-default-aliases"]);
    for m in [ALICE, BOB] {
        ok(&["mailbox", "add", m, "--generate-password"]);
    }
    let text = ok(&["sender", "grant", ALICE, BOB]);
    assert!(
        text.contains("alice@example.com may send as bob@example.com"),
        "{text}"
    );
    ok(&["sender", "grant", ALICE, "@other.example"]);
    let list = ok(&["sender", "list"]);
    assert!(
        list.contains("MAY SEND AS") && list.contains("@other.example"),
        "{list}"
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "--json",
        "sender",
        "list",
        "--address",
        "@other.example",
    ]))
    .unwrap();
    let items = j["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{j}");
    assert_eq!(items[0]["mailbox"], ALICE);
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "sender", "list", "--mailbox", BOB])).unwrap();
    assert_eq!(j["items"].as_array().unwrap().len(), 0, "{j}");

    let out = run(&["sender", "grant", ALICE, "x@nowhere.example"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("address") && err.contains("hosted here"),
        "{err}"
    );

    let text = ok(&["sender", "revoke", ALICE, BOB]);
    assert!(
        text.contains("may no longer send as bob@example.com"),
        "{text}"
    );
    let j: serde_json::Value = serde_json::from_str(&ok(&["--json", "sender", "list"])).unwrap();
    assert_eq!(j["items"].as_array().unwrap().len(), 1, "{j}");
    let out = run(&["sender", "revoke", ALICE, BOB]);
    assert_ne!(out.status.code(), Some(0), "a second revoke finds nothing");
});

// The proof with the real programs: a private Postfix (smtpd with the
// generated README's reject_sender_login_mismatch and Dovecot SASL) on
// loopback. An authenticated MAIL FROM is accepted as granted (exact and
// @domain), refused without a grant, for another login, and after the
// revoke. Postfix answers the sender check at RCPT (smtpd_delay_reject).
on_both_backends!(smtp_mail_from_follows_the_grants, |t| {
    use mail_harness::servers::{self, Smtp};
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let Some(s) = servers::setup(t) else {
        return;
    };
    mail_harness::generate_files(t, &a, &mut c, &s.gen, &s.mail);
    let srv = servers::start(&s.gen, s.root(), &s.ports);
    let port = s.ports.smtp;
    let login = |user: &str| {
        let mut smtp = Smtp::open(port);
        assert_eq!(smtp.auth(user, PW), 235, "SMTP AUTH {user}\n{}", srv.logs());
        smtp
    };
    // (sender, accepted) for alice, then for carol, over one session each.
    let check = |smtp: &mut Smtp, who: &str, cases: &[(&str, bool)], when: &str| {
        for (from, ok) in cases {
            let (code, l) = smtp.rcpt(from, None, OLGA);
            eprintln!("{}: {when}: {who} MAIL FROM:<{from}> -> {l}", t.name);
            if *ok {
                assert_eq!(code, 250, "{when}: {who} as {from}: {l}\n{}", srv.logs());
            } else {
                assert!(
                    l.starts_with("553") && l.contains("not owned by user"),
                    "{when}: {who} as {from}: {l}\n{}",
                    srv.logs()
                );
            }
        }
    };
    let mut alice = login(ALICE);
    check(
        &mut alice,
        ALICE,
        &[(ALICE, true), (BOB, false), ("anyone@other.example", false)],
        "before",
    );
    sg::grant(&mut c, &a, ALICE, BOB).unwrap();
    sg::grant(&mut c, &a, ALICE, "@other.example").unwrap();
    check(
        &mut alice,
        ALICE,
        &[
            (ALICE, true),
            (BOB, true),
            ("anyone@other.example", true),
            (OLGA, true),
            (CAROL, false),
            ("x@third.example", false),
        ],
        "granted",
    );
    let mut carol = login(CAROL);
    check(
        &mut carol,
        CAROL,
        &[(BOB, false), ("anyone@other.example", false)],
        "not carol's grant",
    );
    let mut bob = login(BOB);
    check(&mut bob, BOB, &[(BOB, true)], "the owner still sends");
    sg::revoke(&mut c, &a, ALICE, BOB).unwrap();
    sg::revoke(&mut c, &a, ALICE, "@other.example").unwrap();
    check(
        &mut alice,
        ALICE,
        &[(ALICE, true), (BOB, false), ("anyone@other.example", false)],
        "revoked",
    );
    for s in [&mut alice, &mut carol, &mut bob] {
        s.0.smtp("QUIT");
    }
});
