//! What the host-wide listen-event source (eBPF) saw at the listeners of one namespace: drops
//! by reason, SYN cookies, SYN-ACK retransmits, and how long accepted connections waited in the
//! accept queue.
//!
//! Like the kernel's counters, every count here is a **total since the source started**, so the
//! model takes deltas between two samples and a skipped sample loses nothing. Events are not kept
//! one struct per event: a sample holds per-listener totals, a wait histogram and a bounded list
//! of the latest events.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Family;

/// How many of the latest events a sample keeps per namespace.
pub const LATEST_EVENTS: usize = 64;

/// How many of the most-dropped clients a sample keeps per listener.
pub const TOP_CLIENTS: usize = 10;

/// Sub-buckets per power of two in a [`WaitHistogram`]: a bucket is at most 1/32 (3 %) of its
/// value wide, so a 200 ms wait is placed within ±3.2 ms.
pub const SUB_BUCKETS: u32 = 32;

/// The listen-event source's readings for one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListenEvents {
    /// How the source runs: which programs are attached and by which route.
    pub route: EventRoute,
    /// `CLOCK_BOOTTIME` in nanoseconds when the source started counting; totals run from here.
    pub started_boottime_ns: u64,
    /// Per listener (and per listening address and port for events that cannot name the socket).
    pub listeners: Vec<ListenerEvents>,
    /// The latest events in this namespace, oldest first, at most [`LATEST_EVENTS`].
    pub latest: Vec<ListenEvent>,
    /// Events the ring buffer had no room for, host-wide, since the source started: counted,
    /// never silent.
    pub lost_events: u64,
}

/// Which kernel hooks feed the source; shown so the user knows what is observed and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRoute {
    /// The programs attached, as `kind:name` (`tp_btf:kfree_skb`, `fexit:inet_csk_accept`,
    /// `cgroup:getpeername4`, `cgroup_skb:ingress`).
    pub attached: Vec<String>,
    /// How accept waits are measured: `fexit` (every accept) where the kernel allows it, else
    /// `getpeername` (accepts that ask for the client's address, which nearly every server
    /// does).
    pub accept_wait: String,
    /// Whether the final-ACK drop reason `TCP_LISTEN_OVERFLOW` exists on this kernel (6.15+).
    pub listen_overflow_reason: bool,
}

/// Totals for one listener since the source started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListenerEvents {
    /// The listener's socket cookie, when the hook could read it (matches
    /// [`super::TcpListener::cookie`]).
    pub cookie: Option<u64>,
    /// IPv4 or IPv6.
    pub family: Family,
    /// The listening address (the unspecified address for a wildcard listener).
    pub local_address: IpAddr,
    /// The listening port.
    pub local_port: u16,
    /// Connections dropped, by reason.
    pub drops: BTreeMap<DropReason, u64>,
    /// SYN cookies sent instead of a queued request (predicted, like the SYN drops).
    pub syncookies: u64,
    /// SYN-ACKs retransmitted because the handshake did not complete.
    pub synack_retransmits: u64,
    /// Connections accepted, with how long each waited between handshake and accept().
    pub accept_wait: WaitHistogram,
    /// The longest wait of a connection accepted since the previous sample, in nanoseconds
    /// (a maximum cannot be taken back out of totals).
    pub interval_max_wait_ns: u64,
    /// The clients dropped most since the source started, most first, at most [`TOP_CLIENTS`].
    pub top_dropped_clients: Vec<ClientDrops>,
    /// Distinct clients dropped since the source started (an estimate beyond 4,096).
    pub distinct_dropped_clients: u64,
}

impl ListenerEvents {
    /// Zero totals for the listener at `local_address`:`local_port`, with its cookie when known.
    pub fn empty(cookie: Option<u64>, family: Family, local_address: IpAddr, local_port: u16) -> ListenerEvents {
        ListenerEvents {
            cookie,
            family,
            local_address,
            local_port,
            drops: BTreeMap::new(),
            syncookies: 0,
            synack_retransmits: 0,
            accept_wait: WaitHistogram::default(),
            interval_max_wait_ns: 0,
            top_dropped_clients: Vec::new(),
            distinct_dropped_clients: 0,
        }
    }
}

/// Why a connection was dropped at a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// A SYN arrived while the accept queue was full (ListenOverflows + ListenDrops). The kernel
    /// leaves no trace of it: **predicted** with the kernel's own test at ingress.
    SynAcceptQueueFull,
    /// A SYN arrived while the SYN queue was full and SYN cookies were off (TCPReqQFullDrop):
    /// **predicted**.
    SynQueueFull,
    /// The final ACK of a handshake was dropped because the accept queue was full (drop reason
    /// `TCP_LISTEN_OVERFLOW`, kernels 6.15+): **observed**.
    AckAcceptQueueFull,
}

impl DropReason {
    /// Every reason, in display order.
    pub const ALL: [DropReason; 3] =
        [DropReason::SynAcceptQueueFull, DropReason::SynQueueFull, DropReason::AckAcceptQueueFull];

    /// The stable name, as JSON, OpenMetrics and `events` spell it.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::SynAcceptQueueFull => "syn_accept_queue_full",
            DropReason::SynQueueFull => "syn_queue_full",
            DropReason::AckAcceptQueueFull => "ack_accept_queue_full",
        }
    }

    /// Whether the kernel's decision is predicted (not observed).
    pub fn predicted(self) -> bool {
        !matches!(self, DropReason::AckAcceptQueueFull)
    }
}

/// One client and how often it was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDrops {
    /// The client's address.
    pub address: IpAddr,
    /// Its drops since the source started.
    pub drops: u64,
}

/// What happened, for one event of the latest list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The connection was dropped for this reason.
    Drop(DropReason),
    /// A SYN cookie was sent (predicted).
    Syncookie,
    /// A SYN-ACK was retransmitted (the attempt number is in [`ListenEvent::retransmits`]).
    SynackRetransmit,
    /// The connection was accepted after [`ListenEvent::wait_ns`].
    Accepted,
}

/// One event as the kernel hook saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenEvent {
    /// `CLOCK_BOOTTIME` in nanoseconds when it happened.
    pub boottime_ns: u64,
    /// What happened.
    pub kind: EventKind,
    /// The client.
    pub client_address: IpAddr,
    /// The client's port.
    pub client_port: u16,
    /// The listener's address as the packet named it.
    pub local_address: IpAddr,
    /// The listener's port.
    pub local_port: u16,
    /// The listener's socket cookie, when known.
    pub cookie: Option<u64>,
    /// The accept queue's length and limit at that moment (`sk_ack_backlog`, `sk_max_ack_backlog`).
    pub accept_queue: (u32, u32),
    /// The SYN queue's length at that moment (request sockets).
    pub syn_queue: u32,
    /// For an accepted connection, the nanoseconds between handshake and accept().
    pub wait_ns: u64,
    /// For a SYN-ACK retransmit, which attempt it was.
    pub retransmits: u32,
}

/// Counts of accept waits in log-linear buckets: [`SUB_BUCKETS`] per power of two of
/// nanoseconds. Sparse: only buckets that were hit are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitHistogram {
    /// Bucket index ([`WaitHistogram::bucket_of`]) to count.
    pub buckets: BTreeMap<u32, u64>,
    /// How many waits were counted.
    pub count: u64,
    /// Their sum in nanoseconds.
    pub sum_ns: u64,
}

impl WaitHistogram {
    /// Counts one wait.
    pub fn add(&mut self, wait_ns: u64) {
        *self.buckets.entry(Self::bucket_of(wait_ns)).or_default() += 1;
        self.count += 1;
        self.sum_ns = self.sum_ns.saturating_add(wait_ns);
    }

    /// The bucket holding `wait_ns`: values below [`SUB_BUCKETS`] have a bucket each; above,
    /// each power of two is cut into [`SUB_BUCKETS`] equal parts.
    pub fn bucket_of(wait_ns: u64) -> u32 {
        let sub = u64::from(SUB_BUCKETS);
        if wait_ns < sub {
            return wait_ns as u32;
        }
        let power = 63 - wait_ns.leading_zeros(); // wait_ns in [2^power, 2^(power+1))
        let shift = power - SUB_BUCKETS.trailing_zeros();
        let part = ((wait_ns >> shift) - sub) as u32;
        (power - SUB_BUCKETS.trailing_zeros() + 1) * SUB_BUCKETS + part
    }

    /// The lowest value in nanoseconds that falls into `bucket`.
    pub fn lower_bound(bucket: u32) -> u64 {
        if bucket < SUB_BUCKETS {
            return u64::from(bucket);
        }
        let octave = bucket / SUB_BUCKETS - 1;
        let part = u64::from(bucket % SUB_BUCKETS);
        (u64::from(SUB_BUCKETS) + part) << octave
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_falls_into_the_bucket_whose_bounds_hold_it() {
        for value in (0..5_000u64).chain([50_000_000, 100_000_000, 200_000_000, u64::MAX / 2]) {
            let bucket = WaitHistogram::bucket_of(value);
            assert!(WaitHistogram::lower_bound(bucket) <= value, "{value} below bucket {bucket}");
            assert!(WaitHistogram::lower_bound(bucket + 1) > value, "{value} above bucket {bucket}");
        }
    }

    #[test]
    fn a_bucket_is_at_most_a_thirty_second_of_its_value_wide() {
        let bucket = WaitHistogram::bucket_of(200_000_000);
        let width = WaitHistogram::lower_bound(bucket + 1) - WaitHistogram::lower_bound(bucket);
        assert!(width * 32 <= 200_000_000, "width {width}");
    }
}
