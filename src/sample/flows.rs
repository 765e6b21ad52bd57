//! A compact summary of established TCP flows: how many there are, the busiest ones, and the
//! ones stuck in retransmission. Nothing per socket is kept beyond those few.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::tcp_info::TcpInfo;

/// How many flows of each list a summary keeps.
pub const KEEP: usize = 32;

/// One established flow's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub local_port: u16,
    /// Remote address.
    pub remote_address: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// Socket inode.
    pub inode: u64,
    /// Receive buffer size (bytes).
    pub rcvbuf: Option<u32>,
    /// Send buffer size (bytes).
    pub sndbuf: Option<u32>,
    /// The flow's `tcp_info`.
    pub info: TcpInfo,
}

impl Flow {
    /// Bytes moved both ways.
    pub fn volume(&self) -> u64 {
        self.info.bytes_acked.unwrap_or(0).saturating_add(self.info.bytes_received.unwrap_or(0))
    }

    /// Whether the flow is retransmitting now (a segment is being retried, or the timer backs off).
    pub fn retransmitting(&self) -> bool {
        self.info.retransmitting()
    }
}

/// The established flows of the namespace, summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// Established sockets seen.
    pub established: u64,
    /// The busiest flows: of those with the most bytes queued (unsent, unacknowledged or unread)
    /// when the walk saw them, by bytes moved, most first.
    pub busiest: Vec<Flow>,
    /// Flows retransmitting now.
    pub retransmitting: Vec<Flow>,
}
