//! Issue 20, default aliases: a new domain gets its RFC 2142 role aliases
//! (`[lifecycle] default_aliases`) from every front end, not only `domain
//! add`: the TUI's domain form, CSV import (library, `domain import`, the
//! TUI's `:import`), each through `ops::domains::create_with` in the
//! domain's own transaction, and each with a way to skip them. Both
//! backends.

mod common;
mod tui_common;

use postfix_manager::db::AnyConnection;
use postfix_manager::ops::{import, Ctx};
use postfix_manager::store;
use tui_common::Tui;

const ROLES: [&str; 4] = ["postmaster", "abuse", "hostmaster", "webmaster"];
/// common::admin's email: where the role aliases lead by default.
const ADMIN_EMAIL: &str = "admin@example.net";

/// The role aliases of `domain` that exist, with where they lead.
fn roles(c: &mut AnyConnection, domain: &str) -> Vec<(String, String)> {
    ROLES
        .iter()
        .filter_map(|r| {
            store::aliases::by_address(c, &format!("{r}@{domain}"))
                .unwrap()
                .map(|a| (a.address, a.goto))
        })
        .collect()
}

fn all_roles(domain: &str) -> Vec<(String, String)> {
    ROLES
        .iter()
        .map(|r| (format!("{r}@{domain}"), ADMIN_EMAIL.to_string()))
        .collect()
}

fn csv(rows: &[&str]) -> String {
    let mut s = String::from(
        "name,description,quota,max_mailboxes,max_aliases,max_mailbox_quota,transport,status\n",
    );
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn import(
    c: &mut AnyConnection,
    a: &Ctx,
    text: &str,
    dry: bool,
    roles: bool,
) -> postfix_manager::error::OpResult<usize> {
    let rows = postfix_manager::csvio::parse_domains(text.as_bytes()).unwrap();
    import::domains(c, a, &rows, dry, roles).map(|r| r.rows)
}

// The library import: role aliases by default of the front ends, none
// when skipped, none on a dry run, and a domain whose max_aliases leaves
// no room for them refuses the whole file by line.
on_both_backends!(an_import_creates_the_role_aliases_or_skips_them, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    assert_eq!(
        import(
            &mut c,
            &a,
            &csv(&["one.example,,,,,,,active", "two.example,,,,,,,suspended"]),
            false,
            true
        )
        .unwrap(),
        2
    );
    assert_eq!(roles(&mut c, "one.example"), all_roles("one.example"));
    assert_eq!(roles(&mut c, "two.example"), all_roles("two.example"));

    import(
        &mut c,
        &a,
        &csv(&["three.example,,,,,,,active"]),
        false,
        false,
    )
    .unwrap();
    assert!(store::domains::by_name(&mut c, "three.example")
        .unwrap()
        .is_some());
    assert_eq!(roles(&mut c, "three.example"), vec![], "skipped");

    import(&mut c, &a, &csv(&["four.example,,,,,,,active"]), true, true).unwrap();
    assert!(store::domains::by_name(&mut c, "four.example")
        .unwrap()
        .is_none());
    assert_eq!(roles(&mut c, "four.example"), vec![], "dry run");

    let before = common::count(&mut c, "aliases");
    let e = import(
        &mut c,
        &a,
        &csv(&["five.example,,,,,,,active", "six.example,,,,2,,,active"]),
        false,
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("line 3") && e.contains("max_aliases"), "{e}");
    assert!(store::domains::by_name(&mut c, "five.example")
        .unwrap()
        .is_none());
    assert_eq!(common::count(&mut c, "aliases"), before, "nothing written");
});

// The TUI: the new-domain form (Role aliases: yes by default, "no" skips)
// and `:import` of a domains file (the same choice).
fn tui_form_and_import(db: common::TestDb) {
    let mut t = Tui::on(db, 80, 24);
    t.login_admin();
    t.command("domains");
    t.char('n');
    t.text("made.example");
    t.enter();
    assert_eq!(
        roles(&mut t.conn, "made.example"),
        all_roles("made.example"),
        "{}",
        t.screen()
    );
    t.char('n');
    t.text("skip.example");
    for _ in 0..7 {
        t.tab();
    }
    assert!(t.screen().contains("Role aliases"), "{}", t.screen());
    t.text("no");
    t.enter();
    assert!(
        store::domains::by_name(&mut t.conn, "skip.example")
            .unwrap()
            .is_some(),
        "{}",
        t.screen()
    );
    assert_eq!(roles(&mut t.conn, "skip.example"), vec![]);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("domains.csv");
    std::fs::write(&file, csv(&["imp.example,,,,,,,active"])).unwrap();
    t.command(&format!("import {}", file.display()));
    assert!(t.screen().contains("Role aliases"), "{}", t.screen());
    t.enter();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(!failed, "{msg}");
    assert_eq!(roles(&mut t.conn, "imp.example"), all_roles("imp.example"));
    std::fs::write(&file, csv(&["imp2.example,,,,,,,active"])).unwrap();
    t.command(&format!("import {}", file.display()));
    t.tab();
    t.tab();
    t.text("no");
    t.enter();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(!failed, "{msg}");
    assert!(store::domains::by_name(&mut t.conn, "imp2.example")
        .unwrap()
        .is_some());
    assert_eq!(roles(&mut t.conn, "imp2.example"), vec![], "skipped");
}

#[test]
fn tui_form_and_import_sqlite() {
    tui_form_and_import(common::TestDb::sqlite());
}

#[test]
fn tui_form_and_import_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        tui_form_and_import(db);
    }
}

// `domain import` through the binary, with and without
// --no-default-aliases.
on_both_backends!(domain_import_cli, |t| {
    const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[security]\nbcrypt_cost = 4\n").unwrap();
    let pw = dir.path().join("admin.pw");
    std::fs::write(&pw, "cli-admin-password-1\n").unwrap();
    let url = t.url_string();
    let init = std::process::Command::new(BIN)
        .env("POSTFIX_MANAGER_CONFIG", &cfg)
        .args(["init", "--database-url", &url, "--admin-password-file"])
        .arg(&pw)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let ok = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .env("POSTFIX_MANAGER_CONFIG", &cfg)
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .stdin(std::process::Stdio::null())
            .args(["--database-url", &url, "--user", "admin", "--password-file"])
            .arg(&pw)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let f = dir.path().join("d.csv");
    std::fs::write(&f, csv(&["cli.example,,,,,,,active"])).unwrap();
    ok(&["domain", "import", &f.display().to_string()]);
    std::fs::write(&f, csv(&["cli2.example,,,,,,,active"])).unwrap();
    ok(&[
        "domain",
        "import",
        "--no-default-aliases",
        &f.display().to_string(),
    ]);
    let mut c = t.conn();
    let n = |c: &mut AnyConnection, d: &str| roles(c, d).len();
    assert_eq!(n(&mut c, "cli.example"), 4);
    assert_eq!(n(&mut c, "cli2.example"), 0);
});
