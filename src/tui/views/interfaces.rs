//! Network interfaces: MTU and its bounds, state, kind, master, packet, drop and error rates;
//! the per-CPU softnet backlog below (where `netdev_max_backlog` drops show); totals and drop
//! history in the detail pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use std::cmp::Ordering;

use super::{draw_pane, title, unavailable};
use crate::format::{self as units, sanitize};
use crate::model::{InterfaceRates, InterfaceView};
use crate::sample::Source;
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, TableNav, TableState, ordered};
use crate::tui::widgets::{CellText, Column, DataTable, Drawn, field, sparkline};

/// The columns of the Interfaces table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InterfaceColumn {
    /// Name (sorts by index, the kernel's order).
    Name,
    /// Link kind.
    Kind,
    /// Master device.
    Master,
    /// Operational state.
    State,
    /// MTU.
    Mtu,
    /// MTU bounds.
    MtuBounds,
    /// Received packets per second.
    RxPackets,
    /// Sent packets per second.
    TxPackets,
    /// Received drops per second.
    RxDrops,
    /// Transmit drops per second.
    TxDrops,
    /// Receive errors per second.
    RxErrors,
    /// Transmit errors per second.
    TxErrors,
    /// Received drops over the history.
    History,
}

use InterfaceColumn as C;

const COLUMNS: [Column<C>; 13] = [
    Column::name(C::Name, "interface", 10),
    Column::text(C::Kind, "kind", 8, 3),
    Column::text(C::Master, "master", 8, 4),
    Column::text(C::State, "state", 7, 0),
    Column::number(C::Mtu, "MTU", 6, 0),
    Column::text(C::MtuBounds, "min-max", 11, 6),
    Column::number(C::RxPackets, "rx pkt/s", 9, 2),
    Column::number(C::TxPackets, "tx pkt/s", 9, 2),
    Column::number(C::RxDrops, "rx drop/s", 9, 0),
    Column::number(C::TxDrops, "tx drop/s", 9, 1),
    Column::number(C::RxErrors, "rx err/s", 8, 1),
    Column::number(C::TxErrors, "tx err/s", 8, 5),
    Column::text(C::History, "rx drops", 16, 6),
];

/// Sorts: kernel order (index), received drops, received packets, MTU.
const SORTABLE: [C; 4] = [C::Name, C::RxDrops, C::RxPackets, C::Mtu];

impl Row for InterfaceView {
    type Column = InterfaceColumn;

    fn key(&self) -> u64 {
        u64::from(self.interface.index)
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        let rate = |view: &InterfaceView, pick: fn(&InterfaceRates) -> Option<f64>| {
            view.rates.as_ref().and_then(pick).unwrap_or(-1.0)
        };
        match column {
            C::RxDrops => rate(other, |r| r.rx_dropped).total_cmp(&rate(self, |r| r.rx_dropped)),
            C::RxPackets => rate(other, |r| r.rx_packets).total_cmp(&rate(self, |r| r.rx_packets)),
            C::Mtu => other.interface.mtu.cmp(&self.interface.mtu),
            C::Name | C::Kind | C::Master | C::State | C::MtuBounds | C::TxPackets => self.key().cmp(&other.key()),
            C::TxDrops | C::RxErrors | C::TxErrors | C::History => self.key().cmp(&other.key()),
        }
    }

    fn record(&self) -> Record {
        let mut text = vec![self.interface.name.clone(), self.interface.oper_state.clone()];
        text.extend(self.interface.kind.clone());
        text.extend(self.master_name.clone());
        Record { text, ..Record::default() }
    }
}

/// The Interfaces tab, with the per-CPU softnet backlog below.
pub struct Interfaces {
    table: TableState<C>,
}

impl Default for Interfaces {
    fn default() -> Self {
        Interfaces { table: TableState::new(&SORTABLE) }
    }
}

impl Tab for Interfaces {
    tab_table!(TabId::Interfaces);

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        draw(frame, area, ctx, &mut self.table)
    }
}

fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, state: &mut TableState<C>) -> Option<Drawn> {
    let all = &ctx.model.interfaces;
    if ctx.sample.interfaces.is_none() {
        frame.render_widget(unavailable(ctx, "Interfaces", Source::Interfaces), area);
        return None;
    }
    let rows = ordered(all, ctx.filter, state.sort);
    let row_keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
    let softnet_height = (ctx.model.softnet.len() as u16 + 3).min(area.height / 3);
    let [main, softnet] = if ctx.model.softnet.is_empty() || area.height < 16 {
        [area, Rect::default()]
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(softnet_height)]).areas(area)
    };
    let (table_area, pane) = super::split_detail(main, state.detail);
    let spark = usize::from(COLUMNS[12].width);
    let table = DataTable {
        title: title("Interfaces", rows.len(), all.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTABLE,
        sort: state.sort,
        keys: &row_keys,
        focused: true,
        empty: "no interface matches the filter",
    };
    let clicks = table.draw(frame, table_area, &mut state.nav, ctx.theme, |row| {
        let view = &all[rows[row]];
        let interface = &view.interface;
        let rates = view.rates.unwrap_or_default();
        let dropping = rates.rx_dropped.is_some_and(|r| r > 0.0) || rates.tx_dropped.is_some_and(|r| r > 0.0);
        let bounds = match (interface.min_mtu, interface.max_mtu) {
            (Some(low), Some(high)) => format!("{low}-{high}"),
            _ => "-".to_string(),
        };
        let name = |text: Option<&str>| CellText::name(text.map_or("-".to_string(), |t| sanitize(t).into_owned()));
        let mut cells =
            vec![name(Some(&interface.name)), name(interface.kind.as_deref()), name(view.master_name.as_deref())];
        cells.extend(
            [
                Span::raw(interface.oper_state.to_lowercase()),
                Span::raw(units::count(interface.mtu)),
                Span::raw(bounds),
                Span::raw(units::rate(rates.rx_packets)),
                Span::raw(units::rate(rates.tx_packets)),
                Span::raw(units::rate(rates.rx_dropped)),
                Span::raw(units::rate(rates.tx_dropped)),
                Span::raw(units::rate(rates.rx_errors)),
                Span::raw(units::rate(rates.tx_errors)),
                Span::styled(
                    sparkline(&ctx.history.interface_rx_drop_rate(interface.index), spark, None),
                    ctx.theme.chart,
                ),
            ]
            .map(CellText::from),
        );
        (cells, if dropping { ctx.theme.critical } else { Style::new() })
    });
    if let (Some(pane), Some(view)) = (pane, state.nav.key.and_then(|key| all.iter().find(|i| i.key() == key))) {
        let width = usize::from(pane.width.saturating_sub(22));
        draw_pane(frame, pane, sanitize(&view.interface.name).into_owned(), details(view, ctx, width), ctx.theme);
    }
    if softnet.height > 0 {
        draw_softnet(frame, softnet, ctx);
    }
    Some(clicks)
}

fn details<'a>(view: &InterfaceView, ctx: &Ctx<'_>, width: usize) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let interface = &view.interface;
    let mut lines = vec![
        field("index", interface.index.to_string(), theme),
        field(
            "admin / oper",
            format!("{} / {}", if interface.admin_up { "up" } else { "down" }, interface.oper_state),
            theme,
        ),
        field("link / peer", crate::render::text::link_text(view), theme),
        field("drop history", sparkline(&ctx.history.interface_rx_drop_rate(interface.index), width, None), theme),
    ];
    if let Some(stats) = &interface.stats {
        let totals = [
            ("rx packets / bytes", format!("{} / {}", stats.rx_packets, units::bytes(stats.rx_bytes))),
            ("tx packets / bytes", format!("{} / {}", stats.tx_packets, units::bytes(stats.tx_bytes))),
            ("rx dropped / errors", format!("{} / {}", stats.rx_dropped, stats.rx_errors)),
            ("tx dropped / errors", format!("{} / {}", stats.tx_dropped, stats.tx_errors)),
            (
                "rx missed / fifo / over",
                format!("{} / {} / {}", stats.rx_missed_errors, stats.rx_fifo_errors, stats.rx_over_errors),
            ),
        ];
        lines.extend(totals.into_iter().map(|(label, value)| field(label, value, theme)));
    }
    if let Some(rates) = &view.rates {
        lines.push(field(
            "rx missed/s fifo/s",
            format!("{} {}", units::rate(rates.rx_missed), units::rate(rates.rx_fifo)),
            theme,
        ));
    }
    lines
}

/// The columns of the softnet panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SoftnetColumn {
    Cpu,
    ProcessedPerSecond,
    DroppedPerSecond,
    Dropped,
    SqueezedPerSecond,
    History,
}

const SOFTNET_COLUMNS: [Column<SoftnetColumn>; 6] = [
    Column::text(SoftnetColumn::Cpu, "CPU", 4, 0),
    Column::number(SoftnetColumn::ProcessedPerSecond, "processed/s", 12, 0),
    Column::number(SoftnetColumn::DroppedPerSecond, "dropped/s", 10, 0),
    Column::number(SoftnetColumn::Dropped, "dropped", 10, 1),
    Column::number(SoftnetColumn::SqueezedPerSecond, "squeezed/s", 11, 2),
    Column::name(SoftnetColumn::History, "drop history", 16),
];

fn draw_softnet(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let cpus = &ctx.model.softnet;
    let keys: Vec<u64> = cpus.iter().map(|cpu| u64::from(cpu.cpu)).collect();
    let table = DataTable {
        title: Line::from(Span::styled(" Softnet backlog per CPU (drops: netdev_max_backlog full) ", ctx.theme.title)),
        columns: &SOFTNET_COLUMNS,
        sorts: &[],
        sort: None,
        keys: &keys,
        focused: false,
        empty: "softnet_stat unavailable",
    };
    let spark = usize::from(area.width.saturating_sub(64)).max(8);
    table.draw(frame, area, &mut TableNav::default(), ctx.theme, |row| {
        let cpu = &cpus[row];
        let dropping = cpu.dropped_rate.is_some_and(|r| r > 0.0);
        let cells = vec![
            Span::raw(cpu.cpu.to_string()),
            Span::raw(units::rate(cpu.processed_rate)),
            Span::raw(units::rate(cpu.dropped_rate)),
            Span::raw(units::count(cpu.dropped)),
            Span::raw(units::rate(cpu.squeezed_rate)),
            Span::styled(sparkline(&ctx.history.softnet_drop_rate(cpu.cpu), spark, None), ctx.theme.chart),
        ];
        (cells.into_iter().map(CellText::from).collect(), if dropping { ctx.theme.critical } else { Style::new() })
    });
}
