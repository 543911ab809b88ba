//! What each table screen is, one file per table: its columns (label,
//! width, sort key), how a database row is drawn, who may do what there,
//! the keys only it has, what deleting a row writes, and its create and
//! edit forms. The table screen, the forms, the footer and `?` read these;
//! adding a table is a new file here and one arm in `spec()`.
//!
//! Field ids are an enum per table (`fields!`), shared by the row's detail
//! pairs and the form, so a name the two must agree on is written once.

mod alias_domains;
mod aliases;
mod audit;
mod deleted;
mod dkim;
mod domains;
mod ldap;
mod mail_servers;
mod mailboxes;
mod permissions;
mod sender_grants;
mod senders;
mod users;

pub use audit::{row as audit_row, F as AuditField};
pub use senders::domain_limits_write;

use ratatui::layout::Constraint;

use super::action::Action;
use super::form::{Field, Form};
use super::keys::{Cmd, RowCmd};
use super::reader::Reader;
use super::rows::Row;
use crate::model::{Entity, Role};
use crate::store::SortKey;
use crate::worker::{Session, Write};

pub use crate::listing::FieldId;

/// An enum of field ids and the name each stands for.
macro_rules! fields {
    ($(#[$m:meta])* $vis:vis enum $E:ident { $($(#[$vm:meta])* $V:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $E { $($(#[$vm])* $V),* }
        impl $crate::tui::spec::FieldId for $E {
            fn name(self) -> &'static str {
                match self { $($E::$V => $s),* }
            }
        }
    };
}
pub(crate) use fields;

/// A row's shown values by id, as `Row::fields` holds them.
pub fn pairs<F: FieldId>(v: Vec<(F, String)>) -> Vec<(&'static str, String)> {
    v.into_iter().map(|(f, s)| (f.name(), s)).collect()
}

/// One column of a table screen.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub label: &'static str,
    pub width: Constraint,
    /// `o` can order the list by this column.
    pub sort: Option<SortKey>,
    /// Numbers (sizes, counts, percents): right-aligned so they line up.
    pub right: bool,
    /// A grade marker (`GRADE_WORDS`): drawn as a colored ✓ ! ✗ when the
    /// theme has color, as the word itself under NO_COLOR.
    pub grade: bool,
    /// A fixed-width column that folds away (width 0) when the name column
    /// would otherwise be cut: what it says is in the row's details too.
    pub gives_way: bool,
}

/// The words a grade column's cells hold, and the symbol each becomes
/// with color.
pub const GRADE_WORDS: [(&str, &str); 3] = [("ok", "✓"), ("warn", "!"), ("error", "✗")];

pub const fn col(label: &'static str, width: Constraint) -> Column {
    Column {
        label,
        width,
        sort: None,
        right: false,
        grade: false,
        gives_way: false,
    }
}

impl Column {
    pub const fn grade(mut self) -> Column {
        self.grade = true;
        self
    }
    pub const fn gives_way(mut self) -> Column {
        self.gives_way = true;
        self
    }
    pub const fn sort(mut self, key: SortKey) -> Column {
        self.sort = Some(key);
        self
    }
    pub const fn right(mut self) -> Column {
        self.right = true;
        self
    }
}

/// Width of the per-row usage bar, `[####]  45%`.
pub const USAGE_WIDTH: u16 = 11;

/// What a role may try on a screen. A `user` may act on its granted
/// domains' rows (ops checks which); it never manages domains, users or
/// permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
    pub status: bool,
}

impl Caps {
    pub const NONE: Caps = Caps {
        create: false,
        edit: false,
        delete: false,
        status: false,
    };
    pub const ALL: Caps = Caps {
        create: true,
        edit: true,
        delete: true,
        status: true,
    };
}

/// One table screen. The keys shown follow the role; ops still has the
/// last word on every write.
pub trait Spec: Sync {
    fn columns(&self) -> &'static [Column];
    /// The first column is a name (an address, a domain, a user): it gets
    /// the room it needs and the other text columns give way.
    fn keyed(&self) -> bool;
    fn caps(&self, role: Role) -> Caps;
    /// The keys only this table has (marks, bulk actions, its own row
    /// keys), from the key table; the table screen checks the role.
    fn commands(&self) -> &'static [Cmd];
    /// What deleting this row writes; None: rows are not deleted here.
    fn delete(&self, row: &Row) -> Option<Write>;
    /// The create form's fields; `domain` pre-fills the domain part when
    /// the list is scoped to one domain. None: rows are not created here.
    fn create(&self, domain: Option<&str>) -> Option<Vec<Field>>;
    /// The edit form's fields, pre-filled from the row as listed. None:
    /// Enter shows the row's details instead.
    fn edit(&self, row: &Row) -> Option<Vec<Field>>;
    /// The write a filled create form (`editing` None) or edit form
    /// (`editing`: the row's key and version) asks for, its fields checked
    /// by ops' rules into `r` on the way. None: not a form of this table.
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write>;
    /// Defaults that follow a picker on the create form.
    fn follow(&self, _form: &mut Form) {}
    /// Defaults of a new create form that come from the host's config,
    /// as the worker told the session at login.
    fn session_defaults(&self, _form: &mut Form, _session: &Session) {}
    /// Whether `/` filters this list.
    fn filterable(&self) -> bool {
        true
    }
    /// A filter with a syntax of its own: what the footer says while it is
    /// typed, and the short form beside `/`.
    fn filter_syntax(&self) -> Option<(&'static str, &'static str)> {
        None
    }
    /// The list's one order is newest first (the header's mark).
    fn newest_first(&self) -> bool {
        false
    }
    /// Suspending a row takes others down with it: ask first, with the count.
    fn suspend_asks(&self) -> bool {
        false
    }
    /// `s` on a row whose state is not the active/suspended switch of
    /// `Write::SetStatus` (a sender's sending, issue 21): the footer's word
    /// for it on this row and what it does. None: the generic switch.
    fn status_key(&self, _row: &Row) -> Option<(&'static str, Action)> {
        None
    }
    /// The column whose header carries the mark of the list's one fixed
    /// order, for a list without sortable columns.
    fn ordered_by(&self) -> usize {
        0
    }
    /// One of `commands()` that acts on the row under the cursor and that
    /// the table screen does not run itself.
    fn run(&self, _cmd: RowCmd, _row: &Row) -> Action {
        Action::Ignored
    }
}

/// The spec of a table: the one registration a new table adds.
pub fn spec(e: Entity) -> &'static dyn Spec {
    match e {
        Entity::Domains => &domains::Domains,
        Entity::Mailboxes => &mailboxes::Mailboxes,
        Entity::Aliases => &aliases::Aliases,
        Entity::AliasDomains => &alias_domains::AliasDomains,
        Entity::Users => &users::Users,
        Entity::Permissions => &permissions::Permissions,
        Entity::Audit => &audit::Audit,
        Entity::MailServers => &mail_servers::MailServers,
        Entity::Ldap => &ldap::Ldap,
        Entity::DkimKey => &dkim::DkimKeys,
        Entity::DeletedMailboxes => &deleted::Deleted,
        Entity::SenderGrants => &sender_grants::SenderGrants,
        Entity::Senders => &senders::Senders,
    }
}

/// Opens another table scoped to the row under the cursor (a domain's
/// mailboxes, aliases or DKIM keys).
pub fn open_scoped(row: &Row, target: Entity) -> Action {
    match row.id32() {
        Ok(id) => Action::Open(target, Some((id, row.key.clone()))),
        Err(e) => Action::Fail(e.to_string()),
    }
}

/// The columns this list can be ordered by, with their index.
pub fn sortable(s: &dyn Spec) -> impl Iterator<Item = (SortKey, usize)> {
    s.columns()
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.sort.map(|k| (k, i)))
}

/// The widths fitted to a table `width` cells wide whose first column
/// needs `need` cells on this page: that column gets what it needs, so
/// addresses stay whole, and the other text columns (Name, Description,
/// Goes to…) share what is left, giving way first (down to nothing, marked
/// `…`, before an address is cut). Screens whose first column is not a
/// name keep their layout.
pub fn fit_columns(s: &dyn Spec, width: u16, need: usize) -> Vec<Constraint> {
    let mut cols: Vec<Constraint> = s.columns().iter().map(|c| c.width).collect();
    if !s.keyed() || cols.is_empty() {
        return cols;
    }
    let spacing = u16::try_from(cols.len().saturating_sub(1)).unwrap_or(u16::MAX);
    let fixed: u16 = cols[1..]
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let mut room = width.saturating_sub(spacing.saturating_add(fixed));
    let need = u16::try_from(need).unwrap_or(u16::MAX);
    // Columns that give way fold, rightmost first, while the name is cut.
    for (i, c) in s.columns().iter().enumerate().skip(1).rev() {
        if room >= need {
            break;
        }
        if let (true, Constraint::Length(n)) = (c.gives_way, c.width) {
            cols[i] = Constraint::Length(0);
            room = room.saturating_add(n);
        }
    }
    cols[0] = Constraint::Length(need.min(room).max(1));
    cols
}

/// The key marks and bulk actions start from: a table listing `Cmd::Mark`
/// has marks.
pub fn has(s: &dyn Spec, cmd: Cmd) -> bool {
    s.commands().contains(&cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Domains at 80 columns: a 19-character name is whole, "Mbx max"
    /// folding away for it; a short name leaves every column in place.
    #[test]
    fn a_long_name_folds_the_columns_that_give_way() {
        let d = spec(Entity::Domains);
        let mbx = d
            .columns()
            .iter()
            .position(|c| c.label == "Mbx max")
            .expect("Mbx max");
        let long = fit_columns(d, 78, 21);
        assert_eq!(long[0], Constraint::Length(21));
        assert_eq!(long[mbx], Constraint::Length(0));
        let short = fit_columns(d, 78, 12);
        assert_eq!(short[0], Constraint::Length(12));
        assert_eq!(short[mbx], Constraint::Length(9));
    }

    #[test]
    fn readonly_gets_no_write_keys_anywhere() {
        for e in Entity::ALL {
            let c = spec(e).caps(Role::Readonly);
            assert_eq!(c, Caps::NONE, "{e:?}");
        }
    }
}
