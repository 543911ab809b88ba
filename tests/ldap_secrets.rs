//! Bind passwords at rest, on both backends: never stored or audited in
//! clear, bound to their row, refused when tampered with or moved, a key
//! file that others can read is refused, and key rotation re-encrypts
//! everything and keeps the old key. Validation and roles of `ldap` ops.
//! No LDAP server needed: these never connect.

mod common;

use std::os::unix::fs::PermissionsExt;

use diesel::prelude::*;
use postfix_manager::db::schema::{audit_logs, ldap_configs};
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::ops::ldap::{self as ldap_ops, BindPassword, ServerInput};
use postfix_manager::ops::Ctx;
use postfix_manager::secrets::{KeyFile, SecretString};

const PLAIN: &str = "Very-Distinct-Bind-Plaintext-7731";
const PLAIN2: &str = "Another-Bind-Plaintext-9922";

fn keys() -> (tempfile::TempDir, KeyFile) {
    let d = tempfile::tempdir().unwrap();
    let k = KeyFile::new(d.path().join("secret.key"));
    (d, k)
}

fn input(pw: &str) -> ServerInput {
    ServerInput {
        host: Some("127.0.0.1".into()),
        base_dn: Some("dc=example,dc=com".into()),
        bind_dn: Some("cn=reader,dc=example,dc=com".into()),
        bind_password: BindPassword::Set(SecretString::new(pw)),
        ..Default::default()
    }
}

fn stored(c: &mut AnyConnection, name: &str) -> (i32, String) {
    let (id, pw): (i32, Option<String>) = ldap_configs::table
        .filter(ldap_configs::server_name.eq(name))
        .select((ldap_configs::id, ldap_configs::bind_password))
        .first(c)
        .unwrap();
    (id, pw.unwrap())
}

fn decrypted(c: &mut AnyConnection, a: &Ctx, k: &KeyFile, name: &str) -> Result<String, OpError> {
    ldap_ops::prepare_test(c, a, Some(k), name).map(|s| {
        s.bind_password
            .map(|p| p.expose().to_string())
            .unwrap_or_default()
    })
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

on_both_backends!(plaintext_never_reaches_the_database_or_audit, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let (_d, k) = keys();
    let v = ldap_ops::create(&mut c, &a, Some(&k), "Main", &input(PLAIN)).unwrap();
    assert!(v.bind_password_set);
    assert_eq!(v.server_name, "main");
    // edit with a second password, then clear and set again: every path
    ldap_ops::edit(
        &mut c,
        &a,
        Some(&k),
        "main",
        None,
        &ServerInput {
            bind_password: BindPassword::Set(SecretString::new(PLAIN2)),
            ..Default::default()
        },
    )
    .unwrap();
    let (id, sealed) = stored(&mut c, "main");
    assert!(sealed.starts_with("v1:"), "{sealed}");
    assert_eq!(decrypted(&mut c, &a, &k, "main").unwrap(), PLAIN2);
    let view = format!("{:?} {}", v, serde_json::to_string(&v).unwrap());
    assert!(!view.contains(PLAIN) && !view.contains(&sealed));
    // The key file was created private on first need.
    let mode = std::fs::metadata(&k.path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let bytes = common::database_text(t, &mut c, &["ldap_configs", "audit_logs", "users"]);
    assert!(
        t.name == "sqlite" || contains(&bytes, "bind_password"),
        "read the ldap rows"
    );
    assert!(
        !contains(&bytes, PLAIN) && !contains(&bytes, PLAIN2),
        "plaintext in the database"
    );
    assert!(
        contains(&bytes, &sealed[..20]) || t.name == "sqlite",
        "ciphertext is what is stored"
    );
    let details: Vec<Option<String>> = audit_logs::table
        .select(audit_logs::details)
        .load(&mut c)
        .unwrap();
    let audit = details.into_iter().flatten().collect::<Vec<_>>().join("\n");
    assert!(audit.contains("\"bind_password\":\"set\""), "{audit}");
    assert!(!audit.contains(PLAIN) && !audit.contains(PLAIN2) && !audit.contains(&sealed));
    let row: postfix_manager::db::models::LdapConfig = ldap_configs::table
        .find(id)
        .select(postfix_manager::db::models::LdapConfig::as_select())
        .first(&mut c)
        .unwrap();
    assert!(!format!("{row:?}").contains(&sealed));
});

on_both_backends!(tampered_or_moved_ciphertext_is_refused, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let (_d, k) = keys();
    ldap_ops::create(&mut c, &a, Some(&k), "one", &input(PLAIN)).unwrap();
    ldap_ops::create(&mut c, &a, Some(&k), "two", &input(PLAIN2)).unwrap();
    let (id1, s1) = stored(&mut c, "one");
    let (id2, _) = stored(&mut c, "two");
    assert_eq!(decrypted(&mut c, &a, &k, "two").unwrap(), PLAIN2);

    // one's ciphertext copied into two's row does not decrypt there
    diesel::update(ldap_configs::table.find(id2))
        .set(ldap_configs::bind_password.eq(Some(s1.clone())))
        .execute(&mut c)
        .unwrap();
    let e = decrypted(&mut c, &a, &k, "two").unwrap_err();
    assert!(matches!(e, OpError::Secret(_)), "{e}");
    assert!(e.to_string().contains("does not decrypt"), "{e}");

    // one changed character anywhere in the body is refused
    let mut chars: Vec<char> = s1.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    diesel::update(ldap_configs::table.find(id1))
        .set(ldap_configs::bind_password.eq(Some(tampered)))
        .execute(&mut c)
        .unwrap();
    assert!(matches!(
        decrypted(&mut c, &a, &k, "one"),
        Err(OpError::Secret(_))
    ));
    // a plaintext left by another tool is refused, not sent
    diesel::update(ldap_configs::table.find(id1))
        .set(ldap_configs::bind_password.eq(Some(PLAIN.to_string())))
        .execute(&mut c)
        .unwrap();
    let e = decrypted(&mut c, &a, &k, "one").unwrap_err();
    assert!(
        e.to_string().contains("not in a known encrypted format"),
        "{e}"
    );
    // and the refusals were audited
    let n: i64 = audit_logs::table
        .filter(audit_logs::action.eq("test"))
        .filter(audit_logs::result.eq("failed"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(n, 3);
});

on_both_backends!(key_file_open_to_others_is_refused, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let (_d, k) = keys();
    ldap_ops::create(&mut c, &a, Some(&k), "one", &input(PLAIN)).unwrap();
    std::fs::set_permissions(&k.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = decrypted(&mut c, &a, &k, "one").unwrap_err().to_string();
    assert!(
        e.contains("readable or writable by group or others") && e.contains("0644"),
        "{e}"
    );
    // a write that needs the key changes nothing
    let before = common::count(&mut c, "ldap_configs");
    let e = ldap_ops::create(&mut c, &a, Some(&k), "two", &input(PLAIN2)).unwrap_err();
    assert!(matches!(e, OpError::Secret(_)), "{e}");
    assert_eq!(common::count(&mut c, "ldap_configs"), before);
    std::fs::set_permissions(&k.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(decrypted(&mut c, &a, &k, "one").unwrap(), PLAIN);
});

on_both_backends!(rotate_key_reencrypts_and_keeps_the_old_key, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let (d, k) = keys();
    ldap_ops::create(&mut c, &a, Some(&k), "one", &input(PLAIN)).unwrap();
    ldap_ops::create(&mut c, &a, Some(&k), "two", &input(PLAIN2)).unwrap();
    let (_, before1) = stored(&mut c, "one");
    let old_key = std::fs::read(&k.path).unwrap();

    // readonly may not rotate; refused and audited, nothing changed
    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    assert!(matches!(
        ldap_ops::rotate_key(&mut c, &ro, &k),
        Err(OpError::Denied(_))
    ));
    assert_eq!(std::fs::read(&k.path).unwrap(), old_key);
    assert_eq!(stored(&mut c, "one").1, before1);
    assert!(
        !k.sibling("next").exists(),
        "staged key removed after a refusal"
    );

    let r = ldap_ops::rotate_key(&mut c, &a, &k).unwrap();
    assert_eq!(r.secrets_reencrypted, 2);
    let new_key = std::fs::read(&k.path).unwrap();
    assert_ne!(new_key, old_key);
    let backup = std::path::PathBuf::from(r.old_key_backup.unwrap());
    assert_eq!(std::fs::read(&backup).unwrap(), old_key);
    assert_eq!(
        std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_ne!(stored(&mut c, "one").1, before1);
    assert_eq!(decrypted(&mut c, &a, &k, "one").unwrap(), PLAIN);
    assert_eq!(decrypted(&mut c, &a, &k, "two").unwrap(), PLAIN2);
    // the old key no longer opens the new ciphertexts
    let old = KeyFile::new(&backup);
    assert!(matches!(
        decrypted(&mut c, &a, &old, "one"),
        Err(OpError::Secret(_))
    ));
    let files: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
    assert_eq!(files.len(), 2, "key and one backup, no staged file left");
});

fn refused(
    c: &mut AnyConnection,
    field: &str,
    rule: &str,
    f: impl FnOnce(&mut AnyConnection) -> Result<ldap_ops::ServerView, OpError>,
) {
    let before = common::count(c, "ldap_configs");
    let e = f(c).unwrap_err();
    assert_eq!(e.field(), Some(field), "{e}");
    assert!(e.to_string().contains(rule), "{e} should mention {rule:?}");
    assert_eq!(common::count(c, "ldap_configs"), before, "nothing changed");
}

on_both_backends!(bad_input_names_the_field_and_changes_nothing, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let (_d, k) = keys();
    let with = |f: &dyn Fn(&mut ServerInput)| {
        let mut i = input(PLAIN);
        f(&mut i);
        i
    };
    refused(&mut c, "server_name", "letters, digits", |c| {
        ldap_ops::create(c, &a, Some(&k), "bad name", &input(PLAIN))
    });
    refused(&mut c, "host", "neither an IP", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.host = Some("bad host!".into())),
        )
    });
    refused(&mut c, "port", "1-65535", |c| {
        ldap_ops::create(c, &a, Some(&k), "x", &with(&|i| i.port = Some(0)))
    });
    refused(&mut c, "tls_mode", "none, starttls or ldaps", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.tls_mode = Some("tls13".into())),
        )
    });
    refused(&mut c, "ca_file", "only with tls_mode", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.ca_file = Some("/etc/hostname".into())),
        )
    });
    refused(&mut c, "ca_file", "no PEM certificate", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| {
                i.tls_mode = Some("ldaps".into());
                i.ca_file = Some("/etc/hostname".into());
            }),
        )
    });
    refused(&mut c, "base_dn", "is required", |c| {
        ldap_ops::create(c, &a, Some(&k), "x", &with(&|i| i.base_dn = None))
    });
    refused(&mut c, "base_dn", "not a DN", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.base_dn = Some("example.com".into())),
        )
    });
    refused(&mut c, "user_filter", "RFC 4515", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.user_filter = Some("(uid=*".into())),
        )
    });
    refused(&mut c, "user_attribute", "attribute name", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.user_attribute = Some("uid)(x".into())),
        )
    });
    refused(&mut c, "bind_password", "required when bind_dn", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.bind_password = BindPassword::Keep),
        )
    });
    refused(&mut c, "bind_password", "must not be empty", |c| {
        ldap_ops::create(
            c,
            &a,
            Some(&k),
            "x",
            &with(&|i| i.bind_password = BindPassword::Set(SecretString::new(""))),
        )
    });
    ldap_ops::create(&mut c, &a, Some(&k), "main", &input(PLAIN)).unwrap();
    refused(&mut c, "server_name", "already exists", |c| {
        ldap_ops::create(c, &a, Some(&k), "MAIN", &input(PLAIN))
    });
    refused(&mut c, "bind_dn", "required when a bind password", |c| {
        ldap_ops::edit(
            c,
            &a,
            Some(&k),
            "main",
            None,
            &ServerInput {
                bind_dn: Some(String::new()),
                ..Default::default()
            },
        )
    });
    let v = ldap_ops::get(&mut c, &a, "main").unwrap();
    assert_eq!(
        (v.port, v.tls_mode.as_str(), v.use_ssl),
        (389, "none", false)
    );
    // switching to ldaps moves to its port and keeps use_ssl meaningful
    let v = ldap_ops::edit(
        &mut c,
        &a,
        Some(&k),
        "main",
        Some(v.version),
        &ServerInput {
            tls_mode: Some("ldaps".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (v.port, v.tls_mode.as_str(), v.use_ssl),
        (636, "ldaps", true)
    );
    assert!(matches!(
        ldap_ops::edit(
            &mut c,
            &a,
            Some(&k),
            "main",
            Some(1),
            &ServerInput::default()
        ),
        Err(OpError::Conflict(_))
    ));
});

on_both_backends!(roles_decide_who_reads_and_writes, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    let (_d, k) = keys();
    ldap_ops::create(&mut c, &a, Some(&k), "main", &input(PLAIN)).unwrap();
    let ro = common::user_with_role(&mut c, &a, "viewer", "readonly");
    let u = common::user_with_role(&mut c, &a, "scoped", "user");
    assert_eq!(
        ldap_ops::list(&mut c, &ro, &Default::default())
            .unwrap()
            .len(),
        1
    );
    assert!(!ldap_ops::get(&mut c, &ro, "main")
        .unwrap()
        .bind_password_set
        .to_string()
        .is_empty());
    assert!(matches!(
        ldap_ops::list(&mut c, &u, &Default::default()),
        Err(OpError::Denied(_))
    ));
    for who in [&ro, &u] {
        assert!(matches!(
            ldap_ops::create(&mut c, who, Some(&k), "x", &input(PLAIN)),
            Err(OpError::Denied(_))
        ));
        assert!(matches!(
            ldap_ops::delete(&mut c, who, "main"),
            Err(OpError::Denied(_))
        ));
        assert!(matches!(
            ldap_ops::prepare_test(&mut c, who, Some(&k), "main"),
            Err(OpError::Denied(_))
        ));
    }
    let refusals: i64 = audit_logs::table
        .filter(audit_logs::resource_type.eq("ldap_server"))
        .filter(audit_logs::result.eq("refused"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(refusals, 6);
    ldap_ops::delete(&mut c, &a, "main").unwrap();
    assert_eq!(common::count(&mut c, "ldap_configs"), 0);
});
