//! The worker's lanes: a command that waits on something other than the
//! database (here an LDAP server that never answers) runs on the slow lane,
//! so a save sent after it is answered first; and a backup reports its
//! progress through the same sink as a CSV file does.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::TestDb;
use postfix_manager::ops::{self, command};
use postfix_manager::secrets::KeyFile;
use postfix_manager::worker::{HostSettings, Job, Reply, Request, Response, Slot, Tag, Worker};
use tokio::sync::mpsc::UnboundedReceiver;

/// How long the LDAP test waits on the silent server.
const LDAP_WAIT: Duration = Duration::from_secs(4);

struct Lanes {
    worker: Worker,
    replies: UnboundedReceiver<Reply>,
    gen: u64,
}

impl Lanes {
    fn start(db: &TestDb, directory: ops::auth::Directory) -> Lanes {
        let (tx, replies) = tokio::sync::mpsc::unbounded_channel();
        let worker = Worker::spawn_with(
            db.conn(),
            db.conn(),
            common::policy(),
            directory,
            HostSettings {
                url: Some(db.url.clone()),
                ..Default::default()
            },
            tx,
        )
        .expect("worker");
        let mut lanes = Lanes {
            worker,
            replies,
            gen: 0,
        };
        lanes.send(
            Slot::Login,
            Request::Login {
                username: "admin".into(),
                password: common::ADMIN_PW.into(),
                code: None,
            },
        );
        let login = lanes.next(Duration::from_secs(30));
        assert!(
            matches!(login.result, Ok(Response::Session(_))),
            "{:?}",
            login.result
        );
        lanes
    }

    fn send(&mut self, slot: Slot, request: Request) {
        self.gen += 1;
        let tag = Tag {
            slot,
            gen: self.gen,
        };
        assert!(self.worker.send(Job { tag, request }), "worker gone");
    }

    fn next(&mut self, within: Duration) -> Reply {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(r) = self.replies.try_recv() {
                return r;
            }
            assert!(Instant::now() < deadline, "no reply within {within:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn a_save_is_answered_while_an_ldap_test_waits(db: TestDb) {
    // Accepts connections and never says a word: the LDAP bind waits for
    // its whole timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in silent.incoming().flatten() {
            held.push(s);
        }
    });
    let mut conn = db.conn();
    let admin = common::admin(&mut conn);
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyFile::new(dir.path().join("secrets.key"));
    let input = ops::ldap::ServerInput {
        host: Some("127.0.0.1".into()),
        port: Some(i64::from(port)),
        tls_mode: Some("none".into()),
        base_dn: Some("dc=example,dc=com".into()),
        ..Default::default()
    };
    ops::ldap::create(&mut conn, &admin, Some(&keys), "silent", &input).unwrap();
    let mut lanes = Lanes::start(
        &db,
        ops::auth::Directory {
            key_file: Some(keys),
            timeout: Some(LDAP_WAIT),
        },
    );

    let start = Instant::now();
    let test = command::TestLdap {
        name: "silent".into(),
    };
    lanes.send(Slot::Action, Request::Run(Box::new(test)));
    let save = command::CreateDomain {
        name: "fast.example".into(),
        input: Default::default(),
        default_aliases: false,
    };
    lanes.send(Slot::Form, Request::Run(Box::new(save)));

    let first = lanes.next(LDAP_WAIT * 3);
    assert_eq!(first.tag.slot, Slot::Form, "the save waited: {first:?}");
    match &first.result {
        Ok(Response::Done(o)) => assert_eq!(o.to_string(), "created domain fast.example"),
        other => panic!("{} save: {other:?}", db.name),
    }
    assert!(
        start.elapsed() < LDAP_WAIT,
        "{}: the save took {:?}",
        db.name,
        start.elapsed()
    );
    let second = lanes.next(LDAP_WAIT * 3);
    assert_eq!(second.tag.slot, Slot::Action);
    match &second.result {
        Err(f) => assert!(f.message.contains("LDAP silent failed"), "{f:?}"),
        other => panic!("{} LDAP test: {other:?}", db.name),
    }
    lanes.worker.shutdown(Duration::from_secs(5));
}

#[test]
fn a_save_is_answered_while_an_ldap_test_waits_sqlite() {
    a_save_is_answered_while_an_ldap_test_waits(TestDb::sqlite());
}

#[test]
fn a_save_is_answered_while_an_ldap_test_waits_postgres() {
    if let Some(db) = TestDb::postgres() {
        a_save_is_answered_while_an_ldap_test_waits(db);
    }
}

#[test]
fn a_backup_reports_progress_through_the_worker() {
    let db = TestDb::sqlite();
    let mut conn = db.conn();
    common::admin(&mut conn);
    let mut lanes = Lanes::start(&db, Default::default());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");
    lanes.send(
        Slot::Form,
        Request::Run(Box::new(command::Backup { file: file.clone() })),
    );
    let mut progress = Vec::new();
    let done = loop {
        let r = lanes.next(Duration::from_secs(60));
        match r.result {
            Ok(Response::Progress(p)) => progress.push(p.line()),
            other => break other,
        }
    };
    match done {
        Ok(Response::Done(o)) => assert!(o.to_string().starts_with("backup written to"), "{o}"),
        other => panic!("backup: {other:?}"),
    }
    assert!(
        progress
            .first()
            .is_some_and(|l| l.starts_with("Backing up… [")),
        "{progress:?}"
    );
    assert!(file.exists());
    lanes.worker.shutdown(Duration::from_secs(5));
}
