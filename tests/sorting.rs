//! Lists ordered by a column (used, quota, percent used) page exactly by
//! keyset, forwards and backwards, on both backends, in the store, the CLI
//! and the TUI.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::ops::{self, domains::DomainInput};
use postfix_manager::store::{self, Filter, Page, Sort, SortKey};

fn seed(c: &mut postfix_manager::db::AnyConnection, a: &ops::Ctx) {
    ops::domains::create(
        c,
        a,
        "example.com",
        &DomainInput {
            quota_limit: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    // quota in MiB, used in MiB; ties on purpose (b/c same percent, d/e same quota)
    for (name, quota, used) in [
        ("a", 100, 10),
        ("b", 100, 50),
        ("c", 200, 100),
        ("d", 50, 49),
        ("e", 50, 1),
        ("f", 0, 7),
    ] {
        ops::mailboxes::create(
            c,
            a,
            &ops::mailboxes::NewMailbox {
                address: format!("{name}@example.com"),
                password: "mailbox-password-1".into(),
                quota: Some(quota << 20),
                name: None,
            },
        )
        .unwrap();
        diesel::update(
            mailboxes::table.filter(mailboxes::username.eq(format!("{name}@example.com"))),
        )
        .set(mailboxes::quota_used.eq(used << 20))
        .execute(c)
        .unwrap();
    }
}

fn walk(c: &mut postfix_manager::db::AnyConnection, sort: Sort, backward: bool) -> Vec<String> {
    let f = Filter {
        sort,
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = Page {
            after: after.clone(),
            limit: Some(2),
            backward,
        };
        let rows = store::mailboxes::list(c, None, &f, &page).unwrap();
        if rows.is_empty() {
            break;
        }
        let edge = if backward {
            rows.first().unwrap()
        } else {
            rows.last().unwrap()
        };
        after = Some(sort.cursor(edge.quota_used, edge.quota_limit, &edge.username));
        let names: Vec<String> = rows.iter().map(|m| m.local_part.clone()).collect();
        if backward {
            out.splice(0..0, names);
        } else {
            out.extend(names);
        }
    }
    out
}

on_both_backends!(keyset_pages_follow_every_sort, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    let cases = [
        (
            Sort {
                key: SortKey::Name,
                desc: false,
            },
            vec!["a", "b", "c", "d", "e", "f"],
        ),
        (
            Sort {
                key: SortKey::Name,
                desc: true,
            },
            vec!["f", "e", "d", "c", "b", "a"],
        ),
        (
            Sort {
                key: SortKey::Used,
                desc: true,
            },
            vec!["c", "b", "d", "a", "f", "e"],
        ),
        (
            Sort {
                key: SortKey::Quota,
                desc: false,
            },
            vec!["f", "d", "e", "a", "b", "c"],
        ),
        // 98%, 50% (b, c: tie broken by name), 10%, 2%, no limit last
        (
            Sort {
                key: SortKey::Usage,
                desc: true,
            },
            vec!["d", "c", "b", "a", "e", "f"],
        ),
    ];
    for (sort, expected) in cases {
        assert_eq!(walk(&mut c, sort, false), expected, "{sort:?} forwards");
    }
    // paging backwards from the end gives the same order
    let usage = Sort {
        key: SortKey::Usage,
        desc: true,
    };
    let all = walk(&mut c, usage, false);
    assert_eq!(
        walk(
            &mut c,
            Sort {
                desc: !usage.desc,
                ..usage
            },
            false
        )
        .into_iter()
        .rev()
        .collect::<Vec<_>>(),
        all
    );
});

#[test]
fn cli_sorts_and_pages_by_percent_used() {
    let t = common::TestDb::sqlite();
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), format!("{}\n", common::ADMIN_PW)).unwrap();
    let run = |args: &[&str]| {
        // A home of its own: the login's audit key and checkpoints must not
        // land in the real ~/.config, where `health` tests would read them.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_postfix-manager"))
            .env_remove("POSTFIX_MANAGER_CONFIG")
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join(".config"))
            .env("XDG_DATA_HOME", dir.path().join(".local/share"))
            .args([
                "--database-url",
                &t.url_string(),
                "--user",
                "admin",
                "--password-file",
            ])
            .arg(dir.path().join("pw"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, first, _) = run(&[
        "--json", "mailbox", "list", "--sort", "usage", "--desc", "--limit", "3",
    ]);
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["local_part"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["d", "c", "b"]);
    let next = v["next"].as_str().unwrap().to_string();
    let (_, second, _) = run(&[
        "--json", "mailbox", "list", "--sort", "usage", "--desc", "--limit", "3", "--after", &next,
    ]);
    let v: serde_json::Value = serde_json::from_str(&second).unwrap();
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["local_part"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "e", "f"]);
    let (code, _, err) = run(&["mailbox", "list", "--sort", "size"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("sort: must be name, used, quota or usage"),
        "{err}"
    );
    let (code, _, err) = run(&["alias", "list", "--sort", "usage"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("ordered by name only"), "{err}");
}

#[test]
fn the_tui_sorts_by_column_with_an_indicator() {
    let mut t = tui_common::Tui::new(100, 30);
    let a = t.admin.clone();
    seed(&mut t.conn, &a);
    t.login_admin();
    t.command("mailboxes");
    assert!(t.screen().contains("Address ▲"), "{}", t.screen());
    t.char('o');
    t.settle();
    assert!(t.screen().contains("Used ▼"), "{}", t.screen());
    assert_eq!(t.rows().first().map(String::as_str), Some("c@example.com"));
    t.char('o');
    t.char('o');
    t.settle();
    assert!(t.screen().contains("Usage ▼"), "{}", t.screen());
    assert_eq!(t.rows().first().map(String::as_str), Some("d@example.com"));
    t.char('O');
    t.settle();
    assert!(t.screen().contains("Usage ▲"), "{}", t.screen());
    assert_eq!(t.rows().first().map(String::as_str), Some("f@example.com"));
    t.press(KeyCode::Char('G'));
    t.settle();
    assert_eq!(t.rows().last().map(String::as_str), Some("d@example.com"));
}

on_both_backends!(name_lists_reverse, |t| {
    let mut c = t.conn();
    let a = common::admin(&mut c);
    seed(&mut c, &a);
    for addr in ["x@example.com", "y@example.com", "z@example.com"] {
        ops::aliases::create(&mut c, &a, addr, "a@example.com", None).unwrap();
    }
    let desc = Filter {
        sort: Sort {
            key: SortKey::Name,
            desc: true,
        },
        ..Default::default()
    };
    let first = store::aliases::list(
        &mut c,
        None,
        &desc,
        &Page {
            after: None,
            limit: Some(2),
            backward: false,
        },
    )
    .unwrap();
    assert_eq!(
        first.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(),
        ["z@example.com", "y@example.com"]
    );
    let rest = store::aliases::list(
        &mut c,
        None,
        &desc,
        &Page {
            after: Some("y@example.com".into()),
            limit: Some(2),
            backward: false,
        },
    )
    .unwrap();
    assert_eq!(
        rest.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(),
        ["x@example.com"]
    );
    let users = store::users::list(&mut c, &desc, &Page::default()).unwrap();
    assert_eq!(users.first().map(|u| u.username.as_str()), Some("admin"));
});
