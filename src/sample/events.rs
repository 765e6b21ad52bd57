//! Kernel log lines that report a networking limit being hit.

use serde::{Deserialize, Serialize};

/// Which limit a kernel log line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelEventKind {
    /// "Possible SYN flooding on port ..." (once per listener).
    SynFlood,
    /// "TCP: time wait bucket table overflow".
    TimeWaitOverflow,
    /// "too many orphaned sockets".
    TooManyOrphans,
    /// "out of memory -- consider tuning tcp_mem".
    TcpMemory,
    /// "nf_conntrack: table full, dropping packet".
    ConntrackFull,
    /// "dropped over-mtu packet".
    OverMtu,
}

/// One matching kernel log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelEvent {
    /// What it reports.
    pub kind: KernelEventKind,
    /// Microseconds since boot when it was logged.
    pub boot_micros: u64,
    /// The message as logged.
    pub message: String,
}
