//! The metric expositions: every namespace's listeners, TCP states, overflow counters, kernel
//! settings, interfaces and findings as Prometheus series, in the OpenMetrics 1.0 text format
//! or the classic Prometheus text format 0.0.4 — both written from one table of families.
//!
//! **Why an encoder of our own.** `prometheus-client`, the official crate, encodes OpenMetrics
//! only, and from registries of typed metrics that live between scrapes and are updated in
//! place. sockscope needs the classic format as well (Debian's `promtool` lints only that, and
//! node_exporter's textfile collector reads only that), and its numbers are already computed,
//! once per sample, in the model: a registry would be a second copy of the frame, refilled at
//! every collection. So one table (`scene_families`) says, for each family, its name, type,
//! unit, help and how to take its samples from a namespace's frame, and `Encoder` writes it in
//! either format. The formats differ only in the metadata: OpenMetrics names a counter family
//! without `_total` and an info family without `_info`, has the `info` type and `# UNIT`
//! lines, escapes `"` in help text, and ends with `# EOF`; the classic format names the
//! family after its samples and types info metrics as gauges.
//!
//! **Labels.** Every series of a namespace carries `netns`, the inode of its network namespace
//! as `lsns` prints it (`0` when it could not be read) — in a single-namespace report too, so a
//! series keeps its identity whether sockscope reads one namespace or every one
//! (`--all-netns`), and rules join on it alike; `sockscope_netns_info` names the namespace and
//! its container. A listener's series carry `laddr` and, for TCP, `lport`; when several sockets
//! share an endpoint (an `SO_REUSEPORT` group) each also has `slot`, its position in the group.
//! The owning process's pid and comm are only on `sockscope_listener_info`, so a restart does
//! not start new queue series; join them with
//! `* on(instance, netns, laddr, lport, slot) group_left(comm)`.
//! Client addresses never become labels. Label values are escaped by
//! [`crate::format::label_value`] and otherwise kept as the kernel or the process gave them.
//!
//! **Namespaces that cannot be read.** `sockscope_netns_up` is 0 for a namespace that went
//! away or cannot be entered, and its other series are absent: its last numbers are not
//! exported as if they were current.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::advise::status::Status;
use crate::advise::{Severity, Subject};
use crate::engine::{Frame, Scene, ViewState};
use crate::format::label_value;
use crate::model::listen_events::cumulative;
use crate::model::{EventStatus, ListenerView, OVERFLOW_COUNTERS};
use crate::sample::listen_events::{DropReason, ListenerEvents};
use crate::sample::{CounterId, Netns, SysctlValue, TCP_STATES};

/// A metric text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exposition {
    /// The classic Prometheus text format, version 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Exposition {
    /// The HTTP content type of the format.
    pub fn content_type(self) -> &'static str {
        match self {
            Exposition::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// What ends a document: `# EOF` in OpenMetrics, nothing in the classic format.
    pub fn end(self) -> &'static str {
        match self {
            Exposition::Prometheus => "",
            Exposition::OpenMetrics => "# EOF\n",
        }
    }
}

/// The exposition of every namespace of a scene, as a complete document.
pub fn render(scene: &Scene, exposition: Exposition) -> String {
    let mut text = families(scene, exposition);
    text.push_str(exposition.end());
    text
}

/// The exposition of one namespace's frame, as a complete document.
pub fn render_frame(frame: &Frame, exposition: Exposition) -> String {
    let mut encoder = Encoder::new(exposition);
    encoder.families(&scene_families(), &[Namespace::of_frame(frame)]);
    encoder.text.push_str(exposition.end());
    encoder.text
}

/// The series of every namespace of a scene, without the end of the document: `serve` adds its
/// own families after them.
pub fn families(scene: &Scene, exposition: Exposition) -> String {
    let namespaces: Vec<Namespace<'_>> = scene.views.iter().map(Namespace::of_view).collect();
    let mut encoder = Encoder::new(exposition);
    encoder.families(&scene_families(), &namespaces);
    encoder.text
}

/// What `serve` knows about itself, for its self-metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ServeStats {
    /// Requests for `/metrics` answered so far, the current one included.
    pub scrapes: u64,
    /// Collections (rounds of samples) taken so far.
    pub collections: u64,
    /// Wall time of the last collection: every namespace's sample, model and findings.
    pub collection_seconds: f64,
    /// When the last collection started, in seconds since the Unix epoch.
    pub collected_at: f64,
}

/// `serve`'s self-metrics, without the end of the document.
pub fn serve_families(stats: &ServeStats, exposition: Exposition) -> String {
    let mut encoder = Encoder::new(exposition);
    encoder.families(&self_families(), std::slice::from_ref(stats));
    encoder.text
}

/// How a family's values behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    /// A level that goes up and down.
    Gauge,
    /// A running total; its samples are named `<family>_total`.
    Counter,
    /// Identity as labels with the value 1; its samples are named `<family>_info`.
    Info,
    /// Cumulative counts at bounds: samples `<family>_bucket{le}`, `_count` and `_sum`.
    Histogram,
}

impl Type {
    /// The OpenMetrics type name.
    fn name(self) -> &'static str {
        match self {
            Type::Gauge => "gauge",
            Type::Counter => "counter",
            Type::Info => "info",
            Type::Histogram => "histogram",
        }
    }

    /// The suffix of the family's sample names.
    fn suffix(self) -> &'static str {
        match self {
            Type::Gauge => "",
            Type::Counter => "_total",
            Type::Info => "_info",
            Type::Histogram => "",
        }
    }
}

/// A family's name, type, unit and help.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Meta {
    /// The family name, without the `_total` or `_info` of its samples; ends with `_<unit>`.
    name: String,
    /// Gauge, counter or info.
    kind: Type,
    /// The base unit the name ends with (`seconds`, `bytes`), if any.
    unit: Option<&'static str>,
    /// What it means.
    help: String,
}

impl Meta {
    /// The name of the family's samples: the name with `_total` or `_info`.
    fn sample_name(&self) -> String {
        format!("{}{}", self.name, self.kind.suffix())
    }
}

/// How a family takes its samples from one row (a namespace, or `serve`'s own numbers).
type Sampler<T> = Box<dyn Fn(&T, &mut Vec<Sample>)>;

/// One family of the table: its metadata and how to take its samples from one row.
struct Family<T> {
    /// Name, type, unit and help.
    meta: Meta,
    samples: Sampler<T>,
}

impl<T> Family<T> {
    fn new(name: &str, kind: Type, help: &str, samples: impl Fn(&T, &mut Vec<Sample>) + 'static) -> Family<T> {
        let unit = ["seconds", "bytes"].into_iter().find(|unit| name.ends_with(&format!("_{unit}")));
        Family { meta: Meta { name: name.to_string(), kind, unit, help: help.to_string() }, samples: Box::new(samples) }
    }
}

/// One series' labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    /// What follows the family's sample name: `_bucket`, `_count` or `_sum` of a histogram.
    suffix: &'static str,
    labels: Vec<(&'static str, String)>,
    value: Value,
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    /// A count or a size.
    Unsigned(u64),
    /// A kernel setting or counter as read.
    Signed(i64),
    /// A ratio or a time.
    Real(f64),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Unsigned(value) => write!(f, "{value}"),
            Value::Signed(value) => write!(f, "{value}"),
            Value::Real(value) if value.is_nan() => f.write_str("NaN"),
            Value::Real(value) if value.is_infinite() => f.write_str(if *value > 0.0 { "+Inf" } else { "-Inf" }),
            Value::Real(value) => write!(f, "{value}"),
        }
    }
}

/// Labels being gathered for a sample.
#[derive(Debug, Clone, Default)]
struct Labels(Vec<(&'static str, String)>);

impl Labels {
    /// The labels with one more.
    fn with(mut self, name: &'static str, value: impl ToString) -> Labels {
        self.0.push((name, value.to_string()));
        self
    }

    /// The labels with one more when there is a value.
    fn maybe(self, name: &'static str, value: Option<impl ToString>) -> Labels {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }

    /// A sample with these labels.
    fn value(self, value: Value) -> Sample {
        self.part("", value)
    }

    /// A sample of a histogram's part (`_bucket`, `_count`, `_sum`) with these labels.
    fn part(self, suffix: &'static str, value: Value) -> Sample {
        Sample { suffix, labels: self.0, value }
    }
}

/// Writes families in one format.
struct Encoder {
    exposition: Exposition,
    text: String,
}

impl Encoder {
    /// An encoder writing `exposition`.
    fn new(exposition: Exposition) -> Encoder {
        Encoder { exposition, text: String::with_capacity(16 * 1024) }
    }

    /// Writes each family with the samples it takes from every row; a family without samples
    /// is left out.
    fn families<T>(&mut self, families: &[Family<T>], rows: &[T]) {
        let mut samples = Vec::new();
        for family in families {
            samples.clear();
            for row in rows {
                (family.samples)(row, &mut samples);
            }
            self.family(&family.meta, &samples);
        }
    }

    /// Writes one family: its metadata, then its samples.
    fn family(&mut self, meta: &Meta, samples: &[Sample]) {
        if samples.is_empty() {
            return;
        }
        self.metadata(meta);
        let name = meta.sample_name();
        for sample in samples {
            self.text.push_str(&name);
            self.text.push_str(sample.suffix);
            self.labels(&sample.labels);
            let _ = writeln!(self.text, " {}", sample.value);
        }
    }

    fn metadata(&mut self, meta: &Meta) {
        match self.exposition {
            Exposition::Prometheus => {
                let name = meta.sample_name();
                let kind = match meta.kind {
                    Type::Counter => "counter",
                    Type::Histogram => "histogram",
                    Type::Gauge | Type::Info => "gauge",
                };
                let _ = writeln!(self.text, "# HELP {name} {}", help_text(&meta.help, false));
                let _ = writeln!(self.text, "# TYPE {name} {kind}");
            }
            Exposition::OpenMetrics => {
                let name = &meta.name;
                let _ = writeln!(self.text, "# HELP {name} {}", help_text(&meta.help, true));
                let _ = writeln!(self.text, "# TYPE {name} {}", meta.kind.name());
                if let Some(unit) = meta.unit {
                    let _ = writeln!(self.text, "# UNIT {name} {unit}");
                }
            }
        }
    }

    fn labels(&mut self, labels: &[(&'static str, String)]) {
        if labels.is_empty() {
            return;
        }
        self.text.push('{');
        for (index, (name, value)) in labels.iter().enumerate() {
            if index > 0 {
                self.text.push(',');
            }
            let _ = write!(self.text, "{name}=\"{}\"", label_value(value));
        }
        self.text.push('}');
    }
}

/// Help text with backslash and line feed escaped, and in OpenMetrics the double quote too.
fn help_text(help: &str, quote: bool) -> String {
    let mut text = String::with_capacity(help.len());
    for c in help.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            '\n' => text.push_str("\\n"),
            '"' if quote => text.push_str("\\\""),
            c => text.push(c),
        }
    }
    text
}

/// One namespace as the families read it.
#[derive(Debug, Clone, Copy)]
struct Namespace<'a> {
    inode: u64,
    netns: Option<&'a Netns>,
    /// Read at the last collection; only then does it have a frame here.
    frame: Option<&'a Frame>,
    /// Check mode's verdict; `None` once it went away.
    status: Option<Status>,
}

impl<'a> Namespace<'a> {
    fn of_view(view: &'a crate::engine::View) -> Namespace<'a> {
        let live = view.state == ViewState::Live;
        Namespace {
            inode: view.netns.inode,
            netns: Some(&view.netns),
            frame: view.frame.as_deref().filter(|_| live),
            status: super::scene::view_status(view),
        }
    }

    fn of_frame(frame: &'a Frame) -> Namespace<'a> {
        let netns = frame.sample.netns.as_ref();
        Namespace {
            inode: netns.map_or(0, |netns| netns.inode),
            netns,
            frame: Some(frame),
            status: Some(super::scene::frame_status(frame)),
        }
    }

    /// The labels every series of the namespace starts with.
    fn labels(&self) -> Labels {
        Labels::default().with("netns", self.inode)
    }
}

/// Every family of a namespace, in the order they are written.
fn scene_families<'a>() -> Vec<Family<Namespace<'a>>> {
    let mut families = namespace_families();
    families.extend(listener_families());
    families.extend(event_families());
    families.extend(tcp_families());
    families.extend(setting_families());
    families.extend(interface_families());
    families.push(Family::new(
        "sockscope_collection_source_seconds",
        Type::Gauge,
        "Time the last collection spent reading each source of the namespace (sock_diag dumps, /proc files).",
        |ns: &Namespace, out| {
            let Some(frame) = ns.frame else { return };
            for (source, micros) in &frame.sample.diagnostics.source_micros {
                out.push(ns.labels().with("source", source).value(Value::Real(*micros as f64 / 1e6)));
            }
        },
    ));
    families
}

fn namespace_families<'a>() -> Vec<Family<Namespace<'a>>> {
    vec![
        Family::new(
            "sockscope_netns_up",
            Type::Gauge,
            "1 when the network namespace was read at the last collection; 0 when it went away or cannot be \
             entered, and its other series are then absent.",
            |ns: &Namespace, out| out.push(ns.labels().value(Value::Unsigned(u64::from(ns.frame.is_some())))),
        ),
        Family::new(
            "sockscope_netns",
            Type::Info,
            "A network namespace (netns: its inode, as lsns prints it) with its /run/netns name and the \
             container its processes run in, when known.",
            |ns: &Namespace, out| out.push(netns_labels(ns).value(Value::Unsigned(1))),
        ),
        Family::new(
            "sockscope_status",
            Type::Gauge,
            "The verdict of sockscope check for the namespace: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not \
             judge).",
            |ns: &Namespace, out| {
                if let Some(status) = ns.status {
                    out.push(ns.labels().value(Value::Unsigned(u64::from(status.exit_code()))));
                }
            },
        ),
        Family::new(
            "sockscope_findings",
            Type::Gauge,
            "Active findings of the advisor, by severity (info, warning, critical).",
            |ns: &Namespace, out| {
                let Some(frame) = ns.frame else { return };
                for severity in [Severity::Info, Severity::Warning, Severity::Critical] {
                    let count = frame.findings.count(severity) as u64;
                    out.push(ns.labels().with("severity", severity.name()).value(Value::Unsigned(count)));
                }
            },
        ),
        Family::new(
            "sockscope_finding",
            Type::Gauge,
            "1 for each active finding: the check's id, its severity and its subject (a listener's protocol and \
             address, an interface, a setting, ...); more when one subject has several findings of a check.",
            findings,
        ),
    ]
}

fn netns_labels(ns: &Namespace) -> Labels {
    let netns = ns.netns;
    let container = netns.and_then(|netns| netns.container.as_ref());
    ns.labels()
        .maybe("netns_name", netns.and_then(|netns| netns.name.as_deref()))
        .maybe("container_runtime", container.map(|hint| hint.runtime.as_str()))
        .maybe("container_id", container.and_then(|hint| hint.id.as_deref()))
        .maybe("pod_uid", container.and_then(|hint| hint.pod_uid.as_deref()))
}

fn findings(ns: &Namespace, out: &mut Vec<Sample>) {
    let Some(frame) = ns.frame else { return };
    let mut counts: BTreeMap<(&str, Severity, String), u64> = BTreeMap::new();
    for finding in &frame.findings.findings {
        *counts.entry((finding.id, finding.severity, subject(&finding.subject))).or_default() += 1;
    }
    for ((id, severity, subject), count) in counts {
        let labels = ns.labels().with("id", id).with("severity", severity.name()).with("subject", subject);
        out.push(labels.value(Value::Unsigned(count)));
    }
}

/// A finding's subject as a label: its identity in a few words, without the processes that
/// hold a listener (they change with every restart).
fn subject(subject: &Subject) -> String {
    match subject {
        Subject::Listener { protocol, endpoint, .. } => format!("{} {endpoint}", protocol.name()),
        other => other.label(),
    }
}

fn listener_families<'a>() -> Vec<Family<Namespace<'a>>> {
    vec![
        listener_family(
            "sockscope_listen_accept_queue",
            Type::Gauge,
            "Connections waiting for accept() on a listener (ss Recv-Q); the kernel drops while it is above \
             sockscope_listen_accept_queue_limit.",
            |l| Some(Value::Unsigned(u64::from(l.accept_queue))),
        ),
        listener_family(
            "sockscope_listen_accept_queue_limit",
            Type::Gauge,
            "The accept-queue limit of a listener (ss Send-Q): min(listen() backlog, net.core.somaxconn at listen \
             time).",
            |l| Some(Value::Unsigned(u64::from(l.backlog))),
        ),
        listener_family(
            "sockscope_listen_syn_queue",
            Type::Gauge,
            "Half-open requests (SYN_RECV) of a TCP listener; the sockets of an SO_REUSEPORT group each show the \
             group's count.",
            |l| l.syn_queue.map(|count| Value::Unsigned(u64::from(count))),
        ),
        listener_family(
            "sockscope_listen_drops",
            Type::Counter,
            "Packets a TCP listener dropped since its socket was created (Linux 4.7+); starts again from 0 with \
             a new socket, whose inode sockscope_listener_info shows.",
            |l| l.drops.map(Value::Unsigned),
        ),
        Family::new(
            "sockscope_listener",
            Type::Info,
            "A listener's identity and owner: protocol, family, inode, cookie, uid, and the pid and comm of its \
             first owning process (lowest pid) when known.",
            |ns: &Namespace, out| {
                let Some(frame) = ns.frame else { return };
                out.extend(frame.model.listeners.iter().map(|l| listener_info(ns, l).value(Value::Unsigned(1))));
            },
        ),
    ]
}

/// The listen-event source's families: accept waits and drops per listener, lost events.
fn event_families<'a>() -> Vec<Family<Namespace<'a>>> {
    vec![
        Family::new(
            "sockscope_listen_events_up",
            Type::Gauge,
            "1 when the eBPF listen-event source runs for the namespace, 0 when it could not start (the report's \
             listen_events.reason says why); absent when it was not started.",
            |ns: &Namespace, out| {
                let Some(frame) = ns.frame else { return };
                match frame.model.listen_events.status {
                    EventStatus::NotStarted => {}
                    ref status => out.push(ns.labels().value(Value::Unsigned(u64::from(status.is_active())))),
                }
            },
        ),
        Family::new(
            "sockscope_listen_events_lost",
            Type::Counter,
            "Events the eBPF source's ring buffer had no room for since it started (host-wide, repeated per \
             namespace): the event counts undercount by at most this much.",
            |ns: &Namespace, out| {
                let Some(lost) = ns.frame.and_then(|frame| frame.model.listen_events.lost_total) else { return };
                out.push(ns.labels().value(Value::Unsigned(lost)));
            },
        ),
        Family::new(
            "sockscope_listen_accept_wait_seconds",
            Type::Histogram,
            "Observed: how long accepted connections waited in a listener's accept queue between the handshake and \
             accept(), since the eBPF source started; le bounds are powers of two of nanoseconds (1.024e-06 to \
             17.18 s).",
            accept_waits,
        ),
        event_family(
            "sockscope_listen_drop_events",
            "Connections a listener dropped since the eBPF source started, by reason: syn_accept_queue_full and \
             syn_queue_full are predicted (the kernel's own test applied to each SYN at ingress; the kernel leaves \
             no trace), ack_accept_queue_full is observed (drop reason TCP_LISTEN_OVERFLOW, Linux 6.15+).",
            |totals, labels, out| {
                for reason in DropReason::ALL {
                    let count = totals.drops.get(&reason).copied().unwrap_or(0);
                    out.push(labels.clone().with("reason", reason.name()).value(Value::Unsigned(count)));
                }
            },
        ),
        event_family(
            "sockscope_listen_syncookies",
            "Predicted: SYN cookies a listener sent instead of queueing a request, since the eBPF source started.",
            |totals, labels, out| out.push(labels.value(Value::Unsigned(totals.syncookies))),
        ),
        event_family(
            "sockscope_listen_synack_retransmits",
            "Observed: SYN-ACKs a listener retransmitted because the handshake did not complete, since the eBPF \
             source started.",
            |totals, labels, out| out.push(labels.value(Value::Unsigned(totals.synack_retransmits))),
        ),
    ]
}

/// A counter family with samples from each listener's event totals.
fn event_family<'a>(
    name: &str,
    help: &str,
    samples: fn(&ListenerEvents, Labels, &mut Vec<Sample>),
) -> Family<Namespace<'a>> {
    Family::new(name, Type::Counter, help, move |ns: &Namespace, out| {
        let Some(frame) = ns.frame else { return };
        for listener in &frame.model.listeners {
            if let Some(activity) = frame.model.listen_events.listener(&listener.key) {
                samples(&activity.totals, listener_labels(ns, listener), out);
            }
        }
    })
}

/// Each listener's accept-wait histogram: cumulative buckets, `+Inf`, count and sum.
fn accept_waits(ns: &Namespace, out: &mut Vec<Sample>) {
    let Some(frame) = ns.frame else { return };
    for listener in &frame.model.listeners {
        let Some(activity) = frame.model.listen_events.listener(&listener.key) else { continue };
        let waits = &activity.totals.accept_wait;
        let labels = listener_labels(ns, listener);
        for (bound, count) in cumulative(waits) {
            let le = (bound as f64 / 1e9).to_string();
            out.push(labels.clone().with("le", le).part("_bucket", Value::Unsigned(count)));
        }
        out.push(labels.clone().with("le", "+Inf").part("_bucket", Value::Unsigned(waits.count)));
        out.push(labels.clone().part("_count", Value::Unsigned(waits.count)));
        out.push(labels.part("_sum", Value::Real(waits.sum_ns as f64 / 1e9)));
    }
}

/// A family with one sample per listener that has a value.
fn listener_family<'a>(
    name: &str,
    kind: Type,
    help: &str,
    value: fn(&ListenerView) -> Option<Value>,
) -> Family<Namespace<'a>> {
    Family::new(name, kind, help, move |ns: &Namespace, out| {
        let Some(frame) = ns.frame else { return };
        for listener in &frame.model.listeners {
            if let Some(value) = value(listener) {
                out.push(listener_labels(ns, listener).value(value));
            }
        }
    })
}

/// The labels that name a listener: namespace, address, port (TCP) and slot (when several
/// sockets share the endpoint).
fn listener_labels(ns: &Namespace, listener: &ListenerView) -> Labels {
    ns.labels()
        .with("laddr", listener.endpoint.address_text())
        .maybe("lport", listener.endpoint.port())
        .maybe("slot", listener.sibling)
}

fn listener_info(ns: &Namespace, listener: &ListenerView) -> Labels {
    let accepting = listener.accepting();
    let owner = accepting.first();
    listener_labels(ns, listener)
        .with("protocol", listener.protocol.name())
        .with("family", listener.family_name())
        .with("inode", listener.inode)
        .with("cookie", listener.cookie())
        .maybe("uid", listener.uid)
        .maybe("pid", owner.map(|process| process.pid))
        .maybe("comm", owner.map(|process| process.command.as_str()))
}

fn tcp_families<'a>() -> Vec<Family<Namespace<'a>>> {
    let mut families = vec![Family::new(
        "sockscope_tcp_sockets",
        Type::Gauge,
        "TCP sockets of the namespace per state (established, time_wait, ..., as node_tcp_connection_states \
         names them), from one dump of every state.",
        |ns: &Namespace, out| {
            let Some(states) = ns.frame.and_then(|frame| frame.model.tcp_states) else { return };
            for state in TCP_STATES {
                let labels = ns.labels().with("state", state.name().to_ascii_lowercase());
                out.push(labels.value(Value::Unsigned(states.get(state))));
            }
        },
    )];
    families.extend(OVERFLOW_COUNTERS.iter().map(|id| overflow_family(*id, crate::model::meanings::meaning_of(*id))));
    families.extend(port_families());
    families
}

/// The family of one listen-overflow counter, named after it: `TcpExt` `TCPReqQFullDrop` is
/// `sockscope_tcpext_req_q_full_drop_total`.
fn overflow_family<'a>(id: CounterId, meaning: &str) -> Family<Namespace<'a>> {
    let help = format!("{} ({} {}, since the namespace was created).", capitalised(meaning), id.section, id.field);
    Family::new(&counter_name(id), Type::Counter, &help, move |ns: &Namespace, out| {
        let Some(frame) = ns.frame else { return };
        let total = frame.model.overflow.iter().find(|counter| counter.id == id).and_then(|counter| counter.total);
        if let Some(total) = total {
            out.push(ns.labels().value(Value::Signed(total)));
        }
    })
}

/// `sockscope_` + the section in lower case + the field in snake case, without the `TCP` most
/// newer TcpExt fields start with.
fn counter_name(id: CounterId) -> String {
    let field = id.field.strip_prefix("TCP").unwrap_or(id.field);
    format!("sockscope_{}_{}", id.section.to_ascii_lowercase(), snake_case(field))
}

/// `ReqQFullDoCookies` → `req_q_full_do_cookies`: a word starts at each capital that follows a
/// small letter or digit, or that starts a capitalised word after an acronym.
fn snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut snake = String::with_capacity(camel.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        let before = index.checked_sub(1).and_then(|previous| chars.get(previous));
        let after = chars.get(index + 1);
        let starts_word = c.is_ascii_uppercase()
            && before.is_some_and(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || (b.is_ascii_uppercase() && after.is_some_and(char::is_ascii_lowercase))
            });
        if starts_word {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    snake
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn port_families<'a>() -> Vec<Family<Namespace<'a>>> {
    vec![
        Family::new(
            "sockscope_ephemeral_ports_usable",
            Type::Gauge,
            "Local ports one destination can use: net.ipv4.ip_local_port_range less the reserved ports and the \
             local listeners in it.",
            |ns: &Namespace, out| {
                if let Some(ports) = ns.frame.and_then(|frame| frame.model.ports.as_ref()) {
                    out.push(ns.labels().value(Value::Unsigned(u64::from(ports.usable))));
                }
            },
        ),
        Family::new(
            "sockscope_ephemeral_port_use_ratio",
            Type::Gauge,
            "The busiest destination's share of the usable local ports, from 0 to 1: connect() to it fails at 1.",
            |ns: &Namespace, out| {
                if let Some(ports) = ns.frame.and_then(|frame| frame.model.ports.as_ref()) {
                    out.push(ns.labels().value(Value::Real(ports.headline.fullest_share)));
                }
            },
        ),
    ]
}

fn setting_families<'a>() -> Vec<Family<Namespace<'a>>> {
    vec![Family::new(
        "sockscope_sysctl",
        Type::Gauge,
        "A kernel setting sockscope knows, by dotted name (every one whose value is numbers); a setting of \
         several numbers has one series per position, index from 0 (ip_local_port_range: 0 low, 1 high).",
        |ns: &Namespace, out| {
            let Some(frame) = ns.frame else { return };
            for setting in &frame.model.settings {
                let name = setting.setting.name;
                match &setting.value {
                    Some(SysctlValue::Integer(value)) => {
                        out.push(ns.labels().with("sysctl", name).value(Value::Signed(*value)));
                    }
                    Some(SysctlValue::Integers(values)) => {
                        out.extend(values.iter().enumerate().map(|(index, value)| {
                            ns.labels().with("sysctl", name).with("index", index).value(Value::Signed(*value))
                        }))
                    }
                    Some(SysctlValue::Text(_)) | None => {}
                }
            }
        },
    )]
}

fn interface_families<'a>() -> Vec<Family<Namespace<'a>>> {
    type Stats = crate::sample::InterfaceStats;
    let counter = |name: &str, help: &str, pick: fn(&Stats) -> u64| {
        Family::new(name, Type::Counter, help, move |ns: &Namespace, out| {
            let Some(frame) = ns.frame else { return };
            for view in &frame.model.interfaces {
                if let Some(stats) = &view.interface.stats {
                    out.push(ns.labels().with("interface", &view.interface.name).value(Value::Unsigned(pick(stats))));
                }
            }
        })
    };
    vec![
        Family::new(
            "sockscope_interface",
            Type::Info,
            "A network interface: operational state (as ip link prints it), kind and master device, when it has \
             them.",
            |ns: &Namespace, out| {
                let Some(frame) = ns.frame else { return };
                for view in &frame.model.interfaces {
                    let labels = ns
                        .labels()
                        .with("interface", &view.interface.name)
                        .with("oper_state", &view.interface.oper_state)
                        .maybe("kind", view.interface.kind.as_deref())
                        .maybe("master", view.master_name.as_deref());
                    out.push(labels.value(Value::Unsigned(1)));
                }
            },
        ),
        Family::new(
            "sockscope_interface_mtu_bytes",
            Type::Gauge,
            "The MTU of a network interface.",
            |ns: &Namespace, out| {
                let Some(frame) = ns.frame else { return };
                for view in &frame.model.interfaces {
                    if let Some(mtu) = view.interface.mtu {
                        out.push(
                            ns.labels().with("interface", &view.interface.name).value(Value::Unsigned(u64::from(mtu))),
                        );
                    }
                }
            },
        ),
        counter("sockscope_interface_receive_drops", "Received packets the kernel dropped on an interface.", |s| {
            s.rx_dropped
        }),
        counter("sockscope_interface_transmit_drops", "Packets dropped on transmit on an interface.", |s| s.tx_dropped),
        counter("sockscope_interface_receive_errors", "Receive errors of an interface.", |s| s.rx_errors),
        counter("sockscope_interface_transmit_errors", "Transmit errors of an interface.", |s| s.tx_errors),
        counter(
            "sockscope_interface_receive_missed",
            "Packets the NIC missed because its receive ring was full.",
            |s| s.rx_missed_errors,
        ),
    ]
}

/// `serve`'s own families.
fn self_families() -> Vec<Family<ServeStats>> {
    vec![
        Family::new(
            "sockscope_build",
            Type::Info,
            "The sockscope that serves these metrics.",
            |_: &ServeStats, out| {
                out.push(Labels::default().with("version", env!("CARGO_PKG_VERSION")).value(Value::Unsigned(1)));
            },
        ),
        own("sockscope_scrapes", Type::Counter, "Requests for /metrics answered, this one included.", |stats| {
            Value::Unsigned(stats.scrapes)
        }),
        own(
            "sockscope_collections",
            Type::Counter,
            "Collections taken: scrapes within one --interval share one.",
            |stats| Value::Unsigned(stats.collections),
        ),
        own(
            "sockscope_collection_duration_seconds",
            Type::Gauge,
            "Wall time of the last collection: every namespace's sample, model and findings.",
            |stats| Value::Real(stats.collection_seconds),
        ),
        own(
            "sockscope_collection_timestamp_seconds",
            Type::Gauge,
            "When the last collection started, in seconds since the Unix epoch.",
            |stats| Value::Real(stats.collected_at),
        ),
    ]
}

/// A family of one unlabelled sample of `serve`'s own numbers.
fn own(name: &str, kind: Type, help: &str, value: fn(&ServeStats) -> Value) -> Family<ServeStats> {
    Family::new(name, kind, help, move |stats: &ServeStats, out| out.push(Labels::default().value(value(stats))))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::advise::Rules;
    use crate::advise::testkit::{add_listener, interface, listener, sample, set_counter};
    use crate::collect::{Observed, Round};
    use crate::engine::{Pipeline, Pipelines};
    use crate::sample::counters::LISTEN_OVERFLOWS;

    /// A frame with a full listener owned by a process with an awkward name, a reuseport
    /// group, an interface and a moved overflow counter.
    fn frame() -> Arc<Frame> {
        let mut current = sample(10);
        add_listener(&mut current, listener("127.0.0.1", 8080, 7, 9, 8), Some((42, "we\"ird\\x\nname")));
        add_listener(&mut current, listener("0.0.0.0", 443, 20, 0, 511), None);
        add_listener(&mut current, listener("0.0.0.0", 443, 10, 0, 511), None);
        set_counter(&mut current, "TcpExt", "ListenOverflows", 5);
        current.interfaces = Some(vec![interface(2, "eth0", 9000, Some("veth"))]);
        Pipeline::new(Rules::default()).push(current)
    }

    /// Whether no item appears twice.
    fn distinct<T: Ord>(mut items: Vec<T>) -> bool {
        let count = items.len();
        items.sort_unstable();
        items.dedup();
        items.len() == count
    }

    fn lines_of<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
            .collect()
    }

    #[test]
    fn a_listener_has_its_queue_limit_drops_and_an_info_series_with_its_owner() {
        let text = render_frame(&frame(), Exposition::Prometheus);
        let netns = "netns=\"4026531833\"";
        let queue = lines_of(&text, "sockscope_listen_accept_queue");
        assert!(
            queue.contains(
                &format!("sockscope_listen_accept_queue{{{netns},laddr=\"127.0.0.1\",lport=\"8080\"}} 9").as_str()
            ),
            "{queue:?}"
        );
        assert!(
            text.contains(&format!(
                "sockscope_listen_accept_queue_limit{{{netns},laddr=\"127.0.0.1\",lport=\"8080\"}} 8"
            ))
        );
        assert!(
            text.contains(&format!("sockscope_listen_drops_total{{{netns},laddr=\"127.0.0.1\",lport=\"8080\"}} 0"))
        );
        let info = lines_of(&text, "sockscope_listener_info");
        let owned = info.iter().find(|line| line.contains("lport=\"8080\"")).expect("info of the listener");
        assert!(owned.ends_with(r#"pid="42",comm="we\"ird\\x\nname"} 1"#), "escaped: {owned}");
        assert!(!queue.iter().any(|line| line.contains("comm=") || line.contains("pid=")), "owners only on the info");
    }

    #[test]
    fn sockets_sharing_an_endpoint_get_a_slot_so_no_series_repeats() {
        let text = render_frame(&frame(), Exposition::Prometheus);
        let group = lines_of(&text, "sockscope_listen_accept_queue_limit");
        let slots: Vec<&&str> = group.iter().filter(|line| line.contains("lport=\"443\"")).collect();
        assert_eq!(slots.len(), 2);
        assert!(slots[0].contains("slot=\"") && slots[1].contains("slot=\""), "{slots:?}");
        let series =
            text.lines().filter(|line| !line.starts_with('#')).filter_map(|l| l.rsplit_once(' ').map(|(s, _)| s));
        assert!(distinct(series.collect()), "every series once");
    }

    #[test]
    fn the_two_formats_differ_only_in_metadata_and_the_end() {
        let frame = frame();
        let classic = render_frame(&frame, Exposition::Prometheus);
        let open = render_frame(&frame, Exposition::OpenMetrics);
        assert!(classic.contains("# TYPE sockscope_listen_drops_total counter\n"));
        assert!(open.contains("# TYPE sockscope_listen_drops counter\n"));
        assert!(classic.contains("# TYPE sockscope_listener_info gauge\n"));
        assert!(open.contains("# TYPE sockscope_listener info\n"));
        assert!(open.contains("# UNIT sockscope_interface_mtu_bytes bytes\n") && !classic.contains("# UNIT"));
        assert!(open.ends_with("# EOF\n") && !classic.contains("# EOF"));
        let samples =
            |text: &str| text.lines().filter(|line| !line.starts_with('#')).map(str::to_string).collect::<Vec<_>>();
        assert_eq!(samples(&classic), samples(&open));
    }

    #[test]
    fn namespace_wide_numbers_are_series_of_the_namespace() {
        let text = render_frame(&frame(), Exposition::Prometheus);
        let netns = "netns=\"4026531833\"";
        assert!(text.contains(&format!("sockscope_tcpext_listen_overflows_total{{{netns}}} 5")));
        assert!(text.contains(&format!("sockscope_sysctl{{{netns},sysctl=\"net.core.somaxconn\"}} 4096")));
        assert!(text.contains(&format!(
            "sockscope_sysctl{{{netns},sysctl=\"net.ipv4.ip_local_port_range\",index=\"1\"}} 60999"
        )));
        assert!(text.contains(&format!("sockscope_interface_mtu_bytes{{{netns},interface=\"eth0\"}} 9000")));
        assert!(text.contains(&format!("sockscope_tcp_sockets{{{netns},state=\"time_wait\"}} 0")));
        assert!(text.contains(&format!("sockscope_findings{{{netns},severity=\"critical\"}} 1")));
        assert!(text.contains(&format!("sockscope_finding{{{netns},id=\"accept-queue-full\",severity=\"critical\",subject=\"tcp 127.0.0.1:8080\"}} 1")));
        assert!(text.contains(&format!("sockscope_status{{{netns}}} 2")));
        assert!(text.contains(&format!("sockscope_netns_up{{{netns}}} 1")));
    }

    #[test]
    fn a_namespace_that_went_away_is_up_0_without_its_last_numbers() {
        let mut pipelines = Pipelines::new(Rules::default());
        let web = Netns { name: Some("web".into()), ..Netns::with_inode(7) };
        let mut other = sample(1);
        other.netns = Some(web.clone());
        add_listener(&mut other, listener("0.0.0.0", 80, 1, 0, 128), None);
        pipelines.push(Round::new(vec![Observed::Sample(Box::new(sample(1))), Observed::Sample(Box::new(other))]));
        let gone = Observed::Gone { netns: web, reason: "its last process exited".into() };
        let scene = pipelines.push(Round::new(vec![Observed::Sample(Box::new(sample(2))), gone]));
        let text = render(&scene, Exposition::OpenMetrics);
        assert!(text.contains("sockscope_netns_up{netns=\"7\"} 0\n"), "{text}");
        assert!(text.contains("sockscope_netns_up{netns=\"4026531833\"} 1\n"));
        assert!(!text.contains("lport=\"80\""), "no last numbers of a gone namespace");
        assert!(!text.contains("sockscope_status{netns=\"7\"}"), "not judged");
        assert!(text.contains("sockscope_netns_info{netns=\"7\",netns_name=\"web\"} 1"));
    }

    #[test]
    fn overflow_counters_are_named_after_their_nstat_names() {
        let names: Vec<String> = OVERFLOW_COUNTERS.iter().map(|id| counter_name(*id)).collect();
        assert_eq!(
            names,
            [
                "sockscope_tcpext_listen_overflows",
                "sockscope_tcpext_listen_drops",
                "sockscope_tcpext_req_q_full_drop",
                "sockscope_tcpext_req_q_full_do_cookies",
                "sockscope_tcpext_syncookies_sent",
                "sockscope_tcpext_syncookies_recv",
                "sockscope_tcpext_syncookies_failed",
                "sockscope_tcpext_backlog_drop",
            ]
        );
        assert_eq!(counter_name(LISTEN_OVERFLOWS), "sockscope_tcpext_listen_overflows");
        assert_eq!(snake_case("IPv6Reasm"), "i_pv6_reasm");
        assert_eq!(snake_case("InErrors"), "in_errors");
    }

    #[test]
    fn every_family_name_is_valid_unique_and_ends_with_its_unit() {
        let mut names: Vec<String> = scene_families().iter().map(|f| f.meta.sample_name()).collect();
        names.extend(self_families().iter().map(|f| f.meta.sample_name()));
        for family in scene_families().iter().map(|f| &f.meta).chain(self_families().iter().map(|f| &f.meta)) {
            assert!(family.name.starts_with("sockscope_"), "{}", family.name);
            assert!(
                family.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{}",
                family.name
            );
            assert!(!family.name.ends_with("_total") && !family.name.ends_with("_info"), "{}", family.name);
            if let Some(unit) = family.unit {
                assert!(family.name.ends_with(&format!("_{unit}")), "{}", family.name);
            }
            assert!(!family.help.is_empty() && !family.help.contains('\n'));
        }
        assert!(distinct(names), "no two families share a name");
    }

    #[test]
    fn readme_lists_every_family_with_its_type() {
        let readme = include_str!("../../README.md");
        for meta in scene_families().iter().map(|f| &f.meta).chain(self_families().iter().map(|f| &f.meta)) {
            let row = format!("| `{}` | {} |", meta.sample_name(), meta.kind.name());
            assert!(readme.contains(&row), "README's metric table lacks the row starting {row}");
        }
    }

    #[test]
    fn values_and_help_are_written_as_both_formats_read_them() {
        assert_eq!(Value::Real(0.25).to_string(), "0.25");
        assert_eq!(Value::Real(f64::NAN).to_string(), "NaN");
        assert_eq!(Value::Real(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Value::Signed(-3).to_string(), "-3");
        assert_eq!(help_text("a \"b\" c\\d\ne", false), "a \"b\" c\\\\d\\ne");
        assert_eq!(help_text("a \"b\"", true), "a \\\"b\\\"");
        let mut encoder = Encoder::new(Exposition::Prometheus);
        let meta = Meta { name: "sockscope_x".into(), kind: Type::Gauge, unit: None, help: "h".into() };
        encoder.family(&meta, &[]);
        assert_eq!(encoder.text, "", "a family without samples is left out");
        encoder.family(&meta, &[Labels::default().value(Value::Unsigned(3))]);
        assert_eq!(encoder.text, "# HELP sockscope_x h\n# TYPE sockscope_x gauge\nsockscope_x 3\n");
    }

    #[test]
    fn listen_events_are_a_cumulative_histogram_and_counters_by_reason() {
        use crate::advise::testkit::{add_drops, add_waits, events_at, set_events};
        use crate::sample::listen_events::DropReason;
        let web = listener("127.0.0.1", 8080, 7, 0, 128);
        let mut current = sample(10);
        add_listener(&mut current, web.clone(), None);
        let mut entry = events_at(&web);
        add_waits(&mut entry, 1_500, 3);
        add_waits(&mut entry, 50_000_000, 1);
        add_drops(&mut entry, DropReason::AckAcceptQueueFull, "192.0.2.1", 4);
        set_events(&mut current, vec![entry], Vec::new(), 9);
        let with_events = Pipeline::new(Rules::default()).push(current);
        let open = render_frame(&with_events, Exposition::OpenMetrics);
        let at = "netns=\"4026531833\",laddr=\"127.0.0.1\",lport=\"8080\"";
        assert!(open.contains("# TYPE sockscope_listen_accept_wait_seconds histogram\n# UNIT sockscope_listen_accept_wait_seconds seconds\n"));
        assert!(
            open.contains(&format!("sockscope_listen_accept_wait_seconds_bucket{{{at},le=\"0.000001024\"}} 0\n")),
            "{open}"
        );
        assert!(open.contains(&format!("sockscope_listen_accept_wait_seconds_bucket{{{at},le=\"0.000002048\"}} 3\n")));
        assert!(open.contains(&format!("sockscope_listen_accept_wait_seconds_bucket{{{at},le=\"0.067108864\"}} 4\n")));
        assert!(open.contains(&format!("sockscope_listen_accept_wait_seconds_bucket{{{at},le=\"+Inf\"}} 4\n")));
        assert!(open.contains(&format!("sockscope_listen_accept_wait_seconds_count{{{at}}} 4\n")));
        assert!(open.contains(&format!("sockscope_listen_accept_wait_seconds_sum{{{at}}} 0.0500045\n")));
        assert!(
            open.contains(&format!("sockscope_listen_drop_events_total{{{at},reason=\"ack_accept_queue_full\"}} 4\n"))
        );
        assert!(open.contains(&format!("sockscope_listen_drop_events_total{{{at},reason=\"syn_queue_full\"}} 0\n")));
        assert!(open.contains("sockscope_listen_events_lost_total{netns=\"4026531833\"} 9\n"));
        assert!(open.contains("sockscope_listen_events_up{netns=\"4026531833\"} 1\n"));
        let classic = render_frame(&with_events, Exposition::Prometheus);
        assert!(classic.contains("# TYPE sockscope_listen_accept_wait_seconds histogram\n"));
        assert!(!render_frame(&frame(), Exposition::Prometheus).contains("sockscope_listen_events"), "not started");
    }

    #[test]
    fn serve_adds_its_own_counters() {
        let stats = ServeStats { scrapes: 3, collections: 1, collection_seconds: 0.5, collected_at: 1.5 };
        let text = serve_families(&stats, Exposition::OpenMetrics);
        assert!(text.contains("# TYPE sockscope_scrapes counter\nsockscope_scrapes_total 3\n"), "{text}");
        assert!(text.contains("sockscope_collections_total 1\n"));
        assert!(text.contains("sockscope_collection_duration_seconds 0.5\n"));
        assert!(text.contains(&format!("sockscope_build_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION"))));
    }
}
