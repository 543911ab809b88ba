//! Counted nouns written as a person would: "1 mailbox", "8 entries",
//! never "8 entr(y/ies)". English only, like every other message.

/// `n` followed by the noun's singular or plural form.
pub fn count(n: impl TryInto<i128>, singular: &str, plural: &str) -> String {
    let n = n.try_into().unwrap_or(i128::MAX);
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// The regular plural (noun + "s"), for nouns that take one.
pub fn s(n: impl TryInto<i128>, singular: &str) -> String {
    let n = n.try_into().unwrap_or(i128::MAX);
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {singular}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_only_for_exactly_one() {
        assert_eq!(count(1u32, "entry", "entries"), "1 entry");
        assert_eq!(count(8u32, "entry", "entries"), "8 entries");
        assert_eq!(count(0u32, "mailbox", "mailboxes"), "0 mailboxes");
        assert_eq!(s(1i64, "row"), "1 row");
        assert_eq!(s(2usize, "row"), "2 rows");
        assert_eq!(s(-1i64, "row"), "-1 rows");
    }
}
