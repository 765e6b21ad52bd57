//! Decoding of sock_diag replies for IP sockets (`struct inet_diag_msg` and its attributes)
//! and construction of the requests.
//!
//! The decoder reads the fixed 72-byte header in place and copies nothing per socket, so a
//! dump of 100k sockets that only needs counts allocates nothing per socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};

use super::netlink::Attributes;
use crate::sample::TcpInfo;
use crate::sample::{Family, SocketMemory};

/// Size of `struct inet_diag_msg`.
pub(crate) const INET_DIAG_MSG_LEN: usize = 72;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// `INET_DIAG_*` attribute types sockscope reads.
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_SKMEMINFO: u16 = 7;
const INET_DIAG_SKV6ONLY: u16 = 11;

/// The fixed part of one sock_diag reply for an IP socket, read in place.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InetDiagMsg<'a> {
    bytes: &'a [u8],
}

impl<'a> InetDiagMsg<'a> {
    /// Reads the header of a reply body; `None` when the body is too short or the family is
    /// not IPv4/IPv6.
    pub(crate) fn parse(body: &'a [u8]) -> Option<InetDiagMsg<'a>> {
        if body.len() < INET_DIAG_MSG_LEN || !matches!(body[0], AF_INET | AF_INET6) {
            return None;
        }
        Some(InetDiagMsg { bytes: body })
    }

    /// Address family.
    pub(crate) fn family(&self) -> Family {
        if self.bytes[0] == AF_INET6 { Family::Ipv6 } else { Family::Ipv4 }
    }

    /// Kernel state number (`TCP_*`).
    pub(crate) fn state(&self) -> u8 {
        self.bytes[1]
    }

    /// `idiag_timer`: which timer is pending (0 none, 1 retransmit, 2 keepalive, 3 TIME_WAIT,
    /// 4 zero-window probe).
    pub(crate) fn timer(&self) -> u8 {
        self.bytes[2]
    }

    /// `idiag_expires`: milliseconds until the pending timer fires.
    pub(crate) fn expires(&self) -> u32 {
        self.u32_at(52)
    }

    /// Retransmit count (for a request socket: SYN-ACK retransmits).
    pub(crate) fn retrans(&self) -> u8 {
        self.bytes[3]
    }

    /// Local port.
    pub(crate) fn local_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes[4], self.bytes[5]])
    }

    /// Remote port.
    pub(crate) fn remote_port(&self) -> u16 {
        u16::from_be_bytes([self.bytes[6], self.bytes[7]])
    }

    /// Local address.
    pub(crate) fn local_address(&self) -> IpAddr {
        self.address(8)
    }

    /// Remote address.
    pub(crate) fn remote_address(&self) -> IpAddr {
        self.address(24)
    }

    fn address(&self, offset: usize) -> IpAddr {
        let raw = &self.bytes[offset..offset + 16];
        match self.family() {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
            Family::Ipv6 => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(raw);
                IpAddr::V6(Ipv6Addr::from(octets))
            }
        }
    }

    /// Interface the socket is bound to, 0 for none.
    pub(crate) fn interface(&self) -> u32 {
        self.u32_at(40)
    }

    /// Socket cookie.
    pub(crate) fn cookie(&self) -> u64 {
        u64::from(self.u32_at(44)) | (u64::from(self.u32_at(48)) << 32)
    }

    /// `idiag_rqueue`: for a listener the accept-queue length, else unread bytes.
    pub(crate) fn rqueue(&self) -> u32 {
        self.u32_at(56)
    }

    /// `idiag_wqueue`: for a listener the accept-queue limit, else unsent/unacked bytes.
    pub(crate) fn wqueue(&self) -> u32 {
        self.u32_at(60)
    }

    /// Owner uid.
    pub(crate) fn uid(&self) -> u32 {
        self.u32_at(64)
    }

    /// Socket inode (0 for request, TIME_WAIT and not-yet-accepted sockets).
    pub(crate) fn inode(&self) -> u64 {
        u64::from(self.u32_at(68))
    }

    fn u32_at(&self, offset: usize) -> u32 {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(&self.bytes[offset..offset + 4]);
        u32::from_ne_bytes(raw)
    }

    /// The attributes that follow the header.
    pub(crate) fn attributes(&self) -> Attributes<'a> {
        Attributes::new(&self.bytes[INET_DIAG_MSG_LEN..])
    }
}

/// The attributes sockscope asks for, decoded.
#[derive(Debug, Default)]
pub(crate) struct InetExtras {
    /// `INET_DIAG_INFO`.
    pub(crate) tcp_info: Option<TcpInfo>,
    /// `INET_DIAG_SKMEMINFO`.
    pub(crate) memory: Option<SocketMemory>,
    /// `INET_DIAG_SKV6ONLY`.
    pub(crate) v6only: Option<bool>,
    /// An attribute had an inconsistent length.
    pub(crate) malformed: bool,
}

/// Decodes the attributes of one reply.
pub(crate) fn extras(message: &InetDiagMsg<'_>) -> InetExtras {
    let mut extras = InetExtras::default();
    let mut attributes = message.attributes();
    for (kind, payload) in attributes.by_ref() {
        match kind {
            INET_DIAG_INFO => extras.tcp_info = Some(TcpInfo::parse(payload)),
            INET_DIAG_SKMEMINFO => extras.memory = parse_meminfo(payload),
            INET_DIAG_SKV6ONLY => extras.v6only = payload.first().map(|flag| *flag != 0),
            _ => {}
        }
    }
    extras.malformed = attributes.malformed();
    extras
}

/// Decodes `SK_MEMINFO_*` (an array of u32; `DROPS`, index 8, exists since Linux 4.7).
pub(crate) fn parse_meminfo(payload: &[u8]) -> Option<SocketMemory> {
    let value = |index: usize| -> Option<u32> {
        let raw = payload.get(index * 4..index * 4 + 4)?;
        Some(u32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]))
    };
    Some(SocketMemory {
        rmem_alloc: value(0)?,
        rcvbuf: value(1)?,
        wmem_alloc: value(2)?,
        sndbuf: value(3)?,
        fwd_alloc: value(4)?,
        wmem_queued: value(5)?,
        optmem: value(6)?,
        backlog: value(7).unwrap_or(0),
        drops: value(8),
    })
}

/// Which sockets and attributes to ask for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Query {
    /// Address family to dump.
    pub(crate) family: Family,
    /// `IPPROTO_TCP` or `IPPROTO_UDP`.
    pub(crate) protocol: u8,
    /// Bit mask of `1 << state`.
    pub(crate) states: u32,
    /// Ask for `tcp_info`.
    pub(crate) tcp_info: bool,
    /// Ask for socket memory (and drops).
    pub(crate) memory: bool,
}

/// `IPPROTO_TCP`.
pub(crate) const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub(crate) const IPPROTO_UDP: u8 = 17;
/// Every TCP state.
pub(crate) const ALL_STATES: u32 = 0xfff;
/// LISTEN only: the kernel then walks just the listening hash.
pub(crate) const LISTEN_ONLY: u32 = 1 << 10;

/// Builds the sock_diag request for `query`.
pub(crate) fn request(query: Query) -> SockDiagMessage {
    let mut extensions = ExtensionFlags::empty();
    if query.tcp_info {
        extensions |= ExtensionFlags::INFO;
    }
    if query.memory {
        extensions |= ExtensionFlags::SKMEMINFO;
    }
    let (family, socket_id) = match query.family {
        Family::Ipv4 => (AF_INET, SocketId::new_v4()),
        Family::Ipv6 => (AF_INET6, SocketId::new_v6()),
    };
    SockDiagMessage::InetRequest(InetRequest {
        family,
        protocol: query.protocol,
        extensions,
        states: StateFlags::from_bits_retain(query.states),
        socket_id,
    })
}

/// `TCPDIAG_GETSOCK`: the original inet_diag request (`struct inet_diag_req`). Its dump asks
/// for both address families at once (`AF_UNSPEC` inside the kernel), so the kernel walks its
/// connection hash once where one `SOCK_DIAG_BY_FAMILY` request per family walks it twice.
pub(crate) const TCPDIAG_GETSOCK: u16 = 18;
/// `SOCK_DIAG_BY_FAMILY`, the message type of `inet_diag_req_v2` requests and their replies.
pub(crate) const SOCK_DIAG_BY_FAMILY: u16 = 20;

const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_GE: u8 = 2;
const INET_DIAG_BC_S_LE: u8 = 3;
const INET_DIAG_BC_D_GE: u8 = 4;
const INET_DIAG_BC_D_LE: u8 = 5;

fn extension_bits(tcp_info: bool, memory: bool) -> u8 {
    let mut bits = 0;
    if tcp_info {
        bits |= 1 << (INET_DIAG_INFO - 1);
    }
    if memory {
        bits |= 1 << (INET_DIAG_SKMEMINFO - 1);
    }
    bits
}

/// The body of a `TCPDIAG_GETSOCK` dump of every TCP socket in `states`, both families, with
/// the attributes asked for and, when given, a bytecode filter the kernel runs per socket.
pub(crate) fn both_families_request(states: u32, tcp_info: bool, memory: bool, filter: Option<&[u8]>) -> Vec<u8> {
    let mut body = vec![0u8; 60];
    body[0] = AF_INET;
    body[3] = extension_bits(tcp_info, memory);
    body[52..56].copy_from_slice(&states.to_ne_bytes());
    if let Some(code) = filter {
        push_attribute(&mut body, INET_DIAG_REQ_BYTECODE, code);
    }
    body
}

/// Size of an `inet_diag_req_v2` request body.
pub(crate) const EXACT_REQUEST_LEN: usize = 56;

/// The body of an exact `SOCK_DIAG_BY_FAMILY` lookup of the socket `message` describes (its
/// addresses, ports, interface and cookie, as the kernel reported them): a hash lookup, no walk.
pub(crate) fn exact_request(message: &InetDiagMsg<'_>, tcp_info: bool, memory: bool) -> [u8; EXACT_REQUEST_LEN] {
    let mut body = [0u8; EXACT_REQUEST_LEN];
    body[0] = message.bytes[0];
    body[1] = IPPROTO_TCP;
    body[2] = extension_bits(tcp_info, memory);
    body[4..8].copy_from_slice(&ALL_STATES.to_ne_bytes());
    body[8..56].copy_from_slice(&message.bytes[4..52]);
    body
}

fn push_attribute(body: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let length = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
    body.extend_from_slice(&length.to_ne_bytes());
    body.extend_from_slice(&kind.to_ne_bytes());
    body.extend_from_slice(payload);
    while !body.len().is_multiple_of(4) {
        body.push(0);
    }
}

/// Splits the socket table into `parts` disjoint filters for dumps that run side by side.
///
/// Ports are cut into `parts` intervals, evenly over `range` (the ephemeral range, where one
/// end of most connections lies, picked at random); a socket goes to part
/// `(interval(local port) + interval(remote port)) % parts`. Every socket matches exactly one
/// part whatever its ports, so the parts together are the whole table; they are even when one
/// end of each connection is spread over the range, whichever end it is (a server's clients or
/// a client's own ports).
pub(crate) fn port_partitions(parts: u16, range: (u16, u16)) -> Vec<Vec<u8>> {
    let parts = parts.max(1);
    let bounds = interval_bounds(parts, range);
    (0..parts).map(|part| partition_code(part, &bounds)).collect()
}

/// Port intervals `[bounds[i], bounds[i + 1] - 1]`; the first starts at 0, the last ends at 65535.
fn interval_bounds(parts: u16, (low, high): (u16, u16)) -> Vec<u32> {
    let (low, high) = (u32::from(low.min(high)), u32::from(low.max(high)) + 1);
    let mut bounds = vec![0u32];
    for i in 1..u32::from(parts) {
        bounds.push(low + (high - low) * i / u32::from(parts));
    }
    bounds.push(65_536);
    bounds.dedup();
    bounds
}

/// One operation of the filter: a port comparison taking `yes` or `no` bytes forward.
struct Op {
    code: u8,
    port: u16,
}

/// The bytecode accepting the sockets of `part`: for each local-port interval `i`, the
/// clause "local in interval i and remote in interval (part - i) mod parts".
fn partition_code(part: u16, bounds: &[u32]) -> Vec<u8> {
    let intervals = bounds.len() - 1;
    if intervals <= 1 {
        return Vec::new();
    }
    let clauses: Vec<Vec<Op>> = (0..intervals)
        .map(|local| {
            let remote = (usize::from(part) + intervals * 2 - local) % intervals;
            let mut ops = range_ops(INET_DIAG_BC_S_GE, INET_DIAG_BC_S_LE, bounds, local);
            ops.extend(range_ops(INET_DIAG_BC_D_GE, INET_DIAG_BC_D_LE, bounds, remote));
            ops
        })
        .collect();
    encode_clauses(&clauses)
}

/// The comparisons bounding a port to interval `index` (none for a bound at 0 or 65535).
fn range_ops(ge: u8, le: u8, bounds: &[u32], index: usize) -> Vec<Op> {
    let mut ops = Vec::new();
    if bounds[index] > 0 {
        ops.push(Op { code: ge, port: bounds[index] as u16 });
    }
    if bounds[index + 1] < 65_536 {
        ops.push(Op { code: le, port: (bounds[index + 1] - 1) as u16 });
    }
    ops
}

/// Encodes "clause 1 or clause 2 or ...", each clause a conjunction, the way `ss` does: a
/// clause whose comparisons all hold runs into a jump to the end (accept); a failing comparison
/// skips to the next clause, or 4 bytes past the end (reject) from the last one. Each
/// comparison is 8 bytes (the op, then the port); each jump 4. The kernel's audit follows the
/// `yes` offsets from the start, so every clause must lie on that path.
fn encode_clauses(clauses: &[Vec<Op>]) -> Vec<u8> {
    let sizes: Vec<usize> = clauses.iter().map(|clause| clause.len() * 8).collect();
    let total: usize = sizes.iter().sum::<usize>() + 4 * (clauses.len() - 1);
    let mut code = Vec::with_capacity(total);
    for (number, clause) in clauses.iter().enumerate() {
        let last_clause = number + 1 == clauses.len();
        let clause_end = code.len() + sizes[number];
        for op in clause {
            let here = code.len();
            let no = if last_clause { total + 4 - here } else { clause_end + 4 - here };
            push_op(&mut code, op.code, 8, no);
            code.extend_from_slice(&[0, 0]);
            code.extend_from_slice(&op.port.to_ne_bytes());
        }
        if !last_clause {
            let here = code.len();
            push_op(&mut code, INET_DIAG_BC_JMP, 4, total - here);
        }
    }
    code
}

fn push_op(code: &mut Vec<u8>, op: u8, yes: u8, no: usize) {
    code.push(op);
    code.push(yes);
    code.extend_from_slice(&u16::try_from(no).unwrap_or(u16::MAX).to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An inet_diag_msg for 10.1.2.3:8080 -> 0.0.0.0:0 in LISTEN, rq 9, wq 8, inode 4242.
    fn listener_bytes() -> Vec<u8> {
        let mut bytes = vec![0u8; INET_DIAG_MSG_LEN];
        bytes[0] = AF_INET;
        bytes[1] = 10;
        bytes[3] = 1;
        bytes[4..6].copy_from_slice(&8080u16.to_be_bytes());
        bytes[8..12].copy_from_slice(&[10, 1, 2, 3]);
        bytes[44..48].copy_from_slice(&0x1234u32.to_ne_bytes());
        bytes[48..52].copy_from_slice(&0x1u32.to_ne_bytes());
        bytes[56..60].copy_from_slice(&9u32.to_ne_bytes());
        bytes[60..64].copy_from_slice(&8u32.to_ne_bytes());
        bytes[64..68].copy_from_slice(&1000u32.to_ne_bytes());
        bytes[68..72].copy_from_slice(&4242u32.to_ne_bytes());
        bytes
    }

    fn attribute(kind: u16, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(payload);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    #[test]
    fn the_fixed_header_is_read_in_place() {
        let bytes = listener_bytes();
        let message = InetDiagMsg::parse(&bytes).expect("valid header");
        assert_eq!(message.family(), Family::Ipv4);
        assert_eq!(message.state(), 10);
        assert_eq!(message.retrans(), 1);
        assert_eq!(message.local_port(), 8080);
        assert_eq!(message.local_address(), IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(message.rqueue(), 9);
        assert_eq!(message.wqueue(), 8);
        assert_eq!(message.uid(), 1000);
        assert_eq!(message.inode(), 4242);
        assert_eq!(message.cookie(), 0x1_0000_1234);
    }

    #[test]
    fn short_or_foreign_bodies_are_rejected() {
        let bytes = listener_bytes();
        assert!(InetDiagMsg::parse(&bytes[..71]).is_none());
        let mut unix = bytes.clone();
        unix[0] = 1;
        assert!(InetDiagMsg::parse(&unix).is_none());
    }

    #[test]
    fn memory_info_with_and_without_the_drops_slot() {
        let mut with_drops = Vec::new();
        for value in 0u32..9 {
            with_drops.extend_from_slice(&(value * 10).to_ne_bytes());
        }
        let memory = parse_meminfo(&with_drops).expect("nine slots");
        assert_eq!(memory.rcvbuf, 10);
        assert_eq!(memory.drops, Some(80));
        let before_4_7 = parse_meminfo(&with_drops[..32]).expect("eight slots");
        assert_eq!(before_4_7.drops, None);
        assert!(parse_meminfo(&with_drops[..12]).is_none());
    }

    #[test]
    fn attributes_are_decoded_and_unknown_ones_ignored() {
        let mut bytes = listener_bytes();
        bytes.extend(attribute(INET_DIAG_SKV6ONLY, &[1]));
        bytes.extend(attribute(99, &[1, 2, 3]));
        bytes.extend(attribute(INET_DIAG_INFO, &[10; 104]));
        let message = InetDiagMsg::parse(&bytes).expect("valid header");
        let extras = extras(&message);
        assert_eq!(extras.v6only, Some(true));
        assert_eq!(extras.tcp_info.map(|info| info.payload_len), Some(104));
        assert!(!extras.malformed);
    }

    #[test]
    fn a_truncated_attribute_marks_the_message_malformed() {
        let mut bytes = listener_bytes();
        let mut info = attribute(INET_DIAG_INFO, &[0; 104]);
        info.truncate(50);
        bytes.extend(info);
        let message = InetDiagMsg::parse(&bytes).expect("valid header");
        let extras = extras(&message);
        assert!(extras.malformed);
        assert!(extras.tcp_info.is_none());
    }
}
