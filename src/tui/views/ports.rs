//! Ephemeral ports: the range, what is reserved or taken by listeners, how much is in use in
//! total, and per destination (each source address → destination address:port pair can use the
//! whole usable range once), with headroom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Ctx, draw_pane, filtered, level_style, processes_label, sort_rows, title};
use crate::model::{DestinationView, PortsView};
use crate::render::format as units;
use crate::tui::app::TableNav;
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, bar, field, key_of};

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
    key_of(&destination.key.to_string())
}

/// Draws the Ports view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav) -> Option<Drawn> {
    let Some(ports) = &ctx.model.ports else {
        frame.render_widget(super::overview::unavailable(ctx, "Ephemeral ports", "tcp_states"), area);
        return None;
    };
    let [summary, rest] = Layout::vertical([Constraint::Length(8), Constraint::Fill(1)]).areas(area);
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
            local_address: Some(d.key.local_address.to_string()),
            remote_address: Some(d.key.remote_address.to_string()),
            remote_port: Some(d.key.remote_port),
            ..Record::default()
        }
    });
    let keys: Vec<u64> = all.iter().map(key).collect();
    sort_rows(&mut rows, ctx.sort, &keys, |a, b| match SORTS[ctx.sort.column.min(SORTS.len() - 1)].name {
        "headroom" => all[a].headroom.cmp(&all[b].headroom),
        "TIME_WAIT" => all[b].time_wait.cmp(&all[a].time_wait),
        "destination" => all[a].key.remote().cmp(&all[b].key.remote()),
        _ => all[b].sockets.cmp(&all[a].sockets),
    });
    let row_keys: Vec<u64> = rows.iter().map(|index| keys[*index]).collect();
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
        let style = level_style(d.level, ctx.theme);
        let cells = vec![
            Span::raw(d.key.local_address.to_string()),
            Span::raw(d.key.remote().to_string()),
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
        let title = format!("{} → {}", destination.key.local_address, destination.key.remote());
        draw_pane(frame, pane, title, details(destination, ctx), ctx.theme);
    }
    Some(clicks)
}

/// The sockets toward one destination: how many in each state and which processes own them,
/// as the model counted them from the per-socket dump.
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
    let Some(detail) = &destination.detail else {
        lines.push(field("by state", "collecting every socket (from the next sample)…", theme));
        return lines;
    };
    let states: Vec<String> =
        detail.by_state.iter().map(|(state, count)| format!("{} {count}", state.name())).collect();
    let owners: Vec<String> = detail
        .by_owner
        .iter()
        .map(|(owners, count)| {
            let name =
                if owners.is_empty() { "(no owner: TIME_WAIT or closed)".to_string() } else { processes_label(owners) };
            format!("{name} {count}")
        })
        .collect();
    lines.push(field("by state", states.join(", "), theme));
    lines.push(field("by process", owners.join(", "), theme));
    lines
}

fn summary_lines<'a>(ports: &PortsView, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let headline = &ports.headline;
    let style = level_style(headline.level, theme);
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
            label("fullest destination"),
            Span::styled(
                format!(
                    "{} {} of usable ({} sockets)",
                    bar(headline.fullest_share, 12),
                    units::percent(headline.fullest_share),
                    headline.fullest_sockets
                ),
                style,
            ),
        ]),
        Line::from(vec![
            label("TCP in range"),
            Span::raw(format!(
                "{} sockets on {} distinct ports ({} of usable, reused across destinations)",
                ports.tcp_sockets,
                ports.tcp_distinct_ports,
                units::percent(headline.distinct_share)
            )),
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
