//! QR codes drawn in a terminal with Unicode half blocks: each character
//! is two modules stacked (`▀`, `▄`, `█` or a space), so a code of an
//! `otpauth://` URI (version 5, 37 modules) plus its quiet zone takes 41
//! columns and 21 lines and fits beside text at 80x24.
//!
//! Light modules are the drawn ones (`█`): on the usual light-on-dark
//! terminal that gives dark modules on a light field, the polarity phone
//! cameras expect, as `qrencode -t UTF8` does. The TUI sets the colours
//! explicitly so a light theme does not invert it.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of light border on each side. The standard asks for 4; 2 is
/// what scanners cope with and saves 4 lines on an 80x24 screen.
pub const QUIET: usize = 2;

/// A QR code's module matrix (true = dark), row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl Matrix {
    /// Error correction L: a screen is not a scuffed label, and the lowest
    /// level keeps the code small.
    pub fn encode(text: &str) -> Result<Matrix, String> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
            .map_err(|e| format!("cannot draw a QR code: {e}"))?;
        Ok(Matrix {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Dark at (x, y); the quiet zone around the code is light.
    pub fn is_dark(&self, x: isize, y: isize) -> bool {
        let (Ok(x), Ok(y)) = (usize::try_from(x), usize::try_from(y)) else {
            return false;
        };
        x < self.width && y < self.width && self.dark.get(y * self.width + x) == Some(&true)
    }

    /// The code as lines of half blocks with `quiet` light modules around
    /// it; every line has the same number of characters.
    pub fn half_blocks(&self, quiet: usize) -> Vec<String> {
        let q = isize::try_from(quiet).unwrap_or(0);
        let w = isize::try_from(self.width).unwrap_or(0);
        let side = w + 2 * q;
        let mut lines = Vec::new();
        let mut y = -q;
        while y < w + q {
            let line: String = (-q..w + q)
                .map(|x| {
                    let top_light = !self.is_dark(x, y);
                    // A last odd line's lower half is outside the field:
                    // drawn as nothing (the terminal's background).
                    let bottom_light = y + 1 < side - q && !self.is_dark(x, y + 1);
                    match (top_light, bottom_light) {
                        (true, true) => '█',
                        (true, false) => '▀',
                        (false, true) => '▄',
                        (false, false) => ' ',
                    }
                })
                .collect();
            lines.push(line);
            y += 2;
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read the half blocks back into modules: the drawing is exactly the
    /// encoder's matrix (what a camera would decode), quiet zone light.
    pub fn read_back(lines: &[String], quiet: usize) -> Matrix {
        let side = lines[0].chars().count();
        let mut light = vec![vec![false; side]; lines.len() * 2];
        for (row, line) in lines.iter().enumerate() {
            for (x, ch) in line.chars().enumerate() {
                let (t, b) = match ch {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected {other:?}"),
                };
                light[row * 2][x] = t;
                light[row * 2 + 1][x] = b;
            }
        }
        let width = side - 2 * quiet;
        for (y, row) in light.iter().enumerate().take(side) {
            for (x, is_light) in row.iter().enumerate() {
                let inside =
                    (quiet..quiet + width).contains(&x) && (quiet..quiet + width).contains(&y);
                if !inside {
                    assert!(*is_light, "quiet zone at {x},{y} is light");
                }
            }
        }
        let mut dark = Vec::new();
        for y in 0..width {
            for x in 0..width {
                dark.push(!light[y + quiet][x + quiet]);
            }
        }
        Matrix { width, dark }
    }

    #[test]
    fn half_blocks_read_back_to_the_same_matrix() {
        let uri = "otpauth://totp/postfix-manager:admin?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=postfix-manager";
        let m = Matrix::encode(uri).unwrap();
        assert_eq!(m.width, 37, "version 5 at level L");
        let lines = m.half_blocks(QUIET);
        assert_eq!(lines.len(), 21);
        assert!(lines.iter().all(|l| l.chars().count() == 41));
        assert_eq!(read_back(&lines, QUIET), m);
    }
}
