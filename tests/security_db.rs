//! Issue 14, the database items: schema changes need an admin's login
//! (item 1), the PostgreSQL password never reaches a child's command line
//! (item 3), a restore validates the backup before it replaces anything
//! (item 4), files holding hashes are private from their first byte
//! (item 8), and a database URL's password never shows in an error (item 10).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use postfix_manager::db::{self, AnyConnection, DbUrl};
use postfix_manager::ops::{self, domains::DomainInput};
use postfix_manager::store::{Filter, Page};

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const ADMIN_PW: &str = "secdb-admin-password-1";
const VIEWER_PW: &str = "secdb-viewer-password-1";

/// A config directory for the binary, pointed at `url`.
struct Site {
    dir: tempfile::TempDir,
    url: String,
    path_prefix: Option<PathBuf>,
}

fn private_write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl Site {
    fn new(url: String) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.toml"),
            "[security]\nbcrypt_cost = 4\n",
        )
        .unwrap();
        private_write(&dir.path().join("admin.pw"), &format!("{ADMIN_PW}\n"));
        private_write(&dir.path().join("viewer.pw"), &format!("{VIEWER_PW}\n"));
        private_write(&dir.path().join("wrong.pw"), "not-the-password-1\n");
        Site {
            dir,
            url,
            path_prefix: None,
        }
    }

    fn for_test(t: &common::TestDb) -> Site {
        Site::new(t.url_string())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.current_dir(self.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", self.path("config.toml"))
            .env("POSTFIX_MANAGER_DATABASE_URL", &self.url)
            .env_remove("POSTFIX_MANAGER_USER")
            .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
            .stdin(std::process::Stdio::null());
        if let Some(p) = &self.path_prefix {
            let old = std::env::var("PATH").unwrap_or_default();
            c.env("PATH", format!("{}:{old}", p.display()));
        }
        c.args(args).output().unwrap()
    }

    fn as_user(&self, user: &str, pw_file: &str, args: &[&str]) -> Output {
        let pw = self.path(pw_file);
        let mut full = vec!["--user", user, "--password-file", pw.to_str().unwrap()];
        full.extend_from_slice(args);
        self.run(&full)
    }

    fn admin(&self, args: &[&str]) -> String {
        let out = self.as_user("admin", "admin.pw", args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn init(&self) {
        let pw = self.path("admin.pw");
        let out = self.run(&["init", "--admin-password-file", pw.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "init: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// init, a domain, and a readonly user `viewer`.
    fn populated(&self) {
        self.init();
        self.admin(&["domain", "add", "rows.example", "--quota", "10G"]);
        let vpw = self.path("viewer.pw");
        self.admin(&[
            "user",
            "add",
            "viewer",
            "--email",
            "viewer@example.net",
            "--role",
            "readonly",
            "--new-password-file",
            vpw.to_str().unwrap(),
        ]);
    }

    fn conn(&self) -> AnyConnection {
        db::connect(&DbUrl::parse(&self.url).unwrap(), false).unwrap()
    }

    fn applied(&self) -> usize {
        db::migrate::status(&mut self.conn())
            .unwrap()
            .iter()
            .filter(|m| m.applied)
            .count()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn audit_rows(c: &mut AnyConnection, action: &str, result: &str) -> i64 {
    use postfix_manager::db::schema::audit_logs;
    audit_logs::table
        .filter(audit_logs::action.eq(action))
        .filter(audit_logs::result.eq(result))
        .count()
        .get_result(c)
        .unwrap()
}

// ---------------------------------------------------------------- item 1

on_both_backends!(item01_rollback_requires_admin_login, |t| {
    let s = Site::for_test(t);
    s.populated();
    let all = s.applied();

    // no user, a wrong password, a readonly user: refused, nothing reverted
    let out = s.run(&["db", "rollback"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("--user"), "{}", stderr(&out));
    let out = s.as_user("admin", "wrong.pw", &["db", "rollback"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("login failed"), "{}", stderr(&out));
    let out = s.as_user("viewer", "viewer.pw", &["db", "rollback"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("needs role admin"),
        "{}",
        stderr(&out)
    );
    assert_eq!(s.applied(), all, "nothing was reverted");
    assert_eq!(audit_rows(&mut s.conn(), "rollback", "refused"), 1);
    assert!(s.admin(&["domain", "list"]).contains("rows.example"));

    // as admin: migrations that drop no table holding rows revert at once,
    // until one would (quota_watch counts the domain, user_preferences...)
    let mut reverted = 0;
    let refusal = loop {
        let out = s.as_user("admin", "admin.pw", &["db", "rollback"]);
        if !out.status.success() {
            break stderr(&out);
        }
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("reverted"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        reverted += 1;
        assert!(reverted < all, "every rollback went through without --yes");
    };
    assert!(
        refusal.contains("drops tables holding rows") && refusal.contains("--yes"),
        "{refusal}"
    );
    let level = s.applied();
    assert_eq!(level, all - reverted);
    // the first table named in the refusal, e.g. "quota_watch (1 rows)"
    let table = refusal
        .split("holding rows: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .to_string();
    let rows_before = common::count(&mut s.conn(), &table);
    assert!(rows_before > 0);

    // --yes alone, --backup alone, --backup to an existing file: refused
    let backup = s.path("before-rollback.bak");
    let existing = s.path("existing.bak");
    std::fs::write(&existing, "keep me").unwrap();
    for args in [
        vec!["db", "rollback", "--yes"],
        vec!["db", "rollback", "--backup", backup.to_str().unwrap()],
        vec![
            "db",
            "rollback",
            "--yes",
            "--backup",
            existing.to_str().unwrap(),
        ],
    ] {
        let out = s.as_user("admin", "admin.pw", &args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(s.applied(), level, "{args:?} changed the schema");
        assert_eq!(common::count(&mut s.conn(), &table), rows_before);
    }
    assert!(!backup.exists());
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");

    // with both: the backup is written first, and holds the dropped rows
    let out = s.admin(&[
        "db",
        "rollback",
        "--yes",
        "--backup",
        backup.to_str().unwrap(),
    ]);
    assert!(out.contains("backup written to"), "{out}");
    assert_eq!(s.applied(), level - 1);
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    if t.name == "sqlite" {
        let mut b = db::open_sqlite_file(&backup).unwrap();
        assert_eq!(common::count(&mut b, &table), rows_before);
    } else {
        let text = std::fs::read_to_string(&backup).unwrap();
        let copy = format!("COPY public.{table} ");
        let at = text
            .find(&copy)
            .expect("the dropped table is in the backup");
        let data = text[at..].lines().nth(1).unwrap();
        assert_ne!(data, "\\.", "the dropped table's rows are in the backup");
    }
    let mut c = s.conn();
    assert!(audit_rows(&mut c, "rollback", "ok") > reverted as i64);
    assert!(audit_rows(&mut c, "rollback", "refused") >= 2);
});

on_both_backends!(item01_migrate_needs_an_admin_once_there_is_one, |t| {
    let s = Site::for_test(t);
    // an empty database: nobody to log in as, migrate stays open
    let out = s.run(&["db", "migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    s.populated();
    // the newest migration (issue 14 item 5) drops audit_chain_key, which
    // holds a row once anything was audited: that takes --yes and a backup
    let pre = s.path("pre-rollback.bak");
    s.admin(&["db", "rollback", "--yes", "--backup", pre.to_str().unwrap()]);
    let behind = s.applied();
    for out in [
        s.run(&["db", "migrate"]),
        s.as_user("admin", "wrong.pw", &["db", "migrate"]),
        s.as_user("viewer", "viewer.pw", &["db", "migrate"]),
    ] {
        assert_ne!(out.status.code(), Some(0));
        assert_eq!(s.applied(), behind, "{}", stderr(&out));
    }
    s.admin(&["db", "migrate"]);
    assert_eq!(s.applied(), behind + 1);
    assert_eq!(audit_rows(&mut s.conn(), "migrate", "ok"), 1);
    // restore, too, is an admin's
    let file = s.path("b.bak");
    s.admin(&["db", "backup", file.to_str().unwrap()]);
    for out in [
        s.run(&["db", "restore", file.to_str().unwrap()]),
        s.as_user(
            "viewer",
            "viewer.pw",
            &["db", "restore", file.to_str().unwrap()],
        ),
    ] {
        assert_ne!(out.status.code(), Some(0));
    }
    assert_eq!(audit_rows(&mut s.conn(), "restore", "refused"), 1);
});

// ---------------------------------------------------------------- item 3

/// A directory holding `pg_dump` and `psql` wrappers that log their own
/// command line (/proc/self/cmdline, what `ps` shows), the passfile they
/// were given and its mode, and the mode of their --file before they write
/// it, then run the real program.
fn logging_wrappers(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.join("children.log");
    for prog in ["pg_dump", "psql"] {
        let real = String::from_utf8(
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {prog}"))
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let script = format!(
            r#"#!/bin/sh
{{
  printf 'CMDLINE '; tr '\0' ' ' < /proc/$$/cmdline; echo
  echo "PGPASSWORD=${{PGPASSWORD:-unset}}"
  if [ -n "$PGPASSFILE" ]; then echo "PASSFILE $PGPASSFILE $(stat -c %a "$PGPASSFILE")"; fi
  for a in "$@"; do case "$a" in --file=*) f="${{a#--file=}}"; [ -e "$f" ] && echo "FILEMODE {prog} $(stat -c %a "$f")";; esac; done
}} >> '{}'
exec {} "$@"
"#,
            log.display(),
            real.trim()
        );
        let p = bin.join(prog);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn item03_pg_password_not_in_argv() {
    let Some(t) = common::TestDb::postgres() else {
        return;
    };
    let base = std::env::var(common::PG_ENV).unwrap();
    let role = format!("pm_item03_{}", std::process::id());
    let secret = "Item03-Secret-Pw-x7Q";
    let mut root = diesel::PgConnection::establish(&base).unwrap();
    root.batch_execute(&format!(
        "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{secret}'"
    ))
    .unwrap();
    // postgres://ROLE@host:port/db, with the password given two ways
    let DbUrl::Postgres(u) = &t.url else {
        unreachable!()
    };
    let (scheme, rest) = u.split_once("://").unwrap();
    let host_db = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
    let bare = format!("{scheme}://{role}@{host_db}");
    let with_pw = format!("{scheme}://{role}:{secret}@{host_db}");

    let mut s = Site::new(with_pw.clone());
    s.init();
    let bin = logging_wrappers(s.dir.path());
    s.path_prefix = Some(bin);
    let log = s.path("children.log");

    // 1. the password in the URL
    let f1 = s.path("one.sql");
    s.admin(&["db", "backup", f1.to_str().unwrap()]);
    s.admin(&["db", "restore", f1.to_str().unwrap()]);
    // 2. the password in database.password_file (no URL override)
    private_write(&s.path("db.pw"), &format!("{secret}\n"));
    std::fs::write(
        s.path("config.toml"),
        format!(
            "[security]\nbcrypt_cost = 4\n\n[database]\nurl = \"{bare}\"\npassword_file = \"{}\"\n",
            s.path("db.pw").display()
        ),
    )
    .unwrap();
    s.url = String::new();
    let f2 = s.path("two.sql");
    let run_cfg = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.current_dir(s.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", s.path("config.toml"))
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    s.path_prefix.as_ref().unwrap().display(),
                    std::env::var("PATH").unwrap()
                ),
            )
            .args(["--user", "admin", "--password-file"])
            .arg(s.path("admin.pw"))
            .args(args);
        let out = c.output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    };
    run_cfg(&["db", "backup", f2.to_str().unwrap()]);
    run_cfg(&["db", "restore", f2.to_str().unwrap()]);

    let text = std::fs::read_to_string(&log).unwrap();
    eprintln!("{text}");
    let cmdlines: Vec<&str> = text.lines().filter(|l| l.starts_with("CMDLINE")).collect();
    assert!(cmdlines.iter().filter(|l| l.contains("pg_dump")).count() >= 2);
    assert!(cmdlines.iter().filter(|l| l.contains("psql")).count() >= 2);
    assert!(
        !text.contains(secret),
        "the password reached a child's command line or environment"
    );
    let passfiles: Vec<&str> = text.lines().filter(|l| l.starts_with("PASSFILE")).collect();
    assert_eq!(
        passfiles.len(),
        cmdlines.len(),
        "every child got a passfile"
    );
    for p in passfiles {
        let mut parts = p.split(' ');
        let path = parts.nth(1).unwrap();
        assert_eq!(parts.next(), Some("600"), "{p}");
        assert!(!Path::new(path).exists(), "passfile {path} left behind");
    }
    drop(s);
    drop(t);
    let _ = root.batch_execute(&format!("DROP ROLE IF EXISTS {role}"));
}

// ---------------------------------------------------------------- item 4

fn names(c: &mut AnyConnection, ctx: &ops::Ctx) -> Vec<String> {
    ops::domains::list(c, ctx, &Filter::default(), &Page::default())
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect()
}

/// A live database with a domain, its backup, and a check that a refused
/// restore of `trojan` left the live data alone.
struct Live {
    admin: ops::Ctx,
    dir: tempfile::TempDir,
    backup: PathBuf,
}

fn live(t: &common::TestDb) -> Live {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(&mut c, &admin, "live.example", &DomainInput::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("good.bak");
    ops::maintenance::backup(&mut c, &admin, &t.url, &backup).unwrap();
    // written after the backup: a restore would lose it
    ops::domains::create(&mut c, &admin, "after.example", &DomainInput::default()).unwrap();
    Live { admin, dir, backup }
}

/// Restore `trojan`, expect a refusal mentioning `why`, and the live data
/// unchanged (both domains, an intact audit chain, no temporary files).
fn refused(t: &common::TestDb, l: &Live, trojan: &Path, why: &str) -> String {
    let c = db::connect(&t.url, false).unwrap();
    let err = ops::maintenance::restore(c, &l.admin, &t.url, trojan)
        .err()
        .expect("the trojan must be refused")
        .to_string();
    assert!(err.contains(why), "expected {why:?} in: {err}");
    assert!(err.contains("nothing was changed"), "{err}");
    let mut c = db::connect(&t.url, false).unwrap();
    assert_eq!(
        names(&mut c, &l.admin),
        vec!["after.example", "live.example"]
    );
    let chain = ops::audit::verify_chain(&mut c).unwrap();
    assert!(chain.ok(), "{chain:?}");
    if let DbUrl::Sqlite(p) = &t.url {
        let tmp: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .filter_map(|e| {
                let n = e.unwrap().file_name().to_string_lossy().into_owned();
                n.ends_with(".tmp").then_some(n)
            })
            .collect();
        assert!(tmp.is_empty(), "{tmp:?}");
    }
    eprintln!("refused as expected: {err}");
    err
}

/// A copy of the SQLite backup with `sql` run on it.
fn sqlite_trojan(l: &Live, name: &str, sql: &str) -> PathBuf {
    let p = l.dir.path().join(name);
    std::fs::copy(&l.backup, &p).unwrap();
    let mut c = db::open_sqlite_file(&p).unwrap();
    c.batch_execute(sql).unwrap();
    p
}

/// A copy of the PostgreSQL dump with `sql` appended.
fn pg_trojan(l: &Live, name: &str, sql: &str) -> PathBuf {
    let p = l.dir.path().join(name);
    let mut text = std::fs::read_to_string(&l.backup).unwrap();
    text.push_str(sql);
    std::fs::write(&p, text).unwrap();
    p
}

fn trojan(t: &common::TestDb, l: &Live, name: &str, sqlite: &str, pg: &str) -> PathBuf {
    if t.name == "sqlite" {
        sqlite_trojan(l, name, sqlite)
    } else {
        pg_trojan(l, name, pg)
    }
}

#[test]
fn item04_restore_refuses_an_empty_sqlite_file() {
    let t = common::TestDb::sqlite();
    let l = live(&t);
    let empty = l.dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    refused(&t, &l, &empty, "no migration history");
}

on_both_backends!(
    item04_restore_refuses_an_extra_trigger_escalating_role,
    |t| {
        let l = live(t);
        let bad = trojan(
        t,
        &l,
        "escalate.bak",
        "CREATE TRIGGER escalate AFTER INSERT ON audit_logs BEGIN UPDATE users SET role = 'admin'; END;",
        "\nCREATE FUNCTION public.escalate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE public.users SET role = 'admin'; RETURN NEW; END $$;\nCREATE TRIGGER escalate AFTER INSERT ON public.audit_logs FOR EACH ROW EXECUTE FUNCTION public.escalate();\n",
    );
        let err = refused(t, &l, &bad, "unexpected trigger");
        assert!(err.contains("escalate"), "{err}");
        // the untouched backup still restores
        let c = db::connect(&t.url, false).unwrap();
        let (_, mut c) = ops::maintenance::restore(c, &l.admin, &t.url, &l.backup).unwrap();
        assert_eq!(names(&mut c, &l.admin), vec!["live.example"]);
    }
);

on_both_backends!(item04_restore_refuses_dropped_audit_triggers, |t| {
    let l = live(t);
    let bad = trojan(
        t,
        &l,
        "no-audit-triggers.bak",
        "DROP TRIGGER audit_logs_no_update; DROP TRIGGER audit_logs_no_delete;",
        "\nDROP TRIGGER audit_logs_no_update ON public.audit_logs;\nDROP TRIGGER audit_logs_no_delete ON public.audit_logs;\n",
    );
    let err = refused(t, &l, &bad, "missing trigger");
    assert!(err.contains("audit_logs_no_update"), "{err}");
});

#[derive(QueryableByName)]
struct Sql {
    #[diesel(sql_type = diesel::sql_types::Text)]
    sql: String,
}

on_both_backends!(item04_restore_refuses_a_broken_audit_chain, |t| {
    let l = live(t);
    // edit a row behind the append-only trigger's back, then put the
    // trigger back exactly as it was: the schema matches, the chain not
    let sqlite = if t.name == "sqlite" {
        let mut g = db::open_sqlite_file(&l.backup).unwrap();
        let orig: Sql =
            diesel::sql_query("SELECT sql FROM sqlite_master WHERE name = 'audit_logs_no_update'")
                .get_result(&mut g)
                .unwrap();
        format!(
            "DROP TRIGGER audit_logs_no_update; UPDATE audit_logs SET details = '{{}}' WHERE id = 1; {};",
            orig.sql
        )
    } else {
        String::new()
    };
    let bad = trojan(
        t,
        &l,
        "edited-audit.bak",
        &sqlite,
        "\nALTER TABLE public.audit_logs DISABLE TRIGGER audit_logs_no_update;\nUPDATE public.audit_logs SET details = '{}' WHERE id = 1;\nALTER TABLE public.audit_logs ENABLE TRIGGER audit_logs_no_update;\n",
    );
    refused(t, &l, &bad, "audit chain does not verify");
});

on_both_backends!(
    item04_restore_refuses_a_backup_without_an_active_admin,
    |t| {
        let l = live(t);
        let bad = trojan(
            t,
            &l,
            "no-admin.bak",
            "UPDATE users SET is_active = 0;",
            "\nUPDATE public.users SET is_active = false;\n",
        );
        refused(t, &l, &bad, "no active admin");
    }
);

on_both_backends!(item04_restore_refuses_an_unknown_migration, |t| {
    let l = live(t);
    let bad = trojan(
        t,
        &l,
        "future.bak",
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000');",
        "\nINSERT INTO public.__diesel_schema_migrations (version) VALUES ('29991231000000');\n",
    );
    refused(t, &l, &bad, "does not know (29991231000000)");
});

#[test]
fn item04_restore_refuses_an_empty_pg_sql() {
    let Some(t) = common::TestDb::postgres() else {
        return;
    };
    let l = live(&t);
    let empty = l.dir.path().join("empty.sql");
    std::fs::write(&empty, b"").unwrap();
    refused(&t, &l, &empty, "no migration history");
}

#[test]
fn item04_restore_refuses_pg_drop_table_mailboxes() {
    let Some(t) = common::TestDb::postgres() else {
        return;
    };
    let l = live(&t);
    // alone: it runs in a scratch database, which then has no history
    let alone = l.dir.path().join("drop-alone.sql");
    std::fs::write(&alone, "DROP TABLE public.mailboxes CASCADE;\n").unwrap();
    refused(&t, &l, &alone, "refusing to restore");
    // the live table is still there (count would fail otherwise)
    common::count(&mut t.raw(), "mailboxes");
    // after a whole dump: the schema check misses the table
    let bad = pg_trojan(&l, "drop.sql", "\nDROP TABLE public.mailboxes CASCADE;\n");
    let err = refused(&t, &l, &bad, "missing table public.mailboxes");
    assert!(err.contains("schema is not what"), "{err}");
}

#[test]
fn item04_restore_refuses_psql_meta_commands() {
    let Some(t) = common::TestDb::postgres() else {
        return;
    };
    let l = live(&t);
    let marker = l.dir.path().join("shell-ran");
    let bad = pg_trojan(
        &l,
        "shell.sql",
        &format!("\n\\! touch {}\n", marker.display()),
    );
    refused(&t, &l, &bad, "does not load");
    assert!(!marker.exists(), "the file ran a shell command");
}

// ---------------------------------------------------------------- item 8

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn item08_init_creates_a_private_database() {
    let top = tempfile::tempdir().unwrap();
    let db = top.path().join("var/pm/pm.db");
    let s = Site::new(format!("sqlite://{}", db.display()));
    s.init();
    s.admin(&["domain", "add", "files.example"]);
    assert_eq!(mode(&db), 0o600);
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    assert_eq!(mode(&top.path().join("var")), 0o700);
    // WAL files take the database's mode; look while a connection holds them
    let _c = s.conn();
    for ext in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{ext}", db.display()));
        if p.exists() {
            assert_eq!(mode(&p) & 0o077, 0, "{}", p.display());
        }
    }
    // a setgid directory shared with the mail servers' group
    // (docs/mail-server-setup.md): the file is 0660 for that group
    let shared = top.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let db2 = shared.join("pm.db");
    let s2 = Site::new(format!("sqlite://{}", db2.display()));
    s2.init();
    assert_eq!(mode(&db2), 0o660);
}

on_both_backends!(item08_backup_leftovers_are_swept_on_the_next_run, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let dir = tempfile::tempdir().unwrap();
    // left by a backup to another name whose process was killed (no such PID)
    let stale = dir.path().join(".nightly.db.backup-4194304999.tmp");
    std::fs::write(&stale, "password hashes").unwrap();
    let mine = dir.path().join(".nightly.db.backup-1.tmp"); // PID 1 lives
    std::fs::write(&mine, "not ours to remove").unwrap();
    let target = dir.path().join("today.bak");
    ops::maintenance::backup(&mut c, &admin, &t.url, &target).unwrap();
    assert!(!stale.exists(), "the leftover was not swept");
    assert!(mine.exists());
    assert_eq!(mode(&target), 0o600);
});

#[test]
fn item08_pg_backup_temp_file_is_0600_from_the_first_byte() {
    let Some(t) = common::TestDb::postgres() else {
        return;
    };
    let mut s = Site::for_test(&t);
    s.init();
    s.path_prefix = Some(logging_wrappers(s.dir.path()));
    let f = s.path("b.sql");
    s.admin(&["db", "backup", f.to_str().unwrap()]);
    let log = std::fs::read_to_string(s.path("children.log")).unwrap();
    assert!(
        log.lines().any(|l| l == "FILEMODE pg_dump 600"),
        "pg_dump's output file did not exist 0600 before it wrote: {log}"
    );
}

#[test]
fn item08_password_files_readable_by_others_are_warned_about() {
    let t = common::TestDb::sqlite();
    let s = Site::for_test(&t);
    s.init();
    let out = s.as_user("admin", "admin.pw", &["domain", "list"]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    std::fs::set_permissions(s.path("admin.pw"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = s.as_user("admin", "admin.pw", &["domain", "list"]);
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("admin.pw") && err.contains("other users"),
        "{err}"
    );
    std::fs::set_permissions(s.path("admin.pw"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = stderr(&s.as_user("admin", "admin.pw", &["domain", "list"]));
    assert!(err.contains("its group"), "{err}");
}

// ---------------------------------------------------------------- item 10

on_both_backends!(item10_url_password_redacted, |t| {
    let pw = "Item10-Secret-PW";
    let s = Site::for_test(t);
    // a typo in the scheme, an unreachable server, a password holding '/'
    let urls = match t.name {
        "sqlite" => vec![
            format!("postgress://u:{pw}@h/db"),
            format!("mysql://root:{pw}@db.example/mail"),
        ],
        _ => vec![
            format!("postgres://u:{pw}@127.0.0.1:1/db"),
            format!("postgres://u:{pw}/x@127.0.0.1:1/db"),
            format!("postgres://127.0.0.1:1/db?user=u&password={pw}"),
        ],
    };
    for url in urls {
        for json in [false, true] {
            let mut args = vec!["--database-url", url.as_str()];
            if json {
                args.push("--json");
            }
            args.extend(["--user", "admin", "domain", "list"]);
            let out = s.run(&args);
            assert_ne!(out.status.code(), Some(0));
            let all = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
            assert!(!all.contains(pw), "{url}: {all}");
            assert!(all.contains("***"), "{url}: {all}");
        }
        let out = s.run(&["--database-url", url.as_str(), "db", "status"]);
        assert!(!stderr(&out).contains(pw), "{}", stderr(&out));
    }
});
