//! The live dashboard through the real worker on a TestBackend: a write
//! made by another connection shows within one refresh, thresholds mark the
//! right rows (with text markers, no color needed), an unchanged check
//! redraws nothing but the age label, and `p` pauses the checks.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use postfix_manager::tui::app::Screen;
use postfix_manager::worker::Slot;
use tui_common::Tui;

fn seeded() -> Tui {
    let mut t = Tui::new(80, 24);
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        "watch.example",
        &DomainInput {
            quota_limit: Some(1000),
            ..Default::default()
        },
    )
    .expect("domain");
    for (u, q) in [("full", 100), ("warm", 100), ("cool", 100)] {
        ops::mailboxes::create(
            &mut t.conn,
            &t.admin,
            &NewMailbox {
                address: format!("{u}@watch.example"),
                password: "mailbox-password-1".into(),
                quota: Some(q),
                name: None,
            },
        )
        .expect("mailbox");
    }
    t
}

fn set_used(t: &common::TestDb, addr: &str, used: i64) {
    // A separate connection, as Dovecot or `quota sync` would write.
    let mut other = t.conn();
    diesel::update(mailboxes::table.filter(mailboxes::username.eq(addr)))
        .set(mailboxes::quota_used.eq(used))
        .execute(&mut other)
        .expect("update");
}

/// One second of the event loop: the tick and whatever it asked for.
fn tick(t: &mut Tui) -> bool {
    let dirty = t.app.on_tick();
    t.settle();
    dirty
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not on screen:\n{screen}"))
}

#[test]
fn another_writer_shows_within_one_refresh_with_markers() {
    let mut t = seeded();
    t.login_admin();
    let s = t.screen();
    assert!(s.contains("updated 0 s ago"), "{s}");
    assert!(s.contains("Mailboxes 3"), "{s}");

    set_used(&t.db, "full@watch.example", 97);
    set_used(&t.db, "warm@watch.example", 85);
    set_used(&t.db, "cool@watch.example", 10);
    // The default interval is 2 s: two ticks, and the second one checks.
    tick(&mut t);
    tick(&mut t);
    let s = t.screen();
    let full = line_with(&s, "full@watch.example");
    assert!(full.contains("!!"), "critical marked: {full}");
    assert!(full.contains(" 97%"), "{full}");
    let warm = line_with(&s, "warm@watch.example");
    assert!(
        warm.contains("! ") && !warm.contains("!!"),
        "warning marked: {warm}"
    );
    let cool = line_with(&s, "cool@watch.example");
    assert!(!cool.contains('!'), "not marked: {cool}");
    // Highest percent first.
    let pos = |n: &str| s.find(n).expect(n);
    assert!(
        pos("full@") < pos("warm@") && pos("warm@") < pos("cool@"),
        "{s}"
    );
    assert!(
        s.contains("updated 0 s ago"),
        "the change reset the age: {s}"
    );
    // The domain's row and the totals followed through the triggers.
    assert!(line_with(&s, "watch.example  ").contains(" 19%"), "{s}");
}

#[test]
fn an_unchanged_check_only_moves_the_age_label_and_p_pauses() {
    let mut t = seeded();
    t.login_admin();
    let before = t.screen();
    assert!(tick(&mut t), "the age label ticks");
    assert!(tick(&mut t));
    let after = t.screen();
    let differing: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(differing.len(), 1, "{differing:?}");
    assert!(differing[0].1.contains("updated 2 s ago"), "{differing:?}");

    // Paused: no checks go out, the state is shown, writes wait.
    t.press(KeyCode::Char('p'));
    let s = t.screen();
    assert!(s.contains("paused"), "{s}");
    set_used(&t.db, "cool@watch.example", 99);
    for _ in 0..5 {
        t.app.on_tick();
        assert!(
            !t.app.waiting(Slot::Dashboard),
            "a check was sent while paused"
        );
        t.settle();
    }
    assert!(!line_with(&t.screen(), "cool@watch.example").contains("!!"));
    // Resuming checks at once.
    t.press(KeyCode::Char('p'));
    let s = t.screen();
    assert!(s.contains("● live"), "{s}");
    assert!(line_with(&s, "cool@watch.example").contains("!!"), "{s}");
    match t.app.stack.first() {
        Some(Screen::Dashboard(d)) => assert!(!d.paused),
        _ => panic!("dashboard is the first screen"),
    }
}

#[test]
fn h_shows_a_mailboxs_usage_history() {
    let mut t = seeded();
    for used in [10, 40, 90] {
        set_used(&t.db, "cool@watch.example", used);
        ops::quota::sample(&mut t.conn, &t.admin, 30).expect("sample");
        // Samples are keyed by time: keep them apart.
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    t.login_admin();
    let s = t.screen();
    assert!(
        s.contains("History ▁"),
        "host sparkline on the dashboard: {s}"
    );
    t.command("mailboxes");
    // Rows are by address: cool@ is first.
    t.char('h');
    let s = t.screen();
    assert!(s.contains("usage of cool@watch.example"), "{s}");
    assert!(s.contains("▁▄█"), "sparkline 10 -> 40 -> 90 bytes: {s}");
    assert!(s.contains("changes: 3"), "{s}");
}
