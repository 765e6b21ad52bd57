//! Every TCP socket (collected only while this view or States is open) and every UDP socket,
//! filterable and sortable; the row order is computed once per sample, filter or sort, and only
//! the visible rows are formatted. The detail pane shows the selected socket's `tcp_info`.

use std::cmp::Ordering;
use std::net::IpAddr;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Ctx, draw_pane, filtered, processes_label, sort_rows, title};
use crate::render::format as units;
use crate::sample::TcpInfo;
use crate::sample::{Connection, ProcessRef, Sample, SocketTimer, TcpState, UdpSocket};
use crate::tui::app::{RowCache, TableNav};
use crate::tui::filter::Record;
use crate::tui::widgets::{Column, DataTable, Drawn, SortColumn, field};

const COLUMNS: [Column; 11] = [
    Column::text("proto", 5, 6),
    Column::text("state", 11, 0),
    Column::flexible("local", 18),
    Column::text("peer", 22, 0),
    Column::number("recv-q", 7, 1),
    Column::number("send-q", 7, 1),
    Column::number("rtt ms", 7, 3),
    Column::number("cwnd", 5, 5),
    Column::number("retrans", 7, 4),
    Column::text("process", 16, 2),
    Column::text("timer", 15, 6),
];

/// Sorts: state, local port, peer, queues, rtt, retransmissions, process.
pub const SORTS: [SortColumn; 8] = [
    SortColumn { name: "state", column: 1 },
    SortColumn { name: "local", column: 2 },
    SortColumn { name: "peer", column: 3 },
    SortColumn { name: "recv-q", column: 4 },
    SortColumn { name: "send-q", column: 5 },
    SortColumn { name: "rtt", column: 6 },
    SortColumn { name: "retrans", column: 8 },
    SortColumn { name: "process", column: 9 },
];

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

fn sockets(sample: &Sample) -> Vec<Socket<'_>> {
    let tcp = sample.connections.iter().flatten().map(Socket::Tcp);
    tcp.chain(sample.udp_sockets.iter().flatten().map(Socket::Udp)).collect()
}

fn owners<'a>(sample: &'a Sample, socket: &Socket<'_>) -> &'a [ProcessRef] {
    let inode = socket.inode();
    if inode == 0 {
        return &[];
    }
    sample.processes.as_ref().and_then(|table| table.owners.get(&inode)).map_or(&[], Vec::as_slice)
}

fn endpoint((address, port): (IpAddr, u16)) -> String {
    units::endpoint(address, port)
}

fn record(sample: &Sample, socket: &Socket<'_>) -> Record {
    let (local, local_port) = socket.local();
    let (remote, remote_port) = socket.remote();
    Record {
        local_address: Some(local.to_string()),
        local_port: Some(local_port),
        remote_address: Some(remote.to_string()),
        remote_port: Some(remote_port),
        state: Some(socket.state()),
        processes: super::process_fields(owners(sample, socket)),
        text: vec![socket.protocol().to_string()],
    }
}

/// The row order for this snapshot, filter and sort, from the cache when nothing changed.
fn order<'c>(ctx: &Ctx<'_>, sockets: &[Socket<'_>], cache: &'c mut RowCache) -> &'c RowCache {
    let wanted = (ctx.frame.generation, ctx.filter.text().to_string(), ctx.sort);
    if cache.computed_for.as_ref() == Some(&wanted) {
        return cache;
    }
    let sample = ctx.sample;
    let mut rows = filtered(ctx.filter, sockets.len(), |index| record(sample, &sockets[index]));
    let keys: Vec<u64> = sockets.iter().map(Socket::cookie).collect();
    let rtt = |s: &Socket<'_>| s.info().and_then(|info| info.rtt).unwrap_or(0);
    let retrans = |s: &Socket<'_>| s.info().and_then(|info| info.total_retrans).unwrap_or(0);
    let state_rank = |s: &Socket<'_>| match s {
        Socket::Tcp(c) => c.state as u8,
        Socket::Udp(_) => u8::MAX,
    };
    let column = SORTS[ctx.sort.column.min(SORTS.len() - 1)].name;
    sort_rows(&mut rows, ctx.sort, &keys, |a, b| {
        let (a, b) = (&sockets[a], &sockets[b]);
        match column {
            "local" => (a.local().1, a.local().0).cmp(&(b.local().1, b.local().0)),
            "peer" => a.remote().cmp(&b.remote()),
            "recv-q" => b.queues().0.cmp(&a.queues().0),
            "send-q" => b.queues().1.cmp(&a.queues().1),
            "rtt" => rtt(b).cmp(&rtt(a)),
            "retrans" => retrans(b).cmp(&retrans(a)),
            "process" => processes_label(owners(sample, a)).cmp(&processes_label(owners(sample, b))),
            _ => state_rank(a).cmp(&state_rank(b)).then(a.local().1.cmp(&b.local().1)).then(Ordering::Equal),
        }
    });
    cache.keys = rows.iter().map(|index| keys[*index]).collect();
    cache.rows = rows;
    cache.computed_for = Some(wanted);
    cache
}

/// Draws the Connections view.
pub fn draw(frame: &mut Frame, area: Rect, ctx: &Ctx<'_>, nav: &mut TableNav, cache: &mut RowCache) -> Option<Drawn> {
    let sample = ctx.sample;
    let sockets = sockets(sample);
    let cache = order(ctx, &sockets, cache);
    let (table_area, pane) = super::split_detail(area, ctx.detail);
    let collecting = sample.connections.is_none();
    let empty = if collecting {
        "collecting every TCP socket (from the next sample)…"
    } else if sockets.is_empty() {
        "no TCP or UDP sockets"
    } else {
        "no socket matches the filter"
    };
    let name = if collecting { "Sockets (UDP only until the next sample)" } else { "Sockets" };
    let table = DataTable {
        title: title(name, cache.rows.len(), sockets.len(), ctx),
        columns: &COLUMNS,
        sorts: &SORTS,
        sort: ctx.sort,
        keys: &cache.keys,
        focused: true,
        empty,
    };
    let clicks = table.draw(frame, table_area, nav, ctx.theme, |row| {
        let socket = &sockets[cache.rows[row]];
        let info = socket.info();
        let (recv_q, send_q) = socket.queues();
        let retransmitting = info.is_some_and(|i| i.retransmits.unwrap_or(0) > 0 || i.backoff.unwrap_or(0) > 0);
        let cells = vec![
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
            Span::raw(processes_label(owners(sample, socket))),
            Span::raw(socket.timer().map_or_else(String::new, timer_label)),
        ];
        (cells, if retransmitting { ctx.theme.warning } else { Style::new() })
    });
    if let Some(pane) = pane
        && let Some(socket) = nav.key.and_then(|key| sockets.iter().find(|s| s.cookie() == key))
    {
        let title = format!("{} {} → {}", socket.protocol(), endpoint(socket.local()), endpoint(socket.remote()));
        draw_pane(frame, pane, title, details(sample, socket, ctx), ctx.theme);
    }
    Some(clicks)
}

fn details<'a>(sample: &Sample, socket: &Socket<'_>, ctx: &Ctx<'_>) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let (recv_q, send_q) = socket.queues();
    let mut lines = vec![
        field("state", socket.state(), theme),
        field("processes", processes_label(owners(sample, socket)), theme),
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
