//! The model: everything sockscope shows, derived from one sample or from two.
//!
//! [`View::new`] is a pure function of the current sample and, when there is one, the previous
//! sample: with two samples every counter also gets a delta and a per-second rate over the
//! interval between them (measured on `CLOCK_BOOTTIME`). Live, replayed and one-shot runs all go
//! through it. Renderers read the view (and, through [`View::sample`], the raw facts); they
//! never compute domain numbers themselves.

pub mod history;
pub mod listeners;
pub mod ports;
pub mod rates;

use std::collections::BTreeMap;

use crate::sample::{
    CounterSections, Interface, InterfaceStats, ProcessRef, Sample, SynRecvGroup, SysctlValue, TcpStateCounts,
    UdpSocket,
};
use crate::settings::{SETTINGS, Setting};
pub use listeners::{ListenerView, Protocol};
pub use ports::{DestinationView, PortsView};

/// Counter rates by section and field; `None` where a counter was reset.
pub type RateSections = BTreeMap<String, BTreeMap<String, Option<f64>>>;

/// Counter increases by section and field; `None` where a counter was reset.
pub type DeltaSections = BTreeMap<String, BTreeMap<String, Option<i64>>>;

/// The derived view of one sample (and the previous one, for rates).
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// The sample the view describes.
    pub sample: &'a Sample,
    /// Seconds between the previous sample and this one; `None` for a single sample.
    pub interval: Option<f64>,
    /// TCP and UNIX listeners, fullest accept queue first.
    pub listeners: Vec<ListenerView>,
    /// SYN_RECV requests that match no listener (listener closed, or another namespace).
    pub unattributed_syn_recv: Vec<SynRecvGroup>,
    /// TCP socket counts per state.
    pub tcp_states: Option<TcpStateCounts>,
    /// Ephemeral-port use.
    pub ports: Option<PortsView>,
    /// Interfaces with their drop and error rates.
    pub interfaces: Vec<InterfaceView<'a>>,
    /// The listen-overflow counters, with meaning, total and rate.
    pub overflow: Vec<CounterView>,
    /// All counters of netstat, snmp and snmp6, merged by section.
    pub counters: CounterSections,
    /// Per-second rates of `counters` (two samples only).
    pub rates: Option<RateSections>,
    /// Increases of `counters` since the previous sample (two samples only).
    pub deltas: Option<DeltaSections>,
    /// Per-CPU softnet numbers.
    pub softnet: Vec<SoftnetView>,
    /// UDP sockets with owners and drop rates.
    pub udp: Vec<UdpView<'a>>,
    /// CLOSE_WAIT sockets grouped by owning process, most first.
    pub close_wait: Vec<CloseWaitGroup>,
    /// CLOSE_WAIT children still in an accept queue (inode 0 on a listening port): the client
    /// gave up before the application accepted them. Not a leak.
    pub close_wait_queued: u64,
    /// CLOSE_WAIT sockets whose owner is unknown (not looked up, or not readable).
    pub close_wait_unowned: u64,
    /// The kernel settings present in the sample, in catalogue order.
    pub settings: Vec<SettingView<'a>>,
}

impl<'a> View<'a> {
    /// Derives the view of `current`, with rates over the interval since `previous`.
    pub fn new(current: &'a Sample, previous: Option<&'a Sample>) -> View<'a> {
        let interval = previous.and_then(|previous| interval_seconds(previous, current));
        let previous = previous.filter(|_| interval.is_some());
        let (listeners, unattributed_syn_recv) = listeners::listeners(current, previous, interval);
        let close_wait = close_wait(current);
        let counters = merged_counters(current);
        let previous_counters = previous.map(merged_counters);
        let rates = previous_counters
            .as_ref()
            .zip(interval)
            .map(|(previous, seconds)| rates::counter_rates(previous, &counters, seconds));
        let deltas = previous_counters.as_ref().map(|previous| rates::counter_deltas(previous, &counters));
        View {
            sample: current,
            interval,
            listeners,
            unattributed_syn_recv,
            tcp_states: current.tcp_summary.as_ref().map(|summary| summary.states),
            ports: ports::ports(current),
            interfaces: interfaces(current, previous, interval),
            overflow: overflow_counters(&counters, previous_counters.as_ref(), interval),
            counters,
            rates,
            deltas,
            softnet: softnet(current, previous, interval),
            udp: udp(current, previous, interval),
            close_wait: close_wait.groups,
            close_wait_queued: close_wait.queued,
            close_wait_unowned: close_wait.unowned,
            settings: settings(current),
        }
    }

    /// A merged counter (`TcpExt`, `ListenDrops`).
    pub fn counter(&self, section: &str, field: &str) -> Option<i64> {
        self.counters.get(section)?.get(field).copied()
    }

    /// A counter's per-second rate, when two samples exist and it was not reset.
    pub fn rate(&self, section: &str, field: &str) -> Option<f64> {
        *self.rates.as_ref()?.get(section)?.get(field)?
    }

    /// A counter's increase since the previous sample, when two samples exist and it was not
    /// reset.
    pub fn delta(&self, section: &str, field: &str) -> Option<i64> {
        *self.deltas.as_ref()?.get(section)?.get(field)?
    }

    /// A setting's value as one integer.
    pub fn sysctl(&self, name: &str) -> Option<i64> {
        self.sample.sysctl(name)?.as_integer()
    }
}

/// Seconds between two samples on the boot clock; `None` unless strictly positive.
pub fn interval_seconds(previous: &Sample, current: &Sample) -> Option<f64> {
    let nanos = current.boottime_ns.checked_sub(previous.boottime_ns)?;
    (nanos > 0).then(|| nanos as f64 / 1e9)
}

/// netstat, snmp and snmp6 in one section map (their section names do not collide), plus the
/// connection-tracking statistics as section `nf_conntrack` when present.
fn merged_counters(sample: &Sample) -> CounterSections {
    let mut merged = CounterSections::new();
    for sections in [&sample.netstat, &sample.snmp, &sample.snmp6].into_iter().flatten() {
        for (section, fields) in sections {
            merged.entry(section.clone()).or_default().extend(fields.iter().map(|(k, v)| (k.clone(), *v)));
        }
    }
    if let Some(conntrack) = &sample.conntrack {
        let fields = conntrack.iter().filter_map(|(name, value)| Some((name.clone(), i64::try_from(*value).ok()?)));
        merged.entry("nf_conntrack".to_string()).or_default().extend(fields);
    }
    merged
}

/// One counter with its meaning, total since boot (or namespace creation), delta and rate.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterView {
    /// Section (`TcpExt`).
    pub section: &'static str,
    /// Field (`ListenOverflows`).
    pub name: &'static str,
    /// What the counter counts, in a sysadmin's words.
    pub meaning: &'static str,
    /// Value now.
    pub total: Option<i64>,
    /// Increase since the previous sample.
    pub delta: Option<i64>,
    /// Increase per second since the previous sample.
    pub rate: Option<f64>,
}

/// The counters that tell whether and why listen queues overflow.
pub const OVERFLOW_COUNTERS: [(&str, &str, &str); 8] = [
    ("TcpExt", "ListenOverflows", "SYNs or final ACKs dropped because an accept queue was full"),
    ("TcpExt", "ListenDrops", "every packet a listener dropped, overflows included"),
    ("TcpExt", "TCPReqQFullDrop", "SYNs dropped: SYN queue full and syncookies off"),
    ("TcpExt", "TCPReqQFullDoCookies", "SYN queue full: answered with a syncookie instead"),
    ("TcpExt", "SyncookiesSent", "SYN-ACKs sent with a syncookie"),
    ("TcpExt", "SyncookiesRecv", "valid syncookies received back (real clients)"),
    ("TcpExt", "SyncookiesFailed", "invalid syncookies received (spoofing or stale)"),
    ("TcpExt", "TCPBacklogDrop", "receive-backlog drops of busy established sockets (not the listen backlog)"),
];

fn overflow_counters(
    current: &CounterSections,
    previous: Option<&CounterSections>,
    interval: Option<f64>,
) -> Vec<CounterView> {
    let get = |sections: &CounterSections, section: &str, name: &str| sections.get(section)?.get(name).copied();
    OVERFLOW_COUNTERS
        .iter()
        .map(|(section, name, meaning)| {
            let total = get(current, section, name);
            let before = previous.and_then(|previous| get(previous, section, name));
            CounterView {
                section,
                name,
                meaning,
                total,
                delta: rates::delta(before, total),
                rate: rates::rate(before, total, interval),
            }
        })
        .collect()
}

/// An interface with the name of its master and its rates.
#[derive(Debug, Clone, PartialEq)]
pub struct InterfaceView<'a> {
    /// The interface as collected.
    pub interface: &'a Interface,
    /// Name of the master device (bridge, bond), if enslaved.
    pub master_name: Option<String>,
    /// Name of the lower device (a VLAN's parent), if any and in this namespace.
    pub link_name: Option<String>,
    /// Per-second rates of the counters (two samples only).
    pub rates: Option<InterfaceRates>,
}

/// Per-second interface rates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct InterfaceRates {
    /// Packets received per second.
    pub rx_packets: Option<f64>,
    /// Packets sent per second.
    pub tx_packets: Option<f64>,
    /// Received packets dropped per second.
    pub rx_dropped: Option<f64>,
    /// Transmit drops per second.
    pub tx_dropped: Option<f64>,
    /// Receive errors per second.
    pub rx_errors: Option<f64>,
    /// Transmit errors per second.
    pub tx_errors: Option<f64>,
    /// Packets missed by the NIC (ring full) per second.
    pub rx_missed: Option<f64>,
    /// Receive FIFO overruns per second.
    pub rx_fifo: Option<f64>,
}

fn interfaces<'a>(current: &'a Sample, previous: Option<&Sample>, interval: Option<f64>) -> Vec<InterfaceView<'a>> {
    let list = current.interfaces.as_deref().unwrap_or_default();
    let name_of =
        |index: Option<u32>| index.and_then(|index| list.iter().find(|i| i.index == index)).map(|i| i.name.clone());
    list.iter()
        .map(|interface| {
            let before = previous
                .and_then(|sample| sample.interfaces.as_ref())
                .and_then(|old| old.iter().find(|o| o.index == interface.index && o.name == interface.name))
                .and_then(|old| old.stats);
            InterfaceView {
                interface,
                master_name: name_of(interface.master),
                link_name: name_of(interface.link),
                rates: before.zip(interface.stats).map(|(old, new)| interface_rates(&old, &new, interval)),
            }
        })
        .collect()
}

fn interface_rates(old: &InterfaceStats, new: &InterfaceStats, interval: Option<f64>) -> InterfaceRates {
    let per_second =
        |before: u64, after: u64| rates::rate(i64::try_from(before).ok(), i64::try_from(after).ok(), interval);
    InterfaceRates {
        rx_packets: per_second(old.rx_packets, new.rx_packets),
        tx_packets: per_second(old.tx_packets, new.tx_packets),
        rx_dropped: per_second(old.rx_dropped, new.rx_dropped),
        tx_dropped: per_second(old.tx_dropped, new.tx_dropped),
        rx_errors: per_second(old.rx_errors, new.rx_errors),
        tx_errors: per_second(old.tx_errors, new.tx_errors),
        rx_missed: per_second(old.rx_missed_errors, new.rx_missed_errors),
        rx_fifo: per_second(old.rx_fifo_errors, new.rx_fifo_errors),
    }
}

/// One CPU's softnet numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftnetView {
    /// CPU number.
    pub cpu: u32,
    /// Packets processed (total).
    pub processed: Option<u32>,
    /// Packets dropped because the input backlog was full (total).
    pub dropped: Option<u32>,
    /// Budget or time squeezes (total).
    pub time_squeeze: Option<u32>,
    /// Input backlog length now (5.10+).
    pub backlog_len: Option<u32>,
    /// Processed per second.
    pub processed_rate: Option<f64>,
    /// Dropped per second.
    pub dropped_rate: Option<f64>,
    /// Squeezes per second.
    pub squeezed_rate: Option<f64>,
}

fn softnet(current: &Sample, previous: Option<&Sample>, interval: Option<f64>) -> Vec<SoftnetView> {
    current
        .softnet
        .iter()
        .flatten()
        .map(|row| {
            let old = previous.and_then(|s| s.softnet.as_ref()).and_then(|rows| rows.iter().find(|o| o.cpu == row.cpu));
            let per_second = |pick: fn(&crate::sample::SoftnetRow) -> Option<u32>| {
                rates::rate(old.and_then(pick).map(i64::from), pick(row).map(i64::from), interval)
            };
            SoftnetView {
                cpu: row.cpu,
                processed: row.processed(),
                dropped: row.dropped(),
                time_squeeze: row.time_squeeze(),
                backlog_len: row.backlog_len(),
                processed_rate: per_second(|r| r.processed()),
                dropped_rate: per_second(|r| r.dropped()),
                squeezed_rate: per_second(|r| r.time_squeeze()),
            }
        })
        .collect()
}

/// A UDP socket with its owners and drop rate.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpView<'a> {
    /// The socket as collected.
    pub socket: &'a UdpSocket,
    /// Processes holding it.
    pub processes: Vec<ProcessRef>,
    /// Drops per second since the previous sample (same socket, by cookie).
    pub drops_per_second: Option<f64>,
}

fn udp<'a>(current: &'a Sample, previous: Option<&Sample>, interval: Option<f64>) -> Vec<UdpView<'a>> {
    current
        .udp_sockets
        .iter()
        .flatten()
        .map(|socket| {
            let old = previous
                .and_then(|s| s.udp_sockets.as_ref())
                .and_then(|list| list.iter().find(|o| o.cookie == socket.cookie));
            UdpView {
                socket,
                processes: listeners::owners(current, socket.inode),
                drops_per_second: rates::rate(
                    old.and_then(|o| o.drops).map(i64::from),
                    socket.drops.map(i64::from),
                    interval,
                ),
            }
        })
        .collect()
}

/// CLOSE_WAIT sockets held by one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseWaitGroup {
    /// The process.
    pub process: ProcessRef,
    /// How many CLOSE_WAIT sockets it holds.
    pub sockets: u64,
    /// Their socket cookies (to follow them over time).
    pub cookies: Vec<u64>,
    /// The process's soft open-files limit, when readable.
    pub open_files_limit: Option<u64>,
}

struct CloseWaitSplit {
    groups: Vec<CloseWaitGroup>,
    queued: u64,
    unowned: u64,
}

fn close_wait(sample: &Sample) -> CloseWaitSplit {
    let mut split = CloseWaitSplit { groups: Vec::new(), queued: 0, unowned: 0 };
    let Some(summary) = sample.tcp_summary.as_ref() else {
        return split;
    };
    let listening: std::collections::HashSet<u16> =
        sample.tcp_listeners.iter().flatten().map(|listener| listener.local_port).collect();
    let mut by_pid: BTreeMap<u32, CloseWaitGroup> = BTreeMap::new();
    for socket in &summary.close_wait {
        if socket.inode == 0 && listening.contains(&socket.local_port) {
            split.queued += 1;
            continue;
        }
        let owners = listeners::owners(sample, socket.inode);
        if owners.is_empty() {
            split.unowned += 1;
        }
        for process in owners {
            let limit = sample.processes.as_ref().and_then(|table| table.open_files_limit.get(&process.pid).copied());
            let group = by_pid.entry(process.pid).or_insert_with(|| CloseWaitGroup {
                process,
                sockets: 0,
                cookies: Vec::new(),
                open_files_limit: limit,
            });
            group.sockets += 1;
            group.cookies.push(socket.cookie);
        }
    }
    split.groups = by_pid.into_values().collect();
    split.groups.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.process.pid.cmp(&b.process.pid)));
    split
}

/// A kernel setting present in the sample, with its catalogue entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingView<'a> {
    /// What sockscope knows about the setting.
    pub setting: &'static Setting,
    /// Its value now.
    pub value: &'a SysctlValue,
}

fn settings(sample: &Sample) -> Vec<SettingView<'_>> {
    let Some(values) = sample.sysctls.as_ref() else {
        return Vec::new();
    };
    SETTINGS.iter().filter_map(|setting| values.get(setting.name).map(|value| SettingView { setting, value })).collect()
}

/// Formats a setting's value as `/proc/sys` prints it, with spaces between multiple values.
pub fn format_setting(value: &SysctlValue) -> String {
    match value {
        SysctlValue::Integer(number) => number.to_string(),
        SysctlValue::Integers(numbers) => numbers.iter().map(i64::to_string).collect::<Vec<_>>().join(" "),
        SysctlValue::Text(text) if text.is_empty() => "(empty)".to_string(),
        SysctlValue::Text(text) => text.clone(),
    }
}
