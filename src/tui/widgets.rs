//! Building blocks shared by the views: text sparklines and fill bars that fit in a table cell,
//! and a table that formats only its visible rows and drops low-priority columns when narrow.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Cell, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table, TableState,
};

use super::table::{SortBy, TableNav};
use super::theme::Theme;

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A sparkline of a whole series as text, `width` cells wide: a space where no value exists yet,
/// `▁` for zero, and `▂`..`█` for values up to `max` (any value above zero shows at least `▂`,
/// so a single drop is never invisible). A series longer than `width` is compressed, each cell
/// showing the largest value of its stretch, so a spike minutes ago still shows. `max` is fixed
/// by the caller so a flat line does not scale itself into a full bar; `None` scales to the
/// largest value.
pub fn sparkline(values: &[Option<f64>], width: usize, max: Option<f64>) -> String {
    let cells = compress(values, width);
    let top = max.unwrap_or_else(|| cells.iter().flatten().copied().fold(0.0, f64::max));
    let mut line: String = " ".repeat(width.saturating_sub(cells.len()));
    for value in &cells {
        line.push(match value {
            None => ' ',
            Some(v) if *v <= 0.0 || !v.is_finite() => LEVELS[0],
            Some(v) => {
                let scaled = if top > 0.0 { (v / top).min(1.0) } else { 1.0 };
                LEVELS[1 + ((scaled * 6.0).round() as usize).min(6)]
            }
        });
    }
    line
}

/// At most `width` values: the series itself, or the maximum of each of `width` equal stretches
/// of it (oldest first), so the line always spans the whole history.
fn compress(values: &[Option<f64>], width: usize) -> Vec<Option<f64>> {
    let len = values.len();
    if len <= width || width == 0 {
        return values.iter().rev().take(width).rev().copied().collect();
    }
    (0..width)
        .map(|cell| values[cell * len / width..(cell + 1) * len / width].iter().flatten().copied().reduce(f64::max))
        .collect()
}

/// Integer series as `f64` for [`sparkline`].
pub fn as_f64(values: &[Option<u64>]) -> Vec<Option<f64>> {
    values.iter().map(|value| value.map(|v| v as f64)).collect()
}

/// A fill bar of `width` cells for a ratio (clamped to 0..=1).
pub fn bar(ratio: f64, width: usize) -> String {
    let ratio = if ratio.is_finite() { ratio.clamp(0.0, 1.0) } else { 0.0 };
    let eighths = (ratio * width as f64 * 8.0).round() as usize;
    let (whole, rest) = ((eighths / 8).min(width), eighths % 8);
    let mut text = "█".repeat(whole);
    if rest > 0 && whole < width {
        text.push(PARTIAL[rest]);
    }
    let used = text.chars().count();
    text.push_str(&"·".repeat(width.saturating_sub(used)));
    text
}

const PARTIAL: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// One column of a [`DataTable`], named by the table's column enum `C`.
#[derive(Debug, Clone, Copy)]
pub struct Column<C> {
    /// Which column.
    pub id: C,
    /// Heading.
    pub title: &'static str,
    /// Width in cells (the minimum for the flexible column).
    pub width: u16,
    /// Right-aligned (numbers).
    pub right: bool,
    /// Dropped first when the table is too narrow: 0 never, higher numbers earlier.
    pub priority: u8,
    /// Takes the space left over (one column per table).
    pub flexible: bool,
}

impl<C> Column<C> {
    /// A left-aligned text column.
    pub const fn text(id: C, title: &'static str, width: u16, priority: u8) -> Column<C> {
        Column { id, title, width, right: false, priority, flexible: false }
    }

    /// A right-aligned number column.
    pub const fn number(id: C, title: &'static str, width: u16, priority: u8) -> Column<C> {
        Column { id, title, width, right: true, priority, flexible: false }
    }

    /// The column that takes the remaining width.
    pub const fn flexible(id: C, title: &'static str, width: u16) -> Column<C> {
        Column { id, title, width, right: false, priority: 0, flexible: true }
    }
}

/// Where a drawn table landed, for mouse clicks.
#[derive(Debug, Clone, Default)]
pub struct Drawn {
    /// The rows (without the header).
    pub rows: Rect,
    /// Each sortable column's heading, with its index among the view's sorts.
    pub header: Vec<(Rect, usize)>,
}

/// A bordered table over `keys.len()` rows that builds only the visible rows.
pub struct DataTable<'a, C: 'static> {
    /// Block title.
    pub title: Line<'a>,
    /// Columns, in display order.
    pub columns: &'a [Column<C>],
    /// The columns the table can be sorted by (empty for tables that cannot); a click on one's
    /// heading reports its index here.
    pub sorts: &'a [C],
    /// The sort in force.
    pub sort: Option<SortBy<C>>,
    /// Row identities in display order.
    pub keys: &'a [u64],
    /// Whether the selection is shown.
    pub focused: bool,
    /// Text shown when there are no rows.
    pub empty: &'a str,
}

impl<C: Copy + Eq> DataTable<'_, C> {
    /// Draws the table; `row(index)` gives the cells of row `index` (in `columns` order) and
    /// the row's style. Returns where the rows and the sortable headings are, for mouse clicks.
    pub fn draw<'r>(
        self,
        frame: &mut Frame,
        area: Rect,
        nav: &mut TableNav,
        theme: &Theme,
        mut row: impl FnMut(usize) -> (Vec<Span<'r>>, Style),
    ) -> Drawn {
        let block = Block::bordered().title(self.title).title_style(theme.title);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let page = usize::from(inner.height.saturating_sub(1));
        nav.resolve(self.keys, page);
        let visible = visible_columns(self.columns, inner.width.saturating_sub(2));
        let header = Row::new(visible.iter().map(|&index| {
            let column = &self.columns[index];
            let mark = match self.sort {
                Some(sort) if sort.column == column.id && !self.sorts.is_empty() => {
                    if sort.reversed {
                        "▲"
                    } else {
                        "▼"
                    }
                }
                _ => "",
            };
            let title = format!("{}{mark}", column.title);
            Cell::from(align(Line::from(title), column.right))
        }))
        .style(theme.title);
        let end = (nav.offset + page).min(self.keys.len());
        let rows = (nav.offset..end).map(|index| {
            let (cells, style) = row(index);
            let mut cells: Vec<Option<Span>> = cells.into_iter().map(Some).collect();
            Row::new(visible.iter().map(|&column| {
                let span = cells.get_mut(column).and_then(Option::take).unwrap_or_default();
                Cell::from(align(Line::from(span), self.columns[column].right))
            }))
            .style(style)
        });
        let widths: Vec<Constraint> = visible
            .iter()
            .map(|&index| {
                let column = &self.columns[index];
                if column.flexible { Constraint::Min(column.width) } else { Constraint::Length(column.width) }
            })
            .collect();
        let header_cells = header_cells(self.columns, self.sorts, &visible, &widths, inner);
        let table = Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(theme.selected)
            .highlight_symbol("▶ ")
            .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
        let mut state = TableState::default()
            .with_selected((self.focused && !self.keys.is_empty()).then(|| nav.selected - nav.offset));
        frame.render_stateful_widget(table, inner, &mut state);
        if self.keys.is_empty() && inner.height > 1 {
            let message = Rect { y: inner.y + 1, height: 1, ..inner };
            frame.render_widget(Paragraph::new(Span::styled(format!("  {}", self.empty), theme.muted)), message);
        }
        if self.focused && self.keys.len() > page && page > 0 {
            let mut scrollbar = ScrollbarState::new(self.keys.len().saturating_sub(page)).position(nav.offset);
            frame.render_stateful_widget(Scrollbar::new(ScrollbarOrientation::VerticalRight), area, &mut scrollbar);
        }
        Drawn { rows: Rect { y: inner.y + 1, height: inner.height.saturating_sub(1), ..inner }, header: header_cells }
    }
}

/// The headings of the sortable columns on screen, laid out as ratatui lays out the table (after
/// the two-cell selection gutter, one cell between columns).
fn header_cells<C: Copy + Eq>(
    columns: &[Column<C>],
    sorts: &[C],
    visible: &[usize],
    widths: &[Constraint],
    inner: Rect,
) -> Vec<(Rect, usize)> {
    if sorts.is_empty() || inner.height == 0 {
        return Vec::new();
    }
    let gutter = 2.min(inner.width);
    let line = Rect { x: inner.x + gutter, width: inner.width - gutter, height: 1, ..inner };
    let cells = Layout::horizontal(widths.iter().copied()).flex(Flex::Start).spacing(1).split(line);
    visible
        .iter()
        .zip(cells.iter())
        .filter_map(|(column, cell)| Some((*cell, sorts.iter().position(|sort| *sort == columns[*column].id)?)))
        .collect()
}

fn align(line: Line<'_>, right: bool) -> Line<'_> {
    if right { line.right_aligned() } else { line }
}

/// The columns that fit in `width`, dropping the highest priority numbers first.
fn visible_columns<C>(columns: &[Column<C>], width: u16) -> Vec<usize> {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let needed = |shown: &[usize]| -> u16 { shown.iter().map(|&index| columns[index].width + 1).sum::<u16>() + 2 };
    while needed(&shown) > width {
        let Some(drop) = shown
            .iter()
            .enumerate()
            .filter(|(_, index)| columns[**index].priority > 0)
            .max_by_key(|(position, index)| (columns[**index].priority, *position))
            .map(|(position, _)| position)
        else {
            break;
        };
        shown.remove(drop);
    }
    shown
}

/// A stable 64-bit identity for rows keyed by text (interfaces by name, settings, findings).
pub fn key_of(text: &str) -> u64 {
    // FNV-1a: stable across runs, unlike the standard library's randomised hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// A labelled line of the detail panes: `label` in the muted style, padded, then the value.
pub fn field<'a>(label: &'a str, value: impl Into<String>, theme: &Theme) -> Line<'a> {
    Line::from(vec![Span::styled(format!("{label:<18}"), theme.muted), Span::raw(value.into())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_show_absence_zero_and_any_positive_value() {
        assert_eq!(sparkline(&[None, Some(0.0), Some(0.01), Some(1.0)], 4, Some(1.0)), " ▁▂█");
        assert_eq!(sparkline(&[Some(5.0)], 3, None), "  █");
        assert_eq!(sparkline(&[], 2, None), "  ");
    }

    #[test]
    fn long_series_keep_their_spikes() {
        let mut series = vec![Some(0.0); 60];
        series[3] = Some(1.0);
        let line = sparkline(&series, 10, Some(1.0));
        assert_eq!(line.chars().count(), 10);
        assert_eq!(line, "█▁▁▁▁▁▁▁▁▁", "a spike 57 samples ago still shows, in the oldest cell");
        assert_eq!(sparkline(&[Some(1.0), Some(2.0), Some(3.0)], 2, Some(3.0)), "▄█", "max of [1], [2, 3]");
        assert_eq!(sparkline(&[None, None, None, Some(1.0)], 2, Some(1.0)), " █");
    }

    #[test]
    fn bars_clamp_and_fill_by_eighths() {
        assert_eq!(bar(0.0, 4), "····");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(7.0, 4), "████", "an over-full queue is a full bar, not a panic");
        assert_eq!(bar(f64::NAN, 2), "··");
        assert_eq!(bar(0.5, 4), "██··");
        assert_eq!(bar(0.5625, 4), "██▎·");
    }

    #[test]
    fn narrow_tables_drop_columns_by_priority() {
        let columns = [Column::text(0, "a", 10, 0), Column::number(1, "b", 10, 2), Column::number(2, "c", 10, 1)];
        assert_eq!(visible_columns(&columns, 40), vec![0, 1, 2]);
        assert_eq!(visible_columns(&columns, 30), vec![0, 2]);
        assert_eq!(visible_columns(&columns, 5), vec![0]);
    }
}
