//! Every validation rule with a bad input: the error names the field and the
//! rule, no data row changes, and the refusal is audited. On both backends.

mod common;

use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Perm;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox, Ctx};

fn new_mailbox(addr: &str, pw: &str, quota: Option<i64>) -> NewMailbox {
    NewMailbox {
        address: addr.into(),
        password: pw.into(),
        quota,
        name: None,
    }
}

/// Run `f`, expect a refusal naming `field` with `needle` in its message,
/// and prove nothing but one refused audit row was written.
fn refused<T: std::fmt::Debug>(
    c: &mut AnyConnection,
    field: &str,
    needle: &str,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, OpError>,
) {
    let before = common::snapshot(c);
    let refused_before = refused_count(c);
    let err = f(c).expect_err("should be refused");
    assert!(err.is_refusal(), "{err:?}");
    assert_eq!(err.field(), Some(field), "wrong field in {err}");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{field}: ")), "{msg}");
    assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
    assert_eq!(
        common::snapshot(c),
        before,
        "data changed after a refusal: {msg}"
    );
    assert_eq!(
        refused_count(c),
        refused_before + 1,
        "the refusal was not audited: {msg}"
    );
}

fn refused_count(c: &mut AnyConnection) -> i64 {
    use diesel::prelude::*;
    use postfix_manager::db::schema::audit_logs;
    audit_logs::table
        .filter(audit_logs::result.eq("refused"))
        .count()
        .get_result(c)
        .unwrap()
}

fn setup(t: &common::TestDb) -> (AnyConnection, Ctx) {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let limits = DomainInput {
        quota_limit: Some(3 << 30),
        max_mailboxes: Some(3),
        max_aliases: Some(2),
        max_mailbox_quota: Some(2 << 30),
        ..Default::default()
    };
    ops::domains::create(&mut c, &admin, "example.com", &limits).unwrap();
    ops::mailboxes::create(
        &mut c,
        &admin,
        &new_mailbox("alice@example.com", "mailbox-password-1", Some(1 << 30)),
    )
    .unwrap();
    (c, admin)
}

on_both_backends!(domain_names, |t| {
    let (mut c, a) = setup(t);
    let d = DomainInput::default();
    let long_label = format!("{}.com", "a".repeat(64));
    let too_long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
    for (bad, needle) in [
        ("", "must not be empty"),
        ("nodot", "at least two labels"),
        ("-bad.com", "hyphen"),
        ("bad_.com", "letters, digits and hyphens"),
        ("a..com", "1-63"),
        (long_label.as_str(), "1-63"),
        (too_long.as_str(), "253"),
        ("ex ample.com", "spaces"),
        ("10.0.0.1", "IP address"),
        ("a,b.com", "letters, digits and hyphens"),
    ] {
        refused(&mut c, "name", needle, |c| {
            ops::domains::create(c, &a, bad, &d)
        });
    }
    // duplicates in any letter case or as IDN are the same name
    refused(&mut c, "name", "already exists", |c| {
        ops::domains::create(c, &a, "EXAMPLE.com", &d)
    });
    ops::domains::create(&mut c, &a, "bücher.example", &d).unwrap();
    refused(&mut c, "name", "already exists", |c| {
        ops::domains::create(c, &a, "xn--bcher-kva.example", &d)
    });
    refused(&mut c, "name", "already exists", |c| {
        ops::domains::create(c, &a, "BÜCHER.example", &d)
    });
    let neg = DomainInput {
        quota_limit: Some(-1),
        ..Default::default()
    };
    refused(&mut c, "quota_limit", "negative", |c| {
        ops::domains::create(c, &a, "neg.example", &neg)
    });
    let neg = DomainInput {
        max_mailboxes: Some(-1),
        ..Default::default()
    };
    refused(&mut c, "max_mailboxes", "negative", |c| {
        ops::domains::create(c, &a, "neg.example", &neg)
    });
    let bad_desc = DomainInput {
        description: Some("evil\x1b[2J".into()),
        ..Default::default()
    };
    refused(&mut c, "description", "control", |c| {
        ops::domains::create(c, &a, "desc.example", &bad_desc)
    });
    let bad_transport = DomainInput {
        transport: Some("smtp:[relay], other".into()),
        ..Default::default()
    };
    refused(&mut c, "transport", "commas", |c| {
        ops::domains::create(c, &a, "tr.example", &bad_transport)
    });
});

on_both_backends!(addresses_and_passwords, |t| {
    let (mut c, a) = setup(t);
    let pw = "mailbox-password-1";
    for (bad, needle) in [
        ("bob", "user@domain"),
        ("@example.com", "must not be empty"),
        (".bob@example.com", "dot"),
        ("b..ob@example.com", "dot"),
        ("b,ob@example.com", "letters, digits"),
        ("b:ob@example.com", "letters, digits"),
        ("bob smith@example.com", "spaces"),
        ("bob@nodomain", "two labels"),
    ] {
        refused(&mut c, "address", needle, |c| {
            ops::mailboxes::create(c, &a, &new_mailbox(bad, pw, None))
        });
    }
    let long_local = format!("{}@example.com", "b".repeat(65));
    refused(&mut c, "address", "64", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox(&long_local, pw, None))
    });
    refused(&mut c, "address", "does not exist", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@unknown.example", pw, None))
    });
    refused(&mut c, "address", "already exists", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("ALICE@Example.com", pw, None))
    });
    // passwords: too short, over 72 bytes (never truncated), multibyte counted in bytes
    refused(&mut c, "password", "at least 12", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@example.com", "short", None))
    });
    let long = "x".repeat(73);
    refused(&mut c, "password", "72 bytes", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@example.com", &long, None))
    });
    let wide = "ü".repeat(40);
    refused(&mut c, "password", "72 bytes", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@example.com", &wide, None))
    });
    refused(&mut c, "password", "72 bytes", |c| {
        ops::mailboxes::set_password(c, &a, "alice@example.com", &long)
    });
    // the old password still works after a refused change
    let m = ops::mailboxes::get(&mut c, &a, "alice@example.com").unwrap();
    assert!(postfix_manager::password::verify(pw, &m.password_hash));
});

on_both_backends!(quotas_and_limits, |t| {
    let (mut c, a) = setup(t);
    let pw = "mailbox-password-1";
    // per-mailbox maximum is 2G, domain total 3G, alice already holds 1G
    refused(&mut c, "quota", "per-mailbox maximum", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@example.com", pw, Some(3 << 30)))
    });
    refused(&mut c, "quota", "unlimited is not allowed", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@example.com", pw, Some(0)))
    });
    refused(&mut c, "quota", "negative", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("bob@example.com", pw, Some(-5)))
    });
    ops::mailboxes::create(
        &mut c,
        &a,
        &new_mailbox("bob@example.com", pw, Some(2 << 30)),
    )
    .unwrap();
    refused(&mut c, "quota", "over its total quota", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("carol@example.com", pw, Some(1)))
    });
    let grow = ops::mailboxes::MailboxEdit {
        quota: Some((1 << 30) + 1),
        name: None,
    };
    refused(&mut c, "quota", "over its total quota", |c| {
        ops::mailboxes::edit(c, &a, "alice@example.com", None, &grow)
    });
    // lowering the domain below what is allotted, or its limits below what exists
    let shrink = DomainInput {
        quota_limit: Some(2 << 30),
        ..Default::default()
    };
    refused(&mut c, "quota_limit", "already allotted", |c| {
        ops::domains::edit(c, &a, "example.com", None, &shrink)
    });
    let fewer = DomainInput {
        max_mailboxes: Some(1),
        ..Default::default()
    };
    refused(&mut c, "max_mailboxes", "below the 2 mailboxes", |c| {
        ops::domains::edit(c, &a, "example.com", None, &fewer)
    });
    let cap = DomainInput {
        max_mailbox_quota: Some(1 << 30),
        ..Default::default()
    };
    refused(&mut c, "max_mailbox_quota", "below a quota", |c| {
        ops::domains::edit(c, &a, "example.com", None, &cap)
    });
    // mailbox count limit (3): free room first by raising the total
    let more = DomainInput {
        quota_limit: Some(10 << 30),
        ..Default::default()
    };
    ops::domains::edit(&mut c, &a, "example.com", None, &more).unwrap();
    ops::mailboxes::create(
        &mut c,
        &a,
        &new_mailbox("carol@example.com", pw, Some(1 << 20)),
    )
    .unwrap();
    refused(&mut c, "address", "maximum of 3 mailboxes", |c| {
        ops::mailboxes::create(c, &a, &new_mailbox("dave@example.com", pw, Some(1 << 20)))
    });
});

on_both_backends!(aliases_and_alias_domains, |t| {
    let (mut c, a) = setup(t);
    refused(&mut c, "goto", "at least one destination", |c| {
        ops::aliases::create(c, &a, "info@example.com", " , ", None)
    });
    refused(&mut c, "goto", "destination 2", |c| {
        ops::aliases::create(
            c,
            &a,
            "info@example.com",
            "alice@example.com, not-an-address",
            None,
        )
    });
    refused(&mut c, "goto", "destination 1", |c| {
        ops::aliases::create(c, &a, "info@example.com", "a:b@x.org", None)
    });
    refused(&mut c, "address", "does not exist", |c| {
        ops::aliases::create(c, &a, "info@nowhere.example", "alice@example.com", None)
    });
    let al = ops::aliases::create(
        &mut c,
        &a,
        "Info@Example.com",
        "Alice@Example.com, bob@elsewhere.org, alice@example.com",
        None,
    )
    .unwrap();
    assert_eq!(al.address, "info@example.com");
    assert_eq!(
        al.goto, "alice@example.com,bob@elsewhere.org",
        "normalized and de-duplicated"
    );
    refused(&mut c, "address", "already exists", |c| {
        ops::aliases::create(c, &a, "INFO@example.com", "alice@example.com", None)
    });
    ops::aliases::create(&mut c, &a, "@example.com", "alice@example.com", None).unwrap();
    refused(&mut c, "address", "maximum of 2 aliases", |c| {
        ops::aliases::create(c, &a, "sales@example.com", "alice@example.com", None)
    });
    // alias domains
    refused(&mut c, "name", "already exists as a domain", |c| {
        ops::alias_domains::create(c, &a, "EXAMPLE.COM", "example.com")
    });
    ops::alias_domains::create(&mut c, &a, "example.org", "example.com").unwrap();
    refused(&mut c, "name", "already exists", |c| {
        ops::alias_domains::create(c, &a, "Example.ORG", "example.com")
    });
    refused(&mut c, "name", "alias domain", |c| {
        ops::domains::create(c, &a, "example.org", &Default::default())
    });
    refused(&mut c, "address", "alias domain", |c| {
        ops::mailboxes::create(
            c,
            &a,
            &new_mailbox("x@example.org", "mailbox-password-1", None),
        )
    });
});

on_both_backends!(users_and_grants, |t| {
    let (mut c, a) = setup(t);
    let nu = |name: &str, email: &str, role: &str, pw: &str| ops::users::NewUser {
        username: name.into(),
        email: email.into(),
        role: role.into(),
        password: pw.into(),
    };
    refused(&mut c, "username", "start with a letter", |c| {
        ops::users::create(c, &a, &nu("-x", "x@example.net", "user", "user-password-1"))
    });
    refused(&mut c, "username", "only letters", |c| {
        ops::users::create(
            c,
            &a,
            &nu("a b", "x@example.net", "user", "user-password-1"),
        )
    });
    refused(&mut c, "role", "admin, user or readonly", |c| {
        ops::users::create(
            c,
            &a,
            &nu("bob", "bob@example.net", "root", "user-password-1"),
        )
    });
    refused(&mut c, "email", "user@domain", |c| {
        ops::users::create(c, &a, &nu("bob", "bob", "user", "user-password-1"))
    });
    refused(&mut c, "email", "already used", |c| {
        ops::users::create(
            c,
            &a,
            &nu("bob", "ADMIN@example.net", "user", "user-password-1"),
        )
    });
    refused(&mut c, "username", "already exists", |c| {
        ops::users::create(
            c,
            &a,
            &nu("ADMIN", "x@example.net", "user", "user-password-1"),
        )
    });
    refused(&mut c, "password", "at least 12", |c| {
        ops::users::create(c, &a, &nu("bob", "bob@example.net", "user", "short"))
    });
    // the last admin cannot be demoted, suspended or deleted
    let demote = ops::users::UserEdit {
        email: None,
        role: Some("readonly".into()),
        ..Default::default()
    };
    refused(&mut c, "username", "last active admin", |c| {
        ops::users::edit(c, &a, "admin", None, &demote)
    });
    refused(&mut c, "username", "yourself", |c| {
        ops::users::delete(c, &a, "admin")
    });
    // grants only for role user, with known permission names
    ops::users::create(
        &mut c,
        &a,
        &nu("ro", "ro@example.net", "readonly", "user-password-1"),
    )
    .unwrap();
    refused(&mut c, "username", "role 'user'", |c| {
        ops::permissions::grant(c, &a, "ro", "example.com", &[Perm::Mailboxes])
    });
    let err = Perm::parse_list("permissions", "mailboxes,root").unwrap_err();
    assert_eq!(err.field(), Some("permissions"));
    // deleting a domain with content needs the cascade flag
    refused(&mut c, "cascade", "--cascade", |c| {
        ops::domains::delete(c, &a, "example.com", false)
    });
});

on_both_backends!(concurrent_edit_is_refused, |t| {
    let (mut c, a) = setup(t);
    let m = ops::mailboxes::get(&mut c, &a, "alice@example.com").unwrap();
    let first = ops::mailboxes::MailboxEdit {
        quota: None,
        name: Some("Alice A.".into()),
    };
    ops::mailboxes::edit(&mut c, &a, "alice@example.com", Some(m.version), &first).unwrap();
    let second = ops::mailboxes::MailboxEdit {
        quota: None,
        name: Some("Alice B.".into()),
    };
    let err = ops::mailboxes::edit(&mut c, &a, "alice@example.com", Some(m.version), &second)
        .unwrap_err();
    assert!(matches!(err, OpError::Conflict(_)), "{err:?}");
    let now = ops::mailboxes::get(&mut c, &a, "alice@example.com").unwrap();
    assert_eq!(
        now.name.as_deref(),
        Some("Alice A."),
        "the first save survives"
    );
});
