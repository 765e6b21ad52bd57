//! The first screen: listeners ranked by accept-queue fill with their history, the overflow
//! counters as rates, TCP state counts, interfaces and the advisor's top findings.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::InNamespace;
use super::listeners::{self, ListenerColumn, fill_cells};
use super::{loss_rate, severity_style, unavailable};
use crate::format::{self as units, sanitize};
use crate::model::ListenerView;
use crate::sample::{Source, TCP_STATES};
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::table::Row;
use crate::tui::table::{TableNav, TableState, ordered};
use crate::tui::widgets::{CellText, Column, Cut, DataTable, Drawn, as_f64, sparkline};

/// The columns of the overview's panels (none is sortable: the listeners keep the model's
/// order, fullest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Panel {
    Marker,
    Listener,
    Process,
    AcceptQueue,
    SynQueue,
    DropsPerSecond,
    History,
    Counter,
    Rate,
    Smoothed,
    Total,
    State,
    Count,
    Interface,
    Mtu,
    Oper,
    RxDropsPerSecond,
}

const LISTENER_COLUMNS: [Column<Panel>; 7] = [
    Column::text(Panel::Marker, "!", 1, 0),
    Column::name(Panel::Listener, "listener", 18),
    Column::text(Panel::Process, "process", 16, 2),
    Column::text(Panel::AcceptQueue, "accept queue", 18, 0),
    Column::number(Panel::SynQueue, "SYN q", 6, 3),
    Column::number(Panel::DropsPerSecond, "drops/s", 8, 1),
    Column::text(Panel::History, "fill history", 20, 4),
];

/// The overflow counters: the rate over the last interval, then over the smoothing window the
/// panel's title names.
const COUNTER_COLUMNS: [Column<Panel>; 5] = [
    Column::name(Panel::Counter, "overflow counter", 20),
    Column::number(Panel::Rate, "rate", 8, 0),
    Column::number(Panel::Smoothed, "avg", 8, 1),
    Column::number(Panel::Total, "total", 10, 3),
    Column::text(Panel::History, "history", 16, 2),
];

const STATE_COLUMNS: [Column<Panel>; 3] = [
    Column::name(Panel::State, "TCP state", 11),
    Column::number(Panel::Count, "count", 8, 0),
    Column::text(Panel::History, "history", 16, 1),
];

const INTERFACE_COLUMNS: [Column<Panel>; 5] = [
    Column::name(Panel::Interface, "interface", 10),
    Column::number(Panel::Mtu, "MTU", 6, 0),
    Column::text(Panel::Oper, "state", 7, 3),
    Column::number(Panel::RxDropsPerSecond, "rx drop/s", 9, 0),
    Column::text(Panel::History, "history", 10, 1),
];

/// The Overview tab; its table is the listeners panel, whose selection Enter opens in the
/// Listeners tab.
pub struct Overview {
    table: TableState<ListenerColumn>,
}

impl Default for Overview {
    fn default() -> Self {
        Overview { table: TableState::new(&[]) }
    }
}

impl Tab for Overview {
    tab_table!(TabId::Overview);

    fn merges_namespaces(&self) -> bool {
        true
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        let all = listeners::listeners_in_scope(ctx);
        let rows = ordered(&all, ctx.filter, None);
        let wanted_listeners = rows.len() as u16 + 3;
        let middle_height = 8;
        let room = area.height.saturating_sub(middle_height + 4);
        let listener_height = wanted_listeners.clamp(5, room.max(5));
        let [top, middle, bottom] = Layout::vertical([
            Constraint::Length(listener_height),
            Constraint::Length(middle_height),
            Constraint::Fill(1),
        ])
        .areas(area);
        let clicks = draw_listeners(frame, top, ctx, &mut self.table.nav, &all, &rows);
        let [counters, states] = Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(middle);
        draw_counters(frame, counters, ctx);
        draw_states(frame, states, ctx);
        let [interfaces, findings] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(bottom);
        draw_interfaces(frame, interfaces, ctx);
        draw_findings(frame, findings, ctx);
        Some(clicks)
    }
}

/// A panel that shows rows but has no selection or sort of its own.
fn panel<'a>(title: Line<'a>, columns: &'a [Column<Panel>], keys: &'a [u64], empty: &'a str) -> DataTable<'a, Panel> {
    DataTable { title, columns, sorts: &[], sort: None, keys, focused: false, empty }
}

fn draw_listeners(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx<'_>,
    nav: &mut TableNav,
    all: &[InNamespace<'_, ListenerView>],
    rows: &[usize],
) -> Drawn {
    let keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
    let spark_width = usize::from(LISTENER_COLUMNS[6].width);
    let mut table = panel(
        listeners::table_title("Listeners by accept-queue fill", rows.len(), all.len(), ctx),
        &LISTENER_COLUMNS,
        &keys,
        listeners::empty_text(all.is_empty()),
    );
    table.focused = true;
    table.draw(frame, area, nav, ctx.theme, |row| {
        let item = &all[rows[row]];
        let listener = item.row;
        let (marker, fill, style) = fill_cells(listener, ctx, 8);
        let fills = ctx.history_of(item.view.netns.inode).listener_fill(listener.key);
        let history = sparkline(&fills, spark_width, Some(1.0));
        let netns = if ctx.all { format!("{} ", super::netns_cell(&item.view.netns)) } else { String::new() };
        let endpoint = sanitize(&listener.endpoint.to_string()).into_owned();
        let place = CellText::name(netns).then(Span::raw(format!("{} ", listener.protocol.name())), Cut::Never);
        let place = match listener.endpoint {
            crate::model::Endpoint::Inet(..) => place.then(Span::raw(endpoint), Cut::Never),
            crate::model::Endpoint::Unix(_) => place.then(Span::raw(endpoint), Cut::Name),
        };
        let cells = vec![
            marker.into(),
            place,
            super::listeners::owner_cell(listener),
            fill.into(),
            units::count(listener.syn_queue).into(),
            loss_rate(listener.drops_per_second, ctx).into(),
            Span::styled(history, ctx.theme.chart).into(),
        ];
        (cells, style)
    })
}

fn draw_counters(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let counters = &ctx.model.overflow;
    let keys: Vec<u64> = (0..counters.len() as u64).collect();
    let width = usize::from(COUNTER_COLUMNS[4].width);
    let mut title = Line::from(Span::styled(" Listen overflows ", ctx.theme.title));
    if let Some(seconds) = ctx.model.smoothing {
        title.push_span(Span::styled(format!("avg/s over {} ", units::interval(seconds)), ctx.theme.muted));
    }
    let table = panel(title, &COUNTER_COLUMNS, &keys, "netstat unavailable");
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let counter = &counters[row];
        let history = sparkline(&ctx.history.overflow_rate(counter.id), width, None);
        let cells = vec![
            counter.id.field.into(),
            loss_rate(counter.rate, ctx).into(),
            loss_rate(counter.smoothed, ctx).into(),
            units::count(counter.total).into(),
            Span::styled(history, ctx.theme.chart).into(),
        ];
        (cells, Style::new())
    });
}

fn draw_states(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let Some(counts) = ctx.model.tcp_states else {
        frame.render_widget(unavailable(ctx, "TCP states", Source::TcpStates), area);
        return;
    };
    let page = usize::from(area.height.saturating_sub(3));
    let mut states: Vec<_> = TCP_STATES.iter().copied().filter(|state| counts.get(*state) > 0).collect();
    states.sort_by_key(|state| std::cmp::Reverse(counts.get(*state)));
    states.truncate(page.max(1));
    let keys: Vec<u64> = (0..states.len() as u64).collect();
    let width = usize::from(STATE_COLUMNS[2].width);
    let age = super::states::walk_age(ctx);
    let title = Line::from(Span::styled(format!(" TCP states ({} sockets{age}) ", counts.total()), ctx.theme.title));
    let table = panel(title, &STATE_COLUMNS, &keys, "no TCP sockets");
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let state = states[row];
        let history = sparkline(&as_f64(&ctx.history.state(state)), width, None);
        let cells = vec![
            state.name().into(),
            counts.get(state).to_string().into(),
            Span::styled(history, ctx.theme.chart).into(),
        ];
        (cells, Style::new())
    });
}

fn draw_interfaces(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let interfaces = &ctx.model.interfaces;
    let keys: Vec<u64> = (0..interfaces.len() as u64).collect();
    let width = usize::from(INTERFACE_COLUMNS[4].width);
    let title = Line::from(Span::styled(" Interfaces ", ctx.theme.title));
    let table = panel(title, &INTERFACE_COLUMNS, &keys, "interfaces unavailable");
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let interface = &interfaces[row];
        let drops = interface.rates.and_then(|rates| rates.rx_dropped);
        let history = sparkline(&ctx.history.interface_rx_drop_rate(interface.interface.index), width, None);
        let cells = vec![
            CellText::name(sanitize(&interface.interface.name).into_owned()),
            units::count(interface.interface.mtu).into(),
            interface.interface.oper_state.to_lowercase().into(),
            loss_rate(drops, ctx).into(),
            Span::styled(history, ctx.theme.chart).into(),
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
                Span::styled(format!("{} ", finding.severity.tag()), severity_style(finding.severity, ctx.theme)),
                // Every line names what it is about: 24 identical summaries say nothing.
                Span::styled(format!("{}: ", finding.subject.label()), ctx.theme.title),
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
