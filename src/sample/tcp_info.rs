//! `struct tcp_info` (include/uapi/linux/tcp.h), parsed by payload length.
//!
//! The structure only ever grows at its end, and the kernel sends `min(sizeof, its own size)`
//! bytes: 104 on 2.6-era kernels, 232 on 5.4, 280 on 6.18. A field that lies beyond the payload
//! is absent (`None`), never an error, so one parser serves every kernel.

use serde::{Deserialize, Serialize};

/// Reads a little-endian (host order on every Linux target sockscope builds for) integer at
/// `offset`, when the payload is long enough.
fn field<const N: usize>(payload: &[u8], offset: usize) -> Option<[u8; N]> {
    payload.get(offset..offset.checked_add(N)?)?.try_into().ok()
}

fn read_u8(payload: &[u8], offset: usize) -> Option<u8> {
    payload.get(offset).copied()
}

fn read_u16(payload: &[u8], offset: usize) -> Option<u16> {
    field::<2>(payload, offset).map(u16::from_ne_bytes)
}

fn read_u32(payload: &[u8], offset: usize) -> Option<u32> {
    field::<4>(payload, offset).map(u32::from_ne_bytes)
}

fn read_u64(payload: &[u8], offset: usize) -> Option<u64> {
    field::<8>(payload, offset).map(u64::from_ne_bytes)
}

macro_rules! tcp_info_fields {
    ($( $(#[$doc:meta])* $name:ident : $ty:ident @ $offset:expr ),* $(,)?) => {
        /// The fields of `tcp_info` sockscope shows; `None` when the kernel's payload is too
        /// short to hold the field. Times are microseconds, sizes bytes, rates bytes/second.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct TcpInfo {
            /// Length of the payload the kernel sent, in bytes.
            pub payload_len: usize,
            $( $(#[$doc])* #[serde(default, skip_serializing_if = "Option::is_none")]
               pub $name: Option<$ty>, )*
        }

        impl TcpInfo {
            /// Parses a `tcp_info` payload of any length; missing tail fields stay `None`.
            pub fn parse(payload: &[u8]) -> TcpInfo {
                TcpInfo {
                    payload_len: payload.len(),
                    $( $name: tcp_info_fields!(@read $ty, payload, $offset), )*
                }
            }
        }
    };
    (@read u8, $payload:expr, $offset:expr) => { read_u8($payload, $offset) };
    (@read u16, $payload:expr, $offset:expr) => { read_u16($payload, $offset) };
    (@read u32, $payload:expr, $offset:expr) => { read_u32($payload, $offset) };
    (@read u64, $payload:expr, $offset:expr) => { read_u64($payload, $offset) };
}

tcp_info_fields! {
    /// Kernel TCP state number.
    state: u8 @ 0,
    /// Congestion-avoidance state (open, disorder, CWR, recovery, loss).
    ca_state: u8 @ 1,
    /// Retransmits of the current unacknowledged segment.
    retransmits: u8 @ 2,
    /// Zero-window or keepalive probes sent without answer.
    probes: u8 @ 3,
    /// Exponential backoff of the retransmission timer.
    backoff: u8 @ 4,
    /// Negotiated options (timestamps, SACK, window scaling, ECN) as a bit set.
    options: u8 @ 5,
    /// Retransmission timeout.
    rto: u32 @ 8,
    /// Delayed-ACK timeout.
    ato: u32 @ 12,
    /// Send maximum segment size.
    snd_mss: u32 @ 16,
    /// Receive maximum segment size.
    rcv_mss: u32 @ 20,
    /// Unacknowledged segments; for a listener the accept-queue length.
    unacked: u32 @ 24,
    /// SACKed segments; for a listener the accept-queue limit.
    sacked: u32 @ 28,
    /// Segments considered lost.
    lost: u32 @ 32,
    /// Segments retransmitted and not yet acknowledged.
    retrans: u32 @ 36,
    /// Path MTU.
    pmtu: u32 @ 60,
    /// Receive slow-start threshold.
    rcv_ssthresh: u32 @ 64,
    /// Smoothed round-trip time.
    rtt: u32 @ 68,
    /// Round-trip time variance.
    rttvar: u32 @ 72,
    /// Send slow-start threshold (segments).
    snd_ssthresh: u32 @ 76,
    /// Congestion window (segments).
    snd_cwnd: u32 @ 80,
    /// Advertised MSS.
    advmss: u32 @ 84,
    /// Reordering metric.
    reordering: u32 @ 88,
    /// Receiver-side RTT estimate.
    rcv_rtt: u32 @ 92,
    /// Receive-buffer autotuning space.
    rcv_space: u32 @ 96,
    /// Total retransmitted segments over the connection's life.
    total_retrans: u32 @ 100,
    /// Pacing rate.
    pacing_rate: u64 @ 104,
    /// Maximum pacing rate.
    max_pacing_rate: u64 @ 112,
    /// Bytes acknowledged by the peer.
    bytes_acked: u64 @ 120,
    /// Bytes received.
    bytes_received: u64 @ 128,
    /// Segments sent.
    segs_out: u32 @ 136,
    /// Segments received.
    segs_in: u32 @ 140,
    /// Bytes written but not yet sent.
    notsent_bytes: u32 @ 144,
    /// Minimum RTT seen.
    min_rtt: u32 @ 148,
    /// Data segments received.
    data_segs_in: u32 @ 152,
    /// Data segments sent.
    data_segs_out: u32 @ 156,
    /// Delivery rate estimate.
    delivery_rate: u64 @ 160,
    /// Time spent busy sending.
    busy_time: u64 @ 168,
    /// Time limited by the receive window.
    rwnd_limited: u64 @ 176,
    /// Time limited by the send buffer.
    sndbuf_limited: u64 @ 184,
    /// Segments delivered.
    delivered: u32 @ 192,
    /// Segments delivered with an ECN CE mark.
    delivered_ce: u32 @ 196,
    /// Bytes sent, retransmissions included.
    bytes_sent: u64 @ 200,
    /// Bytes retransmitted.
    bytes_retrans: u64 @ 208,
    /// Duplicate segments reported by DSACK.
    dsack_dups: u32 @ 216,
    /// Reordering events seen.
    reord_seen: u32 @ 220,
    /// Out-of-order packets received.
    rcv_ooopack: u32 @ 224,
    /// Peer's advertised receive window (bytes).
    snd_wnd: u32 @ 228,
    /// Local advertised receive window (bytes).
    rcv_wnd: u32 @ 232,
    /// PLB or timeout-triggered rehash events.
    rehash: u32 @ 236,
    /// Retransmission timeouts.
    total_rto: u16 @ 240,
    /// Recoveries from retransmission timeouts.
    total_rto_recoveries: u16 @ 242,
    /// Milliseconds spent in RTO recovery.
    total_rto_time: u32 @ 244,
}

impl TcpInfo {
    /// Whether the socket is retransmitting now: a segment is being retried, or the
    /// retransmission timer backs off.
    pub fn retransmitting(&self) -> bool {
        self.retransmits.unwrap_or(0) > 0 || self.backoff.unwrap_or(0) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 280-byte payload with each u32 slot holding its own offset, so every field's value
    /// tells where it was read from.
    fn payload(len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; len];
        for offset in (8..len).step_by(4) {
            if offset + 4 <= len {
                bytes[offset..offset + 4].copy_from_slice(&(offset as u32).to_ne_bytes());
            }
        }
        bytes[..6].copy_from_slice(&[10, 1, 2, 3, 4, 7]);
        bytes
    }

    #[test]
    fn a_104_byte_payload_has_the_original_fields_only() {
        let info = TcpInfo::parse(&payload(104));
        assert_eq!(info.payload_len, 104);
        assert_eq!(info.state, Some(10));
        assert_eq!(info.options, Some(7));
        assert_eq!(info.unacked, Some(24));
        assert_eq!(info.sacked, Some(28));
        assert_eq!(info.rtt, Some(68));
        assert_eq!(info.total_retrans, Some(100));
        assert_eq!(info.pacing_rate, None);
        assert_eq!(info.delivery_rate, None);
        assert_eq!(info.snd_wnd, None);
    }

    #[test]
    fn a_232_byte_payload_ends_with_snd_wnd() {
        let info = TcpInfo::parse(&payload(232));
        assert_eq!(info.snd_wnd, Some(228));
        assert_eq!(info.rcv_ooopack, Some(224));
        assert_eq!(info.rcv_wnd, None);
        assert_eq!(info.total_rto, None);
        let rate_low = 160u64 | (164u64 << 32);
        assert_eq!(info.delivery_rate, Some(rate_low));
    }

    #[test]
    fn a_280_byte_payload_has_every_known_field() {
        let info = TcpInfo::parse(&payload(280));
        assert_eq!(info.rcv_wnd, Some(232));
        assert_eq!(info.rehash, Some(236));
        assert_eq!(info.total_rto, Some(240));
        assert_eq!(info.total_rto_recoveries, Some(0));
        assert_eq!(info.total_rto_time, Some(244));
    }

    #[test]
    fn a_truncated_payload_cuts_a_field_cleanly() {
        // 70 bytes: rtt (68..72) is cut in half and must be absent, pmtu (60..64) present.
        let info = TcpInfo::parse(&payload(70));
        assert_eq!(info.pmtu, Some(60));
        assert_eq!(info.rtt, None);
        let empty = TcpInfo::parse(&[]);
        assert_eq!(empty.state, None);
        assert_eq!(empty.payload_len, 0);
    }
}
