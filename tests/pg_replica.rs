//! One database, many mail hosts (issue 23 item 5): a private PostgreSQL
//! primary on 127.0.0.1 and a streaming replica of it (pg_basebackup -R) on
//! 127.0.0.2, same port. The console writes on the primary; the generated
//! Postfix maps and Dovecot config list both hosts (`[mail] lookup_hosts`);
//! a replica-only config answers `postmap -q` and `doveadm auth test` once
//! the write has replicated; the replica refuses writes; `health` on the
//! primary reports the replica and its lag, on the replica its replay state.
//! The shared server is left alone.

mod common;
mod mail_harness;
mod pg_cluster;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mail_harness::{Dovecot, Postfix};
use pg_cluster::{as_postgres, is_root, pg_bin, postgres_uid, run};
use postfix_manager::db::{self, AnyConnection, DbUrl};
use postfix_manager::ops::{self, mailboxes::NewMailbox, Client, ClientKind, Ctx};

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const PW: &str = "mailbox-password-1";

/// A port free on both loopback addresses: Dovecot's `connect` takes one
/// `port=` for all its hosts, so primary and replica share it.
fn shared_port() -> u16 {
    for _ in 0..50 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.2", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

/// Both servers; dropping it (also while a failed assertion unwinds) stops
/// whichever were started.
struct Pair {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    started: Vec<PathBuf>,
}

impl Pair {
    fn start() -> Option<Pair> {
        let Some(bin) = pg_bin(&["initdb", "pg_basebackup"]) else {
            common::skip("PostgreSQL server binaries (initdb, pg_basebackup) are not installed");
            return None;
        };
        if !is_root() {
            common::skip("a private PostgreSQL cluster needs root (to run it as postgres)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(dir.path(), Some(postgres_uid()), None).unwrap();
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let mut pair = Pair {
            dir,
            bin,
            port: shared_port(),
            started: Vec::new(),
        };
        pair.start_primary();
        pair.start_replica();
        Some(pair)
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn socket_dir(&self, name: &str) -> String {
        let s = self.path(name);
        std::fs::create_dir(&s).unwrap();
        std::os::unix::fs::chown(&s, Some(postgres_uid()), None).unwrap();
        s.display().to_string()
    }

    fn append_conf(data: &Path, text: &str) {
        use std::io::Write;
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        writeln!(conf, "{text}").unwrap();
    }

    fn pg_ctl_start(&mut self, name: &str) {
        let data = self.path(name);
        run(
            as_postgres(&self.bin, "pg_ctl").args([
                "-D",
                data.to_str().unwrap(),
                "-l",
                self.path(&format!("{name}.log")).to_str().unwrap(),
                "-w",
                "start",
            ]),
            &format!("pg_ctl start {name}"),
        );
        self.started.push(data);
    }

    fn start_primary(&mut self) {
        let data = self.path("primary");
        run(
            as_postgres(&self.bin, "initdb").args([
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
        let sock = self.socket_dir("sock-primary");
        Self::append_conf(
            &data,
            &format!(
                "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sock}'\n\
                 wal_level = replica\nmax_wal_senders = 4\nfsync = off\n",
                self.port
            ),
        );
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.0/8 trust\n\
             host replication replicator 127.0.0.0/8 trust\n",
        )
        .unwrap();
        self.pg_ctl_start("primary");
        for stmt in [
            "CREATE ROLE replicator REPLICATION LOGIN",
            "CREATE DATABASE pm",
        ] {
            run(
                as_postgres(&self.bin, "psql").args([
                    "-h",
                    &sock,
                    "-p",
                    &self.port.to_string(),
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
    }

    fn start_replica(&mut self) {
        let data = self.path("replica");
        run(
            as_postgres(&self.bin, "pg_basebackup").args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "replicator",
                "-D",
                data.to_str().unwrap(),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ]),
            "pg_basebackup",
        );
        let sock = self.socket_dir("sock-replica");
        // Later lines win: the copied primary settings, moved to 127.0.0.2.
        Self::append_conf(
            &data,
            &format!(
                "listen_addresses = '127.0.0.2'\nunix_socket_directories = '{sock}'\n\
                 cluster_name = 'replica1'\n"
            ),
        );
        self.pg_ctl_start("replica");
    }

    fn url(&self, host: &str) -> String {
        format!("postgres://postgres@{host}:{}/pm", self.port)
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for data in self.started.iter().rev() {
            let _ = as_postgres(&self.bin, "pg_ctl")
                .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
                .output();
        }
    }
}

fn pm(config: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .env("POSTFIX_MANAGER_CONFIG", config)
        .env_remove("POSTFIX_MANAGER_DATABASE_URL")
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .env_remove("PGPASSFILE")
        .env_remove("PGPASSWORD")
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn mailbox(c: &mut AnyConnection, a: &Ctx, addr: &str) -> Result<(), String> {
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
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Poll until `f` holds; replication is asynchronous, so this waits for it
/// rather than timing it.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{what}: not within 120 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.elapsed()
}

fn health_check(config: &Path, url: &str) -> serde_json::Value {
    let out = pm(config, url, &["--json", "health"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "health --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "replication")
        .unwrap_or_else(|| panic!("no replication check: {v}"))
        .clone()
}

fn generate(cfg: &Path, url: &str, out: &Path, extra: &[&str]) {
    let pwfile = cfg.with_file_name("admin.pw");
    let mut args = vec![
        "--user",
        "admin",
        "--password-file",
        pwfile.to_str().unwrap(),
        "mail",
        "generate",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(pm(cfg, url, &args), "mail generate");
    let files: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    mail_harness::backdate(&files);
}

fn write_config(cfg: &Path, root: &Path, hosts: &[&str]) {
    let list: Vec<String> = hosts.iter().map(|h| format!("{h:?}")).collect();
    std::fs::write(
        cfg,
        format!(
            "[security]\nbcrypt_cost = 4\n\n[mail]\nmail_root = \"{}\"\nvmail_uid = 65534\n\
             vmail_gid = 65534\nlookup_hosts = [{}]\n",
            root.display(),
            list.join(", ")
        ),
    )
    .unwrap();
}

#[test]
fn lookups_through_a_streaming_replica_writes_on_the_primary() {
    let started = Instant::now();
    if !mail_harness::have(&["postmap", "postconf", "dovecot", "doveadm"]) {
        return;
    }
    let Some(pair) = Pair::start() else { return };
    let p = pair.port;
    let primary = pair.url("127.0.0.1");
    let replica = pair.url("127.0.0.2");
    let work = tempfile::tempdir().unwrap();
    let cfg = work.path().join("config.toml");
    let root = mail_harness::shared_dir(work.path(), "vmail");
    write_config(&cfg, &root, &["127.0.0.1", "127.0.0.2"]);
    std::fs::write(
        work.path().join("admin.pw"),
        format!("{}\n", common::ADMIN_PW),
    )
    .unwrap();

    // the console's side: migrations and writes on the primary, through ops
    ok(pm(&cfg, &primary, &["db", "migrate"]), "db migrate");
    let mut pc = db::connect(&DbUrl::parse(&primary).unwrap(), false).unwrap();
    ops::users::bootstrap_admin(
        &mut pc,
        &Client::from_env(ClientKind::Cli),
        &common::policy(),
        "admin@example.net",
        common::ADMIN_PW,
    )
    .unwrap();
    let a = common::login_as_cli(&mut pc, work.path(), "admin", common::ADMIN_PW);
    ops::domains::create(&mut pc, &a, "example.org", &Default::default()).unwrap();
    mailbox(&mut pc, &a, "alice@example.org").unwrap();

    // both hosts in every generated file
    let both = work.path().join("both");
    generate(&cfg, &primary, &both, &[]);
    let maps = std::fs::read_to_string(both.join("virtual_mailbox_maps.cf")).unwrap();
    assert!(
        maps.contains(&format!(
            "\nhosts = inet:127.0.0.1:{p} inet:127.0.0.2:{p}\n"
        )),
        "{maps}"
    );
    let sql = std::fs::read_to_string(both.join("dovecot-sql.conf.ext")).unwrap();
    assert!(
        sql.contains(&format!(
            "\nconnect = host=127.0.0.1 host=127.0.0.2 port={p} dbname=pm user=postgres\n"
        )),
        "{sql}"
    );
    let Some(pf_both) = Postfix::new("pgsql", &both) else {
        return;
    };
    assert_eq!(
        pf_both.query("virtual_mailbox_maps.cf", "alice@example.org"),
        Some("example.org/alice/".into()),
        "Postfix reads the two-host line"
    );
    let dove_both = Dovecot::start(&both);
    assert!(
        dove_both.auth("alice@example.org", PW),
        "Dovecot reads the two-host line"
    );
    drop(dove_both);

    // a mail host that reads only the replica
    write_config(&cfg, &root, &["127.0.0.2"]);
    let rep = work.path().join("replica-only");
    generate(&cfg, &primary, &rep, &[]);
    let maps = std::fs::read_to_string(rep.join("virtual_mailbox_maps.cf")).unwrap();
    assert!(
        maps.contains(&format!("\nhosts = inet:127.0.0.2:{p}\n")),
        "{maps}"
    );
    // the hosts apply to whichever URL the files are written with: the
    // mail servers' read-only role (--lookup-url / [mail] database_url)
    // keeps its user and database, only its host is replaced
    let ro = work.path().join("lookup-url");
    let lookup = format!("postgres://mailread:ro-pw@ignored.example:{p}/pm");
    generate(&cfg, &primary, &ro, &["--lookup-url", &lookup]);
    let maps = std::fs::read_to_string(ro.join("virtual_mailbox_maps.cf")).unwrap();
    assert!(
        maps.contains(&format!(
            "\nhosts = inet:127.0.0.2:{p}\nuser = mailread\npassword = ro-pw\ndbname = pm\n"
        )),
        "{maps}"
    );
    let sql = std::fs::read_to_string(ro.join("dovecot-sql.conf.ext")).unwrap();
    assert!(
        sql.contains(&format!(
            "\nconnect = host=127.0.0.2 port={p} dbname=pm user=mailread password=ro-pw\n"
        )),
        "{sql}"
    );

    let pf = Postfix::new("pgsql", &rep).unwrap();
    let waited = wait_until("alice replicated", || {
        pf.query("virtual_mailbox_maps.cf", "alice@example.org")
            .is_some()
    });
    eprintln!("alice visible through the replica after {waited:?}");
    let dove = Dovecot::start(&rep);
    assert!(
        dove.auth("alice@example.org", PW),
        "Dovecot logs in through the replica"
    );

    // the replica refuses writes, nothing changes there; the primary takes them
    let mut rc = db::connect(&DbUrl::parse(&replica).unwrap(), false).unwrap();
    let before = common::count(&mut rc, "mailboxes");
    let e = mailbox(&mut rc, &a, "refused@example.org").unwrap_err();
    assert!(e.contains("read-only"), "{e}");
    assert_eq!(common::count(&mut rc, "mailboxes"), before);
    mailbox(&mut pc, &a, "bob@example.org").unwrap();
    let waited = wait_until("bob replicated", || {
        pf.query("virtual_mailbox_maps.cf", "bob@example.org")
            .is_some()
    });
    eprintln!("bob visible through the replica {waited:?} after the primary's commit");
    assert!(dove.auth("bob@example.org", PW));
    assert_eq!(
        pf.query("virtual_mailbox_maps.cf", "refused@example.org"),
        None
    );

    // health: the primary names its replica and the lag; the replica knows it is one
    let h = health_check(&cfg, &primary);
    eprintln!("health on the primary: {} {}", h["status"], h["message"]);
    let msg = h["message"].as_str().unwrap();
    assert_eq!(h["status"], "OK", "{h}");
    assert!(
        msg.starts_with("primary, 1 streaming replica: replica1@127.0.0.1 streaming, "),
        "{msg}"
    );
    let h = health_check(&cfg, &replica);
    eprintln!("health on the replica: {} {}", h["status"], h["message"]);
    assert!(
        h["message"]
            .as_str()
            .unwrap()
            .starts_with("standby (read-only): WAL receiver streaming, "),
        "{h}"
    );
    // a limit that cannot be met is refused, naming the flag
    let out = pm(
        &cfg,
        &primary,
        &["--json", "health", "--replica-lag-warn-secs=400"],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("replica-lag-warn-secs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("test ran {:?}", started.elapsed());
}
