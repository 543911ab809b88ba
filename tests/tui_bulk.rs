//! Marks and bulk actions in the TUI, through the real worker and ops:
//! Space, a range, every row matching the filter across pages, the marked
//! count on screen, and a preview dialog that starts on No.

mod common;
mod tui_common;

use crossterm::event::KeyCode;
use diesel::prelude::*;
use postfix_manager::db::schema::mailboxes;
use postfix_manager::model::{Perm, Status};
use postfix_manager::ops::{self, domains::DomainInput, import};
use tui_common::Tui;

fn fixture(t: &mut Tui, n: usize) {
    for d in ["a.example", "b.example"] {
        ops::domains::create(
            &mut t.conn,
            &t.admin,
            d,
            &DomainInput {
                quota_limit: Some(0),
                ..Default::default()
            },
        )
        .expect("domain");
    }
    let hash = postfix_manager::password::hash_mailbox("mailbox-password-1", 4).expect("hash");
    let rows: Vec<import::MailboxRow> = (0..n)
        .map(|i| import::MailboxRow {
            line: i as u64 + 2,
            address: format!(
                "u{i:03}@{}",
                if i % 2 == 0 { "a.example" } else { "b.example" }
            ),
            password_hash: hash.clone(),
            quota: Some(1 << 20),
            name: None,
            status: Status::Active,
        })
        .collect();
    import::mailboxes(&mut t.conn, &t.admin, &rows, false, &mut |_, _| {}).expect("import");
}

fn suspended(t: &mut Tui) -> i64 {
    mailboxes::table
        .filter(mailboxes::status.eq("suspended"))
        .count()
        .get_result(&mut t.conn)
        .expect("count")
}

#[test]
fn space_and_range_marks_then_bulk_suspend_with_a_preview_that_starts_on_no() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 40);
    t.login_admin();
    t.command("mailboxes");
    t.char(' ');
    t.char('j');
    t.char('j');
    t.char('v'); // rows 0..=2
    assert!(t.screen().contains("3 marked"), "{}", t.screen());
    assert!(t.screen().contains("* u000@a.example"), "{}", t.screen());
    // The count stays visible on another page.
    t.press(KeyCode::PageDown);
    assert!(t.screen().contains("3 marked"));

    t.char('S');
    let screen = t.screen();
    assert!(
        screen.contains("Suspend 3 mailboxes in 2 domains?"),
        "{screen}"
    );
    assert!(screen.contains("Confirm suspend"), "{screen}");
    // Enter on the default (No) changes nothing.
    t.enter();
    assert_eq!(suspended(&mut t), 0);
    assert!(t.screen().contains("3 marked"));

    t.char('S');
    t.press(KeyCode::Right);
    t.enter();
    assert_eq!(suspended(&mut t), 3);
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(
        !failed && msg.contains("suspend 3 mailboxes in 2 domains"),
        "{msg}"
    );
    assert!(
        !t.screen().contains("marked"),
        "marks cleared after the action"
    );
}

#[test]
fn star_marks_every_row_matching_the_filter_across_pages() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 60);
    t.login_admin();
    t.command("mailboxes");
    t.char('/');
    t.text("b.example");
    t.enter();
    t.char('*');
    // 30 rows match, more than one page of the 80x24 screen.
    assert!(t.screen().contains("30 marked"), "{}", t.screen());
    t.char('D');
    assert!(
        t.screen().contains("Delete 30 mailboxes in 1 domain?"),
        "{}",
        t.screen()
    );
    t.press(KeyCode::Right);
    t.enter();
    let left: i64 = mailboxes::table
        .count()
        .get_result(&mut t.conn)
        .expect("count");
    assert_eq!(left, 30);
    t.char('u');
    assert!(!t.screen().contains("marked"));
}

#[test]
fn a_scoped_user_marking_a_forbidden_row_is_refused_and_told_which() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 4);
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "carol", "user");
    ops::permissions::grant(
        &mut t.conn,
        &admin,
        "carol",
        "a.example",
        &[Perm::Mailboxes],
    )
    .expect("grant");
    ops::permissions::grant(&mut t.conn, &admin, "carol", "b.example", &[Perm::Aliases])
        .expect("grant");
    t.login("carol", "carol-password-1");
    t.command("mailboxes");
    t.char(' ');
    t.char('j');
    t.char(' ');
    t.char('S');
    let screen = t.screen();
    assert!(screen.contains("u001@b.example"), "{screen}");
    assert!(screen.contains("permission denied"), "{screen}");
    t.esc();
    assert_eq!(suspended(&mut t), 0);
}

fn quotas(t: &mut Tui) -> Vec<(String, i64)> {
    mailboxes::table
        .select((mailboxes::username, mailboxes::quota_limit))
        .order(mailboxes::username)
        .load(&mut t.conn)
        .expect("quotas")
}

fn audit_count(t: &mut Tui, action: &str) -> i64 {
    use postfix_manager::db::schema::audit_logs;
    audit_logs::table
        .filter(audit_logs::action.eq(action))
        .count()
        .get_result(&mut t.conn)
        .expect("audit count")
}

#[test]
fn q_sets_one_quota_on_every_marked_mailbox_after_a_form_and_a_preview() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 6);
    t.login_admin();
    t.command("mailboxes");
    t.char(' ');
    t.char('j');
    t.char('j');
    t.char('v'); // u000, u001, u002
    t.char('Q');
    assert!(
        t.screen().contains("Set the quota of 3 marked mailboxes"),
        "{}",
        t.screen()
    );
    // A bad size is refused on its field and sends nothing.
    t.text("lots");
    t.enter();
    assert!(t.screen().contains("quota"), "{}", t.screen());
    assert_eq!(quotas(&mut t)[0].1, 1 << 20);
    t.clear_field();
    t.text("2G");
    t.enter();
    let screen = t.screen();
    assert!(
        screen.contains("Set quota of 3 mailboxes in 2 domains"),
        "{screen}"
    );
    assert!(screen.contains("Confirm set quota"), "{screen}");
    // No is the default: nothing changes.
    t.enter();
    assert!(quotas(&mut t).iter().all(|(_, q)| *q == 1 << 20));
    assert_eq!(t.app.status.clone().expect("status").0, "Nothing changed.");

    t.char('Q');
    t.text("2G");
    t.enter();
    t.press(KeyCode::Right);
    t.enter();
    let q = quotas(&mut t);
    let two_g = 2i64 << 30;
    assert_eq!(q.iter().filter(|(_, v)| *v == two_g).count(), 3, "{q:?}");
    for a in ["u000@a.example", "u001@b.example", "u002@a.example"] {
        assert!(q.contains(&(a.to_string(), two_g)), "{a}: {q:?}");
    }
    // One summary row and one row per mailbox.
    assert_eq!(audit_count(&mut t, "bulk_update"), 1);
    assert!(audit_count(&mut t, "update") >= 3);
}

#[test]
fn domain_limits_grant_and_revoke_on_marked_domains() {
    use postfix_manager::db::schema::{domains, user_domains};
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 2);
    let admin = t.admin.clone();
    common::user_with_role(&mut t.conn, &admin, "dora", "user");
    t.login_admin();
    t.command("domains");
    t.char('*');
    assert!(t.screen().contains("2 marked"), "{}", t.screen());

    // Limits: only the filled fields change; an all-empty form is refused.
    t.char('L');
    t.enter();
    assert!(t.screen().contains("at least one limit"), "{}", t.screen());
    t.tab();
    t.text("250");
    t.enter();
    assert!(
        t.screen().contains("Set limits of 2 domains"),
        "{}",
        t.screen()
    );
    t.press(KeyCode::Right);
    t.enter();
    let limits: Vec<(i32, i64)> = domains::table
        .select((domains::max_mailboxes, domains::quota_limit))
        .load(&mut t.conn)
        .expect("domains");
    assert_eq!(limits, vec![(250, 0), (250, 0)], "quota kept, max set");

    // Marks are cleared by an action: mark again, then grant.
    t.char('*');
    t.char('P');
    t.text("dora");
    t.tab();
    t.clear_field();
    t.text("mailboxes");
    t.enter();
    t.press(KeyCode::Right);
    t.enter();
    let granted: i64 = user_domains::table
        .count()
        .get_result(&mut t.conn)
        .expect("grants");
    assert_eq!(granted, 2, "{:?}", t.app.status);

    t.char('*');
    t.char('R');
    t.text("dora");
    t.enter();
    assert!(t.screen().contains("Confirm revoke"), "{}", t.screen());
    t.press(KeyCode::Right);
    t.enter();
    let left: i64 = user_domains::table
        .count()
        .get_result(&mut t.conn)
        .expect("grants");
    assert_eq!(left, 0, "{:?}", t.app.status);
}

#[test]
fn editor_round_trip_shows_the_changes_and_applies_them_in_one_go() {
    use postfix_manager::tui::app::EditorJob;
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 4);
    t.login_admin();
    t.command("mailboxes");
    t.char(' ');
    t.char('j');
    t.char(' ');
    t.char('E');
    let Some(EditorJob::Rows(sheet, None)) = t.app.take_editor() else {
        panic!("a mailbox editor job: {:?}", t.app.status)
    };
    assert_eq!(sheet.len(), 2);
    let text = sheet.text();

    // A bad line: reported with its number, nothing changes.
    let bad = text.replace("u001@b.example\t1048576", "u001@b.example\tbig");
    t.app.edited_rows((*sheet).clone(), Ok(bad.clone()));
    let screen = t.screen();
    assert!(screen.contains("line 5"), "{screen}");
    assert!(screen.contains("Nothing changed"), "{screen}");
    t.esc();
    assert!(quotas(&mut t).iter().all(|(_, q)| *q == 1 << 20));
    // E again reopens the admin's own text, the reasons appended as
    // comments, not a fresh copy from the database.
    t.char('E');
    let Some(EditorJob::Rows(_, Some(draft))) = t.app.take_editor() else {
        panic!("the draft again: {:?}", t.app.status)
    };
    assert!(draft.starts_with(&bad), "{draft}");
    assert!(draft.contains("\n# line 5: quota"), "{draft}");
    // Comments only: fixing the line is all it takes.
    assert_eq!(
        sheet
            .diff(&draft.replace("\tbig\t", "\t1048576\t"))
            .unwrap(),
        vec![]
    );

    // A good edit: the dialog lists the change, Yes applies it.
    let good = text
        .replace("u001@b.example\t1048576\t", "u001@b.example\t3G\tUrsula\t")
        .replace("Ursula\t\t", "Ursula\t");
    t.app.edited_rows(*sheet, Ok(good));
    let screen = t.screen();
    assert!(screen.contains("1 mailbox changed"), "{screen}");
    assert!(screen.contains("quota: 1048576 -> 3221225472"), "{screen}");
    assert!(screen.contains("name: \"\" -> \"Ursula\""), "{screen}");
    t.press(KeyCode::Right);
    t.enter();
    let q = quotas(&mut t);
    assert!(q.contains(&("u001@b.example".into(), 3 << 30)), "{q:?}");
    assert!(q.contains(&("u000@a.example".into(), 1 << 20)), "{q:?}");
    let name: Option<String> = mailboxes::table
        .filter(mailboxes::username.eq("u001@b.example"))
        .select(mailboxes::name)
        .first(&mut t.conn)
        .expect("name");
    assert_eq!(name.as_deref(), Some("Ursula"));
}

#[test]
fn csv_import_and_export_from_the_command_line() {
    let mut t = Tui::new(80, 24);
    fixture(&mut t, 3);
    t.login_admin();
    t.command("mailboxes");
    let dir = tempfile::tempdir().expect("tempdir");

    // Export what the screen lists into a new file.
    let out = dir.path().join("all.csv");
    t.command(&format!("export {}", out.display()));
    assert!(
        t.screen().contains("Export mailboxes to CSV"),
        "{}",
        t.screen()
    );
    t.enter();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(!failed && msg.contains("exported 3 mailboxes"), "{msg}");
    let csv = std::fs::read_to_string(&out).expect("export");
    assert!(
        csv.starts_with("address,password,quota,name,status,imap,pop3,smtp,sieve\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4);
    // The hashes stay out unless the admin answers yes (issue 14 item 6).
    assert!(!csv.contains("{BLF-CRYPT}"), "{csv}");
    let hashed = dir.path().join("hashed.csv");
    t.command(&format!("export {}", hashed.display()));
    assert!(t.screen().contains("Password hashes"), "{}", t.screen());
    t.tab();
    t.clear_field();
    t.text("yes");
    t.enter();
    let text = std::fs::read_to_string(&hashed).expect("export");
    assert_eq!(text.matches("{BLF-CRYPT}$2").count(), 3, "{text}");
    // An existing file is never overwritten.
    t.command(&format!("export {}", out.display()));
    t.enter();
    assert!(
        t.screen().contains("exists; an export never"),
        "{}",
        t.screen()
    );
    t.esc();
    assert_eq!(std::fs::read_to_string(&out).expect("export"), csv);

    // An import with bad lines names each and changes nothing.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "address,password,quota,name,status\n\
         new1@a.example,a-long-password-1,1G,,active\n\
         not-an-address,a-long-password-1,1G,,active\n\
         new2@a.example,short,1G,,active\n",
    )
    .expect("write");
    t.command(&format!("import {}", bad.display()));
    t.enter();
    let screen = t.screen();
    assert!(screen.contains("line 3"), "{screen}");
    assert!(screen.contains("line 4"), "{screen}");
    assert!(screen.contains("nothing was changed"), "{screen}");
    t.esc();
    assert_eq!(quotas(&mut t).len(), 3);

    // A good file: a dry run changes nothing, the real run adds both.
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "address,password,quota,name,status\n\
         new1@a.example,a-long-password-1,1G,,active\n\
         new2@b.example,a-long-password-2,1G,,suspended\n",
    )
    .expect("write");
    t.command(&format!("import {}", good.display()));
    t.tab();
    t.clear_field();
    t.text("yes");
    t.enter();
    let (msg, _) = t.app.status.clone().expect("status");
    assert!(msg.contains("dry run, nothing changed"), "{msg}");
    assert_eq!(quotas(&mut t).len(), 3);
    t.command(&format!("import {}", good.display()));
    t.enter();
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(!failed && msg.contains("done: import 2 mailboxes"), "{msg}");
    assert_eq!(quotas(&mut t).len(), 5);
}

#[test]
fn import_and_export_need_a_table_screen_with_csv() {
    let mut t = Tui::new(80, 24);
    t.login_admin();
    t.command("import");
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(
        failed && msg.contains("open the domains, mailboxes or aliases screen"),
        "{msg}"
    );
    t.command("users");
    t.command("export");
    let (msg, failed) = t.app.status.clone().expect("status");
    assert!(failed && msg.contains("no CSV form"), "{msg}");
}

#[test]
fn the_progress_line_has_a_bar_a_rate_and_the_time_left() {
    use postfix_manager::csvfile::{Progress, Unit};
    let line = Progress {
        stage: "importing mailboxes",
        done: 40_000,
        total: Some(100_000),
        unit: Unit::Rows,
        elapsed_ms: 2000,
    }
    .line();
    assert_eq!(
        line,
        "importing mailboxes [########............] 40% 40,000/100,000 · 20,000/s · 3 s left"
    );
}

/// `:export ~/…` lands in the home directory, and a bad path is said in
/// words naming the path, never `(os error N) at path "<cwd>/~/…"`.
fn export_paths_expand_tilde_and_say_what_is_wrong(mut t: Tui) {
    fixture(&mut t, 3);
    t.login_admin();
    t.command("mailboxes");
    let home = std::path::PathBuf::from(std::env::var("HOME").expect("HOME"));
    let dir = tempfile::tempdir().expect("tempdir");
    // Unique per run and backend: tests run in parallel.
    let name = format!(
        ".pm-export-test-{}.csv",
        dir.path().file_name().expect("name").to_string_lossy()
    );
    let target = home.join(&name);
    let _ = std::fs::remove_file(&target);
    t.command(&format!("export ~/{name}"));
    t.enter();
    let (msg, failed) = t.app.status.clone().expect("status");
    let written = std::fs::read_to_string(&target);
    let _ = std::fs::remove_file(&target);
    assert!(!failed, "{msg}");
    assert!(msg.contains(&target.display().to_string()), "{msg}");
    assert_eq!(written.expect("in the home directory").lines().count(), 4);

    let missing = dir.path().join("no/such");
    t.command(&format!("export {}/x.csv", missing.display()));
    t.enter();
    let want = format!("directory {} does not exist", missing.display());
    let form_text = form_messages(&t);
    assert!(form_text.contains(&want), "{form_text}");
    assert!(!form_text.contains("os error"), "{form_text}");

    t.command(&format!("export {}", dir.path().display()));
    t.enter();
    let form_text = form_messages(&t);
    assert!(form_text.contains("is a directory"), "{form_text}");
    t.esc();

    t.command(&format!("import {}/absent.csv", dir.path().display()));
    t.enter();
    let form_text = form_messages(&t);
    assert!(
        form_text.contains(&format!(
            "{}/absent.csv does not exist",
            dir.path().display()
        )),
        "{form_text}"
    );
    assert!(!form_text.contains("os error"), "{form_text}");
}

/// Every message the open form shows (beside fields and at the bottom), or
/// the status line.
fn form_messages(t: &Tui) -> String {
    use postfix_manager::tui::app::Modal;
    let mut out = String::new();
    if let Some(Modal::Form(f)) = &t.app.modal {
        for field in &f.fields {
            if let Some(e) = &field.error {
                out.push_str(e);
                out.push('\n');
            }
        }
        if let Some(m) = &f.message {
            out.push_str(m);
        }
    }
    if let Some((s, _)) = &t.app.status {
        out.push_str(s);
    }
    out
}

#[test]
fn export_paths_expand_tilde_and_say_what_is_wrong_sqlite() {
    export_paths_expand_tilde_and_say_what_is_wrong(Tui::new(80, 24));
}

#[test]
fn export_paths_expand_tilde_and_say_what_is_wrong_postgres() {
    if let Some(db) = common::TestDb::postgres() {
        export_paths_expand_tilde_and_say_what_is_wrong(Tui::on(db, 80, 24));
    }
}
