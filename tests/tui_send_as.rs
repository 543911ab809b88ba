//! Issue 20, the Send-as screen (`:sendas`): `n` grants (the form's bad
//! input marked, nothing saved), the list shows the grant, `d` revokes
//! after the dialog. Through the real app and worker; checked in the
//! database. Both backends.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::ops::{self, mailboxes::NewMailbox};
use tui_common::Tui;

const ALICE: &str = "alice@example.com";

fn grants(t: &mut Tui) -> Vec<(String, String)> {
    ops::sender_grants::list(
        &mut t.conn,
        &t.admin,
        &Default::default(),
        &Default::default(),
    )
    .unwrap()
    .into_iter()
    .map(|g| (g.mailbox, g.address))
    .collect()
}

fn send_as_screen(db: common::TestDb) {
    let mut t = Tui::on(db, 80, 24);
    for d in ["example.com", "other.example"] {
        ops::domains::create(&mut t.conn, &t.admin, d, &Default::default()).unwrap();
    }
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: ALICE.into(),
            password: "mailbox-password-1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    t.login_admin();
    t.command("sendas");
    assert!(t.screen().contains("Send-as grants"), "{}", t.screen());

    t.char('n');
    t.text(ALICE);
    t.tab();
    t.text("x@nowhere.example");
    t.enter();
    let s = t.screen();
    assert!(s.contains("of a domain hosted"), "{s}");
    assert_eq!(grants(&mut t), vec![], "nothing saved");
    t.clear_field();
    t.text("@other.example");
    t.enter();
    assert_eq!(
        grants(&mut t),
        vec![(ALICE.to_string(), "@other.example".to_string())],
        "{}",
        t.screen()
    );
    let s = t.screen();
    assert!(s.contains(ALICE) && s.contains("@other.example"), "{s}");

    t.char('d');
    let s = t.screen();
    assert!(s.contains("Revoke the grant"), "{s}");
    t.press(KeyCode::Right);
    t.press(KeyCode::Enter);
    assert_eq!(grants(&mut t), vec![], "{}", t.screen());
}

#[test]
fn send_as_screen_sqlite() {
    send_as_screen(common::TestDb::sqlite());
}

#[test]
fn send_as_screen_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        send_as_screen(db);
    }
}
