//! Backups are consistent and integrity-checked even under concurrent
//! writers; restores are all-or-nothing and refused while others use SQLite.

mod common;

use std::path::Path;

use postfix_manager::db::{self, backup, AnyConnection, DbUrl};
use postfix_manager::ops::{self, domains::DomainInput};
use postfix_manager::store::{Filter, Page};

fn names(c: &mut AnyConnection, ctx: &ops::Ctx) -> Vec<String> {
    ops::domains::list(c, ctx, &Filter::default(), &Page::default())
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            n.ends_with(".tmp").then_some(n)
        })
        .collect()
}

on_both_backends!(backup_then_restore_round_trips, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(&mut c, &admin, "kept.example", &DomainInput::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    let r = ops::maintenance::backup(&mut c, &admin, &t.url, &file).unwrap();
    assert!(r.bytes > 0);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // a second backup to the same name is refused, the first one untouched
    assert!(ops::maintenance::backup(&mut c, &admin, &t.url, &file).is_err());
    assert_eq!(std::fs::metadata(&file).unwrap().len(), r.bytes);

    ops::domains::create(&mut c, &admin, "later.example", &DomainInput::default()).unwrap();
    assert_eq!(names(&mut c, &admin), vec!["kept.example", "later.example"]);
    let (rep, mut fresh) = ops::maintenance::restore(c, &admin, &t.url, &file).unwrap();
    assert_eq!(rep.pending_migrations, 0);
    assert_eq!(names(&mut fresh, &admin), vec!["kept.example"]);
    let v = ops::audit::verify(&mut fresh, &admin).unwrap();
    assert!(v.ok(), "{v:?}");
    assert!(leftovers(dir.path()).is_empty());
    if let DbUrl::Sqlite(p) = &t.url {
        assert!(leftovers(p.parent().unwrap()).is_empty());
    }
    // only admins
    let ro = common::user_with_role(&mut fresh, &admin, "viewer", "readonly");
    let other = dir.path().join("other.db");
    assert!(ops::maintenance::backup(&mut fresh, &ro, &t.url, &other).is_err());
    assert!(!other.exists());
});

on_both_backends!(a_bad_backup_changes_nothing, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(&mut c, &admin, "live.example", &DomainInput::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup");
    ops::maintenance::backup(&mut c, &admin, &t.url, &file).unwrap();
    // cut the backup in half: SQLite fails its checks, psql fails mid-way and rolls back
    let bytes = std::fs::read(&file).unwrap();
    let broken = dir.path().join("broken");
    let mut half = bytes[..bytes.len() / 2].to_vec();
    if t.name == "postgres" {
        half.extend_from_slice(b"\nTHIS IS NOT SQL;\n");
    }
    std::fs::write(&broken, half).unwrap();
    ops::domains::create(&mut c, &admin, "after.example", &DomainInput::default()).unwrap();
    let err = ops::maintenance::restore(c, &admin, &t.url, &broken)
        .err()
        .expect("restore must fail");
    eprintln!("refused as expected: {err}");
    let mut c = db::connect(&t.url, false).unwrap();
    assert_eq!(names(&mut c, &admin), vec!["after.example", "live.example"]);
});

#[test]
fn sqlite_restore_is_refused_while_another_process_uses_the_database() {
    let t = common::TestDb::sqlite();
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let DbUrl::Sqlite(path) = &t.url else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.db");
    ops::maintenance::backup(&mut c, &admin, &t.url, &file).unwrap();
    ops::domains::create(&mut c, &admin, "new.example", &DomainInput::default()).unwrap();
    // another process holding the session lock, as every postfix-manager process does
    let lock = db::sessions::lock_path(path);
    let mut other = std::process::Command::new("flock")
        .args(["--shared", "--no-fork"])
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .expect("flock(1) from util-linux");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let err = ops::maintenance::restore(c, &admin, &t.url, &file)
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("other postfix-manager sessions"),
        "{err}"
    );
    other.kill().unwrap();
    other.wait().unwrap();
    let mut c = t.raw();
    assert_eq!(
        names(&mut c, &admin),
        vec!["new.example"],
        "nothing changed"
    );
    // with the other process gone, the same restore goes through
    let (_, mut c) = ops::maintenance::restore(c, &admin, &t.url, &file).unwrap();
    assert!(names(&mut c, &admin).is_empty());
}

#[test]
fn sqlite_backup_under_four_writing_processes_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let dbp = dir.path().join("pm.db");
    let url = DbUrl::Sqlite(dbp.clone());
    std::fs::write(
        dir.path().join("config.toml"),
        "[security]\nbcrypt_cost = 4\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("admin.pw"), "busy-admin-password-1\n").unwrap();
    std::fs::write(dir.path().join("mb.pw"), "mailbox-password-1\n").unwrap();
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
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "init",
        "--database-url",
        dbp.to_str().unwrap(),
        "--admin-password-file",
        "admin.pw",
    ]);
    run(&[
        "--user",
        "admin",
        "--password-file",
        "admin.pw",
        "domain",
        "add",
        "example.com",
        "--quota",
        "0",
    ]);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            std::process::Command::new("sh")
                .current_dir(dir.path())
                .env("POSTFIX_MANAGER_CONFIG", dir.path().join("config.toml"))
                .arg("-c")
                .arg(format!(
                    "for i in $(seq 1 12); do \"{bin}\" --user admin --password-file admin.pw mailbox add w{w}-$i@example.com --quota 1M --new-password-file mb.pw >/dev/null || exit 1; done"
                ))
                .spawn()
                .unwrap()
        })
        .collect();
    let mut c = db::connect(&url, false).unwrap();
    let admin = common::login_as_cli(&mut c, dir.path(), "admin", "busy-admin-password-1");
    // Back up again and again while the writers run.
    let mut snapshots = Vec::new();
    let mut writers = writers;
    while writers.iter_mut().any(|w| w.try_wait().unwrap().is_none()) {
        let f = dir.path().join(format!("snap{}.db", snapshots.len()));
        ops::maintenance::backup(&mut c, &admin, &url, &f).unwrap();
        snapshots.push(f);
    }
    for mut w in writers {
        assert!(w.wait().unwrap().success(), "a writer failed");
    }
    assert!(!snapshots.is_empty());
    for f in snapshots {
        let mut b = db::open_sqlite_file(&f).unwrap();
        assert_eq!(backup::sqlite_integrity(&mut b).unwrap(), "ok");
        // complete and consistent: every mailbox in the snapshot has its audit row and vice versa
        let mailboxes = common::count(&mut b, "mailboxes");
        use diesel::prelude::*;
        use postfix_manager::db::schema::audit_logs;
        let audited: i64 = audit_logs::table
            .filter(audit_logs::action.eq("create"))
            .filter(audit_logs::resource_type.eq("mailbox"))
            .count()
            .get_result(&mut b)
            .unwrap();
        assert_eq!(mailboxes, audited, "{}", f.display());
        eprintln!("{}: {mailboxes} mailboxes", f.display());
        assert!(postfix_manager::ops::audit::verify_chain(&mut b)
            .unwrap()
            .ok());
    }
}
