//! The data commands: domain, mailbox, alias, alias-domain, user,
//! permission, audit, stats. Each is a thin call into `ops`.

use serde_json::json;

use super::args::*;
use super::output::{list, list_sorted, object};
use super::{setup, CliError};
use crate::db::AnyConnection;
use crate::model::{Entity, Perm, Status};
use crate::ops::{self, Ctx};
use crate::store::{audit::AuditFilter, Filter, Page};
use crate::validate;

fn page(p: &PageArgs) -> Page {
    Page {
        after: p.after.clone(),
        limit: Some(p.limit),
        ..Default::default()
    }
}

fn filter(l: &ListArgs, domain_id: Option<i32>) -> Result<Filter, CliError> {
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
fn by_name_only(l: &ListArgs) -> Result<(), CliError> {
    match l.sort.as_deref().map(str::trim) {
        None | Some("name") => Ok(()),
        Some(other) => Err(CliError::Op(crate::error::OpError::invalid(
            "sort",
            format!("this list is ordered by name only (got {other:?})"),
        ))),
    }
}

fn size_opt(field: &str, v: &Option<String>) -> Result<Option<i64>, CliError> {
    Ok(match v {
        Some(s) => Some(validate::size(field, s)?),
        None => None,
    })
}

fn domain_input(f: &DomainFields) -> Result<ops::domains::DomainInput, CliError> {
    Ok(ops::domains::DomainInput {
        description: f.description.clone(),
        quota_limit: size_opt("quota_limit", &f.quota)?,
        max_mailboxes: f.max_mailboxes,
        max_aliases: f.max_aliases,
        max_mailbox_quota: size_opt("max_mailbox_quota", &f.max_mailbox_quota)?,
        transport: f.transport.clone(),
    })
}

fn domain_id(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &Option<String>,
) -> Result<Option<i32>, CliError> {
    Ok(match name {
        Some(n) => Some(ops::domains::get(conn, ctx, n)?.id),
        None => None,
    })
}

fn said<T: serde::Serialize>(json: bool, item: &T, text: String) -> String {
    if json {
        object(item, true)
    } else {
        text + "\n"
    }
}

/// Append the generated password (shown once) to a result.
fn with_generated(mut out: String, generated: Option<String>, json: bool, what: &str) -> String {
    if let Some(pw) = generated {
        if json {
            // Keep stdout one JSON document: put the password in it.
            if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(&out) {
                v["generated_password"] = json!(pw);
                out = format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
        } else {
            out.push_str(&format!(
                "generated password for {what} (shown once): {pw}\n"
            ));
        }
    }
    out
}

/// A date (midnight UTC) or an RFC 3339 timestamp, as naive UTC.
fn parse_date(field: &str, s: &str) -> Result<chrono::NaiveDateTime, CliError> {
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

pub fn run(
    cli: &Cli,
    cmd: &Command,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    let j = cli.json;
    if let Ok(p) = ops::preferences::get(conn, ctx) {
        crate::timefmt::set_zone(p.tz());
    }
    match cmd {
        Command::Preferences(PreferencesCommand::Show) => {
            Ok(object(&ops::preferences::get(conn, ctx)?, j))
        }
        Command::Preferences(PreferencesCommand::Set {
            theme,
            language,
            timezone,
            version,
        }) => {
            let e = ops::preferences::PreferencesEdit {
                theme: theme.clone(),
                language: language.clone(),
                timezone: timezone.clone(),
            };
            let p = ops::preferences::set(conn, ctx, *version, &e)?;
            Ok(said(
                j,
                &p,
                format!(
                    "preferences saved: theme {}, language {}, time zone {}",
                    p.theme, p.language, p.timezone
                ),
            ))
        }
        Command::Domain(DomainCommand::Bulk(b)) => super::bulk::domain_bulk(b, conn, ctx, j),
        Command::Domain(DomainCommand::Import(a)) => super::bulk::domain_import(a, conn, ctx, j),
        Command::Domain(DomainCommand::Export) => super::bulk::domain_export(conn, ctx),
        Command::Domain(DomainCommand::EditMany(a)) => {
            super::bulk::edit_many(Entity::Domains, a, conn, ctx, j)
        }
        Command::Domain(c) => domain(c, conn, ctx, j),
        Command::Mailbox(MailboxCommand::Bulk(b)) => super::bulk::mailbox_bulk(b, conn, ctx, j),
        Command::Mailbox(MailboxCommand::Import(a)) => super::bulk::mailbox_import(a, conn, ctx, j),
        Command::Mailbox(MailboxCommand::Export {
            domain,
            with_hashes,
        }) => super::bulk::mailbox_export(conn, ctx, domain, *with_hashes),
        Command::Mailbox(MailboxCommand::EditMany(a)) => {
            super::bulk::edit_many(Entity::Mailboxes, a, conn, ctx, j)
        }
        Command::Mailbox(c) => mailbox(c, conn, ctx, j),
        Command::Alias(AliasCommand::EditMany(a)) => {
            super::bulk::edit_many(Entity::Aliases, a, conn, ctx, j)
        }
        Command::Alias(AliasCommand::Bulk(b)) => super::bulk::alias_bulk(b, conn, ctx, j),
        Command::Alias(AliasCommand::Import(a)) => super::bulk::alias_import(a, conn, ctx, j),
        Command::Alias(AliasCommand::Export { domain }) => {
            super::bulk::alias_export(conn, ctx, domain)
        }
        Command::Alias(c) => alias(c, conn, ctx, j),
        Command::AliasDomain(c) => alias_domain(c, conn, ctx, j),
        Command::User(c) => user(c, conn, ctx, j),
        Command::Permission(c) => permission(c, conn, ctx, j),
        Command::Audit(c) => audit(c, conn, ctx, j),
        Command::Stats(p) => {
            let pg = page(p);
            let (totals, domains) = ops::stats(conn, ctx, &pg)?;
            if j {
                let next = (domains.len() as i64 >= pg.limit())
                    .then(|| domains.last().map(|d| d.domain.name.clone()));
                return Ok(object(
                    &json!({ "totals": totals, "domains": domains, "next": next.flatten() }),
                    true,
                ));
            }
            let mut out = format!(
                "mailboxes {}  used {}  allotted {}  average used {}\n\n",
                totals.total_mailboxes,
                crate::units::human(totals.total_used),
                crate::units::human(totals.total_limit),
                crate::units::human(totals.avg_used),
            );
            out.push_str(&list(&domains, pg.limit(), false));
            Ok(out)
        }
        Command::Init(_)
        | Command::Db(_)
        | Command::Health(_)
        | Command::Mail(_)
        | Command::Quota(_)
        | Command::Ldap(_)
        | Command::Demo(_)
        | Command::Bench(_)
        | Command::Completions { .. }
        | Command::Man { .. } => Err(CliError::Usage("not a data command".into())),
    }
}

fn domain(
    c: &DomainCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        DomainCommand::Add { name, fields } => {
            let d = ops::domains::create(conn, ctx, name, &domain_input(fields)?)?;
            said(j, &d, format!("created domain {} (id {})", d.name, d.id))
        }
        DomainCommand::List(l) => {
            let pg = page(&l.page);
            list_sorted(
                &ops::domains::list(conn, ctx, &filter(l, None)?, &pg)?,
                pg.limit(),
                j,
                filter(l, None)?.sort,
            )
        }
        DomainCommand::Show { name } => object(&ops::domains::get(conn, ctx, name)?, j),
        DomainCommand::Edit {
            name,
            fields,
            version,
        } => {
            let d = ops::domains::edit(conn, ctx, name, *version, &domain_input(fields)?)?;
            said(
                j,
                &d,
                format!("updated domain {} (version {})", d.name, d.version),
            )
        }
        DomainCommand::Suspend { name } => {
            let d = ops::domains::set_status(conn, ctx, name, Status::Suspended)?;
            said(j, &d, format!("suspended domain {}", d.name))
        }
        DomainCommand::Activate { name } => {
            let d = ops::domains::set_status(conn, ctx, name, Status::Active)?;
            said(j, &d, format!("activated domain {}", d.name))
        }
        DomainCommand::Delete { name, cascade } => {
            let s = ops::domains::delete(conn, ctx, name, *cascade)?;
            said(
                j,
                &s,
                format!(
                    "deleted domain {} with {}, {}, {}, {}",
                    s.domain,
                    crate::plural::count(s.mailboxes, "mailbox", "mailboxes"),
                    crate::plural::count(s.aliases, "alias", "aliases"),
                    crate::plural::s(s.alias_domains, "alias domain"),
                    crate::plural::s(s.permissions, "permission")
                ),
            )
        }
        DomainCommand::Bulk(_)
        | DomainCommand::Import(_)
        | DomainCommand::Export
        | DomainCommand::EditMany(_) => return Err(CliError::Usage("handled by cli::bulk".into())),
    })
}

fn mailbox(
    c: &MailboxCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        MailboxCommand::Add {
            address,
            quota,
            name,
            password,
        } => {
            let quota = size_opt("quota", quota)?;
            let (pw, generated) = setup::new_password(password, address)?;
            let new = ops::mailboxes::NewMailbox {
                address: address.clone(),
                password: pw.clone(),
                quota,
                name: name.clone(),
            };
            let m = ops::mailboxes::create(conn, ctx, &new)?;
            let out = said(
                j,
                &m,
                format!("created mailbox {} (id {})", m.username, m.id),
            );
            with_generated(out, generated.then_some(pw), j, &m.username)
        }
        MailboxCommand::List {
            domain,
            all: true,
            list: l,
        } => {
            let d = domain_id(conn, ctx, domain)?;
            stream_mailboxes(conn, ctx, &filter(l, d)?, l.page.after.clone(), j)?;
            String::new()
        }
        MailboxCommand::List {
            domain,
            all: false,
            list: l,
        } => {
            let d = domain_id(conn, ctx, domain)?;
            let pg = page(&l.page);
            list_sorted(
                &ops::mailboxes::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
                filter(l, d)?.sort,
            )
        }
        MailboxCommand::Show { address } => object(&ops::mailboxes::get(conn, ctx, address)?, j),
        MailboxCommand::Edit {
            address,
            quota,
            name,
            version,
        } => {
            let e = ops::mailboxes::MailboxEdit {
                quota: size_opt("quota", quota)?,
                name: name.clone(),
            };
            let m = ops::mailboxes::edit(conn, ctx, address, *version, &e)?;
            if e.quota.is_some() && m.quota_limit > 0 && m.quota_used > m.quota_limit {
                // Saved as asked, but not silently: stderr, so --json and
                // scripts reading stdout are unaffected.
                eprintln!(
                    "warning: the quota of {} ({}) is below the {} it holds ({}%): new mail to it is refused until it shrinks",
                    crate::sanitize::for_terminal(&m.username),
                    crate::units::human(m.quota_limit),
                    crate::units::human(m.quota_used),
                    m.quota_used.saturating_mul(100) / m.quota_limit
                );
            }
            said(
                j,
                &m,
                format!("updated mailbox {} (version {})", m.username, m.version),
            )
        }
        MailboxCommand::Password { address, password } => {
            let (pw, generated) = setup::new_password(password, address)?;
            let m = ops::mailboxes::set_password(conn, ctx, address, &pw)?;
            let out = said(
                j,
                &m,
                format!("changed the password of mailbox {}", m.username),
            );
            with_generated(out, generated.then_some(pw), j, &m.username)
        }
        MailboxCommand::Suspend { address } => {
            let m = ops::mailboxes::set_status(conn, ctx, address, Status::Suspended)?;
            said(j, &m, format!("suspended mailbox {}", m.username))
        }
        MailboxCommand::Activate { address } => {
            let m = ops::mailboxes::set_status(conn, ctx, address, Status::Active)?;
            said(j, &m, format!("activated mailbox {}", m.username))
        }
        MailboxCommand::Delete { address } => {
            let m = ops::mailboxes::delete(conn, ctx, address)?;
            said(j, &m, format!("deleted mailbox {}", m.username))
        }
        MailboxCommand::Bulk(_)
        | MailboxCommand::Import(_)
        | MailboxCommand::Export { .. }
        | MailboxCommand::EditMany(_) => {
            return Err(CliError::Usage("handled by cli::bulk".into()))
        }
    })
}

fn alias(
    c: &AliasCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        AliasCommand::Add {
            address,
            destinations,
            description,
        } => {
            let a = ops::aliases::create(
                conn,
                ctx,
                address,
                &destinations.join(","),
                description.as_deref(),
            )?;
            said(j, &a, format!("created alias {} -> {}", a.address, a.goto))
        }
        AliasCommand::List { domain, list: l } => {
            let d = domain_id(conn, ctx, domain)?;
            by_name_only(l)?;
            let pg = page(&l.page);
            list(
                &ops::aliases::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
            )
        }
        AliasCommand::Show { address } => object(&ops::aliases::get(conn, ctx, address)?, j),
        AliasCommand::Edit {
            address,
            goto,
            description,
            version,
        } => {
            let e = ops::aliases::AliasEdit {
                goto: goto.clone(),
                description: description.clone(),
            };
            let a = ops::aliases::edit(conn, ctx, address, *version, &e)?;
            said(j, &a, format!("updated alias {} -> {}", a.address, a.goto))
        }
        AliasCommand::Suspend { address } => {
            let a = ops::aliases::set_status(conn, ctx, address, Status::Suspended)?;
            said(j, &a, format!("suspended alias {}", a.address))
        }
        AliasCommand::Activate { address } => {
            let a = ops::aliases::set_status(conn, ctx, address, Status::Active)?;
            said(j, &a, format!("activated alias {}", a.address))
        }
        AliasCommand::Delete { address } => {
            let a = ops::aliases::delete(conn, ctx, address)?;
            said(j, &a, format!("deleted alias {}", a.address))
        }
        AliasCommand::Bulk(_)
        | AliasCommand::Import(_)
        | AliasCommand::Export { .. }
        | AliasCommand::EditMany(_) => return Err(CliError::Usage("handled by cli::bulk".into())),
    })
}

fn alias_domain(
    c: &AliasDomainCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        AliasDomainCommand::Add { name, target } => {
            let a = ops::alias_domains::create(conn, ctx, name, target)?;
            said(
                j,
                &a,
                format!("created alias domain {} -> {}", a.row.name, a.target),
            )
        }
        AliasDomainCommand::List { domain, list: l } => {
            let d = domain_id(conn, ctx, domain)?;
            by_name_only(l)?;
            let pg = page(&l.page);
            list(
                &ops::alias_domains::list(conn, ctx, &filter(l, d)?, &pg)?,
                pg.limit(),
                j,
            )
        }
        AliasDomainCommand::Show { name } => object(&ops::alias_domains::get(conn, ctx, name)?, j),
        AliasDomainCommand::Edit {
            name,
            target,
            version,
        } => {
            let a = ops::alias_domains::retarget(conn, ctx, name, *version, target)?;
            said(
                j,
                &a,
                format!("alias domain {} now points at {}", a.row.name, a.target),
            )
        }
        AliasDomainCommand::Suspend { name } => {
            let a = ops::alias_domains::set_status(conn, ctx, name, Status::Suspended)?;
            said(j, &a, format!("suspended alias domain {}", a.row.name))
        }
        AliasDomainCommand::Activate { name } => {
            let a = ops::alias_domains::set_status(conn, ctx, name, Status::Active)?;
            said(j, &a, format!("activated alias domain {}", a.row.name))
        }
        AliasDomainCommand::Delete { name } => {
            let a = ops::alias_domains::delete(conn, ctx, name)?;
            said(j, &a, format!("deleted alias domain {}", a.row.name))
        }
    })
}

fn user(c: &UserCommand, conn: &mut AnyConnection, ctx: &Ctx, j: bool) -> Result<String, CliError> {
    Ok(match c {
        UserCommand::Add {
            username,
            email,
            role,
            password,
        } => {
            let (pw, generated) = setup::new_password(password, username)?;
            let new = ops::users::NewUser {
                username: username.clone(),
                email: email.clone(),
                role: role.clone(),
                password: pw.clone(),
            };
            let u = ops::users::create(conn, ctx, &new)?;
            let out = said(
                j,
                &u,
                format!(
                    "created user {} with role {} (id {})",
                    u.username, u.role, u.id
                ),
            );
            with_generated(out, generated.then_some(pw), j, &u.username)
        }
        UserCommand::List(l) => {
            by_name_only(l)?;
            let pg = page(&l.page);
            list(
                &ops::users::list(conn, ctx, &filter(l, None)?, &pg)?,
                pg.limit(),
                j,
            )
        }
        UserCommand::Show { username } => object(&ops::users::get(conn, ctx, username)?, j),
        UserCommand::Edit {
            username,
            email,
            role,
            require_password_change,
            auth_source,
            version,
        } => {
            let e = ops::users::UserEdit {
                email: email.clone(),
                role: role.clone(),
                must_change_password: *require_password_change,
                auth_source: auth_source.clone(),
            };
            let u = ops::users::edit(conn, ctx, username, *version, &e)?;
            said(
                j,
                &u,
                format!("updated user {} (version {})", u.username, u.version),
            )
        }
        UserCommand::Password { username, password } => {
            let (pw, generated) = setup::new_password(password, username)?;
            let u = ops::users::set_password(conn, ctx, username, &pw)?;
            let out = said(
                j,
                &u,
                format!("changed the password of user {}", u.username),
            );
            with_generated(out, generated.then_some(pw), j, &u.username)
        }
        UserCommand::Suspend { username } => {
            let u = ops::users::set_status(conn, ctx, username, Status::Suspended)?;
            said(j, &u, format!("suspended user {}", u.username))
        }
        UserCommand::Activate { username } => {
            let u = ops::users::set_status(conn, ctx, username, Status::Active)?;
            said(j, &u, format!("activated user {}", u.username))
        }
        UserCommand::Delete { username } => {
            let u = ops::users::delete(conn, ctx, username)?;
            said(j, &u, format!("deleted user {}", u.username))
        }
    })
}

fn permission(
    c: &PermissionCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        PermissionCommand::Grant {
            username,
            domain,
            permissions,
        } => {
            let perms = Perm::parse_list("permissions", permissions)?;
            let g = ops::permissions::grant(conn, ctx, username, domain, &perms)?;
            let names: Vec<&str> = g.permissions.iter().map(|p| p.as_str()).collect();
            said(
                j,
                &g,
                format!(
                    "granted {} on {}: {}",
                    g.username,
                    g.domain,
                    names.join(",")
                ),
            )
        }
        PermissionCommand::Revoke { username, domain } => {
            let g = ops::permissions::revoke(conn, ctx, username, domain)?;
            said(j, &g, format!("revoked {} on {}", g.username, g.domain))
        }
        PermissionCommand::List {
            for_user,
            domain,
            page: p,
        } => {
            let pg = page(p);
            let rows =
                ops::permissions::list(conn, ctx, for_user.as_deref(), domain.as_deref(), &pg)?;
            list(&rows, pg.limit(), j)
        }
    })
}

fn audit(
    c: &AuditCommand,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    j: bool,
) -> Result<String, CliError> {
    Ok(match c {
        AuditCommand::List {
            limit,
            before,
            action,
            by_user,
            resource_type,
            result,
        } => {
            let user_id = match by_user {
                Some(u) => Some(ops::users::get(conn, ctx, u)?.id),
                None => None,
            };
            let f = AuditFilter {
                user_id,
                action: action.clone(),
                resource_type: resource_type.clone(),
                resource_id: None,
                result: result.clone(),
                before_id: *before,
            };
            let rows = ops::audit::list(conn, ctx, &f, *limit)?;
            let out = list(&rows, *limit, j);
            if j {
                out
            } else {
                out.replace("(more: --after", "(more: --before")
            }
        }
        AuditCommand::Show { id, archive: None } => {
            let id = id.ok_or_else(|| {
                CliError::Usage("audit show needs an ID or --archive FILE".into())
            })?;
            object(&ops::audit::get(conn, ctx, id)?, j)
        }
        AuditCommand::Show {
            id,
            archive: Some(file),
        } => {
            ops::audit::require_reader(conn, ctx)?;
            let a = ops::audit_archive::read(file, ctx.policy.audit.as_ref())?;
            let rows: Vec<_> = a
                .rows
                .iter()
                .filter(|r| id.is_none_or(|i| r.id == i))
                .cloned()
                .collect();
            if j {
                object(
                    &json!({ "header": a.header, "problems": a.problems, "items": rows }),
                    true,
                )
            } else {
                let mut out = format!(
                    "archive {}: ids {}..{}, {}, older than {} UTC; {}\n",
                    file.display(),
                    a.header.first_id,
                    a.header.last_id,
                    crate::plural::s(a.rows.len(), "row"),
                    a.header.before,
                    if !a.problems.is_empty() {
                        crate::sanitize::for_terminal(&format!(
                            "PROBLEMS: {}",
                            a.problems.join("; ")
                        ))
                    } else if a.keyed_unchecked > 0 {
                        format!(
                            "links intact; {} from row {} on unchecked (no audit key)",
                            crate::plural::s(a.keyed_unchecked, "keyed row"),
                            a.header.keyed_from.unwrap_or_default()
                        )
                    } else {
                        "chain intact".to_string()
                    }
                );
                out.push_str(&super::output::table(&rows));
                out
            }
        }
        AuditCommand::Archive { before, out } => {
            let when = parse_date("before", before)?;
            let r = ops::audit_archive::archive(conn, ctx, when, out)?;
            said(
                j,
                &r,
                if r.rows == 0 {
                    format!("no entries older than {when} UTC; nothing archived, no file written")
                } else {
                    format!(
                        "archived {} (ids {}..{}) to {}, verified (sha256 {}), and removed {} from the table",
                        crate::plural::count(r.rows, "entry", "entries"),
                        r.first_id.unwrap_or(0),
                        r.last_id.unwrap_or(0),
                        r.file,
                        r.sha256.as_deref().unwrap_or(""),
                        if r.rows == 1 { "it" } else { "them" }
                    )
                },
            )
        }
        AuditCommand::Verify { checkpoints } => {
            let r = ops::audit::verify_against(conn, ctx, checkpoints.as_deref())?;
            let text = if r.ok() {
                let mut t = format!(
                    "audit chain intact: {} checked",
                    crate::plural::s(r.rows_checked, "row")
                );
                if let Some(k) = r.keyed_from {
                    t.push_str(&format!(", keyed (HMAC) from row {k}"));
                }
                match &r.latest_checkpoint {
                    Some(cp) => t.push_str(&format!(
                        "; matches {}, the latest at {} (row {})",
                        crate::plural::s(r.checkpoints, "checkpoint"),
                        crate::sanitize::for_terminal(&cp.time),
                        cp.last
                    )),
                    None => t.push_str("; no checkpoint to compare with"),
                }
                t.push('\n');
                t
            } else {
                let mut t = format!(
                    "audit chain BROKEN after checking {}:\n",
                    crate::plural::s(r.rows_checked, "row")
                );
                for p in &r.problems {
                    t.push_str(&format!("  {}\n", crate::sanitize::for_terminal(p)));
                }
                t
            };
            let out = if j { object(&r, true) } else { text };
            if r.ok() {
                out
            } else {
                return Err(CliError::Report {
                    out,
                    code: 1,
                    message: "the audit chain is broken".into(),
                });
            }
        }
        AuditCommand::Prune { before } => {
            let when = parse_date("before", before)?;
            let r = ops::audit::prune(conn, ctx, when)?;
            said(
                j,
                &r,
                format!(
                    "deleted {}; the chain now starts at id {}",
                    crate::plural::count(r.deleted, "audit entry", "audit entries"),
                    r.first_id
                ),
            )
        }
    })
}

/// `mailbox list --all`: keyset pages of 1000 written as they arrive, so
/// memory stays flat at any table size. JSON keeps the shape of a single
/// page (`{"items": [...], "next": null}`), one compact row per line.
fn stream_mailboxes(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    f: &Filter,
    after: Option<String>,
    json: bool,
) -> Result<(), CliError> {
    use std::io::Write;
    let io = |e: std::io::Error| CliError::Op(crate::error::OpError::Io(e.to_string()));
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    let mut page = Page {
        after,
        limit: Some(1000),
        backward: false,
    };
    let mut first = true;
    if json {
        w.write_all(b"{\"items\": [\n").map_err(io)?;
    }
    loop {
        let rows = ops::mailboxes::list(conn, ctx, f, &page)?;
        let Some(last) = rows.last() else { break };
        page.after = Some(
            f.sort
                .cursor(last.quota_used, last.quota_limit, &last.username),
        );
        if json {
            for r in &rows {
                if !first {
                    w.write_all(b",\n").map_err(io)?;
                }
                first = false;
                let row = serde_json::to_string(r).map_err(|e| io(std::io::Error::other(e)))?;
                w.write_all(super::output::json_safe(&row).as_bytes())
                    .map_err(io)?;
            }
        } else {
            w.write_all(super::output::table(&rows).as_bytes())
                .map_err(io)?;
        }
    }
    if json {
        w.write_all(b"\n], \"next\": null}\n").map_err(io)?;
    }
    w.flush().map_err(io)
}
