//! Live tables (issue 15 item 15): a table screen re-reads its visible page
//! when the dashboard's change token moves under it, written by another
//! connection as the CLI or another admin would, and keeps the cursor on
//! the same row, the marks, the filter and the page start. An unchanged
//! check reads no rows and draws nothing; an open form is never disturbed.
//! SQLite and PostgreSQL.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::model::{Entity, Status};
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
fn an_edit_elsewhere_that_no_counter_counts_shows_too() {
    both(|mut t| {
        t.press(KeyCode::Char('j'));
        // A suspend and a rename move no quota counter; their audit rows
        // (every ops write has one) move the token.
        ops::mailboxes::set_status(
            &mut t.conn,
            &t.admin,
            "carl@live.example",
            Status::Suspended,
        )
        .expect("suspend");
        assert!(refresh(&mut t), "redrawn");
        let s = t.screen();
        let carl = s
            .lines()
            .find(|l| l.contains("carl@live.example"))
            .expect("carl");
        assert!(carl.contains("suspended"), "{s}");
        assert_eq!(t.selected().as_deref(), Some("carl@live.example"));
        ops::mailboxes::edit(
            &mut t.conn,
            &t.admin,
            "erik@live.example",
            None,
            &ops::mailboxes::MailboxEdit {
                name: Some("Erik Renamed".into()),
                ..Default::default()
            },
        )
        .expect("rename");
        assert!(refresh(&mut t));
        assert!(t.screen().contains("Erik Renamed"), "{}", t.screen());
    });
}

#[test]
fn an_unchanged_check_reads_no_rows_and_draws_nothing() {
    both(|mut t| {
        // Ticks until a check goes out; its answer is "unchanged".
        assert!(!t.app.on_tick());
        assert!(t.app.idle(), "no check before the interval");
        assert!(!t.app.on_tick());
        assert!(t.app.waiting(Slot::Table(Entity::Mailboxes)));
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

// ---- `/` matches names and descriptions too (issue 15 item 17) ----

fn names(c: &mut postfix_manager::db::AnyConnection, admin: &postfix_manager::ops::Ctx) {
    ops::domains::create(
        c,
        admin,
        "names.example",
        &DomainInput {
            description: Some("Main Office".into()),
            quota_limit: Some(0),
            ..Default::default()
        },
    )
    .expect("domain");
    for (local, name) in [
        ("p20", Some("Person 20")),
        ("p200", Some("Person 200")),
        ("x1", Some("Other")),
        ("x2", None),
    ] {
        ops::mailboxes::create(
            c,
            admin,
            &NewMailbox {
                address: format!("{local}@names.example"),
                password: "mailbox-password-1".into(),
                quota: None,
                name: name.map(str::to_string),
            },
        )
        .expect("mailbox");
    }
    // Through the import's bulk path too, which fills the SQLite search
    // index set-wise instead of by trigger.
    let hash = postfix_manager::password::hash_mailbox("mailbox-password-1", 4).expect("hash");
    let rows = vec![postfix_manager::ops::import::MailboxRow {
        line: 2,
        address: "imp@names.example".into(),
        password_hash: hash,
        quota: None,
        name: Some("Imported Person 20".into()),
        status: Status::Active,
    }];
    postfix_manager::ops::import::mailboxes(c, admin, &rows, false, &mut |_, _| {})
        .expect("import");
    ops::aliases::create(
        c,
        admin,
        "sales@names.example",
        "p20@names.example",
        Some("Front Desk"),
    )
    .expect("alias");
}

fn found(
    c: &mut postfix_manager::db::AnyConnection,
    admin: &postfix_manager::ops::Ctx,
    text: &str,
) -> Vec<String> {
    use postfix_manager::store::{Filter, Page};
    let f = Filter {
        text: Some(text.into()),
        ..Default::default()
    };
    ops::mailboxes::list(c, admin, &f, &Page::default())
        .expect("list")
        .into_iter()
        .map(|m| m.username)
        .collect()
}

on_both_backends!(the_filter_finds_mailboxes_by_name, |t| {
    use postfix_manager::store::{Filter, Page};
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    names(&mut c, &admin);
    // Trigram-served terms (3+ characters), any case.
    for text in ["Person 20", "person 20", "PERSON 20"] {
        assert_eq!(
            found(&mut c, &admin, text),
            [
                "imp@names.example",
                "p200@names.example",
                "p20@names.example"
            ],
            "{text}"
        );
    }
    assert_eq!(found(&mut c, &admin, "Person 200"), ["p200@names.example"]);
    // Addresses still match; a short term (no trigram) takes the scan path
    // and matches names as well.
    assert_eq!(found(&mut c, &admin, "x1@"), ["x1@names.example"]);
    assert_eq!(found(&mut c, &admin, "th"), ["x1@names.example"]);
    // LIKE's wildcards in the term are literal.
    assert!(found(&mut c, &admin, "Person_20").is_empty());
    // A renamed mailbox is found by its new name only (the index follows).
    ops::mailboxes::edit(
        &mut c,
        &admin,
        "x2@names.example",
        None,
        &ops::mailboxes::MailboxEdit {
            name: Some("Renamed Person 20".into()),
            ..Default::default()
        },
    )
    .expect("rename");
    assert!(found(&mut c, &admin, "Person 20").contains(&"x2@names.example".to_string()));
    ops::mailboxes::edit(
        &mut c,
        &admin,
        "x1@names.example",
        None,
        &ops::mailboxes::MailboxEdit {
            name: Some("Nobody".into()),
            ..Default::default()
        },
    )
    .expect("rename");
    assert!(found(&mut c, &admin, "Other").is_empty());
    // Domains by description, aliases by description.
    let f = |text: &str| Filter {
        text: Some(text.into()),
        ..Default::default()
    };
    let doms: Vec<String> = ops::domains::list(&mut c, &admin, &f("main office"), &Page::default())
        .expect("domains")
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(doms, ["names.example"]);
    let al: Vec<String> = ops::aliases::list(&mut c, &admin, &f("front desk"), &Page::default())
        .expect("aliases")
        .into_iter()
        .map(|a| a.address)
        .collect();
    assert_eq!(al, ["sales@names.example"]);
});

#[test]
fn slash_person_20_finds_the_mailbox_named_so_on_both_backends() {
    let run = |mut t: Tui| {
        let (mut c, admin) = (t.db.conn(), t.admin.clone());
        names(&mut c, &admin);
        t.login_admin();
        t.command("mailboxes");
        t.char('/');
        t.text("Person 20");
        t.enter();
        assert_eq!(
            t.rows(),
            [
                "imp@names.example",
                "p200@names.example",
                "p20@names.example"
            ]
        );
        let s = t.screen();
        assert!(s.contains("/Person 20"), "{s}");
        assert!(s.contains("Person 200"), "the name column shows why: {s}");
    };
    run(Tui::new(80, 24));
    if let Some(db) = common::TestDb::postgres() {
        run(Tui::on(db, 80, 24));
    }
}

// ---- The audit screen names what it lists and filters (item 16) ----

fn audit_fixture(c: &mut postfix_manager::db::AnyConnection, admin: &postfix_manager::ops::Ctx) {
    ops::domains::create(
        c,
        admin,
        "audit.example",
        &DomainInput {
            quota_limit: Some(0),
            ..Default::default()
        },
    )
    .expect("domain");
    for u in ["bob", "gone"] {
        ops::mailboxes::create(
            c,
            admin,
            &NewMailbox {
                address: format!("{u}@audit.example"),
                password: "mailbox-password-1".into(),
                quota: None,
                name: None,
            },
        )
        .expect("mailbox");
    }
    ops::mailboxes::delete(c, admin, "gone@audit.example").expect("delete");
    // A refused attempt: audited with what was asked.
    assert!(ops::mailboxes::delete(c, admin, "nobody@audit.example").is_err());
    // CLI logins (every CLI command starts with one): hidden by default.
    for _ in 0..3 {
        common::login(c, "admin", common::ADMIN_PW);
    }
    // A failed login always shows.
    assert!(ops::auth::login(
        c,
        "admin",
        "wrong-password",
        &ops::Client::from_env(ops::ClientKind::Cli),
        &common::policy(),
    )
    .is_err());
}

fn audit_page(
    c: &mut postfix_manager::db::AnyConnection,
    admin: &postfix_manager::ops::Ctx,
    text: &str,
    logins: bool,
) -> Vec<String> {
    let q = ops::audit::parse_query(Some(text), logins);
    ops::audit::search(c, admin, &q, &postfix_manager::store::Page::default())
        .expect("audit")
        .into_iter()
        .map(|n| format!("{} {} {}", n.entry.action, n.resource, n.entry.result))
        .collect()
}

on_both_backends!(audit_entries_name_their_resources_and_filter, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    audit_fixture(&mut c, &admin);
    let all = audit_page(&mut c, &admin, "", false);
    // Names, not ids; the deleted mailbox by the name its rows recorded.
    for want in [
        "create domain audit.example ok",
        "create mailbox bob@audit.example ok",
        "create mailbox gone@audit.example ok",
        "delete mailbox gone@audit.example ok",
        "delete mailbox nobody@audit.example refused",
        "login session admin failed",
    ] {
        assert!(all.iter().any(|r| r == want), "{want} not in {all:#?}");
    }
    assert!(
        !all.iter().any(|r| r.contains('#')),
        "an id shown: {all:#?}"
    );
    // Successful CLI logins hidden, shown on request.
    assert!(
        !all.iter().any(|r| r == "login session admin ok"),
        "{all:#?}"
    );
    let with = audit_page(&mut c, &admin, "", true);
    assert!(
        with.iter()
            .filter(|r| *r == "login session admin ok")
            .count()
            >= 3,
        "{with:#?}"
    );
    // Filters: exact keys, words in the details, both together.
    assert_eq!(
        audit_page(&mut c, &admin, "action:delete", false),
        [
            "delete mailbox nobody@audit.example refused",
            "delete mailbox gone@audit.example ok"
        ]
    );
    assert_eq!(
        audit_page(&mut c, &admin, "actor:admin action:delete result:ok", false),
        ["delete mailbox gone@audit.example ok"]
    );
    assert_eq!(
        audit_page(&mut c, &admin, "resource:domain", false),
        ["create domain audit.example ok"]
    );
    assert_eq!(
        audit_page(&mut c, &admin, "bob@audit", false),
        ["create mailbox bob@audit.example ok"]
    );
    assert!(audit_page(&mut c, &admin, "actor:carol", false).is_empty());
    // A key still being typed narrows nothing.
    assert_eq!(audit_page(&mut c, &admin, "action:", false), all);
    // A resource gone with no name recorded: its id, marked deleted.
    use diesel::connection::SimpleConnection;
    c.batch_execute(
        "INSERT INTO audit_logs (id, user_id, action, resource_type, resource_id, details, actor, result, prev_hash, row_hash)
         SELECT MAX(id) + 1, 1, 'update', 'mailbox', 99999, '{}', 'admin', 'ok', 'x', 'y' FROM audit_logs",
    )
    .expect("insert");
    assert_eq!(
        audit_page(&mut c, &admin, "", false)
            .first()
            .map(String::as_str),
        Some("update mailbox #99999 (deleted) ok")
    );
});

fn audit_tui(w: u16, h: u16) -> Tui {
    let mut t = Tui::new(w, h);
    let (mut c, admin) = (t.db.conn(), t.admin.clone());
    audit_fixture(&mut c, &admin);
    t.login_admin();
    t.command("audit");
    t
}

#[test]
fn audit_screen_names_resources_hides_cli_logins_and_filters_80x24() {
    let mut t = audit_tui(80, 24);
    let s = t.screen();
    assert!(s.contains("mailbox bob@audit.example"), "{s}");
    assert!(s.contains("CLI logins hidden"), "{s}");
    assert!(
        s.contains("l show logins"),
        "the toggle is in the footer: {s}"
    );
    snap!("audit_named_80x24", s);
    // `l` shows the CLI logins, and says how to hide them again.
    t.char('l');
    let s = t.screen();
    assert!(!s.contains("CLI logins hidden"), "{s}");
    assert!(
        s.lines()
            .filter(|l| l.contains("login") && l.contains("ok"))
            .count()
            >= 3,
        "{s}"
    );
    assert!(s.contains("l hide CLI logins"), "{s}");
    t.char('l');
    // `/` with keys: the syntax shows while typing.
    t.char('/');
    t.text("action:delete");
    let s = t.screen();
    assert!(s.contains("/ actor: action: resource: result: text"), "{s}");
    t.enter();
    let s = t.screen();
    snap!("audit_filtered_80x24", s);
    assert_eq!(t.rows().len(), 2, "{s}");
}

#[test]
fn audit_screen_at_200x50() {
    let mut t = audit_tui(200, 50);
    snap!("audit_named_200x50", t.screen());
    t.char('/');
    t.text("actor:admin gone");
    t.enter();
    snap!("audit_filtered_200x50", t.screen());
}
