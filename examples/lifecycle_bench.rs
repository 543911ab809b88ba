//! Issue 20's closing figures (not a test: it asserts nothing):
//! 1. `mailbox rename` of a mailbox that 10,000 aliases point at (their
//!    goto lists re-pointed, the journal, the default `mv` of its home);
//! 2. `mailbox purge --due` of 1,000 due holds (each maildir through the
//!    default purge command, then its row).
//!
//! ```sh
//! cargo run --release --example lifecycle_bench                       # SQLite
//! cargo run --release --example lifecycle_bench -- postgres://postgres@127.0.0.1:5432/test
//! ```
//!
//! The PostgreSQL database should be empty (a scratch one); the run
//! migrates it and fills it. Figures go into docs/performance.md.

use std::path::Path;
use std::time::Instant;

use diesel::prelude::*;
use postfix_manager::db::schema::{aliases, deleted_mailboxes, domains};
use postfix_manager::db::{self, migrate, AnyConnection, DbUrl};
use postfix_manager::model::Status;
use postfix_manager::ops::import::{self, MailboxRow};
use postfix_manager::ops::{self, Client, ClientKind, Ctx, Policy};

const ALIASES: usize = 10_000;
const HOLDS: usize = 1_000;

fn admin(c: &mut AnyConnection, root: &Path) -> Ctx {
    let policy = Policy {
        bcrypt_cost: 4,
        ..Policy::default()
    };
    let client = Client::from_env(ClientKind::Cli);
    let pw = "bench-admin-password-1";
    ops::users::bootstrap_admin(c, &client, &policy, "admin@example.net", pw).expect("bootstrap");
    let mut ctx = ops::auth::login(c, "admin", pw, &client, &policy).expect("login");
    ctx.policy.lifecycle.mail_root = root.display().to_string();
    ctx
}

fn maildir(root: &Path, dom: &str, local: &str) {
    let cur = root.join(dom).join(local).join("Maildir/cur");
    std::fs::create_dir_all(&cur).expect("mkdir");
    std::fs::write(cur.join("1.msg"), "Subject: x\n\nold mail\n").expect("write");
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match std::env::args().nth(1) {
        Some(u) => DbUrl::parse(&u).expect("url"),
        None => DbUrl::Sqlite(dir.path().join("bench.db")),
    };
    let name = if matches!(url, DbUrl::Sqlite(_)) {
        "sqlite"
    } else {
        "postgres"
    };
    let root = dir.path().join("vmail");
    let mut c = db::connect(&url, true).expect("connect");
    migrate::run_pending(&mut c).expect("migrate");
    let ctx = admin(&mut c, &root);
    for d in ["bench.example", "moved.example", "holds.example"] {
        let input = ops::domains::DomainInput {
            quota_limit: Some(0),
            ..Default::default()
        };
        ops::domains::create(&mut c, &ctx, d, &input).expect("domain");
    }
    let hash = postfix_manager::password::hash_mailbox("bench-password-1", 4).expect("hash");
    let mailbox = |addr: String, line: usize| MailboxRow {
        line: line as u64 + 2,
        address: addr,
        password_hash: hash.clone(),
        quota: Some(1 << 30),
        name: None,
        status: Status::Active,
    };

    // 1. A mailbox with 10,000 aliases pointing at it: half alone, half
    //    in a list with another address.
    let target = "target@bench.example";
    import::mailboxes(
        &mut c,
        &ctx,
        &[mailbox(target.into(), 0)],
        false,
        &mut |_, _| {},
    )
    .expect("mailbox");
    maildir(&root, "bench.example", "target");
    // Inserted directly (the rename is what is measured; `alias import`
    // of 10,000 rows is issue 23's bench).
    let dom: i32 = domains::table
        .filter(domains::name.eq("bench.example"))
        .select(domains::id)
        .first(&mut c)
        .expect("domain id");
    let now = chrono::Utc::now().naive_utc();
    let rows: Vec<_> = (0..ALIASES)
        .map(|i| {
            (
                aliases::address.eq(format!("a{i:05}@bench.example")),
                aliases::goto.eq(if i % 2 == 0 {
                    target.to_string()
                } else {
                    format!("someone@elsewhere.example,{target}")
                }),
                aliases::domain_id.eq(dom),
                aliases::status.eq("active"),
                aliases::created_at.eq(now),
                aliases::updated_at.eq(now),
            )
        })
        .collect();
    c.transaction::<_, diesel::result::Error, _>(|c| {
        for r in rows {
            diesel::insert_into(aliases::table).values(r).execute(c)?;
        }
        Ok(())
    })
    .expect("aliases");
    let t = Instant::now();
    let r =
        ops::rename::rename(&mut c, &ctx, target, "moved@moved.example", false).expect("rename");
    let s = t.elapsed().as_secs_f64();
    assert_eq!(r.aliases, ALIASES);
    println!("{name}: rename a mailbox with {ALIASES} aliases pointing at it (and mv its home): {s:.3} s");

    // 2. 1,000 due holds, each with a maildir.
    let rows: Vec<MailboxRow> = (0..HOLDS)
        .map(|i| mailbox(format!("h{i:04}@holds.example"), i))
        .collect();
    import::mailboxes(&mut c, &ctx, &rows, false, &mut |_, _| {}).expect("mailboxes");
    let keys: Vec<String> = rows.iter().map(|r| r.address.clone()).collect();
    ops::bulk::mailboxes_apply(&mut c, &ctx, &keys, ops::bulk::MailboxAction::Delete)
        .expect("bulk delete");
    for i in 0..HOLDS {
        maildir(&root, "holds.example", &format!("h{i:04}"));
    }
    let past = chrono::Utc::now().naive_utc() - chrono::TimeDelta::hours(1);
    diesel::update(deleted_mailboxes::table)
        .set(deleted_mailboxes::purge_after.eq(past))
        .execute(&mut c)
        .expect("due");
    let t = Instant::now();
    let p = ops::deleted::purge_due(&mut c, &ctx).expect("purge");
    let s = t.elapsed().as_secs_f64();
    assert_eq!((p.purged.len(), p.failed.len()), (HOLDS, 0));
    assert!(!root.join("holds.example/h0000").exists());
    println!(
        "{name}: purge --due of {HOLDS} due holds (rm -rf of each maildir, then the row): {s:.3} s = {:.1} ms each",
        s * 1e3 / HOLDS as f64
    );
}
