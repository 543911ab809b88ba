//! Bulk actions, imports and the edit-many diff at the operations layer, on
//! both backends: all rows or none, every row audited, forbidden rows named,
//! failures halfway leave nothing changed, bad lines reported by number.

mod common;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use postfix_manager::csvio;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::{Entity, Perm, Status};
use postfix_manager::ops::bulk::{self, AliasAction, DomainAction, MailboxAction};
use postfix_manager::ops::import::{self, MailboxRow};
use postfix_manager::ops::{self, domains::DomainInput, Ctx};
use postfix_manager::store::Filter;

/// A real bcrypt hash (cost 4) in Dovecot's form, computed once.
fn hash() -> String {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| postfix_manager::password::hash_mailbox("mailbox-password-1", 4).unwrap())
        .clone()
}

fn domain(c: &mut AnyConnection, admin: &Ctx, name: &str) {
    ops::domains::create(
        c,
        admin,
        name,
        &DomainInput {
            quota_limit: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
}

/// `n` mailboxes u00000@dom.. through the import fast path.
fn mailboxes_in(c: &mut AnyConnection, admin: &Ctx, dom: &str, n: usize) -> Vec<String> {
    let rows: Vec<MailboxRow> = (0..n)
        .map(|i| MailboxRow {
            line: i as u64 + 2,
            address: format!("u{i:05}@{dom}"),
            password_hash: hash(),
            quota: Some(1 << 20),
            name: None,
            status: Status::Active,
        })
        .collect();
    import::mailboxes(c, admin, &rows, false, &mut |_, _| {}).unwrap();
    rows.into_iter().map(|r| r.address).collect()
}

fn suspended(c: &mut AnyConnection) -> i64 {
    mailboxes::table
        .filter(mailboxes::status.eq("suspended"))
        .count()
        .get_result(c)
        .unwrap()
}

on_both_backends!(preview_then_apply_suspends_all_and_audits_each_row, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "a.example");
    domain(&mut c, &admin, "b.example");
    domain(&mut c, &admin, "c.example");
    let mut keys = mailboxes_in(&mut c, &admin, "a.example", 700);
    keys.extend(mailboxes_in(&mut c, &admin, "b.example", 500));
    keys.extend(mailboxes_in(&mut c, &admin, "c.example", 84));
    // Odd spellings and duplicates name the same rows.
    keys.push("U00001@A.EXAMPLE".into());

    let audit_before = common::count(&mut c, "audit_logs");
    let p = bulk::mailboxes_preview(&mut c, &admin, &keys, MailboxAction::Suspend).unwrap();
    assert_eq!(p.summary, "suspend 1,284 mailboxes in 3 domains");
    assert_eq!(suspended(&mut c), 0, "preview writes nothing");
    assert_eq!(common::count(&mut c, "audit_logs"), audit_before);

    let done = bulk::mailboxes_apply(&mut c, &admin, &keys, MailboxAction::Suspend).unwrap();
    assert_eq!(done, p);
    assert_eq!(suspended(&mut c), 1284);
    // One audit row per changed row, plus the summary row.
    assert_eq!(common::count(&mut c, "audit_logs"), audit_before + 1284 + 1);
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());

    // Again: nothing left to change.
    let again = bulk::mailboxes_preview(&mut c, &admin, &keys, MailboxAction::Suspend).unwrap();
    assert_eq!(again.changes, 0);

    let q = bulk::mailboxes_apply(
        &mut c,
        &admin,
        &keys[..10],
        MailboxAction::SetQuota(5 << 20),
    )
    .unwrap();
    assert_eq!(q.summary, "set quota of 10 mailboxes in 1 domain to 5M");
    // The domain's quota_used rollup follows bulk deletes (statement-level
    // trigger on PostgreSQL, row triggers on SQLite).
    c.batch_execute("UPDATE mailboxes SET quota_used = 1000 WHERE username LIKE '%@a.example'")
        .unwrap();
    let used = |c: &mut AnyConnection| {
        ops::domains::get(c, &admin, "a.example")
            .unwrap()
            .quota_used
    };
    assert_eq!(used(&mut c), 700 * 1000);
    let d = bulk::mailboxes_apply(&mut c, &admin, &keys[..100], MailboxAction::Delete).unwrap();
    assert_eq!(used(&mut c), 600 * 1000);
    assert_eq!(d.changes, 100);
    assert_eq!(common::count(&mut c, "mailboxes"), 1184);
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
});

on_both_backends!(a_forbidden_row_refuses_everything_and_is_named, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "mine.example");
    domain(&mut c, &admin, "theirs.example");
    domain(&mut c, &admin, "aliasonly.example");
    let mut keys = mailboxes_in(&mut c, &admin, "mine.example", 50);
    mailboxes_in(&mut c, &admin, "aliasonly.example", 3);
    let carol = common::user_with_role(&mut c, &admin, "carol", "user");
    ops::permissions::grant(&mut c, &admin, "carol", "mine.example", &[Perm::Mailboxes]).unwrap();
    ops::permissions::grant(
        &mut c,
        &admin,
        "carol",
        "aliasonly.example",
        &[Perm::Aliases],
    )
    .unwrap();

    // A row in a domain carol may read but not change: denied, named.
    keys.push("u00001@aliasonly.example".into());
    let before = common::snapshot(&mut c);
    let audit_before = common::count(&mut c, "audit_logs");
    let e = bulk::mailboxes_apply(&mut c, &carol, &keys, MailboxAction::Suspend).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("u00001@aliasonly.example"), "{msg}");
    assert!(!msg.contains("u00002@mine.example"), "{msg}");
    assert_eq!(suspended(&mut c), 0);
    assert_eq!(common::snapshot(&mut c), before);
    // Only the refusal is recorded.
    assert_eq!(common::count(&mut c, "audit_logs"), audit_before + 1);

    // A row in a domain carol cannot see: "not found", still named, nothing changes.
    mailboxes_in(&mut c, &admin, "theirs.example", 1);
    keys.pop();
    keys.push("u00000@theirs.example".into());
    let e = bulk::mailboxes_preview(&mut c, &carol, &keys, MailboxAction::Delete).unwrap_err();
    assert!(e.to_string().contains("u00000@theirs.example"), "{e}");
    let e = bulk::mailboxes_apply(&mut c, &carol, &keys, MailboxAction::Delete).unwrap_err();
    assert!(e.to_string().contains("u00000@theirs.example"), "{e}");
    assert_eq!(common::count(&mut c, "mailboxes"), 54);

    // Domain actions are admin-only: every row is named.
    let e = bulk::domains_apply(
        &mut c,
        &carol,
        &["mine.example".into()],
        &DomainAction::Suspend,
    )
    .unwrap_err();
    assert!(matches!(e, OpError::Denied(_)) && e.to_string().contains("mine.example"));

    // Within her grant it works.
    keys.pop();
    let p = bulk::mailboxes_apply(&mut c, &carol, &keys, MailboxAction::Suspend).unwrap();
    assert_eq!(p.summary, "suspend 50 mailboxes in 1 domain");
});

fn inject_failure_on(c: &mut AnyConnection, backend: &str, address: &str) {
    let sql = if backend == "sqlite" {
        format!(
            "CREATE TRIGGER inject_failure BEFORE UPDATE ON mailboxes \
             WHEN NEW.username = '{address}' BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        )
    } else {
        format!(
            "CREATE FUNCTION inject_failure() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER inject_failure BEFORE UPDATE ON mailboxes FOR EACH ROW \
             WHEN (NEW.username = '{address}') EXECUTE FUNCTION inject_failure();"
        )
    };
    c.batch_execute(&sql).unwrap();
}

on_both_backends!(a_failure_on_the_5000th_row_leaves_zero_rows_changed, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "big.example");
    let keys = mailboxes_in(&mut c, &admin, "big.example", 6000);
    // The 5,000th row fails in the database, in the tenth UPDATE chunk.
    inject_failure_on(&mut c, t.name, &keys[4999]);
    let audit_before = common::count(&mut c, "audit_logs");
    let e = bulk::mailboxes_apply(&mut c, &admin, &keys, MailboxAction::Suspend).unwrap_err();
    assert!(e.to_string().contains("injected failure"), "{e}");
    assert_eq!(suspended(&mut c), 0, "the 4,999 rows before it rolled back");
    assert_eq!(common::count(&mut c, "audit_logs"), audit_before);
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
});

on_both_backends!(
    a_row_deleted_between_preview_and_apply_changes_nothing,
    |t| {
        let mut c = t.conn();
        let admin = common::admin(&mut c);
        domain(&mut c, &admin, "a.example");
        let keys = mailboxes_in(&mut c, &admin, "a.example", 20);
        let p = bulk::mailboxes_preview(&mut c, &admin, &keys, MailboxAction::Suspend).unwrap();
        assert_eq!(p.changes, 20);
        // Another session deletes one of them.
        let mut other = postfix_manager::db::connect(&t.url, false).unwrap();
        diesel::delete(mailboxes::table.filter(mailboxes::username.eq(&keys[7])))
            .execute(&mut other)
            .unwrap();
        let e = bulk::mailboxes_apply(&mut c, &admin, &keys, MailboxAction::Suspend).unwrap_err();
        assert!(matches!(e, OpError::NotFound { .. }), "{e}");
        assert!(e.to_string().contains(&keys[7]), "{e}");
        assert_eq!(suspended(&mut c), 0);
    }
);

on_both_backends!(bulk_quota_respects_domain_limits, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(
        &mut c,
        &admin,
        "capped.example",
        &DomainInput {
            quota_limit: Some(100 << 20),
            max_mailbox_quota: Some(50 << 20),
            ..Default::default()
        },
    )
    .unwrap();
    let keys = mailboxes_in(&mut c, &admin, "capped.example", 10);
    // 10 x 20M = 200M > 100M total.
    let e = bulk::mailboxes_apply(&mut c, &admin, &keys, MailboxAction::SetQuota(20 << 20))
        .unwrap_err();
    assert_eq!(e.field(), Some("quota"), "{e}");
    let e = bulk::mailboxes_apply(
        &mut c,
        &admin,
        &keys[..1],
        MailboxAction::SetQuota(60 << 20),
    )
    .unwrap_err();
    assert!(e.to_string().contains("per-mailbox maximum"), "{e}");
    bulk::mailboxes_apply(&mut c, &admin, &keys, MailboxAction::SetQuota(10 << 20)).unwrap();
});

on_both_backends!(domain_and_alias_bulk_actions, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    for d in ["a.example", "b.example"] {
        domain(&mut c, &admin, d);
    }
    common::user_with_role(&mut c, &admin, "dave", "user");
    let doms: Vec<String> = vec!["a.example".into(), "B.Example".into()];
    let g = DomainAction::Grant {
        username: "dave".into(),
        perms: vec![Perm::Mailboxes],
    };
    assert_eq!(
        bulk::domains_preview(&mut c, &admin, &doms, &g)
            .unwrap()
            .summary,
        "grant dave mailboxes on 2 domains"
    );
    bulk::domains_apply(&mut c, &admin, &doms, &g).unwrap();
    assert_eq!(common::count(&mut c, "user_domains"), 2);
    let limits = DomainAction::SetLimits(DomainInput {
        max_mailboxes: Some(5),
        ..Default::default()
    });
    bulk::domains_apply(&mut c, &admin, &doms, &limits).unwrap();
    assert_eq!(
        ops::domains::get(&mut c, &admin, "b.example")
            .unwrap()
            .max_mailboxes,
        5
    );
    // A bad value on the second domain rolls back the first.
    mailboxes_in(&mut c, &admin, "b.example", 3);
    let bad = DomainAction::SetLimits(DomainInput {
        max_mailboxes: Some(2),
        ..Default::default()
    });
    let e = bulk::domains_apply(&mut c, &admin, &doms, &bad).unwrap_err();
    assert!(e.to_string().contains("b.example"), "{e}");
    assert_eq!(
        ops::domains::get(&mut c, &admin, "a.example")
            .unwrap()
            .max_mailboxes,
        5
    );
    bulk::domains_apply(
        &mut c,
        &admin,
        &doms,
        &DomainAction::Revoke {
            username: "dave".into(),
        },
    )
    .unwrap();
    assert_eq!(common::count(&mut c, "user_domains"), 0);
    bulk::domains_apply(&mut c, &admin, &doms, &DomainAction::Suspend).unwrap();

    ops::aliases::create(&mut c, &admin, "x@a.example", "y@elsewhere.org", None).unwrap();
    ops::aliases::create(&mut c, &admin, "@b.example", "y@elsewhere.org", None).unwrap();
    let ak: Vec<String> = vec!["x@a.example".into(), "@b.example".into()];
    let p = bulk::aliases_apply(&mut c, &admin, &ak, AliasAction::Suspend).unwrap();
    assert_eq!(p.summary, "suspend 2 aliases in 2 domains");
    bulk::aliases_apply(&mut c, &admin, &ak, AliasAction::Delete).unwrap();
    assert_eq!(common::count(&mut c, "aliases"), 0);
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
});

on_both_backends!(imports_report_every_bad_line_and_change_nothing, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "a.example");
    mailboxes_in(&mut c, &admin, "a.example", 1); // u00000@a.example exists
    let h = hash();
    let csv = format!(
        "address,password,quota,name,status\n\
         good@a.example,{h},1M,Good,active\n\
         not an address,{h},,,\n\
         short@a.example,abc,,,\n\
         nodomain@missing.example,{h},,,\n\
         u00000@a.example,{h},,,\n\
         good@a.example,{h},,,\n\
         fine@a.example,plaintext-password-9,2M,,suspended\n\
         badstatus@a.example,{h},,,frozen\n\
         badhash@a.example,{{BLF-CRYPT}}$2y$04$tooshort,,,\n"
    );
    // Format errors first (lines 3, 4, 9, 10), found before any hashing.
    let e = csvio::parse_mailboxes(csv.as_bytes(), 12, 4, &|_, _| {}).unwrap_err();
    let msg = e.to_string();
    for l in ["line 3:", "line 4:", "line 9:", "line 10:"] {
        assert!(msg.contains(l), "{l} missing in {msg}");
    }
    assert!(msg.contains("4 bad lines"), "{msg}");
    assert!(!msg.contains("line 2:"), "{msg}");

    // Then the database's rules (lines 4, 5, 6 of this file).
    let csv2 = format!(
        "address,password,quota,name,status\n\
         good@a.example,{h},1M,Good,active\n\
         fine@a.example,plaintext-password-9,2M,,suspended\n\
         nodomain@missing.example,{h},,,\n\
         u00000@a.example,{h},,,\n\
         good@a.example,{h},,,\n"
    );
    let rows = csvio::parse_mailboxes(csv2.as_bytes(), 12, 4, &|_, _| {}).unwrap();
    assert!(rows[1].password_hash.starts_with("{BLF-CRYPT}$2y$04$"));
    let before = common::snapshot(&mut c);
    for dry in [true, false] {
        let e = import::mailboxes(&mut c, &admin, &rows, dry, &mut |_, _| {}).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("line 4: address: domain missing.example does not exist"),
            "{msg}"
        );
        assert!(
            msg.contains("line 5: address: mailbox u00000@a.example already exists"),
            "{msg}"
        );
        assert!(
            msg.contains("line 6: address: good@a.example is also on line 2"),
            "{msg}"
        );
        assert!(msg.contains("3 bad lines"), "{msg}");
    }
    assert_eq!(common::snapshot(&mut c), before);

    // Without the bad lines: a dry run changes nothing, the real run all.
    let ok = &rows[..2];
    let r = import::mailboxes(&mut c, &admin, ok, true, &mut |_, _| {}).unwrap();
    assert!(r.dry_run);
    assert_eq!(r.summary, "import 2 mailboxes in 1 domain");
    assert_eq!(common::snapshot(&mut c), before);
    import::mailboxes(&mut c, &admin, ok, false, &mut |_, _| {}).unwrap();
    let fine = ops::mailboxes::get(&mut c, &admin, "fine@a.example").unwrap();
    assert_eq!(fine.status, "suspended");
    assert!(postfix_manager::password::verify(
        "plaintext-password-9",
        &fine.password_hash
    ));

    // Domains and aliases: every bad line, nothing created.
    let dcsv =
        "name,description,quota,max_mailboxes,max_aliases,max_mailbox_quota,transport,status\n\
                new1.example,First,10G,100,0,1G,,active\n\
                bad..name,,,,,,,\n\
                a.example,,,,,,,\n\
                new2.example,,lots,,,,,\n";
    let e = csvio::parse_domains(dcsv.as_bytes()).unwrap_err();
    assert!(e.to_string().contains("line 5: quota"), "{e}");
    let dcsv = dcsv.replace("lots", "1G");
    let drows = csvio::parse_domains(dcsv.as_bytes()).unwrap();
    let e = import::domains(&mut c, &admin, &drows, false, false).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 3:") && msg.contains("line 4:"), "{msg}");
    assert!(
        !msg.contains("line 2:") && !msg.contains("line 5:"),
        "{msg}"
    );
    assert_eq!(common::count(&mut c, "domains"), 1);

    let acsv = "address,goto,description,status\n\
                info@a.example,x@elsewhere.org,,\n\
                info@nowhere.example,x@elsewhere.org,,\n\
                @a.example,not-an-address,,\n";
    let arows = csvio::parse_aliases(acsv.as_bytes()).unwrap();
    let e = import::aliases(&mut c, &admin, &arows, false).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 3:") && msg.contains("line 4:"), "{msg}");
    assert_eq!(common::count(&mut c, "aliases"), 0);
});

on_both_backends!(export_then_import_round_trips, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "a.example");
    domain(&mut c, &admin, "b.example");
    // More than one export page.
    let keys = mailboxes_in(&mut c, &admin, "a.example", 2100);
    mailboxes_in(&mut c, &admin, "b.example", 5);
    ops::mailboxes::edit(
        &mut c,
        &admin,
        &keys[3],
        None,
        &ops::mailboxes::MailboxEdit {
            name: Some("Zoë, \"quoted\"".into()),
            quota: None,
        },
    )
    .unwrap();
    ops::aliases::create(
        &mut c,
        &admin,
        "info@a.example",
        "u00001@a.example, x@y.org",
        Some("desk"),
    )
    .unwrap();

    let mut mcsv = Vec::new();
    let n = csvio::export_mailboxes(&mut c, &admin, &Filter::default(), true, &mut mcsv).unwrap();
    assert_eq!(n, 2105);
    let mut acsv = Vec::new();
    csvio::export_aliases(&mut c, &admin, &Filter::default(), &mut acsv).unwrap();
    let mut dcsv = Vec::new();
    csvio::export_domains(&mut c, &admin, &Default::default(), &mut dcsv).unwrap();
    let a_id = ops::domains::get(&mut c, &admin, "a.example").unwrap().id;
    let mut only_a = Vec::new();
    let n = csvio::export_mailboxes(
        &mut c,
        &admin,
        &Filter {
            domain_id: Some(a_id),
            ..Default::default()
        },
        false,
        &mut only_a,
    )
    .unwrap();
    assert_eq!(n, 2100);

    // Into a fresh database.
    let t2 = common::TestDb::sqlite();
    let mut c2 = t2.conn();
    let admin2 = common::admin(&mut c2);
    let d = csvio::parse_domains(dcsv.as_slice()).unwrap();
    import::domains(&mut c2, &admin2, &d, false, false).unwrap();
    let m = csvio::parse_mailboxes(mcsv.as_slice(), 12, 4, &|_, _| {}).unwrap();
    import::mailboxes(&mut c2, &admin2, &m, false, &mut |_, _| {}).unwrap();
    let a = csvio::parse_aliases(acsv.as_slice()).unwrap();
    import::aliases(&mut c2, &admin2, &a, false).unwrap();

    let mut again = Vec::new();
    csvio::export_mailboxes(&mut c2, &admin2, &Filter::default(), true, &mut again).unwrap();
    assert_eq!(
        String::from_utf8(again).unwrap(),
        String::from_utf8(mcsv).unwrap()
    );
    let mut again = Vec::new();
    csvio::export_aliases(&mut c2, &admin2, &Filter::default(), &mut again).unwrap();
    assert_eq!(again, acsv);
    let mut again = Vec::new();
    csvio::export_domains(&mut c2, &admin2, &Default::default(), &mut again).unwrap();
    assert_eq!(again, dcsv);
    let z = ops::mailboxes::get(&mut c2, &admin2, &keys[3]).unwrap();
    assert_eq!(z.name.as_deref(), Some("Zoë, \"quoted\""));
    assert!(postfix_manager::password::verify(
        "mailbox-password-1",
        &z.password_hash
    ));
});

#[test]
fn edit_many_diff_reports_bad_lines_by_number() {
    use postfix_manager::sheet::{self, Sheet};
    let t = common::TestDb::sqlite();
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "a.example");
    let keys = mailboxes_in(&mut c, &admin, "a.example", 3);
    let sheet = Sheet::load(&mut c, &admin, Entity::Mailboxes, &keys).unwrap();
    let tsv = sheet.text();
    assert_eq!(sheet.diff(&tsv).unwrap(), vec![]);
    // The same size written another way is no change.
    let same = tsv.replace("u00000@a.example\t1048576", "u00000@a.example\t1M");
    assert_eq!(sheet.diff(&same).unwrap(), vec![]);
    let edited = tsv
        .replace(
            "u00000@a.example\t1048576\t\tactive",
            "u00000@a.example\t2M\tAnn\tsuspended",
        )
        .replace("u00001@a.example\t1048576", "u00001@a.example\tbig")
        .replace("u00002@a.example", "someone@else.example");
    let e = sheet.diff(&edited).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("line 5: quota"), "{msg}");
    assert!(msg.contains("line 6: address"), "{msg}");
    assert!(!msg.contains("line 4"), "{msg}");
    let good = tsv.replace(
        "u00000@a.example\t1048576\t\tactive",
        "u00000@a.example\t2M\tAnn\tsuspended",
    );
    let ch = sheet.diff(&good).unwrap();
    assert_eq!(ch.len(), 1);
    let fields: Vec<(&str, &str)> = ch[0]
        .fields
        .iter()
        .map(|f| (f.column, f.new.as_str()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("quota", "2097152"),
            ("name", "Ann"),
            ("status", "suspended")
        ]
    );
    let shown = sheet::describe(&ch);
    assert!(shown.contains("quota: 1048576 -> 2097152"), "{shown}");
    import::edit_rows(&mut c, &admin, Entity::Mailboxes, &ch).unwrap();
    let m = ops::mailboxes::get(&mut c, &admin, "u00000@a.example").unwrap();
    assert_eq!((m.quota_limit, m.status.as_str()), (2 << 20, "suspended"));
}

on_both_backends!(edit_many_of_aliases_and_domains_applies_every_field, |t| {
    use postfix_manager::sheet::Sheet;
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "a.example");
    domain(&mut c, &admin, "b.example");
    for a in ["info@a.example", "sales@a.example"] {
        ops::aliases::create(&mut c, &admin, a, "x@elsewhere.org", None).unwrap();
    }
    let keys = vec!["info@a.example".to_string(), "sales@a.example".to_string()];
    let sheet = Sheet::load(&mut c, &admin, Entity::Aliases, &keys).unwrap();
    let text = sheet.text().replace(
        "sales@a.example\tx@elsewhere.org\t\tactive",
        "sales@a.example\ty@elsewhere.org, z@elsewhere.org\tSales team\tsuspended",
    );
    let ch = sheet.diff(&text).unwrap();
    assert_eq!(ch.len(), 1, "{ch:?}");
    import::edit_rows(&mut c, &admin, Entity::Aliases, &ch).unwrap();
    let a = ops::aliases::get(&mut c, &admin, "sales@a.example").unwrap();
    assert!(a.goto.contains("y@elsewhere.org") && a.goto.contains("z@elsewhere.org"));
    assert_eq!(a.description.as_deref(), Some("Sales team"));
    assert_eq!(a.status, "suspended");
    // An empty goto is refused by line.
    let text = sheet
        .text()
        .replace("info@a.example\tx@elsewhere.org", "info@a.example\t");
    let e = sheet.diff(&text).unwrap_err().to_string();
    assert!(e.contains("line 4: goto"), "{e}");

    let keys = vec!["a.example".to_string(), "b.example".to_string()];
    let sheet = Sheet::load(&mut c, &admin, Entity::Domains, &keys).unwrap();
    let text = sheet
        .text()
        .lines()
        .map(|l| {
            if l.starts_with("b.example\t") {
                let mut f: Vec<&str> = l.split('\t').collect();
                f[1] = "Branch office";
                f[2] = "5G";
                f[3] = "40";
                f[6] = "relay:[mx.example.net]";
                f.join("\t")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let ch = sheet.diff(&text).unwrap();
    assert_eq!(ch.len(), 1, "{ch:?}");
    assert_eq!(ch[0].fields.len(), 4, "{ch:?}");
    import::edit_rows(&mut c, &admin, Entity::Domains, &ch).unwrap();
    let d = ops::domains::get(&mut c, &admin, "b.example").unwrap();
    assert_eq!(d.description.as_deref(), Some("Branch office"));
    assert_eq!(d.quota_limit, 5 << 30);
    assert_eq!(d.max_mailboxes, 40);
    assert_eq!(d.transport.as_deref(), Some("relay:[mx.example.net]"));
    let a = ops::domains::get(&mut c, &admin, "a.example").unwrap();
    assert_eq!(a.max_mailboxes, 0, "untouched row unchanged");
});

on_both_backends!(
    edit_many_refuses_a_row_changed_since_the_file_was_written,
    |t| {
        use postfix_manager::sheet::Sheet;
        let mut c = t.conn();
        let admin = common::admin(&mut c);
        domain(&mut c, &admin, "a.example");
        let keys = mailboxes_in(&mut c, &admin, "a.example", 2);
        let sheet = Sheet::load(&mut c, &admin, Entity::Mailboxes, &keys).unwrap();
        let text = sheet
            .text()
            .replace("u00000@a.example\t1048576", "u00000@a.example\t2M")
            .replace("u00001@a.example\t1048576", "u00001@a.example\t3M");
        let ch = sheet.diff(&text).unwrap();
        assert_eq!(ch.len(), 2);
        // Someone else edits u00001 while the file is open.
        ops::mailboxes::set_status(
            &mut c,
            &admin,
            "u00001@a.example",
            postfix_manager::model::Status::Suspended,
        )
        .unwrap();
        let e = import::edit_rows(&mut c, &admin, Entity::Mailboxes, &ch)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 5: u00001@a.example"), "{e}");
        assert!(e.contains("changed by someone else"), "{e}");
        // All or nothing: u00000 kept its quota too.
        let m = ops::mailboxes::get(&mut c, &admin, "u00000@a.example").unwrap();
        assert_eq!(m.quota_limit, 1 << 20);
    }
);

on_both_backends!(an_import_keeps_domain_counters_and_search_current, |t| {
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Counters {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        mailbox_count: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        mailbox_quota: i64,
    }
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "a.example");
    domain(&mut c, &admin, "b.example");
    // One mailbox the usual way first: counters already non-zero.
    ops::mailboxes::create(
        &mut c,
        &admin,
        &ops::mailboxes::NewMailbox {
            address: "first@a.example".into(),
            password: "mailbox-password-1".into(),
            quota: Some(5 << 20),
            name: None,
        },
    )
    .unwrap();
    // 1,234 rows over both domains: more than two chunks.
    let rows: Vec<MailboxRow> = (0..1234)
        .map(|i| MailboxRow {
            line: i as u64 + 2,
            address: format!(
                "imp{i:05}@{}",
                if i % 3 == 0 { "b.example" } else { "a.example" }
            ),
            password_hash: hash(),
            quota: Some(1 << 20),
            name: None,
            status: Status::Active,
        })
        .collect();
    import::mailboxes(&mut c, &admin, &rows, false, &mut |_, _| {}).unwrap();
    let got: Vec<Counters> = diesel::sql_query(
        "SELECT name, CAST(mailbox_count AS BIGINT) AS mailbox_count, \
         CAST(mailbox_quota AS BIGINT) AS mailbox_quota FROM domains ORDER BY name",
    )
    .load(&mut c)
    .unwrap();
    let b = (0..1234).filter(|i| i % 3 == 0).count() as i64;
    let a = 1234 - b;
    assert_eq!(
        got,
        vec![
            Counters {
                name: "a.example".into(),
                mailbox_count: a + 1,
                mailbox_quota: a * (1 << 20) + (5 << 20),
            },
            Counters {
                name: "b.example".into(),
                mailbox_count: b,
                mailbox_quota: b * (1 << 20),
            },
        ]
    );
    // The name search (FTS on SQLite) finds imported rows.
    let found = ops::mailboxes::list(
        &mut c,
        &admin,
        &postfix_manager::store::Filter {
            text: Some("imp01233".into()),
            ..Default::default()
        },
        &postfix_manager::store::Page {
            after: None,
            limit: Some(10),
            backward: false,
        },
    )
    .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    // Single-row writes after the import still run their triggers.
    ops::mailboxes::delete(&mut c, &admin, "imp00001@a.example").unwrap();
    let n: Vec<Counters> = diesel::sql_query(
        "SELECT name, CAST(mailbox_count AS BIGINT) AS mailbox_count, \
         CAST(mailbox_quota AS BIGINT) AS mailbox_quota FROM domains WHERE name = 'a.example'",
    )
    .load(&mut c)
    .unwrap();
    assert_eq!(n[0].mailbox_count, a);
});

// ---- issue 23 item 2: imports through COPY on PostgreSQL ----

#[derive(QueryableByName, Debug, PartialEq)]
struct Counters {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    mailbox_count: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    mailbox_quota: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    quota_used: i64,
}

/// The kept per-domain counters, then the same figures counted afresh.
fn counters(c: &mut AnyConnection, dom: &str) -> (Counters, Counters, i64) {
    #[derive(QueryableByName)]
    struct Seq {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        s: i64,
    }
    let kept = diesel::sql_query(format!(
        "SELECT CAST(mailbox_count AS BIGINT) AS mailbox_count, CAST(mailbox_quota AS BIGINT) AS mailbox_quota, \
         CAST(quota_used AS BIGINT) AS quota_used FROM domains WHERE name = '{dom}'"
    ))
    .get_result::<Counters>(c)
    .unwrap();
    let recount = diesel::sql_query(format!(
        "SELECT CAST(COUNT(m.id) AS BIGINT) AS mailbox_count, CAST(COALESCE(SUM(m.quota_limit), 0) AS BIGINT) AS mailbox_quota, \
         CAST(COALESCE(SUM(m.quota_used), 0) AS BIGINT) AS quota_used \
         FROM domains d LEFT JOIN mailboxes m ON m.domain_id = d.id WHERE d.name = '{dom}'"
    ))
    .get_result::<Counters>(c)
    .unwrap();
    let seq = diesel::sql_query(format!(
        "SELECT CAST(change_seq AS BIGINT) AS s FROM domains WHERE name = '{dom}'"
    ))
    .get_result::<Seq>(c)
    .unwrap()
    .s;
    (kept, recount, seq)
}

/// id, address, local part, quota, used, status, name, password hash.
type ImportedRow = (
    i32,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    String,
);

fn import_rows(dom: &str, n: usize) -> Vec<MailboxRow> {
    (0..n)
        .map(|i| MailboxRow {
            line: i as u64 + 2,
            address: format!("copy{i:05}@{dom}"),
            password_hash: hash(),
            quota: Some((i as i64 % 7 + 1) << 30),
            name: Some(format!("Person {i:05}")),
            status: if i % 10 == 0 {
                Status::Suspended
            } else {
                Status::Active
            },
        })
        .collect()
}

on_both_backends!(item23_2_import_5000_rows_all_present_counted_audited, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "copy.example");
    let (_, _, seq0) = counters(&mut c, "copy.example");
    let audit0 = common::count(&mut c, "audit_logs");
    let rows = import_rows("copy.example", 5000);
    let r = import::mailboxes(&mut c, &admin, &rows, false, &mut |_, _| {}).unwrap();
    assert_eq!(r.summary, "import 5,000 mailboxes in 1 domain");

    // Every row, with its fields.
    let got: Vec<ImportedRow> = mailboxes::table
        .select((
            mailboxes::id,
            mailboxes::username,
            mailboxes::local_part,
            mailboxes::quota_limit,
            mailboxes::quota_used,
            mailboxes::status,
            mailboxes::name,
            mailboxes::password_hash,
        ))
        .order(mailboxes::username)
        .load(&mut c)
        .unwrap();
    assert_eq!(got.len(), 5000);
    for (row, g) in rows.iter().zip(&got) {
        assert_eq!(g.1, row.address);
        assert_eq!(g.2, row.address.split('@').next().unwrap());
        assert_eq!(g.3, row.quota.unwrap());
        assert_eq!(g.4, 0);
        assert_eq!(g.5, row.status.as_str());
        assert_eq!(g.6, row.name);
        assert_eq!(g.7, row.password_hash);
    }
    let ids: std::collections::BTreeSet<i32> = got.iter().map(|g| g.0).collect();
    assert_eq!(ids.len(), 5000);

    // The domain's kept counters equal a recount, and watchers saw a change.
    let (kept, recount, seq1) = counters(&mut c, "copy.example");
    assert_eq!(kept, recount);
    assert_eq!(kept.mailbox_count, 5000);
    // The rollup ran once per written batch: one COPY of the 5,000 rows on
    // PostgreSQL (the INSERT path took ten statements of 500), one per
    // 500-row chunk on SQLite.
    let batches = match c {
        AnyConnection::Postgresql(_) => 1,
        AnyConnection::Sqlite(_) => 10,
    };
    assert_eq!(seq1 - seq0, batches, "change_seq {seq0} -> {seq1}");

    // The filter finds imported rows by address and by name.
    let page = postfix_manager::store::Page {
        after: None,
        limit: Some(50),
        backward: false,
    };
    for text in ["copy04321", "person 04321"] {
        let f = Filter {
            text: Some(text.into()),
            ..Default::default()
        };
        let found = ops::mailboxes::list(&mut c, &admin, &f, &page).unwrap();
        assert_eq!(found.len(), 1, "{text}");
        assert_eq!(found[0].username, "copy04321@copy.example");
    }

    // One audit row per mailbox, naming its id, and the chain verifies.
    assert_eq!(common::count(&mut c, "audit_logs") - audit0, 5001);
    let audited: i64 = diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM audit_logs a JOIN mailboxes m \
         ON a.resource_id = m.id WHERE a.resource_type = 'mailbox' AND a.action = 'create'",
    )
    .get_result::<Count>(&mut c)
    .unwrap()
    .n;
    assert_eq!(audited, 5000);
    let report = ops::audit::verify_chain(&mut c).unwrap();
    assert!(report.ok(), "{:?}", report.problems);

    // Later single inserts take fresh ids, never an imported one.
    let later = import_rows("copy.example", 5001).pop().unwrap();
    import::mailboxes(&mut c, &admin, &[later], false, &mut |_, _| {}).unwrap();
    diesel::sql_query(format!(
        "INSERT INTO mailboxes (username, domain_id, password_hash, local_part, status, created_at, updated_at) \
         SELECT 'plain@copy.example', id, '{}', 'plain', 'active', created_at, updated_at FROM domains WHERE name = 'copy.example'",
        hash()
    ))
    .execute(&mut c)
    .unwrap();
    let n: i64 = mailboxes::table.count().get_result(&mut c).unwrap();
    assert_eq!(n, 5002);
    let (kept, recount, _) = counters(&mut c, "copy.example");
    assert_eq!(kept, recount);
});

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

// A row the checks cannot see coming (its id taken by another writer that
// bypassed the sequence) fails the COPY of the second batch: everything of
// the first batch, its audit rows and counters go too.
#[test]
fn item23_2_a_copy_failing_in_the_second_batch_leaves_nothing() {
    let Some(t) = common::TestDb::postgres() else {
        return;
    };
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    domain(&mut c, &admin, "copy.example");
    domain(&mut c, &admin, "other.example");
    // Row 12,000 of the import would get this id.
    c.batch_execute(&format!(
        "INSERT INTO mailboxes (id, username, domain_id, password_hash, local_part, status, created_at, updated_at) \
         SELECT (SELECT last_value FROM mailboxes_id_seq) + 12000, 'squatter@other.example', id, '{}', 'squatter', 'active', now(), now() \
         FROM domains WHERE name = 'other.example'",
        hash()
    ))
    .unwrap();
    let before = common::snapshot(&mut c);
    let audit0 = common::count(&mut c, "audit_logs");
    let (k0, _, seq0) = counters(&mut c, "copy.example");
    let rows = import_rows("copy.example", 15000);
    let e = import::mailboxes(&mut c, &admin, &rows, false, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("mailboxes_pkey"), "{e}");
    assert_eq!(common::snapshot(&mut c), before);
    // Only the failed attempt itself is on record; no row of the first batch.
    assert_eq!(common::count(&mut c, "audit_logs"), audit0 + 1);
    let created: i64 = diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM audit_logs WHERE resource_type = 'mailbox' AND action = 'create'",
    )
    .get_result::<Count>(&mut c)
    .unwrap()
    .n;
    assert_eq!(created, 0);
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
    let (k1, recount, seq1) = counters(&mut c, "copy.example");
    assert_eq!(k1, k0);
    assert_eq!(k1, recount);
    assert_eq!(seq1, seq0);
}
