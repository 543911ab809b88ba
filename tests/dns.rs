//! The deliverability check (issue 18) against a real authoritative DNS
//! server (NSD on loopback, tests/dns_server): every good and bad case
//! graded as expected and cached, on both backends; the `--zone` snippet
//! served as is checks all ok; a nameserver that never answers gives
//! "resolver timeout" instead of a hang; the CLI's exit codes and
//! `health --dns`.

mod common;
mod dns_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use postfix_manager::config::DnsSettings;
use postfix_manager::db::AnyConnection;
use postfix_manager::dkim::key::Algorithm;
use postfix_manager::dns::expected::{self, Purpose};
use postfix_manager::dns::Grade;
use postfix_manager::ops::dkim::{self, NewKey, Settings};
use postfix_manager::ops::dns::{self as dns_ops, Checked, Target};
use postfix_manager::ops::domains::DomainInput;
use postfix_manager::ops::{self, Ctx};
use postfix_manager::secrets::KeyFile;
use postfix_manager::store;

const HOST: &str = "mx.pm.test";

/// The mail host's address, and PTRs for 192.0.2.25 (forward-confirmed)
/// and 192.0.2.27 (names the host, whose A does not include it). Data in
/// the test zone only (documentation addresses, RFC 5737); loopback
/// addresses would not do: the resolver answers their reverse names
/// itself (localhost, RFC 6761).
const HOST_RECORDS: &str = "mx.pm.test.\t300\tIN\tA\t192.0.2.25\n\
25.2.0.192.in-addr.arpa.\t300\tIN\tPTR\tmx.pm.test.\n\
27.2.0.192.in-addr.arpa.\t300\tIN\tPTR\tmx.pm.test.\n";

fn settings(nameserver: &str) -> DnsSettings {
    DnsSettings {
        mail_host: HOST.into(),
        sending_ips: vec!["192.0.2.25".into()],
        dmarc_policy: "reject".into(),
        dmarc_rua: "dmarc@pm.test".into(),
        mta_sts_mode: "enforce".into(),
        nameservers: vec![nameserver.into()],
        timeout_ms: 1000,
        concurrency: 4,
        ..DnsSettings::default()
    }
}

/// An active Ed25519 key for `domain` (fast to generate); its record value.
fn active_key(c: &mut AnyConnection, a: &Ctx, keys: &KeyFile, domain: &str) -> String {
    let k = dkim::add(
        c,
        a,
        keys,
        &Settings::default(),
        &NewKey {
            domain,
            selector: None,
            algorithm: Algorithm::Ed25519,
            bits: None,
        },
    )
    .unwrap();
    dkim::activate(c, a, &format!("{domain}:{}", k.row.selector)).unwrap();
    k.record.value
}

/// The snippet `domain dns --zone` prints for `domain`.
fn snippet(c: &mut AnyConnection, a: &Ctx, s: &DnsSettings, domain: &str) -> String {
    let set = dns_ops::expected(c, a, s, domain).unwrap();
    expected::zone(s, &set)
}

/// Zone lines without those whose name and type match.
fn without(zone: &str, name: &str, rtype: &str) -> String {
    zone.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            !(f.len() > 3 && f[0] == format!("{name}.") && f[3] == rtype)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn txt(name: &str, value: &str) -> String {
    format!("{name}.\t300\tIN\tTXT\t\"{value}\"\n")
}

fn with_txt(zone: &str, name: &str, value: &str) -> String {
    without(zone, name, "TXT") + &txt(name, value)
}

/// (purpose, name, grade, words the reason must contain)
type Want = (Purpose, &'static str, Grade, &'static str);

struct Case {
    domain: &'static str,
    grade: Grade,
    wants: Vec<Want>,
}

fn case(domain: &'static str, grade: Grade, wants: Vec<Want>) -> Case {
    Case {
        domain,
        grade,
        wants,
    }
}

/// Every domain of the test, its zone (the snippet, then the case's
/// change), and what the check must say about it.
fn cases(c: &mut AnyConnection, a: &Ctx, keys: &KeyFile, s: &DnsSettings) -> (String, Vec<Case>) {
    use Grade::{Error, Ok, Warning};
    let names = [
        "good.test",
        "nomx.test",
        "elsewhere.test",
        "twospf.test",
        "deepspf.test",
        "spf10.test",
        "plusall.test",
        "spfnoip.test",
        "spfvia.test",
        "spfmacro.test",
        "dkimdiff.test",
        "revoked.test",
        "stale.test",
        "nodmarc.test",
        "dmarcnone.test",
        "dmarcbad.test",
    ];
    let mut key_of = BTreeMap::new();
    for d in names {
        ops::domains::create(c, a, d, &DomainInput::default()).unwrap();
        key_of.insert(d, active_key(c, a, keys, d));
    }
    ops::alias_domains::create(c, a, "alias-good.test", "good.test").unwrap();
    for d in ["revoked.test", "stale.test"] {
        let sel = store::dkim_keys::of_domain(c, d).unwrap()[0]
            .selector
            .clone();
        dkim::revoke(c, a, &Settings::default(), &format!("{d}:{sel}"), true).unwrap();
    }
    let dkim_name = |c: &mut AnyConnection, d: &str| {
        let sel = store::dkim_keys::of_domain(c, d).unwrap()[0]
            .selector
            .clone();
        format!("{sel}._domainkey.{d}")
    };
    let mut zone = String::new();
    for d in names {
        let z = snippet(c, a, s, d);
        zone += &match d {
            "nomx.test" => without(&z, d, "MX"),
            "elsewhere.test" => {
                without(&z, d, "MX") + &format!("{d}.\t300\tIN\tMX\t10 mx.other.test.\n")
            }
            "twospf.test" => z + &txt(d, "v=spf1 a -all"),
            "deepspf.test" | "spf10.test" => {
                let last = if d == "deepspf.test" {
                    " mx:x.test"
                } else {
                    ""
                };
                with_txt(&z, d, &format!("v=spf1 include:l1.{d} -all"))
                    + &txt(
                        &format!("l1.{d}"),
                        &format!("v=spf1 a mx ptr exists:x.test include:l2.{d} -all"),
                    )
                    + &txt(
                        &format!("l2.{d}"),
                        &format!("v=spf1 a mx a:x.test{last} include:l3.{d} -all"),
                    )
                    // The sending IP is allowed at the bottom (an ip4 term
                    // costs no lookup).
                    + &txt(&format!("l3.{d}"), "v=spf1 ip4:192.0.2.25 -all")
            }
            "plusall.test" => with_txt(&z, d, "v=spf1 +all"),
            // The sending IP 192.0.2.25 is not among the hosts allowed.
            "spfnoip.test" => with_txt(&z, d, "v=spf1 ip4:198.51.100.0/24 a:mx.other.test ~all"),
            // ...and here it is, two includes down, inside a network.
            "spfvia.test" => {
                with_txt(&z, d, &format!("v=spf1 include:a.{d} -all"))
                    + &txt(
                        &format!("a.{d}"),
                        &format!("v=spf1 ip4:198.51.100.7 include:b.{d} -all"),
                    )
                    + &txt(&format!("b.{d}"), "v=spf1 ip4:192.0.2.0/24 -all")
            }
            // Only a real message's address gives the macro a meaning.
            "spfmacro.test" => with_txt(&z, d, "v=spf1 exists:%{i}._spf.x.test -all"),
            "dkimdiff.test" => {
                let n = dkim_name(c, d);
                with_txt(&z, &n, &key_of["good.test"])
            }
            "stale.test" => {
                let n = dkim_name(c, d);
                with_txt(&z, &n, &key_of[d])
            }
            "nodmarc.test" => without(&z, &format!("_dmarc.{d}"), "TXT"),
            "dmarcnone.test" => with_txt(&z, &format!("_dmarc.{d}"), "v=DMARC1; p=none"),
            "dmarcbad.test" => with_txt(&z, &format!("_dmarc.{d}"), "v=DMARC1; p=rejectt; pct=200"),
            _ => z,
        };
    }
    let all = vec![
        case(
            "good.test",
            Ok,
            vec![(
                Purpose::Mx,
                "alias-good.test",
                Ok,
                "MX points to mx.pm.test",
            )],
        ),
        case(
            "nomx.test",
            Error,
            vec![(Purpose::Mx, "nomx.test", Error, "no MX record")],
        ),
        case(
            "elsewhere.test",
            Error,
            vec![(
                Purpose::Mx,
                "elsewhere.test",
                Error,
                "MX points elsewhere (mx.other.test)",
            )],
        ),
        case(
            "twospf.test",
            Error,
            vec![(Purpose::Spf, "twospf.test", Error, "2 SPF records")],
        ),
        case(
            "deepspf.test",
            Error,
            vec![(Purpose::Spf, "deepspf.test", Error, "11 DNS lookups")],
        ),
        case(
            "spf10.test",
            Ok,
            vec![(Purpose::Spf, "spf10.test", Ok, "10 of 10 DNS lookups")],
        ),
        case(
            "plusall.test",
            Error,
            vec![(Purpose::Spf, "plusall.test", Error, "+all lets every host")],
        ),
        case(
            "spfnoip.test",
            Error,
            vec![(
                Purpose::Spf,
                "spfnoip.test",
                Error,
                "a sending IP is not authorised: 192.0.2.25 gets softfail",
            )],
        ),
        case(
            "spfvia.test",
            Ok,
            vec![(
                Purpose::Spf,
                "spfvia.test",
                Ok,
                "SPF present, 2 of 10 DNS lookups, authorises 192.0.2.25",
            )],
        ),
        case(
            "spfmacro.test",
            Warning,
            vec![(
                Purpose::Spf,
                "spfmacro.test",
                Warning,
                "cannot tell whether the sending IPs may send (192.0.2.25: it is not listed, and exists:%{i}._spf.x.test can only be evaluated",
            )],
        ),
        case(
            "dkimdiff.test",
            Error,
            vec![(
                Purpose::Dkim,
                "",
                Error,
                "differs from the stored active key",
            )],
        ),
        case(
            "revoked.test",
            Ok,
            vec![(Purpose::Dkim, "", Ok, "revoked: p= is empty")],
        ),
        case(
            "stale.test",
            Warning,
            vec![(Purpose::Dkim, "", Warning, "revoked key still published")],
        ),
        case(
            "nodmarc.test",
            Error,
            vec![(
                Purpose::Dmarc,
                "_dmarc.nodmarc.test",
                Error,
                "no DMARC record",
            )],
        ),
        case(
            "dmarcnone.test",
            Warning,
            vec![(Purpose::Dmarc, "_dmarc.dmarcnone.test", Warning, "p=none")],
        ),
        case(
            "dmarcbad.test",
            Error,
            vec![(
                Purpose::Dmarc,
                "_dmarc.dmarcbad.test",
                Error,
                "p=rejectt is not none, quarantine or reject; pct=200",
            )],
        ),
    ];
    // alias-good.test's records are in good.test's snippet already; the
    // host's own (outside every domain's zone) come last.
    (zone + "\n" + HOST_RECORDS, all)
}

fn by_domain(checked: &[Checked]) -> BTreeMap<String, &Checked> {
    checked
        .iter()
        .map(|c| (c.report.domain.clone(), c))
        .collect()
}

fn assert_case(got: &Checked, want: &Case) {
    let r = &got.report;
    let text = serde_json::to_string_pretty(&r.findings).unwrap();
    assert_eq!(
        r.grade, want.grade,
        "{}: {}\n{text}",
        want.domain, r.summary
    );
    for (purpose, name, grade, words) in &want.wants {
        let hit = r.findings.iter().find(|f| {
            f.purpose == *purpose
                && (name.is_empty() || f.name == *name)
                && f.grade == *grade
                && f.reason.contains(words)
        });
        assert!(
            hit.is_some(),
            "{}: no {purpose:?} {name} {grade:?} \"{words}\" in\n{text}",
            want.domain
        );
    }
    if want.grade == Grade::Ok {
        assert!(r.findings.iter().all(|f| f.grade == Grade::Ok), "{text}");
    }
}

struct Fixture {
    c: AnyConnection,
    admin: Ctx,
    keys: KeyFile,
    _dir: tempfile::TempDir,
}

fn fixture(t: &common::TestDb) -> Fixture {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyFile::new(dir.path().join("secret.key"));
    Fixture {
        c,
        admin,
        keys,
        _dir: dir,
    }
}

on_both_backends!(every_case_is_graded_and_cached, |t| {
    let mut f = fixture(t);
    let (c, a) = (&mut f.c, &f.admin);
    // The zone is made before the server's port is known; the nameserver
    // does not change what must be published.
    let (zone, cases) = cases(c, a, &f.keys, &settings("system"));
    let Some(nsd) = dns_server::Nsd::start(&zone) else {
        return;
    };
    let s = settings(&nsd.addr());
    let checked = dns_ops::check(c, a, &s, &Target::All).unwrap();
    assert_eq!(checked.len(), cases.len());
    let got = by_domain(&checked);
    for want in &cases {
        assert_case(got[want.domain], want);
        // The cache holds what was reported.
        let id = got[want.domain].domain_id;
        let row = store::dns_checks::by_domain(c, id).unwrap().unwrap();
        assert_eq!(row.status, want.grade.as_str(), "{}", want.domain);
        assert_eq!(row.summary, got[want.domain].report.summary);
        assert_eq!(row.min_ttl, Some(300), "{}", want.domain);
        assert!(row.fresh_until.unwrap() > row.checked_at);
    }
    let sum = store::dns_checks::summary(c, None).unwrap();
    assert_eq!((sum.domains, sum.unchecked), (16, 0));
    assert_eq!((sum.ok, sum.warning, sum.error), (4, 3, 9));
    // One audit row for the whole run.
    assert_eq!(common::count(c, "audit_logs WHERE action = 'check'"), 1);

    // Sending IPs without a PTR, and with one that does not resolve back.
    let s2 = DnsSettings {
        sending_ips: vec!["192.0.2.26".into(), "192.0.2.27".into()],
        ..s.clone()
    };
    let one = dns_ops::check(c, a, &s2, &Target::One("good.test".into())).unwrap();
    let ptr: Vec<_> = one[0]
        .report
        .findings
        .iter()
        .filter(|f| f.purpose == Purpose::Ptr)
        .collect();
    assert_eq!(ptr.len(), 2, "{ptr:?}");
    assert_eq!((ptr[0].grade, ptr[1].grade), (Grade::Error, Grade::Error));
    assert!(
        ptr[0].reason.contains("no PTR record for 192.0.2.26"),
        "{}",
        ptr[0].reason
    );
    assert!(
        ptr[1]
            .reason
            .contains("does not resolve back to 192.0.2.27"),
        "{}",
        ptr[1].reason
    );
    let row = store::dns_checks::by_domain(c, one[0].domain_id)
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "error");
});

on_both_backends!(a_dead_nameserver_is_a_timeout_not_a_hang, |t| {
    let mut f = fixture(t);
    let (c, a) = (&mut f.c, &f.admin);
    ops::domains::create(c, a, "quiet.test", &DomainInput::default()).unwrap();
    active_key(c, a, &f.keys, "quiet.test");
    let dead = dns_server::dead_server();
    let s = DnsSettings {
        timeout_ms: 300,
        ..settings(&dead.addr)
    };
    let started = Instant::now();
    let checked = dns_ops::check(c, a, &s, &Target::All).unwrap();
    // A liveness bound (not a speed target): every query runs at once and
    // each gives up at its deadline, so this is about one timeout; a hang
    // would never return.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let r = &checked[0].report;
    assert_eq!(r.grade, Grade::Error);
    for f in &r.findings {
        assert!(f.reason.starts_with("resolver timeout"), "{f:?}");
        assert_eq!(f.grade, Grade::Error, "{f:?}");
    }
    let row = store::dns_checks::by_domain(c, checked[0].domain_id)
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "error");
    assert!(row.summary.contains("resolver timeout"), "{}", row.summary);

    // A user role sees (and checks) only its granted domains.
    let u = common::user_with_role(c, a, "tenant", "user");
    assert!(dns_ops::check(c, &u, &s, &Target::All).unwrap().is_empty());
    let e = dns_ops::check(c, &u, &s, &Target::One("quiet.test".into()))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "domain \"quiet.test\" not found");
    let e = dns_ops::expected(c, &u, &s, "quiet.test")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "domain \"quiet.test\" not found");
    // Without a mail host there is nothing to check against.
    let e = dns_ops::check(c, a, &DnsSettings::default(), &Target::All)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("dns.mail_host: must be set"), "{e}");
});

const BIN: &str = env!("CARGO_BIN_EXE_postfix-manager");
const CLI_PW: &str = "cli-admin-password-1";

/// The binary with a config in its own directory.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let pw = self.path("admin.pw");
        std::process::Command::new(BIN)
            .current_dir(self.dir.path())
            .env("POSTFIX_MANAGER_CONFIG", self.path("config.toml"))
            .env_remove("POSTFIX_MANAGER_DATABASE_URL")
            .env_remove("SSH_CONNECTION")
            .env_remove("SSH_CLIENT")
            .args(["--user", "admin", "--password-file", pw.to_str().unwrap()])
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    /// Stdout of a command that must exit with `code`.
    fn expect(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn set_dns(&self, s: &DnsSettings) {
        let p = self.path("config.toml");
        let mut cfg = postfix_manager::config::Config::load(&p).unwrap().unwrap();
        cfg.dns = s.clone();
        cfg.save(&p).unwrap();
    }
}

on_both_backends!(cli_snippet_as_is_checks_ok_and_exit_codes_grade, |t| {
    let site = Site {
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::write(site.path("config.toml"), "[security]\nbcrypt_cost = 4\n").unwrap();
    std::fs::write(site.path("admin.pw"), format!("{CLI_PW}\n")).unwrap();
    let url = t.url_string();
    let pw = site.path("admin.pw");
    site.expect(
        0,
        &[
            "init",
            "--database-url",
            &url,
            "--admin-password-file",
            pw.to_str().unwrap(),
        ],
    );
    let dead = dns_server::dead_server();
    site.set_dns(&settings(&dead.addr));
    for d in ["good.test", "warn.test", "bare.test"] {
        site.expect(0, &["domain", "add", d]);
    }
    site.expect(0, &["alias-domain", "add", "alias-good.test", "good.test"]);
    {
        let mut c = t.conn();
        let a = common::login_as_cli(&mut c, site.dir.path(), "admin", CLI_PW);
        let keys = KeyFile::new(site.path("secret.key"));
        active_key(&mut c, &a, &keys, "good.test");
    }

    // The snippet, served exactly as printed (warn.test with p=none).
    let good = site.expect(0, &["domain", "dns", "good.test", "--zone"]);
    assert!(
        good.contains("; zone alias-good.test (alias domain of good.test)"),
        "{good}"
    );
    assert!(
        good.contains("._domainkey.good.test. 3600 IN TXT \"v=DKIM1; k=ed25519; p="),
        "{good}"
    );
    let warn = site.expect(0, &["domain", "dns", "warn.test", "--zone"]);
    let warn = with_txt(&warn, "_dmarc.warn.test", "v=DMARC1; p=none");
    let Some(nsd) = dns_server::Nsd::start(&format!("{good}\n{warn}\n{HOST_RECORDS}")) else {
        return;
    };
    site.set_dns(&settings(&nsd.addr()));

    let out = site.expect(0, &["domain", "check", "good.test"]);
    assert!(out.starts_with("good.test: OK\n"), "{out}");
    assert!(!out.contains("warning") && !out.contains("error"), "{out}");
    let out = site.expect(1, &["domain", "check", "warn.test"]);
    assert!(out.contains("warning  DMARC"), "{out}");
    let out = site.expect(2, &["domain", "check", "--all"]);
    assert!(out.contains("3 domains: 1 ok, 1 warning, 1 error"), "{out}");
    assert!(
        out.contains("error    MX              bare.test: no MX record"),
        "{out}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&site.expect(2, &["--json", "domain", "check", "--all"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3, "{json}");
    assert_eq!(json[0]["domain"], "bare.test");
    assert_eq!(json[0]["grade"], "error");

    // The stored results, without asking DNS (the server is gone).
    drop(nsd);
    let out = site.expect(0, &["domain", "check", "good.test", "--cached"]);
    assert!(
        out.starts_with("checked ") && out.contains("good.test: OK"),
        "{out}"
    );
    let out = site.expect(2, &["health", "--dns"]);
    assert!(
        out.contains("dns: 3 domains: 1 ok, 1 warning, 1 error, 0 never checked"),
        "{out}"
    );
    let out = site.expect(2, &["domain", "check"]);
    assert_eq!(out, "");
});
