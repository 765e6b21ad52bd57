//! A compact summary of established TCP flows, from one sock_diag dump of ESTABLISHED sockets
//! with `tcp_info` and socket memory: how many there are, the busiest ones, and the ones stuck
//! in retransmission. The advisor's buffer and path-MTU checks read it; nothing per socket is
//! kept beyond those few.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::inet_diag::{self, IPPROTO_TCP, InetDiagMsg, Query};
use super::netlink::{DumpError, DumpSocket};
use super::tcp_info::TcpInfo;
use crate::sample::Family;

/// How many flows of each list are kept.
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
        self.info.retransmits.unwrap_or(0) > 0 || self.info.backoff.unwrap_or(0) > 0
    }
}

/// The established flows of the namespace, summarised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowSummary {
    /// Established sockets seen.
    pub established: u64,
    /// The busiest flows by bytes moved, most first.
    pub busiest: Vec<Flow>,
    /// Flows retransmitting now.
    pub retransmitting: Vec<Flow>,
}

/// Dumps established TCP sockets of both families.
pub(crate) fn flows(socket: &mut DumpSocket) -> Result<(FlowSummary, u64), DumpError> {
    let mut summary = FlowSummary::default();
    let mut malformed = 0;
    let mut failures = Vec::new();
    for family in [Family::Ipv4, Family::Ipv6] {
        let query = Query { family, protocol: IPPROTO_TCP, states: 1 << 1, tcp_info: true, memory: true };
        let result = socket.dump(inet_diag::request(query), |kind, body| match decode(kind, body) {
            Some(flow) => {
                add(&mut summary, flow);
                true
            }
            None => false,
        });
        match result {
            Ok(stats) => malformed += stats.malformed,
            Err(error) => failures.push(error),
        }
    }
    trim(&mut summary.busiest);
    match failures.len() {
        2 => Err(failures.remove(0)),
        _ => Ok((summary, malformed)),
    }
}

fn decode(kind: u16, body: &[u8]) -> Option<Flow> {
    if kind != 20 {
        return None;
    }
    let message = InetDiagMsg::parse(body)?;
    let extras = inet_diag::extras(&message);
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
    use std::io::{Read, Write};

    #[test]
    fn a_live_transfer_is_among_the_busiest_flows() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client = std::net::TcpStream::connect(server.local_addr().expect("addr")).expect("connect");
        let (mut accepted, _) = server.accept().expect("accept");
        client.write_all(&[7u8; 200_000]).expect("write");
        let mut received = vec![0u8; 200_000];
        accepted.read_exact(&mut received).expect("read");
        let mut socket = DumpSocket::open(netlink_sys::protocols::NETLINK_SOCK_DIAG).expect("socket");
        let (summary, malformed) = flows(&mut socket).expect("dump");
        assert_eq!(malformed, 0);
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
