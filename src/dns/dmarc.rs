//! DMARC records (RFC 7489 6.3): `v=DMARC1` first, `p=` next, every tag
//! `name=value` with a value its grammar allows.

/// Is this TXT record a DMARC record (one receivers would try to use)?
pub fn is_dmarc(txt: &str) -> bool {
    let t = txt.trim_start();
    t.get(..8)
        .is_some_and(|v| v.eq_ignore_ascii_case("v=dmarc1"))
}

/// What a DMARC record says, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// `p=`, when it is one of none, quarantine, reject.
    pub policy: Option<String>,
    /// Syntax errors: receivers may ignore the whole record.
    pub errors: Vec<String>,
    /// Unknown tags: receivers ignore them.
    pub warnings: Vec<String>,
}

fn policy_value(v: &str) -> bool {
    ["none", "quarantine", "reject"].contains(&v.to_ascii_lowercase().as_str())
}

fn uri_list(v: &str) -> bool {
    v.split(',').all(|u| {
        let u = u.trim();
        u.len() > 7
            && u.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("mailto:"))
            && u.contains('@')
    })
}

/// Check one tag's value; the error in words, or None.
fn tag_error(name: &str, value: &str) -> Option<Option<String>> {
    let ok = match name {
        "p" | "sp" => policy_value(value),
        "adkim" | "aspf" => ["r", "s"].contains(&value),
        "pct" => value.parse::<u8>().is_ok_and(|n| n <= 100),
        "ri" => value.parse::<u32>().is_ok(),
        "rua" | "ruf" => uri_list(value),
        "fo" => value
            .split(':')
            .all(|o| ["0", "1", "d", "s"].contains(&o.trim())),
        "rf" => value
            .split(':')
            .all(|f| f.trim().eq_ignore_ascii_case("afrf")),
        _ => return None,
    };
    Some((!ok).then(|| match name {
        "p" | "sp" => format!("{name}={value} is not none, quarantine or reject"),
        "adkim" | "aspf" => format!("{name}={value} is not r or s"),
        "pct" => format!("pct={value} is not a number from 0 to 100"),
        "ri" => format!("ri={value} is not a number of seconds"),
        "rua" | "ruf" => format!("{name}={value} is not a list of mailto: addresses"),
        _ => format!("{name}={value} is not a valid value"),
    }))
}

/// Parse and judge one DMARC record.
pub fn judge(txt: &str) -> Verdict {
    let mut v = Verdict::default();
    let mut saw_p = false;
    let tags: Vec<&str> = txt
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    for (i, tag) in tags.iter().enumerate() {
        let Some((name, value)) = tag.split_once('=') else {
            v.errors.push(format!("\"{tag}\" is not a tag=value pair"));
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if i == 0 {
            if !(name == "v" && value == "DMARC1") {
                v.errors.push("the record must start with v=DMARC1".into());
            }
            continue;
        }
        if name == "v" {
            v.errors.push("v= may only be the first tag".into());
            continue;
        }
        if i == 1 && name != "p" {
            v.errors.push("p= must come right after v=DMARC1".into());
        }
        saw_p |= name == "p";
        match tag_error(&name, value) {
            None => v
                .warnings
                .push(format!("unknown tag {name}= (receivers ignore it)")),
            Some(Some(e)) => v.errors.push(e),
            Some(None) if name == "p" => v.policy = Some(value.to_ascii_lowercase()),
            Some(None) => {}
        }
    }
    if !saw_p {
        v.errors.push("p= is missing (it is required)".into());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_records() {
        let v = judge("v=DMARC1; p=reject; rua=mailto:d@example.net; adkim=s; pct=100");
        assert_eq!(v.policy.as_deref(), Some("reject"));
        assert!(v.errors.is_empty() && v.warnings.is_empty(), "{v:?}");
        assert_eq!(judge("v=DMARC1;p=none").policy.as_deref(), Some("none"));
    }

    #[test]
    fn bad_records_say_why() {
        let v = judge("v=DMARC1; p=rejectt; pct=200");
        assert_eq!(v.policy, None);
        assert_eq!(
            v.errors,
            [
                "p=rejectt is not none, quarantine or reject",
                "pct=200 is not a number from 0 to 100"
            ]
        );
        let v = judge("v=DMARC1; rua=mailto:x@y.test; p=reject");
        assert!(v.errors[0].contains("p= must come right after"), "{v:?}");
        assert!(judge("v=DMARC1").errors[0].contains("p= is missing"));
        assert!(judge("v=DMARC1; p=none; foo").errors[0].contains("not a tag=value"));
        assert!(judge("v=DMARC1; p=none; x=1").warnings[0].contains("unknown tag x="));
        assert!(is_dmarc("v=DMARC1; p=none") && !is_dmarc("v=spf1"));
    }
}
