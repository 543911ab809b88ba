//! `:totp`: enrol a second factor on one screen. The worker makes the
//! secret (`EnrollTotp`); the QR code is drawn on the left (41x21 at
//! version 5, so it fits 80x24 with the text beside it), the secret and
//! the code field on the right; Enter sends the code (`ConfirmTotp`) and
//! the ten recovery codes are shown once. Closing the screen drops them.

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use zeroize::Zeroizing;

use super::theme::Theme;
use crate::ops::command::totp::ConfirmTotp;
use crate::ops::command::Outcome;

pub enum Stage {
    /// Waiting for the worker's secret.
    Starting,
    Scan {
        uri: Zeroizing<String>,
        secret: Zeroizing<String>,
        qr: Vec<String>,
        code: Input,
        pending: bool,
    },
    Codes {
        codes: Vec<Zeroizing<String>>,
    },
}

pub struct TotpScreen {
    pub stage: Stage,
    pub error: Option<String>,
}

/// What a key asks the app to do.
pub enum TotpKey {
    Ignored,
    Redraw,
    Close,
    Confirm(Box<ConfirmTotp>),
}

impl Default for TotpScreen {
    fn default() -> Self {
        TotpScreen::new()
    }
}

impl TotpScreen {
    pub fn new() -> TotpScreen {
        TotpScreen {
            stage: Stage::Starting,
            error: None,
        }
    }

    /// The scan stage for this URI and secret (public for the snapshot
    /// test, which needs a fixed secret).
    pub fn scan(uri: &str, secret: &str) -> TotpScreen {
        let qr = crate::qr::Matrix::encode(uri)
            .map(|m| m.half_blocks(crate::qr::QUIET))
            .unwrap_or_default();
        TotpScreen {
            stage: Stage::Scan {
                uri: Zeroizing::new(uri.to_string()),
                secret: Zeroizing::new(secret.to_string()),
                qr,
                code: Input::default(),
                pending: false,
            },
            error: None,
        }
    }

    /// The worker's answer to `EnrollTotp` or `ConfirmTotp`.
    pub fn on_outcome(&mut self, outcome: &Outcome) {
        let data = outcome.data();
        let text = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::to_string);
        if let Some(codes) = data.get("codes").and_then(|v| v.as_array()) {
            self.error = None;
            self.stage = Stage::Codes {
                codes: codes
                    .iter()
                    .filter_map(|c| c.as_str())
                    .map(|c| Zeroizing::new(crate::sanitize::for_terminal(c)))
                    .collect(),
            };
        } else if let (Some(uri), Some(secret)) = (text("uri"), text("secret")) {
            *self = TotpScreen::scan(&uri, &secret);
        }
    }

    /// A refusal: beside the code field (a wrong first code), or instead
    /// of the screen (already enrolled, no key file).
    pub fn on_failure(&mut self, message: &str) {
        if let Stage::Scan { pending, code, .. } = &mut self.stage {
            *pending = false;
            code.reset();
        }
        self.error = Some(crate::sanitize::for_terminal(message));
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> TotpKey {
        match &mut self.stage {
            Stage::Starting => match key.code {
                KeyCode::Esc => TotpKey::Close,
                _ => TotpKey::Ignored,
            },
            Stage::Codes { .. } => match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => TotpKey::Close,
                _ => TotpKey::Ignored,
            },
            Stage::Scan { code, pending, .. } => {
                if *pending {
                    return TotpKey::Ignored;
                }
                match key.code {
                    KeyCode::Esc => TotpKey::Close,
                    KeyCode::Enter => {
                        let typed = code.value().trim().to_string();
                        if typed.is_empty() {
                            self.error = Some("Type the 6 digits the app shows.".into());
                            return TotpKey::Redraw;
                        }
                        *pending = true;
                        self.error = None;
                        TotpKey::Confirm(Box::new(ConfirmTotp { code: typed }))
                    }
                    _ => match code.handle_event(&Event::Key(key)) {
                        Some(_) => TotpKey::Redraw,
                        None => TotpKey::Ignored,
                    },
                }
            }
        }
    }

    /// A pasted code (an app's copy button).
    pub fn paste(&mut self, text: &str) -> bool {
        if let Stage::Scan { code, .. } = &mut self.stage {
            if let Some(t) = super::form::one_line(text) {
                super::form::insert(code, &t);
                return true;
            }
        }
        false
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        f.render_widget(Clear, area);
        let title = match self.stage {
            Stage::Codes { .. } => "Second factor: recovery codes",
            _ => "Second factor: enrol",
        };
        // No border: at 80x24 the QR code takes every line below the title.
        f.render_widget(
            Paragraph::new(Line::styled(title, theme.title())),
            Rect::new(area.x + 1, area.y, area.width.saturating_sub(1), 1),
        );
        let inner = Rect::new(
            area.x + 1,
            area.y + 1,
            area.width.saturating_sub(2),
            area.height.saturating_sub(1),
        );
        match &self.stage {
            Stage::Starting => {
                let line = match &self.error {
                    Some(e) => Line::styled(e.clone(), theme.error()),
                    None => Line::styled("Making a new secret…", theme.dim()),
                };
                f.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), inner);
            }
            Stage::Codes { codes } => self.draw_codes(f, inner, codes, theme),
            Stage::Scan {
                uri,
                secret,
                qr,
                code,
                pending,
            } => self.draw_scan(f, inner, (uri, secret, qr), code, *pending, theme),
        }
    }

    fn draw_scan(
        &self,
        f: &mut Frame,
        inner: Rect,
        (uri, secret, qr): (&str, &str, &[String]),
        code: &Input,
        pending: bool,
        theme: &Theme,
    ) {
        let qr_w = qr
            .first()
            .map(|l| u16::try_from(l.chars().count()).unwrap_or(u16::MAX))
            .unwrap_or(0);
        let qr_h = u16::try_from(qr.len()).unwrap_or(u16::MAX);
        let fits = qr_w > 0 && qr_w + 32 <= inner.width && qr_h <= inner.height;
        let text_x = if fits { inner.x + qr_w + 2 } else { inner.x };
        if fits {
            // Fixed colours whatever the theme: a light theme would invert
            // the code, and phones read dark modules on a light field.
            let style = if theme.color {
                Style::default().fg(Color::White).bg(Color::Black)
            } else {
                Style::default()
            };
            let lines: Vec<Line> = qr.iter().map(|l| Line::styled(l.clone(), style)).collect();
            f.render_widget(
                Paragraph::new(lines),
                Rect::new(inner.x, inner.y, qr_w, qr_h),
            );
        }
        let text_w = inner.width.saturating_sub(text_x - inner.x);
        // Broken by hand to fit the 36 columns beside the code, so the
        // code field's row is known without measuring a wrap.
        let mut lines = vec![
            Line::raw("Scan the code with an"),
            Line::raw("authenticator app, then type"),
            Line::raw("the 6 digits it shows."),
            Line::default(),
            Line::raw("Or type this secret into it:"),
        ];
        let groups: Vec<String> = secret
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        for row in groups.chunks(4) {
            lines.push(Line::styled(row.join(" "), theme.focus()));
        }
        lines.push(Line::default());
        let code_row = u16::try_from(lines.len()).unwrap_or(0);
        lines.push(Line::from(vec![
            Span::styled("Code: ", theme.focus()),
            Span::styled(format!("{:<8}", code.value()), theme.input(true)),
        ]));
        lines.push(Line::default());
        lines.push(match (&self.error, pending) {
            (_, true) => Line::styled("Checking…", theme.dim()),
            (Some(e), _) => Line::styled(e.clone(), theme.error()),
            (None, _) => Line::styled("Enter confirm · Esc cancel", theme.dim()),
        });
        if !fits {
            lines.push(Line::default());
            lines.push(Line::raw(format!(
                "The QR code needs {qr_w}x{qr_h} cells beside this text; enlarge the terminal, or give the app this URI: {uri}"
            )));
        }
        let area = Rect::new(text_x, inner.y, text_w, inner.height);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        if !pending {
            let col = u16::try_from(code.cursor()).unwrap_or(0);
            f.set_cursor_position((text_x + 6 + col, inner.y + code_row));
        }
    }

    fn draw_codes(&self, f: &mut Frame, inner: Rect, codes: &[Zeroizing<String>], theme: &Theme) {
        let mut lines = vec![
            Line::raw("The second factor is on. Recovery codes, shown once:"),
            Line::raw("each works once in place of a code (also to reset a lost device)."),
            Line::raw("Write them down or keep them in a password manager, not on the phone."),
            Line::default(),
        ];
        for c in codes {
            lines.push(Line::styled(format!("    {}", c.as_str()), theme.focus()));
        }
        lines.push(Line::default());
        lines.push(Line::styled(
            "Enter or Esc closes; they will not be shown again.",
            theme.dim(),
        ));
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}
