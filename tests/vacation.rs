//! Issue 20, vacation replies: the rules and the audit of `mailbox vacation
//! set|show|off` (ops and the binary), the install/remove command run in
//! the transaction (a failing command rolls the row back and names itself
//! and its stderr), the generated script compiled by `sievec` with hostile
//! text, and a real Dovecot (LMTP + Pigeonhole, wired with the generated
//! dovecot-postfix-manager.conf and dovecot-sieve.conf) answering through
//! a real Postfix into a capture sink: one reply per sender and interval,
//! none before `from` or after `until`, none to excluded senders or
//! mailing lists, none after `off`, and the user's own active script left
//! active and still filing. Both backends. Needs Debian's dovecot-sieve
//! and postfix (.ci/install-mail-servers); skips otherwise, fails under
//! CI=true.

mod common;
mod mail_harness;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta, Utc};
use diesel::prelude::*;
use mail_harness::servers::{daemon_start as quiet, free_ports, wait_port, Servers};
use postfix_manager::db::schema::{audit_logs, vacations};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::Perm;
use postfix_manager::ops::mailboxes::NewMailbox;
use postfix_manager::ops::vacation::{self, SetVacation};
use postfix_manager::ops::{self, Ctx};

const PW: &str = "mailbox-password-1";
const ALICE: &str = "alice@example.com";

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str) {
    ops::mailboxes::create(
        c,
        a,
        &NewMailbox {
            address: addr.into(),
            password: PW.into(),
            quota: Some(100 << 20),
            name: None,
        },
    )
    .unwrap();
}

fn world(c: &mut AnyConnection, a: &Ctx) {
    ops::domains::create(c, a, "example.com", &Default::default()).unwrap();
    ops::domains::create(c, a, "other.example", &Default::default()).unwrap();
    mailbox(c, a, ALICE);
    mailbox(c, a, "olga@other.example");
    ops::aliases::create(c, a, "info@example.com", ALICE, None).unwrap();
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn req(subject: &str, body: &str) -> SetVacation {
    SetVacation {
        address: ALICE.into(),
        subject: subject.into(),
        body: body.into(),
        days: 7,
        ..SetVacation::default()
    }
}

/// An admin whose install command copies the script (stdin and PM_SCRIPT)
/// into `dir` and whose remove command deletes it.
fn admin_recording(c: &mut AnyConnection, dir: &Path) -> Ctx {
    let mut a = common::admin(c);
    let d = dir.display();
    a.policy.vacation.install_command = format!(
        "cat > \"{d}/$PM_USER.stdin\" && cp \"$PM_SCRIPT\" \"{d}/$PM_USER.file\" && echo \"$PM_SCRIPT_NAME $PM_HOME\" > \"{d}/$PM_USER.env\""
    );
    a.policy.vacation.remove_command = format!("rm -f \"{d}/$PM_USER.stdin\"");
    a.policy.lifecycle.mail_root = "/srv/vmail".into();
    a
}

fn audit(c: &mut AnyConnection) -> Vec<(String, String)> {
    audit_logs::table
        .filter(audit_logs::resource_type.eq("vacation"))
        .order(audit_logs::id.asc())
        .select((audit_logs::action, audit_logs::result))
        .load(c)
        .unwrap()
}

fn row(c: &mut AnyConnection) -> Option<(bool, String)> {
    vacations::table
        .select((vacations::enabled, vacations::subject))
        .first(c)
        .optional()
        .unwrap()
}

on_both_backends!(set_show_off_install_and_remove_the_script, |t| {
    let mut c = t.conn();
    let dir = tempfile::tempdir().unwrap();
    let a = admin_recording(&mut c, dir.path());
    world(&mut c, &a);
    let d = dir.path();

    assert!(vacation::show(&mut c, &a, ALICE).unwrap().is_none());
    let v = vacation::set(
        &mut c,
        &a,
        &SetVacation {
            from: today().checked_sub_days(chrono::Days::new(1)),
            until: today().checked_add_days(chrono::Days::new(10)),
            excludes: vec!["Boss@Example.org".into(), "@lists.example".into()],
            ..req("Away until the 10th", "I am away.\nBack soon.\n")
        },
    )
    .unwrap();
    assert_eq!(v.state, "on");
    assert_eq!(
        v.vacation.exclude_list(),
        ["boss@example.org", "@lists.example"]
    );
    let stdin = std::fs::read_to_string(d.join(format!("{ALICE}.stdin"))).unwrap();
    let file = std::fs::read_to_string(d.join(format!("{ALICE}.file"))).unwrap();
    assert_eq!(stdin, file, "the same script on stdin and in PM_SCRIPT");
    assert!(
        stdin.contains("vacation :days 7 :subject \"Away until the 10th\""),
        "{stdin}"
    );
    // The mailbox and the alias that leads to it.
    assert!(
        stdin.contains(":addresses [\"alice@example.com\", \"info@example.com\"]"),
        "{stdin}"
    );
    assert!(
        stdin.contains("not envelope :all :is \"from\" [\"boss@example.org\"]"),
        "{stdin}"
    );
    let env = std::fs::read_to_string(d.join(format!("{ALICE}.env"))).unwrap();
    assert_eq!(
        env.trim(),
        "postfix-manager-vacation /srv/vmail/example.com/alice"
    );
    let shown = vacation::show(&mut c, &a, ALICE).unwrap().unwrap();
    assert_eq!(shown.vacation.body, "I am away.\nBack soon.");

    // Dates decide the state shown; the script decides delivery.
    let later = vacation::set(
        &mut c,
        &a,
        &SetVacation {
            from: today().checked_add_days(chrono::Days::new(3)),
            ..req("Away", "Later.")
        },
    )
    .unwrap();
    assert_eq!(later.state, "scheduled");
    assert_eq!(later.vacation.version, 2);

    let off = vacation::off(&mut c, &a, ALICE).unwrap().unwrap();
    assert_eq!(off.state, "off");
    assert!(!d.join(format!("{ALICE}.stdin")).exists(), "removed");
    assert_eq!(row(&mut c), Some((false, "Away".to_string())), "text kept");
    // Off again: the remove command runs again (a leftover goes too).
    vacation::off(&mut c, &a, ALICE).unwrap();
    // Never set: the remove command still runs (a restored mailbox's
    // leftover script), and there is no row to show.
    std::fs::write(d.join("olga@other.example.stdin"), "left over").unwrap();
    assert!(vacation::off(&mut c, &a, "olga@other.example")
        .unwrap()
        .is_none());
    assert!(!d.join("olga@other.example.stdin").exists());
    let e = vacation::off(&mut c, &a, "nobody@example.com").unwrap_err();
    assert!(matches!(e, OpError::NotFound { .. }), "{e}");
    assert_eq!(
        audit(&mut c),
        [
            ("update".to_string(), "ok".to_string()),
            ("update".into(), "ok".into()),
            ("suspend".into(), "ok".into()),
            ("suspend".into(), "ok".into()),
            ("suspend".into(), "ok".into()),
            ("suspend".into(), "refused".into()),
        ]
    );

    // A stale form (version) is refused.
    let e = vacation::set(
        &mut c,
        &a,
        &SetVacation {
            version: Some(1),
            ..req("x", "y")
        },
    )
    .unwrap_err();
    assert!(matches!(e, OpError::Conflict(_)), "{e}");

    // Deleting the mailbox takes the row along.
    ops::mailboxes::delete(&mut c, &a, ALICE).unwrap();
    assert_eq!(row(&mut c), None);
});

// The hold takes the vacation row with the mailbox; a restore must not
// leave its script in the home, where sieve_before would keep replying
// while `vacation show` says none is set. A failing remove command undoes
// the restore.
on_both_backends!(a_restore_removes_the_held_mailbox_s_vacation_script, |t| {
    let mut c = t.conn();
    let root = tempfile::tempdir().unwrap();
    let mut a = common::admin(&mut c);
    a.policy.lifecycle.mail_root = root.path().display().to_string();
    a.policy.vacation.install_command = "true".into();
    a.policy.vacation.remove_command = "rm -f \"$PM_HOME/sieve/$PM_SCRIPT_NAME.sieve\"".into();
    world(&mut c, &a);
    vacation::set(&mut c, &a, &req("Away", "Back soon")).unwrap();
    let home = ops::deleted::home(&a.policy.lifecycle.mail_root, "example.com", "alice").unwrap();
    let script = home.join("sieve").join("postfix-manager-vacation.sieve");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, "# as doveadm sieve put left it\n").unwrap();

    ops::mailboxes::delete(&mut c, &a, ALICE).unwrap();
    assert!(row(&mut c).is_none(), "the row follows the mailbox");
    let mut failing = a.clone();
    failing.policy.vacation.remove_command = "echo cannot >&2; exit 3".into();
    let e = ops::deleted::restore(&mut c, &failing, ALICE).unwrap_err();
    assert!(e.to_string().contains("vacation.remove_command"), "{e}");
    assert!(
        ops::mailboxes::get(&mut c, &a, ALICE).is_err(),
        "still held"
    );
    assert!(script.exists());

    ops::deleted::restore(&mut c, &a, ALICE).unwrap();
    assert!(!script.exists(), "the restored mailbox answers no mail");
    assert!(vacation::show(&mut c, &a, ALICE).unwrap().is_none());
    // A mailbox without a script restores without running anything.
    ops::mailboxes::delete(&mut c, &a, ALICE).unwrap();
    ops::deleted::restore(&mut c, &failing, ALICE).unwrap();
});

on_both_backends!(a_failing_command_changes_nothing_and_says_why, |t| {
    let mut c = t.conn();
    let dir = tempfile::tempdir().unwrap();
    let mut a = admin_recording(&mut c, dir.path());
    world(&mut c, &a);
    vacation::set(&mut c, &a, &req("First", "first text")).unwrap();

    a.policy.vacation.install_command = "echo 'doveadm: Error: no such user' >&2; exit 75".into();
    let e = vacation::set(&mut c, &a, &req("Second", "second text")).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, OpError::Conflict(_)), "{msg}");
    assert!(msg.contains("vacation.install_command"), "{msg}");
    assert!(msg.contains("exit 75"), "names the command: {msg}");
    assert!(msg.contains("no such user"), "carries its stderr: {msg}");
    assert_eq!(
        row(&mut c),
        Some((true, "First".to_string())),
        "rolled back"
    );

    a.policy.vacation.remove_command = "echo gone wrong >&2; false".into();
    let e = vacation::off(&mut c, &a, ALICE).unwrap_err().to_string();
    assert!(
        e.contains("vacation.remove_command") && e.contains("gone wrong"),
        "{e}"
    );
    assert_eq!(row(&mut c), Some((true, "First".to_string())), "still on");
    let last: Vec<(String, String)> = audit(&mut c).into_iter().skip(1).collect();
    assert_eq!(
        last,
        [
            ("update".to_string(), "refused".to_string()),
            ("suspend".into(), "refused".into())
        ]
    );
});

on_both_backends!(bad_input_and_missing_rights_are_refused_by_field, |t| {
    let mut c = t.conn();
    let dir = tempfile::tempdir().unwrap();
    let a = admin_recording(&mut c, dir.path());
    world(&mut c, &a);
    let field = |e: OpError| match e {
        OpError::Invalid { field, .. } => field,
        e => panic!("{e}"),
    };
    let cases = [
        (
            "subject",
            SetVacation {
                subject: "a\u{1b}[31mred".into(),
                ..req("", "b")
            },
        ),
        (
            "body",
            SetVacation {
                body: "x\u{7}".into(),
                ..req("s", "")
            },
        ),
        (
            "until",
            SetVacation {
                from: today().checked_add_days(chrono::Days::new(2)),
                until: Some(today()),
                ..req("s", "b")
            },
        ),
        (
            "days",
            SetVacation {
                days: 400,
                ..req("s", "b")
            },
        ),
        (
            "exclude",
            SetVacation {
                excludes: vec!["bad address".into()],
                ..req("s", "b")
            },
        ),
    ];
    for (want, r) in cases {
        assert_eq!(field(vacation::set(&mut c, &a, &r).unwrap_err()), want);
    }
    assert_eq!(row(&mut c), None);
    assert!(
        !dir.path().join(format!("{ALICE}.stdin")).exists(),
        "no command ran"
    );

    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    let e = vacation::set(&mut c, &ro, &req("s", "b")).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "{e}");
    let scoped = common::user_with_role(&mut c, &a, "tenant", "user");
    ops::permissions::grant(&mut c, &a, "tenant", "example.com", &[Perm::Aliases]).unwrap();
    let e = vacation::set(&mut c, &scoped, &req("s", "b")).unwrap_err();
    assert!(matches!(e, OpError::Denied(_)), "aliases only: {e}");
    ops::permissions::grant(&mut c, &a, "tenant", "example.com", &[Perm::Mailboxes]).unwrap();
    let mut s = scoped.clone();
    s.policy.vacation = a.policy.vacation.clone();
    vacation::set(&mut c, &s, &req("s", "b")).unwrap();
    let other = SetVacation {
        address: "olga@other.example".into(),
        ..req("s", "b")
    };
    let e = vacation::set(&mut c, &s, &other).unwrap_err();
    assert!(
        matches!(e, OpError::NotFound { .. }),
        "outside its domains: {e}"
    );
});

on_both_backends!(hostile_text_compiles_with_sievec, |t| {
    if !mail_harness::have(&["sievec"]) {
        return;
    }
    let mut c = t.conn();
    let dir = tempfile::tempdir().unwrap();
    let a = admin_recording(&mut c, dir.path());
    world(&mut c, &a);
    let hostile = SetVacation {
        from: Some(today()),
        until: today().checked_add_days(chrono::Days::new(1)),
        excludes: vec!["x@y.example".into(), "@z.example".into()],
        ..req(
            r#"Away"; discard; # \"${hex:41} ü"#,
            ".\n..\n.\r\n;\n}\ndiscard;\ntext:\n\"quoted\" \\ back\\slash\n\ttabbed ${x}\n.",
        )
    };
    let script = vacation::preview(&mut c, &a, &hostile).unwrap();
    let f = dir.path().join("v.sieve");
    std::fs::write(&f, &script).unwrap();
    let out = Command::new("sievec")
        .arg(&f)
        .arg(dir.path().join("v.svbin"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sievec: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Dumped, the compiled script has one vacation with the subject whole.
    let dump = Command::new("sieve-dump")
        .arg(dir.path().join("v.svbin"))
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert_eq!(dump.matches("VACATION").count(), 1, "{dump}");
    assert!(!dump.contains("DISCARD"), "{dump}");
    assert!(
        dump.contains(r#"Away"; discard; # \"${hex:41} ü"#),
        "{dump}"
    );
});

// The binary: `mailbox vacation set|show|off` with `[vacation]` from the
// config file.
const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .stdin(std::process::Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

on_both_backends!(the_cli_sets_shows_and_turns_off, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        format!(
            "[security]\nbcrypt_cost = 4\n[vacation]\ninstall_command = 'cat > \"{p}/installed\"'\nremove_command = 'rm -f \"{p}/installed\"'\n",
            p = d.display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("admin.pw"), "cli-admin-password-1\n").unwrap();
    std::fs::write(d.join("mailbox.pw"), format!("{PW}\n")).unwrap();
    std::fs::write(d.join("body.txt"), "Away.\n.\nBack on Monday.\n").unwrap();
    let init = cli(
        d,
        &[
            "init",
            "--database-url",
            &t.url_string(),
            "--admin-password-file",
            "admin.pw",
        ],
    );
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let run = |args: &[&str]| {
        let mut all = vec!["--user", "admin", "--password-file", "admin.pw"];
        all.extend_from_slice(args);
        cli(d, &all)
    };
    let ok = |args: &[&str]| {
        let out = run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&["domain", "add", "example.com"]);
    ok(&["mailbox", "add", ALICE, "--new-password-file", "mailbox.pw"]);
    let none = ok(&["mailbox", "vacation", "show", ALICE]);
    assert!(none.contains("no vacation"), "{none}");
    let set = ok(&[
        "mailbox",
        "vacation",
        "set",
        ALICE,
        "--subject",
        "Out of office",
        "--body-file",
        "body.txt",
        "--until",
        "2099-01-31",
        "--days",
        "3",
        "--exclude",
        "boss@example.org",
        "--exclude",
        "@lists.example",
    ]);
    assert!(
        set.contains("vacation of alice@example.com set (on)"),
        "{set}"
    );
    let installed = std::fs::read_to_string(d.join("installed")).unwrap();
    assert!(installed.contains("\r\n..\r\n"), "dot-stuffed: {installed}");
    assert!(installed.contains(":days 3"), "{installed}");
    let shown = ok(&["mailbox", "vacation", "show", ALICE]);
    assert!(
        shown.contains("Out of office") && shown.contains("2099-01-31"),
        "{shown}"
    );
    assert!(shown.contains("    Back on Monday."), "{shown}");
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["mailbox", "vacation", "show", ALICE, "--json"])).unwrap();
    assert_eq!(j["state"], "on");
    assert_eq!(j["days"], 3);
    assert_eq!(j["until_date"], "2099-01-31");

    let bad = run(&[
        "mailbox",
        "vacation",
        "set",
        ALICE,
        "--subject",
        "x",
        "--body",
        "y",
        "--days",
        "0",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("days:"),
        "{bad:?}"
    );
    let bad = run(&[
        "mailbox",
        "vacation",
        "set",
        ALICE,
        "--subject",
        "x",
        "--body",
        "y",
        "--from",
        "31.12.2026",
    ]);
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("from:"),
        "{bad:?}"
    );

    let off = ok(&["mailbox", "vacation", "off", ALICE]);
    assert!(off.contains("off"), "{off}");
    assert!(!d.join("installed").exists());
    let j: serde_json::Value =
        serde_json::from_str(&ok(&["mailbox", "vacation", "show", ALICE, "--json"])).unwrap();
    assert_eq!(j["state"], "off");
});

// ---------------------------------------------------------------------
// The real programs: Postfix takes mail on loopback and hands it to
// Dovecot over LMTP; Pigeonhole answers through Postfix (submission_host),
// which relays the reply to a capture sink in this test.

/// One message the sink received.
#[derive(Debug, Clone)]
struct Captured {
    rcpt: Vec<String>,
    data: String,
}

/// A tiny SMTP server that keeps what it is sent.
struct Sink {
    port: u16,
    got: Arc<Mutex<Vec<Captured>>>,
}

impl Sink {
    fn start() -> Sink {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let g = g.clone();
                std::thread::spawn(move || {
                    let _ = sink_session(s, &g);
                });
            }
        });
        Sink { port, got }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    fn to(&self, rcpt: &str) -> Vec<Captured> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.rcpt.iter().any(|r| r == rcpt))
            .cloned()
            .collect()
    }
}

fn sink_session(s: TcpStream, got: &Mutex<Vec<Captured>>) -> std::io::Result<()> {
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut w = s.try_clone()?;
    let mut r = BufReader::new(s);
    w.write_all(b"220 sink.test ESMTP\r\n")?;
    let mut rcpt = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l)? == 0 {
            return Ok(());
        }
        let up = l.trim_end().to_ascii_uppercase();
        if up.starts_with("EHLO") || up.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n")?;
        } else if up.starts_with("MAIL") || up.starts_with("RSET") || up.starts_with("NOOP") {
            if up.starts_with("RSET") {
                rcpt.clear();
            }
            w.write_all(b"250 ok\r\n")?;
        } else if up.starts_with("RCPT") {
            let a = l.trim_end();
            let addr = a[a.find('<').map_or(0, |i| i + 1)..a.rfind('>').unwrap_or(a.len())]
                .to_ascii_lowercase();
            rcpt.push(addr);
            w.write_all(b"250 ok\r\n")?;
        } else if up.starts_with("DATA") {
            w.write_all(b"354 go\r\n")?;
            let mut data = String::new();
            loop {
                let mut d = String::new();
                if r.read_line(&mut d)? == 0 {
                    return Ok(());
                }
                if d == ".\r\n" || d == ".\n" {
                    break;
                }
                data.push_str(&d);
            }
            got.lock().unwrap().push(Captured {
                rcpt: std::mem::take(&mut rcpt),
                data,
            });
            w.write_all(b"250 queued\r\n")?;
        } else if up.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"502 no\r\n")?;
        }
    }
}

/// The indented lines of a generated README section (its config block).
fn readme_block(readme: &str, heading: &str) -> String {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has {heading}"));
    let mut out = String::new();
    let mut in_block = false;
    for l in readme[start..].lines().skip(1) {
        if let Some(set) = l.strip_prefix("    ") {
            out.push_str(set);
            out.push('\n');
            in_block = true;
        } else if in_block {
            break;
        }
    }
    out
}

/// Postfix and Dovecot (LMTP with Pigeonhole) on loopback, and the port
/// Postfix takes mail on. The daemons and their stop are the shared
/// harness's (`mail_harness::servers::Servers`); the configs are this
/// test's: replies leave through Postfix to the sink.
fn start(gen: &Path, root: &Path, sink: u16) -> (Servers, u16) {
    let ports = free_ports(2);
    let (smtp, lmtp) = (ports[0], ports[1]);
    let pf = root.join("postfix");
    let dc = root.join("dovecot");
    for d in ["conf", "queue", "data"] {
        std::fs::create_dir_all(pf.join(d)).unwrap();
    }
    for d in ["run", "state"] {
        std::fs::create_dir_all(dc.join(d)).unwrap();
    }
    assert!(Command::new("chown")
        .arg("postfix")
        .arg(pf.join("data"))
        .status()
        .unwrap()
        .success());
    let mut s = Servers {
        root: root.to_path_buf(),
        pf_conf: pf.join("conf"),
        dc_conf: dc.join("dovecot.conf"),
        dc_pid: None,
        pf_started: false,
    };
    // Dovecot: LMTP on loopback, the generated user and Sieve includes with
    // the README's lines; replies go out through Postfix.
    let readme = std::fs::read_to_string(gen.join("README.md")).unwrap();
    let d = dc.display();
    std::fs::write(
        &s.dc_conf,
        format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\ninstance_name = pm-vac-{pid}-{lmtp}\n\
             log_path = {d}/dovecot.log\nprotocols = lmtp\nlisten = 127.0.0.1\nssl = no\n\
             auth_verbose = yes\nmail_location = maildir:~/Maildir\n\
             submission_host = 127.0.0.1:{smtp}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp}\n  }}\n}}\n\
             !include {gen}/dovecot-postfix-manager.conf\n{sieve}",
            pid = std::process::id(),
            gen = gen.display(),
            sieve = readme_block(&readme, "## Vacation replies"),
        ),
    )
    .unwrap();
    assert!(
        quiet(Command::new("dovecot").arg("-c").arg(&s.dc_conf)),
        "{}",
        s.logs()
    );
    for _ in 0..1200 {
        s.dc_pid = mail_harness::servers::read_pid(&dc.join("run/master.pid"));
        if s.dc_pid.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(s.dc_pid.is_some(), "{}", s.logs());

    // Postfix: mail for example.com goes to Dovecot's LMTP, everything
    // else (the replies) to the sink.
    let p = pf.display();
    let main = format!(
        "compatibility_level = 3.6\nqueue_directory = {p}/queue\ndata_directory = {p}/data\n\
         mail_owner = postfix\nsetgid_group = postdrop\nmaillog_file = {p}/maillog\n\
         maillog_file_prefixes = {p}\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\nmyhostname = mx.vacation.invalid\n\
         mydomain = vacation.invalid\nmydestination =\nmynetworks = 127.0.0.0/8\nalias_maps =\n\
         alias_database =\nbiff = no\nsmtpd_error_sleep_time = 0\n\
         virtual_mailbox_domains = example.com\nvirtual_mailbox_maps = static:example.com/x/\n\
         virtual_alias_maps = inline:{{ info@example.com=alice@example.com }}\n\
         virtual_transport = lmtp:inet:127.0.0.1:{lmtp}\n\
         relayhost = [127.0.0.1]:{sink}\nsmtp_tls_security_level = none\n\
         smtp_dns_support_level = disabled\n"
    );
    std::fs::write(pf.join("conf/main.cf"), main).unwrap();
    let master = format!(
        "127.0.0.1:{smtp} inet n - n - - smtpd\n{}",
        mail_harness::servers::MASTER_SERVICES
    );
    std::fs::write(pf.join("conf/master.cf"), master).unwrap();
    mail_harness::backdate(&[pf.join("conf/main.cf"), pf.join("conf/master.cf")]);
    s.pf_started = true;
    assert!(
        quiet(
            Command::new("postfix")
                .arg("-c")
                .arg(&s.pf_conf)
                .arg("start")
        ),
        "postfix did not start: {}",
        s.logs()
    );
    wait_port(smtp, "postfix", || s.logs());
    wait_port(lmtp, "dovecot lmtp", || s.logs());
    (s, smtp)
}

/// A line-oriented SMTP client with read timeouts.
struct Smtp {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Smtp {
    fn open(port: u16) -> Smtp {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let w = s.try_clone().unwrap();
        let mut c = Smtp {
            r: BufReader::new(s),
            w,
        };
        assert_eq!(c.reply(), 220);
        assert_eq!(c.cmd("EHLO client.vacation.invalid"), 250);
        c
    }
    fn reply(&mut self) -> u16 {
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l).expect("smtp read");
            assert!(!l.is_empty(), "connection closed");
            if l.as_bytes().get(3) != Some(&b'-') {
                return l.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            }
        }
    }
    fn cmd(&mut self, c: &str) -> u16 {
        self.w.write_all(format!("{c}\r\n").as_bytes()).unwrap();
        self.reply()
    }
    /// One message; `headers` are extra header lines.
    fn send(&mut self, from: &str, to: &str, headers: &[&str]) {
        assert_eq!(self.cmd(&format!("MAIL FROM:<{from}>")), 250);
        assert_eq!(self.cmd(&format!("RCPT TO:<{to}>")), 250);
        assert_eq!(self.cmd("DATA"), 354);
        let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
        let msg = format!(
            "From: <{from}>\r\nTo: <{to}>\r\nSubject: hello\r\nMessage-ID: <{}.{from}>\r\n{extra}\r\nA question.\r\n.",
            Utc::now().timestamp_nanos_opt().unwrap_or(0)
        );
        assert_eq!(self.cmd(&msg), 250);
    }
}

/// Wait until Postfix has delivered everything (into Dovecot, whose
/// replies came back into Postfix, and out to the sink).
fn settle(s: &Servers) {
    let until = Instant::now() + Duration::from_secs(60);
    // A delivery's reply is queued again in Postfix: require an empty
    // queue twice, a moment apart.
    let mut empty_twice = 0;
    while Instant::now() < until {
        if s.queue_is_empty() {
            empty_twice += 1;
            if empty_twice == 2 {
                return;
            }
        } else {
            empty_twice = 0;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("the queue did not drain: {}", s.logs());
}

on_both_backends!(
    pigeonhole_answers_once_and_honours_dates_excludes_and_lists,
    |t| {
        if !mail_harness::have(&[
            "postfix",
            "postqueue",
            "dovecot",
            "doveadm",
            "doveconf",
            "sievec",
        ]) {
            return;
        }
        if !Path::new("/usr/lib/dovecot/modules/lib90_sieve_plugin.so").exists() {
            common::skip("dovecot-sieve (Pigeonhole) not installed; run .ci/install-mail-servers");
            return;
        }
        let mut c = t.conn();
        let root = tempfile::tempdir().unwrap();
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let homes = mail_harness::shared_dir(root.path(), "vmail");
        let mut a = common::admin(&mut c);
        a.policy.lifecycle.mail_root = homes.display().to_string();
        world(&mut c, &a);
        let gen = root.path().join("generated");
        mail_harness::generate_files(t, &a, &mut c, &gen, &mail_harness::mail_config(&homes));
        let sink = Sink::start();
        let (s, smtp_port) = start(&gen, root.path(), sink.port);
        let doveadm = format!("doveadm -c {}", s.dc_conf.display());
        a.policy.vacation.install_command =
            format!("{doveadm} sieve put -u \"$PM_USER\" \"$PM_SCRIPT_NAME\"");
        a.policy.vacation.remove_command =
            format!("{doveadm} sieve delete -u \"$PM_USER\" \"$PM_SCRIPT_NAME\" || [ $? -eq 68 ]");
        let list = || {
            let out = Command::new("sh")
                .arg("-c")
                .arg(format!("{doveadm} sieve list -u {ALICE}"))
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let mut smtp = Smtp::open(smtp_port);
        let mut send = |from: &str, to: &str, headers: &[&str]| {
            smtp.send(from, to, headers);
            settle(&s);
        };

        // Off: no reply at all (no script: the sieve_before file is missing).
        // This first delivery also creates the mail home.
        send("carol@outside.example", ALICE, &[]);
        assert_eq!(sink.count(), 0, "{}", s.logs());

        // The user's own filter, active through ManageSieve's storage.
        let mine = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf 'require [\"fileinto\",\"mailbox\"];\\nfileinto :create \"Personal\";\\n' | {doveadm} sieve put -a -u {ALICE} mine"
        ))
        .output()
        .unwrap();
        assert!(
            mine.status.success(),
            "{}",
            String::from_utf8_lossy(&mine.stderr)
        );

        vacation::set(
            &mut c,
            &a,
            &SetVacation {
                from: Some(today() - TimeDelta::days(1)),
                until: Some(today() + TimeDelta::days(5)),
                excludes: vec!["boss@outside.example".into(), "@partner.example".into()],
                ..req("Out of office", "I am away.\n.\nBack next week.")
            },
        )
        .unwrap();
        let l = list();
        assert!(
            l.contains("postfix-manager-vacation") && l.contains("mine ACTIVE"),
            "{l}"
        );

        // One reply per sender within the interval.
        send("dave@outside.example", ALICE, &[]);
        send("dave@outside.example", ALICE, &[]);
        let got = sink.to("dave@outside.example");
        assert_eq!(got.len(), 1, "exactly one reply: {got:?}\n{}", s.logs());
        assert!(
            got[0].data.contains("Subject: Out of office"),
            "{}",
            got[0].data
        );
        assert!(
            got[0].data.contains("Auto-Submitted: auto-replied"),
            "{}",
            got[0].data
        );
        // The body's lone dot survived as a line of its own (dot-stuffed again
        // on the wire), and the text after it too.
        assert!(
            got[0].data.contains("I am away.\r\n..\r\nBack next week."),
            "{}",
            got[0].data
        );
        // Through the alias too (the script names it in :addresses).
        send("erin@outside.example", "info@example.com", &[]);
        assert_eq!(sink.to("erin@outside.example").len(), 1, "{}", s.logs());

        // Excluded senders, mailing lists, bulk and automatic mail: none.
        send("boss@outside.example", ALICE, &[]);
        send("someone@partner.example", ALICE, &[]);
        send(
            "frank@outside.example",
            ALICE,
            &["List-Id: <talk.lists.example>"],
        );
        send("gina@outside.example", ALICE, &["Precedence: bulk"]);
        send(
            "hank@outside.example",
            ALICE,
            &["Auto-Submitted: auto-generated"],
        );
        for who in [
            "boss@outside.example",
            "someone@partner.example",
            "frank@outside.example",
            "gina@outside.example",
            "hank@outside.example",
        ] {
            assert!(sink.to(who).is_empty(), "{who} was answered\n{}", s.logs());
        }

        // The user's filter still ran: everything was filed into Personal.
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{doveadm} mailbox status -u {ALICE} messages Personal"
            ))
            .output()
            .unwrap();
        let st = String::from_utf8_lossy(&st.stdout);
        assert!(st.trim().ends_with("messages=8"), "{st}\n{}", s.logs());

        // The dates: until yesterday, or from tomorrow, means no reply.
        for (from, until) in [
            (None, Some(today() - TimeDelta::days(1))),
            (Some(today() + TimeDelta::days(1)), None),
        ] {
            vacation::set(
                &mut c,
                &a,
                &SetVacation {
                    from,
                    until,
                    ..req("Dated", "dated")
                },
            )
            .unwrap();
            send("ivan@outside.example", ALICE, &[]);
            assert!(
                sink.to("ivan@outside.example").is_empty(),
                "{from:?}..{until:?}\n{}",
                s.logs()
            );
        }

        // Off: the script is gone and nobody is answered.
        vacation::off(&mut c, &a, ALICE).unwrap();
        let l = list();
        assert!(
            !l.contains("postfix-manager-vacation") && l.contains("mine ACTIVE"),
            "{l}"
        );
        send("judy@outside.example", ALICE, &[]);
        assert!(sink.to("judy@outside.example").is_empty(), "{}", s.logs());
        // Off twice: nothing to delete is fine.
        vacation::off(&mut c, &a, ALICE).unwrap();
        assert_eq!(sink.count(), 2, "{}", s.logs());
    }
);
