//! Property tests for every validator and parser: they never panic,
//! normalizing twice changes nothing, and nothing accepted carries a
//! character Postfix would misread (whitespace, comma, colon, control).

use postfix_manager::db::DbUrl;
use postfix_manager::sanitize::for_terminal;
use postfix_manager::validate;
use proptest::prelude::*;

fn postfix_safe(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == ':')
}

/// Strings that look like what people (and attackers) type: letters, IDN,
/// separators, escapes.
fn messy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9.@_+:,; \\-]{0,40}",
        "[a-zA-Zäöüß\u{1F600}.\\-]{1,20}\\.[a-zA-Z]{2,6}",
        "[a-z0-9.+\\-]{1,20}@[a-zA-Z0-9\\-]{1,20}\\.[a-z]{2,5}",
        "@?[a-z0-9\\-]{1,10}(\\.[a-z0-9\\-]{1,10}){0,3}\\.?",
        "[\\x00-\\x1f\\x7f\u{80}-\u{9f}a-z@.]{0,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn domain_is_idempotent_and_safe(s in messy()) {
        if let Ok(d) = validate::domain("d", &s) {
            prop_assert_eq!(validate::domain("d", &d).ok(), Some(d.clone()));
            prop_assert!(postfix_safe(&d), "{:?}", d);
            prop_assert!(d.is_ascii() && d == d.to_lowercase() && d.len() <= 253);
            prop_assert!(!d.contains('@'));
        }
    }

    #[test]
    fn address_is_idempotent_and_safe(s in messy()) {
        if let Ok((a, local, dom)) = validate::address("a", &s) {
            prop_assert_eq!(validate::address("a", &a).ok(), Some((a.clone(), local.clone(), dom.clone())));
            prop_assert!(postfix_safe(&a), "{:?}", a);
            prop_assert_eq!(a.matches('@').count(), 1);
            prop_assert_eq!(format!("{local}@{dom}"), a.clone());
            prop_assert!(local.len() <= 64 && a.len() <= 254);
        }
    }

    #[test]
    fn alias_address_is_idempotent_and_safe(s in messy()) {
        if let Ok((a, dom)) = validate::alias_address("a", &s) {
            prop_assert_eq!(validate::alias_address("a", &a).ok(), Some((a.clone(), dom)));
            prop_assert!(postfix_safe(&a));
        }
    }

    #[test]
    fn destinations_round_trip(parts in prop::collection::vec(messy(), 0..5)) {
        let joined = parts.join(",");
        if let Ok(list) = validate::destinations("goto", &joined) {
            prop_assert!(!list.is_empty());
            for d in &list {
                prop_assert!(postfix_safe(d));
            }
            prop_assert_eq!(validate::destinations("goto", &list.join(",")).ok(), Some(list));
        }
    }

    #[test]
    fn sizes_never_negative_and_round_trip(s in messy(), k in 0i64..1_000_000, unit in 0usize..5) {
        if let Ok(n) = validate::size("q", &s) {
            prop_assert!(n >= 0);
        }
        let n = k << [0, 10, 20, 30, 40][unit];
        prop_assert_eq!(validate::size("q", &validate::format_size(n)).ok(), Some(n));
    }

    #[test]
    fn names_and_texts_never_panic(s in messy()) {
        if let Ok(u) = validate::username("u", &s) {
            prop_assert_eq!(validate::username("u", &u).ok(), Some(u.clone()));
            prop_assert!(postfix_safe(&u));
        }
        if let Ok(Some(d)) = validate::description("d", &s) {
            prop_assert!(!d.chars().any(char::is_control));
            prop_assert_eq!(validate::description("d", &d).ok(), Some(Some(d.clone())));
        }
        if let Ok(Some(t)) = validate::transport("t", &s) {
            prop_assert!(!t.chars().any(|c| c.is_whitespace() || c.is_control() || c == ','));
        }
        let _ = validate::password("p", &s, 12);
        let _ = validate::local_part("l", &s);
    }

    #[test]
    fn database_urls_never_panic(s in messy()) {
        if let Ok(u) = DbUrl::parse(&s) {
            let red = u.redacted();
            prop_assert!(!red.is_empty());
        }
    }

    #[test]
    fn terminal_text_has_no_controls(s in any::<String>()) {
        let t = for_terminal(&s);
        prop_assert!(!t.chars().any(char::is_control));
        prop_assert_eq!(for_terminal(&t), t.clone());
    }
}

#[test]
fn postfix_misreads_are_refused() {
    for bad in [
        "a,b@x.org",
        "a:b@x.org",
        "a b@x.org",
        "a\tb@x.org",
        "a\nb@x.org",
        "a@x,y.org",
        "a@x:y.org",
    ] {
        assert!(validate::address("a", bad).is_err(), "{bad:?}");
    }
}
