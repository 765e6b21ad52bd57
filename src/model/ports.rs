//! Use of the ephemeral port range: in total and per destination, with the headroom left.
//!
//! An outbound connection needs a local port that is unique for its (local address, remote
//! address, remote port). So each destination can use every port of the range that is not
//! reserved (`ip_local_reserved_ports`) and not held by a `bind()` — here, the ports of local
//! listeners inside the range. `usable` is that number, and a destination's headroom is
//! `usable - sockets`.
//!
//! **The headline figure** is the share of the usable range taken by the fullest destination:
//! that is what limits the next `connect()`. 108k loopback sockets spread over 24 destinations
//! can hold half the distinct ports of the range while every destination still has 92 % of the
//! range free. The number of distinct ports in use is kept as a secondary figure, named as such.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::identity::DestinationKey;
use super::sockets::owners_of;
use super::{Level, Limits};
use crate::sample::{ProcessRef, Sample, SysctlValue, TcpState};

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
    /// The headline: how close the fullest destination is to running out.
    pub headline: PortUse,
}

/// The ephemeral-port figures shown at a glance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortUse {
    /// The fullest destination's share of the usable range (0 when nothing is connected out).
    pub fullest_share: f64,
    /// Sockets toward the fullest destination.
    pub fullest_sockets: u64,
    /// How alarming `fullest_share` is, by the configured port thresholds.
    pub level: Level,
    /// Distinct local ports in use over all destinations, as a share of the usable range (a
    /// secondary figure: ports are reused toward different destinations).
    pub distinct_share: f64,
}

/// Ephemeral-port use toward one destination.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationView {
    /// Source address, destination address and port.
    pub key: DestinationKey,
    /// Sockets toward it with a local port in the range.
    pub sockets: u64,
    /// Of those, in TIME_WAIT.
    pub time_wait: u64,
    /// `usable - sockets` (0 when exhausted).
    pub headroom: u64,
    /// `sockets / usable`.
    pub use_ratio: f64,
    /// How alarming `use_ratio` is, by the configured port thresholds.
    pub level: Level,
    /// The sockets toward it by state and by owner, when every socket was collected.
    pub detail: Option<DestinationDetail>,
}

/// The sockets toward one destination, counted from the per-socket dump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationDetail {
    /// Sockets per state.
    pub by_state: BTreeMap<TcpState, u64>,
    /// Sockets per set of owning processes; an empty set for sockets without an owner
    /// (TIME_WAIT, or closed by the application).
    pub by_owner: Vec<(Vec<ProcessRef>, u64)>,
}

/// Builds the ports view; `None` when the range or the TCP summary is unavailable.
pub fn ports(sample: &Sample, limits: &Limits) -> Option<PortsView> {
    let summary = sample.tcp_summary.as_ref()?;
    let ephemeral = &summary.ephemeral;
    // The kernel never reports `low > high`; a recording can, and the counts taken against
    // such a range mean nothing: no view then.
    let (low, high) = match ephemeral.range {
        Some(range) => Some(range).filter(|(low, high)| low <= high),
        None => sample.sysctl("net.ipv4.ip_local_port_range").and_then(SysctlValue::port_range),
    }?;
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
    let mut by_destination: Vec<DestinationView> = ephemeral
        .by_destination
        .iter()
        .map(|destination| {
            let use_ratio = ratio(destination.sockets, u64::from(usable));
            DestinationView {
                key: DestinationKey {
                    local_address: destination.local_address,
                    remote_address: destination.remote_address,
                    remote_port: destination.remote_port,
                },
                sockets: destination.sockets,
                time_wait: destination.time_wait,
                headroom: u64::from(usable).saturating_sub(destination.sockets),
                use_ratio,
                level: port_level(use_ratio, limits),
                detail: None,
            }
        })
        .collect();
    add_details(sample, &mut by_destination);
    let fullest = by_destination.first();
    let fullest_share = fullest.map_or(0.0, |d| d.use_ratio);
    let headline = PortUse {
        fullest_share,
        fullest_sockets: fullest.map_or(0, |d| d.sockets),
        level: port_level(fullest_share, limits),
        distinct_share: ratio(u64::from(ephemeral.tcp_distinct_ports), u64::from(usable)),
    };
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
        headline,
    })
}

/// Critical and warning by the configured shares of the usable range.
fn port_level(share: f64, limits: &Limits) -> Level {
    if share >= limits.ports_critical {
        Level::Critical
    } else if share >= limits.ports_warning {
        Level::Warning
    } else {
        Level::Normal
    }
}

/// Counts the sockets toward each destination by state and owner, in one pass over the
/// per-socket dump (only when it was collected).
/// Sockets per set of owning processes, borrowed from the sample while counting.
type OwnerCounts<'a> = Vec<(&'a [ProcessRef], u64)>;

fn add_details(sample: &Sample, destinations: &mut [DestinationView]) {
    let Some(connections) = sample.connections.as_ref() else { return };
    let index: HashMap<DestinationKey, usize> =
        destinations.iter().enumerate().map(|(position, d)| (d.key, position)).collect();
    // Most sockets of a server (accepted connections) have a client's port as their remote
    // port: a bit per port rejects them before any hashing.
    let mut remote_ports = vec![0u64; 1024];
    for destination in destinations.iter() {
        let port = destination.key.remote_port;
        remote_ports[usize::from(port / 64)] |= 1 << (port % 64);
    }
    let mut details: Vec<(DestinationDetail, OwnerCounts)> = vec![Default::default(); destinations.len()];
    for connection in connections {
        let port = connection.remote_port;
        if remote_ports[usize::from(port / 64)] & (1 << (port % 64)) == 0 {
            continue;
        }
        let key = DestinationKey {
            local_address: connection.local_address,
            remote_address: connection.remote_address,
            remote_port: port,
        };
        let Some(position) = index.get(&key) else { continue };
        let (detail, owners_count) = &mut details[*position];
        *detail.by_state.entry(connection.state).or_default() += 1;
        // A destination has few distinct owner sets: a short list beats a map.
        let owners = owners_of(sample, connection.inode);
        match owners_count.iter_mut().find(|(known, _)| *known == owners) {
            Some((_, count)) => *count += 1,
            None => owners_count.push((owners, 1)),
        }
    }
    for (destination, (mut detail, owners_count)) in destinations.iter_mut().zip(details) {
        detail.by_owner = owners_count.into_iter().map(|(owners, count)| (owners.to_vec(), count)).collect();
        detail.by_owner.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        destination.detail = Some(detail);
    }
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

    fn destination(local: &str, remote: &str, port: u16, sockets: u64) -> DestinationPorts {
        DestinationPorts {
            local_address: local.parse().expect("ip"),
            remote_address: remote.parse().expect("ip"),
            remote_port: port,
            sockets,
            time_wait: 0,
        }
    }

    /// 24 destinations of 4,500 sockets each: half the distinct ports of the range are taken,
    /// yet each destination has 84 % of the usable range left. The headline is the fullest
    /// destination's share, not the distinct-port count.
    #[test]
    fn the_headline_is_the_fullest_destination_not_the_distinct_ports() {
        let mut sample = Sample::default();
        let destinations: Vec<DestinationPorts> =
            (0..24).map(|n| destination("127.0.0.1", "127.0.0.1", 8000 + n, 4_500)).collect();
        sample.tcp_summary = Some(TcpSummary {
            ephemeral: EphemeralPorts {
                range: Some((32768, 60999)),
                tcp_sockets: 108_000,
                tcp_distinct_ports: 14_116,
                destinations: 24,
                by_destination: destinations,
            },
            ..TcpSummary::default()
        });
        let view = ports(&sample, &Limits::default()).expect("ports view");
        assert_eq!(view.usable, 28_232);
        assert!((view.headline.fullest_share - 4_500.0 / 28_232.0).abs() < 1e-9);
        assert!((view.headline.distinct_share - 0.5).abs() < 1e-3);
        assert_eq!(view.headline.level, Level::Normal);
    }

    /// The kernel never reports `low > high`; a recording can. The sockets were counted against
    /// no range, so there is no view, whatever the setting says.
    #[test]
    fn an_inverted_range_is_no_range() {
        let mut sample = Sample {
            tcp_summary: Some(TcpSummary {
                ephemeral: EphemeralPorts { range: Some((60999, 32768)), ..EphemeralPorts::default() },
                ..TcpSummary::default()
            }),
            ..Sample::default()
        };
        assert_eq!(ports(&sample, &Limits::default()), None);
        let mut sysctls = crate::sample::Sysctls::new();
        sysctls.insert("net.ipv4.ip_local_port_range".into(), SysctlValue::Integers(vec![40000, 40099]));
        sample.sysctls = Some(sysctls);
        assert_eq!(ports(&sample, &Limits::default()), None);
        sample.tcp_summary.as_mut().expect("summary").ephemeral.range = None;
        assert_eq!(ports(&sample, &Limits::default()).map(|view| view.range_size), Some(100));
    }

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
        let view = ports(&sample, &Limits::default()).expect("ports view");
        assert_eq!(view.range_size, 100);
        assert_eq!(view.reserved_in_range, 10);
        assert_eq!(view.usable, 90);
        assert_eq!(view.by_destination[0].headroom, 30);
        assert!((view.by_destination[0].use_ratio - 60.0 / 90.0).abs() < 1e-9);
        assert_eq!(view.headline.fullest_sockets, 60);
        assert_eq!(view.headline.level, Level::Normal, "2/3 is below the 0.7 warning share");
        assert_eq!(view.by_destination[0].detail, None, "no per-socket dump, no detail");
    }
}
