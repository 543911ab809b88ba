//! What a table screen lists, between the worker that reads it and the
//! spec that draws it: a page of one table's records (`Listing`), each
//! record set drawn into display `Row`s by the `Records` impl its table's
//! spec (`tui/spec/<table>.rs`) gives. The worker names no table's row
//! type and the screen no table's query: a new table adds its reader
//! (`worker/source/<table>.rs`) and its drawing, and neither side's
//! dispatch changes.

use std::fmt::Debug;
use std::sync::Arc;

/// A field of a row and of its forms, by id; `name` is what ops calls it
/// in `OpError::field()` and what the detail view shows.
pub trait FieldId: Copy {
    fn name(self) -> &'static str;
}

/// A database row as a table draws it. Every string in it has been
/// through `sanitize::for_terminal` by the spec that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What ops looks the row up by (name, address, "user/domain", id).
    pub key: String,
    /// The keyset cursor of this row in its list.
    pub cursor: String,
    pub id: i64,
    pub version: Option<i32>,
    pub status: Option<String>,
    pub cells: Vec<String>,
    /// Every shown value by name: the detail view and form pre-fill.
    pub fields: Vec<(&'static str, String)>,
    /// Bytes used and quota, for lists that sort by them (the cursor of a
    /// sorted page is the sort value plus the name).
    pub usage: Option<(i64, i64)>,
}

impl Row {
    /// The keyset cursor of this row under `sort` (the name, or the sort
    /// value and the name); the value is computed as the SQL does.
    pub fn cursor_for(&self, sort: crate::store::Sort) -> String {
        match self.usage {
            Some((used, limit)) => sort.cursor(used, limit, &self.cursor),
            None => self.cursor.clone(),
        }
    }

    /// The id as the 32-bit key of the tables that have one.
    pub fn id32(&self) -> Result<i32, IdOutOfRange> {
        i32::try_from(self.id).map_err(|_| IdOutOfRange(self.id))
    }

    /// A shown value by its id; every id a spec names is in its rows.
    pub fn field(&self, id: impl FieldId) -> &str {
        self.named(id.name())
    }

    /// A shown value by the name ops or a form uses for it ("" if the row
    /// has none: a form field the list does not show).
    pub fn named(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// A row id beyond the 32-bit keys the table's ops take: never made up
/// (as 0, or cut to fit), always said.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row id {0} is out of range for this table; nothing was done")]
pub struct IdOutOfRange(pub i64);

/// A page of one table's records as read, and how they are drawn.
pub trait Records: Debug + Send + Sync {
    fn rows(&self) -> Vec<Row>;
}

/// What the worker answers a page or row request with. Shared, not
/// copied: a reply is read once and may be kept for a refresh.
#[derive(Debug, Clone)]
pub struct Listing(Arc<dyn Records>);

impl Listing {
    pub fn new(records: impl Records + 'static) -> Listing {
        Listing(Arc::new(records))
    }

    pub fn rows(&self) -> Vec<Row> {
        self.0.rows()
    }
}

/// `Records` for a `Vec` of one table's row type, drawn one by one by the
/// spec's `row` function: the usual case, one line in the spec's file.
#[macro_export]
macro_rules! records {
    ($t:ty, $row:path) => {
        impl $crate::listing::Records for Vec<$t> {
            fn rows(&self) -> Vec<$crate::listing::Row> {
                self.iter().map($row).collect()
            }
        }
    };
}
