//! The mail server configs screen: import, view, diff against disk and the
//! previous version, edit (the $EDITOR hand-off), apply with a staged check,
//! and roll back with one key. Real files, real postconf.

mod common;
mod mail_harness;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::ops;
use tui_common::Tui;

const GOOD: &str = "compatibility_level = 3.6\nmyhostname = mail.example.com\n";

#[test]
fn import_view_diff_edit_apply_and_roll_back() {
    if !mail_harness::have(&["postconf"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.cf");
    std::fs::write(&main, GOOD).unwrap();
    // postconf warns without a master.cf, and a warning fails the check.
    std::fs::write(dir.path().join("master.cf"), "").unwrap();

    let mut t = Tui::new(100, 30);
    t.login_admin();
    t.command("mail-servers");
    t.char('n');
    assert!(
        t.screen().contains("New mail server config"),
        "{}",
        t.screen()
    );
    t.clear_field();
    t.text(main.to_str().unwrap());
    t.enter();
    assert!(
        t.screen().contains("imported 1 file from"),
        "{}",
        t.screen()
    );
    assert_eq!(t.rows().len(), 1);

    // view
    t.char('v');
    assert!(
        t.screen().contains("myhostname = mail.example.com"),
        "{}",
        t.screen()
    );
    t.esc();

    // edit: the app hands the text to the event loop's editor, gets it back
    t.char('e');
    let Some(postfix_manager::tui::app::EditorJob::Config(id, _, text)) = t.app.take_editor()
    else {
        panic!("a config editor job")
    };
    let edited = format!("{text}smtpd_banner = $myhostname ESMTP\n");
    t.app.edited(id, &text, Ok(edited.clone()));
    t.settle();
    assert!(t.screen().contains("version 2"), "{}", t.screen());
    t.press(KeyCode::Char('r'));
    t.settle();
    t.press(KeyCode::Down);

    // diffs: against the previous version and against the disk
    t.char('P');
    assert!(
        t.screen().contains("+smtpd_banner = $myhostname ESMTP"),
        "{}",
        t.screen()
    );
    t.esc();
    t.char('D');
    assert!(
        t.screen().contains("against the file on disk"),
        "{}",
        t.screen()
    );
    assert!(t.screen().contains("+smtpd_banner"), "{}", t.screen());
    t.esc();

    // apply (the dialog starts on No), through the staged postconf check
    t.char('A');
    t.enter();
    assert_eq!(
        std::fs::read_to_string(&main).unwrap(),
        GOOD,
        "No is the default"
    );
    t.char('A');
    t.press(KeyCode::Right);
    t.enter();
    assert!(t.screen().contains("staged copy passed"), "{}", t.screen());
    assert_eq!(std::fs::read_to_string(&main).unwrap(), edited);

    // one key rolls back to the backup taken by that apply
    t.press(KeyCode::Char('r'));
    t.settle();
    t.press(KeyCode::Down);
    t.char('R');
    t.press(KeyCode::Right);
    t.enter();
    assert!(t.screen().contains("rolled back"), "{}", t.screen());
    assert_eq!(std::fs::read_to_string(&main).unwrap(), GOOD);
    let versions = ops::mail_configs::list(&mut t.conn, &t.admin.clone(), None, None, 10).unwrap();
    assert_eq!(versions.len(), 3, "the rollback is a version of its own");
}

#[test]
fn a_config_the_staged_check_rejects_is_never_applied_from_the_screen() {
    if !mail_harness::have(&["postconf"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.cf");
    std::fs::write(&main, GOOD).unwrap();
    std::fs::write(dir.path().join("master.cf"), "").unwrap();
    let mut t = Tui::new(100, 30);
    t.login_admin();
    let files = postfix_manager::mail::configs::read_with_includes("postfix", &main).unwrap();
    let v1 = ops::mail_configs::import(&mut t.conn, &t.admin.clone(), "postfix", &files).unwrap();
    ops::mail_configs::edit(
        &mut t.conn,
        &t.admin.clone(),
        v1[0].id,
        &format!("{GOOD}this is garbage\n"),
    )
    .unwrap();
    t.command("mail-servers");
    t.press(KeyCode::Down);
    t.char('A');
    t.press(KeyCode::Right);
    t.enter();
    assert!(t.screen().contains("staged copy"), "{}", t.screen());
    assert_eq!(std::fs::read_to_string(&main).unwrap(), GOOD);
}

#[test]
fn a_file_on_disk_that_cannot_be_read_is_an_error_not_an_empty_diff() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("main.cf");
    std::fs::write(&main, GOOD).unwrap();
    let mut t = Tui::new(100, 30);
    t.login_admin();
    let files = postfix_manager::mail::configs::read_with_includes("postfix", &main).unwrap();
    ops::mail_configs::import(&mut t.conn, &t.admin.clone(), "postfix", &files).unwrap();
    // No longer text: reading it fails, which must not read as "empty".
    std::fs::write(&main, b"\xff\xfe\xfd not text\n").unwrap();
    t.command("mail-servers");
    t.char('D');
    let s = t.screen();
    assert!(t.app.modal.is_none(), "no diff opens: {s}");
    let (line, failed) = t.app.status.clone().expect("a status line");
    assert!(failed, "{line}");
    assert!(
        line.starts_with("cannot diff against the file on disk: cannot read "),
        "{line}"
    );
}
