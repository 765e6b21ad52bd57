//! Builds the established-flow summary ([`FlowSummary`]) while the all-states dump is read
//! (with `tcp_info` and socket memory). The advisor's buffer and path-MTU checks read it.

use super::inet_diag::{self, InetDiagMsg};
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

/// Counts a flow and keeps it if it may be among the busiest, or is retransmitting. The busiest
/// list is trimmed in batches so each flow costs a push, not a search.
fn add(summary: &mut FlowSummary, flow: Flow) {
    summary.established += 1;
    if flow.retransmitting() && summary.retransmitting.len() < KEEP {
        summary.retransmitting.push(flow.clone());
    }
    summary.busiest.push(flow);
    if summary.busiest.len() >= 4 * KEEP {
        trim(&mut summary.busiest);
    }
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
        let mut received = vec![0u8; 200_000];
        accepted.read_exact(&mut received).expect("read");
        let mut socket =
            crate::collect::ns::netlink::DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG).expect("socket");
        let collected = crate::collect::ns::sockets::tcp_summary(
            &mut socket,
            Some((32768, 60999)),
            &Default::default(),
            crate::collect::ns::sockets::Extras { flows: true, connections: false },
        );
        assert_eq!(collected.malformed, 0);
        let summary = collected.data.and_then(|(_, flows, _)| flows).expect("flows");
        assert!(summary.established >= 2);
        let port = client.local_addr().expect("addr").port();
        let flow = summary.busiest.iter().find(|flow| flow.local_port == port).expect("our flow is among the busiest");
        assert!(flow.info.bytes_acked.is_some_and(|acked| acked >= 200_000));
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
