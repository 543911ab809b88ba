//! Session rules in the terminal UI: the idle lock (form text survives it),
//! a required password change, and preferences that take effect at once.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::ops;
use tui_common::Tui;

#[test]
fn idle_lock_hides_the_screen_and_keeps_the_form() {
    let mut t = Tui::new(80, 24);
    t.app.lock_after = 3;
    t.login_admin();
    t.command("domains");
    t.press(KeyCode::Char('n'));
    t.text("half-typed.example");
    for _ in 0..3 {
        t.app.on_tick();
    }
    t.settle();
    assert!(t.app.lock.is_some(), "locked after 3 idle seconds");
    let screen = t.screen();
    assert!(screen.contains("Locked after"), "{screen}");
    assert!(
        !screen.contains("half-typed.example"),
        "a locked screen shows no data:\n{screen}"
    );
    // a wrong password is refused (and audited as a failed login)
    t.text("not-the-password");
    t.enter();
    assert!(t.app.lock.is_some());
    assert!(t.screen().contains("login failed"), "{}", t.screen());
    // the right one unlocks; the form is still there with its text
    t.text(common::ADMIN_PW);
    t.enter();
    assert!(t.app.lock.is_none());
    let screen = t.screen();
    assert!(screen.contains("half-typed.example"), "{screen}");
    let u = postfix_manager::store::users::by_name(&mut t.conn, "admin")
        .unwrap()
        .unwrap();
    assert_eq!(u.failed_logins, 0, "a good unlock resets the failure count");
}

#[test]
fn a_required_password_change_comes_first() {
    let mut t = Tui::new(80, 24);
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "bob", "readonly");
    let require = ops::users::UserEdit {
        must_change_password: Some(true),
        ..Default::default()
    };
    ops::users::edit(&mut t.conn, &admin, "bob", None, &require).unwrap();
    t.login("bob", "bob-password-1");
    assert!(t.app.session.is_some());
    assert!(
        t.screen().contains("A new password is required"),
        "{}",
        t.screen()
    );
    // Esc does not dismiss it
    t.esc();
    assert!(t.screen().contains("A new password is required"));
    // two different entries are caught before any round trip
    t.text("a-fresh-password-42");
    t.tab();
    t.text("a-fresh-password-43");
    t.enter();
    assert!(
        t.screen().contains("the two passwords differ"),
        "{}",
        t.screen()
    );
    t.clear_field();
    t.text("a-fresh-password-42");
    t.enter();
    assert!(t.app.modal.is_none(), "{}", t.screen());
    let u = postfix_manager::store::users::by_name(&mut t.conn, "bob")
        .unwrap()
        .unwrap();
    assert!(!u.must_change_password);
    assert!(postfix_manager::password::verify(
        "a-fresh-password-42",
        &u.password_hash
    ));
}

#[test]
fn preferences_change_the_time_zone_of_every_timestamp() {
    let mut t = Tui::new(100, 30);
    t.login_admin();
    t.command("preferences");
    assert!(t.screen().contains("Your preferences"), "{}", t.screen());
    t.tab();
    t.clear_field();
    t.text("Mars/Base");
    t.enter();
    assert!(
        t.screen().contains("IANA"),
        "bad zone refused beside the field:\n{}",
        t.screen()
    );
    t.clear_field();
    t.text("Asia/Tokyo");
    t.enter();
    assert!(t.app.modal.is_none(), "{}", t.screen());
    assert_eq!(postfix_manager::timefmt::zone(), chrono_tz::Asia::Tokyo);
    let p = ops::preferences::get(&mut t.conn, &t.admin.clone()).unwrap();
    assert_eq!(p.timezone, "Asia/Tokyo");
    postfix_manager::timefmt::set_zone(chrono_tz::UTC);
}

#[test]
fn backup_and_maintenance_from_the_terminal_ui() {
    let mut t = Tui::new(100, 30);
    t.login_admin();
    t.command("backup");
    assert!(
        t.screen().contains("Back up the database"),
        "{}",
        t.screen()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("from-tui.db");
    t.clear_field();
    t.text(file.to_str().unwrap());
    t.enter();
    assert!(t.app.modal.is_none(), "{}", t.screen());
    assert!(t.screen().contains("backup written to"), "{}", t.screen());
    let mut b = postfix_manager::db::open_sqlite_file(&file).unwrap();
    assert_eq!(
        postfix_manager::db::backup::sqlite_integrity(&mut b).unwrap(),
        "ok"
    );
    // the same file again: refused beside the field, nothing overwritten
    t.command("backup");
    t.clear_field();
    t.text(file.to_str().unwrap());
    t.enter();
    assert!(t.screen().contains("already exists"), "{}", t.screen());
    t.esc();
    t.command("vacuum");
    t.settle();
    let s = t.screen();
    assert!(s.contains("maintenance done"), "{s}");
    assert!(s.contains(" steps") && !s.contains("(s)"), "{s}");
}

#[test]
fn keys_and_colors_come_from_the_config() {
    use postfix_manager::tui::{keymap::KeyMap, theme};
    let table = |pairs: &[(&str, &str)]| -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let mut t = Tui::new(100, 30);
    t.app.keymap = KeyMap::parse(&table(&[("new", "N"), ("filter", "f")])).unwrap();
    t.login_admin();
    t.command("domains");
    assert!(
        t.screen().contains("N new"),
        "the footer shows the moved key:\n{}",
        t.screen()
    );
    t.char('n');
    assert!(t.app.modal.is_none(), "the default key no longer fires");
    t.char('N');
    assert!(t.screen().contains("New domain"), "{}", t.screen());
    // typing into the form is not translated
    t.text("fun.example");
    assert!(t.screen().contains("fun.example"), "{}", t.screen());
    t.esc();

    let colors =
        theme::parse_colors(&table(&[("title", "lightblue"), ("error", "#ff8800")])).unwrap();
    let th = postfix_manager::tui::theme::Theme::from_env().with_colors(colors);
    if th.color {
        assert_eq!(th.title().fg, Some(ratatui::style::Color::LightBlue));
    }
    let err = theme::parse_colors(&table(&[("titel", "red")])).unwrap_err();
    assert!(err.starts_with("colors.titel"), "{err}");
    let err = theme::parse_colors(&table(&[("title", "ultraviolet")])).unwrap_err();
    assert!(err.contains("not a color"), "{err}");
}

#[test]
fn a_bad_keys_table_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[database]\nurl = \"sqlite:///nonexistent/x.db\"\n[keys]\nnew = \"nn\"\n",
    )
    .unwrap();
    // The TUI runs this check at start and stops with the message.
    let parsed: postfix_manager::config::Config =
        toml::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    let err = postfix_manager::tui::keymap::KeyMap::parse(&parsed.keys).unwrap_err();
    assert!(err.starts_with("keys.new"), "{err}");
}
