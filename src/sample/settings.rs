//! Kernel settings as read from `/proc/sys`, and how the inspected namespace's settings relate
//! to the host's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kernel settings by dotted name; absent settings are simply not in the map.
pub type Sysctls = BTreeMap<String, SysctlValue>;

/// The value of one kernel setting as `/proc/sys` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SysctlValue {
    /// A single integer, e.g. `net.core.somaxconn`.
    Integer(i64),
    /// Several integers, e.g. `net.ipv4.ip_local_port_range` or `net.ipv4.tcp_rmem`.
    Integers(Vec<i64>),
    /// Anything else, e.g. `net.ipv4.tcp_congestion_control` or a port list.
    Text(String),
}

impl SysctlValue {
    /// The value as one integer, when it is one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            SysctlValue::Integer(value) => Some(*value),
            _ => None,
        }
    }

    /// The value as a list of integers (a single integer gives a list of one).
    pub fn as_integers(&self) -> Option<Vec<i64>> {
        match self {
            SysctlValue::Integer(value) => Some(vec![*value]),
            SysctlValue::Integers(values) => Some(values.clone()),
            SysctlValue::Text(_) => None,
        }
    }

    /// The value as an inclusive port range (`ip_local_port_range`), when it is a valid pair.
    pub fn port_range(&self) -> Option<(u16, u16)> {
        let values = self.as_integers()?;
        let (low, high) = (u16::try_from(*values.first()?).ok()?, u16::try_from(*values.get(1)?).ok()?);
        (low <= high).then_some((low, high))
    }
}

/// How the inspected namespace relates to the host's (the initial namespace, found through
/// pid 1 or, where pid 1 cannot be read, through kthreadd).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "relation")]
pub enum HostNamespace {
    /// sockscope is looking at the host's namespace itself.
    Same {
        /// How the host's namespace was found.
        #[serde(default)]
        found_through: HostLink,
    },
    /// Another namespace; the host's settings, for comparison and for the host-wide ones.
    Other {
        /// Inode of the host's namespace.
        inode: u64,
        /// How the host's namespace was found.
        #[serde(default)]
        found_through: HostLink,
        /// The host's values of settings compared with the host and the host-wide ones.
        sysctls: Sysctls,
    },
    /// The comparison was not possible.
    Unknown {
        /// Why, on one line.
        reason: String,
    },
}

/// How the host's (initial) network namespace was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostLink {
    /// Through `/proc/1/ns/net`, the namespace of init.
    #[default]
    Init,
    /// Through `/proc/2/ns/net`, the namespace of `kthreadd`, whose kernel threads always live in
    /// the initial namespaces (where pid 1's link cannot be read).
    Kthreadd,
    /// A namespace named as the host's by the caller (tests).
    Given,
}

impl HostLink {
    /// How it was found, for people: "pid 1", "pid 2 (kthreadd)".
    pub fn describe(self) -> &'static str {
        match self {
            HostLink::Init => "pid 1",
            HostLink::Kthreadd => "pid 2 (kthreadd; pid 1's namespace cannot be read)",
            HostLink::Given => "the namespace given as the host's",
        }
    }
}
