//! Login protection and password policy: lockout with a growing delay,
//! one answer for every failure, common passwords refused, and a required
//! password change that blocks everything else until done.

mod common;

use diesel::prelude::*;
use postfix_manager::db::schema::users;
use postfix_manager::error::OpError;
use postfix_manager::ops::{self, Client, ClientKind, Policy};
use postfix_manager::store::{Filter, Page};

fn strict() -> Policy {
    Policy {
        lockout_threshold: 3,
        lockout_base_seconds: 60,
        lockout_max_seconds: 600,
        ..common::policy()
    }
}

#[test]
fn lock_grows_and_is_capped() {
    let p = strict();
    let got: Vec<Option<i64>> = (1..=8).map(|n| ops::auth::lock_for(&p, n)).collect();
    assert_eq!(
        got,
        vec![
            None,
            None,
            Some(60),
            Some(120),
            Some(240),
            Some(480),
            Some(600),
            Some(600)
        ]
    );
}

on_both_backends!(lockout_after_repeated_failures, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    common::user_with_role(&mut c, &admin, "bob", "user");
    let client = Client::from_env(ClientKind::Cli);
    let p = strict();
    let unknown = ops::auth::login(&mut c, "nobody", "whatever-password", &client, &p)
        .unwrap_err()
        .to_string();
    for _ in 0..3 {
        let e = ops::auth::login(&mut c, "bob", "wrong-password-99", &client, &p).unwrap_err();
        assert!(matches!(e, OpError::Auth));
        assert_eq!(e.to_string(), unknown, "one message for every failure");
    }
    let (failed, until): (i32, Option<chrono::NaiveDateTime>) = users::table
        .filter(users::username.eq("bob"))
        .select((users::failed_logins, users::locked_until))
        .first(&mut c)
        .unwrap();
    assert_eq!(failed, 3);
    let until = until.expect("locked after the third failure");
    let now = chrono::Utc::now().naive_utc();
    assert!(
        until > now + chrono::TimeDelta::seconds(50)
            && until <= now + chrono::TimeDelta::seconds(61)
    );
    // the right password is refused while locked, with the same message
    let e = ops::auth::login(&mut c, "bob", "bob-password-1", &client, &p).unwrap_err();
    assert_eq!(e.to_string(), unknown);
    let reasons: Vec<Option<String>> = postfix_manager::db::schema::audit_logs::table
        .filter(postfix_manager::db::schema::audit_logs::action.eq("login"))
        .select(postfix_manager::db::schema::audit_logs::details)
        .load(&mut c)
        .unwrap();
    let all: String = reasons.into_iter().flatten().collect();
    assert!(
        all.contains("account locked for 60 s") && all.contains("account locked until"),
        "{all}"
    );
    // once the lock has passed, the right password works and resets the count
    diesel::update(users::table.filter(users::username.eq("bob")))
        .set(users::locked_until.eq(Some(now - chrono::TimeDelta::seconds(1))))
        .execute(&mut c)
        .unwrap();
    ops::auth::login(&mut c, "bob", "bob-password-1", &client, &p).unwrap();
    let failed: i32 = users::table
        .filter(users::username.eq("bob"))
        .select(users::failed_logins)
        .first(&mut c)
        .unwrap();
    assert_eq!(failed, 0);
});

on_both_backends!(common_passwords_are_refused, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(&mut c, &admin, "example.com", &Default::default()).unwrap();
    let err = ops::mailboxes::create(
        &mut c,
        &admin,
        &ops::mailboxes::NewMailbox {
            address: "alice@example.com".into(),
            password: "Password1234".into(),
            quota: None,
            name: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("password"), "{err}");
    assert!(err.to_string().contains("common"), "{err}");
    assert_eq!(common::count(&mut c, "mailboxes"), 0);
});

on_both_backends!(required_password_change_blocks_everything_else, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let bob = common::user_with_role(&mut c, &admin, "bob", "readonly");
    let require = ops::users::UserEdit {
        must_change_password: Some(true),
        ..Default::default()
    };
    ops::users::edit(&mut c, &admin, "bob", None, &require).unwrap();
    // logging in works, anything else is refused with the way out
    let bob2 = common::login(&mut c, "bob", "bob-password-1");
    let err = ops::domains::list(&mut c, &bob2, &Filter::default(), &Page::default()).unwrap_err();
    assert!(
        matches!(err, OpError::Denied(_)) && err.to_string().contains("user password bob"),
        "{err}"
    );
    let err = ops::users::set_password(&mut c, &bob, "admin", "another-password-77").unwrap_err();
    assert!(matches!(err, OpError::Denied(_)), "{err}");
    ops::users::set_password(&mut c, &bob, "bob", "a-fresh-password-42").unwrap();
    ops::domains::list(&mut c, &bob, &Filter::default(), &Page::default()).unwrap();
});
