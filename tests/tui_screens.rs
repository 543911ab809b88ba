//! Every screen and modal at 80x24, drawn from a real SQLite database
//! through the real worker, and compared with its insta snapshot.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::connection::SimpleConnection;
use postfix_manager::model::Perm;
use postfix_manager::ops::{self, domains::DomainInput, mailboxes::NewMailbox};
use tui_common::Tui;

fn domain(t: &mut Tui, name: &str, description: &str) {
    ops::domains::create(
        &mut t.conn,
        &t.admin,
        name,
        &DomainInput {
            description: Some(description.into()),
            quota_limit: Some(10 << 30),
            ..Default::default()
        },
    )
    .expect("domain");
}

fn mailbox(t: &mut Tui, address: &str, quota: i64) {
    ops::mailboxes::create(
        &mut t.conn,
        &t.admin,
        &NewMailbox {
            address: address.into(),
            password: "mailbox-password-1".into(),
            quota: Some(quota),
            name: Some("Some One".into()),
        },
    )
    .expect("mailbox");
}

/// A small, fixed host: three domains, mailboxes, aliases, an alias
/// domain, a scoped user with a grant.
fn seeded() -> Tui {
    let mut t = Tui::new(80, 24);
    domain(&mut t, "alpha.example", "first");
    domain(&mut t, "beta.example", "second");
    domain(&mut t, "gamma.example", "third");
    mailbox(&mut t, "ann@alpha.example", 1 << 30);
    mailbox(&mut t, "bob@alpha.example", 512 << 20);
    mailbox(&mut t, "cy@beta.example", 2 << 30);
    ops::aliases::create(
        &mut t.conn,
        &t.admin,
        "info@alpha.example",
        "ann@alpha.example, bob@elsewhere.org",
        None,
    )
    .expect("alias");
    ops::alias_domains::create(&mut t.conn, &t.admin, "alpha.org", "alpha.example")
        .expect("alias domain");
    common::user_with_role(&mut t.conn, &t.admin, "carol", "user");
    ops::permissions::grant(
        &mut t.conn,
        &t.admin,
        "carol",
        "alpha.example",
        &[Perm::Mailboxes, Perm::Aliases],
    )
    .expect("grant");
    t
}

#[test]
fn login_screen() {
    let mut t = Tui::new(80, 24);
    snap!("login", t.screen());
}

#[test]
fn login_failure_is_one_generic_message_for_unknown_user_and_wrong_password() {
    let mut t = Tui::new(80, 24);
    t.login("nobody", "whatever-password");
    let unknown = t.screen();
    assert!(t.app.session.is_none());
    t.press(KeyCode::BackTab);
    t.clear_field();
    t.text("admin");
    t.enter();
    t.text("wrong-password-123");
    t.enter();
    let wrong = t.screen();
    assert!(t.app.session.is_none());
    // Same words either way, so the screen tells nobody which names exist.
    let msg = |s: &str| {
        s.lines()
            .find(|l| l.contains("Login failed"))
            .map(str::to_string)
    };
    assert!(msg(&unknown).is_some(), "{unknown}");
    assert_eq!(msg(&unknown), msg(&wrong));
    snap!("login_failed", wrong);
}

#[test]
fn dashboard() {
    let mut t = seeded();
    t.login_admin();
    snap!("dashboard", t.screen());
}

#[test]
fn domains_and_filter() {
    let mut t = seeded();
    t.login_admin();
    t.command("domains");
    snap!("domains", t.screen());
    t.char('/');
    t.text("be");
    snap!("domains_filtered", t.screen());
    assert_eq!(t.rows(), vec!["beta.example"]);
}

#[test]
fn mailboxes_scoped_from_domains() {
    let mut t = seeded();
    t.login_admin();
    t.command("domains");
    t.char('m');
    assert_eq!(
        t.rows(),
        vec!["ann@alpha.example", "bob@alpha.example"],
        "only alpha.example's mailboxes"
    );
    snap!("mailboxes_of_alpha", t.screen());
    t.esc();
    assert!(t.screen().contains("Domains"));
}

#[test]
fn every_other_table_screen() {
    let mut t = seeded();
    t.login_admin();
    t.conn
        .batch_execute(
            "INSERT INTO mail_server_configs (service_name, config_file, config_data, is_active, created_at, updated_at, version)
               VALUES ('postfix', '/etc/postfix/main.cf', 'x', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);
             INSERT INTO ldap_configs (server_name, host, port, use_ssl, base_dn, is_active, created_at, updated_at, version)
               VALUES ('corp', 'ldap.example', 636, 1, 'dc=example,dc=com', 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);",
        )
        .expect("fixture rows");
    for (cmd, name) in [
        ("aliases", "aliases"),
        ("alias-domains", "alias_domains"),
        ("users", "users"),
        ("permissions", "permissions"),
        ("audit", "audit"),
        ("mail-servers", "mail_servers"),
        ("ldap", "ldap"),
    ] {
        t.command(cmd);
        snap!(name, t.screen());
    }
}

#[test]
fn create_form_with_field_errors_then_saved() {
    let mut t = seeded();
    t.login_admin();
    t.command("domains");
    t.char('n');
    snap!("domain_form_new", t.screen());
    t.text("not a domain");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("lots");
    t.enter();
    // Both are checked locally by ops' rules, each beside its field;
    // nothing was sent.
    snap!("domain_form_local_error", t.screen());
    // Focus is on the first bad field, the name: one that exists already.
    t.clear_field();
    t.text("alpha.example");
    t.tab();
    t.tab();
    t.clear_field();
    t.text("5G");
    t.enter();
    // Only ops knows it exists; its message lands beside the name.
    let s = t.screen();
    assert!(s.contains("already exists"), "{s}");
    snap!("domain_form_ops_error", s);
    t.clear_field();
    t.text("delta.example");
    t.enter();
    let d = ops::domains::get(&mut t.conn, &t.admin, "delta.example").expect("created");
    assert_eq!(d.quota_limit, 5 << 30);
    snap!("domain_created", t.screen());
}

#[test]
fn edit_form_and_conflict() {
    let mut t = seeded();
    t.login_admin();
    t.command("domains");
    t.enter();
    snap!("domain_form_edit", t.screen());
    // Another admin changes the row while the form is open.
    ops::domains::edit(
        &mut t.conn,
        &t.admin,
        "alpha.example",
        None,
        &DomainInput {
            description: Some("changed elsewhere".into()),
            ..Default::default()
        },
    )
    .expect("concurrent edit");
    t.clear_field();
    t.text("mine");
    t.enter();
    let s = t.screen();
    // Refused; the typed text stays, their value shows under it.
    assert!(s.contains("Someone else saved this row"), "{s}");
    assert!(s.contains("now: changed elsewhere"), "{s}");
    snap!("domain_form_conflict", s);
    let d = ops::domains::get(&mut t.conn, &t.admin, "alpha.example").expect("domain");
    assert_eq!(d.description.as_deref(), Some("changed elsewhere"));
}

#[test]
fn delete_confirmation_counts_rows_and_defaults_to_no() {
    let mut t = seeded();
    t.login_admin();
    t.command("domains");
    t.char('d');
    let s = t.screen();
    // alpha.example: itself, 2 mailboxes, 1 alias, 1 alias domain.
    assert!(s.contains("2 mailboxes, 1"), "{s}");
    assert!(s.contains("5 rows will be deleted"), "{s}");
    assert!(s.contains("Yes, delete 5 rows"), "{s}");
    snap!("domain_delete_confirm", s);
    t.enter();
    assert!(ops::domains::get(&mut t.conn, &t.admin, "alpha.example").is_ok());
    t.char('d');
    t.press(KeyCode::Right);
    t.enter();
    assert!(ops::domains::get(&mut t.conn, &t.admin, "alpha.example").is_err());
    assert_eq!(common::count(&mut t.conn, "mailboxes"), 1);
}

#[test]
fn help_overlay_and_command_line() {
    let mut t = seeded();
    t.login_admin();
    t.command("mailboxes");
    t.char('?');
    snap!("help_mailboxes", t.screen());
    t.char('x');
    t.char(':');
    t.text("alias-d");
    snap!("command_line", t.screen());
    t.enter();
    assert!(t.screen().contains("Alias domains"));
}

#[test]
fn readonly_user_sees_no_write_keys() {
    let mut t = seeded();
    common::user_with_role(&mut t.conn, &t.admin, "rita", "readonly");
    t.login("rita", "rita-password-1");
    t.command("domains");
    let s = t.screen();
    assert!(!s.contains("n new") && !s.contains("d delete"), "{s}");
    snap!("domains_readonly", s);
    let before = common::snapshot(&mut t.conn);
    t.char('n');
    t.char('d');
    t.char('s');
    assert!(t.app.modal.is_none());
    t.enter();
    snap!("domain_detail_readonly", t.screen());
    assert_eq!(before, common::snapshot(&mut t.conn));
}

#[test]
fn refusals_show_the_reason() {
    let mut t = seeded();
    t.login("carol", "carol-password-1");
    t.command("mailboxes");
    // carol may see alpha.example only.
    assert_eq!(t.rows(), vec!["ann@alpha.example", "bob@alpha.example"]);
    t.char('n');
    t.clear_field();
    t.text("x@beta.example");
    t.tab();
    t.tab();
    t.text("mailbox-password-1");
    t.enter();
    let s = t.screen();
    assert!(s.contains("no access to domain beta.example"), "{s}");
}

#[test]
fn audit_tail_pane_and_terminal_too_small() {
    let mut t = seeded();
    t.login_admin();
    t.char('t');
    snap!("dashboard_with_tail", t.screen());
    t.resize(79, 24);
    snap!("too_small", t.screen());
}

#[test]
fn control_characters_from_the_database_never_reach_the_screen() {
    // 100 columns: at 80 the DKIM column leaves the description 6 cells.
    let mut t = Tui::new(100, 24);
    // Written around ops on purpose: ops would refuse it, an older tool might not.
    t.conn
        .batch_execute(
            "INSERT INTO domains (name, status, quota_limit, quota_used, description, created_at, updated_at, max_mailboxes, max_aliases, max_mailbox_quota, version)
             VALUES ('evil.example', 'active', 0, 0, 'x' || char(27) || '[2J' || char(27) || ']0;pwned' || char(7) || 'y', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0, 0, 0, 1);",
        )
        .expect("fixture");
    t.login_admin();
    t.command("domains");
    let s = t.screen();
    assert!(!s.contains('\u{1b}') && !s.contains('\u{7}'), "{s:?}");
    // What is left once the controls are stripped is shown as text.
    assert!(s.contains("x[2J]0;pwnedy"), "{s}");
}
