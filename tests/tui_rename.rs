//! Issue 20 in the TUI: `R` on a mailbox opens the rename form (new
//! address, keep-alias picker); the rename runs on the worker's slow lane
//! (it runs the move command) and the status line says how it went; a
//! refused rename is shown beside its field and changes nothing. Driven
//! through the real app and worker, checked in the database and on disk.
//! Both backends.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::{aliases, mailboxes};
use postfix_manager::ops::{self, mailboxes::NewMailbox};
use tui_common::Tui;

const BOB: &str = "bob@example.com";

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(crate::common::TestDb::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(db) = crate::common::TestDb::postgres() {
                    super::$name(db);
                }
            }
        }
    };
}

fn usernames(t: &mut Tui) -> Vec<String> {
    mailboxes::table
        .select(mailboxes::username)
        .order(mailboxes::username)
        .load(&mut t.conn)
        .unwrap()
}

both!(r_renames_a_mailbox_through_a_form);
fn r_renames_a_mailbox_through_a_form(db: common::TestDb) {
    let root = tempfile::tempdir().unwrap();
    let mut policy = common::policy();
    policy.lifecycle.mail_root = root.path().display().to_string();
    let mut t = Tui::with_policy(db, 100, 30, policy);
    for d in ["example.com", "other.example"] {
        ops::domains::create(&mut t.conn, &t.admin, d, &Default::default()).unwrap();
    }
    for m in [BOB, "alice@example.com"] {
        ops::mailboxes::create(
            &mut t.conn,
            &t.admin,
            &NewMailbox {
                address: m.into(),
                password: "mailbox-password-1".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    ops::aliases::create(&mut t.conn, &t.admin, "info@example.com", BOB, None).unwrap();
    let home = root.path().join("example.com/bob");
    std::fs::create_dir_all(home.join("Maildir/cur")).unwrap();
    std::fs::write(home.join("Maildir/cur/1.msg"), "old mail").unwrap();
    t.login_admin();
    t.command("mailboxes");
    while t.selected().as_deref() != Some(BOB) {
        t.press(KeyCode::Down);
    }
    t.char('?');
    let help = t.screen();
    assert!(help.contains("rename / move"), "`?` lists R: {help}");
    t.esc();

    // A taken address: refused beside the field, nothing renamed.
    t.char('R');
    let s = t.screen();
    assert!(
        s.contains("Rename mailbox bob@example.com")
            && s.contains("New address")
            && s.contains("Keep old as alias"),
        "{s}"
    );
    t.clear_field();
    t.text("alice@example.com");
    t.enter();
    let s = t.screen();
    assert!(s.contains("already exists"), "{s}");
    assert_eq!(usernames(&mut t), ["alice@example.com", BOB]);
    assert!(home.exists());

    // Another domain, keeping the old address as an alias.
    t.clear_field();
    t.text("robert@other.example");
    t.tab();
    t.char('y');
    t.enter();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(
        !failed && msg.contains("renamed mailbox bob@example.com to robert@other.example"),
        "{msg}"
    );
    assert_eq!(
        usernames(&mut t),
        ["alice@example.com", "robert@other.example"]
    );
    assert!(root
        .path()
        .join("other.example/robert/Maildir/cur/1.msg")
        .exists());
    assert!(!home.exists());
    let goto = |t: &mut Tui, a: &str| -> String {
        aliases::table
            .filter(aliases::address.eq(a))
            .select(aliases::goto)
            .first(&mut t.conn)
            .unwrap()
    };
    assert_eq!(goto(&mut t, "info@example.com"), "robert@other.example");
    assert_eq!(goto(&mut t, BOB), "robert@other.example");
    let s = t.screen();
    assert!(s.contains("robert@other.example"), "the list follows: {s}");
}

// Readonly users get no `R`.
both!(readonly_gets_no_rename);
fn readonly_gets_no_rename(db: common::TestDb) {
    let mut t = Tui::on(db, 100, 30);
    ops::domains::create(&mut t.conn, &t.admin, "example.com", &Default::default()).unwrap();
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: BOB.into(),
            password: "mailbox-password-1".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "viewer", "readonly");
    t.login("viewer", "viewer-password-1");
    t.command("mailboxes");
    t.char('R');
    let s = t.screen();
    assert!(!s.contains("Rename mailbox"), "{s}");
    assert_eq!(usernames(&mut t), [BOB]);
}
