//! Issue 16: which later tables a database has (the audit chain key,
//! second factors) is read once, when a session logs in
//! (`db::migrate::Tables`); an audited write asks no catalog. Before, each
//! write probed `sqlite_master` / `pg_tables` up to three times (the audit
//! key table twice, the second-factor table once through `Principal::load`).

mod common;

use postfix_manager::ops;

fn probes(sent: &[String]) -> Vec<&String> {
    sent.iter()
        .filter(|q| q.contains("sqlite_master") || q.contains("pg_tables"))
        .collect()
}

on_both_backends!(audited_writes_ask_no_catalog, |t| {
    let mut c = t.conn();
    common::admin(&mut c);
    let dir = tempfile::tempdir().unwrap();
    // Keyed (an audit key), with second factors required of users: every
    // path that used to probe is on.
    let mut ctx = common::login_as_cli(&mut c, dir.path(), "admin", common::ADMIN_PW);
    ctx.policy.require_totp = vec![postfix_manager::model::Role::User];
    let sent = common::statements(&mut c, |c| {
        ops::domains::create(c, &ctx, "probe.example", &Default::default()).unwrap();
        ops::aliases::create(c, &ctx, "a@probe.example", "x@elsewhere.example", None).unwrap();
        ops::aliases::delete(c, &ctx, "a@probe.example").unwrap();
    });
    assert!(sent.len() > 6, "{sent:?}");
    assert_eq!(probes(&sent), Vec::<&String>::new());
    // The chain was keyed by those writes and verifies.
    let report = ops::audit::verify_with(&mut c, ctx.policy.audit.as_ref(), None).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(ops::audit::keyed_from(&mut c).unwrap().is_some());
});

// The login is where the schema is read: one catalog query.
on_both_backends!(a_login_reads_the_schema_once, |t| {
    let mut c = t.conn();
    common::admin(&mut c);
    let sent = common::statements(&mut c, |c| {
        postfix_manager::db::migrate::Tables::read(c).unwrap();
    });
    assert_eq!(probes(&sent).len(), 1, "{sent:?}");
    assert_eq!(
        postfix_manager::db::migrate::Tables::read(&mut c).unwrap(),
        postfix_manager::db::migrate::Tables::CURRENT
    );
});
