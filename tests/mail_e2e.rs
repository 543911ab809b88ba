//! End to end: a private Postfix and a private Dovecot on loopback, wired
//! with the files `mail generate` writes and the main.cf lines its README
//! gives, over a database built through ops. Checked over plain SMTP and
//! IMAP: delivery (mailbox, alias, catch-all, alias domain, mixed case),
//! refusals at RCPT (unknown, suspended mailbox/alias/domain: 5xx and no
//! bounce), logins incl. after a password change, SMTP AUTH sender rules,
//! quota sync against `doveadm quota get`, and over-quota refused at RCPT.
//! Both backends. Needs root (Postfix's master), Debian's postfix,
//! postfix-sqlite/-pgsql, dovecot-core/-sqlite/-pgsql/-imapd/-lmtpd
//! (.ci/install-mail-servers); skips otherwise, and fails under CI=true.

mod common;
mod mail_harness;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::db::{AnyConnection, DbUrl};
use postfix_manager::mail::quota;
use postfix_manager::model::Status;
use postfix_manager::ops::{self, mailboxes::NewMailbox, Ctx};

const PW: &str = "mailbox-password-1";
const NEW_PW: &str = "a-new-password-22";
/// small@example.com's limit; the test mail fills about 12 kB of it.
const SMALL_QUOTA: i64 = 20_000;

fn sh(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("run")
}

fn daemon_start(cmd: &mut Command) -> bool {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn free_ports(n: usize) -> Vec<u16> {
    // Held together so the n ports differ; released just before the daemons bind.
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    ls.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

fn wait_port(port: u16, what: &str, log: impl Fn() -> String) {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {port}: {}", log());
}

fn pid_alive(pid: i32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Both daemons; Drop stops them even when a check panics.
struct Servers {
    root: PathBuf,
    pf_conf: PathBuf,
    dc_conf: PathBuf,
    dc_pid: Option<i32>,
    pf_started: bool,
}

impl Servers {
    fn maillog(&self) -> String {
        std::fs::read_to_string(self.root.join("postfix/maillog")).unwrap_or_default()
    }
    fn dovecot_log(&self) -> String {
        std::fs::read_to_string(self.root.join("dovecot/dovecot.log")).unwrap_or_default()
    }
    fn logs(&self) -> String {
        format!(
            "--- postfix maillog\n{}\n--- dovecot log\n{}",
            self.maillog(),
            self.dovecot_log()
        )
    }
    fn doveadm(&self, args: &[&str]) -> std::process::Output {
        sh(Command::new("doveadm")
            .arg("-c")
            .arg(&self.dc_conf)
            .args(args))
    }
    fn queue_is_empty(&self) -> bool {
        let out = sh(Command::new("postqueue")
            .arg("-c")
            .arg(&self.pf_conf)
            .arg("-p"));
        String::from_utf8_lossy(&out.stdout).contains("Mail queue is empty")
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        if self.pf_started {
            daemon_start(
                Command::new("postfix")
                    .arg("-c")
                    .arg(&self.pf_conf)
                    .arg("stop"),
            );
            let pidfile = self.root.join("postfix/queue/pid/master.pid");
            if let Some(pid) = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
            {
                for _ in 0..100 {
                    if !pid_alive(pid) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                if pid_alive(pid) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
        if let Some(pid) = self.dc_pid.take() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            for _ in 0..100 {
                if !pid_alive(pid) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The main.cf lines of the generated README's "Postfix (main.cf)" section,
/// continuation lines joined: the test runs what the README tells admins.
fn readme_main_cf(readme: &str) -> Vec<String> {
    let start = readme
        .find("## Postfix (main.cf)")
        .expect("README has a main.cf section");
    let mut lines: Vec<String> = Vec::new();
    let mut in_block = false;
    for l in readme[start..].lines().skip(1) {
        if let Some(cont) = l.strip_prefix("        ") {
            lines
                .last_mut()
                .expect("continuation after a setting")
                .push_str(&format!(" {}", cont.trim()));
            in_block = true;
        } else if let Some(set) = l.strip_prefix("    ") {
            lines.push(set.to_string());
            in_block = true;
        } else if in_block {
            break;
        }
    }
    assert!(lines.len() > 5, "README main.cf lines: {lines:?}");
    lines
}

fn start(gen: &Path, root: &Path, ports: &Ports) -> Servers {
    let pf = root.join("postfix");
    let dc = root.join("dovecot");
    for d in ["conf", "queue", "data"] {
        std::fs::create_dir_all(pf.join(d)).expect("mkdir");
    }
    for d in ["run", "state"] {
        std::fs::create_dir_all(dc.join(d)).expect("mkdir");
    }
    let st = Command::new("chown")
        .args(["postfix"])
        .arg(pf.join("data"))
        .status()
        .expect("chown");
    assert!(st.success());
    let mut servers = Servers {
        root: root.to_path_buf(),
        pf_conf: pf.join("conf"),
        dc_conf: dc.join("dovecot.conf"),
        dc_pid: None,
        pf_started: false,
    };

    // Dovecot: IMAP and LMTP on loopback ports, SASL for Postfix on a
    // socket, plus the generated includes (users, quota, quota-status).
    let d = dc.display();
    std::fs::write(
        &servers.dc_conf,
        format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\ninstance_name = pm-e2e-{pid}-{imap}\n\
             log_path = {d}/dovecot.log\nprotocols = imap lmtp\nlisten = 127.0.0.1\n\
             ssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             auth_failure_delay = 0\nauth_verbose = yes\nlogin_trusted_networks = 127.0.0.1/32\nmail_location = maildir:~/Maildir\n\
             service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp}\n  }}\n}}\n\
             service auth {{\n  unix_listener {d}/auth-postfix {{\n    mode = 0666\n  }}\n}}\n\
             !include {gen}/dovecot-postfix-manager.conf\n\
             !include {gen}/dovecot-quota-status.conf\n",
            pid = std::process::id(),
            imap = ports.imap,
            lmtp = ports.lmtp,
            gen = gen.display(),
        ),
    )
    .expect("dovecot.conf");
    // status(), not output(): the daemon keeps inherited pipes open.
    let st = daemon_start(Command::new("dovecot").arg("-c").arg(&servers.dc_conf));
    assert!(st, "dovecot did not start: {}", servers.dovecot_log());
    // Up to 30 s: a slow start under a loaded CI machine is not a failure.
    for _ in 0..1200 {
        if let Ok(p) = std::fs::read_to_string(dc.join("run/master.pid")) {
            servers.dc_pid = p.trim().parse().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(servers.dc_pid.is_some(), "{}", servers.dovecot_log());

    // Postfix: the README's main.cf lines, then what differs in a private
    // instance (later lines win): LMTP and SASL reached by address.
    let readme = std::fs::read_to_string(gen.join("README.md")).expect("README");
    let p = pf.display();
    let mut main = format!(
        "compatibility_level = 3.6\nqueue_directory = {p}/queue\ndata_directory = {p}/data\n\
         mail_owner = postfix\nsetgid_group = postdrop\nmaillog_file = {p}/maillog\n\
         maillog_file_prefixes = {p}\ninet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n\
         myhostname = mx.e2e.invalid\nmydomain = e2e.invalid\nmydestination =\n\
         mynetworks = 127.0.0.2/32\nalias_maps =\nalias_database =\nrelayhost =\n\
         default_transport = error:no mail leaves this test\nbiff = no\n\
         smtpd_sasl_auth_enable = yes\nsmtpd_error_sleep_time = 0\n"
    );
    for l in readme_main_cf(&readme) {
        main.push_str(&l);
        main.push('\n');
    }
    main.push_str(&format!(
        "virtual_transport = lmtp:inet:127.0.0.1:{}\nsmtpd_sasl_path = {d}/auth-postfix\n",
        ports.lmtp
    ));
    std::fs::write(pf.join("conf/main.cf"), main).expect("main.cf");
    let master = format!(
        "127.0.0.1:{} inet n - n - - smtpd\n{}",
        ports.smtp,
        [
            "pickup unix n - n 60 1 pickup",
            "cleanup unix n - n - 0 cleanup",
            "qmgr unix n - n 300 1 qmgr",
            "rewrite unix - - n - - trivial-rewrite",
            "bounce unix - - n - 0 bounce",
            "defer unix - - n - 0 bounce",
            "trace unix - - n - 0 bounce",
            "verify unix - - n - 1 verify",
            "flush unix n - n 1000? 0 flush",
            "proxymap unix - - n - - proxymap",
            "smtp unix - - n - - smtp",
            "relay unix - - n - - smtp",
            "showq unix n - n - - showq",
            "error unix - - n - - error",
            "retry unix - - n - - error",
            "discard unix - - n - - discard",
            "lmtp unix - - n - - lmtp",
            "anvil unix - - n - 1 anvil",
            "scache unix - - n - 1 scache",
            "postlog unix-dgram n - n - 1 postlogd",
        ]
        .join("\n")
            + "\n"
    );
    std::fs::write(pf.join("conf/master.cf"), master).expect("master.cf");
    mail_harness::backdate(&[pf.join("conf/main.cf"), pf.join("conf/master.cf")]);
    servers.pf_started = true;
    let st = daemon_start(
        Command::new("postfix")
            .arg("-c")
            .arg(&servers.pf_conf)
            .arg("start"),
    );
    assert!(st, "postfix did not start: {}", servers.logs());
    wait_port(ports.smtp, "postfix", || servers.logs());
    wait_port(ports.imap, "dovecot imap", || servers.logs());
    wait_port(ports.quota, "dovecot quota-status", || servers.logs());
    servers
}

struct Ports {
    smtp: u16,
    lmtp: u16,
    imap: u16,
    quota: u16,
}

/// A line-oriented client for SMTP and IMAP.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
    log: String,
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let w = s.try_clone().expect("clone");
        Client {
            r: BufReader::new(s),
            w,
            log: String::new(),
        }
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r
            .read_line(&mut l)
            .unwrap_or_else(|e| panic!("read: {e}\n{}", self.log));
        assert!(!l.is_empty(), "connection closed\n{}", self.log);
        self.log.push_str(&format!("S: {l}"));
        l.trim_end().to_string()
    }
    fn send(&mut self, text: &str) {
        self.log.push_str(&format!("C: {text}\n"));
        self.w
            .write_all(format!("{text}\r\n").as_bytes())
            .expect("write");
    }
    /// An SMTP reply: the code and the last line's text.
    fn reply(&mut self) -> (u16, String) {
        loop {
            let l = self.line();
            if l.as_bytes().get(3) != Some(&b'-') {
                let code = l.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                return (code, l);
            }
        }
    }
    fn smtp(&mut self, cmd: &str) -> (u16, String) {
        self.send(cmd);
        self.reply()
    }
    /// An IMAP command; the tagged status line and everything before it.
    fn imap(&mut self, tag: &str, cmd: &str) -> (String, String) {
        self.send(&format!("{tag} {cmd}"));
        let mut before = String::new();
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix(&format!("{tag} ")) {
                return (rest.to_string(), before);
            }
            before.push_str(&l);
            before.push('\n');
        }
    }
}

struct Smtp(Client);

impl Smtp {
    fn open(port: u16) -> Smtp {
        let mut c = Client::connect(port);
        let (code, l) = c.reply();
        assert_eq!(code, 220, "{l}");
        let (code, l) = c.smtp("EHLO client.e2e.invalid");
        assert_eq!(code, 250, "{l}");
        Smtp(c)
    }
    fn auth(&mut self, user: &str, pw: &str) -> u16 {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}").as_bytes());
        self.0.smtp(&format!("AUTH PLAIN {token}")).0
    }
    /// MAIL FROM (with an optional SIZE) then RCPT TO: the RCPT reply.
    fn rcpt(&mut self, from: &str, size: Option<usize>, to: &str) -> (u16, String) {
        let size = size.map(|s| format!(" SIZE={s}")).unwrap_or_default();
        let (code, l) = self.0.smtp(&format!("MAIL FROM:<{from}>{size}"));
        assert_eq!(code, 250, "{l}\n{}", self.0.log);
        let r = self.0.smtp(&format!("RCPT TO:<{to}>"));
        let (code, l) = self.0.smtp("RSET");
        assert_eq!(code, 250, "{l}");
        r
    }
    /// A whole message to one recipient; the final reply code.
    fn send(&mut self, from: &str, to: &str, subject: &str, body_bytes: usize) -> (u16, String) {
        let (code, l) = self.0.smtp(&format!("MAIL FROM:<{from}>"));
        assert_eq!(code, 250, "{l}");
        let r = self.0.smtp(&format!("RCPT TO:<{to}>"));
        if r.0 != 250 {
            self.0.smtp("RSET");
            return r;
        }
        let (code, l) = self.0.smtp("DATA");
        assert_eq!(code, 354, "{l}");
        let body: String = (0..body_bytes / 64 + 1)
            .map(|_| format!("{}\r\n", "y".repeat(62)))
            .collect();
        self.0
            .w
            .write_all(
                format!("From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\r\n{body}.\r\n")
                    .as_bytes(),
            )
            .expect("write");
        self.0.reply()
    }
}

fn imap_login(port: u16, user: &str, pw: &str) -> (bool, Client) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static CLIENT: AtomicU32 = AtomicU32::new(1);
    let mut c = Client::connect(port);
    let greet = c.line();
    assert!(greet.starts_with("* OK"), "{greet}");
    // Each login as from its own address (loopback is a trusted network,
    // which may name the client's address): Dovecot delays every login from
    // an address after a failed one (2, 4, 8, 15 s), which would make the
    // refused logins below cost most of the test's time.
    let n = CLIENT.fetch_add(1, Ordering::Relaxed);
    let (st, _) = c.imap(
        "a0",
        &format!("ID (\"x-originating-ip\" \"198.51.100.{}\")", n % 250 + 1),
    );
    assert!(st.starts_with("OK"), "{st}");
    let (st, _) = c.imap("a1", &format!("LOGIN \"{user}\" \"{pw}\""));
    (st.starts_with("OK"), c)
}

/// Subjects of the messages in `user`'s INBOX, read over IMAP.
fn inbox_subjects(port: u16, user: &str, pw: &str) -> Vec<String> {
    let (ok, mut c) = imap_login(port, user, pw);
    assert!(ok, "IMAP login {user}\n{}", c.log);
    let (st, _) = c.imap("a2", "SELECT INBOX");
    assert!(st.starts_with("OK"), "{st}\n{}", c.log);
    let (st, body) = c.imap("a3", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])");
    let mut subjects: Vec<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("Subject: "))
        .map(str::to_string)
        .collect();
    if !st.starts_with("OK") {
        // An empty mailbox answers "BAD Error in IMAP command FETCH: Invalid messageset".
        subjects.clear();
    }
    c.imap("a4", "LOGOUT");
    subjects.sort();
    subjects
}

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str, quota: i64) {
    ops::mailboxes::create(
        c,
        a,
        &NewMailbox {
            address: addr.into(),
            password: PW.into(),
            quota: Some(quota),
            name: None,
        },
    )
    .unwrap();
}

fn fixture(c: &mut AnyConnection, a: &Ctx) {
    let dom = |c: &mut AnyConnection, name: &str| {
        ops::domains::create(
            c,
            a,
            name,
            &ops::domains::DomainInput {
                quota_limit: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    };
    dom(c, "example.com");
    mailbox(c, a, "alice@example.com", 100 << 20);
    mailbox(c, a, "bob@example.com", 100 << 20);
    ops::mailboxes::set_status(c, a, "bob@example.com", Status::Suspended).unwrap();
    mailbox(c, a, "carol@example.com", 100 << 20);
    mailbox(c, a, "small@example.com", SMALL_QUOTA);
    ops::aliases::create(c, a, "info@example.com", "alice@example.com", None).unwrap();
    ops::aliases::create(c, a, "sales@example.com", "alice@example.com", None).unwrap();
    ops::aliases::set_status(c, a, "sales@example.com", Status::Suspended).unwrap();
    ops::aliases::create(c, a, "@example.com", "carol@example.com", None).unwrap();
    ops::alias_domains::create(c, a, "example.net", "example.com").unwrap();

    dom(c, "plain.example");
    mailbox(c, a, "pat@plain.example", 100 << 20);

    dom(c, "dead.example");
    mailbox(c, a, "dave@dead.example", 100 << 20);
    ops::domains::set_status(c, a, "dead.example", Status::Suspended).unwrap();
}

/// Counts checks so the closing line can say how many ran.
struct Checks(u32);
impl Checks {
    fn ok(&mut self, cond: bool, what: &str, ctx: impl Fn() -> String) {
        self.0 += 1;
        assert!(cond, "{what}\n{}", ctx());
    }
}

fn run(t: &common::TestDb) {
    if !mail_harness::have(&[
        "postfix",
        "postconf",
        "postqueue",
        "dovecot",
        "doveadm",
        "doveconf",
    ]) {
        return;
    }
    if !nix_is_root() {
        common::skip("Postfix's master must start as root");
        return;
    }
    for bin in ["imap", "lmtp", "quota-status"] {
        if !Path::new("/usr/lib/dovecot").join(bin).exists() {
            common::skip(&format!(
                "/usr/lib/dovecot/{bin} missing (dovecot-imapd, dovecot-lmtpd); run .ci/install-mail-servers"
            ));
            return;
        }
    }
    let began = Instant::now();
    let mut c = t.conn();
    let a = common::admin(&mut c);
    fixture(&mut c, &a);

    let tmp = tempfile::Builder::new()
        .prefix("pm-e2e")
        .tempdir()
        .expect("tempdir");
    let root = tmp.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let homes = mail_harness::shared_dir(root, "vmail");
    let gen = root.join("generated");
    let p = free_ports(4);
    let ports = Ports {
        smtp: p[0],
        lmtp: p[1],
        imap: p[2],
        quota: p[3],
    };
    let mail = postfix_manager::config::MailConfig {
        quota_status_port: ports.quota,
        file_group: "postfix".into(),
        ..mail_harness::mail_config(&homes)
    };
    let kind = if t.name == "sqlite" {
        "sqlite"
    } else {
        "pgsql"
    };
    if mail_harness::Postfix::new(kind, root).is_none() {
        return;
    }
    if let DbUrl::Sqlite(db) = &t.url {
        // Postfix's proxymap reads the database as user postfix; WAL
        // readers also write the -shm file (docs/mail-server-setup.md §3).
        let dir = db.parent().expect("db dir");
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "chgrp -R postfix '{0}' && chmod -R g+rwX '{0}'",
                dir.display()
            ))
            .status()
            .expect("chgrp");
        assert!(st.success());
    }
    mail_harness::generate_files(t, &a, &mut c, &gen, &mail);
    let s = start(&gen, root, &ports);
    let logs = || s.logs();
    let mut ck = Checks(0);
    let outside = "someone@outside.example";

    // Refused at RCPT, permanently, with the reason (issue 22 items 1, 3).
    let mut smtp = Smtp::open(ports.smtp);
    for (to, want) in [
        ("bob@example.com", "550 5.2.1"),
        ("Bob@Example.COM", "550 5.2.1"),
        ("bob@example.net", "550 5.2.1"),
        ("sales@example.com", "550 5.2.1"),
        ("dave@dead.example", "550 5.7.1"),
        ("nobody@plain.example", "550 5.1.1"),
    ] {
        let (_, l) = smtp.rcpt(outside, None, to);
        eprintln!("{}: RCPT TO:<{to}> -> {l}", t.name);
        ck.ok(l.starts_with(want), &format!("RCPT {to}: {l}"), logs);
    }
    let (code, l) = smtp.rcpt(outside, None, "x@elsewhere.example");
    ck.ok(
        code / 100 == 4 || code / 100 == 5,
        &format!("no open relay: {l}"),
        logs,
    );

    // Delivered: mailbox, mixed case, alias, catch-all, alias domain (plus
    // its catch-all).
    let deliveries = [
        ("alice@example.com", "d1-mailbox"),
        ("ALICE@Example.Com", "d2-mixed-case"),
        ("info@example.com", "d3-alias"),
        ("whoever@example.com", "d4-catchall"),
        ("alice@example.net", "d5-alias-domain"),
        ("whoever@example.net", "d6-alias-domain-catchall"),
        ("pat@plain.example", "d7-other-domain"),
    ];
    for (to, subject) in deliveries {
        let (code, l) = smtp.send(outside, to, subject, 200);
        ck.ok(code == 250, &format!("DATA for {to}: {l}"), logs);
    }
    // small@ gets ~12 kB of its 20 kB.
    let (code, l) = smtp.send(outside, "small@example.com", "q1-small", 12_000);
    ck.ok(code == 250, &format!("DATA for small: {l}"), logs);
    smtp.0.smtp("QUIT");

    let want_alice = ["d1-mailbox", "d2-mixed-case", "d3-alias", "d5-alias-domain"];
    let want_carol = ["d4-catchall", "d6-alias-domain-catchall"];
    let until = Instant::now() + Duration::from_secs(30);
    while !s.queue_is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    ck.ok(s.queue_is_empty(), "queue drained", logs);
    ck.ok(
        inbox_subjects(ports.imap, "alice@example.com", PW) == want_alice,
        "alice's INBOX",
        logs,
    );
    ck.ok(
        inbox_subjects(ports.imap, "carol@example.com", PW) == want_carol,
        "carol's INBOX (catch-all)",
        logs,
    );
    ck.ok(
        inbox_subjects(ports.imap, "pat@plain.example", PW) == ["d7-other-domain"],
        "pat's INBOX",
        logs,
    );
    ck.ok(
        inbox_subjects(ports.imap, "small@example.com", PW) == ["q1-small"],
        "small's INBOX",
        logs,
    );
    let log = s.maillog();
    ck.ok(
        !log.contains("sender non-delivery notification") && !log.contains("status=bounced"),
        "no bounce was made",
        logs,
    );

    // IMAP logins: mixed case, wrong password, suspended, then a password
    // change through ops takes effect at once.
    ck.ok(
        imap_login(ports.imap, "Alice@Example.COM", PW).0,
        "IMAP mixed case",
        logs,
    );
    ck.ok(
        !imap_login(ports.imap, "alice@example.com", "wrong-password-9").0,
        "IMAP wrong password",
        logs,
    );
    ck.ok(
        !imap_login(ports.imap, "bob@example.com", PW).0,
        "IMAP suspended",
        logs,
    );
    ck.ok(
        !imap_login(ports.imap, "dave@dead.example", PW).0,
        "IMAP suspended domain",
        logs,
    );
    ops::mailboxes::set_password(&mut c, &a, "carol@example.com", NEW_PW).unwrap();
    ck.ok(
        !imap_login(ports.imap, "carol@example.com", PW).0,
        "IMAP old password",
        logs,
    );
    ck.ok(
        imap_login(ports.imap, "carol@example.com", NEW_PW).0,
        "IMAP new password",
        logs,
    );

    // SMTP AUTH and sender rules (reject_sender_login_mismatch).
    let mut smtp = Smtp::open(ports.smtp);
    let (_, l) = smtp.rcpt("alice@example.com", None, "carol@example.com");
    ck.ok(
        l.starts_with("553"),
        &format!("unauthenticated use of a local sender: {l}"),
        logs,
    );
    ck.ok(
        smtp.auth("carol@example.com", PW) == 535,
        "SMTP AUTH old password",
        logs,
    );
    ck.ok(
        smtp.auth("carol@example.com", NEW_PW) == 235,
        "SMTP AUTH new password",
        logs,
    );
    drop(smtp);
    let mut smtp = Smtp::open(ports.smtp);
    ck.ok(
        smtp.auth("bob@example.com", PW) == 535,
        "SMTP AUTH suspended",
        logs,
    );
    ck.ok(smtp.auth("alice@example.com", PW) == 235, "SMTP AUTH", logs);
    for (from, ok) in [
        ("alice@example.com", true),
        ("alice@example.net", true),
        ("info@example.com", true),
        ("carol@example.com", false),
        ("whoever@example.com", false),
    ] {
        let (code, l) = smtp.rcpt(from, None, "pat@plain.example");
        ck.ok(
            (code == 250) == ok,
            &format!("alice sending as {from}: {l}"),
            logs,
        );
    }
    smtp.0.smtp("QUIT");

    // Quota: the sync writes what Dovecot counts, and over-quota mail is
    // refused at RCPT, before acceptance (issue 22 item 2).
    let raw = quota::run_command(&format!(
        "doveadm -c {} -f tab quota get -A",
        s.dc_conf.display()
    ))
    .unwrap();
    let sum = ops::quota::sync_from_output(&mut c, &a, &raw, "e2e").unwrap();
    ck.ok(
        sum.unknown == 0,
        &format!("every user known: {sum:?}"),
        logs,
    );
    let one = s.doveadm(&["-f", "tab", "quota", "get", "-u", "small@example.com"]);
    let one = String::from_utf8_lossy(&one.stdout).into_owned();
    let dovecot_kib: i64 = one
        .lines()
        .find(|l| l.contains("STORAGE"))
        .and_then(|l| l.split('\t').nth(2))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("doveadm quota get: {one}"));
    let used: i64 = mailboxes::table
        .filter(mailboxes::username.eq("small@example.com"))
        .select(mailboxes::quota_used)
        .first(&mut c)
        .unwrap();
    ck.ok(
        used == dovecot_kib * 1024 && (12_000..SMALL_QUOTA).contains(&used),
        &format!("quota_used {used} = doveadm's {dovecot_kib} KiB"),
        logs,
    );
    let mut smtp = Smtp::open(ports.smtp);
    let (_, l) = smtp.rcpt(outside, Some(10_000), "small@example.com");
    eprintln!(
        "{}: MAIL FROM SIZE=10000, RCPT TO:<small@example.com> -> {l}",
        t.name
    );
    ck.ok(
        l.starts_with("552 5.2.2"),
        &format!("over quota at RCPT: {l}"),
        logs,
    );
    let (code, l) = smtp.rcpt(outside, Some(1_000), "small@example.com");
    ck.ok(code == 250, &format!("still room for 1 kB: {l}"), logs);
    let (code, l) = smtp.rcpt(outside, Some(10_000), "alice@example.com");
    ck.ok(code == 250, &format!("a roomy mailbox: {l}"), logs);
    smtp.0.smtp("QUIT");

    ck.ok(
        s.queue_is_empty(),
        "nothing queued or bounced at the end",
        logs,
    );
    ck.ok(
        !s.dovecot_log().contains("User doesn't exist"),
        "Dovecot never saw a suspended or unknown recipient",
        logs,
    );
    eprintln!(
        "mail_e2e {}: {} checks passed in {:.1} s",
        t.name,
        ck.0,
        began.elapsed().as_secs_f64()
    );
    drop(s);
}

fn nix_is_root() -> bool {
    String::from_utf8_lossy(&sh(Command::new("id").arg("-u")).stdout).trim() == "0"
}

on_both_backends!(
    postfix_and_dovecot_deliver_and_refuse_as_the_database_says,
    |t| { run(t) }
);
