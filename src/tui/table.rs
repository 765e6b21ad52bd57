//! The state every table of the dashboard keeps — selection and scroll, sort, detail pane — and
//! the [`Row`] trait that orders a table's rows by a typed column, never by a column's title.

use std::cmp::Ordering;

use super::filter::{Filter, Record};

/// The scroll and selection state of one table. Selection follows the row's identity across
/// new samples and re-sorts; when the row disappears, its neighbour is selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNav {
    /// Index of the selected row in the displayed order.
    pub selected: usize,
    /// Identity of the selected row as of the last draw.
    pub key: Option<u64>,
    /// First visible row.
    pub offset: usize,
    /// Rows visible at the last draw (for page moves).
    pub page: usize,
    /// Rows in the table at the last draw.
    pub len: usize,
    /// Whether the user moved since the last draw (then the index wins over the key).
    moved: bool,
}

impl TableNav {
    /// Fixes the selection for this draw: re-finds the selected row by identity unless the user
    /// just moved, clamps it, and scrolls so it is visible in `page` rows.
    pub fn resolve(&mut self, keys: &[u64], page: usize) {
        self.len = keys.len();
        self.page = page.max(1);
        if !self.moved
            && let Some(index) = self.key.and_then(|key| keys.iter().position(|k| *k == key))
        {
            self.selected = index;
        }
        self.moved = false;
        self.selected = self.selected.min(keys.len().saturating_sub(1));
        self.key = keys.get(self.selected).copied();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + self.page {
            self.offset = self.selected + 1 - self.page;
        }
        self.offset = self.offset.min(keys.len().saturating_sub(self.page));
    }

    /// Moves the selection by `delta` rows (negative is up), within the last known length.
    pub fn move_by(&mut self, delta: isize) {
        let last = self.len.saturating_sub(1);
        self.selected = self.selected.saturating_add_signed(delta).min(last);
        self.moved = true;
    }

    /// Selects a row by index.
    pub fn select(&mut self, index: usize) {
        self.selected = index.min(self.len.saturating_sub(1));
        self.moved = true;
    }

    /// Selects a row by identity at the next draw.
    pub fn select_key(&mut self, key: u64) {
        self.key = Some(key);
        self.moved = false;
    }
}

/// A table's sort: by which column, and whether the column's natural order is reversed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortBy<C> {
    /// The column.
    pub column: C,
    /// Whether the natural order is reversed.
    pub reversed: bool,
}

/// One row of a sortable, filterable table.
pub trait Row {
    /// The table's columns that rows can be ordered by.
    type Column: Copy + Eq;

    /// A stable identity: selection follows it, and equal rows are ordered by it.
    fn key(&self) -> u64;

    /// The natural order of two rows by `column` (largest first for quantities, ascending for
    /// names, addresses and ports).
    fn compare(&self, other: &Self, column: Self::Column) -> Ordering;

    /// The fields the filter looks at.
    fn record(&self) -> Record;
}

/// The indices of the rows that pass the filter, in the sort's order (their own order when
/// `sort` is `None`); ties are broken by identity so equal rows never swap between samples.
pub fn ordered<R: Row>(rows: &[R], filter: &Filter, sort: Option<SortBy<R::Column>>) -> Vec<usize> {
    let mut indices: Vec<usize> = if filter.is_empty() {
        (0..rows.len()).collect()
    } else {
        (0..rows.len()).filter(|index| filter.matches(&rows[*index].record())).collect()
    };
    if let Some(sort) = sort {
        indices.sort_by(|a, b| {
            let order = rows[*a].compare(&rows[*b], sort.column);
            let order = if sort.reversed { order.reverse() } else { order };
            order.then_with(|| rows[*a].key().cmp(&rows[*b].key()))
        });
    }
    indices
}

/// What the event loop needs of a table, whatever its column type.
pub trait TableControl {
    /// Selection and scroll.
    fn nav(&mut self) -> &mut TableNav;
    /// Selection and scroll, to read.
    fn nav_ref(&self) -> &TableNav;
    /// Sort by the next sortable column (natural order).
    fn sort_next(&mut self);
    /// Reverse the sort.
    fn sort_reverse(&mut self);
    /// Sort by the sortable column at `index` of the table's sortable columns, or reverse the
    /// sort when it already is that column (a click on a heading).
    fn sort_by_index(&mut self, index: usize);
    /// Whether the detail pane is open.
    fn detail(&self) -> bool;
    /// Opens or closes the detail pane.
    fn set_detail(&mut self, open: bool);
}

/// A table's whole state: selection, sort over its sortable columns, detail pane.
#[derive(Debug, Clone)]
pub struct TableState<C: 'static> {
    /// Selection and scroll.
    pub nav: TableNav,
    /// The sort in force; `None` for tables that keep the model's order.
    pub sort: Option<SortBy<C>>,
    /// The columns the table can be sorted by, in the order `s` cycles through.
    pub sortable: &'static [C],
    /// Whether the detail pane is open.
    pub detail: bool,
}

impl<C: Copy + Eq> TableState<C> {
    /// A table sorted by the first of `sortable` (unsorted when it is empty).
    pub fn new(sortable: &'static [C]) -> TableState<C> {
        let sort = sortable.first().map(|column| SortBy { column: *column, reversed: false });
        TableState { nav: TableNav::default(), sort, sortable, detail: false }
    }

    fn position(&self) -> Option<usize> {
        let sort = self.sort?;
        self.sortable.iter().position(|column| *column == sort.column)
    }
}

impl<C: Copy + Eq> TableControl for TableState<C> {
    fn nav(&mut self) -> &mut TableNav {
        &mut self.nav
    }

    fn nav_ref(&self) -> &TableNav {
        &self.nav
    }

    fn sort_next(&mut self) {
        if self.sortable.is_empty() {
            return;
        }
        let next = self.position().map_or(0, |index| (index + 1) % self.sortable.len());
        self.sort = Some(SortBy { column: self.sortable[next], reversed: false });
    }

    fn sort_reverse(&mut self) {
        if let Some(sort) = self.sort.as_mut() {
            sort.reversed ^= true;
        }
    }

    fn sort_by_index(&mut self, index: usize) {
        let Some(column) = self.sortable.get(index).copied() else { return };
        match self.sort.as_mut() {
            Some(sort) if sort.column == column => sort.reversed ^= true,
            _ => self.sort = Some(SortBy { column, reversed: false }),
        }
    }

    fn detail(&self) -> bool {
        self.detail
    }

    fn set_detail(&mut self, open: bool) {
        self.detail = open;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_follows_the_row_across_reorders() {
        let mut nav = TableNav::default();
        nav.resolve(&[10, 20, 30], 2);
        nav.move_by(1);
        nav.resolve(&[10, 20, 30], 2);
        assert_eq!((nav.selected, nav.key), (1, Some(20)));
        nav.resolve(&[20, 30, 10], 2);
        assert_eq!((nav.selected, nav.key), (0, Some(20)));
        nav.resolve(&[30, 10], 2);
        assert_eq!((nav.selected, nav.key), (0, Some(30)), "a vanished row selects its neighbour");
        nav.select(usize::MAX);
        nav.resolve(&[30, 10], 1);
        assert_eq!((nav.selected, nav.offset), (1, 1), "the selection scrolls into view");
        nav.resolve(&[], 1);
        assert_eq!((nav.selected, nav.key, nav.offset), (0, None, 0));
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Column {
        Size,
        Name,
    }

    struct Item(u64, &'static str);

    impl Row for Item {
        type Column = Column;
        fn key(&self) -> u64 {
            self.0
        }
        fn compare(&self, other: &Self, column: Column) -> Ordering {
            match column {
                Column::Size => other.0.cmp(&self.0),
                Column::Name => self.1.cmp(other.1),
            }
        }
        fn record(&self) -> Record {
            Record { text: vec![self.1.to_string()], ..Record::default() }
        }
    }

    #[test]
    fn rows_are_filtered_then_ordered_by_a_typed_column() {
        let rows = [Item(1, "b"), Item(3, "a"), Item(2, "c")];
        let size = Some(SortBy { column: Column::Size, reversed: false });
        assert_eq!(ordered(&rows, &Filter::default(), size), vec![1, 2, 0]);
        let name = Some(SortBy { column: Column::Name, reversed: true });
        assert_eq!(ordered(&rows, &Filter::default(), name), vec![2, 0, 1]);
        let filter = Filter::parse("!a").expect("valid");
        assert_eq!(ordered(&rows, &filter, None), vec![0, 2]);
    }

    #[test]
    fn sort_keys_cycle_and_reverse_and_a_heading_click_toggles() {
        static SORTABLE: [Column; 2] = [Column::Size, Column::Name];
        let mut table = TableState::new(&SORTABLE);
        table.sort_reverse();
        assert_eq!(table.sort, Some(SortBy { column: Column::Size, reversed: true }));
        table.sort_next();
        assert_eq!(table.sort, Some(SortBy { column: Column::Name, reversed: false }));
        table.sort_next();
        assert_eq!(table.sort, Some(SortBy { column: Column::Size, reversed: false }));
        table.sort_by_index(0);
        assert_eq!(table.sort, Some(SortBy { column: Column::Size, reversed: true }), "again reverses");
        table.sort_by_index(1);
        assert_eq!(table.sort, Some(SortBy { column: Column::Name, reversed: false }));
        table.sort_by_index(7);
        assert_eq!(table.sort, Some(SortBy { column: Column::Name, reversed: false }), "no such column");
    }
}
