//! Number conversions that say what happens at the edges, where an `as`
//! cast would wrap or truncate without a word (issue 16 denies
//! `clippy::cast_possible_truncation` outside tests).

use std::time::Duration;

/// A count or size as `usize`. Lossless on 64-bit targets; saturates on
/// 32-bit ones, where the caller could not hold that much anyway.
pub fn usize_from(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A length as a terminal dimension: saturates at `u16::MAX`, which every
/// caller then clamps to the screen.
pub fn u16_from(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Milliseconds of `d`, saturating (at 584 million years).
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// `x` without its fraction (round or ceil first), saturating at the
/// type's bounds, NaN as 0: what `as` does for floats since Rust 1.45, in
/// one named place.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn float_to_u64(x: f64) -> u64 {
    x as u64
}

/// Like [`float_to_u64`].
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn float_to_usize(x: f64) -> usize {
    x as usize
}

/// Like [`float_to_u64`].
#[allow(clippy::cast_possible_truncation)]
pub fn float_to_i64(x: f64) -> i64 {
    x as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_saturate() {
        assert_eq!(u16_from(70_000), u16::MAX);
        assert_eq!(u16_from(12), 12);
        assert_eq!(usize_from(7), 7);
        assert_eq!(millis(Duration::from_secs(u64::MAX)), u64::MAX);
        assert_eq!(float_to_u64(-1.0), 0);
        assert_eq!(float_to_u64(f64::NAN), 0);
        assert_eq!(float_to_i64(1e30), i64::MAX);
        assert_eq!(float_to_usize(2.9), 2);
    }
}
