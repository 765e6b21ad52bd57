//! TCP state counts: a chart over the history, a table with change and range per state, and the
//! count per owning process (from every socket, which this view asks the collector for).

use std::collections::HashMap;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};

use super::{Ctx, filtered, sort_rows, title};
use crate::sample::{ProcessRef, TCP_STATES, TcpState};
use crate::tui::app::{Sort, TableNav};
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, as_f64, sparkline};

const COLUMNS: [Column; 6] = [
    Column::text("state", 11, 0),
    Column::number("now", 8, 0),
    Column::number("change", 8, 1),
    Column::number("min", 8, 2),
    Column::number("max", 8, 2),
    Column::flexible("history", 10),
];

/// Sorts: count, state order.
pub const SORTS: [SortColumn; 2] = [SortColumn { name: "now", column: 1 }, SortColumn { name: "state", column: 0 }];

/// The states drawn in the chart, with their colours (distinct in brightness as well as hue).
const CHARTED: [(TcpState, Color); 5] = [
    (TcpState::Established, Color::Blue),
    (TcpState::TimeWait, Color::Yellow),
    (TcpState::CloseWait, Color::Red),
    (TcpState::SynRecv, Color::Magenta),
    (TcpState::SynSent, Color::Cyan),
];

/// Draws the States view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let Some(counts) = ctx.model.tcp_states else {
        frame.render_widget(super::overview::unavailable(ctx, "TCP states", "tcp_states"), area);
        return None;
    };
    let chart_height = (area.height / 2).max(8).min(area.height.saturating_sub(6));
    let [chart, bottom] = Layout::vertical([Constraint::Length(chart_height), Constraint::Fill(1)]).areas(area);
    draw_chart(frame, chart, ctx);
    let [table_area, processes] = Layout::horizontal([Constraint::Percentage(50), Constraint::Fill(1)]).areas(bottom);
    let states: Vec<TcpState> = TCP_STATES.to_vec();
    let mut rows =
        filtered(ctx.filter, states.len(), |index| Record { state: Some(states[index].name()), ..Record::default() });
    let keys: Vec<u64> = (0..states.len() as u64).collect();
    match SORTS[ctx.sort.column.min(SORTS.len() - 1)].name {
        "state" => sort_rows(&mut rows, ctx.sort, &keys, |a, b| a.cmp(&b)),
        _ => sort_rows(&mut rows, ctx.sort, &keys, |a, b| counts.get(states[b]).cmp(&counts.get(states[a]))),
    }
    let row_keys: Vec<u64> = rows.iter().map(|index| keys[*index]).collect();
    let previous = ctx.frame.previous.as_ref().and_then(|sample| sample.tcp_summary.as_ref()).map(|s| s.states);
    let table = DataTable {
        title: title(&format!("TCP states, {} sockets", counts.total()), rows.len(), states.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTS,
        sort: ctx.sort,
        keys: &row_keys,
        focused: true,
        empty: "no state matches the filter",
    };
    let spark = usize::from(table_area.width.saturating_sub(58)).max(10);
    let clicks = table.draw(frame, table_area, nav, ctx.theme, |row| {
        let state = states[rows[row]];
        let series = ctx.history.state(state);
        let known: Vec<u64> = series.iter().flatten().copied().collect();
        let change = previous.map(|before| counts.get(state) as i64 - before.get(state) as i64);
        let cells = vec![
            Span::raw(state.name()),
            Span::raw(counts.get(state).to_string()),
            Span::raw(change.map_or("-".to_string(), |c| format!("{c:+}"))),
            Span::raw(known.iter().min().map_or("-".to_string(), u64::to_string)),
            Span::raw(known.iter().max().map_or("-".to_string(), u64::to_string)),
            Span::styled(sparkline(&as_f64(&series), spark, None), ctx.theme.chart),
        ];
        (cells, Style::new())
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
    let x_labels = vec![Span::raw(format!("-{}", crate::render::format::duration(span as u64))), Span::raw("now")];
    let y_labels = vec![Span::raw("0"), Span::raw(format!("{top:.0}"))];
    let chart = Chart::new(datasets)
        .block(Block::bordered().title(Line::from(Span::styled(" TCP states over time ", ctx.theme.title))))
        .x_axis(Axis::default().bounds([-span, 0.0]).labels(x_labels))
        .y_axis(Axis::default().bounds([0.0, top * 1.05]).labels(y_labels))
        .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(40), Constraint::Percentage(90)));
    frame.render_widget(chart, area);
}

const PROCESS_COLUMNS: [Column; 6] = [
    Column::flexible("process", 14),
    Column::number("ESTAB", 7, 0),
    Column::number("CLOSE_WAIT", 10, 0),
    Column::number("SYN_SENT", 8, 2),
    Column::number("FIN_WAIT", 8, 3),
    Column::number("other", 7, 1),
];

/// Socket states per owning process, busiest first.
fn per_process(ctx: &Ctx<'_>) -> Option<Vec<(ProcessRef, [u64; 5])>> {
    let connections = ctx.sample.connections.as_ref()?;
    let owners = ctx.sample.processes.as_ref().map(|table| &table.owners);
    let mut by_pid: HashMap<u32, (ProcessRef, [u64; 5])> = HashMap::new();
    for connection in connections {
        let Some(processes) = owners.and_then(|owners| owners.get(&connection.inode)) else {
            continue;
        };
        let column = match connection.state {
            TcpState::Established => 0,
            TcpState::CloseWait => 1,
            TcpState::SynSent => 2,
            TcpState::FinWait1 | TcpState::FinWait2 => 3,
            _ => 4,
        };
        for process in processes {
            by_pid.entry(process.pid).or_insert_with(|| (process.clone(), [0; 5])).1[column] += 1;
        }
    }
    let mut rows: Vec<_> = by_pid.into_values().collect();
    rows.sort_by(|a, b| b.1.iter().sum::<u64>().cmp(&a.1.iter().sum::<u64>()).then(a.0.pid.cmp(&b.0.pid)));
    Some(rows)
}

fn draw_processes(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let rows = per_process(ctx);
    let rows = rows.unwrap_or_default();
    let keys: Vec<u64> = rows.iter().map(|(process, _)| u64::from(process.pid)).collect();
    let empty = if ctx.sample.connections.is_none() {
        "collecting every socket with its owner (from the next sample)…"
    } else if ctx.sample.processes.is_none() {
        "process attribution is off (--no-processes) or unavailable"
    } else {
        "no socket has a known owner (TIME_WAIT sockets have none)"
    };
    let table = DataTable {
        title: Line::from(Span::styled(" Sockets per process ", ctx.theme.title)),
        columns: &PROCESS_COLUMNS,
        sorts: &[],
        sort: Sort::default(),
        keys: &keys,
        focused: false,
        empty,
    };
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let (process, counts) = &rows[row];
        let mut cells = vec![Span::raw(super::processes_label(std::slice::from_ref(process)))];
        cells.extend(counts.iter().map(|count| Span::raw(count.to_string())));
        let style = if counts[1] > 0 { ctx.theme.warning } else { Style::new() };
        (cells, style)
    });
}
