//! Issue 15: the TUI at real sizes. A fixture whose usage spans bytes to
//! terabytes, drawn at 80x24 and 200x50, plus behaviour tests for marking,
//! bulk previews, confirmations, live tables and the audit screen.

mod common;
mod tui_common;

use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use tui_common::{domain, mailbox, Tui};

const G: i64 = 1 << 30;
const T: i64 = 1 << 40;

/// Usage from nothing to 411 TiB, one mailbox over its quota (879 %).
pub fn sized(w: u16, h: u16) -> Tui {
    let mut t = Tui::new(w, h);
    domain(&mut t, "big.example", "Archive storage", 2000 * T);
    domain(&mut t, "small.example", "Small office", 10 * G);
    mailbox(
        &mut t,
        "archive@big.example",
        "Archive",
        500 * T,
        452_207_272_553_453,
    );
    mailbox(
        &mut t,
        "media@big.example",
        "Media Team",
        200 * G,
        160_665_599_552,
    );
    mailbox(&mut t, "new@big.example", "New Hire", G, 0);
    mailbox(&mut t, "over@big.example", "Over Quota", G, 9_445_000_000);
    mailbox(&mut t, "person20@big.example", "Person 20", G, 572_304_384);
    mailbox(&mut t, "tiny@big.example", "Tiny User", G, 512);
    mailbox(&mut t, "ann@small.example", "Ann Example", G, 1_023_275_000);
    mailbox(&mut t, "bob@small.example", "Bob Example", 4 * G, 4_187_593);
    t
}

#[test]
fn sizes_are_human_on_every_screen_at_80x24() {
    let mut t = sized(80, 24);
    t.login_admin();
    let dash = t.screen();
    snap!("sized_dashboard_80x24", dash.clone());
    t.command("mailboxes");
    let mbx = t.screen();
    snap!("sized_mailboxes_80x24", mbx.clone());
    t.command("domains");
    let dom = t.screen();
    snap!("sized_domains_80x24", dom.clone());
    for s in [&dash, &mbx, &dom] {
        // no raw byte counts anywhere
        for raw in ["452207272553453", "160665599552", "572304384", "1023275000"] {
            assert!(!s.contains(raw), "{raw} shown raw:\n{s}");
        }
    }
    assert!(mbx.contains("545M"), "{mbx}");
    assert!(mbx.contains("411T"), "{mbx}");
    assert!(dash.contains("411T"), "{dash}");
}

#[test]
fn sizes_are_human_on_every_screen_at_200x50() {
    let mut t = sized(200, 50);
    t.login_admin();
    snap!("sized_dashboard_200x50", t.screen());
    t.command("mailboxes");
    snap!("sized_mailboxes_200x50", t.screen());
    t.command("domains");
    snap!("sized_domains_200x50", t.screen());
}

// ---- item 2: `*` marks exactly the matching rows, under every sort ----

fn marks(t: &Tui) -> std::collections::BTreeSet<String> {
    match t.app.stack.last() {
        Some(postfix_manager::tui::app::Screen::Table(s)) => s.marks.clone(),
        _ => Default::default(),
    }
}

fn sort_of(t: &Tui) -> postfix_manager::store::Sort {
    match t.app.stack.last() {
        Some(postfix_manager::tui::app::Screen::Table(s)) => s.sort,
        _ => Default::default(),
    }
}

fn addresses(t: &mut Tui, like: &str) -> std::collections::BTreeSet<String> {
    mailboxes::table
        .filter(mailboxes::username.like(like))
        .select(mailboxes::username)
        .load::<String>(&mut t.conn)
        .expect("addresses")
        .into_iter()
        .collect()
}

/// More rows than one chunk of keys, so marking takes several.
fn many(db: common::TestDb) -> Tui {
    let mut t = Tui::on(db, 80, 24);
    let n = postfix_manager::worker::MARK_CHUNK as u64 + 2_500;
    ops::demo::seed(
        &mut t.conn,
        &t.admin,
        &ops::demo::SeedOptions {
            domains: 5,
            mailboxes: n,
            aliases: 0,
            audit: 0,
            force: false,
        },
        &mut |_| {},
    )
    .expect("seed");
    t
}

fn marks_match_under_every_sort(db: common::TestDb) {
    use postfix_manager::store::SortKey;
    let mut t = many(db);
    t.login_admin();
    t.command("mailboxes");
    let all = addresses(&mut t, "%");
    assert!(all.len() as i64 > postfix_manager::worker::MARK_CHUNK);
    // `o` walks name -> used -> quota -> usage (each largest first), `O`
    // reverses: all eight orders.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        for _ in 0..2 {
            seen.insert(format!("{:?}", sort_of(&t)));
            t.char('*');
            assert_eq!(marks(&t), all, "under {:?}", sort_of(&t));
            t.char('u');
            assert!(marks(&t).is_empty());
            t.char('O');
        }
        t.char('o');
    }
    assert_eq!(seen.len(), 8, "{seen:?}");
    // and with a filter, under a numeric sort
    while sort_of(&t).key != SortKey::Usage {
        t.char('o');
    }
    t.char('/');
    t.text("garcia");
    t.enter();
    t.char('*');
    let garcia = addresses(&mut t, "%garcia%");
    assert!(!garcia.is_empty());
    assert_eq!(marks(&t), garcia);
}

#[test]
fn mark_all_matches_exactly_under_every_sort_sqlite() {
    marks_match_under_every_sort(common::TestDb::sqlite());
}

#[test]
fn mark_all_matches_exactly_under_every_sort_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        marks_match_under_every_sort(db);
    }
}

#[test]
fn esc_stops_marking_between_chunks_and_keeps_what_is_marked() {
    let mut t = many(common::TestDb::sqlite());
    t.login_admin();
    t.command("mailboxes");
    t.char('o'); // by usage in bytes: the order that used to hang
    t.key_nowait(crossterm::event::KeyCode::Char('*'));
    t.send_only();
    let first = t
        .next_reply(std::time::Duration::from_secs(20))
        .expect("chunk");
    t.app.on_reply(first);
    assert_eq!(
        marks(&t).len() as i64,
        postfix_manager::worker::MARK_CHUNK,
        "one chunk marked"
    );
    // the next chunk has been asked for; Esc stops before it lands
    t.esc();
    assert_eq!(marks(&t).len() as i64, postfix_manager::worker::MARK_CHUNK);
    assert!(t.app.idle());
    let s = t.screen();
    assert!(s.contains("Stopped marking"), "{s}");
    // Esc stopped the marking, it did not leave the screen
    assert_eq!(t.app.stack.len(), 2);
}

// ---- item 3: the limits preview refuses what the apply would ----

/// a.example allots 4G of its 10G, b.example 1G.
fn two_domains(c: &mut postfix_manager::db::AnyConnection, admin: &ops::Ctx) {
    for (d, q) in [("a.example", 4 * G), ("b.example", G)] {
        ops::domains::create(
            c,
            admin,
            d,
            &DomainInput {
                quota_limit: Some(10 * G),
                ..Default::default()
            },
        )
        .expect("domain");
        ops::mailboxes::create(
            c,
            admin,
            &NewMailbox {
                address: format!("m@{d}"),
                password: "mailbox-password-1".into(),
                quota: Some(q),
                name: None,
            },
        )
        .expect("mailbox");
    }
}

on_both_backends!(limits_preview_names_the_rows_the_apply_would_refuse, |db| {
    use postfix_manager::db::schema::domains;
    use postfix_manager::ops::bulk::{domains_apply, domains_preview, DomainAction};
    let mut c = db.conn();
    let admin = common::admin(&mut c);
    two_domains(&mut c, &admin);
    let keys = vec!["a.example".to_string(), "b.example".to_string()];
    let action = DomainAction::SetLimits(DomainInput {
        quota_limit: Some(2 * G),
        ..Default::default()
    });
    let e = domains_preview(&mut c, &admin, &keys, &action).expect_err("refused");
    let msg = e.to_string();
    assert!(msg.contains("1 domain of 2 would be refused"), "{msg}");
    assert!(msg.contains("a.example: quota_limit"), "{msg}");
    assert!(!msg.contains("b.example:"), "{msg}");
    let e2 = domains_apply(&mut c, &admin, &keys, &action).expect_err("refused");
    assert_eq!(e2.to_string(), msg, "preview and apply say the same");
    let limits: Vec<i64> = domains::table
        .select(domains::quota_limit)
        .load(&mut c)
        .expect("limits");
    assert_eq!(limits, vec![10 * G, 10 * G], "nothing changed");
    // a limit both can take passes the preview and applies
    let ok = DomainAction::SetLimits(DomainInput {
        quota_limit: Some(5 * G),
        ..Default::default()
    });
    let p = domains_preview(&mut c, &admin, &keys, &ok).expect("preview");
    assert_eq!(p.changes, 2);
    domains_apply(&mut c, &admin, &keys, &ok).expect("apply");
});

#[test]
fn limits_refused_in_the_preview_and_a_failed_apply_keep_the_marks() {
    use crossterm::event::KeyCode;
    let mut t = Tui::new(80, 24);
    let admin = t.admin.clone();
    two_domains(&mut t.conn, &admin);
    t.login_admin();
    t.command("domains");
    t.char('*');
    assert_eq!(marks(&t).len(), 2);
    t.char('L');
    t.text("2G");
    t.enter();
    let s = t.screen();
    snap!("limits_preview_refused_80x24", s.clone());
    assert!(s.contains("would be refused"), "{s}");
    assert!(s.contains("a.example"), "{s}");
    assert!(!s.contains("2 rows will change"), "{s}");
    assert!(s.contains("set limits of 0 rows"), "{s}");
    t.esc();
    assert_eq!(marks(&t).len(), 2, "a refused preview keeps the marks");

    // A preview that passes, then the data changes under it: the apply is
    // refused, and the marks stay for another try.
    t.char('L');
    t.text("5G");
    t.enter();
    assert!(t.screen().contains("2 rows will change"), "{}", t.screen());
    diesel::update(mailboxes::table.filter(mailboxes::username.eq("m@a.example")))
        .set(mailboxes::quota_limit.eq(6 * G))
        .execute(&mut t.conn)
        .expect("raise");
    t.press(KeyCode::Right);
    t.enter();
    let status = t.app.status.clone().expect("status");
    assert!(status.1, "the apply failed: {status:?}");
    assert_eq!(marks(&t).len(), 2, "a failed apply keeps the marks");
}

// ---- item 4: suspending a domain asks first, with the count ----

fn domain_status(t: &mut Tui, name: &str) -> String {
    use postfix_manager::db::schema::domains;
    domains::table
        .filter(domains::name.eq(name))
        .select(domains::status)
        .first(&mut t.conn)
        .expect("status")
}

#[test]
fn suspending_a_domain_asks_with_the_mailbox_count_default_no() {
    use crossterm::event::KeyCode;
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = sized(w, h);
        t.login_admin();
        t.command("domains");
        assert_eq!(t.selected().as_deref(), Some("big.example"));
        t.char('s');
        let s = t.screen();
        snap!(format!("domain_suspend_confirm_{w}x{h}"), s.clone());
        assert!(s.contains("6 mailboxes and 0 aliases"), "{s}");
        assert!(s.contains("suspend 1 row "), "{s}");
        assert!(s.contains("Confirm suspend"), "{s}");
        // No is the default
        t.enter();
        assert_eq!(domain_status(&mut t, "big.example"), "active");
        t.char('s');
        t.press(KeyCode::Right);
        t.enter();
        assert_eq!(domain_status(&mut t, "big.example"), "suspended");
        // the footer now offers to activate it, which needs no question
        let s = t.screen();
        let footer = s.lines().last().unwrap_or_default().to_string();
        assert!(footer.contains("s activate"), "{footer}");
        t.char('s');
        assert_eq!(domain_status(&mut t, "big.example"), "active");
    }
}

// ---- item 18: a first run says where to start ----

#[test]
fn first_run_dashboard_says_what_to_do_until_a_domain_exists() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = Tui::new(w, h);
        t.login_admin();
        let s = t.screen();
        snap!(format!("first_run_dashboard_{w}x{h}"), s.clone());
        assert!(s.contains(":domains"), "{s}");
        assert!(s.contains("No domains yet"), "{s}");
        domain(&mut t, "first.example", "First", G);
        t.press(crossterm::event::KeyCode::Char('r'));
        let s = t.screen();
        assert!(!s.contains("No domains yet"), "{s}");
        assert!(s.contains("first.example"), "{s}");
    }
}

// ---- item 5: a quota below usage is warned about, saved only on a second Enter ----

fn quota_of(t: &mut Tui, address: &str) -> i64 {
    mailboxes::table
        .filter(mailboxes::username.eq(address))
        .select(mailboxes::quota_limit)
        .first(&mut t.conn)
        .expect("quota")
}

#[test]
fn a_quota_below_usage_is_warned_in_the_form_and_saved_on_confirm() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = sized(w, h);
        t.login_admin();
        t.command("mailboxes");
        for _ in 0..3 {
            t.char('j');
        }
        assert_eq!(t.selected().as_deref(), Some("media@big.example"));
        t.enter();
        t.tab();
        t.clear_field();
        t.text("100G");
        t.enter();
        let s = t.screen();
        snap!(format!("quota_below_usage_form_{w}x{h}"), s.clone());
        assert!(s.contains("below the 149G in use"), "{s}");
        assert_eq!(
            quota_of(&mut t, "media@big.example"),
            200 * G,
            "not saved yet"
        );
        t.enter();
        assert_eq!(
            quota_of(&mut t, "media@big.example"),
            100 * G,
            "saved on confirm"
        );
    }
}

#[test]
fn bulk_quota_preview_warns_about_mailboxes_already_over_it() {
    let mut t = sized(80, 24);
    t.login_admin();
    t.command("mailboxes");
    for _ in 0..3 {
        t.char('j');
    }
    t.char(' '); // media: 149G in use
    t.char('j');
    t.char(' '); // new: nothing in use
    t.char('Q');
    t.text("100G");
    t.enter();
    let s = t.screen();
    snap!("quota_below_usage_bulk_preview_80x24", s.clone());
    assert!(s.contains("WARNING"), "{s}");
    assert!(s.contains("media@big.example (149G"), "{s}");
    assert!(!s.contains("new@big.example ("), "{s}");
}
