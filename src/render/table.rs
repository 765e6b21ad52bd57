//! Aligned text columns for the report, measured in terminal cells (so CJK names and emoji
//! line up), with no trailing whitespace.

use unicode_width::UnicodeWidthStr;

/// Horizontal alignment of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text, left-aligned.
    Left,
    /// Numbers, right-aligned.
    Right,
}

/// A table of text cells with a header row.
#[derive(Debug, Clone)]
pub struct Table {
    columns: Vec<(String, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with the given column headings and alignments.
    pub fn new(columns: &[(&str, Align)]) -> Table {
        Table { columns: columns.iter().map(|(title, align)| (title.to_string(), *align)).collect(), rows: Vec::new() }
    }

    /// Adds a row; missing cells are blank, extra cells are ignored.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Renders the table, every line prefixed by `indent`.
    pub fn render(&self, indent: &str) -> String {
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|column| {
                let cells = self.rows.iter().map(|row| row.get(column).map_or(0, |cell| cell.width()));
                cells.chain([self.columns[column].0.width()]).max().unwrap_or(0)
            })
            .collect();
        let header: Vec<String> = self.columns.iter().map(|(title, _)| title.clone()).collect();
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::from(indent);
            for (column, (width, (_, align))) in widths.iter().zip(&self.columns).enumerate() {
                let cell = row.get(column).map_or("", String::as_str);
                let pad = width.saturating_sub(cell.width());
                if column > 0 {
                    line.push_str("  ");
                }
                match align {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                    Align::Right => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width() {
        let mut table = Table::new(&[("NAME", Align::Left), ("N", Align::Right)]);
        table.row(vec!["日本".into(), "5".into()]);
        table.row(vec!["nginx".into(), "12".into()]);
        assert_eq!(table.render("  "), "  NAME    N\n  日本    5\n  nginx  12\n");
    }

    #[test]
    fn trailing_blank_cells_leave_no_trailing_spaces() {
        let mut table = Table::new(&[("A", Align::Left), ("B", Align::Left)]);
        table.row(vec!["x".into()]);
        assert_eq!(table.render(""), "A  B\nx\n");
    }
}
