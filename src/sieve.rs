//! Vacation replies as Dovecot Pigeonhole Sieve (issue 20): the `[vacation]`
//! settings and the script a mailbox's vacation becomes. No database code:
//! `ops::vacation` stores the row and installs what `script` returns.
//!
//! Design (docs/mail-server-setup.md, "Vacation replies"): the script is put
//! into the mailbox's own Sieve storage under a fixed name
//! (`postfix-manager-vacation`) WITHOUT activating it, and the generated
//! Dovecot config names it in a per-user `sieve_before` location
//! (`~/sieve/postfix-manager-vacation.sieve`). Pigeonhole runs it before
//! whatever script the user activated through ManageSieve, which stays
//! untouched and keeps filing the message; a missing file is skipped, so
//! turning the vacation off is deleting the script.
//!
//! Everything typed by an admin reaches the script only through
//! `quoted` (a Sieve quoted string: backslash and double quote escaped) or
//! `multiline` (a `text:` block, lines starting with a dot doubled), and
//! the script requires neither "variables" nor "encoded-character", so `${`
//! in a subject or body stays literal text.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The script's name in the mailbox's Sieve storage.
pub const SCRIPT_NAME: &str = "postfix-manager-vacation";

/// `[vacation]`: how a vacation script reaches Dovecot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct VacationSettings {
    /// Installs one mailbox's script (`sh -c`): the script is on standard
    /// input and in the file PM_SCRIPT; PM_USER is the address,
    /// PM_SCRIPT_NAME the script's name, PM_HOME the mail home as the
    /// generated userdb computes it. Passed in the environment, never
    /// pasted into the command. Runs inside the database transaction: a
    /// non-zero exit rolls the change back.
    pub install_command: String,
    /// Removes it (`vacation off`); must succeed when there is nothing to
    /// remove (the default accepts doveadm's "not found", exit 68).
    pub remove_command: String,
}

pub const DEFAULT_INSTALL_COMMAND: &str = "doveadm sieve put -u \"$PM_USER\" \"$PM_SCRIPT_NAME\"";
pub const DEFAULT_REMOVE_COMMAND: &str =
    "doveadm sieve delete -u \"$PM_USER\" \"$PM_SCRIPT_NAME\" || [ $? -eq 68 ]";

impl Default for VacationSettings {
    fn default() -> Self {
        VacationSettings {
            install_command: DEFAULT_INSTALL_COMMAND.to_string(),
            remove_command: DEFAULT_REMOVE_COMMAND.to_string(),
        }
    }
}

impl VacationSettings {
    /// The rules a loaded config must meet, as "field: rule".
    pub fn check(&self) -> Result<(), String> {
        if self.install_command.trim().is_empty() {
            return Err("vacation.install_command must not be empty".into());
        }
        if self.remove_command.trim().is_empty() {
            return Err("vacation.remove_command must not be empty".into());
        }
        Ok(())
    }
}

/// `[mail] sieve_before_setting`: the Pigeonhole setting the generated
/// `dovecot-sieve.conf` sets to the script's path, `sieve_before` or
/// `sieve_before2`.. when the host already uses lower numbers (Pigeonhole
/// reads them in order and stops at the first gap).
pub fn check_sieve_before_setting(s: &str) -> Result<(), String> {
    let ok = match s.strip_prefix("sieve_before") {
        Some("") => true,
        Some(d) => !d.starts_with('0') && d.parse::<u8>().is_ok_and(|d| (2..=99).contains(&d)),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "must be sieve_before or sieve_before2 .. sieve_before99 (got {s:?})"
        ))
    }
}

/// What a script is made of (validated by `ops::vacation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The mailbox and the addresses that reach it (aliases): Pigeonhole
    /// answers only mail that names one of them in To/Cc.
    pub addresses: &'a [String],
    pub subject: &'a str,
    pub body: &'a str,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
    pub days: i32,
    /// Senders never answered: `user@domain` or `@domain`.
    pub excludes: &'a [String],
}

/// A Sieve quoted string (RFC 5228 2.4.2): `\` and `"` are the only
/// characters with a meaning inside one.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A Sieve string list `["a", "b"]`.
fn list(items: &[String]) -> String {
    let q: Vec<String> = items.iter().map(|s| quoted(s)).collect();
    format!("[{}]", q.join(", "))
}

/// A multi-line string (RFC 5228 2.4.2): `text:`, the lines, a line with a
/// single dot. A line starting with a dot gets a second one (dot-stuffing),
/// so no line of the body can end the string early.
pub fn multiline(body: &str) -> String {
    let mut out = String::from("text:\r\n");
    let normalized = body.replace("\r\n", "\n");
    for line in normalized.trim_end_matches('\n').split('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// The whole script for one mailbox.
pub fn script(r: &Reply<'_>) -> String {
    let mut tests: Vec<String> = Vec::new();
    if let Some(f) = r.from {
        tests.push(format!(
            "currentdate :value \"ge\" \"date\" {}",
            quoted(&f.format("%Y-%m-%d").to_string())
        ));
    }
    if let Some(u) = r.until {
        tests.push(format!(
            "currentdate :value \"le\" \"date\" {}",
            quoted(&u.format("%Y-%m-%d").to_string())
        ));
    }
    // Mailing lists and automatic mail, said here and not only left to
    // Pigeonhole's own checks, so the rule is visible in the script.
    tests.push("not exists \"list-id\"".into());
    tests.push("not header :is \"precedence\" [\"bulk\", \"list\", \"junk\"]".into());
    tests.push(
        "not allof (exists \"auto-submitted\", not header :is \"auto-submitted\" \"no\")".into(),
    );
    let (domains, addrs): (Vec<String>, Vec<String>) =
        r.excludes.iter().cloned().partition(|e| e.starts_with('@'));
    if !addrs.is_empty() {
        let l = list(&addrs);
        tests.push(format!("not envelope :all :is \"from\" {l}"));
        tests.push(format!("not address :all :is \"from\" {l}"));
    }
    if !domains.is_empty() {
        let bare: Vec<String> = domains
            .iter()
            .map(|d| d.trim_start_matches('@').to_string())
            .collect();
        let l = list(&bare);
        tests.push(format!("not envelope :domain :is \"from\" {l}"));
        tests.push(format!("not address :domain :is \"from\" {l}"));
    }
    let mut s = String::new();
    s.push_str(
        "# Generated by postfix-manager (mailbox vacation set); changes here are overwritten.\r\n",
    );
    s.push_str("require [\"vacation\", \"date\", \"relational\", \"envelope\"];\r\n\r\n");
    s.push_str("if allof (\r\n    ");
    s.push_str(&tests.join(",\r\n    "));
    s.push_str("\r\n) {\r\n");
    s.push_str(&format!(
        "    vacation :days {} :subject {} :addresses {} ",
        r.days,
        quoted(r.subject),
        list(r.addresses)
    ));
    s.push_str(&multiline(r.body));
    s.push_str(";\r\n}\r\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply<'a>(addrs: &'a [String], subject: &'a str, body: &'a str) -> Reply<'a> {
        Reply {
            addresses: addrs,
            subject,
            body,
            from: NaiveDate::from_ymd_opt(2026, 12, 20),
            until: NaiveDate::from_ymd_opt(2027, 1, 6),
            days: 7,
            excludes: &[],
        }
    }

    #[test]
    fn quoted_strings_escape_backslash_and_quote_only() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("${hex:41}"), "\"${hex:41}\"");
        assert_eq!(quoted(r#"\""#), r#""\\\"""#);
    }

    #[test]
    fn a_body_line_of_a_dot_cannot_end_the_text_early() {
        let m = multiline(".\n..x\nplain\n.\r\nend");
        assert_eq!(m, "text:\r\n..\r\n...x\r\nplain\r\n..\r\nend\r\n.\r\n");
        // The only line that is a single dot is the terminator.
        assert_eq!(m.lines().filter(|l| *l == ".").count(), 1);
    }

    #[test]
    fn the_script_tests_dates_lists_and_excluded_senders() {
        let addrs = vec!["alice@example.com".to_string()];
        let ex = vec!["boss@example.org".to_string(), "@spam.example".to_string()];
        let mut r = reply(&addrs, "Away", "Back soon.");
        r.excludes = &ex;
        let s = script(&r);
        assert!(
            s.contains("currentdate :value \"ge\" \"date\" \"2026-12-20\""),
            "{s}"
        );
        assert!(
            s.contains("currentdate :value \"le\" \"date\" \"2027-01-06\""),
            "{s}"
        );
        assert!(s.contains("not exists \"list-id\""), "{s}");
        assert!(s.contains("\"bulk\", \"list\", \"junk\""), "{s}");
        assert!(s.contains("\"auto-submitted\" \"no\""), "{s}");
        assert!(
            s.contains("not envelope :all :is \"from\" [\"boss@example.org\"]"),
            "{s}"
        );
        assert!(
            s.contains("not envelope :domain :is \"from\" [\"spam.example\"]"),
            "{s}"
        );
        assert!(
            s.contains(":days 7 :subject \"Away\" :addresses [\"alice@example.com\"]"),
            "{s}"
        );
        let open = reply(&addrs, "Away", "x");
        let open = Reply {
            from: None,
            until: None,
            ..open
        };
        assert!(!script(&open).contains("currentdate"));
    }

    #[test]
    fn hostile_text_stays_inside_its_strings() {
        let addrs = vec!["alice@example.com".to_string()];
        let subject = r#"x"; discard; vacation "y"#;
        let body = ".\r\n;\r\n}\r\ndiscard;\r\n.\r\nbye\\\"";
        let s = script(&reply(&addrs, subject, body));
        assert!(
            s.contains(r#":subject "x\"; discard; vacation \"y""#),
            "{s}"
        );
        // The body's lone dots were doubled: the script has exactly one
        // terminator line, right before the closing `;`.
        let lines: Vec<&str> = s.lines().collect();
        let dots: Vec<usize> = (0..lines.len()).filter(|i| lines[*i] == ".").collect();
        assert_eq!(dots.len(), 1, "{s}");
        assert_eq!(lines[dots[0] + 1], ";", "{s}");
    }

    #[test]
    fn only_sieve_before_settings_are_accepted() {
        assert!(VacationSettings::default().check().is_ok());
        for good in ["sieve_before", "sieve_before2", "sieve_before99"] {
            assert!(check_sieve_before_setting(good).is_ok(), "{good}");
        }
        for bad in [
            "sieve_after",
            "sieve_before1",
            "sieve_before02",
            "sieve_beforex",
            "",
        ] {
            assert!(check_sieve_before_setting(bad).is_err(), "{bad}");
        }
    }
}
