//! One table screen: a keyset page exactly as tall as the screen, moved by
//! asking the worker for the rows after the last one (or before the first);
//! nothing counts or loads the rest of the table.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row as TRow, Table, TableState};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use super::action::Action;
use super::forms;
use super::keys::{self, Cmd, Needs, Offer};
use super::rows::Row;
use super::spec::{self, Caps, Spec};
use super::theme::Theme;
use crate::model::{Entity, Role, Status};
use crate::store::{Filter, Page, SortKey};
use crate::worker::{BulkAction, LiveToken, Request, Write};

/// How the page on screen was (or is being) fetched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anchor {
    pub after: Option<String>,
    pub backward: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Select {
    First,
    Last,
    Keep(usize),
}

#[derive(Debug)]
pub struct TableScreen {
    pub resource: Entity,
    /// Only rows of this domain (id, name): Mailboxes/Aliases opened from Domains.
    pub scope: Option<(i32, String)>,
    pub rows: Vec<Row>,
    pub selected: usize,
    anchor: Anchor,
    at_start: bool,
    at_end: bool,
    /// A request is out; draw "loading".
    pub loading: bool,
    pending: Option<(Anchor, Select)>,
    pub filter: String,
    /// Some while `/` is being typed.
    filter_input: Option<Input>,
    capacity: usize,
    pub error: Option<String>,
    role: Role,
    /// Keys of marked rows: kept across pages, filters and reloads.
    pub marks: std::collections::BTreeSet<String>,
    /// The last row marked with Space: one end of a `v` range.
    last_mark: Option<String>,
    /// The list's order (`o` picks the column, `O` the direction).
    pub sort: crate::store::Sort,
    /// The change token the rows on screen were read under (None: this
    /// table has none, or no page has arrived yet).
    live: Option<LiveToken>,
    /// Ticks since the last change check.
    since_check: u64,
    /// Audit log: the CLI's successful logins shown too (`l`).
    pub show_hidden: bool,
}

/// What a change check's answer did to the screen.
#[derive(Debug)]
pub enum Refreshed {
    /// Same rows: nothing to draw.
    Same,
    Redraw,
    /// The page emptied under the cursor (its rows were deleted): go back
    /// to the first page.
    Refetch(Request),
}

impl TableScreen {
    pub fn new(resource: Entity, scope: Option<(i32, String)>, role: Role) -> TableScreen {
        TableScreen {
            resource,
            scope,
            rows: Vec::new(),
            selected: 0,
            anchor: Anchor::default(),
            at_start: true,
            at_end: true,
            loading: false,
            pending: None,
            filter: String::new(),
            filter_input: None,
            capacity: 10,
            error: None,
            role,
            marks: Default::default(),
            last_mark: None,
            sort: Default::default(),
            live: None,
            since_check: 0,
            show_hidden: false,
        }
    }

    fn spec(&self) -> &'static dyn Spec {
        spec::spec(self.resource)
    }

    /// Whether this table has `cmd` among its own keys.
    fn has(&self, cmd: Cmd) -> bool {
        spec::has(self.spec(), cmd)
    }

    /// Rows of this screen can be marked for bulk actions.
    fn markable(&self) -> bool {
        self.has(Cmd::Mark) && (self.caps().status || self.caps().delete)
    }

    pub fn clear_marks(&mut self) {
        self.marks.clear();
        self.last_mark = None;
    }

    /// Mark these keys (from "mark all matching"); returns the marked count.
    pub fn mark_keys(&mut self, keys: Vec<String>) -> usize {
        self.marks.extend(keys);
        self.marks.len()
    }

    fn filter_now(&self) -> Filter {
        Filter {
            text: Some(self.filter.clone()).filter(|t| !t.is_empty()),
            status: None,
            domain_id: self.scope.as_ref().map(|(id, _)| *id),
            sort: self.sort,
            show_hidden: self.show_hidden,
        }
    }

    /// What `:export` writes: the rows this screen lists, every page.
    pub fn export_filter(&self) -> Filter {
        self.filter_now()
    }

    /// The columns this list can be ordered by, with their header index.
    fn sortable(&self) -> Vec<(SortKey, usize)> {
        spec::sortable(self.spec()).collect()
    }

    /// `o`: order by the next sortable column (numbers start largest
    /// first); `O`: reverse. Paging starts again from the top.
    fn cycle_sort(&mut self, reverse: bool) -> Action {
        let cols = self.sortable();
        if cols.is_empty() {
            return Action::Ignored;
        }
        if reverse {
            self.sort.desc = !self.sort.desc;
        } else {
            let i = cols
                .iter()
                .position(|(k, _)| *k == self.sort.key)
                .unwrap_or(0);
            let next = cols[(i + 1) % cols.len()].0;
            self.sort = crate::store::Sort {
                key: next,
                desc: next != SortKey::Name,
            };
        }
        Action::Fetch(self.first_page())
    }

    fn toggle_mark(&mut self) -> Action {
        let Some(key) = self.current().map(|r| r.key.clone()) else {
            return Action::Ignored;
        };
        if !self.marks.remove(&key) {
            self.marks.insert(key.clone());
        }
        self.last_mark = Some(key);
        Action::Redraw
    }

    /// Mark every row of this page between the last Space-marked row and
    /// the cursor (from the cursor alone when that row is not on this page).
    fn mark_range(&mut self) -> Action {
        if self.rows.is_empty() {
            return Action::Ignored;
        }
        let from = self
            .last_mark
            .as_ref()
            .and_then(|k| self.rows.iter().position(|r| &r.key == k))
            .unwrap_or(self.selected);
        let (a, b) = (from.min(self.selected), from.max(self.selected));
        for r in &self.rows[a..=b] {
            self.marks.insert(r.key.clone());
        }
        Action::Redraw
    }

    fn ask_bulk(&self, action: BulkAction) -> Action {
        if self.marks.is_empty() {
            return Action::Status("Nothing marked: Space marks a row.".into());
        }
        Action::bulk(self.resource, self.marks.iter().cloned().collect(), action)
    }

    /// A bulk action that needs a value first: its form, then its preview.
    fn ask_bulk_form(&self, what: forms::BulkForm) -> Action {
        if self.marks.is_empty() {
            return Action::Status("Nothing marked: Space marks a row.".into());
        }
        Action::OpenForm(forms::bulk(
            self.resource,
            self.marks.iter().cloned().collect(),
            what,
        ))
    }

    pub fn title(&self) -> String {
        let base = self.resource.title();
        match &self.scope {
            Some((_, d)) => format!("{base} of {d}"),
            None => base.to_string(),
        }
    }

    pub fn caps(&self) -> Caps {
        self.spec().caps(self.role)
    }

    /// Esc on a filtered list: drop the filter (and start again from the
    /// top) instead of leaving the screen. None when nothing is filtered.
    pub fn clear_filter(&mut self) -> Option<Request> {
        if self.filter.is_empty() {
            return None;
        }
        self.filter.clear();
        Some(self.first_page())
    }

    /// Typing into the filter: global keys (q, :, ?) are text then.
    pub fn captures_input(&self) -> bool {
        self.filter_input.is_some()
    }

    /// Rows that fit; a change re-fetches the same page at the new height.
    pub fn set_capacity(&mut self, rows: usize) -> Option<Request> {
        let rows = rows.max(1);
        if rows == self.capacity {
            return None;
        }
        self.capacity = rows;
        Some(self.reload())
    }

    pub fn reload(&mut self) -> Request {
        let a = self.anchor.clone();
        self.fetch(a, Select::Keep(self.selected))
    }

    pub fn first_page(&mut self) -> Request {
        self.fetch(Anchor::default(), Select::First)
    }

    fn fetch(&mut self, anchor: Anchor, select: Select) -> Request {
        self.loading = true;
        self.pending = Some((anchor.clone(), select));
        self.since_check = 0;
        self.page_request(&anchor, None)
    }

    fn page_request(&self, anchor: &Anchor, known: Option<LiveToken>) -> Request {
        Request::Live {
            resource: self.resource,
            filter: self.filter_now(),
            page: Page {
                after: anchor.after.clone(),
                limit: Some(self.capacity as i64),
                backward: anchor.backward,
            },
            known,
        }
    }

    /// One second passed. Every `every` seconds, while nothing else is
    /// asked and the filter is not being typed, the check for changes
    /// under the visible page: the same page, sent with the token its rows
    /// were read under, answered `Unchanged` without reading rows.
    pub fn tick(&mut self, may_check: bool, every: u64) -> Option<Request> {
        self.since_check += 1;
        let known = self.live?;
        if !may_check
            || self.pending.is_some()
            || self.filter_input.is_some()
            || self.since_check < every
        {
            return None;
        }
        self.since_check = 0;
        Some(self.page_request(&self.anchor.clone(), Some(known)))
    }

    /// A page or a change check's answer. A page asked by a key is placed
    /// as that key wanted; a check's new rows replace the page in place,
    /// with the cursor on the same row (by key; the nearest position when
    /// it has gone) and marks, filter, order and page start untouched.
    pub fn on_live(&mut self, token: Option<LiveToken>, rows: Vec<Row>) -> Refreshed {
        self.live = token;
        if self.pending.is_some() {
            self.on_rows(rows);
            return Refreshed::Redraw;
        }
        let had_error = self.error.take().is_some();
        if rows == self.rows {
            return if had_error {
                Refreshed::Redraw
            } else {
                Refreshed::Same
            };
        }
        if rows.is_empty() && self.anchor.after.is_some() {
            return Refreshed::Refetch(self.first_page());
        }
        let key = self.current().map(|r| r.key.clone());
        let full = rows.len() >= self.capacity;
        match (self.anchor.after.is_some(), self.anchor.backward) {
            (false, false) => (self.at_start, self.at_end) = (true, !full),
            (true, false) => (self.at_start, self.at_end) = (false, !full),
            (false, true) => (self.at_start, self.at_end) = (!full, true),
            (true, true) => (self.at_start, self.at_end) = (!full, false),
        }
        self.rows = rows;
        let last = self.rows.len().saturating_sub(1);
        self.selected = key
            .and_then(|k| self.rows.iter().position(|r| r.key == k))
            .unwrap_or(self.selected.min(last));
        Refreshed::Redraw
    }

    pub fn on_rows(&mut self, rows: Vec<Row>) {
        self.loading = false;
        self.error = None;
        let Some((anchor, select)) = self.pending.take() else {
            return;
        };
        let full = rows.len() >= self.capacity;
        if rows.is_empty() && anchor.after.is_some() {
            // Paged past an end: stay on the rows we have.
            if anchor.backward {
                self.at_start = true;
                self.selected = 0;
            } else {
                self.at_end = true;
                self.selected = self.rows.len().saturating_sub(1);
            }
            return;
        }
        match (anchor.after.is_some(), anchor.backward) {
            (false, false) => (self.at_start, self.at_end) = (true, !full),
            (true, false) => (self.at_start, self.at_end) = (false, !full),
            (false, true) => (self.at_start, self.at_end) = (!full, true),
            (true, true) => (self.at_start, self.at_end) = (!full, false),
        }
        self.rows = rows;
        self.anchor = anchor;
        let last = self.rows.len().saturating_sub(1);
        self.selected = match select {
            Select::First => 0,
            Select::Last => last,
            Select::Keep(i) => i.min(last),
        };
    }

    pub fn on_error(&mut self, message: String) {
        self.loading = false;
        self.pending = None;
        self.error = Some(message);
    }

    pub fn current(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    /// Pasted text into the open filter line: the fetch it causes, or None
    /// (nothing inserted) when the text holds a line break.
    pub fn paste(&mut self, text: &str) -> Option<Action> {
        let input = self.filter_input.as_mut()?;
        let text = super::form::one_line(text)?;
        super::form::insert(input, &text);
        self.filter = input.value().to_string();
        Some(Action::Fetch(self.first_page()))
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> Action {
        if let Some(input) = &mut self.filter_input {
            return match key.code {
                KeyCode::Esc => {
                    self.filter_input = None;
                    self.filter.clear();
                    Action::Fetch(self.first_page())
                }
                KeyCode::Enter => {
                    self.filter_input = None;
                    Action::Redraw
                }
                _ => {
                    if input.handle_event(&Event::Key(key)).is_none() {
                        return Action::Ignored;
                    }
                    // Every keystroke asks again; the worker runs only the
                    // newest of those still queued, the app drops the rest.
                    self.filter = input.value().to_string();
                    Action::Fetch(self.first_page())
                }
            };
        }
        let Some(cmd) = keys::lookup(&key, |c| self.available(c)) else {
            return Action::Ignored;
        };
        self.run(cmd)
    }

    /// Whether a command of the key table works on this screen, for this
    /// role: the one place that decides both what a key does and what `?`
    /// and the footer offer.
    pub fn available(&self, cmd: Cmd) -> bool {
        let caps = self.caps();
        let own = self.has(cmd);
        let marks = own && self.markable();
        match cmd {
            Cmd::Down
            | Cmd::Up
            | Cmd::PageDown
            | Cmd::PageUp
            | Cmd::First
            | Cmd::Last
            | Cmd::Reload
            | Cmd::Open => true,
            Cmd::Filter => self.spec().filterable(),
            Cmd::New => caps.create,
            Cmd::Delete => caps.delete,
            Cmd::Suspend => caps.status,
            Cmd::Sort => self.sortable().len() > 1,
            Cmd::Reverse => !self.sortable().is_empty(),
            Cmd::Mark | Cmd::MarkRange | Cmd::MarkAll | Cmd::Unmark | Cmd::BulkQuota => marks,
            Cmd::BulkSuspend | Cmd::BulkActivate => marks && caps.status,
            Cmd::BulkDelete => marks && caps.delete,
            Cmd::BulkEdit => marks && caps.edit,
            Cmd::BulkLimits | Cmd::BulkGrant | Cmd::BulkRevoke => marks && self.role == Role::Admin,
            Cmd::Logins | Cmd::History => own,
            Cmd::Row(rc) => {
                own && match rc.needs() {
                    Needs::View => true,
                    Needs::Edit => caps.edit,
                    Needs::Create => caps.create,
                }
            }
            // The app's and the dashboard's.
            Cmd::QuitNow
            | Cmd::Stop
            | Cmd::Quit
            | Cmd::Help
            | Cmd::Command
            | Cmd::Tail
            | Cmd::Back
            | Cmd::Message
            | Cmd::Pause
            | Cmd::DashReload => false,
        }
    }

    fn run(&mut self, cmd: Cmd) -> Action {
        match cmd {
            Cmd::Down => self.down(),
            Cmd::Up => self.up(),
            Cmd::First => Action::Fetch(self.first_page()),
            Cmd::Last => Action::Fetch(self.fetch(
                Anchor {
                    after: None,
                    backward: true,
                },
                Select::Last,
            )),
            Cmd::PageDown => self.page_down(),
            Cmd::PageUp => self.page_up(),
            Cmd::Reload => Action::Fetch(self.reload()),
            Cmd::Logins => {
                self.show_hidden = !self.show_hidden;
                Action::Fetch(self.first_page())
            }
            Cmd::Filter => {
                self.filter_input = Some(Input::new(self.filter.clone()));
                Action::Redraw
            }
            Cmd::Open => self.open_current(self.caps()),
            Cmd::New => {
                match forms::create(self.resource, self.scope.as_ref().map(|(_, d)| d.as_str())) {
                    Some(f) => Action::OpenForm(f),
                    None => Action::Ignored,
                }
            }
            Cmd::Delete => self.ask_delete(),
            Cmd::Suspend => self.toggle_status(),
            Cmd::Mark => self.toggle_mark(),
            Cmd::MarkRange => self.mark_range(),
            Cmd::MarkAll => Action::MarkAll(self.resource, self.filter_now()),
            Cmd::Unmark if !self.marks.is_empty() => {
                self.clear_marks();
                Action::Redraw
            }
            Cmd::BulkSuspend => self.ask_bulk(BulkAction::Suspend),
            Cmd::BulkActivate => self.ask_bulk(BulkAction::Activate),
            Cmd::BulkDelete => self.ask_bulk(BulkAction::Delete),
            Cmd::BulkEdit => {
                if self.marks.is_empty() {
                    return Action::Status("Nothing marked: Space marks a row.".into());
                }
                Action::EditMarked(self.resource, self.marks.iter().cloned().collect())
            }
            Cmd::BulkQuota => self.ask_bulk_form(forms::BulkForm::Quota),
            Cmd::BulkLimits => self.ask_bulk_form(forms::BulkForm::Limits),
            Cmd::BulkGrant => self.ask_bulk_form(forms::BulkForm::Grant),
            Cmd::BulkRevoke => self.ask_bulk_form(forms::BulkForm::Revoke),
            Cmd::Sort => self.cycle_sort(false),
            Cmd::Reverse => self.cycle_sort(true),
            Cmd::History => match self.current() {
                Some(row) => match row.id32() {
                    Ok(id) => Action::History(self.resource, id, format!("usage of {}", row.key)),
                    Err(e) => Action::Fail(e.to_string()),
                },
                None => Action::Ignored,
            },
            Cmd::Row(rc) => match self.current() {
                Some(row) => self.spec().run(rc, row),
                None => Action::Ignored,
            },
            Cmd::Unmark
            | Cmd::QuitNow
            | Cmd::Stop
            | Cmd::Quit
            | Cmd::Help
            | Cmd::Command
            | Cmd::Tail
            | Cmd::Back
            | Cmd::Message
            | Cmd::Pause
            | Cmd::DashReload => Action::Ignored,
        }
    }

    fn down(&mut self) -> Action {
        if self.selected + 1 < self.rows.len() {
            self.selected += 1;
            return Action::Redraw;
        }
        match (self.at_end, self.rows.last()) {
            (false, Some(last)) => {
                let after = Some(last.cursor_for(self.sort));
                Action::Fetch(self.fetch(
                    Anchor {
                        after,
                        backward: false,
                    },
                    Select::First,
                ))
            }
            _ => Action::Ignored,
        }
    }

    fn up(&mut self) -> Action {
        if self.selected > 0 {
            self.selected -= 1;
            return Action::Redraw;
        }
        match (self.at_start, self.rows.first()) {
            (false, Some(first)) => {
                let after = Some(first.cursor_for(self.sort));
                Action::Fetch(self.fetch(
                    Anchor {
                        after,
                        backward: true,
                    },
                    Select::Last,
                ))
            }
            _ => Action::Ignored,
        }
    }

    fn page_down(&mut self) -> Action {
        self.page(false)
    }

    fn page_up(&mut self) -> Action {
        self.page(true)
    }

    /// The next page (`backward`: the previous one), the cursor at the
    /// same height; at an end, the cursor goes to the end row instead.
    fn page(&mut self, backward: bool) -> Action {
        let (at_end, edge, end_row) = if backward {
            (self.at_start, self.rows.first(), 0)
        } else {
            (
                self.at_end,
                self.rows.last(),
                self.rows.len().saturating_sub(1),
            )
        };
        match (at_end, edge) {
            (false, Some(edge)) => {
                let after = Some(edge.cursor_for(self.sort));
                Action::Fetch(self.fetch(Anchor { after, backward }, Select::Keep(self.selected)))
            }
            _ if !self.rows.is_empty() && self.selected != end_row => {
                self.selected = end_row;
                Action::Redraw
            }
            _ => Action::Ignored,
        }
    }

    fn open_current(&self, caps: Caps) -> Action {
        let Some(row) = self.current() else {
            return Action::Ignored;
        };
        if caps.edit {
            if let Some(f) = forms::edit(self.resource, row) {
                return Action::OpenForm(f);
            }
        }
        let title = format!("{} {}", self.resource.noun(), row.key);
        Action::Detail(
            title,
            row.fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn ask_delete(&self) -> Action {
        let Some(row) = self.current() else {
            return Action::Ignored;
        };
        let Some(write) = self.spec().delete(row) else {
            return Action::Ignored;
        };
        Action::AskDelete {
            resource: self.resource,
            key: row.key.clone(),
            write,
        }
    }

    fn toggle_status(&self) -> Action {
        let Some(row) = self.current() else {
            return Action::Ignored;
        };
        if let Some((_, action)) = self.spec().status_key(row) {
            return action;
        }
        let status = match row.status.as_deref() {
            Some("active") => Status::Suspended,
            Some(_) => Status::Active,
            None => return Action::Ignored,
        };
        let write = Write::SetStatus {
            resource: self.resource,
            key: row.key.clone(),
            status,
        };
        // A domain takes all its mailboxes and aliases down with it: ask
        // first, with the count, as a delete does (default No).
        if self.spec().suspend_asks() && status == Status::Suspended {
            return Action::AskBulk {
                preview: Request::StatusImpact {
                    resource: self.resource,
                    key: row.key.clone(),
                },
                write,
            };
        }
        Action::Write(write)
    }

    /// The keys that do something here, for the footer and `?`: the key
    /// table's rows this screen makes available, with what they would do to
    /// the row under the cursor.
    pub fn keys(&self) -> Vec<Offer> {
        if self.filter_input.is_some() {
            let mut keys = vec![
                Offer::of(Cmd::Open).what("keep filter"),
                Offer::of(Cmd::Back).what("clear filter").rank(2),
            ];
            if let Some((syntax, _)) = self.spec().filter_syntax() {
                // The syntax, where it is being typed; first, so it fits
                // at 80 columns (`?` has the long form).
                keys.insert(0, Offer::of(Cmd::Filter).what(syntax));
            }
            return keys;
        }
        let marked = !self.marks.is_empty();
        keys::BINDINGS
            .iter()
            .filter(|x| self.available(x.cmd))
            .map(|x| {
                let o = Offer::of(x.cmd);
                match x.cmd {
                    Cmd::Open if !self.caps().edit => o.what("details"),
                    Cmd::Logins if self.show_hidden => o.what("hide CLI logins"),
                    Cmd::Filter => match self.spec().filter_syntax() {
                        Some((_, short)) => o.what(short),
                        None => o,
                    },
                    Cmd::Suspend => match self.current() {
                        Some(r) => match (self.spec().status_key(r), r.status.as_deref()) {
                            (Some((word, _)), _) => o.what(word),
                            (None, Some("active") | None) => o,
                            (None, Some(_)) => o.what("activate"),
                        },
                        None => o,
                    },
                    // Bulk keys crowd the footer only while something is
                    // marked; `?` lists them always.
                    _ if x.group == keys::Group::Marks && x.cmd != Cmd::Mark && !marked => {
                        o.rank(0)
                    }
                    _ => o,
                }
            })
            .collect()
    }

    /// The border's title: the table, the filter, and what is going on.
    fn title_line(&self, theme: &Theme) -> Line<'static> {
        let mut title = vec![Span::styled(format!(" {} ", self.title()), theme.title())];
        if self.filter_input.is_some() {
            title.push(Span::styled(format!("/{}█ ", self.filter), theme.focus()));
        } else if !self.filter.is_empty() {
            title.push(Span::raw(format!("/{} ", self.filter)));
        }
        if self.has(Cmd::Logins) && !self.show_hidden {
            title.push(Span::styled("CLI logins hidden ", theme.dim()));
        }
        if self.loading {
            title.push(Span::styled("loading… ", theme.dim()));
        }
        if !self.marks.is_empty() {
            // Always visible while anything is marked, on any page.
            title.push(Span::styled(
                format!("{} marked ", crate::ops::bulk::thousands(self.marks.len())),
                theme.focus(),
            ));
        }
        Line::from(title)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        let more = match (self.at_start, self.at_end) {
            (true, true) => "",
            (false, true) => " ↑ more ",
            (true, false) => " ↓ more ",
            (false, false) => " ↑↓ more ",
        };
        let block = Block::bordered()
            .title(self.title_line(theme))
            .title_bottom(Line::from(more).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        if self.rows.is_empty() {
            let (text, style) = match (&self.error, self.loading) {
                (Some(e), _) => (e.clone(), theme.error()),
                (None, true) => ("Loading…".to_string(), theme.dim()),
                (None, false) if self.filter.is_empty() => {
                    let hint = if self.caps().create {
                        " — n adds one"
                    } else {
                        ""
                    };
                    (format!("No rows yet{hint}."), theme.dim())
                }
                (None, false) => ("No rows match the filter.".to_string(), theme.dim()),
            };
            f.render_widget(Paragraph::new(Line::styled(text, style)), inner);
            return;
        }
        let columns = self.spec().columns();
        // The first column is as wide as this page's longest entry (with the
        // header's sort mark and a marked row's `* `), so addresses are not
        // cut while a name or description can give way.
        let need = self
            .rows
            .iter()
            .map(|r| {
                let mark = if self.marks.contains(&r.key) { 2 } else { 0 };
                r.cells.first().map_or(0, |c| c.chars().count()) + mark
            })
            .chain(columns.first().map(|c| c.label.chars().count() + 2))
            .max()
            .unwrap_or(0);
        let widths = spec::fit_columns(self.spec(), inner.width, need);
        // The indicator sits on the column the list is ordered by.
        let sorted_col = self
            .sortable()
            .iter()
            .find(|(k, _)| *k == self.sort.key)
            .map(|(_, i)| *i)
            .unwrap_or(self.spec().ordered_by());
        let mark = if self.sortable().is_empty() {
            if self.spec().newest_first() {
                "▼"
            } else {
                "▲"
            }
        } else if self.sort.desc {
            "▼"
        } else {
            "▲"
        };
        // Every cell fitted to its column's real width: a cut shows `…`.
        let fit = super::cells::column_widths(inner, &widths);
        let right: Vec<usize> = (0..columns.len()).filter(|i| columns[*i].right).collect();
        let right = right.as_slice();
        let header_names: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == sorted_col {
                    format!("{} {mark}", c.label)
                } else {
                    c.label.to_string()
                }
            })
            .collect();
        let header = TRow::new(super::cells::fitted(
            header_names.iter().map(String::as_str),
            &fit,
            right,
        ))
        .style(theme.column_header());
        let grades: Vec<usize> = (0..columns.len()).filter(|i| columns[*i].grade).collect();
        let paint = |texts: &[String], cells: Vec<ratatui::widgets::Cell<'static>>| {
            grade_cells(texts, cells, &grades, theme)
        };
        let body = self.rows.iter().map(|r| {
            let style = match r.status.as_deref() {
                Some("suspended") | Some("deleted") => theme.suspended(),
                _ => Style::default(),
            };
            if self.marks.contains(&r.key) {
                let mut cells = r.cells.clone();
                if let Some(first) = cells.first_mut() {
                    *first = format!("* {first}");
                }
                return TRow::new(paint(
                    &cells,
                    super::cells::fitted(cells.iter().map(String::as_str), &fit, right),
                ))
                .style(style.patch(theme.focus()));
            }
            TRow::new(paint(
                &r.cells,
                super::cells::fitted(r.cells.iter().map(String::as_str), &fit, right),
            ))
            .style(style)
        });
        let table = Table::new(body, widths)
            .header(header)
            .row_highlight_style(theme.selected())
            .column_spacing(1);
        let mut state = TableState::default().with_selected(Some(self.selected));
        f.render_stateful_widget(table, inner, &mut state);
    }
}

/// With color, a grade column's word becomes its symbol in the grade's
/// color (✓ green, ! yellow, ✗ red); under NO_COLOR the word stays, since
/// a bare symbol would carry the meaning by shape alone.
fn grade_cells(
    texts: &[String],
    mut cells: Vec<ratatui::widgets::Cell<'static>>,
    columns: &[usize],
    theme: &Theme,
) -> Vec<ratatui::widgets::Cell<'static>> {
    if !theme.color {
        return cells;
    }
    for &i in columns {
        let Some(text) = texts.get(i) else { continue };
        let Some((word, symbol)) = spec::GRADE_WORDS.iter().find(|(w, _)| w == text) else {
            continue;
        };
        let style = match *word {
            "ok" => theme.ok(),
            "warn" => theme.warn(),
            _ => theme.crit(),
        };
        if let Some(c) = cells.get_mut(i) {
            *c = ratatui::widgets::Cell::from(Span::styled(*symbol, style));
        }
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::RowCmd;

    fn screen(e: Entity, id: i64) -> TableScreen {
        let mut t = TableScreen::new(e, None, Role::Admin);
        t.rows = vec![Row {
            key: "example.com".into(),
            cursor: "example.com".into(),
            id,
            version: Some(1),
            status: Some("active".into()),
            cells: vec!["example.com".into()],
            fields: Vec::new(),
            usage: None,
        }];
        t
    }

    /// An id beyond the 32-bit keys is said, never sent as 0 or cut to fit.
    #[test]
    fn an_out_of_range_id_is_an_error_not_row_zero() {
        let big = i64::from(i32::MAX) + 1;
        for cmd in [Cmd::History, Cmd::Row(RowCmd::Mailboxes)] {
            match screen(Entity::Domains, big).run(cmd) {
                Action::Fail(m) => assert!(m.contains(&big.to_string()), "{m}"),
                other => panic!("{cmd:?}: {other:?}"),
            }
        }
        match screen(Entity::MailServers, big).run(Cmd::Row(RowCmd::ConfigView)) {
            Action::Fail(_) => {}
            other => panic!("{other:?}"),
        }
        match screen(Entity::Domains, 7).run(Cmd::History) {
            Action::History(Entity::Domains, 7, _) => {}
            other => panic!("{other:?}"),
        }
    }

    /// `E` edits the marked rows of the screen's own table, whichever it is.
    #[test]
    fn edit_marked_names_the_screens_own_table() {
        for e in Entity::ALL {
            let mut t = screen(e, 1);
            if !t.available(Cmd::BulkEdit) {
                continue;
            }
            assert!(e.csv(), "{e:?} offers E but has no sheet");
            t.marks.insert("example.com".into());
            match t.run(Cmd::BulkEdit) {
                Action::EditMarked(table, keys) => {
                    assert_eq!(table, e);
                    assert_eq!(keys, ["example.com"]);
                }
                other => panic!("{e:?}: {other:?}"),
            }
        }
    }

    /// PgDn/PgUp at an end move the cursor to the end row, once.
    #[test]
    fn paging_at_an_end_moves_to_the_end_row() {
        let mut t = screen(Entity::Domains, 1);
        t.rows.push(t.rows[0].clone());
        t.rows.push(t.rows[0].clone());
        assert!(matches!(t.run(Cmd::PageDown), Action::Redraw));
        assert_eq!(t.selected, 2);
        assert!(matches!(t.run(Cmd::PageDown), Action::Ignored));
        assert!(matches!(t.run(Cmd::PageUp), Action::Redraw));
        assert_eq!(t.selected, 0);
        assert!(matches!(t.run(Cmd::PageUp), Action::Ignored));
        t.at_end = false;
        match t.run(Cmd::PageDown) {
            Action::Fetch(Request::Live { page, .. }) => {
                assert!(!page.backward);
                assert!(page.after.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}
