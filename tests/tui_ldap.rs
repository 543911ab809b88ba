//! The LDAP servers screen: add, edit, test (the worker waits on the
//! network, the screen does not), deactivate and delete, through ops.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::ops;
use tui_common::Tui;

#[test]
fn ldap_servers_are_managed_and_tested_from_the_screen() {
    let mut t = Tui::new(100, 30);
    t.login_admin();
    t.command("ldap");
    t.char('n');
    assert!(t.screen().contains("New LDAP server"), "{}", t.screen());
    // A port nothing listens on: the test must fail fast and say why.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    t.text("dc1");
    t.tab();
    t.text("127.0.0.1");
    t.tab();
    t.clear_field();
    t.text(&port.to_string());
    t.tab();
    t.clear_field();
    t.text("none");
    for _ in 0..4 {
        t.tab();
    }
    t.text("dc=example,dc=com");
    t.enter();
    assert!(t.app.modal.is_none(), "{}", t.screen());
    assert!(
        t.screen().contains("added LDAP server dc1"),
        "{}",
        t.screen()
    );
    assert_eq!(t.rows(), vec!["dc1"]);

    t.char('T');
    let s = t.screen();
    assert!(
        s.contains("LDAP dc1 failed at connect") && s.contains("refused"),
        "{s}"
    );

    // edit: the port
    t.enter();
    assert!(t.screen().contains("Edit"), "{}", t.screen());
    t.tab();
    t.clear_field();
    t.text("10389");
    t.enter();
    assert!(
        t.screen().contains("updated LDAP server dc1"),
        "{}",
        t.screen()
    );
    let v = ops::ldap::get(&mut t.conn, &t.admin.clone(), "dc1").unwrap();
    assert_eq!(v.port, 10389);

    // deactivate, then delete (the dialog starts on No)
    t.char('s');
    assert!(t.screen().contains("now inactive"), "{}", t.screen());
    assert!(
        !ops::ldap::get(&mut t.conn, &t.admin.clone(), "dc1")
            .unwrap()
            .is_active
    );
    t.char('d');
    t.enter();
    assert!(
        ops::ldap::get(&mut t.conn, &t.admin.clone(), "dc1").is_ok(),
        "No is the default"
    );
    t.char('d');
    t.press(KeyCode::Right);
    t.enter();
    assert!(ops::ldap::get(&mut t.conn, &t.admin.clone(), "dc1").is_err());
}

#[test]
fn readonly_users_see_ldap_servers_without_write_keys() {
    let mut t = Tui::new(100, 30);
    common::user_with_role(&mut t.conn, &t.admin.clone(), "rita", "readonly");
    t.login("rita", "rita-password-1");
    t.command("ldap");
    let s = t.screen();
    assert!(!s.contains("n new") && !s.contains("T test"), "{s}");
    t.char('n');
    t.char('T');
    assert!(t.app.modal.is_none());
}

/// A worker started without a secrets key file (as here) refuses to store
/// a bind password and says why; it used to make up a key file path
/// (`/nonexistent/...`), which a root process then created.
#[test]
fn a_bind_password_without_a_key_file_is_refused_with_the_reason() {
    let mut t = Tui::new(100, 30);
    t.login_admin();
    t.command("ldap");
    t.char('n');
    t.text("dc2");
    t.tab();
    t.text("127.0.0.1");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("none");
    t.tab();
    t.tab();
    t.text("cn=reader,dc=example,dc=com");
    t.tab();
    t.text("reader-password-1");
    t.tab();
    t.text("dc=example,dc=com");
    t.enter();
    let s = t.screen();
    assert!(s.contains("no secrets key file configured"), "{s}");
    assert!(!s.contains("nonexistent"), "{s}");
    assert!(
        ops::ldap::get(&mut t.conn, &t.admin.clone(), "dc2").is_err(),
        "nothing stored"
    );
}
