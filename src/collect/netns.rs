//! Network namespaces: identify them, run code inside one, and compare the one being inspected
//! with the host's.
//!
//! `setns(2)` moves only the calling thread, so code that must observe another namespace runs on
//! a thread of its own that joins it first; netlink sockets and `/proc/sys/net` files opened on
//! that thread then answer for that namespace.

use std::os::fd::AsFd;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::sysctl::read_sysctls;
use crate::sample::Sysctls;

/// The inode of a namespace file (`/proc/<pid>/ns/net`), which identifies the namespace.
pub fn namespace_inode(path: &Path) -> std::io::Result<u64> {
    rustix::fs::stat(path).map(|stat| stat.st_ino).map_err(std::io::Error::from)
}

/// Runs `f` on a new thread that has joined the network namespace at `path` (a
/// `/proc/<pid>/ns/net` link or a `/run/netns/<name>` file). Needs CAP_SYS_ADMIN.
pub fn in_namespace<T: Send + 'static>(path: &Path, f: impl FnOnce() -> T + Send + 'static) -> std::io::Result<T> {
    let file = std::fs::File::open(path)?;
    std::thread::spawn(move || -> std::io::Result<T> {
        rustix::thread::move_into_link_name_space(file.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))?;
        Ok(f())
    })
    .join()
    .map_err(|_| std::io::Error::other("the namespace thread panicked"))?
}

/// Settings that are per network namespace and worth comparing with the host's.
pub const PER_NAMESPACE_SETTINGS: [&str; 12] = [
    "net.core.somaxconn",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_abort_on_overflow",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_fin_timeout",
];

/// Host-wide settings: one value for the whole kernel, invisible under `/proc/sys` inside a
/// child network namespace, so they are read in the host's namespace.
pub const HOST_WIDE_SETTINGS: [&str; 6] = [
    "net.core.netdev_budget",
    "net.core.netdev_budget_usecs",
    "net.core.netdev_max_backlog",
    "net.ipv4.tcp_max_orphans",
    "net.ipv4.tcp_mem",
    "net.ipv4.udp_mem",
];

/// How the inspected namespace relates to the host's (the namespace of pid 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "relation")]
pub enum HostNamespace {
    /// sockscope is looking at the host's namespace itself.
    Same,
    /// Another namespace; the host's settings, for comparison and for the host-wide ones.
    Other {
        /// Inode of the host's namespace.
        inode: u64,
        /// The host's values of [`PER_NAMESPACE_SETTINGS`] and [`HOST_WIDE_SETTINGS`].
        sysctls: Sysctls,
    },
    /// The comparison was not possible.
    Unknown {
        /// Why, on one line.
        reason: String,
    },
}

/// Compares the namespace at `own` with the one at `host` (normally `/proc/1/ns/net`), reading
/// the host's settings from a thread inside it when they differ.
pub fn compare_with_host(own: &Path, host: &Path) -> HostNamespace {
    let inodes = namespace_inode(own).and_then(|own| Ok((own, namespace_inode(host)?)));
    let (own_inode, host_inode) = match inodes {
        Ok(pair) => pair,
        Err(error) => {
            return HostNamespace::Unknown { reason: format!("cannot identify the host's namespace: {error}") };
        }
    };
    if own_inode == host_inode {
        return HostNamespace::Same;
    }
    let read = in_namespace(host, || read_sysctls(Path::new("/proc/sys")));
    match read {
        Ok(Ok(all)) => HostNamespace::Other {
            inode: host_inode,
            sysctls: all
                .values
                .into_iter()
                .filter(|(name, _)| {
                    PER_NAMESPACE_SETTINGS.contains(&name.as_str()) || HOST_WIDE_SETTINGS.contains(&name.as_str())
                })
                .collect(),
        },
        Ok(Err(error)) | Err(error) => {
            HostNamespace::Unknown { reason: format!("cannot read the host namespace's settings: {error}") }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_namespace_is_the_same_as_itself() {
        let own = Path::new("/proc/thread-self/ns/net");
        assert_eq!(compare_with_host(own, own), HostNamespace::Same);
        match compare_with_host(own, Path::new("/nonexistent/ns/net")) {
            HostNamespace::Unknown { reason } => assert!(reason.contains("No such file"), "{reason}"),
            other => panic!("expected Unknown, got {other:?}"),
        }
    }
}
