//! The one rule for showing a size to a person (TUI cells, the dashboard,
//! CLI text tables): binary units as `validate::size` reads them (K, M, G,
//! T = powers of 1024), at most four digits, rounded down so a value never
//! looks fuller than it is. `546M`, `1.2G`, `411T`, `512B`.
//!
//! Forms and edits do not use this: they need the exact value back, which
//! is `validate::format_size`. `--json` prints bytes.

const UNITS: [(char, i64); 4] = [
    ('T', 1 << 40),
    ('G', 1 << 30),
    ('M', 1 << 20),
    ('K', 1 << 10),
];

/// A size at a glance: one decimal below 10 of a unit (`1.2G`), whole
/// units above (`546M`), plain bytes below 1K (`512B`), `0` for nothing.
pub fn human(bytes: i64) -> String {
    let bytes = bytes.max(0);
    if bytes == 0 {
        return "0".into();
    }
    for (unit, m) in UNITS {
        if bytes >= m {
            let tenths = i128::from(bytes) * 10 / i128::from(m);
            return if tenths < 100 && tenths % 10 != 0 {
                format!("{}.{}{unit}", tenths / 10, tenths % 10)
            } else {
                format!("{}{unit}", tenths / 10)
            };
        }
    }
    format!("{bytes}B")
}

/// A size limit: 0 means none.
pub fn human_limit(bytes: i64) -> String {
    if bytes == 0 {
        "unlimited".into()
    } else {
        human(bytes)
    }
}

/// `text` in at most `width` columns: whole when it fits, else cut with a
/// trailing `…` so a cut is always visible (never a silently shorter
/// number). Counted in chars, which is what the tables' cells hold.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_from_bytes_to_terabytes() {
        assert_eq!(human(0), "0");
        assert_eq!(human(512), "512B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(1024), "1K");
        assert_eq!(human(1536), "1.5K");
        assert_eq!(human(572_304_384), "545M");
        assert_eq!(human(1 << 30), "1G");
        assert_eq!(human(1_300_000_000), "1.2G");
        // rounded down: 9.99G is not shown as 10G
        assert_eq!(human((10 << 30) - 1), "9.9G");
        assert_eq!(human(160_665_599_552), "149G");
        assert_eq!(human(411 << 40), "411T");
        assert_eq!(human(452_207_272_553_453), "411T");
        assert_eq!(human(-5), "0");
        assert_eq!(human_limit(0), "unlimited");
        assert_eq!(human_limit(116_480 << 20), "113G");
    }

    #[test]
    fn every_human_size_reads_back_as_a_size() {
        for n in [1, 1023, 1024, 1536, 572_304_384, 411 << 40] {
            let back = crate::validate::size("x", &human(n)).expect("parses");
            assert!(back <= n && back >= n - n / 10, "{n}: {back}");
        }
    }

    #[test]
    fn fit_marks_a_cut() {
        assert_eq!(fit("1023M", 5), "1023M");
        assert_eq!(fit("unlimited", 6), "unlim…");
        assert_eq!(fit("abc", 0), "");
    }
}
