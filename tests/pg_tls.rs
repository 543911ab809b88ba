//! PostgreSQL over TLS: sslmode/sslrootcert/client certificates in the URL,
//! the password from a file or PGPASSFILE, and `health` saying whether the
//! connection is encrypted. Runs against a throw-away PostgreSQL cluster
//! started here (own CA, server and client certificates, `cert` and
//! `scram-sha-256` authentication), so the shared server is left alone.

mod common;
mod pg_cluster;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pg_cluster::{as_postgres, pg_bin, postgres_uid, run};

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const PW: &str = "tls-db-password-1";

struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let Some(bin) = pg_bin(&["initdb"]) else {
            common::skip("PostgreSQL server binaries (initdb) are not installed");
            return None;
        };
        if !pg_cluster::is_root() || Command::new("openssl").arg("version").output().is_err() {
            common::skip(
                "a private PostgreSQL cluster needs root (to run it as postgres) and openssl",
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::os::unix::fs::chown(d, Some(postgres_uid()), None).unwrap();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = d.join("data");
        run(
            as_postgres(&bin, "initdb").args([
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ]),
            "initdb",
        );
        make_certs(d);
        for f in ["server.crt", "server.key", "ca.crt"] {
            std::fs::copy(d.join(f), data.join(f)).unwrap();
            std::os::unix::fs::chown(data.join(f), Some(postgres_uid()), None).unwrap();
        }
        std::fs::set_permissions(
            data.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let sock = d.join("sock");
        std::fs::create_dir(&sock).unwrap();
        std::os::unix::fs::chown(&sock, Some(postgres_uid()), None).unwrap();
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        use std::io::Write;
        writeln!(
            conf,
            "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'ca.crt'\nfsync = off\npassword_encryption = 'scram-sha-256'",
            sock.display()
        )
        .unwrap();
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all postgres trust\nhostssl all pm_cert 127.0.0.1/32 cert\nhostssl all pm_pw 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 reject\n",
        )
        .unwrap();
        run(
            as_postgres(&bin, "pg_ctl").args([
                "-D",
                data.to_str().unwrap(),
                "-l",
                d.join("log").to_str().unwrap(),
                "-w",
                "start",
            ]),
            "pg_ctl start",
        );
        let c = Cluster { dir, bin, port };
        let sql = format!(
            "CREATE ROLE pm_cert LOGIN; CREATE ROLE pm_pw LOGIN PASSWORD '{PW}'; \
             CREATE DATABASE tls_cert OWNER pm_cert; CREATE DATABASE tls_pw OWNER pm_pw;"
        );
        for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            run(
                as_postgres(&c.bin, "psql").args([
                    "-h",
                    sock.to_str().unwrap(),
                    "-p",
                    &port.to_string(),
                    "-d",
                    "postgres",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    stmt,
                ]),
                "psql setup",
            );
        }
        Some(c)
    }

    fn path(&self, f: &str) -> String {
        self.dir.path().join(f).display().to_string()
    }

    fn cert_url(&self, root: &str, with_client_cert: bool) -> String {
        let mut u = format!(
            "postgres://pm_cert@127.0.0.1:{}/tls_cert?sslmode=verify-full&sslrootcert={root}",
            self.port
        );
        if with_client_cert {
            u.push_str(&format!(
                "&sslcert={}&sslkey={}",
                self.path("client.crt"),
                self.path("client.key")
            ));
        }
        u
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = as_postgres(&self.bin, "pg_ctl")
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .output();
    }
}

fn make_certs(d: &Path) {
    let ssl = |args: &[&str]| {
        run(Command::new("openssl").current_dir(d).args(args), "openssl");
    };
    ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=pm test CA",
    ]);
    std::fs::write(d.join("server.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    ssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    ssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    ssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "client.key",
        "-out",
        "client.csr",
        "-subj",
        "/CN=pm_cert",
    ]);
    ssl(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "client.crt",
        "-days",
        "2",
    ]);
    std::fs::set_permissions(
        d.join("client.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    // A second, unrelated CA: verification must fail against it.
    ssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "other.key",
        "-out",
        "other.crt",
        "-days",
        "2",
        "-subj",
        "/CN=someone else",
    ]);
}

fn pm(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.env("POSTFIX_MANAGER_CONFIG", config)
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .env_remove("PGPASSFILE")
        .env_remove("PGPASSWORD")
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn tls_client_certificates_password_files_and_health() {
    let Some(c) = Cluster::start() else { return };
    let cfg = c.dir.path().join("config.toml");
    std::fs::write(&cfg, "").unwrap();

    // client certificate authentication, server verified against our CA
    let url = c.cert_url(&c.path("ca.crt"), true);
    let out = pm(&cfg, &["--database-url", &url, "db", "migrate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pm(&cfg, &["--database-url", &url, "--json", "health"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let enc = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "encryption")
        .unwrap()
        .clone();
    assert_eq!(enc["status"], "OK", "{v}");
    assert!(
        enc["message"].as_str().unwrap().starts_with("TLS: TLSv1."),
        "{enc}"
    );

    // without the client certificate, or trusting the wrong CA: refused, clearly
    let out = pm(
        &cfg,
        &[
            "--database-url",
            &c.cert_url(&c.path("ca.crt"), false),
            "db",
            "status",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pm(
        &cfg,
        &[
            "--database-url",
            &c.cert_url(&c.path("other.crt"), true),
            "db",
            "status",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // the password from a file named in the config, never written into it
    let pw_url = format!(
        "postgres://pm_pw@127.0.0.1:{}/tls_pw?sslmode=verify-full&sslrootcert={}",
        c.port,
        c.path("ca.crt")
    );
    std::fs::write(c.dir.path().join("db.pw"), format!("{PW}\n")).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"{pw_url}\"\npassword_file = \"{}\"\n",
            c.path("db.pw")
        ),
    )
    .unwrap();
    let out = pm(&cfg, &["db", "migrate"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!std::fs::read_to_string(&cfg).unwrap().contains(PW));
    let out = pm(&cfg, &["db", "status"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pm_pw:***@127.0.0.1"),
        "the URL is shown with its password masked"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PW));
    std::fs::write(c.dir.path().join("db.pw"), "wrong-password\n").unwrap();
    assert!(!pm(&cfg, &["db", "status"], &[]).status.success());

    // or from libpq's PGPASSFILE
    std::fs::write(&cfg, format!("[database]\nurl = \"{pw_url}\"\n")).unwrap();
    assert!(
        !pm(&cfg, &["db", "status"], &[]).status.success(),
        "no password anywhere"
    );
    let pass = c.dir.path().join("pgpass");
    std::fs::write(&pass, format!("127.0.0.1:{}:tls_pw:pm_pw:{PW}\n", c.port)).unwrap();
    std::fs::set_permissions(&pass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = pm(
        &cfg,
        &["db", "status"],
        &[("PGPASSFILE", pass.to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
