//! A listener's owners as the owner's side of a full accept queue: which processes take its
//! connections, and what they are doing — run state, CPU use over the interval, threads, and
//! their cgroup's CPU throttling and memory pressure.
//!
//! **Which owners.** Every process holding the socket is in [`super::ListenerView::processes`].
//! Those that take its connections are the ones that have it in an epoll set, when any holder
//! does (the sample's `pollers`): not an nginx master, which only holds its listeners, and in
//! an `SO_REUSEPORT` group only the worker that polls that member. When no holder polls it (a
//! server blocked in `accept()`), every holder is an owner.
//!
//! **Over the interval.** CPU use is `Δ(utime + stime) / ticks_per_second / seconds` (1.0 is
//! one CPU busy the whole interval, as `top` shows 100 %); cgroup throttling is
//! `Δthrottled_usec / interval` (the kernel sums throttled time over CPUs, so a group throttled
//! on two CPUs at once can pass 100 %); memory stall is `Δ(some total) / interval`. The
//! interval is the time between the two readings of the owners' files, on the boot clock; a
//! process whose start time changed (a reused pid) has no CPU figure.

use serde::Serialize;

use crate::sample::{CgroupStats, ProcessRef, ProcessStatus, ProcessTable, Sample};

/// A process's run state, from the letter in `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// `R`: running or runnable.
    Running,
    /// `S`: sleeping, interruptibly (waiting in epoll, accept, a lock...).
    Sleeping,
    /// `D`: uninterruptible sleep, nearly always blocked on I/O.
    Uninterruptible,
    /// `T`: stopped by a signal (SIGSTOP, SIGTSTP, ...).
    Stopped,
    /// `t`: stopped by a tracer (a debugger, strace at a breakpoint).
    TracingStop,
    /// `Z`: exited, not yet reaped by its parent.
    Zombie,
    /// `X`: dead.
    Dead,
    /// `I`: an idle kernel thread.
    Idle,
    /// Any other letter (`W`, `K`, `P`, ... of old or future kernels).
    Other,
}

impl RunState {
    /// The state of a `stat` letter.
    pub fn from_letter(letter: char) -> RunState {
        match letter {
            'R' => RunState::Running,
            'S' => RunState::Sleeping,
            'D' => RunState::Uninterruptible,
            'T' => RunState::Stopped,
            't' => RunState::TracingStop,
            'Z' => RunState::Zombie,
            'X' | 'x' => RunState::Dead,
            'I' => RunState::Idle,
            _ => RunState::Other,
        }
    }

    /// In a few words: `running`, `stopped (SIGSTOP)`, `uninterruptible (D)`, ...
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Sleeping => "sleeping",
            RunState::Uninterruptible => "uninterruptible (D)",
            RunState::Stopped => "stopped (SIGSTOP)",
            RunState::TracingStop => "stopped by a tracer",
            RunState::Zombie => "a zombie",
            RunState::Dead => "dead",
            RunState::Idle => "idle",
            RunState::Other => "in an unusual state",
        }
    }

    /// Whether a process in this state cannot call `accept()` at all.
    pub fn cannot_accept(self) -> bool {
        matches!(
            self,
            RunState::Uninterruptible | RunState::Stopped | RunState::TracingStop | RunState::Zombie | RunState::Dead
        )
    }
}

/// One owner of a listener, with what explains a queue it does not empty.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerView {
    /// The process.
    #[serde(flatten)]
    pub process: ProcessRef,
    /// Whether it has the socket in an epoll set; `false` when no holder polls it.
    pub polls: bool,
    /// The state letter as the kernel gave it (`T`), when read.
    pub state: Option<char>,
    /// That letter's meaning.
    pub run_state: Option<RunState>,
    /// CPU used over the interval, in CPUs (1.0: one CPU busy the whole time).
    pub cpu: Option<f64>,
    /// Threads.
    pub threads: Option<u32>,
    /// Its cgroup v2, when known.
    pub cgroup: Option<CgroupView>,
}

/// An owner's cgroup v2 and what it says over the interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CgroupView {
    /// The cgroup path, unsanitised.
    pub path: String,
    /// The CPU limit from `cpu.max`, in CPUs (`quota / period`); `None` for no limit.
    pub cpu_limit: Option<f64>,
    /// Time throttled over the interval, as a share of it (`Δthrottled_usec / interval`).
    pub throttled: Option<f64>,
    /// Periods throttled in the interval (`Δnr_throttled`).
    pub throttled_periods: Option<u64>,
    /// Periods elapsed in the interval (`Δnr_periods`).
    pub periods: Option<u64>,
    /// `memory.pressure` some avg10, as a share (0.35 for 35 %).
    pub memory_some_avg10: Option<f64>,
    /// `memory.pressure` full avg10, as a share.
    pub memory_full_avg10: Option<f64>,
    /// Time at least one task was stalled on memory over the interval, as a share of it.
    pub memory_stalled: Option<f64>,
}

/// The owners of the listener whose socket inode is `inode` (see the module documentation).
pub fn listener_owners(current: &Sample, previous: Option<&Sample>, inode: u64) -> Vec<OwnerView> {
    let Some(table) = current.processes.as_ref() else { return Vec::new() };
    let holders = table.owners.get(&inode).map_or(&[][..], Vec::as_slice);
    let pollers = table.pollers.get(&inode).filter(|pids| holders.iter().any(|holder| pids.contains(&holder.pid)));
    let before = previous.and_then(|sample| sample.processes.as_ref());
    holders
        .iter()
        .filter(|holder| pollers.is_none_or(|pids| pids.contains(&holder.pid)))
        .map(|holder| owner(table, before, holder, pollers.is_some()))
        .collect()
}

fn owner(table: &ProcessTable, before: Option<&ProcessTable>, holder: &ProcessRef, polls: bool) -> OwnerView {
    let status = table.status.get(&holder.pid);
    let seconds = before.and_then(|before| seconds_between(before, table));
    let old = before
        .and_then(|before| before.status.get(&holder.pid))
        .filter(|old| status.is_some_and(|now| now.start_time == old.start_time));
    OwnerView {
        process: holder.clone(),
        polls,
        state: status.map(|status| status.state),
        run_state: status.map(|status| RunState::from_letter(status.state)),
        cpu: status.zip(old).zip(seconds).and_then(|((now, old), seconds)| cpu_share(table, old, now, seconds)),
        threads: status.map(|status| status.threads),
        cgroup: status.and_then(|status| cgroup(table, before, status, seconds)),
    }
}

/// Seconds between two readings of the owners' files; `None` unless positive.
fn seconds_between(before: &ProcessTable, now: &ProcessTable) -> Option<f64> {
    let nanos = now.status_boottime_ns.checked_sub(before.status_boottime_ns)?;
    (before.status_boottime_ns > 0 && nanos > 0).then(|| nanos as f64 / 1e9)
}

fn cpu_share(table: &ProcessTable, old: &ProcessStatus, now: &ProcessStatus, seconds: f64) -> Option<f64> {
    let ticks = now.cpu_ticks.checked_sub(old.cpu_ticks)?;
    let per_second = Some(table.ticks_per_second).filter(|ticks| *ticks > 0)?;
    Some(ticks as f64 / per_second as f64 / seconds)
}

fn cgroup(
    table: &ProcessTable,
    before: Option<&ProcessTable>,
    status: &ProcessStatus,
    seconds: Option<f64>,
) -> Option<CgroupView> {
    let path = status.cgroup.as_ref()?;
    let now = table.cgroups.get(path);
    let old = before.and_then(|before| before.cgroups.get(path));
    let cpu = |stats: Option<&CgroupStats>| stats.and_then(|stats| stats.cpu);
    let grew = |field: fn(&crate::sample::CpuStat) -> Option<u64>| field(&cpu(now)?)?.checked_sub(field(&cpu(old)?)?);
    let share_of_interval = |usec: u64| seconds.map(|seconds| usec as f64 / 1e6 / seconds);
    let pressure = now.and_then(|stats| stats.memory_pressure);
    let stalled = pressure
        .zip(old.and_then(|stats| stats.memory_pressure))
        .and_then(|(now, old)| now.some.total_usec.checked_sub(old.some.total_usec).and_then(share_of_interval));
    Some(CgroupView {
        path: path.clone(),
        cpu_limit: now
            .and_then(|stats| stats.cpu_max)
            .and_then(|max| Some(max.quota_usec? as f64 / Some(max.period_usec).filter(|period| *period > 0)? as f64)),
        throttled: grew(|cpu| cpu.throttled_usec).and_then(share_of_interval),
        throttled_periods: grew(|cpu| cpu.nr_throttled),
        periods: grew(|cpu| cpu.nr_periods),
        memory_some_avg10: pressure.map(|pressure| pressure.some.avg10 / 100.0),
        memory_full_avg10: pressure.and_then(|pressure| pressure.full).map(|full| full.avg10 / 100.0),
        memory_stalled: stalled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{CpuMax, CpuStat, Pressure, PressureLine};

    const SECOND: u64 = 1_000_000_000;

    /// A process table at `second`, where `socket` is held by `holders` and polled by `pollers`,
    /// each holder with `stat` (state, CPU ticks) and in cgroup `/web` with `cpu`.
    fn table(second: u64, socket: u64, holders: &[(u32, char, u64)], pollers: &[u32], cpu: CpuStat) -> ProcessTable {
        let mut table =
            ProcessTable { status_boottime_ns: second * SECOND, ticks_per_second: 100, ..ProcessTable::default() };
        let refs = holders.iter().map(|(pid, _, _)| ProcessRef { pid: *pid, command: "nginx".into() }).collect();
        table.owners.insert(socket, refs);
        if !pollers.is_empty() {
            table.pollers.insert(socket, pollers.iter().copied().collect());
        }
        for (pid, state, ticks) in holders {
            let status = ProcessStatus {
                state: *state,
                parent: 1,
                cpu_ticks: *ticks,
                threads: 1,
                start_time: 500,
                cgroup: Some("/web".into()),
                command_line_numbers: Default::default(),
            };
            table.status.insert(*pid, status);
        }
        let pressure = |total_usec: u64| Pressure {
            some: PressureLine { avg10: 35.0, avg60: 10.0, total_usec },
            full: Some(PressureLine { avg10: 5.0, avg60: 1.0, total_usec: 0 }),
        };
        table.cgroups.insert(
            "/web".into(),
            CgroupStats {
                cpu: Some(cpu),
                cpu_max: Some(CpuMax { quota_usec: Some(10_000), period_usec: 100_000 }),
                memory_pressure: Some(pressure(second * 100_000)),
            },
        );
        table
    }

    fn sample(table: ProcessTable) -> Sample {
        Sample { processes: Some(table), ..Sample::default() }
    }

    fn cpu(periods: u64, throttled: u64, throttled_usec: u64) -> CpuStat {
        CpuStat {
            usage_usec: Some(0),
            nr_periods: Some(periods),
            nr_throttled: Some(throttled),
            throttled_usec: Some(throttled_usec),
        }
    }

    #[test]
    fn the_owners_are_the_holders_that_poll_the_socket() {
        // nginx: the master (100) holds both members of a reuseport group, each worker polls one.
        let holders = [(100, 'S', 0), (101, 'T', 0), (102, 'S', 0)];
        let mut table = table(10, 7, &holders, &[101], cpu(0, 0, 0));
        table.owners.insert(8, table.owners[&7].clone());
        table.pollers.insert(8, [102].into());
        let current = sample(table);
        let first = listener_owners(&current, None, 7);
        assert_eq!(first.iter().map(|owner| owner.process.pid).collect::<Vec<_>>(), vec![101]);
        assert!(first[0].polls);
        assert_eq!((first[0].state, first[0].run_state), (Some('T'), Some(RunState::Stopped)));
        assert_eq!(listener_owners(&current, None, 8)[0].process.pid, 102, "each member its own worker");
        // Nobody polls: every holder is an owner.
        let blocking = sample(self::table(10, 9, &[(200, 'S', 0), (201, 'S', 0)], &[], cpu(0, 0, 0)));
        let owners = listener_owners(&blocking, None, 9);
        assert_eq!(owners.len(), 2);
        assert!(owners.iter().all(|owner| !owner.polls));
    }

    #[test]
    fn cpu_and_throttling_are_shares_of_the_interval() {
        let before = sample(table(10, 7, &[(101, 'R', 1_000)], &[], cpu(100, 10, 1_000_000)));
        // 2 s later: 200 ticks (2 s of CPU), 20 more periods of which 18 throttled for 0.8 s.
        let after = sample(table(12, 7, &[(101, 'R', 1_200)], &[], cpu(120, 28, 1_800_000)));
        let owner = &listener_owners(&after, Some(&before), 7)[0];
        assert_eq!(owner.cpu, Some(1.0), "one CPU busy");
        let cgroup = owner.cgroup.as_ref().expect("a cgroup");
        assert_eq!(cgroup.throttled, Some(0.4));
        assert_eq!((cgroup.throttled_periods, cgroup.periods), (Some(18), Some(20)));
        assert_eq!(cgroup.cpu_limit, Some(0.1));
        assert_eq!((cgroup.memory_some_avg10, cgroup.memory_full_avg10), (Some(0.35), Some(0.05)));
        assert_eq!(cgroup.memory_stalled, Some(0.1), "100 ms stalled per second");
        // One sample: states and limits, no shares.
        let alone = &listener_owners(&after, None, 7)[0];
        assert_eq!((alone.cpu, alone.cgroup.as_ref().and_then(|cgroup| cgroup.throttled)), (None, None));
    }

    #[test]
    fn a_reused_pid_or_a_reset_counter_gives_no_figure() {
        let before = sample(table(10, 7, &[(101, 'R', 5_000)], &[], cpu(100, 10, 1_000_000)));
        let mut after = table(12, 7, &[(101, 'R', 10)], &[], cpu(5, 0, 0));
        let reused = after.status.get_mut(&101).expect("status");
        reused.start_time = 900;
        reused.cpu_ticks = 6_000;
        let owner = &listener_owners(&sample(after), Some(&before), 7)[0];
        assert_eq!(owner.cpu, None, "another process under the same pid");
        assert_eq!(owner.cgroup.as_ref().and_then(|cgroup| cgroup.throttled), None, "a recreated cgroup");
    }

    #[test]
    fn an_owner_without_status_is_still_named() {
        let mut table = table(10, 7, &[(101, 'S', 0)], &[], cpu(0, 0, 0));
        table.status.clear();
        let owner = &listener_owners(&sample(table), None, 7)[0];
        assert_eq!((owner.process.pid, owner.state, owner.cgroup.is_none()), (101, None, true));
        assert!(listener_owners(&Sample::default(), None, 7).is_empty());
    }

    #[test]
    fn states_that_cannot_accept() {
        for letter in ['D', 'T', 't', 'Z', 'X'] {
            assert!(RunState::from_letter(letter).cannot_accept(), "{letter}");
        }
        for letter in ['R', 'S', 'I', 'W'] {
            assert!(!RunState::from_letter(letter).cannot_accept(), "{letter}");
        }
    }
}
