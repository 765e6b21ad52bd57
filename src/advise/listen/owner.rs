//! The owner's side of a full or overflowing accept queue: what the processes that should call
//! `accept()` are doing. A queue fills because its application does not accept fast enough;
//! when the model shows why — an owner stopped, blocked on I/O, a zombie, busy on a CPU, its
//! cgroup throttled or short of memory — the finding says so in its summary, explanation,
//! evidence and remedy, so nobody needs `ps` or `htop` to find it.
//!
//! Thresholds (proposed): an owner is busy from [`BUSY_CPU`] of a CPU over the interval, a
//! cgroup throttled from [`THROTTLED`] of the interval, under memory pressure from
//! [`MEMORY_PRESSURE`] (`some` avg10).

use crate::advise::Evidence;
use crate::format as units;
use crate::model::{ListenerView, OwnerView, RunState};

/// An owner busy on a CPU: this share of one CPU over the interval.
pub const BUSY_CPU: f64 = 0.9;

/// A cgroup throttled this share of the interval explains a slow accept loop.
pub const THROTTLED: f64 = 0.1;

/// A cgroup whose tasks stalled on memory this share of the last 10 s (`some` avg10).
pub const MEMORY_PRESSURE: f64 = 0.1;

/// At most this many owners are listed one by one in the evidence.
const LISTED: usize = 8;

/// What the owners explain about a queue nobody empties.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OwnerSide {
    /// The main cause, to follow the summary: `its only owner nginx[27439] is stopped (SIGSTOP)`.
    pub(super) clause: Option<String>,
    /// Every cause found, in sentences.
    pub(super) explanation: String,
    /// Each owner's state, CPU and cgroup, and the numbers behind each cause.
    pub(super) evidence: Vec<Evidence>,
    /// What to do about the causes found, first.
    pub(super) remedy: Option<String>,
}

/// The owner's side of `listener`'s queue, when its owners are known.
pub(super) fn owner_side(listener: &ListenerView) -> Option<OwnerSide> {
    let owners = &listener.owners;
    if owners.is_empty() {
        return None;
    }
    let mut causes: Vec<(String, String, String)> = Vec::new();
    causes.extend(blocked(owners));
    causes.extend(busiest(owners));
    causes.extend(throttled(owners));
    causes.extend(memory(owners));
    // Owners whose state could not be read (a recording without it) are named by the subject.
    let known: Vec<&OwnerView> = owners.iter().filter(|owner| owner.state.is_some()).collect();
    let mut evidence: Vec<Evidence> = known.iter().take(LISTED).map(|owner| owner_evidence(owner)).collect();
    if known.len() > LISTED {
        evidence.push(Evidence::fact("more owners", (known.len() - LISTED).to_string()));
    }
    evidence.extend(cause_numbers(owners));
    let clause = causes.first().map(|(clause, _, _)| clause.clone());
    let explanation = causes.iter().map(|(_, why, _)| why.as_str()).collect::<Vec<_>>().join(" ");
    let remedy = causes.iter().map(|(_, _, remedy)| remedy.as_str()).collect::<Vec<_>>().join(" ");
    Some(OwnerSide { clause, explanation, evidence, remedy: Some(remedy).filter(|text| !text.is_empty()) })
}

/// `nginx[27439]`.
fn name(owner: &OwnerView) -> String {
    format!("{}[{}]", owner.process.command, owner.process.pid)
}

/// Owners that cannot call `accept()` (stopped, uninterruptible, zombie): all of them or some.
fn blocked(owners: &[OwnerView]) -> Option<(String, String, String)> {
    let stuck: Vec<(&OwnerView, RunState)> =
        owners.iter().filter_map(|owner| Some((owner, owner.run_state?))).filter(|(_, s)| s.cannot_accept()).collect();
    let (first, state) = *stuck.first()?;
    let same = stuck.iter().all(|(_, other)| *other == state);
    let names: Vec<String> = stuck.iter().map(|(owner, _)| name(owner)).collect();
    let clause = match (owners.len(), stuck.len()) {
        (1, _) => format!("its only owner {} is {}", name(first), state.name()),
        (all, n) if all == n && same => format!("all {all} of its owners are {}: {}", state.name(), names.join(", ")),
        (all, n) if all == n => format!("none of its {all} owners can accept: {}", described(&stuck)),
        (all, n) if same => format!("{n} of its {all} owners are {}: {}", state.name(), names.join(", ")),
        (all, n) => format!("{n} of its {all} owners cannot accept: {}", described(&stuck)),
    };
    let mut why = format!("{}.", capitalised(&clause));
    let mut remedy = Vec::new();
    for state in [RunState::Stopped, RunState::TracingStop, RunState::Uninterruptible, RunState::Zombie, RunState::Dead]
    {
        let pids: Vec<String> =
            stuck.iter().filter(|(_, s)| *s == state).map(|(owner, _)| owner.process.pid.to_string()).collect();
        if pids.is_empty() {
            continue;
        }
        let (meaning, action) = match state {
            RunState::Stopped => (
                "A stopped process runs no code until it gets SIGCONT, so nobody calls accept().",
                format!("Resume the stopped owners (kill -CONT {}) or restart the service.", pids.join(" ")),
            ),
            RunState::TracingStop => (
                "A debugger or tracer holds it at a stop.",
                format!("Detach the debugger or tracer from {}.", pids.join(", ")),
            ),
            RunState::Uninterruptible => (
                "Uninterruptible (D) means blocked on I/O (a slow or hung disk, NFS, a device): it cannot accept \
                 until that I/O completes.",
                format!(
                    "Find what the D-state owners wait on (cat /proc/{}/stack, its wchan; the disk or mount behind it).",
                    pids[0]
                ),
            ),
            _ => (
                "A zombie has exited: it holds nothing but its exit status until its parent reaps it.",
                "Restart the service: its accepting process has exited.".to_string(),
            ),
        };
        why.push(' ');
        why.push_str(meaning);
        remedy.push(action);
    }
    Some((clause, why, remedy.join(" ")))
}

/// `nginx[101] stopped (SIGSTOP), nginx[102] uninterruptible (D)`.
fn described(stuck: &[(&OwnerView, RunState)]) -> String {
    stuck.iter().map(|(owner, state)| format!("{} {}", name(owner), state.name())).collect::<Vec<_>>().join(", ")
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The busiest owner, when it used nearly a whole CPU.
fn busiest(owners: &[OwnerView]) -> Option<(String, String, String)> {
    let (owner, cpu) = owners
        .iter()
        .filter_map(|owner| Some((owner, owner.cpu?)))
        .filter(|(owner, _)| owner.run_state.is_none_or(|state| !state.cannot_accept()))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if cpu < BUSY_CPU {
        return None;
    }
    let clause = format!("its owner {} is at {} CPU", name(owner), units::percent(cpu));
    let why = format!(
        "Its owner {} used {} of a CPU over the last interval: an event loop that busy calls accept() late.",
        name(owner),
        units::percent(cpu)
    );
    Some((clause, why, "Give the service more workers or threads, or find what keeps it busy (perf top -p).".into()))
}

/// The most throttled cgroup among the owners'.
fn throttled(owners: &[OwnerView]) -> Option<(String, String, String)> {
    let (cgroup, share) = owners
        .iter()
        .filter_map(|owner| owner.cgroup.as_ref())
        .filter_map(|cgroup| Some((cgroup, cgroup.throttled?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if share < THROTTLED {
        return None;
    }
    let path = units::sanitize(&cgroup.path);
    let clause = format!("its cgroup {path} was throttled {} of the last interval", units::percent(share));
    let limit = cgroup.cpu_limit.map(|cpus| format!(" (cpu.max allows {cpus:.2} CPU)")).unwrap_or_default();
    let periods = match (cgroup.throttled_periods, cgroup.periods) {
        (Some(throttled), Some(periods)) if periods > 0 => format!(", in {throttled} of {periods} periods"),
        _ => String::new(),
    };
    let why = format!(
        "Its cgroup {path}{limit} was throttled {} of the last interval{periods}: once the CPU quota of a period is \
         spent, the kernel stops its tasks until the next period, accept loop included.",
        units::percent(share)
    );
    Some((clause, why, "Raise the cgroup's CPU quota (cpu.max; systemd CPUQuota=, a container's CPU limit).".into()))
}

/// The owners' cgroup under the most memory pressure.
fn memory(owners: &[OwnerView]) -> Option<(String, String, String)> {
    let (cgroup, some) = owners
        .iter()
        .filter_map(|owner| owner.cgroup.as_ref())
        .filter_map(|cgroup| Some((cgroup, cgroup.memory_some_avg10?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if some < MEMORY_PRESSURE {
        return None;
    }
    let path = units::sanitize(&cgroup.path);
    let clause = format!("its cgroup {path} is under memory pressure ({} stalled, avg10)", units::percent(some));
    let why = format!(
        "Tasks of its cgroup {path} were stalled waiting for memory {} of the last 10 s (memory.pressure some): \
         reclaim and swap-in slow every call, accept() included.",
        units::percent(some)
    );
    Some((clause, why, "Raise the cgroup's memory limit (memory.max, memory.high) or reduce its use.".into()))
}

/// One owner in a line: `stopped (SIGSTOP) [T], 0% CPU, 1 thread, cgroup /web`.
fn owner_evidence(owner: &OwnerView) -> Evidence {
    let mut parts = Vec::new();
    if let (Some(state), Some(letter)) = (owner.run_state, owner.state) {
        parts.push(format!("{} [{letter}]", state.name()));
    }
    if let Some(cpu) = owner.cpu {
        parts.push(format!("{} CPU", units::percent(cpu)));
    }
    if let Some(threads) = owner.threads {
        parts.push(format!("{threads} thread{}", if threads == 1 { "" } else { "s" }));
    }
    if let Some(cgroup) = &owner.cgroup {
        parts.push(format!("cgroup {}", cgroup.path));
    }
    if owner.polls {
        parts.push("polls this socket".to_string());
    }
    Evidence::fact(format!("owner {}", name(owner)), parts.join(", "))
}

/// The numbers behind the causes, for scripts.
fn cause_numbers(owners: &[OwnerView]) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    if let Some(cpu) = owners.iter().filter_map(|owner| owner.cpu).max_by(f64::total_cmp) {
        evidence.push(Evidence::number("busiest owner's CPU", units::percent(cpu), cpu));
    }
    let cgroups = || owners.iter().filter_map(|owner| owner.cgroup.as_ref());
    if let Some(share) = cgroups().filter_map(|cgroup| cgroup.throttled).max_by(f64::total_cmp) {
        evidence.push(Evidence::number("cgroup throttled (share of the interval)", units::percent(share), share));
    }
    if let Some(some) = cgroups().filter_map(|cgroup| cgroup.memory_some_avg10).max_by(f64::total_cmp) {
        evidence.push(Evidence::number("cgroup memory pressure (some avg10)", units::percent(some), some));
    }
    evidence
}

#[cfg(test)]
mod tests {
    use super::super::{ACCEPT_QUEUE_FULL, LISTENER_DROPS};
    use crate::advise::testkit::*;
    use crate::advise::{Finding, Severity};
    use crate::sample::{CgroupStats, CpuStat, Pressure, PressureLine, ProcessRef, ProcessStatus, Sample};

    /// Gives `pid` a status in the sample: `state`, `ticks` of CPU, in cgroup `/web` with
    /// `throttled_usec` of throttling and memory `some` avg10 `pressure` %.
    fn status(sample: &mut Sample, pid: u32, state: char, ticks: u64, throttled_usec: u64, pressure: f64) {
        let Some(table) = sample.processes.as_mut() else { return };
        table.status_boottime_ns = sample.boottime_ns;
        table.ticks_per_second = 100;
        let status = ProcessStatus {
            state,
            parent: 1,
            cpu_ticks: ticks,
            threads: 4,
            start_time: 9,
            cgroup: None,
            command_line_numbers: Default::default(),
        };
        table.status.insert(pid, ProcessStatus { cgroup: Some("/web".into()), ..status });
        let line = PressureLine { avg10: pressure, avg60: 0.0, total_usec: 0 };
        let cpu = CpuStat {
            usage_usec: Some(0),
            nr_periods: Some(throttled_usec / 10_000),
            nr_throttled: Some(throttled_usec / 20_000),
            throttled_usec: Some(throttled_usec),
        };
        let stats =
            CgroupStats { cpu: Some(cpu), cpu_max: None, memory_pressure: Some(Pressure { some: line, full: None }) };
        table.cgroups.insert("/web".into(), stats);
    }

    /// Two samples a second apart of a full queue on port 80 owned by `owners` (pid, state),
    /// the second edited by `change`.
    fn full_queue(owners: &[(u32, char)], change: impl Fn(&mut Sample)) -> Vec<Sample> {
        (100..102)
            .map(|second| {
                let mut sample = sample(second);
                add_listener(&mut sample, listener("10.0.0.1", 80, 7, 17, 16), None);
                let processes = owners.iter().map(|(pid, _)| ProcessRef { pid: *pid, command: "nginx".into() });
                if let Some(table) = sample.processes.as_mut() {
                    table.owners.insert(7, processes.collect());
                }
                for (pid, state) in owners {
                    status(&mut sample, *pid, *state, 0, 0, 0.0);
                }
                if second == 101 {
                    change(&mut sample);
                }
                sample
            })
            .collect()
    }

    fn accept_queue_finding(samples: &[Sample]) -> Finding {
        let outcome = run_check(&ACCEPT_QUEUE_FULL, samples);
        assert_eq!(outcome.findings.len(), 1, "{outcome:?}");
        outcome.findings[0].clone()
    }

    #[test]
    fn a_full_queue_names_its_stopped_only_owner() {
        let finding = accept_queue_finding(&full_queue(&[(27439, 'T')], |_| {}));
        assert_eq!(finding.severity, Severity::Critical);
        assert!(finding.summary.ends_with("; its only owner nginx[27439] is stopped (SIGSTOP)"), "{}", finding.summary);
        assert!(finding.explanation.starts_with("Its only owner nginx[27439] is stopped (SIGSTOP). A stopped process"));
        assert!(finding.remedy.starts_with("Resume the stopped owners (kill -CONT 27439)"), "{}", finding.remedy);
        let owner = finding.evidence.iter().find(|item| item.label == "owner nginx[27439]").expect("owner evidence");
        assert!(owner.value.starts_with("stopped (SIGSTOP) [T], 0% CPU, 4 threads, cgroup /web"), "{}", owner.value);
    }

    #[test]
    fn a_master_that_does_not_poll_is_left_out_and_mixed_states_are_described() {
        // The master (100) holds the socket, the workers poll it: only they are owners.
        let polled = |sample: &mut Sample| {
            if let Some(table) = sample.processes.as_mut() {
                table.pollers.insert(7, [101, 102].into());
            }
        };
        let samples = full_queue(&[(100, 'S'), (101, 'T'), (102, 'T')], polled);
        let finding = accept_queue_finding(&samples);
        assert!(
            finding.summary.ends_with("all 2 of its owners are stopped (SIGSTOP): nginx[101], nginx[102]"),
            "{}",
            finding.summary
        );
        assert_eq!(finding.subject.label(), "tcp 10.0.0.1:80 (nginx[101] +1)", "named by its workers");
        // Nobody polls: the sleeping master counts, and the workers are 2 of 3.
        let finding = accept_queue_finding(&full_queue(&[(100, 'S'), (101, 'T'), (102, 'D')], |_| {}));
        assert!(
            finding.summary.ends_with(
                "2 of its 3 owners cannot accept: nginx[101] stopped (SIGSTOP), nginx[102] uninterruptible (D)"
            ),
            "{}",
            finding.summary
        );
        assert!(finding.explanation.contains("blocked on I/O"), "{}", finding.explanation);
        assert!(finding.remedy.contains("cat /proc/102/stack"), "{}", finding.remedy);
    }

    #[test]
    fn a_zombie_owner_is_called_one() {
        let finding = accept_queue_finding(&full_queue(&[(5, 'Z')], |_| {}));
        assert!(finding.summary.ends_with("its only owner nginx[5] is a zombie"), "{}", finding.summary);
    }

    #[test]
    fn a_busy_owner_and_a_throttled_cgroup_are_named_with_their_shares() {
        // Over one second: 100 ticks of CPU (a whole CPU) and 0.4 s throttled, memory at 35 %.
        let samples = full_queue(&[(812, 'R')], |sample| status(sample, 812, 'R', 100, 400_000, 35.0));
        let finding = accept_queue_finding(&samples);
        assert!(finding.summary.ends_with("; its owner nginx[812] is at 100% CPU"), "{}", finding.summary);
        assert!(finding.explanation.contains("used 100% of a CPU"), "{}", finding.explanation);
        assert!(
            finding.explanation.contains("Its cgroup /web was throttled 40% of the last interval, in 20 of 40 periods"),
            "{}",
            finding.explanation
        );
        assert!(finding.explanation.contains("stalled waiting for memory 35%"), "{}", finding.explanation);
        let number =
            |label: &str| finding.evidence.iter().find(|item| item.label == label).and_then(|item| item.number);
        assert_eq!(number("busiest owner's CPU"), Some(1.0));
        assert_eq!(number("cgroup throttled (share of the interval)"), Some(0.4));
        assert_eq!(number("cgroup memory pressure (some avg10)"), Some(0.35));
        assert!(finding.remedy.starts_with("Give the service more workers"), "{}", finding.remedy);
    }

    #[test]
    fn a_healthy_owner_is_listed_but_blamed_for_nothing() {
        let finding = accept_queue_finding(&full_queue(&[(812, 'S')], |sample| status(sample, 812, 'S', 3, 0, 0.0)));
        assert!(finding.summary.ends_with("are being dropped"), "{}", finding.summary);
        assert!(finding.explanation.starts_with("nginx on 10.0.0.1:80 has 17"), "{}", finding.explanation);
        assert!(finding.evidence.iter().any(|item| item.value.starts_with("sleeping [S], 3% CPU")));
    }

    #[test]
    fn listener_drops_name_the_owner_only_when_the_queue_overflowed() {
        let dropping = |overflowed: bool| {
            move |sample: &mut Sample| {
                if let Some(listeners) = sample.tcp_listeners.as_mut() {
                    listeners[0].accept_queue = 0;
                    listeners[0].drops = Some(5);
                }
                if overflowed {
                    set_counter(sample, "TcpExt", "ListenOverflows", 5);
                }
            }
        };
        let overflow = run_check(&LISTENER_DROPS, &full_queue(&[(27439, 'T')], dropping(true)));
        assert!(overflow.findings[0].summary.ends_with("its only owner nginx[27439] is stopped (SIGSTOP)"));
        let other = run_check(&LISTENER_DROPS, &full_queue(&[(27439, 'T')], dropping(false)));
        assert_eq!(other.findings[0].severity, Severity::Warning);
        assert!(!other.findings[0].summary.contains("stopped"), "not a full queue: not the owner's side");
    }
}
