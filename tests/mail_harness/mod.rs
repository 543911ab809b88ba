//! Real Postfix and Dovecot for the mail tests: `postmap -q` against the
//! generated map files, and a listener-free Dovecot (auth and doveadm only)
//! that includes the generated Dovecot config. Binaries come from Debian's
//! packages (.ci/install-mail-servers); without them tests skip, and fail
//! under CI=true.

#![allow(dead_code)]

pub mod servers;

use std::path::{Path, PathBuf};
use std::process::Command;

use postfix_manager::config::MailConfig;
use postfix_manager::mail::{generate, target::Target};
use postfix_manager::ops::{self, Ctx};

use crate::common::{self, TestDb};

/// True when every binary is on PATH; otherwise skip (or fail in CI).
pub fn have(bins: &[&str]) -> bool {
    let missing: Vec<&str> = bins
        .iter()
        .copied()
        .filter(|b| {
            !Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {b}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    common::skip(&format!(
        "{} not installed; run .ci/install-mail-servers",
        missing.join(", ")
    ));
    false
}

/// Whether this host's Postfix has the map type (postfix-sqlite/-pgsql).
pub fn postfix_supports(kind: &str, dir: &Path) -> bool {
    let out = Command::new("postconf")
        .args(["-c", &dir.display().to_string(), "-m"])
        .output()
        .expect("postconf -m");
    let ok = String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l == kind);
    if !ok {
        common::skip(&format!(
            "postfix has no {kind} map support (install postfix-{kind})"
        ));
    }
    ok
}

/// Postfix re-reads (with ~2 s of sleeps) any config file modified in the
/// last seconds; a minute-old mtime keeps each postmap call in milliseconds.
pub fn backdate(paths: &[PathBuf]) {
    let st = Command::new("touch")
        .arg("--date=1 minute ago")
        .args(paths)
        .status()
        .expect("touch");
    assert!(st.success());
}

/// Config for generated files in tests: homes under `root`, owned by nobody.
pub fn mail_config(root: &Path) -> MailConfig {
    MailConfig {
        mail_root: root.display().to_string(),
        vmail_uid: 65534,
        vmail_gid: 65534,
        ..MailConfig::default()
    }
}

/// Generate the files through the product (the audited op around
/// `mail::generate`), as `mail generate --out` does.
pub fn generate_files(
    t: &TestDb,
    ctx: &Ctx,
    conn: &mut postfix_manager::db::AnyConnection,
    out: &Path,
    mail: &MailConfig,
) {
    generate_files_with(t, ctx, conn, out, mail, &Default::default());
}

/// `generate_files` with a `[policyd]` (the policy service's address in
/// the README's main.cf lines).
pub fn generate_files_with(
    t: &TestDb,
    ctx: &Ctx,
    conn: &mut postfix_manager::db::AnyConnection,
    out: &Path,
    mail: &MailConfig,
    policyd: &postfix_manager::policyd::settings::PolicydSettings,
) {
    let target = Target::from_url(&t.url).expect("target");
    let g = ops::mail_configs::generate_files(conn, ctx, &out.display().to_string(), || {
        generate::generate_with(&target, mail, policyd, out)
    })
    .expect("generate");
    let files: Vec<PathBuf> = g.files.iter().map(|f| out.join(f)).collect();
    backdate(&files);
}

/// `postmap -q` with a private config directory.
pub struct Postfix {
    pub dir: tempfile::TempDir,
    pub kind: &'static str,
    pub maps: PathBuf,
}

impl Postfix {
    pub fn new(kind: &'static str, maps: &Path) -> Option<Postfix> {
        let dir = tempfile::tempdir().expect("tempdir");
        let main = dir.path().join("main.cf");
        std::fs::write(&main, "compatibility_level = 3.6\n").expect("main.cf");
        backdate(&[main]);
        if !postfix_supports(kind, dir.path()) {
            return None;
        }
        Some(Postfix {
            dir,
            kind,
            maps: maps.to_path_buf(),
        })
    }

    /// Look `key` up in the generated `map` (file name); None = not found.
    /// postmap exits 1 for "not found" and for errors alike, so any stderr
    /// output is a failure.
    pub fn query(&self, map: &str, key: &str) -> Option<String> {
        let spec = format!("{}:{}", self.kind, self.maps.join(map).display());
        let out = Command::new("postmap")
            .args([
                "-c",
                &self.dir.path().display().to_string(),
                "-q",
                key,
                &spec,
            ])
            .output()
            .expect("postmap");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.trim().is_empty() && out.status.code().is_some_and(|c| c <= 1),
            "postmap -q {key} {spec}: status {:?}: {err}",
            out.status
        );
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim_end().to_string())
    }
}

/// A Dovecot master with no listeners, using the generated config.
pub struct Dovecot {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pid: Option<i32>,
}

impl Dovecot {
    /// `generated`: the `mail generate` output; `mail_root` must match the
    /// MailConfig the files were generated with.
    pub fn start(generated: &Path) -> Dovecot {
        let dir = tempfile::Builder::new()
            .prefix("pm-dovecot")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        for sub in ["run", "state"] {
            std::fs::create_dir(d.join(sub)).expect("mkdir");
        }
        let conf = d.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\ninstance_name = pm-test-{pid}-{n}\n\
                 log_path = {d}/dovecot.log\nprotocols =\nssl = no\nauth_verbose = yes\n\
                 auth_failure_delay = 0\nmail_location = maildir:~/Maildir\n\
                 !include {gen}/dovecot-postfix-manager.conf\n",
                d = d.display(),
                pid = std::process::id(),
                n = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                gen = generated.display()
            ),
        )
        .expect("dovecot.conf");
        let check = Command::new("doveconf")
            .args(["-c", &conf.display().to_string(), "-n"])
            .output()
            .expect("doveconf");
        assert!(
            check.status.success(),
            "doveconf rejected the generated config: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let st = Command::new("dovecot")
            .args(["-c", &conf.display().to_string()])
            .status()
            .expect("dovecot");
        assert!(
            st.success(),
            "dovecot did not start: {}",
            std::fs::read_to_string(d.join("dovecot.log")).unwrap_or_default()
        );
        // 30 s, not 5: under CI the test binaries start several Dovecots at
        // once on two cores and the master can take seconds to open its
        // listeners; a slow start is not a failure, a dead master is.
        let mut pid = None;
        for _ in 0..600 {
            if let Some(p) = servers::read_pid(&d.join("run/master.pid")) {
                if d.join("run/auth-client").exists() {
                    pid = Some(p);
                    break;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            pid.is_some(),
            "dovecot did not come up: {}",
            std::fs::read_to_string(d.join("dovecot.log")).unwrap_or_default()
        );
        Dovecot { dir, conf, pid }
    }

    pub fn doveadm(&self, args: &[&str]) -> std::process::Output {
        Command::new("doveadm")
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .output()
            .expect("doveadm")
    }

    /// Some(true) = login accepted, Some(false) = refused; panics on
    /// anything else (exit 77 also covers connection errors).
    pub fn auth(&self, user: &str, pw: &str) -> bool {
        self.auth_with(&["-x", "no-penalty=1"], user, pw)
    }

    /// `auth` as the Dovecot service `service` (`%s` in the passdb query):
    /// imap, pop3, smtp, submission, sieve.
    pub fn auth_as(&self, service: &str, user: &str, pw: &str) -> bool {
        let svc = format!("service={service}");
        self.auth_with(&["-x", "no-penalty=1", "-x", &svc], user, pw)
    }

    fn auth_with(&self, extra: &[&str], user: &str, pw: &str) -> bool {
        let mut args = vec!["auth", "test"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[user, pw]);
        let out = self.doveadm(&args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let log = self.log();
        assert!(
            !log.contains("Error:") && !log.contains("Fatal:"),
            "dovecot logged errors: {log}"
        );
        if text.contains("auth succeeded") {
            // The login is the mailbox the passdb row names (a query that
            // returned another `user` would log in as someone else).
            let user_field = format!("user={}", user.to_lowercase());
            assert!(
                text.lines().any(|l| l.trim() == user_field),
                "doveadm auth test {user}: logged in as another user: {text}"
            );
            true
        } else if text.contains("auth failed") {
            false
        } else {
            panic!("doveadm auth test {user}: {text}\nlog: {log}")
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The command `quota sync` runs against this instance.
    pub fn quota_command(&self) -> String {
        format!("doveadm -c {} -f tab quota get -A", self.conf.display())
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            for _ in 0..100 {
                let alive = Command::new("kill")
                    .args(["-0", &pid.to_string()])
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                if !alive {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}

/// A directory every user may write (Dovecot creates homes as uid 65534).
pub fn shared_dir(parent: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = parent.join(name);
    std::fs::create_dir_all(&p).expect("mkdir");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    p
}
