//! The netlink decoders of this module as functions of bytes: the framing of one received
//! datagram, and what each collector keeps of one reply body. The collectors run the same code
//! on what the kernel sends; these entry points let the fuzz tests (`tests/fuzz/`) feed it
//! random and mutated replies, and [`capture`] takes real replies from the running kernel to
//! mutate.

use std::collections::HashSet;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_sys::protocols::{NETLINK_ROUTE, NETLINK_SOCK_DIAG};

use super::inet_diag::{self, ALL_STATES, IPPROTO_TCP, IPPROTO_UDP, LISTEN_ONLY, Query};
use super::links;
use super::netlink::{self, BatchEnd, DumpError, DumpSocket, DumpStats};
use super::sockets::{self, AllStates, Extras};
use crate::sample::{Connection, Family, FlowSummary, Interface, TcpListener, TcpSummary, UdpSocket, UnixListener};

/// One of the dumps the collectors ask the kernel for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dump {
    /// TCP listeners with `tcp_info` and memory.
    TcpListeners,
    /// Every TCP socket with `tcp_info` and memory (as asked when flows or connections are kept).
    TcpAllStates,
    /// Every UDP socket with memory.
    Udp,
    /// UNIX listeners with name, queue lengths and owner.
    UnixListeners,
    /// Every interface (`RTM_GETLINK`).
    Links,
}

/// The reply messages, as `(type, body)`, of one dump in the calling thread's network
/// namespace (both address families for the IP dumps).
pub fn capture(dump: Dump) -> Result<Vec<(u16, Vec<u8>)>, DumpError> {
    let mut replies = Vec::new();
    let mut keep = |kind: u16, body: &[u8]| {
        replies.push((kind, body.to_vec()));
        true
    };
    let inet = |protocol, states, tcp_info| {
        [Family::Ipv4, Family::Ipv6]
            .map(|family| inet_diag::request(Query { family, protocol, states, tcp_info, memory: true }))
    };
    match dump {
        Dump::Links => {
            let mut socket = DumpSocket::open(NETLINK_ROUTE)?;
            socket.dump(RouteNetlinkMessage::GetLink(LinkMessage::default()), &mut keep)?;
        }
        Dump::UnixListeners => {
            DumpSocket::open(NETLINK_SOCK_DIAG)?.dump(sockets::unix_listen_request(), &mut keep)?;
        }
        ip => {
            let requests = match ip {
                Dump::TcpListeners => inet(IPPROTO_TCP, LISTEN_ONLY, true),
                Dump::TcpAllStates => inet(IPPROTO_TCP, ALL_STATES, true),
                _ => inet(IPPROTO_UDP, ALL_STATES, false),
            };
            let mut socket = DumpSocket::open(NETLINK_SOCK_DIAG)?;
            for request in requests {
                socket.dump(request, &mut keep)?;
            }
        }
    }
    Ok(replies)
}

/// What the dump loop makes of one received datagram.
#[derive(Debug)]
pub struct Datagram {
    /// The messages handed to a decoder, as `(type, body)`.
    pub messages: Vec<(u16, Vec<u8>)>,
    /// Messages counted, malformed framing, and whether the kernel flagged the dump interrupted.
    pub stats: DumpStats,
    /// Whether the dump goes on, is done, or failed.
    pub end: BatchEnd,
}

/// Frames one datagram of replies to the request numbered `sequence`.
pub fn datagram(batch: &[u8], sequence: u32) -> Datagram {
    let mut messages = Vec::new();
    let mut stats = DumpStats::default();
    let end = netlink::walk_batch(batch, sequence, &mut stats, &mut |kind, body| {
        messages.push((kind, body.to_vec()));
        true
    });
    Datagram { messages, stats, end }
}

/// A reply of the TCP LISTEN dump as the listener collector keeps it.
pub fn tcp_listener(kind: u16, body: &[u8]) -> Option<TcpListener> {
    sockets::decode_listener(kind, body)
}

/// A reply of the UDP dump as the UDP collector keeps it.
pub fn udp_socket(kind: u16, body: &[u8]) -> Option<UdpSocket> {
    sockets::decode_udp(kind, body)
}

/// A reply of the UNIX LISTEN dump.
pub fn unix_listener(body: &[u8]) -> Option<UnixListener> {
    sockets::decode_unix_listener(body)
}

/// An `RTM_NEWLINK` body.
pub fn link(body: &[u8]) -> Option<Interface> {
    links::decode_link(body)
}

/// What the all-states dump makes of a sequence of replies (with flows and connections kept).
#[derive(Debug)]
pub struct AllStatesDump {
    /// The counts.
    pub summary: TcpSummary,
    /// The established-flow summary.
    pub flows: Option<FlowSummary>,
    /// Every socket read.
    pub connections: Option<Vec<Connection>>,
    /// Replies that were not TCP sockets sockscope can read.
    pub rejected: u64,
}

/// Reads `replies` as the all-states TCP dump does, accounting ephemeral ports against `range`
/// and leaving out `listen_ports`.
pub fn tcp_all_states<'a>(
    replies: impl IntoIterator<Item = (u16, &'a [u8])>,
    range: Option<(u16, u16)>,
    listen_ports: &HashSet<u16>,
) -> AllStatesDump {
    let mut reader = AllStates::new(range, listen_ports, Extras { flows: true, connections: true });
    let rejected = replies.into_iter().filter(|(kind, body)| !reader.add(*kind, body)).count() as u64;
    let (summary, flows, connections) = reader.finish();
    AllStatesDump { summary, flows, connections, rejected }
}
