//! The second factor in the TUI (issue 19): `:totp` enrols with the QR
//! code and a first code, the recovery codes are shown once, the login
//! screen asks for the code after the right password, and a role under
//! `[security] require_totp` lands on the enrolment screen.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use postfix_manager::model::Role;
use postfix_manager::ops::auth::Directory;
use postfix_manager::ops::{self, totp, Policy};
use postfix_manager::secrets::KeyFile;
use postfix_manager::tui::app::Modal;
use postfix_manager::tui::totp::{Stage, TotpScreen};
use tui_common::Tui;

fn keyed(db: common::TestDb, policy: Policy) -> (Tui, tempfile::TempDir, KeyFile) {
    let dir = tempfile::tempdir().unwrap();
    let kf = KeyFile::new(dir.path().join("secret.key"));
    let directory = Directory {
        key_file: Some(kf.clone()),
        timeout: None,
    };
    let t = Tui::with_host(db, 80, 24, policy, directory, Default::default());
    (t, dir, kf)
}

/// At least 5 seconds left in the current 30-second step.
fn steady() -> i64 {
    let secs = chrono::Utc::now()
        .timestamp()
        .rem_euclid(totp::STEP_SECONDS);
    if secs > totp::STEP_SECONDS - 5 {
        std::thread::sleep(std::time::Duration::from_secs(
            u64::try_from(totp::STEP_SECONDS - secs + 1).unwrap(),
        ));
    }
    totp::step_at(chrono::Utc::now().timestamp())
}

fn shown_secret(t: &Tui) -> String {
    match &t.app.modal {
        Some(Modal::Totp(s)) => match &s.stage {
            Stage::Scan { secret, .. } => secret.to_string(),
            _ => panic!("not scanning"),
        },
        _ => panic!("no :totp screen"),
    }
}

on_both_backends!(enrol_with_the_qr_code_and_a_first_code, |db| {
    let db = match db.name {
        "sqlite" => common::TestDb::sqlite(),
        _ => match common::TestDb::postgres() {
            Some(d) => d,
            None => return,
        },
    };
    let (mut t, _dir, _kf) = keyed(db, common::policy());
    t.login_admin();
    t.settle();
    t.command("totp");
    t.settle();
    let screen = t.screen();
    assert!(screen.contains("Second factor: enrol"), "{screen}");
    assert!(screen.contains('▀') && screen.contains('▄'), "{screen}");
    let b32 = shown_secret(&t);
    assert!(screen.contains(&b32[..4]), "the secret is drawn:\n{screen}");
    let secret = totp::base32_decode(&b32).unwrap();
    let admin_id = t.admin.user_id;

    // A wrong code: said beside the field, still pending.
    t.text("000000");
    t.enter();
    t.settle();
    let screen = t.screen();
    assert!(screen.contains("does not match"), "{screen}");
    assert!(!postfix_manager::store::totp::enabled(&mut t.conn, admin_id).unwrap());

    let at = steady();
    t.text(&totp::code_for_step(&secret, at));
    t.enter();
    t.settle();
    let screen = t.screen();
    assert!(screen.contains("Recovery codes, shown once"), "{screen}");
    let codes: Vec<&str> = screen
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 19 && l.matches('-').count() == 3)
        .collect();
    assert_eq!(codes.len(), 10, "{screen}");
    assert!(postfix_manager::store::totp::enabled(&mut t.conn, admin_id).unwrap());
    // Closing drops them: nothing shows them again.
    t.esc();
    t.settle();
    assert!(t.app.modal.is_none());
    assert!(!t.screen().contains(codes[0]));
    // One of them logs in (through ops) once.
    let dir = Directory {
        key_file: Some(_kf.clone()),
        timeout: None,
    };
    let client = ops::Client::from_ssh_vars(ops::ClientKind::Cli, None, None);
    ops::auth::login_code(
        &mut t.conn,
        "admin",
        common::ADMIN_PW,
        Some(codes[0]),
        &client,
        &common::policy(),
        &dir,
    )
    .expect("a recovery code from the screen");
});

on_both_backends!(login_asks_for_the_code_after_the_right_password, |db| {
    let db = match db.name {
        "sqlite" => common::TestDb::sqlite(),
        _ => match common::TestDb::postgres() {
            Some(d) => d,
            None => return,
        },
    };
    let (mut t, _dir, kf) = keyed(db, common::policy());
    let admin = t.admin.clone();
    let bob = common::user_with_role(&mut t.conn, &admin, "bob", "admin");
    let e = totp::enroll(&mut t.conn, &bob, &kf).unwrap();
    let secret = totp::base32_decode(e.secret.expose()).unwrap();
    let at = steady();
    totp::confirm(
        &mut t.conn,
        &bob,
        &kf,
        &totp::code_for_step(&secret, at - 1),
    )
    .unwrap();

    t.login("bob", "bob-password-1");
    t.settle();
    assert!(t.app.session.is_none());
    let screen = t.screen();
    assert!(screen.contains("Code:"), "asked for the code:\n{screen}");
    // A wrong code: the one generic failure, back to the password.
    t.text("123456");
    t.enter();
    t.settle();
    assert!(t.app.session.is_none());
    let screen = t.screen();
    assert!(screen.contains("Login failed"), "{screen}");
    assert!(!screen.contains("Code:"), "{screen}");
    // Password again, then the right code.
    t.text("bob-password-1");
    t.enter();
    t.settle();
    t.text(&totp::code_for_step(&secret, at));
    t.enter();
    t.settle();
    assert_eq!(
        t.app.session.as_ref().map(|s| s.username.as_str()),
        Some("bob")
    );
    // Esc at the code goes back to the password (nothing sent).
    let _ = KeyCode::Esc;
});

on_both_backends!(require_totp_opens_the_enrolment_at_login, |db| {
    let db = match db.name {
        "sqlite" => common::TestDb::sqlite(),
        _ => match common::TestDb::postgres() {
            Some(d) => d,
            None => return,
        },
    };
    let strict = Policy {
        require_totp: vec![Role::Admin],
        ..common::policy()
    };
    let (mut t, _dir, _kf) = keyed(db, strict);
    t.login_admin();
    t.settle();
    assert!(matches!(t.app.modal, Some(Modal::Totp(_))));
    let screen = t.screen();
    assert!(screen.contains("Second factor: enrol"), "{screen}");
    // Cancelled: every screen is refused by ops until it is done.
    t.esc();
    t.settle();
    let screen = t.screen();
    assert!(screen.contains("must enrol a second factor"), "{screen}");
});

#[test]
fn snapshots_of_the_enrolment_at_80x24() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.settle();
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let uri = totp::otpauth_uri("admin", secret);
    t.app.modal = Some(Modal::Totp(Box::new(TotpScreen::scan(&uri, secret))));
    t.app.status = None;
    snap!("totp_enrol_80x24", t.screen());
    // The drawn QR code is the URI's (read back module by module).
    let screen = t.screen();
    let lines: Vec<String> = screen
        .lines()
        .skip(2)
        .take(21)
        .map(|l| l.chars().skip(1).take(41).collect::<String>())
        .map(|l| format!("{l:<41}"))
        .collect();
    let want = postfix_manager::qr::Matrix::encode(&uri)
        .unwrap()
        .half_blocks(postfix_manager::qr::QUIET);
    assert_eq!(lines, want);

    let mut codes = TotpScreen::new();
    let outcome = ops::command::Outcome::new(
        "second factor of admin is on",
        &serde_json::json!({ "username": "admin", "codes": (0..10).map(|i| format!("abcd-efgh-jkmn-pq{i:02}")).collect::<Vec<_>>() }),
    )
    .unwrap();
    codes.on_outcome(&outcome);
    t.app.modal = Some(Modal::Totp(Box::new(codes)));
    snap!("totp_recovery_codes_80x24", t.screen());
}
