//! Marks and bulk actions in the TUI, through the real worker and ops:
//! Space, a range, every row matching the filter across pages, the marked
//! count on screen, and a preview dialog that starts on No.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::ops::{self, domains::DomainInput, import, Status};
use tui_common::Tui;

fn fixture(t: &mut Tui, n: usize) {
    for d in ["a.example", "b.example"] {
        ops::domains::create(
            &mut t.conn,
            &t.admin,
            d,
            &DomainInput {
                quota_limit: Some(0),
                ..Default::default()
            },
        )
        .expect("domain");
    }
    let hash = postfix_manager::password::hash_mailbox("mailbox-password-1", 4).expect("hash");
    let rows: Vec<import::MailboxRow> = (0..n)
        .map(|i| import::MailboxRow {
            line: i as u64 + 2,
            address: format!(
                "u{i:03}@{}",
                if i % 2 == 0 { "a.example" } else { "b.example" }
            ),
            password_hash: hash.clone(),
            quota: Some(1 << 20),
            name: None,
            status: Status::Active,
        })
        .collect();
    import::mailboxes(&mut t.conn, &t.admin, &rows, false, &mut |_, _| {}).expect("import");
}

fn suspended(t: &mut Tui) -> i64 {
    mailboxes::table
        .filter(mailboxes::status.eq("suspended"))
        .count()
        .get_result(&mut t.conn)
        .expect("count")
}

#[test]
fn space_and_range_marks_then_bulk_suspend_with_a_preview_that_starts_on_no() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 40);
    t.login_admin();
    t.command("mailboxes");
    t.char(' ');
    t.char('j');
    t.char('j');
    t.char('v'); // rows 0..=2
    assert!(t.screen().contains("3 marked"), "{}", t.screen());
    assert!(t.screen().contains("* u000@a.example"), "{}", t.screen());
    // The count stays visible on another page.
    t.press(KeyCode::PageDown);
    assert!(t.screen().contains("3 marked"));

    t.char('S');
    let screen = t.screen();
    assert!(
        screen.contains("Suspend 3 mailboxes in 2 domains?"),
        "{screen}"
    );
    assert!(screen.contains("Confirm suspend"), "{screen}");
    // Enter on the default (No) changes nothing.
    t.enter();
    assert_eq!(suspended(&mut t), 0);
    assert!(t.screen().contains("3 marked"));

    t.char('S');
    t.press(KeyCode::Right);
    t.enter();
    assert_eq!(suspended(&mut t), 3);
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(
        !failed && msg.contains("suspend 3 mailboxes in 2 domains"),
        "{msg}"
    );
    assert!(
        !t.screen().contains("marked"),
        "marks cleared after the action"
    );
}

#[test]
fn star_marks_every_row_matching_the_filter_across_pages() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 60);
    t.login_admin();
    t.command("mailboxes");
    t.char('/');
    t.text("b.example");
    t.enter();
    t.char('*');
    // 30 rows match, more than one page of the 80x24 screen.
    assert!(t.screen().contains("30 marked"), "{}", t.screen());
    t.char('D');
    assert!(
        t.screen().contains("Delete 30 mailboxes in 1 domain?"),
        "{}",
        t.screen()
    );
    t.press(KeyCode::Right);
    t.enter();
    let left: i64 = mailboxes::table
        .count()
        .get_result(&mut t.conn)
        .expect("count");
    assert_eq!(left, 30);
    t.char('u');
    assert!(!t.screen().contains("marked"));
}

#[test]
fn a_scoped_user_marking_a_forbidden_row_is_refused_and_told_which() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 4);
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "carol", "user");
    ops::permissions::grant(
        &mut t.conn,
        &admin,
        "carol",
        "a.example",
        &[ops::Perm::Mailboxes],
    )
    .expect("grant");
    ops::permissions::grant(
        &mut t.conn,
        &admin,
        "carol",
        "b.example",
        &[ops::Perm::Aliases],
    )
    .expect("grant");
    t.login("carol", "carol-password-1");
    t.command("mailboxes");
    t.char(' ');
    t.char('j');
    t.char(' ');
    t.char('S');
    let screen = t.screen();
    assert!(screen.contains("u001@b.example"), "{screen}");
    assert!(screen.contains("permission denied"), "{screen}");
    t.esc();
    assert_eq!(suspended(&mut t), 0);
}
