//! Key handling and screen state: paging by keyset, stale replies, modals
//! that must write nothing, quitting from anywhere, and staying responsive
//! while another process holds the SQLite write lock.

mod common;
mod tui_common;

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use diesel::connection::SimpleConnection;
use postfix_manager::model::{Entity, Perm};
use postfix_manager::ops::{self, domains::DomainInput};
use postfix_manager::worker::Slot;
use tui_common::Tui;

fn domains(t: &mut Tui, n: usize) {
    for i in 0..n {
        ops::domains::create(
            &mut t.conn,
            &t.admin,
            &format!("d{i:02}.example"),
            &DomainInput::default(),
        )
        .expect("domain");
    }
}

fn name(i: usize) -> String {
    format!("d{i:02}.example")
}

fn names(r: std::ops::Range<usize>) -> Vec<String> {
    r.map(name).collect()
}

#[test]
fn pages_move_by_keyset_and_hold_only_the_visible_rows() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 45);
    t.login_admin();
    t.command("domains");
    // 24 lines: header, footer, status, two borders, the column header.
    assert_eq!(t.rows(), names(0..18));
    for _ in 0..17 {
        t.char('j');
    }
    assert_eq!(t.selected(), Some(name(17)));
    t.char('j');
    assert_eq!(
        t.rows(),
        names(18..36),
        "j past the bottom loads the next page"
    );
    assert_eq!(t.selected(), Some(name(18)));
    t.char('k');
    assert_eq!(
        t.rows(),
        names(0..18),
        "k past the top loads the page before"
    );
    assert_eq!(t.selected(), Some(name(17)));
    t.press(KeyCode::PageDown);
    t.press(KeyCode::PageDown);
    assert_eq!(t.rows(), names(36..45));
    t.press(KeyCode::PageDown);
    assert_eq!(t.rows(), names(36..45), "no page after the last");
    assert_eq!(t.selected(), Some(name(44)));
    t.press(KeyCode::PageUp);
    assert_eq!(t.rows(), names(18..36));
    t.char('g');
    assert_eq!(t.rows(), names(0..18));
    t.char('G');
    assert_eq!(t.rows(), names(27..45), "G is the last full page");
    assert_eq!(t.selected(), Some(name(44)));
    // A taller terminal asks for a taller page from the same place.
    t.resize(80, 30);
    assert_eq!(t.rows().len(), 24);
}

#[test]
fn a_reply_older_than_the_screens_last_request_is_dropped() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 3);
    t.login_admin();
    t.command("domains");
    t.char('/');
    t.key_nowait(KeyCode::Char('1'));
    t.send_only();
    let old = t.next_reply(Duration::from_secs(10)).expect("first reply");
    // The filter changed before the first answer was read.
    t.key_nowait(KeyCode::Backspace);
    t.send_only();
    let new = t.next_reply(Duration::from_secs(10)).expect("second reply");
    assert!(new.tag.gen > old.tag.gen);
    assert!(t.app.on_reply(new));
    assert_eq!(t.rows(), names(0..3));
    assert!(!t.app.on_reply(old), "the stale reply must not redraw");
    assert_eq!(t.rows(), names(0..3), "nor replace the newer rows");
}

#[test]
fn escape_in_a_form_writes_nothing() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 1);
    t.login_admin();
    t.command("domains");
    let before = common::snapshot(&mut t.conn);
    let audit_before = common::count(&mut t.conn, "audit_logs");
    t.char('n');
    t.text("new.example");
    t.esc();
    assert!(t.app.modal.is_none());
    t.enter();
    t.clear_field();
    t.text("edited");
    t.esc();
    assert_eq!(before, common::snapshot(&mut t.conn));
    assert_eq!(audit_before, common::count(&mut t.conn, "audit_logs"));
    let d = ops::domains::get(&mut t.conn, &t.admin, &name(0)).expect("domain");
    assert_eq!(d.description, None);
}

#[test]
fn ctrl_c_quits_from_a_form_the_filter_and_the_login() {
    let mut t = Tui::new(80, 24);
    t.ctrl('c');
    assert!(t.app.quit, "login screen");
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.command("domains");
    t.char('n');
    t.ctrl('c');
    assert!(t.app.quit, "form");
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.command("domains");
    t.char('/');
    t.char('q');
    assert!(!t.app.quit, "q is text while filtering");
    t.ctrl('c');
    assert!(t.app.quit, "filter");
}

#[test]
fn s_suspends_and_activates_through_ops() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 1);
    t.login_admin();
    t.command("domains");
    // Suspending a domain asks first (default No); activating does not.
    t.char('s');
    t.press(KeyCode::Right);
    t.enter();
    let d = ops::domains::get(&mut t.conn, &t.admin, &name(0)).expect("domain");
    assert_eq!(d.status, "suspended");
    assert!(t.screen().contains("suspended"));
    t.char('s');
    let d = ops::domains::get(&mut t.conn, &t.admin, &name(0)).expect("domain");
    assert_eq!(d.status, "active");
}

#[test]
fn escape_clears_the_filter() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 3);
    t.login_admin();
    t.command("domains");
    t.char('/');
    t.text("d01");
    assert_eq!(t.rows(), vec![name(1)]);
    t.enter();
    assert_eq!(t.rows(), vec![name(1)], "Enter keeps the filter");
    t.char('/');
    t.esc();
    assert_eq!(t.rows(), names(0..3));
}

#[test]
fn the_tail_shows_entries_written_by_another_connection() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.char('t');
    // Another session (here: another connection) writes.
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        "far.example",
        &DomainInput::default(),
    )
    .expect("domain");
    t.app.on_tick();
    t.settle();
    let s = t.screen();
    let tail: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("Audit (live)"))
        .collect();
    assert!(tail.iter().any(|l| l.contains("create domain")), "{s}");
}

#[test]
fn screens_answer_while_another_process_holds_the_write_lock() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 30);
    t.login_admin();
    t.command("domains");
    // Another process takes SQLite's write lock and keeps it.
    let mut other = t.db.conn();
    other.batch_execute("BEGIN IMMEDIATE").expect("lock");
    // A write from the TUI now waits for the lock on the writer thread...
    t.char('s');
    t.key_nowait(KeyCode::Right);
    t.key_nowait(KeyCode::Enter);
    t.send_only();
    std::thread::sleep(Duration::from_millis(50));
    assert!(t.app.waiting(Slot::Action));
    // ...while paging and filtering are still answered by the reader.
    let started = Instant::now();
    t.key_nowait(KeyCode::PageDown);
    t.send_only();
    let reply = t.next_reply(Duration::from_secs(5)).expect("page reply");
    let took = started.elapsed();
    assert_eq!(reply.tag.slot, Slot::Table(Entity::Domains));
    assert!(t.app.on_reply(reply));
    assert_eq!(t.rows(), names(18..30));
    eprintln!("page answered in {took:?} during a held write lock");
    assert!(took < Duration::from_millis(1000), "took {took:?}");
    other.batch_execute("COMMIT").expect("unlock");
    t.settle();
    let d = ops::domains::get(&mut t.conn, &t.admin, &name(0)).expect("domain");
    assert_eq!(
        d.status, "suspended",
        "the queued write went through after the lock"
    );
}

#[test]
fn unknown_command_says_which_exist() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.command("nonsense");
    let s = t.screen();
    assert!(s.contains("no screen \"nonsense\""), "{s}");
}

#[test]
fn opening_a_delete_dialog_does_not_lose_a_writes_answer() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 2);
    t.login_admin();
    t.command("domains");
    t.char('s');
    t.key_nowait(KeyCode::Right);
    t.key_nowait(KeyCode::Enter);
    t.key_nowait(KeyCode::Char('d'));
    t.settle();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(!failed && msg.contains("is now suspended"), "{msg}");
    assert!(
        t.screen().contains("1 row will be deleted"),
        "{}",
        t.screen()
    );
}

#[test]
fn an_alias_is_created_and_edited_through_the_forms() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 1);
    t.login_admin();
    t.command("domains");
    t.char('a');
    assert!(t.screen().contains("Aliases of d00.example"));
    t.char('n');
    // The address field starts as "@d00.example" with the cursor in front.
    t.text("info");
    t.tab();
    t.text("a@elsewhere.org, b@elsewhere.org");
    t.enter();
    let a = ops::aliases::get(&mut t.conn, &t.admin, "info@d00.example").expect("alias");
    assert_eq!(a.goto, "a@elsewhere.org,b@elsewhere.org");
    assert_eq!(t.rows(), vec!["info@d00.example"]);
    t.enter();
    t.clear_field();
    t.text("c@elsewhere.org");
    t.enter();
    let a = ops::aliases::get(&mut t.conn, &t.admin, "info@d00.example").expect("alias");
    assert_eq!(a.goto, "c@elsewhere.org");
    assert_eq!(a.version, 2);
}

#[test]
fn a_scoped_user_edits_only_what_it_changed() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 1);
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "carol", "user");
    ops::permissions::grant(&mut t.conn, &admin, "carol", &name(0), &[Perm::Domain])
        .expect("grant");
    t.login("carol", "carol-password-1");
    t.command("domains");
    t.enter();
    t.text("carol's words");
    t.enter();
    // Quota and limits were not sent, so ops did not ask for role admin.
    let d = ops::domains::get(&mut t.conn, &admin, &name(0)).expect("domain");
    assert_eq!(d.description.as_deref(), Some("carol's words"));
    assert!(t.app.modal.is_none(), "{}", t.screen());
}

/// docs/keybindings.md is generated from the key table the handlers
/// dispatch through; `UPDATE_DOCS=1` rewrites it.
#[test]
fn keybindings_doc_is_generated_from_the_key_table() {
    let want = postfix_manager::tui::keys::markdown();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keybindings.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &want).expect("write doc");
    }
    let have = std::fs::read_to_string(path).expect("doc");
    assert!(
        have == want,
        "docs/keybindings.md differs from the key table; run UPDATE_DOCS=1 cargo test --test tui_keys keybindings_doc"
    );
    for x in postfix_manager::tui::keys::BINDINGS {
        assert!(
            have.contains(x.doc()),
            "{:?} is missing from the doc",
            x.cmd
        );
    }
}

/// Each key the table screens answer to is listed by `?`, with what it
/// does, and each key `?` lists does something: the help and the handler
/// read the same table.
#[test]
fn help_lists_every_key_each_screen_answers_to() {
    use postfix_manager::tui::app::Screen;
    use postfix_manager::tui::keys::{Key, BINDINGS};
    let mut t = Tui::new(200, 50);
    domains(&mut t, 3);
    t.login_admin();
    for screen in [
        "domains",
        "mailboxes",
        "aliases",
        "mail-servers",
        "ldap",
        "users",
    ] {
        t.command(screen);
        t.char('?');
        let help = t.screen();
        let Some(Screen::Table(table)) = t.app.stack.last() else {
            panic!("no table for {screen}");
        };
        let mut listed = 0;
        for x in BINDINGS {
            if !table.available(x.cmd) {
                continue;
            }
            listed += 1;
            let label = t.app.keymap.label(x.label);
            assert!(
                help.contains(&format!("{label}  ")),
                "{screen}: {label} ({:?}) not in ?:\n{help}",
                x.cmd
            );
            // The key in the table reaches the command on this screen.
            for k in x.keys {
                let ev = match *k {
                    Key::Char(c) => crossterm::event::KeyEvent::new(
                        KeyCode::Char(c),
                        crossterm::event::KeyModifiers::NONE,
                    ),
                    Key::Ctrl(c) => crossterm::event::KeyEvent::new(
                        KeyCode::Char(c),
                        crossterm::event::KeyModifiers::CONTROL,
                    ),
                    Key::Code(c) => {
                        crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE)
                    }
                };
                assert_eq!(
                    postfix_manager::tui::keys::lookup(&ev, |c| table.available(c)),
                    Some(x.cmd),
                    "{screen}: {k:?}"
                );
            }
        }
        assert!(listed > 8, "{screen}: only {listed} keys");
        if matches!(screen, "domains" | "mailboxes") {
            for k in [
                "Space", "v", "*", "u", "S", "A", "E", "?", "Esc", "Ctrl-C", ":", "t",
            ] {
                assert!(help.contains(&format!("{k}  ")), "{screen}: {k}:\n{help}");
            }
        }
        t.esc();
    }
}

#[test]
fn the_footer_keeps_the_main_keys_and_ends_with_more() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 3);
    t.login_admin();
    t.command("domains");
    let s = t.screen();
    let footer = s.lines().last().expect("footer");
    assert!(footer.ends_with("? more"), "{footer}");
    assert!(footer.starts_with("Enter edit · n new"), "{footer}");
    t.resize(200, 50);
    let s = t.screen();
    let wide = s.lines().last().expect("footer");
    assert!(wide.ends_with("? more"), "{wide}");
    assert!(wide.len() > footer.len() + 40, "{wide}");
    // Once rows are marked, the bulk keys come first.
    t.char(' ');
    let s = t.screen();
    let marked = s.lines().last().expect("footer");
    assert!(marked.contains("S suspend marked"), "{marked}");
}

#[test]
fn escape_clears_an_applied_filter_before_leaving_the_screen() {
    let mut t = Tui::new(80, 24);
    domains(&mut t, 3);
    t.login_admin();
    t.command("domains");
    t.char('/');
    t.text("d01");
    t.enter();
    assert_eq!(t.rows(), vec![name(1)]);
    t.esc();
    assert_eq!(t.rows(), names(0..3), "the first Esc clears the filter");
    assert!(t.screen().contains(" Domains "), "still on Domains");
    t.esc();
    assert!(
        matches!(
            t.app.stack.last(),
            Some(postfix_manager::tui::app::Screen::Dashboard(_))
        ),
        "the second Esc leaves"
    );
}

#[test]
fn an_ambiguous_screen_name_says_which_screens_match() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.command("mail");
    let msg = t.app.status.clone().expect("status").0;
    assert!(
        msg.contains("mailboxes") && msg.contains("mail-servers"),
        "{msg}"
    );
}

#[test]
fn tab_completes_screen_names_on_the_command_line() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.char(':');
    t.text("alias-");
    t.tab();
    assert!(t.screen().contains(":alias-domains"), "{}", t.screen());
    t.enter();
    assert!(t.screen().contains("Alias domains"));
    // Several candidates: each Tab shows the next.
    t.char(':');
    t.text("mail");
    t.tab();
    assert!(t.screen().contains(":mailboxes"));
    t.tab();
    assert!(t.screen().contains(":mail-servers"));
    t.enter();
    assert!(t.screen().contains("Mail server configs"));
}

#[test]
fn a_message_too_long_for_the_status_line_opens_whole() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.command("nonsense");
    let msg = t.app.status.clone().expect("status").0;
    assert!(msg.chars().count() > 80, "{msg}");
    let s = t.screen();
    let status = s.lines().nth(22).expect("status line");
    assert!(status.ends_with("… M more"), "{status}");
    t.char('M');
    let s = t.screen();
    // Every word of the message is on screen, wrapped, not cut.
    for w in ["mail-servers", "ldap", "preferences", "quit"] {
        assert!(s.contains(w), "{w}:\n{s}");
    }
    t.esc();
    assert!(t.app.modal.is_none());
}

/// Issue 15 item 6: a bracketed paste goes into whatever line is being
/// typed (the filter, the `:` line) and never acts as keys elsewhere; a
/// line break in it is refused with a message naming the line.
#[test]
fn a_paste_goes_to_the_filter_or_command_line_and_is_never_keys() {
    use crossterm::event::Event;
    let mut t = Tui::new(80, 24);
    for d in ["paste-one.example", "other.example"] {
        ops::domains::create(&mut t.conn, &t.admin, d, &DomainInput::default()).expect("domain");
    }
    t.login_admin();
    t.command("domains");
    // On the table itself a paste of "dq" neither deletes nor quits.
    t.app.on_event(Event::Paste("dq".into()));
    t.settle();
    assert!(!t.app.quit && t.app.modal.is_none(), "{}", t.screen());
    // Into the open filter: the rows follow it.
    t.char('/');
    t.app.on_event(Event::Paste("paste-one".into()));
    t.settle();
    let rows = t.rows();
    assert!(
        rows.iter().any(|r| r.contains("paste-one.example")),
        "{rows:?}"
    );
    assert!(
        !rows.iter().any(|r| r.contains("other.example")),
        "{rows:?}"
    );
    // A line break is refused: the filter keeps what it had.
    t.app.on_event(Event::Paste("x\ny".into()));
    t.settle();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(failed && msg.contains("the filter takes one line"), "{msg}");
    assert!(t.screen().contains("/paste-one█"), "{}", t.screen());
    t.enter();
    // Into the `:` line, then Enter runs it.
    t.char(':');
    t.app.on_event(Event::Paste("mailboxes".into()));
    t.enter();
    t.settle();
    assert!(t.screen().contains(" Mailboxes "), "{}", t.screen());
}

/// A pasted bidi override (U+202E reverses what follows on screen) is
/// dropped like any other unsafe character: it reaches neither the login
/// name nor the filter line the table shows.
#[test]
fn a_pasted_bidi_control_reaches_neither_the_login_name_nor_the_filter() {
    use crossterm::event::Event;
    let mut t = Tui::new(80, 24);
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        "nimda.example",
        &DomainInput::default(),
    )
    .expect("domain");
    t.app.on_event(Event::Paste("ad\u{202E}m\u{2066}in".into()));
    assert_eq!(t.app.login.username.value(), "admin");
    assert!(!t.screen().contains('\u{202E}'));
    t.enter();
    t.text(common::ADMIN_PW);
    t.enter();
    t.settle();
    assert!(t.app.session.is_some(), "{}", t.screen());
    t.command("domains");
    t.char('/');
    t.app.on_event(Event::Paste("\u{202E}nimda".into()));
    t.settle();
    let screen = t.screen();
    assert!(!screen.contains(['\u{202E}', '\u{2066}']), "{screen}");
    assert!(screen.contains("/nimda█"), "{screen}");
    assert!(t.rows().iter().any(|r| r.contains("nimda.example")));
}
