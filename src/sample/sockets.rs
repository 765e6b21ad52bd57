//! Sockets as sock_diag reports them: TCP and UNIX listeners and UDP sockets, with their memory.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::tcp_info::TcpInfo;

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// AF_INET.
    Ipv4,
    /// AF_INET6.
    Ipv6,
}

impl Family {
    /// The name used in reports: `ipv4` or `ipv6`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// A TCP socket in LISTEN state, as sock_diag reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TcpListener {
    /// Address family.
    pub family: Family,
    /// Bound address; `0.0.0.0` or `::` for a wildcard listener.
    pub local_address: IpAddr,
    /// Bound port.
    pub local_port: u16,
    /// Index of the interface the socket is bound to (`SO_BINDTODEVICE`), 0 for none.
    pub bound_interface: u32,
    /// Connections waiting for `accept()` (`idiag_rqueue` = `sk_ack_backlog`).
    pub accept_queue: u32,
    /// The accept-queue limit (`idiag_wqueue` = `sk_max_ack_backlog`): the backlog given to
    /// `listen()`, clamped to `net.core.somaxconn` at the time of the call.
    pub backlog: u32,
    /// Packets this listener dropped since it was created (`SK_MEMINFO_DROPS`, Linux 4.7+).
    pub drops: Option<u32>,
    /// Socket inode (links the socket to the processes holding it).
    pub inode: u64,
    /// Owner uid of the socket.
    pub uid: u32,
    /// Kernel socket cookie, unique for the socket's lifetime.
    pub cookie: u64,
    /// Whether an IPv6 listener refuses IPv4 (`IPV6_V6ONLY`); `None` for IPv4 listeners.
    pub v6only: Option<bool>,
    /// Socket memory (`INET_DIAG_SKMEMINFO`).
    pub memory: Option<SocketMemory>,
    /// `tcp_info` as the kernel sent it, parsed by length.
    pub tcp_info: Option<TcpInfo>,
}

/// Socket memory accounting (`SK_MEMINFO_*`), in bytes except `drops`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketMemory {
    /// Bytes in the receive queue (`rmem_alloc`).
    pub rmem_alloc: u32,
    /// Receive buffer size (`rcvbuf`).
    pub rcvbuf: u32,
    /// Bytes in the send queue (`wmem_alloc`).
    pub wmem_alloc: u32,
    /// Send buffer size (`sndbuf`).
    pub sndbuf: u32,
    /// Forward-allocated memory.
    pub fwd_alloc: u32,
    /// Bytes queued for sending.
    pub wmem_queued: u32,
    /// Option memory.
    pub optmem: u32,
    /// Bytes in the socket's receive backlog (packets that arrived while a user held the lock).
    pub backlog: u32,
    /// Packets dropped by this socket; absent before Linux 4.7.
    pub drops: Option<u32>,
}

/// A UNIX stream or seqpacket socket in LISTEN state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnixListener {
    /// Socket path; abstract names start with `@`; empty when unnamed. Unsanitised; bytes that
    /// are not UTF-8, and NULs inside an abstract name, kept as `\xNN`
    /// ([`crate::format::name_from_bytes`]).
    pub path: String,
    /// `stream` or `seqpacket`.
    pub socket_type: String,
    /// Connections waiting for `accept()`.
    pub accept_queue: u32,
    /// The accept-queue limit (`sk_max_ack_backlog`).
    pub backlog: u32,
    /// Socket inode.
    pub inode: u64,
    /// Kernel socket cookie.
    pub cookie: u64,
    /// Owner uid, when the kernel reports it (Linux 5.3+).
    pub uid: Option<u32>,
}

/// A UDP socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UdpSocket {
    /// Address family.
    pub family: Family,
    /// Bound address.
    pub local_address: IpAddr,
    /// Bound port.
    pub local_port: u16,
    /// Connected peer address (`0.0.0.0`/`::` when unconnected).
    pub remote_address: IpAddr,
    /// Connected peer port (0 when unconnected).
    pub remote_port: u16,
    /// Whether the socket is connected (state ESTABLISHED) rather than unconnected (CLOSE).
    pub connected: bool,
    /// Bytes waiting to be read (`ss -u` Recv-Q).
    pub receive_queue: u32,
    /// Bytes waiting to be sent (`ss -u` Send-Q).
    pub send_queue: u32,
    /// Datagrams this socket dropped (`SK_MEMINFO_DROPS`).
    pub drops: Option<u32>,
    /// Receive buffer size.
    pub rcvbuf: Option<u32>,
    /// Socket inode.
    pub inode: u64,
    /// Owner uid.
    pub uid: u32,
    /// Kernel socket cookie.
    pub cookie: u64,
}
