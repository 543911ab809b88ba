//! Issue 14 item 5: the audit chain reveals truncation and rewrites. Rows
//! are chained with an HMAC key kept outside the database, and a keyed
//! checkpoint of the chain head is appended to a file (and syslog) after
//! every write; `audit verify` compares the table with the checkpoints.
//! One test per forgery the hostile review used: (a) the newest rows
//! deleted, (b) a row edited and every later hash recomputed (unkeyed, or
//! with a wrong key), (c) the oldest rows deleted and a new anchor written.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use postfix_manager::db::models::AuditLog;
use postfix_manager::db::schema::{audit_chain_anchor, audit_chain_key, audit_logs};
use postfix_manager::db::AnyConnection;
use postfix_manager::ops::{self, audit_seal::Seal, domains::DomainInput};

/// A sealed admin: rows before the seal (bootstrap, login) stay unkeyed,
/// as on a database that existed before the audit key did.
struct Sealed {
    dir: tempfile::TempDir,
    admin: ops::Ctx,
}

impl Sealed {
    fn new(c: &mut AnyConnection) -> Sealed {
        let dir = tempfile::tempdir().unwrap();
        let mut admin = common::admin(c);
        admin.policy.audit = Some(Seal::new(
            dir.path().join("keys/audit.key"),
            dir.path().join("keys/audit-checkpoints.log"),
        ));
        Sealed { dir, admin }
    }

    fn seal(&self) -> &Seal {
        self.admin.policy.audit.as_ref().unwrap()
    }

    fn key_path(&self) -> PathBuf {
        self.dir.path().join("keys/audit.key")
    }

    fn checkpoints(&self) -> PathBuf {
        self.dir.path().join("keys/audit-checkpoints.log")
    }

    fn history(&self, c: &mut AnyConnection) {
        for d in ["a.example", "b.example", "c.example", "d.example"] {
            ops::domains::create(c, &self.admin, d, &DomainInput::default()).unwrap();
        }
        let _ = ops::domains::create(c, &self.admin, "bad_name", &DomainInput::default());
    }

    fn verify(&self, c: &mut AnyConnection) -> ops::audit::ChainReport {
        ops::audit::verify(c, &self.admin).unwrap()
    }
}

fn disable_guards(c: &mut AnyConnection) {
    match c {
        AnyConnection::Sqlite(s) => s
            .batch_execute("DROP TRIGGER audit_logs_no_update; DROP TRIGGER audit_logs_no_delete;")
            .unwrap(),
        AnyConnection::Postgresql(p) => p
            .batch_execute("ALTER TABLE audit_logs DISABLE TRIGGER USER")
            .unwrap(),
    }
}

fn rows(c: &mut AnyConnection) -> Vec<AuditLog> {
    audit_logs::table
        .order(audit_logs::id.asc())
        .select(AuditLog::as_select())
        .load(c)
        .unwrap()
}

fn max_id(c: &mut AnyConnection) -> i64 {
    audit_logs::table
        .select(diesel::dsl::max(audit_logs::id))
        .first::<Option<i64>>(c)
        .unwrap()
        .unwrap()
}

fn keyed_from(c: &mut AnyConnection) -> i64 {
    audit_chain_key::table
        .select(audit_chain_key::keyed_from)
        .first(c)
        .unwrap()
}

/// The canonical text a row's hash covers, rebuilt the way an attacker
/// reading the source would.
fn canonical(r: &AuditLog) -> String {
    serde_json::json!([
        r.id,
        r.timestamp.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        r.user_id,
        r.actor,
        r.action,
        r.resource_type,
        r.resource_id,
        r.details,
        r.ip_address,
        r.user_agent,
        r.result,
        r.prev_hash
    ])
    .to_string()
}

fn hmac_hex(key: &[u8], msg: &str) -> String {
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    m.update(msg.as_bytes());
    m.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn read_key(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(text.lines().next().unwrap().trim())
        .unwrap()
}

/// Edit row `at` and rewrite every later row so all links hold again,
/// hashing with `hash` (what the forger can compute).
fn edit_and_rehash(c: &mut AnyConnection, at: i64, hash: &dyn Fn(&AuditLog) -> String) {
    let mut prev: Option<String> = None;
    for mut r in rows(c).into_iter().filter(|r| r.id >= at) {
        if r.id == at {
            r.details = Some(r#"{"after":{"domain":"innocent.example"}}"#.into());
        }
        if let Some(p) = prev.take() {
            r.prev_hash = p;
        }
        r.row_hash = hash(&r);
        diesel::update(audit_logs::table.filter(audit_logs::id.eq(r.id)))
            .set((
                audit_logs::details.eq(&r.details),
                audit_logs::prev_hash.eq(&r.prev_hash),
                audit_logs::row_hash.eq(&r.row_hash),
            ))
            .execute(c)
            .unwrap();
        prev = Some(r.row_hash);
    }
}

fn has(r: &ops::audit::ChainReport, needle: &str) -> bool {
    r.problems.iter().any(|p| p.contains(needle))
}

// ------------------------------------------------------------ clean chains

on_both_backends!(item05_clean_chain_verifies_against_checkpoints, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let r = s.verify(&mut c);
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.rows_checked, common::count(&mut c, "audit_logs"));
    // rows written before the key existed keep their unkeyed hashes
    let from = keyed_from(&mut c);
    assert!(from > 1, "bootstrap and login rows were written unkeyed");
    assert_eq!(r.keyed_from, Some(from));
    assert_eq!(r.keyed_unchecked, 0);
    assert_eq!(r.checkpoints, 5, "one checkpoint per write: {r:?}");
    let latest = r.latest_checkpoint.unwrap();
    assert_eq!(latest.last, max_id(&mut c));
    // ... and the keyed rows' hashes are not plain SHA-256 any more
    let all = rows(&mut c);
    for row in &all {
        let plain = ops::audit::row_hash_of(row) == row.row_hash;
        assert_eq!(plain, row.id < from, "row {}", row.id);
    }
    // without the key (health, restore checks) the links still verify
    let r = ops::audit::verify_chain(&mut c).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.keyed_unchecked, all.len() as i64 - (from - 1));
});

on_both_backends!(item05_checkpoint_and_key_files_are_0600, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    for p in [s.key_path(), s.checkpoints()] {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    let dir_mode = std::fs::metadata(s.key_path().parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    // a key file others can read is refused, and the write with it
    std::fs::set_permissions(s.key_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let before = common::count(&mut c, "domains");
    let e = ops::domains::create(&mut c, &s.admin, "e.example", &DomainInput::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("readable or writable by group or others"), "{e}");
    assert_eq!(common::count(&mut c, "domains"), before);
});

on_both_backends!(item05_product_prune_still_verifies, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = chrono::Utc::now().naive_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ops::domains::create(&mut c, &s.admin, "late.example", &DomainInput::default()).unwrap();
    let p = ops::audit::prune(&mut c, &s.admin, cut).unwrap();
    assert!(p.deleted > 0);
    let r = s.verify(&mut c);
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.first_id, Some(p.first_id));
    let cps = std::fs::read_to_string(s.checkpoints()).unwrap();
    assert!(
        cps.lines().any(|l| l.contains(r#""event":"prune""#)
            && l.contains(&format!(r#""first":{}"#, p.first_id))),
        "the prune wrote a checkpoint recording the new start:\n{cps}"
    );
    // writes after the prune, and pruning everything, keep verifying
    ops::domains::create(&mut c, &s.admin, "later.example", &DomainInput::default()).unwrap();
    let all = chrono::Utc::now().naive_utc() + chrono::TimeDelta::seconds(5);
    ops::audit::prune(&mut c, &s.admin, all).unwrap();
    ops::domains::create(&mut c, &s.admin, "last.example", &DomainInput::default()).unwrap();
    let r = s.verify(&mut c);
    assert!(r.ok(), "{r:?}");
});

// ------------------------------------------------------------ forgeries

on_both_backends!(item05_forgery_a_newest_rows_deleted, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let last = max_id(&mut c);
    disable_guards(&mut c);
    diesel::delete(audit_logs::table.filter(audit_logs::id.gt(last - 2)))
        .execute(&mut c)
        .unwrap();
    // the hash chain alone cannot see it
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
    let r = s.verify(&mut c);
    assert!(
        has(
            &r,
            &format!(
                "rows {}..{last} are missing since the checkpoint of",
                last - 1
            )
        ),
        "{r:?}"
    );

    // ... nor hide it by letting the product write over the gap: the new
    // rows reuse the ids with other hashes
    ops::domains::create(&mut c, &s.admin, "cover.example", &DomainInput::default()).unwrap();
    ops::domains::create(&mut c, &s.admin, "cover2.example", &DomainInput::default()).unwrap();
    assert_eq!(max_id(&mut c), last);
    let r = s.verify(&mut c);
    assert!(
        has(
            &r,
            "rows were deleted from the end and the ids written again"
        ),
        "{r:?}"
    );
});

on_both_backends!(item05_forgery_b_edit_and_rehash_unkeyed, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let at = keyed_from(&mut c) + 1;
    disable_guards(&mut c);
    // the old algorithm: plain SHA-256 over the same canonical text
    edit_and_rehash(&mut c, at, &|r| ops::audit::row_hash_of(r));
    let r = s.verify(&mut c);
    assert!(
        has(
            &r,
            &format!("row {at} was altered after it was written (HMAC mismatch")
        ),
        "{r:?}"
    );
    assert!(has(&r, "does not match the checkpoint of"), "{r:?}");

    // also claiming no row was ever keyed: the checkpoints say otherwise
    diesel::delete(audit_chain_key::table)
        .execute(&mut c)
        .unwrap();
    let r = s.verify(&mut c);
    assert!(
        has(&r, "keyed rows were rewritten with the unkeyed hash"),
        "{r:?}"
    );
    assert!(has(&r, &format!("row {}", max_id(&mut c))), "{r:?}");
});

on_both_backends!(item05_forgery_b_edit_and_rehash_with_a_wrong_key, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let from = keyed_from(&mut c);
    // the rebuilt canonical text is right: with the real key it reproduces
    // every keyed hash, so only the key stands between a forger and success
    let real = read_key(&s.key_path());
    for r in rows(&mut c).iter().filter(|r| r.id >= from) {
        assert_eq!(hmac_hex(&real, &canonical(r)), r.row_hash, "row {}", r.id);
    }
    let wrong = [7u8; 32];
    let at = from + 1;
    disable_guards(&mut c);
    edit_and_rehash(&mut c, at, &|r| hmac_hex(&wrong, &canonical(r)));
    let r = s.verify(&mut c);
    assert!(
        has(
            &r,
            &format!("row {at} was altered after it was written (HMAC mismatch")
        ),
        "{r:?}"
    );
    assert!(has(&r, "does not match the checkpoint of"), "{r:?}");
    // the chain's own links hold: only the key tells
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
});

on_both_backends!(item05_forgery_c_oldest_rows_deleted_new_anchor, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let all = rows(&mut c);
    let cut = all[3].clone();
    disable_guards(&mut c);
    diesel::delete(audit_logs::table.filter(audit_logs::id.le(cut.id)))
        .execute(&mut c)
        .unwrap();
    diesel::insert_into(audit_chain_anchor::table)
        .values((
            audit_chain_anchor::id.eq(1),
            audit_chain_anchor::first_id.eq(cut.id + 1),
            audit_chain_anchor::prev_hash.eq(&cut.row_hash),
            audit_chain_anchor::pruned_at.eq(chrono::Utc::now().naive_utc()),
        ))
        .execute(&mut c)
        .unwrap();
    assert!(ops::audit::verify_chain(&mut c).unwrap().ok());
    let r = s.verify(&mut c);
    assert!(
        has(
            &r,
            &format!("rows 1..{} are missing from the start", cut.id)
        ),
        "{r:?}"
    );
    // a later write's checkpoint sees the moved start, but no prune moved it
    ops::domains::create(&mut c, &s.admin, "cover.example", &DomainInput::default()).unwrap();
    let r = s.verify(&mut c);
    assert!(
        has(
            &r,
            &format!("rows 1..{} are missing from the start", cut.id)
        ),
        "{r:?}"
    );
    assert!(has(&r, "but no prune moved it there"), "{r:?}");
});

on_both_backends!(item05_forged_checkpoint_line_is_reported_not_trusted, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let text = std::fs::read_to_string(s.checkpoints()).unwrap();
    let last_line = text.lines().last().unwrap().to_string();
    let mut cp: ops::audit_seal::Checkpoint = serde_json::from_str(&last_line).unwrap();
    // a checkpoint claiming 100 more rows, MAC left as it was
    cp.last += 100;
    let forged = serde_json::to_string(&cp).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(s.checkpoints())
        .unwrap();
    use std::io::Write;
    writeln!(f, "{forged}").unwrap();
    writeln!(f, "garbage").unwrap();
    let n = text.lines().count();
    let r = s.verify(&mut c);
    assert!(
        has(&r, &format!("line {} (claims row {}", n + 1, cp.last)) && has(&r, "bad HMAC"),
        "{r:?}"
    );
    assert!(
        has(&r, &format!("line {} is not a checkpoint", n + 2)),
        "{r:?}"
    );
    assert!(
        !has(&r, "missing since"),
        "the forged line is not trusted: {r:?}"
    );
    assert_eq!(r.problems.len(), 2, "{r:?}");
});

on_both_backends!(item05_unkeyed_writer_refused_on_a_keyed_chain, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let mut bare = s.admin.clone();
    bare.policy.audit = None;
    let e = ops::domains::create(&mut c, &bare, "x.example", &DomainInput::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no audit key file is configured"), "{e}");
    // another key file is refused too, instead of forking the chain
    let mut other = s.admin.clone();
    other.policy.audit = Some(Seal::new(
        s.dir.path().join("other.key"),
        s.dir.path().join("other.log"),
    ));
    let e = ops::domains::create(&mut c, &other, "x.example", &DomainInput::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("does not exist; restore it from backup"), "{e}");
    assert!(!s.dir.path().join("other.key").exists());
    postfix_manager::secrets::KeyFile::new(s.dir.path().join("other.key"))
        .load_or_create()
        .unwrap();
    let e = ops::domains::create(&mut c, &other, "x.example", &DomainInput::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("restore the right key file"), "{e}");
    assert!(s.verify(&mut c).ok());
});

// ------------------------------------------------------------ outside copies

#[test]
fn item05_checkpoint_sent_to_syslog_socket() {
    let t = common::TestDb::sqlite();
    let mut c = t.conn();
    let mut s = Sealed::new(&mut c);
    let sock = s.dir.path().join("log.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    listener
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let seal = s.seal().clone().with_syslog(&sock);
    s.admin.policy.audit = Some(seal);
    ops::domains::create(&mut c, &s.admin, "syslog.example", &DomainInput::default()).unwrap();
    let mut buf = vec![0u8; 8192];
    let n = listener.recv(&mut buf).unwrap();
    let msg = String::from_utf8(buf[..n].to_vec()).unwrap();
    assert!(msg.starts_with("<85>"), "authpriv.notice: {msg}");
    assert!(msg.contains("postfix-manager["), "{msg}");
    assert!(msg.contains(" audit-checkpoint {"), "{msg}");
    assert!(
        msg.contains(&format!(r#""last":{}"#, max_id(&mut c))),
        "{msg}"
    );
    // what syslog received is a checkpoint `audit verify` accepts
    let extract = s.dir.path().join("from-syslog.log");
    std::fs::write(&extract, format!("{msg}\n")).unwrap();
    let r = ops::audit::verify_against(&mut c, &s.admin, Some(&extract)).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.checkpoints, 1);

    // a syslog daemon that is down is warned about; no socket at all
    // (a host without syslog) is not
    drop(listener);
    let mut seal = s.seal().clone();
    ops::audit_seal::take_warnings();
    ops::domains::create(&mut c, &s.admin, "down.example", &DomainInput::default()).unwrap();
    let w = ops::audit_seal::take_warnings();
    assert!(w.iter().any(|w| w.contains("not sent to syslog")), "{w:?}");
    std::fs::remove_file(&sock).unwrap();
    seal.syslog_socket = Some(sock);
    s.admin.policy.audit = Some(seal);
    ops::domains::create(&mut c, &s.admin, "none.example", &DomainInput::default()).unwrap();
    assert!(ops::audit_seal::take_warnings().is_empty());
}

#[test]
fn item05_checkpoint_failure_keeps_the_write_and_warns() {
    let t = common::TestDb::sqlite();
    let mut c = t.conn();
    let mut s = Sealed::new(&mut c);
    s.history(&mut c);
    // the checkpoint file's directory is a plain file: appending fails
    let blocker = s.dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let mut seal = s.seal().clone();
    seal.checkpoint_file = blocker.join("audit-checkpoints.log");
    s.admin.policy.audit = Some(seal);
    let before = common::count(&mut c, "domains");
    let rows_before = common::count(&mut c, "audit_logs");
    ops::domains::create(&mut c, &s.admin, "kept.example", &DomainInput::default()).unwrap();
    assert_eq!(common::count(&mut c, "domains"), before + 1);
    assert_eq!(common::count(&mut c, "audit_logs"), rows_before + 1);
    let warnings = ops::audit_seal::take_warnings();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("was not written to") && w.contains("the change itself is saved")),
        "{warnings:?}"
    );
}

// ------------------------------------------------------------ the CLI

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");

fn cli(dir: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env("POSTFIX_MANAGER_CONFIG", dir.join("config.toml"))
        .env("POSTFIX_MANAGER_DATABASE_URL", url)
        .env_remove("POSTFIX_MANAGER_USER")
        .env_remove("POSTFIX_MANAGER_PASSWORD_FILE")
        .stdin(std::process::Stdio::null())
        .args(args)
        .output()
        .unwrap()
}

on_both_backends!(item05_cli_audit_verify_reports_each_forgery, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        "[security]\nbcrypt_cost = 4\n\n[audit]\nsyslog = false\n",
    )
    .unwrap();
    let pw = d.join("admin.pw");
    std::fs::write(&pw, "cli-audit-password-1\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = t.url_string();
    let out = cli(
        d,
        &url,
        &["init", "--admin-password-file", pw.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = |args: &[&str]| {
        let mut full = vec!["--user", "admin", "--password-file", pw.to_str().unwrap()];
        full.extend_from_slice(args);
        cli(d, &url, &full)
    };
    for dom in ["a.example", "b.example", "c.example"] {
        let out = admin(&["domain", "add", dom]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // defaults: both files beside the config, private
    for f in ["audit.key", "audit-checkpoints.log"] {
        let mode = std::fs::metadata(d.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let out = admin(&["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("keyed (HMAC) from row 1")
            && text.contains(" checkpoints, the latest at")
            && !text.contains("(s)"),
        "{text}"
    );

    // (a) the newest rows deleted behind the product's back; the login of
    // `audit verify` itself then writes a row over the first deleted id
    let mut c = t.conn();
    let last = max_id(&mut c);
    disable_guards(&mut c);
    diesel::delete(audit_logs::table.filter(audit_logs::id.gt(last - 2)))
        .execute(&mut c)
        .unwrap();
    let out = admin(&["audit", "verify"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "rows {last}..{last} are missing since the checkpoint of"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("row {} had hash", last - 1)) && text.contains("ids written again"),
        "{text}"
    );
});

// ------------------------------------------------------------ restore, archive

on_both_backends!(item05_restore_and_archive_keep_verifying, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    // a backup, then more rows: restoring it removes them, legitimately,
    // and its `restore` checkpoint says so
    let bak = s
        .dir
        .path()
        .join(if t.name == "sqlite" { "b.db" } else { "b.sql" });
    ops::maintenance::backup(&mut c, &s.admin, &t.url, &bak).unwrap();
    for d in ["x.example", "y.example", "z.example"] {
        ops::domains::create(&mut c, &s.admin, d, &DomainInput::default()).unwrap();
    }
    let before = max_id(&mut c);
    drop(c);
    let c = t.conn();
    let (_, mut c) = ops::maintenance::restore(c, &s.admin, &t.url, &bak).unwrap();
    assert!(max_id(&mut c) < before, "the restore put the chain back");
    let r = s.verify(&mut c);
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.latest_checkpoint.unwrap().event, "restore");

    // archiving moves the start like a prune, and says so
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = chrono::Utc::now().naive_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ops::domains::create(&mut c, &s.admin, "after.example", &DomainInput::default()).unwrap();
    let out = s.dir.path().join("audit.jsonl.gz");
    let a = ops::audit_archive::archive(&mut c, &s.admin, cut, &out).unwrap();
    assert!(a.rows > 0);
    let r = s.verify(&mut c);
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.latest_checkpoint.unwrap().event, "prune");
    // the archive reads back: unkeyed rows by hash, keyed rows by HMAC
    let back = ops::audit_archive::read(&out, s.admin.policy.audit.as_ref()).unwrap();
    assert!(back.verified(), "{:?}", back.problems);
    assert!(back.header.keyed_from.is_some());
});

// ------------------------------------------------------------ hostile text

/// A checkpoint line whose `time` carries an escape sequence and whose key
/// id is bogus: the problem quoting it must not carry the escape.
fn forged_escape_line(real: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(real).unwrap();
    v["time"] = serde_json::Value::String("\u{1b}]0;pwned\u{7}".into());
    v["key_id"] = serde_json::Value::String("bogus\u{1b}[2J".into());
    serde_json::to_string(&v).unwrap()
}

on_both_backends!(review_forged_checkpoint_escapes_never_reach_problems, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    let text = std::fs::read_to_string(s.checkpoints()).unwrap();
    let forged = forged_escape_line(text.lines().last().unwrap());
    let file = s.dir.path().join("forged.log");
    std::fs::write(&file, format!("{text}{forged}\n")).unwrap();
    let r = ops::audit::verify_against(&mut c, &s.admin, Some(&file)).unwrap();
    assert!(has(&r, "names audit key"), "{r:?}");
    assert!(
        r.problems
            .iter()
            .all(|p| !p.chars().any(|ch| ch.is_control())),
        "{r:?}"
    );
});

on_both_backends!(review_cli_audit_verify_prints_no_escape, |t| {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        "[security]\nbcrypt_cost = 4\n\n[audit]\nsyslog = false\n",
    )
    .unwrap();
    let pw = d.join("admin.pw");
    std::fs::write(&pw, "cli-audit-password-1\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let url = t.url_string();
    let out = cli(
        d,
        &url,
        &["init", "--admin-password-file", pw.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = |args: &[&str]| {
        let mut full = vec!["--user", "admin", "--password-file", pw.to_str().unwrap()];
        full.extend_from_slice(args);
        cli(d, &url, &full)
    };
    let out = admin(&["domain", "add", "a.example"]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(d.join("audit-checkpoints.log")).unwrap();
    let forged = forged_escape_line(text.lines().last().unwrap());
    let file = d.join("forged.log");
    std::fs::write(&file, format!("{text}{forged}\n")).unwrap();
    let out = admin(&["audit", "verify", "--checkpoints", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("names audit key"), "{stdout}");
    assert!(!out.stdout.contains(&0x1b), "{stdout:?}");
    assert!(!out.stderr.contains(&0x1b), "{:?}", out.stderr);
});

// ------------------------------------------------------------ a lost key

on_both_backends!(
    review_missing_audit_key_on_keyed_chain_is_not_recreated,
    |t| {
        let mut c = t.conn();
        let s = Sealed::new(&mut c);
        s.history(&mut c);
        std::fs::remove_file(s.key_path()).unwrap();
        let before = common::count(&mut c, "domains");
        let e = ops::domains::create(&mut c, &s.admin, "lost.example", &DomainInput::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("audit key file")
                && e.contains(&s.key_path().display().to_string())
                && e.contains("restore it from backup"),
            "{e}"
        );
        assert!(!s.key_path().exists(), "no new random key left behind");
        assert_eq!(common::count(&mut c, "domains"), before);
    }
);

on_both_backends!(review_open_audit_key_file_is_named_as_the_audit_key, |t| {
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    std::fs::set_permissions(s.key_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = ops::domains::create(&mut c, &s.admin, "open.example", &DomainInput::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("audit key file") && !e.contains("secrets key file"),
        "{e}"
    );
});

// ------------------------------------------------------------ archives

on_both_backends!(review_edited_keyed_archive_row_is_reported, |t| {
    use std::io::{BufRead, Write};
    let mut c = t.conn();
    let s = Sealed::new(&mut c);
    s.history(&mut c);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = chrono::Utc::now().naive_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ops::domains::create(&mut c, &s.admin, "after.example", &DomainInput::default()).unwrap();
    let out = s.dir.path().join("audit.jsonl.gz");
    ops::audit_archive::archive(&mut c, &s.admin, cut, &out).unwrap();

    // edit a keyed row and relink everything after it with plain SHA-256,
    // as anyone reading the source can
    let gz = std::fs::File::open(&out).unwrap();
    let lines: Vec<String> = std::io::BufReader::new(flate2::read::GzDecoder::new(gz))
        .lines()
        .map(Result::unwrap)
        .collect();
    let header: ops::audit_archive::Header = serde_json::from_str(&lines[0]).unwrap();
    let from = header.keyed_from.unwrap();
    let mut rows: Vec<AuditLog> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at = rows.iter().position(|r| r.id >= from).unwrap();
    let edited = rows[at].id;
    let mut prev: Option<String> = None;
    for r in rows.iter_mut().skip(at) {
        if r.id == edited {
            r.details = Some(r#"{"after":{"domain":"innocent.example"}}"#.into());
        }
        if let Some(p) = prev.take() {
            r.prev_hash = p;
        }
        r.row_hash = ops::audit::row_hash_of(r);
        prev = Some(r.row_hash.clone());
    }
    let forged = s.dir.path().join("forged.jsonl.gz");
    let mut w = flate2::write::GzEncoder::new(
        std::fs::File::create(&forged).unwrap(),
        flate2::Compression::default(),
    );
    writeln!(w, "{}", lines[0]).unwrap();
    for r in &rows {
        writeln!(w, "{}", serde_json::to_string(r).unwrap()).unwrap();
    }
    w.finish().unwrap();

    let back = ops::audit_archive::read(&forged, s.admin.policy.audit.as_ref()).unwrap();
    assert!(
        back.problems
            .iter()
            .any(|p| p.contains(&format!("row {edited} was altered (HMAC mismatch"))),
        "{:?}",
        back.problems
    );
    // without the key it is not called clean either
    let bare = ops::audit_archive::read(&forged, None).unwrap();
    assert!(!bare.verified());
    assert!(bare.keyed_unchecked > 0, "{bare:?}");
    // the untouched archive checks clean with the key
    let good = ops::audit_archive::read(&out, s.admin.policy.audit.as_ref()).unwrap();
    assert!(good.verified(), "{:?}", good.problems);
    assert_eq!(good.keyed_unchecked, 0);
});
