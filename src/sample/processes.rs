//! Which processes hold the sockets sockscope attributes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Which processes hold which sockets, for the sockets sockscope attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessTable {
    /// Processes holding each socket, by socket inode; a socket can be shared (for example by
    /// a master process and its workers).
    pub owners: BTreeMap<u64, Vec<ProcessRef>>,
    /// Processes whose descriptors were read by the last full walk of `/proc`.
    pub scanned: u32,
    /// Processes that exited while being read.
    pub vanished: u32,
    /// Processes whose descriptors could not be read (another user's, without privileges).
    pub denied: u32,
    /// Soft `RLIMIT_NOFILE` of the owning processes, by pid (from `/proc/<pid>/limits`).
    #[serde(default)]
    pub open_files_limit: BTreeMap<u32, u64>,
    /// Sockets whose owners are being looked for (a walk of `/proc` runs in the background);
    /// they have no entry in `owners` yet.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub resolving: BTreeSet<u64>,
}

impl ProcessTable {
    /// The part of the table about the sockets `inodes` (sorted): their owners and those
    /// owners' limits; the walk's counts are kept.
    pub fn restricted_to(&self, inodes: &[u64]) -> ProcessTable {
        let owners: BTreeMap<u64, Vec<ProcessRef>> = self
            .owners
            .iter()
            .filter(|(inode, _)| inodes.binary_search(inode).is_ok())
            .map(|(inode, owners)| (*inode, owners.clone()))
            .collect();
        let open_files_limit = self
            .open_files_limit
            .iter()
            .filter(|(pid, _)| owners.values().flatten().any(|owner| owner.pid == **pid))
            .map(|(pid, limit)| (*pid, *limit))
            .collect();
        let resolving = self.resolving.iter().filter(|inode| inodes.binary_search(inode).is_ok()).copied().collect();
        ProcessTable {
            owners,
            scanned: self.scanned,
            vanished: self.vanished,
            denied: self.denied,
            open_files_limit,
            resolving,
        }
    }
}

/// A process, as named in reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProcessRef {
    /// Process id.
    pub pid: u32,
    /// Command name (`comm`, from `/proc/<pid>/stat`), unsanitised; bytes that are not UTF-8
    /// kept as `\xNN` ([`crate::format::name_from_bytes`]).
    pub command: String,
}
