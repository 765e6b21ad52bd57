//! Ephemeral ports: the range, what is reserved or taken by listeners, how much is in use in
//! total, and per destination (each source address → destination address:port pair can use the
//! whole usable range once), with headroom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Ctx, draw_pane, filtered, sort_rows, title};
use std::collections::BTreeMap;

use crate::model::{DestinationView, PortsView};
use crate::sample::Connection;
use crate::tui::app::TableNav;
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, bar, field, key_of};
use crate::units;

const COLUMNS: [Column; 6] = [
    Column::text("source", 16, 2),
    Column::flexible("destination", 22),
    Column::number("sockets", 8, 0),
    Column::number("TIME_WAIT", 9, 1),
    Column::number("headroom", 9, 0),
    Column::text("use of range", 18, 0),
];

/// Sorts: most sockets first, headroom, TIME_WAIT, destination.
pub const SORTS: [SortColumn; 4] = [
    SortColumn { name: "sockets", column: 2 },
    SortColumn { name: "headroom", column: 4 },
    SortColumn { name: "TIME_WAIT", column: 3 },
    SortColumn { name: "destination", column: 1 },
];

fn key(destination: &DestinationView) -> u64 {
    key_of(&format!("{} {} {}", destination.local_address, destination.remote_address, destination.remote_port))
}

/// Draws the Ports view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let Some(ports) = &ctx.view.ports else {
        frame.render_widget(super::overview::unavailable(ctx, "Ephemeral ports", "tcp_states"), area);
        return None;
    };
    let [summary, rest] = Layout::vertical([Constraint::Length(7), Constraint::Fill(1)]).areas(area);
    let (table_area, pane) = super::split_detail(rest, ctx.detail);
    draw_pane(
        frame,
        summary,
        format!("Ephemeral range {}-{}", ports.range.0, ports.range.1),
        summary_lines(ports, ctx),
        ctx.theme,
    );
    let all = &ports.by_destination;
    let mut rows = filtered(ctx.filter, all.len(), |index| {
        let d = &all[index];
        Record {
            local_address: Some(d.local_address.to_string()),
            remote_address: Some(d.remote_address.to_string()),
            remote_port: Some(d.remote_port),
            ..Record::default()
        }
    });
    let keys: Vec<u64> = all.iter().map(key).collect();
    sort_rows(&mut rows, ctx.sort, &keys, |a, b| match SORTS[ctx.sort.column.min(SORTS.len() - 1)].name {
        "headroom" => all[a].headroom.cmp(&all[b].headroom),
        "TIME_WAIT" => all[b].time_wait.cmp(&all[a].time_wait),
        "destination" => (all[a].remote_address, all[a].remote_port).cmp(&(all[b].remote_address, all[b].remote_port)),
        _ => all[b].sockets.cmp(&all[a].sockets),
    });
    let row_keys: Vec<u64> = rows.iter().map(|index| keys[*index]).collect();
    let warning = ctx.config.thresholds.ephemeral_ports_warning;
    let critical = ctx.config.thresholds.ephemeral_ports_critical;
    let table = DataTable {
        title: title(&format!("Busiest destinations of {}", ports.destinations), rows.len(), all.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTS,
        sort: ctx.sort,
        keys: &row_keys,
        focused: true,
        empty: "no outbound TCP connection uses the ephemeral range",
    };
    let clicks = table.draw(frame, table_area, nav, ctx.theme, |row| {
        let d = &all[rows[row]];
        let style = if d.use_ratio >= critical {
            ctx.theme.critical
        } else if d.use_ratio >= warning {
            ctx.theme.warning
        } else {
            Style::new()
        };
        let cells = vec![
            Span::raw(d.local_address.to_string()),
            Span::raw(units::endpoint(d.remote_address, d.remote_port)),
            Span::raw(d.sockets.to_string()),
            Span::raw(d.time_wait.to_string()),
            Span::raw(d.headroom.to_string()),
            Span::styled(format!("{} {:>4}", bar(d.use_ratio, 12), units::percent(d.use_ratio)), style),
        ];
        (cells, Style::new())
    });
    if let Some(pane) = pane
        && let Some(destination) = nav.key.and_then(|k| all.iter().find(|d| key(d) == k))
    {
        let title = format!(
            "{} → {}",
            destination.local_address,
            units::endpoint(destination.remote_address, destination.remote_port)
        );
        draw_pane(frame, pane, title, details(destination, ctx), ctx.theme);
    }
    Some(clicks)
}

/// `NAME count, NAME count`.
fn counts(map: &BTreeMap<String, u64>) -> String {
    map.iter().map(|(name, count)| format!("{name} {count}")).collect::<Vec<_>>().join(", ")
}

/// The sockets toward one destination: how many in each state and which processes own them.
fn details<'a>(destination: &DestinationView, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let mut lines = vec![
        field("sockets", format!("{} ({} in TIME_WAIT)", destination.sockets, destination.time_wait), theme),
        field(
            "headroom",
            format!(
                "{} more connections fit before connect() fails with EADDRNOTAVAIL (use {})",
                destination.headroom,
                units::percent(destination.use_ratio)
            ),
            theme,
        ),
    ];
    let sample = &ctx.snapshot.current;
    let Some(connections) = sample.connections.as_ref() else {
        lines.push(field("by state", "collecting every socket (from the next sample)…", theme));
        return lines;
    };
    let toward: Vec<&Connection> = connections
        .iter()
        .filter(|c| {
            c.local_address == destination.local_address
                && c.remote_address == destination.remote_address
                && c.remote_port == destination.remote_port
        })
        .collect();
    let mut states: BTreeMap<String, u64> = BTreeMap::new();
    let mut owners: BTreeMap<String, u64> = BTreeMap::new();
    let table = sample.processes.as_ref().map(|table| &table.owners);
    for connection in &toward {
        *states.entry(connection.state.name().to_string()).or_default() += 1;
        let owner = table.and_then(|owners| owners.get(&connection.inode)).map(|p| super::processes_label(p));
        *owners.entry(owner.unwrap_or_else(|| "(no owner: TIME_WAIT or closed)".to_string())).or_default() += 1;
    }
    lines.push(field("by state", counts(&states), theme));
    lines.push(field("by process", counts(&owners), theme));
    lines
}

fn summary_lines<'a>(ports: &PortsView, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let used = f64::from(ports.tcp_distinct_ports) / f64::from(ports.usable.max(1));
    let style = if used >= ctx.config.thresholds.ephemeral_ports_critical {
        theme.critical
    } else if used >= ctx.config.thresholds.ephemeral_ports_warning {
        theme.warning
    } else {
        Style::new()
    };
    let listening = if ports.listening_in_range.is_empty() {
        "none".to_string()
    } else {
        let shown: Vec<String> = ports.listening_in_range.iter().take(8).map(u16::to_string).collect();
        let more = ports.listening_in_range.len().saturating_sub(8);
        format!("{}{}", shown.join(" "), if more > 0 { format!(" and {more} more") } else { String::new() })
    };
    let label = |text: &'static str| Span::styled(format!("{text:<22}"), theme.muted);
    vec![
        Line::from(vec![
            label("range"),
            Span::raw(format!(
                "{} ports, {} reserved, {} taken by listeners: ",
                ports.range_size,
                ports.reserved_in_range,
                ports.listening_in_range.len()
            )),
            Span::styled(format!("{} usable", ports.usable), theme.title),
        ]),
        Line::from(vec![label("listeners in range"), Span::raw(listening)]),
        Line::from(vec![
            label("TCP in range"),
            Span::raw(format!("{} sockets on ", ports.tcp_sockets)),
            Span::styled(
                format!(
                    "{} distinct ports {} {} of usable",
                    ports.tcp_distinct_ports,
                    bar(used, 12),
                    units::percent(used)
                ),
                style,
            ),
        ]),
        Line::from(vec![label("UDP in range"), Span::raw(format!("{} sockets", ports.udp_sockets))]),
        Line::from(vec![
            label("destinations"),
            Span::raw(format!(
                "{} — the kernel reuses a local port toward different destinations, so exhaustion is per destination",
                ports.destinations
            )),
        ]),
    ]
}
