//! The Senders screen (issue 21): the busiest senders of this hour and of
//! today with their limits and state, live by the policy service's
//! counters and the newest audit entry (`ops::send_limits::senders_token`).
//!
//! Not a table of rows in the database: a sender's line is put together
//! from two counter windows, its own, its domain's and the default limits,
//! and its suspension. `ops::send_limits::sender_lines` gives at most
//! `TOP` of them, busiest first; pages are keyset pages over that set in
//! that order (the cursor is the order's key), so paging, the filter and
//! the live refresh work as on any table screen.

use std::cmp::Reverse;
use std::collections::HashMap;

use crate::db::AnyConnection;
use crate::error::OpError;
use crate::listing::Listing;
use crate::model::Entity;
use crate::ops::send_limits::{self, SenderLine};
use crate::ops::Ctx;
use crate::store::send_limits::{Limits, Suspension};
use crate::store::{self, Filter, Page};

use super::{HostSettings, LiveToken, Source};

/// The most senders the screen lists (`sender_lines`' own cap).
pub const TOP: i64 = 1000;

/// One sender's line and what the screen says about it besides the
/// counts: the limits it has itself, its domain's, the defaults, and its
/// suspension (automatic or by hand, why, since when).
#[derive(Debug, Clone)]
pub struct SenderEntry {
    pub line: SenderLine,
    pub own: Limits,
    pub domain: Limits,
    pub defaults: Limits,
    pub suspension: Option<Suspension>,
}

pub struct Senders;

impl Source for Senders {
    fn entity(&self) -> Entity {
        Entity::Senders
    }

    fn list(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &HostSettings,
        f: &Filter,
        p: &Page,
    ) -> Result<Listing, OpError> {
        let text = f.text.as_deref().map(str::to_lowercase);
        let lines: Vec<SenderLine> = send_limits::sender_lines(c, ctx, &host.policyd, TOP)?
            .into_iter()
            .filter(|l| {
                text.as_deref()
                    .is_none_or(|t| l.sender.to_lowercase().contains(t))
            })
            .collect();
        let page = keyset(lines, p)?;
        Ok(Listing::new(entries(c, ctx, host, page)?))
    }

    fn row(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &HostSettings,
        key: &str,
    ) -> Result<Listing, OpError> {
        let line = send_limits::sender_line(c, ctx, &host.policyd, key)?;
        Ok(Listing::new(entries(c, ctx, host, vec![line])?))
    }

    fn token(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        _f: &Filter,
    ) -> Result<Option<LiveToken>, OpError> {
        Ok(Some(send_limits::senders_token(c, ctx)?))
    }
}

/// The order of the list, as `sender_lines` sorts it: messages this hour,
/// then today, then recipients this hour, most first; then the name.
type Key = (Reverse<i64>, Reverse<i64>, Reverse<i64>, String);

fn key(l: &SenderLine) -> Key {
    (
        Reverse(l.hour.messages),
        Reverse(l.day.messages),
        Reverse(l.hour.recipients),
        l.sender.clone(),
    )
}

/// A line's keyset cursor: its order key, the name last (it may hold
/// anything, the numbers cannot hold the separator).
pub fn cursor(l: &SenderLine) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        l.hour.messages, l.day.messages, l.hour.recipients, l.sender
    )
}

fn parse_cursor(s: &str) -> Result<Key, OpError> {
    let bad = || OpError::invalid("cursor", "not a position in the Senders list");
    let mut it = s.splitn(4, '\u{1f}');
    let mut num = || -> Result<i64, OpError> {
        it.next()
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(bad)
    };
    let (h, d, r) = (num()?, num()?, num()?);
    let name = it.next().ok_or_else(bad)?;
    Ok((Reverse(h), Reverse(d), Reverse(r), name.to_string()))
}

/// One page of `lines` (in list order): after the cursor, or the rows just
/// before it (`backward`), or the first or last page.
fn keyset(lines: Vec<SenderLine>, p: &Page) -> Result<Vec<SenderLine>, OpError> {
    let limit = usize::try_from(p.limit.unwrap_or(50).clamp(1, store::MAX_PAGE)).unwrap_or(50);
    let at = match &p.after {
        Some(c) => Some(parse_cursor(c)?),
        None => None,
    };
    let page: Vec<SenderLine> = match (at, p.backward) {
        (None, false) => lines.into_iter().take(limit).collect(),
        (Some(at), false) => lines
            .into_iter()
            .filter(|l| key(l) > at)
            .take(limit)
            .collect(),
        (at, true) => {
            let before: Vec<SenderLine> = lines
                .into_iter()
                .filter(|l| at.as_ref().is_none_or(|at| key(l) < *at))
                .collect();
            let skip = before.len().saturating_sub(limit);
            before.into_iter().skip(skip).collect()
        }
    };
    Ok(page)
}

/// The page's lines with their limits by source and their suspensions:
/// two small reads (the stored limits, the suspensions in the user's
/// scope), whatever the page's size.
fn entries(
    c: &mut AnyConnection,
    ctx: &Ctx,
    host: &HostSettings,
    lines: Vec<SenderLine>,
) -> Result<Vec<SenderEntry>, OpError> {
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let mut mailboxes = HashMap::new();
    let mut domains = HashMap::new();
    for (name, is_mailbox, l) in store::send_limits::all_named(c)? {
        if is_mailbox {
            mailboxes.insert(name, l);
        } else {
            domains.insert(name, l);
        }
    }
    let mut suspended: HashMap<String, Suspension> = send_limits::suspensions(c, ctx)?
        .into_iter()
        .map(|s| (s.address.clone(), s))
        .collect();
    let defaults = send_limits::defaults(&host.policyd);
    Ok(lines
        .into_iter()
        .map(|line| {
            let domain = line
                .sender
                .rsplit_once('@')
                .and_then(|(_, d)| domains.get(d))
                .copied()
                .unwrap_or_default();
            SenderEntry {
                own: mailboxes.get(&line.sender).copied().unwrap_or_default(),
                domain,
                defaults,
                suspension: suspended.remove(&line.sender),
                line,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::send_limits::Counts;

    fn line(sender: &str, hour: i64, day: i64) -> SenderLine {
        SenderLine {
            sender: sender.into(),
            hour: Counts {
                messages: hour,
                ..Default::default()
            },
            day: Counts {
                messages: day,
                ..Default::default()
            },
            limits: Limits::default(),
            suspended: false,
        }
    }

    fn names(v: &[SenderLine]) -> Vec<&str> {
        v.iter().map(|l| l.sender.as_str()).collect()
    }

    /// Pages follow the list's own order (busiest first, then the name)
    /// both ways, from any cursor, as keyset pages of a table do.
    #[test]
    fn pages_walk_the_busiest_first_order_both_ways() {
        let all = vec![
            line("a@x", 9, 9),
            line("b@x", 5, 50),
            line("c@x", 5, 40),
            line("d@x", 5, 40),
            line("e@x", 0, 7),
        ];
        let page = |after: Option<String>, backward| Page {
            after,
            limit: Some(2),
            backward,
        };
        let first = keyset(all.clone(), &page(None, false)).unwrap();
        assert_eq!(names(&first), ["a@x", "b@x"]);
        let next = keyset(all.clone(), &page(Some(cursor(&first[1])), false)).unwrap();
        assert_eq!(names(&next), ["c@x", "d@x"]);
        let last = keyset(all.clone(), &page(None, true)).unwrap();
        assert_eq!(names(&last), ["d@x", "e@x"]);
        let back = keyset(all.clone(), &page(Some(cursor(&next[0])), true)).unwrap();
        assert_eq!(names(&back), ["a@x", "b@x"]);
        assert!(keyset(all, &page(Some("junk".into()), false)).is_err());
    }
}
