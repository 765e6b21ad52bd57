//! Every TCP socket of a namespace, from the all-states dump: counts per state, half-open
//! requests per local address, CLOSE_WAIT sockets, the use of the ephemeral port range, and —
//! when asked for — each socket with its pending timer.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::sockets::{Family, SocketMemory};
use super::tcp_info::TcpInfo;

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
    /// The socket's owner uid (recordings made before it was kept read as unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
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

    /// Adds the sockets of `other` (another part of a walk split over threads).
    pub fn absorb(&mut self, other: &TcpStateCounts) {
        for state in TCP_STATES {
            *self.slot_mut(state) += other.get(state);
        }
    }

    /// Total number of sockets over all states (at most `u64::MAX`, whatever a recording holds).
    pub fn total(&self) -> u64 {
        TCP_STATES.iter().fold(0u64, |total, state| total.saturating_add(self.get(*state)))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording can hold any count; their total stops at `u64::MAX` instead of overflowing.
    #[test]
    fn the_total_of_huge_counts_saturates() {
        let counts = TcpStateCounts { established: u64::MAX, time_wait: 2, ..TcpStateCounts::default() };
        assert_eq!(counts.total(), u64::MAX);
        let mut few = TcpStateCounts::default();
        few.add(TcpState::Listen);
        few.add(TcpState::TimeWait);
        assert_eq!(few.total(), 2);
    }
}
