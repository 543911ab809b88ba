//! Issue 20 in the TUI: `d` on a mailbox holds it (the dialog says for how
//! long), the Deleted mailboxes screen (`:deleted`) lists holds with the
//! days left, `u` restores one and `d` purges it through the purge command.
//! Driven through the real app and worker; checked in the database and on
//! disk. Both backends.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::{deleted_mailboxes, mailboxes};
use postfix_manager::ops::{self, mailboxes::NewMailbox, Policy};
use tui_common::Tui;

const BOB: &str = "bob@example.com";

fn count(t: &mut Tui, held: bool) -> i64 {
    if held {
        deleted_mailboxes::table
            .filter(deleted_mailboxes::username.eq(BOB))
            .count()
            .get_result(&mut t.conn)
            .unwrap()
    } else {
        mailboxes::table
            .filter(mailboxes::username.eq(BOB))
            .count()
            .get_result(&mut t.conn)
            .unwrap()
    }
}

/// Yes on the open dialog (focus starts on No).
fn confirm(t: &mut Tui) {
    t.press(KeyCode::Right);
    t.press(KeyCode::Enter);
}

/// Tests that run on SQLite and, when its URL is set, PostgreSQL (the TUI
/// takes its database by value).
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

both!(deleted_screen_holds_restores_and_purges);
fn deleted_screen_holds_restores_and_purges(db: common::TestDb) {
    let root = tempfile::tempdir().unwrap();
    let mut policy = common::policy();
    policy.lifecycle.mail_root = root.path().display().to_string();
    let mut t = Tui::with_policy(db, 100, 30, policy);
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
    ops::aliases::create(&mut t.conn, &t.admin, "info@example.com", BOB, None).unwrap();
    let home = root.path().join("example.com/bob");
    std::fs::create_dir_all(home.join("Maildir/cur")).unwrap();
    std::fs::write(home.join("Maildir/cur/1.msg"), "old mail").unwrap();
    t.login_admin();

    // `d` on Mailboxes: the dialog says it is a hold, Yes holds it.
    t.command("mailboxes");
    assert_eq!(t.selected().as_deref(), Some(BOB));
    t.char('d');
    let s = t.screen();
    assert!(s.contains("held for 30 days"), "{s}");
    confirm(&mut t);
    assert_eq!((count(&mut t, false), count(&mut t, true)), (0, 1));

    // :deleted lists it with its days left and alias count.
    t.command("deleted");
    assert_eq!(t.rows(), vec![BOB.to_string()]);
    let s = t.screen();
    assert!(
        s.contains("Deleted mailboxes") && s.contains("Days left"),
        "{s}"
    );
    assert!(s.contains("u restore"), "the footer offers restore: {s}");

    // `u` asks, then restores (with its alias).
    t.char('u');
    let s = t.screen();
    assert!(s.contains("Restore mailbox bob@example.com?"), "{s}");
    confirm(&mut t);
    assert_eq!((count(&mut t, false), count(&mut t, true)), (1, 0));
    let goto: String = postfix_manager::db::schema::aliases::table
        .filter(postfix_manager::db::schema::aliases::address.eq("info@example.com"))
        .select(postfix_manager::db::schema::aliases::goto)
        .first(&mut t.conn)
        .unwrap();
    assert_eq!(goto, BOB);
    assert!(t.rows().is_empty(), "{:?}", t.rows());

    // `d` here purges: the dialog names the maildir, Yes removes it.
    ops::mailboxes::delete(&mut t.conn, &t.admin, BOB).unwrap();
    t.char('r');
    assert_eq!(t.rows(), vec![BOB.to_string()]);
    t.char('d');
    let s = t.screen();
    assert!(s.contains("Purge mailbox bob@example.com now?"), "{s}");
    confirm(&mut t);
    assert_eq!((count(&mut t, false), count(&mut t, true)), (0, 0));
    assert!(!home.exists(), "maildir purged");
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(
        !failed && msg.contains("purged mailbox bob@example.com"),
        "{msg}"
    );
}

// Readonly users see holds but get no restore or purge key.
both!(readonly_sees_holds_without_write_keys);
fn readonly_sees_holds_without_write_keys(db: common::TestDb) {
    let mut t = Tui::with_policy(db, 100, 30, Policy { ..common::policy() });
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
    ops::mailboxes::delete(&mut t.conn, &t.admin, BOB).unwrap();
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "viewer", "readonly");
    t.login("viewer", "viewer-password-1");
    t.command("deleted");
    assert_eq!(t.rows(), vec![BOB.to_string()]);
    let s = t.screen();
    assert!(!s.contains("u restore"), "{s}");
    t.char('u');
    t.char('d');
    assert_eq!(count(&mut t, true), 1, "nothing restored or purged");
}
