//! The deliverability check on the Domains screen (issue 18, TUI part),
//! driven like an admin would through the real app and worker: the DNS
//! column read from the `dns_checks` cache (words under NO_COLOR, colored
//! ✓ ! ✗ with color), the detail view (`i`) listing every check with the
//! reason and expected against found, the re-check (`c`) asking a real NSD
//! on loopback and refreshing the column, on the slow lane (a save sent
//! after it is answered while it waits on a dead resolver).

mod common;
mod dns_server;
mod tui_common;

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::prelude::*;
use postfix_manager::config::DnsSettings;
use postfix_manager::db::schema::dns_checks;
use postfix_manager::dns::expected::{self, Purpose};
use postfix_manager::dns::grade::Finding;
use postfix_manager::dns::Grade;
use postfix_manager::ops::command::{self, Command, Lane};
use postfix_manager::ops::dns as dns_ops;
use postfix_manager::ops::{self, domains::DomainInput};
use postfix_manager::store::{self, dns_checks::DnsCheck};
use postfix_manager::tui::app::Modal;
use postfix_manager::worker::{HostSettings, Job, Reply, Request, Response, Slot, Tag, Worker};
use tui_common::Tui;

/// Tests that run on SQLite and, when its URL is set, PostgreSQL.
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(crate::common::TestDb::sqlite());
            }
            #[test]
            fn postgres() {
                if let Some(db) = crate::common::TestDb::postgres() {
                    super::$name(db);
                }
            }
        }
    };
}

const HOST: &str = "mx.pm.test";

fn settings(nameserver: &str) -> DnsSettings {
    DnsSettings {
        mail_host: HOST.into(),
        sending_ips: vec!["192.0.2.25".into()],
        dmarc_policy: "reject".into(),
        dmarc_rua: "dmarc@pm.test".into(),
        nameservers: vec![nameserver.into()],
        timeout_ms: 1000,
        ..DnsSettings::default()
    }
}

/// The TUI whose worker checks DNS with `dns`.
fn tui(db: common::TestDb, dns: DnsSettings) -> Tui {
    let host = HostSettings {
        dns,
        ..Default::default()
    };
    let mut t = Tui::with_host(db, 80, 24, common::policy(), Default::default(), host);
    for d in ["good.test", "nomx.test", "warn.test", "plain.test"] {
        ops::domains::create(&mut t.conn, &t.admin, d, &DomainInput::default()).expect("domain");
    }
    t
}

fn finding(name: &str, purpose: Purpose, grade: Grade, reason: &str, expected: &str) -> Finding {
    Finding {
        name: name.into(),
        purpose,
        grade,
        reason: reason.into(),
        expected: expected.into(),
        found: Vec::new(),
        ttl: None,
    }
}

/// A stored check of `domain`, as `domain check` leaves it (fixed time).
fn cache(t: &mut Tui, domain: &str, grade: Grade, summary: &str, findings: &[Finding]) {
    let id = store::domains::by_name(&mut t.conn, domain)
        .expect("read")
        .expect("domain")
        .id;
    let at = NaiveDate::from_ymd_opt(2026, 12, 7)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("time");
    diesel::insert_into(dns_checks::table)
        .values(&DnsCheck {
            domain_id: id,
            status: grade.as_str().into(),
            summary: summary.into(),
            findings: serde_json::to_string(findings).expect("json"),
            checked_at: at,
            min_ttl: Some(300),
            fresh_until: Some(at + chrono::TimeDelta::seconds(300)),
        })
        .execute(&mut t.conn)
        .expect("cache row");
}

/// Three domains with stored checks (ok, warning, error), one never checked.
fn cached_states(t: &mut Tui) {
    let nomx_mx = finding(
        "nomx.test",
        Purpose::Mx,
        Grade::Error,
        "no MX record: senders fall back to the A record or bounce the mail",
        "10 mx.pm.test.",
    );
    let mut spf = finding(
        "nomx.test",
        Purpose::Spf,
        Grade::Ok,
        "SPF present, 1 of 10 DNS lookups, authorises 192.0.2.25",
        "v=spf1 mx ip4:192.0.2.25 -all",
    );
    spf.found = vec!["v=spf1 mx ip4:192.0.2.25 -all".into()];
    cache(
        t,
        "nomx.test",
        Grade::Error,
        "MX nomx.test: no MX record: senders fall back to the A record or bounce the mail",
        &[spf, nomx_mx],
    );
    let mut dmarc = finding(
        "_dmarc.warn.test",
        Purpose::Dmarc,
        Grade::Warning,
        "p=none: receivers only report, spoofed mail is still delivered",
        "v=DMARC1; p=reject; rua=mailto:dmarc@pm.test",
    );
    dmarc.found = vec!["v=DMARC1; p=none".into()];
    cache(
        t,
        "warn.test",
        Grade::Warning,
        "DMARC _dmarc.warn.test: p=none: receivers only report, spoofed mail is still delivered",
        &[dmarc],
    );
    cache(t, "good.test", Grade::Ok, "all 1 checks ok", &[]);
}

/// Log in as the admin, then draw as under NO_COLOR (the login takes the
/// environment's; the words are what these tests read).
fn login_no_color(t: &mut Tui) {
    t.login_admin();
    t.app.theme.color = false;
}

/// The cells of `row`'s line under the header's `label`, `width` wide.
fn column(screen: &str, name: &str, label: &str, width: usize) -> String {
    let header = screen.lines().nth(2).expect("header");
    let at = header
        .find(label)
        .unwrap_or_else(|| panic!("no {label} in {header}"));
    let col = header[..at].chars().count();
    let row = screen
        .lines()
        .find(|l| l.contains(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{screen}"));
    row.chars().skip(col).take(width).collect::<String>()
}

/// Put the cursor on the row with this key.
fn select(t: &mut Tui, key: &str) {
    t.char('g');
    for _ in 0..20 {
        if t.selected().as_deref() == Some(key) {
            return;
        }
        t.char('j');
    }
    panic!("no row {key} in {:?}", t.rows());
}

/// The open text panel's title and lines.
fn panel(t: &Tui) -> (String, Vec<String>) {
    match &t.app.modal {
        Some(Modal::Text(v)) => (v.title.clone(), v.lines.clone()),
        other => panic!("no text panel: {}", other.is_some()),
    }
}

/// The DNS column says each domain's stored state in words under NO_COLOR
/// (the harness's theme), a dash when never checked; with color the same
/// cells are a green ✓, a yellow ! and a red ✗.
fn column_shows_the_cached_state(db: common::TestDb) {
    // A resolver that never answers: drawing must not ask it anything.
    let dead = dns_server::dead_server();
    let mut t = tui(db, settings(&dead.addr));
    cached_states(&mut t);
    login_no_color(&mut t);
    let started = Instant::now();
    t.command("domains");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "the list waited on DNS: {:?}",
        started.elapsed()
    );
    let s = t.screen();
    assert_eq!(column(&s, "good.test", "DNS", 5).trim(), "ok", "{s}");
    assert_eq!(column(&s, "warn.test", "DNS", 5).trim(), "warn", "{s}");
    assert_eq!(column(&s, "nomx.test", "DNS", 5).trim(), "error", "{s}");
    assert_eq!(column(&s, "plain.test", "DNS", 5).trim(), "—", "{s}");

    t.app.theme.color = true;
    let s = t.screen();
    let header = s.lines().nth(2).expect("header");
    let x = header[..header.find("DNS").expect("DNS")].chars().count();
    let buf = t.term.backend().buffer().clone();
    let cell = |name: &str| {
        let y = s
            .lines()
            .position(|l| l.contains(&format!("{name} ")))
            .expect("row");
        let c = &buf[(x as u16, y as u16)];
        (c.symbol().to_string(), c.fg)
    };
    use ratatui::style::Color;
    assert_eq!(cell("good.test"), ("✓".into(), Color::Green));
    assert_eq!(cell("warn.test"), ("!".into(), Color::Yellow));
    assert_eq!(cell("nomx.test"), ("✗".into(), Color::Red));
    assert_eq!(cell("plain.test").0, "—");
}
both!(column_shows_the_cached_state);

/// `i` lists every stored check, worst first, with the reason in words and
/// what was expected against what DNS had; Enter's details say the state.
fn detail_lists_each_check(db: common::TestDb) {
    let mut t = tui(db, settings("system"));
    cached_states(&mut t);
    login_no_color(&mut t);
    t.command("domains");
    select(&mut t, "nomx.test");
    t.char('i');
    let (title, lines) = panel(&t);
    assert_eq!(title, "DNS checks of nomx.test");
    let text = lines.join("\n");
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"))
    };
    assert!(
        text.contains("ERROR (2 checks), checked 2026-12-07 10:00"),
        "{text}"
    );
    // Worst first: the MX error before the SPF that is fine.
    assert!(
        at("error    MX  nomx.test") < at("ok       SPF  nomx.test"),
        "{text}"
    );
    assert!(
        text.contains("    no MX record: senders fall back to the A record or bounce"),
        "{text}"
    );
    assert!(
        text.contains("    expected: 10 mx.pm.test.\n    found:    nothing"),
        "{text}"
    );
    assert!(
        text.contains("    found:    v=spf1 mx ip4:192.0.2.25 -all"),
        "{text}"
    );
    // Prose is broken at spaces, within the panel's width.
    assert!(lines.iter().all(|l| l.chars().count() <= 76), "{text}");
    t.esc();

    select(&mut t, "plain.test");
    t.char('i');
    let (_, lines) = panel(&t);
    assert!(
        lines
            .join("\n")
            .contains("Not checked yet: c checks it now"),
        "{lines:?}"
    );
}
both!(detail_lists_each_check);

#[test]
fn domains_and_detail_at_80x24() {
    let mut t = tui(common::TestDb::sqlite(), settings("system"));
    cached_states(&mut t);
    login_no_color(&mut t);
    t.command("domains");
    snap!("dns_domains_80x24", t.screen());
    select(&mut t, "nomx.test");
    t.char('i');
    snap!("dns_detail_80x24", t.screen());
}

/// `c` asks a real nameserver (NSD on loopback) now: the result is stored
/// and the column follows, for a good and a bad domain; the panel then
/// shows exactly what `ops::dns::cached` reads. (The worker starts once the
/// server's port is known; the zone does not depend on it.)
fn recheck_from_the_screen(db: common::TestDb) {
    let s0 = settings("system");
    let mut zone = String::new();
    {
        let mut c = db.conn();
        let a = common::admin(&mut c);
        for d in ["good.test", "nomx.test", "warn.test", "plain.test"] {
            ops::domains::create(&mut c, &a, d, &DomainInput::default()).expect("domain");
        }
        for d in ["good.test", "nomx.test"] {
            let set = dns_ops::expected(&mut c, &a, &s0, d).expect("expected");
            let z = expected::zone(&s0, &set);
            zone += &z
                .lines()
                .filter(|l| !(d == "nomx.test" && l.starts_with("nomx.test. 3600 IN MX")))
                .map(|l| format!("{l}\n"))
                .collect::<String>();
        }
    }
    zone += "mx.pm.test.\t300\tIN\tA\t192.0.2.25\n25.2.0.192.in-addr.arpa.\t300\tIN\tPTR\tmx.pm.test.\n";
    let Some(nsd) = dns_server::Nsd::start(&zone) else {
        return;
    };
    let host = HostSettings {
        dns: settings(&nsd.addr()),
        ..Default::default()
    };
    let mut t = Tui::with_host(db, 80, 24, common::policy(), Default::default(), host);
    login_no_color(&mut t);
    t.command("domains");
    let s = t.screen();
    assert_eq!(column(&s, "good.test", "DNS", 5).trim(), "—", "{s}");

    select(&mut t, "good.test");
    t.char('c');
    let s = t.screen();
    assert!(s.contains("DNS of good.test: ok: all "), "{s}");
    assert_eq!(column(&s, "good.test", "DNS", 5).trim(), "ok", "{s}");
    select(&mut t, "nomx.test");
    t.char('c');
    let s = t.screen();
    assert!(
        s.contains("DNS of nomx.test: error: MX nomx.test: no MX record"),
        "{s}"
    );
    assert_eq!(column(&s, "nomx.test", "DNS", 5).trim(), "error", "{s}");
    assert_eq!(column(&s, "good.test", "DNS", 5).trim(), "ok", "{s}");

    // The panel shows what was stored, check for check.
    let stored = dns_ops::cached(&mut t.conn, &t.admin, "nomx.test")
        .expect("cached")
        .expect("checked");
    assert_eq!(stored.row.status, "error");
    t.char('i');
    let (_, lines) = panel(&t);
    let text = lines.join("\n");
    for f in &stored.findings {
        let head = format!("{:<7}  {}  {}", f.grade.as_str(), f.purpose.label(), f.name);
        assert!(text.contains(&head), "{head:?} in\n{text}");
        let first_words: String = f
            .reason
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains(&first_words), "{first_words:?} in\n{text}");
    }
    // One audited run per re-check.
    assert_eq!(
        common::count(&mut t.conn, "audit_logs WHERE action = 'check'"),
        2
    );
}
both!(recheck_from_the_screen);

/// The re-check waits on DNS on the slow lane: with a resolver that never
/// answers, a save sent after it is answered first, well before the
/// resolver's deadline; the check then reports the timeout.
fn recheck_never_holds_up_a_save(db: common::TestDb) {
    const WAIT_MS: u64 = 3000;
    let dead = dns_server::dead_server();
    let mut conn = db.conn();
    let admin = common::admin(&mut conn);
    ops::domains::create(&mut conn, &admin, "quiet.test", &DomainInput::default()).expect("domain");
    let (tx, mut replies) = tokio::sync::mpsc::unbounded_channel::<Reply>();
    let host = HostSettings {
        url: Some(db.url.clone()),
        dns: DnsSettings {
            timeout_ms: WAIT_MS,
            ..settings(&dead.addr)
        },
        ..Default::default()
    };
    let worker = Worker::spawn_with(
        db.conn(),
        db.conn(),
        common::policy(),
        Default::default(),
        host,
        tx,
    )
    .expect("worker");
    let mut gen = 0;
    let mut send = |slot: Slot, request: Request| {
        gen += 1;
        assert!(worker.send(Job {
            tag: Tag { slot, gen },
            request
        }));
    };
    let mut next = |within: Duration| {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(r) = replies.try_recv() {
                return r;
            }
            assert!(Instant::now() < deadline, "no reply within {within:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    send(
        Slot::Login,
        Request::Login {
            username: "admin".into(),
            password: common::ADMIN_PW.into(),
            code: None,
        },
    );
    assert!(matches!(
        next(Duration::from_secs(30)).result,
        Ok(Response::Session(_))
    ));

    let check = command::CheckDns {
        domain: "quiet.test".into(),
    };
    assert_eq!(
        Request::Run(Box::new(command::CheckDns { domain: "x".into() })).lane(),
        Lane::SlowIo
    );
    assert_eq!(check.lane(), Lane::SlowIo);
    let start = Instant::now();
    send(Slot::Action, Request::Run(Box::new(check)));
    send(
        Slot::Form,
        Request::Run(Box::new(command::CreateDomain {
            name: "fast.test".into(),
            input: Default::default(),
            default_aliases: false,
        })),
    );
    let first = next(Duration::from_secs(60));
    assert_eq!(first.tag.slot, Slot::Form, "the save waited: {first:?}");
    assert!(
        start.elapsed() < Duration::from_millis(WAIT_MS),
        "the save took {:?}",
        start.elapsed()
    );
    let second = next(Duration::from_secs(120));
    assert_eq!(second.tag.slot, Slot::Action);
    match &second.result {
        Ok(Response::Done(o)) => {
            assert!(o.to_string().contains("resolver timeout"), "{o}");
        }
        other => panic!("check: {other:?}"),
    }
    worker.shutdown(Duration::from_secs(5));
    let row = store::domains::by_name(&mut conn, "quiet.test")
        .expect("read")
        .expect("domain");
    let cached = store::dns_checks::by_domain(&mut conn, row.id)
        .expect("read")
        .expect("stored");
    assert_eq!(cached.status, "error");
}
both!(recheck_never_holds_up_a_save);

/// A readonly admin may re-check (the rows are observations of DNS, not
/// configuration; ops audits the run): `c` is offered and stores the
/// result, here a resolver that never answers, said in words.
fn readonly_may_recheck(db: common::TestDb) {
    let dead = dns_server::dead_server();
    let mut t = tui(
        db,
        DnsSettings {
            timeout_ms: 300,
            ..settings(&dead.addr)
        },
    );
    common::user_with_role(&mut t.conn, &t.admin, "rita", "readonly");
    t.login("rita", "rita-password-1");
    assert!(t.app.session.is_some(), "rita logged in");
    t.app.theme.color = false;
    t.command("domains");
    select(&mut t, "plain.test");
    t.char('c');
    let s = t.screen();
    assert!(s.contains("DNS of plain.test: error: "), "{s}");
    assert!(s.contains("resolver timeout"), "{s}");
    assert_eq!(column(&s, "plain.test", "DNS", 5).trim(), "error", "{s}");
    let id = store::domains::by_name(&mut t.conn, "plain.test")
        .expect("read")
        .expect("domain")
        .id;
    let row = store::dns_checks::by_domain(&mut t.conn, id)
        .expect("read")
        .expect("stored");
    assert_eq!(row.status, "error");
    assert_eq!(
        common::count(&mut t.conn, "audit_logs WHERE action = 'check'"),
        1
    );
}
both!(readonly_may_recheck);
