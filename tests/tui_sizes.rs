//! Issue 15 item 19: the TUI at the sizes people really have. Login and
//! lock screens work in 40x12; tables at 80 columns keep addresses whole
//! and give way on names and descriptions; the header keeps the database
//! file name visible however long its path.

mod common;
mod tui_common;

use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use tui_common::Tui;

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

fn domain(t: &mut Tui, name: &str, description: &str, quota: i64) {
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        name,
        &DomainInput {
            description: Some(description.into()),
            quota_limit: Some(quota),
            ..Default::default()
        },
    )
    .expect("domain");
}

fn mailbox(t: &mut Tui, address: &str, name: &str, quota: i64, used: i64) {
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: address.into(),
            password: "mailbox-password-1".into(),
            quota: Some(quota),
            name: Some(name.into()),
        },
    )
    .expect("mailbox");
    diesel::update(mailboxes::table.filter(mailboxes::username.eq(address)))
        .set(mailboxes::quota_used.eq(used))
        .execute(&mut t.conn)
        .expect("usage");
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
