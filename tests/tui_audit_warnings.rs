//! A checkpoint that could not be written is shown on the status line
//! after every kind of write the worker runs (a login, a save), never
//! swallowed by the reader thread. One test in its own binary: the warning
//! queue is process-wide, and another test's worker would drain it.

mod common;
mod tui_common;

use postfix_manager::ops::audit_seal::Seal;
use tui_common::Tui;

fn status(t: &Tui) -> String {
    t.app.status.clone().map(|(s, _)| s).unwrap_or_default()
}

#[test]
fn unwritable_checkpoint_file_is_warned_on_the_status_line() {
    let dir = tempfile::tempdir().unwrap();
    // the checkpoint file's directory is a plain file: appending fails
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let mut policy = common::policy();
    policy.audit = Some(Seal::new(
        dir.path().join("audit.key"),
        blocker.join("audit-checkpoints.log"),
    ));
    let mut t = Tui::with_policy(common::TestDb::sqlite(), 240, 30, policy);
    t.login_admin();
    t.settle();
    let s = status(&t);
    assert!(
        s.contains("the audit checkpoint was not written to"),
        "the login's audit row: {s:?}"
    );

    t.command("domains");
    t.settle();
    t.char('n');
    t.text("warned.example");
    t.enter();
    t.settle();
    let s = status(&t);
    assert!(
        s.contains("warned.example") && s.contains("the audit checkpoint was not written to"),
        "{s:?}"
    );
    assert!(
        t.screen()
            .contains("the audit checkpoint was not written to"),
        "on the status line"
    );
}
