//! Managed config files with the real postconf and doveconf: import (with
//! Dovecot includes), versions, diff, apply with backup and rollback, the
//! "changed on disk" guard, and the CLI (`$EDITOR`, a process killed during
//! apply). Both backends.

mod common;
mod mail_harness;

use std::path::Path;
use std::process::Command;

use diesel::prelude::*;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::AnyConnection;
use postfix_manager::mail::configs::{self, ApplyOptions};
use postfix_manager::ops::{mail_configs, Ctx};

const GOOD: &str = "compatibility_level = 3.6\nmyhostname = mail.example.com\n";

fn postfix_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("main.cf"), GOOD).unwrap();
    // postconf warns without a master.cf, and a warning fails the check.
    std::fs::write(d.path().join("master.cf"), "").unwrap();
    d
}

fn import(
    c: &mut AnyConnection,
    a: &Ctx,
    service: &str,
    file: &Path,
) -> Vec<mail_configs::Imported> {
    let files = configs::read_with_includes(service, file).unwrap();
    mail_configs::import(c, a, service, &files).unwrap()
}

fn apply(
    c: &mut AnyConnection,
    a: &Ctx,
    id: i32,
    opts: &ApplyOptions,
) -> Result<
    (
        postfix_manager::db::models::MailServerConfig,
        mail_configs::Applied,
    ),
    postfix_manager::error::OpError,
> {
    mail_configs::apply(c, a, id, |row, active| {
        configs::write_to_disk(row, active, opts)
    })
}

fn check(dir: &Path) -> ApplyOptions {
    ApplyOptions {
        check: Some(format!("postconf -c {} -n >/dev/null", dir.display())),
        ..Default::default()
    }
}

fn audit_results(c: &mut AnyConnection, action: &str) -> Vec<String> {
    audit_logs::table
        .filter(audit_logs::action.eq(action))
        .filter(audit_logs::resource_type.eq("mail_config"))
        .order(audit_logs::id.asc())
        .select(audit_logs::result)
        .load(c)
        .unwrap()
}

on_both_backends!(postfix_config_versions_apply_and_roll_back, |t| {
    if !mail_harness::have(&["postconf"]) {
        return;
    }
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let d = postfix_dir();
    let main = d.path().join("main.cf");
    let v1 = import(&mut c, &a, "postfix", &main);
    assert_eq!(v1.len(), 1);
    assert!(v1[0].new_version && v1[0].version == 1);
    let again = import(&mut c, &a, "postfix", &main);
    assert!(!again[0].new_version, "an unchanged file adds no version");

    // A config postconf rejects is never left on disk.
    let bad =
        mail_configs::edit(&mut c, &a, v1[0].id, &format!("{GOOD}this is garbage\n")).unwrap();
    assert_eq!((bad.version, bad.is_active), (2, false));
    let e = apply(&mut c, &a, bad.id, &check(d.path()))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("check: ") && e.contains("missing '='") && e.contains("restored"),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(&main).unwrap(),
        GOOD,
        "byte for byte the old file"
    );
    assert!(
        mail_configs::get(&mut c, &a, v1[0].id).unwrap().is_active,
        "v1 still the active one"
    );

    // A good edit: diff against disk, apply, backup recorded.
    let good_text = format!("{GOOD}smtpd_banner = $myhostname ESMTP\n");
    let good = mail_configs::edit(&mut c, &a, v1[0].id, &good_text).unwrap();
    assert_eq!(good.version, 3);
    let diff = configs::unified_diff(
        "disk",
        &std::fs::read_to_string(&main).unwrap(),
        "v3",
        &good.config_data,
    );
    assert!(
        diff.contains("+smtpd_banner = $myhostname ESMTP\n"),
        "{diff}"
    );
    let (row, applied) = apply(&mut c, &a, good.id, &check(d.path())).unwrap();
    assert!(row.is_active);
    assert_eq!(std::fs::read_to_string(&main).unwrap(), good_text);
    let backup = applied.backup_file.clone().unwrap();
    assert_eq!(row.backup_file.as_deref(), Some(backup.as_str()));
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        GOOD,
        "backup holds the previous file"
    );
    assert!(!mail_configs::get(&mut c, &a, v1[0].id).unwrap().is_active);

    // Someone edits the file by hand: apply refuses to overwrite it blindly.
    std::fs::write(&main, format!("{good_text}# hand edit\n")).unwrap();
    let e = apply(&mut c, &a, v1[0].id, &check(d.path()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("changed on disk"), "{e}");
    assert!(std::fs::read_to_string(&main)
        .unwrap()
        .ends_with("# hand edit\n"));
    // Rolling back to version 1 on purpose.
    let forced = ApplyOptions {
        force: true,
        ..check(d.path())
    };
    apply(&mut c, &a, v1[0].id, &forced).unwrap();
    assert_eq!(std::fs::read_to_string(&main).unwrap(), GOOD);

    // A failing reload rolls back too.
    let reload_fails = ApplyOptions {
        reload: Some("exit 1".into()),
        ..check(d.path())
    };
    let e = apply(&mut c, &a, good.id, &reload_fails)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("reload: "), "{e}");
    assert_eq!(std::fs::read_to_string(&main).unwrap(), GOOD);

    assert_eq!(
        audit_results(&mut c, "apply"),
        ["refused", "ok", "refused", "ok", "refused"]
    );
    let rows = mail_configs::list(&mut c, &a, Some("postfix"), None, 100).unwrap();
    assert_eq!(rows.len(), 3);

    // Admin-only, reads included: configs hold secrets.
    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    assert!(mail_configs::get(&mut c, &ro, v1[0].id).is_err());
    assert!(mail_configs::list(&mut c, &ro, None, None, 10).is_err());
    assert!(mail_configs::edit(&mut c, &ro, v1[0].id, "x = y\n").is_err());
    // Bad input names the field.
    let e =
        mail_configs::import(&mut c, &a, "exim", &[("/etc/x".into(), String::new())]).unwrap_err();
    assert!(e.to_string().starts_with("service: "), "{e}");
    let e = mail_configs::import(
        &mut c,
        &a,
        "postfix",
        &[("relative/main.cf".into(), String::new())],
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("config_file: "), "{e}");
});

on_both_backends!(dovecot_includes_are_imported_and_checked, |t| {
    if !mail_harness::have(&["doveconf"]) {
        return;
    }
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("dovecot.conf");
    std::fs::create_dir(d.path().join("conf.d")).unwrap();
    std::fs::write(&conf, "protocols =\nssl = no\n!include conf.d/*.conf\n").unwrap();
    let auth = d.path().join("conf.d/10-auth.conf");
    std::fs::write(&auth, "auth_verbose = yes\n").unwrap();
    std::fs::write(
        d.path().join("conf.d/20-log.conf"),
        "log_path = /dev/stderr\n",
    )
    .unwrap();
    let got = import(&mut c, &a, "dovecot", &conf);
    let names: Vec<&str> = got
        .iter()
        .map(|i| i.config_file.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["dovecot.conf", "10-auth.conf", "20-log.conf"]);

    let check = ApplyOptions {
        check: Some(format!("doveconf -n -c {} >/dev/null", conf.display())),
        ..Default::default()
    };
    let bad = mail_configs::edit(&mut c, &a, got[1].id, "auth_verbos = yes\n").unwrap();
    let e = apply(&mut c, &a, bad.id, &check).unwrap_err().to_string();
    assert!(e.contains("Unknown setting"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&auth).unwrap(),
        "auth_verbose = yes\n"
    );
    let ok = mail_configs::edit(&mut c, &a, got[1].id, "auth_verbose = no\n").unwrap();
    apply(&mut c, &a, ok.id, &check).unwrap();
    assert_eq!(
        std::fs::read_to_string(&auth).unwrap(),
        "auth_verbose = no\n"
    );
});

/// The CLI against a database with an admin whose password is in a file.
struct Cli {
    url: String,
    pwfile: tempfile::NamedTempFile,
}

impl Cli {
    fn new(t: &common::TestDb, c: &mut AnyConnection) -> Cli {
        common::admin(c);
        let pwfile = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(pwfile.path(), common::ADMIN_PW).unwrap();
        Cli {
            url: t.url_string(),
            pwfile,
        }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_postfix-manager"));
        cmd.env_remove("POSTFIX_MANAGER_CONFIG")
            .env("POSTFIX_MANAGER_CONFIG", "/nonexistent/config.toml")
            .args([
                "--database-url",
                &self.url,
                "--user",
                "admin",
                "--password-file",
            ])
            .arg(self.pwfile.path())
            .args(args);
        cmd
    }

    fn ok(&self, args: &[&str], editor: Option<&str>) -> String {
        let mut cmd = self.cmd(args);
        if let Some(e) = editor {
            cmd.env("EDITOR", e).env_remove("VISUAL");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

on_both_backends!(cli_edit_diff_and_a_killed_apply, |t| {
    if !mail_harness::have(&["postconf"]) {
        return;
    }
    let mut c = t.conn();
    let cli = Cli::new(t, &mut c);
    let d = postfix_dir();
    let main = d.path().join("main.cf");
    let main_s = main.display().to_string();
    let out = cli.ok(
        &["mail", "config", "import", &main_s, "--service", "postfix"],
        None,
    );
    assert!(
        out.contains("imported") && out.contains("version 1 (id 1)"),
        "{out}"
    );

    // $EDITOR edits a private temp copy; a change is a new version.
    let out = cli.ok(
        &["mail", "config", "edit", "1"],
        Some("sed -i s/mail.example.com/mx.example.com/"),
    );
    assert!(out.contains("version 2 (id 2)"), "{out}");
    let out = cli.ok(&["mail", "config", "edit", "2"], Some("true"));
    assert!(out.contains("no change"), "{out}");
    let diff = cli.ok(&["mail", "config", "diff", "2", "--against-disk"], None);
    assert!(
        diff.contains("-myhostname = mail.example.com\n+myhostname = mx.example.com\n"),
        "{diff}"
    );
    let diff = cli.ok(&["mail", "config", "diff", "2", "--against", "1"], None);
    assert!(diff.contains("+myhostname = mx.example.com"), "{diff}");
    // The file gone from disk: the diff says so instead of labelling an
    // empty text "on disk".
    let moved = d.path().join("main.cf.away");
    std::fs::rename(&main, &moved).unwrap();
    let diff = cli.ok(&["mail", "config", "diff", "2", "--against-disk"], None);
    std::fs::rename(&moved, &main).unwrap();
    assert!(
        diff.contains(&format!("--- {main_s} (not on disk)")) && !diff.contains("(on disk)"),
        "{diff}"
    );
    let show = cli.ok(&["mail", "config", "show", "2"], None);
    assert!(show.contains("myhostname = mx.example.com"), "{show}");
    let list = cli.ok(&["mail", "config", "list"], None);
    assert_eq!(list.lines().count(), 3, "{list}");

    // Killed while its check runs: the file is the old or the new one,
    // byte for byte, never a mix.
    let new_text = std::fs::read_to_string(&main)
        .unwrap()
        .replace("mail.example.com", "mx.example.com");
    let mut child = cli
        .cmd(&["mail", "config", "apply", "2", "--check", "sleep 30"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    child.wait().unwrap();
    let now = std::fs::read_to_string(&main).unwrap();
    assert!(now == GOOD || now == new_text, "half-written: {now:?}");
    let stray: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "temp files left: {stray:?}");

    // Killing left the row inactive (its transaction never committed); after
    // restoring the file by hand the apply goes through.
    std::fs::write(&main, GOOD).unwrap();
    let out = cli.ok(
        &[
            "mail",
            "config",
            "apply",
            "2",
            "--check",
            &format!("postconf -c {} -n", d.path().display()),
        ],
        None,
    );
    assert!(
        out.contains("applied") && out.contains("check passed"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&main).unwrap(), new_text);
});

on_both_backends!(a_rejected_staged_copy_never_touches_the_live_file, |t| {
    if !mail_harness::have(&["postconf"]) {
        return;
    }
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let d = postfix_dir();
    let main = d.path().join("main.cf");
    let v1 = import(&mut c, &a, "postfix", &main);
    let before = std::fs::metadata(&main).unwrap();
    let listing = |dir: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let files_before = listing(d.path());
    let staged = ApplyOptions {
        stage_check: Some(postfix_manager::config::MailConfig::default().postfix_stage_check),
        ..Default::default()
    };
    let bad =
        mail_configs::edit(&mut c, &a, v1[0].id, &format!("{GOOD}this is garbage\n")).unwrap();
    let e = apply(&mut c, &a, bad.id, &staged).unwrap_err().to_string();
    assert!(
        e.contains("the staged copy's check") && e.contains("not touched"),
        "{e}"
    );
    let after = std::fs::metadata(&main).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (before.ino(), before.mtime_nsec()),
        (after.ino(), after.mtime_nsec()),
        "the live file was not replaced"
    );
    assert_eq!(
        listing(d.path()),
        files_before,
        "no backup, no stage left behind"
    );
    // a good one passes the same staged check and is applied
    let good = mail_configs::edit(
        &mut c,
        &a,
        v1[0].id,
        &format!("{GOOD}smtpd_banner = $myhostname ESMTP\n"),
    )
    .unwrap();
    let (_, applied) = apply(&mut c, &a, good.id, &staged).unwrap();
    assert!(
        applied
            .steps
            .iter()
            .any(|s| s.starts_with("staged copy passed")),
        "{:?}",
        applied.steps
    );
    assert_eq!(
        listing(d.path())
            .iter()
            .filter(|n| n.contains("pm-stage"))
            .count(),
        0
    );
});

on_both_backends!(cli_rollback_puts_the_backup_back, |t| {
    if !mail_harness::have(&["postconf"]) {
        return;
    }
    let mut c = t.conn();
    let cli = Cli::new(t, &mut c);
    let d = postfix_dir();
    let main = d.path().join("main.cf");
    let main_s = main.display().to_string();
    cli.ok(
        &["mail", "config", "import", &main_s, "--service", "postfix"],
        None,
    );
    cli.ok(
        &["mail", "config", "edit", "1"],
        Some("sed -i s/mail.example.com/mx.example.com/"),
    );
    let out = cli.ok(&["mail", "config", "apply", "2"], None);
    assert!(out.contains("staged copy passed"), "{out}");
    assert!(std::fs::read_to_string(&main)
        .unwrap()
        .contains("mx.example.com"));
    let out = cli.ok(&["mail", "config", "rollback", "2"], None);
    assert!(
        out.contains("rolled") && out.contains("back to the backup"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&main).unwrap(), GOOD);
});

// A right-to-left override in a path shows it reversed ("/etc/postfix/
// main.cf" read off "fc.niam"): refused like a control character, by
// field, and nothing stored.
on_both_backends!(review_bidi_config_file_path_is_refused, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let files = vec![("/etc/postfix/\u{202E}fc.niam".to_string(), GOOD.to_string())];
    let e = mail_configs::import(&mut c, &a, "postfix", &files)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("config_file") && e.contains("U+202E"),
        "names the field and the character: {e}"
    );
    assert_eq!(common::count(&mut c, "mail_server_configs"), 0);
});
