//! Colors. With NO_COLOR set (to anything non-empty, per no-color.org)
//! every style keeps only its modifiers (bold, reversed), so selection and
//! focus stay visible without a single color code.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    /// Colors chosen for a light background (the admin's "light" preference).
    pub light: bool,
    /// Colors set in the config file's `[colors]`, by role.
    pub overrides: [Option<Color>; ROLES.len()],
}

/// The roles a color can be set for in `[colors]`.
pub const ROLES: [&str; 11] = [
    "header",
    "title",
    "column_header",
    "error",
    "ok",
    "dim",
    "key",
    "warn",
    "crit",
    "suspended",
    "focus",
];

fn role(name: &str) -> usize {
    ROLES.iter().position(|r| *r == name).unwrap_or(0)
}

/// Check a `[colors]` table: known roles, colors ratatui can parse (a name
/// such as "lightblue", "#rrggbb", or an index 0-255).
pub fn parse_colors(
    table: &std::collections::BTreeMap<String, String>,
) -> Result<[Option<Color>; ROLES.len()], String> {
    let mut out = [None; ROLES.len()];
    for (k, v) in table {
        let Some(i) = ROLES.iter().position(|r| r == k) else {
            return Err(format!(
                "colors.{k}: unknown role; use one of {}",
                ROLES.join(", ")
            ));
        };
        let c: Color = v.parse().map_err(|_| {
            format!(
                "colors.{k}: {v:?} is not a color (a name such as lightblue, #rrggbb, or 0-255)"
            )
        })?;
        out[i] = Some(c);
    }
    Ok(out)
}

impl Theme {
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme {
            color: !no_color,
            light: false,
            overrides: [None; ROLES.len()],
        }
    }

    pub fn with_colors(mut self, overrides: [Option<Color>; ROLES.len()]) -> Theme {
        self.overrides = overrides;
        self
    }

    /// Apply the admin's theme preference (dark, light, no-color). NO_COLOR
    /// in the environment still wins: the terminal said it wants none.
    pub fn with_preference(self, theme: &str) -> Theme {
        let env = Theme::from_env();
        Theme {
            color: env.color && theme != "no-color",
            light: theme == "light",
            overrides: self.overrides,
        }
    }

    /// Paint with the role's configured color, else `fg` (adjusted for a
    /// light background).
    fn paint_as(&self, name: &str, s: Style, fg: Color) -> Style {
        if !self.color {
            return s;
        }
        if let Some(c) = ROLES
            .iter()
            .position(|r| *r == name)
            .and_then(|i| self.overrides[i])
        {
            return s.fg(c);
        }
        // Light and pale colors vanish on a light background: darker twins.
        let fg = match (self.light, fg) {
            (true, Color::Cyan) => Color::Blue,
            (true, Color::Yellow) => Color::Magenta,
            (true, Color::Gray) => Color::DarkGray,
            (true, Color::Green) => Color::Rgb(0, 110, 0),
            (_, c) => c,
        };
        s.fg(fg)
    }

    pub fn header(&self) -> Style {
        let s = Style::default().add_modifier(Modifier::BOLD);
        if self.color {
            s.fg(Color::Black)
                .bg(self.overrides[role("header")].unwrap_or(Color::Cyan))
        } else {
            s.add_modifier(Modifier::REVERSED)
        }
    }
    pub fn title(&self) -> Style {
        self.paint_as(
            "title",
            Style::default().add_modifier(Modifier::BOLD),
            Color::Cyan,
        )
    }
    pub fn column_header(&self) -> Style {
        self.paint_as(
            "column_header",
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Color::Yellow,
        )
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn error(&self) -> Style {
        self.paint_as(
            "error",
            Style::default().add_modifier(Modifier::BOLD),
            Color::Red,
        )
    }
    pub fn ok(&self) -> Style {
        self.paint_as("ok", Style::default(), Color::Green)
    }
    pub fn dim(&self) -> Style {
        self.paint_as(
            "dim",
            Style::default().add_modifier(Modifier::DIM),
            Color::Gray,
        )
    }
    /// A field's placeholder: dim and italic, so it never looks like a
    /// typed or stored value (italic survives NO_COLOR).
    pub fn placeholder(&self) -> Style {
        self.dim().add_modifier(Modifier::ITALIC)
    }
    pub fn key(&self) -> Style {
        self.paint_as(
            "key",
            Style::default().add_modifier(Modifier::BOLD),
            Color::Yellow,
        )
    }
    /// A row over the warning threshold (its `!` marker says so without color).
    pub fn warn(&self) -> Style {
        self.paint_as("warn", Style::default(), Color::Yellow)
    }
    /// A row over the critical threshold (marked `!!`; bold without color).
    pub fn crit(&self) -> Style {
        self.paint_as(
            "crit",
            Style::default().add_modifier(Modifier::BOLD),
            Color::Red,
        )
    }
    pub fn suspended(&self) -> Style {
        self.paint_as("suspended", Style::default(), Color::Red)
    }
    pub fn focus(&self) -> Style {
        self.paint_as(
            "focus",
            Style::default().add_modifier(Modifier::BOLD),
            Color::Yellow,
        )
    }
    /// An input box: underlined so an empty one is still visible.
    pub fn input(&self, focused: bool) -> Style {
        let s = Style::default().add_modifier(Modifier::UNDERLINED);
        if focused {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }
}
