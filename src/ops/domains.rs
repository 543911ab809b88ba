//! Domains: create, edit, suspend/activate, delete (with explicit cascade).

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{check_version, now, run_write, Ctx, Done, Principal};
use crate::db::models::Domain;
use crate::db::schema::{alias_domains, aliases, domains, mailboxes, user_domains};
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm, Status};
use crate::store::{self, Filter, Page};
use crate::validate::{self, format_size};

/// Settable fields; None leaves a field as it is (on create: the default).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DomainInput {
    pub description: Option<String>,
    pub quota_limit: Option<i64>,
    pub max_mailboxes: Option<i64>,
    pub max_aliases: Option<i64>,
    pub max_mailbox_quota: Option<i64>,
    /// Some("") clears the transport.
    pub transport: Option<String>,
    /// Days a mailbox password lasts from its change; Some(0) removes the
    /// maximum. Applies from each mailbox's next password change.
    pub password_max_age_days: Option<i64>,
}

impl DomainInput {
    fn touches_limits(&self) -> bool {
        self.quota_limit.is_some()
            || self.max_mailboxes.is_some()
            || self.max_aliases.is_some()
            || self.max_mailbox_quota.is_some()
            || self.transport.is_some()
    }
}

/// Look a domain up by any spelling of its name (case, IDN, trailing dot).
pub(crate) fn find(conn: &mut AnyConnection, field: &str, name: &str) -> OpResult<Domain> {
    let norm = validate::domain(field, name)?;
    store::domains::by_name(conn, &norm)?
        .ok_or_else(|| OpError::not_found_in(field, "domain", norm))
}

/// A password maximum age: 0 (none) or 1 to 3650 days.
fn check_max_age(v: i64) -> OpResult<Option<i32>> {
    match v {
        0 => Ok(None),
        1..=super::app_passwords::MAX_DAYS => Ok(i32::try_from(v).ok()),
        _ => Err(OpError::invalid(
            "password_max_age_days",
            format!(
                "must be a number of days from 1 to {} (0 removes the maximum)",
                super::app_passwords::MAX_DAYS
            ),
        )),
    }
}

fn check_quota_field(field: &str, v: i64) -> OpResult<i64> {
    if v < 0 {
        return Err(OpError::invalid(
            field,
            "must not be negative (0 means unlimited)",
        ));
    }
    Ok(v)
}

pub fn create(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    input: &DomainInput,
) -> OpResult<Domain> {
    Ok(create_with_dkim(conn, ctx, name, input, None)?.0)
}

/// `domain add --dkim`: the domain and, when `dkim` is given, its first
/// DKIM key (pending) in the same transaction, so neither exists without
/// the other. The key is generated before the transaction opens.
pub fn create_with_dkim(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    input: &DomainInput,
    dkim: Option<&super::dkim::OnCreate<'_>>,
) -> OpResult<(Domain, Option<super::dkim::KeyView>)> {
    create_with(conn, ctx, name, input, dkim, false)
}

/// `domain add`: `create_with_dkim` that also creates the RFC 2142 role
/// aliases (`lifecycle.default_aliases`) when `default_aliases` is set,
/// in the same transaction.
pub fn create_with(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    input: &DomainInput,
    dkim: Option<&super::dkim::OnCreate<'_>>,
    default_aliases: bool,
) -> OpResult<(Domain, Option<super::dkim::KeyView>)> {
    let request = json!({ "name": name, "input": input, "dkim": dkim.is_some(), "default_aliases": default_aliases });
    let pair = dkim.map(super::dkim::OnCreate::generate).transpose()?;
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AuditType::Domain,
        request,
        |c, who| {
            let d = insert(c, who, name, input)?;
            let key = match (dkim, &pair) {
                (Some(o), Some(p)) => Some(o.insert(c, ctx, who, &d, p)?),
                _ => None,
            };
            let aliases = if default_aliases {
                insert_default_aliases(c, who, &ctx.policy.lifecycle, &d)?
            } else {
                Vec::new()
            };
            let done = Done::new(
                i64::from(d.id),
                json!({ "after": d, "dkim": key.as_ref().map(|k| &k.row.selector), "default_aliases": aliases }),
            );
            Ok(((d, key), done))
        },
    )
}

/// The role addresses every mail domain should answer (RFC 2142:
/// postmaster, abuse, hostmaster, webmaster ...), as aliases of a new
/// domain leading to `default_alias_target` or the creating user's email.
/// Returns the "address -> target" pairs created.
fn insert_default_aliases(
    c: &mut AnyConnection,
    who: &Principal,
    s: &super::deleted::Settings,
    d: &Domain,
) -> OpResult<Vec<String>> {
    if s.default_aliases.is_empty() {
        return Ok(Vec::new());
    }
    let target = if s.default_alias_target.trim().is_empty() {
        crate::db::schema::users::table
            .find(who.id)
            .select(crate::db::schema::users::email)
            .first::<String>(c)?
    } else {
        s.default_alias_target.clone()
    };
    let goto = validate::destinations("lifecycle.default_alias_target", &target)?.join(",");
    let n = i32::try_from(s.default_aliases.len()).unwrap_or(i32::MAX);
    if d.max_aliases > 0 && n > d.max_aliases {
        return Err(OpError::invalid(
            "max_aliases",
            format!(
                "{} leaves no room for the {n} default aliases; raise it or pass --no-default-aliases",
                d.max_aliases
            ),
        ));
    }
    let t = now();
    let mut made = Vec::new();
    for local in &s.default_aliases {
        let (addr, _) =
            validate::alias_address("lifecycle.default_aliases", &format!("{local}@{}", d.name))?;
        diesel::insert_into(aliases::table)
            .values((
                aliases::address.eq(&addr),
                aliases::goto.eq(&goto),
                aliases::domain_id.eq(d.id),
                aliases::status.eq("active"),
                aliases::created_at.eq(t),
                aliases::updated_at.eq(t),
                aliases::created_by.eq(who.id),
            ))
            .execute(c)?;
        made.push(format!("{addr} -> {goto}"));
    }
    Ok(made)
}

fn insert(
    c: &mut AnyConnection,
    who: &Principal,
    name: &str,
    input: &DomainInput,
) -> OpResult<Domain> {
    who.require_claim_mail_domain("creating a domain")?;
    let name = validate::domain("name", name)?;
    if store::domains::by_name(c, &name)?.is_some() {
        return Err(OpError::duplicate(
            "name",
            format!("domain {name} already exists"),
        ));
    }
    if store::alias_domains::by_name(c, &name)?.is_some() {
        return Err(OpError::duplicate(
            "name",
            format!("{name} already exists as an alias domain"),
        ));
    }
    let description = match &input.description {
        Some(d) => validate::description("description", d)?,
        None => None,
    };
    let transport = match &input.transport {
        Some(t) => validate::transport("transport", t)?,
        None => None,
    };
    // Unlimited unless set: a total equal to the default mailbox quota
    // (1G each) would refuse a new domain's second default mailbox.
    let quota_limit = check_quota_field("quota_limit", input.quota_limit.unwrap_or(0))?;
    let max_mailbox_quota =
        check_quota_field("max_mailbox_quota", input.max_mailbox_quota.unwrap_or(0))?;
    let max_mailboxes = validate::count_limit("max_mailboxes", input.max_mailboxes.unwrap_or(0))?;
    let max_aliases = validate::count_limit("max_aliases", input.max_aliases.unwrap_or(0))?;
    let max_age = check_max_age(input.password_max_age_days.unwrap_or(0))?;
    let t = now();
    diesel::insert_into(domains::table)
        .values((
            domains::name.eq(&name),
            domains::status.eq("active"),
            domains::quota_limit.eq(quota_limit),
            domains::quota_used.eq(0i64),
            domains::description.eq(&description),
            domains::created_at.eq(t),
            domains::updated_at.eq(t),
            domains::created_by.eq(who.id),
            domains::max_mailboxes.eq(max_mailboxes),
            domains::max_aliases.eq(max_aliases),
            domains::max_mailbox_quota.eq(max_mailbox_quota),
            domains::transport.eq(&transport),
            domains::password_max_age_days.eq(max_age),
        ))
        .execute(c)?;
    store::domains::by_name(c, &name)?.ok_or_else(|| OpError::not_found("domain", name.clone()))
}

pub fn edit(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    expected_version: Option<i32>,
    input: &DomainInput,
) -> OpResult<Domain> {
    let request = json!({ "name": name, "input": input, "version": expected_version });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::Domain,
        request,
        |c, who| {
            let before = find(c, "name", name)?;
            if input.touches_limits() {
                who.require_admin("changing a domain's quota, limits or transport")?;
            } else {
                who.require_domain(&before, Perm::Domain)?;
            }
            check_version("domain", &before.name, expected_version, before.version)?;
            lock(c, before.id)?;
            let after = checked_edit(c, &before, input)?;
            let n = diesel::update(
                domains::table
                    .find(before.id)
                    .filter(domains::version.eq(before.version)),
            )
            .set((
                domains::description.eq(&after.description),
                domains::transport.eq(&after.transport),
                domains::quota_limit.eq(after.quota_limit),
                domains::max_mailbox_quota.eq(after.max_mailbox_quota),
                domains::max_mailboxes.eq(after.max_mailboxes),
                domains::max_aliases.eq(after.max_aliases),
                domains::password_max_age_days.eq(after.password_max_age_days),
                domains::updated_at.eq(now()),
                domains::version.eq(before.version + 1),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(format!(
                    "domain {} changed while saving; reload and try again",
                    before.name
                )));
            }
            let after = store::domains::by_id(c, before.id)?
                .ok_or_else(|| OpError::not_found("domain", before.name.clone()))?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "before": before, "after": after }),
            );
            Ok((after, done))
        },
    )
}

/// `before` with `input` applied, after every check `edit` makes on the
/// values against what the domain holds (allotted quota, mailbox and alias
/// counts). The bulk preview runs the same function, so it refuses exactly
/// what the apply would.
pub(crate) fn checked_edit(
    c: &mut AnyConnection,
    before: &Domain,
    input: &DomainInput,
) -> OpResult<Domain> {
    let mut after = before.clone();
    if let Some(d) = &input.description {
        after.description = validate::description("description", d)?;
    }
    if let Some(t) = &input.transport {
        after.transport = validate::transport("transport", t)?;
    }
    if let Some(a) = input.password_max_age_days {
        after.password_max_age_days = check_max_age(a)?;
    }
    if let Some(q) = input.quota_limit {
        let q = check_quota_field("quota_limit", q)?;
        if q > 0 {
            let allotted = store::domains::allotted(c, before.id, None)?;
            let (_, any_unlimited) = store::domains::largest_mailbox_quota(c, before.id)?;
            if any_unlimited {
                return Err(OpError::invalid(
                    "quota_limit",
                    format!("{} has mailboxes with unlimited quota; give them a quota before limiting the domain", before.name),
                ));
            }
            if q < allotted {
                return Err(OpError::invalid(
                    "quota_limit",
                    format!(
                        "{} is below the {} already allotted to mailboxes of {}",
                        format_size(q),
                        format_size(allotted),
                        before.name
                    ),
                ));
            }
        }
        after.quota_limit = q;
    }
    if let Some(m) = input.max_mailbox_quota {
        let m = check_quota_field("max_mailbox_quota", m)?;
        if m > 0 {
            let (largest, any_unlimited) = store::domains::largest_mailbox_quota(c, before.id)?;
            if any_unlimited || largest > m {
                return Err(OpError::invalid(
                    "max_mailbox_quota",
                    format!(
                        "{} is below a quota {} already has ({}); lower those mailboxes first",
                        format_size(m),
                        before.name,
                        if any_unlimited {
                            "unlimited".to_string()
                        } else {
                            format_size(largest)
                        }
                    ),
                ));
            }
        }
        after.max_mailbox_quota = m;
    }
    if let Some(m) = input.max_mailboxes {
        let m = validate::count_limit("max_mailboxes", m)?;
        let have = store::domains::mailbox_count(c, before.id)?;
        if m > 0 && i64::from(m) < have {
            return Err(OpError::invalid(
                "max_mailboxes",
                format!(
                    "{m} is below the {have} mailboxes {} already has",
                    before.name
                ),
            ));
        }
        after.max_mailboxes = m;
    }
    if let Some(m) = input.max_aliases {
        let m = validate::count_limit("max_aliases", m)?;
        let have = store::domains::alias_count(c, before.id)?;
        if m > 0 && i64::from(m) < have {
            return Err(OpError::invalid(
                "max_aliases",
                format!(
                    "{m} is below the {have} aliases {} already has",
                    before.name
                ),
            ));
        }
        after.max_aliases = m;
    }
    Ok(after)
}

/// Take the domain's row lock (PostgreSQL) so limit checks and the write
/// that follows see no concurrent insert; SQLite already holds the write lock.
pub(crate) fn lock(c: &mut AnyConnection, domain_id: i32) -> OpResult<()> {
    diesel::update(domains::table.find(domain_id))
        .set(domains::version.eq(domains::version))
        .execute(c)?;
    Ok(())
}

pub fn set_status(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    status: Status,
) -> OpResult<Domain> {
    let request = json!({ "name": name, "status": status.as_str() });
    run_write(
        conn,
        ctx,
        status.action(),
        AuditType::Domain,
        request,
        |c, who| {
            let before = find(c, "name", name)?;
            who.require_admin(&format!(
                "{} a domain",
                if status == Status::Active {
                    "activating"
                } else {
                    "suspending"
                }
            ))?;
            diesel::update(domains::table.find(before.id))
                .set((
                    domains::status.eq(status.as_str()),
                    domains::updated_at.eq(now()),
                    domains::version.eq(before.version + 1),
                ))
                .execute(c)?;
            let after = store::domains::by_id(c, before.id)?
                .ok_or_else(|| OpError::not_found("domain", before.name.clone()))?;
            let done = Done::new(
                i64::from(after.id),
                json!({ "before": { "status": before.status }, "after": { "status": after.status } }),
            );
            Ok((after, done))
        },
    )
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeleteSummary {
    pub domain: String,
    pub mailboxes: i64,
    pub aliases: i64,
    pub alias_domains: i64,
    pub permissions: i64,
}

/// Delete a domain. One with mailboxes, aliases or alias domains needs
/// `cascade`, which deletes them in the same transaction.
pub fn delete(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    name: &str,
    cascade: bool,
) -> OpResult<DeleteSummary> {
    let request = json!({ "name": name, "cascade": cascade });
    run_write(
        conn,
        ctx,
        AuditAction::Delete,
        AuditType::Domain,
        request,
        |c, who| {
            let d = find(c, "name", name)?;
            who.require_admin("deleting a domain")?;
            let mb = store::domains::mailbox_count(c, d.id)?;
            let al = store::domains::alias_count(c, d.id)?;
            let ad = store::alias_domains::count_for_target(c, d.id)?;
            if (mb > 0 || al > 0 || ad > 0) && !cascade {
                return Err(OpError::invalid(
                    "cascade",
                    format!(
                        "domain {} still has {}, {} and {}; delete them first or pass --cascade",
                        d.name,
                        crate::plural::count(mb, "mailbox", "mailboxes"),
                        crate::plural::count(al, "alias", "aliases"),
                        crate::plural::s(ad, "alias domain")
                    ),
                ));
            }
            // Its mailboxes go on hold like any deleted mailbox (issue 20):
            // restorable once the domain exists again, purged when due.
            let ids: Vec<i32> = mailboxes::table
                .filter(mailboxes::domain_id.eq(d.id))
                .select(mailboxes::id)
                .load(c)?;
            let held = ids
                .chunks(500)
                .map(|chunk| super::deleted::hold_many(c, who, chunk, &ctx.policy.lifecycle))
                .sum::<OpResult<usize>>()?;
            let summary = DeleteSummary {
                domain: d.name.clone(),
                mailboxes: i64::try_from(held).unwrap_or(i64::MAX),
                // Counted before the holds: a hold removes the aliases that
                // led only to its mailbox, and those are the domain's too.
                aliases: {
                    diesel::delete(aliases::table.filter(aliases::domain_id.eq(d.id)))
                        .execute(c)?;
                    al
                },
                alias_domains: diesel::delete(
                    alias_domains::table.filter(alias_domains::target_domain_id.eq(d.id)),
                )
                .execute(c)? as i64,
                permissions: diesel::delete(
                    user_domains::table.filter(user_domains::domain_id.eq(d.id)),
                )
                .execute(c)? as i64,
            };
            diesel::delete(domains::table.find(d.id)).execute(c)?;
            let done = Done::new(i64::from(d.id), json!({ "before": d, "deleted": summary }));
            Ok((summary, done))
        },
    )
}

pub fn get(conn: &mut AnyConnection, ctx: &Ctx, name: &str) -> OpResult<Domain> {
    let who = Principal::load(conn, ctx)?;
    let d = find(conn, "name", name)?;
    if !who.can_read_domain(d.id) {
        return Err(OpError::not_found("domain", d.name));
    }
    Ok(d)
}

pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    filter: &Filter,
    page: &Page,
) -> OpResult<Vec<Domain>> {
    let who = Principal::load(conn, ctx)?;
    let scope = who.domain_scope();
    Ok(store::domains::list(conn, scope.as_deref(), filter, page)?)
}
