//! Network interfaces: MTU and its bounds, state, kind, master, packet, drop and error rates;
//! the per-CPU softnet backlog below (where `netdev_max_backlog` drops show); totals and drop
//! history in the detail pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Ctx, draw_pane, filtered, sort_rows, title};
use crate::model::InterfaceView;
use crate::render::format as units;
use crate::render::format::sanitize;
use crate::tui::app::{Sort, TableNav};
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, field, sparkline};

const COLUMNS: [Column; 13] = [
    Column::flexible("interface", 10),
    Column::text("kind", 8, 3),
    Column::text("master", 8, 4),
    Column::text("state", 7, 0),
    Column::number("MTU", 6, 0),
    Column::text("min-max", 11, 6),
    Column::number("rx pkt/s", 9, 2),
    Column::number("tx pkt/s", 9, 2),
    Column::number("rx drop/s", 9, 0),
    Column::number("tx drop/s", 9, 1),
    Column::number("rx err/s", 8, 1),
    Column::number("tx err/s", 8, 5),
    Column::text("rx drops", 16, 6),
];

/// Sorts: kernel order (index), name, received drops, MTU.
pub const SORTS: [SortColumn; 4] = [
    SortColumn { name: "index", column: 0 },
    SortColumn { name: "rx drop/s", column: 8 },
    SortColumn { name: "rx pkt/s", column: 6 },
    SortColumn { name: "MTU", column: 4 },
];

fn record(interface: &InterfaceView) -> Record {
    let mut text = vec![interface.interface.name.clone(), interface.interface.oper_state.clone()];
    text.extend(interface.interface.kind.clone());
    text.extend(interface.master_name.clone());
    Record { text, ..Record::default() }
}

/// Draws the Interfaces view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let all = &ctx.model.interfaces;
    if ctx.sample.interfaces.is_none() {
        frame.render_widget(super::overview::unavailable(ctx, "Interfaces", "interfaces"), area);
        return None;
    }
    let mut rows = filtered(ctx.filter, all.len(), |index| record(&all[index]));
    let keys: Vec<u64> = all.iter().map(|i| u64::from(i.interface.index)).collect();
    let rate = |index: usize, pick: fn(&crate::model::InterfaceRates) -> Option<f64>| {
        all[index].rates.as_ref().and_then(pick).unwrap_or(-1.0)
    };
    sort_rows(&mut rows, ctx.sort, &keys, |a, b| match SORTS[ctx.sort.column.min(SORTS.len() - 1)].name {
        "rx drop/s" => rate(b, |r| r.rx_dropped).total_cmp(&rate(a, |r| r.rx_dropped)),
        "rx pkt/s" => rate(b, |r| r.rx_packets).total_cmp(&rate(a, |r| r.rx_packets)),
        "MTU" => all[b].interface.mtu.cmp(&all[a].interface.mtu),
        _ => keys[a].cmp(&keys[b]),
    });
    let row_keys: Vec<u64> = rows.iter().map(|index| keys[*index]).collect();
    let softnet_height = (ctx.model.softnet.len() as u16 + 3).min(area.height / 3);
    let [main, softnet] = if ctx.model.softnet.is_empty() || area.height < 16 {
        [area, Rect::default()]
    } else {
        Layout::vertical([Constraint::Fill(1), Constraint::Length(softnet_height)]).areas(area)
    };
    let (table_area, pane) = super::split_detail(main, ctx.detail);
    let spark = usize::from(COLUMNS[12].width);
    let table = DataTable {
        title: title("Interfaces", rows.len(), all.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTS,
        sort: ctx.sort,
        keys: &row_keys,
        focused: true,
        empty: "no interface matches the filter",
    };
    let clicks = table.draw(frame, table_area, nav, ctx.theme, |row| {
        let view = &all[rows[row]];
        let interface = &view.interface;
        let rates = view.rates.unwrap_or_default();
        let dropping = rates.rx_dropped.is_some_and(|r| r > 0.0) || rates.tx_dropped.is_some_and(|r| r > 0.0);
        let bounds = match (interface.min_mtu, interface.max_mtu) {
            (Some(low), Some(high)) => format!("{low}-{high}"),
            _ => "-".to_string(),
        };
        let cells = vec![
            Span::raw(sanitize(&interface.name).into_owned()),
            Span::raw(interface.kind.as_deref().map_or("-".to_string(), |k| sanitize(k).into_owned())),
            Span::raw(view.master_name.as_deref().map_or("-".to_string(), |m| sanitize(m).into_owned())),
            Span::raw(interface.oper_state.to_lowercase()),
            Span::raw(units::count(interface.mtu)),
            Span::raw(bounds),
            Span::raw(units::rate(rates.rx_packets)),
            Span::raw(units::rate(rates.tx_packets)),
            Span::raw(units::rate(rates.rx_dropped)),
            Span::raw(units::rate(rates.tx_dropped)),
            Span::raw(units::rate(rates.rx_errors)),
            Span::raw(units::rate(rates.tx_errors)),
            Span::styled(sparkline(&ctx.history.interface_rx_drop_rate(interface.index), spark, None), ctx.theme.chart),
        ];
        (cells, if dropping { ctx.theme.critical } else { Style::new() })
    });
    if let (Some(pane), Some(view)) =
        (pane, nav.key.and_then(|key| all.iter().find(|i| u64::from(i.interface.index) == key)))
    {
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
        field("link", view.link_name.as_deref().map_or("-".to_string(), |l| sanitize(l).into_owned()), theme),
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

const SOFTNET_COLUMNS: [Column; 6] = [
    Column::text("CPU", 4, 0),
    Column::number("processed/s", 12, 0),
    Column::number("dropped/s", 10, 0),
    Column::number("dropped", 10, 1),
    Column::number("squeezed/s", 11, 2),
    Column::flexible("drops (backlog full: netdev_max_backlog)", 16),
];

fn draw_softnet(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) {
    let cpus = &ctx.model.softnet;
    let keys: Vec<u64> = cpus.iter().map(|cpu| u64::from(cpu.cpu)).collect();
    let table = DataTable {
        title: Line::from(Span::styled(" Softnet backlog per CPU ", ctx.theme.title)),
        columns: &SOFTNET_COLUMNS,
        sorts: &[],
        sort: Sort::default(),
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
        (cells, if dropping { ctx.theme.critical } else { Style::new() })
    });
}
