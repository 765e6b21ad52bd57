//! Every TCP socket (collected only while this view or States is open) and every UDP socket,
//! filterable and sortable; the row order is computed once per sample, filter or sort, and only
//! the visible rows are formatted. The detail pane shows the selected socket's `tcp_info`.

use std::cmp::Ordering;
use std::net::IpAddr;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{draw_pane, processes_label, title};
use crate::engine::View;
use crate::format as units;
use crate::model::sockets::owners_of;
use crate::sample::{Connection, ProcessRef, Sample, SocketTimer, TcpInfo, TcpState, UdpSocket};
use crate::tui::component::{Ctx, Tab, TabId, tab_table};
use crate::tui::filter::Record;
use crate::tui::table::{Row, SortBy, TableState, ordered};
use crate::tui::widgets::{CellText, Column, DataTable, Drawn, field};

/// The columns of the Connections table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionColumn {
    /// The network namespace (when every namespace is shown).
    Netns,
    /// `tcp` or `udp`.
    Protocol,
    /// TCP state (`UNCONN` for unconnected UDP).
    State,
    /// Local address and port.
    Local,
    /// Remote address and port.
    Peer,
    /// Receive queue.
    RecvQ,
    /// Send queue.
    SendQ,
    /// Smoothed round-trip time.
    Rtt,
    /// Congestion window.
    Cwnd,
    /// Retransmissions over the connection's life.
    Retrans,
    /// Owning processes.
    Process,
    /// The pending timer.
    Timer,
}

use ConnectionColumn as C;

const COLUMNS: [Column<C>; 11] = [
    Column::text(C::Protocol, "proto", 5, 6),
    Column::text(C::State, "state", 11, 0),
    Column::name(C::Local, "local", 18),
    Column::text(C::Peer, "peer", 22, 0),
    Column::number(C::RecvQ, "recv-q", 7, 1),
    Column::number(C::SendQ, "send-q", 7, 1),
    Column::number(C::Rtt, "rtt ms", 7, 3),
    Column::number(C::Cwnd, "cwnd", 5, 5),
    Column::number(C::Retrans, "retrans", 7, 4),
    Column::text(C::Process, "process", 16, 2),
    Column::text(C::Timer, "timer", 15, 6),
];

/// Sorts: state, local port, peer, queues, rtt, retransmissions, process.
const SORTABLE: [C; 8] = [C::State, C::Local, C::Peer, C::RecvQ, C::SendQ, C::Rtt, C::Retrans, C::Process];

/// One row: a TCP socket of the all-states dump or a UDP socket.
enum Socket<'a> {
    Tcp(&'a Connection),
    Udp(&'a UdpSocket),
}

impl Socket<'_> {
    fn cookie(&self) -> u64 {
        match self {
            Socket::Tcp(c) => c.cookie,
            Socket::Udp(u) => u.cookie,
        }
    }
    fn inode(&self) -> u64 {
        match self {
            Socket::Tcp(c) => c.inode,
            Socket::Udp(u) => u.inode,
        }
    }
    fn local(&self) -> (IpAddr, u16) {
        match self {
            Socket::Tcp(c) => (c.local_address, c.local_port),
            Socket::Udp(u) => (u.local_address, u.local_port),
        }
    }
    fn remote(&self) -> (IpAddr, u16) {
        match self {
            Socket::Tcp(c) => (c.remote_address, c.remote_port),
            Socket::Udp(u) => (u.remote_address, u.remote_port),
        }
    }
    fn queues(&self) -> (u32, u32) {
        match self {
            Socket::Tcp(c) => (c.recv_q, c.send_q),
            Socket::Udp(u) => (u.receive_queue, u.send_queue),
        }
    }
    fn state(&self) -> &'static str {
        match self {
            Socket::Tcp(c) => c.state.name(),
            Socket::Udp(u) if u.connected => "ESTABLISHED",
            Socket::Udp(_) => "UNCONN",
        }
    }
    fn protocol(&self) -> &'static str {
        match self {
            Socket::Tcp(_) => "tcp",
            Socket::Udp(_) => "udp",
        }
    }
    fn timer(&self) -> Option<SocketTimer> {
        match self {
            Socket::Tcp(c) => c.timer,
            Socket::Udp(_) => None,
        }
    }
    fn info(&self) -> Option<&TcpInfo> {
        match self {
            Socket::Tcp(c) => c.tcp_info.as_ref(),
            Socket::Udp(_) => None,
        }
    }
}

/// One row of the table: a socket, and the sample's owner table to name its processes. Owners
/// are looked up only for the rows that need them (filtered, sorted by process, or on screen):
/// a lookup per socket on every draw costs milliseconds at 100k sockets.
struct SocketRow<'a> {
    socket: Socket<'a>,
    sample: &'a Sample,
    view: &'a View,
}

impl<'a> SocketRow<'a> {
    fn owners(&self) -> &'a [ProcessRef] {
        owners_of(self.sample, self.socket.inode())
    }
}

/// The sockets of every namespace in scope.
fn rows<'a>(ctx: &Ctx<'a>) -> Vec<SocketRow<'a>> {
    let mut rows = Vec::new();
    for (view, frame) in &ctx.in_scope {
        let sample: &Sample = &frame.sample;
        let tcp = sample.connections.iter().flatten().map(Socket::Tcp);
        let sockets = tcp.chain(sample.udp_sockets.iter().flatten().map(Socket::Udp));
        rows.extend(sockets.map(|socket| SocketRow { socket, sample, view }));
    }
    rows
}

fn endpoint((address, port): (IpAddr, u16)) -> String {
    units::endpoint(address, port)
}

impl Row for SocketRow<'_> {
    type Column = ConnectionColumn;

    fn key(&self) -> u64 {
        self.socket.cookie()
    }

    fn compare(&self, other: &Self, column: C) -> Ordering {
        let (a, b) = (&self.socket, &other.socket);
        let rtt = |s: &Socket<'_>| s.info().and_then(|info| info.rtt).unwrap_or(0);
        let retrans = |s: &Socket<'_>| s.info().and_then(|info| info.total_retrans).unwrap_or(0);
        let state_rank = |s: &Socket<'_>| match s {
            Socket::Tcp(c) => c.state as u8,
            Socket::Udp(_) => u8::MAX,
        };
        match column {
            C::Local => (a.local().1, a.local().0).cmp(&(b.local().1, b.local().0)),
            C::Peer => a.remote().cmp(&b.remote()),
            C::RecvQ => b.queues().0.cmp(&a.queues().0),
            C::SendQ => b.queues().1.cmp(&a.queues().1),
            C::Rtt => rtt(b).cmp(&rtt(a)),
            C::Retrans => retrans(b).cmp(&retrans(a)),
            C::Process => processes_label(self.owners()).cmp(&processes_label(other.owners())),
            C::State | C::Protocol | C::Cwnd | C::Timer | C::Netns => {
                state_rank(a).cmp(&state_rank(b)).then(a.local().1.cmp(&b.local().1))
            }
        }
    }

    fn record(&self) -> Record {
        let (local, local_port) = self.socket.local();
        let (remote, remote_port) = self.socket.remote();
        Record {
            local_address: Some(local.to_string()),
            local_port: Some(local_port),
            remote_address: Some(remote.to_string()),
            remote_port: Some(remote_port),
            state: Some(self.socket.state()),
            processes: super::process_fields(self.owners()),
            text: vec![self.socket.protocol().to_string()],
            netns: super::netns_fields(&self.view.netns),
        }
    }
}

/// What a row order was computed for: scene generation, namespaces in scope, filter, sort.
type Computed = (u64, Vec<u64>, String, Option<SortBy<C>>);

/// A row order computed once per change of frame, filter or sort (sorting 100k sockets on
/// every key press would make scrolling sluggish).
#[derive(Debug, Clone, Default)]
struct RowCache {
    /// What the order was computed for: scene generation, namespaces in scope, filter text,
    /// sort.
    computed_for: Option<Computed>,
    /// Row indices in display order.
    rows: Vec<usize>,
    /// Row identities in display order.
    keys: Vec<u64>,
}

impl RowCache {
    /// The row order for this frame, filter and sort, recomputed only when one of them changed.
    fn refresh(&mut self, ctx: &Ctx<'_>, all: &[SocketRow<'_>], sort: Option<SortBy<C>>) {
        let namespaces = ctx.in_scope.iter().map(|(view, _)| view.netns.inode).collect();
        let wanted = (ctx.generation, namespaces, ctx.filter.text().to_string(), sort);
        if self.computed_for.as_ref() == Some(&wanted) {
            return;
        }
        self.rows = ordered(all, ctx.filter, sort);
        self.keys = self.rows.iter().map(|index| all[*index].key()).collect();
        self.computed_for = Some(wanted);
    }
}

/// The Connections tab: every TCP socket (collected only while this tab or States is open) and
/// every UDP socket.
pub struct Connections {
    table: TableState<C>,
    cache: RowCache,
}

impl Default for Connections {
    fn default() -> Self {
        Connections { table: TableState::new(&SORTABLE), cache: RowCache::default() }
    }
}

impl Tab for Connections {
    tab_table!(TabId::Connections);

    fn wants_connections(&self) -> bool {
        true
    }

    fn merges_namespaces(&self) -> bool {
        true
    }

    fn draw(&mut self, frame: &mut Frame, area: Rect, ctx: &Ctx<'_>) -> Option<Drawn> {
        draw(frame, area, ctx, &mut self.table, &mut self.cache)
    }
}

fn draw(
    frame: &mut Frame,
    area: Rect,
    ctx: &Ctx<'_>,
    state: &mut TableState<C>,
    cache: &mut RowCache,
) -> Option<Drawn> {
    let sample = ctx.sample;
    let sockets = rows(ctx);
    cache.refresh(ctx, &sockets, state.sort);
    let (table_area, pane) = super::split_detail(area, state.detail);
    let collecting = sample.connections.is_none();
    let empty = if collecting {
        ctx.sockets_missing("collecting every TCP socket (from the next sample)…")
    } else if sockets.is_empty() {
        "no TCP or UDP sockets"
    } else {
        "no socket matches the filter"
    };
    let netns_column = ctx.all.then_some(Column::text(C::Netns, "netns", 20, 1));
    let columns: Vec<Column<C>> = netns_column.into_iter().chain(COLUMNS).collect();
    let name = match (collecting, ctx.replay) {
        (true, false) => "Sockets (UDP only until the next sample)",
        (true, true) => "Sockets (UDP only: TCP sockets not recorded)",
        (false, _) => "Sockets",
    };
    let table = DataTable {
        title: title(name, cache.rows.len(), sockets.len(), ctx),
        columns: &columns,
        sorts: &SORTABLE,
        sort: state.sort,
        keys: &cache.keys,
        focused: true,
        empty,
    };
    let clicks = table.draw(frame, table_area, &mut state.nav, ctx.theme, |row| {
        let socket_row = &sockets[cache.rows[row]];
        let socket = &socket_row.socket;
        let info = socket.info();
        let (recv_q, send_q) = socket.queues();
        let retransmitting = info.is_some_and(TcpInfo::retransmitting);
        let netns = ctx.all.then(|| CellText::name(super::netns_cell(&socket_row.view.netns)));
        let cells = netns.into_iter().chain(
            [
                Span::raw(socket.protocol()),
                Span::raw(socket.state()),
                Span::raw(endpoint(socket.local())),
                Span::raw(endpoint(socket.remote())),
                Span::raw(recv_q.to_string()),
                Span::raw(send_q.to_string()),
                Span::raw(
                    info.and_then(|i| i.rtt).map_or("-".to_string(), |rtt| format!("{:.1}", f64::from(rtt) / 1000.0)),
                ),
                Span::raw(units::count(info.and_then(|i| i.snd_cwnd))),
                Span::raw(units::count(info.and_then(|i| i.total_retrans))),
            ]
            .map(CellText::from),
        );
        let cells = cells.chain([
            super::owners_cell(socket_row.owners(), false),
            socket.timer().map_or_else(String::new, timer_label).into(),
        ]);
        (cells.collect(), if retransmitting { ctx.theme.warning } else { Style::new() })
    });
    if let Some(pane) = pane
        && let Some(row) = state.nav.key.and_then(|key| sockets.iter().find(|row| row.key() == key))
    {
        let socket = &row.socket;
        let title = format!("{} {} → {}", socket.protocol(), endpoint(socket.local()), endpoint(socket.remote()));
        draw_pane(frame, pane, title, details(row, ctx), ctx.theme);
    }
    Some(clicks)
}

fn details<'a>(row: &SocketRow<'_>, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let socket = &row.socket;
    let (recv_q, send_q) = socket.queues();
    let mut lines = vec![
        field("state", socket.state(), theme),
        field("processes", processes_label(row.owners()), theme),
        field("queues", format!("recv-q {recv_q}  send-q {send_q}"), theme),
        field("inode / cookie", format!("{} / {:#x}", socket.inode(), socket.cookie()), theme),
        field("timer", socket.timer().map_or_else(|| "none pending".to_string(), timer_label), theme),
    ];
    match socket {
        Socket::Tcp(connection) => {
            if let Some(memory) = &connection.memory {
                lines.push(field(
                    "memory",
                    format!(
                        "rmem {} of {}, wmem queued {} of {}",
                        units::bytes(u64::from(memory.rmem_alloc)),
                        units::bytes(u64::from(memory.rcvbuf)),
                        units::bytes(u64::from(memory.wmem_queued)),
                        units::bytes(u64::from(memory.sndbuf))
                    ),
                    theme,
                ));
            }
            match &connection.tcp_info {
                Some(info) => lines.extend(tcp_info_lines(info, ctx)),
                None if connection.state == TcpState::TimeWait || connection.inode == 0 => lines.push(field(
                    "tcp_info",
                    "none: the kernel keeps no tcp_info for TIME_WAIT and request sockets",
                    theme,
                )),
                None => lines.push(field("tcp_info", "not reported for this socket", theme)),
            }
        }
        Socket::Udp(udp) => {
            lines.push(field("drops", units::count(udp.drops), theme));
            lines.push(field(
                "receive buffer",
                udp.rcvbuf.map_or("-".to_string(), |b| units::bytes(u64::from(b))),
                theme,
            ));
        }
    }
    lines
}

/// A pending timer as `ss -o` names it, with the time left: `timewait 42s`, `on 204ms`.
fn timer_label(timer: SocketTimer) -> String {
    let left = if timer.expires_ms < 1000 {
        format!("{}ms", timer.expires_ms)
    } else {
        units::duration(u64::from(timer.expires_ms / 1000))
    };
    format!("{} {left}", timer.kind.ss_name())
}

fn micros(value: Option<u32>) -> String {
    value.map_or("-".to_string(), |us| format!("{:.2} ms", f64::from(us) / 1000.0))
}

fn per_second(value: Option<u64>) -> String {
    value.map_or("-".to_string(), |bytes| format!("{}/s", units::bytes(bytes)))
}

fn tcp_info_lines<'a>(info: &TcpInfo, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    vec![
        field("rtt", format!("{} ± {}, min {}", micros(info.rtt), micros(info.rttvar), micros(info.min_rtt)), theme),
        field("rto / ato", format!("{} / {}", micros(info.rto), micros(info.ato)), theme),
        field(
            "cwnd / ssthresh",
            format!("{} / {} segments", units::count(info.snd_cwnd), units::count(info.snd_ssthresh)),
            theme,
        ),
        field(
            "mss / pmtu",
            format!(
                "send {} recv {} adv {} / {}",
                units::count(info.snd_mss),
                units::count(info.rcv_mss),
                units::count(info.advmss),
                units::count(info.pmtu)
            ),
            theme,
        ),
        field(
            "retransmits",
            format!(
                "now {} backoff {}, total {}, lost {}, unacked {}",
                units::count(info.retransmits),
                units::count(info.backoff),
                units::count(info.total_retrans),
                units::count(info.lost),
                units::count(info.unacked)
            ),
            theme,
        ),
        field(
            "bytes",
            format!(
                "acked {} received {} not sent {}",
                info.bytes_acked.map_or("-".to_string(), units::bytes),
                info.bytes_received.map_or("-".to_string(), units::bytes),
                info.notsent_bytes.map_or("-".to_string(), |b| units::bytes(u64::from(b)))
            ),
            theme,
        ),
        field("segments", format!("out {} in {}", units::count(info.segs_out), units::count(info.segs_in)), theme),
        field(
            "rates",
            format!("delivery {} pacing {}", per_second(info.delivery_rate), per_second(info.pacing_rate)),
            theme,
        ),
        field(
            "limited (µs)",
            format!(
                "busy {} rwnd {} sndbuf {}",
                units::count(info.busy_time),
                units::count(info.rwnd_limited),
                units::count(info.sndbuf_limited)
            ),
            theme,
        ),
        field(
            "rcv space",
            format!("{} ssthresh {}", units::count(info.rcv_space), units::count(info.rcv_ssthresh)),
            theme,
        ),
    ]
}
