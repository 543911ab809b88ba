//! `quota sync` against a real Dovecot running the generated config: mail
//! saved with `doveadm save` is counted by Dovecot's quota plugin, and the
//! sync writes it (KiB -> bytes) into mailboxes.quota_used in one audited
//! transaction; domain totals follow. Both backends.

mod common;
mod mail_harness;

use std::os::unix::fs::PermissionsExt;

use diesel::prelude::*;
use mail_harness::Dovecot;
use postfix_manager::db::schema::{audit_logs, domains, mailboxes};
use postfix_manager::db::AnyConnection;
use postfix_manager::mail::quota;
use postfix_manager::ops::{self, mailboxes::NewMailbox};

fn used(c: &mut AnyConnection, user: &str) -> i64 {
    mailboxes::table
        .filter(mailboxes::username.eq(user))
        .select(mailboxes::quota_used)
        .first(c)
        .unwrap()
}

fn domain_used(c: &mut AnyConnection, name: &str) -> i64 {
    domains::table
        .filter(domains::name.eq(name))
        .select(domains::quota_used)
        .first(c)
        .unwrap()
}

fn audits(c: &mut AnyConnection, result: &str) -> i64 {
    audit_logs::table
        .filter(audit_logs::action.eq("quota_sync"))
        .filter(audit_logs::result.eq(result))
        .count()
        .get_result(c)
        .unwrap()
}

fn save(dc: &Dovecot, user: &str, body_bytes: usize) {
    use std::io::Write;
    let mut child = std::process::Command::new("doveadm")
        .arg("-c")
        .arg(&dc.conf)
        .args(["save", "-u", user])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let msg = format!(
        "From: test@example.net\r\nTo: {user}\r\nSubject: quota\r\n\r\n{}\r\n",
        "x".repeat(body_bytes)
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(msg.as_bytes())
        .unwrap();
    let st = child.wait().unwrap();
    assert!(st.success(), "doveadm save: {}", dc.log());
}

on_both_backends!(sync_copies_dovecot_usage_into_the_database, |t| {
    if !mail_harness::have(&["dovecot", "doveadm", "doveconf"]) {
        return;
    }
    let mut c = t.conn();
    let a = common::admin(&mut c);
    ops::domains::create(&mut c, &a, "example.com", &Default::default()).unwrap();
    for u in ["alice", "bob"] {
        ops::mailboxes::create(
            &mut c,
            &a,
            &NewMailbox {
                address: format!("{u}@example.com"),
                password: "mailbox-password-1".into(),
                quota: Some(10 << 20),
                name: None,
            },
        )
        .unwrap();
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let homes = mail_harness::shared_dir(root.path(), "vmail");
    let out = root.path().join("generated");
    mail_harness::generate_files(t, &a, &mut c, &out, &mail_harness::mail_config(&homes));
    let dc = Dovecot::start(&out);

    save(&dc, "alice@example.com", 200_000);
    save(&dc, "alice@example.com", 100_000);
    save(&dc, "bob@example.com", 50_000);
    let raw = quota::run_command(&dc.quota_command()).unwrap();
    let reported = quota::parse(&raw).unwrap();
    let reported_bytes = |u: &str| reported.iter().find(|r| r.username == u).unwrap().bytes;
    assert!(reported_bytes("alice@example.com") >= 300_000, "{raw}");

    let s = ops::quota::sync_from_output(
        &mut c,
        &a,
        &quota::run_command(&dc.quota_command()).unwrap(),
        "test",
    )
    .unwrap();
    assert_eq!((s.reported, s.updated, s.unknown), (2, 2, 0), "{s:?}");
    let (alice, bob) = (
        used(&mut c, "alice@example.com"),
        used(&mut c, "bob@example.com"),
    );
    assert_eq!(alice, reported_bytes("alice@example.com"));
    assert_eq!(alice % 1024, 0, "Dovecot reports KiB; we store bytes");
    assert!((300_000..400_000).contains(&alice), "{alice}");
    assert!((50_000..60_000).contains(&bob), "{bob}");
    assert_eq!(
        domain_used(&mut c, "example.com"),
        alice + bob,
        "domain total follows"
    );
    assert_eq!(audits(&mut c, "ok"), 1, "one audit row for the whole sync");

    // A second run with nothing new changes nothing.
    let s = ops::quota::sync_from_output(
        &mut c,
        &a,
        &quota::run_command(&dc.quota_command()).unwrap(),
        "test",
    )
    .unwrap();
    assert_eq!((s.updated, s.unchanged), (0, 2));

    // Malformed output: refused with its line number, nothing written.
    let broken = raw.replacen("STORAGE\t", "STORAGE\tx", 1) + "garbage\n";
    let e = ops::quota::sync_from_output(&mut c, &a, &broken, "test").unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert_eq!(used(&mut c, "alice@example.com"), alice);
    assert_eq!(audits(&mut c, "refused"), 1);

    // A user unknown to the database is counted, not invented.
    let extra = format!("{raw}ghost@example.com\tUser quota\tSTORAGE\t7\t-\t0\n");
    let s = ops::quota::sync_from_output(&mut c, &a, &extra, "test").unwrap();
    assert_eq!(
        (s.unknown, s.unknown_names.clone()),
        (1, vec!["ghost@example.com".to_string()])
    );

    // Only admins may rewrite everyone's usage.
    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    let e = ops::quota::sync_from_output(&mut c, &ro, &raw, "test").unwrap_err();
    assert!(e.to_string().contains("needs role admin"), "{e}");

    // A failing command changes nothing.
    let e = quota::run_command("exit 3").unwrap_err().to_string();
    assert!(e.contains("nothing was changed"), "{e}");
});
