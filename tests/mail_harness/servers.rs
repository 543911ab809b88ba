//! A private Postfix and Dovecot on loopback ports (LMTP + IMAP + SASL),
//! wired with the generated files and the README's main.cf lines, and the
//! plain SMTP/IMAP clients that talk to them (moved out of mail_e2e.rs so
//! the rename and send-as tests drive the same servers; `setup` checks the
//! programs and prepares one instance). Socket reads time out.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use postfix_manager::config::MailConfig;
use postfix_manager::db::DbUrl;

use crate::common::{self, TestDb};

/// A private instance's directory, ports and mail config, before
/// `mail generate`.
pub struct Setup {
    pub tmp: tempfile::TempDir,
    pub gen: PathBuf,
    pub ports: Ports,
    pub mail: MailConfig,
}

impl Setup {
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }
}

/// Check the programs (skip, or fail under CI=true, without them), make
/// the directories, pick the ports and let Postfix read the SQLite
/// database. Call it once the test database's files exist (their group
/// and mode are changed here).
pub fn setup(t: &TestDb) -> Option<Setup> {
    if !super::have(&[
        "postfix",
        "postconf",
        "postqueue",
        "dovecot",
        "doveadm",
        "doveconf",
    ]) {
        return None;
    }
    if !is_root() {
        common::skip("Postfix's master must start as root");
        return None;
    }
    for bin in ["imap", "lmtp", "quota-status"] {
        if !Path::new("/usr/lib/dovecot").join(bin).exists() {
            common::skip(&format!(
                "/usr/lib/dovecot/{bin} missing (dovecot-imapd, dovecot-lmtpd); run .ci/install-mail-servers"
            ));
            return None;
        }
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::Builder::new()
        .prefix("pm-e2e")
        .tempdir()
        .expect("tempdir");
    let root = tmp.path();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let homes = super::shared_dir(root, "vmail");
    let gen = root.join("generated");
    let p = free_ports(4);
    let ports = Ports {
        smtp: p[0],
        lmtp: p[1],
        imap: p[2],
        quota: p[3],
    };
    let mail = MailConfig {
        quota_status_port: ports.quota,
        file_group: "postfix".into(),
        ..super::mail_config(&homes)
    };
    let kind = if t.name == "sqlite" {
        "sqlite"
    } else {
        "pgsql"
    };
    super::Postfix::new(kind, root)?;
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
    Some(Setup {
        tmp,
        gen,
        ports,
        mail,
    })
}

pub fn sh(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("run")
}

pub fn daemon_start(cmd: &mut Command) -> bool {
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn free_ports(n: usize) -> Vec<u16> {
    // Held together so the n ports differ; released just before the daemons bind.
    let ls: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    ls.iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect()
}

pub fn wait_port(port: u16, what: &str, log: impl Fn() -> String) {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on {port}: {}", log());
}

pub fn pid_alive(pid: i32) -> bool {
    Command::new("kill")
        .args(["-0", &pid.to_string()])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Both daemons; Drop stops them even when a check panics.
pub struct Servers {
    pub root: PathBuf,
    pub pf_conf: PathBuf,
    pub dc_conf: PathBuf,
    pub dc_pid: Option<i32>,
    pub pf_started: bool,
}

impl Servers {
    pub fn maillog(&self) -> String {
        std::fs::read_to_string(self.root.join("postfix/maillog")).unwrap_or_default()
    }
    pub fn dovecot_log(&self) -> String {
        std::fs::read_to_string(self.root.join("dovecot/dovecot.log")).unwrap_or_default()
    }
    pub fn logs(&self) -> String {
        format!(
            "--- postfix maillog\n{}\n--- dovecot log\n{}",
            self.maillog(),
            self.dovecot_log()
        )
    }
    pub fn doveadm(&self, args: &[&str]) -> std::process::Output {
        sh(Command::new("doveadm")
            .arg("-c")
            .arg(&self.dc_conf)
            .args(args))
    }
    pub fn queue_is_empty(&self) -> bool {
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
pub fn readme_main_cf(readme: &str) -> Vec<String> {
    let lines = readme_section(readme, "## Postfix (main.cf)");
    assert!(lines.len() > 5, "README main.cf lines: {lines:?}");
    lines
}

/// The main.cf lines of one section of the generated README, continuation
/// lines joined.
pub fn readme_section(readme: &str, section: &str) -> Vec<String> {
    let start = readme
        .find(section)
        .unwrap_or_else(|| panic!("README has no section {section:?}"));
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
    assert!(!lines.is_empty(), "README {section}: no main.cf lines");
    lines
}

pub fn start(gen: &Path, root: &Path, ports: &Ports) -> Servers {
    start_with(gen, root, ports, &Extra::default())
}

/// What a test adds to the private instance: main.cf lines after the
/// README's (later lines win), master.cf services, ports to wait for.
#[derive(Default)]
pub struct Extra {
    pub main_cf: Vec<String>,
    pub master_cf: Vec<String>,
    pub ports: Vec<u16>,
}

/// `start` with `extra` lines and services.
pub fn start_with(gen: &Path, root: &Path, ports: &Ports, extra: &Extra) -> Servers {
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
        servers.dc_pid = read_pid(&dc.join("run/master.pid"));
        if servers.dc_pid.is_some() {
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
    for l in readme_main_cf(&readme).iter().chain(&extra.main_cf) {
        main.push_str(l);
        main.push('\n');
    }
    main.push_str(&format!(
        "virtual_transport = lmtp:inet:127.0.0.1:{}\nsmtpd_sasl_path = {d}/auth-postfix\n",
        ports.lmtp
    ));
    std::fs::write(pf.join("conf/main.cf"), last_wins(&main)).expect("main.cf");
    let master = format!(
        "127.0.0.1:{} inet n - n - - smtpd\n{}{}",
        ports.smtp,
        extra
            .master_cf
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
        MASTER_SERVICES
    );
    std::fs::write(pf.join("conf/master.cf"), master).expect("master.cf");
    // A warning here is logged by every daemon at start: see last_wins.
    let check = sh(Command::new("postconf")
        .arg("-c")
        .arg(pf.join("conf"))
        .arg("-n"));
    let warned = String::from_utf8_lossy(&check.stderr).to_string();
    assert!(
        check.status.success() && warned.is_empty(),
        "main.cf: {warned}"
    );
    super::backdate(&[pf.join("conf/main.cf"), pf.join("conf/master.cf")]);
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
    for p in &extra.ports {
        wait_port(*p, "postfix (extra service)", || servers.logs());
    }
    servers
}

/// A private instance's master.cf after its smtpd lines: the services
/// Postfix needs, run unchrooted, logging through postlogd.
pub const MASTER_SERVICES: &str = "\
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
";

/// `main` with one assignment per parameter, the last one's value in the
/// first one's place. Postfix takes the last too, but every process that
/// reads a main.cf with a repeated parameter logs "overriding earlier
/// entry", postlogd included, which sends its own warnings through the
/// postlog socket it reads: with a dozen processes starting at once the
/// datagram queue (net.unix.max_dgram_qlen, 10) fills while postlogd waits
/// on itself, and every daemon then blocks in its next log call (smtpd
/// before its greeting). Written for issue 21's policyd_mail, whose extra
/// lines repeat the README's.
pub fn last_wins(main: &str) -> String {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in main.lines() {
        let continues = line.starts_with([' ', '\t']);
        match (continues, entries.last_mut()) {
            (true, Some(last)) => {
                last.1.push('\n');
                last.1.push_str(line);
            }
            _ => {
                let name = line.split('=').next().unwrap_or("").trim().to_string();
                entries.push((name, line.to_string()));
            }
        }
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, text) in entries {
        let named = !name.is_empty() && !name.starts_with('#');
        match out.iter_mut().find(|(n, _)| named && *n == name) {
            Some(slot) => slot.1 = text,
            None => out.push((name, text)),
        }
    }
    out.into_iter().map(|(_, t)| t + "\n").collect()
}

/// The pid in a daemon's pid file, once there is one. The file can exist
/// and still be empty (Dovecot writes it in place): taking such a read as
/// the answer made "dovecot did not come up" fail CI now and then within
/// seconds of the start, with the master running.
pub fn read_pid(file: &Path) -> Option<i32> {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
}

pub struct Ports {
    pub smtp: u16,
    pub lmtp: u16,
    pub imap: u16,
    pub quota: u16,
}

/// A line-oriented client for SMTP and IMAP.
pub struct Client {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
    pub log: String,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_write_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let w = s.try_clone().expect("clone");
        Client {
            r: BufReader::new(s),
            w,
            log: String::new(),
        }
    }
    pub fn line(&mut self) -> String {
        let mut l = String::new();
        self.r
            .read_line(&mut l)
            .unwrap_or_else(|e| panic!("read: {e}\n{}", self.log));
        assert!(!l.is_empty(), "connection closed\n{}", self.log);
        self.log.push_str(&format!("S: {l}"));
        l.trim_end().to_string()
    }
    pub fn send(&mut self, text: &str) {
        self.log.push_str(&format!("C: {text}\n"));
        self.w
            .write_all(format!("{text}\r\n").as_bytes())
            .expect("write");
    }
    /// An SMTP reply: the code and the last line's text.
    pub fn reply(&mut self) -> (u16, String) {
        loop {
            let l = self.line();
            if l.as_bytes().get(3) != Some(&b'-') {
                let code = l.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
                return (code, l);
            }
        }
    }
    pub fn smtp(&mut self, cmd: &str) -> (u16, String) {
        self.send(cmd);
        self.reply()
    }
    /// An IMAP command; the tagged status line and everything before it.
    pub fn imap(&mut self, tag: &str, cmd: &str) -> (String, String) {
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

pub struct Smtp(pub Client);

impl Smtp {
    pub fn open(port: u16) -> Smtp {
        let mut c = Client::connect(port);
        let (code, l) = c.reply();
        assert_eq!(code, 220, "{l}");
        let (code, l) = c.smtp("EHLO client.e2e.invalid");
        assert_eq!(code, 250, "{l}");
        Smtp(c)
    }
    pub fn auth(&mut self, user: &str, pw: &str) -> u16 {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}").as_bytes());
        self.0.smtp(&format!("AUTH PLAIN {token}")).0
    }
    /// MAIL FROM (with an optional SIZE) then RCPT TO: the RCPT reply.
    pub fn rcpt(&mut self, from: &str, size: Option<usize>, to: &str) -> (u16, String) {
        let size = size.map(|s| format!(" SIZE={s}")).unwrap_or_default();
        let (code, l) = self.0.smtp(&format!("MAIL FROM:<{from}>{size}"));
        assert_eq!(code, 250, "{l}\n{}", self.0.log);
        let r = self.0.smtp(&format!("RCPT TO:<{to}>"));
        let (code, l) = self.0.smtp("RSET");
        assert_eq!(code, 250, "{l}");
        r
    }
    /// A whole message to one recipient; the final reply code.
    pub fn send(
        &mut self,
        from: &str,
        to: &str,
        subject: &str,
        body_bytes: usize,
    ) -> (u16, String) {
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

pub fn imap_login(port: u16, user: &str, pw: &str) -> (bool, Client) {
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
pub fn inbox_subjects(port: u16, user: &str, pw: &str) -> Vec<String> {
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

pub fn is_root() -> bool {
    String::from_utf8_lossy(&sh(Command::new("id").arg("-u")).stdout).trim() == "0"
}
