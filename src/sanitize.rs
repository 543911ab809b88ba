//! Untrusted text (database values, LDAP attributes, file contents) is
//! stripped of control characters before it reaches a terminal, so a stored
//! escape sequence cannot repaint or retitle the admin's screen.

/// Drop every control character (C0, DEL, C1);
/// tabs and newlines become spaces so a single-line cell stays single-line.
pub fn for_terminal(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_removed() {
        assert_eq!(for_terminal("a\x1b[2Jb\x07c\u{9b}d"), "a[2Jbcd");
        assert_eq!(for_terminal("x\ty\nz"), "x y z");
        assert_eq!(for_terminal("plain ü"), "plain ü");
    }
}
