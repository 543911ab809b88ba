//! Issue 21, the data half: sending limits per mailbox and domain with
//! inheritance, suspensions, who may change them, the audit rows, and the
//! CLI, on both backends.

mod common;
mod mail_harness;

use diesel::prelude::*;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Perm;
use postfix_manager::ops::mailboxes::NewMailbox;
use postfix_manager::ops::send_limits::{self as sl, Change, LimitsEdit};
use postfix_manager::ops::{self, Ctx};
use postfix_manager::policyd::settings::PolicydSettings;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

fn fixture(c: &mut AnyConnection, a: &Ctx) {
    ops::domains::create(c, a, "example.com", &Default::default()).unwrap();
    ops::domains::create(c, a, "other.example", &Default::default()).unwrap();
    for addr in [ALICE, BOB, "olga@other.example"] {
        ops::mailboxes::create(
            c,
            a,
            &NewMailbox {
                address: addr.into(),
                password: "mailbox-password-1".into(),
                quota: None,
                name: None,
            },
        )
        .unwrap();
    }
}

fn set(hour: Option<Change>, day: Option<Change>) -> LimitsEdit {
    LimitsEdit {
        per_hour: hour,
        per_day: day,
        ..Default::default()
    }
}

/// (action, resource_type, result) of the newest audit row.
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

on_both_backends!(limits_inherit_mailbox_domain_defaults, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let s = PolicydSettings::default();
    let v = sl::mailbox(&mut c, &a, &s, ALICE).unwrap();
    assert_eq!(
        v.effective,
        sl::defaults(&s),
        "nothing stored: the defaults"
    );

    sl::set_domain(
        &mut c,
        &a,
        &s,
        "example.com",
        &set(Some(Change::Set(30)), Some(Change::Set(300))),
    )
    .unwrap();
    let v = sl::set_mailbox(&mut c, &a, &s, ALICE, &set(Some(Change::Set(3)), None)).unwrap();
    assert_eq!(v.own.per_hour, Some(3));
    assert_eq!(v.effective.per_hour, Some(3));
    assert_eq!(v.effective.per_day, Some(300), "from the domain");
    assert_eq!(v.effective.rcpt_per_msg, Some(50), "from [policyd]");
    let (action, kind, result, details) = last_audit(&mut c);
    assert_eq!(
        (action.as_str(), kind.as_deref(), result.as_str()),
        ("update", Some("send_limit"), "ok")
    );
    assert!(details.unwrap().contains(ALICE));

    let bob = sl::mailbox(&mut c, &a, &s, BOB).unwrap();
    assert_eq!(
        bob.effective.per_hour,
        Some(30),
        "bob inherits the domain's"
    );
    let olga = sl::mailbox(&mut c, &a, &s, "olga@other.example").unwrap();
    assert_eq!(
        olga.effective.per_hour,
        Some(200),
        "another domain: the default"
    );

    // Back to inheriting: the row goes away.
    let v = sl::set_mailbox(&mut c, &a, &s, ALICE, &set(Some(Change::Inherit), None)).unwrap();
    assert!(v.own.is_empty());
    assert_eq!(v.effective.per_hour, Some(30));
    assert_eq!(
        common::count(&mut c, "send_limits"),
        1,
        "only the domain's row is left"
    );

    // Deleting the mailbox takes its limits and suspension with it.
    sl::set_mailbox(&mut c, &a, &s, BOB, &set(Some(Change::Set(1)), None)).unwrap();
    sl::suspend(&mut c, &a, BOB, "test").unwrap();
    ops::mailboxes::delete(&mut c, &a, BOB).unwrap();
    assert_eq!(common::count(&mut c, "send_limits"), 1);
    assert_eq!(common::count(&mut c, "sending_suspensions"), 0);
});

on_both_backends!(bad_limits_name_the_field_and_change_nothing, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let s = PolicydSettings::default();
    let e = sl::set_mailbox(&mut c, &a, &s, ALICE, &set(Some(Change::Set(0)), None)).unwrap_err();
    assert!(e.to_string().starts_with("per_hour:"), "{e}");
    let e = sl::set_mailbox(
        &mut c,
        &a,
        &s,
        ALICE,
        &set(None, Some(Change::Set(sl::MAX_LIMIT + 1))),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("per_day:"), "{e}");
    assert_eq!(common::count(&mut c, "send_limits"), 0);
    let (_, kind, result, _) = last_audit(&mut c);
    assert_eq!(
        (kind.as_deref(), result.as_str()),
        (Some("send_limit"), "refused")
    );
    let e = sl::set_mailbox(
        &mut c,
        &a,
        &s,
        "nobody@example.com",
        &set(Some(Change::Set(1)), None),
    )
    .unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e:?}");
    let e = sl::suspend(&mut c, &a, ALICE, "  ").unwrap_err();
    assert!(e.to_string().starts_with("reason:"), "{e}");
    assert_eq!(common::count(&mut c, "sending_suspensions"), 0);
});

on_both_backends!(who_may_change_limits_and_suspensions, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let s = PolicydSettings::default();
    let tenant = common::user_with_role(&mut c, &a, "tenant", "user");
    ops::permissions::grant(&mut c, &a, "tenant", "example.com", &[Perm::Mailboxes]).unwrap();
    let ro = common::user_with_role(&mut c, &a, "watcher", "readonly");

    // Reading: within scope.
    assert!(sl::mailbox(&mut c, &tenant, &s, ALICE).is_ok());
    assert!(sl::mailbox(&mut c, &tenant, &s, "olga@other.example").is_err());
    // Limits: admins only.
    let e =
        sl::set_mailbox(&mut c, &tenant, &s, ALICE, &set(Some(Change::Set(9)), None)).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    let e = sl::set_domain(
        &mut c,
        &ro,
        &s,
        "example.com",
        &set(Some(Change::Set(9)), None),
    )
    .unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    assert_eq!(common::count(&mut c, "send_limits"), 0);
    let (_, kind, result, _) = last_audit(&mut c);
    assert_eq!(
        (kind.as_deref(), result.as_str()),
        (Some("send_limit"), "refused")
    );

    // Suspending: the domain's mailbox managers; resuming: admins.
    let e = sl::suspend(&mut c, &ro, ALICE, "phished").unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    let e = sl::suspend(&mut c, &tenant, "olga@other.example", "x").unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e:?}");
    let susp = sl::suspend(&mut c, &tenant, ALICE, "phished").unwrap();
    assert_eq!(susp.created_by, "tenant");
    assert!(!susp.automatic);
    let (action, kind, result, _) = last_audit(&mut c);
    assert_eq!(
        (action.as_str(), kind.as_deref(), result.as_str()),
        ("suspend", Some("sending"), "ok")
    );
    let e = sl::suspend(&mut c, &a, ALICE, "again").unwrap_err();
    assert!(e.to_string().starts_with("address:"), "{e}");
    assert_eq!(sl::suspensions(&mut c, &tenant).unwrap().len(), 1);
    let e = sl::resume(&mut c, &tenant, ALICE).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    assert_eq!(common::count(&mut c, "sending_suspensions"), 1);
    sl::resume(&mut c, &a, ALICE).unwrap();
    assert_eq!(common::count(&mut c, "sending_suspensions"), 0);
    let (action, kind, result, _) = last_audit(&mut c);
    assert_eq!(
        (action.as_str(), kind.as_deref(), result.as_str()),
        ("activate", Some("sending"), "ok")
    );
    let e = sl::resume(&mut c, &a, ALICE).unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e:?}");

    // The policy service's own containment: audited without a user.
    assert!(sl::auto_suspend(&mut c, None, "mx1", ALICE, "abuse").unwrap());
    assert!(
        !sl::auto_suspend(&mut c, None, "mx2", ALICE, "abuse").unwrap(),
        "once"
    );
    let (who, action): (Option<String>, String) = audit_logs::table
        .order(audit_logs::id.desc())
        .select((audit_logs::actor, audit_logs::action))
        .first(&mut c)
        .unwrap();
    assert_eq!(
        (who.as_deref(), action.as_str()),
        (Some("policyd@mx1"), "suspend")
    );
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
});

// The binary.
const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

on_both_backends!(cli_sets_shows_suspends_and_resumes, |t| {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[security]\nbcrypt_cost = 4\n[policyd]\nper_hour = 7\n",
    )
    .unwrap();
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
    ok(&["domain", "add", "example.com"]);
    ok(&["mailbox", "add", ALICE, "--generate-password"]);

    let j: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "mailbox", "limits", ALICE])).unwrap();
    assert_eq!(
        j["effective"]["per_hour"], 7,
        "[policyd] per_hour from the config: {j}"
    );
    ok(&["domain", "limits", "example.com", "--per-day", "70"]);
    let text = ok(&[
        "mailbox",
        "limits",
        ALICE,
        "--per-hour",
        "5",
        "--rcpt-per-msg",
        "2",
    ]);
    assert!(text.contains("effective"), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "mailbox", "limits", ALICE])).unwrap();
    assert_eq!(j["effective"]["per_hour"], 5);
    assert_eq!(j["effective"]["per_day"], 70);
    assert_eq!(j["effective"]["rcpt_per_msg"], 2);

    let out = run(&["mailbox", "limits", ALICE, "--per-hour", "lots"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("per-hour"), "{err}");

    ok(&["sending", "suspend", ALICE, "--reason", "phished password"]);
    let list = ok(&["sending", "list"]);
    assert!(
        list.contains(ALICE) && list.contains("phished password"),
        "{list}"
    );
    let text = ok(&["mailbox", "limits", ALICE]);
    assert!(text.contains("sending suspended"), "{text}");

    // `stats senders` (and its other name `policyd senders`): the shared
    // counters with each sender's limit and state, for monitoring.
    let now = chrono::Utc::now().timestamp();
    let counts = |m| postfix_manager::store::send_limits::Counts {
        messages: m,
        recipients: m * 2,
        refused: 1,
    };
    sl::add_counts(
        &mut t.conn(),
        &[
            (ALICE.into(), 3600, now - now.rem_euclid(3600), counts(4)),
            (
                ALICE.into(),
                86_400,
                now - now.rem_euclid(86_400),
                counts(9),
            ),
        ],
    )
    .unwrap();
    let j: serde_json::Value = serde_json::from_str(&ok(&["--json", "stats", "senders"])).unwrap();
    let row = &j["items"][0];
    assert_eq!(row["sender"], ALICE, "{j}");
    assert_eq!(row["messages"], 4, "{j}");
    assert_eq!(row["recipients"], 8, "{j}");
    assert_eq!(row["limit"], 5, "the effective hourly limit: {j}");
    assert_eq!(row["suspended"], true, "{j}");
    let day: serde_json::Value =
        serde_json::from_str(&ok(&["--json", "stats", "senders", "--day"])).unwrap();
    assert_eq!(day["items"][0]["messages"], 9, "{day}");
    assert_eq!(
        day["items"][0]["limit"], 70,
        "the domain's daily limit: {day}"
    );
    assert_eq!(
        ok(&["--json", "policyd", "senders"]),
        ok(&["--json", "stats", "senders"]),
        "one implementation, two names"
    );
    let text = ok(&["stats", "senders"]);
    let line = text
        .lines()
        .find(|l| l.starts_with(ALICE))
        .unwrap_or_default();
    assert!(line.contains("suspended") && line.contains(" 5 "), "{text}");
    // Plain `stats` is unchanged.
    let j: serde_json::Value = serde_json::from_str(&ok(&["--json", "stats"])).unwrap();
    assert!(j["totals"].is_object(), "{j}");

    ok(&["sending", "resume", ALICE]);
    let j: serde_json::Value = serde_json::from_str(&ok(&["--json", "sending", "list"])).unwrap();
    assert_eq!(j["items"].as_array().unwrap().len(), 0);
});

// Containment reaches the mail servers: the generated Dovecot passdb
// refuses smtp/submission logins of a suspended mailbox (other protocols
// still work), the sender login map stops naming it; resuming restores
// both. Against the real programs reading the generated files.
on_both_backends!(suspension_reaches_dovecot_and_the_sender_map, |t| {
    use std::os::unix::fs::PermissionsExt;
    if !mail_harness::have(&["dovecot", "doveadm", "doveconf", "postmap"]) {
        common::skip("dovecot/doveadm/postmap not installed");
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
    let dc = mail_harness::Dovecot::start(&out);
    let kind = match t.url {
        postfix_manager::db::DbUrl::Sqlite(_) => "sqlite",
        postfix_manager::db::DbUrl::Postgres(_) => "pgsql",
    };
    let pf = mail_harness::Postfix::new(kind, &out);
    const PW: &str = "mailbox-password-1";
    for svc in ["smtp", "submission", "imap"] {
        assert!(dc.auth_as(svc, ALICE, PW), "{svc} before");
    }
    if let Some(pf) = &pf {
        assert_eq!(
            pf.query("sender_login_maps.cf", ALICE).as_deref(),
            Some(ALICE)
        );
    }

    sl::suspend(&mut c, &a, ALICE, "phished").unwrap();
    assert!(!dc.auth_as("smtp", ALICE, PW), "smtp while suspended");
    assert!(
        !dc.auth_as("submission", ALICE, PW),
        "submission while suspended"
    );
    assert!(dc.auth_as("imap", ALICE, PW), "imap is not about sending");
    assert!(dc.auth_as("smtp", BOB, PW), "bob still sends");
    if let Some(pf) = &pf {
        assert_eq!(pf.query("sender_login_maps.cf", ALICE), None);
        assert_eq!(pf.query("sender_login_maps.cf", BOB).as_deref(), Some(BOB));
    }

    sl::resume(&mut c, &a, ALICE).unwrap();
    assert!(dc.auth_as("smtp", ALICE, PW), "smtp after resume");
    if let Some(pf) = &pf {
        assert_eq!(
            pf.query("sender_login_maps.cf", ALICE).as_deref(),
            Some(ALICE)
        );
    }
});

// `health` reports each policy service host and its trouble.
on_both_backends!(health_reports_the_policy_service, |t| {
    use postfix_manager::health::{self, Status};
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);
    let opts = health::Options::default();
    let find = |r: &health::Report| r.checks.iter().find(|c| c.name == "policyd").cloned();
    assert!(
        find(&health::run(&t.url, &opts)).is_none(),
        "no host reported yet"
    );
    let started = chrono::Utc::now().naive_utc();
    sl::heartbeat(
        &mut c,
        &sl::Heartbeat {
            host: "mx1",
            started_at: started,
            decisions: 42,
            fail_open: 0,
            last_error: None,
        },
    )
    .unwrap();
    let ch = find(&health::run(&t.url, &opts)).unwrap();
    assert_eq!(ch.status, Status::Ok, "{ch:?}");
    assert!(
        ch.message.contains("mx1") && ch.message.contains("42 decisions"),
        "{ch:?}"
    );
    sl::heartbeat(
        &mut c,
        &sl::Heartbeat {
            host: "mx1",
            started_at: started,
            decisions: 50,
            fail_open: 3,
            last_error: Some((
                "cannot connect to the database",
                chrono::Utc::now().naive_utc(),
            )),
        },
    )
    .unwrap();
    let ch = find(&health::run(&t.url, &opts)).unwrap();
    assert_eq!(ch.status, Status::Warning, "{ch:?}");
    assert!(
        ch.message.contains("3 failed open") && ch.message.contains("cannot connect"),
        "{ch:?}"
    );
});
