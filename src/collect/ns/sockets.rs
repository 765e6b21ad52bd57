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

/// `SOCK_DIAG_BY_FAMILY`, the message type of every sock_diag reply.
const SOCK_DIAG_BY_FAMILY: u16 = 20;

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
    Collected { data: any_ok.then(data), failures, malformed, interrupted }
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

fn inet_reply(kind: u16, body: &[u8]) -> Option<InetDiagMsg<'_>> {
    if kind != SOCK_DIAG_BY_FAMILY {
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

/// Dumps every TCP socket and reduces them to counts.
///
/// `range` is the ephemeral port range to account against; `listen_ports` are the ports of
/// local listeners, whose children and request sockets are not ephemeral-port users.
///
/// With flows or connections, the same dump also asks for `tcp_info` and memory — which the
/// kernel fills only for full sockets, not for TIME_WAIT or request sockets — so the connection
/// table is walked once whatever is wanted; without them no attribute is asked for.
pub(crate) fn tcp_summary(
    socket: &mut DumpSocket,
    range: Option<(u16, u16)>,
    listen_ports: &HashSet<u16>,
    extras: Extras,
) -> Collected<SummaryParts> {
    let mut reader = AllStates::new(range, listen_ports, extras);
    let attributes = extras.flows || extras.connections;
    let collected = per_family(
        |family| {
            let query =
                Query { family, protocol: IPPROTO_TCP, states: ALL_STATES, tcp_info: attributes, memory: attributes };
            socket.dump(inet_diag::request(query), |kind, body| reader.add(kind, body))
        },
        || (),
    );
    Collected {
        data: collected.data.map(|()| reader.finish()),
        failures: collected.failures,
        malformed: collected.malformed,
        interrupted: collected.interrupted,
    }
}

/// Reads the replies of the all-states dump one at a time into counts and the extras asked for.
pub(crate) struct AllStates<'a> {
    builder: SummaryBuilder<'a>,
    flows: Option<FlowSummary>,
    connections: Option<Vec<Connection>>,
}

impl<'a> AllStates<'a> {
    /// A reader accounting ephemeral ports against `range`, not counting `listen_ports`.
    pub(crate) fn new(range: Option<(u16, u16)>, listen_ports: &'a HashSet<u16>, extras: Extras) -> AllStates<'a> {
        AllStates {
            builder: SummaryBuilder::new(range, listen_ports),
            flows: extras.flows.then(FlowSummary::default),
            connections: extras.connections.then(Vec::new),
        }
    }

    /// Takes one reply; `false` when it is not a TCP socket sockscope can read.
    pub(crate) fn add(&mut self, kind: u16, body: &[u8]) -> bool {
        let Some(message) = inet_reply(kind, body) else { return false };
        if let Some(summary) = self.flows.as_mut().filter(|_| message.state() == 1) {
            flow::add_message(summary, &message);
        }
        if let Some(list) = self.connections.as_mut() {
            list.extend(connection(&message));
        }
        self.builder.add(&message)
    }

    /// The counts and extras of every reply taken.
    pub(crate) fn finish(self) -> SummaryParts {
        (self.builder.finish(), self.flows.map(flow::finish), self.connections)
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

    fn finish(mut self) -> TcpSummary {
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
            }
        }
        Err(error) => Collected { data: None, failures: vec![error.to_string()], malformed: 0, interrupted: 0 },
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
