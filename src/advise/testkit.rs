//! Building blocks for the advisor's unit tests: constructed samples with sane defaults, and a
//! runner that pushes a sequence of samples through the same [`Pipeline`] every mode uses.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::lifecycle::Hold;
use super::{CHECKS, Check, Evidence, Finding, Outcome, Rules, Severity, Subject};
use crate::engine::Pipeline;
use crate::sample::listen_events::{
    ClientDrops, DropReason, EventKind, EventRoute, ListenEvent, ListenEvents, ListenerEvents,
};
use crate::sample::{
    CounterSections, EphemeralPorts, Family, Host, Interface, InterfaceStats, Netns, ProcessRef, ProcessTable, Sample,
    SoftnetRow, SysctlValue, TcpListener, TcpStateCounts, TcpSummary,
};

/// A quiet host at `second` seconds after boot: kernel 6.18, default settings, no sockets.
pub fn sample(second: u64) -> Sample {
    let mut sysctls = BTreeMap::new();
    for (name, value) in [
        ("net.core.somaxconn", 4096),
        ("net.ipv4.tcp_syncookies", 1),
        ("net.ipv4.tcp_max_syn_backlog", 2048),
        ("net.ipv4.tcp_max_tw_buckets", 131_072),
        ("net.ipv4.tcp_max_orphans", 131_072),
        ("net.ipv4.tcp_abort_on_overflow", 0),
        ("net.ipv4.tcp_synack_retries", 5),
        ("net.ipv4.tcp_timestamps", 1),
        ("net.ipv4.tcp_tw_reuse", 2),
        ("net.ipv4.tcp_fin_timeout", 60),
        ("net.core.netdev_max_backlog", 1000),
        ("net.ipv4.tcp_mtu_probing", 0),
        ("net.ipv4.ip_no_pmtu_disc", 0),
    ] {
        sysctls.insert(name.to_string(), SysctlValue::Integer(value));
    }
    sysctls.insert("net.ipv4.ip_local_port_range".into(), SysctlValue::Integers(vec![32768, 60999]));
    sysctls.insert("net.ipv4.ip_local_reserved_ports".into(), SysctlValue::Text(String::new()));
    sysctls.insert("net.ipv4.tcp_mem".into(), SysctlValue::Integers(vec![287_898, 383_867, 575_796]));
    sysctls.insert("net.ipv4.tcp_rmem".into(), SysctlValue::Integers(vec![4096, 131_072, 6_291_456]));
    sysctls.insert("net.ipv4.tcp_wmem".into(), SysctlValue::Integers(vec![4096, 16_384, 4_194_304]));
    let mut netstat = CounterSections::new();
    for name in [
        "ListenOverflows",
        "ListenDrops",
        "TCPReqQFullDrop",
        "TCPReqQFullDoCookies",
        "SyncookiesSent",
        "SyncookiesRecv",
        "SyncookiesFailed",
        "TCPBacklogDrop",
        "TCPDeferAcceptDrop",
        "TCPTimeWaitOverflow",
        "TCPAbortOnMemory",
        "TCPMemoryPressures",
        "TCPOrigDataSent",
        "TCPSynRetrans",
    ] {
        netstat.entry("TcpExt".into()).or_default().insert(name.into(), 0);
    }
    let mut snmp = CounterSections::new();
    for name in ["PassiveOpens", "ActiveOpens", "RetransSegs", "OutSegs"] {
        snmp.entry("Tcp".into()).or_default().insert(name.into(), 0);
    }
    for name in ["InDatagrams", "RcvbufErrors", "SndbufErrors", "InErrors", "MemErrors"] {
        snmp.entry("Udp".into()).or_default().insert(name.into(), 0);
    }
    let mut sockstat = CounterSections::new();
    for (key, value) in [("inuse", 10), ("orphan", 0), ("tw", 0), ("alloc", 12), ("mem", 10)] {
        sockstat.entry("TCP".into()).or_default().insert(key.into(), value);
    }
    Sample {
        boottime_ns: second * 1_000_000_000,
        netns: Some(Netns::with_inode(4_026_531_833)),
        host: Some(Host {
            hostname: "test".into(),
            kernel: "6.18.44".into(),
            uptime_seconds: second,
            cpus: 2,
            load_average: [0.0; 3],
        }),
        sysctls: Some(sysctls),
        interfaces: Some(Vec::new()),
        tcp_listeners: Some(Vec::new()),
        unix_listeners: Some(Vec::new()),
        tcp_summary: Some(TcpSummary {
            states: TcpStateCounts::default(),
            syn_recv: Vec::new(),
            ephemeral: EphemeralPorts { range: Some((32768, 60999)), ..EphemeralPorts::default() },
            close_wait: Vec::new(),
        }),
        udp_sockets: Some(Vec::new()),
        netstat: Some(netstat),
        snmp: Some(snmp),
        snmp6: Some(CounterSections::new()),
        sockstat: Some(sockstat),
        softnet: Some(Vec::new()),
        processes: Some(ProcessTable::default()),
        ..Sample::default()
    }
}

/// A TCP listener; its cookie doubles as its inode.
pub fn listener(address: &str, port: u16, cookie: u64, accept_queue: u32, backlog: u32) -> TcpListener {
    let local_address: IpAddr = address.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
    TcpListener {
        family: if local_address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 },
        local_address,
        local_port: port,
        bound_interface: 0,
        accept_queue,
        backlog,
        drops: Some(0),
        inode: cookie,
        uid: 0,
        cookie,
        v6only: None,
        memory: None,
        tcp_info: None,
    }
}

/// Adds a listener, owned by `process`, to a sample.
pub fn add_listener(sample: &mut Sample, listener: TcpListener, process: Option<(u32, &str)>) {
    if let (Some((pid, command)), Some(table)) = (process, sample.processes.as_mut()) {
        table.owners.insert(listener.inode, vec![ProcessRef { pid, command: command.into() }]);
    }
    if let Some(listeners) = sample.tcp_listeners.as_mut() {
        listeners.push(listener);
    }
}

/// Sets a counter of netstat (`TcpExt`, `IpExt`) or snmp (other sections).
pub fn set_counter(sample: &mut Sample, section: &str, name: &str, value: i64) {
    let file = if matches!(section, "TcpExt" | "IpExt") { &mut sample.netstat } else { &mut sample.snmp };
    if let Some(sections) = file.as_mut() {
        sections.entry(section.into()).or_default().insert(name.into(), value);
    }
}

/// Sets a sockstat value (`TCP`, `tw`).
pub fn set_sockstat(sample: &mut Sample, label: &str, key: &str, value: i64) {
    if let Some(sections) = sample.sockstat.as_mut() {
        sections.entry(label.into()).or_default().insert(key.into(), value);
    }
}

/// Sets a kernel setting.
pub fn set_sysctl(sample: &mut Sample, name: &str, value: SysctlValue) {
    if let Some(sysctls) = sample.sysctls.as_mut() {
        sysctls.insert(name.into(), value);
    }
}

/// An interface with an MTU and counters.
pub fn interface(index: u32, name: &str, mtu: u32, kind: Option<&str>) -> Interface {
    Interface {
        name: name.into(),
        index,
        mtu: Some(mtu),
        min_mtu: Some(68),
        max_mtu: Some(65_535),
        oper_state: "UP".into(),
        admin_up: true,
        kind: kind.map(str::to_string),
        master: None,
        link: None,
        link_netnsid: None,
        peer: None,
        stats: Some(InterfaceStats::default()),
    }
}

/// A softnet row: processed, dropped, squeezed.
pub fn softnet_row(cpu: u32, processed: u32, dropped: u32, squeezed: u32) -> SoftnetRow {
    let mut columns = vec![0u32; 13];
    columns[0] = processed;
    columns[1] = dropped;
    columns[2] = squeezed;
    columns[12] = cpu;
    SoftnetRow { cpu, columns }
}

/// Runs one check on the last of `samples`, every sample pushed through the pipeline in turn.
pub fn run_check(check: &Check, samples: &[Sample]) -> Outcome {
    run_check_with(check, samples, &Rules::default())
}

/// [`run_check`] with rules; every other check is silenced, so the outcome is this check's, and
/// nothing is held ([`Hold::none`]), so it is the last sample's judgement alone.
pub fn run_check_with(check: &Check, samples: &[Sample], rules: &Rules) -> Outcome {
    let mut rules = Rules { hold: Hold::none(), ..rules.clone() };
    rules.silence.extend(CHECKS.iter().filter(|other| other.id != check.id).map(|other| other.id.to_string()));
    let mut pipeline = Pipeline::new(rules);
    let mut outcome = Outcome::default();
    for sample in samples {
        outcome = pipeline.push(sample.clone()).findings.clone();
    }
    outcome
}

/// A finding about the host with one piece of evidence, for tests of what is built on findings.
pub fn finding(id: &'static str, severity: Severity) -> Finding {
    Finding {
        id,
        severity,
        subject: Subject::Host,
        summary: "summary".into(),
        explanation: "why".into(),
        evidence: vec![Evidence::number("n", "1", 1.0)],
        remedy: "fix".into(),
        settings: Vec::new(),
    }
}

/// The listen-event source's route in tests: every program, accept waits at the peer address.
pub fn event_route() -> EventRoute {
    EventRoute {
        attached: vec!["tp_btf:kfree_skb".into(), "cgroup_skb:ingress".into(), "cgroup:getpeername4".into()],
        accept_wait: "getpeername".into(),
        listen_overflow_reason: true,
    }
}

/// Zero totals of the listen-event source for `listener`, named by its cookie.
pub fn events_at(listener: &TcpListener) -> ListenerEvents {
    ListenerEvents::empty(Some(listener.cookie), listener.family, listener.local_address, listener.local_port)
}

/// Counts `count` accepted connections that each waited `wait_ns`.
pub fn add_waits(entry: &mut ListenerEvents, wait_ns: u64, count: u64) {
    for _ in 0..count {
        entry.accept_wait.add(wait_ns);
    }
    entry.interval_max_wait_ns = entry.interval_max_wait_ns.max(wait_ns);
}

/// Counts drops of one reason from `client`.
pub fn add_drops(entry: &mut ListenerEvents, reason: DropReason, client: &str, count: u64) {
    *entry.drops.entry(reason).or_default() += count;
    let address: IpAddr = client.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match entry.top_dropped_clients.iter_mut().find(|known| known.address == address) {
        Some(known) => known.drops += count,
        None => {
            entry.top_dropped_clients.push(ClientDrops { address, drops: count });
            entry.distinct_dropped_clients += 1;
        }
    }
    entry.top_dropped_clients.sort_by_key(|client| std::cmp::Reverse(client.drops));
}

/// Gives a sample the listen-event source's readings (started at boot), with `latest` events.
pub fn set_events(sample: &mut Sample, entries: Vec<ListenerEvents>, latest: Vec<ListenEvent>, lost: u64) {
    sample.listen_events = Some(ListenEvents {
        route: event_route(),
        started_boottime_ns: 0,
        listeners: entries,
        latest,
        lost_events: lost,
    });
}

/// One event of the latest list at `listener`, from `client:port`.
pub fn event(listener: &TcpListener, kind: EventKind, client: &str, port: u16, at_second: u64) -> ListenEvent {
    ListenEvent {
        boottime_ns: at_second * 1_000_000_000,
        kind,
        client_address: client.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
        client_port: port,
        local_address: listener.local_address,
        local_port: listener.local_port,
        cookie: Some(listener.cookie),
        accept_queue: (listener.accept_queue, listener.backlog),
        syn_queue: 0,
        wait_ns: 0,
        retransmits: u32::from(kind == EventKind::SynackRetransmit),
    }
}
