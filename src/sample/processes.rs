//! Which processes hold the sockets sockscope attributes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which processes hold which sockets, for the sockets sockscope attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessTable {
    /// Processes holding each socket, by socket inode; a socket can be shared (for example by
    /// a master process and its workers).
    pub owners: BTreeMap<u64, Vec<ProcessRef>>,
    /// Processes whose descriptors were read.
    pub scanned: u32,
    /// Processes that exited while being read.
    pub vanished: u32,
    /// Processes whose descriptors could not be read (another user's, without privileges).
    pub denied: u32,
    /// Soft `RLIMIT_NOFILE` of the owning processes, by pid (from `/proc/<pid>/limits`).
    #[serde(default)]
    pub open_files_limit: BTreeMap<u32, u64>,
}

/// A process, as named in reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProcessRef {
    /// Process id.
    pub pid: u32,
    /// Command name (`/proc/<pid>/comm`), unsanitised.
    pub command: String,
}
