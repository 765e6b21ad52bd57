//! The per-namespace sources: everything that answers for the network namespace of the
//! **calling thread** — sockets over sock_diag, interfaces over rtnetlink, counters under
//! `/proc/thread-self/net`, settings under `/proc/sys/net`.
//!
//! Netlink sockets belong to the namespace they were created in, so a [`Namespace`] opens them
//! lazily on the thread that first reads, and must keep being used from a thread in the same
//! namespace.

pub mod counters;
pub mod decode;
pub(crate) mod flows;
pub(crate) mod inet_diag;
pub(crate) mod links;
pub mod netlink;
pub(crate) mod sockets;
pub mod sysctl;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use netlink_sys::protocols::{NETLINK_ROUTE, NETLINK_SOCK_DIAG};

use super::ProcPaths;
use crate::sample::{CollectPlan, CounterSections, Netns, Sample, Source};
use counters::Parsed;
use netlink::DumpSocket;
use sockets::Collected;

/// The per-namespace readers and the netlink sockets they keep between samples.
pub struct Namespace {
    paths: ProcPaths,
    sock_diag: Option<DumpSocket>,
    route: Option<DumpSocket>,
}

impl Namespace {
    /// Readers of the files under `paths`; netlink always asks the running kernel.
    pub fn new(paths: ProcPaths) -> Namespace {
        Namespace { paths, sock_diag: None, route: None }
    }

    /// The namespace's identity: the inode of the calling thread's namespace link.
    pub fn identify(&self, sample: &mut Sample) {
        match rustix::fs::stat(&self.paths.netns_link) {
            Ok(stat) => sample.netns = Some(Netns::with_inode(stat.st_ino)),
            Err(error) => sample.mark_unavailable(Source::Netns, error),
        }
    }

    /// Every catalogued setting under `/proc/sys`.
    pub fn read_sysctls(&self, sample: &mut Sample) {
        let started = Instant::now();
        match sysctl::read_sysctls(&self.paths.sys) {
            Ok(read) => {
                for (name, reason) in read.errors {
                    sample.mark_unavailable(Source::Sysctl(name), reason);
                }
                sample.sysctls = Some(read.values);
            }
            Err(error) => sample.mark_unavailable(Source::Sysctls, error),
        }
        record_time(sample, Source::Sysctls, started);
    }

    /// Listeners, UDP sockets and UNIX listeners, and — when `walk` — the all-states summary
    /// (with flows and connections as the plan asks). Returns the walk's CPU seconds: this
    /// thread's and its helper threads'.
    pub fn read_sockets(&mut self, sample: &mut Sample, plan: CollectPlan, walk: bool) -> Option<WalkCost> {
        let socket = match open_socket(&mut self.sock_diag, NETLINK_SOCK_DIAG) {
            Ok(socket) => socket,
            Err(error) => {
                let reason = format!("sock_diag netlink socket: {error}");
                for source in [Source::TcpListeners, Source::TcpStates, Source::Udp, Source::UnixListeners] {
                    sample.mark_unavailable(source, &reason);
                }
                return None;
            }
        };
        let started = Instant::now();
        sample.tcp_listeners = take(sample, Source::TcpListeners, sockets::tcp_listeners(socket));
        record_time(sample, Source::TcpListeners, started);

        let cost = walk.then(|| Self::walk(socket, sample, plan));

        let started = Instant::now();
        sample.udp_sockets = take(sample, Source::Udp, sockets::udp_sockets(socket));
        record_time(sample, Source::Udp, started);

        let started = Instant::now();
        sample.unix_listeners = take(sample, Source::UnixListeners, sockets::unix_listeners(socket));
        record_time(sample, Source::UnixListeners, started);
        cost
    }

    /// The all-states walk into the sample.
    fn walk(socket: &mut DumpSocket, sample: &mut Sample, plan: CollectPlan) -> WalkCost {
        let started = Instant::now();
        let cpu_started = thread_cpu_seconds();
        let listen_ports: HashSet<u16> =
            sample.tcp_listeners.iter().flatten().map(|listener| listener.local_port).collect();
        let range = sample.sysctl("net.ipv4.ip_local_port_range").and_then(|value| value.port_range());
        let extras = sockets::Extras { flows: plan.flows, connections: plan.connections };
        let walk = sockets::Walk { range, listen_ports: &listen_ports, extras, parts: walk_parts(sample) };
        let collected = sockets::tcp_summary(socket, walk);
        let helpers = collected.helper_cpu_seconds;
        let summary = take(sample, Source::TcpStates, collected);
        if let Some((summary, flows, connections)) = summary {
            sample.tcp_summary = Some(summary);
            sample.flows = flows;
            sample.connections = connections;
        }
        if !plan.flows {
            sample.skipped.push(Source::Flows);
        }
        record_time(sample, Source::TcpStates, started);
        WalkCost { here: thread_cpu_seconds() - cpu_started, helpers }
    }

    /// Every interface, from an rtnetlink dump.
    pub fn read_interfaces(&mut self, sample: &mut Sample) {
        let started = Instant::now();
        let result = open_socket(&mut self.route, NETLINK_ROUTE)
            .map_err(|error| format!("rtnetlink socket: {error}"))
            .and_then(|socket| links::interfaces(socket).map_err(|error| error.to_string()));
        match result {
            Ok((interfaces, stats)) => {
                sample.diagnostics.malformed_messages += stats.malformed;
                sample.diagnostics.interrupted_dumps += u64::from(stats.interrupted);
                sample.interfaces = Some(interfaces);
            }
            Err(reason) => sample.mark_unavailable(Source::Interfaces, reason),
        }
        record_time(sample, Source::Interfaces, started);
    }

    /// The counter files of the namespace's `/proc/.../net`.
    pub fn read_counters(&self, sample: &mut Sample) {
        let started = Instant::now();
        let net = self.paths.net.clone();
        sample.netstat = read_parsed(sample, &net, Source::Netstat, counters::parse_header_value_pairs);
        sample.snmp = read_parsed(sample, &net, Source::Snmp, counters::parse_header_value_pairs);
        sample.snmp6 = read_parsed(sample, &net, Source::Snmp6, counters::parse_snmp6);
        sample.sockstat = read_sockstat(sample, &net);
        sample.softnet = read_parsed(sample, &net, Source::Softnet, counters::parse_softnet);
        sample.conntrack = read_conntrack_stat(sample, &net);
        record_time(sample, Source::Counters, started);
    }
}

/// A namespace holding fewer TCP sockets than this is walked by one dump: every extra dump walks
/// the kernel's whole table again (its cost grows with the host's sockets, not the
/// namespace's), and only the per-socket work is shared out.
const SPLIT_FROM_SOCKETS: u64 = 20_000;

/// The most dumps one walk is split into.
const MOST_PARTS: u16 = 8;

/// How many dumps share this namespace's walk: one per CPU this process may use (at most
/// [`MOST_PARTS`]) when the namespace holds at least [`SPLIT_FROM_SOCKETS`] TCP sockets by
/// `sockstat`'s count, which the collector reads before the sockets.
fn walk_parts(sample: &Sample) -> u16 {
    if tcp_sockets(sample) < SPLIT_FROM_SOCKETS {
        return 1;
    }
    let cpus = std::thread::available_parallelism().map_or(1, |cpus| cpus.get());
    u16::try_from(cpus).unwrap_or(MOST_PARTS).clamp(1, MOST_PARTS)
}

/// The namespace's TCP sockets by the sample's `sockstat` and `sockstat6` (in use plus
/// TIME_WAIT); 0 when they were not read, which keeps the walk whole.
fn tcp_sockets(sample: &Sample) -> u64 {
    let sections = sample.sockstat.iter().flat_map(|sockstat| ["TCP", "TCP6"].map(|label| sockstat.get(label)));
    let counts = sections.flatten().flat_map(|section| ["inuse", "tw"].map(|key| section.get(key).copied()));
    counts.flatten().map(|count| u64::try_from(count).unwrap_or(0)).sum()
}

fn open_socket(slot: &mut Option<DumpSocket>, protocol: isize) -> std::io::Result<&mut DumpSocket> {
    if slot.is_none() {
        *slot = Some(DumpSocket::open(protocol)?);
    }
    slot.as_mut().ok_or_else(|| std::io::Error::other("netlink socket missing"))
}

/// Moves a socket collector's result into the sample, recording failures, malformed messages
/// and interrupted dumps.
fn take<T>(sample: &mut Sample, source: Source, collected: Collected<T>) -> Option<T> {
    sample.diagnostics.malformed_messages += collected.malformed;
    sample.diagnostics.interrupted_dumps += collected.interrupted;
    if !collected.failures.is_empty() {
        sample.mark_unavailable(source, collected.failures.join("; "));
    }
    collected.data
}

/// Reads and parses one file of the network directory (the source's stable name is the file's).
fn read_parsed<T>(sample: &mut Sample, net: &Path, source: Source, parse: fn(&str) -> Parsed<T>) -> Option<T> {
    match std::fs::read_to_string(net.join(source.name().as_ref())) {
        Ok(text) => {
            let parsed = parse(&text);
            sample.diagnostics.skipped_fields += parsed.skipped;
            Some(parsed.value)
        }
        Err(error) => {
            sample.mark_unavailable(source, error);
            None
        }
    }
}

/// `stat/nf_conntrack`; its absence only means connection tracking is not loaded.
fn read_conntrack_stat(sample: &mut Sample, net: &Path) -> Option<BTreeMap<String, u64>> {
    match std::fs::read_to_string(net.join("stat/nf_conntrack")) {
        Ok(text) => {
            let parsed = counters::parse_conntrack_stat(&text);
            sample.diagnostics.skipped_fields += parsed.skipped;
            Some(parsed.value)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            sample.mark_unavailable(Source::Conntrack, error);
            None
        }
    }
}

/// `sockstat` and `sockstat6` together: their labels (`TCP`, `TCP6`, ...) do not collide.
fn read_sockstat(sample: &mut Sample, net: &Path) -> Option<CounterSections> {
    let mut merged = read_parsed(sample, net, Source::Sockstat, counters::parse_sockstat)?;
    if let Some(six) = read_parsed(sample, net, Source::Sockstat6, counters::parse_sockstat) {
        merged.extend(six);
    }
    Some(merged)
}

/// CPU seconds a walk cost: on the collecting thread, and on the threads a split walk used.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkCost {
    /// On the calling thread (already part of its own CPU time).
    pub here: f64,
    /// On the helper threads of a split walk.
    pub helpers: f64,
}

impl WalkCost {
    /// The whole walk.
    pub fn total(self) -> f64 {
        self.here + self.helpers
    }
}

/// CPU time (user and kernel) the calling thread has used, in seconds.
pub fn thread_cpu_seconds() -> f64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// Records how long a source took, in microseconds, under its stable name.
pub(crate) fn record_time(sample: &mut Sample, source: Source, started: Instant) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    sample.diagnostics.source_micros.insert(source.name().into_owned(), micros);
}
