//! Ephemeral ports: the range, what is reserved or taken by listeners, how much is in use in
//! total, and per destination (each source address → destination address:port pair can use the
//! whole usable range once), with headroom.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{draw_pane, level_style, processes_label, title, unavailable};
use crate::format as units;
use crate::model::{DestinationView, PortsView};
use crate::sample::Source;
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, TableState, ordered};
use crate::tui::widgets::{CellText, Column, DataTable, Drawn, bar, field, key_of};

/// The columns of the destinations table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortColumn {
    /// Source address.
    Source,
    /// Destination address and port.
    Destination,
    /// Sockets toward it.
    Sockets,
    /// Of those, in TIME_WAIT.
    TimeWait,
    /// Connections that still fit.
    Headroom,
    /// Share of the usable range.
    Use,
}

use PortColumn as C;

const COLUMNS: [Column<C>; 6] = [
    Column::text(C::Source, "source", 16, 2),
    Column::name(C::Destination, "destination", 22),
    Column::number(C::Sockets, "sockets", 8, 0),
    Column::number(C::TimeWait, "TIME_WAIT", 9, 1),
    Column::number(C::Headroom, "headroom", 9, 0),
    Column::text(C::Use, "use of range", 18, 0),
];

/// Sorts: most sockets first, headroom, TIME_WAIT, destination.
const SORTABLE: [C; 4] = [C::Sockets, C::Headroom, C::TimeWait, C::Destination];

impl Row for DestinationView {
    type Column = PortColumn;

    fn key(&self) -> u64 {
        let key = &self.key;
        key_of(&format!("{} {} {}", key.local_address, key.remote_address, key.remote_port))
    }

    fn compare(&self, other: &Self, column: C) -> std::cmp::Ordering {
        match column {
            C::Headroom => self.headroom.cmp(&other.headroom),
            C::TimeWait => other.time_wait.cmp(&self.time_wait),
            C::Destination | C::Source => self.key.remote().cmp(&other.key.remote()),
            C::Sockets | C::Use => other.sockets.cmp(&self.sockets),
        }
    }

    fn record(&self) -> Record {
        Record {
            local_address: Some(self.key.local_address.to_string()),
            remote_address: Some(self.key.remote_address.to_string()),
            remote_port: Some(self.key.remote_port),
            ..Record::default()
        }
    }
}

/// The Ports tab.
pub struct Ports {
    table: TableState<C>,
}

impl Default for Ports {
    fn default() -> Self {
        Ports { table: TableState::new(&SORTABLE) }
    }
}

impl Tab for Ports {
    tab_table!(TabId::Ports);

    fn wants_connections(&self) -> bool {
        // A destination's detail counts its sockets by state and owner, from every socket.
        self.table.detail
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        let Some(ports) = &ctx.model.ports else {
            frame.render_widget(unavailable(ctx, "Ephemeral ports", Source::TcpStates), area);
            return None;
        };
        let [summary, rest] = Layout::vertical([Constraint::Length(8), Constraint::Fill(1)]).areas(area);
        let (table_area, pane) = super::split_detail(rest, self.table.detail);
        let range = format!("Ephemeral range {}-{}", ports.range.0, ports.range.1);
        draw_pane(frame, summary, range, summary_lines(ports, ctx), ctx.theme);
        let all = &ports.by_destination;
        let rows = ordered(all, ctx.filter, self.table.sort);
        let row_keys: Vec<u64> = rows.iter().map(|index| all[*index].key()).collect();
        let table = DataTable {
            title: title(
                &format!("Busiest destinations of {}{}", ports.destinations, super::states::walk_age(ctx)),
                rows.len(),
                all.len(),
                ctx,
            ),
            columns: &COLUMNS,
            sorts: &SORTABLE,
            sort: self.table.sort,
            keys: &row_keys,
            focused: true,
            empty: "no outbound TCP connection uses the ephemeral range",
        };
        let clicks = table.draw(frame, table_area, &mut self.table.nav, ctx.theme, |row| {
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
            (cells.into_iter().map(CellText::from).collect(), Style::new())
        });
        if let Some(pane) = pane
            && let Some(destination) = self.table.nav.key.and_then(|k| all.iter().find(|d| d.key() == k))
        {
            let title = format!("{} → {}", destination.key.local_address, destination.key.remote());
            draw_pane(frame, pane, title, details(destination, ctx), ctx.theme);
        }
        Some(clicks)
    }
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
    let label = |text: &'static str| Span::styled(format!("{text:<21} "), theme.muted);
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
