//! Issue 15 item 19: the TUI at the sizes people really have. Login and
//! lock screens work in 40x12; tables at 80 columns keep addresses whole
//! and give way on names and descriptions; the header keeps the database
//! file name visible however long its path.

mod common;
mod tui_common;

use tui_common::{domain, mailbox, Tui};

const G: i64 = 1 << 30;
const T: i64 = 1 << 40;

/// Where a packaged install keeps it, a few directories deep.
const LONG_DB: &str =
    "sqlite:///var/lib/postfix-manager/hosts/mx1.mail.example.org/data/postfix-manager.db";

#[test]
fn login_and_lock_fit_in_40x12() {
    let mut t = Tui::new(40, 12);
    t.app.db_label = LONG_DB.into();
    snap!("login_40x12", t.screen());
    t.login("admin", "not-the-password");
    let screen = t.screen();
    assert!(screen.contains("Login failed"), "{screen}");
    snap!("login_failed_40x12", screen);
    // Every key is taken at this size: the right password logs in.
    t.text(common::ADMIN_PW);
    t.enter();
    assert!(t.app.session.is_some(), "{}", t.screen());
    // Past the login a table needs 80x24, and says so.
    assert!(t.screen().contains("Need 80x24"), "{}", t.screen());
    t.app.lock_after = 3;
    for _ in 0..3 {
        t.app.on_tick();
    }
    t.settle();
    assert!(t.app.lock.is_some());
    t.text("wrong-password-here");
    t.enter();
    let screen = t.screen();
    assert!(screen.contains("login failed"), "{screen}");
    snap!("lock_40x12", screen);
    t.text(common::ADMIN_PW);
    t.enter();
    assert!(t.app.lock.is_none(), "{}", t.screen());
}

#[test]
fn login_at_60x20_takes_every_key() {
    let mut t = Tui::new(60, 20);
    t.login_admin();
}

/// Addresses as long as real ones get, with long names beside them and
/// usage from bytes to terabytes.
const ADDRESSES: [&str; 5] = [
    "accounts-payable@finance.example.org",
    "jonathan.doe@finance.example.org",
    "noreply@finance.example.org",
    "archive@storage.example.org",
    "x@storage.example.org",
];

fn long_names(w: u16, h: u16) -> Tui {
    let mut t = Tui::new(w, h);
    t.app.db_label = LONG_DB.into();
    domain(
        &mut t,
        "finance.example.org",
        "Finance department, all regional offices and the shared payables desk",
        100 * T,
    );
    domain(
        &mut t,
        "storage.example.org",
        "Long-term archive storage for every department",
        2000 * T,
    );
    let rows = [
        (
            "Accounts Payable Shared Mailbox (Finance)",
            10 * G,
            9_663_676_416,
        ),
        (
            "Jonathan Doe, Senior Financial Controller",
            4 * G,
            572_304_384,
        ),
        ("Automated Notifications (do not reply)", G, 512),
        (
            "Archive of Everything Since 1998",
            500 * T,
            452_207_272_553_453,
        ),
        ("X", G, 0),
    ];
    for (a, (name, quota, used)) in ADDRESSES.iter().zip(rows) {
        mailbox(&mut t, a, name, quota, used);
    }
    t
}

#[test]
fn tables_keep_addresses_whole_and_the_database_file_name() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = long_names(w, h);
        t.login_admin();
        t.command("mailboxes");
        let screen = t.screen();
        for a in ADDRESSES {
            assert!(screen.contains(a), "{a} cut at {w}x{h}:\n{screen}");
        }
        let header = screen.lines().next().unwrap_or_default().to_string();
        assert!(
            header.contains("/postfix-manager.db"),
            "the file name at {w}x{h}: {header}"
        );
        snap!(format!("long_addresses_mailboxes_{w}x{h}"), screen);
        t.command("domains");
        let screen = t.screen();
        for d in ["finance.example.org", "storage.example.org"] {
            assert!(screen.contains(d), "{d} cut at {w}x{h}:\n{screen}");
        }
        snap!(format!("long_addresses_domains_{w}x{h}"), screen);
    }
}

/// The cell the terminal cursor is on, and the login box's right border
/// on the user name's row (x of the box's top-right corner).
fn cursor_cell_and_border(t: &mut Tui) -> (String, String) {
    use ratatui::backend::Backend;
    t.screen();
    let pos = t.term.backend_mut().get_cursor_position().expect("cursor");
    let buf = t.term.backend().buffer().clone();
    let top = (0..buf.area.height)
        .find(|&y| (0..buf.area.width).any(|x| buf[(x, y)].symbol() == "┐"))
        .expect("box");
    let right = (0..buf.area.width)
        .rev()
        .find(|&x| buf[(x, top)].symbol() == "┐")
        .expect("corner");
    (
        buf[(pos.x, pos.y)].symbol().to_string(),
        buf[(right, pos.y)].symbol().to_string(),
    )
}

/// A name longer than the login field at 40x12: the field scrolls with the
/// cursor, which stays on the character it is before (Left 5 times from
/// the end of 60 characters is before the 56th), and at the end sits after
/// the last character, not on it. A name of wide (CJK) characters stays
/// inside the box.
#[test]
fn the_login_cursor_stays_on_its_character_in_a_long_or_wide_name() {
    let mut t = Tui::new(40, 12);
    let name: Vec<char> = (0..60u8)
        .map(|i| {
            char::from(if i % 2 == 0 {
                b'a' + i / 3 % 26
            } else {
                b'0' + i % 10
            })
        })
        .collect();
    t.text(&name.iter().collect::<String>());
    // At the end: the cursor on an empty cell after the last character,
    // which is shown.
    let (cell, border) = cursor_cell_and_border(&mut t);
    assert_eq!(
        (cell.as_str(), border.as_str()),
        (" ", "│"),
        "{}",
        t.screen()
    );
    let shown_end: String = name[36..].iter().collect();
    assert!(t.screen().contains(&shown_end), "{}", t.screen());
    for _ in 0..5 {
        t.press(crossterm::event::KeyCode::Left);
    }
    let (cell, border) = cursor_cell_and_border(&mut t);
    assert_eq!(cell, name[55].to_string(), "{}", t.screen());
    assert_eq!(border, "│");
    // The window holds the cursor's character as its last column but one.
    let shown: String = name[31..56].iter().collect();
    assert!(t.screen().contains(&shown), "{}", t.screen());

    let mut t = Tui::new(40, 12);
    t.text(&"名前".repeat(15));
    let (cell, border) = cursor_cell_and_border(&mut t);
    assert_eq!(
        (cell.as_str(), border.as_str()),
        (" ", "│"),
        "{}",
        t.screen()
    );
    for _ in 0..3 {
        t.press(crossterm::event::KeyCode::Left);
    }
    // 30 characters, the cursor before the 28th ("前", index 27).
    let (cell, border) = cursor_cell_and_border(&mut t);
    assert_eq!(
        (cell.as_str(), border.as_str()),
        ("前", "│"),
        "{}",
        t.screen()
    );
    snap!("login_wide_name_40x12", t.screen());
}

/// Locked on the Mailboxes screen and shrunk to 40x12: only the header and
/// the lock box are drawn (the table, dashboard and tail were never laid
/// out that small), and nothing is fetched for the screen under the lock.
/// Back at 200x50 and unlocked, the table is as it was.
#[test]
fn locked_and_shrunk_draws_only_the_lock_and_fetches_nothing() {
    let mut t = Tui::new(200, 50);
    domain(&mut t, "lock.example.org", "Locked while shrunk", 100 * T);
    for i in 0..80 {
        mailbox(
            &mut t,
            &format!("user{i:03}@lock.example.org"),
            &format!("User {i:03}"),
            10 * G,
            i * G / 10,
        );
    }
    t.login_admin();
    t.command("mailboxes");
    t.settle();
    for _ in 0..3 {
        t.press(crossterm::event::KeyCode::Down);
    }
    t.settle();
    let before = (t.rows(), t.selected());
    assert!(before.0.len() > 20, "{:?}", before.0);
    t.app.lock_after = 3;
    for _ in 0..3 {
        t.app.on_tick();
    }
    t.settle();
    assert!(t.app.lock.is_some());

    t.term.backend_mut().resize(40, 12);
    t.app.on_resize(40, 12);
    assert!(
        t.app.take_jobs().is_empty(),
        "a fetch while locked at 40x12"
    );
    let screen = t.screen();
    assert!(!screen.contains("user0"), "{screen}");
    snap!("locked_mailboxes_40x12", screen);

    t.term.backend_mut().resize(200, 50);
    t.app.on_resize(200, 50);
    assert!(
        t.app.take_jobs().is_empty(),
        "a fetch while locked at 200x50"
    );
    t.text(common::ADMIN_PW);
    t.enter();
    t.settle();
    assert!(t.app.lock.is_none(), "{}", t.screen());
    assert_eq!((t.rows(), t.selected()), before);
}
