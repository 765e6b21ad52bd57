//! The `Sample`: everything sockscope read from the kernel at one moment, as plain data.
//!
//! A sample holds raw facts only — queue lengths, counters, settings — never a number computed
//! from two readings. Rates, fill ratios and attributions are derived by [`crate::model`] from one
//! sample or from two. Live runs, replays of recordings and one-shot reports all feed samples of
//! this one type into the same pipeline. These types depend on nothing that reads the kernel, so a
//! recording can be read without the collectors.
//!
//! Each source can be missing on its own: its field is `None` and [`Sample::unavailable`] says
//! why. A source that was deliberately not read (for example processes with `--no-processes`)
//! is listed in [`Sample::skipped`] instead, and [`Sample::plan`] says what was asked for.

pub mod container;
pub mod counters;
pub mod events;
pub mod flows;
pub mod interfaces;
pub mod listen_events;
pub mod pacing;
pub mod processes;
pub mod settings;
pub mod sockets;
pub mod tcp_info;
pub mod tcp_state;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use container::ContainerHint;
pub use counters::{CounterId, CounterSections, SoftnetRow};
pub use events::{KernelEvent, KernelEventKind};
pub use flows::{Flow, FlowSummary};
pub use interfaces::{Interface, InterfaceStats, Peer};
pub use listen_events::{ListenEvents, ListenerEvents};
pub use pacing::{Budget, Pacing, WalkStamp};
pub use processes::{CgroupStats, CpuMax, CpuStat, Pressure, PressureLine, ProcessRef, ProcessStatus, ProcessTable};
pub use settings::{HostLink, HostNamespace, SysctlValue, Sysctls};
pub use sockets::{Family, SocketMemory, TcpListener, UdpSocket, UnixListener};
pub use tcp_info::TcpInfo;
pub use tcp_state::{
    CloseWaitSocket, Connection, DestinationPorts, EphemeralPorts, SocketTimer, SynRecvGroup, TCP_STATES, TcpState,
    TcpStateCounts, TcpSummary, TimerKind,
};

/// The layout version of samples this build writes. Version 1 had no `version`, `plan` or
/// `diagnostics.interrupted_dumps`; version 2 had no listener owners' status, pollers and
/// cgroups in `processes`; version 3 had no `listen_events`. They read with their defaults.
pub const SAMPLE_VERSION: u32 = 4;

/// What a collector is asked to read beyond the always-read sources. Recorded in every sample,
/// so a replay knows what is absent by choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectPlan {
    /// Attribute sockets to processes (the `/proc/<pid>/fd` walk).
    pub processes: bool,
    /// Summarise established flows with `tcp_info` (asked for in the all-states dump).
    pub flows: bool,
    /// Keep every TCP socket with its `tcp_info` (the dashboard's Connections view); costs a
    /// struct per socket. A budgeted collector walks every sample while it is on.
    pub connections: bool,
    /// Walk every TCP socket for the state counts, SYN_RECV groups, ports and flows; off for a
    /// listeners-only reading (`report --listeners`).
    #[serde(default = "walk_by_default")]
    pub states: bool,
    /// The collector's CPU budget: the walk runs only as often as it allows (see
    /// `collect::budget`); `None` walks every sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

fn walk_by_default() -> bool {
    true
}

impl Default for CollectPlan {
    fn default() -> Self {
        CollectPlan { processes: true, flows: true, connections: false, states: true, budget: None }
    }
}

/// One reading of the kernel's network state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Sample {
    /// The layout version of this sample ([`SAMPLE_VERSION`] when taken by this build); samples
    /// of the first release, which had no version, read as 1.
    #[serde(default = "first_version")]
    pub version: u32,
    /// What the collector was asked to read.
    #[serde(default)]
    pub plan: CollectPlan,
    /// Wall-clock time at which collection started.
    pub taken_at: jiff::Timestamp,
    /// `CLOCK_BOOTTIME` in nanoseconds when collection started; intervals between samples are
    /// measured with it, so wall-clock jumps never distort a rate.
    pub boottime_ns: u64,
    /// The network namespace the sample was read in.
    pub netns: Option<Netns>,
    /// Host identity and uptime.
    pub host: Option<Host>,
    /// Kernel settings under `/proc/sys/net`, by dotted name.
    pub sysctls: Option<Sysctls>,
    /// Network interfaces from rtnetlink.
    pub interfaces: Option<Vec<Interface>>,
    /// TCP sockets in LISTEN state (IPv4 and IPv6).
    pub tcp_listeners: Option<Vec<TcpListener>>,
    /// UNIX stream and seqpacket sockets in LISTEN state.
    pub unix_listeners: Option<Vec<UnixListener>>,
    /// Counts over every TCP socket: states, half-open requests, ephemeral-port use.
    pub tcp_summary: Option<TcpSummary>,
    /// UDP sockets (IPv4 and IPv6).
    pub udp_sockets: Option<Vec<UdpSocket>>,
    /// `/proc/net/netstat` (TcpExt, IpExt, ...), by section and field name.
    pub netstat: Option<CounterSections>,
    /// `/proc/net/snmp` (Ip, Icmp, IcmpMsg, Tcp, Udp, UdpLite), by section and field name.
    pub snmp: Option<CounterSections>,
    /// `/proc/net/snmp6`, split into sections by name prefix (Ip6, Icmp6, Udp6, UdpLite6).
    pub snmp6: Option<CounterSections>,
    /// `/proc/net/sockstat` and `/proc/net/sockstat6`, by line label (`TCP`, `UDP6`, ...).
    pub sockstat: Option<CounterSections>,
    /// `/proc/net/softnet_stat`, one row per online CPU.
    pub softnet: Option<Vec<SoftnetRow>>,
    /// Owners of the sockets sockscope attributes (listeners by default), by socket inode.
    pub processes: Option<ProcessTable>,
    /// `/proc/net/stat/nf_conntrack` summed over CPUs; absent when connection tracking is not
    /// loaded.
    #[serde(default)]
    pub conntrack: Option<BTreeMap<String, u64>>,
    /// Kernel log lines that report a networking limit being hit (`/dev/kmsg`).
    #[serde(default)]
    pub kernel_events: Option<Vec<KernelEvent>>,
    /// Established TCP flows, summarised (busiest and retransmitting).
    #[serde(default)]
    pub flows: Option<FlowSummary>,
    /// How this namespace relates to the host's, with the host's settings when they differ.
    #[serde(default)]
    pub host_netns: Option<HostNamespace>,
    /// What the host-wide listen-event source (eBPF) saw at this namespace's listeners; absent
    /// when the source is unavailable ([`Sample::unavailable`] says why) or was not started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_events: Option<ListenEvents>,
    /// When the walk behind `tcp_summary`, `flows` and `connections` was taken, when it is an
    /// earlier sample's (a budgeted collector walks less often than it samples); absent when
    /// this sample walked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub walked: Option<WalkStamp>,
    /// Every TCP socket, kept only when the Connections view asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<Connection>>,
    /// Names from `/etc/services` of the TCP listening ports inside the local port range: the
    /// sign that such a port is a service's fixed one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub service_ports: BTreeMap<u16, String>,
    /// Sources that failed, in full or in part, with the reason.
    pub unavailable: Vec<Unavailable>,
    /// Sources that were not read on purpose (for example `processes` with `--no-processes`).
    pub skipped: Vec<Source>,
    /// How the collection itself went: time per source, malformed netlink messages.
    pub diagnostics: Diagnostics,
}

impl Sample {
    /// An empty sample stamped with the current version, the plan and the clocks of `now`.
    pub fn new(plan: CollectPlan, taken_at: jiff::Timestamp, boottime_ns: u64) -> Sample {
        Sample { version: SAMPLE_VERSION, plan, taken_at, boottime_ns, ..Sample::default() }
    }

    /// The reason a source could not be read, if it failed.
    pub fn unavailable_reason(&self, source: &Source) -> Option<&str> {
        self.unavailable.iter().find(|u| &u.source == source).map(|u| u.reason.as_str())
    }

    /// Records that a source could not be read.
    pub fn mark_unavailable(&mut self, source: Source, reason: impl ToString) {
        self.unavailable.push(Unavailable { source, reason: reason.to_string() });
    }

    /// A sysctl's value, by dotted name (`net.core.somaxconn`).
    pub fn sysctl(&self, name: &str) -> Option<&SysctlValue> {
        self.sysctls.as_ref()?.get(name)
    }

    /// Any counter of netstat, snmp or snmp6 by section and field as the file spells them.
    pub fn counter_at(&self, section: &str, field: &str) -> Option<i64> {
        [&self.netstat, &self.snmp, &self.snmp6]
            .into_iter()
            .flatten()
            .find_map(|sections| sections.get(section)?.get(field).copied())
    }
}

fn first_version() -> u32 {
    1
}

/// A source that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unavailable {
    /// The source.
    pub source: Source,
    /// One line saying why, e.g. "permission denied" or "IPv6: protocol not supported".
    pub reason: String,
}

/// Where a part of the sample comes from: what [`Sample::unavailable`] and [`Sample::skipped`]
/// name. Serialised as the stable names of the JSON report (`tcp_listeners`, `sysctl:NAME`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Host identity (`host`).
    Host,
    /// The namespace's identity (`netns`).
    Netns,
    /// The `/proc/sys` tree as a whole (`sysctl`).
    Sysctls,
    /// One setting that exists but could not be read (`sysctl:NAME`).
    Sysctl(String),
    /// The LISTEN dump (`tcp_listeners`).
    TcpListeners,
    /// The all-states TCP dump (`tcp_states`).
    TcpStates,
    /// Established-flow summaries (`flows`).
    Flows,
    /// The UDP dump (`udp`).
    Udp,
    /// The UNIX LISTEN dump (`unix_listeners`).
    UnixListeners,
    /// rtnetlink links (`interfaces`).
    Interfaces,
    /// `/proc/net/netstat` (`netstat`).
    Netstat,
    /// `/proc/net/snmp` (`snmp`).
    Snmp,
    /// `/proc/net/snmp6` (`snmp6`).
    Snmp6,
    /// `/proc/net/sockstat` (`sockstat`).
    Sockstat,
    /// `/proc/net/sockstat6` (`sockstat6`).
    Sockstat6,
    /// `/proc/net/softnet_stat` (`softnet_stat`).
    Softnet,
    /// `/proc/net/stat/nf_conntrack` (`nf_conntrack`).
    Conntrack,
    /// The `/proc/<pid>/fd` walk (`processes`).
    Processes,
    /// `/dev/kmsg` (`kernel_log`).
    KernelLog,
    /// The eBPF listen-event source (`listen_events`).
    ListenEvents,
    /// The counter files as a group, for timings (`counters`).
    Counters,
    /// A name this build does not know (from a newer recording).
    Other(String),
}

impl Source {
    /// The stable name, as the JSON report and `diagnostics.source_micros` spell it.
    pub fn name(&self) -> std::borrow::Cow<'static, str> {
        use std::borrow::Cow;
        Cow::Borrowed(match self {
            Source::Host => "host",
            Source::Netns => "netns",
            Source::Sysctls => "sysctl",
            Source::Sysctl(name) => return Cow::Owned(format!("sysctl:{name}")),
            Source::TcpListeners => "tcp_listeners",
            Source::TcpStates => "tcp_states",
            Source::Flows => "flows",
            Source::Udp => "udp",
            Source::UnixListeners => "unix_listeners",
            Source::Interfaces => "interfaces",
            Source::Netstat => "netstat",
            Source::Snmp => "snmp",
            Source::Snmp6 => "snmp6",
            Source::Sockstat => "sockstat",
            Source::Sockstat6 => "sockstat6",
            Source::Softnet => "softnet_stat",
            Source::Conntrack => "nf_conntrack",
            Source::Processes => "processes",
            Source::KernelLog => "kernel_log",
            Source::ListenEvents => "listen_events",
            Source::Counters => "counters",
            Source::Other(name) => return Cow::Owned(name.clone()),
        })
    }

    /// The source of a stable name; unknown names are kept as [`Source::Other`].
    pub fn from_name(name: &str) -> Source {
        const FIXED: [Source; 20] = [
            Source::Host,
            Source::Netns,
            Source::Sysctls,
            Source::TcpListeners,
            Source::TcpStates,
            Source::Flows,
            Source::Udp,
            Source::UnixListeners,
            Source::Interfaces,
            Source::Netstat,
            Source::Snmp,
            Source::Snmp6,
            Source::Sockstat,
            Source::Sockstat6,
            Source::Softnet,
            Source::Conntrack,
            Source::Processes,
            Source::KernelLog,
            Source::ListenEvents,
            Source::Counters,
        ];
        if let Some(setting) = name.strip_prefix("sysctl:") {
            return Source::Sysctl(setting.to_string());
        }
        FIXED.into_iter().find(|source| source.name() == name).unwrap_or_else(|| Source::Other(name.to_string()))
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Source, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Source::from_name(&name))
    }
}

/// Identity of a network namespace, and who lives in it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Netns {
    /// Inode of the namespace file (`/proc/thread-self/ns/net`), as `lsns` shows it.
    pub inode: u64,
    /// Name under `/run/netns` (as `ip netns identify` finds it), when it has one; kept as
    /// [`crate::format::name_from_bytes`] keeps names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A few processes whose network namespace this is (the lowest pids), when they were
    /// looked for (another namespace than sockscope's own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pids: Vec<u32>,
    /// The distinct commands of all processes found in it, sorted (a few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<String>,
    /// The container those processes run in, as their cgroup tells it; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerHint>,
}

impl Netns {
    /// A namespace known by its inode only.
    pub fn with_inode(inode: u64) -> Netns {
        Netns { inode, ..Netns::default() }
    }
}

/// Host identity, from the UTS namespace and `/proc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Host name (`uname -n`).
    pub hostname: String,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// Seconds since boot.
    pub uptime_seconds: u64,
    /// Number of online CPUs.
    pub cpus: u32,
    /// Load average over 1, 5 and 15 minutes.
    pub load_average: [f64; 3],
}

/// How the collection went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Netlink messages that could not be decoded and were skipped.
    pub malformed_messages: u64,
    /// Lines or fields of `/proc` files that could not be parsed and were skipped.
    pub skipped_fields: u64,
    /// Netlink dumps the kernel marked inconsistent (`NLM_F_DUMP_INTR`: the table changed while
    /// it was walked, so a socket may be missing or counted twice).
    #[serde(default)]
    pub interrupted_dumps: u64,
    /// Microseconds spent on each source, by source name.
    pub source_micros: BTreeMap<String, u64>,
    /// How a budgeted collector paces its socket walk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_keep_the_names_of_the_json_contract() {
        for name in ["tcp_listeners", "tcp_states", "softnet_stat", "nf_conntrack", "sysctl", "kernel_log"] {
            assert_eq!(Source::from_name(name).name(), name);
            assert!(!matches!(Source::from_name(name), Source::Other(_)), "{name}");
        }
        assert_eq!(Source::from_name("sysctl:net.core.somaxconn"), Source::Sysctl("net.core.somaxconn".into()));
        assert_eq!(Source::Sysctl("net.core.somaxconn".into()).name(), "sysctl:net.core.somaxconn");
        assert_eq!(Source::from_name("from-the-future"), Source::Other("from-the-future".into()));
        let json = serde_json::to_string(&Unavailable { source: Source::Snmp6, reason: "x".into() }).ok();
        assert_eq!(json.as_deref(), Some(r#"{"source":"snmp6","reason":"x"}"#));
    }

    #[test]
    fn a_first_release_sample_reads_as_version_1() {
        let old: Sample = serde_json::from_str(
            r#"{"taken_at":"2026-11-25T10:00:00Z","boottime_ns":1,"netns":null,
            "host":null,"sysctls":null,"interfaces":null,"tcp_listeners":null,"unix_listeners":null,
            "tcp_summary":null,"udp_sockets":null,"netstat":null,"snmp":null,"snmp6":null,"sockstat":null,
            "softnet":null,"processes":null,"unavailable":[],"skipped":["processes"],
            "diagnostics":{"malformed_messages":0,"skipped_fields":0,"source_micros":{}}}"#,
        )
        .expect("a version-1 sample");
        assert_eq!(old.version, 1);
        assert_eq!(old.skipped, vec![Source::Processes]);
        assert_eq!(Sample::new(CollectPlan::default(), old.taken_at, 1).version, SAMPLE_VERSION);
    }
}
