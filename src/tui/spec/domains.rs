//! The Domains screen.

use crate::dns::Grade;
use crate::ops::command::dkim::Marker;
use crate::ops::command::dns::{CheckDns, DnsDetail, DnsMark};
use crate::ops::domains::DomainInput;
use crate::tui::action::Action;
use crate::tui::form::Field;
use crate::tui::forms::{COUNT_HINT, SIZE_HINT, YES_NO};
use crate::tui::reader::Reader;
use crate::validate;
use ratatui::layout::Constraint::{Fill, Length};

use super::{col, fields, pairs, Caps, Column, Spec, USAGE_WIDTH};
use crate::model::{Entity, Role};
use crate::store::SortKey;
use crate::tui::keys::{Cmd, RowCmd};
use crate::tui::rows::{clean, count, opt, time, usage_bar, used, Row};
use crate::validate::format_size;
use crate::worker::Write;

fields! {
    pub enum F {
        Name = "name",
        Status = "status",
        Description = "description",
        QuotaUsed = "quota_used",
        QuotaLimit = "quota_limit",
        MaxMailboxes = "max_mailboxes",
        MaxAliases = "max_aliases",
        MaxMailboxQuota = "max_mailbox_quota",
        Transport = "transport",
        Dkim = "dkim",
        Dns = "dns",
        DefaultAliases = "default_aliases",
        CreatedAt = "created_at",
        UpdatedAt = "updated_at",
        Version = "version",
    }
}

pub struct Domains;

/// The DKIM state ("retiring" is the longest): the selector would take
/// another 9 columns from the domain name at 80 columns, so it is on the
/// DKIM screen (`K`) and in the row's details (Enter, for those who may
/// not edit).
const DKIM_WIDTH: u16 = 8;

/// The DNS state: ✓ ! ✗ with color, "error" (the longest word) without.
const DNS_WIDTH: u16 = 5;

const COLUMNS: &[Column] = &[
    col("Domain", Fill(3)).sort(SortKey::Name),
    col("Status", Length(9)),
    col("Used", Length(6)).sort(SortKey::Used).right(),
    col("Quota", Length(9)).sort(SortKey::Quota).right(),
    // A limit (also in the details): folds first for a long domain name.
    col("Mbx max", Length(9)).right().gives_way(),
    col("Usage", Length(USAGE_WIDTH)).sort(SortKey::Usage),
    col("DKIM", Length(DKIM_WIDTH)),
    col("DNS", Length(DNS_WIDTH)).grade(),
    col("Description", Fill(2)),
];

impl Spec for Domains {
    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }
    fn keyed(&self) -> bool {
        true
    }
    fn caps(&self, role: Role) -> Caps {
        match role {
            Role::Admin => Caps::ALL,
            // A user with the `domain` permission may edit a domain's description.
            Role::User => Caps {
                edit: true,
                ..Caps::NONE
            },
            Role::Readonly => Caps::NONE,
        }
    }
    fn commands(&self) -> &'static [Cmd] {
        &[
            Cmd::Mark,
            Cmd::MarkRange,
            Cmd::MarkAll,
            Cmd::Unmark,
            Cmd::BulkSuspend,
            Cmd::BulkActivate,
            Cmd::BulkEdit,
            Cmd::BulkLimits,
            Cmd::BulkGrant,
            Cmd::BulkRevoke,
            Cmd::History,
            Cmd::Row(RowCmd::Mailboxes),
            Cmd::Row(RowCmd::Aliases),
            Cmd::Row(RowCmd::DkimKeys),
            Cmd::Row(RowCmd::DnsDetail),
            Cmd::Row(RowCmd::DnsCheck),
        ]
    }
    /// The domain's rows elsewhere; the DNS check: the stored result (a
    /// read), or a new one (asks DNS on the worker's slow lane; ops lets
    /// anyone who may read the domain).
    fn run(&self, cmd: RowCmd, row: &Row) -> Action {
        let domain = row.key.clone();
        match cmd {
            RowCmd::Mailboxes => super::open_scoped(row, Entity::Mailboxes),
            RowCmd::Aliases => super::open_scoped(row, Entity::Aliases),
            RowCmd::DkimKeys => super::open_scoped(row, Entity::DkimKey),
            RowCmd::DnsDetail => Action::View(Box::new(DnsDetail { domain })),
            RowCmd::DnsCheck => Action::Write(Write::Command {
                verb: "check",
                command: Box::new(CheckDns { domain }),
            }),
            _ => Action::Ignored,
        }
    }
    fn delete(&self, row: &Row) -> Option<Write> {
        Some(Write::DeleteDomain {
            name: row.key.clone(),
            cascade: true,
        })
    }
    fn suspend_asks(&self) -> bool {
        true
    }
    fn create(&self, _domain: Option<&str>) -> Option<Vec<Field>> {
        Some(vec![
            Field::new(F::Name, "Domain", "", "example.com"),
            Field::new(F::Description, "Description", "", ""),
            // Unlimited, as `domain add` without --quota: a 1G total equal to
            // the default mailbox quota would refuse the second mailbox.
            Field::new(F::QuotaLimit, "Total quota", "", "e.g. 500M, 2T").with_default("unlimited"),
            Field::new(F::MaxMailboxes, "Max mailboxes", "", "").with_default("unlimited"),
            Field::new(F::MaxAliases, "Max aliases", "", "").with_default("unlimited"),
            Field::new(F::MaxMailboxQuota, "Max per mailbox", "", "e.g. 2G")
                .with_default("unlimited"),
            Field::new(F::Transport, "Transport", "", "empty = default"),
            // As `domain add` ([lifecycle] default_aliases); "no" is
            // `--no-default-aliases`.
            Field::choice(F::DefaultAliases, "Role aliases", "yes", YES_NO),
        ])
    }
    fn edit(&self, row: &Row) -> Option<Vec<Field>> {
        let v = |id: F| row.field(id).to_string();
        Some(vec![
            Field::new(F::Description, "Description", &v(F::Description), ""),
            Field::new(F::QuotaLimit, "Total quota", &v(F::QuotaLimit), SIZE_HINT),
            Field::new(
                F::MaxMailboxes,
                "Max mailboxes",
                &v(F::MaxMailboxes),
                COUNT_HINT,
            ),
            Field::new(F::MaxAliases, "Max aliases", &v(F::MaxAliases), COUNT_HINT),
            Field::new(
                F::MaxMailboxQuota,
                "Max per mailbox",
                &v(F::MaxMailboxQuota),
                SIZE_HINT,
            ),
            Field::new(
                F::Transport,
                "Transport",
                &v(F::Transport),
                "empty = default",
            ),
        ])
    }
    fn build(&self, r: &mut Reader<'_>, editing: Option<(&str, i32)>) -> Option<Write> {
        if editing.is_none() {
            r.check(F::Name, validate::domain);
        }
        r.check(F::Description, validate::description);
        r.check(F::Transport, validate::transport);
        Some(match editing {
            None => Write::CreateDomain {
                name: r.text(F::Name),
                input: DomainInput {
                    description: r.optional(F::Description),
                    quota_limit: r.size(F::QuotaLimit),
                    max_mailboxes: r.count(F::MaxMailboxes),
                    max_aliases: r.count(F::MaxAliases),
                    max_mailbox_quota: r.size(F::MaxMailboxQuota),
                    transport: r.optional(F::Transport),
                    password_max_age_days: None,
                },
                default_aliases: r.yes_no(F::DefaultAliases),
            },
            Some((key, version)) => Write::EditDomain {
                name: key.to_string(),
                version: Some(version),
                input: DomainInput {
                    description: r.changed(F::Description),
                    quota_limit: r.size(F::QuotaLimit),
                    max_mailboxes: r.count(F::MaxMailboxes),
                    max_aliases: r.count(F::MaxAliases),
                    max_mailbox_quota: r.size(F::MaxMailboxQuota),
                    transport: r.changed(F::Transport),
                    password_max_age_days: None,
                },
            },
        })
    }
}

/// The DKIM details: the signing key's selector, else a waiting key's;
/// a dash for no key (or only revoked ones).
fn dkim(m: Option<&Marker>) -> String {
    match m {
        Some(m) => format!("{} {}", clean(&m.state), clean(&m.selector)),
        None => "—".into(),
    }
}

/// The DKIM column: the state alone.
fn dkim_state(m: Option<&Marker>) -> String {
    m.map_or_else(|| "—".into(), |m| clean(&m.state))
}

/// The DNS column: the grade's word (the table draws a symbol instead
/// when it has color); a dash for never checked.
fn dns_state(m: Option<&DnsMark>) -> String {
    let word = match m.map(|m| m.grade) {
        Some(Grade::Ok) => "ok",
        Some(Grade::Warning) => "warn",
        Some(Grade::Error) => "error",
        None => "—",
    };
    word.into()
}

/// The DNS details: the worst finding and when it was seen.
fn dns(m: Option<&DnsMark>) -> String {
    match m {
        Some(m) => format!(
            "{}: {} (checked {}; i shows every check)",
            m.grade.as_str(),
            clean(&m.summary),
            time(&m.checked_at)
        ),
        None => "not checked (c checks now)".into(),
    }
}

pub fn row(
    d: &crate::db::models::Domain,
    marker: Option<&Marker>,
    dns_mark: Option<&DnsMark>,
) -> Row {
    let name = clean(&d.name);
    Row {
        usage: Some((d.quota_used, d.quota_limit)),
        key: name.clone(),
        cursor: d.name.clone(),
        id: i64::from(d.id),
        version: Some(d.version),
        status: Some(clean(&d.status)),
        cells: vec![
            name.clone(),
            clean(&d.status),
            used(d.quota_used),
            crate::units::human_limit(d.quota_limit),
            count(d.max_mailboxes),
            usage_bar(d.quota_used, d.quota_limit),
            dkim_state(marker),
            dns_state(dns_mark),
            opt(&d.description),
        ],
        fields: pairs(vec![
            (F::Name, name),
            (F::Status, clean(&d.status)),
            (F::Description, opt(&d.description)),
            (F::QuotaUsed, used(d.quota_used)),
            (F::QuotaLimit, format_size(d.quota_limit)),
            (F::MaxMailboxes, d.max_mailboxes.to_string()),
            (F::MaxAliases, d.max_aliases.to_string()),
            (F::MaxMailboxQuota, format_size(d.max_mailbox_quota)),
            (F::Transport, opt(&d.transport)),
            (F::Dkim, dkim(marker)),
            (F::Dns, dns(dns_mark)),
            (F::CreatedAt, time(&d.created_at)),
            (F::UpdatedAt, time(&d.updated_at)),
            (F::Version, d.version.to_string()),
        ]),
    }
}

impl crate::listing::Records for crate::worker::source::DomainPage {
    fn rows(&self) -> Vec<Row> {
        self.domains
            .iter()
            .map(|d| row(d, self.dkim.get(&d.id), self.dns.get(&d.id)))
            .collect()
    }
}
