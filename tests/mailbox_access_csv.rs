//! Mailbox protocol switches in CSV (issue 19): exported as
//! `imap,pop3,smtp,sieve` yes/no columns, imported back to the same
//! switches on another database; a file without the columns imports with
//! every protocol on; a bad value names its line and column.

mod common;

use postfix_manager::csvio;
use postfix_manager::db::AnyConnection;
use postfix_manager::ops::{self, Ctx};
use postfix_manager::store::Filter;

fn switches(c: &mut AnyConnection, ctx: &Ctx, addr: &str) -> (bool, bool, bool, bool) {
    let m = ops::mailboxes::get(c, ctx, addr).expect("mailbox");
    (
        m.imap_enabled,
        m.pop3_enabled,
        m.smtp_enabled,
        m.sieve_enabled,
    )
}

fn import(c: &mut AnyConnection, ctx: &Ctx, csv: &[u8]) -> Result<(), String> {
    let (rows, access) =
        csvio::parse_mailboxes_access(csv, 12, 4, &|_, _| {}).map_err(|e| e.to_string())?;
    ops::import::mailboxes_with_access(c, ctx, &rows, &access, false, &mut |_, _| {})
        .map(|_| ())
        .map_err(|e| e.to_string())
}

on_both_backends!(protocol_switches_round_trip_through_csv, |t| {
    let mut c = t.conn();
    let admin = common::admin(&mut c);
    ops::domains::create(&mut c, &admin, "a.test", &Default::default()).unwrap();
    for (addr, access) in [
        ("all@a.test", ops::mailboxes::Access::default()),
        (
            "noimap@a.test",
            ops::mailboxes::Access {
                imap: Some(false),
                ..Default::default()
            },
        ),
        (
            "smtponly@a.test",
            ops::mailboxes::Access {
                imap: Some(false),
                pop3: Some(false),
                sieve: Some(false),
                ..Default::default()
            },
        ),
    ] {
        ops::mailboxes::create(
            &mut c,
            &admin,
            &ops::mailboxes::NewMailbox {
                address: addr.into(),
                password: "mailbox-password-1".into(),
                quota: None,
                name: None,
            },
        )
        .unwrap();
        ops::mailboxes::edit_with_access(&mut c, &admin, addr, None, &Default::default(), &access)
            .unwrap();
    }
    let mut out = Vec::new();
    csvio::export_mailboxes(&mut c, &admin, &Filter::default(), true, &mut out).unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(
        text.starts_with("address,password,quota,name,status,imap,pop3,smtp,sieve\n"),
        "{text}"
    );
    assert!(
        text.contains("noimap@a.test,") && text.contains(",no,yes,yes,yes"),
        "{text}"
    );

    // Into an empty database of the same backend.
    let other = match t.name {
        "sqlite" => common::TestDb::sqlite(),
        _ => common::TestDb::postgres().unwrap(),
    };
    let mut c2 = other.conn();
    let admin2 = common::admin(&mut c2);
    ops::domains::create(&mut c2, &admin2, "a.test", &Default::default()).unwrap();
    import(&mut c2, &admin2, &out).expect("import the export");
    for addr in ["all@a.test", "noimap@a.test", "smtponly@a.test"] {
        assert_eq!(
            switches(&mut c2, &admin2, addr),
            switches(&mut c, &admin, addr),
            "{addr}"
        );
    }
    assert_eq!(
        switches(&mut c2, &admin2, "smtponly@a.test"),
        (false, false, true, false)
    );

    // An older file without the columns: every protocol on.
    import(
        &mut c2,
        &admin2,
        b"address,password,quota,name,status\nold@a.test,mailbox-password-1,,,\n",
    )
    .unwrap();
    assert_eq!(
        switches(&mut c2, &admin2, "old@a.test"),
        (true, true, true, true)
    );
    // Only some of them, any order, other spellings.
    import(
        &mut c2,
        &admin2,
        b"sieve,address,password,quota,name,status,pop3\noff,part@a.test,mailbox-password-1,,,,FALSE\n",
    )
    .unwrap();
    assert_eq!(
        switches(&mut c2, &admin2, "part@a.test"),
        (true, false, true, false)
    );
    // A bad value: the line and the column, nothing imported.
    let before = common::count(&mut c2, "mailboxes");
    let e = import(
        &mut c2,
        &admin2,
        b"address,password,quota,name,status,imap\nx@a.test,mailbox-password-1,,,,maybe\n",
    )
    .unwrap_err();
    assert!(e.contains("line 2") && e.contains("imap"), "{e}");
    assert_eq!(common::count(&mut c2, "mailboxes"), before);
});
