//! Migrations up and down, the pending-migration guard, and concurrent
//! migrators, on both backends.

mod common;

use postfix_manager::db::migrate;

on_both_backends!(up_down_up, |t| {
    let mut c = t.raw();
    let err = migrate::ensure_current(&mut c).unwrap_err().to_string();
    assert!(err.contains("postfix-manager db migrate"), "{err}");

    let applied = migrate::run_pending(&mut c).unwrap();
    assert_eq!(applied.len(), 1);
    assert!(migrate::status(&mut c).unwrap().iter().all(|m| m.applied));
    migrate::ensure_current(&mut c).unwrap();
    assert_eq!(common::count(&mut c, "domains"), 0);
    assert!(
        migrate::run_pending(&mut c).unwrap().is_empty(),
        "second run applies nothing"
    );

    let reverted = migrate::revert_last(&mut c).unwrap();
    assert!(reverted.is_some());
    assert!(migrate::status(&mut c).unwrap().iter().all(|m| !m.applied));
    // the tables are gone
    use diesel::prelude::*;
    assert!(diesel::sql_query("SELECT 1 FROM domains")
        .execute(&mut c)
        .is_err());
    assert_eq!(migrate::revert_last(&mut c).unwrap(), None);

    migrate::run_pending(&mut c).unwrap();
    migrate::ensure_current(&mut c).unwrap();
});

on_both_backends!(concurrent_migrators_migrate_once, |t| {
    let url = t.url.clone();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut c = postfix_manager::db::connect(&url, true).unwrap();
                migrate::run_pending(&mut c).unwrap()
            })
        })
        .collect();
    let results: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let applied: usize = results.iter().map(Vec::len).sum();
    assert_eq!(
        applied, 1,
        "exactly one migrator applied the migration: {results:?}"
    );
    let mut c = t.raw();
    migrate::ensure_current(&mut c).unwrap();
});

on_both_backends!(quota_used_follows_mailboxes, |t| {
    use diesel::prelude::*;
    use postfix_manager::db::schema::{domains, mailboxes};
    use postfix_manager::ops;
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let d = ops::domains::create(&mut c, &admin, "example.com", &Default::default()).unwrap();
    for (i, who) in ["a", "b"].iter().enumerate() {
        ops::mailboxes::create(
            &mut c,
            &admin,
            &ops::mailboxes::NewMailbox {
                address: format!("{who}@example.com"),
                password: "mailbox-password-1".into(),
                quota: Some(100 << 20),
                name: None,
            },
        )
        .unwrap();
        // Usage written by someone else (Dovecot's quota dict, quota sync).
        diesel::update(
            mailboxes::table.filter(mailboxes::username.eq(format!("{who}@example.com"))),
        )
        .set(mailboxes::quota_used.eq((i as i64 + 1) * 1000))
        .execute(&mut c)
        .unwrap();
    }
    let used = |c: &mut postfix_manager::db::AnyConnection| -> i64 {
        domains::table
            .find(d.id)
            .select(domains::quota_used)
            .first(c)
            .unwrap()
    };
    assert_eq!(used(&mut c), 3000);
    ops::mailboxes::delete(&mut c, &admin, "a@example.com").unwrap();
    assert_eq!(used(&mut c), 2000);
    let totals = postfix_manager::store::stats::mailbox_totals(&mut c, None).unwrap();
    assert_eq!(totals.total_mailboxes, 1);
    assert_eq!(totals.total_used, 2000);
    assert_eq!(totals.total_limit, 100 << 20);
    let per_domain =
        postfix_manager::store::stats::domains_with_usage(&mut c, None, &Default::default())
            .unwrap();
    assert_eq!(per_domain.len(), 1);
    assert_eq!(per_domain[0].mailbox_count, 1);
    assert_eq!(per_domain[0].mailbox_used, 2000);
    assert_eq!(per_domain[0].domain.quota_used, 2000);
});
