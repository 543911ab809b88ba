//! Input rules. Every function names the field it checks in its error, and
//! returns the normalized form that is stored (lower-case, IDN as ASCII), so
//! a name in any letter case or script maps to one row.

use crate::error::{OpError, OpResult};

pub const MAX_DOMAIN_LEN: usize = 253;
pub const MAX_LABEL_LEN: usize = 63;
pub const MAX_LOCAL_LEN: usize = 64;
pub const MAX_ADDRESS_LEN: usize = 254;
pub const BCRYPT_MAX_BYTES: usize = 72;
pub const MAX_DESCRIPTION_LEN: usize = 1000;

/// Bidirectional formatting characters (ALM, LRM/RLM, the embeddings and
/// overrides U+202A-202E, the isolates U+2066-2069): invisible, and they
/// reorder what a terminal shows after them, so `admin` can be made to read
/// as `nimda` and a line's columns can be made to lie.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// What no stored name, address or description may hold: C0 controls
/// (ESC starts a terminal escape sequence), DEL, C1 controls (U+009B is a
/// one-character CSI on many terminals) and bidi controls.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Refuse text holding an unsafe character, naming the field, the rule
/// and the character's code point (never printing it raw).
pub fn refuse_unsafe(field: &str, s: &str) -> OpResult<()> {
    match s.chars().find(|c| is_unsafe_char(*c)) {
        Some(c) => Err(OpError::invalid(
            field,
            format!(
                "must not contain control or bidirectional-formatting characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// A domain name: IDN converted to ASCII (punycode), lower-case, at most 253
/// characters, at least two labels of 1-63 letters, digits and hyphens, no
/// label starting or ending with a hyphen, and a top-level label that is not
/// all digits (so an IP address is not taken for a domain).
pub fn domain(field: &str, input: &str) -> OpResult<String> {
    let raw = input.trim();
    if raw.is_empty() {
        return Err(OpError::invalid(field, "must not be empty"));
    }
    refuse_unsafe(field, raw)?;
    if raw.chars().any(char::is_whitespace) {
        return Err(OpError::invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    let raw = raw.strip_suffix('.').unwrap_or(raw);
    let ascii = idna::domain_to_ascii(raw)
        .map_err(|_| {
            OpError::invalid(
                field,
                format!("{raw:?} is not a valid domain name (IDN conversion failed)"),
            )
        })?
        .to_ascii_lowercase();
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(OpError::invalid(
            field,
            format!(
                "must be at most {MAX_DOMAIN_LEN} characters (is {})",
                ascii.len()
            ),
        ));
    }
    let labels: Vec<&str> = ascii.split('.').collect();
    if labels.len() < 2 {
        return Err(OpError::invalid(
            field,
            format!("{ascii:?} needs at least two labels, like example.com"),
        ));
    }
    for label in &labels {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err(OpError::invalid(
                field,
                format!("each label must be 1-{MAX_LABEL_LEN} characters ({label:?} in {ascii:?})"),
            ));
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(OpError::invalid(
                field,
                format!(
                    "labels may hold only letters, digits and hyphens ({label:?} in {ascii:?})"
                ),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(OpError::invalid(
                field,
                format!("a label must not start or end with a hyphen ({label:?})"),
            ));
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(OpError::invalid(
            field,
            format!("{ascii:?} looks like an IP address, not a domain"),
        ));
    }
    Ok(ascii)
}

/// Besides ASCII letters and digits, what a new address's local part may
/// hold: the unquoted RFC 5321 set without `'` (SQL quoting), `%` and `{`
/// `}` (Dovecot and Postfix variable expansion), `/` (a path separator in
/// the mailbox's home) and backtick (shell).
pub const LOCAL_SPECIALS: &str = ".!#$&*+=?^_|~-";

/// What a mailbox's local part may hold besides ASCII letters and digits:
/// exactly what Dovecot accepts in a login. The generated Dovecot config
/// sets `auth_username_chars` from this (`dovecot_username_chars`), so the
/// two cannot drift: a mailbox Postfix accepts mail for is one its owner
/// can log in to, and its home directory name holds no path or quoting
/// character. (Dovecot's own default set is the same.)
pub const MAILBOX_LOCAL_SPECIALS: &str = ".-_";

/// What local parts stored before the rules above could hold: lookups
/// accept it, so such a row can still be found, shown and deleted.
const STORED_LOCAL_SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";

/// The generated Dovecot config's `auth_username_chars`: the characters of
/// a mailbox address (`local@domain`; domain names are letters, digits,
/// '-' and '.').
pub fn dovecot_username_chars() -> String {
    let mut s: String = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    s.push_str(MAILBOX_LOCAL_SPECIALS);
    s.push('@');
    s
}

/// Characters older versions accepted in a mailbox's local part that
/// Dovecot refuses in a login: what `mail generate` looks for in stored rows.
pub fn retired_mailbox_chars() -> impl Iterator<Item = char> {
    STORED_LOCAL_SPECIALS
        .chars()
        .filter(|c| !MAILBOX_LOCAL_SPECIALS.contains(*c))
}

/// Which local parts a check accepts.
#[derive(Clone, Copy)]
enum Local {
    /// A mailbox (a Dovecot login).
    Mailbox,
    /// Any other new address: alias sources, destinations, e-mail.
    Address,
    /// Naming a row that exists.
    Stored,
}

impl Local {
    fn specials(self) -> &'static str {
        match self {
            Local::Mailbox => MAILBOX_LOCAL_SPECIALS,
            Local::Address => LOCAL_SPECIALS,
            Local::Stored => STORED_LOCAL_SPECIALS,
        }
    }
}

/// The local part of an address: 1-64 characters from the unquoted RFC 5321
/// set minus what Postfix's maps, Dovecot or a shell would misread
/// (`LOCAL_SPECIALS`); no leading, trailing or doubled dot. Stored lower-case.
pub fn local_part(field: &str, input: &str) -> OpResult<String> {
    local_part_in(field, input, Local::Address)
}

fn local_part_in(field: &str, input: &str, kind: Local) -> OpResult<String> {
    if input.is_empty() {
        return Err(OpError::invalid(
            field,
            "the local part (before @) must not be empty",
        ));
    }
    let lower = input.to_lowercase();
    if lower.chars().count() > MAX_LOCAL_LEN {
        return Err(OpError::invalid(
            field,
            format!("the local part must be at most {MAX_LOCAL_LEN} characters"),
        ));
    }
    let specials = kind.specials();
    if let Some(bad) = lower
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || specials.contains(*c)))
    {
        return Err(OpError::invalid(
            field,
            match kind {
                Local::Mailbox => format!(
                    "a mailbox's local part may hold only letters, digits and {specials} \
                     (what Dovecot accepts in a login: the generated auth_username_chars) \
                     (found {bad:?})"
                ),
                _ => format!(
                    "the local part may hold only letters, digits and {specials} (found {bad:?})"
                ),
            },
        ));
    }
    if lower.starts_with('.') || lower.ends_with('.') || lower.contains("..") {
        return Err(OpError::invalid(
            field,
            "the local part must not start or end with a dot or contain two dots in a row",
        ));
    }
    Ok(lower)
}

/// A full address `local@domain`. Returns (address, local, domain).
pub fn address(field: &str, input: &str) -> OpResult<(String, String, String)> {
    address_in(field, input, Local::Address)
}

/// A new mailbox's address: the local part limited to what Dovecot accepts
/// in a login (`MAILBOX_LOCAL_SPECIALS`).
pub fn mailbox_address(field: &str, input: &str) -> OpResult<(String, String, String)> {
    address_in(field, input, Local::Mailbox)
}

/// An address naming a row that exists: also the characters older
/// versions accepted, so such a row can still be shown, fixed or deleted.
pub fn lookup_address(field: &str, input: &str) -> OpResult<(String, String, String)> {
    address_in(field, input, Local::Stored)
}

fn address_in(field: &str, input: &str, kind: Local) -> OpResult<(String, String, String)> {
    let raw = input.trim();
    if raw.is_empty() {
        return Err(OpError::invalid(field, "must not be empty"));
    }
    refuse_unsafe(field, raw)?;
    if raw.chars().any(char::is_whitespace) {
        return Err(OpError::invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    let Some((local, dom)) = raw.rsplit_once('@') else {
        return Err(OpError::invalid(
            field,
            format!("{raw:?} is not an address of the form user@domain"),
        ));
    };
    let local = local_part_in(field, local, kind)?;
    let dom = domain(field, dom)?;
    let addr = format!("{local}@{dom}");
    if addr.len() > MAX_ADDRESS_LEN {
        return Err(OpError::invalid(
            field,
            format!(
                "must be at most {MAX_ADDRESS_LEN} characters (is {})",
                addr.len()
            ),
        ));
    }
    Ok((addr, local, dom))
}

/// An alias source: an address, or `@domain` for the domain's catch-all.
/// Returns (address, domain).
pub fn alias_address(field: &str, input: &str) -> OpResult<(String, String)> {
    alias_address_in(field, input, Local::Address)
}

/// `alias_address` for naming an alias that exists (see `lookup_address`).
pub fn lookup_alias_address(field: &str, input: &str) -> OpResult<(String, String)> {
    alias_address_in(field, input, Local::Stored)
}

fn alias_address_in(field: &str, input: &str, kind: Local) -> OpResult<(String, String)> {
    let raw = input.trim();
    if let Some(dom) = raw.strip_prefix('@') {
        let dom = domain(field, dom)?;
        return Ok((format!("@{dom}"), dom));
    }
    let (addr, _, dom) = address_in(field, raw, kind)?;
    Ok((addr, dom))
}

/// Alias destinations: addresses separated by commas, spaces or newlines;
/// duplicates dropped, order kept. Returns the normalized list.
pub fn destinations(field: &str, input: &str) -> OpResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for (i, item) in input
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let (addr, _, _) = address(field, item).map_err(|e| match e {
            OpError::Invalid { message, .. } => OpError::invalid(
                field,
                format!("destination {} ({item:?}): {message}", i + 1),
            ),
            other => other,
        })?;
        if !out.contains(&addr) {
            out.push(addr);
        }
    }
    if out.is_empty() {
        return Err(OpError::invalid(
            field,
            "needs at least one destination address",
        ));
    }
    Ok(out)
}

/// A size in bytes: a plain number, or a number with K, M, G, T (powers of
/// 1024, optional "iB"/"B"), or "unlimited" (0). Never negative.
pub fn size(field: &str, input: &str) -> OpResult<i64> {
    let raw = input.trim();
    if raw.is_empty() {
        return Err(OpError::invalid(field, "must not be empty"));
    }
    if raw.eq_ignore_ascii_case("unlimited") {
        return Ok(0);
    }
    if raw.starts_with('-') {
        return Err(OpError::invalid(field, "must not be negative"));
    }
    let upper = raw.to_ascii_uppercase();
    let trimmed = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (num, mult): (&str, u64) = match trimmed.chars().last() {
        Some('K') => (&trimmed[..trimmed.len() - 1], 1 << 10),
        Some('M') => (&trimmed[..trimmed.len() - 1], 1 << 20),
        Some('G') => (&trimmed[..trimmed.len() - 1], 1 << 30),
        Some('T') => (&trimmed[..trimmed.len() - 1], 1 << 40),
        _ => (trimmed, 1),
    };
    let num = num.trim();
    let bad = || {
        OpError::invalid(
            field,
            format!("{raw:?} is not a size: use bytes or a number with K, M, G or T (e.g. 500M, 2G), or \"unlimited\""),
        )
    };
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(bad());
    }
    let bytes = if num.contains('.') {
        let f: f64 = num.parse().map_err(|_| bad())?;
        let v = (f * mult as f64).round();
        if !v.is_finite() || v > i64::MAX as f64 {
            return Err(OpError::invalid(field, "is too large"));
        }
        crate::num::float_to_i64(v)
    } else {
        let n: u64 = num
            .parse()
            .map_err(|_| OpError::invalid(field, "is too large"))?;
        let v = n
            .checked_mul(mult)
            .ok_or_else(|| OpError::invalid(field, "is too large"))?;
        i64::try_from(v).map_err(|_| OpError::invalid(field, "is too large"))?
    };
    Ok(bytes)
}

/// Bytes in the form `size` reads back to the same number: "unlimited" for
/// 0, else the largest unit that is exact with at most one decimal (1.5G,
/// 500M), else plain bytes. Forms and edits round-trip through this.
pub fn format_size(bytes: i64) -> String {
    if bytes == 0 {
        return "unlimited".into();
    }
    const UNITS: [(&str, i64); 4] = [
        ("T", 1 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ];
    for (unit, m) in UNITS {
        let tenths = i128::from(bytes) * 10;
        if bytes >= m && tenths % i128::from(m) == 0 {
            let t = tenths / i128::from(m);
            return if t % 10 == 0 {
                format!("{}{unit}", t / 10)
            } else {
                format!("{}.{}{unit}", t / 10, t % 10)
            };
        }
    }
    bytes.to_string()
}

/// A count limit (max mailboxes, max aliases): 0 means unlimited.
pub fn count_limit(field: &str, value: i64) -> OpResult<i32> {
    if value < 0 {
        return Err(OpError::invalid(
            field,
            "must not be negative (0 means unlimited)",
        ));
    }
    i32::try_from(value).map_err(|_| OpError::invalid(field, "is too large"))
}

/// A password as it will be hashed: at least `min_len` characters, at most
/// 72 bytes (bcrypt ignores the rest, and we never truncate silently), and no
/// NUL byte (bcrypt would end the password there).
pub fn password(field: &str, pw: &str, min_len: usize) -> OpResult<()> {
    let chars = pw.chars().count();
    if chars < min_len {
        return Err(OpError::invalid(
            field,
            format!("must be at least {min_len} characters (is {chars})"),
        ));
    }
    if pw.len() > BCRYPT_MAX_BYTES {
        return Err(OpError::invalid(
            field,
            format!(
                "must be at most {BCRYPT_MAX_BYTES} bytes, since bcrypt ignores the rest (is {} bytes)",
                pw.len()
            ),
        ));
    }
    if pw.contains('\0') {
        return Err(OpError::invalid(field, "must not contain a NUL byte"));
    }
    if is_common_password(pw) {
        return Err(OpError::invalid(
            field,
            "is one of the most common passwords, which attackers try first; choose another",
        ));
    }
    Ok(())
}

/// The shipped list of common passwords (assets/common-passwords.txt), sorted.
fn common_passwords() -> &'static [&'static str] {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../assets/common-passwords.txt")
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    })
}

pub fn is_common_password(pw: &str) -> bool {
    common_passwords()
        .binary_search(&pw.to_lowercase().as_str())
        .is_ok()
}

/// An admin login name: 1-80 of a-z, 0-9, '.', '_', '-', starting with a
/// letter or digit. Stored lower-case.
pub fn username(field: &str, input: &str) -> OpResult<String> {
    let s = input.trim().to_lowercase();
    if s.is_empty() || s.len() > 80 {
        return Err(OpError::invalid(field, "must be 1-80 characters"));
    }
    if !s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err(OpError::invalid(field, "must start with a letter or digit"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(OpError::invalid(
            field,
            "may hold only letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(s)
}

/// Free text shown in screens: at most 1000 characters, no control characters.
pub fn description(field: &str, input: &str) -> OpResult<Option<String>> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    refuse_unsafe(field, s)?;
    if s.chars().count() > MAX_DESCRIPTION_LEN {
        return Err(OpError::invalid(
            field,
            format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
        ));
    }
    Ok(Some(s.to_string()))
}

/// A Postfix transport (`smtp:[relay.example]:587`, `lmtp:unix:private/dovecot-lmtp`):
/// printable ASCII without spaces or commas, at most 255 characters.
pub fn transport(field: &str, input: &str) -> OpResult<Option<String>> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err(OpError::invalid(
            field,
            "must be printable ASCII without spaces or commas, at most 255 characters (e.g. smtp:[relay.example.com]:587)",
        ));
    }
    if !s.contains(':') {
        return Err(OpError::invalid(
            field,
            "must have the form transport:nexthop (e.g. smtp:[relay.example.com])",
        ));
    }
    Ok(Some(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_normalize() {
        assert_eq!(domain("d", "Example.COM").unwrap(), "example.com");
        assert_eq!(domain("d", "example.com.").unwrap(), "example.com");
        assert_eq!(
            domain("d", "bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for bad in [
            "", "com", "-a.com", "a-.com", "a..com", "a b.com", "a_b.com", "1.2.3.4", "a,b.com",
            "a:b.com",
        ] {
            assert!(domain("d", bad).is_err(), "{bad:?} accepted");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        assert!(domain("d", &long_label).is_err());
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        let err = domain("d", &long).unwrap_err().to_string();
        assert!(err.contains("253"), "{err}");
    }

    #[test]
    fn addresses_normalize() {
        assert_eq!(
            address("a", "Alice@Example.com").unwrap().0,
            "alice@example.com"
        );
        assert_eq!(address("a", "a.b+tag@x.org").unwrap().0, "a.b+tag@x.org");
        for bad in [
            "alice",
            "@x.org",
            "a@",
            ".a@x.org",
            "a..b@x.org",
            "a,b@x.org",
            "a:b@x.org",
            "a b@x.org",
            "\"q\"@x.org",
        ] {
            assert!(address("a", bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@x.org", "a".repeat(65));
        assert!(address("a", &long).unwrap_err().to_string().contains("64"));
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(size("q", "500M").unwrap(), 500 << 20);
        assert_eq!(size("q", "2G").unwrap(), 2 << 30);
        assert_eq!(size("q", "1.5GiB").unwrap(), 3 << 29);
        assert_eq!(size("q", "1024").unwrap(), 1024);
        assert_eq!(size("q", "unlimited").unwrap(), 0);
        for bad in ["-1", "abc", "1X", "", "99999999999T"] {
            assert!(size("q", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(format_size(500 << 20), "500M");
        assert_eq!(format_size(3 << 29), "1.5G");
        assert_eq!(format_size(1025), "1025");
        assert_eq!(format_size(0), "unlimited");
        assert_eq!(size("q", &format_size(2 << 30)).unwrap(), 2 << 30);
    }

    #[test]
    fn passwords_are_bounded() {
        assert!(password("p", "short", 12).is_err());
        assert!(password("p", "long enough password", 12).is_ok());
        let err = password("p", &"x".repeat(73), 12).unwrap_err().to_string();
        assert!(err.contains("72 bytes"), "{err}");
        // 72 bytes but multibyte: counted in bytes, not characters
        assert!(password("p", &"ü".repeat(37), 12).is_err());
        assert!(password("p", "Password1234", 12)
            .unwrap_err()
            .to_string()
            .contains("common"));
        assert!(
            password("p", "123123QWEQWE", 12).is_err(),
            "compared case-insensitively"
        );
        assert!(!is_common_password("k7#mQ9!vR2@xL5"));
        let list = common_passwords();
        assert!(list.len() > 10_000);
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "the list must stay sorted for binary search"
        );
    }

    #[test]
    fn destinations_dedupe() {
        let d = destinations("goto", "A@x.org, b@y.org\na@x.org").unwrap();
        assert_eq!(d, vec!["a@x.org", "b@y.org"]);
        assert!(destinations("goto", "").is_err());
        assert!(destinations("goto", "a@x.org, nope")
            .unwrap_err()
            .to_string()
            .contains("destination 2"));
    }
}
