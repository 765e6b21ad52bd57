//! Interfaces with their drop and error rates, and the per-CPU softnet numbers.

use super::rates;
use crate::sample::{Interface, InterfaceStats, Sample, SoftnetRow};

/// An interface with the name of its master and its rates.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceView {
    /// The interface as collected.
    pub interface: Interface,
    /// Name of the master device (bridge, bond), if enslaved.
    pub master_name: Option<String>,
    /// Name of the lower device (a VLAN's parent, a veth's peer): from this namespace's list,
    /// or, when it lives in another namespace, the peer's name as looked up there.
    pub link_name: Option<String>,
    /// Per-second rates of the counters (two samples only).
    pub rates: Option<InterfaceRates>,
}

/// Per-second interface rates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InterfaceRates {
    /// Packets received per second.
    pub rx_packets: Option<f64>,
    /// Packets sent per second.
    pub tx_packets: Option<f64>,
    /// Received packets dropped per second.
    pub rx_dropped: Option<f64>,
    /// Transmit drops per second.
    pub tx_dropped: Option<f64>,
    /// Receive errors per second.
    pub rx_errors: Option<f64>,
    /// Transmit errors per second.
    pub tx_errors: Option<f64>,
    /// Packets missed by the NIC (ring full) per second.
    pub rx_missed: Option<f64>,
    /// Receive FIFO overruns per second.
    pub rx_fifo: Option<f64>,
}

/// Every interface of `current`, with rates since `previous` (same index and name).
pub fn interfaces(current: &Sample, previous: Option<&Sample>, interval: Option<f64>) -> Vec<InterfaceView> {
    let list = current.interfaces.as_deref().unwrap_or_default();
    let name_of =
        |index: Option<u32>| index.and_then(|index| list.iter().find(|i| i.index == index)).map(|i| i.name.clone());
    list.iter()
        .map(|interface| {
            let before = previous
                .and_then(|sample| sample.interfaces.as_ref())
                .and_then(|old| old.iter().find(|o| o.index == interface.index && o.name == interface.name))
                .and_then(|old| old.stats);
            InterfaceView {
                interface: interface.clone(),
                master_name: name_of(interface.master),
                // An index in another namespace says nothing about this one's interfaces.
                link_name: match interface.link_netnsid {
                    None => name_of(interface.link),
                    Some(_) => interface.peer.as_ref().map(|peer| peer.name.clone()),
                },
                rates: before.zip(interface.stats).map(|(old, new)| interface_rates(&old, &new, interval)),
            }
        })
        .collect()
}

fn interface_rates(old: &InterfaceStats, new: &InterfaceStats, interval: Option<f64>) -> InterfaceRates {
    let per_second =
        |before: u64, after: u64| rates::rate(i64::try_from(before).ok(), i64::try_from(after).ok(), interval);
    InterfaceRates {
        rx_packets: per_second(old.rx_packets, new.rx_packets),
        tx_packets: per_second(old.tx_packets, new.tx_packets),
        rx_dropped: per_second(old.rx_dropped, new.rx_dropped),
        tx_dropped: per_second(old.tx_dropped, new.tx_dropped),
        rx_errors: per_second(old.rx_errors, new.rx_errors),
        tx_errors: per_second(old.tx_errors, new.tx_errors),
        rx_missed: per_second(old.rx_missed_errors, new.rx_missed_errors),
        rx_fifo: per_second(old.rx_fifo_errors, new.rx_fifo_errors),
    }
}

/// One CPU's softnet numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftnetView {
    /// CPU number.
    pub cpu: u32,
    /// Packets processed (total).
    pub processed: Option<u32>,
    /// Packets dropped because the input backlog was full (total).
    pub dropped: Option<u32>,
    /// Budget or time squeezes (total).
    pub time_squeeze: Option<u32>,
    /// Input backlog length now (5.10+).
    pub backlog_len: Option<u32>,
    /// Processed per second.
    pub processed_rate: Option<f64>,
    /// Dropped per second.
    pub dropped_rate: Option<f64>,
    /// Squeezes per second.
    pub squeezed_rate: Option<f64>,
}

/// Every CPU's softnet row of `current`, with rates since `previous`.
pub fn softnet(current: &Sample, previous: Option<&Sample>, interval: Option<f64>) -> Vec<SoftnetView> {
    current
        .softnet
        .iter()
        .flatten()
        .map(|row| {
            let old = previous.and_then(|s| s.softnet.as_ref()).and_then(|rows| rows.iter().find(|o| o.cpu == row.cpu));
            let per_second = |pick: fn(&SoftnetRow) -> Option<u32>| {
                rates::rate(old.and_then(pick).map(i64::from), pick(row).map(i64::from), interval)
            };
            SoftnetView {
                cpu: row.cpu,
                processed: row.processed(),
                dropped: row.dropped(),
                time_squeeze: row.time_squeeze(),
                backlog_len: row.backlog_len(),
                processed_rate: per_second(|r| r.processed()),
                dropped_rate: per_second(|r| r.dropped()),
                squeezed_rate: per_second(|r| r.time_squeeze()),
            }
        })
        .collect()
}
