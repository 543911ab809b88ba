//! The role x operation matrix, domain scoping (including case and IDN
//! spellings and alias destinations), and the audit rows every write leaves.

mod common;

use diesel::prelude::*;
use postfix_manager::db::models::AuditLog;
use postfix_manager::db::schema::audit_logs;
use postfix_manager::db::AnyConnection;
use postfix_manager::error::OpError;
use postfix_manager::model::{Perm, Status};
use postfix_manager::ops::{
    self, domains::DomainInput, mailboxes::NewMailbox, Client, ClientKind, Ctx,
};
use postfix_manager::store::{Filter, Page};

const PW: &str = "mailbox-password-1";

fn mb(addr: &str) -> NewMailbox {
    NewMailbox {
        address: addr.into(),
        password: PW.into(),
        quota: Some(10 << 20),
        name: None,
    }
}

struct World {
    admin: Ctx,
    /// role user with mailboxes+aliases on example.com
    scoped: Ctx,
    /// role user with only the domain permission on example.com
    domain_only: Ctx,
    /// role user with no grants
    nogrant: Ctx,
    readonly: Ctx,
}

fn world(c: &mut AnyConnection) -> World {
    let admin = common::admin(c);
    for d in ["example.com", "other.com", "bücher.example"] {
        ops::domains::create(c, &admin, d, &DomainInput::default()).unwrap();
    }
    ops::mailboxes::create(c, &admin, &mb("alice@example.com")).unwrap();
    ops::mailboxes::create(c, &admin, &mb("victim@other.com")).unwrap();
    ops::alias_domains::create(c, &admin, "other.net", "other.com").unwrap();
    let scoped = common::user_with_role(c, &admin, "scoped", "user");
    ops::permissions::grant(
        c,
        &admin,
        "scoped",
        "example.com",
        &[Perm::Mailboxes, Perm::Aliases],
    )
    .unwrap();
    let domain_only = common::user_with_role(c, &admin, "domainonly", "user");
    ops::permissions::grant(c, &admin, "domainonly", "example.com", &[Perm::Domain]).unwrap();
    let nogrant = common::user_with_role(c, &admin, "nogrant", "user");
    let readonly = common::user_with_role(c, &admin, "viewer", "readonly");
    World {
        admin,
        scoped,
        domain_only,
        nogrant,
        readonly,
    }
}

type Op = fn(&mut AnyConnection, &Ctx, &str) -> Result<(), OpError>;

/// (name, operation; `tag` makes each actor's objects unique)
fn operations() -> Vec<(&'static str, Op)> {
    vec![
        ("domain create", |c, a, tag| {
            ops::domains::create(c, a, &format!("new-{tag}.example"), &DomainInput::default())
                .map(drop)
        }),
        ("domain edit description", |c, a, tag| {
            let e = DomainInput {
                description: Some(format!("by {tag}")),
                ..Default::default()
            };
            ops::domains::edit(c, a, "example.com", None, &e).map(drop)
        }),
        ("domain edit quota", |c, a, _| {
            let e = DomainInput {
                quota_limit: Some(50 << 30),
                ..Default::default()
            };
            ops::domains::edit(c, a, "example.com", None, &e).map(drop)
        }),
        ("domain suspend", |c, a, _| {
            ops::domains::set_status(c, a, "other.com", Status::Active).map(drop)
        }),
        ("mailbox create", |c, a, tag| {
            ops::mailboxes::create(c, a, &mb(&format!("{tag}@example.com"))).map(drop)
        }),
        ("mailbox password", |c, a, _| {
            ops::mailboxes::set_password(c, a, "alice@example.com", PW).map(drop)
        }),
        ("mailbox suspend", |c, a, _| {
            ops::mailboxes::set_status(c, a, "alice@example.com", Status::Active).map(drop)
        }),
        ("alias create", |c, a, tag| {
            ops::aliases::create(
                c,
                a,
                &format!("a-{tag}@example.com"),
                "alice@example.com, ext@gmail.example",
                None,
            )
            .map(drop)
        }),
        ("alias domain create", |c, a, tag| {
            ops::alias_domains::create(c, a, &format!("ad-{tag}.example"), "example.com").map(drop)
        }),
        ("user create", |c, a, tag| {
            ops::users::create(
                c,
                a,
                &ops::users::NewUser {
                    username: format!("u-{tag}"),
                    email: format!("u-{tag}@example.net"),
                    role: "user".into(),
                    password: PW.into(),
                },
            )
            .map(drop)
        }),
        ("permission grant", |c, a, _| {
            ops::permissions::grant(c, a, "nogrant", "other.com", &[Perm::Aliases]).map(drop)
        }),
    ]
}

/// Which actors each operation allows, in the order of `operations()`.
fn allowed(op: &str, actor: &str) -> bool {
    match actor {
        "admin" => true,
        "scoped" => matches!(
            op,
            "mailbox create" | "mailbox password" | "mailbox suspend" | "alias create"
        ),
        // Creating an alias domain claims a mail domain name: admins only
        // (issue 14 item 7), whatever the grant.
        "domain_only" => matches!(op, "domain edit description"),
        _ => false,
    }
}

on_both_backends!(role_operation_matrix, |t| {
    let mut c = t.conn();
    let w = world(&mut c);
    let actors = [
        ("admin", &w.admin),
        ("scoped", &w.scoped),
        ("domain_only", &w.domain_only),
        ("nogrant", &w.nogrant),
        ("readonly", &w.readonly),
    ];
    let mut failures = Vec::new();
    for (op_name, op) in operations() {
        for (actor, ctx) in &actors {
            let before = common::snapshot(&mut c);
            let result = op(&mut c, ctx, actor.replace('_', "-").as_str());
            let expect = allowed(op_name, actor);
            match (&result, expect) {
                (Ok(()), true) => {}
                (Err(OpError::Denied(_)) | Err(OpError::NotFound { .. }), false) => {
                    assert_eq!(
                        common::snapshot(&mut c),
                        before,
                        "{actor} / {op_name} refused but changed data"
                    );
                }
                _ => failures.push(format!(
                    "{actor} / {op_name}: expected allowed={expect}, got {result:?}"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "matrix mismatches:\n{}",
        failures.join("\n")
    );
    // every user may change its own password, and only its own
    ops::users::set_password(&mut c, &w.readonly, "viewer", "a-new-password-1").unwrap();
    let err =
        ops::users::set_password(&mut c, &w.readonly, "scoped", "a-new-password-1").unwrap_err();
    assert!(matches!(err, OpError::Denied(_)), "{err:?}");
});

on_both_backends!(scoped_user_stays_in_its_domains, |t| {
    let mut c = t.conn();
    let w = world(&mut c);
    let s = &w.scoped;
    let denied = |r: Result<(), OpError>, what: &str| match r {
        Err(OpError::Denied(_)) | Err(OpError::NotFound { .. }) => {}
        other => panic!("{what}: expected a refusal, got {other:?}"),
    };
    // other spellings of a foreign domain
    denied(
        ops::mailboxes::create(&mut c, s, &mb("x@OTHER.COM")).map(drop),
        "upper-case domain",
    );
    denied(
        ops::mailboxes::create(&mut c, s, &mb("x@other.com.")).map(drop),
        "trailing dot",
    );
    denied(
        ops::mailboxes::create(&mut c, s, &mb("x@BÜCHER.example")).map(drop),
        "IDN unicode",
    );
    denied(
        ops::mailboxes::create(&mut c, s, &mb("x@xn--bcher-kva.example")).map(drop),
        "IDN punycode",
    );
    denied(
        ops::mailboxes::set_password(&mut c, s, "Victim@Other.COM", PW).map(drop),
        "foreign mailbox",
    );
    denied(
        ops::mailboxes::delete(&mut c, s, "victim@other.com").map(drop),
        "foreign delete",
    );
    // through alias destinations: a foreign hosted domain, or an alias domain of one
    denied(
        ops::aliases::create(&mut c, s, "steal@example.com", "victim@other.com", None).map(drop),
        "destination in a foreign domain",
    );
    denied(
        ops::aliases::create(&mut c, s, "steal@example.com", "VICTIM@other.net", None).map(drop),
        "destination in a foreign alias domain",
    );
    ops::aliases::create(
        &mut c,
        s,
        "fwd@example.com",
        "someone@external.example",
        None,
    )
    .unwrap();
    denied(
        ops::aliases::edit(
            &mut c,
            s,
            "fwd@example.com",
            None,
            &ops::aliases::AliasEdit {
                goto: Some("victim@other.com".into()),
                description: None,
            },
        )
        .map(drop),
        "edit destination into a foreign domain",
    );
    denied(
        ops::aliases::create(&mut c, s, "@other.com", "alice@example.com", None).map(drop),
        "foreign catch-all",
    );
    // reads are scoped as well
    let all = ops::mailboxes::list(&mut c, s, &Filter::default(), &Page::default()).unwrap();
    assert!(
        all.iter().all(|m| m.username.ends_with("@example.com")),
        "{all:?}"
    );
    let doms = ops::domains::list(&mut c, s, &Filter::default(), &Page::default()).unwrap();
    assert_eq!(
        doms.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
        vec!["example.com"]
    );
    denied(
        ops::mailboxes::get(&mut c, s, "victim@other.com").map(drop),
        "foreign read",
    );
    let (totals, _) = ops::stats(&mut c, s, &Page::default()).unwrap();
    assert_eq!(totals.total_mailboxes, 1, "stats are scoped too");
    // a revoked grant takes effect on the next operation of an open session
    ops::permissions::revoke(&mut c, &w.admin, "scoped", "example.com").unwrap();
    denied(
        ops::mailboxes::create(&mut c, s, &mb("late@example.com")).map(drop),
        "after revoke",
    );
    // and a suspended account can do nothing, even with a session open
    ops::users::set_status(&mut c, &w.admin, "domainonly", Status::Suspended).unwrap();
    denied(
        ops::domains::edit(
            &mut c,
            &w.domain_only,
            "example.com",
            None,
            &DomainInput {
                description: Some("x".into()),
                ..Default::default()
            },
        )
        .map(drop),
        "suspended user",
    );
});

fn last_audit(c: &mut AnyConnection) -> AuditLog {
    audit_logs::table
        .order(audit_logs::id.desc())
        .select(AuditLog::as_select())
        .first(c)
        .unwrap()
}

on_both_backends!(audit_rows_for_allowed_and_refused_writes, |t| {
    let mut c = t.conn();
    let mut admin = common::admin(&mut c);
    admin.client =
        Client::from_ssh_vars(ClientKind::Tui, Some("203.0.113.7 50022 10.0.0.1 22"), None);
    let d = ops::domains::create(&mut c, &admin, "example.com", &DomainInput::default()).unwrap();
    let row = last_audit(&mut c);
    assert_eq!(row.action, "create");
    assert_eq!(row.resource_type.as_deref(), Some("domain"));
    assert_eq!(row.resource_id, Some(i64::from(d.id)));
    assert_eq!(row.result, "ok");
    assert_eq!(row.user_id, Some(admin.user_id));
    assert_eq!(row.actor.as_deref(), Some("admin"));
    assert_eq!(row.ip_address.as_deref(), Some("203.0.113.7"));
    assert!(
        row.user_agent.as_deref().unwrap_or("").ends_with("(tui)"),
        "{:?}",
        row.user_agent
    );
    assert!(row.details.as_deref().unwrap_or("").contains("\"after\""));

    let m = ops::mailboxes::create(&mut c, &admin, &mb("alice@example.com")).unwrap();
    ops::mailboxes::set_password(&mut c, &admin, "alice@example.com", "another-secret-99").unwrap();
    let row = last_audit(&mut c);
    assert_eq!(
        (row.action.as_str(), row.result.as_str()),
        ("set_password", "ok")
    );

    let e = ops::mailboxes::MailboxEdit {
        quota: Some(20 << 20),
        name: None,
    };
    ops::mailboxes::edit(&mut c, &admin, "alice@example.com", None, &e).unwrap();
    let details: serde_json::Value =
        serde_json::from_str(&last_audit(&mut c).details.unwrap()).unwrap();
    assert_eq!(details["before"]["quota_limit"], 10 << 20);
    assert_eq!(details["after"]["quota_limit"], 20 << 20);

    // a refused write: audited with the error, nothing else written
    let ro = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    let err = ops::mailboxes::delete(&mut c, &ro, "alice@example.com").unwrap_err();
    let row = last_audit(&mut c);
    assert_eq!(
        (row.action.as_str(), row.result.as_str()),
        ("delete", "refused")
    );
    assert_eq!(row.actor.as_deref(), Some("viewer"));
    assert_eq!(row.ip_address.as_deref(), Some("local"));
    assert!(row
        .details
        .unwrap()
        .contains(&err.to_string().replace('"', "\\\"")));
    assert!(ops::mailboxes::get(&mut c, &admin, "alice@example.com").is_ok());

    // failed and unknown logins are audited with one generic answer
    let client = Client::from_env(ClientKind::Cli);
    let e1 = ops::auth::login(
        &mut c,
        "admin",
        "wrong-password-1",
        &client,
        &common::policy(),
    )
    .unwrap_err();
    let r1 = last_audit(&mut c);
    let e2 = ops::auth::login(
        &mut c,
        "nobody",
        "wrong-password-1",
        &client,
        &common::policy(),
    )
    .unwrap_err();
    let r2 = last_audit(&mut c);
    assert_eq!(e1.to_string(), e2.to_string());
    assert_eq!(
        (r1.action.as_str(), r1.result.as_str()),
        ("login", "failed")
    );
    assert_eq!(
        (r2.action.as_str(), r2.result.as_str(), r2.user_id),
        ("login", "refused", None)
    );
    assert_eq!(r2.actor.as_deref(), Some("nobody"));
    let u = postfix_manager::store::users::by_name(&mut c, "admin")
        .unwrap()
        .unwrap();
    assert_eq!(u.failed_logins, 1);

    // no secret ever reaches the audit log
    let all: Vec<Option<String>> = audit_logs::table
        .select(audit_logs::details)
        .load(&mut c)
        .unwrap();
    let text: String = all.into_iter().flatten().collect();
    let hash = ops::mailboxes::get(&mut c, &admin, "alice@example.com")
        .unwrap()
        .password_hash;
    for secret in [
        PW,
        "another-secret-99",
        common::ADMIN_PW,
        hash.as_str(),
        m.password_hash.as_str(),
        "$2y$",
    ] {
        assert!(
            !text.contains(secret),
            "audit details contain a secret: {secret}"
        );
    }
});

#[test]
fn ssh_origin_is_parsed_strictly() {
    let c = Client::from_ssh_vars(ClientKind::Cli, None, Some("2001:db8::1 4711 22"));
    assert_eq!(c.ip, "2001:db8::1");
    let c = Client::from_ssh_vars(ClientKind::Cli, Some("\x1b[2J 1 2 3"), None);
    assert_eq!(c.ip, "local");
    let c = Client::from_ssh_vars(ClientKind::Cli, None, None);
    assert_eq!(c.ip, "local");
}
