//! Live quota watching (issue 6) on both backends: the per-domain
//! aggregates the triggers keep, the change token, percent-used keyset
//! pages, thresholds, history samples, and the dashboard seeing a write made
//! by another connection within one refresh.

mod common;

use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::db::AnyConnection;
use postfix_manager::ops::{self, mailboxes::NewMailbox, Ctx};
use postfix_manager::store::quota as store;

fn domain(c: &mut AnyConnection, a: &Ctx, name: &str, quota: i64) {
    ops::domains::create(
        c,
        a,
        name,
        &ops::domains::DomainInput {
            quota_limit: Some(quota),
            ..Default::default()
        },
    )
    .unwrap();
}

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str, quota: i64) {
    ops::mailboxes::create(
        c,
        a,
        &NewMailbox {
            address: addr.into(),
            password: "mailbox-password-1".into(),
            quota: Some(quota),
            name: None,
        },
    )
    .unwrap();
}

/// What Dovecot's quota dict or `quota sync` does: a bare UPDATE.
fn set_used(c: &mut AnyConnection, addr: &str, used: i64) {
    diesel::update(mailboxes::table.filter(mailboxes::username.eq(addr)))
        .set(mailboxes::quota_used.eq(used))
        .execute(c)
        .unwrap();
}

/// Five mailboxes in two domains with known usage:
/// a@one 96%, b@one 85%, c@one 50%, d@two 96%, e@two unlimited.
fn seed(c: &mut AnyConnection, a: &Ctx) {
    domain(c, a, "one.example", 1000);
    domain(c, a, "two.example", 0);
    for (addr, q) in [
        ("a@one.example", 100),
        ("b@one.example", 100),
        ("c@one.example", 100),
        ("d@two.example", 100),
        ("e@two.example", 0),
    ] {
        mailbox(c, a, addr, q);
    }
    for (addr, u) in [
        ("a@one.example", 96),
        ("b@one.example", 85),
        ("c@one.example", 50),
        ("d@two.example", 96),
        ("e@two.example", 5000),
    ] {
        set_used(c, addr, u);
    }
}

on_both_backends!(aggregates_follow_every_write, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    ops::aliases::create(&mut c, &a, "info@one.example", "a@one.example", None).unwrap();
    let tot = store::totals(&mut c, None).unwrap();
    assert_eq!(
        tot,
        store::Totals {
            domains: 2,
            mailboxes: 5,
            aliases: 1,
            used: 96 + 85 + 50 + 96 + 5000,
            allotted: 400,
        }
    );
    // Delete one mailbox and an alias: counts and sums follow.
    ops::mailboxes::delete(&mut c, &a, "c@one.example").unwrap();
    ops::aliases::delete(&mut c, &a, "info@one.example").unwrap();
    let tot = store::totals(&mut c, None).unwrap();
    assert_eq!(
        (tot.mailboxes, tot.aliases, tot.used, tot.allotted),
        (4, 0, 96 + 85 + 96 + 5000, 300)
    );
    // Scoped to one domain.
    let one: i32 = postfix_manager::store::domains::by_name(&mut c, "one.example")
        .unwrap()
        .unwrap()
        .id;
    let scoped = store::totals(&mut c, Some(&[one])).unwrap();
    assert_eq!((scoped.domains, scoped.mailboxes, scoped.used), (1, 2, 181));
});

on_both_backends!(change_token_moves_only_on_change, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    let t0 = store::change_token(&mut c, None).unwrap();
    assert_eq!(store::change_token(&mut c, None).unwrap(), t0, "stable");
    // A write from another connection (another process, for all it knows).
    let mut other = t.conn();
    set_used(&mut other, "b@one.example", 86);
    let t1 = store::change_token(&mut c, None).unwrap();
    assert_ne!(t1, t0, "usage change");
    // Rewriting the same value changes nothing the dashboard shows.
    set_used(&mut other, "b@one.example", 86);
    assert_eq!(store::change_token(&mut c, None).unwrap(), t1);
    // Suspending a domain, creating and deleting one.
    ops::domains::set_status(
        &mut c,
        &a,
        "two.example",
        postfix_manager::model::Status::Suspended,
    )
    .unwrap();
    let t2 = store::change_token(&mut c, None).unwrap();
    assert_ne!(t2, t1, "status change");
    domain(&mut c, &a, "three.example", 0);
    ops::domains::delete(&mut c, &a, "three.example", false).unwrap();
    assert_ne!(
        store::change_token(&mut c, None).unwrap(),
        t2,
        "create + delete"
    );

    // The dashboard's request answers "unchanged" with the same token.
    let snap = ops::quota::watch(&mut c, &a, None, 10).unwrap().unwrap();
    assert!(ops::quota::watch(&mut c, &a, Some(snap.token), 10)
        .unwrap()
        .is_none());
    set_used(&mut other, "c@one.example", 99);
    let again = ops::quota::watch(&mut c, &a, Some(snap.token), 10)
        .unwrap()
        .expect("changed");
    assert_eq!(again.mailboxes[0].username, "c@one.example");
});

on_both_backends!(percent_order_and_keyset_pages_agree, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    let all = store::mailboxes_by_usage(&mut c, None, None, None, 100).unwrap();
    let names: Vec<&str> = all.iter().map(|m| m.username.as_str()).collect();
    // 96% twice (ties broken by id, newest first), then 85%, 50%, unlimited last.
    assert_eq!(
        names,
        [
            "d@two.example",
            "a@one.example",
            "b@one.example",
            "c@one.example",
            "e@two.example"
        ]
    );
    assert_eq!(all[0].permille, 960);
    assert_eq!(all[4].permille, -1);
    // Pages of two, each after the last (permille, id): same rows, once each.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store::mailboxes_by_usage(&mut c, None, None, after, 2).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|m| (m.permille, m.id));
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let doms = store::domains_by_usage(&mut c, None, None, 10).unwrap();
    assert_eq!(doms[0].name, "one.example");
    assert_eq!(doms[0].permille, 231);
    assert_eq!(doms[1].permille, -1);
});

on_both_backends!(check_marks_the_right_rows, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    let r = ops::quota::check(&mut c, &a, 80, 95).unwrap();
    let got: Vec<(String, &str)> = r.rows.iter().map(|f| (f.name.clone(), f.level)).collect();
    assert_eq!(
        got,
        [
            ("d@two.example".to_string(), "critical"),
            ("a@one.example".to_string(), "critical"),
            ("b@one.example".to_string(), "warning"),
        ]
    );
    assert_eq!((r.status, r.exit_code()), ("CRITICAL", 2));
    let r = ops::quota::check(&mut c, &a, 80, 97).unwrap();
    assert_eq!((r.status, r.exit_code(), r.warning), ("WARNING", 1, 3));
    let r = ops::quota::check(&mut c, &a, 97, 99).unwrap();
    assert_eq!((r.status, r.exit_code()), ("OK", 0));
    // A domain over its quota is listed too.
    set_used(&mut c, "c@one.example", 100);
    domain(&mut c, &a, "small.example", 100);
    mailbox(&mut c, &a, "x@small.example", 100);
    set_used(&mut c, "x@small.example", 99);
    let r = ops::quota::check(&mut c, &a, 97, 99).unwrap();
    assert!(r
        .rows
        .iter()
        .any(|f| f.kind == "domain" && f.name == "small.example" && f.level == "critical"));
    // Bad thresholds name the field and the rule.
    let e = ops::quota::check(&mut c, &a, 90, 80).unwrap_err();
    assert_eq!(e.field(), Some("warn"));
    let e = ops::quota::check(&mut c, &a, 0, 80).unwrap_err();
    assert!(e.to_string().contains("between 1 and 1000"), "{e}");
});

on_both_backends!(samples_record_changes_and_prune, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    let s = ops::quota::sample(&mut c, &a, 30).unwrap();
    assert_eq!((s.domains, s.mailboxes), (2, 5));
    // Nothing moved: only the host row is added.
    let s = ops::quota::sample(&mut c, &a, 30).unwrap();
    assert_eq!((s.domains, s.mailboxes), (0, 0));
    set_used(&mut c, "a@one.example", 97);
    let s = ops::quota::sample(&mut c, &a, 30).unwrap();
    assert_eq!((s.domains, s.mailboxes), (1, 1));
    let host = store::host_history(&mut c, 10).unwrap();
    assert_eq!(host.len(), 3);
    assert_eq!(
        host[2] - host[1],
        1,
        "oldest first, last one grew by a byte"
    );
    let id = postfix_manager::store::mailboxes::by_address(&mut c, "a@one.example")
        .unwrap()
        .unwrap()
        .id;
    let h = store::mailbox_history(&mut c, id, 10).unwrap();
    assert_eq!(h.iter().map(|x| x.1).collect::<Vec<_>>(), [96, 97]);
    // Samples older than the retention go.
    diesel::sql_query("UPDATE quota_samples SET taken_at = taken_at - INTERVAL '40 days'")
        .execute(&mut c)
        .or_else(|_| {
            diesel::sql_query("UPDATE quota_samples SET taken_at = datetime(taken_at, '-40 days')")
                .execute(&mut c)
        })
        .unwrap();
    let s = ops::quota::sample(&mut c, &a, 30).unwrap();
    assert_eq!(s.pruned, 3);
    // Only admins sample.
    let reader = common::user_with_role(&mut c, &a, "watcher", "readonly");
    assert!(ops::quota::sample(&mut c, &reader, 30).is_err());
});

#[test]
fn bad_quota_settings_name_the_field_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.toml");
    for (body, want) in [
        (
            "[quota]\nwarn_percent = 96\ncrit_percent = 95\n",
            "quota.warn_percent must not be above quota.crit_percent",
        ),
        (
            "[quota]\nrefresh_secs = 0\n",
            "quota.refresh_secs must be between 1 and 3600",
        ),
        (
            "[quota]\nhistory_days = 0\n",
            "quota.history_days must be between 1 and 3650",
        ),
    ] {
        std::fs::write(&p, body).unwrap();
        let e = postfix_manager::config::Config::load(&p)
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{e}");
    }
    std::fs::write(&p, "[quota]\nwarn_percent = 70\n").unwrap();
    let c = postfix_manager::config::Config::load(&p).unwrap().unwrap();
    assert_eq!(
        (
            c.quota.warn_percent,
            c.quota.crit_percent,
            c.quota.refresh_secs
        ),
        (70, 95, 2)
    );
}

fn latest_rows(c: &mut AnyConnection) -> i64 {
    common::count(c, "mailbox_quota_latest")
}

on_both_backends!(sample_commits_slice_by_slice, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    // A second session: an admin saving while the cron job runs.
    let mut other = t.conn();
    let a2 = common::login(&mut other, "admin", common::ADMIN_PW);
    let mut seen = Vec::new();
    let mut saves = 0;
    let s = ops::quota::sample_in_batches(&mut c, &a, 30, 2, |_| {
        // What the batches so far wrote is committed: another connection
        // sees it, and its own write transaction gets the write lock
        // (SQLite's file lock, PostgreSQL's advisory lock) right away.
        seen.push(latest_rows(&mut other));
        let to = if saves % 2 == 0 {
            postfix_manager::model::Status::Suspended
        } else {
            postfix_manager::model::Status::Active
        };
        ops::mailboxes::set_status(&mut other, &a2, "c@one.example", to).unwrap();
        saves += 1;
    })
    .unwrap();
    assert_eq!((s.domains, s.mailboxes), (2, 5));
    // Host, one domain slice (ids 1..2), three mailbox slices of two ids.
    assert_eq!(
        seen,
        [0, 0, 2, 4, 5],
        "latest rows seen from outside after each commit"
    );
    assert_eq!(saves, 5);
});

on_both_backends!(sample_slices_cover_every_row_once, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    domain(&mut c, &a, "three.example", 0);
    for i in 0..9 {
        mailbox(&mut c, &a, &format!("m{i}@three.example"), 0);
    }
    let ids: Vec<i32> = mailboxes::table
        .select(mailboxes::id)
        .order(mailboxes::id)
        .load(&mut c)
        .unwrap();
    assert_eq!(ids.len(), 14);
    // Slices of 3: the first and last id of a slice, and the last mailbox.
    let first = ids[0];
    let edge = [first + 3, first + 5, *ids.last().unwrap()];
    let s = ops::quota::sample_in_batches(&mut c, &a, 30, 3, |_| {}).unwrap();
    assert_eq!((s.domains, s.mailboxes), (3, 14));
    assert_eq!(latest_rows(&mut c), 14);
    for (n, size) in [1, 3, 14, 100].into_iter().enumerate() {
        for id in edge {
            diesel::update(mailboxes::table.find(id))
                .set(mailboxes::quota_used.eq(mailboxes::quota_used + 1))
                .execute(&mut c)
                .unwrap();
        }
        let s = ops::quota::sample_in_batches(&mut c, &a, 30, size, |_| {}).unwrap();
        assert_eq!(s.mailboxes, 3, "slices of {size}: the three changed rows");
        for id in edge {
            let h = store::mailbox_history(&mut c, id, 100).unwrap();
            assert_eq!(h.len(), n + 2, "mailbox #{id}: one point per change");
            assert!(h
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 + 1 == w[1].1));
        }
    }
    // A deleted mailbox's latest sample goes with it; a new one, in a slice
    // that already has latest rows, gets its first sample; unchanged ones
    // none.
    ops::mailboxes::delete(&mut c, &a, "m0@three.example").unwrap();
    assert_eq!(latest_rows(&mut c), 13);
    mailbox(&mut c, &a, "late@three.example", 0);
    set_used(&mut c, "late@three.example", 7);
    let s = ops::quota::sample_in_batches(&mut c, &a, 30, 1000, |_| {}).unwrap();
    assert_eq!(s.mailboxes, 1);
    assert_eq!(latest_rows(&mut c), 14);
    let late = postfix_manager::store::mailboxes::by_address(&mut c, "late@three.example")
        .unwrap()
        .unwrap()
        .id;
    let h = store::mailbox_history(&mut c, late, 10).unwrap();
    assert_eq!(h.iter().map(|x| x.1).collect::<Vec<_>>(), [7]);
    // Pruning keeps each mailbox's latest sample however old it is.
    for sql in [
        "UPDATE mailbox_quota_samples SET taken_at = taken_at - INTERVAL '400 days'",
        "UPDATE mailbox_quota_latest SET taken_at = taken_at - INTERVAL '400 days'",
    ] {
        diesel::sql_query(sql)
            .execute(&mut c)
            .or_else(|_| {
                let table = sql.split_whitespace().nth(1).unwrap();
                // A year back, keeping the microseconds (datetime() would
                // drop them and make the keys collide).
                diesel::sql_query(format!(
                    "UPDATE {table} SET taken_at = \
                     CAST(CAST(substr(taken_at, 1, 4) AS INTEGER) - 1 AS TEXT) || substr(taken_at, 5)"
                ))
                .execute(&mut c)
            })
            .unwrap();
    }
    let s = ops::quota::sample(&mut c, &a, 30).unwrap();
    assert_eq!(s.mailboxes, 0);
    assert_eq!(common::count(&mut c, "mailbox_quota_samples"), 0);
    assert_eq!(latest_rows(&mut c), 14);
    let h = store::mailbox_history(&mut c, edge[0], 10).unwrap();
    assert_eq!(h.len(), 1, "the value it still has");
    assert!(ops::quota::sample_in_batches(&mut c, &a, 30, 0, |_| {})
        .unwrap_err()
        .to_string()
        .contains("batch"));
});
