//! Untrusted text (database values, LDAP attributes, file contents) is
//! stripped of control characters before it reaches a terminal, so a stored
//! escape sequence cannot repaint or retitle the admin's screen.

/// Drop every control character (C0, DEL, C1) and bidi control (they
/// reorder the rest of the line); tabs and newlines become spaces so a
/// single-line cell stays single-line.
pub fn for_terminal(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(' '),
            c if crate::validate::is_unsafe_char(c) => None,
            c => Some(c),
        })
        .collect()
}

/// `for_terminal` line by line, keeping the line breaks: for messages made
/// of lines (every bad line of an import) shown in a scrollable panel.
pub fn lines_for_terminal(s: &str) -> String {
    s.lines().map(for_terminal).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_breaks_and_lose_their_escapes() {
        assert_eq!(
            lines_for_terminal("line 2: a\x1b[2J\r\nline 3: b\tc"),
            "line 2: a[2J\nline 3: b c"
        );
    }

    #[test]
    fn escapes_are_removed() {
        assert_eq!(for_terminal("a\x1b[2Jb\x07c\u{9b}d"), "a[2Jbcd");
        assert_eq!(for_terminal("x\ty\nz"), "x y z");
        assert_eq!(for_terminal("plain ü"), "plain ü");
        assert_eq!(for_terminal("ad\u{202e}nim\u{2066}x\u{200f}"), "adnimx");
    }
}
