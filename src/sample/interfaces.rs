//! Network interfaces as rtnetlink reports them.

use serde::{Deserialize, Serialize};

/// A network interface, from RTM_GETLINK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Interface name, unsanitised; bytes that are not UTF-8 kept as `\xNN`
    /// ([`crate::format::name_from_bytes`]).
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// MTU in bytes.
    pub mtu: Option<u32>,
    /// Smallest MTU the device accepts.
    pub min_mtu: Option<u32>,
    /// Largest MTU the device accepts.
    pub max_mtu: Option<u32>,
    /// Operational state as `ip link` prints it: UP, DOWN, UNKNOWN, LOWERLAYERDOWN, ...
    pub oper_state: String,
    /// Whether the interface is administratively up (IFF_UP).
    pub admin_up: bool,
    /// Link kind (`vlan`, `vxlan`, `bridge`, `veth`, `bond`, ...); `None` for plain devices.
    pub kind: Option<String>,
    /// Index of the master device (bridge, bond, VRF), if enslaved.
    pub master: Option<u32>,
    /// Index of the lower device (`IFLA_LINK`, e.g. a VLAN's parent, a veth's peer), if any; an
    /// index in the namespace `link_netnsid` names when that is set.
    pub link: Option<u32>,
    /// The namespace of the lower device or veth peer when it is not this one, by the id this
    /// namespace knows it by (`IFLA_LINK_NETNSID`, as `ip link` prints `link-netnsid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_netnsid: Option<i32>,
    /// A veth's peer, looked up by index in its namespace; `None` for other kinds, or when the
    /// peer's namespace could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<Peer>,
    /// 64-bit traffic statistics.
    pub stats: Option<InterfaceStats>,
}

/// The other end of a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Its name, unsanitised, as [`Interface::name`].
    pub name: String,
    /// Its MTU.
    pub mtu: Option<u32>,
}

/// Interface counters from `IFLA_STATS64`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Transmit errors.
    pub tx_errors: u64,
    /// Received packets dropped by the kernel.
    pub rx_dropped: u64,
    /// Packets dropped on transmit.
    pub tx_dropped: u64,
    /// Packets the NIC missed (ring full).
    pub rx_missed_errors: u64,
    /// Receive FIFO overruns.
    pub rx_fifo_errors: u64,
    /// Receive ring-buffer overflows.
    pub rx_over_errors: u64,
    /// Transmit FIFO errors.
    pub tx_fifo_errors: u64,
}
