//! The counter files of `/proc/net` as read (`netstat`, `snmp`, `snmp6`, `sockstat`,
//! `softnet_stat`), and typed names for the counters sockscope reads by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Counter files by section (`TcpExt`) and field (`ListenDrops`).
pub type CounterSections = BTreeMap<String, BTreeMap<String, i64>>;

/// A counter of `netstat`, `snmp` or `snmp6` (or the summed `nf_conntrack` statistics), named by
/// section and field as the file names it. Code that reads a counter names it by one of the
/// constants below, never by two loose strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterId {
    /// Section, e.g. `TcpExt`.
    pub section: &'static str,
    /// Field, e.g. `ListenOverflows`.
    pub field: &'static str,
}

impl CounterId {
    /// A counter by section and field.
    pub const fn new(section: &'static str, field: &'static str) -> CounterId {
        CounterId { section, field }
    }
}

impl std::fmt::Display for CounterId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.section, self.field)
    }
}

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident = $section:literal $field:literal; )*) => {
        $( $(#[$doc])* pub const $name: CounterId = CounterId::new($section, $field); )*
    };
}

counters! {
    /// SYNs or final ACKs dropped because an accept queue was full.
    LISTEN_OVERFLOWS = "TcpExt" "ListenOverflows";
    /// Every packet a listener dropped, overflows included.
    LISTEN_DROPS = "TcpExt" "ListenDrops";
    /// SYNs dropped: SYN queue full and syncookies off.
    REQ_Q_FULL_DROP = "TcpExt" "TCPReqQFullDrop";
    /// SYN queue full: answered with a syncookie instead.
    REQ_Q_FULL_DO_COOKIES = "TcpExt" "TCPReqQFullDoCookies";
    /// SYN-ACKs sent with a syncookie.
    SYNCOOKIES_SENT = "TcpExt" "SyncookiesSent";
    /// Valid syncookies received back.
    SYNCOOKIES_RECV = "TcpExt" "SyncookiesRecv";
    /// Invalid syncookies received.
    SYNCOOKIES_FAILED = "TcpExt" "SyncookiesFailed";
    /// Receive-backlog drops of busy established sockets.
    BACKLOG_DROP = "TcpExt" "TCPBacklogDrop";
    /// Bare ACKs ignored by TCP_DEFER_ACCEPT listeners.
    DEFER_ACCEPT_DROP = "TcpExt" "TCPDeferAcceptDrop";
    /// Closing sockets that skipped TIME_WAIT because the bucket table was full.
    TIME_WAIT_OVERFLOW = "TcpExt" "TCPTimeWaitOverflow";
    /// Connections reset because TCP memory ran out.
    ABORT_ON_MEMORY = "TcpExt" "TCPAbortOnMemory";
    /// Times TCP entered memory pressure.
    MEMORY_PRESSURES = "TcpExt" "TCPMemoryPressures";
    /// Data segments sent (retransmissions excluded).
    ORIG_DATA_SENT = "TcpExt" "TCPOrigDataSent";
    /// SYN and SYN-ACK retransmissions.
    SYN_RETRANS = "TcpExt" "TCPSynRetrans";
    /// Connections accepted (passive opens).
    PASSIVE_OPENS = "Tcp" "PassiveOpens";
    /// Connections initiated (active opens).
    ACTIVE_OPENS = "Tcp" "ActiveOpens";
    /// Segments retransmitted.
    RETRANS_SEGS = "Tcp" "RetransSegs";
    /// Segments sent.
    OUT_SEGS = "Tcp" "OutSegs";
    /// UDP datagrams dropped because a receive buffer was full.
    UDP_RCVBUF_ERRORS = "Udp" "RcvbufErrors";
    /// Connection-tracking entries in use (a gauge).
    CONNTRACK_ENTRIES = "nf_conntrack" "entries";
}

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
    /// Current input backlog length (column 12, Linux 5.10+).
    pub fn backlog_len(&self) -> Option<u32> {
        self.columns.get(11).copied()
    }
}
