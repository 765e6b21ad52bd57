//! The JSON report, schema version 1: a contract users script against with `jq`.
//!
//! These types exist only to be serialised; they are built from the [`Frame`]'s model, so every
//! number here is the one the text report and the dashboard show. Fields are only ever added within a
//! schema version; renaming or removing one bumps [`SCHEMA_VERSION`]. README.md documents each
//! field.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::advise::lifecycle::{Life, Moment, State};
use crate::advise::status::Status;
use crate::advise::{Evidence, NotEvaluated, Severity, Subject};
use crate::engine::Frame;
use crate::model::ListenerView;
use crate::model::fields::{Exported, LISTENER_FIELDS};
use crate::model::rates::RateSections;
use crate::sample::{CounterSections, KernelEvent, ProcessRef, Source, SysctlValue, TcpStateCounts, Unavailable};

/// Version of the JSON layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Serialize)]
pub struct Report<'a> {
    schema_version: u32,
    build: crate::build_info::Build,
    taken_at: String,
    interval_seconds: Option<f64>,
    host: Option<Host<'a>>,
    netns: Option<Netns<'a>>,
    sysctl: BTreeMap<&'a str, &'a SysctlValue>,
    interfaces: Vec<Interface<'a>>,
    listeners: Vec<Exported<'a, ListenerView>>,
    unattributed_syn_recv: Vec<SynRecv>,
    listen_events: super::events::EventsJson<'a>,
    tcp_states: Option<TcpStateCounts>,
    udp: Vec<Udp<'a>>,
    ports: Option<Ports>,
    counters: &'a CounterSections,
    rates: Option<&'a RateSections>,
    smoothed_rates: Option<Smoothed>,
    sockstat: Option<&'a CounterSections>,
    softnet: Vec<Softnet>,
    unavailable: &'a [Unavailable],
    skipped: &'a [Source],
    collection: Collection<'a>,
    kernel_events: Option<&'a [KernelEvent]>,
    findings: Vec<FindingJson<'a>>,
    cleared_findings: Vec<ClearedJson<'a>>,
    not_evaluated: &'a [NotEvaluated],
}

/// A finding with its subject's label spelled out, and its life.
#[derive(Debug, Serialize)]
struct FindingJson<'a> {
    id: &'static str,
    severity: Severity,
    subject: SubjectJson<'a>,
    summary: &'a str,
    explanation: &'a str,
    evidence: &'a [Evidence],
    remedy: &'a str,
    settings: &'a [&'static str],
    #[serde(flatten)]
    life: Option<LifeJson>,
}

/// When a finding was seen, by how many samples, and whether it is held.
#[derive(Debug, Serialize)]
struct LifeJson {
    state: State,
    first_seen: String,
    last_seen: String,
    samples: u64,
    worst_severity: Severity,
    seconds_since_seen: f64,
}

impl LifeJson {
    fn of(life: &Life, now: &Moment) -> LifeJson {
        LifeJson {
            state: life.state(),
            first_seen: life.first_seen.at.to_string(),
            last_seen: life.last_seen.at.to_string(),
            samples: life.samples,
            worst_severity: life.worst,
            seconds_since_seen: life.since_seen(now),
        }
    }
}

/// A recently cleared finding.
#[derive(Debug, Serialize)]
struct ClearedJson<'a> {
    id: &'static str,
    severity: Severity,
    subject: SubjectJson<'a>,
    summary: &'a str,
    #[serde(flatten)]
    life: LifeJson,
    cleared_at: Option<String>,
}

/// The overflow counters' rates over the smoothing window.
#[derive(Debug, Serialize)]
struct Smoothed {
    window_seconds: f64,
    counters: BTreeMap<&'static str, BTreeMap<&'static str, Option<f64>>>,
}

#[derive(Debug, Serialize)]
struct SubjectJson<'a> {
    label: String,
    #[serde(flatten)]
    subject: &'a Subject,
}

#[derive(Debug, Serialize)]
struct Collection<'a> {
    malformed_messages: u64,
    skipped_fields: u64,
    interrupted_dumps: u64,
    processes_denied: Option<u32>,
    source_micros: &'a BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
struct Host<'a> {
    hostname: &'a str,
    kernel: &'a str,
    uptime_seconds: u64,
    cpus: u32,
    load_average: [f64; 3],
}

/// A namespace: its inode, its `/run/netns` name, a few of its pids and commands, and the
/// container they run in (`null` when the cgroups name none).
#[derive(Debug, Serialize)]
pub struct Netns<'a> {
    inode: u64,
    name: Option<&'a str>,
    pids: &'a [u32],
    processes: &'a [String],
    container: Option<&'a crate::sample::ContainerHint>,
}

impl<'a> Netns<'a> {
    /// The JSON form of a sample's namespace.
    pub fn of(netns: &'a crate::sample::Netns) -> Netns<'a> {
        Netns {
            inode: netns.inode,
            name: netns.name.as_deref(),
            pids: &netns.pids,
            processes: &netns.processes,
            container: netns.container.as_ref(),
        }
    }
}

#[derive(Debug, Serialize)]
struct Interface<'a> {
    name: &'a str,
    index: u32,
    mtu: Option<u32>,
    min_mtu: Option<u32>,
    max_mtu: Option<u32>,
    oper_state: &'a str,
    admin_up: bool,
    kind: Option<&'a str>,
    master: Option<String>,
    link: Option<String>,
    link_netnsid: Option<i32>,
    peer_mtu: Option<u32>,
    rx_packets: Option<u64>,
    tx_packets: Option<u64>,
    rx_bytes: Option<u64>,
    tx_bytes: Option<u64>,
    rx_errors: Option<u64>,
    tx_errors: Option<u64>,
    rx_dropped: Option<u64>,
    tx_dropped: Option<u64>,
    rx_missed_errors: Option<u64>,
    rx_fifo_errors: Option<u64>,
    rx_dropped_per_second: Option<f64>,
    tx_dropped_per_second: Option<f64>,
    rx_errors_per_second: Option<f64>,
    tx_errors_per_second: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SynRecv {
    family: &'static str,
    local_address: String,
    local_port: u16,
    requests: u32,
}

#[derive(Debug, Serialize)]
struct Udp<'a> {
    family: &'static str,
    local_address: String,
    local_port: u16,
    remote_address: String,
    remote_port: u16,
    connected: bool,
    receive_queue: u32,
    send_queue: u32,
    drops: Option<u32>,
    drops_per_second: Option<f64>,
    rcvbuf: Option<u32>,
    inode: u64,
    uid: u32,
    processes: &'a [ProcessRef],
}

#[derive(Debug, Serialize)]
struct Ports {
    range: [u16; 2],
    range_size: u32,
    reserved: u32,
    listening_in_range: Vec<u16>,
    usable: u32,
    in_use: u64,
    distinct_ports: u32,
    udp_in_use: u64,
    destinations: u64,
    fullest_share: f64,
    distinct_share: f64,
    by_destination: Vec<Destination>,
}

#[derive(Debug, Serialize)]
struct Destination {
    local_address: String,
    remote_address: String,
    remote_port: u16,
    in_use: u64,
    time_wait: u64,
    headroom: u64,
    use_ratio: f64,
}

#[derive(Debug, Serialize)]
struct Softnet {
    cpu: u32,
    processed: Option<u32>,
    dropped: Option<u32>,
    time_squeeze: Option<u32>,
    backlog_len: Option<u32>,
    processed_per_second: Option<f64>,
    dropped_per_second: Option<f64>,
    squeezed_per_second: Option<f64>,
}

/// Builds the report of a frame.
pub fn report(frame: &Frame) -> Report<'_> {
    let (view, sample, outcome) = (&frame.model, &*frame.sample, &frame.findings);
    Report {
        schema_version: SCHEMA_VERSION,
        build: crate::build_info::BUILD,
        taken_at: sample.taken_at.to_string(),
        interval_seconds: view.interval,
        host: sample.host.as_ref().map(|host| Host {
            hostname: &host.hostname,
            kernel: &host.kernel,
            uptime_seconds: host.uptime_seconds,
            cpus: host.cpus,
            load_average: host.load_average,
        }),
        netns: sample.netns.as_ref().map(Netns::of),
        sysctl: sample.sysctls.iter().flatten().map(|(name, value)| (name.as_str(), value)).collect(),
        interfaces: view.interfaces.iter().map(interface).collect(),
        listeners: view.listeners.iter().map(|row| Exported { row, fields: LISTENER_FIELDS }).collect(),
        unattributed_syn_recv: view
            .unattributed_syn_recv
            .iter()
            .map(|group| SynRecv {
                family: group.family.name(),
                local_address: group.local_address.to_string(),
                local_port: group.local_port,
                requests: group.requests,
            })
            .collect(),
        listen_events: super::events::json(frame),
        tcp_states: view.tcp_states,
        udp: view.udp.iter().map(udp).collect(),
        ports: view.ports.as_ref().map(ports),
        counters: &view.counters.totals,
        rates: view.counters.rates.as_ref(),
        smoothed_rates: smoothed(view),
        sockstat: sample.sockstat.as_ref(),
        softnet: view.softnet.iter().map(softnet).collect(),
        unavailable: &sample.unavailable,
        skipped: &sample.skipped,
        collection: Collection {
            malformed_messages: sample.diagnostics.malformed_messages,
            skipped_fields: sample.diagnostics.skipped_fields,
            interrupted_dumps: sample.diagnostics.interrupted_dumps,
            processes_denied: sample.processes.as_ref().map(|table| table.denied),
            source_micros: &sample.diagnostics.source_micros,
        },
        kernel_events: sample.kernel_events.as_deref(),
        findings: outcome
            .findings
            .iter()
            .map(|finding| FindingJson {
                id: finding.id,
                severity: finding.severity,
                subject: SubjectJson { label: finding.subject.label(), subject: &finding.subject },
                summary: &finding.summary,
                explanation: &finding.explanation,
                evidence: &finding.evidence,
                remedy: &finding.remedy,
                settings: &finding.settings,
                life: frame.timeline.life_of(finding).map(|life| LifeJson::of(life, &frame.timeline.now)),
            })
            .collect(),
        cleared_findings: frame
            .timeline
            .cleared
            .iter()
            .map(|life| ClearedJson {
                id: life.finding.id,
                severity: life.finding.severity,
                subject: SubjectJson { label: life.finding.subject.label(), subject: &life.finding.subject },
                summary: &life.finding.summary,
                life: LifeJson::of(life, &frame.timeline.now),
                cleared_at: life.cleared.map(|at| at.at.to_string()),
            })
            .collect(),
        not_evaluated: &outcome.not_evaluated,
    }
}

/// The smoothed overflow counters, by section and field; `None` until two samples exist.
fn smoothed(model: &crate::model::Model) -> Option<Smoothed> {
    let mut counters: BTreeMap<&'static str, BTreeMap<&'static str, Option<f64>>> = BTreeMap::new();
    for counter in &model.overflow {
        counters.entry(counter.id.section).or_default().insert(counter.id.field, counter.smoothed);
    }
    Some(Smoothed { window_seconds: model.smoothing?, counters })
}

fn interface(view: &crate::model::InterfaceView) -> Interface<'_> {
    let interface = &view.interface;
    let stats = interface.stats;
    let rates = view.rates.unwrap_or_default();
    Interface {
        name: &interface.name,
        index: interface.index,
        mtu: interface.mtu,
        min_mtu: interface.min_mtu,
        max_mtu: interface.max_mtu,
        oper_state: &interface.oper_state,
        admin_up: interface.admin_up,
        kind: interface.kind.as_deref(),
        master: view.master_name.clone(),
        link: view.link_name.clone(),
        link_netnsid: interface.link_netnsid,
        peer_mtu: interface.peer.as_ref().and_then(|peer| peer.mtu),
        rx_packets: stats.map(|s| s.rx_packets),
        tx_packets: stats.map(|s| s.tx_packets),
        rx_bytes: stats.map(|s| s.rx_bytes),
        tx_bytes: stats.map(|s| s.tx_bytes),
        rx_errors: stats.map(|s| s.rx_errors),
        tx_errors: stats.map(|s| s.tx_errors),
        rx_dropped: stats.map(|s| s.rx_dropped),
        tx_dropped: stats.map(|s| s.tx_dropped),
        rx_missed_errors: stats.map(|s| s.rx_missed_errors),
        rx_fifo_errors: stats.map(|s| s.rx_fifo_errors),
        rx_dropped_per_second: rates.rx_dropped,
        tx_dropped_per_second: rates.tx_dropped,
        rx_errors_per_second: rates.rx_errors,
        tx_errors_per_second: rates.tx_errors,
    }
}

fn udp(view: &crate::model::UdpView) -> Udp<'_> {
    let socket = &view.socket;
    Udp {
        family: socket.family.name(),
        local_address: socket.local_address.to_string(),
        local_port: socket.local_port,
        remote_address: socket.remote_address.to_string(),
        remote_port: socket.remote_port,
        connected: socket.connected,
        receive_queue: socket.receive_queue,
        send_queue: socket.send_queue,
        drops: socket.drops,
        drops_per_second: view.drops_per_second,
        rcvbuf: socket.rcvbuf,
        inode: socket.inode,
        uid: socket.uid,
        processes: &view.processes,
    }
}

fn ports(view: &crate::model::PortsView) -> Ports {
    Ports {
        range: [view.range.0, view.range.1],
        range_size: view.range_size,
        reserved: view.reserved_in_range,
        listening_in_range: view.listening_in_range.clone(),
        usable: view.usable,
        in_use: view.tcp_sockets,
        distinct_ports: view.tcp_distinct_ports,
        udp_in_use: view.udp_sockets,
        destinations: view.destinations,
        fullest_share: view.headline.fullest_share,
        distinct_share: view.headline.distinct_share,
        by_destination: view
            .by_destination
            .iter()
            .map(|d| Destination {
                local_address: d.key.local_address.to_string(),
                remote_address: d.key.remote_address.to_string(),
                remote_port: d.key.remote_port,
                in_use: d.sockets,
                time_wait: d.time_wait,
                headroom: d.headroom,
                use_ratio: d.use_ratio,
            })
            .collect(),
    }
}

fn softnet(view: &crate::model::SoftnetView) -> Softnet {
    Softnet {
        cpu: view.cpu,
        processed: view.processed,
        dropped: view.dropped,
        time_squeeze: view.time_squeeze,
        backlog_len: view.backlog_len,
        processed_per_second: view.processed_rate,
        dropped_per_second: view.dropped_rate,
        squeezed_per_second: view.squeezed_rate,
    }
}

/// Any JSON document pretty-printed with a final newline.
pub fn to_text(value: &impl Serialize) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// The report as pretty-printed JSON with a final newline.
pub fn render(frame: &Frame) -> Result<String, serde_json::Error> {
    to_text(&report(frame))
}

/// A check-mode document: the monitoring status first, then `report`'s fields.
pub fn check_document(status: Status, summary: String, report: impl Serialize) -> Result<String, serde_json::Error> {
    #[derive(Serialize)]
    struct Check<T> {
        status: &'static str,
        exit_code: u8,
        summary: String,
        #[serde(flatten)]
        report: T,
    }
    to_text(&Check { status: status.name(), exit_code: status.exit_code(), summary, report })
}

/// The check-mode JSON: the report with the monitoring status first.
pub fn render_check(frame: &Frame) -> Result<String, serde_json::Error> {
    check_document(Status::of(&frame.findings), super::check::status_line(&frame.findings), report(frame))
}

#[cfg(test)]
mod tests {
    use crate::advise::Rules;
    use crate::advise::testkit::{sample, set_counter};
    use crate::engine::Pipeline;

    /// A TIME_WAIT overflow seen at 101 s only, then 5 quiet samples: held, with its life.
    #[test]
    fn findings_carry_their_lifecycle_and_overflow_rates_their_smoothed_value() {
        let mut pipeline = Pipeline::new(Rules::default());
        let mut frame = None;
        for second in 100..=106u64 {
            let mut sample = sample(second);
            sample.taken_at = jiff::Timestamp::from_second(second as i64).unwrap_or_default();
            set_counter(&mut sample, "TcpExt", "TCPTimeWaitOverflow", if second >= 101 { 1803 } else { 0 });
            set_counter(&mut sample, "TcpExt", "ListenOverflows", second as i64 * 4);
            frame = Some(pipeline.push(sample));
        }
        let frame = frame.expect("frames");
        let json: serde_json::Value = serde_json::from_str(&super::render(&frame).expect("json")).expect("parses");
        let findings = json["findings"].as_array().expect("findings");
        let finding = findings.iter().find(|f| f["id"] == "time-wait-buckets").expect("held");
        assert_eq!((finding["state"].as_str(), finding["samples"].as_u64()), (Some("held"), Some(1)));
        assert_eq!(finding["first_seen"], "1970-01-01T00:01:41Z");
        assert_eq!(finding["last_seen"], "1970-01-01T00:01:41Z");
        assert_eq!(finding["worst_severity"], "critical");
        assert_eq!(finding["seconds_since_seen"].as_f64(), Some(5.0));
        assert_eq!(json["cleared_findings"], serde_json::json!([]));
        assert_eq!(json["smoothed_rates"]["window_seconds"].as_f64(), Some(6.0), "the history is 6 s long");
        assert_eq!(json["smoothed_rates"]["counters"]["TcpExt"]["ListenOverflows"].as_f64(), Some(4.0));
        let text = crate::render::text::render(&frame);
        let heading = text.lines().find(|line| line.contains("COUNTER")).expect("overflow table");
        assert!(heading.contains("RATE OVER 6s"), "{heading}");
        assert!(text.contains("Seen: in 1 of 7 samples, held: last seen 5s ago"), "{text}");
    }
}
