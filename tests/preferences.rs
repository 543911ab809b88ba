//! Per-admin preferences live in the database and set the time zone of
//! every timestamp the CLI prints (stored in UTC).

mod common;

use postfix_manager::ops::preferences::{self, PreferencesEdit};

on_both_backends!(preferences_follow_the_admin, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let p = preferences::get(&mut c, &admin).unwrap();
    assert_eq!(
        (p.theme.as_str(), p.timezone.as_str(), p.version),
        ("dark", "UTC", 0)
    );
    let e = PreferencesEdit {
        theme: Some("No-Color".into()),
        timezone: Some("America/New_York".into()),
        language: Some("en".into()),
    };
    let p = preferences::set(&mut c, &admin, Some(0), &e).unwrap();
    assert_eq!(
        (p.theme.as_str(), p.timezone.as_str(), p.version),
        ("no-color", "America/New_York", 1)
    );
    // a second host (another connection) sees the same preferences
    let mut other = postfix_manager::db::connect(&t.url, false).unwrap();
    assert_eq!(preferences::get(&mut other, &admin).unwrap(), p);
    // stale version, bad values: refused, nothing changed
    assert!(preferences::set(&mut c, &admin, Some(0), &PreferencesEdit::default()).is_err());
    for (e, field) in [
        (
            PreferencesEdit {
                theme: Some("neon".into()),
                ..Default::default()
            },
            "theme",
        ),
        (
            PreferencesEdit {
                timezone: Some("Mars/Base".into()),
                ..Default::default()
            },
            "timezone",
        ),
        (
            PreferencesEdit {
                language: Some("english".into()),
                ..Default::default()
            },
            "language",
        ),
    ] {
        let err = preferences::set(&mut c, &admin, None, &e).unwrap_err();
        assert_eq!(err.field(), Some(field), "{err}");
    }
    assert_eq!(preferences::get(&mut c, &admin).unwrap(), p);
    // each user has its own, and readonly users may set theirs
    let ro = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    assert_eq!(preferences::get(&mut c, &ro).unwrap().timezone, "UTC");
    preferences::set(
        &mut c,
        &ro,
        None,
        &PreferencesEdit {
            theme: Some("light".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(preferences::get(&mut c, &admin).unwrap().theme, "no-color");
});

#[test]
fn cli_timestamps_use_the_admins_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "[security]\nbcrypt_cost = 4\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("pw"), "tz-admin-password-1\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_postfix-manager");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .current_dir(dir.path())
            .env("POSTFIX_MANAGER_CONFIG", dir.path().join("config.toml"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let db = dir.path().join("pm.db");
    run(&[
        "init",
        "--database-url",
        db.to_str().unwrap(),
        "--admin-password-file",
        "pw",
    ]);
    let auth = ["--user", "admin", "--password-file", "pw"];
    let utc = run(&[&auth[..], &["audit", "list", "--limit", "1"]].concat());
    assert!(utc.contains(" UTC "), "{utc}");
    run(&[
        &auth[..],
        &["preferences", "set", "--timezone", "Asia/Tokyo"],
    ]
    .concat());
    let tokyo = run(&[&auth[..], &["audit", "list", "--limit", "1"]].concat());
    assert!(tokyo.contains(" JST "), "{tokyo}");
    // JSON stays UTC for machines
    let json = run(&[&auth[..], &["--json", "user", "show", "admin"]].concat());
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let created = chrono::NaiveDateTime::parse_from_str(
        v["created_at"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.f",
    )
    .unwrap();
    assert!(
        (chrono::Utc::now().naive_utc() - created)
            .num_minutes()
            .abs()
            < 5
    );
}
