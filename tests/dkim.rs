//! DKIM keys (issue 17) on both backends: the pending -> active -> retiring
//! -> revoked walk with the exported OpenDKIM files changing at each step,
//! refusals that name their rule, roles and scopes, private keys sealed at
//! rest, and the proof with real programs: OpenDKIM signs with the exported
//! files and dkimpy verifies against the record `dkim dns` gives.

mod common;
mod dkim_tools;

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use postfix_manager::db::schema::{audit_logs, dkim_keys};
use postfix_manager::db::AnyConnection;
use postfix_manager::dkim::key::Algorithm;
use postfix_manager::model::Perm;
use postfix_manager::ops::dkim::{self, NewKey, Settings, Signer};
use postfix_manager::ops::domains::DomainInput;
use postfix_manager::ops::{self, Ctx};
use postfix_manager::secrets::KeyFile;

use dkim_tools::{dkimpy_verify, opendkim_sign, signer_tools, MESSAGE};

struct Fixture {
    c: AnyConnection,
    admin: Ctx,
    keys: KeyFile,
    dir: tempfile::TempDir,
}

fn fixture(t: &common::TestDb) -> Fixture {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(&mut c, &admin, "sign.test", &DomainInput::default()).unwrap();
    ops::domains::create(&mut c, &admin, "other.test", &DomainInput::default()).unwrap();
    ops::alias_domains::create(&mut c, &admin, "alias.test", "sign.test").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keys = KeyFile::new(dir.path().join("secret.key"));
    Fixture {
        c,
        admin,
        keys,
        dir,
    }
}

fn rsa(domain: &str) -> NewKey<'_> {
    NewKey {
        domain,
        selector: None,
        algorithm: Algorithm::Rsa,
        bits: None,
    }
}

fn err<T: std::fmt::Debug>(r: Result<T, postfix_manager::error::OpError>) -> String {
    r.unwrap_err().to_string()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

on_both_backends!(lifecycle_walks_pending_active_retiring_revoked, |t| {
    let mut f = fixture(t);
    let s = Settings::default();
    let (c, a, k) = (&mut f.c, &f.admin, &f.keys);
    let out = f.dir.path().join("opendkim");
    let export =
        |c: &mut AnyConnection| dkim::export(c, a, k, Signer::Opendkim, &out, None).unwrap();

    let first = dkim::add(c, a, k, &s, &rsa("sign.test")).unwrap();
    assert_eq!(first.row.state, "pending");
    assert!(
        first.row.selector.starts_with("pm"),
        "{}",
        first.row.selector
    );
    assert_eq!(
        first.record.name,
        format!("{}._domainkey.sign.test", first.row.selector)
    );
    // Pending keys are published but sign nothing.
    export(c);
    assert!(
        !read(&out, "KeyTable").contains("_domainkey"),
        "{}",
        read(&out, "KeyTable")
    );
    let sel1 = first.row.selector.clone();

    let on = dkim::activate(c, a, &format!("sign.test:{sel1}")).unwrap();
    assert_eq!(on.key.row.state, "active");
    assert!(on.retired.is_none());
    export(c);
    let kt = read(&out, "KeyTable");
    assert!(
        kt.contains(&format!("{sel1}._domainkey.sign.test sign.test:{sel1}:")),
        "{kt}"
    );
    // The alias domain signs with its target's key under its own name.
    assert!(
        kt.contains(&format!("{sel1}._domainkey.alias.test alias.test:{sel1}:")),
        "{kt}"
    );
    let st = read(&out, "SigningTable");
    assert!(
        st.contains(&format!("*@sign.test {sel1}._domainkey.sign.test")),
        "{st}"
    );
    let key_file = out.join(format!("sign.test.{sel1}.key"));
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(read(&out, &format!("sign.test.{sel1}.key")).starts_with("-----BEGIN PRIVATE KEY-----"));

    let next = dkim::rotate(c, a, k, &s, "sign.test", Algorithm::Rsa, None).unwrap();
    assert_eq!(next.row.state, "pending");
    assert_eq!(next.row.replaces_id, Some(first.row.id));
    let sel2 = next.row.selector.clone();
    assert_ne!(sel1, sel2);
    // Both records are published while the new one waits for DNS.
    let names: Vec<String> = dkim::dns(c, a, "sign.test")
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    export(c);
    assert!(
        !read(&out, "KeyTable").contains(&sel2),
        "a pending key does not sign yet"
    );

    let switched = dkim::activate(c, a, &next.row.id.to_string()).unwrap();
    assert_eq!(switched.key.row.state, "active");
    assert_eq!(
        switched.retired.as_ref().map(|r| r.row.state.as_str()),
        Some("retiring")
    );
    export(c);
    let kt = read(&out, "KeyTable");
    assert!(
        kt.contains(&sel2) && !kt.contains(&format!("{sel1}._domainkey")),
        "{kt}"
    );
    assert!(
        !out.join(format!("sign.test.{sel1}.key")).exists(),
        "the retired key file is gone"
    );

    // Inside its grace period the old key is not revoked without --now.
    let e = err(dkim::revoke(c, a, &s, &format!("sign.test:{sel1}"), false));
    assert!(e.starts_with("key: ") && e.contains("grace period"), "{e}");
    assert_eq!(dkim::revoke_due(c, a, &s).unwrap().len(), 0);
    let no_grace = Settings {
        grace_days: 0,
        ..Settings::default()
    };
    let due = dkim::revoke_due(c, a, &no_grace).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].key.row.state, "revoked");
    assert!(
        due[0].key.record.value.ends_with("p="),
        "{}",
        due[0].key.record.value
    );
    let sealed: Option<String> = dkim_keys::table
        .find(first.row.id)
        .select(dkim_keys::private_key)
        .first(c)
        .unwrap();
    assert!(sealed.is_none(), "revoking erases the private key");
    let e = err(dkim::activate(c, a, &first.row.id.to_string()));
    assert!(
        e.contains("revoked") && e.contains("never sign again"),
        "{e}"
    );
    // Every step is audited.
    let steps: Vec<String> = audit_logs::table
        .filter(audit_logs::resource_type.eq("dkim_key"))
        .order(audit_logs::id.asc())
        .select(audit_logs::action)
        .load(c)
        .unwrap();
    for step in ["create", "activate", "rotate", "revoke", "export"] {
        assert!(
            steps.iter().any(|x| x == step),
            "{step} not audited: {steps:?}"
        );
    }
});

on_both_backends!(refusals_name_the_rule_and_change_nothing, |t| {
    let mut f = fixture(t);
    let s = Settings::default();
    let (c, a, k) = (&mut f.c, &f.admin, &f.keys);
    let mut short = rsa("sign.test");
    short.bits = Some(1024);
    let e = err(dkim::add(c, a, k, &s, &short));
    assert!(e.starts_with("bits: must be at least 2048"), "{e}");
    let mut bad = rsa("sign.test");
    bad.selector = Some("bad_selector");
    let e = err(dkim::add(c, a, k, &s, &bad));
    assert!(
        e.starts_with("selector: must be letters, digits and hyphens"),
        "{e}"
    );
    let e = err(dkim::add(c, a, k, &s, &rsa("nowhere.test")));
    assert!(e.contains("domain \"nowhere.test\" not found"), "{e}");
    assert_eq!(common::count(c, "dkim_keys"), 0, "refusals write no key");

    let one = dkim::add(c, a, k, &s, &rsa("sign.test")).unwrap();
    dkim::activate(c, a, &one.row.id.to_string()).unwrap();
    let e = err(dkim::add(c, a, k, &s, &rsa("sign.test")));
    assert!(
        e.starts_with("algorithm: sign.test already signs with rsa key"),
        "{e}"
    );
    assert!(e.contains("two active keys of one algorithm"), "{e}");
    // An Ed25519 key beside the RSA one is dual signing, not a second active key.
    let ed = NewKey {
        algorithm: Algorithm::Ed25519,
        ..rsa("sign.test")
    };
    let ed = dkim::add(c, a, k, &s, &ed).unwrap();
    assert!(ed.row.selector.ends_with('e'), "{}", ed.row.selector);
    dkim::activate(c, a, &ed.row.id.to_string()).unwrap();
    let mut named = rsa("sign.test");
    named.selector = Some(&one.row.selector);
    let e = err(dkim::add(c, a, k, &s, &named));
    assert!(
        e.starts_with("algorithm:") || e.starts_with("selector:"),
        "{e}"
    );
    let e = err(dkim::revoke(c, a, &s, &one.row.id.to_string(), false));
    assert!(e.contains("is signing now") && e.contains("--now"), "{e}");
    let e = err(dkim::rotate(
        c,
        a,
        k,
        &s,
        "other.test",
        Algorithm::Rsa,
        None,
    ));
    assert!(e.contains("no active rsa key to rotate"), "{e}");
    dkim::rotate(c, a, k, &s, "sign.test", Algorithm::Rsa, None).unwrap();
    let e = err(dkim::rotate(c, a, k, &s, "sign.test", Algorithm::Rsa, None));
    assert!(e.contains("already pending"), "{e}");
    // A compromised key can be revoked at once.
    let gone = dkim::revoke(c, a, &s, &one.row.id.to_string(), true).unwrap();
    assert_eq!(gone.key.row.state, "revoked");
});

on_both_backends!(roles_and_scopes, |t| {
    let mut f = fixture(t);
    let s = Settings::default();
    let (c, a, k) = (&mut f.c, &f.admin, &f.keys);
    let ro = common::user_with_role(c, a, "ro", "readonly");
    let tenant = common::user_with_role(c, a, "tenant", "user");
    let helper = common::user_with_role(c, a, "helper", "user");
    ops::permissions::grant(c, a, "tenant", "sign.test", &[Perm::Domain]).unwrap();
    ops::permissions::grant(c, a, "helper", "sign.test", &[Perm::Mailboxes]).unwrap();

    let e = err(dkim::add(c, &ro, k, &s, &rsa("sign.test")));
    assert!(
        e.starts_with("permission denied") && e.contains("readonly"),
        "{e}"
    );
    let e = err(dkim::add(c, &helper, k, &s, &rsa("sign.test")));
    assert!(
        e.contains("no 'domain' permission on domain sign.test"),
        "{e}"
    );
    let e = err(dkim::add(c, &tenant, k, &s, &rsa("other.test")));
    assert!(e.contains("not found"), "outside the tenant's domains: {e}");
    let mine = dkim::add(c, &tenant, k, &s, &rsa("sign.test")).unwrap();
    // The alias domain belongs to the tenant's domain.
    dkim::add(c, &tenant, k, &s, &rsa("alias.test")).unwrap();
    dkim::activate(c, &tenant, &mine.row.id.to_string()).unwrap();
    let theirs = dkim::add(c, a, k, &s, &rsa("other.test")).unwrap();
    assert_eq!(dkim::list(c, &tenant, None, None, 100).unwrap().len(), 2);
    assert_eq!(dkim::list(c, a, None, None, 100).unwrap().len(), 3);
    let e = err(dkim::show(c, &tenant, &theirs.row.id.to_string()));
    assert!(e.contains("not found"), "{e}");
    // Private keys: admins only, and the attempt is audited.
    let e = err(dkim::show_private(c, &tenant, k, &mine.row.id.to_string()));
    assert!(e.contains("needs role admin"), "{e}");
    let (_, pem) = dkim::show_private(c, a, k, &mine.row.id.to_string()).unwrap();
    assert!(pem.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
    let shows: Vec<String> = audit_logs::table
        .filter(audit_logs::action.eq("show_private"))
        .select(audit_logs::result)
        .load(c)
        .unwrap();
    assert_eq!(shows.len(), 2, "{shows:?}");
    let e = err(dkim::export(
        c,
        &tenant,
        k,
        Signer::Rspamd,
        &f.dir.path().join("r"),
        None,
    ));
    assert!(e.contains("needs role admin"), "{e}");
});

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

on_both_backends!(private_keys_are_sealed_at_rest, |t| {
    let mut f = fixture(t);
    let s = Settings::default();
    let (c, a, k) = (&mut f.c, &f.admin, &f.keys);
    let one = dkim::add(c, a, k, &s, &rsa("sign.test")).unwrap();
    let two = dkim::add(
        c,
        a,
        k,
        &s,
        &NewKey {
            algorithm: Algorithm::Ed25519,
            ..rsa("other.test")
        },
    )
    .unwrap();
    let (_, pem) = dkim::show_private(c, a, k, &one.row.id.to_string()).unwrap();
    // The base64 body of the PEM, a line of it: any copy of the key has it.
    let line = pem.expose().lines().nth(3).unwrap().to_string();
    assert!(line.len() >= 60, "{line}");
    c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)").ok();
    let bytes = common::database_text(t, c, &["dkim_keys", "audit_logs"]);
    assert!(
        !contains(&bytes, b"PRIVATE KEY"),
        "a PEM header is in the database"
    );
    assert!(
        !contains(&bytes, line.as_bytes()),
        "key bytes are in the database"
    );
    let view = format!("{:?} {}", one, serde_json::to_string(&one).unwrap());
    assert!(!view.contains(&line) && !view.contains("v1:"), "{view}");

    // A ciphertext moved to another row does not open there.
    let sealed: Option<String> = dkim_keys::table
        .find(one.row.id)
        .select(dkim_keys::private_key)
        .first(c)
        .unwrap();
    diesel::update(dkim_keys::table.find(two.row.id))
        .set(dkim_keys::private_key.eq(sealed))
        .execute(c)
        .unwrap();
    let e = err(dkim::show_private(c, a, k, &two.row.id.to_string()));
    assert!(e.contains("does not decrypt"), "{e}");
    // And a wrong key file opens nothing.
    let other = KeyFile::new(f.dir.path().join("other.key"));
    let e = err(dkim::show_private(c, a, &other, &one.row.id.to_string()));
    assert!(!e.is_empty());
});

fn published(c: &mut AnyConnection, a: &Ctx, domain: &str) -> Vec<(String, String)> {
    dkim::dns(c, a, domain)
        .unwrap()
        .into_iter()
        // What a resolver hands a verifier: the 255-byte strings joined.
        .map(|r| (r.name.clone(), r.strings().concat()))
        .collect()
}

on_both_backends!(opendkim_signs_and_dkimpy_verifies, |t| {
    let Some(bin) = signer_tools() else { return };
    let mut f = fixture(t);
    let s = Settings::default();
    let (c, a, k) = (&mut f.c, &f.admin, &f.keys);
    let out = f.dir.path().join("opendkim");
    let rsa_key = dkim::add(c, a, k, &s, &rsa("sign.test")).unwrap();
    dkim::activate(c, a, &rsa_key.row.id.to_string()).unwrap();
    let ed = dkim::add(
        c,
        a,
        k,
        &s,
        &NewKey {
            algorithm: Algorithm::Ed25519,
            ..rsa("sign.test")
        },
    )
    .unwrap();
    dkim::activate(c, a, &ed.row.id.to_string()).unwrap();
    dkim::export(c, a, k, Signer::Opendkim, &out, None).unwrap();
    let records = published(c, a, "sign.test");

    let signed = opendkim_sign(&bin, &out, "", "rsa-sha256", MESSAGE);
    assert!(
        signed.contains(&format!("s={}", rsa_key.row.selector)),
        "{signed}"
    );
    assert!(
        dkimpy_verify(&signed, &records),
        "RSA signature does not verify"
    );
    assert!(
        !dkimpy_verify(&signed.replace("Hello from", "Hello frum"), &records),
        "a tampered body verified"
    );

    let signed_ed = opendkim_sign(&bin, &out, ".ed25519", "ed25519-sha256", MESSAGE);
    assert!(signed_ed.contains("a=ed25519-sha256"), "{signed_ed}");
    assert!(
        dkimpy_verify(&signed_ed, &records),
        "Ed25519 signature does not verify"
    );

    // The alias domain signs under its own name with the target's key.
    let alias_msg = MESSAGE.replace("someone@sign.test", "someone@alias.test");
    let signed_alias = opendkim_sign(&bin, &out, "", "rsa-sha256", &alias_msg);
    assert!(signed_alias.contains("d=alias.test"), "{signed_alias}");
    assert!(dkimpy_verify(&signed_alias, &published(c, a, "alias.test")));

    // Rotation: the new selector signs and verifies; after revoking the old
    // key, its old signatures fail (p= is empty).
    let next = dkim::rotate(c, a, k, &s, "sign.test", Algorithm::Rsa, None).unwrap();
    dkim::activate(c, a, &next.row.id.to_string()).unwrap();
    dkim::export(c, a, k, Signer::Opendkim, &out, None).unwrap();
    let rotated = opendkim_sign(&bin, &out, "", "rsa-sha256", MESSAGE);
    assert!(
        rotated.contains(&format!("s={}", next.row.selector)),
        "{rotated}"
    );
    assert!(dkimpy_verify(&rotated, &published(c, a, "sign.test")));
    assert!(
        dkimpy_verify(&signed, &published(c, a, "sign.test")),
        "retiring key still verifies"
    );
    dkim::revoke(c, a, &s, &rsa_key.row.id.to_string(), true).unwrap();
    assert!(
        !dkimpy_verify(&signed, &published(c, a, "sign.test")),
        "a revoked key verified"
    );
});
