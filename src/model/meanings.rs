//! What the kernel's counters mean, in a sysadmin's words: one table, next to the field table of
//! [`super::fields`], read by the dashboard (the overview's overflow panel, the Counters view),
//! the text report and the OpenMetrics help lines. It covers the counters that matter to queues,
//! drops and retransmissions; the others are shown with their name alone.

use crate::sample::CounterId;
use crate::sample::counters::{
    ABORT_ON_MEMORY, ACTIVE_OPENS, BACKLOG_DROP, DEFER_ACCEPT_DROP, LISTEN_DROPS, LISTEN_OVERFLOWS, MEMORY_PRESSURES,
    ORIG_DATA_SENT, OUT_SEGS, PASSIVE_OPENS, REQ_Q_FULL_DO_COOKIES, REQ_Q_FULL_DROP, RETRANS_SEGS, SYN_RETRANS,
    SYNCOOKIES_FAILED, SYNCOOKIES_RECV, SYNCOOKIES_SENT, TIME_WAIT_OVERFLOW, UDP_RCVBUF_ERRORS,
};

const fn c(section: &'static str, field: &'static str) -> CounterId {
    CounterId::new(section, field)
}

/// Each counter with a line of meaning, by section and field as `/proc/net/netstat`,
/// `/proc/net/snmp` and `/proc/net/snmp6` spell them. The UDP lines also describe `Udp6`,
/// `UdpLite` and `UdpLite6`, whose fields mean the same.
pub const COUNTER_MEANINGS: &[(CounterId, &str)] = &[
    // Listen queues and the handshake.
    (LISTEN_OVERFLOWS, "SYNs or final ACKs dropped because an accept queue was full"),
    (LISTEN_DROPS, "every packet a listener dropped, overflows included"),
    (REQ_Q_FULL_DROP, "SYNs dropped: SYN queue full and syncookies off"),
    (REQ_Q_FULL_DO_COOKIES, "SYN queue full: answered with a syncookie instead"),
    (SYNCOOKIES_SENT, "SYN-ACKs sent with a syncookie"),
    (SYNCOOKIES_RECV, "valid syncookies received back (real clients)"),
    (SYNCOOKIES_FAILED, "invalid syncookies received (spoofing or stale)"),
    (BACKLOG_DROP, "receive-backlog drops of busy established sockets (not the listen backlog)"),
    (DEFER_ACCEPT_DROP, "bare ACKs ignored by TCP_DEFER_ACCEPT listeners (not a loss)"),
    (c("TcpExt", "TCPAbortOnOverflow"), "clients reset because the accept queue was full (tcp_abort_on_overflow = 1)"),
    (c("TcpExt", "EmbryonicRsts"), "resets received for half-open (SYN_RECV) requests"),
    (c("TcpExt", "TCPMigrateReqSuccess"), "requests moved to another listener of the group when theirs closed"),
    (c("TcpExt", "TCPMigrateReqFailure"), "requests lost when their listener closed and none could take them"),
    (SYN_RETRANS, "SYN and SYN-ACK retransmissions: handshakes not answered in time"),
    (PASSIVE_OPENS, "handshakes clients started on this host's listeners"),
    (ACTIVE_OPENS, "connections this host started (connect())"),
    (c("Tcp", "AttemptFails"), "connection attempts that failed (reset or closed in SYN_SENT or SYN_RECV)"),
    (c("Tcp", "EstabResets"), "established connections reset"),
    // TIME_WAIT, orphans and memory.
    (TIME_WAIT_OVERFLOW, "closing sockets that skipped TIME_WAIT: tcp_max_tw_buckets full"),
    (ABORT_ON_MEMORY, "connections reset because TCP memory or the orphan limit ran out"),
    (MEMORY_PRESSURES, "times TCP memory entered pressure (tcp_mem)"),
    (c("TcpExt", "TCPAbortOnTimeout"), "connections given up after too many retransmissions"),
    // Receive queues.
    (c("TcpExt", "PruneCalled"), "receive queues pruned because a socket ran out of receive buffer"),
    (c("TcpExt", "RcvPruned"), "packets dropped from a receive queue after pruning failed"),
    (c("TcpExt", "OfoPruned"), "out-of-order packets dropped for lack of receive buffer"),
    (c("TcpExt", "TCPRcvQDrop"), "packets dropped: the receive queue was over its buffer (rcvbuf)"),
    (c("TcpExt", "TCPOFODrop"), "out-of-order packets dropped: no receive memory"),
    (c("TcpExt", "TCPZeroWindowDrop"), "packets dropped because the receive window was zero"),
    (c("TcpExt", "TCPWqueueTooBig"), "sends refused: the write queue was too big"),
    // Retransmissions.
    (RETRANS_SEGS, "segments retransmitted"),
    (ORIG_DATA_SENT, "data segments sent, retransmissions excluded (the base of the retransmit ratio)"),
    (OUT_SEGS, "segments sent"),
    (c("Tcp", "InSegs"), "segments received"),
    (c("Tcp", "InErrs"), "segments received with errors (bad checksum, bad header)"),
    (c("Tcp", "OutRsts"), "resets sent"),
    (c("TcpExt", "TCPTimeouts"), "retransmission timeouts (RTO) that fired"),
    (c("TcpExt", "TCPLostRetransmit"), "retransmissions that were lost again"),
    (c("TcpExt", "TCPFastRetrans"), "fast retransmissions (after duplicate ACKs or SACK)"),
    (c("TcpExt", "TCPLossProbes"), "tail loss probes sent"),
    (c("TcpExt", "TCPRetransFail"), "retransmissions the stack could not send"),
    // UDP.
    (c("Udp", "InDatagrams"), "datagrams delivered to sockets"),
    (c("Udp", "NoPorts"), "datagrams to a port nothing listens on"),
    (c("Udp", "InErrors"), "datagrams dropped on receipt (full buffers included)"),
    (UDP_RCVBUF_ERRORS, "datagrams dropped because a socket's receive buffer was full"),
    (c("Udp", "SndbufErrors"), "datagrams not sent because a socket's send buffer was full"),
    (c("Udp", "MemErrors"), "datagrams dropped because UDP memory (udp_mem) ran out"),
    (c("Udp", "InCsumErrors"), "datagrams dropped for a bad checksum"),
    // IP and ICMP.
    (c("Ip", "InDiscards"), "received packets dropped for lack of resources"),
    (c("Ip", "OutDiscards"), "outgoing packets dropped for lack of resources"),
    (c("Ip", "InHdrErrors"), "received packets with a bad IP header"),
    (c("Ip", "InAddrErrors"), "received packets for an address not of this host"),
    (c("Ip", "OutNoRoutes"), "outgoing packets dropped: no route"),
    (c("Ip", "ReasmFails"), "fragmented packets that could not be reassembled"),
    (c("Ip", "FragFails"), "packets that needed fragmenting but could not be (DF set)"),
    (c("IpExt", "InNoRoutes"), "received packets dropped: no route"),
    (c("IpExt", "InTruncatedPkts"), "received packets shorter than their header says"),
    (c("Icmp", "InErrors"), "ICMP messages received with errors"),
    (c("Icmp", "InDestUnreachs"), "destination-unreachable messages received (fragmentation needed included)"),
    (c("Icmp", "OutDestUnreachs"), "destination-unreachable messages sent (e.g. to a closed UDP port)"),
    (c("IcmpMsg", "InType3"), "destination unreachable received (type 3; PMTU discovery reads these)"),
    (c("IcmpMsg", "OutType3"), "destination unreachable sent (type 3)"),
];

/// The section whose meanings describe `section`: `Udp` for `Udp6`, `UdpLite` and `UdpLite6`.
fn described_as(section: &str) -> &str {
    match section {
        "Udp6" | "UdpLite" | "UdpLite6" => "Udp",
        other => other,
    }
}

/// What a counter means, by section and field as the files spell them; `None` for the counters
/// the table does not describe.
pub fn meaning(section: &str, field: &str) -> Option<&'static str> {
    let section = described_as(section);
    COUNTER_MEANINGS.iter().find(|(id, _)| id.section == section && id.field == field).map(|(_, meaning)| *meaning)
}

/// What a counter the code names by its id means (the empty string for one the table lacks,
/// which its test rules out for the counters sockscope shows).
pub fn meaning_of(id: CounterId) -> &'static str {
    meaning(id.section, id.field).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_described_once() {
        let mut ids: Vec<CounterId> = COUNTER_MEANINGS.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), COUNTER_MEANINGS.len());
        assert!(COUNTER_MEANINGS.iter().all(|(_, meaning)| !meaning.is_empty() && !meaning.ends_with('.')));
    }

    #[test]
    fn the_queue_drop_and_retransmission_counters_have_a_meaning() {
        let wanted = [
            ("TcpExt", "ListenOverflows"),
            ("TcpExt", "TCPReqQFullDoCookies"),
            ("TcpExt", "SyncookiesFailed"),
            ("TcpExt", "TCPTimeWaitOverflow"),
            ("TcpExt", "TCPSynRetrans"),
            ("TcpExt", "TCPAbortOnMemory"),
            ("TcpExt", "PruneCalled"),
            ("TcpExt", "RcvPruned"),
            ("TcpExt", "TCPRcvQDrop"),
            ("TcpExt", "TCPOrigDataSent"),
            ("Tcp", "RetransSegs"),
            ("Udp", "InErrors"),
            ("Udp", "SndbufErrors"),
            ("Udp6", "RcvbufErrors"),
            ("UdpLite", "RcvbufErrors"),
        ];
        for (section, field) in wanted {
            assert!(meaning(section, field).is_some(), "{section}{field} has no meaning");
        }
        assert_eq!(meaning("TcpExt", "TCPHPHits"), None);
    }
}
