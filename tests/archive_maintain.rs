//! Audit archive (never loses a row; readable back; chain still verifies)
//! and database maintenance, on both backends.

mod common;

use std::io::{Read, Write};

use postfix_manager::ops::{self, domains::DomainInput};

fn history(c: &mut postfix_manager::db::AnyConnection) -> ops::Ctx {
    let admin = common::admin(c);
    for d in ["a.example", "b.example", "c.example"] {
        ops::domains::create(c, &admin, d, &DomainInput::default()).unwrap();
    }
    admin
}

on_both_backends!(archive_moves_old_rows_into_a_verified_file, |t| {
    let mut c = t.conn();
    let admin = history(&mut c);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = chrono::Utc::now().naive_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ops::domains::create(&mut c, &admin, "d.example", &DomainInput::default()).unwrap();
    let total = common::count(&mut c, "audit_logs");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit-2026.jsonl.gz");

    let r = ops::audit_archive::archive(&mut c, &admin, cut, &out).unwrap();
    assert!(r.rows > 0);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // every row is either in the file or still in the table (plus the archive's own row)
    assert_eq!(common::count(&mut c, "audit_logs"), total - r.rows + 1);
    let back = ops::audit_archive::read(&out, admin.policy.audit.as_ref()).unwrap();
    assert!(back.problems.is_empty(), "{:?}", back.problems);
    assert_eq!(back.rows.len() as i64, r.rows);
    assert_eq!(back.rows.first().map(|x| x.id), Some(1));
    assert!(back
        .rows
        .iter()
        .any(|x| x.details.as_deref().unwrap_or("").contains("a.example")));
    let v = ops::audit::verify(&mut c, &admin).unwrap();
    assert!(v.ok(), "{v:?}");
    assert_eq!(
        v.first_id,
        Some(r.last_id.unwrap() + 1),
        "the table continues where the file ends"
    );

    // never overwritten; nothing older: no file
    assert!(ops::audit_archive::archive(&mut c, &admin, cut, &out).is_err());
    let none =
        ops::audit_archive::archive(&mut c, &admin, cut, &dir.path().join("empty.gz")).unwrap();
    assert_eq!(none.rows, 0);
    assert!(!dir.path().join("empty.gz").exists());

    // a tampered archive is reported when read back
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&out).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let forged = text.replacen("a.example", "z.example", 1);
    let bad = dir.path().join("forged.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&bad).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(forged.as_bytes()).unwrap();
    gz.finish().unwrap();
    let back = ops::audit_archive::read(&bad, admin.policy.audit.as_ref()).unwrap();
    assert!(
        back.problems.iter().any(|p| p.contains("altered")),
        "{:?}",
        back.problems
    );

    // only admins archive
    let ro = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    let later = chrono::Utc::now().naive_utc();
    assert!(ops::audit_archive::archive(&mut c, &ro, later, &dir.path().join("ro.gz")).is_err());
});

on_both_backends!(maintenance_runs_and_is_audited, |t| {
    let mut c = t.conn();
    let admin = history(&mut c);
    let mut seen = Vec::new();
    let r = ops::maintenance::maintain(&mut c, &admin, &t.url, true, &mut |s: &str| {
        seen.push(s.to_string())
    })
    .unwrap();
    assert_eq!(seen, r.steps);
    if t.name == "sqlite" {
        assert!(r.steps.iter().any(|s| s.starts_with("VACUUM")));
        assert!(r.size_before.is_some() && r.size_after.is_some());
    } else {
        assert!(r.tables_after.iter().any(|s| s.table == "mailboxes"));
        assert!(r
            .steps
            .iter()
            .any(|s| s.contains("VACUUM (ANALYZE) audit_logs")));
    }
    use diesel::prelude::*;
    use postfix_manager::db::schema::audit_logs;
    let n: i64 = audit_logs::table
        .filter(audit_logs::action.eq("maintain"))
        .count()
        .get_result(&mut c)
        .unwrap();
    assert_eq!(n, 1);
    let ro = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    assert!(ops::maintenance::maintain(&mut c, &ro, &t.url, false, &mut |_: &str| {}).is_err());
});
