//! Table cells that never hide a cut: each text is fitted to the width its
//! column really gets (computed as ratatui's `Table` lays it out) and marked
//! with `…` when it does not fit; numbers (sizes, percents) sit on the right.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Cell;

/// The width of each column of a `Table` drawn in `area` with these
/// constraints and a column spacing of 1 (no highlight symbol): what
/// `Table::get_column_widths` computes.
pub fn column_widths(area: Rect, widths: &[Constraint]) -> Vec<usize> {
    Layout::horizontal(widths.to_vec())
        .flex(Flex::Start)
        .spacing(1)
        .split(Rect::new(0, 0, area.width, 1))
        .iter()
        .map(|r| usize::from(r.width))
        .collect()
}

/// One cell: `text` fitted to `width`, right-aligned when `right`.
pub fn cell(text: &str, width: usize, right: bool) -> Cell<'static> {
    let line = Line::from(crate::units::fit(text, width));
    Cell::from(if right { line.right_aligned() } else { line })
}

/// A row's cells fitted to `widths`; columns listed in `right` are right-aligned.
pub fn fitted<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    widths: &[usize],
    right: &[usize],
) -> Vec<Cell<'static>> {
    texts
        .into_iter()
        .enumerate()
        .map(|(i, t)| cell(t, widths.get(i).copied().unwrap_or(0), right.contains(&i)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::{Row, Table};
    use ratatui::Terminal;

    /// The widths computed here are the ones the Table draws with: a text
    /// exactly as wide as its column is drawn whole.
    #[test]
    fn widths_match_the_table_layout() {
        let cons = [
            Constraint::Fill(3),
            Constraint::Length(6),
            Constraint::Fill(2),
        ];
        let area = Rect::new(0, 0, 37, 1);
        let w = column_widths(area, &cons);
        let texts: Vec<String> = w.iter().map(|n| "x".repeat(*n)).collect();
        let mut term = Terminal::new(TestBackend::new(37, 1)).expect("term");
        term.draw(|f| {
            let row = Row::new(fitted(texts.iter().map(String::as_str), &w, &[1]));
            f.render_widget(Table::new([row], cons), f.area());
        })
        .expect("draw");
        let drawn: String = (0..37)
            .map(|x| term.backend().buffer()[(x, 0)].symbol().to_string())
            .collect();
        let expect = texts.join(" ");
        assert_eq!(drawn.trim_end(), expect);
    }

    #[test]
    fn a_cut_is_marked() {
        let c = fitted(["123456789"], &[5], &[0]);
        assert_eq!(c.len(), 1);
        assert_eq!(crate::units::fit("123456789", 5), "1234…");
    }
}
