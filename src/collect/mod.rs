//! Collection: read the kernel, and nothing else, into a [`Sample`].
//!
//! One collector per source — sockets over sock_diag, interfaces over rtnetlink, settings from
//! `/proc/sys/net`, counters from `/proc/net`, socket owners from `/proc/<pid>/fd`, host
//! identity. Each can fail on its own; the sample then records the source as unavailable with
//! the reason, and the other sources are unaffected.
//!
//! Everything here observes the network namespace of the **calling thread**: netlink sockets
//! are created by the thread that first collects, counters are read through
//! `/proc/thread-self/net`, and `/proc/sys/net` answers for the opener's namespace. To inspect
//! another namespace, create and use a [`Collector`] on a thread that has joined it.

pub mod counters;
pub mod flows;
pub(crate) mod host;
pub(crate) mod inet_diag;
pub mod kmsg;
pub(crate) mod links;
pub mod netlink;
pub mod netns;
pub mod processes;
pub(crate) mod sockets;
pub mod sysctl;
pub mod tcp_info;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use netlink_sys::protocols::{NETLINK_ROUTE, NETLINK_SOCK_DIAG};

use crate::sample::{CounterSections, Netns, Sample, SysctlValue, Unavailable};
use counters::Parsed;
use kmsg::KernelLog;
use netlink::DumpSocket;
use processes::ProcessIndex;
use sockets::Collected;

/// Where the kernel's files are. Live runs use [`ProcPaths::live`]; tests point the file
/// readers at a fixture tree with [`ProcPaths::under`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcPaths {
    /// The process directory (`/proc`).
    pub proc: PathBuf,
    /// The per-namespace network files (`/proc/thread-self/net`).
    pub net: PathBuf,
    /// The settings tree (`/proc/sys`).
    pub sys: PathBuf,
    /// The CPU directory of sysfs (`/sys/devices/system/cpu`).
    pub sys_cpu: PathBuf,
    /// The calling thread's network-namespace link (`/proc/thread-self/ns/net`).
    pub netns_link: PathBuf,
    /// The host's network-namespace link (`/proc/1/ns/net`).
    pub host_netns_link: PathBuf,
    /// The kernel log device (`/dev/kmsg`).
    pub kmsg: PathBuf,
}

impl ProcPaths {
    /// The live system, as seen by the calling thread (`/proc/thread-self`, Linux 3.17+, with
    /// a fallback on `/proc/self`).
    pub fn live() -> ProcPaths {
        let own = if Path::new("/proc/thread-self/net").exists() { "/proc/thread-self" } else { "/proc/self" };
        ProcPaths {
            proc: PathBuf::from("/proc"),
            net: PathBuf::from(own).join("net"),
            sys: PathBuf::from("/proc/sys"),
            sys_cpu: PathBuf::from("/sys/devices/system/cpu"),
            netns_link: PathBuf::from(own).join("ns/net"),
            host_netns_link: PathBuf::from("/proc/1/ns/net"),
            kmsg: PathBuf::from("/dev/kmsg"),
        }
    }

    /// A fixture tree laid out like the root file system (`<root>/proc/net/netstat`, ...).
    pub fn under(root: &Path) -> ProcPaths {
        ProcPaths {
            proc: root.join("proc"),
            net: root.join("proc/net"),
            sys: root.join("proc/sys"),
            sys_cpu: root.join("sys/devices/system/cpu"),
            netns_link: root.join("proc/self/ns/net"),
            host_netns_link: root.join("proc/1/ns/net"),
            kmsg: root.join("dev/kmsg"),
        }
    }
}

/// What to collect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectOptions {
    /// Attribute listeners and UDP sockets to processes (the `/proc/<pid>/fd` walk).
    pub processes: bool,
    /// Summarise established flows with `tcp_info` (asked for in the all-states dump).
    pub flows: bool,
    /// Keep every TCP socket with its tcp_info (the dashboard's Connections view); costs a struct per socket.
    pub connections: bool,
}

impl Default for CollectOptions {
    fn default() -> Self {
        CollectOptions { processes: true, flows: true, connections: false }
    }
}

/// Takes samples. Keeps its netlink sockets and the process cache between samples.
pub struct Collector {
    paths: ProcPaths,
    options: CollectOptions,
    sock_diag: Option<DumpSocket>,
    route: Option<DumpSocket>,
    processes: ProcessIndex,
    kernel_log: KernelLog,
}

impl Collector {
    /// A collector of the live system as seen by the calling thread.
    pub fn new(options: CollectOptions) -> Collector {
        Collector::with_paths(ProcPaths::live(), options)
    }

    /// A collector whose file readers use `paths`; netlink always asks the running kernel.
    pub fn with_paths(paths: ProcPaths, options: CollectOptions) -> Collector {
        let processes = ProcessIndex::new(&paths.proc);
        let kernel_log = KernelLog::new(paths.kmsg.clone());
        Collector { paths, options, sock_diag: None, route: None, processes, kernel_log }
    }

    /// The options, to change between samples (the dashboard switches `connections`).
    pub fn options_mut(&mut self) -> &mut CollectOptions {
        &mut self.options
    }

    /// Takes one sample. Never fails as a whole: every failing source is recorded in
    /// [`Sample::unavailable`].
    pub fn collect(&mut self) -> Sample {
        let mut sample = Sample { taken_at: jiff::Timestamp::now(), boottime_ns: boottime_ns(), ..Sample::default() };
        self.collect_identity(&mut sample);
        self.collect_sysctls(&mut sample);
        Self::fill_host_wide_settings(&mut sample);
        self.collect_sockets(&mut sample);
        self.collect_interfaces(&mut sample);
        self.collect_counters(&mut sample);
        self.collect_kernel_log(&mut sample);
        self.collect_processes(&mut sample);
        sample
    }

    /// Takes a sample of the file-based sources only (settings and counters), as read under
    /// this collector's [`ProcPaths`]. Used on fixture trees; sources without a file there are
    /// recorded as unavailable.
    pub fn collect_files(&mut self) -> Sample {
        let mut sample = Sample { taken_at: jiff::Timestamp::now(), boottime_ns: boottime_ns(), ..Sample::default() };
        self.collect_sysctls(&mut sample);
        self.collect_counters(&mut sample);
        sample
    }

    fn collect_identity(&mut self, sample: &mut Sample) {
        let started = Instant::now();
        match rustix::fs::stat(&self.paths.netns_link) {
            Ok(stat) => sample.netns = Some(Netns { inode: stat.st_ino, name: None }),
            Err(error) => unavailable(sample, "netns", error),
        }
        match host::read_host(&self.paths.sys_cpu) {
            Ok(host) => sample.host = Some(host),
            Err(reason) => unavailable(sample, "host", reason),
        }
        sample.host_netns = Some(netns::compare_with_host(&self.paths.netns_link, &self.paths.host_netns_link));
        record_time(sample, "host", started);
    }

    /// Inside a child namespace, host-wide settings are missing from `/proc/sys`; they are the
    /// values that apply, so they are taken from the host's namespace when it could be read.
    fn fill_host_wide_settings(sample: &mut Sample) {
        let (Some(netns::HostNamespace::Other { sysctls: host, .. }), Some(own)) =
            (&sample.host_netns, sample.sysctls.as_mut())
        else {
            return;
        };
        for name in netns::HOST_WIDE_SETTINGS {
            if let (false, Some(value)) = (own.contains_key(name), host.get(name)) {
                own.insert(name.to_string(), value.clone());
            }
        }
    }

    fn collect_kernel_log(&mut self, sample: &mut Sample) {
        let started = Instant::now();
        match self.kernel_log.read() {
            Ok(events) => sample.kernel_events = Some(events),
            Err(error) => unavailable(sample, "kernel_log", format!("{}: {error}", self.paths.kmsg.display())),
        }
        record_time(sample, "kernel_log", started);
    }

    fn collect_sysctls(&mut self, sample: &mut Sample) {
        let started = Instant::now();
        match sysctl::read_sysctls(&self.paths.sys) {
            Ok(read) => {
                for (name, reason) in read.errors {
                    unavailable(sample, &format!("sysctl:{name}"), reason);
                }
                sample.sysctls = Some(read.values);
            }
            Err(error) => unavailable(sample, "sysctl", error),
        }
        record_time(sample, "sysctl", started);
    }

    fn collect_sockets(&mut self, sample: &mut Sample) {
        let socket = match open_socket(&mut self.sock_diag, NETLINK_SOCK_DIAG) {
            Ok(socket) => socket,
            Err(error) => {
                let reason = format!("sock_diag netlink socket: {error}");
                for source in ["tcp_listeners", "tcp_states", "udp", "unix_listeners"] {
                    unavailable(sample, source, &reason);
                }
                return;
            }
        };
        let started = Instant::now();
        sample.tcp_listeners = take(sample, "tcp_listeners", sockets::tcp_listeners(socket));
        record_time(sample, "tcp_listeners", started);

        let started = Instant::now();
        let listen_ports: HashSet<u16> =
            sample.tcp_listeners.iter().flatten().map(|listener| listener.local_port).collect();
        let range = port_range(sample.sysctl("net.ipv4.ip_local_port_range"));
        let extras = sockets::Extras { flows: self.options.flows, connections: self.options.connections };
        let summary = take(sample, "tcp_states", sockets::tcp_summary(socket, range, &listen_ports, extras));
        if let Some((summary, flows, connections)) = summary {
            sample.tcp_summary = Some(summary);
            sample.flows = flows;
            sample.connections = connections;
        }
        if !self.options.flows {
            sample.skipped.push("flows".to_string());
        }
        record_time(sample, "tcp_states", started);

        let started = Instant::now();
        sample.udp_sockets = take(sample, "udp", sockets::udp_sockets(socket));
        record_time(sample, "udp", started);

        let started = Instant::now();
        sample.unix_listeners = take(sample, "unix_listeners", sockets::unix_listeners(socket));
        record_time(sample, "unix_listeners", started);
    }

    fn collect_interfaces(&mut self, sample: &mut Sample) {
        let started = Instant::now();
        let result = open_socket(&mut self.route, NETLINK_ROUTE)
            .map_err(|error| format!("rtnetlink socket: {error}"))
            .and_then(|socket| links::interfaces(socket).map_err(|error| error.to_string()));
        match result {
            Ok((interfaces, stats)) => {
                sample.diagnostics.malformed_messages += stats.malformed;
                sample.interfaces = Some(interfaces);
            }
            Err(reason) => unavailable(sample, "interfaces", reason),
        }
        record_time(sample, "interfaces", started);
    }

    fn collect_counters(&mut self, sample: &mut Sample) {
        let started = Instant::now();
        let net = self.paths.net.clone();
        sample.netstat = read_parsed(sample, &net, "netstat", counters::parse_header_value_pairs);
        sample.snmp = read_parsed(sample, &net, "snmp", counters::parse_header_value_pairs);
        sample.snmp6 = read_parsed(sample, &net, "snmp6", counters::parse_snmp6);
        sample.sockstat = read_sockstat(sample, &net);
        sample.softnet = read_parsed(sample, &net, "softnet_stat", counters::parse_softnet);
        sample.conntrack = read_conntrack_stat(sample, &net);
        record_time(sample, "counters", started);
    }

    fn collect_processes(&mut self, sample: &mut Sample) {
        if !self.options.processes {
            sample.skipped.push("processes".to_string());
            return;
        }
        let started = Instant::now();
        let wanted = wanted_inodes(sample);
        match self.processes.attribute(&wanted) {
            Ok(table) => sample.processes = Some(table),
            Err(error) => unavailable(sample, "processes", error),
        }
        record_time(sample, "processes", started);
    }
}

/// The inodes whose owners sockscope shows: TCP and UNIX listeners, UDP sockets, sockets in
/// CLOSE_WAIT (a leak is named by its process), and every socket while the Connections view is
/// open.
fn wanted_inodes(sample: &Sample) -> Vec<u64> {
    let tcp = sample.tcp_listeners.iter().flatten().map(|listener| listener.inode);
    let unix = sample.unix_listeners.iter().flatten().map(|listener| listener.inode);
    let udp = sample.udp_sockets.iter().flatten().map(|socket| socket.inode);
    let close_wait = sample.tcp_summary.iter().flat_map(|summary| summary.close_wait.iter().map(|socket| socket.inode));
    let connections = sample.connections.iter().flatten().map(|connection| connection.inode);
    let mut inodes: Vec<u64> =
        tcp.chain(unix).chain(udp).chain(close_wait).chain(connections).filter(|inode| *inode != 0).collect();
    inodes.sort_unstable();
    inodes.dedup();
    inodes
}

/// The ephemeral port range from the setting, when it is a valid pair of ports.
pub fn port_range(value: Option<&SysctlValue>) -> Option<(u16, u16)> {
    let values = value?.as_integers()?;
    let (low, high) = (u16::try_from(*values.first()?).ok()?, u16::try_from(*values.get(1)?).ok()?);
    (low <= high).then_some((low, high))
}

fn open_socket(slot: &mut Option<DumpSocket>, protocol: isize) -> std::io::Result<&mut DumpSocket> {
    if slot.is_none() {
        *slot = Some(DumpSocket::open(protocol)?);
    }
    slot.as_mut().ok_or_else(|| std::io::Error::other("netlink socket missing"))
}

/// Moves a socket collector's result into the sample, recording failures and malformed
/// messages.
fn take<T>(sample: &mut Sample, source: &str, collected: Collected<T>) -> Option<T> {
    sample.diagnostics.malformed_messages += collected.malformed;
    if !collected.failures.is_empty() {
        unavailable(sample, source, collected.failures.join("; "));
    }
    collected.data
}

/// Reads and parses one file of the network directory.
fn read_parsed<T>(sample: &mut Sample, net: &Path, file: &str, parse: fn(&str) -> Parsed<T>) -> Option<T> {
    match std::fs::read_to_string(net.join(file)) {
        Ok(text) => {
            let parsed = parse(&text);
            sample.diagnostics.skipped_fields += parsed.skipped;
            Some(parsed.value)
        }
        Err(error) => {
            unavailable(sample, file, error);
            None
        }
    }
}

/// `stat/nf_conntrack`; its absence only means connection tracking is not loaded.
fn read_conntrack_stat(sample: &mut Sample, net: &Path) -> Option<std::collections::BTreeMap<String, u64>> {
    match std::fs::read_to_string(net.join("stat/nf_conntrack")) {
        Ok(text) => {
            let parsed = counters::parse_conntrack_stat(&text);
            sample.diagnostics.skipped_fields += parsed.skipped;
            Some(parsed.value)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            unavailable(sample, "nf_conntrack", error);
            None
        }
    }
}

/// `sockstat` and `sockstat6` together: their labels (`TCP`, `TCP6`, ...) do not collide.
fn read_sockstat(sample: &mut Sample, net: &Path) -> Option<CounterSections> {
    let mut merged = read_parsed(sample, net, "sockstat", counters::parse_sockstat)?;
    if let Some(six) = read_parsed(sample, net, "sockstat6", counters::parse_sockstat) {
        merged.extend(six);
    }
    Some(merged)
}

fn unavailable(sample: &mut Sample, source: &str, reason: impl ToString) {
    sample.unavailable.push(Unavailable { source: source.to_string(), reason: reason.to_string() });
}

fn record_time(sample: &mut Sample, source: &str, started: Instant) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    sample.diagnostics.source_micros.insert(source.to_string(), micros);
}

/// `CLOCK_BOOTTIME` in nanoseconds.
pub fn boottime_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}
