//! The values the data commands read from their arguments, made ready for
//! `ops`: the list arguments as a store filter and page, sizes, dates, and
//! a domain name as its id.

use super::args::{ListArgs, PageArgs};
use super::CliError;
use crate::db::AnyConnection;
use crate::model::Status;
use crate::ops::{self, Ctx};
use crate::store::{Filter, Page};
use crate::validate;

pub(super) fn page(p: &PageArgs) -> Page {
    Page {
        after: p.after.clone(),
        limit: Some(p.limit),
        ..Default::default()
    }
}

pub(super) fn filter(l: &ListArgs, domain_id: Option<i32>) -> Result<Filter, CliError> {
    let status = match &l.status {
        Some(s) => Some(Status::parse("status", s)?.as_str().to_string()),
        None => None,
    };
    let sort = match &l.sort {
        Some(s) => crate::store::Sort::parse("sort", s, l.desc)?,
        None => crate::store::Sort {
            desc: l.desc,
            ..Default::default()
        },
    };
    Ok(Filter {
        text: l.filter.clone(),
        status,
        domain_id,
        sort,
        show_hidden: false,
    })
}

/// Lists other than domains and mailboxes go by name only (either way).
pub(super) fn by_name_only(l: &ListArgs) -> Result<(), CliError> {
    match l.sort.as_deref().map(str::trim) {
        None | Some("name") => Ok(()),
        Some(other) => Err(CliError::Op(crate::error::OpError::invalid(
            "sort",
            format!("this list is ordered by name only (got {other:?})"),
        ))),
    }
}

pub(super) fn size_opt(field: &str, v: &Option<String>) -> Result<Option<i64>, CliError> {
    Ok(match v {
        Some(s) => Some(validate::size(field, s)?),
        None => None,
    })
}

pub(super) fn domain_id(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &Option<String>,
) -> Result<Option<i32>, CliError> {
    Ok(match name {
        Some(n) => Some(ops::domains::get(conn, ctx, n)?.id),
        None => None,
    })
}

/// A date (midnight UTC) or an RFC 3339 timestamp, as naive UTC.
pub(super) fn parse_date(field: &str, s: &str) -> Result<chrono::NaiveDateTime, CliError> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN));
    }
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.naive_utc())
        .map_err(|_| {
            CliError::Op(crate::error::OpError::invalid(
                field,
                format!("{s:?} is not a date: use YYYY-MM-DD or RFC 3339"),
            ))
        })
}
