//! DKIM keys per domain: add (generate or import), rotate, activate, retire,
//! revoke; the records to publish; the signer files. A key walks
//! pending -> active -> retiring -> revoked. Pending keys are published but
//! do not sign (DNS must have the record first); one key per algorithm signs
//! for a name; a retiring key stays published for the grace period so mail
//! signed just before the switch still verifies; a revoked key's private
//! half is erased and its record becomes `p=` (RFC 6376 3.6.1).
//!
//! Acting on a domain's keys needs the `domain` permission on it (for an
//! alias domain: on its target). Showing a private key and exporting signer
//! files are admin-only and audited.

use std::path::Path;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{now, run_write, Ctx, Done, Principal};
use crate::db::models::Domain;
use crate::db::schema::dkim_keys;
use crate::db::AnyConnection;
use crate::dkim::key::{self, Algorithm, KeyPair};
use crate::dkim::record::{self, TxtRecord};
use crate::dkim::signer::{self, Signing};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType, Perm};
use crate::secrets::{KeyFile, SecretString, Slot};
use crate::store;
use crate::store::dkim_keys::DkimKey;
use crate::validate;

const AUDIT_TYPE: AuditType = AuditType::DkimKey;

/// `[dkim]` settings the operations need. The TUI's worker holds a copy,
/// so its commands follow the config without the UI thread reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `%Y`, `%m`, `%d` replaced by today's date.
    pub selector_pattern: String,
    /// How long a retiring key stays published before `revoke --due`.
    pub grace_days: i64,
    /// What a key made without naming them gets (`default_algorithm`,
    /// `default_bits`).
    pub default_algorithm: Algorithm,
    pub default_bits: u32,
    /// A domain created from the TUI gets a pending key (`on_domain_add`;
    /// the CLI has `--dkim` / `--no-dkim` on top).
    pub on_domain_add: bool,
}

impl Settings {
    pub fn from_config(cfg: &crate::config::DkimSettings) -> Settings {
        Settings {
            selector_pattern: cfg.selector_pattern.clone(),
            grace_days: cfg.grace_days,
            // `DkimSettings::check` refused anything else at start-up.
            default_algorithm: Algorithm::parse("dkim.default_algorithm", &cfg.default_algorithm)
                .unwrap_or(Algorithm::Rsa),
            default_bits: cfg.default_bits,
            on_domain_add: cfg.on_domain_add,
        }
    }

    /// The size of a new key of `algorithm` when none is asked for: the
    /// configured RSA size, Ed25519's fixed one.
    pub fn default_bits_of(&self, algorithm: Algorithm) -> u32 {
        match algorithm {
            Algorithm::Rsa => self.default_bits,
            Algorithm::Ed25519 => key::ED25519_BITS,
        }
    }

    /// The first key `domain add` makes, if the config asks for one.
    pub fn on_create<'a>(&'a self, keys: &'a KeyFile) -> Option<OnCreate<'a>> {
        self.on_domain_add.then(|| OnCreate {
            keys,
            settings: self,
            algorithm: self.default_algorithm,
            bits: Some(self.default_bits_of(self.default_algorithm)),
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            selector_pattern: "pm%Y%m".into(),
            grace_days: 7,
            default_algorithm: Algorithm::Rsa,
            default_bits: key::DEFAULT_RSA_BITS,
            on_domain_add: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Pending,
    Active,
    Retiring,
    Revoked,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Retiring => "retiring",
            State::Revoked => "revoked",
        }
    }

    fn of(row: &DkimKey) -> OpResult<State> {
        match row.state.as_str() {
            "pending" => Ok(State::Pending),
            "active" => Ok(State::Active),
            "retiring" => Ok(State::Retiring),
            "revoked" => Ok(State::Revoked),
            other => Err(OpError::Io(format!(
                "DKIM key {} has an unknown state {other:?} in the database",
                row.id
            ))),
        }
    }
}

/// A key as lists and `show` present it, with the record to publish.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    #[serde(flatten)]
    pub row: DkimKey,
    pub record: TxtRecord,
}

fn algorithm_of(row: &DkimKey) -> OpResult<Algorithm> {
    Algorithm::parse("algorithm", &row.algorithm)
}

/// The record publishing `row` under `name` (its own domain, or an alias
/// domain signing with it); a revoked key publishes an empty `p=`.
fn record_of(name: &str, row: &DkimKey) -> OpResult<TxtRecord> {
    let public = (row.state != State::Revoked.as_str()).then_some(row.public_key.as_str());
    Ok(TxtRecord::new(
        name,
        &row.selector,
        algorithm_of(row)?,
        public,
    ))
}

fn view(row: DkimKey) -> OpResult<KeyView> {
    let record = record_of(&row.domain, &row)?;
    Ok(KeyView { row, record })
}

/// The name a key signs for, and the hosted domain that decides who may
/// touch it.
struct Owner {
    name: String,
    domain_id: Option<i32>,
    alias_domain_id: Option<i32>,
    hosted: Domain,
}

fn owner(c: &mut AnyConnection, who: &Principal, field: &str, name: &str) -> OpResult<Owner> {
    let norm = validate::domain(field, name)?;
    let found = if let Some(d) = store::domains::by_name(c, &norm)? {
        Some(Owner {
            name: norm.clone(),
            domain_id: Some(d.id),
            alias_domain_id: None,
            hosted: d,
        })
    } else if let Some(a) = store::alias_domains::by_name(c, &norm)? {
        store::domains::by_id(c, a.target_domain_id)?.map(|d| Owner {
            name: norm.clone(),
            domain_id: None,
            alias_domain_id: Some(a.id),
            hosted: d,
        })
    } else {
        None
    };
    match found {
        Some(o) if who.can_read_domain(o.hosted.id) => Ok(o),
        _ => Err(OpError::not_found_in(field, "domain", norm)),
    }
}

/// `ID` or `DOMAIN:SELECTOR`, as the CLI and the audit name a key.
fn find(c: &mut AnyConnection, who: &Principal, key_ref: &str) -> OpResult<(DkimKey, Owner)> {
    let key_ref = key_ref.trim();
    let row = match key_ref.split_once(':') {
        Some((d, s)) => {
            let d = validate::domain("key", d)?;
            let s = record::selector("key", s)?;
            store::dkim_keys::by_selector(c, &d, &s)?
        }
        None => match key_ref.parse::<i32>() {
            Ok(id) => store::dkim_keys::by_id(c, id)?,
            Err(_) => {
                return Err(OpError::invalid(
                    "key",
                    "must be a key id or DOMAIN:SELECTOR",
                ))
            }
        },
    };
    let row = row.ok_or_else(|| OpError::not_found_in("key", "DKIM key", key_ref))?;
    let owner = owner(c, who, "key", &row.domain)
        .map_err(|_| OpError::not_found_in("key", "DKIM key", key_ref))?;
    Ok((row, owner))
}

fn refuse_second_active(
    c: &mut AnyConnection,
    name: &str,
    alg: Algorithm,
    except: Option<i32>,
) -> OpResult<()> {
    match store::dkim_keys::active(c, name, alg.as_str())? {
        Some(a) if Some(a.id) != except => Err(OpError::invalid(
            "algorithm",
            format!(
                "{name} already signs with {} key {}: two active keys of one algorithm are not allowed; \
                 `dkim rotate {name}` replaces it, or retire it first",
                alg.as_str(),
                a.selector
            ),
        )),
        _ => Ok(()),
    }
}

/// What a new key needs besides its material.
pub struct NewKey<'a> {
    pub domain: &'a str,
    /// None: from the configured pattern.
    pub selector: Option<&'a str>,
    pub algorithm: Algorithm,
    pub bits: Option<u32>,
}

fn taken_selectors(c: &mut AnyConnection, name: &str) -> OpResult<Vec<String>> {
    Ok(store::dkim_keys::of_domain(c, name)?
        .into_iter()
        .map(|k| k.selector)
        .collect())
}

fn choose_selector(
    c: &mut AnyConnection,
    settings: &Settings,
    name: &str,
    asked: Option<&str>,
    alg: Algorithm,
) -> OpResult<String> {
    let taken = taken_selectors(c, name)?;
    match asked {
        Some(s) => {
            let s = record::selector("selector", s)?;
            if taken.contains(&s) {
                return Err(OpError::duplicate(
                    "selector",
                    format!("{name} already has a key with selector {s}"),
                ));
            }
            Ok(s)
        }
        None => record::next_selector(&settings.selector_pattern, now().date(), alg, &taken),
    }
}

/// Insert a pending key and seal its private half under the row's id.
fn insert(
    c: &mut AnyConnection,
    keys: &KeyFile,
    who: &Principal,
    owner: &Owner,
    selector: &str,
    pair: &KeyPair,
    replaces: Option<i32>,
) -> OpResult<DkimKey> {
    let bits = i32::try_from(pair.bits).map_err(|_| OpError::invalid("bits", "is out of range"))?;
    diesel::insert_into(dkim_keys::table)
        .values((
            dkim_keys::domain.eq(&owner.name),
            dkim_keys::domain_id.eq(owner.domain_id),
            dkim_keys::alias_domain_id.eq(owner.alias_domain_id),
            dkim_keys::selector.eq(selector),
            dkim_keys::algorithm.eq(pair.algorithm.as_str()),
            dkim_keys::bits.eq(bits),
            dkim_keys::public_key.eq(&pair.public),
            dkim_keys::state.eq(State::Pending.as_str()),
            dkim_keys::replaces_id.eq(replaces),
            dkim_keys::created_at.eq(now()),
            dkim_keys::created_by.eq(Some(who.id)),
        ))
        .execute(c)?;
    let row = store::dkim_keys::by_selector(c, &owner.name, selector)?
        .ok_or_else(|| OpError::not_found("DKIM key", format!("{}:{selector}", owner.name)))?;
    let sealed = keys
        .load_or_create()?
        .encrypt(Slot::dkim_private_key(row.id), &pair.private_pem)?;
    diesel::update(dkim_keys::table.find(row.id))
        .set(dkim_keys::private_key.eq(Some(sealed)))
        .execute(c)?;
    Ok(row)
}

fn created(row: DkimKey, how: &str) -> OpResult<(KeyView, Done)> {
    let details = json!({
        "domain": row.domain, "selector": row.selector, "algorithm": row.algorithm,
        "bits": row.bits, "how": how, "replaces": row.replaces_id,
    });
    let id = i64::from(row.id);
    Ok((view(row)?, Done::new(id, details)))
}

/// `dkim add`: generate a pending key. Key generation (up to a second for
/// RSA 4096) runs before the write transaction opens.
pub fn add(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    settings: &Settings,
    new: &NewKey<'_>,
) -> OpResult<KeyView> {
    let request = json!({ "domain": new.domain, "selector": new.selector,
        "algorithm": new.algorithm.as_str(), "bits": new.bits });
    // No size asked: the configured one (`[dkim] default_bits`).
    let asked = new
        .bits
        .unwrap_or_else(|| settings.default_bits_of(new.algorithm));
    let bits = key::bits("bits", new.algorithm, Some(asked));
    let pair = match &bits {
        Ok(b) => Some(key::generate(new.algorithm, *b)?),
        Err(_) => None,
    };
    run_write(
        conn,
        ctx,
        AuditAction::Create,
        AUDIT_TYPE,
        request,
        |c, who| {
            let owner = owner(c, who, "domain", new.domain)?;
            who.require_domain(&owner.hosted, Perm::Domain)?;
            bits?;
            refuse_second_active(c, &owner.name, new.algorithm, None)?;
            let selector = choose_selector(c, settings, &owner.name, new.selector, new.algorithm)?;
            let pair = pair.ok_or_else(|| OpError::invalid("bits", "no key was generated"))?;
            let row = insert(c, keys, who, &owner, &selector, &pair, None)?;
            created(row, "generated")
        },
    )
}

/// A new domain's first key (`domain add --dkim`): what to generate, and
/// where to keep it.
pub struct OnCreate<'a> {
    pub keys: &'a KeyFile,
    pub settings: &'a Settings,
    pub algorithm: Algorithm,
    pub bits: Option<u32>,
}

impl OnCreate<'_> {
    /// Before the transaction opens: a bad size is refused here, before
    /// anything is written.
    pub(crate) fn generate(&self) -> OpResult<KeyPair> {
        key::generate(
            self.algorithm,
            key::bits("bits", self.algorithm, self.bits)?,
        )
    }

    /// Inside `domains::create_with_dkim`'s transaction: the pending key
    /// for the domain just inserted, with its own audit row.
    pub(crate) fn insert(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        who: &Principal,
        d: &Domain,
        pair: &KeyPair,
    ) -> OpResult<KeyView> {
        let owner = Owner {
            name: d.name.clone(),
            domain_id: Some(d.id),
            alias_domain_id: None,
            hosted: d.clone(),
        };
        who.require_domain(&owner.hosted, Perm::Domain)?;
        let selector = choose_selector(c, self.settings, &owner.name, None, pair.algorithm)?;
        let row = insert(c, self.keys, who, &owner, &selector, pair, None)?;
        let (view, done) = created(row, "domain add")?;
        super::audit::record(
            c,
            ctx,
            super::audit::Entry {
                action: AuditAction::Create,
                resource_type: AUDIT_TYPE,
                resource_id: done.resource_id,
                details: done.details,
                result: super::audit::RESULT_OK,
            },
        )?;
        Ok(view)
    }
}

/// `dkim import`: a pending key from a PEM the admin brings.
pub fn import(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    domain: &str,
    selector: &str,
    pem: &SecretString,
) -> OpResult<KeyView> {
    let request = json!({ "domain": domain, "selector": selector });
    let pair = key::import("key_file", pem.expose());
    run_write(
        conn,
        ctx,
        AuditAction::Import,
        AUDIT_TYPE,
        request,
        |c, who| {
            let owner = owner(c, who, "domain", domain)?;
            who.require_domain(&owner.hosted, Perm::Domain)?;
            let pair = pair?;
            refuse_second_active(c, &owner.name, pair.algorithm, None)?;
            let selector = choose_selector(
                c,
                &Settings::default(),
                &owner.name,
                Some(selector),
                pair.algorithm,
            )?;
            let row = insert(c, keys, who, &owner, &selector, &pair, None)?;
            created(row, "imported")
        },
    )
}

/// `dkim rotate`: the next key as pending, taking over from the active key
/// of the same algorithm when it is activated.
pub fn rotate(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    settings: &Settings,
    domain: &str,
    algorithm: Algorithm,
    bits: Option<u32>,
) -> OpResult<KeyView> {
    let request = json!({ "domain": domain, "algorithm": algorithm.as_str(), "bits": bits });
    let bits = key::bits("bits", algorithm, bits);
    let pair = match &bits {
        Ok(b) => Some(key::generate(algorithm, *b)?),
        Err(_) => None,
    };
    run_write(
        conn,
        ctx,
        AuditAction::Rotate,
        AUDIT_TYPE,
        request,
        |c, who| {
            let owner = owner(c, who, "domain", domain)?;
            who.require_domain(&owner.hosted, Perm::Domain)?;
            bits?;
            let Some(current) = store::dkim_keys::active(c, &owner.name, algorithm.as_str())?
            else {
                return Err(OpError::invalid(
                    "domain",
                    format!(
                        "{} has no active {} key to rotate; `dkim add` creates the first",
                        owner.name,
                        algorithm.as_str()
                    ),
                ));
            };
            if let Some(p) = store::dkim_keys::of_domain(c, &owner.name)?
                .into_iter()
                .find(|k| k.replaces_id == Some(current.id) && k.state == State::Pending.as_str())
            {
                return Err(OpError::invalid(
                "domain",
                format!("a rotation of {} is already pending (selector {}): activate or revoke it first", current.selector, p.selector),
            ));
            }
            let selector = choose_selector(c, settings, &owner.name, None, algorithm)?;
            let pair = pair.ok_or_else(|| OpError::invalid("bits", "no key was generated"))?;
            let row = insert(c, keys, who, &owner, &selector, &pair, Some(current.id))?;
            created(row, "rotated")
        },
    )
}

/// A state change's answer: the key, and the one it took over from.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub key: KeyView,
    pub retired: Option<KeyView>,
}

/// One state change: the new state, its time, and (on revoke) the erased
/// private key. `None` leaves a column as it is.
#[derive(AsChangeset)]
#[diesel(table_name = dkim_keys)]
struct StateChange<'a> {
    state: &'a str,
    version: i32,
    activated_at: Option<chrono::NaiveDateTime>,
    retired_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
    /// `Some(None)` sets NULL: revoking erases the private half, the row
    /// keeps what the record and the audit need.
    private_key: Option<Option<String>>,
}

/// Move `row` to `to` (never back to pending: nothing does), guarded by
/// the version it was read at.
fn set_state(c: &mut AnyConnection, row: &DkimKey, to: State) -> OpResult<DkimKey> {
    let t = Some(now());
    let change = StateChange {
        state: to.as_str(),
        version: row.version + 1,
        activated_at: t.filter(|_| to == State::Active),
        retired_at: t.filter(|_| to == State::Retiring),
        revoked_at: t.filter(|_| to == State::Revoked),
        private_key: (to == State::Revoked).then_some(None),
    };
    let n = diesel::update(dkim_keys::table.find(row.id))
        .filter(dkim_keys::version.eq(row.version))
        .set(&change)
        .execute(c)?;
    if n != 1 {
        return Err(OpError::Conflict(format!(
            "DKIM key {}:{} changed while this ran; try again",
            row.domain, row.selector
        )));
    }
    store::dkim_keys::by_id(c, row.id)?
        .ok_or_else(|| OpError::not_found("DKIM key", row.id.to_string()))
}

fn transition_done(
    key: DkimKey,
    retired: Option<DkimKey>,
    from: State,
) -> OpResult<(Transition, Done)> {
    let details = json!({
        "domain": key.domain, "selector": key.selector, "from": from.as_str(),
        "to": key.state, "retired": retired.as_ref().map(|r| r.selector.clone()),
    });
    let id = i64::from(key.id);
    let t = Transition {
        key: view(key)?,
        retired: retired.map(view).transpose()?,
    };
    Ok((t, Done::new(id, details)))
}

/// `dkim activate`: the key starts signing. A rotation's key retires the key
/// it replaces in the same transaction; any other key is refused while
/// another key of its algorithm signs.
pub fn activate(conn: &mut AnyConnection, ctx: &Ctx, key_ref: &str) -> OpResult<Transition> {
    run_write(
        conn,
        ctx,
        AuditAction::Activate,
        AUDIT_TYPE,
        json!({ "key": key_ref }),
        |c, who| {
            let (row, owner) = find(c, who, key_ref)?;
            who.require_domain(&owner.hosted, Perm::Domain)?;
            let from = State::of(&row)?;
            match from {
                State::Pending | State::Retiring => {}
                State::Active => {
                    return Err(OpError::invalid(
                        "key",
                        format!("{}:{} is already active", row.domain, row.selector),
                    ))
                }
                State::Revoked => {
                    return Err(OpError::invalid(
                        "key",
                        format!(
                        "{}:{} is revoked: its private key is erased and it can never sign again",
                        row.domain, row.selector
                    ),
                    ))
                }
            }
            let alg = algorithm_of(&row)?;
            let current = store::dkim_keys::active(c, &row.domain, alg.as_str())?;
            let retired = match current {
                Some(cur) if row.replaces_id == Some(cur.id) => {
                    Some(set_state(c, &cur, State::Retiring)?)
                }
                Some(_) => {
                    refuse_second_active(c, &row.domain, alg, Some(row.id))?;
                    None
                }
                None => None,
            };
            let key = set_state(c, &row, State::Active)?;
            transition_done(key, retired, from)
        },
    )
}

/// `dkim retire`: stop signing with an active key; its record stays.
pub fn retire(conn: &mut AnyConnection, ctx: &Ctx, key_ref: &str) -> OpResult<Transition> {
    run_write(
        conn,
        ctx,
        AuditAction::Retire,
        AUDIT_TYPE,
        json!({ "key": key_ref }),
        |c, who| {
            let (row, owner) = find(c, who, key_ref)?;
            who.require_domain(&owner.hosted, Perm::Domain)?;
            let from = State::of(&row)?;
            if from != State::Active {
                return Err(OpError::invalid(
                    "key",
                    format!(
                        "{}:{} is {}: only an active key can be retired",
                        row.domain,
                        row.selector,
                        from.as_str()
                    ),
                ));
            }
            let key = set_state(c, &row, State::Retiring)?;
            transition_done(key, None, from)
        },
    )
}

/// When a retiring key's grace period ends.
pub fn grace_ends(row: &DkimKey, settings: &Settings) -> Option<chrono::NaiveDateTime> {
    row.retired_at
        .map(|t| t + chrono::TimeDelta::days(settings.grace_days))
}

/// `dkim revoke`: erase the private key and publish `p=`. An active key, or
/// a retiring one inside its grace period, needs `now` (a compromised key).
pub fn revoke(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &Settings,
    key_ref: &str,
    at_once: bool,
) -> OpResult<Transition> {
    let request = json!({ "key": key_ref, "now": at_once });
    run_write(
        conn,
        ctx,
        AuditAction::Revoke,
        AUDIT_TYPE,
        request,
        |c, who| {
            let (row, owner) = find(c, who, key_ref)?;
            who.require_domain(&owner.hosted, Perm::Domain)?;
            let from = State::of(&row)?;
            check_revocable(&row, from, settings, at_once)?;
            let key = set_state(c, &row, State::Revoked)?;
            transition_done(key, None, from)
        },
    )
}

fn check_revocable(row: &DkimKey, from: State, settings: &Settings, at_once: bool) -> OpResult<()> {
    let name = format!("{}:{}", row.domain, row.selector);
    match from {
        State::Revoked => Err(OpError::invalid("key", format!("{name} is already revoked"))),
        State::Active if !at_once => Err(OpError::invalid(
            "key",
            format!("{name} is signing now: rotate or retire it first, or pass --now to revoke a compromised key at once"),
        )),
        State::Retiring if !at_once => match grace_ends(row, settings) {
            Some(end) if end > now() => Err(OpError::invalid(
                "key",
                format!(
                    "{name} is in its {}-day grace period until {} UTC (mail signed with it may still be verified); pass --now to revoke anyway",
                    settings.grace_days,
                    end.format("%Y-%m-%d %H:%M")
                ),
            )),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// `dkim revoke --due`: every retiring key past its grace period (a timer
/// runs this). Returns the revoked keys.
pub fn revoke_due(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &Settings,
) -> OpResult<Vec<Transition>> {
    let who = Principal::load(conn, ctx)?;
    let due: Vec<DkimKey> = store::dkim_keys::in_state(conn, State::Retiring.as_str())?
        .into_iter()
        .filter(|k| grace_ends(k, settings).is_some_and(|end| end <= now()))
        .collect();
    let mut out = Vec::with_capacity(due.len());
    for k in due {
        // A scoped user's timer revokes its own domains' keys and passes
        // over the rest instead of stopping at the first it may not see.
        if owner(conn, &who, "key", &k.domain).is_err() {
            continue;
        }
        out.push(revoke(conn, ctx, settings, &k.id.to_string(), false)?);
    }
    Ok(out)
}

/// `dkim list`: a page of keys the user may see, optionally of one name.
pub fn list(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    domain: Option<&str>,
    after: Option<i32>,
    limit: i64,
) -> OpResult<Vec<KeyView>> {
    let who = Principal::load(conn, ctx)?;
    let name = match domain {
        Some(d) => Some(owner(conn, &who, "domain", d)?.name),
        None => None,
    };
    let scope = who.domain_scope();
    store::dkim_keys::page(conn, name.as_deref(), scope.as_deref(), after, limit)?
        .into_iter()
        .map(view)
        .collect()
}

pub fn show(conn: &mut AnyConnection, ctx: &Ctx, key_ref: &str) -> OpResult<KeyView> {
    let who = Principal::load(conn, ctx)?;
    view(find(conn, &who, key_ref)?.0)
}

/// `dkim show --show-private`: admin-only, audited whether allowed or not.
pub fn show_private(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    key_ref: &str,
) -> OpResult<(KeyView, SecretString)> {
    run_write(
        conn,
        ctx,
        AuditAction::ShowPrivate,
        AUDIT_TYPE,
        json!({ "key": key_ref }),
        |c, who| {
            who.require_admin("showing a DKIM private key")?;
            let (row, _) = find(c, who, key_ref)?;
            let pem = open(keys, &row)?;
            let id = i64::from(row.id);
            let details = json!({ "domain": row.domain, "selector": row.selector });
            Ok(((view(row)?, pem), Done::new(id, details)))
        },
    )
}

fn open(keys: &KeyFile, row: &DkimKey) -> OpResult<SecretString> {
    let sealed = row.private_key.as_deref().ok_or_else(|| {
        OpError::invalid(
            "key",
            format!(
                "{}:{} is revoked: its private key was erased",
                row.domain, row.selector
            ),
        )
    })?;
    Ok(keys
        .load()?
        .decrypt(Slot::dkim_private_key(row.id), sealed)?)
}

/// Part of `ldap rotate-key`: every private key still held, decrypted with
/// the old secrets key and sealed with the new one, in the rotation's
/// transaction. Missing this would leave every DKIM key undecryptable the
/// moment the new key file is renamed into place.
pub(crate) fn reencrypt(
    c: &mut AnyConnection,
    old: Option<&crate::secrets::SecretKey>,
    new: &crate::secrets::SecretKey,
    key_path: &Path,
) -> OpResult<usize> {
    let rows: Vec<(i32, String)> = dkim_keys::table
        .filter(dkim_keys::private_key.is_not_null())
        .select((dkim_keys::id, dkim_keys::private_key.assume_not_null()))
        .load(c)?;
    let sealed: Vec<_> = rows
        .iter()
        .map(|(id, s)| (*id, Slot::dkim_private_key(*id), s.as_str()))
        .collect();
    crate::secrets::reseal(
        "DKIM private keys",
        &sealed,
        (old, new),
        key_path,
        |id, resealed| {
            diesel::update(dkim_keys::table.find(id))
                .set(dkim_keys::private_key.eq(Some(resealed)))
                .execute(c)
                .map(drop)
                .map_err(OpError::from)
        },
    )
}

/// `dkim dns DOMAIN`: every record the name must publish. An alias domain
/// with no keys of its own publishes its target's keys under its own name.
pub fn dns(conn: &mut AnyConnection, ctx: &Ctx, domain: &str) -> OpResult<Vec<TxtRecord>> {
    let who = Principal::load(conn, ctx)?;
    let owner = owner(conn, &who, "domain", domain)?;
    let mut rows = store::dkim_keys::of_domain(conn, &owner.name)?;
    if rows.is_empty() && owner.alias_domain_id.is_some() {
        rows = store::dkim_keys::of_domain(conn, &owner.hosted.name)?;
    }
    rows.iter().map(|r| record_of(&owner.name, r)).collect()
}

/// Which signer's files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signer {
    Opendkim,
    Rspamd,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    pub dir: String,
    pub files: Vec<String>,
    /// `domain:selector` of every signing entry (alias domains included).
    pub signing: Vec<String>,
    /// The reload that ran after the export, if one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload: Option<Reloaded>,
}

/// Every (name, key) pair that signs: active keys, plus each active alias
/// domain without keys of its own signing with its target's keys.
fn signing_rows(c: &mut AnyConnection) -> OpResult<Vec<(String, DkimKey)>> {
    let active = store::dkim_keys::in_state(c, State::Active.as_str())?;
    let mut own_names: Vec<String> = store::dkim_keys::names(c)?;
    own_names.sort_unstable();
    let mut out: Vec<(String, DkimKey)> = active
        .iter()
        .map(|k| (k.domain.clone(), k.clone()))
        .collect();
    for (alias, target) in store::alias_domains::active_with_target(c)? {
        if own_names.binary_search(&alias).is_ok() {
            continue;
        }
        for k in active.iter().filter(|k| k.domain == target) {
            out.push((alias.clone(), k.clone()));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1.selector).cmp(&(&b.0, &b.1.selector)));
    Ok(out)
}

/// Who owns an export and what runs after it.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Owner and group of new files and of a new directory (`[dkim]
    /// key_owner`/`key_group`); None: the running user's.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Run after the set is in place (`sh -c`, PM_DKIM_DIR set).
    pub reload: Option<String>,
    /// Bounded like `mail config apply`'s hooks: the command runs inside
    /// the write transaction, so it must not hold the write lock longer
    /// than other writers wait.
    pub reload_timeout: std::time::Duration,
}

impl ExportOptions {
    /// From `[dkim]`: the owner and group looked up by name, and the
    /// signer's reload command.
    pub fn from_config(cfg: &crate::config::DkimSettings, signer_kind: Signer) -> OpResult<Self> {
        let (uid, owner_gid) = match cfg.key_owner.trim() {
            "" => (None, None),
            name => match nix::unistd::User::from_name(name) {
                Ok(Some(u)) => (Some(u.uid.as_raw()), Some(u.gid.as_raw())),
                Ok(None) => {
                    return Err(OpError::invalid(
                        "dkim.key_owner",
                        format!("no user named {name:?} on this machine"),
                    ))
                }
                Err(e) => return Err(OpError::Io(format!("looking up user {name:?}: {e}"))),
            },
        };
        let gid = match cfg.key_group.trim() {
            "" => owner_gid,
            name => match nix::unistd::Group::from_name(name) {
                Ok(Some(g)) => Some(g.gid.as_raw()),
                Ok(None) => {
                    return Err(OpError::invalid(
                        "dkim.key_group",
                        format!("no group named {name:?} on this machine"),
                    ))
                }
                Err(e) => return Err(OpError::Io(format!("looking up group {name:?}: {e}"))),
            },
        };
        let reload = match signer_kind {
            Signer::Opendkim => &cfg.opendkim_reload,
            Signer::Rspamd => &cfg.rspamd_reload,
        };
        Ok(ExportOptions {
            uid,
            gid,
            reload: Some(reload.trim().to_string()).filter(|r| !r.is_empty()),
            reload_timeout: std::time::Duration::from_secs(cfg.reload_timeout_secs.clamp(1, 25)),
        })
    }
}

/// How the reload after an export went.
#[derive(Debug, Clone, Serialize)]
pub struct Reloaded {
    pub command: String,
    pub ok: bool,
    /// Why it failed (the command's complaint, or the timeout).
    pub error: Option<String>,
}

/// `dkim export`: the signer's files for every signing key, written into
/// `dir` in one swap (readers see the old set or the new one). Admin-only.
pub fn export(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    signer_kind: Signer,
    dir: &Path,
    gid: Option<u32>,
) -> OpResult<Exported> {
    let opts = ExportOptions {
        gid,
        ..ExportOptions::default()
    };
    export_with(conn, ctx, keys, signer_kind, dir, &opts)
}

/// `export` with an owner and a reload. A failed reload does not undo the
/// export (the files are right; the signer did not take them): it is in
/// the answer and the audit row, and the CLI exits 1 on it.
pub fn export_with(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    signer_kind: Signer,
    dir: &Path,
    opts: &ExportOptions,
) -> OpResult<Exported> {
    let request = json!({ "signer": signer_kind, "dir": dir.display().to_string() });
    run_write(
        conn,
        ctx,
        AuditAction::Export,
        AUDIT_TYPE,
        request,
        |c, who| {
            who.require_admin("exporting DKIM private keys")?;
            let abs = std::path::absolute(dir)
                .map_err(|e| OpError::invalid("dir", format!("cannot be resolved: {e}")))?;
            let mut out = write_set(c, keys, signer_kind, &abs, opts)?;
            out.reload = opts.reload.as_ref().map(|cmd| {
                let r = crate::mail::configs::run_hook_within(
                    "reload",
                    cmd,
                    &[("PM_DKIM_DIR", abs.as_path())],
                    opts.reload_timeout,
                );
                Reloaded {
                    command: cmd.clone(),
                    ok: r.is_ok(),
                    error: r.err(),
                }
            });
            let details = json!({ "signer": signer_kind, "dir": out.dir, "signing": out.signing,
                "reload": out.reload });
            Ok((out, Done::new(None, details)))
        },
    )
}

/// Render the signer's set from the signing keys and swap it into `abs`.
fn write_set(
    c: &mut AnyConnection,
    keys: &KeyFile,
    signer_kind: Signer,
    abs: &Path,
    opts: &ExportOptions,
) -> OpResult<Exported> {
    let rows = signing_rows(c)?;
    let mut pems = Vec::with_capacity(rows.len());
    for (_, k) in &rows {
        pems.push(open(keys, k)?);
    }
    let mut entries = Vec::with_capacity(rows.len());
    for ((name, k), pem) in rows.iter().zip(&pems) {
        entries.push(Signing {
            domain: name,
            selector: &k.selector,
            algorithm: algorithm_of(k)?,
            private_pem: pem,
            key_domain: &k.domain,
        });
    }
    let files = match signer_kind {
        Signer::Opendkim => signer::opendkim(&entries, abs),
        Signer::Rspamd => signer::rspamd(&entries, abs),
    };
    crate::mail::atomic::write_dir_owned(abs, &files, 0o600, opts.uid, opts.gid)
        .map_err(|e| OpError::Io(format!("writing {}: {e}", abs.display())))?;
    Ok(Exported {
        dir: abs.display().to_string(),
        files: files.iter().map(|(n, _)| n.clone()).collect(),
        signing: entries
            .iter()
            .map(|e| format!("{}:{}", e.domain, e.selector))
            .collect(),
        reload: None,
    })
}

/// Whether any key exists (in any state): `mail generate` writes the
/// signer sets only then, so a host without DKIM gets no empty ones.
pub fn has_keys(conn: &mut AnyConnection) -> OpResult<bool> {
    Ok(!store::dkim_keys::names(conn)?.is_empty())
}
