//! The first screen: listeners ranked by accept-queue fill with their history, the overflow
//! counters as rates, TCP state counts, interfaces and the advisor's top findings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::Ctx;
use super::listeners::{self, fill_cells};
use crate::advise::Severity;
use crate::render::format as units;
use crate::render::format::sanitize;
use crate::sample::TCP_STATES;
use crate::tui::app::{Sort, TableNav};
use crate::tui::widgets::{Column, DataTable, Drawn, as_f64, sparkline};

const LISTENER_COLUMNS: [Column; 7] = [
    Column::text("!", 1, 0),
    Column::flexible("listener", 18),
    Column::text("process", 16, 2),
    Column::text("accept queue", 18, 0),
    Column::number("SYN q", 6, 3),
    Column::number("drops/s", 8, 1),
    Column::text("fill history", 20, 4),
];

/// Draws the overview; its table is the listeners panel.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let rows = listeners::order(ctx, None);
    let wanted_listeners = rows.len() as u16 + 3;
    let middle_height = 8;
    let room = area.height.saturating_sub(middle_height + 4);
    let listener_height = wanted_listeners.clamp(5, room.max(5));
    let [top, middle, bottom] =
        Layout::vertical([Constraint::Length(listener_height), Constraint::Length(middle_height), Constraint::Fill(1)])
            .areas(area);
    let clicks = draw_listeners(frame, top, ctx, nav, &rows);
    let [counters, states] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(middle);
    draw_counters(frame, counters, ctx);
    draw_states(frame, states, ctx);
    let [interfaces, findings] = Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(bottom);
    draw_interfaces(frame, interfaces, ctx);
    draw_findings(frame, findings, ctx);
    Some(clicks)
}

fn draw_listeners(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav, rows: &[usize]) -> Drawn {
    let all = &ctx.model.listeners;
    let keys: Vec<u64> = rows.iter().map(|index| all[*index].cookie()).collect();
    let spark_width = usize::from(LISTENER_COLUMNS[6].width);
    let table = DataTable {
        title: listeners::table_title("Listeners by accept-queue fill", rows.len(), ctx),
        columns: &LISTENER_COLUMNS,
        sorts: &[],
        sort: Sort::default(),
        keys: &keys,
        focused: true,
        empty: listeners::empty_text(ctx),
    };
    table.draw(frame, area, nav, ctx.theme, |row| {
        let listener = &all[rows[row]];
        let (marker, fill, style) = fill_cells(listener, ctx, 8);
        let history = sparkline(&ctx.history.listener_fill(listener.key), spark_width, Some(1.0));
        let cells = vec![
            marker,
            Span::raw(format!("{} {}", listener.protocol.name(), sanitize(&listener.endpoint.to_string()))),
            Span::raw(super::processes_label(&listener.processes)),
            fill,
            Span::raw(units::count(listener.syn_queue)),
            rate_span(listener.drops_per_second, ctx),
            Span::styled(history, ctx.theme.chart),
        ];
        (cells, style)
    })
}

/// A rate, styled critical when above zero (drops are losses).
fn rate_span(rate: Option<f64>, ctx: &Ctx<'_>) -> Span<'static> {
    let style = if rate.is_some_and(|rate| rate > 0.0) { ctx.theme.critical } else { Style::new() };
    Span::styled(units::rate(rate), style)
}

const COUNTER_COLUMNS: [Column; 4] = [
    Column::flexible("overflow counter", 20),
    Column::number("rate", 8, 0),
    Column::number("total", 10, 2),
    Column::text("history", 16, 1),
];

fn draw_counters(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let counters = &ctx.model.overflow;
    let keys: Vec<u64> = (0..counters.len() as u64).collect();
    let width = usize::from(COUNTER_COLUMNS[3].width);
    let table = DataTable {
        title: Line::from(Span::styled(" Listen overflows ", ctx.theme.title)),
        columns: &COUNTER_COLUMNS,
        sorts: &[],
        sort: Sort::default(),
        keys: &keys,
        focused: false,
        empty: "netstat unavailable",
    };
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let counter = &counters[row];
        let history = sparkline(&ctx.history.overflow_rate(counter.id), width, None);
        let cells = vec![
            Span::raw(counter.id.field),
            rate_span(counter.rate, ctx),
            Span::raw(units::count(counter.total)),
            Span::styled(history, ctx.theme.chart),
        ];
        (cells, Style::new())
    });
}

const STATE_COLUMNS: [Column; 3] =
    [Column::flexible("TCP state", 11), Column::number("count", 8, 0), Column::text("history", 16, 1)];

fn draw_states(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let Some(counts) = ctx.model.tcp_states else {
        frame.render_widget(unavailable(ctx, "TCP states", "tcp_states"), area);
        return;
    };
    let page = usize::from(area.height.saturating_sub(3));
    let mut states: Vec<_> = TCP_STATES.iter().copied().filter(|state| counts.get(*state) > 0).collect();
    states.sort_by_key(|state| std::cmp::Reverse(counts.get(*state)));
    states.truncate(page.max(1));
    let keys: Vec<u64> = (0..states.len() as u64).collect();
    let width = usize::from(STATE_COLUMNS[2].width);
    let table = DataTable {
        title: Line::from(Span::styled(format!(" TCP states ({} sockets) ", counts.total()), ctx.theme.title)),
        columns: &STATE_COLUMNS,
        sorts: &[],
        sort: Sort::default(),
        keys: &keys,
        focused: false,
        empty: "no TCP sockets",
    };
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let state = states[row];
        let history = sparkline(&as_f64(&ctx.history.state(state)), width, None);
        let cells = vec![
            Span::raw(state.name()),
            Span::raw(counts.get(state).to_string()),
            Span::styled(history, ctx.theme.chart),
        ];
        (cells, Style::new())
    });
}

const INTERFACE_COLUMNS: [Column; 5] = [
    Column::flexible("interface", 10),
    Column::number("MTU", 6, 0),
    Column::text("state", 7, 3),
    Column::number("rx drop/s", 9, 0),
    Column::text("history", 10, 1),
];

fn draw_interfaces(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let interfaces = &ctx.model.interfaces;
    let keys: Vec<u64> = (0..interfaces.len() as u64).collect();
    let width = usize::from(INTERFACE_COLUMNS[4].width);
    let table = DataTable {
        title: Line::from(Span::styled(" Interfaces ", ctx.theme.title)),
        columns: &INTERFACE_COLUMNS,
        sorts: &[],
        sort: Sort::default(),
        keys: &keys,
        focused: false,
        empty: "interfaces unavailable",
    };
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let interface = &interfaces[row];
        let drops = interface.rates.and_then(|rates| rates.rx_dropped);
        let history = sparkline(&ctx.history.interface_rx_drop_rate(interface.interface.index), width, None);
        let cells = vec![
            Span::raw(sanitize(&interface.interface.name).into_owned()),
            Span::raw(units::count(interface.interface.mtu)),
            Span::raw(interface.interface.oper_state.to_lowercase()),
            rate_span(drops, ctx),
            Span::styled(history, ctx.theme.chart),
        ];
        (cells, Style::new())
    });
}

fn draw_findings(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let outcome = &ctx.frame.findings;
    let mut lines: Vec<Line> = outcome
        .findings
        .iter()
        .map(|finding| {
            Line::from(vec![
                Span::styled(format!("{} ", finding.severity.tag()), severity_style(finding.severity, ctx)),
                Span::raw(sanitize(&finding.summary).into_owned()),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::from(Span::styled("no findings: nothing overflows or is close to a limit", ctx.theme.good)));
    }
    let title = format!(" Findings ({}) — 8 for details ", outcome.findings.len());
    super::draw_pane(frame, area, title, lines, ctx.theme);
}

/// The style of a severity tag.
pub(super) fn severity_style(severity: Severity, ctx: &Ctx<'_>) -> Style {
    match severity {
        Severity::Critical => ctx.theme.critical,
        Severity::Warning => ctx.theme.warning,
        Severity::Info => ctx.theme.muted,
    }
}

/// A panel saying a source could not be read, and why.
pub(super) fn unavailable<'a>(ctx: &Ctx<'_>, what: &str, source: &str) -> ratatui::widgets::Paragraph<'a> {
    let reason = ctx.sample.unavailable_reason(&crate::sample::Source::from_name(source)).unwrap_or("not collected");
    ratatui::widgets::Paragraph::new(Span::styled(format!("unavailable: {}", sanitize(reason)), ctx.theme.warning))
        .block(ratatui::widgets::Block::bordered().title(format!(" {what} ")))
        .wrap(ratatui::widgets::Wrap { trim: true })
}
