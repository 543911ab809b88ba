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

/// Every secondary index of the tables a seed loads, and on PostgreSQL
/// their foreign keys: (table, name, definition).
fn secondary_indexes(c: &mut AnyConnection) -> Vec<(String, String, String)> {
    #[derive(QueryableByName)]
    struct Ix {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        def: String,
    }
    let sql = match c {
        AnyConnection::Sqlite(_) => {
            "SELECT tbl_name AS t, name, sql AS def FROM sqlite_master WHERE type = 'index' \
             AND tbl_name IN ('mailboxes', 'aliases', 'audit_logs') AND sql IS NOT NULL ORDER BY name"
        }
        AnyConnection::Postgresql(_) => {
            "SELECT tablename::text AS t, indexname::text AS name, indexdef AS def FROM pg_indexes \
             WHERE tablename IN ('mailboxes', 'aliases', 'audit_logs') AND schemaname = 'public' \
             AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' \
             UNION ALL SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) \
             FROM pg_constraint WHERE contype = 'f' \
             AND conrelid IN ('mailboxes'::regclass, 'aliases'::regclass, 'audit_logs'::regclass) \
             ORDER BY 2"
        }
    };
    diesel::sql_query(sql)
        .load::<Ix>(c)
        .expect("indexes")
        .into_iter()
        .map(|i| (i.t, i.name, i.def))
        .collect()
}

// A seed into an empty database loads the rows first and builds the
// secondary indexes after (one sort each instead of a descent into every
// index per row: 54 s -> 15 s plus the builds for 1M mailboxes on
// PostgreSQL), leaving exactly the indexes the migrations made; a seed next
// to existing data leaves them alone.
on_both_backends!(seed_builds_secondary_indexes_after_the_load, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let before = secondary_indexes(&mut c);
    assert!(before.len() >= 10, "{before:?}");
    let sent = common::statements(&mut c, |c| {
        seed(c, &admin, &opts(3, 500, 30, 200));
    });
    let at = |p: &dyn Fn(&str) -> bool| -> Vec<usize> {
        sent.iter()
            .enumerate()
            .filter(|(_, s)| p(s))
            .map(|(i, _)| i)
            .collect()
    };
    let drops = at(&|s| s.starts_with("DROP INDEX") || s.contains("DROP CONSTRAINT"));
    let creates = at(&|s| s.starts_with("CREATE INDEX") || s.contains("ADD CONSTRAINT"));
    let loads = at(&|s| {
        (s.starts_with("INSERT INTO") || s.starts_with("COPY"))
            && ["mailboxes", "aliases"]
                .iter()
                .any(|t| s.contains(&format!("\"{t}\"")) || s.contains(&format!("`{t}`")))
    });
    // What a failure shows: each statement's start.
    let short: Vec<String> = sent.iter().map(|s| s.chars().take(60).collect()).collect();
    assert_eq!(drops.len(), before.len(), "{short:#?}");
    assert_eq!(creates.len(), before.len(), "{short:#?}");
    assert!(!loads.is_empty(), "{short:#?}");
    let (first_load, last_load) = (loads[0], loads[loads.len() - 1]);
    assert!(drops.iter().all(|i| *i < first_load), "{short:#?}");
    assert!(creates.iter().all(|i| *i > last_load), "{short:#?}");
    assert_eq!(secondary_indexes(&mut c), before);
    if let AnyConnection::Postgresql(_) = c {
        // Vacuumed: index-only scans (quota check's counts) need not visit
        // the heap right after the seed.
        let n = diesel::sql_query(
            "SELECT CAST(relallvisible AS BIGINT) AS n FROM pg_class WHERE relname = 'mailboxes'",
        )
        .get_result::<Mismatch>(&mut c)
        .expect("relallvisible")
        .n;
        assert!(n > 0, "mailboxes not vacuumed after the seed");
    }
    // The indexes serve queries again (the filter by address, the
    // permille order) and the counters hold.
    assert_eq!(quota_mismatches(&mut c), 0);
    assert_eq!(count_mismatches(&mut c), 0);
    assert_eq!(filtered(&mut c, "schmidt"), by_like(&mut c, "schmidt"));

    let mut again = opts(1, 50, 5, 5);
    again.force = true;
    let sent = common::statements(&mut c, |c| {
        seed(c, &admin, &again);
    });
    assert!(
        !sent
            .iter()
            .any(|s| s.contains("DROP INDEX") || s.contains("DROP CONSTRAINT")),
        "a seed next to existing data dropped an index"
    );
    assert_eq!(secondary_indexes(&mut c), before);
    assert_eq!(count_mismatches(&mut c), 0);
    assert_eq!(filtered(&mut c, "schmidt"), by_like(&mut c, "schmidt"));
});
