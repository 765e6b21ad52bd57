//! The `Sample`: everything sockscope read from the kernel at one moment, as plain data.
//!
//! A sample holds raw facts only — queue lengths, counters, settings — never a number computed
//! from two readings. Rates, fill ratios and attributions are derived by [`crate::model`] from one
//! sample or from two. Live runs, replays of recordings and one-shot reports all feed samples of
//! this one type into the same model.
//!
//! Each source can be missing on its own: its field is `None` and [`Sample::unavailable`] says
//! why. A source that was deliberately not read (for example processes with `--no-processes`)
//! is listed in [`Sample::skipped`] instead.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use crate::collect::flows::{Flow, FlowSummary};
pub use crate::collect::kmsg::{KernelEvent, KernelEventKind};
pub use crate::collect::netns::HostNamespace;
use crate::collect::tcp_info::TcpInfo;

/// One reading of the kernel's network state, taken by [`crate::collect::Collector`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sample {
    /// Wall-clock time at which collection started.
    pub taken_at: jiff::Timestamp,
    /// `CLOCK_BOOTTIME` in nanoseconds when collection started; intervals between samples are
    /// measured with it, so wall-clock jumps never distort a rate.
    pub boottime_ns: u64,
    /// The network namespace the sample was read in.
    pub netns: Option<Netns>,
    /// Host identity and uptime.
    pub host: Option<Host>,
    /// Kernel settings under `/proc/sys/net`, by dotted name.
    pub sysctls: Option<Sysctls>,
    /// Network interfaces from rtnetlink.
    pub interfaces: Option<Vec<Interface>>,
    /// TCP sockets in LISTEN state (IPv4 and IPv6).
    pub tcp_listeners: Option<Vec<TcpListener>>,
    /// UNIX stream and seqpacket sockets in LISTEN state.
    pub unix_listeners: Option<Vec<UnixListener>>,
    /// Counts over every TCP socket: states, half-open requests, ephemeral-port use.
    pub tcp_summary: Option<TcpSummary>,
    /// UDP sockets (IPv4 and IPv6).
    pub udp_sockets: Option<Vec<UdpSocket>>,
    /// `/proc/net/netstat` (TcpExt, IpExt, ...), by section and field name.
    pub netstat: Option<CounterSections>,
    /// `/proc/net/snmp` (Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite), by section and field name.
    pub snmp: Option<CounterSections>,
    /// `/proc/net/snmp6`, split into sections by name prefix (Ip6, Icmp6, Udp6, UdpLite6).
    pub snmp6: Option<CounterSections>,
    /// `/proc/net/sockstat` and `/proc/net/sockstat6`, by line label (`TCP`, `UDP6`, ...).
    pub sockstat: Option<CounterSections>,
    /// `/proc/net/softnet_stat`, one row per online CPU.
    pub softnet: Option<Vec<SoftnetRow>>,
    /// Owners of the sockets sockscope attributes (listeners by default), by socket inode.
    pub processes: Option<ProcessTable>,
    /// `/proc/net/stat/nf_conntrack` summed over CPUs; absent when connection tracking is not
    /// loaded.
    #[serde(default)]
    pub conntrack: Option<BTreeMap<String, u64>>,
    /// Kernel log lines that report a networking limit being hit (`/dev/kmsg`).
    #[serde(default)]
    pub kernel_events: Option<Vec<KernelEvent>>,
    /// Established TCP flows, summarised (busiest and retransmitting).
    #[serde(default)]
    pub flows: Option<FlowSummary>,
    /// How this namespace relates to the host's, with the host's settings when they differ.
    #[serde(default)]
    pub host_netns: Option<HostNamespace>,
    /// Every TCP socket, kept only when the Connections view asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<Connection>>,
    /// Sources that failed, in full or in part, with the reason.
    pub unavailable: Vec<Unavailable>,
    /// Sources that were not read on purpose (for example `processes` with `--no-processes`).
    pub skipped: Vec<String>,
    /// How the collection itself went: time per source, malformed netlink messages.
    pub diagnostics: Diagnostics,
}

impl Sample {
    /// The reason a source (by its name in [`Sample::unavailable`]) could not be read, if any.
    pub fn unavailable_reason(&self, source: &str) -> Option<&str> {
        self.unavailable.iter().find(|u| u.source == source).map(|u| u.reason.as_str())
    }

    /// A sysctl's value, by dotted name (`net.core.somaxconn`).
    pub fn sysctl(&self, name: &str) -> Option<&SysctlValue> {
        self.sysctls.as_ref()?.get(name)
    }

    /// A counter's value from netstat, snmp or snmp6, by section and field (`TcpExt`, `ListenDrops`).
    pub fn counter(&self, section: &str, field: &str) -> Option<i64> {
        [&self.netstat, &self.snmp, &self.snmp6]
            .into_iter()
            .flatten()
            .find_map(|sections| sections.get(section)?.get(field).copied())
    }
}

/// A source that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// Stable name of the source (`tcp_listeners`, `snmp6`, `sysctl`, ...).
    pub source: String,
    /// One line saying why, e.g. "permission denied" or "IPv6: protocol not supported".
    pub reason: String,
}

/// Identity of a network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Netns {
    /// Inode of the namespace file (`/proc/thread-self/ns/net`), as `lsns` shows it.
    pub inode: u64,
    /// Name under `/run/netns`, when the namespace was selected by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Host identity, from the UTS namespace and `/proc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Host name (`uname -n`).
    pub hostname: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Seconds since boot.
    pub uptime_seconds: u64,
    /// Number of online CPUs.
    pub cpus: u32,
    /// Load average over 1, 5 and 15 minutes.
    pub load_average: [f64; 3],
}

/// Kernel settings by dotted name; absent settings are simply not in the map.
pub type Sysctls = BTreeMap<String, SysctlValue>;

/// The value of one kernel setting as `/proc/sys` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SysctlValue {
    /// A single integer, e.g. `net.core.somaxconn`.
    Integer(i64),
    /// Several integers, e.g. `net.ipv4.ip_local_port_range` or `net.ipv4.tcp_rmem`.
    Integers(Vec<i64>),
    /// Anything else, e.g. `net.ipv4.tcp_congestion_control` or a port list.
    Text(String),
}

impl SysctlValue {
    /// The value as one integer, when it is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            SysctlValue::Integer(value) => Some(*value),
            _ => None,
        }
    }

    /// The value as a list of integers (a single integer gives a list of one).
    pub fn as_integers(&self) -> Option<Vec<i64>> {
        match self {
            SysctlValue::Integer(value) => Some(vec![*value]),
            SysctlValue::Integers(values) => Some(values.clone()),
            SysctlValue::Text(_) => None,
        }
    }
}

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
    /// Socket path; abstract names start with `@`; empty when unnamed.
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

/// Counts over every TCP socket of the namespace, from one dump of all states.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpSummary {
    /// Sockets per TCP state.
    pub states: TcpStateCounts,
    /// Half-open connection requests (SYN_RECV), grouped by the local address and port the
    /// client connected to.
    pub syn_recv: Vec<SynRecvGroup>,
    /// Use of the ephemeral (local) port range.
    pub ephemeral: EphemeralPorts,
    /// Every socket in CLOSE_WAIT: the peer closed, the application has not.
    pub close_wait: Vec<CloseWaitSocket>,
}

/// A TCP socket in CLOSE_WAIT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseWaitSocket {
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub local_port: u16,
    /// Socket inode; 0 while the connection still waits in a listener's accept queue.
    pub inode: u64,
    /// Kernel socket cookie.
    pub cookie: u64,
}

/// Number of TCP sockets in each state, as `ss -tan` lists them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpStateCounts {
    /// ESTABLISHED.
    #[serde(rename = "ESTABLISHED")]
    pub established: u64,
    /// SYN_SENT.
    #[serde(rename = "SYN_SENT")]
    pub syn_sent: u64,
    /// SYN_RECV, including half-open request sockets.
    #[serde(rename = "SYN_RECV")]
    pub syn_recv: u64,
    /// FIN_WAIT1.
    #[serde(rename = "FIN_WAIT1")]
    pub fin_wait1: u64,
    /// FIN_WAIT2.
    #[serde(rename = "FIN_WAIT2")]
    pub fin_wait2: u64,
    /// TIME_WAIT.
    #[serde(rename = "TIME_WAIT")]
    pub time_wait: u64,
    /// CLOSE.
    #[serde(rename = "CLOSE")]
    pub close: u64,
    /// CLOSE_WAIT.
    #[serde(rename = "CLOSE_WAIT")]
    pub close_wait: u64,
    /// LAST_ACK.
    #[serde(rename = "LAST_ACK")]
    pub last_ack: u64,
    /// LISTEN.
    #[serde(rename = "LISTEN")]
    pub listen: u64,
    /// CLOSING.
    #[serde(rename = "CLOSING")]
    pub closing: u64,
}

/// The TCP states in kernel order, with their names, for code that walks all of them.
pub const TCP_STATES: [TcpState; 11] = [
    TcpState::Established,
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::TimeWait,
    TcpState::Close,
    TcpState::CloseWait,
    TcpState::LastAck,
    TcpState::Listen,
    TcpState::Closing,
];

/// A TCP state (`include/net/tcp_states.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TcpState {
    /// TCP_ESTABLISHED (1).
    Established,
    /// TCP_SYN_SENT (2).
    SynSent,
    /// TCP_SYN_RECV (3), also reported for request sockets (TCP_NEW_SYN_RECV).
    SynRecv,
    /// TCP_FIN_WAIT1 (4).
    FinWait1,
    /// TCP_FIN_WAIT2 (5).
    FinWait2,
    /// TCP_TIME_WAIT (6).
    TimeWait,
    /// TCP_CLOSE (7).
    Close,
    /// TCP_CLOSE_WAIT (8).
    CloseWait,
    /// TCP_LAST_ACK (9).
    LastAck,
    /// TCP_LISTEN (10).
    Listen,
    /// TCP_CLOSING (11).
    Closing,
}

impl TcpState {
    /// The state for a kernel state number; NEW_SYN_RECV (12) counts as SYN_RECV.
    pub fn from_kernel(state: u8) -> Option<TcpState> {
        Some(match state {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 | 12 => TcpState::SynRecv,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            _ => return None,
        })
    }

    /// The name `ss` and `/proc/net/tcp` documentation use, e.g. `TIME_WAIT`.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
        }
    }
}

impl TcpStateCounts {
    /// The count for one state.
    pub fn get(&self, state: TcpState) -> u64 {
        *self.slot(state)
    }

    /// Adds one socket in `state`.
    pub fn add(&mut self, state: TcpState) {
        *self.slot_mut(state) += 1;
    }

    /// Total number of sockets over all states.
    pub fn total(&self) -> u64 {
        TCP_STATES.iter().map(|state| self.get(*state)).sum()
    }

    fn slot(&self, state: TcpState) -> &u64 {
        match state {
            TcpState::Established => &self.established,
            TcpState::SynSent => &self.syn_sent,
            TcpState::SynRecv => &self.syn_recv,
            TcpState::FinWait1 => &self.fin_wait1,
            TcpState::FinWait2 => &self.fin_wait2,
            TcpState::TimeWait => &self.time_wait,
            TcpState::Close => &self.close,
            TcpState::CloseWait => &self.close_wait,
            TcpState::LastAck => &self.last_ack,
            TcpState::Listen => &self.listen,
            TcpState::Closing => &self.closing,
        }
    }

    fn slot_mut(&mut self, state: TcpState) -> &mut u64 {
        match state {
            TcpState::Established => &mut self.established,
            TcpState::SynSent => &mut self.syn_sent,
            TcpState::SynRecv => &mut self.syn_recv,
            TcpState::FinWait1 => &mut self.fin_wait1,
            TcpState::FinWait2 => &mut self.fin_wait2,
            TcpState::TimeWait => &mut self.time_wait,
            TcpState::Close => &mut self.close,
            TcpState::CloseWait => &mut self.close_wait,
            TcpState::LastAck => &mut self.last_ack,
            TcpState::Listen => &mut self.listen,
            TcpState::Closing => &mut self.closing,
        }
    }
}

/// Half-open requests (SYN_RECV request sockets) toward one local address and port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynRecvGroup {
    /// Family of the request sockets (an IPv4 SYN to a dual-stack listener gives IPv4 requests).
    pub family: Family,
    /// The local address the clients connected to (never a wildcard).
    pub local_address: IpAddr,
    /// The local port the clients connected to.
    pub local_port: u16,
    /// Number of request sockets.
    pub requests: u32,
    /// Requests whose SYN-ACK was retransmitted at least once.
    pub retransmitted: u32,
}

/// Use of the local port range by TCP sockets (UDP use is derived from [`Sample::udp_sockets`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EphemeralPorts {
    /// The `net.ipv4.ip_local_port_range` the counts were made against (inclusive).
    pub range: Option<(u16, u16)>,
    /// TCP sockets (not listeners, not children of a local listener) whose local port lies in
    /// the range, TIME_WAIT included.
    pub tcp_sockets: u64,
    /// Distinct local ports in the range used by those TCP sockets.
    pub tcp_distinct_ports: u32,
    /// Number of distinct (local address, remote address, remote port) destinations.
    pub destinations: u64,
    /// The busiest destinations, most sockets first (at most [`EphemeralPorts::TOP`]).
    pub by_destination: Vec<DestinationPorts>,
}

impl EphemeralPorts {
    /// How many destinations a sample keeps in `by_destination`.
    pub const TOP: usize = 256;
}

/// TCP sockets with an ephemeral local port toward one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestinationPorts {
    /// Local (source) address; IPv4-mapped IPv6 addresses are shown as IPv4.
    pub local_address: IpAddr,
    /// Remote (destination) address.
    pub remote_address: IpAddr,
    /// Remote (destination) port.
    pub remote_port: u16,
    /// Sockets toward this destination with a local port in the range.
    pub sockets: u64,
    /// Of those, sockets in TIME_WAIT.
    pub time_wait: u64,
}

/// Counter files by section (`TcpExt`) and field (`ListenDrops`).
pub type CounterSections = BTreeMap<String, BTreeMap<String, i64>>;

/// One CPU's row of `/proc/net/softnet_stat`, every column kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftnetRow {
    /// The CPU number: the kernel's CPU-id column when present (5.10+), else the row index.
    pub cpu: u32,
    /// All columns as printed (hex decoded); their number depends on the kernel.
    pub columns: Vec<u32>,
}

impl SoftnetRow {
    /// Packets processed (column 1).
    pub fn processed(&self) -> Option<u32> {
        self.columns.first().copied()
    }
    /// Packets dropped because the input backlog was full (column 2).
    pub fn dropped(&self) -> Option<u32> {
        self.columns.get(1).copied()
    }
    /// Times net_rx_action ran out of budget or time with work left (column 3).
    pub fn time_squeeze(&self) -> Option<u32> {
        self.columns.get(2).copied()
    }
    /// Packets steered to this CPU by RPS (column 10).
    pub fn received_rps(&self) -> Option<u32> {
        self.columns.get(9).copied()
    }
    /// Packets dropped by the flow limit (column 11).
    pub fn flow_limit_count(&self) -> Option<u32> {
        self.columns.get(10).copied()
    }
    /// Current input backlog length (column 12, Linux 5.10+).
    pub fn backlog_len(&self) -> Option<u32> {
        self.columns.get(11).copied()
    }
}

/// A network interface, from RTM_GETLINK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Interface name.
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// MTU in bytes.
    pub mtu: Option<u32>,
    /// Smallest MTU the device accepts.
    pub min_mtu: Option<u32>,
    /// Largest MTU the device accepts.
    pub max_mtu: Option<u32>,
    /// Operational state as `ip link` prints it: UP, DOWN, UNKNOWN, LOWERLAYERDOWN, ...
    pub oper_state: String,
    /// Whether the interface is administratively up (IFF_UP).
    pub admin_up: bool,
    /// Link kind (`vlan`, `vxlan`, `bridge`, `veth`, `bond`, ...); `None` for plain devices.
    pub kind: Option<String>,
    /// Index of the master device (bridge, bond, VRF), if enslaved.
    pub master: Option<u32>,
    /// Index of the lower device (`IFLA_LINK`, e.g. a VLAN's parent), if any.
    pub link: Option<u32>,
    /// 64-bit traffic statistics.
    pub stats: Option<InterfaceStats>,
}

/// Interface counters from `IFLA_STATS64`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Received packets dropped by the kernel.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
    /// Packets the NIC missed (ring full).
    pub rx_missed_errors: u64,
    /// Receive FIFO overruns.
    pub rx_fifo_errors: u64,
    /// Receive ring-buffer overflows.
    pub rx_over_errors: u64,
    /// Transmit FIFO errors.
    pub tx_fifo_errors: u64,
}

/// Which processes hold which sockets, for the sockets sockscope attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessTable {
    /// Processes holding each socket, by socket inode; a socket can be shared (for example by
    /// a master process and its workers).
    pub owners: BTreeMap<u64, Vec<ProcessRef>>,
    /// Processes whose descriptors were read.
    pub scanned: u32,
    /// Processes that exited while being read.
    pub vanished: u32,
    /// Processes whose descriptors could not be read (another user's, without privileges).
    pub denied: u32,
    /// Soft `RLIMIT_NOFILE` of the owning processes, by pid (from `/proc/<pid>/limits`).
    #[serde(default)]
    pub open_files_limit: BTreeMap<u32, u64>,
}

/// A process, as named in reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProcessRef {
    /// Process id.
    pub pid: u32,
    /// Command name (`/proc/<pid>/comm`), unsanitised.
    pub command: String,
}

/// How the collection went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Netlink messages that could not be decoded and were skipped.
    pub malformed_messages: u64,
    /// Lines or fields of `/proc` files that could not be parsed and were skipped.
    pub skipped_fields: u64,
    /// Microseconds spent on each source.
    pub source_micros: BTreeMap<String, u64>,
}

/// One TCP socket of the all-states dump, kept only when the Connections view asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// Address family.
    pub family: Family,
    /// TCP state.
    pub state: TcpState,
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub local_port: u16,
    /// Remote address.
    pub remote_address: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// Receive queue (`idiag_rqueue`).
    pub recv_q: u32,
    /// Send queue (`idiag_wqueue`).
    pub send_q: u32,
    /// Socket inode (0 for TIME_WAIT and request sockets).
    pub inode: u64,
    /// Owner uid.
    pub uid: u32,
    /// Kernel socket cookie.
    pub cookie: u64,
    /// Retransmissions of the current segment (`idiag_retrans`).
    pub retrans: u8,
    /// The pending timer, as `ss -o` shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<SocketTimer>,
    /// `tcp_info`, absent for TIME_WAIT and request sockets.
    pub tcp_info: Option<TcpInfo>,
    /// Socket memory.
    pub memory: Option<SocketMemory>,
}

/// A socket's pending timer (`idiag_timer` and `idiag_expires`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocketTimer {
    /// Which timer.
    pub kind: TimerKind,
    /// Milliseconds until it fires.
    pub expires_ms: u32,
}

/// The timers the kernel reports for a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// Retransmission (or, for a request socket, the SYN-ACK retransmission).
    Retransmit,
    /// Keepalive.
    Keepalive,
    /// TIME_WAIT expiry.
    TimeWait,
    /// Zero-window probe.
    Persist,
}

impl TimerKind {
    /// The timer of an `idiag_timer` value; `None` for 0 (no timer) and unknown values.
    pub fn from_kernel(timer: u8) -> Option<TimerKind> {
        match timer {
            1 => Some(TimerKind::Retransmit),
            2 => Some(TimerKind::Keepalive),
            3 => Some(TimerKind::TimeWait),
            4 => Some(TimerKind::Persist),
            _ => None,
        }
    }

    /// The name `ss -o` prints: `on`, `keepalive`, `timewait`, `persist`.
    pub fn ss_name(self) -> &'static str {
        match self {
            TimerKind::Retransmit => "on",
            TimerKind::Keepalive => "keepalive",
            TimerKind::TimeWait => "timewait",
            TimerKind::Persist => "persist",
        }
    }
}
