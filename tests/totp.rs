//! The second factor (issue 19): enrolment confirmed by a first code,
//! codes within one step either side, each code used once (also from two
//! connections at once), wrong codes toward the lockout, recovery codes
//! once, `[security] require_totp`, resets (admin, own with a recovery
//! code, local root), nothing in clear in the database, and the binary's
//! `--totp-file` / `POSTFIX_MANAGER_TOTP`.

mod common;

use diesel::prelude::*;
use postfix_manager::db::schema::{audit_logs, users};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Role;
use postfix_manager::ops::auth::Directory;
use postfix_manager::ops::totp;
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};
use postfix_manager::secrets::KeyFile;

struct Keys {
    _dir: tempfile::TempDir,
    file: KeyFile,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let file = KeyFile::new(dir.path().join("secret.key"));
    Keys { _dir: dir, file }
}

fn client() -> Client {
    Client::from_ssh_vars(ClientKind::Cli, None, None)
}

fn login(
    c: &mut AnyConnection,
    k: &Keys,
    p: &Policy,
    user: &str,
    pw: &str,
    code: Option<&str>,
) -> Result<Ctx, OpError> {
    let dir = Directory {
        key_file: Some(k.file.clone()),
        timeout: None,
    };
    ops::auth::login_code(c, user, pw, code, &client(), p, &dir)
}

fn now_step() -> i64 {
    totp::step_at(chrono::Utc::now().timestamp())
}

/// Wait until at least 5 seconds of the current step remain, so a
/// sequence of checks computed from "now" stays in one step.
fn steady() -> i64 {
    let secs = chrono::Utc::now()
        .timestamp()
        .rem_euclid(totp::STEP_SECONDS);
    if secs > totp::STEP_SECONDS - 5 {
        std::thread::sleep(std::time::Duration::from_secs(
            u64::try_from(totp::STEP_SECONDS - secs + 1).unwrap(),
        ));
    }
    now_step()
}

/// Enrol `ctx`'s user and confirm with the code of the step before now
/// (so the current and next steps are still unused): the secret and the
/// recovery codes.
fn enrol(c: &mut AnyConnection, ctx: &Ctx, k: &Keys) -> (Vec<u8>, Vec<String>) {
    let e = totp::enroll(c, ctx, &k.file).expect("enroll");
    let secret = totp::base32_decode(e.secret.expose()).unwrap();
    assert_eq!(secret.len(), 20);
    assert!(e
        .uri
        .expose()
        .starts_with("otpauth://totp/postfix-manager:"));
    let at = steady();
    let r = totp::confirm(c, ctx, &k.file, &totp::code_for_step(&secret, at - 1)).expect("confirm");
    assert_eq!(r.codes.len(), 10);
    (
        secret,
        r.codes.iter().map(|s| s.expose().to_string()).collect(),
    )
}

fn failed_logins(c: &mut AnyConnection, name: &str) -> i32 {
    users::table
        .filter(users::username.eq(name))
        .select(users::failed_logins)
        .first(c)
        .unwrap()
}

fn login_details(c: &mut AnyConnection) -> String {
    let rows: Vec<Option<String>> = audit_logs::table
        .filter(audit_logs::action.eq("login"))
        .select(audit_logs::details)
        .load(c)
        .unwrap();
    rows.into_iter().flatten().collect()
}

on_both_backends!(enrolment_needs_a_first_code_then_login_asks_for_one, |t| {
    let mut c = t.conn();
    let k = keys();
    let p = common::policy();
    let admin = common::admin(&mut c);
    let e = totp::enroll(&mut c, &admin, &k.file).unwrap();
    let secret = totp::base32_decode(e.secret.expose()).unwrap();
    // Pending: login does not ask yet.
    login(&mut c, &k, &p, "admin", common::ADMIN_PW, None).expect("pending: password only");
    assert_eq!(totp::status(&mut c, &admin, None).unwrap().state, "pending");
    // A wrong first code leaves it off.
    let wrong = totp::confirm(&mut c, &admin, &k.file, "000000").unwrap_err();
    assert_eq!(wrong.field(), Some("code"), "{wrong}");
    let bad = totp::confirm(&mut c, &admin, &k.file, "12ab").unwrap_err();
    assert_eq!(bad.field(), Some("code"), "{bad}");
    assert_eq!(totp::status(&mut c, &admin, None).unwrap().state, "pending");
    let at = steady();
    totp::confirm(
        &mut c,
        &admin,
        &k.file,
        &totp::code_for_step(&secret, at - 1),
    )
    .unwrap();
    let s = totp::status(&mut c, &admin, None).unwrap();
    assert_eq!((s.state, s.recovery_codes_left), ("enabled", 10));
    // A second enrolment is refused while one is on.
    let again = totp::enroll(&mut c, &admin, &k.file).unwrap_err();
    assert_eq!(again.field(), Some("username"), "{again}");

    // The right password alone: asked for the code, nothing counted.
    let e = login(&mut c, &k, &p, "admin", common::ADMIN_PW, None).unwrap_err();
    assert!(matches!(e, OpError::CodeRequired), "{e:?}");
    assert_eq!(failed_logins(&mut c, "admin"), 0);
    // A wrong password with any code: the one generic failure, never
    // a hint that a code is wanted.
    let e = login(&mut c, &k, &p, "admin", "wrong-password-1", None).unwrap_err();
    assert!(matches!(e, OpError::Auth), "{e:?}");
    let e = login(
        &mut c,
        &k,
        &p,
        "admin",
        "wrong-password-1",
        Some(&totp::code_for_step(&secret, at)),
    )
    .unwrap_err();
    assert!(matches!(e, OpError::Auth), "{e:?}");
    let s = login(
        &mut c,
        &k,
        &p,
        "admin",
        common::ADMIN_PW,
        Some(&totp::code_for_step(&secret, at)),
    )
    .expect("right password and code");
    assert_eq!(s.username, "admin");
    assert_eq!(
        failed_logins(&mut c, "admin"),
        0,
        "a success clears the count"
    );
    assert!(login_details(&mut c).contains("\"method\":\"totp\""));
});

on_both_backends!(window_is_one_step_and_every_code_is_used_once, |t| {
    let mut c = t.conn();
    let k = keys();
    let p = common::policy();
    let admin = common::admin(&mut c);
    let (secret, _) = enrol(&mut c, &admin, &k);
    let at = steady();
    let code = |s: i64| totp::code_for_step(&secret, s);
    let pw = common::ADMIN_PW;
    // at - 1 was used by the confirmation: replay refused.
    assert!(matches!(
        login(&mut c, &k, &p, "admin", pw, Some(&code(at - 1))),
        Err(OpError::Auth)
    ));
    login(&mut c, &k, &p, "admin", pw, Some(&code(at))).expect("current step");
    assert!(
        matches!(
            login(&mut c, &k, &p, "admin", pw, Some(&code(at))),
            Err(OpError::Auth)
        ),
        "the same code twice"
    );
    login(&mut c, &k, &p, "admin", pw, Some(&code(at + 1))).expect("one step ahead (clock drift)");
    // Older than the last one used: refused even though inside the window.
    assert!(matches!(
        login(&mut c, &k, &p, "admin", pw, Some(&code(at))),
        Err(OpError::Auth)
    ));
    // Two steps away: outside the window.
    assert!(matches!(
        login(&mut c, &k, &p, "admin", pw, Some(&code(at + 3))),
        Err(OpError::Auth)
    ));
    let d = login_details(&mut c);
    assert!(d.contains("replay refused"), "{d}");
    assert!(d.contains("wrong one-time code"), "{d}");
});

on_both_backends!(one_code_from_two_connections_at_once_logs_in_once, |t| {
    let mut c = t.conn();
    let k = keys();
    let admin = common::admin(&mut c);
    let (secret, _) = enrol(&mut c, &admin, &k);
    let at = steady();
    let code = totp::code_for_step(&secret, at);
    let url = t.url.clone();
    let keyfile = k.file.clone();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (url, code, keyfile, barrier) =
                (url.clone(), code.clone(), keyfile.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut conn = postfix_manager::db::connect(&url, false).unwrap();
                let dir = Directory {
                    key_file: Some(keyfile),
                    timeout: None,
                };
                barrier.wait();
                ops::auth::login_code(
                    &mut conn,
                    "admin",
                    common::ADMIN_PW,
                    Some(&code),
                    &client(),
                    &common::policy(),
                    &dir,
                )
                .is_ok()
            })
        })
        .collect();
    let ok: Vec<bool> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(ok.iter().filter(|b| **b).count(), 1, "{ok:?}");
});

on_both_backends!(wrong_codes_count_toward_the_password_lockout, |t| {
    let mut c = t.conn();
    let k = keys();
    let strict = Policy {
        lockout_threshold: 3,
        lockout_base_seconds: 60,
        ..common::policy()
    };
    let admin = common::admin(&mut c);
    let (secret, _) = enrol(&mut c, &admin, &k);
    let pw = common::ADMIN_PW;
    for n in 1..=3 {
        let e = login(&mut c, &k, &strict, "admin", pw, Some("123456")).unwrap_err();
        assert!(matches!(e, OpError::Auth), "{e:?}");
        assert_eq!(failed_logins(&mut c, "admin"), n);
    }
    let locked: Option<chrono::NaiveDateTime> = users::table
        .filter(users::username.eq("admin"))
        .select(users::locked_until)
        .first(&mut c)
        .unwrap();
    assert!(locked.is_some(), "three wrong codes lock the account");
    // Locked: the right password and the right code are refused too,
    // and the code is not used up by the refusal.
    let at = steady();
    let right = totp::code_for_step(&secret, at);
    assert!(matches!(
        login(&mut c, &k, &strict, "admin", pw, Some(&right)),
        Err(OpError::Auth)
    ));
    assert!(login_details(&mut c).contains("account locked for 60 s"));
});

on_both_backends!(a_recovery_code_works_once_in_place_of_a_code, |t| {
    let mut c = t.conn();
    let k = keys();
    let p = common::policy();
    let admin = common::admin(&mut c);
    let (_, codes) = enrol(&mut c, &admin, &k);
    assert!(codes.iter().all(|r| r.len() == 19), "{codes:?}");
    // Typed in capitals without dashes: the same code.
    let typed = codes[0].replace('-', "").to_uppercase();
    let s = login(&mut c, &k, &p, "admin", common::ADMIN_PW, Some(&typed)).expect("recovery code");
    assert_eq!(
        totp::status(&mut c, &s, None).unwrap().recovery_codes_left,
        9
    );
    assert!(matches!(
        login(&mut c, &k, &p, "admin", common::ADMIN_PW, Some(&codes[0])),
        Err(OpError::Auth)
    ));
    assert_eq!(
        failed_logins(&mut c, "admin"),
        1,
        "a used recovery code is a wrong code"
    );
    assert!(login_details(&mut c).contains("already used recovery code"));
});

on_both_backends!(require_totp_lets_an_unenrolled_admin_only_enrol, |t| {
    let mut c = t.conn();
    let k = keys();
    let admin = common::admin(&mut c);
    common::user_with_role(&mut c, &admin, "bob", "user");
    // A token made before the policy: tokens never pass a login prompt.
    let token = ops::tokens::create(
        &mut c,
        &admin,
        &ops::tokens::NewToken {
            name: "ci".into(),
            role: "admin".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let strict = Policy {
        require_totp: vec![Role::Admin],
        ..common::policy()
    };
    let s = login(&mut c, &k, &strict, "admin", common::ADMIN_PW, None)
        .expect("password still logs in");
    let e = ops::domains::create(&mut c, &s, "a.test", &Default::default()).unwrap_err();
    assert!(
        matches!(&e, OpError::Denied(m) if m.contains("must enrol a second factor")),
        "{e:?}"
    );
    let e = ops::users::set_password(&mut c, &s, "bob", "bob-new-password-1").unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    assert!(ops::users::list(&mut c, &s, &Default::default(), &Default::default()).is_err());
    let st = totp::status(&mut c, &s, None).unwrap();
    assert!(st.required && st.state == "none", "{st:?}");
    // The token still works under the policy.
    let ts = ops::tokens::login(&mut c, token.secret.expose(), &client(), &strict).unwrap();
    ops::domains::create(&mut c, &ts, "t.test", &Default::default()).expect("token bypasses TOTP");
    // Enrolling lifts the block for the same session.
    enrol(&mut c, &s, &k);
    ops::domains::create(&mut c, &s, "a.test", &Default::default()).expect("enrolled");
    // The policy is per role: bob (role user) is not held back.
    let bob = login(&mut c, &k, &strict, "bob", "bob-password-1", None).unwrap();
    ops::preferences::get(&mut c, &bob).unwrap();
    assert!(ops::mailboxes::list(&mut c, &bob, &Default::default(), &Default::default()).is_ok());
});

on_both_backends!(resets_by_an_admin_by_oneself_and_by_local_root, |t| {
    let mut c = t.conn();
    let k = keys();
    let p = common::policy();
    let admin = common::admin(&mut c);
    let bob = common::user_with_role(&mut c, &admin, "bob", "user");
    let (_, bob_codes) = enrol(&mut c, &bob, &k);
    let (_, admin_codes) = enrol(&mut c, &admin, &k);

    // bob may not reset the admin's.
    let e = totp::reset(&mut c, &bob, &k.file, "admin", None).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e:?}");
    // An admin resets bob's: audited, bob logs in with the password and
    // must enrol again (his old recovery codes are gone).
    totp::reset(&mut c, &admin, &k.file, "bob", None).expect("admin resets bob");
    let bob2 = login(&mut c, &k, &p, "bob", "bob-password-1", None).expect("no code asked");
    assert_eq!(totp::status(&mut c, &bob2, None).unwrap().state, "none");
    assert_eq!(
        common::count(&mut c, "user_totp_recovery"),
        10,
        "only the admin's codes left"
    );
    let _ = bob_codes;
    let audit: Vec<(String, String, Option<String>)> = audit_logs::table
        .filter(audit_logs::resource_type.eq("totp"))
        .select((audit_logs::action, audit_logs::result, audit_logs::details))
        .load(&mut c)
        .unwrap();
    assert!(
        audit.iter().any(|(a, r, d)| a == "reset"
            && r == "ok"
            && d.as_deref().is_some_and(|d| d.contains("bob"))),
        "{audit:?}"
    );

    // The last admin resetting its own: only with a recovery code.
    let e = totp::reset(&mut c, &admin, &k.file, "admin", None).unwrap_err();
    assert_eq!(e.field(), Some("recovery_code"), "{e}");
    let e = totp::reset(&mut c, &admin, &k.file, "admin", Some("123456")).unwrap_err();
    assert_eq!(e.field(), Some("recovery_code"), "{e}");
    let e = totp::reset(
        &mut c,
        &admin,
        &k.file,
        "admin",
        Some("0000-0000-0000-0000"),
    )
    .unwrap_err();
    assert_eq!(e.field(), Some("recovery_code"), "{e}");
    assert_eq!(totp::status(&mut c, &admin, None).unwrap().state, "enabled");
    totp::reset(&mut c, &admin, &k.file, "admin", Some(&admin_codes[3])).expect("own reset");
    assert_eq!(totp::status(&mut c, &admin, None).unwrap().state, "none");

    // Local root: needs the key file; audited as local root.
    enrol(&mut c, &admin, &k);
    let missing = KeyFile::new(k._dir.path().join("no-such.key"));
    assert!(totp::root_reset(&mut c, &missing, &client(), &p, "admin").is_err());
    assert_eq!(totp::status(&mut c, &admin, None).unwrap().state, "enabled");
    totp::root_reset(&mut c, &k.file, &client(), &p, "admin").expect("root reset");
    login(&mut c, &k, &p, "admin", common::ADMIN_PW, None).expect("password only again");
    let by: Vec<Option<String>> = audit_logs::table
        .filter(audit_logs::resource_type.eq("totp"))
        .filter(audit_logs::action.eq("reset"))
        .select(audit_logs::actor)
        .load(&mut c)
        .unwrap();
    assert!(
        by.iter().flatten().any(|u| u.contains("local root")),
        "{by:?}"
    );
});

on_both_backends!(disable_needs_a_current_code, |t| {
    let mut c = t.conn();
    let k = keys();
    let admin = common::admin(&mut c);
    let (secret, _) = enrol(&mut c, &admin, &k);
    let e = totp::disable(&mut c, &admin, &k.file, "000000").unwrap_err();
    assert_eq!(e.field(), Some("code"), "{e}");
    let at = steady();
    totp::disable(&mut c, &admin, &k.file, &totp::code_for_step(&secret, at)).expect("disable");
    assert_eq!(totp::status(&mut c, &admin, None).unwrap().state, "none");
    assert_eq!(common::count(&mut c, "user_totp_recovery"), 0);
});

on_both_backends!(the_secret_and_recovery_codes_are_not_stored_in_clear, |t| {
    let mut c = t.conn();
    let k = keys();
    let admin = common::admin(&mut c);
    let e = totp::enroll(&mut c, &admin, &k.file).unwrap();
    let b32 = e.secret.expose().to_string();
    let secret = totp::base32_decode(&b32).unwrap();
    let at = steady();
    let r = totp::confirm(&mut c, &admin, &k.file, &totp::code_for_step(&secret, at)).unwrap();
    let text = common::database_text(
        t,
        &mut c,
        &["user_totp", "user_totp_recovery", "audit_logs"],
    );
    let hay = String::from_utf8_lossy(&text).to_lowercase();
    assert!(
        !hay.contains(&b32.to_lowercase()),
        "the base32 secret is stored in clear"
    );
    assert!(
        !text.windows(secret.len()).any(|w| w == secret.as_slice()),
        "the raw secret is stored"
    );
    for code in &r.codes {
        let code = code.expose();
        assert!(
            !hay.contains(code) && !hay.contains(&code.replace('-', "")),
            "recovery code {code} in clear"
        );
    }
    let stored: String = postfix_manager::db::schema::user_totp::table
        .select(postfix_manager::db::schema::user_totp::secret)
        .first(&mut c)
        .unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
});

on_both_backends!(key_rotation_keeps_second_factors_working, |t| {
    let mut c = t.conn();
    let k = keys();
    let p = common::policy();
    let admin = common::admin(&mut c);
    let (secret, _) = enrol(&mut c, &admin, &k);
    let r = ops::ldap::rotate_key(&mut c, &admin, &k.file).expect("rotate");
    assert_eq!(r.secrets_reencrypted, 1);
    let at = steady();
    login(
        &mut c,
        &k,
        &p,
        "admin",
        common::ADMIN_PW,
        Some(&totp::code_for_step(&secret, at)),
    )
    .expect("the secret decrypts with the new key");
});

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

fn bin(
    dir: &std::path::Path,
    url: &str,
    args: &[&str],
    code: Option<&str>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(BIN);
    cmd.current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env("POSTFIX_MANAGER_DATABASE_URL", url)
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .env_remove("POSTFIX_MANAGER_TOKEN_FILE")
        .env_remove("POSTFIX_MANAGER_TOTP_FILE")
        .env_remove("POSTFIX_MANAGER_TOTP")
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .stdin(std::process::Stdio::null())
        .args(args);
    if let Some(code) = code {
        cmd.env("POSTFIX_MANAGER_TOTP", code);
    }
    cmd.output().unwrap()
}

on_both_backends!(the_binary_enrols_reads_codes_and_root_resets, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = match t.name {
        "postgres" => t.url_string(),
        _ => format!("sqlite://{}", d.join("pm.db").display()),
    };
    std::fs::write(
        d.join("config.toml"),
        "[security]\nbcrypt_cost = 4\nrequire_totp = [\"admin\"]\n",
    )
    .unwrap();
    std::fs::write(d.join("admin.pw"), "admin-password-123\n").unwrap();
    let pw = d.join("admin.pw").display().to_string();
    let o = bin(d, &url, &["init", "--admin-password-file", &pw], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let as_admin = |args: &[&str], code: Option<&str>| {
        let mut full = vec!["--user", "admin", "--password-file", &pw];
        full.extend_from_slice(args);
        bin(d, &url, &full, code)
    };
    // Under require_totp the admin can do nothing but enrol.
    let o = as_admin(&["domain", "add", "a.test"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("user totp enroll"));
    let o = as_admin(&["user", "totp", "enroll"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        shown.contains("otpauth://totp/postfix-manager:admin?secret="),
        "{shown}"
    );
    assert!(
        shown.contains('▀') || shown.contains('▄'),
        "a QR code in half blocks:\n{shown}"
    );
    let b32 = shown
        .lines()
        .find_map(|l| l.strip_prefix("secret: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert!(shown.contains(&format!("secret={b32}&")));
    let secret = totp::base32_decode(&b32).unwrap();
    let at = steady();
    let code = |s: i64| totp::code_for_step(&secret, s);
    let o = as_admin(&["user", "totp", "confirm", &code(at - 1), "--json"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);

    // No code and no terminal: told how to give one (usage, exit 2).
    let o = as_admin(&["domain", "list"], None);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--totp-file"));
    // POSTFIX_MANAGER_TOTP, then --totp-file, then a replay.
    let o = as_admin(&["domain", "add", "a.test"], Some(&code(at)));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let f = d.join("code");
    std::fs::write(&f, format!("{}\n", code(at + 1))).unwrap();
    let fs = f.display().to_string();
    let o = as_admin(&["--totp-file", &fs, "domain", "list"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("a.test"));
    let o = as_admin(&["--totp-file", &fs, "domain", "list"], None);
    assert_eq!(o.status.code(), Some(1), "replayed code");
    assert!(String::from_utf8_lossy(&o.stderr).contains("login failed"));

    // Local root's reset: no login, audited; then the password alone
    // logs in, and the policy asks for enrolment again.
    let o = bin(d, &url, &["init", "--reset-totp", "admin"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = as_admin(&["user", "totp", "status", "--json"], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["state"].as_str(), v["required"].as_bool()),
        (Some("none"), Some(true))
    );
    let o = as_admin(&["domain", "list"], None);
    assert_eq!(o.status.code(), Some(1), "held back until enrolled again");
});
