//! Live tables (issue 15 item 15): a table screen re-reads its visible page
//! when the dashboard's change token moves under it, written by another
//! connection as the CLI or another admin would, and keeps the cursor on
//! the same row, the marks, the filter and the page start. An unchanged
//! check reads no rows and draws nothing; an open form is never disturbed.
//! SQLite and PostgreSQL.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use postfix_manager::worker::{Response, Slot};
use std::time::Duration;
use tui_common::Tui;

fn both(body: fn(Tui)) {
    body(seeded(Tui::new(80, 24)));
    if let Some(db) = common::TestDb::postgres() {
        body(seeded(Tui::on(db, 80, 24)));
    }
}

fn mailbox(t: &mut Tui, address: &str, name: Option<&str>) {
    // t.conn is not the worker's: this is another writer, as the CLI is.
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: address.into(),
            password: "mailbox-password-1".into(),
            quota: Some(1 << 20),
            name: name.map(str::to_string),
        },
    )
    .expect("mailbox");
}

fn seeded(mut t: Tui) -> Tui {
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        "live.example",
        &DomainInput {
            quota_limit: Some(1 << 40),
            ..Default::default()
        },
    )
    .expect("domain");
    for u in ["anna", "carl", "erik", "gina"] {
        mailbox(&mut t, &format!("{u}@live.example"), None);
    }
    t.login_admin();
    t.command("mailboxes");
    t
}

/// One second of the event loop: the tick, then whatever it asked for.
/// Returns whether the tick or any reply asked for a redraw.
fn tick(t: &mut Tui) -> bool {
    let mut dirty = t.app.on_tick();
    t.send_only();
    while !t.app.idle() {
        let r = t.next_reply(Duration::from_secs(20)).expect("reply");
        dirty |= t.app.on_reply(r);
        t.send_only();
    }
    dirty
}

/// The refresh interval (2 s by default) of ticks.
fn refresh(t: &mut Tui) -> bool {
    tick(t) | tick(t)
}

#[test]
fn a_row_added_elsewhere_appears_without_a_key_and_the_cursor_stays() {
    both(|mut t| {
        t.press(KeyCode::Char('j'));
        t.press(KeyCode::Char('j'));
        assert_eq!(t.selected().as_deref(), Some("erik@live.example"));
        // Marked rows stay marked across the refresh.
        t.press(KeyCode::Char(' '));
        mailbox(&mut t, "bert@live.example", None);
        assert!(refresh(&mut t), "the new row is drawn");
        assert_eq!(
            t.rows(),
            [
                "anna@live.example",
                "bert@live.example",
                "carl@live.example",
                "erik@live.example",
                "gina@live.example"
            ]
        );
        // Same row under the cursor, though it moved down one place.
        assert_eq!(t.selected().as_deref(), Some("erik@live.example"));
        let s = t.screen();
        assert!(s.contains("bert@live.example"), "{s}");
        assert!(s.contains("* erik@live.example"), "still marked: {s}");
        assert!(s.contains("1 marked"), "{s}");
    });
}

#[test]
fn an_unchanged_check_reads_no_rows_and_draws_nothing() {
    both(|mut t| {
        // Ticks until a check goes out; its answer is "unchanged".
        assert!(!t.app.on_tick());
        assert!(t.app.idle(), "no check before the interval");
        assert!(!t.app.on_tick());
        assert!(t
            .app
            .waiting(Slot::Table(postfix_manager::worker::Resource::Mailboxes)));
        t.send_only();
        let r = t.next_reply(Duration::from_secs(20)).expect("reply");
        assert!(
            matches!(r.result, Ok(Response::Unchanged)),
            "nothing changed, so no rows were read: {:?}",
            r.result
        );
        assert!(!t.app.on_reply(r), "and nothing is drawn");
        for _ in 0..6 {
            assert!(!tick(&mut t), "an idle table screen never redraws");
        }
    });
}

#[test]
fn filter_order_and_the_gone_row_keep_their_place() {
    both(|mut t| {
        // Filtered to "r": carl, erik (and bert once added).
        t.char('/');
        t.text("r");
        t.enter();
        assert_eq!(t.rows(), ["carl@live.example", "erik@live.example"]);
        t.press(KeyCode::Char('j'));
        assert_eq!(t.selected().as_deref(), Some("erik@live.example"));
        // The row under the cursor is deleted elsewhere, and a new
        // matching row and a non-matching one are added.
        ops::mailboxes::delete(&mut t.conn, &t.admin, "erik@live.example").expect("delete");
        mailbox(&mut t, "bert@live.example", None);
        mailbox(&mut t, "hans@live.example", None);
        assert!(refresh(&mut t));
        assert_eq!(t.rows(), ["bert@live.example", "carl@live.example"]);
        // Gone: the nearest position, the last row.
        assert_eq!(t.selected().as_deref(), Some("carl@live.example"));
        let s = t.screen();
        assert!(s.contains("/r"), "the filter stays: {s}");
    });
}

#[test]
fn an_open_form_is_left_alone_until_it_closes() {
    both(|mut t| {
        t.enter(); // edit anna
        assert!(t.screen().contains("Edit mailbox"), "{}", t.screen());
        mailbox(&mut t, "bert@live.example", None);
        for _ in 0..4 {
            assert!(!t.app.on_tick());
            assert!(t.app.idle(), "no check under an open form");
        }
        t.esc();
        assert!(refresh(&mut t), "checked once the form closed");
        assert!(t.rows().contains(&"bert@live.example".to_string()));
    });
}
