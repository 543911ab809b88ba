//! `demo seed` leaves a consistent database, and the indexed substring
//! filter returns exactly what LIKE returns, on both backends. No timings
//! here: figures live in docs/performance.md (`postfix-manager bench`).

mod common;

use diesel::prelude::*;
use postfix_manager::db::AnyConnection;
use postfix_manager::ops;
use postfix_manager::ops::demo::SeedOptions;
use postfix_manager::store::{self, Filter, Page};

fn seed(conn: &mut AnyConnection, ctx: &ops::Ctx, o: &SeedOptions) -> ops::demo::SeedReport {
    ops::demo::seed(conn, ctx, o, &mut |_| {}).expect("seed")
}

fn opts(domains: u64, mailboxes: u64, aliases: u64, audit: u64) -> SeedOptions {
    SeedOptions {
        domains,
        mailboxes,
        aliases,
        audit,
        force: false,
    }
}

#[derive(QueryableByName, Debug, PartialEq)]
struct Mismatch {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Domains whose quota_used differs from the sum of their mailboxes' usage.
fn quota_mismatches(conn: &mut AnyConnection) -> i64 {
    diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM domains d WHERE d.quota_used <> \
         (SELECT CAST(COALESCE(SUM(m.quota_used), 0) AS BIGINT) FROM mailboxes m WHERE m.domain_id = d.id)",
    )
    .get_result::<Mismatch>(conn)
    .expect("quota check")
    .n
}

/// Domains whose kept counts (mailboxes, allotted quota, aliases) differ
/// from a recount: the seed's batches (COPY on PostgreSQL) must leave the
/// rollups exactly as row-by-row inserts would.
fn count_mismatches(conn: &mut AnyConnection) -> i64 {
    diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM domains d WHERE \
         d.mailbox_count <> (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = d.id) \
         OR d.mailbox_quota <> (SELECT COALESCE(SUM(m.quota_limit), 0) FROM mailboxes m WHERE m.domain_id = d.id) \
         OR d.alias_count <> (SELECT COUNT(*) FROM aliases a WHERE a.domain_id = d.id)",
    )
    .get_result::<Mismatch>(conn)
    .expect("count check")
    .n
}

/// Domains over any of their limits.
fn limit_violations(conn: &mut AnyConnection) -> i64 {
    diesel::sql_query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM domains d WHERE \
         (d.max_mailboxes > 0 AND (SELECT COUNT(*) FROM mailboxes m WHERE m.domain_id = d.id) > d.max_mailboxes) \
         OR (d.max_aliases > 0 AND (SELECT COUNT(*) FROM aliases a WHERE a.domain_id = d.id) > d.max_aliases) \
         OR (d.quota_limit > 0 AND (SELECT COALESCE(SUM(m.quota_limit), 0) FROM mailboxes m WHERE m.domain_id = d.id) > d.quota_limit) \
         OR (d.quota_limit > 0 AND EXISTS (SELECT 1 FROM mailboxes m WHERE m.domain_id = d.id AND m.quota_limit = 0)) \
         OR (d.max_mailbox_quota > 0 AND EXISTS (SELECT 1 FROM mailboxes m WHERE m.domain_id = d.id AND m.quota_limit > d.max_mailbox_quota)) \
         OR EXISTS (SELECT 1 FROM mailboxes m WHERE m.domain_id = d.id AND (m.quota_used > m.quota_limit OR m.username <> lower(m.username)))",
    )
    .get_result::<Mismatch>(conn)
    .expect("limit check")
    .n
}

on_both_backends!(seed_is_consistent, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let audit_before = common::count(&mut c, "audit_logs");
    let r = seed(&mut c, &admin, &opts(7, 2_345, 321, 2_500));
    assert_eq!(
        (r.domains, r.mailboxes, r.aliases, r.audit),
        (7, 2_345, 321, 2_500)
    );
    assert_eq!(common::count(&mut c, "domains"), 7);
    assert_eq!(common::count(&mut c, "mailboxes"), 2_345);
    assert_eq!(common::count(&mut c, "aliases"), 321);
    // the synthetic history plus one row for the seed itself
    assert_eq!(
        common::count(&mut c, "audit_logs"),
        audit_before + 2_500 + 1
    );
    assert_eq!(quota_mismatches(&mut c), 0);
    assert_eq!(count_mismatches(&mut c), 0);
    assert_eq!(limit_violations(&mut c), 0);
    let report = ops::audit::verify_chain(&mut c).expect("verify");
    assert!(report.ok(), "{:?}", report.problems);
    let last = store::audit::list(&mut c, &Default::default(), 1).expect("audit");
    assert_eq!(last[0].action, "seed");
    assert_eq!(last[0].result, "ok");

    // Not again on a database with domains, unless asked; the refusal
    // names the option, changes nothing and is audited.
    let before = common::snapshot(&mut c);
    let err = ops::demo::seed(&mut c, &admin, &opts(1, 1, 0, 0), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("--yes"), "{err}");
    assert_eq!(common::snapshot(&mut c), before);
    let mut again = opts(2, 10, 2, 5);
    again.force = true;
    let r2 = seed(&mut c, &admin, &again);
    assert!(r2.tag.starts_with('-'), "{r2:?}");
    assert_eq!(common::count(&mut c, "domains"), 9);
    assert_eq!(quota_mismatches(&mut c), 0);
    assert!(ops::audit::verify_chain(&mut c).expect("verify").ok());
});

on_both_backends!(seed_is_admin_only_and_validated, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let ro = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    let before = common::snapshot(&mut c);
    assert!(ops::demo::seed(&mut c, &ro, &opts(1, 1, 0, 0), &mut |_| {}).is_err());
    let err = ops::demo::seed(&mut c, &admin, &opts(0, 5, 0, 0), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("domains"), "{err}");
    assert_eq!(common::snapshot(&mut c), before);
});

/// Every address the filter returns, paging through all of them.
fn filtered(c: &mut AnyConnection, term: &str) -> Vec<String> {
    let f = Filter {
        text: Some(term.to_string()),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut page = Page {
        limit: Some(37),
        ..Default::default()
    };
    loop {
        let rows = store::mailboxes::list(c, None, &f, &page).expect("list");
        let Some(last) = rows.last() else { break };
        page.after = Some(last.username.clone());
        out.extend(rows.into_iter().map(|m| m.username));
    }
    out
}

/// The reference: a plain LIKE scan with the same escaping, over the
/// address and the lower-cased name (what the filter matches).
fn by_like(c: &mut AnyConnection, term: &str) -> Vec<String> {
    use postfix_manager::db::schema::mailboxes;
    let pattern = store::like_pattern(term);
    mailboxes::table
        .filter(
            mailboxes::username
                .like(pattern.clone())
                .escape('\\')
                .or(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("lower(mailboxes.name) LIKE ")
                        .bind::<diesel::sql_types::Text, _>(pattern)
                        .sql(" ESCAPE '\\'"),
                ),
        )
        .order(mailboxes::username.asc())
        .select(mailboxes::username)
        .load(c)
        .expect("like")
}

on_both_backends!(indexed_filter_equals_like, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    // 6,000 rows so that "example" (every row) takes the dense plan and
    // rarer terms the trigram plan.
    seed(&mut c, &admin, &opts(5, 6_000, 0, 0));
    // Addresses with LIKE's wildcards, the FTS quote and a backslash,
    // written directly (address validation would refuse some of them, but
    // the filter must agree with LIKE whatever is in the table).
    use postfix_manager::db::schema::mailboxes;
    let dom: i32 = postfix_manager::db::schema::domains::table
        .select(postfix_manager::db::schema::domains::id)
        .order(postfix_manager::db::schema::domains::id.asc())
        .first(&mut c)
        .expect("domain");
    for addr in [
        "a_b@acme-00000.example",
        "a%b@acme-00000.example",
        "axb@acme-00000.example",
        "q\"uote@acme-00000.example",
        "back\\slash@acme-00000.example",
        "renamed-me@acme-00000.example",
    ] {
        diesel::insert_into(mailboxes::table)
            .values((
                mailboxes::username.eq(addr),
                mailboxes::domain_id.eq(dom),
                mailboxes::password_hash.eq("x"),
                mailboxes::local_part.eq(addr.split('@').next().unwrap_or("")),
            ))
            .execute(&mut c)
            .expect("insert");
    }
    // A name-only match of a dense term ("acme" is in every address, so it
    // takes the ordered walk): found through the name's trigram ids.
    diesel::insert_into(mailboxes::table)
        .values((
            mailboxes::username.eq("zz-name-only@elsewhere.example"),
            mailboxes::domain_id.eq(dom),
            mailboxes::password_hash.eq("x"),
            mailboxes::local_part.eq("zz-name-only"),
            mailboxes::name.eq(Some("ACME Corp")),
        ))
        .execute(&mut c)
        .expect("insert");
    assert!(filtered(&mut c, "acme").contains(&"zz-name-only@elsewhere.example".to_string()));
    // An update and a delete must reach the index through its triggers.
    diesel::update(
        mailboxes::table.filter(mailboxes::username.eq("renamed-me@acme-00000.example")),
    )
    .set(mailboxes::username.eq("moved-on@acme-00000.example"))
    .execute(&mut c)
    .expect("rename");
    ops::mailboxes::delete(&mut c, &admin, "anna.schmidt@acme-00000.example").expect("delete");
    assert!(filtered(&mut c, "renamed").is_empty());
    assert_eq!(
        filtered(&mut c, "moved-on"),
        vec!["moved-on@acme-00000.example"]
    );
    for term in [
        "nagy",
        "ANNA.",
        "a_b",
        "a%b",
        "_",
        "%",
        "a",
        "an",
        "ann",
        "q\"u",
        "\"",
        "back\\",
        "\\",
        "00003.ex",
        "zzz-not-there",
        "rosa.berg@",
        ".example",
        "example",
        "mueller",
        "anna.schmidt@acme-00000",
        // Names ("Anna Schmidt"): a space is in no address.
        "anna schmidt",
        "acme",
        "corp",
        "Rosa B",
        "a s",
    ] {
        assert_eq!(
            filtered(&mut c, term),
            by_like(&mut c, term),
            "term {term:?}"
        );
    }
    // `a_b` matches only the literal underscore, not `axb`.
    let ab = filtered(&mut c, "a_b");
    assert!(!ab.iter().any(|a| a.starts_with("axb")), "{ab:?}");
});
