//! A second factor for app users (issue 19): TOTP (RFC 6238: HMAC-SHA1,
//! 30-second steps, 6 digits, what every authenticator app speaks) and ten
//! one-time recovery codes.
//!
//! - The secret is generated here, stored encrypted with the secrets key
//!   (bound to `user_totp.secret/<user id>`, so a ciphertext copied onto
//!   another user's row does not decrypt), and shown once as an
//!   `otpauth://` URI.
//! - Enrolment is two steps: `enroll` stores a pending secret, `confirm`
//!   enables it only when a first code from the device matches. Until then
//!   login does not ask for a code.
//! - A code is accepted for the current step or one either side (clock
//!   drift), and only for a step later than the last one accepted: the
//!   check is one conditional UPDATE of `last_step`, so two sessions or
//!   two hosts presenting the same code get one success between them.
//! - Recovery codes: 80 random bits each, kept as a SHA-256 bound to the
//!   user; using one is a conditional UPDATE of `used_at` (once only).
//! - `[security] require_totp` lists roles that must have a confirmed
//!   second factor: until then `Principal::load` refuses everything but
//!   the operations here (`Principal::load_enrolling`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{audit, now, run_write_as, Client, Ctx, Done, Policy, Principal};
use crate::db::models::User;
use crate::db::schema::{user_totp, user_totp_recovery};
use crate::db::{write_tx, AnyConnection};
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};
use crate::secrets::{KeyFile, SecretKey, SecretString, Slot};
use crate::store;

const AUDIT_TYPE: AuditType = AuditType::Totp;

/// RFC 6238's default step, and what authenticator apps assume.
pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const WINDOW: i64 = 1;
/// 160 bits: RFC 4226's recommended length for HMAC-SHA1.
const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
/// 16 characters of a 32-letter alphabet: 80 bits.
const RECOVERY_LEN: usize = 16;
pub const ISSUER: &str = "postfix-manager";

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Crockford's base32 (no i, l, o, u): a recovery code is read off paper,
/// and a typed o, i or l is taken for the digit it looks like.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

fn slot(user_id: i32) -> Slot<'static> {
    Slot {
        table: "user_totp",
        column: "secret",
        row_id: i64::from(user_id),
    }
}

fn b32_char(v: u32) -> char {
    char::from(BASE32[usize::try_from(v & 31).unwrap_or(0)])
}

/// RFC 4648 base32 without padding (the `secret=` of an otpauth URI).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(b32_char(buffer >> bits));
        }
    }
    if bits > 0 {
        out.push(b32_char(buffer << (5 - bits)));
    }
    out
}

/// Base32 back to bytes; spaces and case ignored (how apps show secrets).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let up = c.to_ascii_uppercase();
        let v = BASE32.iter().position(|&b| char::from(b) == up)?;
        buffer = (buffer << 5) | u32::try_from(v).ok()?;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

/// RFC 4226 HOTP: HMAC-SHA1 of the counter, dynamically truncated to
/// `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // Any key length is a valid HMAC key; the fallback is unreachable.
    let Ok(mut mac) = <Hmac<Sha1> as Mac>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = usize::from(h[h.len() - 1] & 0x0f);
    let bin = (u32::from(h[offset] & 0x7f) << 24)
        | (u32::from(h[offset + 1]) << 16)
        | (u32::from(h[offset + 2]) << 8)
        | u32::from(h[offset + 3]);
    bin % 10u32.pow(digits)
}

/// The step a Unix time falls in.
pub fn step_at(unix: i64) -> i64 {
    unix.div_euclid(STEP_SECONDS)
}

/// The code for one step, zero-padded (what the app shows).
pub fn code_for_step(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!(
        "{:0width$}",
        hotp(secret, counter, DIGITS),
        width = DIGITS as usize
    )
}

fn current_step() -> i64 {
    step_at(chrono::Utc::now().timestamp())
}

/// Compare without an early exit on the first differing byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The step within the window whose code is `code`, if any (newest first,
/// so a code valid for two steps counts for the later one).
fn matching_step(secret: &[u8], code: &str, at: i64) -> Option<i64> {
    (-WINDOW..=WINDOW)
        .rev()
        .map(|d| at + d)
        .find(|s| same(code_for_step(secret, *s).as_bytes(), code.as_bytes()))
}

/// The `otpauth://` URI an authenticator app reads (from the QR code).
/// Defaults (SHA1, 6 digits, 30 s) are left out so the QR code stays
/// small enough for an 80x24 terminal.
pub fn otpauth_uri(username: &str, secret_b32: &str) -> String {
    let label = format!("{ISSUER}:{username}");
    format!(
        "otpauth://totp/{}?secret={secret_b32}&issuer={ISSUER}",
        percent(&label)
    )
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// What a code as typed means: six digits, or a recovery code (dashes and
/// spaces ignored, case folded).
enum Typed {
    Totp(String),
    Recovery(String),
    Neither,
}

fn parse_code(code: &str) -> Typed {
    let t: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase()
        .chars()
        .map(|c| match c {
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        })
        .collect();
    if t.len() == DIGITS as usize && t.bytes().all(|b| b.is_ascii_digit()) {
        Typed::Totp(t)
    } else if t.len() == RECOVERY_LEN && t.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        Typed::Recovery(t)
    } else {
        Typed::Neither
    }
}

fn recovery_hash(user_id: i32, normalized: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("postfix-manager recovery code\0{user_id}\0{normalized}").as_bytes());
    super::audit_seal::hex(&h.finalize())
}

fn new_recovery_code() -> String {
    let mut raw = [0u8; RECOVERY_LEN];
    rand::rng().fill_bytes(&mut raw);
    let chars: Vec<char> = raw
        .iter()
        .map(|b| char::from(RECOVERY_ALPHABET[usize::from(b & 31)]))
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A pending enrolment: shown once, never stored in clear.
pub struct Enrolment {
    pub username: String,
    /// Base32, for typing into an app by hand.
    pub secret: SecretString,
    pub uri: SecretString,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The recovery codes of a confirmed enrolment: shown once.
pub struct RecoveryCodes {
    pub username: String,
    pub codes: Vec<SecretString>,
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecoveryCodes")
            .field("username", &self.username)
            .field("count", &self.codes.len())
            .finish()
    }
}

/// What `user totp status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub username: String,
    /// none, pending (enrolled, not confirmed) or enabled.
    pub state: &'static str,
    pub enabled_at: Option<NaiveDateTime>,
    pub recovery_codes_left: i64,
    /// The `[security] require_totp` policy covers this user's role.
    pub required: bool,
}

fn no_token(ctx: &Ctx) -> OpResult<()> {
    match &ctx.token {
        Some(t) => Err(OpError::Denied(format!(
            "token {} cannot change a second factor: log in with a password to do that",
            t.name
        ))),
        None => Ok(()),
    }
}

fn write<T>(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    action: AuditAction,
    request: Value,
    f: impl FnOnce(&mut AnyConnection, &Principal) -> OpResult<(T, Done)>,
) -> OpResult<T> {
    run_write_as(
        conn,
        ctx,
        Principal::load_enrolling,
        action,
        AUDIT_TYPE,
        request,
        f,
    )
}

/// `user totp enroll`, first half: a new secret for the logged-in user,
/// pending until `confirm`. Replaces an unconfirmed one; refuses while a
/// confirmed one exists (disable or reset it first).
pub fn enroll(conn: &mut AnyConnection, ctx: &Ctx, keys: &KeyFile) -> OpResult<Enrolment> {
    no_token(ctx)?;
    let key = keys.load_or_create()?;
    let mut raw = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
    rand::rng().fill_bytes(raw.as_mut());
    let b32 = SecretString::new(base32_encode(raw.as_ref()));
    let username = write(
        conn,
        ctx,
        AuditAction::Enroll,
        json!({ "username": ctx.username }),
        |c, who| {
            if store::totp::enabled(c, who.id)? {
                return Err(OpError::invalid(
                    "username",
                    format!(
                        "{} already has a second factor; remove it first with `user totp disable` (a code from the device) or ask an admin for `user totp reset {}`",
                        who.username, who.username
                    ),
                ));
            }
            let sealed = key.encrypt(slot(who.id), &b32)?;
            diesel::delete(user_totp::table.find(who.id)).execute(c)?;
            diesel::insert_into(user_totp::table)
                .values((
                    user_totp::user_id.eq(who.id),
                    user_totp::secret.eq(&sealed),
                    user_totp::enabled.eq(false),
                    user_totp::last_step.eq(0i64),
                    user_totp::created_at.eq(now()),
                ))
                .execute(c)?;
            let details = json!({ "username": who.username, "state": "pending" });
            Ok((who.username.clone(), Done::new(i64::from(who.id), details)))
        },
    )?;
    let uri = SecretString::new(otpauth_uri(&username, b32.expose()));
    Ok(Enrolment {
        username,
        secret: b32,
        uri,
    })
}

fn decrypt(key: &SecretKey, row: &store::totp::UserTotp) -> OpResult<zeroize::Zeroizing<Vec<u8>>> {
    let b32 = key.decrypt(slot(row.user_id), &row.secret)?;
    base32_decode(b32.expose())
        .map(zeroize::Zeroizing::new)
        .ok_or_else(|| {
            OpError::Secret(format!(
                "the stored second factor of user #{} is not base32",
                row.user_id
            ))
        })
}

/// `user totp enroll`, second half: the first code from the device turns
/// the second factor on and yields ten recovery codes (shown once; any
/// earlier ones stop working).
pub fn confirm(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    code: &str,
) -> OpResult<RecoveryCodes> {
    no_token(ctx)?;
    let key = keys.load()?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let at = current_step();
    write(
        conn,
        ctx,
        AuditAction::Activate,
        json!({ "username": ctx.username }),
        |c, who| {
            let row = store::totp::by_user(c, who.id)?
                .filter(|r| !r.enabled)
                .ok_or_else(|| {
                    OpError::invalid(
                        "code",
                        "no enrolment is waiting for a first code: run `user totp enroll` first",
                    )
                })?;
            let secret = decrypt(&key, &row)?;
            let typed = match parse_code(code) {
                Typed::Totp(t) => t,
                _ => {
                    return Err(OpError::invalid(
                        "code",
                        "must be the 6 digits the app shows",
                    ))
                }
            };
            let step = matching_step(&secret, &typed, at).ok_or_else(|| {
                OpError::invalid(
                    "code",
                    "does not match the new secret (check the device's clock, and that the app scanned this enrolment)",
                )
            })?;
            let t = now();
            let n = diesel::update(
                user_totp::table
                    .find(who.id)
                    .filter(user_totp::enabled.eq(false)),
            )
            .set((
                user_totp::enabled.eq(true),
                user_totp::last_step.eq(step),
                user_totp::enabled_at.eq(Some(t)),
            ))
            .execute(c)?;
            if n != 1 {
                return Err(OpError::Conflict(
                    "the enrolment was confirmed or removed meanwhile".into(),
                ));
            }
            diesel::delete(
                user_totp_recovery::table.filter(user_totp_recovery::user_id.eq(who.id)),
            )
            .execute(c)?;
            for code in &codes {
                diesel::insert_into(user_totp_recovery::table)
                    .values((
                        user_totp_recovery::user_id.eq(who.id),
                        user_totp_recovery::code_hash
                            .eq(recovery_hash(who.id, &code.replace('-', ""))),
                        user_totp_recovery::created_at.eq(t),
                    ))
                    .execute(c)?;
            }
            let details = json!({ "username": who.username, "state": "enabled", "recovery_codes": codes.len() });
            Ok(((), Done::new(i64::from(who.id), details)))
        },
    )?;
    Ok(RecoveryCodes {
        username: ctx.username.clone(),
        codes: codes.into_iter().map(SecretString::new).collect(),
    })
}

/// What checking a presented code found.
pub(crate) enum Checked {
    /// Accepted (and used up); details for the audit row.
    Passed(Value),
    /// Refused; the reason goes into the audit row only.
    Wrong(String),
}

/// Check and use up a code (TOTP or recovery) of an enabled second
/// factor. Must run inside a write transaction: the conditional UPDATEs
/// are what makes a code single-use.
fn use_code(
    c: &mut AnyConnection,
    key: &SecretKey,
    row: &store::totp::UserTotp,
    code: &str,
    at: i64,
) -> OpResult<Checked> {
    match parse_code(code) {
        Typed::Totp(typed) => {
            let secret = decrypt(key, row)?;
            let Some(step) = matching_step(&secret, &typed, at) else {
                return Ok(Checked::Wrong("wrong one-time code".into()));
            };
            let n = diesel::update(
                user_totp::table
                    .find(row.user_id)
                    .filter(user_totp::enabled.eq(true))
                    .filter(user_totp::last_step.lt(step)),
            )
            .set(user_totp::last_step.eq(step))
            .execute(c)?;
            Ok(if n == 1 {
                Checked::Passed(json!({ "method": "totp", "step_offset": step - at }))
            } else {
                Checked::Wrong("one-time code already used (replay refused)".into())
            })
        }
        Typed::Recovery(typed) => {
            let n = diesel::update(
                user_totp_recovery::table
                    .filter(user_totp_recovery::user_id.eq(row.user_id))
                    .filter(user_totp_recovery::code_hash.eq(recovery_hash(row.user_id, &typed)))
                    .filter(user_totp_recovery::used_at.is_null()),
            )
            .set(user_totp_recovery::used_at.eq(Some(now())))
            .execute(c)?;
            if n != 1 {
                return Ok(Checked::Wrong("wrong or already used recovery code".into()));
            }
            let left = store::totp::unused_recovery_codes(c, row.user_id)?;
            Ok(Checked::Passed(
                json!({ "method": "recovery_code", "recovery_codes_left": left }),
            ))
        }
        Typed::Neither => Ok(Checked::Wrong(
            "not a 6-digit code or a recovery code".into(),
        )),
    }
}

/// The second factor at login, after the right password.
pub(crate) enum Factor {
    /// No confirmed second factor: the password was all.
    None,
    /// Enabled, and no code was given: ask for one.
    Missing,
    Checked(Checked),
}

/// Check `code` for `user` at login (a write transaction of its own).
pub(crate) fn at_login(
    conn: &mut AnyConnection,
    tables: crate::db::migrate::Tables,
    user: &User,
    code: Option<&str>,
    keys: Option<&KeyFile>,
) -> OpResult<Factor> {
    // A `db rollback` may have taken the table away: that database has no
    // second factors, and its admin must still log in to roll on.
    if !tables.user_totp {
        return Ok(Factor::None);
    }
    let Some(row) = store::totp::by_user(conn, user.id)?.filter(|r| r.enabled) else {
        return Ok(Factor::None);
    };
    let Some(code) = code else {
        return Ok(Factor::Missing);
    };
    let keys = keys.ok_or_else(|| {
        OpError::Secret(
            "no secrets key file is configured ([secrets] key_file): a second factor cannot be checked"
                .into(),
        )
    })?;
    let key = keys.load()?;
    let at = current_step();
    write_tx(conn, |c| use_code(c, &key, &row, code, at)).map(Factor::Checked)
}

/// Take a code for the logged-in user's own change (disable, self-reset):
/// refused with a field error when wrong.
fn require_code(
    c: &mut AnyConnection,
    key: Option<&SecretKey>,
    row: &store::totp::UserTotp,
    code: &str,
    field: &str,
    recovery_only: bool,
) -> OpResult<Value> {
    if recovery_only && !matches!(parse_code(code), Typed::Recovery(_)) {
        return Err(OpError::invalid(
            field,
            "must be one of your recovery codes (xxxx-xxxx-xxxx-xxxx)",
        ));
    }
    let key = match key {
        Some(k) => k,
        None => {
            return Err(OpError::Secret(
                "the secrets key is needed to check a code".into(),
            ))
        }
    };
    match use_code(c, key, row, code, current_step())? {
        Checked::Passed(d) => Ok(d),
        Checked::Wrong(reason) => Err(OpError::invalid(field, reason)),
    }
}

fn remove(c: &mut AnyConnection, user_id: i32) -> OpResult<usize> {
    diesel::delete(user_totp_recovery::table.filter(user_totp_recovery::user_id.eq(user_id)))
        .execute(c)?;
    Ok(diesel::delete(user_totp::table.find(user_id)).execute(c)?)
}

/// `user totp disable`: the logged-in user turns its own second factor
/// off, proving it holds the device (a current code) or a recovery code.
pub fn disable(conn: &mut AnyConnection, ctx: &Ctx, keys: &KeyFile, code: &str) -> OpResult<()> {
    no_token(ctx)?;
    let key = keys.load()?;
    write(
        conn,
        ctx,
        AuditAction::Delete,
        json!({ "username": ctx.username }),
        |c, who| {
            let row = store::totp::by_user(c, who.id)?
                .filter(|r| r.enabled)
                .ok_or_else(|| {
                    OpError::invalid(
                        "username",
                        format!("{} has no second factor to disable", who.username),
                    )
                })?;
            let how = require_code(c, Some(&key), &row, code, "code", false)?;
            remove(c, who.id)?;
            let details = json!({ "username": who.username, "proof": how });
            Ok(((), Done::new(i64::from(who.id), details)))
        },
    )
}

/// `user totp reset USER`: remove a user's second factor (and recovery
/// codes); the user must enrol again (and, under `require_totp`, can do
/// nothing else until then). Another user's: an admin's job. One's own
/// (the lost-device case, also for the last admin): a recovery code.
pub fn reset(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    keys: &KeyFile,
    username: &str,
    recovery_code: Option<&str>,
) -> OpResult<()> {
    no_token(ctx)?;
    let request = json!({ "username": username });
    // Loaded only for one's own reset, which checks a code.
    let key = match recovery_code {
        Some(_) => Some(keys.load()?),
        None => None,
    };
    write(conn, ctx, AuditAction::Reset, request, |c, who| {
        let name = crate::validate::username("username", username)?;
        let target = store::users::by_name(c, &name)?
            .ok_or_else(|| OpError::not_found_in("username", "user", &name))?;
        let row = store::totp::by_user(c, target.id)?.ok_or_else(|| {
            OpError::invalid(
                "username",
                format!("{} has no second factor", target.username),
            )
        })?;
        let mut details = json!({ "username": target.username, "was": if row.enabled { "enabled" } else { "pending" } });
        if target.id == who.id {
            let Some(code) = recovery_code else {
                return Err(OpError::invalid(
                    "recovery_code",
                    "resetting your own second factor needs one of your recovery codes \
                     (or another admin's `user totp reset`, or local root's `postfix-manager init --reset-totp USER`)",
                ));
            };
            if row.enabled {
                details["proof"] =
                    require_code(c, key.as_ref(), &row, code, "recovery_code", true)?;
            }
        } else {
            who.require_admin("resetting another user's second factor")?;
        }
        remove(c, target.id)?;
        Ok(((), Done::new(i64::from(target.id), details)))
    })
}

/// `init --reset-totp USER`: local root's way back in when no admin can
/// log in. Needs what only the host's root has: the database (this
/// connection was opened from the config without a login) and the secrets
/// key file, which must load. Audited under "local root".
pub fn root_reset(
    conn: &mut AnyConnection,
    keys: &KeyFile,
    client: &Client,
    policy: &Policy,
    username: &str,
) -> OpResult<()> {
    keys.load()?;
    let name = crate::validate::username("username", username)?;
    write_tx(conn, |c| {
        let target = store::users::by_name(c, &name)?
            .ok_or_else(|| OpError::not_found_in("username", "user", &name))?;
        if store::totp::by_user(c, target.id)?.is_none() {
            return Err(OpError::invalid(
                "username",
                format!("{} has no second factor", target.username),
            ));
        }
        remove(c, target.id)?;
        audit::insert(
            c,
            policy.chain(),
            None,
            "local root (init --reset-totp)",
            client,
            audit::Entry {
                action: AuditAction::Reset,
                resource_type: AUDIT_TYPE,
                resource_id: Some(i64::from(target.id)),
                details: json!({ "username": target.username, "by": "local root" }),
                result: audit::RESULT_OK,
            },
        )
    })
}

/// `user totp status [USER]`: one's own, or (an admin) anyone's.
pub fn status(conn: &mut AnyConnection, ctx: &Ctx, username: Option<&str>) -> OpResult<Status> {
    let who = Principal::load_enrolling(conn, ctx)?;
    let target = match username {
        Some(u) if u != who.username => {
            who.require_admin("reading another user's second factor")?;
            let name = crate::validate::username("username", u)?;
            store::users::by_name(conn, &name)?
                .ok_or_else(|| OpError::not_found_in("username", "user", &name))?
        }
        _ => store::users::by_id(conn, who.id)?
            .ok_or_else(|| OpError::not_found("user", &who.username))?,
    };
    let row = store::totp::by_user(conn, target.id)?;
    let role = crate::model::Role::parse("role", &target.role)?;
    Ok(Status {
        state: match &row {
            None => "none",
            Some(r) if r.enabled => "enabled",
            Some(_) => "pending",
        },
        enabled_at: row.as_ref().and_then(|r| r.enabled_at),
        recovery_codes_left: store::totp::unused_recovery_codes(conn, target.id)?,
        required: ctx.policy.require_totp.contains(&role),
        username: target.username,
    })
}

/// Re-encrypt every stored second-factor secret under a new secrets key
/// (inside `ldap::rotate_key`'s transaction): the number re-encrypted.
pub(crate) fn reencrypt(
    c: &mut AnyConnection,
    old: Option<&SecretKey>,
    new: &SecretKey,
    key_path: &std::path::Path,
) -> OpResult<usize> {
    let rows: Vec<store::totp::UserTotp> = user_totp::table
        .select(store::totp::UserTotp::as_select())
        .load(c)?;
    let sealed: Vec<_> = rows
        .iter()
        .map(|r| (r.user_id, slot(r.user_id), r.secret.as_str()))
        .collect();
    crate::secrets::reseal(
        "second factors",
        &sealed,
        (old, new),
        key_path,
        |user_id, resealed| {
            diesel::update(user_totp::table.find(user_id))
                .set(user_totp::secret.eq(resealed))
                .execute(c)
                .map(drop)
                .map_err(OpError::from)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows (8 digits, the 20-byte ASCII seed).
    #[test]
    fn rfc6238_vectors() {
        let seed = b"12345678901234567890";
        for (t, want) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            let step = u64::try_from(step_at(t)).unwrap();
            assert_eq!(hotp(seed, step, 8), want, "T={t}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values for counters 0..9.
    #[test]
    fn rfc4226_vectors() {
        let want = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", i as u64, 6), *w);
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw 6ytb oi").unwrap(), b"foobar");
        for n in 0..40 {
            let v: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base32_decode(&base32_encode(&v)).unwrap(), v);
        }
        assert!(base32_decode("not*base32").is_none());
    }

    #[test]
    fn window_is_one_step_either_side() {
        let s = b"window-secret-000000";
        let at = 1_000_000;
        for d in -1..=1 {
            assert_eq!(
                matching_step(s, &code_for_step(s, at + d), at),
                Some(at + d)
            );
        }
        for d in [-3, -2, 2, 3] {
            let c = code_for_step(s, at + d);
            // (a 6-digit collision with a window step would be a 1-in-10^6 fluke)
            assert!((-1..=1).all(|w| code_for_step(s, at + w) != c));
            assert_eq!(matching_step(s, &c, at), None);
        }
    }

    #[test]
    fn codes_parse_by_shape() {
        assert!(matches!(parse_code(" 123 456 "), Typed::Totp(_)));
        let r = new_recovery_code();
        assert_eq!(r.len(), 19, "{r}");
        assert!(matches!(parse_code(&r.to_uppercase()), Typed::Recovery(_)));
        assert!(matches!(parse_code("12345"), Typed::Neither));
        assert!(matches!(parse_code("abcdefghjkmnpqr!"), Typed::Neither));
        assert!(matches!(parse_code("abcdefghjkmnpqru"), Typed::Neither));
        let Typed::Recovery(a) = parse_code("OIL2-aaaa-bbbb-cccc") else {
            panic!()
        };
        assert_eq!(a, "0112aaaabbbbcccc");
    }

    #[test]
    fn uri_names_issuer_and_user() {
        let u = otpauth_uri("ann.o-b", "ABC");
        assert_eq!(
            u,
            "otpauth://totp/postfix-manager:ann.o-b?secret=ABC&issuer=postfix-manager"
        );
    }
}
