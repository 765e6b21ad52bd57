//! Builds the established-flow summary ([`FlowSummary`]). The advisor's buffer and path-MTU
//! checks read it: `buffers-vs-bdp` needs the busiest flows' `tcp_info` (busy time, time limited
//! by the send buffer or the peer's window) and send buffer; `pmtu-blackhole-risk` needs the
//! retransmitting flows' `tcp_info` (MSS, unacknowledged segments).
//!
//! Asking `tcp_info` for every socket of the walk roughly doubles what the kernel does per
//! established socket, so the walk asks for none: it picks [`Candidates`] from the fixed header
//! every reply has (bytes queued, the retransmit timer), and only those are looked up with
//! `tcp_info`. The Connections view, which shows every socket's `tcp_info`, still gets it from
//! the walk.

use super::inet_diag::{self, EXACT_REQUEST_LEN, InetDiagMsg};
use crate::sample::flows::{Flow, FlowSummary, KEEP};

/// Adds one reply of the all-states dump for an ESTABLISHED socket (asked with `tcp_info` and
/// memory); replies without `tcp_info` are ignored.
pub(crate) fn add_message(summary: &mut FlowSummary, message: &InetDiagMsg<'_>) {
    if let Some(flow) = decode(message) {
        add(summary, flow);
    }
}

/// Finishes a summary: the busiest flows, most first.
pub(crate) fn finish(mut summary: FlowSummary) -> FlowSummary {
    trim(&mut summary.busiest);
    summary
}

fn decode(message: &InetDiagMsg<'_>) -> Option<Flow> {
    let extras = inet_diag::extras(message);
    if extras.malformed {
        return None;
    }
    Some(Flow {
        local_address: message.local_address().to_canonical(),
        local_port: message.local_port(),
        remote_address: message.remote_address().to_canonical(),
        remote_port: message.remote_port(),
        inode: message.inode(),
        rcvbuf: extras.memory.map(|memory| memory.rcvbuf),
        sndbuf: extras.memory.map(|memory| memory.sndbuf),
        info: extras.tcp_info?,
    })
}

/// Adds the flows another part of a split walk kept.
pub(crate) fn absorb(summary: &mut FlowSummary, other: FlowSummary) {
    summary.established += other.established;
    for flow in other.busiest {
        add_kept(summary, flow);
    }
    for flow in other.retransmitting {
        if summary.retransmitting.len() < KEEP {
            summary.retransmitting.push(flow);
        }
    }
}

fn add_kept(summary: &mut FlowSummary, flow: Flow) {
    summary.busiest.push(flow);
    if summary.busiest.len() >= 4 * KEEP {
        trim(&mut summary.busiest);
    }
}

/// The established flows of a walk worth an exact `tcp_info` lookup: the [`KEEP`] with the most
/// bytes queued (unsent or unacknowledged, plus unread) and up to [`KEEP`] whose retransmit or
/// probe timer runs after a retransmission. A flow limited by its send buffer or the peer's
/// window has its send queue full at any moment, and one retransmitting has its timer running.
#[derive(Debug, Default)]
pub(crate) struct Candidates {
    busiest: Vec<(u64, [u8; EXACT_REQUEST_LEN])>,
    /// Once [`KEEP`] are kept, the fewest bytes queued among them: a flow with no more is not a
    /// candidate, and costs one comparison.
    floor: Option<u64>,
    retransmitting: Vec<[u8; EXACT_REQUEST_LEN]>,
}

/// `idiag_timer` values of a retransmission and of a zero-window probe.
const RETRANSMIT_TIMER: u8 = 1;
const PROBE_TIMER: u8 = 4;

impl Candidates {
    /// Considers one ESTABLISHED reply of the walk.
    pub(crate) fn consider(&mut self, message: &InetDiagMsg<'_>) {
        if matches!(message.timer(), RETRANSMIT_TIMER | PROBE_TIMER)
            && message.retrans() > 0
            && self.retransmitting.len() < KEEP
        {
            self.retransmitting.push(inet_diag::exact_request(message, true, true));
        }
        let queued = u64::from(message.rqueue()) + u64::from(message.wqueue());
        if self.floor.is_some_and(|floor| queued <= floor) {
            return;
        }
        self.busiest.push((queued, inet_diag::exact_request(message, true, true)));
        if self.busiest.len() >= 4 * KEEP {
            self.trim();
        }
    }

    /// Adds the candidates another part of a split walk picked.
    pub(crate) fn absorb(&mut self, other: Candidates) {
        for request in other.retransmitting {
            if self.retransmitting.len() < KEEP {
                self.retransmitting.push(request);
            }
        }
        self.busiest.extend(other.busiest);
        self.trim();
    }

    /// Keeps the [`KEEP`] with the most bytes queued (in no particular order).
    fn trim(&mut self) {
        if self.busiest.len() > KEEP {
            self.busiest.select_nth_unstable_by_key(KEEP - 1, |(queued, _)| std::cmp::Reverse(*queued));
            self.busiest.truncate(KEEP);
        }
        if self.busiest.len() == KEEP {
            self.floor = self.busiest.iter().map(|(queued, _)| *queued).min();
        }
    }

    /// The lookup requests, the busiest first, each flow once.
    pub(crate) fn into_ordered(mut self) -> Vec<[u8; EXACT_REQUEST_LEN]> {
        self.trim();
        self.busiest.sort_unstable_by_key(|(queued, _)| std::cmp::Reverse(*queued));
        let mut requests: Vec<[u8; EXACT_REQUEST_LEN]> = self.busiest.into_iter().map(|(_, request)| request).collect();
        for request in self.retransmitting {
            if !requests.contains(&request) {
                requests.push(request);
            }
        }
        requests
    }
}

/// Counts a flow and keeps it if it may be among the busiest, or is retransmitting. The busiest
/// list is trimmed in batches so each flow costs a push, not a search.
fn add(summary: &mut FlowSummary, flow: Flow) {
    summary.established += 1;
    if flow.retransmitting() && summary.retransmitting.len() < KEEP {
        summary.retransmitting.push(flow.clone());
    }
    add_kept(summary, flow);
}

/// Keeps the [`KEEP`] busiest flows, most first.
fn trim(busiest: &mut Vec<Flow>) {
    busiest.sort_by_key(|flow| std::cmp::Reverse(flow.volume()));
    busiest.truncate(KEEP);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::TcpInfo;
    use std::io::{Read, Write};
    use std::net::IpAddr;

    #[test]
    fn a_live_transfer_is_among_the_busiest_flows() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = std::net::TcpStream::connect(server.local_addr().expect("addr")).expect("connect");
        let (mut accepted, _) = server.accept().expect("accept");
        client.write_all(&[7u8; 200_000]).expect("write");
        // Half is read; the rest stays queued, which is what makes a flow a candidate.
        let mut received = vec![0u8; 100_000];
        accepted.read_exact(&mut received).expect("read");
        let mut socket =
            crate::collect::ns::netlink::DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG).expect("socket");
        let walk = crate::collect::ns::sockets::Walk {
            range: Some((32768, 60999)),
            listen_ports: &Default::default(),
            extras: crate::collect::ns::sockets::Extras { flows: true, connections: false },
            parts: 1,
        };
        let collected = crate::collect::ns::sockets::tcp_summary(&mut socket, walk);
        assert_eq!(collected.malformed, 0);
        let summary = collected.data.and_then(|(_, flows, _)| flows).expect("flows");
        assert!(summary.established >= 2);
        let port = accepted.local_addr().expect("addr").port();
        let peer = accepted.peer_addr().expect("peer").port();
        let flow = summary
            .busiest
            .iter()
            .find(|flow| flow.local_port == port && flow.remote_port == peer)
            .expect("our flow is among the busiest");
        assert!(flow.info.bytes_received.is_some_and(|received| received >= 100_000), "{:?}", flow.info);
        assert!(flow.sndbuf.is_some());
    }

    #[test]
    fn only_the_busiest_are_kept() {
        let mut summary = FlowSummary::default();
        for volume in 0..100u64 {
            let info = TcpInfo { bytes_acked: Some(volume), ..TcpInfo::default() };
            let address = IpAddr::from([127, 0, 0, 1]);
            add(
                &mut summary,
                Flow {
                    local_address: address,
                    local_port: volume as u16,
                    remote_address: address,
                    remote_port: 1,
                    inode: volume,
                    rcvbuf: None,
                    sndbuf: None,
                    info,
                },
            );
        }
        trim(&mut summary.busiest);
        assert_eq!(summary.established, 100);
        assert_eq!(summary.busiest.len(), KEEP);
        assert_eq!(summary.busiest[0].volume(), 99);
        assert_eq!(summary.busiest[KEEP - 1].volume(), 100 - KEEP as u64);
    }
}
