//! Issue 20, rename / move: `mailbox rename OLD NEW [--keep-alias]`
//! re-points every row that names the address, moves the home through
//! `lifecycle.rename_command`, rolls the names back when the move fails,
//! and `--resume` repairs what a kill -9 between the two left. Both
//! backends; the real Postfix + Dovecot proof is `mail_servers_follow_a_rename`.

mod common;
mod mail_harness;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use postfix_manager::db::schema::{
    aliases, audit_logs, deleted_mailboxes, domains, mailbox_renames, mailboxes, send_counters,
    sender_grants,
};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Perm;
use postfix_manager::ops::domains::DomainInput;
use postfix_manager::ops::mailboxes::NewMailbox;
use postfix_manager::ops::{self, Ctx};

const PW: &str = "mailbox-password-1";
const BOB: &str = "bob@example.com";
const ROBERT: &str = "robert@other.example";
const ALICE: &str = "alice@example.com";

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

/// example.com (bob, alice, carol) and other.example; an alias domain;
/// aliases naming bob alone, among others, and one that only looks like
/// him (bob@example.com.au is another address).
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
        "alice@example.com, bob@example.com",
        None,
    )
    .unwrap();
    ops::aliases::create(c, a, "au@example.com", "bob@example.com.au", None).unwrap();
    ops::aliases::create(c, a, "bob@other.example", BOB, None).unwrap();
}

fn admin_with(c: &mut AnyConnection, root: &Path, rename: &str) -> Ctx {
    let mut a = common::admin(c);
    a.policy.lifecycle.mail_root = root.display().to_string();
    a.policy.lifecycle.rename_command = rename.to_string();
    a
}

fn default_mover(c: &mut AnyConnection, root: &Path) -> Ctx {
    admin_with(c, root, postfix_manager::config::DEFAULT_RENAME_COMMAND)
}

fn goto(c: &mut AnyConnection, addr: &str) -> Option<String> {
    aliases::table
        .filter(aliases::address.eq(addr))
        .select(aliases::goto)
        .first(c)
        .optional()
        .unwrap()
}

/// (username, local part, domain name, status) of mailbox `id`.
fn row(c: &mut AnyConnection, id: i32) -> (String, String, String, String) {
    mailboxes::table
        .inner_join(domains::table)
        .filter(mailboxes::id.eq(id))
        .select((
            mailboxes::username,
            mailboxes::local_part,
            domains::name,
            mailboxes::status,
        ))
        .first(c)
        .unwrap()
}

fn id_of(c: &mut AnyConnection, addr: &str) -> i32 {
    mailboxes::table
        .filter(mailboxes::username.eq(addr))
        .select(mailboxes::id)
        .first(c)
        .unwrap()
}

fn journal(c: &mut AnyConnection) -> Vec<(String, String)> {
    mailbox_renames::table
        .select((mailbox_renames::old_username, mailbox_renames::new_username))
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
    std::fs::write(home.join("Maildir/cur/1.msg"), "Subject: old\n\nold mail\n").unwrap();
    home
}

fn mailbox_count(c: &mut AnyConnection, dom: &str) -> i64 {
    mailboxes::table
        .inner_join(domains::table)
        .filter(domains::name.eq(dom))
        .count()
        .get_result(c)
        .unwrap()
}

on_both_backends!(a_rename_moves_the_names_the_aliases_and_the_home, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = default_mover(&mut c, root.path());
    world(&mut c, &a);
    let old_home = maildir(root.path(), "example.com", "bob");
    let id = id_of(&mut c, BOB);
    // A hold whose aliases snapshot names bob: carol shared "pair" with him.
    mailbox(&mut c, &a, "carol@example.com");
    ops::aliases::create(
        &mut c,
        &a,
        "pair@example.com",
        "carol@example.com,bob@example.com",
        None,
    )
    .unwrap();
    ops::mailboxes::delete(&mut c, &a, "carol@example.com").unwrap();
    for (sender, n) in [(BOB, 7i64), (ROBERT, 99)] {
        diesel::insert_into(send_counters::table)
            .values((
                send_counters::sender.eq(sender),
                send_counters::span_secs.eq(3600),
                send_counters::window_start.eq(1i64),
                send_counters::messages.eq(n),
                send_counters::recipients.eq(n),
                send_counters::refused.eq(0i64),
            ))
            .execute(&mut c)
            .unwrap();
    }

    // alice may send as bob: the grant follows his address.
    ops::sender_grants::grant(&mut c, &a, ALICE, BOB).unwrap();
    let r =
        ops::rename::rename(&mut c, &a, "Bob@Example.COM", "Robert@Other.Example", true).unwrap();
    assert_eq!(
        (r.old_address.as_str(), r.new_address.as_str()),
        (BOB, ROBERT)
    );
    assert_eq!(r.aliases, 4, "info, team, bob@other.example, pair: {r:?}");
    assert_eq!(r.mailbox.id, id, "the same row: id-keyed rows follow");
    assert_eq!(
        row(&mut c, id),
        (
            ROBERT.into(),
            "robert".into(),
            "other.example".into(),
            "active".into()
        )
    );
    assert!(journal(&mut c).is_empty());
    // Disk: the home the userdb computes for the new name, with the old mail.
    let new_home = root.path().join("other.example/robert");
    assert_eq!(PathBuf::from(&r.new_home), new_home);
    assert!(new_home.join("Maildir/cur/1.msg").exists());
    assert!(!old_home.exists());
    // Aliases: list elements, spacing kept; a look-alike untouched.
    assert_eq!(goto(&mut c, "info@example.com").as_deref(), Some(ROBERT));
    assert_eq!(
        goto(&mut c, "team@example.com").as_deref(),
        Some("alice@example.com,robert@other.example")
    );
    assert_eq!(
        goto(&mut c, "au@example.com").as_deref(),
        Some("bob@example.com.au")
    );
    assert_eq!(goto(&mut c, "bob@other.example").as_deref(), Some(ROBERT));
    assert_eq!(goto(&mut c, BOB).as_deref(), Some(ROBERT), "--keep-alias");
    // The send counts moved with it (the stale ones of the new name went).
    let counts: Vec<(String, i64)> = send_counters::table
        .select((send_counters::sender, send_counters::messages))
        .load(&mut c)
        .unwrap();
    assert_eq!(counts, vec![(ROBERT.to_string(), 7)]);
    let snapshot: String = deleted_mailboxes::table
        .select(deleted_mailboxes::aliases)
        .first(&mut c)
        .unwrap();
    assert!(
        snapshot.contains("carol@example.com,robert@other.example") && !snapshot.contains(BOB),
        "{snapshot}"
    );
    assert_eq!(mailbox_count(&mut c, "example.com"), 1);
    assert_eq!(mailbox_count(&mut c, "other.example"), 1);
    let other: i32 = domains::table
        .filter(domains::name.eq("other.example"))
        .select(domains::id)
        .first(&mut c)
        .unwrap();
    let grants: Vec<(String, i32)> = sender_grants::table
        .select((sender_grants::address, sender_grants::domain_id))
        .load(&mut c)
        .unwrap();
    assert_eq!(grants, vec![(ROBERT.to_string(), other)], "send-as follows");
    // Audited: the commit (pending) and the finish.
    let log = audited(&mut c, "rename");
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log.iter().all(|(r, _)| r == "ok"));
    assert!(
        log[0].1.contains("\"pending\"") && log[1].1.contains("\"finished\""),
        "{log:?}"
    );

    // A mailbox that never got mail has no home to move.
    let r = ops::rename::rename(&mut c, &a, ALICE, "alicia@example.com", false).unwrap();
    assert_eq!(r.aliases, 1);
    assert!(!Path::new(&r.new_home).exists());
    assert_eq!(
        goto(&mut c, "team@example.com").as_deref(),
        Some("alicia@example.com,robert@other.example")
    );
    assert_eq!(goto(&mut c, ALICE), None, "no alias without --keep-alias");
});

/// What a refused rename must leave: bob as he was, his home unmoved.
fn unchanged(c: &mut AnyConnection, id: i32, home: &Path) {
    assert_eq!(
        row(c, id),
        (
            BOB.into(),
            "bob".into(),
            "example.com".into(),
            "active".into()
        )
    );
    assert!(home.join("Maildir/cur/1.msg").exists());
    assert!(journal(c).is_empty());
    assert_eq!(goto(c, "info@example.com").as_deref(), Some(BOB));
}

on_both_backends!(a_refused_rename_changes_nothing_and_says_why, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = default_mover(&mut c, root.path());
    world(&mut c, &a);
    let home = maildir(root.path(), "example.com", "bob");
    let id = id_of(&mut c, BOB);
    mailbox(&mut c, &a, "held@example.com");
    ops::mailboxes::delete(&mut c, &a, "held@example.com").unwrap();
    let limited = DomainInput {
        max_mailboxes: Some(1),
        ..Default::default()
    };
    ops::domains::create(&mut c, &a, "full.example", &limited).unwrap();
    mailbox(&mut c, &a, "one@full.example");
    let small = DomainInput {
        max_mailbox_quota: Some(10 << 20),
        ..Default::default()
    };
    ops::domains::create(&mut c, &a, "small.example", &small).unwrap();

    let refused = |c: &mut AnyConnection, new: &str, field: &str, says: &str| {
        let e = ops::rename::rename(c, &a, BOB, new, false).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(field) && text.contains(says),
            "{new}: {text}"
        );
    };
    refused(&mut c, ALICE, "new address", "already exists");
    refused(&mut c, "info@example.com", "new address", "is an alias");
    refused(
        &mut c,
        "held@example.com",
        "new address",
        "deleted mailbox held until",
    );
    refused(
        &mut c,
        "bob@example.net",
        "new address",
        "is an alias domain",
    );
    refused(
        &mut c,
        "bob@nowhere.example",
        "new address",
        "does not exist",
    );
    refused(&mut c, "BOB@example.com", "new address", "current address");
    refused(&mut c, "not an address", "new address", "");
    refused(
        &mut c,
        "bob@full.example",
        "new address",
        "maximum of 1 mailboxes",
    );
    refused(&mut c, "bob@small.example", "quota", "per-mailbox maximum");
    unchanged(&mut c, id, &home);

    // A tenant needs the mailboxes permission on both domains.
    let mut tenant = common::user_with_role(&mut c, &a, "tenant", "user");
    tenant.policy.lifecycle = a.policy.lifecycle.clone();
    ops::permissions::grant(&mut c, &a, "tenant", "example.com", &[Perm::Mailboxes]).unwrap();
    let e = ops::rename::rename(&mut c, &tenant, BOB, ROBERT, false).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    // --keep-alias writes an alias: that needs the aliases permission.
    let e = ops::rename::rename(&mut c, &tenant, BOB, "rob@example.com", true).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    unchanged(&mut c, id, &home);
    let log = audited(&mut c, "rename");
    assert_eq!(log.len(), 11, "every refusal audited: {log:?}");
    assert!(log.iter().all(|(r, _)| r != "ok"), "{log:?}");

    // Allowed on both: done.
    ops::permissions::grant(&mut c, &a, "tenant", "other.example", &[Perm::Mailboxes]).unwrap();
    ops::rename::rename(&mut c, &tenant, BOB, ROBERT, false).unwrap();
    assert_eq!(row(&mut c, id).0, ROBERT);
});

on_both_backends!(a_failed_move_puts_the_old_names_back, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let a = admin_with(
        &mut c,
        root.path(),
        "echo 'mv: error: disk on fire' >&2; exit 3",
    );
    world(&mut c, &a);
    let home = maildir(root.path(), "example.com", "bob");
    let id = id_of(&mut c, BOB);
    let version: i32 = mailboxes::table
        .find(id)
        .select(mailboxes::version)
        .first(&mut c)
        .unwrap();

    ops::sender_grants::grant(&mut c, &a, ALICE, BOB).unwrap();
    let e = ops::rename::rename(&mut c, &a, BOB, ROBERT, true).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("lifecycle.rename_command") && text.contains("disk on fire"),
        "names the command and its stderr: {text}"
    );
    assert!(text.contains("rolled back"), "{text}");
    unchanged(&mut c, id, &home);
    assert_eq!(
        goto(&mut c, "team@example.com").as_deref(),
        Some("alice@example.com,bob@example.com"),
        "the same text back"
    );
    assert_eq!(goto(&mut c, "bob@other.example").as_deref(), Some(BOB));
    assert_eq!(goto(&mut c, ROBERT), None, "no kept alias");
    assert_eq!(goto(&mut c, BOB), None);
    assert_eq!(mailbox_count(&mut c, "other.example"), 0);
    let grants: Vec<String> = sender_grants::table
        .select(sender_grants::address)
        .load(&mut c)
        .unwrap();
    assert_eq!(
        grants,
        vec![BOB.to_string()],
        "the grant back on the old name"
    );
    let later: i32 = mailboxes::table
        .find(id)
        .select(mailboxes::version)
        .first(&mut c)
        .unwrap();
    assert!(
        later > version,
        "an edit made meanwhile is refused as stale"
    );
    let rolled = audited(&mut c, "rollback");
    assert_eq!(rolled.len(), 1, "{rolled:?}");
    assert!(rolled[0].1.contains("disk on fire"), "{rolled:?}");
});

// ---- The binary, killed with SIGKILL between the commit and the move ----

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

fn cli(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(BIN);
    cmd.current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .stdin(std::process::Stdio::null())
        .args(["--user", "admin", "--password-file", "admin.pw"])
        .args(args);
    cmd
}

/// The config file with `rename` as lifecycle.rename_command, keeping
/// what `init` added (the database URL).
fn config(d: &Path, homes: &Path, rename: &str) {
    let path = d.join("config.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        format!(
            "[security]\nbcrypt_cost = 4\n[mail]\nmail_root = \"{}\"\n[lifecycle]\n",
            homes.display()
        )
    });
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.starts_with("rename_command")) {
        out.push_str(line);
        out.push('\n');
        if line.trim() == "[lifecycle]" {
            out.push_str(&format!("rename_command = {}\n", toml_string(rename)));
        }
    }
    std::fs::write(path, out).unwrap();
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A database with bob (and his mail) made through the binary.
fn cli_world(t: &common::TestDb, d: &Path, homes: &Path) -> PathBuf {
    config(d, homes, postfix_manager::config::DEFAULT_RENAME_COMMAND);
    std::fs::write(d.join("admin.pw"), "cli-admin-password-1\n").unwrap();
    std::fs::write(d.join("mailbox.pw"), format!("{PW}\n")).unwrap();
    let init = std::process::Command::new(BIN)
        .current_dir(d)
        .env("POSTFIX_MANAGER_CONFIG", d.join("config.toml"))
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .args(["init", "--database-url", &t.url_string()])
        .args(["--admin-password-file", "admin.pw"])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    ok(&mut cli(d, &["domain", "add", "example.com"]));
    ok(&mut cli(d, &["domain", "add", "other.example"]));
    for m in [BOB, "zed@example.com"] {
        ok(&mut cli(
            d,
            &["mailbox", "add", m, "--new-password-file", "mailbox.pw"],
        ));
    }
    ok(&mut cli(d, &["alias", "add", "info@example.com", BOB]));
    maildir(homes, "example.com", "bob")
}

/// Start `mailbox rename OLD NEW` with a move command that writes its pid
/// to `signal` (after `before_signal`) and then sleeps; once it has
/// signalled, kill -9 the CLI and the sleeper.
fn killed_mid_rename(d: &Path, homes: &Path, before_signal: &str, old: &str, new: &str) {
    let signal = d.join("signal");
    let _ = std::fs::remove_file(&signal);
    let script = format!(
        "{before_signal}echo $$ > {sig}.tmp && mv {sig}.tmp {sig} && exec sleep 60",
        sig = signal.display()
    );
    config(d, homes, &script);
    let mut child = cli(d, &["mailbox", "rename", old, new, "--keep-alias"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(d.join("killed.err")).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        if let Ok(s) = std::fs::read_to_string(&signal) {
            if let Ok(p) = s.trim().parse::<i32>() {
                break p;
            }
        }
        assert!(Instant::now() < deadline, "the move command never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the CLI ended early: {}",
            std::fs::read_to_string(d.join("killed.err")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    config(d, homes, postfix_manager::config::DEFAULT_RENAME_COMMAND);
}

on_both_backends!(kill_9_between_the_commit_and_the_move_is_repaired, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let homes = d.join("vmail");
    let old_home = cli_world(t, d, &homes);
    let mut c = t.conn();
    let id = id_of(&mut c, BOB);
    let new_home = homes.join("other.example/robert");

    // Killed before the move: the journal says pending, the mailbox is
    // suspended under its new name, the mail still at the old home.
    killed_mid_rename(d, &homes, "", BOB, ROBERT);
    assert_eq!(journal(&mut c), vec![(BOB.to_string(), ROBERT.to_string())]);
    assert_eq!(row(&mut c, id).0, ROBERT);
    assert_eq!(
        row(&mut c, id).3,
        "suspended",
        "no login or delivery while pending"
    );
    assert!(old_home.exists() && !new_home.exists());
    let admin = common::login_as_cli(&mut c, d, "admin", "cli-admin-password-1");
    let e = ops::mailboxes::set_status(
        &mut c,
        &admin,
        ROBERT,
        postfix_manager::model::Status::Active,
    )
    .unwrap_err();
    assert!(e.to_string().contains("--resume"), "{e}");
    // The old address is not free yet: its home still holds the mail.
    let taken = NewMailbox {
        address: BOB.into(),
        password: PW.into(),
        quota: None,
        name: None,
    };
    let e = ops::mailboxes::create(&mut c, &admin, &taken).unwrap_err();
    assert!(e.to_string().contains("pending rename"), "{e}");

    let out = ok(&mut cli(d, &["mailbox", "rename", "--resume"]));
    assert!(out.contains("finished the pending rename"), "{out}");
    assert!(journal(&mut c).is_empty());
    assert_eq!(row(&mut c, id).3, "active");
    assert!(!old_home.exists() && new_home.join("Maildir/cur/1.msg").exists());
    assert_eq!(goto(&mut c, "info@example.com").as_deref(), Some(ROBERT));
    assert_eq!(goto(&mut c, BOB).as_deref(), Some(ROBERT));
    let again = ok(&mut cli(d, &["mailbox", "rename", "--resume"]));
    assert!(again.contains("no rename was pending"), "{again}");

    // Killed after the move: the next rename (of anyone) finishes it
    // without moving anything again.
    let robert_home = new_home.clone();
    let rob_home = homes.join("example.com/rob");
    killed_mid_rename(
        d,
        &homes,
        "mv -T -- \"$PM_OLD_HOME\" \"$PM_NEW_HOME\" && ",
        ROBERT,
        "rob@example.com",
    );
    assert_eq!(journal(&mut c).len(), 1);
    assert!(!robert_home.exists() && rob_home.exists());
    let out = ok(&mut cli(
        d,
        &["mailbox", "rename", "zed@example.com", "zoe@example.com"],
    ));
    assert!(
        out.contains("finished the pending rename robert@other.example -> rob@example.com")
            && out.contains("renamed mailbox zed@example.com to zoe@example.com"),
        "{out}"
    );
    assert!(journal(&mut c).is_empty());
    assert_eq!(
        row(&mut c, id),
        (
            "rob@example.com".into(),
            "rob".into(),
            "example.com".into(),
            "active".into()
        )
    );
    assert!(rob_home.join("Maildir/cur/1.msg").exists());
    // The kept aliases chain: bob -> robert's alias was re-pointed too.
    assert_eq!(goto(&mut c, BOB).as_deref(), Some("rob@example.com"));
    assert_eq!(goto(&mut c, ROBERT).as_deref(), Some("rob@example.com"));

    // Both homes present (a copying mover cut short): left for a person,
    // the run fails and says which paths to look at.
    killed_mid_rename(
        d,
        &homes,
        "cp -a -- \"$PM_OLD_HOME\" \"$PM_NEW_HOME\" && ",
        "rob@example.com",
        "rb@example.com",
    );
    let out = cli(d, &["mailbox", "rename", "--resume"]).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("pending") && text.contains("both"), "{text}");
    assert_eq!(journal(&mut c).len(), 1);
    std::fs::remove_dir_all(homes.join("example.com/rb")).unwrap();
    let out = ok(&mut cli(d, &["mailbox", "rename", "--resume"]));
    assert!(out.contains("finished"), "{out}");
    assert!(homes.join("example.com/rb/Maildir/cur/1.msg").exists());
    assert_eq!(row(&mut c, id).0, "rb@example.com");
});

// ---- The real Postfix and Dovecot follow a rename ----

fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Postfix + Dovecot (LMTP, IMAP) on loopback over the generated files:
/// bob's old mail and new mail meet in the moved maildir under his new
/// name, his old address is refused at RCPT (5xx), an alias that named him
/// follows him; with --keep-alias the old address still reaches the
/// mailbox. During the move (asked from inside the move command) both
/// names answer 450 and Dovecot does not know the mailbox.
fn mail_servers_follow(t: &common::TestDb) {
    use mail_harness::servers::{free_ports, imap_login, inbox_subjects, start, Ports, Smtp};
    use std::os::unix::fs::PermissionsExt;
    if !mail_harness::have(&[
        "postfix",
        "postconf",
        "postqueue",
        "postmap",
        "dovecot",
        "doveadm",
        "doveconf",
    ]) {
        return;
    }
    if !is_root() {
        common::skip("Postfix's master must start as root");
        return;
    }
    for bin in ["imap", "lmtp"] {
        if !Path::new("/usr/lib/dovecot").join(bin).exists() {
            common::skip(&format!(
                "/usr/lib/dovecot/{bin} missing (dovecot-imapd, dovecot-lmtpd); run .ci/install-mail-servers"
            ));
            return;
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix("pm-rename")
        .tempdir()
        .unwrap();
    let root = tmp.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let homes = mail_harness::shared_dir(root, "vmail");
    let gen = root.join("generated");
    let kind = if t.name == "sqlite" {
        "sqlite"
    } else {
        "pgsql"
    };
    let Some(pf) = mail_harness::Postfix::new(kind, &gen) else {
        return;
    };
    let p = free_ports(4);
    let ports = Ports {
        smtp: p[0],
        lmtp: p[1],
        imap: p[2],
        quota: p[3],
    };
    // Inside the move: what Postfix and Dovecot say of both names, then the
    // default move.
    let during = root.join("during.txt");
    let probe = format!(
        "for a in \"$PM_OLD_ADDRESS\" \"$PM_NEW_ADDRESS\"; do postmap -c {pfdir} -q \"$a\" {kind}:{gen}/recipient_access.cf >> {out}; done; \
         doveadm -c {root}/dovecot/dovecot.conf user \"$PM_NEW_ADDRESS\" >/dev/null 2>&1 && echo known >> {out} || echo unknown >> {out}; {mv}",
        pfdir = pf.dir.path().display(),
        gen = gen.display(),
        out = during.display(),
        root = root.display(),
        mv = postfix_manager::config::DEFAULT_RENAME_COMMAND,
    );
    let mut c = t.conn();
    let a = admin_with(&mut c, &homes, &probe);
    let zero = DomainInput {
        quota_limit: Some(0),
        ..Default::default()
    };
    ops::domains::create(&mut c, &a, "example.com", &zero).unwrap();
    ops::domains::create(&mut c, &a, "other.example", &zero).unwrap();
    for m in [BOB, "carol@example.com"] {
        mailbox(&mut c, &a, m);
    }
    ops::aliases::create(&mut c, &a, "info@example.com", BOB, None).unwrap();
    if let postfix_manager::db::DbUrl::Sqlite(db) = &t.url {
        let dir = db.parent().unwrap();
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "chgrp -R postfix '{0}' && chmod -R g+rwX '{0}'",
                dir.display()
            ))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let mail = postfix_manager::config::MailConfig {
        quota_status_port: ports.quota,
        file_group: "postfix".into(),
        ..mail_harness::mail_config(&homes)
    };
    mail_harness::generate_files(t, &a, &mut c, &gen, &mail);
    let s = start(&gen, root, &ports);
    let drained = || {
        let until = Instant::now() + Duration::from_secs(30);
        while !s.queue_is_empty() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(s.queue_is_empty(), "queue not drained\n{}", s.logs());
    };
    let outside = "someone@outside.example";
    let mut smtp = Smtp::open(ports.smtp);
    for (to, subject) in [(BOB, "r1-before"), ("carol@example.com", "k1-before")] {
        let (code, l) = smtp.send(outside, to, subject, 200);
        assert_eq!(code, 250, "{to}: {l}\n{}", s.logs());
    }
    drained();
    assert_eq!(inbox_subjects(ports.imap, BOB, PW), ["r1-before"]);

    ops::rename::rename(&mut c, &a, BOB, ROBERT, false).unwrap();
    let seen = std::fs::read_to_string(&during).unwrap();
    assert_eq!(
        seen,
        "450 4.2.1 This mailbox is being moved; try again later\n\
         450 4.2.1 This mailbox is being moved; try again later\nunknown\n",
        "while pending"
    );
    assert!(homes.join("other.example/robert/Maildir").is_dir());
    assert!(!homes.join("example.com/bob").exists());

    let (code, l) = smtp.rcpt(outside, None, BOB);
    assert_eq!(code / 100, 5, "the old address bounces at RCPT: {l}");
    for (to, subject) in [(ROBERT, "r2-after"), ("info@example.com", "r3-alias")] {
        let (code, l) = smtp.send(outside, to, subject, 200);
        assert_eq!(code, 250, "{to}: {l}\n{}", s.logs());
    }
    drained();
    assert_eq!(
        inbox_subjects(ports.imap, ROBERT, PW),
        ["r1-before", "r2-after", "r3-alias"],
        "old and new mail in the moved maildir\n{}",
        s.logs()
    );
    assert!(
        !imap_login(ports.imap, BOB, PW).0,
        "no login under the old name"
    );

    // --keep-alias: the old address still reaches the mailbox.
    ops::rename::rename(&mut c, &a, "carol@example.com", "caro@example.com", true).unwrap();
    let (code, l) = smtp.send(outside, "carol@example.com", "k2-old-address", 200);
    assert_eq!(code, 250, "{l}\n{}", s.logs());
    drained();
    assert_eq!(
        inbox_subjects(ports.imap, "caro@example.com", PW),
        ["k1-before", "k2-old-address"],
        "{}",
        s.logs()
    );
    smtp.0.smtp("QUIT");
}

on_both_backends!(mail_servers_follow_a_rename, |t| { mail_servers_follow(t) });
