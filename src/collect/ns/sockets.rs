//! Socket collectors over sock_diag: TCP listeners, the all-states TCP summary, UDP sockets and
//! UNIX listeners.
//!
//! Each collector asks the kernel for as little as it needs: listeners come from a LISTEN-only
//! dump (the kernel walks just the listening hash) with `tcp_info` and memory; the TCP summary
//! comes from one dump of all states without attributes and keeps counts, not sockets.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::unix::{ShowFlags, StateFlags as UnixStates, UnixRequest};

use super::flows as flow;
use super::inet_diag::{self, ALL_STATES, IPPROTO_TCP, IPPROTO_UDP, InetDiagMsg, LISTEN_ONLY, Query};
use super::netlink::{Attributes, DumpError, DumpSocket, DumpStats};
use crate::sample::FlowSummary;

use crate::sample::{
    CloseWaitSocket, Connection, DestinationPorts, EphemeralPorts, Family, SocketTimer, SynRecvGroup, TcpListener,
    TcpState, TcpSummary, TimerKind, UdpSocket, UnixListener,
};

use inet_diag::SOCK_DIAG_BY_FAMILY;

/// What one socket collector produced: its data (if any family could be read), the failures
/// (one line per family or dump), and the malformed-message count.
#[derive(Debug)]
pub(crate) struct Collected<T> {
    /// The data; `None` when nothing could be read.
    pub(crate) data: Option<T>,
    /// One reason per failed dump.
    pub(crate) failures: Vec<String>,
    /// Messages skipped because they could not be decoded.
    pub(crate) malformed: u64,
    /// Dumps the kernel marked inconsistent (`NLM_F_DUMP_INTR`).
    pub(crate) interrupted: u64,
    /// CPU seconds spent on helper threads (a split walk's other parts).
    pub(crate) helper_cpu_seconds: f64,
}

/// Runs `dump` for IPv4 and IPv6, collecting failures per family.
fn per_family<T>(
    mut dump: impl FnMut(Family) -> Result<DumpStats, DumpError>,
    data: impl FnOnce() -> T,
) -> Collected<T> {
    let mut failures = Vec::new();
    let mut malformed = 0;
    let mut interrupted = 0;
    let mut any_ok = false;
    for family in [Family::Ipv4, Family::Ipv6] {
        match dump(family) {
            Ok(stats) => {
                any_ok = true;
                malformed += stats.malformed;
                interrupted += u64::from(stats.interrupted);
            }
            Err(error) => failures.push(format!("{}: {}", family_label(family), error)),
        }
    }
    Collected { data: any_ok.then(data), failures, malformed, interrupted, helper_cpu_seconds: 0.0 }
}

fn family_label(family: Family) -> &'static str {
    match family {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// Dumps every TCP listener with `tcp_info` and socket memory.
pub(crate) fn tcp_listeners(socket: &mut DumpSocket) -> Collected<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let collected = per_family(
        |family| {
            let query = Query { family, protocol: IPPROTO_TCP, states: LISTEN_ONLY, tcp_info: true, memory: true };
            socket.dump(inet_diag::request(query), |kind, body| {
                decode_listener(kind, body).map(|listener| listeners.push(listener)).is_some()
            })
        },
        || (),
    );
    listeners.sort_by(|a, b| {
        (a.local_port, a.family, a.local_address, a.cookie).cmp(&(b.local_port, b.family, b.local_address, b.cookie))
    });
    Collected {
        data: collected.data.map(|()| listeners),
        failures: collected.failures,
        malformed: collected.malformed,
        interrupted: collected.interrupted,
        helper_cpu_seconds: collected.helper_cpu_seconds,
    }
}

pub(crate) fn decode_listener(kind: u16, body: &[u8]) -> Option<TcpListener> {
    let message = inet_reply(kind, body)?;
    let extras = inet_diag::extras(&message);
    if extras.malformed {
        return None;
    }
    Some(TcpListener {
        family: message.family(),
        local_address: message.local_address(),
        local_port: message.local_port(),
        bound_interface: message.interface(),
        accept_queue: message.rqueue(),
        backlog: message.wqueue(),
        drops: extras.memory.and_then(|memory| memory.drops),
        inode: message.inode(),
        uid: message.uid(),
        cookie: message.cookie(),
        v6only: extras.v6only,
        memory: extras.memory,
        tcp_info: extras.tcp_info,
    })
}

/// The header of one reply to a `SOCK_DIAG_BY_FAMILY` or (same layout) `TCPDIAG_GETSOCK` request.
fn inet_reply(kind: u16, body: &[u8]) -> Option<InetDiagMsg<'_>> {
    if kind != SOCK_DIAG_BY_FAMILY && kind != inet_diag::TCPDIAG_GETSOCK {
        return None;
    }
    InetDiagMsg::parse(body)
}

/// What the all-states dump keeps besides the counts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extras {
    /// Summarise established flows (needs `tcp_info` and memory).
    pub flows: bool,
    /// Keep every socket as a [`Connection`] (with `tcp_info` and memory where the kernel has them).
    pub connections: bool,
}

/// What the all-states dump yields: counts, and the extras asked for.
pub(crate) type SummaryParts = (TcpSummary, Option<FlowSummary>, Option<Vec<Connection>>);

/// How the all-states walk is asked for: the accounting inputs and how many dumps share it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walk<'a> {
    /// The ephemeral port range to account against.
    pub range: Option<(u16, u16)>,
    /// Ports of local listeners, whose children and request sockets are not ephemeral-port users.
    pub listen_ports: &'a HashSet<u16>,
    /// What to keep besides the counts.
    pub extras: Extras,
    /// How many dumps run side by side, each on a thread and a netlink socket of its own, each
    /// filtered by the kernel to a disjoint part of the table ([`inet_diag::port_partitions`]).
    pub parts: u16,
}

/// The ephemeral range a split walk cuts its parts over when the setting is unknown (the
/// kernel's default).
const DEFAULT_RANGE: (u16, u16) = (32768, 60999);

/// Dumps every TCP socket and reduces them to counts.
///
/// One `TCPDIAG_GETSOCK` dump covers both families in one walk of the kernel's table (two
/// `SOCK_DIAG_BY_FAMILY` dumps walk it twice); a kernel that refuses it gets the per-family
/// dumps. No attribute is asked for unless every connection is kept: the established flows'
/// `tcp_info` comes from exact lookups of the few flows the advisor reads ([`lookup_flows`]).
pub(crate) fn tcp_summary(socket: &mut DumpSocket, walk: Walk<'_>) -> Collected<SummaryParts> {
    let attributes = walk.extras.connections;
    let parts = if walk.parts > 1 {
        inet_diag::port_partitions(walk.parts, walk.range.unwrap_or(DEFAULT_RANGE))
    } else {
        vec![Vec::new()]
    };
    let mut reader = AllStates::new(walk.range, walk.listen_ports, walk.extras);
    let mut collected = match split_dump(socket, &parts, attributes, walk) {
        Ok((part_reader, stats)) => {
            reader = part_reader;
            Collected {
                data: Some(()),
                failures: Vec::new(),
                malformed: stats.malformed,
                interrupted: stats.interrupted,
                helper_cpu_seconds: stats.helper_cpu_seconds,
            }
        }
        Err(_) => per_family(
            |family| {
                let query = Query {
                    family,
                    protocol: IPPROTO_TCP,
                    states: ALL_STATES,
                    tcp_info: attributes,
                    memory: attributes,
                };
                socket.dump(inet_diag::request(query), |kind, body| reader.add(kind, body))
            },
            || (),
        ),
    };
    if collected.data.is_some() {
        collected.malformed += lookup_flows(socket, &mut reader);
    }
    Collected {
        data: collected.data.map(|()| reader.finish()),
        failures: collected.failures,
        malformed: collected.malformed,
        interrupted: collected.interrupted,
        helper_cpu_seconds: collected.helper_cpu_seconds,
    }
}

/// `EINVAL` and `EIO`, for a split walk that could not run or lost a part.
const EINVAL: i32 = 22;
const EIO: i32 = 5;

/// Totals of a dump split over threads.
#[derive(Debug, Default)]
struct SplitStats {
    malformed: u64,
    interrupted: u64,
    helper_cpu_seconds: f64,
}

/// Runs one `TCPDIAG_GETSOCK` dump per filter in `parts`, the first on `socket` and the rest
/// each on a thread with a socket of its own (threads share the caller's namespace), and merges
/// what they read.
fn split_dump<'a>(
    socket: &mut DumpSocket,
    parts: &[Vec<u8>],
    attributes: bool,
    walk: Walk<'a>,
) -> Result<(AllStates<'a>, SplitStats), DumpError> {
    let dump_part = |socket: &mut DumpSocket, filter: &[u8]| {
        let mut reader = AllStates::new(walk.range, walk.listen_ports, walk.extras);
        let body = inet_diag::both_families_request(
            ALL_STATES,
            attributes,
            attributes,
            Some(filter).filter(|f| !f.is_empty()),
        );
        socket
            .dump_bytes(inet_diag::TCPDIAG_GETSOCK, &body, |kind, body| reader.add(kind, body))
            .map(|stats| (reader, stats))
    };
    let (first, rest) = parts.split_first().ok_or(DumpError::Kernel(EINVAL))?;
    type Part<'a> = Result<(AllStates<'a>, DumpStats, f64), DumpError>;
    let results: Vec<Part<'a>> = std::thread::scope(|scope| {
        let handles: Vec<_> = rest
            .iter()
            .map(|filter| {
                scope.spawn(move || {
                    let cpu_started = super::thread_cpu_seconds();
                    let mut own = DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG)?;
                    let result = dump_part(&mut own, filter);
                    result.map(|(reader, stats)| (reader, stats, super::thread_cpu_seconds() - cpu_started))
                })
            })
            .collect();
        let mut results = vec![dump_part(socket, first).map(|(reader, stats)| (reader, stats, 0.0))];
        for handle in handles {
            // A part whose thread panicked fails the split walk like a failed dump.
            results.push(handle.join().unwrap_or(Err(DumpError::Kernel(EIO))));
        }
        results
    });
    let mut merged: Option<AllStates<'a>> = None;
    let mut stats = SplitStats::default();
    for result in results {
        let (reader, part, cpu) = result?;
        stats.helper_cpu_seconds += cpu;
        stats.malformed += part.malformed;
        stats.interrupted += u64::from(part.interrupted);
        match merged.as_mut() {
            None => merged = Some(reader),
            Some(all) => all.absorb(reader),
        }
    }
    merged.map(|all| (all, stats)).ok_or(DumpError::Kernel(EINVAL))
}

/// Reads the `tcp_info` and memory of the flow candidates the walk picked, one exact lookup
/// each (a hash lookup in the kernel, no walk); returns how many answers could not be decoded.
/// A flow that closed since the walk is simply absent.
fn lookup_flows(socket: &mut DumpSocket, reader: &mut AllStates<'_>) -> u64 {
    let Some(candidates) = reader.candidates.take() else { return 0 };
    let mut malformed = 0;
    let summary = reader.flows.get_or_insert_with(FlowSummary::default);
    for candidate in candidates.into_ordered() {
        let answer = socket.request_one(SOCK_DIAG_BY_FAMILY, &candidate, |kind, body| match inet_reply(kind, body) {
            Some(message) => {
                flow::add_message(summary, &message);
                true
            }
            None => false,
        });
        if let Ok(stats) = answer {
            malformed += stats.malformed;
        }
    }
    malformed
}

/// Reads the replies of the all-states dump one at a time into counts and the extras asked for.
pub(crate) struct AllStates<'a> {
    builder: SummaryBuilder<'a>,
    flows: Option<FlowSummary>,
    candidates: Option<flow::Candidates>,
    connections: Option<Vec<Connection>>,
}

impl<'a> AllStates<'a> {
    /// A reader accounting ephemeral ports against `range`, not counting `listen_ports`.
    pub(crate) fn new(range: Option<(u16, u16)>, listen_ports: &'a HashSet<u16>, extras: Extras) -> AllStates<'a> {
        // With every connection kept, the dump itself carries each flow's tcp_info.
        let whole = extras.flows && extras.connections;
        AllStates {
            builder: SummaryBuilder::new(range, listen_ports),
            flows: whole.then(FlowSummary::default),
            candidates: (extras.flows && !whole).then(flow::Candidates::default),
            connections: extras.connections.then(Vec::new),
        }
    }

    /// Takes one reply; `false` when it is not a TCP socket sockscope can read.
    pub(crate) fn add(&mut self, kind: u16, body: &[u8]) -> bool {
        let Some(message) = inet_reply(kind, body) else { return false };
        if message.state() == 1 {
            if let Some(summary) = self.flows.as_mut() {
                flow::add_message(summary, &message);
            }
            if let Some(candidates) = self.candidates.as_mut() {
                candidates.consider(&message);
            }
        }
        if let Some(list) = self.connections.as_mut() {
            list.extend(connection(&message));
        }
        self.builder.add(&message)
    }

    /// Adds what another part of a split walk read.
    fn absorb(&mut self, other: AllStates<'a>) {
        self.builder.absorb(other.builder);
        if let (Some(mine), Some(theirs)) = (self.flows.as_mut(), other.flows) {
            flow::absorb(mine, theirs);
        }
        if let (Some(mine), Some(theirs)) = (self.candidates.as_mut(), other.candidates) {
            mine.absorb(theirs);
        }
        if let (Some(mine), Some(theirs)) = (self.connections.as_mut(), other.connections) {
            mine.extend(theirs);
        }
    }

    /// The counts and extras of every reply taken.
    pub(crate) fn finish(self) -> SummaryParts {
        let established = self.builder.summary.states.get(TcpState::Established);
        let flows = self.flows.map(|mut flows| {
            flows.established = established;
            flow::finish(flows)
        });
        (self.builder.finish(), flows, self.connections)
    }
}

/// One socket of the all-states dump as a [`Connection`]; `None` for an unknown state. A socket
/// whose attributes cannot be decoded is kept without them, as it is counted in the states.
fn connection(message: &InetDiagMsg<'_>) -> Option<Connection> {
    let state = TcpState::from_kernel(message.state())?;
    let extras = inet_diag::extras(message);
    let (tcp_info, memory) = if extras.malformed { (None, None) } else { (extras.tcp_info, extras.memory) };
    Some(Connection {
        family: message.family(),
        state,
        local_address: message.local_address().to_canonical(),
        local_port: message.local_port(),
        remote_address: message.remote_address().to_canonical(),
        remote_port: message.remote_port(),
        recv_q: message.rqueue(),
        send_q: message.wqueue(),
        inode: message.inode(),
        uid: message.uid(),
        cookie: message.cookie(),
        retrans: message.retrans(),
        timer: TimerKind::from_kernel(message.timer()).map(|kind| SocketTimer { kind, expires_ms: message.expires() }),
        tcp_info,
        memory,
    })
}

/// Accumulates the all-states dump into counts, one socket at a time.
struct SummaryBuilder<'a> {
    summary: TcpSummary,
    listen_ports: &'a HashSet<u16>,
    syn_recv: HashMap<(Family, IpAddr, u16), (u32, u32)>,
    used_ports: Vec<u64>,
    destinations: HashMap<(IpAddr, IpAddr, u16), (u64, u64)>,
}

impl<'a> SummaryBuilder<'a> {
    fn new(range: Option<(u16, u16)>, listen_ports: &'a HashSet<u16>) -> SummaryBuilder<'a> {
        let mut summary = TcpSummary::default();
        summary.ephemeral.range = range;
        SummaryBuilder {
            summary,
            listen_ports,
            syn_recv: HashMap::new(),
            used_ports: vec![0; 1024],
            destinations: HashMap::new(),
        }
    }

    /// Counts one socket; returns `false` for a state number sockscope does not know.
    fn add(&mut self, message: &InetDiagMsg<'_>) -> bool {
        let Some(state) = TcpState::from_kernel(message.state()) else {
            return false;
        };
        self.summary.states.add(state);
        match state {
            TcpState::Listen => {}
            TcpState::SynRecv if message.inode() == 0 => self.add_request(message),
            _ => self.add_ephemeral(message, state),
        }
        if state == TcpState::CloseWait {
            self.summary.close_wait.push(CloseWaitSocket {
                local_address: message.local_address().to_canonical(),
                local_port: message.local_port(),
                inode: message.inode(),
                cookie: message.cookie(),
                uid: Some(message.uid()),
            });
        }
        true
    }

    fn add_request(&mut self, message: &InetDiagMsg<'_>) {
        let key = (message.family(), message.local_address(), message.local_port());
        let entry = self.syn_recv.entry(key).or_default();
        entry.0 += 1;
        if message.retrans() > 0 {
            entry.1 += 1;
        }
    }

    fn add_ephemeral(&mut self, message: &InetDiagMsg<'_>, state: TcpState) {
        let Some((low, high)) = self.summary.ephemeral.range else {
            return;
        };
        let port = message.local_port();
        if port < low || port > high || self.listen_ports.contains(&port) {
            return;
        }
        let ephemeral = &mut self.summary.ephemeral;
        ephemeral.tcp_sockets += 1;
        let word = &mut self.used_ports[usize::from(port / 64)];
        let bit = 1u64 << (port % 64);
        if *word & bit == 0 {
            *word |= bit;
            ephemeral.tcp_distinct_ports += 1;
        }
        let key =
            (message.local_address().to_canonical(), message.remote_address().to_canonical(), message.remote_port());
        let entry = self.destinations.entry(key).or_default();
        entry.0 += 1;
        if state == TcpState::TimeWait {
            entry.1 += 1;
        }
    }

    /// Adds what another part of a split walk counted: the parts hold disjoint sockets, so
    /// counts add; a port both used counts once.
    fn absorb(&mut self, other: SummaryBuilder<'a>) {
        self.summary.states.absorb(&other.summary.states);
        self.summary.close_wait.extend(other.summary.close_wait);
        for (key, (requests, retransmitted)) in other.syn_recv {
            let entry = self.syn_recv.entry(key).or_default();
            entry.0 += requests;
            entry.1 += retransmitted;
        }
        let ephemeral = &mut self.summary.ephemeral;
        ephemeral.tcp_sockets += other.summary.ephemeral.tcp_sockets;
        for (mine, theirs) in self.used_ports.iter_mut().zip(other.used_ports) {
            *mine |= theirs;
        }
        ephemeral.tcp_distinct_ports = self.used_ports.iter().map(|word| word.count_ones()).sum();
        for (key, (sockets, time_wait)) in other.destinations {
            let entry = self.destinations.entry(key).or_default();
            entry.0 += sockets;
            entry.1 += time_wait;
        }
    }

    fn finish(mut self) -> TcpSummary {
        // Split walks meet the sockets in another order; the list reads the same either way.
        self.summary.close_wait.sort_by_key(|socket| (socket.local_port, socket.local_address, socket.cookie));
        let mut groups: Vec<SynRecvGroup> = self
            .syn_recv
            .into_iter()
            .map(|((family, local_address, local_port), (requests, retransmitted))| SynRecvGroup {
                family,
                local_address,
                local_port,
                requests,
                retransmitted,
            })
            .collect();
        groups.sort_by_key(|group| (group.local_port, group.family, group.local_address));
        self.summary.syn_recv = groups;
        let ephemeral = &mut self.summary.ephemeral;
        ephemeral.destinations = self.destinations.len() as u64;
        let mut destinations: Vec<DestinationPorts> = self
            .destinations
            .into_iter()
            .map(|((local_address, remote_address, remote_port), (sockets, time_wait))| DestinationPorts {
                local_address,
                remote_address,
                remote_port,
                sockets,
                time_wait,
            })
            .collect();
        destinations.sort_by(|a, b| {
            b.sockets.cmp(&a.sockets).then_with(|| {
                (a.remote_address, a.remote_port, a.local_address).cmp(&(
                    b.remote_address,
                    b.remote_port,
                    b.local_address,
                ))
            })
        });
        destinations.truncate(EphemeralPorts::TOP);
        ephemeral.by_destination = destinations;
        self.summary
    }
}

/// Dumps every UDP socket with its memory (for drops and the receive buffer).
pub(crate) fn udp_sockets(socket: &mut DumpSocket) -> Collected<Vec<UdpSocket>> {
    let mut sockets = Vec::new();
    let collected = per_family(
        |family| {
            let query = Query { family, protocol: IPPROTO_UDP, states: ALL_STATES, tcp_info: false, memory: true };
            socket.dump(inet_diag::request(query), |kind, body| {
                decode_udp(kind, body).map(|udp| sockets.push(udp)).is_some()
            })
        },
        || (),
    );
    sockets.sort_by(|a, b| {
        (a.local_port, a.family, a.local_address, a.cookie).cmp(&(b.local_port, b.family, b.local_address, b.cookie))
    });
    Collected {
        data: collected.data.map(|()| sockets),
        failures: collected.failures,
        malformed: collected.malformed,
        interrupted: collected.interrupted,
        helper_cpu_seconds: collected.helper_cpu_seconds,
    }
}

pub(crate) fn decode_udp(kind: u16, body: &[u8]) -> Option<UdpSocket> {
    let message = inet_reply(kind, body)?;
    let extras = inet_diag::extras(&message);
    if extras.malformed {
        return None;
    }
    Some(UdpSocket {
        family: message.family(),
        local_address: message.local_address(),
        local_port: message.local_port(),
        remote_address: message.remote_address(),
        remote_port: message.remote_port(),
        connected: message.state() == 1,
        receive_queue: message.rqueue(),
        send_queue: message.wqueue(),
        drops: extras.memory.and_then(|memory| memory.drops),
        rcvbuf: extras.memory.map(|memory| memory.rcvbuf),
        inode: message.inode(),
        uid: message.uid(),
        cookie: message.cookie(),
    })
}

/// `UDIAG_SHOW_UID` (Linux 5.3+, include/uapi/linux/unix_diag.h); not among the crate's
/// named flags. Unlike the others it is not `1 << UNIX_DIAG_UID`.
const UDIAG_SHOW_UID: u32 = 0x40;
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_RQLEN: u16 = 4;
const UNIX_DIAG_UID: u16 = 7;
const UNIX_DIAG_MSG_LEN: usize = 16;
const AF_UNIX: u8 = 1;

/// Dumps UNIX sockets in LISTEN state with their queue length, limit, path and owner.
pub(crate) fn unix_listeners(socket: &mut DumpSocket) -> Collected<Vec<UnixListener>> {
    let mut listeners = Vec::new();
    let result = socket.dump(unix_listen_request(), |kind, body| {
        if kind != SOCK_DIAG_BY_FAMILY {
            return false;
        }
        decode_unix_listener(body).map(|listener| listeners.push(listener)).is_some()
    });
    match result {
        Ok(stats) => {
            listeners.sort_by(|a, b| (&a.path, a.inode).cmp(&(&b.path, b.inode)));
            Collected {
                data: Some(listeners),
                failures: Vec::new(),
                malformed: stats.malformed,
                interrupted: u64::from(stats.interrupted),
                helper_cpu_seconds: 0.0,
            }
        }
        Err(error) => Collected {
            data: None,
            failures: vec![error.to_string()],
            malformed: 0,
            interrupted: 0,
            helper_cpu_seconds: 0.0,
        },
    }
}

/// The request of the UNIX LISTEN dump: name, queue lengths and owner of each socket.
pub(crate) fn unix_listen_request() -> SockDiagMessage {
    SockDiagMessage::UnixRequest(UnixRequest {
        state_flags: UnixStates::LISTEN,
        inode: 0,
        show_flags: ShowFlags::from_bits_retain(ShowFlags::NAME.bits() | ShowFlags::RQLEN.bits() | UDIAG_SHOW_UID),
        cookie: [0xff; 8],
    })
}

/// Decodes one `unix_diag_msg` reply with its NAME, RQLEN and UID attributes.
pub(crate) fn decode_unix_listener(body: &[u8]) -> Option<UnixListener> {
    if body.len() < UNIX_DIAG_MSG_LEN || body[0] != AF_UNIX {
        return None;
    }
    let u32_at =
        |offset: usize| u32::from_ne_bytes([body[offset], body[offset + 1], body[offset + 2], body[offset + 3]]);
    let socket_type = match body[1] {
        1 => "stream",
        5 => "seqpacket",
        2 => "dgram",
        _ => "other",
    };
    let mut listener = UnixListener {
        path: String::new(),
        socket_type: socket_type.to_string(),
        accept_queue: 0,
        backlog: 0,
        inode: u64::from(u32_at(4)),
        cookie: u64::from(u32_at(8)) | (u64::from(u32_at(12)) << 32),
        uid: None,
    };
    let mut queue_seen = false;
    let mut attributes = Attributes::new(&body[UNIX_DIAG_MSG_LEN..]);
    for (kind, payload) in attributes.by_ref() {
        match kind {
            UNIX_DIAG_NAME => listener.path = unix_path(payload),
            UNIX_DIAG_RQLEN if payload.len() >= 8 => {
                listener.accept_queue = u32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
                listener.backlog = u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]);
                queue_seen = true;
            }
            UNIX_DIAG_UID if payload.len() >= 4 => {
                listener.uid = Some(u32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]));
            }
            _ => {}
        }
    }
    (queue_seen && !attributes.malformed()).then_some(listener)
}

/// A UNIX socket name: a path ends at its first NUL (the kernel may include the terminator); an
/// abstract name (leading NUL) starts with `@`, as `ss` prints it. Either is kept whatever its
/// bytes ([`crate::format::name_from_bytes`]): NULs inside an abstract name, which are part of
/// it, read `\x00` (where `ss` prints `@`), so that two different names never read the same.
fn unix_path(raw: &[u8]) -> String {
    match raw.split_first() {
        Some((0, rest)) => format!("@{}", crate::format::name_from_bytes(rest)),
        _ => {
            let end = raw.iter().position(|byte| *byte == 0).unwrap_or(raw.len());
            crate::format::name_from_bytes(&raw[..end])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix_reply(attributes: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut body = vec![AF_UNIX, 1, 10, 0];
        body.extend_from_slice(&77u32.to_ne_bytes());
        body.extend_from_slice(&5u32.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        for (kind, payload) in attributes {
            body.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
            body.extend_from_slice(&kind.to_ne_bytes());
            body.extend_from_slice(payload);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        body
    }

    fn rqlen(queue: u32, limit: u32) -> Vec<u8> {
        let mut bytes = queue.to_ne_bytes().to_vec();
        bytes.extend_from_slice(&limit.to_ne_bytes());
        bytes
    }

    #[test]
    fn a_unix_listener_reply_is_decoded() {
        let body = unix_reply(&[
            (UNIX_DIAG_NAME, b"\0abstract".to_vec()),
            (UNIX_DIAG_RQLEN, rqlen(3, 128)),
            (UNIX_DIAG_UID, 1000u32.to_ne_bytes().to_vec()),
        ]);
        let listener = decode_unix_listener(&body).expect("decodes");
        assert_eq!(listener.path, "@abstract");
        assert_eq!(listener.socket_type, "stream");
        assert_eq!((listener.accept_queue, listener.backlog), (3, 128));
        assert_eq!(listener.inode, 77);
        assert_eq!(listener.cookie, 5);
        assert_eq!(listener.uid, Some(1000));
    }

    /// Real reply bodies for this kernel's LISTEN dump.
    fn live_listener_replies() -> Vec<(u16, Vec<u8>)> {
        let mut socket = DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG).expect("sock_diag socket");
        let query =
            Query { family: Family::Ipv4, protocol: IPPROTO_TCP, states: LISTEN_ONLY, tcp_info: true, memory: true };
        let mut bodies = Vec::new();
        socket
            .dump(inet_diag::request(query), |kind, body| {
                bodies.push((kind, body.to_vec()));
                true
            })
            .expect("LISTEN dump");
        bodies
    }

    /// Runs `body` on a thread of its own in a new, empty network namespace (loopback up).
    fn in_private_netns<T: Send>(body: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    // SAFETY: only the network namespace is unshared, and only for this thread,
                    // which ends with the test.
                    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }.expect("unshare");
                    body()
                })
                .join()
                .expect("thread")
        })
    }

    /// The calling thread's namespace's `ip_local_port_range`.
    fn local_port_range() -> (u16, u16) {
        let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").expect("range");
        let mut ports = text.split_whitespace().map(|port| port.parse::<u16>().expect("port"));
        (ports.next().expect("low"), ports.next().expect("high"))
    }

    /// Established pairs on several listeners, TIME_WAIT sockets, CLOSE_WAIT sockets and an
    /// IPv6 pair, all on loopback.
    fn mixed_population() -> Vec<std::net::TcpStream> {
        let mut held = Vec::new();
        for address in ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "[::1]:0"] {
            let server = std::net::TcpListener::bind(address).expect("bind");
            let target = server.local_addr().expect("addr");
            for index in 0..150 {
                let client = std::net::TcpStream::connect(target).expect("connect");
                let (accepted, _) = server.accept().expect("accept");
                match index % 3 {
                    0 => held.extend([client, accepted]),
                    1 => drop(client), // the client closes first: TIME_WAIT on its side
                    _ => {
                        drop(client); // the server keeps its end open: CLOSE_WAIT
                        held.push(accepted);
                    }
                }
            }
            std::mem::forget(server);
        }
        held
    }

    #[test]
    #[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
    fn a_walk_split_over_threads_counts_what_one_walk_counts() {
        in_private_netns(|| {
            assert!(std::process::Command::new("ip").args(["link", "set", "lo", "up"]).status().is_ok());
            let _held = mixed_population();
            let listen_ports = HashSet::new();
            let extras = Extras { flows: true, connections: false };
            let mut socket = DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG).expect("socket");
            let whole = |socket: &mut DumpSocket, parts: u16| {
                let walk = Walk { range: Some(local_port_range()), listen_ports: &listen_ports, extras, parts };
                let collected = tcp_summary(socket, walk);
                assert!(collected.failures.is_empty(), "{:?}", collected.failures);
                collected.data.expect("summary")
            };
            // Let the closes finish (FIN_WAIT1 turns FIN_WAIT2 when the peer's ACK arrives).
            let mut settled = whole(&mut socket, 1);
            for _ in 0..100 {
                if settled.0.states.fin_wait1 == 0 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
                settled = whole(&mut socket, 1);
            }
            let (one, flows, _) = settled;
            assert_eq!(one.states.fin_wait1, 0, "{:?}", one.states);
            assert_eq!(one.states.established, 400, "{:?}", one.states);
            assert_eq!(one.states.close_wait, 200);
            assert!(one.states.time_wait >= 200, "{:?}", one.states);
            assert_eq!(flows.expect("flows").established, 400);
            for parts in [2, 3, 5, 8] {
                let (split, flows, _) = whole(&mut socket, parts);
                assert_eq!(split.states, one.states, "{parts} parts");
                assert_eq!(split.close_wait, one.close_wait, "{parts} parts");
                assert_eq!(split.ephemeral, one.ephemeral, "{parts} parts");
                assert_eq!(flows.expect("flows").established, 400);
            }
        });
    }

    #[test]
    #[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
    fn every_socket_falls_into_exactly_one_part() {
        in_private_netns(|| {
            assert!(std::process::Command::new("ip").args(["link", "set", "lo", "up"]).status().is_ok());
            let _held = mixed_population();
            let mut socket = DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG).expect("socket");
            let cookies = |socket: &mut DumpSocket, filter: Option<&[u8]>| {
                let mut seen = Vec::new();
                let body = inet_diag::both_families_request(ALL_STATES, false, false, filter);
                socket
                    .dump_bytes(inet_diag::TCPDIAG_GETSOCK, &body, |kind, body| {
                        inet_reply(kind, body).map(|message| seen.push(message.cookie())).is_some()
                    })
                    .expect("dump");
                seen.sort_unstable();
                seen
            };
            // Closes still under way change the table (a FIN_WAIT2 socket becomes a TIME_WAIT
            // one with a cookie of its own): wait until two whole dumps agree.
            let mut all = cookies(&mut socket, None);
            for _ in 0..100 {
                std::thread::sleep(std::time::Duration::from_millis(20));
                let again = cookies(&mut socket, None);
                if again == all {
                    break;
                }
                all = again;
            }
            assert!(all.len() >= 1000, "{} sockets", all.len());
            let range = local_port_range();
            for parts in [2u16, 3, 4, 7, 8] {
                let mut union = Vec::new();
                let mut sizes = Vec::new();
                for filter in inet_diag::port_partitions(parts, range) {
                    let part = cookies(&mut socket, Some(&filter));
                    sizes.push(part.len());
                    union.extend(part);
                }
                union.sort_unstable();
                assert_eq!(cookies(&mut socket, None), all, "the table changed while the parts were dumped");
                // Sorted, equal lists: each socket is in one part, none in two. (How evenly the
                // parts share the sockets is a matter of speed, not of the counts; the
                // benchmark measures it on populations of the size where walks are split.)
                assert_eq!(union, all, "{parts} parts: {sizes:?}");
            }
        });
    }

    #[test]
    fn a_real_listener_reply_decodes_with_consistent_fields() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = server.local_addr().expect("addr").port();
        let listener = live_listener_replies()
            .iter()
            .filter_map(|(kind, body)| decode_listener(*kind, body))
            .find(|listener| listener.local_port == port)
            .expect("our listener is in the dump");
        let info = listener.tcp_info.as_ref().expect("tcp_info");
        // For a listener tcp_info aliases the queue: unacked = accept queue, sacked = limit.
        assert_eq!(info.unacked, Some(listener.accept_queue));
        assert_eq!(info.sacked, Some(listener.backlog));
        assert_eq!(info.state, Some(10));
        assert_eq!(listener.memory.and_then(|m| m.drops), listener.drops);
        assert_ne!(listener.inode, 0);
    }

    #[test]
    fn every_truncation_of_a_real_reply_is_rejected_or_decoded_without_panic() {
        let _server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        for (kind, body) in live_listener_replies() {
            for len in 0..body.len() {
                let decoded = decode_listener(kind, &body[..len]);
                if len < inet_diag::INET_DIAG_MSG_LEN {
                    assert!(decoded.is_none(), "a {len}-byte header must be rejected");
                }
            }
            assert!(decode_listener(kind, &body).is_some());
            // A reply of another type is not a listener.
            assert!(decode_listener(kind + 1, &body).is_none());
        }
    }

    #[test]
    fn unix_names_are_shown_like_ss_and_kept_apart() {
        assert_eq!(unix_path(b"/run/app.sock\0"), "/run/app.sock");
        assert_eq!(unix_path(b"\0name\0more"), r"@name\x00more");
        assert_ne!(unix_path(b"\0name\0more"), unix_path(b"\0name@more"));
        assert_eq!(unix_path(b"\0hide\xff"), r"@hide\xff");
        assert_ne!(unix_path(b"\0hide\xff"), unix_path(b"\0hide\xfe"));
        assert_eq!(unix_path(b"/run/\xe9t\xe9.sock\0"), r"/run/\xe9t\xe9.sock");
        assert_eq!(unix_path(b""), "");
    }

    #[test]
    fn a_unix_reply_without_queue_lengths_is_rejected() {
        let body = unix_reply(&[(UNIX_DIAG_NAME, b"/run/x.sock".to_vec())]);
        assert!(decode_unix_listener(&body).is_none());
        let short = unix_reply(&[(UNIX_DIAG_RQLEN, vec![1, 0, 0])]);
        assert!(decode_unix_listener(&short).is_none());
    }
}
