//! Every counter of `/proc/net/netstat`, `snmp` and `snmp6` — what `nstat -az` shows — with its
//! rate, its history and, for those that matter to queues, drops and retransmissions, what it
//! means. Fastest first by default; counters that are zero hide until `z` shows them; the
//! detail pane adds the file it comes from and the whole history.

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::draw_pane;
use crate::format::{self as units, sanitize};
use crate::model::CounterRow;
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::keymap::Action;
use crate::tui::table::{Row, TableState, ordered};
use crate::tui::widgets::{CellText, Column, DataTable, Drawn, field, sparkline};

/// The columns of the Counters table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterColumn {
    /// The name `nstat` prints (`TcpExtListenOverflows`).
    Name,
    /// Increase per second over the interval.
    Rate,
    /// Increase over the interval.
    Delta,
    /// Value now.
    Total,
    /// The rate over the history.
    History,
    /// What it means.
    Meaning,
}

use CounterColumn as C;

const COLUMNS: [Column<C>; 6] = [
    Column::text(C::Name, "counter", 24, 0),
    Column::number(C::Rate, "rate", 8, 0),
    Column::number(C::Delta, "delta", 8, 2),
    Column::number(C::Total, "total", 12, 1),
    Column::text(C::History, "history", 16, 3),
    Column::name(C::Meaning, "meaning", 20),
];

/// Sorts: fastest first (the default), largest increase, largest total, by name.
const SORTABLE: [C; 4] = [C::Rate, C::Delta, C::Total, C::Name];

impl Row for &CounterRow {
    type Column = CounterColumn;

    fn key(&self) -> u64 {
        CounterRow::key(self)
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        let rate = |row: &CounterRow| row.rate.unwrap_or(-1.0);
        let delta = |row: &CounterRow| row.delta.unwrap_or(-1);
        let (this, other): (&CounterRow, &CounterRow) = (self, other);
        let order = match column {
            C::Rate | C::History | C::Meaning => rate(other).total_cmp(&rate(this)),
            C::Delta => delta(other).cmp(&delta(this)),
            C::Total => other.total.cmp(&this.total),
            C::Name => Ordering::Equal,
        };
        order.then_with(|| this.name().cmp(&other.name()))
    }

    fn record(&self) -> Record {
        let mut text = vec![self.name(), self.section.clone()];
        text.extend(self.meaning.map(str::to_string));
        Record { text, ..Record::default() }
    }
}

/// The Counters tab.
pub struct Counters {
    table: TableState<C>,
    /// Whether counters that are zero are shown (`z`).
    zeros: bool,
}

impl Default for Counters {
    fn default() -> Self {
        Counters { table: TableState::new(&SORTABLE), zeros: false }
    }
}

impl Tab for Counters {
    tab_table!(TabId::Counters);

    fn act(&mut self, action: Action) -> bool {
        if action == Action::ToggleZeros {
            self.zeros = !self.zeros;
        }
        action == Action::ToggleZeros
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        let every = &ctx.model.counter_rows;
        let all: Vec<&CounterRow> = every.iter().filter(|row| self.zeros || row.total != 0).collect();
        let rows = ordered(&all, ctx.filter, self.table.sort);
        let keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
        let (table_area, pane) = super::split_detail(area, self.table.detail);
        let spark = usize::from(COLUMNS[4].width);
        let table = DataTable {
            title: self.title(rows.len(), every.len(), ctx),
            columns: &COLUMNS,
            sorts: &SORTABLE,
            sort: self.table.sort,
            keys: &keys,
            focused: true,
            empty: if every.is_empty() { "netstat and snmp unavailable" } else { "no counter matches the filter" },
        };
        let clicks = table.draw(frame, table_area, &mut self.table.nav, ctx.theme, |row| {
            let counter = all[rows[row]];
            let history = sparkline(&ctx.history.counter_rate(counter.key()), spark, None);
            let cells = vec![
                sanitize(&counter.name()).into_owned().into(),
                units::rate(counter.rate).into(),
                units::count(counter.delta).into(),
                counter.total.to_string().into(),
                Span::styled(history, ctx.theme.chart).into(),
                CellText::words(counter.meaning.unwrap_or_default()),
            ];
            (cells, if counter.meaning.is_some() { Style::new() } else { ctx.theme.muted })
        });
        let selected = self.table.nav.key.and_then(|key| all.iter().find(|row| CounterRow::key(row) == key));
        if let (Some(pane), Some(counter)) = (pane, selected) {
            let width = usize::from(pane.width.saturating_sub(22));
            draw_pane(frame, pane, sanitize(&counter.name()).into_owned(), details(counter, ctx, width), ctx.theme);
        }
        Some(clicks)
    }
}

impl Counters {
    /// `Counters (N of M)`, whether zero counters are hidden, and the namespace when every
    /// namespace is picked.
    fn title<'a>(&self, shown: usize, every: usize, ctx: &Ctx<'_>) -> Line<'a> {
        let count = if shown == every { format!("{every}") } else { format!("{shown} of {every}") };
        let zeros = if self.zeros { "zero counters shown: z hides them" } else { "zero counters hidden: z shows them" };
        let mut line = Line::from(vec![
            Span::styled(" Counters ", ctx.theme.title),
            Span::styled(format!("({count}, netstat snmp snmp6; {zeros}) "), ctx.theme.muted),
        ]);
        if let Some(note) = &ctx.focus_note {
            line.push_span(Span::styled(note.clone(), ctx.theme.warning));
        }
        line
    }
}

/// The file a counter comes from.
fn file_of(counter: &CounterRow) -> &'static str {
    match counter.section.as_str() {
        "TcpExt" | "IpExt" | "MPTcpExt" => "/proc/net/netstat",
        section if section.ends_with('6') => "/proc/net/snmp6",
        _ => "/proc/net/snmp",
    }
}

fn details<'a>(counter: &CounterRow, ctx: &Ctx<'_>, width: usize) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let span = format!("  last {}", units::duration(ctx.history.span_seconds().round() as u64));
    let history = sparkline(&ctx.history.counter_rate(counter.key()), width.saturating_sub(span.len()), None);
    let change = match ctx.model.interval {
        None => "one sample so far: no rate yet".to_string(),
        Some(seconds) => {
            format!("+{} in {}, {}", units::count(counter.delta), units::interval(seconds), units::rate(counter.rate))
        }
    };
    vec![
        field("meaning", counter.meaning.unwrap_or("(not described: see the kernel's documentation)"), theme),
        field("value", counter.total.to_string(), theme),
        field("change", change, theme),
        field("rate history", format!("{history}{span}"), theme),
        field(
            "file",
            format!("{}, {} {}", file_of(counter), sanitize(&counter.section), sanitize(&counter.field)),
            theme,
        ),
        field("read it", format!("nstat -az {}", sanitize(&counter.name())), theme),
    ]
}
