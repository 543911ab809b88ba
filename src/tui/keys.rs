//! The key table: every key the screens answer to, written once. The
//! handlers dispatch through it (a key runs its row's command when the
//! screen says that command is available), and the `?` help, the footer and
//! docs/keybindings.md are all generated from it, so there is no second
//! list to drift from what the keys really do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One physical key of a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character without Ctrl or Alt (Shift is part of it).
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

impl Key {
    pub fn matches(self, k: &KeyEvent) -> bool {
        let ctrl_alt = k
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match self {
            Key::Char(c) => k.code == KeyCode::Char(c) && !ctrl_alt,
            Key::Ctrl(c) => {
                k.code == KeyCode::Char(c) && k.modifiers.contains(KeyModifiers::CONTROL)
            }
            Key::Code(c) => k.code == c,
        }
    }
}

/// What a key is for: the headings of `?` and of the docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Rows,
    Marks,
    Configs,
    Dashboard,
    Move,
    Global,
}

impl Group {
    pub fn heading(self) -> &'static str {
        match self {
            Group::Rows => "This row",
            Group::Marks => "Marks and bulk actions",
            Group::Configs => "Mail server configs",
            Group::Dashboard => "Dashboard",
            Group::Move => "Moving",
            Group::Global => "Everywhere",
        }
    }
}

/// What a key does; the screens match on this, never on the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    // Everywhere.
    QuitNow,
    Stop,
    Quit,
    Help,
    Command,
    Tail,
    Back,
    Message,
    // Moving in a table.
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    // The row under the cursor, the list.
    Open,
    New,
    Delete,
    Suspend,
    Filter,
    Logins,
    Reload,
    Sort,
    Reverse,
    History,
    /// A key only some tables have (see `RowCmd`).
    Row(RowCmd),
    // Marks.
    Mark,
    MarkRange,
    MarkAll,
    Unmark,
    BulkSuspend,
    BulkActivate,
    BulkDelete,
    BulkQuota,
    BulkEdit,
    BulkLimits,
    BulkGrant,
    BulkRevoke,
    // Dashboard.
    Pause,
    DashReload,
}

/// A key only some tables have, acting on the row under the cursor. The
/// table screen offers it where its spec lists it and the role has the
/// right it `needs`, and hands it to the spec's `run`: a new one is a
/// variant here and a binding below, and nothing in the table screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowCmd {
    // Domains: the way to its rows elsewhere.
    Mailboxes,
    Aliases,
    DkimKeys,
    // LDAP servers.
    TestLdap,
    // DKIM keys.
    DkimActivate,
    DkimRotate,
    DkimRetire,
    DkimRevoke,
    DkimDns,
    // The DNS check of a domain (Domains).
    DnsDetail,
    DnsCheck,
    // Deleted mailboxes (issue 20).
    Restore,
    // A mailbox's vacation reply (issue 20).
    Vacation,
    // Mailboxes: rename / move (issue 20).
    Rename,
    // Senders: everything about the sender (issue 21).
    SenderDetail,
    // Senders: the sending limits of the sender's domain (issue 21).
    DomainLimits,
    // Mail server configs.
    ConfigView,
    ConfigDiffDisk,
    ConfigDiffPrevious,
    ConfigEdit,
    ConfigApply,
    ConfigRollback,
}

/// The right a `RowCmd` asks of the role on its screen (ops still checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Whoever sees the row.
    View,
    Edit,
    Create,
}

impl RowCmd {
    pub fn needs(self) -> Needs {
        match self {
            RowCmd::Mailboxes
            | RowCmd::Aliases
            | RowCmd::DkimKeys
            | RowCmd::DkimDns
            | RowCmd::DnsDetail
            | RowCmd::DnsCheck
            | RowCmd::SenderDetail => Needs::View,
            RowCmd::TestLdap
            | RowCmd::Restore
            | RowCmd::Vacation
            | RowCmd::Rename
            | RowCmd::DomainLimits => Needs::Edit,
            RowCmd::ConfigView
            | RowCmd::ConfigDiffDisk
            | RowCmd::ConfigDiffPrevious
            | RowCmd::ConfigEdit
            | RowCmd::ConfigApply
            | RowCmd::ConfigRollback
            | RowCmd::DkimActivate
            | RowCmd::DkimRotate
            | RowCmd::DkimRetire
            | RowCmd::DkimRevoke => Needs::Create,
        }
    }
}

pub struct Binding {
    pub cmd: Cmd,
    pub keys: &'static [Key],
    /// How `?` and the footer write the keys.
    pub label: &'static str,
    /// A few words: the footer and `?`.
    pub what: &'static str,
    /// The full sentence for docs/keybindings.md ("" = `what`).
    pub doc: &'static str,
    pub group: Group,
    /// Footer rank: 1 is kept first when the width runs out; 0 never shown
    /// there (still in `?`).
    pub rank: u8,
    /// The command's name in the config file's `[keys]`, if it can move.
    pub config: Option<&'static str>,
}

impl Binding {
    pub fn matches(&self, k: &KeyEvent) -> bool {
        self.keys.iter().any(|key| key.matches(k))
    }

    pub fn doc(&self) -> &'static str {
        if self.doc.is_empty() {
            self.what
        } else {
            self.doc
        }
    }
}

use Key::{Char as C, Code, Ctrl};

const fn b(
    cmd: Cmd,
    keys: &'static [Key],
    label: &'static str,
    what: &'static str,
    group: Group,
    rank: u8,
) -> Binding {
    Binding {
        cmd,
        keys,
        label,
        what,
        doc: "",
        group,
        rank,
        config: None,
    }
}

const fn named(mut x: Binding, config: &'static str) -> Binding {
    x.config = Some(config);
    x
}

const fn doc(mut x: Binding, text: &'static str) -> Binding {
    x.doc = text;
    x
}

/// Every binding, first match wins: a key used twice (`v` marks a range on
/// Mailboxes and views a version on Mail server configs) is told apart by
/// which command the screen makes available.
pub const BINDINGS: &[Binding] = &[
    // Everywhere. `?` closes every footer as "? more", so its rank is 0.
    doc(
        b(Cmd::QuitNow, &[Ctrl('c')], "Ctrl-C", "quit, anywhere", Group::Global, 0),
        "quit, from any screen, form or dialog (also on the login screen)",
    ),
    doc(
        b(Cmd::Stop, &[Ctrl('z')], "Ctrl-Z", "suspend to the shell", Group::Global, 0),
        "suspend to the shell, anywhere (the terminal is restored first); `fg` comes back and redraws everything",
    ),
    named(
        doc(
            b(Cmd::Quit, &[C('q')], "q", "quit", Group::Global, 9),
            "quit (when not typing into a field)",
        ),
        "quit",
    ),
    named(
        doc(
            b(Cmd::Help, &[C('?')], "?", "all keys (this help)", Group::Global, 0),
            "every key of this screen, grouped by purpose; j/k scroll when it is long, any other key closes it",
        ),
        "help",
    ),
    named(
        doc(
            b(Cmd::Command, &[C(':')], ":", "go to a screen", Group::Global, 8),
            "go to a screen by name: `dashboard`, `domains`, `mailboxes`, `aliases`, `alias-domains`, `users`, `permissions`, `audit`, `mail-servers`, `ldap`, `dkim`, `deleted`, `sendas`, `senders` (a unique prefix is enough: `:mailb`; `Tab` completes); `:q` quits",
        ),
        "command",
    ),
    named(
        doc(
            b(Cmd::Tail, &[C('t')], "t", "live audit tail", Group::Global, 0),
            "show or hide the live audit tail (newest entries from any admin and any process, updated every second)",
        ),
        "tail",
    ),
    doc(
        b(Cmd::Back, &[Code(KeyCode::Esc)], "Esc", "back", Group::Global, 3),
        "clear the filter if one is applied, else back to the previous screen; in a form or dialog: cancel",
    ),
    doc(
        b(Cmd::Message, &[C('M')], "M", "whole message", Group::Global, 0),
        "show the whole status-line message (long ones are cut to the width), scrollable",
    ),
    // Moving.
    doc(
        b(Cmd::Down, &[C('j'), Code(KeyCode::Down)], "j/↓", "down", Group::Move, 20),
        "down; past the last row loads the next page",
    ),
    doc(
        b(Cmd::Up, &[C('k'), Code(KeyCode::Up)], "k/↑", "up", Group::Move, 21),
        "up; past the first row loads the previous page",
    ),
    b(
        Cmd::PageDown,
        &[Code(KeyCode::PageDown), Ctrl('f')],
        "PgDn/^F",
        "next page",
        Group::Move,
        22,
    ),
    b(
        Cmd::PageUp,
        &[Code(KeyCode::PageUp), Ctrl('b')],
        "PgUp/^B",
        "previous page",
        Group::Move,
        23,
    ),
    b(Cmd::First, &[C('g'), Code(KeyCode::Home)], "g/Home", "first page", Group::Move, 24),
    b(Cmd::Last, &[C('G'), Code(KeyCode::End)], "G/End", "last page", Group::Move, 25),
    // The row, the list.
    doc(
        b(Cmd::Open, &[Code(KeyCode::Enter)], "Enter", "edit", Group::Rows, 1),
        "edit the row (or show its details when you may not edit it)",
    ),
    named(
        doc(b(Cmd::New, &[C('n')], "n", "new", Group::Rows, 2), "new row"),
        "new",
    ),
    named(
        doc(
            b(Cmd::Filter, &[C('/')], "/", "filter", Group::Rows, 4),
            "filter as you type, on the address or name and the text beside it (mailbox name, domain or alias description, alias targets); `Enter` keeps the filter, `Esc` clears it (not on Permissions). On the Audit log: `actor:NAME`, `action:WORD`, `resource:TYPE`, `result:refused` narrow exactly (e.g. `actor:bob action:delete`), other words are searched in the entry's details",
        ),
        "filter",
    ),
    named(
        doc(
            b(Cmd::Logins, &[C('l')], "l", "show logins", Group::Rows, 3),
            "on the Audit log: show or hide the CLI's successful `login` entries (every CLI command logs in first, so they are hidden by default; failed logins always show)",
        ),
        "logins",
    ),
    named(
        doc(
            b(Cmd::Delete, &[C('d')], "d", "delete", Group::Rows, 5),
            "delete the row: a dialog says how many rows go with it; focus starts on **No**",
        ),
        "delete",
    ),
    named(
        doc(
            b(Cmd::Suspend, &[C('s')], "s", "suspend", Group::Rows, 6),
            "suspend an active row, activate a suspended one; on Senders: stop the mailbox's sending (a form asks the reason; mailbox managers) or resume a suspended one (asks first; admins)",
        ),
        "suspend",
    ),
    named(
        doc(
            b(Cmd::Reload, &[C('r')], "r", "reload", Group::Rows, 15),
            "reload the page (Domains, Mailboxes, Aliases and Audit also refresh on their own every `quota.refresh_secs` when their data changed, cursor kept on its row)",
        ),
        "reload",
    ),
    named(
        doc(
            b(Cmd::Sort, &[C('o')], "o", "sort by", Group::Rows, 12),
            "on Domains and Mailboxes: order by the next column (name, used, quota, percent used; numbers largest first); the header's ▲/▼ shows which",
        ),
        "sort",
    ),
    named(
        doc(
            b(Cmd::Reverse, &[C('O')], "O", "reverse", Group::Rows, 13),
            "reverse the order",
        ),
        "reverse",
    ),
    named(
        doc(
            b(Cmd::History, &[C('h')], "h", "usage history", Group::Rows, 14),
            "usage history of the selected domain or mailbox (a sparkline of its recorded samples; Domains and Mailboxes)",
        ),
        "history",
    ),
    named(
        doc(
            b(Cmd::Row(RowCmd::Mailboxes), &[C('m')], "m", "its mailboxes", Group::Rows, 10),
            "on Domains: this domain's mailboxes",
        ),
        "mailboxes",
    ),
    named(
        doc(
            b(Cmd::Row(RowCmd::Aliases), &[C('a')], "a", "its aliases", Group::Rows, 11),
            "on Domains: this domain's aliases",
        ),
        "aliases",
    ),
    doc(
        b(Cmd::Row(RowCmd::TestLdap), &[C('T')], "T", "test connection", Group::Rows, 3),
        "on LDAP servers (admin): test the selected server (bind, search the user base); the screen stays live while the worker waits",
    ),
    doc(
        b(Cmd::Row(RowCmd::DkimKeys), &[C('K')], "K", "its DKIM keys", Group::Rows, 12),
        "on Domains: this domain's DKIM keys",
    ),
    doc(
        b(Cmd::Row(RowCmd::DkimDns), &[C('v')], "v", "DNS record", Group::Rows, 3),
        "on DKIM keys: the TXT record(s) the key's domain must publish, zone-file and one-line forms, wrapped to the screen (`postfix-manager dkim dns DOMAIN` prints them for copying)",
    ),
    doc(
        b(Cmd::Row(RowCmd::DkimActivate), &[C('a')], "a", "activate", Group::Rows, 4),
        "on DKIM keys: start signing with the key (publish its DNS record first); a rotation's key retires the one it replaces; asks first",
    ),
    doc(
        b(Cmd::Row(RowCmd::DkimRotate), &[C('R')], "R", "rotate", Group::Rows, 6),
        "on DKIM keys: generate the next key of the selected key's domain and algorithm as pending (it takes over when activated); asks first",
    ),
    doc(
        b(Cmd::Row(RowCmd::DkimRetire), &[C('x')], "x", "retire", Group::Rows, 7),
        "on DKIM keys: stop signing with an active key; its record stays published for the grace period; asks first",
    ),
    doc(
        b(Cmd::Row(RowCmd::DkimRevoke), &[C('X')], "X", "revoke", Group::Rows, 8),
        "on DKIM keys: erase the private key and publish `p=` (cannot be undone); inside the grace period, or for an active key, the dialog says it revokes at once; asks first",
    ),
    doc(
        b(Cmd::Row(RowCmd::DnsDetail), &[C('i')], "i", "DNS checks", Group::Rows, 16),
        "on Domains: the last DNS check of the domain, every record graded ok/warning/error with the reason, what was expected and what DNS had (from the stored result: nothing is resolved; the DNS column shows the worst as ✓ ! ✗, or ok/warn/error under NO_COLOR)",
    ),
    doc(
        b(Cmd::Row(RowCmd::DnsCheck), &[C('c')], "c", "check DNS now", Group::Rows, 17),
        "on Domains: ask DNS now whether the domain publishes what it must (as `postfix-manager domain check DOMAIN`, on the worker's slow lane so the screen stays live); the result is stored and the DNS column follows",
    ),
    doc(
        b(Cmd::Row(RowCmd::Restore), &[C('u')], "u", "restore", Group::Rows, 4),
        "on Deleted mailboxes: bring the held mailbox back with its old password and the aliases that led to it; asks first (`d` there purges its mail now)",
    ),
    doc(
        b(Cmd::Row(RowCmd::Vacation), &[C('V')], "V", "vacation reply", Group::Rows, 9),
        "on Mailboxes: the mailbox's vacation auto-reply (on/off, subject, body with `\\n` for a line break, first and last day, days between replies to one sender, senders never answered); saving installs or removes its Sieve script on the worker's slow lane (as `postfix-manager mailbox vacation set|off`)",
    ),
    doc(
        b(Cmd::Row(RowCmd::Rename), &[C('R')], "R", "rename / move", Group::Rows, 16),
        "on Mailboxes: rename the mailbox or move it to another domain (a form: the new address, and whether to keep the old one as an alias); its aliases follow and its mail is moved by `lifecycle.rename_command` on the worker's slow lane; the status line says how it went",
    ),
    doc(
        b(Cmd::Row(RowCmd::SenderDetail), &[C('i')], "i", "details", Group::Rows, 3),
        "on Senders: everything about the sender: this hour's and today's messages, recipients and refused recipients, each limit and where it comes from (own, domain, `[policyd]` default), and a suspension's reason, author and time",
    ),
    doc(
        b(Cmd::Row(RowCmd::DomainLimits), &[C('D')], "D", "domain limits", Group::Rows, 7),
        "on Senders (admins): the sending limits of the selected sender's domain, which apply to each of its mailboxes without a limit of its own: a form filled with the domain's own limits (empty = the `[policyd]` default); only the fields you change are saved, `none` (or empty) gives a field back to the default (as `postfix-manager domain limits DOMAIN --per-hour N`); audited",
    ),
    // Marks (Mailboxes, Aliases, Domains).
    named(
        doc(
            b(Cmd::Mark, &[C(' ')], "Space", "mark row", Group::Marks, 7),
            "mark or unmark the row",
        ),
        "mark",
    ),
    named(
        doc(
            b(Cmd::MarkRange, &[C('v')], "v", "mark range", Group::Marks, 0),
            "mark every row of this page between the last row marked with `Space` and the cursor",
        ),
        "mark_range",
    ),
    named(
        doc(
            b(Cmd::MarkAll, &[C('*')], "*", "mark all matching", Group::Marks, 0),
            "mark every row matching the current filter, on all pages (the worker fetches their keys)",
        ),
        "mark_all",
    ),
    named(
        doc(
            b(Cmd::Unmark, &[C('u')], "u", "unmark all", Group::Marks, 1),
            "clear all marks",
        ),
        "unmark",
    ),
    doc(
        b(Cmd::BulkSuspend, &[C('S')], "S", "suspend marked", Group::Marks, 1),
        "suspend the marked rows",
    ),
    doc(
        b(Cmd::BulkActivate, &[C('A')], "A", "activate marked", Group::Marks, 1),
        "activate the marked rows",
    ),
    doc(
        b(Cmd::BulkDelete, &[C('D')], "D", "delete marked", Group::Marks, 1),
        "delete the marked rows (Mailboxes, Aliases)",
    ),
    doc(
        b(Cmd::BulkQuota, &[C('Q')], "Q", "quota of marked", Group::Marks, 1),
        "set one quota on the marked mailboxes (a form, then the preview)",
    ),
    doc(
        b(Cmd::BulkEdit, &[C('E')], "E", "edit marked in $EDITOR", Group::Marks, 1),
        "open the marked rows in `$VISUAL`/`$EDITOR` as a tab-separated file (mailboxes: quota, name, status; aliases: goto, description, status; domains: description, limits, transport, status); after the editor exits the changed fields are listed and applied in one transaction on Yes; a bad line is shown with its number (then `E` again reopens your own text, the reasons appended as `#` comments), a row someone else changed meanwhile is refused, and then nothing changes",
    ),
    doc(
        b(Cmd::BulkLimits, &[C('L')], "L", "limits of marked", Group::Marks, 1),
        "set limits on the marked domains: total quota, max mailboxes, max aliases, max per mailbox, transport; an empty field keeps each domain's own value (admins)",
    ),
    doc(
        b(Cmd::BulkGrant, &[C('P')], "P", "grant on marked", Group::Marks, 1),
        "grant a user permissions on the marked domains (admins)",
    ),
    doc(
        b(Cmd::BulkRevoke, &[C('R')], "R", "revoke on marked", Group::Marks, 1),
        "revoke a user's permissions on the marked domains (admins)",
    ),
    // Mail server configs (admin).
    doc(
        b(Cmd::Row(RowCmd::ConfigView), &[C('v')], "v", "view version", Group::Configs, 3),
        "view the version",
    ),
    doc(
        b(Cmd::Row(RowCmd::ConfigDiffDisk), &[C('D')], "D", "diff with disk", Group::Configs, 6),
        "diff the version against the file on disk",
    ),
    doc(
        b(
            Cmd::Row(RowCmd::ConfigDiffPrevious),
            &[C('P')],
            "P",
            "diff with previous",
            Group::Configs,
            7,
        ),
        "diff the version against the previous one",
    ),
    doc(
        b(Cmd::Row(RowCmd::ConfigEdit), &[C('e')], "e", "edit in $EDITOR", Group::Configs, 4),
        "edit the version in `$VISUAL`/`$EDITOR` (the terminal is handed over and taken back); a change is stored as a new version",
    ),
    doc(
        b(Cmd::Row(RowCmd::ConfigApply), &[C('A')], "A", "apply", Group::Configs, 5),
        "apply the version (staged check with `mail.postfix_stage_check`/`dovecot_stage_check`, backup, atomic replace, `mail.*_reload`; rolls back on failure); asks first, default No",
    ),
    doc(
        b(Cmd::Row(RowCmd::ConfigRollback), &[C('R')], "R", "roll back", Group::Configs, 8),
        "roll the file back to the backup taken when this version was applied; asks first",
    ),
    // Dashboard.
    named(
        doc(
            b(Cmd::Pause, &[C('p')], "p", "pause", Group::Dashboard, 1),
            "pause / resume live updates (resuming checks at once)",
        ),
        "pause",
    ),
    b(Cmd::DashReload, &[C('r')], "r", "reload now", Group::Dashboard, 2),
];

pub fn binding(cmd: Cmd) -> &'static Binding {
    BINDINGS
        .iter()
        .find(|x| x.cmd == cmd)
        .unwrap_or(&BINDINGS[0])
}

/// The first command bound to `key` among those `available` says work
/// here, in table order.
pub fn lookup(key: &KeyEvent, available: impl Fn(Cmd) -> bool) -> Option<Cmd> {
    BINDINGS
        .iter()
        .find(|x| x.matches(key) && available(x.cmd))
        .map(|x| x.cmd)
}

/// One key as a screen offers it: the label (after `[keys]` moves) and
/// what it does there (some say what they would do to this row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub label: &'static str,
    pub what: &'static str,
    pub group: Group,
    pub rank: u8,
}

impl Offer {
    pub fn of(cmd: Cmd) -> Offer {
        let x = binding(cmd);
        Offer {
            label: x.label,
            what: x.what,
            group: x.group,
            rank: x.rank,
        }
    }

    pub fn what(mut self, what: &'static str) -> Offer {
        self.what = what;
        self
    }

    pub fn rank(mut self, rank: u8) -> Offer {
        self.rank = rank;
        self
    }
}

/// The remappable commands and their default keys, for `[keys]`.
pub fn remappable() -> impl Iterator<Item = (&'static str, char)> {
    BINDINGS
        .iter()
        .filter_map(|x| match (x.config, x.keys.first()) {
            (Some(name), Some(Key::Char(c))) => Some((name, *c)),
            _ => None,
        })
}

/// Keys of the modal parts, which are handled by their own small state
/// machines (a form's text editing is the input widget's): listed for
/// docs/keybindings.md and checked against those handlers by tests.
pub const FORM_KEYS: &[(&str, &str)] = &[
    ("`Tab` / `↓`, `Shift-Tab` / `↑`", "next / previous field"),
    (
        "`Enter`",
        "save; problems appear under the field they concern",
    ),
    ("`Esc`", "cancel; nothing is written"),
    ("`Ctrl-U`", "clear the field"),
    (
        "`←` `→` `Home` `End`, `Backspace`, `Delete`",
        "edit the text",
    ),
    (
        "`←` / `→`, `Space` (on a picker `‹ admin ›`)",
        "previous / next value",
    ),
    (
        "letters (on a picker)",
        "the value they spell (`r` → readonly, `mailboxes` → mailboxes)",
    ),
];

pub const LOGIN_KEYS: &[(&str, &str)] = &[
    ("`Tab`, `↑`, `↓`", "switch between user and password"),
    ("`Enter`", "next field, then log in"),
];

pub const CONFIRM_KEYS: &[(&str, &str)] = &[
    ("`←` `→` `Tab` `h` `l`", "choose No / Yes"),
    ("`Enter`", "answer (No unless you moved to Yes)"),
    ("`Esc`, `n`, `q`", "cancel"),
];

pub const COMMAND_KEYS: &[(&str, &str)] = &[
    ("`Tab`", "complete a screen name (again: the next match)"),
    ("`Enter`", "go"),
    ("`Esc`", "cancel"),
];

fn md_key(x: &Binding) -> String {
    if x.label == "/" {
        return "`/`".into();
    }
    x.label
        .split('/')
        .map(|k| format!("`{}`", if k == " " { "Space" } else { k }))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn md_table(out: &mut String, rows: impl Iterator<Item = (String, String)>) {
    out.push_str("| Key | Does |\n| --- | --- |\n");
    for (k, d) in rows {
        out.push_str(&format!("| {k} | {d} |\n"));
    }
    out.push('\n');
}

fn md_group(out: &mut String, g: Group) {
    md_table(
        out,
        BINDINGS
            .iter()
            .filter(|x| x.group == g)
            .map(|x| (md_key(x), x.doc().to_string())),
    );
}

fn md_pairs(out: &mut String, pairs: &[(&str, &str)]) {
    md_table(
        out,
        pairs.iter().map(|(k, d)| (k.to_string(), d.to_string())),
    );
}

/// docs/keybindings.md, from the tables above and the prose around them.
/// `tests/tui_keys.rs` fails when the file differs; regenerate it with
/// `UPDATE_DOCS=1 cargo test --test tui_keys keybindings_doc`.
pub fn markdown() -> String {
    let mut s = String::new();
    s.push_str(include_str!("keys_doc/intro.md"));
    s.push_str("## Everywhere\n\n");
    md_group(&mut s, Group::Global);
    s.push_str(include_str!("keys_doc/global_commands.md"));
    s.push_str("## Login\n\n");
    md_pairs(&mut s, LOGIN_KEYS);
    s.push_str("## Table screens\n\n### Moving\n\n");
    md_group(&mut s, Group::Move);
    s.push_str("### The row and the list\n\n");
    md_group(&mut s, Group::Rows);
    s.push_str("### Mail server configs (admin)\n\n");
    md_group(&mut s, Group::Configs);
    s.push_str(
        "`n` on Mail server configs imports a file (Dovecot `!include`s follow) as a new version.\n\n",
    );
    s.push_str("### Marks and bulk actions (Mailboxes, Aliases, Domains)\n\n");
    md_group(&mut s, Group::Marks);
    s.push_str(include_str!("keys_doc/marks.md"));
    s.push_str("## Dashboard\n\n");
    s.push_str(include_str!("keys_doc/dashboard.md"));
    md_group(&mut s, Group::Dashboard);
    s.push_str("## The `:` line\n\n");
    md_pairs(&mut s, COMMAND_KEYS);
    s.push_str("## Forms\n\n");
    md_pairs(&mut s, FORM_KEYS);
    s.push_str(include_str!("keys_doc/forms.md"));
    s.push_str("## Delete dialog\n\n");
    md_pairs(&mut s, CONFIRM_KEYS);
    s.push_str(include_str!("keys_doc/rest.md"));
    s
}
