//! The Audit log screen (and the live tail's rows).

use crate::tui::form::Field;
use crate::tui::reader::Reader;
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec};
use crate::model::Role;
use crate::tui::keys::Cmd;
use crate::tui::rows::{clean, opt, time, Row};
use crate::worker::Write;

fields! {
    pub enum F {
        Time = "time",
        Actor = "actor",
        Action = "action",
        Resource = "resource",
        Result = "result",
        From = "from",
        Client = "client",
        Details = "details",
    }
}

pub struct Audit;

const COLUMNS: &[Column] = &[
    col("Id", Length(6)).right(),
    col("Time", Length(16)),
    col("Actor", Fill(1)),
    col("Action", Fill(1)),
    // The resource is a type and a name (`mailbox bob@example.com`): it
    // gets most of the room, so an address stays whole at 80.
    col("Resource", Fill(4)),
    col("Result", Length(7)),
];

impl Spec for Audit {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        false
    }
    fn caps(&self, _role: Role) -> Caps {
        Caps::NONE
    }
    fn commands(&self) -> &'static [Cmd] {
        &[Cmd::Logins]
    }
    fn delete(&self, _row: &Row) -> Option<Write> {
        None
    }
    fn filter_syntax(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "actor: action: resource: result: text",
            "filter (actor: action: …)",
        ))
    }
    fn newest_first(&self) -> bool {
        true
    }
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        None
    }
    fn edit(&self, _row: &Row) -> Option<Vec<Field>> {
        None
    }
    fn build(&self, _r: &mut Reader<'_>, _editing: Option<(&str, i32)>) -> Option<Write> {
        None
    }
}

pub fn row(n: &crate::ops::audit::Named) -> Row {
    let a = &n.entry;
    let resource = clean(&n.resource);
    Row {
        usage: None,
        key: a.id.to_string(),
        cursor: a.id.to_string(),
        id: a.id,
        version: None,
        status: None,
        cells: vec![
            a.id.to_string(),
            time(&a.timestamp),
            opt(&a.actor),
            clean(&a.action),
            resource.clone(),
            clean(&a.result),
        ],
        fields: pairs(vec![
            (F::Time, time(&a.timestamp)),
            (F::Actor, opt(&a.actor)),
            (F::Action, clean(&a.action)),
            (F::Resource, resource),
            (F::Result, clean(&a.result)),
            (F::From, opt(&a.ip_address)),
            (F::Client, opt(&a.user_agent)),
            (F::Details, opt(&a.details)),
        ]),
    }
}

// The worker's pages of this table, drawn by `row`.
crate::records!(crate::ops::audit::Named, row);
