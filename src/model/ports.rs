//! Use of the ephemeral port range: in total and per destination, with the headroom left.
//!
//! An outbound connection needs a local port that is unique for its (local address, remote
//! address, remote port). So each destination can use every port of the range that is not
//! reserved (`ip_local_reserved_ports`) and not held by a `bind()` — here, the ports of local
//! listeners inside the range. `usable` is that number, and a destination's headroom is
//! `usable - sockets`.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::sample::{Sample, SysctlValue};

/// The ephemeral-port picture of one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct PortsView {
    /// `ip_local_port_range`, inclusive.
    pub range: (u16, u16),
    /// Ports in the range.
    pub range_size: u32,
    /// Ports of the range listed in `ip_local_reserved_ports`.
    pub reserved_in_range: u32,
    /// Ports of the range held by local listeners.
    pub listening_in_range: Vec<u16>,
    /// Ports a connection toward one destination can choose from.
    pub usable: u32,
    /// TCP sockets with a local port in the range (TIME_WAIT included).
    pub tcp_sockets: u64,
    /// Distinct local ports in the range used by TCP sockets.
    pub tcp_distinct_ports: u32,
    /// UDP sockets with a local port in the range.
    pub udp_sockets: u64,
    /// Number of distinct destinations.
    pub destinations: u64,
    /// The busiest destinations, most sockets first.
    pub by_destination: Vec<DestinationView>,
}

/// Ephemeral-port use toward one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationView {
    /// Local (source) address.
    pub local_address: IpAddr,
    /// Remote address.
    pub remote_address: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// Sockets toward it with a local port in the range.
    pub sockets: u64,
    /// Of those, in TIME_WAIT.
    pub time_wait: u64,
    /// `usable - sockets` (0 when exhausted).
    pub headroom: u64,
    /// `sockets / usable`.
    pub use_ratio: f64,
}

/// Builds the ports view; `None` when the range or the TCP summary is unavailable.
pub fn ports(sample: &Sample) -> Option<PortsView> {
    let summary = sample.tcp_summary.as_ref()?;
    let ephemeral = &summary.ephemeral;
    let (low, high) =
        ephemeral.range.or_else(|| sample.sysctl("net.ipv4.ip_local_port_range").and_then(SysctlValue::port_range))?;
    let in_range = |port: u16| port >= low && port <= high;
    let range_size = u32::from(high - low) + 1;
    let reserved: BTreeSet<u16> = reserved_ports(sample.sysctl("net.ipv4.ip_local_reserved_ports"))
        .into_iter()
        .filter(|port| in_range(*port))
        .collect();
    let listening: BTreeSet<u16> = sample
        .tcp_listeners
        .iter()
        .flatten()
        .map(|listener| listener.local_port)
        .filter(|port| in_range(*port) && !reserved.contains(port))
        .collect();
    let usable = range_size.saturating_sub(reserved.len() as u32 + listening.len() as u32);
    let by_destination = ephemeral
        .by_destination
        .iter()
        .map(|destination| DestinationView {
            local_address: destination.local_address,
            remote_address: destination.remote_address,
            remote_port: destination.remote_port,
            sockets: destination.sockets,
            time_wait: destination.time_wait,
            headroom: u64::from(usable).saturating_sub(destination.sockets),
            use_ratio: ratio(destination.sockets, u64::from(usable)),
        })
        .collect();
    let udp_sockets = sample.udp_sockets.iter().flatten().filter(|udp| in_range(udp.local_port)).count() as u64;
    Some(PortsView {
        range: (low, high),
        range_size,
        reserved_in_range: reserved.len() as u32,
        listening_in_range: listening.into_iter().collect(),
        usable,
        tcp_sockets: ephemeral.tcp_sockets,
        tcp_distinct_ports: ephemeral.tcp_distinct_ports,
        udp_sockets,
        destinations: ephemeral.destinations,
        by_destination,
    })
}

fn ratio(used: u64, usable: u64) -> f64 {
    if usable == 0 { 1.0 } else { used as f64 / usable as f64 }
}

/// The ports listed in `ip_local_reserved_ports` (`8000-8010,9000`); malformed parts are
/// ignored.
pub fn reserved_ports(value: Option<&SysctlValue>) -> Vec<u16> {
    let text = match value {
        Some(SysctlValue::Text(text)) => text.clone(),
        Some(SysctlValue::Integer(port)) => port.to_string(),
        _ => return Vec::new(),
    };
    let mut ports = Vec::new();
    for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        let bounds = match part.split_once('-') {
            Some((low, high)) => (low.trim().parse::<u16>(), high.trim().parse::<u16>()),
            None => (part.parse::<u16>(), part.parse::<u16>()),
        };
        if let (Ok(low), Ok(high)) = bounds {
            ports.extend(low..=high);
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{DestinationPorts, EphemeralPorts, TcpSummary};

    #[test]
    fn reserved_port_lists_are_expanded() {
        let value = SysctlValue::Text("8000-8002, 9000,bad,7-x".into());
        assert_eq!(reserved_ports(Some(&value)), vec![8000, 8001, 8002, 9000]);
        assert!(reserved_ports(Some(&SysctlValue::Text(String::new()))).is_empty());
    }

    #[test]
    fn headroom_subtracts_reserved_and_listening_ports() {
        let mut sample = Sample::default();
        let mut sysctls = crate::sample::Sysctls::new();
        sysctls.insert("net.ipv4.ip_local_reserved_ports".into(), SysctlValue::Text("40000-40009,1000".into()));
        sample.sysctls = Some(sysctls);
        sample.tcp_summary = Some(TcpSummary {
            ephemeral: EphemeralPorts {
                range: Some((40000, 40099)),
                tcp_sockets: 60,
                tcp_distinct_ports: 60,
                destinations: 1,
                by_destination: vec![DestinationPorts {
                    local_address: "10.0.0.1".parse().expect("ip"),
                    remote_address: "10.0.0.2".parse().expect("ip"),
                    remote_port: 5432,
                    sockets: 60,
                    time_wait: 20,
                }],
            },
            ..TcpSummary::default()
        });
        let view = ports(&sample).expect("ports view");
        assert_eq!(view.range_size, 100);
        assert_eq!(view.reserved_in_range, 10);
        assert_eq!(view.usable, 90);
        assert_eq!(view.by_destination[0].headroom, 30);
        assert!((view.by_destination[0].use_ratio - 60.0 / 90.0).abs() < 1e-9);
    }
}
