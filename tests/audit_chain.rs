//! The audit log is append-only in the database itself, and its hash chain
//! exposes edited, deleted and reordered rows; pruning keeps it verifiable.

mod common;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::AnyConnection;
use postfix_manager::ops::{self, domains::DomainInput};

fn some_history(c: &mut AnyConnection) -> ops::Ctx {
    let admin = common::admin(c);
    for d in ["a.example", "b.example", "c.example"] {
        ops::domains::create(c, &admin, d, &DomainInput::default()).unwrap();
    }
    let _ = ops::domains::create(c, &admin, "bad_name", &DomainInput::default());
    admin
}

/// Switch the append-only triggers off, as an attacker with database access would.
fn disable_guards(c: &mut AnyConnection) {
    match c {
        AnyConnection::Sqlite(s) => s
            .batch_execute("DROP TRIGGER audit_logs_no_update; DROP TRIGGER audit_logs_no_delete;")
            .unwrap(),
        AnyConnection::Postgresql(p) => p
            .batch_execute("ALTER TABLE audit_logs DISABLE TRIGGER USER")
            .unwrap(),
    }
}

on_both_backends!(rows_are_append_only, |t| {
    let mut c = t.conn();
    let admin = some_history(&mut c);
    let upd = diesel::update(audit_logs::table)
        .set(audit_logs::actor.eq("mallory"))
        .execute(&mut c);
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = diesel::delete(audit_logs::table).execute(&mut c);
    assert!(del.unwrap_err().to_string().contains("append-only"));
    let r = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.rows_checked, common::count(&mut c, "audit_logs"));
});

on_both_backends!(edits_deletions_and_reordering_are_found, |t| {
    // edited
    let mut c = t.conn();
    let admin = some_history(&mut c);
    disable_guards(&mut c);
    diesel::update(audit_logs::table.filter(audit_logs::id.eq(3)))
        .set(audit_logs::details.eq("{}"))
        .execute(&mut c)
        .unwrap();
    let r = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("row 3 was altered")),
        "{r:?}"
    );
    drop(c);

    // deleted
    let t2 = if t.name == "sqlite" {
        common::TestDb::sqlite()
    } else {
        common::TestDb::postgres().unwrap()
    };
    let mut c = t2.conn();
    let admin = some_history(&mut c);
    disable_guards(&mut c);
    diesel::delete(audit_logs::table.filter(audit_logs::id.eq(4)))
        .execute(&mut c)
        .unwrap();
    let r = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("missing (deleted)")),
        "{r:?}"
    );
    drop(c);

    // reordered: two rows swap places (ids exchanged)
    let t3 = if t.name == "sqlite" {
        common::TestDb::sqlite()
    } else {
        common::TestDb::postgres().unwrap()
    };
    let mut c = t3.conn();
    let admin = some_history(&mut c);
    disable_guards(&mut c);
    for (from, to) in [(3, 1000), (4, 3), (1000, 4)] {
        diesel::update(audit_logs::table.filter(audit_logs::id.eq(from)))
            .set(audit_logs::id.eq(to))
            .execute(&mut c)
            .unwrap();
    }
    let r = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(!r.ok(), "a swap must be detected");
    assert!(r.problems.iter().any(|p| p.contains("row 3")), "{r:?}");
});

on_both_backends!(pruning_keeps_the_chain_verifiable, |t| {
    let mut c = t.conn();
    let admin = some_history(&mut c);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = chrono::Utc::now().naive_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ops::domains::create(&mut c, &admin, "d.example", &DomainInput::default()).unwrap();
    let before = common::count(&mut c, "audit_logs");
    let r = ops::audit::prune(&mut c, &admin, cut).unwrap();
    assert!(r.deleted > 0);
    assert_eq!(
        common::count(&mut c, "audit_logs"),
        before - r.deleted + 1,
        "the prune itself is audited"
    );
    let v = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.first_id, Some(r.first_id));
    // pruning everything still leaves a chain that continues correctly
    let all = chrono::Utc::now().naive_utc() + chrono::TimeDelta::seconds(5);
    ops::audit::prune(&mut c, &admin, all).unwrap();
    ops::domains::create(&mut c, &admin, "e.example", &DomainInput::default()).unwrap();
    let v = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(v.ok(), "{v:?}");
    // only admins prune
    let ro = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    assert!(ops::audit::prune(&mut c, &ro, all).is_err());
});

on_both_backends!(concurrent_writers_keep_one_chain, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let handles: Vec<_> = (0..4)
        .map(|n| {
            let url = t.url.clone();
            let admin = admin.clone();
            std::thread::spawn(move || {
                let mut c = postfix_manager::db::connect(&url, false).unwrap();
                for i in 0..10 {
                    ops::domains::create(
                        &mut c,
                        &admin,
                        &format!("t{n}-{i}.example"),
                        &DomainInput::default(),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let v = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.rows_checked, common::count(&mut c, "audit_logs"));
});
