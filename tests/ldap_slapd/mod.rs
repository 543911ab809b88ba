//! A throw-away OpenLDAP slapd on loopback for the LDAP tests, modelled on
//! shared/peers/slapd-start.sh: its own temp dir, free ports picked at
//! start, StartTLS on the plain port and LDAPS on a second one, with a
//! server certificate signed by a CA generated for this instance (and a
//! second, unrelated CA to prove that verification is real). slapd runs in
//! the foreground (-d) as our child and is killed on drop.
//!
//! When slapd is not installed the tests print why they skip; with CI=true
//! that is a failure (.ci/run installs slapd, ldap-utils and openssl).

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=example,dc=com";
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
pub const READER_DN: &str = "cn=reader,dc=example,dc=com";
pub const READER_PW: &str = "Reader-Bind-Secret-4242";
pub const ALICE_PW: &str = "alice-ldap-password-1";
pub const BOB_PW: &str = "bob-ldap-password-22";

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";

pub struct Slapd {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub ldaps_port: u16,
    /// The CA that signed the server certificate.
    pub ca: PathBuf,
    /// A CA that signed nothing the server has.
    pub other_ca: PathBuf,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    run(
        Command::new("openssl").current_dir(dir).args(args),
        "openssl",
    );
}

/// CA, server key and certificate for 127.0.0.1/localhost; EC keys, fast.
fn make_certs(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=postfix-manager test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
}

fn config_ldif(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {d}/slapd.pid
olcTLSCACertificateFile: {d}/ca.pem
olcTLSCertificateFile: {d}/server.pem
olcTLSCertificateKeyFile: {d}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/nis.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {SUFFIX}
olcRootDN: cn=admin,{SUFFIX}
olcDbDirectory: {d}/db
olcDbMaxSize: 104857600
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by self read by users read by anonymous none
"
    )
}

/// The directory: a service account, three people with mail, one without,
/// and one whose cn carries terminal escape sequences (base64 in LDIF).
fn data_ldif() -> String {
    use base64::Engine;
    let evil_cn =
        base64::engine::general_purpose::STANDARD.encode("Mallory \x1b[2J\x1b]0;pwned\x07Evil");
    format!(
        "dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: example
o: example

dn: {READER_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: {READER_PW}

dn: {PEOPLE}
objectClass: organizationalUnit
ou: people

dn: uid=alice,{PEOPLE}
objectClass: inetOrgPerson
uid: alice
cn: Alice Example
sn: Example
mail: alice@example.com
userPassword: {ALICE_PW}

dn: uid=bob,{PEOPLE}
objectClass: inetOrgPerson
uid: bob
cn: Bob Example
sn: Example
mail: bob@example.com
userPassword: {BOB_PW}

dn: uid=nomail,{PEOPLE}
objectClass: inetOrgPerson
uid: nomail
cn: No Mail
sn: Mail
userPassword: nomail-password-1

dn: uid=mallory,{PEOPLE}
objectClass: inetOrgPerson
uid: mallory
cn:: {evil_cn}
sn: Evil
mail: mallory@example.com
userPassword: mallory-password-1
"
    )
}

pub fn available() -> bool {
    let ok = Path::new(SLAPD).exists()
        && Path::new(SLAPADD).exists()
        && Command::new("openssl")
            .arg("version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        crate::common::skip("slapd/slapadd/openssl not installed (apt-get install slapd ldap-utils openssl; .ci/run does it)");
    }
    ok
}

impl Slapd {
    /// Start an instance, or None (after printing why) when slapd is missing.
    pub fn start() -> Option<Slapd> {
        if !available() {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("slapd.d")).unwrap();
        std::fs::create_dir_all(p.join("db")).unwrap();
        make_certs(p);
        std::fs::write(p.join("config.ldif"), config_ldif(p)).unwrap();
        std::fs::write(p.join("data.ldif"), data_ldif()).unwrap();
        let slapd_d = p.join("slapd.d");
        run(
            Command::new(SLAPADD)
                .args(["-n", "0", "-F"])
                .arg(&slapd_d)
                .arg("-l")
                .arg(p.join("config.ldif")),
            "slapadd cn=config",
        );
        run(
            Command::new(SLAPADD)
                .args(["-n", "1", "-F"])
                .arg(&slapd_d)
                .arg("-l")
                .arg(p.join("data.ldif")),
            "slapadd data",
        );
        // Ports are picked free and handed to slapd at once; a clash with a
        // parallel test shows as "Address already in use" and is retried.
        let mut dir = Some(dir);
        for _ in 0..5 {
            let (port, ldaps_port) = (free_port(), free_port());
            if port == ldaps_port {
                continue;
            }
            let d = dir.take().expect("dir");
            let log = std::fs::File::create(d.path().join("slapd.log")).unwrap();
            let child = Command::new(SLAPD)
                .args(["-d", "stats", "-h"])
                .arg(format!(
                    "ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/"
                ))
                .arg("-F")
                .arg(&slapd_d)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("spawn slapd");
            let mut s = Slapd {
                child,
                ca: d.path().join("ca.pem"),
                other_ca: d.path().join("other-ca.pem"),
                port,
                ldaps_port,
                dir: d,
            };
            if s.wait_ready() {
                return Some(s);
            }
            let log = s.log();
            let _ = s.child.kill();
            let _ = s.child.wait();
            if !log.contains("already in use") {
                panic!("slapd did not start; log:\n{log}");
            }
            // Keep the prepared directory for the next try.
            dir = Some(std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap()));
        }
        panic!("slapd did not start after 5 port choices");
    }

    fn wait_ready(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(15);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let up = |port| TcpStream::connect(("127.0.0.1", port)).is_ok();
            if up(self.port) && up(self.ldaps_port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that accepts connections and never answers: a hung server.
pub struct Blackhole {
    pub port: u16,
    _listener: TcpListener,
}

impl Blackhole {
    pub fn new() -> Blackhole {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        Blackhole {
            port: l.local_addr().unwrap().port(),
            _listener: l,
        }
    }
}
