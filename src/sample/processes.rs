//! Which processes hold the sockets sockscope attributes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Which processes hold which sockets, for the sockets sockscope attributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Of a listener's holders, the ones that have it in an epoll set (from
    /// `/proc/<pid>/fdinfo` of their eventpoll descriptors), by socket inode: the processes that
    /// take its connections. In an `SO_REUSEPORT` group every worker may hold every member, but
    /// each polls its own. Absent for a socket that no holder polls (a blocking `accept()`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pollers: BTreeMap<u64, BTreeSet<u32>>,
    /// The run state, CPU time and cgroup of each process holding a listener, by pid, read
    /// with every sample; a process that exited or could not be read has no entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status: BTreeMap<u32, ProcessStatus>,
    /// The cgroup v2 files of those processes' cgroups, by cgroup path; a cgroup whose files
    /// could not be read has no entry.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cgroups: BTreeMap<String, CgroupStats>,
    /// `CLOCK_BOOTTIME` in nanoseconds when `status` and `cgroups` were read, so CPU and
    /// throttling shares are taken over the time between two readings.
    #[serde(default)]
    pub status_boottime_ns: u64,
    /// Clock ticks per second (`USER_HZ`), the unit of [`ProcessStatus::cpu_ticks`].
    #[serde(default)]
    pub ticks_per_second: u64,
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
        let pollers = self
            .pollers
            .iter()
            .filter(|(inode, _)| inodes.binary_search(inode).is_ok())
            .map(|(inode, pids)| (*inode, pids.clone()))
            .collect();
        let status: BTreeMap<u32, ProcessStatus> = self
            .status
            .iter()
            .filter(|(pid, _)| owners.values().flatten().any(|owner| owner.pid == **pid))
            .map(|(pid, status)| (*pid, status.clone()))
            .collect();
        let cgroups = self
            .cgroups
            .iter()
            .filter(|(path, _)| status.values().any(|status| status.cgroup.as_ref() == Some(*path)))
            .map(|(path, stats)| (path.clone(), stats.clone()))
            .collect();
        ProcessTable {
            owners,
            scanned: self.scanned,
            vanished: self.vanished,
            denied: self.denied,
            open_files_limit,
            resolving,
            pollers,
            status,
            cgroups,
            status_boottime_ns: self.status_boottime_ns,
            ticks_per_second: self.ticks_per_second,
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

/// What `/proc/<pid>/stat` and `/proc/<pid>/cgroup` say of a process that holds a listener:
/// the facts that explain an accept queue nobody empties.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessStatus {
    /// The state letter of `stat` field 3: `R` running, `S` sleeping, `D` uninterruptible, `T`
    /// stopped, `t` stopped by a tracer, `Z` zombie, `X` dead, `I` idle, ...
    pub state: char,
    /// The parent's pid (field 4).
    pub parent: u32,
    /// User and system CPU time, `utime + stime` (fields 14 and 15), in clock ticks.
    pub cpu_ticks: u64,
    /// Threads (field 20).
    pub threads: u32,
    /// Start time in clock ticks since boot (field 22): with the pid, the process's identity
    /// across samples.
    pub start_time: u64,
    /// Its cgroup v2 path (the `0::` line of `/proc/<pid>/cgroup`), unsanitised; bytes that
    /// are not UTF-8 kept as `\xNN`. `None` without a cgroup v2 hierarchy.
    pub cgroup: Option<String>,
    /// The numbers from 1 to 65535 in its command line (`/proc/<pid>/cmdline`, the first 4 KiB):
    /// the ports it may have been told to listen on. Only the numbers are kept, never the text,
    /// which can hold secrets that a report or a recording must not copy.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub command_line_numbers: BTreeSet<u16>,
}

/// The cgroup v2 files sockscope reads for a listener owner's cgroup; each part is absent when
/// its file is missing (the controller is not enabled there) or unreadable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupStats {
    /// `cpu.stat`.
    pub cpu: Option<CpuStat>,
    /// `cpu.max`.
    pub cpu_max: Option<CpuMax>,
    /// `memory.pressure`.
    pub memory_pressure: Option<Pressure>,
}

/// The counters of a cgroup's `cpu.stat`; the throttling ones exist only where the cpu
/// controller is enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStat {
    /// CPU time used by the cgroup, in microseconds.
    pub usage_usec: Option<u64>,
    /// Enforcement periods that have elapsed (`nr_periods`).
    pub nr_periods: Option<u64>,
    /// Periods in which the cgroup was throttled (`nr_throttled`).
    pub nr_throttled: Option<u64>,
    /// Time its tasks spent throttled, summed over CPUs, in microseconds (`throttled_usec`).
    pub throttled_usec: Option<u64>,
}

/// A cgroup's `cpu.max`: at most `quota_usec` of CPU time per `period_usec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuMax {
    /// Microseconds of CPU time per period; `None` for `max` (no limit).
    pub quota_usec: Option<u64>,
    /// The period in microseconds.
    pub period_usec: u64,
}

/// A pressure-stall file (`memory.pressure`): the `some` line and, when present, the `full` one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pressure {
    /// Time in which at least one task was stalled.
    pub some: PressureLine,
    /// Time in which every non-idle task was stalled at once.
    pub full: Option<PressureLine>,
}

/// One line of a pressure-stall file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PressureLine {
    /// Percentage of the last 10 seconds stalled.
    pub avg10: f64,
    /// Percentage of the last 60 seconds stalled.
    pub avg60: f64,
    /// Total stall time in microseconds.
    pub total_usec: u64,
}
