//! Forms (issue 15 items 8, 9, 11): every field checked at once with ops'
//! own rules and marked beside it; placeholders that are only hints and
//! pickers for fixed sets of values; a conflicting edit that keeps what was
//! typed and shows the other writer's values. Real worker, real databases.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::model::Perm;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use tui_common::Tui;

fn domain(t: &mut Tui, name: &str, quota: i64) {
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        name,
        &DomainInput {
            description: Some("production".into()),
            quota_limit: Some(quota),
            ..Default::default()
        },
    )
    .expect("domain");
}

/// A host with sizes from bytes to terabytes.
fn seeded(db: common::TestDb, w: u16, h: u16) -> Tui {
    let mut t = Tui::on(db, w, h);
    domain(&mut t, "alpha.example", 4 << 40);
    domain(&mut t, "beta.example", 750 << 30);
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: "ann@alpha.example".into(),
            password: "mailbox-password-1".into(),
            quota: Some(50 << 30),
            name: Some("Ann Archer".into()),
        },
    )
    .expect("mailbox");
    t
}

/// The new-domain form with three bad fields: a name with a space, a
/// size that is not one, a negative count.
fn three_bad_fields(t: &mut Tui) {
    t.command("domains");
    t.char('n');
    t.text("not a domain");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("lots");
    t.tab();
    t.clear_field();
    t.text("-5");
}

fn one_enter_marks_every_bad_field_and_saves_nothing(db: common::TestDb) {
    let mut t = seeded(db, 80, 24);
    t.login_admin();
    let before = common::snapshot(&mut t.conn);
    let audit = common::count(&mut t.conn, "audit_logs");
    three_bad_fields(&mut t);
    t.enter();
    let s = t.screen();
    assert!(s.contains("must not contain spaces"), "{s}");
    assert!(s.contains("is not a size"), "{s}");
    assert!(s.contains("must not be negative"), "{s}");
    assert_eq!(common::snapshot(&mut t.conn), before, "nothing saved");
    // Checked locally: no refused write reached ops (it would be audited).
    assert_eq!(common::count(&mut t.conn, "audit_logs"), audit);
}

#[test]
fn one_enter_marks_every_bad_field_and_saves_nothing_sqlite() {
    one_enter_marks_every_bad_field_and_saves_nothing(common::TestDb::sqlite());
}

#[test]
fn one_enter_marks_every_bad_field_and_saves_nothing_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        one_enter_marks_every_bad_field_and_saves_nothing(db);
    }
}

#[test]
fn three_field_errors_at_80x24_and_200x50() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = seeded(common::TestDb::sqlite(), w, h);
        t.login_admin();
        three_bad_fields(&mut t);
        t.enter();
        snap!(format!("form_three_errors_{w}x{h}"), t.screen());
    }
}

fn alias_domain_target_not_found_is_beside_target(db: common::TestDb) {
    let mut t = seeded(db, 80, 24);
    t.login_admin();
    t.command("alias-domains");
    t.char('n');
    t.text("alpha.org");
    t.tab();
    t.text("nowhere.example");
    t.enter();
    let s = t.screen();
    let target = s
        .lines()
        .position(|l| l.contains("Target domain:"))
        .expect("target field");
    let below: Vec<&str> = s.lines().skip(target + 1).take(1).collect();
    assert!(
        below.iter().any(|l| l.contains("not found")),
        "the refusal sits under Target:\n{s}"
    );
    assert_eq!(common::count(&mut t.conn, "alias_domains"), 0);
    if t.db.name == "sqlite" {
        snap!("alias_domain_target_not_found", s);
    }
}

#[test]
fn alias_domain_target_not_found_is_beside_target_sqlite() {
    alias_domain_target_not_found_is_beside_target(common::TestDb::sqlite());
}

#[test]
fn alias_domain_target_not_found_is_beside_target_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        alias_domain_target_not_found_is_beside_target(db);
    }
}

#[test]
fn fixing_the_fields_then_saves() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    three_bad_fields(&mut t);
    t.enter();
    // Focus went to the first bad field: the name.
    t.clear_field();
    t.text("delta.example");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("2T");
    t.tab();
    t.clear_field();
    t.text("500");
    t.enter();
    let d = ops::domains::get(&mut t.conn, &t.admin, "delta.example").expect("created");
    assert_eq!(d.quota_limit, 2 << 40);
    assert_eq!(d.max_mailboxes, 500);
}

// ---- item 9: placeholders are hints, fixed sets are pickers ----

/// The buffer cells of the first screen line containing `text`, from where
/// it starts.
fn cells_of(t: &mut Tui, text: &str) -> Vec<ratatui::buffer::Cell> {
    let s = t.screen();
    let (y, line) = s
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(text))
        .unwrap_or_else(|| panic!("{text:?} not on screen:\n{s}"));
    let x = line[..line.find(text).unwrap_or(0)].chars().count();
    let buf = t.term.backend().buffer();
    (0..text.chars().count())
        .map(|i| buf[((x + i) as u16, y as u16)].clone())
        .collect()
}

fn italic(cells: &[ratatui::buffer::Cell]) -> bool {
    cells
        .iter()
        .all(|c| c.modifier.contains(ratatui::style::Modifier::ITALIC))
}

#[test]
fn the_mail_config_path_is_exactly_what_was_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let main = dir.path().join("main.cf");
    std::fs::write(&main, "myhostname = mail.example.com\n").expect("write");
    let path = main.to_str().expect("utf-8 path").to_string();
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("mail-servers");
    t.char('n');
    // The default path is a placeholder, not a value to type after.
    assert!(italic(&cells_of(&mut t, "/etc/postfix/main.cf (default)")));
    t.text(&path);
    let s = t.screen();
    assert!(s.contains(&path) && !s.contains("(default)"), "{s}");
    t.enter();
    assert!(t.app.modal.is_none(), "{}", t.screen());
    let listed = ops::mail_configs::list(&mut t.conn, &t.admin, None, None, 100).expect("list");
    let files: Vec<&str> = listed.iter().map(|c| c.config_file.as_str()).collect();
    assert_eq!(files, [path.as_str()]);
}

#[test]
fn the_mail_config_default_follows_the_service_picker() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("mail-servers");
    t.char('n');
    t.tab();
    t.char('d');
    let s = t.screen();
    assert!(s.contains("‹ dovecot ›"), "{s}");
    assert!(s.contains("/etc/dovecot/dovecot.conf (default)"), "{s}");
    t.press(KeyCode::Left);
    assert!(t.screen().contains("‹ postfix ›"));
    assert!(t.screen().contains("/etc/postfix/main.cf (default)"));
}

#[test]
fn placeholders_are_dim_italic_and_values_are_not() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("domains");
    t.char('n');
    let hint = cells_of(&mut t, "unlimited (default); e.g. 500M");
    assert!(italic(&hint), "a placeholder is italic");
    assert!(hint
        .iter()
        .all(|c| c.modifier.contains(ratatui::style::Modifier::DIM)));
    t.text("delta.example");
    assert!(
        !italic(&cells_of(&mut t, "delta.example")),
        "a value is not"
    );
    // Typing replaces the placeholder; the default is what an empty
    // field saves.
    t.tab();
    t.tab();
    t.text("3T");
    assert!(!t.screen().contains("unlimited (default); e.g. 500M"));
    t.enter();
    let d = ops::domains::get(&mut t.conn, &t.admin, "delta.example").expect("created");
    assert_eq!(d.quota_limit, 3 << 40);
    assert_eq!(
        (d.max_mailboxes, d.max_aliases, d.max_mailbox_quota),
        (0, 0, 0)
    );
}

#[test]
fn a_picker_cycles_and_jumps_and_never_takes_free_text() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("users");
    t.char('n');
    t.text("dora");
    t.tab();
    t.text("dora@alpha.example");
    t.tab();
    assert!(t.screen().contains("‹ user ›"), "{}", t.screen());
    t.press(KeyCode::Right);
    assert!(t.screen().contains("‹ readonly ›"));
    t.char(' ');
    assert!(t.screen().contains("‹ admin ›"), "Space wraps around");
    t.press(KeyCode::Backspace);
    t.text("xyz");
    assert!(
        t.screen().contains("‹ admin ›"),
        "letters that spell nothing"
    );
    t.text("read");
    assert!(t.screen().contains("‹ readonly ›"), "{}", t.screen());
    t.tab();
    t.text("a-long-password-9");
    t.enter();
    let u = ops::users::get(&mut t.conn, &t.admin, "dora").expect("created");
    assert_eq!(u.role, "readonly");
}

#[test]
fn typing_an_option_picks_it_exactly() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    common::user_with_role(&mut t.conn, &t.admin, "carol", "user");
    t.login_admin();
    t.command("permissions");
    t.char('n');
    t.text("carol");
    t.tab();
    t.text("alpha.example");
    t.tab();
    t.text("mailboxes");
    t.enter();
    let g = ops::permissions::list(&mut t.conn, &t.admin, None, None, &Default::default())
        .expect("grants");
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].permissions, vec![Perm::Mailboxes]);
}

#[test]
fn forms_with_pickers_at_80x24_and_200x50() {
    for (w, h) in [(80, 24), (200, 50)] {
        let mut t = seeded(common::TestDb::sqlite(), w, h);
        t.login_admin();
        for (screen, name) in [
            ("mail-servers", "mail_config"),
            ("permissions", "permission"),
            ("ldap", "ldap"),
            ("users", "user"),
        ] {
            t.command(screen);
            t.char('n');
            snap!(format!("{name}_form_new_{w}x{h}"), t.screen());
            t.esc();
        }
    }
}

// ---- item 11: a conflict keeps what was typed and shows theirs ----

fn conflict_keeps_typed_text_and_a_second_save_wins(db: common::TestDb, w: u16, h: u16) {
    let mut t = seeded(db, w, h);
    t.login_admin();
    t.command("domains");
    t.enter(); // edit alpha.example
               // Description: mine; Total quota: 5T.
    t.clear_field();
    t.text("mine");
    t.tab();
    t.clear_field();
    t.text("5T");
    // Another writer (another connection, as the CLI would) saves first:
    // the description, and a limit nobody typed into here.
    ops::domains::edit(
        &mut t.conn,
        &t.admin,
        "alpha.example",
        None,
        &DomainInput {
            description: Some("theirs".into()),
            max_mailboxes: Some(77),
            ..Default::default()
        },
    )
    .expect("the other writer");
    t.enter();
    let s = t.screen();
    assert!(t.app.modal.is_some(), "the form stays open:\n{s}");
    assert!(s.contains("Someone else saved this row"), "{s}");
    let line = |s: &str, label: &str| -> String {
        s.lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{label} missing:\n{s}"))
            .to_string()
    };
    assert!(
        line(&s, "Description:").contains("mine"),
        "typed text kept:\n{s}"
    );
    assert!(line(&s, "Total quota:").contains("5T"), "{s}");
    assert!(
        s.contains("now: theirs"),
        "their value beside the field:\n{s}"
    );
    assert!(
        line(&s, "Max mailboxes:").contains("77"),
        "their other change filled in:\n{s}"
    );
    let d = ops::domains::get(&mut t.conn, &t.admin, "alpha.example").expect("domain");
    assert_eq!(
        d.description.as_deref(),
        Some("theirs"),
        "nothing overwritten yet"
    );
    if t.db.name == "sqlite" {
        snap!(format!("domain_form_conflict_theirs_{w}x{h}"), s);
    }
    // Saving again, deliberately, against their version.
    t.enter();
    assert!(t.app.modal.is_none(), "saved:\n{}", t.screen());
    let d = ops::domains::get(&mut t.conn, &t.admin, "alpha.example").expect("domain");
    assert_eq!(d.description.as_deref(), Some("mine"));
    assert_eq!(d.quota_limit, 5 << 40);
    assert_eq!(
        d.max_mailboxes, 77,
        "their change to a field not typed into stays"
    );
}

#[test]
fn conflict_keeps_typed_text_and_a_second_save_wins_sqlite() {
    conflict_keeps_typed_text_and_a_second_save_wins(common::TestDb::sqlite(), 80, 24);
    conflict_keeps_typed_text_and_a_second_save_wins(common::TestDb::sqlite(), 200, 50);
}

#[test]
fn conflict_keeps_typed_text_and_a_second_save_wins_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        conflict_keeps_typed_text_and_a_second_save_wins(db, 80, 24);
    }
}

#[test]
fn a_conflicting_mailbox_edit_keeps_the_typed_name() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("mailboxes");
    t.enter(); // edit ann@alpha.example
    t.clear_field();
    t.text("Ann Mine");
    ops::mailboxes::edit(
        &mut t.conn,
        &t.admin,
        "ann@alpha.example",
        None,
        &ops::mailboxes::MailboxEdit {
            name: Some("Ann Theirs".into()),
            quota: Some(60 << 30),
        },
    )
    .expect("the other writer");
    t.enter();
    let s = t.screen();
    assert!(
        s.contains("Ann Mine") && s.contains("now: Ann Theirs"),
        "{s}"
    );
    assert!(s.contains("60G"), "their quota filled in:\n{s}");
    t.enter();
    let m = ops::mailboxes::get(&mut t.conn, &t.admin, "ann@alpha.example").expect("mailbox");
    assert_eq!(m.name.as_deref(), Some("Ann Mine"));
    assert_eq!(m.quota_limit, 60 << 30);
}

#[test]
fn the_export_file_is_a_default_placeholder_and_typing_gives_the_typed_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("mine.csv");
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("mailboxes");
    t.command("export");
    let s = t.screen();
    let line = s
        .lines()
        .find(|l| l.contains("CSV file:"))
        .expect("file field")
        .to_string();
    // A long default keeps its file name end and says it is the default.
    assert!(line.contains(".csv (default)"), "{s}");
    assert!(italic(&cells_of(&mut t, ".csv (default)")));
    t.text(out.to_str().expect("utf-8"));
    t.enter();
    t.settle();
    let csv = std::fs::read_to_string(&out).expect("written where typed");
    assert!(csv.contains("ann@alpha.example"), "{csv}");
}

/// The cell under the terminal cursor and the one two columns left of it.
fn cursor_cells(t: &mut Tui) -> (String, String) {
    use ratatui::backend::Backend;
    t.screen();
    let pos = t.term.backend_mut().get_cursor_position().expect("cursor");
    let buf = t.term.backend().buffer();
    (
        buf[(pos.x, pos.y)].symbol().to_string(),
        buf[(pos.x.saturating_sub(2), pos.y)].symbol().to_string(),
    )
}

/// A form field scrolls in display columns: with a name of 40 wide (CJK)
/// characters, twice as many columns as characters, the cursor at the end
/// is just after the last one and, moved left, on the character it is
/// before (it used to land 20 columns past the text that was shown).
#[test]
fn a_form_field_of_wide_characters_keeps_the_cursor_on_its_character() {
    let mut t = seeded(common::TestDb::sqlite(), 80, 24);
    t.login_admin();
    t.command("mailboxes");
    t.enter(); // edit ann@alpha.example; the name is focused
    t.clear_field();
    let name: Vec<char> = (0..40u32)
        .map(|i| char::from_u32(0x4E00 + i).expect("CJK"))
        .collect();
    t.text(&name.iter().collect::<String>());
    let (at, left) = cursor_cells(&mut t);
    assert_eq!(
        (at.as_str(), left),
        (" ", name[39].to_string()),
        "{}",
        t.screen()
    );
    for _ in 0..3 {
        t.press(KeyCode::Left);
    }
    let (at, left) = cursor_cells(&mut t);
    assert_eq!(
        (at, left),
        (name[37].to_string(), name[36].to_string()),
        "{}",
        t.screen()
    );
}

/// Issue 19: the mailbox form switches protocols (imap, pop3, smtp,
/// sieve) like `mailbox access`; a bad list is marked beside the field and
/// changes nothing.
fn protocols_switch_from_the_mailbox_form(db: common::TestDb) {
    let mut t = seeded(db, 80, 24);
    t.login_admin();
    t.command("mailboxes");
    t.enter(); // edit ann@alpha.example
    t.tab();
    t.tab();
    t.tab(); // Protocols
    let s = t.screen();
    assert!(s.contains("imap,pop3,smtp,sieve"), "all on at first:\n{s}");
    t.clear_field();
    t.text("imap,ftp");
    t.enter();
    let s = t.screen();
    assert!(s.contains("must list imap, pop3, smtp, sieve"), "{s}");
    let m = ops::mailboxes::get(&mut t.conn, &t.admin, "ann@alpha.example").expect("mailbox");
    assert!(m.pop3_enabled && m.smtp_enabled, "nothing changed yet");
    t.clear_field();
    t.text("imap,sieve");
    t.enter();
    let m = ops::mailboxes::get(&mut t.conn, &t.admin, "ann@alpha.example").expect("mailbox");
    assert_eq!(
        (
            m.imap_enabled,
            m.pop3_enabled,
            m.smtp_enabled,
            m.sieve_enabled
        ),
        (true, false, false, true),
        "{}",
        t.screen()
    );
    // "none" switches every protocol off; the form shows it back.
    t.enter();
    t.tab();
    t.tab();
    t.tab();
    t.clear_field();
    t.text("none");
    t.enter();
    let m = ops::mailboxes::get(&mut t.conn, &t.admin, "ann@alpha.example").expect("mailbox");
    assert!(!(m.imap_enabled || m.pop3_enabled || m.smtp_enabled || m.sieve_enabled));
    t.enter();
    assert!(t.screen().contains("none"), "{}", t.screen());
}

#[test]
fn protocols_switch_from_the_mailbox_form_sqlite() {
    protocols_switch_from_the_mailbox_form(common::TestDb::sqlite());
}

#[test]
fn protocols_switch_from_the_mailbox_form_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        protocols_switch_from_the_mailbox_form(db);
    }
}
