//! Building blocks shared by the views: text sparklines and fill bars that fit in a table cell,
//! and a table that formats only its visible rows and drops low-priority columns when narrow.

use std::borrow::Cow;

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

/// How a piece of a cell's text may be shortened when its column is narrower than the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Never: numbers, PIDs, addresses with their ports, words such as `FULL`. A column of such
    /// pieces is as wide as its widest one, or is dropped.
    Never,
    /// A name (a process, an interface, a path): cut anywhere, marked with `…`.
    Name,
    /// Free text: cut between words, never inside a word that holds a digit, marked with `…`.
    Words,
}

/// The text of one table cell: pieces, each with its style and how it may be shortened, so a
/// narrow column shortens `redis-server[3232]` to `redis-…[3232]` and never to `redis-server[323`.
#[derive(Debug, Clone, Default)]
pub struct CellText<'a> {
    pieces: Vec<(Span<'a>, Cut)>,
}

impl<'a> CellText<'a> {
    /// A cell holding one name, shortened with `…` anywhere when narrow.
    pub fn name(text: impl Into<Cow<'a, str>>) -> CellText<'a> {
        CellText::default().then(Span::raw(text), Cut::Name)
    }

    /// A cell of free text, shortened between words when narrow.
    pub fn words(text: impl Into<Cow<'a, str>>) -> CellText<'a> {
        CellText::default().then(Span::raw(text), Cut::Words)
    }

    /// The cell with one more piece after the others.
    pub fn then(mut self, span: Span<'a>, cut: Cut) -> CellText<'a> {
        if !span.content.is_empty() {
            self.pieces.push((span, cut));
        }
        self
    }

    /// Its pieces, each with how it may be shortened (to put them inside another cell).
    pub fn into_pieces(self) -> Vec<(Span<'a>, Cut)> {
        self.pieces
    }

    /// Its width in cells, whole.
    pub fn width(&self) -> usize {
        self.pieces.iter().map(|(span, _)| span.width()).sum()
    }

    /// The fewest cells it can be shortened to: its uncuttable pieces whole, one `…` for each
    /// other piece.
    pub fn min_width(&self) -> usize {
        self.pieces.iter().map(|(span, cut)| if *cut == Cut::Never { span.width() } else { 1 }).sum()
    }

    /// The cell as a line of at most `width` cells when it can be shortened that far: the
    /// widest shortenable pieces give up cells first.
    pub fn fit(self, width: usize) -> Line<'a> {
        let mut targets: Vec<usize> = self.pieces.iter().map(|(span, _)| span.width()).collect();
        let mut excess = self.width().saturating_sub(width);
        while excess > 0 {
            let widest = (0..targets.len())
                .filter(|index| self.pieces[*index].1 != Cut::Never && targets[*index] > 1)
                .max_by_key(|index| (targets[*index], std::cmp::Reverse(*index)));
            let Some(index) = widest else { break };
            targets[index] -= 1;
            excess -= 1;
        }
        let spans = self.pieces.into_iter().zip(targets).map(|((span, cut), target)| {
            if span.width() <= target {
                return span;
            }
            let text = match cut {
                Cut::Never => return span,
                Cut::Name => shorten(&span.content, target),
                Cut::Words => shorten_words(&span.content, target),
            };
            Span::styled(text, span.style)
        });
        Line::from(spans.collect::<Vec<_>>())
    }
}

impl<'a> From<Span<'a>> for CellText<'a> {
    fn from(span: Span<'a>) -> Self {
        CellText::default().then(span, Cut::Never)
    }
}

impl<'a> From<&'a str> for CellText<'a> {
    fn from(text: &'a str) -> Self {
        Span::raw(text).into()
    }
}

impl From<String> for CellText<'_> {
    fn from(text: String) -> Self {
        Span::raw(text).into()
    }
}

/// The longest start of `text` that fits in `cells` terminal cells.
fn prefix(text: &str, cells: usize) -> &str {
    let mut used = 0;
    for (at, c) in text.char_indices() {
        used += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used > cells {
            return &text[..at];
        }
    }
    text
}

/// `text` cut to `width` cells: the longest start that fits `width - 1`, and `…`.
fn shorten(text: &str, width: usize) -> String {
    format!("{}…", prefix(text, width.saturating_sub(1)))
}

/// [`shorten`], moved back to the start of a word with a digit the cut would split, so no
/// number is ever shown in part.
fn shorten_words(text: &str, width: usize) -> String {
    let kept = prefix(text, width.saturating_sub(1));
    let rest = &text[kept.len()..];
    let inside_word = !kept.ends_with(char::is_whitespace) && rest.starts_with(|c: char| !c.is_whitespace());
    let word_start =
        kept.char_indices().rev().find(|(_, c)| c.is_whitespace()).map_or(0, |(at, space)| at + space.len_utf8());
    let word = text[word_start..].split(char::is_whitespace).next().unwrap_or_default();
    let kept = if inside_word && word.contains(|c: char| c.is_ascii_digit()) { &kept[..word_start] } else { kept };
    format!("{}…", kept.trim_end())
}

/// One column of a [`DataTable`], named by the table's column enum `C`. Its width comes from
/// its content: the widest cell on screen (and at least `width`, so numbers do not shift the
/// layout every sample), never cutting a heading or a piece of text that must stay whole.
#[derive(Debug, Clone, Copy)]
pub struct Column<C> {
    /// Which column.
    pub id: C,
    /// Heading.
    pub title: &'static str,
    /// The width it takes when its content is narrower.
    pub width: u16,
    /// Right-aligned (numbers).
    pub right: bool,
    /// Dropped first when the table is too narrow: 0 never, higher numbers earlier.
    pub priority: u8,
}

impl<C> Column<C> {
    /// A left-aligned text column.
    pub const fn text(id: C, title: &'static str, width: u16, priority: u8) -> Column<C> {
        Column { id, title, width, right: false, priority }
    }

    /// A right-aligned number column.
    pub const fn number(id: C, title: &'static str, width: u16, priority: u8) -> Column<C> {
        Column { id, title, width, right: true, priority }
    }

    /// The table's main text column (names, free text), never dropped; its cells are the ones
    /// made to be shortened.
    pub const fn name(id: C, title: &'static str, width: u16) -> Column<C> {
        Column { id, title, width, right: false, priority: 0 }
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

/// The width of a column's heading: its title and, for a sortable column, the cell the sort
/// arrow takes (kept whether or not it sorts, so the arrow never covers a letter and the
/// columns do not move when the sort changes).
fn heading_width<C: Copy + Eq>(column: &Column<C>, sorts: &[C]) -> usize {
    Span::raw(column.title).width() + usize::from(sorts.contains(&column.id))
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
        row: impl FnMut(usize) -> (Vec<CellText<'r>>, Style),
    ) -> Drawn {
        let block = Block::bordered().title(self.title).title_style(theme.title);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let page = usize::from(inner.height.saturating_sub(1));
        nav.resolve(self.keys, page);
        let end = (nav.offset + page).min(self.keys.len());
        let built: Vec<(Vec<CellText>, Style)> = (nav.offset..end).map(row).collect();
        let sizes = column_sizes(self.columns, self.sorts, &built);
        let (visible, widths) = layout(self.columns, &sizes, usize::from(inner.width.saturating_sub(2)));
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
        let rows = built.into_iter().map(|(cells, style)| {
            let mut cells: Vec<Option<CellText>> = cells.into_iter().map(Some).collect();
            Row::new(visible.iter().zip(&widths).map(|(&column, &width)| {
                let text = cells.get_mut(column).and_then(Option::take).unwrap_or_default();
                Cell::from(align(text.fit(usize::from(width)), self.columns[column].right))
            }))
            .style(style)
        });
        let widths: Vec<Constraint> = widths.iter().copied().map(Constraint::Length).collect();
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

/// How wide a column wants to be and how narrow it can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size {
    /// Its heading whole and every cell whole (at least the column's `width`).
    want: usize,
    /// What it gets before lower-priority columns are dropped: its `width`, within
    /// `least..=want`.
    fair: usize,
    /// Its heading whole and every cell shortened as far as it can be.
    least: usize,
}

/// Each column's [`Size`] from its heading and the cells on screen.
fn column_sizes<C: Copy + Eq>(columns: &[Column<C>], sorts: &[C], rows: &[(Vec<CellText>, Style)]) -> Vec<Size> {
    columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let heading = heading_width(column, sorts);
            let cells = rows.iter().filter_map(|(cells, _)| cells.get(index));
            let (whole, least) =
                cells.fold((0, 0), |(whole, least), cell| (whole.max(cell.width()), least.max(cell.min_width())));
            let least = heading.max(least);
            let want = least.max(whole).max(usize::from(column.width));
            Size { want, fair: usize::from(column.width).clamp(least, want), least }
        })
        .collect()
}

/// The columns shown and their widths in `width` cells (one cell between columns). While the
/// columns at their fair widths do not fit, the column of the highest priority number goes
/// (the rightmost of equals); then, while even their least widths do not fit, any column but
/// the first goes, rightmost first: a column is dropped rather than cut. The room left widens
/// the columns to their fair widths, lowest priority numbers first, then evenly up to what
/// they want.
fn layout<C>(columns: &[Column<C>], sizes: &[Size], width: usize) -> (Vec<usize>, Vec<u16>) {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let needed = |shown: &[usize], size: fn(&Size) -> usize| -> usize {
        shown.iter().map(|&index| size(&sizes[index])).sum::<usize>() + shown.len().saturating_sub(1)
    };
    while needed(&shown, |size| size.fair) > width {
        let droppable = shown.iter().enumerate().filter(|(_, index)| columns[**index].priority > 0);
        let Some((drop, _)) = droppable.max_by_key(|(position, index)| (columns[**index].priority, *position)) else {
            break;
        };
        shown.remove(drop);
    }
    while needed(&shown, |size| size.least) > width && shown.len() > 1 {
        shown.pop();
    }
    let mut widths: Vec<usize> = shown.iter().map(|&index| sizes[index].least).collect();
    let mut room = width.saturating_sub(needed(&shown, |size| size.least));
    let mut by_priority: Vec<usize> = (0..shown.len()).collect();
    by_priority.sort_by_key(|position| columns[shown[*position]].priority);
    for position in &by_priority {
        let grow = sizes[shown[*position]].fair.saturating_sub(widths[*position]).min(room);
        widths[*position] += grow;
        room -= grow;
    }
    // Then a cell at a time to each column still short of what it wants, so two long text
    // columns share the room rather than the first taking it all.
    while room > 0 {
        let short = by_priority.iter().filter(|position| widths[**position] < sizes[shown[**position]].want);
        let mut grew = false;
        for position in short.copied().collect::<Vec<_>>() {
            if room == 0 {
                break;
            }
            widths[position] += 1;
            room -= 1;
            grew = true;
        }
        if !grew {
            break;
        }
    }
    (shown, widths.into_iter().map(|width| u16::try_from(width).unwrap_or(u16::MAX)).collect())
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

/// A stable 64-bit identity for rows keyed by text (interfaces by name, settings, findings).
pub fn key_of(text: &str) -> u64 {
    // FNV-1a: stable across runs, unlike the standard library's randomised hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// A labelled line of the detail panes: `label` in the muted style, padded, then the value,
/// with at least one space between them however long the label.
pub fn field<'a>(label: &'a str, value: impl Into<String>, theme: &Theme) -> Line<'a> {
    Line::from(vec![Span::styled(format!("{label:<17} "), theme.muted), Span::raw(value.into())])
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

    fn sizes(list: &[(usize, usize, usize)]) -> Vec<Size> {
        list.iter().map(|&(want, fair, least)| Size { want, fair, least }).collect()
    }

    #[test]
    fn narrow_tables_drop_columns_by_priority() {
        let columns = [Column::text(0, "a", 10, 0), Column::number(1, "b", 10, 2), Column::number(2, "c", 10, 1)];
        let ten = sizes(&[(10, 10, 10); 3]);
        assert_eq!(layout(&columns, &ten, 40), (vec![0, 1, 2], vec![10, 10, 10]));
        assert_eq!(layout(&columns, &ten, 30), (vec![0, 2], vec![10, 10]));
        assert_eq!(layout(&columns, &ten, 5).0, vec![0]);
    }

    #[test]
    fn room_goes_to_the_columns_that_want_it_and_nothing_is_cut() {
        let columns = [Column::name(0, "name", 4), Column::number(1, "n", 3, 1), Column::number(2, "m", 3, 0)];
        let wide = sizes(&[(30, 10, 6), (7, 7, 7), (2, 2, 2)]);
        assert_eq!(layout(&columns, &wide, 100), (vec![0, 1, 2], vec![30, 7, 2]), "none takes more than it wants");
        assert_eq!(layout(&columns, &wide, 22), (vec![0, 1, 2], vec![11, 7, 2]), "the name shortens, numbers stay");
        assert_eq!(layout(&columns, &wide, 15), (vec![0, 2], vec![12, 2]), "below its fair width a column goes");
        assert_eq!(layout(&columns, &wide, 8), (vec![0], vec![8]), "as a last resort any column but the first");
    }

    #[test]
    fn cells_shorten_their_names_and_keep_their_numbers() {
        let owner = CellText::name("redis-server").then(Span::raw("[3232]"), Cut::Never);
        assert_eq!(owner.width(), 18);
        assert_eq!(owner.min_width(), 7);
        assert_eq!(owner.clone().fit(18).to_string(), "redis-server[3232]");
        assert_eq!(owner.clone().fit(12).to_string(), "redis…[3232]");
        assert_eq!(owner.fit(3).to_string(), "…[3232]", "never below its numbers");
        assert_eq!(CellText::from("33554432").fit(6).to_string(), "33554432");
    }

    #[test]
    fn free_text_is_cut_between_words_never_inside_a_number() {
        let text = "accept queue full (129 of 129 slots)";
        assert_eq!(CellText::words(text).fit(24).to_string(), "accept queue full (129…");
        assert_eq!(CellText::words(text).fit(22).to_string(), "accept queue full…");
        assert_eq!(CellText::words(text).fit(10).to_string(), "accept qu…", "a word without digits may be cut");
        assert_eq!(CellText::words("port 65535").fit(9).to_string(), "port…");
    }
}
