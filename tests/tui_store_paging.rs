//! The keyset paging the TUI relies on, on both backends: backward pages
//! (PgUp, `G`) return the rows just before the cursor, in list order.

mod common;

use diesel::connection::SimpleConnection;
use postfix_manager::model::Perm;
use postfix_manager::ops::{self, domains::DomainInput};
use postfix_manager::store::{self, Filter, Page};

fn page(after: Option<&str>, limit: i64, backward: bool) -> Page {
    Page {
        after: after.map(str::to_string),
        limit: Some(limit),
        backward,
    }
}

on_both_backends!(backward_pages_end_at_the_cursor, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    for i in 0..7 {
        ops::domains::create(
            &mut c,
            &admin,
            &format!("d{i}.example"),
            &DomainInput::default(),
        )
        .expect("domain");
    }
    let names = |v: Vec<postfix_manager::db::models::Domain>| -> Vec<String> {
        v.into_iter().map(|d| d.name).collect()
    };
    let f = Filter::default();
    let fwd = store::domains::list(&mut c, None, &f, &page(Some("d2.example"), 3, false));
    assert_eq!(
        names(fwd.expect("fwd")),
        ["d3.example", "d4.example", "d5.example"]
    );
    let back = store::domains::list(&mut c, None, &f, &page(Some("d5.example"), 3, true));
    assert_eq!(
        names(back.expect("back")),
        ["d2.example", "d3.example", "d4.example"]
    );
    let last = store::domains::list(&mut c, None, &f, &page(None, 3, true));
    assert_eq!(
        names(last.expect("last")),
        ["d4.example", "d5.example", "d6.example"]
    );
    let start = store::domains::list(&mut c, None, &f, &page(Some("d1.example"), 3, true));
    assert_eq!(names(start.expect("start")), ["d0.example"]);

    // Grants: a two-column key.
    for u in ["u1", "u2"] {
        common::user_with_role(&mut c, &admin, u, "user");
        for d in ["d0.example", "d1.example"] {
            ops::permissions::grant(&mut c, &admin, u, d, &[Perm::Mailboxes]).expect("grant");
        }
    }
    let keys = |v: Vec<store::permissions::Grant>| -> Vec<String> {
        v.into_iter()
            .map(|g| format!("{}/{}", g.username, g.domain))
            .collect()
    };
    let back = store::permissions::list(&mut c, None, None, &page(Some("u2/d1.example"), 2, true));
    assert_eq!(
        keys(back.expect("grants")),
        ["u1/d1.example", "u2/d0.example"]
    );

    // The audit log is newest first: "after" is an older id.
    let newest = store::audit::page(&mut c, None, &page(None, 2, false)).expect("audit");
    let top = newest[0].id;
    assert!(newest[0].id > newest[1].id);
    let older = store::audit::page(
        &mut c,
        None,
        &page(Some(&newest[1].id.to_string()), 2, false),
    )
    .expect("older");
    assert!(older.iter().all(|a| a.id < newest[1].id));
    let back = store::audit::page(&mut c, None, &page(Some(&older[0].id.to_string()), 2, true))
        .expect("back");
    assert_eq!(
        back.iter().map(|a| a.id).collect::<Vec<_>>(),
        [top, top - 1]
    );
    let tail = store::audit::newer_than(&mut c, None, top - 3, 2).expect("tail");
    assert_eq!(
        tail.iter().map(|a| a.id).collect::<Vec<_>>(),
        [top, top - 1]
    );
});

on_both_backends!(server_rows_list_by_id_with_a_text_filter, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    let bool_true = if t.name == "sqlite" { "1" } else { "TRUE" };
    c.batch_execute(&format!(
        "INSERT INTO mail_server_configs (service_name, config_file, config_data, is_active, created_at, updated_at, version)
           VALUES ('postfix', '/etc/postfix/main.cf', 'x', {bool_true}, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1),
                  ('Dovecot', '/etc/dovecot/dovecot-sql.conf.ext', 'y', {bool_true}, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1);"
    ))
    .expect("rows");
    let all = ops::mail_configs::page(&mut c, &admin, None, &Page::default()).expect("list");
    assert_eq!(all.len(), 2);
    let dove =
        ops::mail_configs::page(&mut c, &admin, Some("dove"), &Page::default()).expect("filtered");
    assert_eq!(dove.len(), 1, "case-insensitive");
    let after = ops::mail_configs::page(
        &mut c,
        &admin,
        None,
        &page(Some(&all[0].id.to_string()), 5, false),
    )
    .expect("after");
    assert_eq!(after.len(), 1);
    let scoped = common::user_with_role(&mut c, &admin, "scoped", "user");
    assert!(ops::ldap::page(&mut c, &scoped, None, &Page::default()).is_err());
    // config files can hold credentials: readonly users may not read them
    let viewer = common::user_with_role(&mut c, &admin, "viewer", "readonly");
    assert!(ops::mail_configs::page(&mut c, &viewer, None, &Page::default()).is_err());
    assert!(ops::ldap::page(&mut c, &viewer, None, &Page::default()).is_ok());
});
