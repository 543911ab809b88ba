//! A throw-away authoritative DNS server (NSD) on loopback for the
//! deliverability tests: one root zone (".") holding every test name, so a
//! snippet naming several domains and the in-addr.arpa PTRs loads as one
//! file. NSD runs in the foreground (-d) as our child, in its own temp dir
//! with no privilege drop and no database file, and is killed on drop.
//! The zone is checked with nsd-checkzone first, so a typo in a test zone
//! fails loudly instead of turning into SERVFAILs.
//!
//! Also: a UDP socket that never answers, for the resolver-timeout cases.
//!
//! When NSD is not installed the tests print why they skip; with CI=true
//! that is a failure (.ci/run installs nsd).

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NSD: &str = "/usr/sbin/nsd";
const CHECKZONE: &str = "/usr/sbin/nsd-checkzone";

pub struct Nsd {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
}

/// A port free for both TCP and UDP on 127.0.0.1 right now.
fn free_port() -> u16 {
    for _ in 0..50 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP");
}

/// The records every root zone needs before the test's own.
pub const ZONE_HEAD: &str = "$TTL 300\n\
.\tIN\tSOA\tns.pm.test. hostmaster.pm.test. 1 3600 600 86400 300\n\
.\tIN\tNS\tns.pm.test.\n\
ns.pm.test.\tIN\tA\t127.0.0.1\n";

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

impl Nsd {
    /// NSD serving `records` (zone-file lines) after `ZONE_HEAD`; None when
    /// NSD is missing (the caller skips, or fails under CI).
    pub fn start(records: &str) -> Option<Nsd> {
        if !Path::new(NSD).exists() {
            crate::common::skip("nsd is not installed (apt-get install nsd; .ci/run does)");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let zone = d.join("root.zone");
        write(&zone, &format!("{ZONE_HEAD}{records}\n"));
        let check = Command::new(CHECKZONE)
            .args([".", &zone.display().to_string()])
            .output()
            .expect("run nsd-checkzone");
        assert!(
            check.status.success(),
            "test zone does not load: {}{}\n{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr),
            records
        );
        let port = free_port();
        let p = |name: &str| d.join(name).display().to_string();
        write(
            &d.join("nsd.conf"),
            &format!(
                "server:\n  ip-address: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n  \
                 zonesdir: \"{dir}\"\n  database: \"\"\n  pidfile: \"{pid}\"\n  xfrdfile: \"{xfrd}\"\n  \
                 xfrdir: \"{dir}\"\n  zonelistfile: \"{zl}\"\n  logfile: \"{log}\"\n  server-count: 1\n  \
                 verbosity: 1\n  hide-version: yes\n\
                 remote-control:\n  control-enable: no\n\
                 zone:\n  name: \".\"\n  zonefile: \"{zone}\"\n",
                dir = d.display(),
                pid = p("nsd.pid"),
                xfrd = p("xfrd.state"),
                zl = p("zone.list"),
                log = p("nsd.log"),
                zone = zone.display(),
            ),
        );
        let child = Command::new(NSD)
            .args(["-d", "-c", &p("nsd.conf")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nsd");
        let mut nsd = Nsd { child, dir, port };
        nsd.wait_ready();
        Some(nsd)
    }

    /// Up when the TCP listener accepts; NSD opens UDP and TCP together.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nsd exited ({status}): {}", self.log());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("nsd did not come up within 30 s: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default()
    }

    /// `IP:port` for `[dns] nameservers`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A nameserver that swallows every query: a bound UDP socket nobody reads,
/// and a TCP listener on the same port that never accepts (the kernel
/// completes the handshake into the backlog, then nothing answers).
pub struct DeadServer {
    _udp: UdpSocket,
    _tcp: TcpListener,
    pub addr: String,
}

pub fn dead_server() -> DeadServer {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let addr = udp.local_addr().expect("local addr");
        if let Ok(tcp) = TcpListener::bind(addr) {
            return DeadServer {
                _udp: udp,
                _tcp: tcp,
                addr: addr.to_string(),
            };
        }
    }
    panic!("no port free for both UDP and TCP");
}
