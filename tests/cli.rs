//! The binary end to end: init, the data commands, exit codes, JSON output,
//! refusal to create files from bad URLs, the pending-migration guard, and
//! two processes writing one SQLite file at once.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use postfix_manager::db::{self, DbUrl};

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const ADMIN_PW: &str = "cli-admin-password-1";

struct Site {
    dir: tempfile::TempDir,
    url: String,
    _db: Option<common::TestDb>,
}

impl Site {
    /// A config with a cheap bcrypt cost, pointed at `url` (None: SQLite in the temp dir).
    fn new(db: Option<common::TestDb>) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let url = match &db {
            Some(t) => t.url_string(),
            None => format!("sqlite://{}", dir.path().join("pm.db").display()),
        };
        std::fs::write(
            dir.path().join("config.toml"),
            "[security]\nbcrypt_cost = 4\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("admin.pw"), format!("{ADMIN_PW}\n")).unwrap();
        std::fs::write(dir.path().join("mailbox.pw"), "mailbox-password-1\n").unwrap();
        Site { dir, url, _db: db }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", self.path("config.toml"))
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .stdin(std::process::Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// As `admin`, expecting success; returns stdout.
    fn admin(&self, args: &[&str]) -> String {
        let mut full = vec!["--user", "admin", "--password-file"];
        let pw = self.path("admin.pw");
        full.push(pw.to_str().unwrap());
        full.extend_from_slice(args);
        let out = self.run(&full);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn init(&self) -> String {
        let pw = self.path("admin.pw");
        let out = self.run(&[
            "init",
            "--database-url",
            &self.url,
            "--admin-password-file",
            pw.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Rewrite the `key = ...` line the config `init` wrote (the first
    /// line starting with `key = `) to `key = value` (TOML).
    fn set(&self, key: &str, value: &str) {
        let file = self.path("config.toml");
        let conf = std::fs::read_to_string(&file).unwrap();
        let mut found = false;
        let lines: Vec<String> = conf
            .lines()
            .map(|l| {
                if !found && l.starts_with(&format!("{key} = ")) {
                    found = true;
                    format!("{key} = {value}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert!(found, "no {key} in {conf}");
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    }

    fn conn(&self) -> postfix_manager::db::AnyConnection {
        db::connect(&DbUrl::parse(&self.url).unwrap(), false).unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn site_for(t: &common::TestDb) -> Site {
    match t.name {
        "postgres" => Site::new(common::TestDb::postgres()),
        _ => Site::new(None),
    }
}

on_both_backends!(init_then_domain_then_mailbox, |t| {
    let s = site_for(t);
    let first = s.init();
    assert!(first.contains("created admin user `admin`"), "{first}");
    let again = s.init();
    assert!(again.contains("nothing changed"), "{again}");

    s.admin(&["domain", "add", "Example.COM", "--quota", "10G"]);
    let mpw = s.path("mailbox.pw");
    s.admin(&[
        "mailbox",
        "add",
        "Alice@example.com",
        "--quota",
        "500M",
        "--new-password-file",
        mpw.to_str().unwrap(),
    ]);

    let listed: serde_json::Value =
        serde_json::from_str(&s.admin(&["mailbox", "list", "--json"])).unwrap();
    assert_eq!(listed["items"][0]["username"], "alice@example.com");
    assert_eq!(listed["items"][0]["quota_limit"], 500 << 20);
    assert!(
        listed["items"][0].get("password_hash").is_none(),
        "hashes never leave the database"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&s.admin(&["domain", "show", "example.com", "--json"])).unwrap();
    assert_eq!(shown["quota_limit"], 10i64 << 30);

    // the rows are really there, each with its audit row
    use diesel::prelude::*;
    use postfix_manager::db::schema::{audit_logs, mailboxes};
    let mut c = s.conn();
    let (addr, hash): (String, String) = mailboxes::table
        .select((mailboxes::username, mailboxes::password_hash))
        .first(&mut c)
        .unwrap();
    assert_eq!(addr, "alice@example.com");
    assert!(postfix_manager::password::verify(
        "mailbox-password-1",
        &hash
    ));
    let audited: Vec<(String, Option<String>, String)> = audit_logs::table
        .filter(audit_logs::action.eq("create"))
        .select((
            audit_logs::action,
            audit_logs::resource_type,
            audit_logs::result,
        ))
        .order(audit_logs::id)
        .load(&mut c)
        .unwrap();
    let kinds: Vec<&str> = audited
        .iter()
        .filter_map(|(_, t, _)| t.as_deref())
        .collect();
    assert_eq!(kinds, vec!["user", "domain", "mailbox"]);

    // exit codes: refused or invalid -> 1, usage -> 2
    let bad = s.run(&[
        "--user",
        "admin",
        "--password-file",
        s.path("admin.pw").to_str().unwrap(),
        "domain",
        "add",
        "bad_domain",
    ]);
    assert_eq!(code(&bad), 1);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("name:"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let json_err = s.run(&[
        "--json",
        "--user",
        "admin",
        "--password-file",
        s.path("admin.pw").to_str().unwrap(),
        "domain",
        "add",
        "bad_domain",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json_err.stdout).unwrap();
    assert_eq!(v["error"]["field"], "name");
    assert_eq!(v["error"]["kind"], "invalid");
    assert_eq!(
        code(&s.run(&["domain", "list"])),
        2,
        "no user given and no terminal"
    );
    assert_eq!(
        code(&s.run(&["domain", "frobnicate"])),
        2,
        "clap usage error"
    );
    let wrong = s.path("wrong.pw");
    std::fs::write(&wrong, "not-the-password\n").unwrap();
    let denied = s.run(&[
        "--user",
        "admin",
        "--password-file",
        wrong.to_str().unwrap(),
        "domain",
        "list",
    ]);
    assert_eq!(code(&denied), 1);
    assert!(String::from_utf8_lossy(&denied.stderr).contains("login failed"));

    // a generated password is printed once and works
    let out = s.admin(&[
        "user",
        "add",
        "carol",
        "--email",
        "carol@example.com",
        "--role",
        "readonly",
        "--generate-password",
    ]);
    let generated = out.rsplit(": ").next().unwrap().trim().to_string();
    assert!(generated.len() >= 20, "{out}");
    std::fs::write(s.path("carol.pw"), &generated).unwrap();
    let ro = s.run(&[
        "--user",
        "carol",
        "--password-file",
        s.path("carol.pw").to_str().unwrap(),
        "mailbox",
        "delete",
        "alice@example.com",
    ]);
    assert_eq!(code(&ro), 1);
    assert!(String::from_utf8_lossy(&ro.stderr).contains("permission denied"));
});

#[test]
fn init_generates_a_password_when_none_is_given() {
    let s = Site::new(None);
    let out = s.run(&["init", "--database-url", &s.url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let pw = text
        .lines()
        .map(str::trim)
        .find(|l| l.len() >= 20 && l.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| panic!("no generated password in {text}"));
    std::fs::write(s.path("gen.pw"), pw).unwrap();
    let ok = s.run(&[
        "--user",
        "admin",
        "--password-file",
        s.path("gen.pw").to_str().unwrap(),
        "domain",
        "list",
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // the config now names the database, and a second init changes nothing
    let cfg = std::fs::read_to_string(s.path("config.toml")).unwrap();
    assert!(cfg.contains(&s.url), "{cfg}");
    let before = std::fs::metadata(s.path("config.toml"))
        .unwrap()
        .modified()
        .unwrap();
    let again = s.run(&["init"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing changed"));
    assert_eq!(
        std::fs::metadata(s.path("config.toml"))
            .unwrap()
            .modified()
            .unwrap(),
        before
    );
}

#[test]
fn init_with_a_bad_password_file_creates_nothing() {
    let s = Site::new(None);
    std::fs::remove_file(s.path("config.toml")).unwrap();
    std::fs::write(s.path("short.pw"), "short\n").unwrap();
    let out = s.run(&[
        "init",
        "--database-url",
        &s.url,
        "--admin-password-file",
        s.path("short.pw").to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin password: must be at least 12"));
    assert!(!s.path("config.toml").exists());
    assert!(!s.path("pm.db").exists());
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_mistyped_url_creates_nothing() {
    let s = Site::new(None);
    let before = files_in(s.dir.path());
    for url in [
        "postgress://localhost/mail",
        "mysql://localhost/mail",
        "sqlite://",
    ] {
        let out = s.run(&[
            "init",
            "--database-url",
            url,
            "--admin-password-file",
            s.path("admin.pw").to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 1, "{url}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("database URL"),
            "{url}"
        );
        let out = s.run(&["--database-url", url, "db", "migrate"]);
        assert_ne!(code(&out), 0, "{url}");
    }
    assert_eq!(files_in(s.dir.path()), before);
    // and a data command never creates a missing SQLite file
    let out = s.run(&[
        "--database-url",
        "sqlite://missing.db",
        "--user",
        "admin",
        "domain",
        "list",
    ]);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert_eq!(files_in(s.dir.path()), before);
}

on_both_backends!(pending_migrations_are_refused, |t| {
    let s = site_for(t);
    s.init();
    // the newest migration drops audit_chain_key, which holds a row once
    // anything was audited: that takes --yes and a backup
    let pre = s.path("pre-rollback.bak");
    s.admin(&["db", "rollback", "--yes", "--backup", pre.to_str().unwrap()]);
    let status = String::from_utf8(s.run(&["db", "status"]).stdout).unwrap();
    assert!(status.contains("[ ]"), "{status}");
    let out = s.run(&[
        "--user",
        "admin",
        "--password-file",
        s.path("admin.pw").to_str().unwrap(),
        "domain",
        "list",
    ]);
    assert_eq!(code(&out), 1);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pending migration") && err.contains("postfix-manager db migrate"),
        "{err}"
    );
    s.admin(&["db", "migrate"]);
    let st: serde_json::Value =
        serde_json::from_slice(&s.run(&["db", "status", "--json"]).stdout).unwrap();
    assert!(st["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["applied"] == true));
});

#[test]
fn two_processes_write_one_sqlite_file_at_once() {
    let s = Site::new(None);
    s.init();
    // 30 mailboxes of 1M fit exactly: a check-then-insert race would let the
    // allotment overshoot or a writer fail with "database is locked".
    s.admin(&[
        "domain",
        "add",
        "example.com",
        "--quota",
        "30M",
        "--max-mailboxes",
        "30",
    ]);
    let script = |prefix: &str| {
        format!(
            "for i in $(seq 1 15); do \"{BIN}\" --user admin --password-file admin.pw mailbox add {prefix}$i@example.com --quota 1M --new-password-file mailbox.pw || echo FAILED $i >&2; done"
        )
    };
    let spawn = |prefix: &str| {
        let mut sh = Command::new("sh");
        sh.current_dir(s.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", s.path("config.toml"))
            .arg("-c")
            .arg(script(prefix))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        sh.spawn().unwrap()
    };
    let a = spawn("a");
    let b = spawn("b");
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("locked"), "{err}");
        assert!(!err.contains("FAILED"), "{err}");
    }
    let v: serde_json::Value = serde_json::from_str(&s.admin(&["stats", "--json"])).unwrap();
    assert_eq!(v["totals"]["total_mailboxes"], 30);
    assert_eq!(v["totals"]["total_limit"], 30 << 20);
    let over = s.run(&[
        "--user",
        "admin",
        "--password-file",
        "admin.pw",
        "mailbox",
        "add",
        "c@example.com",
        "--quota",
        "1M",
        "--new-password-file",
        "mailbox.pw",
    ]);
    assert_eq!(code(&over), 1);
}

#[test]
fn control_sequences_from_the_database_are_not_printed() {
    use diesel::connection::SimpleConnection;
    let s = Site::new(None);
    s.init();
    let mut c = s.conn();
    c.batch_execute(
        "INSERT INTO domains (name, description) VALUES ('evil.example', 'x' || char(27) || ']0;PWNED' || char(7) || char(27) || '[2Jtail');
         INSERT INTO mailboxes (username, domain_id, password_hash, local_part, name)
           SELECT 'bob@evil.example', id, 'h', 'bob', 'Bob' || char(27) || '[31mRED' || char(155) || '2J' FROM domains WHERE name = 'evil.example';",
    )
    .unwrap();
    for args in [
        vec!["domain", "list"],
        vec!["domain", "show", "evil.example"],
        vec!["mailbox", "list"],
        vec!["mailbox", "show", "bob@evil.example"],
    ] {
        let out = s.admin(&args);
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}') && !out.contains('\u{9b}'),
            "{args:?} printed a control character: {out:?}"
        );
        assert!(
            out.contains("PWNED") || out.contains("RED"),
            "{args:?}: the text itself is still shown: {out}"
        );
    }
}

on_both_backends!(quota_check_exits_like_a_nagios_plugin, |t| {
    use diesel::prelude::*;
    use postfix_manager::db::schema::mailboxes;
    let s = site_for(t);
    s.init();
    s.admin(&["domain", "add", "q.example", "--quota", "10G"]);
    let mpw = s.path("mailbox.pw");
    for u in ["hot@q.example", "warm@q.example"] {
        s.admin(&[
            "mailbox",
            "add",
            u,
            "--quota",
            "1000",
            "--new-password-file",
            mpw.to_str().unwrap(),
        ]);
    }
    let pw = s.path("admin.pw");
    let check = |extra: &[&str]| {
        let mut a = vec![
            "--user",
            "admin",
            "--password-file",
            pw.to_str().unwrap(),
            "quota",
            "check",
        ];
        a.extend_from_slice(extra);
        s.run(&a)
    };
    let out = check(&[]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("QUOTA OK"));

    let mut c = s.conn();
    let set = |c: &mut postfix_manager::db::AnyConnection, u: &str, n: i64| {
        diesel::update(mailboxes::table.filter(mailboxes::username.eq(u)))
            .set(mailboxes::quota_used.eq(n))
            .execute(c)
            .unwrap();
    };
    set(&mut c, "warm@q.example", 850);
    let out = check(&["--warn", "80", "--crit", "95"]);
    assert_eq!(code(&out), 1);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.starts_with("QUOTA WARNING: 0 critical"), "{text}");
    assert!(
        text.contains("WARNING  mailbox warm@q.example 85.0%"),
        "{text}"
    );

    set(&mut c, "hot@q.example", 990);
    let out = check(&["--warn", "80", "--crit", "95", "--json"]);
    assert_eq!(code(&out), 2);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "CRITICAL");
    assert_eq!(v["rows"][0]["name"], "hot@q.example");
    assert_eq!(v["rows"][0]["level"], "critical");
    assert_eq!(v["rows"][1]["level"], "warning");

    // A bad threshold is a refusal naming the field, not a check result.
    let out = check(&["--warn", "99", "--crit", "95"]);
    assert_eq!(code(&out), 1);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("warn") && err.contains("--crit"), "{err}");

    // `quota sample` records history the dashboard draws.
    let out = s.admin(&["quota", "sample"]);
    assert!(out.contains("2 mailboxes changed"), "{out}");
});

on_both_backends!(demo_seed_list_all_and_bench, |t| {
    let s = site_for(t);
    s.init();
    let out = s.admin(&[
        "demo",
        "seed",
        "--domains",
        "3",
        "--mailboxes",
        "2500",
        "--aliases",
        "30",
        "--audit",
        "40",
    ]);
    assert!(out.contains("seeded 3 domains, 2500 mailboxes"), "{out}");
    // A second seed needs --yes; the refusal names it and exits non-zero.
    let again = s.run(&[
        "--user",
        "admin",
        "--password-file",
        s.path("admin.pw").to_str().unwrap(),
        "demo",
        "seed",
        "--domains",
        "1",
    ]);
    assert_ne!(code(&again), 0);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("--yes"),
        "{again:?}"
    );
    // --all streams every row (more than one 1000-row page) as one JSON document.
    let all: serde_json::Value =
        serde_json::from_str(&s.admin(&["mailbox", "list", "--all", "--json"])).unwrap();
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2500);
    assert!(all["next"].is_null());
    let names: Vec<&str> = items
        .iter()
        .map(|m| m["username"].as_str().unwrap())
        .collect();
    assert!(
        names.windows(2).all(|w| w[0] < w[1]),
        "in order, no repeats"
    );
    let bench: serde_json::Value =
        serde_json::from_str(&s.admin(&["bench", "--runs", "1", "--json"])).unwrap();
    assert_eq!(bench["scan_rows"], 2500);
    assert!(bench["timings"].as_array().unwrap().len() > 10);
    assert!(s.admin(&["audit", "verify"]).contains("intact"));
});

// Counted nouns are written out ("1 mailbox", "2 aliases"), never
// "mailbox(es)" or "entr(y/ies)".
on_both_backends!(counts_are_written_with_proper_plurals, |t| {
    let s = site_for(t);
    s.init();
    s.admin(&[
        "domain",
        "add",
        "plural.example",
        "--quota",
        "10G",
        "--no-default-aliases",
    ]);
    let mpw = s.path("mailbox.pw");
    s.admin(&[
        "mailbox",
        "add",
        "one@plural.example",
        "--quota",
        "1G",
        "--new-password-file",
        mpw.to_str().unwrap(),
    ]);
    s.admin(&["alias", "add", "a@plural.example", "one@plural.example"]);
    s.admin(&["alias", "add", "b@plural.example", "one@plural.example"]);
    let pw = s.path("admin.pw");
    let out = s.run(&[
        "--user",
        "admin",
        "--password-file",
        pw.to_str().unwrap(),
        "domain",
        "delete",
        "plural.example",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("still has 1 mailbox, 2 aliases and 0 alias domains"),
        "{err}"
    );
    let out = s.admin(&["domain", "delete", "plural.example", "--cascade"]);
    assert!(
        out.contains("with 1 mailbox, 2 aliases, 0 alias domains, 0 permissions"),
        "{out}"
    );
    let out = s.admin(&["quota", "sample"]);
    assert!(!out.contains("(s)") && !out.contains("(es)"), "{out}");
});

// Issue 22 item 6: defaults fit more than one mailbox. A domain added with
// no --quota is unlimited in total, so default-quota mailboxes (1G each)
// keep fitting; the rule is in `domain add --help`.
on_both_backends!(a_default_domain_takes_several_default_mailboxes, |t| {
    let s = site_for(t);
    s.init();
    s.admin(&["domain", "add", "defaults.example"]);
    let mpw = s.path("mailbox.pw");
    for u in ["one", "two", "three"] {
        s.admin(&[
            "mailbox",
            "add",
            &format!("{u}@defaults.example"),
            "--new-password-file",
            mpw.to_str().unwrap(),
        ]);
    }
    let listed: serde_json::Value =
        serde_json::from_str(&s.admin(&["mailbox", "list", "--json"])).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    assert_eq!(listed["items"][0]["quota_limit"], 1i64 << 30);
    let help = s.run(&["domain", "add", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Default on add: unlimited"), "{help}");
});

// Issue 22 item 4: `mail generate` writes the lookup URL (`--lookup-url`,
// else `[mail] database_url`) into the files, never the URL it connects
// with, and does not connect with it (the role below does not even exist).
on_both_backends!(mail_generate_writes_the_lookup_url_not_the_admin_one, |t| {
    let s = site_for(t);
    s.init();
    let (flag_url, flag_mark, conf_url, conf_mark, admin_mark) = if t.name == "postgres" {
        let db = s.url.rsplit('/').next().unwrap().to_string();
        (
            format!("postgres://mailread:flag-Secret-1@127.0.0.1:5432/{db}"),
            "password = flag-Secret-1".to_string(),
            format!("postgres://mailconf:conf-Secret-2@127.0.0.1:5432/{db}"),
            "password = conf-Secret-2".to_string(),
            "user = postgres\n".to_string(),
        )
    } else {
        let (a, b) = (s.path("flag-view.db"), s.path("conf-view.db"));
        std::fs::copy(s.path("pm.db"), &a).unwrap();
        std::fs::copy(s.path("pm.db"), &b).unwrap();
        (
            format!("sqlite://{}", a.display()),
            format!("dbpath = {}", a.display()),
            format!("sqlite://{}", b.display()),
            format!("dbpath = {}", b.display()),
            format!("dbpath = {}\n", s.path("pm.db").display()),
        )
    };
    let maps =
        |dir: &str| std::fs::read_to_string(s.path(dir).join("virtual_mailbox_maps.cf")).unwrap();
    s.admin(&[
        "mail",
        "generate",
        "--out",
        "gen1",
        "--lookup-url",
        &flag_url,
    ]);
    let m = maps("gen1");
    assert!(m.contains(&flag_mark) && !m.contains(&admin_mark), "{m}");

    let mut conf = std::fs::read_to_string(s.path("config.toml")).unwrap();
    // init wrote the whole config, [mail] database_url empty.
    assert!(conf.contains("\ndatabase_url = \"\"\n"), "{conf}");
    conf = conf.replacen(
        "\ndatabase_url = \"\"\n",
        &format!("\ndatabase_url = \"{conf_url}\"\n"),
        1,
    );
    std::fs::write(s.path("config.toml"), conf).unwrap();
    s.admin(&["mail", "generate", "--out", "gen2"]);
    let m = maps("gen2");
    assert!(m.contains(&conf_mark) && !m.contains(&admin_mark), "{m}");
    s.admin(&[
        "mail",
        "generate",
        "--out",
        "gen3",
        "--lookup-url",
        &flag_url,
    ]);
    assert!(
        maps("gen3").contains(&flag_mark),
        "the flag wins over the setting"
    );
});

// Issue 16: the CLI runs the terminal UI's commands and prints their
// outcomes, so a change is said in one sentence wherever it is made (the
// TUI's status line says "alias ... is now suspended" for `s`; tui_keys).
on_both_backends!(the_cli_says_what_the_status_line_says, |t| {
    let s = site_for(t);
    s.init();
    s.admin(&["domain", "add", "said.example", "--no-default-aliases"]);
    let out = s.admin(&["alias", "add", "a@said.example", "x@elsewhere.example"]);
    assert_eq!(out, "created alias a@said.example -> x@elsewhere.example\n");
    let out = s.admin(&[
        "alias",
        "edit",
        "a@said.example",
        "--goto",
        "y@elsewhere.example",
    ]);
    assert_eq!(out, "saved alias a@said.example -> y@elsewhere.example\n");
    let out = s.admin(&["alias", "suspend", "a@said.example"]);
    assert_eq!(out, "alias a@said.example is now suspended\n");
    let out = s.admin(&["alias-domain", "add", "twin.example", "said.example"]);
    assert_eq!(out, "created alias domain twin.example -> said.example\n");
    let out = s.admin(&["alias-domain", "activate", "twin.example"]);
    assert_eq!(out, "alias domain twin.example is now active\n");
    let pw = s.path("mailbox.pw");
    let out = s.admin(&[
        "user",
        "add",
        "helper",
        "--email",
        "helper@said.example",
        "--role",
        "user",
        "--new-password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(
        out.starts_with("created user helper with role user (id "),
        "{out}"
    );
    let out = s.admin(&["user", "suspend", "helper"]);
    assert_eq!(out, "user helper is now suspended\n");
    let out = s.admin(&[
        "permission",
        "grant",
        "helper",
        "said.example",
        "--permissions",
        "mailboxes",
    ]);
    assert_eq!(out, "granted helper on said.example: mailboxes\n");
    let out = s.admin(&["domain", "edit", "said.example", "--description", "kept"]);
    assert!(
        out.starts_with("saved domain said.example (version "),
        "{out}"
    );
    let out = s.admin(&[
        "mailbox",
        "add",
        "m@said.example",
        "--new-password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(
        out.starts_with("created mailbox m@said.example (id "),
        "{out}"
    );
    let out = s.admin(&["mailbox", "suspend", "m@said.example"]);
    assert_eq!(out, "mailbox m@said.example is now suspended\n");
    let out = s.admin(&["--json", "alias", "delete", "a@said.example"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["address"], "a@said.example", "{out}");
    // The rest of the mailbox changes, and `domain add` with its role
    // aliases: the same commands the TUI's forms and keys send.
    s.set("mail_root", &format!("{:?}", s.path("vmail")));
    s.set("purge_command", "\"true\"");
    s.set("rename_command", "\"true\"");
    let out = s.admin(&["domain", "add", "roles.example"]);
    assert_eq!(
        out,
        "created domain roles.example with role aliases postmaster, abuse, hostmaster, webmaster\n"
    );
    s.admin(&[
        "mailbox",
        "add",
        "r@said.example",
        "--new-password-file",
        pw.to_str().unwrap(),
    ]);
    let out = s.admin(&["mailbox", "edit", "r@said.example", "--name", "Arr"]);
    assert!(
        out.starts_with("saved mailbox r@said.example (version "),
        "{out}"
    );
    let out = s.admin(&[
        "mailbox",
        "password",
        "r@said.example",
        "--new-password-file",
        pw.to_str().unwrap(),
    ]);
    assert_eq!(out, "changed the password of mailbox r@said.example\n");
    let out = s.admin(&["mailbox", "rename", "r@said.example", "q@said.example"]);
    let home = s.path("vmail").join("said.example");
    assert_eq!(
        out,
        format!(
            "renamed mailbox r@said.example to q@said.example (home {} -> {}; 0 aliases re-pointed)\n",
            home.join("r").display(),
            home.join("q").display()
        )
    );
    let out = s.admin(&["mailbox", "rename", "--resume"]);
    assert_eq!(out, "no rename was pending\n");
    let out = s.admin(&["mailbox", "delete", "q@said.example"]);
    assert!(
        out.starts_with("deleted mailbox q@said.example (held until ")
            && out.ends_with(" UTC; `mailbox restore` or :deleted brings it back)\n"),
        "{out}"
    );
    let out = s.admin(&["mailbox", "restore", "q@said.example"]);
    assert_eq!(out, "restored mailbox q@said.example\n");
    s.admin(&["mailbox", "delete", "q@said.example"]);
    let out = s.admin(&["mailbox", "purge", "q@said.example"]);
    assert_eq!(
        out,
        format!(
            "purged mailbox q@said.example ({} removed)\n",
            home.join("q").display()
        )
    );
    let out = s.admin(&["mailbox", "purge", "--due"]);
    assert_eq!(out, "purged 0 held mailboxes\n");
    let out = s.admin(&["domain", "suspend", "said.example"]);
    assert_eq!(out, "domain said.example is now suspended\n");
});

// A quota set below what a mailbox holds is saved, with a warning on
// stderr (stdout stays the result, for scripts and --json); a purge of
// due holds that fails for one prints what it did and exits 1.
on_both_backends!(mailbox_outcomes_warn_on_stderr_and_fail_with_exit_1, |t| {
    let s = site_for(t);
    s.init();
    s.set("purge_command", "\"exit 3\"");
    s.admin(&["domain", "add", "w.example", "--no-default-aliases"]);
    let pw = s.path("mailbox.pw");
    s.admin(&[
        "mailbox",
        "add",
        "full@w.example",
        "--quota",
        "10M",
        "--new-password-file",
        pw.to_str().unwrap(),
    ]);
    {
        use diesel::RunQueryDsl;
        let mut c = s.conn();
        diesel::sql_query(
            "UPDATE mailboxes SET quota_used = 5242880 WHERE username = 'full@w.example'",
        )
        .execute(&mut c)
        .unwrap();
    }
    let admin = |args: &[&str]| {
        let pw = s.path("admin.pw");
        let mut full = vec!["--user", "admin", "--password-file", pw.to_str().unwrap()];
        full.extend_from_slice(args);
        s.run(&full)
    };
    let out = admin(&[
        "--json",
        "mailbox",
        "edit",
        "full@w.example",
        "--quota",
        "1M",
    ]);
    assert_eq!(code(&out), 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["quota_limit"], 1 << 20, "{v}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "\nwarning: the quota of full@w.example ({}) is below the {} it holds (500%)",
            postfix_manager::units::human(1 << 20),
            postfix_manager::units::human(5 << 20)
        )),
        "{err}"
    );
    // A hold that is due at once (--now) whose purge command fails stays
    // due; `purge --due` then says so and exits 1.
    let out = admin(&["mailbox", "delete", "full@w.example", "--now", "--yes"]);
    assert_ne!(code(&out), 0, "{out:?}");
    let out = admin(&["mailbox", "purge", "--due"]);
    assert_eq!(code(&out), 1, "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("purged 0 held mailboxes\nnot purged full@w.example: "),
        "{stdout}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: 1 of the due holds could not be purged"),
        "{err}"
    );
});
