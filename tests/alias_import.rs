//! The alias import's set-wise path (issue 23, item 2), on both backends:
//! it writes exactly the rows, counters and audit entries that
//! `ops::aliases::create` (and `set_status` for suspended rows) wrote row
//! by row; every rule of `create` refuses its line by number and changes
//! nothing; the alias limit counts the whole file; a domain admin needs
//! the `aliases` permission; and the statements sent do not grow with the
//! rows (the row-by-row route sent a dozen per row and was quadratic).

mod common;

use diesel::prelude::*;
use postfix_manager::db::schema::{audit_logs, mailbox_renames, mailboxes};
use postfix_manager::db::AnyConnection;
use postfix_manager::model::{Perm, Status};
use postfix_manager::ops::import::{self, AliasRow};
use postfix_manager::ops::mailboxes::NewMailbox;
use postfix_manager::ops::{self, domains::DomainInput, Ctx};
use serde_json::Value;

fn domain(c: &mut AnyConnection, admin: &Ctx, name: &str, max_aliases: i64) {
    ops::domains::create(
        c,
        admin,
        name,
        &DomainInput {
            quota_limit: Some(0),
            max_aliases: Some(max_aliases),
            ..Default::default()
        },
    )
    .unwrap();
}

fn mailbox(c: &mut AnyConnection, admin: &Ctx, addr: &str) {
    ops::mailboxes::create(
        c,
        admin,
        &NewMailbox {
            address: addr.into(),
            password: "mailbox-password-1".into(),
            quota: Some(1 << 20),
            name: None,
        },
    )
    .unwrap();
}

fn row(line: u64, address: &str, goto: &str) -> AliasRow {
    AliasRow {
        line,
        address: address.into(),
        goto: goto.into(),
        description: None,
        status: Status::Active,
    }
}

/// The same starting point on every database: two domains, an alias
/// domain, two mailboxes and one alias.
fn world(c: &mut AnyConnection) -> Ctx {
    let admin = common::admin(c);
    domain(c, &admin, "a.example", 0);
    domain(c, &admin, "b.example", 0);
    ops::alias_domains::create(c, &admin, "a-alias.example", "a.example").unwrap();
    mailbox(c, &admin, "m1@a.example");
    mailbox(c, &admin, "m2@b.example");
    ops::aliases::create(c, &admin, "old@a.example", "m1@a.example", None).unwrap();
    admin
}

/// `n` rows over both domains: catch-alls, several destinations (upper
/// case, repeated, newline-separated: all normalized), descriptions, every
/// seventh suspended.
fn many(n: usize) -> Vec<AliasRow> {
    let mut rows = vec![row(2, "@b.example", "m2@b.example")];
    for i in 0..n - 1 {
        let dom = if i % 3 == 0 { "b.example" } else { "a.example" };
        rows.push(AliasRow {
            line: i as u64 + 3,
            address: format!("  Alias{i:05}@{}", dom.to_uppercase()),
            goto: format!("m1@a.example, X{i}@Elsewhere.ORG\nm1@a.example m2@b.example"),
            description: (i % 2 == 0).then(|| format!("desk {i}")),
            status: if i % 7 == 0 {
                Status::Suspended
            } else {
                Status::Active
            },
        });
    }
    rows
}

type AliasLine = (
    i32,
    String,
    String,
    i32,
    String,
    Option<String>,
    Option<i32>,
    i32,
);

fn alias_rows(c: &mut AnyConnection) -> Vec<AliasLine> {
    use postfix_manager::db::schema::aliases::dsl::*;
    aliases
        .order(id)
        .select((
            id,
            address,
            goto,
            domain_id,
            status,
            description,
            created_by,
            version,
        ))
        .load(c)
        .unwrap()
}

/// The kept per-domain aggregates (alias_count) by name.
fn alias_counts(c: &mut AnyConnection) -> Vec<(String, i32)> {
    #[derive(QueryableByName)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        n: i32,
    }
    diesel::sql_query("SELECT name, CAST(alias_count AS INTEGER) AS n FROM domains ORDER BY name")
        .load::<R>(c)
        .unwrap()
        .into_iter()
        .map(|r| (r.name, r.n))
        .collect()
}

type AuditLine = (
    i64,
    Option<i32>,
    String,
    Option<String>,
    Option<i64>,
    Value,
    String,
    Option<String>,
);

type RawAudit = (
    i64,
    Option<i32>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
);

/// Audit rows after `after`, their details without timestamps (which
/// differ between two runs).
fn audit_since(c: &mut AnyConnection, after: i64) -> Vec<AuditLine> {
    let rows: Vec<RawAudit> = audit_logs::table
        .filter(audit_logs::id.gt(after))
        .order(audit_logs::id)
        .select((
            audit_logs::id,
            audit_logs::user_id,
            audit_logs::action,
            audit_logs::resource_type,
            audit_logs::resource_id,
            audit_logs::details,
            audit_logs::result,
            audit_logs::actor,
        ))
        .load(c)
        .unwrap();
    rows.into_iter()
        .map(|(id, user, action, ty, rid, details, result, actor)| {
            let mut v: Value = serde_json::from_str(details.as_deref().unwrap_or("null")).unwrap();
            if let Some(after) = v.get_mut("after").and_then(Value::as_object_mut) {
                for k in ["created_at", "updated_at"] {
                    if after.remove(k).is_some() {
                        after.insert(k.into(), Value::String("T".into()));
                    }
                }
            }
            (id, user, action, ty, rid, v, result, actor)
        })
        .collect()
}

fn audit_head(c: &mut AnyConnection) -> i64 {
    audit_logs::table
        .select(diesel::dsl::max(audit_logs::id))
        .first::<Option<i64>>(c)
        .unwrap()
        .unwrap_or(0)
}

/// A second database of the same kind as `t`.
fn twin(t: &common::TestDb) -> common::TestDb {
    match t.name {
        "postgres" => common::TestDb::postgres().expect("PostgreSQL is set for this test"),
        _ => common::TestDb::sqlite(),
    }
}

on_both_backends!(the_import_writes_what_single_creates_wrote, |t| {
    const N: usize = 2_500;
    let rows = many(N);

    // Row by row, as the import used to: create, then suspend.
    let t2 = twin(t);
    let mut single = t2.conn();
    let admin2 = world(&mut single);
    let from2 = audit_head(&mut single);
    for r in &rows {
        let a = ops::aliases::create(
            &mut single,
            &admin2,
            &r.address,
            &r.goto,
            r.description.as_deref(),
        )
        .unwrap();
        if r.status == Status::Suspended {
            ops::aliases::set_status(&mut single, &admin2, &a.address, Status::Suspended).unwrap();
        }
    }

    // Set-wise.
    let mut c = t.conn();
    let admin = world(&mut c);
    let from = audit_head(&mut c);
    assert_eq!(from, from2, "the same history before the import");
    let r = import::aliases(&mut c, &admin, &rows, false).unwrap();
    assert_eq!(r.summary, format!("import {} aliases", "2,500"));
    assert_eq!(r.rows, N);
    assert_eq!(r.domains, vec!["a.example", "b.example"]);

    let got = alias_rows(&mut c);
    assert_eq!(got.len(), N + 1);
    same(&got, &alias_rows(&mut single));
    let suspended = got.iter().find(|a| a.1 == "alias00000@b.example").unwrap();
    assert_eq!(
        (suspended.2.as_str(), suspended.4.as_str(), suspended.7),
        ("m1@a.example,x0@elsewhere.org,m2@b.example", "suspended", 2)
    );
    assert_eq!(alias_counts(&mut c), alias_counts(&mut single));
    assert_eq!(
        alias_counts(&mut c),
        vec![
            ("a.example".to_string(), 1 + 1666),
            ("b.example".to_string(), 1 + 833),
        ]
    );

    // The same audit entries in the same order, then the import's own.
    let mut audit = audit_since(&mut c, from);
    let single_audit = audit_since(&mut single, from2);
    let suspended = rows
        .iter()
        .filter(|r| r.status == Status::Suspended)
        .count();
    assert_eq!(suspended, 357);
    assert_eq!(single_audit.len(), N + suspended);
    let last = audit.pop().unwrap();
    same(&audit, &single_audit);
    assert_eq!(
        (last.2.as_str(), last.3.as_deref(), last.4, &last.5),
        (
            "import",
            Some("alias"),
            None,
            &serde_json::json!({ "summary": "import 2,500 aliases", "rows": N })
        )
    );
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
    // Rows written by COPY took their ids from the sequence: the next
    // single create follows them.
    let a = ops::aliases::create(&mut c, &admin, "next@a.example", "m1@a.example", None).unwrap();
    assert_eq!(a.id, got.last().unwrap().0 + 1);

    // A dry run (of other addresses, into the twin) reports what the real
    // run would and changes nothing.
    let fresh: Vec<AliasRow> = rows
        .iter()
        .map(|r| AliasRow {
            address: r.address.replace('@', "-again@"),
            ..r.clone()
        })
        .collect();
    let before = state(&mut single);
    let r = import::aliases(&mut single, &admin2, &fresh, true).unwrap();
    assert!(r.dry_run);
    assert_eq!(r.summary, "import 2,500 aliases");
    assert_eq!(state(&mut single), before);
});

/// Equal, or the first difference (the whole lists are too long to print).
fn same<T: PartialEq + std::fmt::Debug>(a: &[T], b: &[T]) {
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i] != b[i]) {
        panic!("first difference at {i}:\n{:?}\n{:?}", a[i], b[i]);
    }
    assert_eq!(a.len(), b.len());
}

fn pending_rename(c: &mut AnyConnection, old: &str, new: &str) {
    let (id, dom): (i32, i32) = mailboxes::table
        .filter(mailboxes::username.eq(old))
        .select((mailboxes::id, mailboxes::domain_id))
        .first(c)
        .unwrap();
    diesel::insert_into(mailbox_renames::table)
        .values((
            mailbox_renames::mailbox_id.eq(id),
            mailbox_renames::old_username.eq(old),
            mailbox_renames::new_username.eq(new),
            mailbox_renames::old_domain_id.eq(dom),
            mailbox_renames::old_local_part.eq(old.split('@').next().unwrap()),
            mailbox_renames::old_home.eq("/nonexistent/old"),
            mailbox_renames::new_home.eq("/nonexistent/new"),
            mailbox_renames::old_status.eq("active"),
            mailbox_renames::keep_alias.eq(false),
        ))
        .execute(c)
        .unwrap();
}

/// Rows, counters and audit rows: equal before and after means nothing changed.
fn state(c: &mut AnyConnection) -> (Vec<AliasLine>, Vec<(String, i32)>, i64) {
    (
        alias_rows(c),
        alias_counts(c),
        common::count(c, "audit_logs"),
    )
}

on_both_backends!(every_rule_refuses_its_line_and_changes_nothing, |t| {
    let mut c = t.conn();
    let admin = world(&mut c);
    domain(&mut c, &admin, "small.example", 2);
    ops::aliases::create(&mut c, &admin, "one@small.example", "m1@a.example", None).unwrap();
    mailbox(&mut c, &admin, "gone@a.example");
    ops::mailboxes::delete(&mut c, &admin, "gone@a.example").unwrap();
    mailbox(&mut c, &admin, "moving@b.example");
    pending_rename(&mut c, "moving@b.example", "moved@b.example");

    let mut rows = vec![
        row(2, "fine@a.example", "m1@a.example"),
        row(3, "not an address", "m1@a.example"),
        row(4, "x@missing.example", "m1@a.example"),
        row(5, "x@a-alias.example", "m1@a.example"),
        row(6, "bad-goto@a.example", "m1@a.example, nope"),
        row(7, "no-goto@a.example", ""),
        row(8, "old@a.example", "m1@a.example"),
        row(9, "twice@b.example", "m1@a.example"),
        row(10, "Twice@B.example", "m2@b.example"),
        row(11, "gone@a.example", "m1@a.example"),
        row(12, "moved@b.example", "m1@a.example"),
        row(13, "moving@b.example", "m1@a.example"),
        row(14, "two@small.example", "m1@a.example"),
        row(15, "three@small.example", "m1@a.example"),
        row(16, "@a.example", "m1@a.example"),
    ];
    rows.push(AliasRow {
        description: Some("bad\u{202e}text".into()),
        ..row(17, "desc@a.example", "m1@a.example")
    });
    let before = state(&mut c);
    for dry in [true, false] {
        let msg = import::aliases(&mut c, &admin, &rows, dry)
            .unwrap_err()
            .to_string();
        let expect = [
            "line 3: address: ",
            "line 4: address: domain missing.example does not exist; add it first",
            "line 5: address: a-alias.example is an alias domain; create the alias in its target domain",
            "line 6: goto: destination 2 (\"nope\")",
            "line 7: goto: needs at least one destination address",
            "line 8: address: alias old@a.example already exists",
            "line 10: address: alias twice@b.example is also on line 9",
            "line 11: address: gone@a.example was deleted on ",
            "line 12: address: moved@b.example is part of the pending rename moving@b.example -> moved@b.example",
            "line 13: address: moving@b.example is part of the pending rename moving@b.example -> moved@b.example",
            "line 15: address: domain small.example would exceed its maximum of 2 aliases (1 there now, 1 on earlier lines of this file)",
            "line 17: description: must not contain control or bidirectional-formatting characters (found U+202E)",
        ];
        for e in expect {
            assert!(msg.contains(e), "{e:?} missing in\n{msg}");
        }
        assert!(msg.contains("12 bad lines; nothing was changed"), "{msg}");
        for ok in ["line 2:", "line 9:", "line 14:", "line 16:"] {
            assert!(!msg.contains(ok), "{ok} refused in\n{msg}");
        }
        assert!(msg.contains("held until"), "{msg}");
    }
    // Nothing written; the refused import is audited once per attempt (the
    // dry run rolls its own row back).
    let after = state(&mut c);
    assert_eq!((&after.0, &after.1), (&before.0, &before.1));
    assert_eq!(after.2, before.2 + 1);
    let head = audit_head(&mut c);
    let last = audit_since(&mut c, head - 1).pop().unwrap();
    assert_eq!((last.2.as_str(), last.6.as_str()), ("import", "refused"));
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());

    // The good lines alone go in.
    let good: Vec<AliasRow> = rows
        .iter()
        .filter(|r| [2, 9, 14, 16].contains(&r.line))
        .cloned()
        .collect();
    let r = import::aliases(&mut c, &admin, &good, false).unwrap();
    assert_eq!(r.summary, "import 4 aliases");
    assert_eq!(alias_rows(&mut c).len(), before.0.len() + 4);
    // An empty file is refused too.
    let e = import::aliases(&mut c, &admin, &[], false).unwrap_err();
    assert!(e.to_string().contains("has no rows"), "{e}");
});

on_both_backends!(the_alias_limit_counts_the_whole_file, |t| {
    let mut c = t.conn();
    let admin = world(&mut c);
    domain(&mut c, &admin, "five.example", 5);
    domain(&mut c, &admin, "three.example", 3);
    for a in ["x1@five.example", "x2@five.example"] {
        ops::aliases::create(&mut c, &admin, a, "m1@a.example", None).unwrap();
    }
    // Three more fill five.example exactly (a catch-all counts like any
    // alias); the fourth of three.example is one too many.
    let rows: Vec<AliasRow> = vec![
        row(2, "x3@five.example", "m1@a.example"),
        row(3, "t1@three.example", "m1@a.example"),
        row(4, "@five.example", "m1@a.example"),
        row(5, "t2@three.example", "m1@a.example"),
        row(6, "x5@five.example", "m1@a.example"),
        row(7, "t3@three.example", "m1@a.example"),
        row(8, "t4@three.example", "m1@a.example"),
    ];
    let before = state(&mut c);
    let msg = import::aliases(&mut c, &admin, &rows, false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("1 bad line;")
            && msg.contains("line 8: address: domain three.example would exceed its maximum of 3 aliases (0 there now, 3 on earlier lines of this file)"),
        "{msg}"
    );
    assert_eq!((state(&mut c).0, state(&mut c).1), (before.0, before.1));
    import::aliases(&mut c, &admin, &rows[..6], false).unwrap();
    let counts = alias_counts(&mut c);
    assert!(counts.contains(&("five.example".into(), 5)), "{counts:?}");
    assert!(counts.contains(&("three.example".into(), 3)), "{counts:?}");
    // Full now: one more is refused as `create` refuses it.
    let msg = import::aliases(
        &mut c,
        &admin,
        &[row(2, "x6@five.example", "m1@a.example")],
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("line 2: address: domain five.example already has its maximum of 5 aliases"),
        "{msg}"
    );
});

on_both_backends!(a_domain_admin_needs_the_aliases_permission, |t| {
    let mut c = t.conn();
    let admin = world(&mut c);
    domain(&mut c, &admin, "c.example", 0);
    ops::alias_domains::create(&mut c, &admin, "c-alias.example", "c.example").unwrap();
    let tenant = common::user_with_role(&mut c, &admin, "tenant", "user");
    ops::permissions::grant(&mut c, &admin, "tenant", "a.example", &[Perm::Aliases]).unwrap();
    ops::permissions::grant(&mut c, &admin, "tenant", "b.example", &[Perm::Mailboxes]).unwrap();
    let reader = common::user_with_role(&mut c, &admin, "reader", "readonly");
    let before = state(&mut c);

    let rows = vec![
        row(2, "ok@a.example", "m1@a.example, someone@elsewhere.org"),
        row(3, "x@b.example", "m2@b.example"),
        row(4, "x@c.example", "m1@a.example"),
        row(5, "out@a.example", "m1@a.example, y@c.example"),
        row(6, "out2@a.example", "y@c-alias.example"),
        row(7, "ok2@a.example", "m2@b.example"),
    ];
    let msg = import::aliases(&mut c, &tenant, &rows, false)
        .unwrap_err()
        .to_string();
    for e in [
        "line 3: address: permission denied: tenant has no 'aliases' permission on domain b.example",
        "line 4: address: permission denied: tenant has no access to domain c.example",
        "line 5: permission denied: goto: y@c.example is in a domain hosted here that tenant has no access to",
        "line 6: permission denied: goto: y@c-alias.example is in a domain hosted here that tenant has no access to",
    ] {
        assert!(msg.contains(e), "{e:?} missing in\n{msg}");
    }
    assert!(msg.contains("4 bad lines"), "{msg}");
    let msg = import::aliases(&mut c, &reader, &rows[..1], false)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("line 2: address: permission denied: reader has role readonly"),
        "{msg}"
    );
    let after = state(&mut c);
    assert_eq!((&after.0, &after.1), (&before.0, &before.1));

    // Its own domain, with destinations it may read (b.example: granted,
    // though without 'aliases') or outside this host.
    let mine = [rows[0].clone(), rows[5].clone()];
    let r = import::aliases(&mut c, &tenant, &mine, false).unwrap();
    assert_eq!(r.summary, "import 2 aliases");
    assert_eq!(alias_rows(&mut c).len(), before.0.len() + 2);
});

/// Statements sent while `f` runs.
fn statements(c: &mut AnyConnection, f: impl FnOnce(&mut AnyConnection)) -> usize {
    use diesel::connection::{Instrumentation, InstrumentationEvent};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    #[derive(Clone, Default)]
    struct Counted(Arc<AtomicUsize>);
    impl Instrumentation for Counted {
        fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
            if let InstrumentationEvent::StartQuery { .. } = event {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let n = Counted::default();
    c.set_instrumentation(n.clone());
    f(c);
    c.set_instrumentation(diesel::connection::get_default_instrumentation());
    n.0.load(Ordering::SeqCst)
}

// The guard of the fix: the row-by-row route sent about a dozen statements
// per row (a COUNT of the domain's aliases among them, growing with every
// row: quadratic); the set-wise one a handful per batch.
on_both_backends!(an_import_sends_statements_per_batch_not_per_row, |t| {
    let mut c = t.conn();
    let admin = world(&mut c);
    domain(&mut c, &admin, "limited.example", 100_000);
    let rows: Vec<AliasRow> = (0..3_000)
        .map(|i| {
            let dom = if i % 2 == 0 {
                "a.example"
            } else {
                "limited.example"
            };
            AliasRow {
                status: if i % 5 == 0 {
                    Status::Suspended
                } else {
                    Status::Active
                },
                ..row(i + 2, &format!("s{i}@{dom}"), "m1@a.example")
            }
        })
        .collect();
    let n = statements(&mut c, |c| {
        import::aliases(c, &admin, &rows, false).unwrap();
    });
    eprintln!("{}: {n} statements for 3,000 rows", t.name);
    assert!(n < 150, "{n} statements for 3,000 rows");
    assert_eq!(alias_rows(&mut c).len(), 3_001);
});
