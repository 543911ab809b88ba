//! Keys from the config file's `[keys]` table: `new = "a"` moves the "new"
//! command from `n` to `a`. A moved default key does nothing any more, so
//! nothing fires by surprise. Only command keys move; typing into forms,
//! filters and the `:` line is never translated.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Each remappable command and its default key: the key table's rows
/// that carry a `[keys]` name.
fn actions() -> Vec<(&'static str, char)> {
    super::keys::remappable().collect()
}

/// Every printable ASCII character, so a label can be a `&'static str`.
const PRINTABLE: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

fn printable(c: char) -> Option<&'static str> {
    let i = PRINTABLE.find(c)?;
    PRINTABLE.get(i..i + 1)
}

#[derive(Debug, Clone, Default)]
pub struct KeyMap {
    /// (custom key, default key) pairs.
    moved: Vec<(char, char)>,
}

impl KeyMap {
    /// Check a `[keys]` table: known commands, one printable ASCII character
    /// each, no key given to two commands.
    pub fn parse(table: &BTreeMap<String, String>) -> Result<KeyMap, String> {
        let actions = actions();
        let mut moved: Vec<(char, char)> = Vec::new();
        for (name, key) in table {
            let Some((_, default)) = actions.iter().find(|(a, _)| a == name) else {
                let names: Vec<&str> = actions.iter().map(|(a, _)| *a).collect();
                return Err(format!(
                    "keys.{name}: unknown command; use one of {}",
                    names.join(", ")
                ));
            };
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                return Err(format!("keys.{name}: {key:?} must be a single character"));
            };
            if printable(c).is_none() {
                return Err(format!(
                    "keys.{name}: {key:?} must be a printable ASCII character"
                ));
            }
            if moved.iter().any(|(k, _)| *k == c) {
                return Err(format!(
                    "keys.{name}: {key:?} is already bound to another command"
                ));
            }
            if c != *default {
                moved.push((c, *default));
            }
        }
        // A key freed by one move may be taken by another, but a default key
        // still in use by an unmoved command may not be stolen.
        for (c, _) in &moved {
            let owner = actions.iter().find(|(_, d)| d == c);
            if let Some((name, d)) = owner {
                if !moved.iter().any(|(_, md)| md == d) {
                    return Err(format!(
                        "keys: {c:?} is the key of {name}; move {name} too, or choose another key"
                    ));
                }
            }
        }
        Ok(KeyMap { moved })
    }

    /// The command key `key` stands for (unchanged when nothing moved).
    pub fn translate(&self, key: KeyEvent) -> KeyEvent {
        let KeyCode::Char(c) = key.code else {
            return key;
        };
        if key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return key;
        }
        if let Some((_, d)) = self.moved.iter().find(|(k, _)| *k == c) {
            return KeyEvent::new(KeyCode::Char(*d), key.modifiers);
        }
        if self.moved.iter().any(|(_, d)| *d == c) {
            return KeyEvent::new(KeyCode::Null, key.modifiers);
        }
        key
    }

    /// The label to show for a default key's label (footer, help).
    pub fn label(&self, default: &'static str) -> &'static str {
        let mut chars = if default == "Space" { " " } else { default }.chars();
        let (Some(d), None) = (chars.next(), chars.next()) else {
            return default;
        };
        match self.moved.iter().find(|(_, md)| *md == d) {
            Some((c, _)) if *c == ' ' => "Space",
            Some((c, _)) => printable(*c).unwrap_or(default),
            None => default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn moved_keys_translate_and_defaults_go_quiet() {
        let m = KeyMap::parse(&table(&[("new", "N"), ("delete", "x")])).unwrap();
        let k = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(m.translate(k('N')).code, KeyCode::Char('n'));
        assert_eq!(m.translate(k('x')).code, KeyCode::Char('d'));
        assert_eq!(m.translate(k('n')).code, KeyCode::Null);
        assert_eq!(m.translate(k('j')).code, KeyCode::Char('j'));
        assert_eq!(m.label("n"), "N");
        assert_eq!(m.label("PgUp/PgDn"), "PgUp/PgDn");
    }

    #[test]
    fn bad_tables_name_the_field() {
        assert!(KeyMap::parse(&table(&[("fly", "f")]))
            .unwrap_err()
            .starts_with("keys.fly"));
        assert!(KeyMap::parse(&table(&[("new", "nn")]))
            .unwrap_err()
            .contains("single character"));
        assert!(KeyMap::parse(&table(&[("new", "x"), ("delete", "x")]))
            .unwrap_err()
            .contains("already bound"));
        assert!(KeyMap::parse(&table(&[("new", "d")]))
            .unwrap_err()
            .contains("key of delete"));
        assert!(
            KeyMap::parse(&table(&[("new", "d"), ("delete", "n")])).is_ok(),
            "a swap is fine"
        );
    }
}
