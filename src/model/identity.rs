//! Typed identity: how sockscope names a socket's address, a listener and a destination from the
//! model through the advisor to every renderer. Strings are made from these at the edge, for
//! people; no code parses them back.

use std::net::IpAddr;

use serde::Serialize;

/// Where a socket is bound or connected: an IP address and port, or a UNIX socket path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// An IPv4 or IPv6 address and a port.
    Inet(IpAddr, u16),
    /// A UNIX socket path; abstract names start with `@`; empty when unnamed.
    Unix(String),
}

impl Endpoint {
    /// The IP address, for inet endpoints.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Endpoint::Inet(address, _) => Some(*address),
            Endpoint::Unix(_) => None,
        }
    }

    /// The port, for inet endpoints.
    pub fn port(&self) -> Option<u16> {
        match self {
            Endpoint::Inet(_, port) => Some(*port),
            Endpoint::Unix(_) => None,
        }
    }

    /// The address without brackets (`::1`, `10.0.0.1`) or the UNIX path.
    pub fn address_text(&self) -> String {
        match self {
            Endpoint::Inet(address, _) => address.to_string(),
            Endpoint::Unix(path) => path.clone(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    /// `10.0.0.1:443`, `[::1]:443` as users type them, or the UNIX path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Inet(IpAddr::V6(address), port) => write!(f, "[{address}]:{port}"),
            Endpoint::Inet(address, port) => write!(f, "{address}:{port}"),
            Endpoint::Unix(path) => f.write_str(path),
        }
    }
}

impl Serialize for Endpoint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A listener's identity across samples: its namespace (the inode of its network namespace,
/// 0 when unknown) and its kernel socket cookie, which is unique while the socket lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ListenerKey {
    /// Inode of the listener's network namespace; 0 when it could not be read.
    pub netns: u64,
    /// Kernel socket cookie.
    pub cookie: u64,
}

/// Outbound connections toward one destination, as the kernel keys local-port uniqueness:
/// source address, destination address and destination port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct DestinationKey {
    /// Local (source) address; IPv4-mapped IPv6 addresses are shown as IPv4.
    pub local_address: IpAddr,
    /// Remote (destination) address.
    pub remote_address: IpAddr,
    /// Remote (destination) port.
    pub remote_port: u16,
}

impl DestinationKey {
    /// The destination as an endpoint (`10.0.0.2:5432`).
    pub fn remote(&self) -> Endpoint {
        Endpoint::Inet(self.remote_address, self.remote_port)
    }
}

impl std::fmt::Display for DestinationKey {
    /// `10.0.0.1 -> 10.0.0.2:5432`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}", self.local_address, self.remote())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_read_as_users_type_them() {
        let v6 = Endpoint::Inet("::1".parse().expect("ip"), 443);
        assert_eq!(v6.to_string(), "[::1]:443");
        assert_eq!(v6.address_text(), "::1");
        assert_eq!(Endpoint::Inet("10.0.0.1".parse().expect("ip"), 80).to_string(), "10.0.0.1:80");
        assert_eq!(Endpoint::Unix("@abstract".into()).to_string(), "@abstract");
        assert_eq!(serde_json::to_string(&v6).ok().as_deref(), Some("\"[::1]:443\""));
        let destination = DestinationKey {
            local_address: "10.0.0.1".parse().expect("ip"),
            remote_address: "2001:db8::5".parse().expect("ip"),
            remote_port: 443,
        };
        assert_eq!(destination.to_string(), "10.0.0.1 -> [2001:db8::5]:443");
    }
}
