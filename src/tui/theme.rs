//! Colors. With NO_COLOR set (to anything non-empty, per no-color.org)
//! every style keeps only its modifiers (bold, reversed), so selection and
//! focus stay visible without a single color code.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
    /// Colors chosen for a light background (the admin's "light" preference).
    pub light: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme {
            color: !no_color,
            light: false,
        }
    }

    /// Apply the admin's theme preference (dark, light, no-color). NO_COLOR
    /// in the environment still wins: the terminal said it wants none.
    pub fn with_preference(self, theme: &str) -> Theme {
        let env = Theme::from_env();
        Theme {
            color: env.color && theme != "no-color",
            light: theme == "light",
        }
    }

    fn paint(&self, s: Style, fg: Color) -> Style {
        if !self.color {
            return s;
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
            s.fg(Color::Black).bg(Color::Cyan)
        } else {
            s.add_modifier(Modifier::REVERSED)
        }
    }
    pub fn title(&self) -> Style {
        self.paint(Style::default().add_modifier(Modifier::BOLD), Color::Cyan)
    }
    pub fn column_header(&self) -> Style {
        self.paint(
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            Color::Yellow,
        )
    }
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn error(&self) -> Style {
        self.paint(Style::default().add_modifier(Modifier::BOLD), Color::Red)
    }
    pub fn ok(&self) -> Style {
        self.paint(Style::default(), Color::Green)
    }
    pub fn dim(&self) -> Style {
        self.paint(Style::default().add_modifier(Modifier::DIM), Color::Gray)
    }
    pub fn key(&self) -> Style {
        self.paint(Style::default().add_modifier(Modifier::BOLD), Color::Yellow)
    }
    /// A row over the warning threshold (its `!` marker says so without color).
    pub fn warn(&self) -> Style {
        self.paint(Style::default(), Color::Yellow)
    }
    /// A row over the critical threshold (marked `!!`; bold without color).
    pub fn crit(&self) -> Style {
        self.paint(Style::default().add_modifier(Modifier::BOLD), Color::Red)
    }
    pub fn suspended(&self) -> Style {
        self.paint(Style::default(), Color::Red)
    }
    pub fn focus(&self) -> Style {
        self.paint(Style::default().add_modifier(Modifier::BOLD), Color::Yellow)
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
