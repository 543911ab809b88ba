//! Prose broken at spaces into lines of at most a given number of columns,
//! so a panel that cuts long lines never cuts a word: the TUI's message
//! panels and the DNS detail (`ops::command::dns`) share it. A word longer
//! than a line (a key, a record) stands alone on its line, whole.

/// `text` (one line) as lines of at most `width` characters where it can
/// be broken at a space. Spaces inside a line are kept as typed; an empty
/// text is one empty line.
pub fn at_spaces(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    for word in text.split(' ') {
        let last = out.len() - 1;
        let len = out[last].chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push(String::new());
        } else if len > 0 {
            out[last].push(' ');
        }
        let last = out.len() - 1;
        out[last].push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::at_spaces;

    #[test]
    fn lines_break_at_spaces_and_long_words_stay_whole() {
        assert_eq!(at_spaces("aaa bbb ccc ddd", 7), ["aaa bbb", "ccc ddd"]);
        assert_eq!(at_spaces("", 7), [""]);
        let long = "x".repeat(20);
        assert_eq!(at_spaces(&format!("a {long} b"), 7), ["a", &long, "b"]);
        assert_eq!(at_spaces("é é é", 3), ["é é", "é"]);
    }
}
