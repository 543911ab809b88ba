//! Issue 20 in the TUI: `V` on a mailbox reads its vacation and opens a
//! form on it; saving runs the install command (the worker's slow lane),
//! a bad date is marked beside its field, switching "Replies" to off runs
//! the remove command. Driven through the real app and worker on a
//! TestBackend; checked in the database and on disk. Both backends.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::vacations;
use postfix_manager::ops::{self, mailboxes::NewMailbox};
use tui_common::Tui;

const ALICE: &str = "alice@example.com";

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

fn row(t: &mut Tui) -> Option<(bool, String, String, Option<chrono::NaiveDate>)> {
    vacations::table
        .select((
            vacations::enabled,
            vacations::subject,
            vacations::body,
            vacations::until_date,
        ))
        .first(&mut t.conn)
        .optional()
        .unwrap()
}

both!(the_vacation_form_sets_and_switches_off);
fn the_vacation_form_sets_and_switches_off(db: common::TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("installed");
    let mut policy = common::policy();
    policy.vacation.install_command = format!("cat > '{}'", installed.display());
    policy.vacation.remove_command = format!("rm -f '{}'", installed.display());
    let mut t = Tui::with_policy(db, 100, 30, policy);
    ops::domains::create(&mut t.conn, &t.admin, "example.com", &Default::default()).unwrap();
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
    t.command("mailboxes");
    assert_eq!(t.selected().as_deref(), Some(ALICE));

    // `?` lists the key; `V` opens the form on what is stored (nothing).
    t.char('?');
    let s = t.screen();
    assert!(s.contains("vacation reply"), "{s}");
    t.esc();
    t.char('V');
    let s = t.screen();
    assert!(
        s.contains("Vacation of alice@example.com (none set)"),
        "{s}"
    );
    assert!(
        s.contains("Reply every") && s.contains("\\n = new line"),
        "{s}"
    );

    t.tab(); // Subject
    t.text("Away \"for\" a while");
    t.tab(); // Body
    t.text("Back on Monday.\\n.\\nAsk bob.");
    t.tab(); // First day
    t.tab(); // Last day
    t.text("31.12.2099");
    t.enter();
    let s = t.screen();
    assert!(
        s.contains("is not a date: use YYYY-MM-DD"),
        "marked beside the field: {s}"
    );
    assert_eq!(row(&mut t), None, "nothing saved");
    assert!(!installed.exists());

    t.clear_field();
    t.text("2099-12-31");
    t.enter();
    let s = t.screen();
    assert!(s.contains("vacation of alice@example.com set (on)"), "{s}");
    let (on, subject, body, until) = row(&mut t).unwrap();
    assert!(on);
    assert_eq!(subject, "Away \"for\" a while");
    assert_eq!(body, "Back on Monday.\n.\nAsk bob.");
    assert_eq!(until, chrono::NaiveDate::from_ymd_opt(2099, 12, 31));
    let script = std::fs::read_to_string(&installed).unwrap();
    assert!(
        script.contains(":subject \"Away \\\"for\\\" a while\""),
        "{script}"
    );
    assert!(
        script.contains("Back on Monday.\r\n..\r\nAsk bob.\r\n.\r\n"),
        "{script}"
    );

    // Opened again: what was saved, the body on one line.
    t.char('V');
    let s = t.screen();
    assert!(s.contains("Vacation of alice@example.com (on)"), "{s}");
    assert!(s.contains("Back on Monday.\\n.\\nAsk bob."), "{s}");
    assert!(s.contains("2099-12-31"), "{s}");

    // Replies: off (a picker: Right moves it) removes the script.
    t.press(KeyCode::Right);
    t.enter();
    let s = t.screen();
    assert!(s.contains("vacation of alice@example.com off"), "{s}");
    assert!(!installed.exists(), "removed");
    assert_eq!(row(&mut t).map(|r| r.0), Some(false));
}
