//! Issue 20, deletion hold, restore and purge: a deleted mailbox leaves
//! every generated map and the Dovecot passdb/userdb at once (real
//! `postmap -q` and `doveadm`), its address is refused meanwhile, `restore`
//! brings it back with its aliases, and `purge` removes the maildir through
//! the configured command before the row. Both backends.

mod common;
mod mail_harness;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use mail_harness::{Dovecot, Postfix};
use postfix_manager::db::schema::{aliases, audit_logs, deleted_mailboxes, mailboxes};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Perm;
use postfix_manager::ops::mailboxes::{DeleteMode, NewMailbox};
use postfix_manager::ops::{self, Ctx};

const PW: &str = "mailbox-password-1";
const BOB: &str = "bob@example.com";
const ALICE: &str = "alice@example.com";

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str) {
    ops::mailboxes::create(
        c,
        a,
        &NewMailbox {
            address: addr.into(),
            password: PW.into(),
            quota: Some(100 << 20),
            name: Some("Bob".into()),
        },
    )
    .unwrap();
}

/// example.com with a catch-all to alice, bob with an alias of his own
/// (info), one shared with alice (team) and one in another domain.
fn world(c: &mut AnyConnection, a: &Ctx) {
    ops::domains::create(c, a, "example.com", &Default::default()).unwrap();
    ops::domains::create(c, a, "other.example", &Default::default()).unwrap();
    ops::alias_domains::create(c, a, "example.net", "example.com").unwrap();
    mailbox(c, a, ALICE);
    mailbox(c, a, BOB);
    ops::aliases::create(c, a, "info@example.com", BOB, None).unwrap();
    ops::aliases::create(
        c,
        a,
        "team@example.com",
        "bob@example.com, alice@example.com",
        None,
    )
    .unwrap();
    ops::aliases::create(c, a, "bob@other.example", BOB, None).unwrap();
    ops::aliases::create(c, a, "@example.com", ALICE, None).unwrap();
}

/// The admin, acting with homes under `root` and `purge` as the purge command.
fn admin_with(c: &mut AnyConnection, root: &Path, purge: &str) -> Ctx {
    let mut a = common::admin(c);
    a.policy.lifecycle.mail_root = root.display().to_string();
    a.policy.lifecycle.purge_command = purge.to_string();
    a
}

fn goto(c: &mut AnyConnection, addr: &str) -> Option<String> {
    aliases::table
        .filter(aliases::address.eq(addr))
        .select(aliases::goto)
        .first(c)
        .optional()
        .unwrap()
}

fn held(c: &mut AnyConnection) -> Vec<String> {
    deleted_mailboxes::table
        .select(deleted_mailboxes::username)
        .order(deleted_mailboxes::username)
        .load(c)
        .unwrap()
}

fn audited(c: &mut AnyConnection, action: &str) -> Vec<(String, String)> {
    audit_logs::table
        .filter(audit_logs::action.eq(action))
        .filter(audit_logs::resource_type.eq("mailbox"))
        .select((audit_logs::result, audit_logs::details))
        .order(audit_logs::id)
        .load::<(String, Option<String>)>(c)
        .unwrap()
        .into_iter()
        .map(|(r, d)| (r, d.unwrap_or_default()))
        .collect()
}

/// A maildir with one message, as Dovecot would have left it.
fn maildir(root: &Path, dom: &str, local: &str) -> PathBuf {
    let home = root.join(dom).join(local);
    std::fs::create_dir_all(home.join("Maildir/cur")).unwrap();
    std::fs::write(
        home.join("Maildir/cur/1.msg"),
        "Subject: kept\n\nold mail\n",
    )
    .unwrap();
    home
}

on_both_backends!(a_delete_holds_the_mailbox_and_restore_brings_it_back, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = admin_with(&mut c, root.path(), "rm -rf -- \"$PM_HOME\"");
    world(&mut c, &a);
    let home = maildir(root.path(), "example.com", "bob");
    let hash_before: String = mailboxes::table
        .filter(mailboxes::username.eq(BOB))
        .select(mailboxes::password_hash)
        .first(&mut c)
        .unwrap();

    let m = ops::mailboxes::delete(&mut c, &a, "Bob@Example.COM").unwrap();
    assert_eq!(m.username, BOB);
    assert_eq!(held(&mut c), vec![BOB]);
    let live: i64 = mailboxes::table
        .filter(mailboxes::username.eq(BOB))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(live, 0, "the row left mailboxes");
    assert!(home.join("Maildir/cur/1.msg").exists(), "mail kept on hold");
    let until: chrono::NaiveDateTime = deleted_mailboxes::table
        .select(deleted_mailboxes::purge_after)
        .first(&mut c)
        .unwrap();
    let days = (until - Utc::now().naive_utc()).num_hours();
    assert!((30 * 24 - 1..=30 * 24).contains(&days), "{days} h");
    // Aliases: bob's own ones gone, the shared one without him.
    assert_eq!(goto(&mut c, "info@example.com"), None);
    assert_eq!(goto(&mut c, "bob@other.example"), None);
    assert_eq!(goto(&mut c, "team@example.com").as_deref(), Some(ALICE));

    // The address cannot be reused while held, as a mailbox or an alias.
    let e = ops::mailboxes::create(
        &mut c,
        &a,
        &NewMailbox {
            address: BOB.into(),
            password: PW.into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, OpError::Duplicate { .. }) && e.to_string().contains("held until"),
        "{e}"
    );
    let e = ops::aliases::create(&mut c, &a, BOB, ALICE, None).unwrap_err();
    assert!(e.to_string().starts_with("address: "), "{e}");

    let listed = ops::deleted::list(&mut c, &a, &Default::default(), &Default::default()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].days_left, 30);
    assert_eq!(listed[0].alias_count, 3);

    let r = ops::deleted::restore(&mut c, &a, BOB).unwrap();
    assert_eq!(r.mailbox.username, BOB);
    assert_eq!(r.mailbox.name.as_deref(), Some("Bob"));
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    assert!(held(&mut c).is_empty());
    let hash_after: String = mailboxes::table
        .filter(mailboxes::username.eq(BOB))
        .select(mailboxes::password_hash)
        .first(&mut c)
        .unwrap();
    assert_eq!(hash_after, hash_before, "the same password works again");
    assert_eq!(goto(&mut c, "info@example.com").as_deref(), Some(BOB));
    assert_eq!(goto(&mut c, "bob@other.example").as_deref(), Some(BOB));
    assert_eq!(
        goto(&mut c, "team@example.com").as_deref(),
        Some("alice@example.com,bob@example.com")
    );
    assert!(home.join("Maildir/cur/1.msg").exists());
    assert_eq!(audited(&mut c, "delete").len(), 1);
    let restored = audited(&mut c, "restore");
    assert_eq!(restored.len(), 1);
    assert!(restored[0].1.contains("info@example.com"), "{restored:?}");

    // Nothing to restore twice.
    let e = ops::deleted::restore(&mut c, &a, BOB).unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e}");
});

on_both_backends!(the_mail_servers_stop_seeing_a_held_mailbox, |t| {
    if !mail_harness::have(&["postmap", "postconf", "dovecot", "doveadm", "doveconf"]) {
        return;
    }
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let homes = mail_harness::shared_dir(root.path(), "vmail");
    let a = admin_with(&mut c, &homes, "rm -rf -- \"$PM_HOME\"");
    world(&mut c, &a);
    let out = root.path().join("generated");
    mail_harness::generate_files(t, &a, &mut c, &out, &mail_harness::mail_config(&homes));
    let kind = if t.name == "sqlite" {
        "sqlite"
    } else {
        "pgsql"
    };
    let Some(pf) = Postfix::new(kind, &out) else {
        return;
    };
    let dc = Dovecot::start(&out);
    let user_known = |u: &str| dc.doveadm(&["user", u]).status.success();
    let some = |s: &str| Some(s.to_string());
    let deleted = some("550 5.1.1 This mailbox was deleted and does not accept mail");

    assert_eq!(
        pf.query("virtual_mailbox_maps.cf", BOB),
        some("example.com/bob/")
    );
    assert_eq!(pf.query("recipient_access.cf", BOB), None);
    assert!(dc.auth(BOB, PW) && user_known(BOB));

    ops::mailboxes::delete(&mut c, &a, BOB).unwrap();
    assert_eq!(pf.query("virtual_mailbox_maps.cf", BOB), None);
    assert_eq!(pf.query("virtual_alias_maps.cf", BOB), None);
    assert_eq!(pf.query("virtual_alias_maps.cf", "info@example.com"), None);
    assert_eq!(
        pf.query("virtual_alias_maps.cf", "team@example.com"),
        some(ALICE)
    );
    assert_eq!(pf.query("sender_login_maps.cf", BOB), None);
    // Refused at RCPT, so the catch-all (which would take an unknown
    // address of example.com) never gets the deleted mailbox's mail.
    assert_eq!(pf.query("recipient_access.cf", BOB), deleted);
    assert_eq!(pf.query("recipient_access.cf", "BOB@example.net"), deleted);
    assert_eq!(pf.query("recipient_access.cf", ALICE), None);
    assert!(!dc.auth(BOB, PW), "no login while held");
    assert!(!user_known(BOB), "no delivery while held");

    ops::deleted::restore(&mut c, &a, BOB).unwrap();
    assert_eq!(
        pf.query("virtual_mailbox_maps.cf", BOB),
        some("example.com/bob/")
    );
    assert_eq!(pf.query("recipient_access.cf", BOB), None);
    assert_eq!(
        pf.query("virtual_alias_maps.cf", "info@example.com"),
        some(BOB)
    );
    assert!(dc.auth(BOB, PW) && user_known(BOB));

    ops::mailboxes::delete(&mut c, &a, BOB).unwrap();
    ops::deleted::purge(&mut c, &a, BOB).unwrap();
    assert_eq!(
        pf.query("recipient_access.cf", BOB),
        None,
        "purged: unknown"
    );
    assert!(!dc.auth(BOB, PW));
});

on_both_backends!(purge_removes_the_maildir_before_the_row, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let fail = admin_with(
        &mut c,
        root.path(),
        "echo 'error: disk on fire' >&2; exit 3",
    );
    world(&mut c, &fail);
    mailbox(&mut c, &fail, "carol@example.com");
    let bob_home = maildir(root.path(), "example.com", "bob");
    let carol_home = maildir(root.path(), "example.com", "carol");
    ops::mailboxes::delete(&mut c, &fail, BOB).unwrap();
    ops::mailboxes::delete(&mut c, &fail, "carol@example.com").unwrap();

    // A failing command: the hold stays, the refusal is audited.
    let e = ops::deleted::purge(&mut c, &fail, BOB).unwrap_err();
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert_eq!(held(&mut c).len(), 2);
    assert!(bob_home.exists());
    let purges = audited(&mut c, "purge");
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0].0, "refused");

    // The command sees the home the userdb computes, never a shell word.
    let a = admin_with(
        &mut c,
        root.path(),
        "printf '%s %s\\n' \"$PM_ADDRESS\" \"$PM_HOME\" >> \"$PM_HOME/../purged.log\" && rm -rf -- \"$PM_HOME\"",
    );
    let p = ops::deleted::purge(&mut c, &a, BOB).unwrap();
    assert_eq!(PathBuf::from(&p.home), bob_home);
    assert!(!bob_home.exists(), "maildir removed");
    assert_eq!(held(&mut c), vec!["carol@example.com"]);
    let log = std::fs::read_to_string(root.path().join("example.com/purged.log")).unwrap();
    assert_eq!(log, format!("{BOB} {}\n", bob_home.display()));

    // --due takes only holds whose period is over.
    mailbox(&mut c, &a, "dave@example.com");
    ops::mailboxes::delete(&mut c, &a, "dave@example.com").unwrap();
    let past = Utc::now().naive_utc() - TimeDelta::hours(1);
    diesel::update(
        deleted_mailboxes::table.filter(deleted_mailboxes::username.eq("carol@example.com")),
    )
    .set(deleted_mailboxes::purge_after.eq(past))
    .execute(&mut c)
    .unwrap();
    let r = ops::deleted::purge_due(&mut c, &a).unwrap();
    assert_eq!(r.purged.len(), 1, "{r:?}");
    assert_eq!(r.purged[0].address, "carol@example.com");
    assert!(r.failed.is_empty());
    assert!(!carol_home.exists());
    assert_eq!(held(&mut c), vec!["dave@example.com"]);
    // Purged: the address is free again, with an empty home.
    mailbox(&mut c, &a, BOB);
    assert_eq!(
        audited(&mut c, "purge")
            .iter()
            .filter(|(r, _)| r == "ok")
            .count(),
        2
    );
});

on_both_backends!(delete_now_is_for_admins_and_purges_at_once, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = admin_with(&mut c, root.path(), "rm -rf -- \"$PM_HOME\"");
    world(&mut c, &a);
    let home = maildir(root.path(), "example.com", "bob");
    let mut tenant = common::user_with_role(&mut c, &a, "tenant", "user");
    tenant.policy.lifecycle = a.policy.lifecycle.clone();
    ops::permissions::grant(&mut c, &a, "tenant", "example.com", &[Perm::Mailboxes]).unwrap();

    let e = ops::mailboxes::delete_with(&mut c, &tenant, BOB, DeleteMode::Now).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    assert!(held(&mut c).is_empty() && home.exists(), "nothing changed");

    let d = ops::mailboxes::delete_with(&mut c, &a, BOB, DeleteMode::Now).unwrap();
    assert!(d.purged.is_some());
    assert!(!home.exists());
    assert!(held(&mut c).is_empty());

    // A tenant's own delete holds; it sees and restores its domain's holds.
    ops::mailboxes::delete(&mut c, &tenant, ALICE).unwrap();
    let seen =
        ops::deleted::list(&mut c, &tenant, &Default::default(), &Default::default()).unwrap();
    assert_eq!(seen.len(), 1);
    ops::deleted::restore(&mut c, &tenant, ALICE).unwrap();
});

on_both_backends!(a_cascaded_domain_keeps_its_mailboxes_on_hold, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = admin_with(&mut c, root.path(), "rm -rf -- \"$PM_HOME\"");
    world(&mut c, &a);
    let s = ops::domains::delete(&mut c, &a, "example.com", true).unwrap();
    assert_eq!((s.mailboxes, s.aliases), (2, 3));
    assert_eq!(held(&mut c), vec![ALICE, BOB]);
    let ids: Vec<Option<i32>> = deleted_mailboxes::table
        .select(deleted_mailboxes::domain_id)
        .load(&mut c)
        .unwrap();
    assert!(ids.iter().all(Option::is_none), "{ids:?}");

    let e = ops::deleted::restore(&mut c, &a, BOB).unwrap_err();
    assert!(e.to_string().contains("no longer exists"), "{e}");
    ops::domains::create(&mut c, &a, "example.com", &Default::default()).unwrap();
    let r = ops::deleted::restore(&mut c, &a, BOB).unwrap();
    assert_eq!(r.mailbox.username, BOB);
    // bob@other.example lives in a domain that stayed.
    assert_eq!(goto(&mut c, "bob@other.example").as_deref(), Some(BOB));
    assert_eq!(goto(&mut c, "info@example.com").as_deref(), Some(BOB));
});

// The binary: `mailbox delete|deleted|restore|purge` and `add --force`,
// with `[lifecycle]` from the config file.
const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .stdin(std::process::Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

on_both_backends!(the_cli_deletes_lists_restores_and_purges, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let homes = d.join("vmail");
    std::fs::write(
        d.join("config.toml"),
        format!(
            "[security]\nbcrypt_cost = 4\n[mail]\nmail_root = \"{}\"\n[lifecycle]\nhold_days = 7\n",
            homes.display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("admin.pw"), "cli-admin-password-1\n").unwrap();
    std::fs::write(d.join("mailbox.pw"), format!("{PW}\n")).unwrap();
    let init = cli(
        d,
        &[
            "init",
            "--database-url",
            &t.url_string(),
            "--admin-password-file",
            "admin.pw",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let run = |args: &[&str]| {
        let mut all = vec!["--user", "admin", "--password-file", "admin.pw"];
        all.extend_from_slice(args);
        cli(d, &all)
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
    ok(&["domain", "add", "example.com"]);
    let add = ["mailbox", "add", BOB, "--new-password-file", "mailbox.pw"];
    ok(&add);
    let home = maildir(&homes, "example.com", "bob");

    let out = ok(&["mailbox", "delete", BOB]);
    assert!(
        out.contains("held until") && out.contains("mailbox restore"),
        "{out}"
    );
    let list = ok(&["mailbox", "deleted"]);
    assert!(list.contains("DAYS LEFT") && list.contains(BOB), "{list}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["mailbox", "deleted", "--json"])).unwrap();
    assert_eq!(j["items"][0]["days_left"], 7);
    assert!(j["items"][0].get("password_hash").is_none(), "{j}");
    let again = run(&add);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("held until"));

    ok(&["mailbox", "restore", BOB]);
    ok(&["mailbox", "show", BOB]);
    let none = ok(&["mailbox", "purge", "--due"]);
    assert!(none.contains("purged 0 held mailboxes"), "{none}");

    // --now asks; with no terminal it needs --yes and changes nothing.
    let refused = run(&["mailbox", "delete", BOB, "--now"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    ok(&["mailbox", "show", BOB]);

    ok(&["mailbox", "delete", BOB]);
    let forced = [
        "mailbox",
        "add",
        BOB,
        "--new-password-file",
        "mailbox.pw",
        "--force",
    ];
    ok(&forced);
    assert!(!home.exists(), "--force purged the old maildir first");
    ok(&["mailbox", "delete", BOB, "--now", "--yes"]);
    let gone = run(&["mailbox", "show", BOB]);
    assert!(!gone.status.success());
    let list = ok(&["mailbox", "deleted"]);
    assert!(!list.contains(BOB), "{list}");
});

// RFC 2142 role aliases on `domain add`: created with the domain, led to
// the creating admin's email (or lifecycle.default_alias_target), audited,
// skipped with --no-default-aliases.
on_both_backends!(domain_add_creates_the_role_aliases, |t| {
    let mut c = t.conn();
    let mut a = common::admin(&mut c);
    let (d, _) =
        ops::domains::create_with(&mut c, &a, "roles.example", &Default::default(), None, true)
            .unwrap();
    for role in ["postmaster", "abuse", "hostmaster", "webmaster"] {
        assert_eq!(
            goto(&mut c, &format!("{role}@roles.example")).as_deref(),
            Some("admin@example.net"),
            "{role}"
        );
    }
    let details: String = audit_logs::table
        .filter(audit_logs::action.eq("create"))
        .filter(audit_logs::resource_type.eq("domain"))
        .filter(audit_logs::resource_id.eq(i64::from(d.id)))
        .select(audit_logs::details)
        .first::<Option<String>>(&mut c)
        .unwrap()
        .unwrap();
    assert!(
        details.contains("abuse@roles.example -> admin@example.net"),
        "{details}"
    );

    a.policy.lifecycle.default_aliases = vec!["postmaster".into(), "noc".into()];
    a.policy.lifecycle.default_alias_target = "ops@roles.example".into();
    ops::domains::create_with(&mut c, &a, "two.example", &Default::default(), None, true).unwrap();
    assert_eq!(
        goto(&mut c, "noc@two.example").as_deref(),
        Some("ops@roles.example")
    );
    assert_eq!(goto(&mut c, "abuse@two.example"), None);

    // Not without asking, and refused (nothing created) over the limit.
    ops::domains::create_with(&mut c, &a, "bare.example", &Default::default(), None, false)
        .unwrap();
    assert_eq!(goto(&mut c, "postmaster@bare.example"), None);
    let tight = ops::domains::DomainInput {
        max_aliases: Some(1),
        ..Default::default()
    };
    let e = ops::domains::create_with(&mut c, &a, "tight.example", &tight, None, true).unwrap_err();
    assert!(e.to_string().starts_with("max_aliases: "), "{e}");
    assert!(ops::domains::get(&mut c, &a, "tight.example").is_err());
});

// An import is refused a held address, by line, like `mailbox add`
// without --force; the other lines of the file change nothing either.
on_both_backends!(an_import_is_refused_a_held_address, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = admin_with(&mut c, root.path(), "rm -rf -- \"$PM_HOME\"");
    world(&mut c, &a);
    ops::mailboxes::delete(&mut c, &a, BOB).unwrap();
    let hash = postfix_manager::password::hash_mailbox("imported-password-1", 4).unwrap();
    let row = |line: u64, address: &str| ops::import::MailboxRow {
        line,
        address: address.into(),
        password_hash: hash.clone(),
        quota: None,
        name: None,
        status: postfix_manager::model::Status::Active,
    };
    let rows = [row(2, "new@example.com"), row(3, BOB)];
    let e = ops::import::mailboxes(&mut c, &a, &rows, false, &mut |_, _| {}).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("line 3") && text.contains("is deleted and held until"),
        "{text}"
    );
    let live: i64 = mailboxes::table
        .filter(mailboxes::username.eq_any(["new@example.com", BOB]))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(live, 0, "nothing imported");
    assert_eq!(held(&mut c), vec![BOB], "the hold stays");
});
