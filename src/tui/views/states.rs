//! TCP state counts: a chart over the history, a table with change and range per state, and the
//! count per owning process (from every socket, which this tab asks the collector for).

use std::cmp::Ordering;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

use super::{title, unavailable};
use crate::sample::{Source, TCP_STATES, TcpState};
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, TableNav, TableState, ordered};
use crate::tui::widgets::{CellText, Column, DataTable, Drawn, as_f64, sparkline};

/// The columns of the States table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateColumn {
    /// The state.
    State,
    /// Sockets in it now.
    Now,
    /// Change since the previous sample.
    Change,
    /// Smallest count over the history.
    Min,
    /// Largest count over the history.
    Max,
    /// The count over the history.
    History,
}

use StateColumn as C;

const COLUMNS: [Column<C>; 6] = [
    Column::text(C::State, "state", 11, 0),
    Column::number(C::Now, "now", 8, 0),
    Column::number(C::Change, "change", 8, 1),
    Column::number(C::Min, "min", 8, 2),
    Column::number(C::Max, "max", 8, 2),
    Column::name(C::History, "history", 10),
];

/// Sorts: count, state order.
const SORTABLE: [C; 2] = [C::Now, C::State];

/// One state with its count.
struct StateRow {
    state: TcpState,
    count: u64,
    /// Position in kernel order.
    order: usize,
}

impl Row for StateRow {
    type Column = StateColumn;

    fn key(&self) -> u64 {
        self.order as u64
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        match column {
            C::Now | C::Change | C::Min | C::Max | C::History => other.count.cmp(&self.count),
            C::State => self.order.cmp(&other.order),
        }
    }

    fn record(&self) -> Record {
        Record { state: Some(self.state.name()), ..Record::default() }
    }
}

/// The States tab.
pub struct States {
    table: TableState<C>,
}

impl Default for States {
    fn default() -> Self {
        States { table: TableState::new(&SORTABLE) }
    }
}

impl Tab for States {
    tab_table!(TabId::States);

    fn wants_connections(&self) -> bool {
        // Sockets per process need every socket with its owner.
        true
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        draw(frame, area, ctx, &mut self.table)
    }
}

/// The states drawn in the chart, with their colours (distinct in brightness as well as hue).
const CHARTED: [(TcpState, Color); 5] = [
    (TcpState::Established, Color::Blue),
    (TcpState::TimeWait, Color::Yellow),
    (TcpState::CloseWait, Color::Red),
    (TcpState::SynRecv, Color::Magenta),
    (TcpState::SynSent, Color::Cyan),
];

fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, state: &mut TableState<C>) -> Option<Drawn> {
    let Some(counts) = ctx.model.tcp_states else {
        frame.render_widget(unavailable(ctx, "TCP states", Source::TcpStates), area);
        return None;
    };
    let chart_height = (area.height / 2).max(8).min(area.height.saturating_sub(6));
    let [chart, bottom] = Layout::vertical([Constraint::Length(chart_height), Constraint::Fill(1)]).areas(area);
    draw_chart(frame, chart, ctx);
    let [table_area, processes] = Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(bottom);
    let states: Vec<StateRow> = TCP_STATES
        .iter()
        .enumerate()
        .map(|(order, state)| StateRow { state: *state, count: counts.get(*state), order })
        .collect();
    let rows = ordered(&states, ctx.filter, state.sort);
    let row_keys: Vec<u64> = rows.iter().map(|index| states[*index].key()).collect();
    let table = DataTable {
        title: title(
            &format!("TCP states, {} sockets{}", counts.total(), walk_age(ctx)),
            rows.len(),
            states.len(),
            ctx,
        ),
        columns: &COLUMNS,
        sorts: &SORTABLE,
        sort: state.sort,
        keys: &row_keys,
        focused: true,
        empty: "no state matches the filter",
    };
    let spark = usize::from(table_area.width.saturating_sub(58)).max(10);
    let clicks = table.draw(frame, table_area, &mut state.nav, ctx.theme, |row| {
        let StateRow { state, count, .. } = states[rows[row]];
        let series = ctx.history.state(state);
        let change = ctx.model.state_changes.map(|changes| changes.get(state));
        let range = ctx.history.state_range(state);
        let cells = vec![
            Span::raw(state.name()),
            Span::raw(count.to_string()),
            Span::raw(change.map_or("-".to_string(), |c| format!("{c:+}"))),
            Span::raw(range.map_or("-".to_string(), |(low, _)| low.to_string())),
            Span::raw(range.map_or("-".to_string(), |(_, high)| high.to_string())),
            Span::styled(sparkline(&as_f64(&series), spark, None), ctx.theme.chart),
        ];
        (cells.into_iter().map(CellText::from).collect(), Style::new())
    });
    draw_processes(frame, processes, ctx);
    Some(clicks)
}

/// One charted state: its colour and `(seconds before now, count)` points.
type Series = (TcpState, Color, Vec<(f64, f64)>);

fn draw_chart(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let history = ctx.history;
    let newest = history.points().next_back().map_or(0, |point| point.boottime_ns);
    let series: Vec<Series> = CHARTED
        .iter()
        .map(|(state, colour)| {
            let points = history
                .points()
                .filter_map(|point| {
                    let age = -((newest.saturating_sub(point.boottime_ns)) as f64 / 1e9);
                    point.states.map(|counts| (age, counts.get(*state) as f64))
                })
                .collect();
            (*state, *colour, points)
        })
        .collect();
    let top = series.iter().flat_map(|(_, _, points)| points.iter().map(|(_, y)| *y)).fold(1.0, f64::max);
    let span = history.span_seconds().max(1.0);
    let coloured = ctx.theme.chart.fg.is_some();
    let datasets = series
        .iter()
        .map(|(state, colour, points)| {
            let style = if coloured { Style::new().fg(*colour) } else { Style::new() };
            Dataset::default()
                .name(state.name())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(points)
        })
        .collect();
    let x_labels = vec![Span::raw(format!("-{}", crate::format::duration(span as u64))), Span::raw("now")];
    let y_labels = vec![Span::raw("0"), Span::raw(format!("{top:.0}"))];
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(Line::from(Span::styled(" TCP states over time ", ctx.theme.title))))
        .x_axis(Axis::default().bounds([-span, 0.0]).labels(x_labels))
        .y_axis(Axis::default().bounds([0.0, top * 1.05]).labels(y_labels))
        .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(40), Constraint::Percentage(90)));
    frame.render_widget(chart, area);
}

/// The columns of the sockets-per-process panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProcessColumn {
    Process,
    Established,
    CloseWait,
    SynSent,
    FinWait,
    Other,
}

const PROCESS_COLUMNS: [Column<ProcessColumn>; 6] = [
    Column::name(ProcessColumn::Process, "process", 14),
    Column::number(ProcessColumn::Established, "ESTAB", 7, 0),
    Column::number(ProcessColumn::CloseWait, "CLOSE_WAIT", 10, 0),
    Column::number(ProcessColumn::SynSent, "SYN_SENT", 8, 2),
    Column::number(ProcessColumn::FinWait, "FIN_WAIT", 8, 3),
    Column::number(ProcessColumn::Other, "other", 7, 1),
];

fn draw_processes(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let rows = ctx.model.process_states.as_deref().unwrap_or_default();
    let keys: Vec<u64> = rows.iter().map(|row| u64::from(row.process.pid)).collect();
    let empty = if ctx.sample.connections.is_none() {
        ctx.sockets_missing("collecting every socket with its owner (from the next sample)…")
    } else if ctx.sample.processes.is_none() {
        "process attribution is off (--no-processes) or unavailable"
    } else {
        "no socket has a known owner (TIME_WAIT sockets have none)"
    };
    let table = DataTable {
        title: Line::from(Span::styled(" Sockets per process ", ctx.theme.title)),
        columns: &PROCESS_COLUMNS,
        sorts: &[],
        sort: None,
        keys: &keys,
        focused: false,
        empty,
    };
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let states = &rows[row];
        let counts = [states.established, states.close_wait, states.syn_sent, states.fin_wait, states.other];
        let mut cells = vec![super::owners_cell(std::slice::from_ref(&states.process), false)];
        cells.extend(counts.iter().map(|count| CellText::from(count.to_string())));
        let style = if states.close_wait > 0 { ctx.theme.warning } else { Style::new() };
        (cells, style)
    });
}

/// `, 3s ago` when the counts come from an earlier walk than this sample (a budgeted collector).
pub(crate) fn walk_age(ctx: &Ctx<'_>) -> String {
    ctx.model.walk_age.map(|age| format!(", {} ago", crate::format::interval(age))).unwrap_or_default()
}
