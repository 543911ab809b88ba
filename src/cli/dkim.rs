//! `postfix-manager dkim ...`: thin calls into `ops::dkim`. Private keys
//! never reach stdout unless `show --show-private` (admin-only, audited);
//! everything else prints the public record.

use std::path::PathBuf;
use std::time::Instant;

use clap::{ArgGroup, Args, Subcommand};
use serde_json::json;

use super::args::{Cli, PageArgs};
use super::output::{list, object, said, ts, Row};
use super::CliError;
use crate::db::AnyConnection;
use crate::dkim::key::{self, Algorithm};
use crate::dkim::record::TxtRecord;
use crate::env::Env;
use crate::ops::dkim::{self as ops_dkim, ExportOptions, KeyView, NewKey, Settings, Signer};
use crate::ops::Ctx;
use crate::sanitize::{for_terminal, lines_for_terminal};
use crate::secrets::SecretString;

#[derive(Debug, Args, Clone, Default)]
pub struct KeyKind {
    /// rsa or ed25519 (default: dkim.default_algorithm, rsa)
    #[arg(long, value_name = "ALG")]
    pub algorithm: Option<String>,
    /// RSA key size: 2048, 3072 or 4096 (default: dkim.default_bits, 2048)
    #[arg(long)]
    pub bits: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Generate a pending key for DOMAIN; publish the record it prints, then `dkim activate`
    Add {
        domain: String,
        /// Selector (RFC 6376: letters, digits, hyphens, dot-separated labels); default from dkim.selector_pattern
        #[arg(long)]
        selector: Option<String>,
        #[command(flatten)]
        kind: KeyKind,
    },
    /// List keys with their state (private keys are never listed)
    List {
        /// Only the keys of this domain or alias domain
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        page: PageArgs,
    },
    /// Show one key (ID or DOMAIN:SELECTOR) and its DNS record
    Show {
        key: String,
        /// Also print the private key (admin only; audited)
        #[arg(long)]
        show_private: bool,
    },
    /// The TXT records DOMAIN must publish, split into 255-byte strings (default: zone-file and plain forms)
    Dns {
        domain: String,
        /// Only the BIND zone-file form
        #[arg(long, conflicts_with = "plain")]
        zone: bool,
        /// Only NAME<TAB>TXT<TAB>VALUE lines, for DNS panels with one value field
        #[arg(long)]
        plain: bool,
    },
    /// Start signing with a pending key (publish its record first); a rotation's key retires the one it replaces
    Activate { key: String },
    /// Stop signing with an active key; its record stays published for the grace period
    Retire { key: String },
    /// Erase a key's private half and publish `p=` (KEY, or every retiring key past its grace with --due)
    #[command(group(ArgGroup::new("which").required(true).args(["key", "due"])))]
    Revoke {
        key: Option<String>,
        /// Every retiring key whose grace period (dkim.grace_days) is over: run it from a timer
        #[arg(long)]
        due: bool,
        /// Revoke an active key, or one inside its grace period, at once (a compromised key)
        #[arg(long, conflicts_with = "due")]
        now: bool,
    },
    /// Create DOMAIN's next key as pending, to take over from the active one on `dkim activate`
    Rotate {
        domain: String,
        #[command(flatten)]
        kind: KeyKind,
    },
    /// Store a private key from a PEM file as a pending key
    Import {
        domain: String,
        #[arg(long)]
        selector: String,
        /// PEM file: PKCS#8 or BEGIN RSA PRIVATE KEY, RSA >= 2048 bits or Ed25519
        #[arg(long, value_name = "PEM")]
        key_file: PathBuf,
    },
    /// Write the signer's key set into DIR in one swap (admin only); then run dkim.*_reload
    #[command(group(ArgGroup::new("signer").required(true).args(["opendkim", "rspamd"])))]
    Export {
        /// KeyTable, SigningTable and key files for OpenDKIM
        #[arg(long, value_name = "DIR")]
        opendkim: Option<PathBuf>,
        /// dkim_signing.conf and key files for rspamd
        #[arg(long, value_name = "DIR")]
        rspamd: Option<PathBuf>,
        /// Do not run the configured reload command
        #[arg(long)]
        no_reload: bool,
    },
    /// Time key generation (nothing is stored): N keys of each kind, min/median/max
    Bench {
        #[arg(long, default_value_t = 20)]
        count: usize,
    },
}

impl Row for KeyView {
    const HEADERS: &'static [&'static str] = &[
        "ID",
        "DOMAIN",
        "SELECTOR",
        "ALGORITHM",
        "STATE",
        "SINCE",
        "RECORD",
    ];
    fn cells(&self) -> Vec<String> {
        let r = &self.row;
        let since = r
            .revoked_at
            .or(r.retired_at)
            .or(r.activated_at)
            .unwrap_or(r.created_at);
        let alg = match r.algorithm.as_str() {
            "rsa" => format!("rsa-{}", r.bits),
            other => other.to_string(),
        };
        vec![
            r.id.to_string(),
            r.domain.clone(),
            r.selector.clone(),
            alg,
            r.state.clone(),
            ts(&since),
            self.record.name.clone(),
        ]
    }
    fn key(&self) -> String {
        self.row.id.to_string()
    }
}

/// The algorithm and size asked for, else the configured defaults.
fn kind_of(env: &Env, k: &KeyKind) -> Result<(Algorithm, Option<u32>), CliError> {
    let cfg = &env.config.dkim;
    let alg = Algorithm::parse(
        "algorithm",
        k.algorithm.as_deref().unwrap_or(&cfg.default_algorithm),
    )?;
    let bits = match (alg, k.bits) {
        (_, Some(b)) => Some(b),
        (Algorithm::Rsa, None) => Some(cfg.default_bits),
        (Algorithm::Ed25519, None) => None,
    };
    Ok((alg, bits))
}

/// Both forms of every record, or the one asked for.
fn records_text(records: &[TxtRecord], zone: bool, plain: bool) -> String {
    let mut out = String::new();
    for r in records {
        if !plain {
            out.push_str(&r.zone());
            out.push('\n');
        }
        if !zone {
            out.push_str(&r.plain());
            out.push('\n');
        }
    }
    keep_layout(&out)
}

/// Control characters out (a stored public key is database text), but the
/// tabs and line breaks of the record forms kept.
fn keep_layout(s: &str) -> String {
    s.chars()
        .filter(|c| matches!(*c, '\t' | '\n') || !crate::validate::is_unsafe_char(*c))
        .collect()
}

fn records_json(records: &[TxtRecord]) -> serde_json::Value {
    records
        .iter()
        .map(|r| json!({ "name": r.name, "value": r.value, "strings": r.strings(), "zone": r.zone() }))
        .collect()
}

/// A new or changed key: one line, then the record to publish.
fn key_said(j: bool, v: &KeyView, head: String) -> String {
    if j {
        return object(v, true);
    }
    format!(
        "{}\npublish:\n{}",
        for_terminal(&head),
        records_text(std::slice::from_ref(&v.record), true, false)
    )
}

pub fn run(
    cli: &Cli,
    c: &DkimCommand,
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
) -> Result<String, CliError> {
    if let Ok(p) = crate::ops::preferences::get(conn, ctx) {
        crate::timefmt::set_zone(p.tz());
    }
    let j = cli.json;
    let keys = &env.key_file;
    let settings = Settings::from_config(&env.config.dkim);
    Ok(match c {
        DkimCommand::Add {
            domain,
            selector,
            kind,
        } => {
            let (algorithm, bits) = kind_of(env, kind)?;
            let new = NewKey {
                domain,
                selector: selector.as_deref(),
                algorithm,
                bits,
            };
            let v = ops_dkim::add(conn, ctx, keys, &settings, &new)?;
            let head = format!(
                "created pending DKIM key {}:{} (id {}, {} {})",
                v.row.domain, v.row.selector, v.row.id, v.row.algorithm, v.row.bits
            );
            key_said(j, &v, head)
        }
        DkimCommand::List { domain, page } => {
            let after = match &page.after {
                Some(a) => Some(a.trim().parse::<i32>().map_err(|_| {
                    CliError::Usage("--after must be a key id (the \"next\" value)".into())
                })?),
                None => None,
            };
            let limit = page.limit.clamp(1, 10_000);
            let rows = ops_dkim::list(conn, ctx, domain.as_deref(), after, limit)?;
            list(&rows, limit, j)
        }
        DkimCommand::Show { key, show_private } => show(conn, ctx, env, key, *show_private, j)?,
        DkimCommand::Dns {
            domain,
            zone,
            plain,
        } => {
            let records = ops_dkim::dns(conn, ctx, domain)?;
            if j {
                object(&records_json(&records), true)
            } else if records.is_empty() {
                format!("{}: no DKIM keys\n", for_terminal(domain))
            } else {
                records_text(&records, *zone, *plain)
            }
        }
        DkimCommand::Activate { key } => {
            let t = ops_dkim::activate(conn, ctx, key)?;
            let retired = t
                .retired
                .as_ref()
                .map(|r| format!("; {}:{} is now retiring", r.row.domain, r.row.selector))
                .unwrap_or_default();
            transition(j, &t, format!("activated {}{retired}", name(&t.key)))
        }
        DkimCommand::Retire { key } => {
            let t = ops_dkim::retire(conn, ctx, key)?;
            let end = ops_dkim::grace_ends(&t.key.row, &settings)
                .map(|e| format!("; `dkim revoke --due` revokes it after {}", ts(&e)))
                .unwrap_or_default();
            transition(j, &t, format!("retired {}{end}", name(&t.key)))
        }
        DkimCommand::Revoke { key, due, now } => revoke(conn, ctx, &settings, key, *due, *now, j)?,
        DkimCommand::Rotate { domain, kind } => {
            let (algorithm, bits) = kind_of(env, kind)?;
            let v = ops_dkim::rotate(conn, ctx, keys, &settings, domain, algorithm, bits)?;
            let head = format!(
                "created pending DKIM key {} (id {}) to replace the active {} key; publish it, wait for the TTL, then `dkim activate {}`",
                name(&v), v.row.id, v.row.algorithm, v.row.id
            );
            key_said(j, &v, head)
        }
        DkimCommand::Import {
            domain,
            selector,
            key_file,
        } => import(conn, ctx, env, domain, selector, key_file, j)?,
        DkimCommand::Export {
            opendkim,
            rspamd,
            no_reload,
        } => {
            let (signer, dir) = match (opendkim, rspamd) {
                (Some(d), _) => (Signer::Opendkim, d),
                (None, Some(d)) => (Signer::Rspamd, d),
                (None, None) => return Err(CliError::Usage("--opendkim or --rspamd".into())),
            };
            return export(env, conn, ctx, signer, dir, *no_reload, j);
        }
        DkimCommand::Bench { count } => bench(*count, j)?,
    })
}

fn import(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    env: &Env,
    domain: &str,
    selector: &str,
    key_file: &std::path::Path,
    j: bool,
) -> Result<String, CliError> {
    let pem = std::fs::read_to_string(key_file).map_err(|e| {
        crate::error::OpError::invalid(
            "key_file",
            format!("cannot be read ({}): {e}", key_file.display()),
        )
    })?;
    let pem = SecretString::new(pem);
    let v = ops_dkim::import(conn, ctx, &env.key_file, domain, selector, &pem)?;
    let head = format!(
        "imported pending DKIM key {} (id {}, {} {})",
        name(&v),
        v.row.id,
        v.row.algorithm,
        v.row.bits
    );
    Ok(key_said(j, &v, head))
}

fn name(v: &KeyView) -> String {
    format!("{}:{}", v.row.domain, v.row.selector)
}

fn transition(j: bool, t: &ops_dkim::Transition, text: String) -> String {
    said(j, t, for_terminal(&text))
}

fn show(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    env: &Env,
    key: &str,
    show_private: bool,
    j: bool,
) -> Result<String, CliError> {
    let (v, pem) = if show_private {
        let (v, pem) = ops_dkim::show_private(conn, ctx, &env.key_file, key)?;
        (v, Some(pem))
    } else {
        (ops_dkim::show(conn, ctx, key)?, None)
    };
    if j {
        let mut out = serde_json::to_value(&v).unwrap_or_default();
        out["record"] = records_json(std::slice::from_ref(&v.record))[0].clone();
        if let Some(p) = &pem {
            out["private_key"] = json!(p.expose());
        }
        return Ok(object(&out, true));
    }
    let mut out = object(&v.row, false);
    out.push_str("record\n");
    out.push_str(&records_text(std::slice::from_ref(&v.record), false, false));
    if let Some(p) = pem {
        out.push_str(&lines_for_terminal(p.expose()));
        out.push('\n');
    }
    Ok(out)
}

fn revoke(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    settings: &Settings,
    key: &Option<String>,
    due: bool,
    now: bool,
    j: bool,
) -> Result<String, CliError> {
    if due {
        let done = ops_dkim::revoke_due(conn, ctx, settings)?;
        if j {
            return Ok(object(&json!({ "revoked": done }), true));
        }
        let names: Vec<String> = done.iter().map(|t| name(&t.key)).collect();
        return Ok(if names.is_empty() {
            "no retiring key is past its grace period\n".to_string()
        } else {
            for_terminal(&format!("revoked {}", names.join(", "))) + "\n"
        });
    }
    let Some(key) = key else {
        return Err(CliError::Usage("dkim revoke needs KEY or --due".into()));
    };
    let t = ops_dkim::revoke(conn, ctx, settings, key, now)?;
    Ok(transition(
        j,
        &t,
        format!(
            "revoked {}: its private key is erased; keep publishing the record it prints with `dkim dns` (p= empty)",
            name(&t.key)
        ),
    ))
}

fn export(
    env: &Env,
    conn: &mut AnyConnection,
    ctx: &Ctx,
    signer: Signer,
    dir: &std::path::Path,
    no_reload: bool,
    j: bool,
) -> Result<String, CliError> {
    let mut opts = ExportOptions::from_config(&env.config.dkim, signer)?;
    if no_reload {
        opts.reload = None;
    }
    let e = ops_dkim::export_with(conn, ctx, &env.key_file, signer, dir, &opts)?;
    let out = if j {
        object(&e, true)
    } else {
        let mut t = format!(
            "wrote {} files into {}; signing: {}\n",
            e.files.len(),
            e.dir,
            if e.signing.is_empty() {
                "nothing (no active keys)".to_string()
            } else {
                e.signing.join(", ")
            }
        );
        if let Some(r) = &e.reload {
            t.push_str(&match &r.error {
                None => format!("reloaded: {}\n", r.command),
                Some(err) => format!("reload FAILED: {err}\n"),
            });
        }
        lines_for_terminal(&t) + "\n"
    };
    match &e.reload {
        Some(r) if !r.ok => Err(CliError::Report {
            out,
            code: 1,
            message: format!(
                "the files were written but the reload failed: {}",
                r.error.as_deref().unwrap_or("")
            ),
        }),
        _ => Ok(out),
    }
}

/// `dkim bench`: how long generating one key takes, per kind.
fn bench(count: usize, j: bool) -> Result<String, CliError> {
    if !(1..=1000).contains(&count) {
        return Err(CliError::Usage("--count must be between 1 and 1000".into()));
    }
    let mut rows = Vec::new();
    for (alg, bits) in [
        (Algorithm::Rsa, 2048),
        (Algorithm::Ed25519, key::ED25519_BITS),
    ] {
        let mut ms = Vec::with_capacity(count);
        for _ in 0..count {
            let t = Instant::now();
            key::generate(alg, bits)?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        rows.push(
            json!({ "algorithm": alg.as_str(), "bits": bits, "count": count,
            "min_ms": ms[0], "median_ms": ms[ms.len() / 2], "max_ms": ms[ms.len() - 1] }),
        );
    }
    if j {
        return Ok(object(&rows, true));
    }
    let mut out = String::from("key generation (ms)   min    median    max\n");
    for r in &rows {
        out.push_str(&format!(
            "{:<8} {:>5} x{:<4} {:>8.2} {:>8.2} {:>8.2}\n",
            r["algorithm"].as_str().unwrap_or(""),
            r["bits"],
            count,
            r["min_ms"].as_f64().unwrap_or(0.0),
            r["median_ms"].as_f64().unwrap_or(0.0),
            r["max_ms"].as_f64().unwrap_or(0.0),
        ));
    }
    Ok(out)
}
