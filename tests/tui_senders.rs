//! Issue 21, the Senders screen (`:senders`) and the dashboard's sending
//! alert, through the real app and worker on both backends: counters
//! written with `ops::send_limits::add_counts` (what the policy service's
//! flusher calls) and suspensions made by `auto_suspend` (its containment)
//! show up at 80x24, live; `s` resumes (after the dialog) or stops a
//! sender, Enter edits a mailbox's limits and `D` its domain's, each
//! checked in the database and the audit log.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::AnyConnection;
use postfix_manager::ops::send_limits::{self as sl, Change, LimitsEdit};
use postfix_manager::ops::{self, mailboxes::NewMailbox};
use postfix_manager::store::send_limits::{Counts, DAY, HOUR};
use tui_common::Tui;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const CAROL: &str = "carol@example.com";

fn windows() -> (i64, i64) {
    let now = chrono::Utc::now().timestamp();
    (now - now.rem_euclid(3600), now - now.rem_euclid(86_400))
}

/// Count for `sender` what the policy service would have: `hour`
/// messages this hour, `day` today, each to two recipients, `refused`
/// recipients refused today.
fn count(c: &mut AnyConnection, sender: &str, hour: i64, day: i64, refused: i64) {
    let (h, d) = windows();
    let n = |m: i64, f: i64| Counts {
        messages: m,
        recipients: m * 2,
        refused: f,
    };
    sl::add_counts(
        c,
        &[
            (sender.into(), HOUR, h, n(hour, 0)),
            (sender.into(), DAY, d, n(day, refused)),
        ],
    )
    .expect("counts");
}

/// example.com with alice (own limit 100 an hour), bob and carol, and a
/// readonly user; nothing counted yet.
fn host(db: common::TestDb) -> Tui {
    let mut t = Tui::on(db, 80, 24);
    ops::domains::create(&mut t.conn, &t.admin, "example.com", &Default::default()).unwrap();
    for a in [ALICE, BOB, CAROL] {
        ops::mailboxes::create(
            &mut t.conn,
            &t.admin,
            &NewMailbox {
                address: a.into(),
                password: "mailbox-password-1".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let edit = LimitsEdit {
        per_hour: Some(Change::Set(100)),
        ..Default::default()
    };
    sl::set_mailbox(&mut t.conn, &t.admin, &Default::default(), ALICE, &edit).unwrap();
    t
}

/// The screen line holding `needle`.
fn line_with(screen: &str, needle: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in\n{screen}"))
        .to_string()
}

/// (action, resource_type, actor, result) of the newest audit row.
fn last_audit(c: &mut AnyConnection) -> (String, Option<String>, Option<String>, String) {
    audit_logs::table
        .order(audit_logs::id.desc())
        .select((
            audit_logs::action,
            audit_logs::resource_type,
            audit_logs::actor,
            audit_logs::result,
        ))
        .first(c)
        .expect("audit row")
}

fn suspended(t: &mut Tui) -> Vec<(String, bool, String)> {
    sl::suspensions(&mut t.conn, &t.admin)
        .unwrap()
        .into_iter()
        .map(|s| (s.address, s.automatic, s.reason))
        .collect()
}

/// One second of the event loop: the tick and whatever it asked for.
fn tick(t: &mut Tui) -> bool {
    let dirty = t.app.on_tick();
    t.settle();
    dirty
}

/// Realistic sizes at 80x24: alice sent 120,000 messages today (over the
/// default 1,000), carol was suspended by containment; busiest first,
/// counts against limits, the state in words; `i` tells where each limit
/// comes from and why carol is suspended.
fn the_screen_shows_counts_limits_and_state(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, ALICE, 4_321, 120_000, 37);
    count(&mut t.conn, BOB, 3, 10, 0);
    count(&mut t.conn, CAROL, 1, 400, 1_250);
    assert!(sl::auto_suspend(&mut t.conn, None, "mx1", CAROL, "automatic: 1250 refused").unwrap());
    t.login_admin();
    t.command("senders");
    let s = t.screen();
    assert!(s.contains(" Senders "), "{s}");
    assert_eq!(t.rows(), [ALICE, BOB, CAROL], "busiest first: {s}");
    let head = line_with(&s, "Hour msg/max");
    for label in [
        "Hour msg/max",
        "Today msg/max",
        "Refused",
        "Rcpt/day",
        "State",
    ] {
        assert!(head.contains(label), "{label}: {head}");
    }
    let a = line_with(&s, ALICE);
    assert!(a.contains("4,321/100"), "own hourly limit: {a}");
    assert!(
        a.contains("120,000/1,000"),
        "today against the default: {a}"
    );
    assert!(a.contains("limited"), "{a}");
    assert!(line_with(&s, BOB).contains(" ok"), "{s}");
    let c = line_with(&s, CAROL);
    assert!(c.contains("auto-susp") && c.contains("1,250"), "{c}");
    assert!(s.contains("i details") || s.contains("? more"), "{s}");
    snap!("senders_80x24", s);

    t.press(KeyCode::Char('G'));
    assert_eq!(t.selected().as_deref(), Some(CAROL));
    t.char('i');
    let d = t.screen();
    for want in [
        "automatically by policyd@mx1",
        "automatic: 1250 refused",
        "refused_today",
        "1,250",
        "[policyd] default",
    ] {
        assert!(d.contains(want), "{want}: {d}");
    }
    t.esc();
    t.press(KeyCode::Char('g'));
    t.char('i');
    let d = t.screen();
    assert!(line_with(&d, "per_hour_from").contains("own"), "{d}");
    t.esc();

    // `/` filters by the address; Esc gives the whole list back.
    t.char('/');
    t.text("bo");
    assert_eq!(t.rows(), [BOB]);
    t.enter();
    t.esc();
    assert_eq!(t.rows().len(), 3);
}

/// Another host's counts reach the screen within one refresh without a
/// key; a check that finds nothing new draws nothing.
fn the_screen_is_live(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, BOB, 2, 2, 0);
    t.login_admin();
    t.command("senders");
    assert_eq!(t.rows(), [BOB]);
    let mut other = t.db.conn();
    count(&mut other, ALICE, 7, 7, 0);
    // The default refresh is every 2 s.
    tick(&mut t);
    tick(&mut t);
    assert_eq!(t.rows(), [ALICE, BOB], "{}", t.screen());
    assert!(line_with(&t.screen(), ALICE).contains("7/100"));
    assert!(!tick(&mut t) && !tick(&mut t), "nothing new: nothing drawn");
}

/// `s` on a suspended sender asks first (No by default, nothing changes),
/// then resumes it through ops: the suspension is gone and audited as the
/// admin's `activate` of `sending`.
fn s_resumes_after_the_dialog(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, CAROL, 1, 1, 900);
    sl::auto_suspend(&mut t.conn, None, "mx1", CAROL, "automatic: 900 refused").unwrap();
    t.login_admin();
    t.command("senders");
    assert_eq!(t.selected().as_deref(), Some(CAROL));
    assert!(t.screen().contains("s resume sending"), "{}", t.screen());
    t.char('s');
    let s = t.screen();
    assert!(s.contains("Resume sending for"), "{s}");
    assert!(s.contains("automatically by policyd@mx1"), "{s}");
    t.enter();
    assert_eq!(suspended(&mut t).len(), 1, "default No: {}", t.screen());
    t.char('s');
    t.press(KeyCode::Right);
    t.enter();
    assert_eq!(suspended(&mut t), vec![], "{}", t.screen());
    let (action, kind, actor, result) = last_audit(&mut t.conn);
    assert_eq!(
        (
            action.as_str(),
            kind.as_deref(),
            actor.as_deref(),
            result.as_str()
        ),
        ("activate", Some("sending"), Some("admin"), "ok")
    );
    let s = t.screen();
    assert!(s.contains(&format!("{CAROL} may send mail again")), "{s}");
    let c = line_with(&s, CAROL);
    assert!(c.contains(" ok") && !c.contains("susp"), "{c}");
}

/// `s` on a sender that may send opens the reason form: an empty reason is
/// marked and nothing is written; with one it is suspended by the admin.
fn s_stops_a_sender_with_a_reason(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, BOB, 1, 1, 0);
    t.login_admin();
    t.command("senders");
    assert!(t.screen().contains("s stop sending"), "{}", t.screen());
    t.char('s');
    assert!(t.screen().contains("Stop sending: bob@example.com"));
    t.enter();
    assert!(t.screen().contains("required"), "{}", t.screen());
    assert_eq!(suspended(&mut t), vec![]);
    t.text("phished password");
    t.enter();
    assert_eq!(
        suspended(&mut t),
        vec![(BOB.to_string(), false, "phished password".to_string())]
    );
    let c = line_with(&t.screen(), BOB);
    assert!(c.contains("suspended"), "{c}");
}

/// Enter edits the mailbox's own limits: a bad number is marked beside
/// its field and nothing is saved; a good one is the mailbox's own now,
/// "none" gives the field back to the default, the list follows.
fn enter_edits_the_limits(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, ALICE, 5, 5, 0);
    t.login_admin();
    t.command("senders");
    t.enter();
    let s = t.screen();
    assert!(s.contains("Per hour") && s.contains("100"), "{s}");
    t.clear_field();
    t.text("lots");
    t.enter();
    assert!(t.screen().contains("must be a number"), "{}", t.screen());
    let own = |t: &mut Tui| {
        sl::mailbox(&mut t.conn, &t.admin, &Default::default(), ALICE)
            .unwrap()
            .own
    };
    assert_eq!(own(&mut t).per_hour, Some(100), "nothing saved");
    t.clear_field();
    t.text("250");
    t.tab();
    t.clear_field();
    t.text("5,000");
    t.enter();
    let o = own(&mut t);
    assert_eq!(
        (o.per_hour, o.per_day),
        (Some(250), Some(5000)),
        "{}",
        t.screen()
    );
    assert!(line_with(&t.screen(), ALICE).contains("5/250"));
    t.enter();
    t.clear_field();
    t.text("none");
    t.enter();
    assert_eq!(own(&mut t).per_hour, None);
    assert!(
        line_with(&t.screen(), ALICE).contains("5/200"),
        "the default again"
    );
}

/// The dashboard: no alert on a quiet host; containment's suspension
/// shows within one refresh, naming `:senders`; a suspension by hand is no
/// alert; the resume takes it away again.
fn the_dashboard_alerts_on_automatic_suspensions(db: common::TestDb) {
    let mut t = host(db);
    t.login_admin();
    let alert = |s: &str| s.lines().any(|l| l.contains("suspended for sending"));
    assert!(!alert(&t.screen()), "{}", t.screen());
    let mut other = t.db.conn();
    sl::suspend(&mut other, &t.admin, BOB, "by hand").unwrap();
    tick(&mut t);
    tick(&mut t);
    assert!(!alert(&t.screen()), "by hand: {}", t.screen());
    sl::auto_suspend(&mut other, None, "mx1", CAROL, "automatic: spread").unwrap();
    tick(&mut t);
    tick(&mut t);
    let s = t.screen();
    assert!(
        s.contains("!! carol@example.com suspended for sending (automatic) — :senders"),
        "{s}"
    );
    sl::auto_suspend(&mut other, None, "mx2", ALICE, "automatic: spread").unwrap();
    tick(&mut t);
    tick(&mut t);
    let s = t.screen();
    assert!(s.contains("!! 2 mailboxes suspended for sending"), "{s}");
    snap!("dashboard_sending_alert_80x24", s);
    // `:senders` from the alert, and back.
    t.command("senders");
    assert_eq!(
        t.rows(),
        [ALICE, BOB, CAROL],
        "suspended senders listed: {}",
        t.screen()
    );
    t.esc();
    for a in [ALICE, CAROL] {
        sl::resume(&mut other, &t.admin, a).unwrap();
    }
    tick(&mut t);
    tick(&mut t);
    assert!(!alert(&t.screen()), "after the resumes: {}", t.screen());
}

/// A readonly user sees the list and the details but no key that writes;
/// ops refuses a domain manager's resume.
fn readonly_only_looks(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, ALICE, 1, 1, 0);
    let _ = common::user_with_role(&mut t.conn, &t.admin, "viewer", "readonly");
    t.login("viewer", "viewer-password-1");
    t.command("senders");
    assert_eq!(t.rows(), [ALICE]);
    let s = t.screen();
    assert!(
        !s.contains("stop sending") && !s.contains("Enter edit"),
        "{s}"
    );
    t.char('s');
    assert!(!t.screen().contains("Stop sending"), "{}", t.screen());
    t.enter();
    assert!(t.screen().contains("messages_today"), "Enter shows details");
}

/// A domain manager (role `user`, mailboxes on example.com) sees only its
/// domain's senders, may stop one of them at once (a phished account
/// should not wait for an admin), but not resume it: ops refuses and the
/// status line says so; Enter shows details, not the admins' limits form.
fn a_domain_manager_stops_but_does_not_resume(db: common::TestDb) {
    let mut t = host(db);
    ops::domains::create(&mut t.conn, &t.admin, "other.example", &Default::default()).unwrap();
    count(&mut t.conn, ALICE, 2, 2, 0);
    count(&mut t.conn, "dave@other.example", 9, 9, 0);
    let _ = common::user_with_role(&mut t.conn, &t.admin, "tenant", "user");
    ops::permissions::grant(
        &mut t.conn,
        &t.admin,
        "tenant",
        "example.com",
        &[postfix_manager::model::Perm::Mailboxes],
    )
    .unwrap();
    t.login("tenant", "tenant-password-1");
    t.command("senders");
    assert_eq!(t.rows(), [ALICE], "{}", t.screen());
    t.enter();
    assert!(
        t.screen().contains("messages_today"),
        "details: {}",
        t.screen()
    );
    t.esc();
    t.char('s');
    t.text("phished");
    t.enter();
    assert_eq!(
        suspended(&mut t),
        vec![(ALICE.to_string(), false, "phished".to_string())]
    );
    t.char('s');
    t.press(KeyCode::Right);
    t.enter();
    assert_eq!(suspended(&mut t).len(), 1, "not resumed: {}", t.screen());
    assert!(t.screen().contains("admin"), "{}", t.screen());
}

/// The domain's own limits as stored (None: it has none).
fn domain_own(t: &mut Tui) -> (Option<i32>, Option<i32>, Option<i32>, Option<i32>) {
    let o = sl::domain_limits(&mut t.conn, &t.admin, &Default::default(), "example.com")
        .unwrap()
        .own;
    (o.per_hour, o.per_day, o.rcpt_per_msg, o.rcpt_per_day)
}

/// `D` edits the selected sender's domain's limits: the form names the
/// domain and shows its own limits (none yet: empty); saving writes only
/// the changed field, audited as the admin's update of a send_limit; bob
/// (no limit of his own) now counts against the domain's, alice keeps her
/// own; `i` says where bob's comes from; `D` again shows what was saved.
fn d_edits_the_domain_limits(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, ALICE, 5, 5, 0);
    count(&mut t.conn, BOB, 3, 3, 0);
    t.login_admin();
    t.command("senders");
    t.char('?');
    assert!(t.screen().contains("domain limits"), "{}", t.screen());
    t.esc();
    t.press(KeyCode::Char('j'));
    assert_eq!(t.selected().as_deref(), Some(BOB));
    t.char('D');
    let s = t.screen();
    assert!(s.contains("Sending limits of domain example.com"), "{s}");
    assert!(s.contains("empty = the [policyd] default"), "{s}");
    t.text("30");
    t.enter();
    assert_eq!(
        domain_own(&mut t),
        (Some(30), None, None, None),
        "{}",
        t.screen()
    );
    let (action, kind, actor, result) = last_audit(&mut t.conn);
    assert_eq!(
        (
            action.as_str(),
            kind.as_deref(),
            actor.as_deref(),
            result.as_str()
        ),
        ("update", Some("send_limit"), Some("admin"), "ok")
    );
    let s = t.screen();
    assert!(
        s.contains("sending limits of domain example.com now 30 an hour"),
        "{s}"
    );
    assert!(line_with(&s, BOB).contains("3/30"), "the domain's: {s}");
    assert!(line_with(&s, ALICE).contains("5/100"), "her own: {s}");
    let own = sl::mailbox(&mut t.conn, &t.admin, &Default::default(), BOB)
        .unwrap()
        .own;
    assert_eq!(own.per_hour, None, "bob has no limit of his own");
    assert_eq!(t.selected().as_deref(), Some(BOB));
    t.char('i');
    let d = t.screen();
    assert!(line_with(&d, "per_hour_from").contains("domain"), "{d}");
    assert!(!d.contains("domain_per_hour"), "not in the details: {d}");
    t.esc();
    t.char('D');
    assert!(
        line_with(&t.screen(), "Per hour").contains("30"),
        "{}",
        t.screen()
    );
}

/// A bad value in `D`'s form is marked beside its field, the form stays
/// open, and nothing is saved, not even the good field typed with it.
fn a_bad_domain_limit_names_the_field(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, BOB, 3, 3, 0);
    t.login_admin();
    t.command("senders");
    t.char('D');
    t.text("30");
    t.tab();
    t.text("lots");
    t.enter();
    let s = t.screen();
    assert!(
        s.contains("Sending limits of domain example.com"),
        "open: {s}"
    );
    let lines: Vec<&str> = s.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("must be a number"))
        .unwrap_or_else(|| panic!("no error in {s}"));
    assert!(
        lines[at].contains("Per day") || lines[at - 1].contains("Per day"),
        "beside Per day: {s}"
    );
    assert_eq!(domain_own(&mut t), (None, None, None, None));
}

/// Domain limits are the admins': a domain manager of example.com is not
/// offered `D` (no form opens), and ops refuses it the change with a
/// message saying so, audited as refused; nothing is stored.
fn a_domain_manager_cannot_set_domain_limits(db: common::TestDb) {
    let mut t = host(db);
    count(&mut t.conn, ALICE, 2, 2, 0);
    let tenant = common::user_with_role(&mut t.conn, &t.admin, "tenant", "user");
    ops::permissions::grant(
        &mut t.conn,
        &t.admin,
        "tenant",
        "example.com",
        &[
            postfix_manager::model::Perm::Mailboxes,
            postfix_manager::model::Perm::Domain,
        ],
    )
    .unwrap();
    t.login("tenant", "tenant-password-1");
    t.command("senders");
    assert_eq!(t.rows(), [ALICE], "{}", t.screen());
    t.char('?');
    assert!(!t.screen().contains("domain limits"), "{}", t.screen());
    t.esc();
    t.char('D');
    assert!(
        !t.screen().contains("Sending limits of domain"),
        "{}",
        t.screen()
    );
    let edit = LimitsEdit {
        per_hour: Some(Change::Set(5)),
        ..Default::default()
    };
    let e = sl::set_domain(
        &mut t.conn,
        &tenant,
        &Default::default(),
        "example.com",
        &edit,
    )
    .unwrap_err();
    assert!(e.to_string().contains("admin"), "{e}");
    assert_eq!(domain_own(&mut t), (None, None, None, None));
    let (action, kind, actor, result) = last_audit(&mut t.conn);
    assert_eq!(
        (action.as_str(), kind.as_deref(), actor.as_deref()),
        ("update", Some("send_limit"), Some("tenant"))
    );
    assert_ne!(result, "ok");
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::common::TestDb::sqlite()); })*
        }
        mod postgres {
            $(#[test] fn $name() {
                if let Some(db) = super::common::TestDb::postgres() {
                    super::$name(db);
                }
            })*
        }
    };
}

both!(
    the_screen_shows_counts_limits_and_state,
    the_screen_is_live,
    s_resumes_after_the_dialog,
    s_stops_a_sender_with_a_reason,
    enter_edits_the_limits,
    the_dashboard_alerts_on_automatic_suspensions,
    readonly_only_looks,
    counts_keep_only_the_listed_senders,
    a_domain_manager_stops_but_does_not_resume,
    d_edits_the_domain_limits,
    a_bad_domain_limit_names_the_field,
    a_domain_manager_cannot_set_domain_limits,
);

/// Not a check: the figures in docs/policy-service.md ("The Senders
/// screen"), the best of five reads of what one live page costs the
/// reader lane (the change token, then the 1,000 busiest senders) at
/// 1,000 and 10,000 active senders on each backend:
/// `cargo test --test tui_senders senders_page_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn senders_page_cost() {
    let mut dbs = vec![("sqlite", common::TestDb::sqlite())];
    dbs.extend(common::TestDb::postgres().map(|d| ("postgres", d)));
    for (label, db) in dbs {
        let mut c = db.conn();
        let admin = common::admin(&mut c);
        let (h, d) = windows();
        let mut seeded = 0;
        for n in [1_000, 10_000] {
            let rows: Vec<sl::Delta> = (seeded..n)
                .flat_map(|i: i64| {
                    let s = format!("user{i:05}@example.com");
                    let k = Counts {
                        messages: i % 997,
                        recipients: 2,
                        refused: 0,
                    };
                    [(s.clone(), HOUR, h, k), (s, DAY, d, k)]
                })
                .collect();
            sl::add_counts(&mut c, &rows).unwrap();
            seeded = n;
            let ms = |t: std::time::Instant| t.elapsed().as_secs_f64() * 1000.0;
            let (mut token, mut page) = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                let t = std::time::Instant::now();
                sl::senders_token(&mut c, &admin).unwrap();
                token = token.min(ms(t));
                let t = std::time::Instant::now();
                let lines = sl::sender_lines(&mut c, &admin, &Default::default(), 1000).unwrap();
                page = page.min(ms(t));
                assert_eq!(lines.len(), 1000);
            }
            println!("{label} {n} senders: token {token:.1} ms, 1,000 busiest {page:.1} ms");
        }
    }
}

/// `store::send_limits::counts` reads both windows whole and keeps only
/// the senders asked for, each window's counts under its span; older
/// windows and other senders stay out.
fn counts_keep_only_the_listed_senders(db: common::TestDb) {
    let mut c = db.conn();
    let (h, d) = windows();
    let k = |m| Counts {
        messages: m,
        recipients: m,
        refused: 0,
    };
    sl::add_counts(
        &mut c,
        &[
            (ALICE.into(), HOUR, h, k(1)),
            (ALICE.into(), DAY, d, k(2)),
            (ALICE.into(), HOUR, h - 3600, k(50)),
            (BOB.into(), HOUR, h, k(3)),
            (CAROL.into(), DAY, d, k(4)),
        ],
    )
    .unwrap();
    let names = [ALICE.to_string(), CAROL.to_string()];
    // By sender (the policy service) and by window (the screen's page).
    use postfix_manager::store::send_limits::{counts, window_counts};
    for read in [counts, window_counts] {
        let mut got: Vec<(String, i32, i64)> = read(&mut c, &names, h, d)
            .unwrap()
            .into_iter()
            .map(|(s, span, n)| (s, span, n.messages))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                (ALICE.to_string(), HOUR, 1),
                (ALICE.to_string(), DAY, 2),
                (CAROL.to_string(), DAY, 4),
            ]
        );
    }
}
