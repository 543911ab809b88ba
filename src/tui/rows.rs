//! Database rows turned into what a table draws. This is the one place DB
//! text enters the screen, so every string goes through
//! `sanitize::for_terminal` here and nowhere needs to remember it later.

use chrono::NaiveDateTime;

use crate::sanitize::for_terminal as clean;
use crate::validate::format_size;
use crate::worker::Listing;

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
}

impl Row {
    pub fn field(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(clean).unwrap_or_default()
}

/// In the admin's time zone (a preference; UTC until set).
pub fn time(t: &NaiveDateTime) -> String {
    crate::timefmt::local(t, "%Y-%m-%d %H:%M")
}

fn opt_time(t: &Option<NaiveDateTime>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "never".into())
}

fn count(n: i32) -> String {
    if n == 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

fn used(n: i64) -> String {
    crate::units::human(n)
}

/// The per-row usage bar of the Domains and Mailboxes screens: four cells
/// and the percent, plain characters so it reads without color.
fn usage_bar(used: i64, limit: i64) -> String {
    if limit <= 0 {
        "-".into()
    } else {
        super::dashboard::gauge(used, limit, 4)
    }
}

pub fn from_listing(l: &Listing) -> Vec<Row> {
    match l {
        Listing::Domains(v) => v
            .iter()
            .map(|d| {
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
                        opt(&d.description),
                    ],
                    fields: vec![
                        ("name", name),
                        ("status", clean(&d.status)),
                        ("description", opt(&d.description)),
                        ("quota_used", used(d.quota_used)),
                        ("quota_limit", format_size(d.quota_limit)),
                        ("max_mailboxes", d.max_mailboxes.to_string()),
                        ("max_aliases", d.max_aliases.to_string()),
                        ("max_mailbox_quota", format_size(d.max_mailbox_quota)),
                        ("transport", opt(&d.transport)),
                        ("created_at", time(&d.created_at)),
                        ("updated_at", time(&d.updated_at)),
                        ("version", d.version.to_string()),
                    ],
                }
            })
            .collect(),
        Listing::Mailboxes(v) => v
            .iter()
            .map(|m| {
                let addr = clean(&m.username);
                Row {
                    usage: Some((m.quota_used, m.quota_limit)),
                    key: addr.clone(),
                    cursor: m.username.clone(),
                    id: i64::from(m.id),
                    version: Some(m.version),
                    status: Some(clean(&m.status)),
                    cells: vec![
                        addr.clone(),
                        opt(&m.name),
                        clean(&m.status),
                        used(m.quota_used),
                        crate::units::human_limit(m.quota_limit),
                        usage_bar(m.quota_used, m.quota_limit),
                    ],
                    fields: vec![
                        ("address", addr),
                        ("name", opt(&m.name)),
                        ("status", clean(&m.status)),
                        ("quota_used", used(m.quota_used)),
                        ("quota", format_size(m.quota_limit)),
                        ("last_login", opt_time(&m.last_login)),
                        ("created_at", time(&m.created_at)),
                        ("updated_at", time(&m.updated_at)),
                        ("version", m.version.to_string()),
                    ],
                }
            })
            .collect(),
        Listing::Aliases(v) => v
            .iter()
            .map(|a| {
                let addr = clean(&a.address);
                let goto = clean(&a.goto);
                Row {
                    usage: None,
                    key: addr.clone(),
                    cursor: a.address.clone(),
                    id: i64::from(a.id),
                    version: Some(a.version),
                    status: Some(clean(&a.status)),
                    cells: vec![addr.clone(), goto.replace(',', ", "), clean(&a.status)],
                    fields: vec![
                        ("address", addr),
                        ("goto", goto.replace(',', ", ")),
                        ("status", clean(&a.status)),
                        ("description", opt(&a.description)),
                        ("created_at", time(&a.created_at)),
                        ("updated_at", time(&a.updated_at)),
                        ("version", a.version.to_string()),
                    ],
                }
            })
            .collect(),
        Listing::AliasDomains(v) => v
            .iter()
            .map(|a| {
                let name = clean(&a.row.name);
                Row {
                    usage: None,
                    key: name.clone(),
                    cursor: a.row.name.clone(),
                    id: i64::from(a.row.id),
                    version: Some(a.row.version),
                    status: Some(clean(&a.row.status)),
                    cells: vec![name.clone(), clean(&a.target), clean(&a.row.status)],
                    fields: vec![
                        ("name", name),
                        ("target", clean(&a.target)),
                        ("status", clean(&a.row.status)),
                        ("created_at", time(&a.row.created_at)),
                        ("version", a.row.version.to_string()),
                    ],
                }
            })
            .collect(),
        Listing::Users(v) => v
            .iter()
            .map(|u| {
                let name = clean(&u.username);
                Row {
                    usage: None,
                    key: name.clone(),
                    cursor: u.username.clone(),
                    id: i64::from(u.id),
                    version: Some(u.version),
                    status: Some(clean(&u.status)),
                    cells: vec![
                        name.clone(),
                        clean(&u.email),
                        clean(&u.role),
                        clean(&u.status),
                        opt_time(&u.last_login),
                    ],
                    fields: vec![
                        ("username", name),
                        ("email", clean(&u.email)),
                        ("role", clean(&u.role)),
                        ("status", clean(&u.status)),
                        ("last_login", opt_time(&u.last_login)),
                        ("failed_logins", u.failed_logins.to_string()),
                        ("created_at", time(&u.created_at)),
                        ("version", u.version.to_string()),
                    ],
                }
            })
            .collect(),
        Listing::Permissions(v) => v
            .iter()
            .map(|g| {
                let perms: Vec<&str> = g.permissions.iter().map(|p| p.as_str()).collect();
                let perms = perms.join(",");
                let (user, dom) = (clean(&g.username), clean(&g.domain));
                Row {
                    usage: None,
                    key: format!("{user}/{dom}"),
                    cursor: format!("{}/{}", g.username, g.domain),
                    id: i64::from(g.id),
                    version: Some(g.version),
                    status: None,
                    cells: vec![user.clone(), dom.clone(), perms.clone()],
                    fields: vec![
                        ("username", user),
                        ("domain", dom),
                        ("permissions", perms),
                        ("created_at", time(&g.created_at)),
                    ],
                }
            })
            .collect(),
        Listing::Audit(v) => v.iter().map(audit_row).collect(),
        Listing::MailServers(v) => v
            .iter()
            .map(|m| Row {
                usage: None,
                key: m.id.to_string(),
                cursor: m.id.to_string(),
                id: i64::from(m.id),
                version: Some(m.version),
                status: None,
                cells: vec![
                    m.id.to_string(),
                    clean(&m.service_name),
                    clean(&m.config_file),
                    yes_no(m.is_active),
                    time(&m.updated_at),
                ],
                fields: vec![
                    ("service", clean(&m.service_name)),
                    ("config_file", clean(&m.config_file)),
                    ("version", m.version.to_string()),
                    ("backup_file", opt(&m.backup_file)),
                    ("active", yes_no(m.is_active)),
                    ("size", crate::units::human(m.config_data.len() as i64)),
                    ("updated_at", time(&m.updated_at)),
                ],
            })
            .collect(),
        Listing::Ldap(v) => v
            .iter()
            .map(|l| Row {
                usage: None,
                // ops address servers by name; the list pages by id.
                key: clean(&l.server_name),
                cursor: l.id.to_string(),
                id: i64::from(l.id),
                version: Some(l.version),
                status: Some(if l.is_active { "active" } else { "inactive" }.to_string()),
                cells: vec![
                    l.id.to_string(),
                    clean(&l.server_name),
                    format!("{}:{}", clean(&l.host), l.port),
                    yes_no(l.use_ssl),
                    clean(&l.base_dn),
                    yes_no(l.is_active),
                ],
                fields: vec![
                    ("name", clean(&l.server_name)),
                    ("host", clean(&l.host)),
                    ("port", l.port.to_string()),
                    ("tls_mode", clean(&l.tls_mode)),
                    ("ssl", yes_no(l.use_ssl)),
                    ("ca_file", opt(&l.ca_file)),
                    ("bind_dn", opt(&l.bind_dn)),
                    // Whether one is stored; never what it is.
                    (
                        "bind_password",
                        if l.bind_password.is_some() {
                            "set"
                        } else {
                            "not set"
                        }
                        .into(),
                    ),
                    ("base_dn", clean(&l.base_dn)),
                    ("user_search_base", opt(&l.user_search_base)),
                    ("group_search_base", opt(&l.group_search_base)),
                    ("user_attribute", clean(&l.user_attribute)),
                    ("user_filter", opt(&l.user_filter)),
                    ("priority", l.priority.to_string()),
                    ("active", yes_no(l.is_active)),
                ],
            })
            .collect(),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

pub fn audit_row(n: &crate::ops::audit::Named) -> Row {
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
        fields: vec![
            ("time", time(&a.timestamp)),
            ("actor", opt(&a.actor)),
            ("action", clean(&a.action)),
            ("resource", resource),
            ("result", clean(&a.result)),
            ("from", opt(&a.ip_address)),
            ("client", opt(&a.user_agent)),
            ("details", opt(&a.details)),
        ],
    }
}
