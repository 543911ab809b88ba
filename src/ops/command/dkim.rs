//! DKIM keys as commands (the TUI's DKIM screen runs these; the CLI may
//! too), and the two reads that screen and the Domains screen need.
//!
//! Lanes. Adding or rotating a key generates a key pair first (RSA 2048
//! about 0.3 s of CPU, RSA 4096 up to a few seconds), before ops opens its
//! write transaction. On the writer that time would queue every other save
//! of the session behind it, so those two run on the slow lane, which has
//! its own connection; their write transaction is as short as any other
//! and takes the same write lock, so the two lanes never write at once.
//! Activate, retire and revoke are one guarded UPDATE: the writer.

use std::collections::HashMap;

use serde::Serialize;

use super::{Command, Host, Lane, Outcome};
use crate::db::AnyConnection;
use crate::dkim::key::Algorithm;
use crate::error::{OpError, OpResult};
use crate::ops::dkim::{self, KeyView, NewKey, Settings, Transition};
use crate::ops::{Ctx, Principal};
use crate::secrets::KeyFile;
use crate::store::{self, dkim_keys::DkimKey, Filter, Page};

pub(super) fn key_file<'a>(host: &Host<'a>) -> OpResult<&'a KeyFile> {
    host.directory.key_file.as_ref().ok_or_else(|| {
        OpError::Io("this session has no secrets key file to seal DKIM private keys with".into())
    })
}

fn key_name(v: &KeyView) -> String {
    format!("{}:{}", v.row.domain, v.row.selector)
}

/// `dkim add` from the TUI's form.
#[derive(Debug)]
pub struct AddDkim {
    pub domain: String,
    /// None: the configured pattern's.
    pub selector: Option<String>,
    pub algorithm: Algorithm,
    pub bits: Option<u32>,
}

impl Command for AddDkim {
    /// Key generation: see the module's note.
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let new = NewKey {
            domain: &self.domain,
            selector: self.selector.as_deref(),
            algorithm: self.algorithm,
            bits: self.bits,
        };
        let v = dkim::add(c, ctx, key_file(host)?, host.dkim, &new)?;
        Outcome::new(
            format!(
                "added DKIM key {} (pending): publish its record (v), then activate it (a)",
                key_name(&v)
            ),
            &v,
        )
    }
}

/// `dkim rotate DOMAIN`: the next key, pending, taking over on activate.
#[derive(Debug)]
pub struct RotateDkim {
    pub domain: String,
    pub algorithm: Algorithm,
}

impl Command for RotateDkim {
    /// Key generation: see the module's note.
    fn lane(&self) -> Lane {
        Lane::SlowIo
    }

    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let keys = key_file(host)?;
        let v = dkim::rotate(c, ctx, keys, host.dkim, &self.domain, self.algorithm, None)?;
        Outcome::new(
            format!(
                "rotating: new DKIM key {} is pending; publish its record (v), then activate it (a)",
                key_name(&v)
            ),
            &v,
        )
    }
}

/// Which state change a `StepDkim` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Activate,
    Retire,
    /// `now`: also an active key or one inside its grace period (the
    /// dialog said so before Yes).
    Revoke {
        now: bool,
    },
}

/// Activate, retire or revoke one key, by `DOMAIN:SELECTOR` or id.
#[derive(Debug)]
pub struct StepDkim {
    pub key: String,
    pub step: Step,
}

impl Command for StepDkim {
    fn run(
        self: Box<Self>,
        c: &mut AnyConnection,
        ctx: &Ctx,
        host: &Host<'_>,
    ) -> OpResult<Outcome> {
        let t: Transition = match self.step {
            Step::Activate => dkim::activate(c, ctx, &self.key)?,
            Step::Retire => dkim::retire(c, ctx, &self.key)?,
            Step::Revoke { now } => dkim::revoke(c, ctx, host.dkim, &self.key, now)?,
        };
        let said = match (self.step, &t.retired) {
            (Step::Activate, Some(old)) => format!(
                "DKIM key {} signs now; {} is retiring",
                key_name(&t.key),
                key_name(old)
            ),
            (Step::Activate, None) => format!("DKIM key {} signs now", key_name(&t.key)),
            (Step::Retire, _) => format!(
                "DKIM key {} is retiring: it stops signing, its record stays published",
                key_name(&t.key)
            ),
            (Step::Revoke { .. }, _) => format!(
                "DKIM key {} is revoked: private key erased, its record is now p=",
                key_name(&t.key)
            ),
        };
        Outcome::new(said, &t)
    }
}

/// The records a name must publish, as a titled text: its first line is
/// the panel's title, the rest the records exactly as `ops::dkim::dns`
/// gives them (zone-file form, then the name/type/value form), and how to
/// copy them whole. Lines of prose stay under 76 columns so the panel
/// (which cuts long lines to its width) never splits a word.
#[derive(Debug)]
pub struct DkimDns {
    pub domain: String,
}

impl Command for DkimDns {
    fn lane(&self) -> Lane {
        Lane::Read
    }

    fn run(self: Box<Self>, c: &mut AnyConnection, ctx: &Ctx, _: &Host<'_>) -> OpResult<Outcome> {
        let records = dkim::dns(c, ctx, &self.domain)?;
        let mut text = format!("DNS records for {}", self.domain);
        if records.is_empty() {
            text.push_str("\n\nNo DKIM keys: nothing to publish.");
        } else {
            text.push_str("\n\nZone-file form:");
            for r in &records {
                text.push_str(&format!("\n\n{}", r.zone()));
            }
            text.push_str("\n\nName, type and value (DNS panels with separate fields):");
            for r in &records {
                text.push_str(&format!("\n\n{}", r.plain()));
            }
        }
        text.push_str(&format!(
            "\n\nTo copy, run: postfix-manager dkim dns {}\n\
             (a selection here would copy the wrapping's breaks too)",
            self.domain
        ));
        Outcome::new(text, &records)
    }
}

/// A key as the DKIM screen lists it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyRow {
    #[serde(flatten)]
    pub key: DkimKey,
    /// A retiring key: when its grace period ends (`revoke --due` then).
    pub grace_end: Option<chrono::NaiveDateTime>,
}

fn key_row(key: DkimKey, settings: &Settings) -> KeyRow {
    let grace_end = (key.state == dkim::State::Retiring.as_str())
        .then(|| dkim::grace_ends(&key, settings))
        .flatten();
    KeyRow { key, grace_end }
}

/// The DKIM screen's page: keys the user may see, by id in either
/// direction, filtered on name or selector, or one domain's keys.
pub fn page(
    c: &mut AnyConnection,
    ctx: &Ctx,
    settings: &Settings,
    f: &Filter,
    page: &Page,
) -> OpResult<Vec<KeyRow>> {
    let who = Principal::load(c, ctx)?;
    let scope = who.domain_scope();
    let rows =
        store::dkim_keys::page_both(c, f.text.as_deref(), f.domain_id, scope.as_deref(), page)?;
    Ok(rows.into_iter().map(|k| key_row(k, settings)).collect())
}

/// One key by `DOMAIN:SELECTOR` or id, through ops' scoped `show`.
pub fn row(c: &mut AnyConnection, ctx: &Ctx, settings: &Settings, key: &str) -> OpResult<KeyRow> {
    Ok(key_row(dkim::show(c, ctx, key)?.row, settings))
}

/// What the Domains screen says about a domain's DKIM keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// `active`, `pending` or `retiring`: the most advanced state among
    /// its keys that are not revoked.
    pub state: String,
    pub selector: String,
}

/// The markers of these (listed, so visible) domains, in one query:
/// a signing key first (RSA before Ed25519), else a pending one, else a
/// retiring one. Domains with no live key have none.
pub fn markers(c: &mut AnyConnection, domain_ids: &[i32]) -> OpResult<HashMap<i32, Marker>> {
    let rank = |state: &str, alg: &str| match (state, alg) {
        ("active", "rsa") => 0,
        ("active", _) => 1,
        ("pending", _) => 2,
        _ => 3,
    };
    let mut out: HashMap<i32, (u8, Marker)> = HashMap::new();
    for (id, selector, alg, state) in store::dkim_keys::states_of_domains(c, domain_ids)? {
        let r = rank(&state, &alg);
        // Oldest first: a later key of the same rank (a newer pending
        // rotation) replaces an older one.
        if out.get(&id).is_none_or(|(best, _)| r <= *best) {
            out.insert(id, (r, Marker { state, selector }));
        }
    }
    Ok(out.into_iter().map(|(id, (_, m))| (id, m)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Key generation never runs on the writer (it would hold up every
    /// save behind it); state changes do, the record view only reads.
    #[test]
    fn lanes() {
        let add = AddDkim {
            domain: "a.test".into(),
            selector: None,
            algorithm: Algorithm::Rsa,
            bits: None,
        };
        let rotate = RotateDkim {
            domain: "a.test".into(),
            algorithm: Algorithm::Rsa,
        };
        let step = StepDkim {
            key: "a.test:s1".into(),
            step: Step::Activate,
        };
        let dns = DkimDns {
            domain: "a.test".into(),
        };
        assert_eq!(add.lane(), Lane::SlowIo);
        assert_eq!(rotate.lane(), Lane::SlowIo);
        assert_eq!(step.lane(), Lane::Write);
        assert_eq!(dns.lane(), Lane::Read);
    }
}
