//! Tokens for scripts (issue 19): scope and role caps, revoke and expiry
//! at once, origin limits, lockout, audit names, nothing stored in clear,
//! and the binary's `--token-file`.

mod common;

use diesel::prelude::*;
use postfix_manager::db::schema::{api_tokens, audit_logs, users};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Perm;
use postfix_manager::ops::tokens::{self, NewToken};
use postfix_manager::ops::{self, Client, ClientKind, Ctx};

fn domain(c: &mut AnyConnection, admin: &Ctx, name: &str) {
    ops::domains::create(c, admin, name, &Default::default()).expect("domain");
}

fn mailbox(c: &mut AnyConnection, ctx: &Ctx, address: &str) -> Result<(), OpError> {
    ops::mailboxes::create(
        c,
        ctx,
        &ops::mailboxes::NewMailbox {
            address: address.into(),
            password: "mailbox-password-1".into(),
            quota: None,
            name: None,
        },
    )
    .map(|_| ())
}

fn token(c: &mut AnyConnection, ctx: &Ctx, name: &str, role: &str, domains: &[&str]) -> String {
    let t = tokens::create(
        c,
        ctx,
        &NewToken {
            name: name.into(),
            role: role.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            ..Default::default()
        },
    )
    .expect("create token");
    t.secret.expose().to_string()
}

fn local() -> Client {
    Client::from_ssh_vars(ClientKind::Cli, None, None)
}

fn use_token(c: &mut AnyConnection, secret: &str) -> Result<Ctx, OpError> {
    tokens::login(c, secret, &local(), &common::policy())
}

fn denied(r: Result<(), OpError>, says: &str) {
    match r {
        Err(OpError::Denied(m)) => assert!(m.contains(says), "{m}"),
        other => panic!("expected a refusal saying {says:?}, got {other:?}"),
    }
}

on_both_backends!(
    a_scoped_token_acts_only_on_its_domains_and_below_its_role,
    |t| {
        let mut c = t.conn();
        let admin = common::admin(&mut c);
        for d in ["a.test", "b.test"] {
            domain(&mut c, &admin, d);
        }
        let secret = token(&mut c, &admin, "deploy", "user", &["a.test"]);
        assert!(secret.starts_with("pmt_") && secret.len() == 68, "{secret}");
        let s = use_token(&mut c, &secret).expect("token login");
        assert_eq!(s.username, "token deploy of admin");

        mailbox(&mut c, &s, "x@a.test").expect("inside its domain");
        denied(
            mailbox(&mut c, &s, "x@b.test"),
            "no access to domain b.test",
        );
        denied(
            ops::domains::create(&mut c, &s, "c.test", &Default::default()).map(|_| ()),
            "needs role admin",
        );
        let seen =
            ops::domains::list(&mut c, &s, &Default::default(), &Default::default()).unwrap();
        let names: Vec<_> = seen.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a.test"], "reads are scoped too");

        // The audit names the token and its owner, on the write it made.
        let actor: Option<String> = audit_logs::table
            .filter(audit_logs::action.eq("create"))
            .filter(audit_logs::resource_type.eq("mailbox"))
            .select(audit_logs::actor)
            .first(&mut c)
            .unwrap();
        assert_eq!(actor.as_deref(), Some("token deploy of admin"));

        // A readonly token of an admin reads everything and writes nothing.
        let ro = token(&mut c, &admin, "report", "readonly", &[]);
        let r = use_token(&mut c, &ro).unwrap();
        assert_eq!(
            ops::domains::list(&mut c, &r, &Default::default(), &Default::default())
                .unwrap()
                .len(),
            2
        );
        denied(mailbox(&mut c, &r, "y@a.test"), "readonly");

        // A token cannot mint tokens, whatever its role.
        let full = token(&mut c, &admin, "full", "admin", &[]);
        let f = use_token(&mut c, &full).unwrap();
        let e = tokens::create(
            &mut c,
            &f,
            &NewToken {
                name: "child".into(),
                role: "readonly".into(),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot create tokens"), "{e}");
    }
);

on_both_backends!(a_token_never_exceeds_its_owner, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    for d in ["a.test", "b.test"] {
        domain(&mut c, &admin, d);
    }
    let ops_user = common::user_with_role(&mut c, &admin, "ops", "user");
    ops::permissions::grant(&mut c, &admin, "ops", "a.test", &[Perm::Mailboxes]).unwrap();

    // At creation: no role above the owner's, no domain the owner lacks.
    let mk = |c: &mut AnyConnection, role: &str, domains: &[&str]| {
        tokens::create(
            c,
            &ops_user,
            &NewToken {
                name: format!("t-{role}-{}", domains.len()),
                role: role.into(),
                domains: domains.iter().map(|d| d.to_string()).collect(),
                ..Default::default()
            },
        )
    };
    let e = mk(&mut c, "admin", &[]).unwrap_err();
    assert!(
        e.to_string().contains("would exceed ops's role user"),
        "{e}"
    );
    let e = mk(&mut c, "user", &["b.test"]).unwrap_err();
    assert!(e.to_string().contains("no access to domain b.test"), "{e}");
    let before = common::count(&mut c, "api_tokens");
    assert_eq!(before, 0, "refusals create nothing");
    let secret = mk(&mut c, "user", &[]).unwrap().secret.expose().to_string();
    let s = use_token(&mut c, &secret).unwrap();
    mailbox(&mut c, &s, "m@a.test").expect("the owner's grant");
    denied(
        ops::aliases::create(&mut c, &s, "al@a.test", "m@a.test", None).map(|_| ()),
        "no 'aliases' permission",
    );

    // At use: the owner's rights now. A boss token of role admin acts as
    // a user once its owner is demoted.
    let _boss = common::user_with_role(&mut c, &admin, "boss", "admin");
    let boss_ctx = common::login(&mut c, "boss", "boss-password-1");
    let secret = token(&mut c, &boss_ctx, "root", "admin", &[]);
    let b = use_token(&mut c, &secret).unwrap();
    ops::domains::create(&mut c, &b, "c.test", &Default::default()).expect("while admin");
    ops::users::edit(
        &mut c,
        &admin,
        "boss",
        None,
        &ops::users::UserEdit {
            role: Some("user".into()),
            ..Default::default()
        },
    )
    .unwrap();
    denied(
        ops::domains::create(&mut c, &b, "d.test", &Default::default()).map(|_| ()),
        "needs role admin",
    );
});

on_both_backends!(
    revoked_expired_and_foreign_uses_are_refused_and_counted,
    |t| {
        let mut c = t.conn();
        let admin = common::admin(&mut c);
        domain(&mut c, &admin, "a.test");
        let secret = token(&mut c, &admin, "cron", "admin", &[]);
        let open = use_token(&mut c, &secret).unwrap();

        // Revoked: the session already open stops at its next operation.
        tokens::revoke(&mut c, &admin, None, "cron").unwrap();
        denied(
            mailbox(&mut c, &open, "z@a.test"),
            "token cron has been revoked",
        );
        assert!(matches!(use_token(&mut c, &secret), Err(OpError::Auth)));

        // Expired.
        let old = token(&mut c, &admin, "old", "admin", &[]);
        diesel::update(api_tokens::table.filter(api_tokens::name.eq("old")))
            .set(
                api_tokens::expires_at.eq(Some(
                    chrono::NaiveDate::from_ymd_opt(2020, 1, 1)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                )),
            )
            .execute(&mut c)
            .unwrap();
        assert!(matches!(use_token(&mut c, &old), Err(OpError::Auth)));

        // Origin: accepted from inside its range only; no SSH client counts
        // as this host.
        let ranged = tokens::create(
            &mut c,
            &admin,
            &NewToken {
                name: "office".into(),
                role: "readonly".into(),
                from: vec!["192.0.2.0/24".into()],
                ..Default::default()
            },
        )
        .unwrap();
        let ranged = ranged.secret.expose().to_string();
        let inside = Client::from_ssh_vars(
            ClientKind::Cli,
            Some("192.0.2.9 5000 198.51.100.1 22"),
            None,
        );
        tokens::login(&mut c, &ranged, &inside, &common::policy()).expect("from inside");
        assert!(matches!(use_token(&mut c, &ranged), Err(OpError::Auth)));
        let e = tokens::create(
            &mut c,
            &admin,
            &NewToken {
                name: "typo".into(),
                role: "readonly".into(),
                from: vec!["10.0.0.1/8".into()],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("from: "), "{e}");

        // Every refused use is audited with its reason, under the token's name.
        let reasons: Vec<Option<String>> = audit_logs::table
            .filter(audit_logs::action.eq("login"))
            .filter(audit_logs::result.eq("refused"))
            .order(audit_logs::id.asc())
            .select(audit_logs::details)
            .load(&mut c)
            .unwrap();
        let all = format!("{reasons:?}");
        for r in ["token revoked", "token expired", "is outside 192.0.2.0/24"] {
            assert!(all.contains(r), "{r} missing from {all}");
        }
        let unknown = use_token(&mut c, "pmt_0000");
        assert!(matches!(unknown, Err(OpError::Auth)));
        let actors: Vec<Option<String>> = audit_logs::table
            .filter(audit_logs::action.eq("login"))
            .select(audit_logs::actor)
            .load(&mut c)
            .unwrap();
        assert!(actors
            .iter()
            .any(|a| a.as_deref() == Some("token cron of admin")));
        assert!(actors
            .iter()
            .any(|a| a.as_deref() == Some("token (unknown)")));

        // Refused uses of a real token count toward the owner's lockout.
        let threshold = common::policy().lockout_threshold;
        for _ in 0..threshold {
            let _ = use_token(&mut c, &secret);
        }
        let locked: Option<chrono::NaiveDateTime> = users::table
            .filter(users::username.eq("admin"))
            .select(users::locked_until)
            .first(&mut c)
            .unwrap();
        assert!(
            locked.is_some(),
            "the owner is locked after {threshold} refused uses"
        );
        let e = ops::auth::login(
            &mut c,
            "admin",
            common::ADMIN_PW,
            &local(),
            &common::policy(),
        );
        assert!(matches!(e, Err(OpError::Auth)), "{e:?}");
    }
);

on_both_backends!(the_token_is_never_stored_in_clear, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let secret = token(&mut c, &admin, "backup", "readonly", &[]);
    let hex = secret.trim_start_matches("pmt_").to_string();
    let text = common::database_text(t, &mut c, &["api_tokens", "audit_logs"]);
    let text = String::from_utf8_lossy(&text);
    assert!(
        !text.contains(&hex),
        "the token's secret is in the database"
    );
    assert!(text.contains("backup"), "the dump is of the right tables");
});

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

/// The binary with a config in `dir` pointing at `url`, nothing from the
/// caller's environment.
fn bin(dir: &std::path::Path, url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(BIN)
        .current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env("POSTFIX_MANAGER_DATABASE_URL", url)
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .env_remove("POSTFIX_MANAGER_TOKEN_FILE")
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .stdin(std::process::Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

on_both_backends!(the_binary_logs_in_with_a_token_file, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A fresh database either way (TestDb::postgres makes an empty one).
    let url = match t.name {
        "postgres" => t.url_string(),
        _ => format!("sqlite://{}", d.join("pm.db").display()),
    };
    std::fs::write(d.join("config.toml"), "[security]\nbcrypt_cost = 4\n").unwrap();
    std::fs::write(d.join("admin.pw"), "admin-password-123\n").unwrap();
    let pw = d.join("admin.pw").display().to_string();
    let o = bin(d, &url, &["init", "--admin-password-file", &pw]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let as_admin = |args: &[&str]| {
        let mut full = vec!["--user", "admin", "--password-file", &pw];
        full.extend_from_slice(args);
        bin(d, &url, &full)
    };
    assert!(as_admin(&["domain", "add", "a.test"]).status.success());
    let o = as_admin(&[
        "user",
        "token",
        "create",
        "ci",
        "--role",
        "readonly",
        "--expires",
        "90d",
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert_eq!(v["role"], "readonly");
    assert_eq!(v["state"], "active");
    let file = d.join("ci.token");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let f = file.display().to_string();

    let o = bin(d, &url, &["--token-file", &f, "domain", "list", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("a.test"));
    let o = bin(d, &url, &["--token-file", &f, "domain", "add", "b.test"]);
    assert_eq!(o.status.code(), Some(1), "a readonly token cannot write");
    assert!(String::from_utf8_lossy(&o.stderr).contains("readonly"));
    let o = bin(
        d,
        &url,
        &["--token-file", &f, "--password-file", &pw, "domain", "list"],
    );
    assert_eq!(o.status.code(), Some(2), "a token or a password, not both");
    let o = bin(
        d,
        &url,
        &["--token-file", &f, "--user", "someone", "domain", "list"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not own this token"));

    // The list never shows the secret; revoke stops the file at once.
    let listed = as_admin(&["user", "token", "list", "--json"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(&secret));
    assert!(as_admin(&["user", "token", "revoke", "ci"])
        .status
        .success());
    let o = bin(d, &url, &["--token-file", &f, "domain", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("login failed"));
});
