//! Against a real slapd on loopback (tests/ldap_slapd): connection tests in
//! every TLS mode and each distinct failure, login by LDAP bind with
//! fallback to the next server, and user import. Prints the latencies it
//! measures (run with --nocapture to see them).

mod common;
mod ldap_slapd;

use std::time::{Duration, Instant};

use diesel::prelude::*;
use ldap_slapd::{Blackhole, Slapd, ALICE_PW, BOB_PW, PEOPLE, READER_DN, READER_PW, SUFFIX};
use postfix_manager::db::schema::{audit_logs, users};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::ldap::test::TestReport;
use postfix_manager::model::Role;
use postfix_manager::ops::auth::{self, Directory};
use postfix_manager::ops::ldap::{self as ldap_ops, BindPassword, ImportRequest, ServerInput};
use postfix_manager::ops::{Client, ClientKind, Ctx};
use postfix_manager::secrets::{KeyFile, SecretString};

struct Site {
    _keydir: tempfile::TempDir,
    keys: KeyFile,
}

fn site() -> Site {
    let d = tempfile::tempdir().unwrap();
    let keys = KeyFile::new(d.path().join("secret.key"));
    Site { _keydir: d, keys }
}

fn server(s: &Slapd, tls: &str) -> ServerInput {
    let (port, ca) = match tls {
        "ldaps" => (s.ldaps_port, Some(s.ca.display().to_string())),
        "starttls" => (s.port, Some(s.ca.display().to_string())),
        _ => (s.port, None),
    };
    ServerInput {
        host: Some("127.0.0.1".into()),
        port: Some(i64::from(port)),
        tls_mode: Some(tls.into()),
        ca_file: ca,
        bind_dn: Some(READER_DN.into()),
        bind_password: BindPassword::Set(SecretString::new(READER_PW)),
        base_dn: Some(SUFFIX.into()),
        user_search_base: Some(PEOPLE.into()),
        user_filter: Some("(objectClass=inetOrgPerson)".into()),
        ..Default::default()
    }
}

fn test(c: &mut AnyConnection, a: &Ctx, k: &KeyFile, name: &str, secs: u64) -> TestReport {
    ldap_ops::test(c, a, Some(k), name, Duration::from_secs(secs)).unwrap()
}

fn failure(r: &TestReport) -> (&'static str, &'static str, String) {
    let e = r.error.as_ref().expect("an error");
    (r.failed_step.unwrap(), e.kind(), e.to_string())
}

#[test]
fn connection_test_in_each_tls_mode_and_each_failure() {
    let Some(s) = Slapd::start() else { return };
    let t = common::TestDb::sqlite();
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let st = site();
    let k = &st.keys;
    for mode in ["none", "starttls", "ldaps"] {
        ldap_ops::create(&mut c, &a, Some(k), mode, &server(&s, mode)).unwrap();
        let r = test(&mut c, &a, k, mode, 5);
        assert!(r.ok, "{mode}: {r:?}\n{}", s.log());
        let users: Vec<_> = r.entries.iter().filter_map(|e| e.user.clone()).collect();
        assert!(users.contains(&"alice".to_string()), "{users:?}");
        assert!(r.entries.len() <= 5);
        println!(
            "latency {mode:>8}: connect {} ms, bind {} ms, search {} ms, total {} ms, {} entries",
            r.connect_ms.unwrap(),
            r.bind_ms.unwrap(),
            r.search_ms.unwrap(),
            r.total_ms,
            r.entries.len()
        );
    }
    // StartTLS on a server the client must verify: the wrong CA is a TLS failure
    let edit = |ca: &std::path::Path| ServerInput {
        ca_file: Some(ca.display().to_string()),
        ..Default::default()
    };
    ldap_ops::edit(&mut c, &a, Some(k), "starttls", None, &edit(&s.other_ca)).unwrap();
    let (step, kind, msg) = failure(&test(&mut c, &a, k, "starttls", 5));
    assert_eq!((step, kind), ("connect", "tls"), "{msg}");
    ldap_ops::edit(&mut c, &a, Some(k), "ldaps", None, &edit(&s.other_ca)).unwrap();
    let (step, kind, msg) = failure(&test(&mut c, &a, k, "ldaps", 5));
    assert_eq!((step, kind), ("connect", "tls"), "{msg}");
    println!("tls failure message: {msg}");
    // LDAPS spoken to the plain port: also a TLS failure, not a hang
    ldap_ops::edit(
        &mut c,
        &a,
        Some(k),
        "ldaps",
        None,
        &ServerInput {
            port: Some(i64::from(s.port)),
            ca_file: Some(s.ca.display().to_string()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(failure(&test(&mut c, &a, k, "ldaps", 5)).1, "tls");

    // bad credentials
    ldap_ops::edit(
        &mut c,
        &a,
        Some(k),
        "none",
        None,
        &ServerInput {
            bind_password: BindPassword::Set(SecretString::new("not-the-password")),
            ..Default::default()
        },
    )
    .unwrap();
    let (step, kind, _) = failure(&test(&mut c, &a, k, "none", 5));
    assert_eq!((step, kind), ("bind", "bad_credentials"));
    // no such base DN
    ldap_ops::edit(
        &mut c,
        &a,
        Some(k),
        "none",
        None,
        &ServerInput {
            bind_password: BindPassword::Set(SecretString::new(READER_PW)),
            user_search_base: Some("ou=nowhere,dc=example,dc=com".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let (step, kind, msg) = failure(&test(&mut c, &a, k, "none", 5));
    assert_eq!((step, kind), ("search", "no_such_base"), "{msg}");
    assert!(msg.contains("ou=nowhere"), "{msg}");
    // connection refused
    let mut closed = server(&s, "none");
    closed.port = Some(i64::from(ldap_slapd::free_port()));
    ldap_ops::create(&mut c, &a, Some(k), "closed", &closed).unwrap();
    assert_eq!(
        failure(&test(&mut c, &a, k, "closed", 5)).1,
        "connection_refused"
    );
    // name not resolved
    let mut nowhere = server(&s, "none");
    nowhere.host = Some("no-such-host.invalid".into());
    ldap_ops::create(&mut c, &a, Some(k), "nowhere", &nowhere).unwrap();
    assert_eq!(
        failure(&test(&mut c, &a, k, "nowhere", 5)).1,
        "name_not_resolved"
    );
    // a server that accepts and never answers: timeout, on time
    let hole = Blackhole::new();
    let mut hung = server(&s, "none");
    hung.port = Some(i64::from(hole.port));
    ldap_ops::create(&mut c, &a, Some(k), "hung", &hung).unwrap();
    let started = Instant::now();
    let r = test(&mut c, &a, k, "hung", 1);
    let took = started.elapsed();
    assert_eq!(failure(&r).1, "timeout", "{r:?}");
    assert!(took < Duration::from_millis(1800), "timeout took {took:?}");
    println!("timeout of 1 s reported after {} ms", took.as_millis());
    // every test was audited, and no audit row holds the bind password
    let details: Vec<Option<String>> = audit_logs::table
        .filter(audit_logs::action.eq("test"))
        .select(audit_logs::details)
        .load(&mut c)
        .unwrap();
    assert_eq!(details.len(), 11);
    assert!(details.iter().flatten().all(|d| !d.contains(READER_PW)));
}

fn directory(k: &KeyFile, secs: u64) -> Directory {
    Directory {
        key_file: Some(k.clone()),
        timeout: Some(Duration::from_secs(secs)),
    }
}

fn login(
    c: &mut AnyConnection,
    k: &KeyFile,
    user: &str,
    pw: &str,
    secs: u64,
) -> Result<Ctx, OpError> {
    auth::login_with(
        c,
        user,
        pw,
        &Client::from_env(ClientKind::Cli),
        &common::policy(),
        &directory(k, secs),
    )
}

fn last_login_audit(c: &mut AnyConnection) -> (String, serde_json::Value) {
    let (result, details): (String, Option<String>) = audit_logs::table
        .filter(audit_logs::action.eq("login"))
        .order(audit_logs::id.desc())
        .select((audit_logs::result, audit_logs::details))
        .first(c)
        .unwrap();
    (result, serde_json::from_str(&details.unwrap()).unwrap())
}

fn import(
    c: &mut AnyConnection,
    a: &Ctx,
    k: &KeyFile,
    server: &str,
    dry_run: bool,
) -> ldap_ops::ImportReport {
    ldap_ops::import(
        c,
        a,
        Some(k),
        &ImportRequest {
            server: server.into(),
            filter: None,
            role: Role::Readonly,
            limit: 100,
            dry_run,
        },
        Duration::from_secs(5),
    )
    .unwrap()
}

on_both_backends!(import_then_login_by_ldap_bind, |t| {
    let Some(s) = Slapd::start() else { return };
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let st = site();
    let k = &st.keys;
    ldap_ops::create(&mut c, &a, Some(k), "dir", &server(&s, "starttls")).unwrap();

    // preview: nothing written
    let users_before = common::count(&mut c, "users");
    let p = import(&mut c, &a, k, "dir", true);
    assert_eq!(common::count(&mut c, "users"), users_before);
    assert_eq!((p.created, p.skipped), (3, 1), "{p:?}");
    let nomail = p
        .rows
        .iter()
        .find(|r| r.username.as_deref() == Some("nomail"))
        .unwrap();
    assert_eq!(nomail.action, postfix_manager::ops::ldap::Planned::Skip);
    assert_eq!(
        format!("{:<6}|", nomail.action),
        "skip  |",
        "the CLI pads it"
    );
    assert!(nomail.reason.as_deref().unwrap().contains("no mail"));
    // attribute values from the directory are stripped of control characters
    let mallory = p
        .rows
        .iter()
        .find(|r| r.username.as_deref() == Some("mallory"))
        .unwrap();
    let name = mallory.name.as_deref().unwrap();
    assert!(
        name.starts_with("Mallory ") && name.ends_with("Evil"),
        "{name:?}"
    );
    assert!(!name.chars().any(char::is_control), "{name:?}");

    let r = import(&mut c, &a, k, "dir", false);
    assert_eq!(r.created, 3);
    assert_eq!(common::count(&mut c, "users"), users_before + 3);
    let (role, source, server_id): (String, String, Option<i32>) = users::table
        .filter(users::username.eq("alice"))
        .select((users::role, users::auth_source, users::ldap_server_id))
        .first(&mut c)
        .unwrap();
    assert_eq!((role.as_str(), source.as_str()), ("readonly", "ldap"));
    assert!(server_id.is_some());
    let creates: i64 = audit_logs::table
        .filter(audit_logs::action.eq("create"))
        .filter(audit_logs::resource_type.eq("user"))
        .filter(audit_logs::details.like("%\"auth_source\":\"ldap\"%"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(creates, 3);
    // a second import finds them all existing
    assert_eq!(import(&mut c, &a, k, "dir", true).created, 0);

    // right password: logged in, role from our database
    let alice = login(&mut c, k, "alice", ALICE_PW, 5).unwrap();
    assert_eq!(alice.username, "alice");
    let (result, d) = last_login_audit(&mut c);
    assert_eq!(result, "ok");
    assert_eq!(d["method"], "ldap");
    assert_eq!(d["dn"], format!("uid=alice,{PEOPLE}"));
    // readonly, as imported: may read, may not write
    assert!(ldap_ops::list(&mut c, &alice, &Default::default()).is_ok());
    assert!(matches!(
        postfix_manager::ops::domains::create(&mut c, &alice, "example.org", &Default::default()),
        Err(OpError::Denied(_))
    ));
    // wrong password, another user's password, empty password: refused and counted
    for pw in ["wrong-password-123", BOB_PW, ""] {
        assert!(matches!(
            login(&mut c, k, "alice", pw, 5),
            Err(OpError::Auth)
        ));
        let (result, d) = last_login_audit(&mut c);
        assert_eq!(result, "failed");
        assert_eq!(d["method"], "ldap");
        assert!(!d.to_string().contains(ALICE_PW));
    }
    let fails: i32 = users::table
        .filter(users::username.eq("alice"))
        .select(users::failed_logins)
        .first(&mut c)
        .unwrap();
    assert_eq!(fails, 3);
    // the LDAP password does not work as a local one, and cannot be set here
    assert!(matches!(
        postfix_manager::ops::users::set_password(&mut c, &a, "alice", "local-password-123"),
        Err(OpError::Invalid { .. })
    ));
    // local users are unchanged
    assert!(login(&mut c, k, "admin", common::ADMIN_PW, 5).is_ok());
    // a local user switched to LDAP logs in with the directory's password only
    common::user_with_role(&mut c, &a, "bob2", "user");
    postfix_manager::ops::users::edit(
        &mut c,
        &a,
        "bob2",
        None,
        &postfix_manager::ops::users::UserEdit {
            auth_source: Some("ldap".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(
        login(&mut c, k, "bob2", "bob2-password-1", 5),
        Err(OpError::Auth)
    ));
});

on_both_backends!(first_servers_down_then_fallback, |t| {
    let Some(s) = Slapd::start() else { return };
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let st = site();
    let k = &st.keys;
    let hole = Blackhole::new();
    let mut refused = server(&s, "none");
    refused.port = Some(i64::from(ldap_slapd::free_port()));
    refused.priority = Some(10);
    let mut hung = server(&s, "none");
    hung.port = Some(i64::from(hole.port));
    hung.priority = Some(20);
    let mut good = server(&s, "ldaps");
    good.priority = Some(30);
    ldap_ops::create(&mut c, &a, Some(k), "a-refused", &refused).unwrap();
    ldap_ops::create(&mut c, &a, Some(k), "b-hung", &hung).unwrap();
    ldap_ops::create(&mut c, &a, Some(k), "c-good", &good).unwrap();
    import(&mut c, &a, k, "c-good", false);

    let started = Instant::now();
    login(&mut c, k, "bob", BOB_PW, 1).unwrap();
    println!(
        "login after a refused and a hung server: {} ms",
        started.elapsed().as_millis()
    );
    let (_, d) = last_login_audit(&mut c);
    let outcomes: Vec<(&str, &str)> = d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["server"].as_str().unwrap(),
                x["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("a-refused", "connection_refused"),
            ("b-hung", "timeout"),
            ("c-good", "accepted")
        ]
    );
    // a wrong password is an answer: the next server is not asked
    ldap_ops::edit(
        &mut c,
        &a,
        Some(k),
        "c-good",
        None,
        &ServerInput {
            priority: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(login(&mut c, k, "bob", "wrong-password-1", 1).is_err());
    let (_, d) = last_login_audit(&mut c);
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["reason"], "wrong password");
    // every server down: refused, and not counted against the user
    ldap_ops::edit(
        &mut c,
        &a,
        Some(k),
        "c-good",
        None,
        &ServerInput {
            is_active: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let before: i32 = users::table
        .filter(users::username.eq("bob"))
        .select(users::failed_logins)
        .first(&mut c)
        .unwrap();
    assert!(matches!(
        login(&mut c, k, "bob", BOB_PW, 1),
        Err(OpError::Auth)
    ));
    let (result, d) = last_login_audit(&mut c);
    assert_eq!(
        (result.as_str(), d["reason"].as_str().unwrap()),
        ("failed", "no LDAP server could answer")
    );
    let after: i32 = users::table
        .filter(users::username.eq("bob"))
        .select(users::failed_logins)
        .first(&mut c)
        .unwrap();
    assert_eq!(before, after);
    // the last active server cannot be removed while LDAP users depend on it
    ldap_ops::delete(&mut c, &a, "a-refused").unwrap();
    let e = ldap_ops::delete(&mut c, &a, "b-hung").unwrap_err();
    assert!(e.to_string().contains("last active LDAP server"), "{e}");
});
