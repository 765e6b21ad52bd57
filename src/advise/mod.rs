//! The advisor: checks over the model that name each problem, show the evidence and give the
//! remedy.
//!
//! Every check is a small pure function of a [`Context`] — the current model (with rates when
//! there was a previous sample), the raw sample, the history of earlier samples, and the rules —
//! that adds [`Finding`]s, or says why it could not judge ([`NotEvaluated`]). Ids come from the
//! catalogue in `shared/reference/advisor-checks.md` and never change once released. Findings
//! name their subject by typed identity, and [`status`] turns an outcome into the monitoring
//! verdict.

mod ingress;
pub mod lifecycle;
mod listen;
mod memory;
mod path;
mod ports;
mod rules;
mod states;
pub mod status;
#[cfg(test)]
pub(crate) mod testkit;

use std::net::IpAddr;

use serde::Serialize;

use crate::model::history::History;
use crate::model::{DestinationKey, Endpoint, ListenerKey, Model, Protocol};
use crate::sample::{ProcessRef, Sample};
pub use rules::{InvalidThreshold, Range, Rules, Thresholds};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Configuration worth knowing; nothing is lost.
    Info,
    /// Degradation is likely or starting; act soon.
    Warning,
    /// Connections or packets are being lost now.
    Critical,
}

impl Severity {
    /// `info`, `warning` or `critical`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// A short tag that reads without colour: `INFO`, `WARN`, `CRIT`.
    pub fn tag(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Critical => "CRIT",
        }
    }
}

/// What a finding is about, by typed identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// The host as a whole (global files such as softnet_stat).
    Host,
    /// The network namespace being inspected (per-namespace counters and settings).
    Netns {
        /// Namespace inode, when known.
        inode: Option<u64>,
    },
    /// One listener (or an `SO_REUSEPORT` group on one address and port).
    Listener {
        /// Its identity: namespace and socket cookie.
        key: ListenerKey,
        /// `tcp` or `unix`.
        protocol: Protocol,
        /// `addr:port` or the UNIX path.
        endpoint: Endpoint,
        /// The processes holding it.
        processes: Vec<ProcessRef>,
    },
    /// One network interface.
    Interface {
        /// Interface name.
        name: String,
    },
    /// Outbound connections toward one destination.
    Destination {
        /// Local (source) address.
        local_address: IpAddr,
        /// Remote address.
        remote_address: IpAddr,
        /// Remote port.
        remote_port: u16,
    },
    /// A kernel setting.
    Sysctl {
        /// Dotted name.
        name: String,
    },
    /// A process.
    Process {
        /// The process.
        process: ProcessRef,
    },
    /// Sockets of one user whose processes could not be named (not looked up, or another
    /// user's without privileges): the kernel still reports each socket's uid.
    User {
        /// The sockets' owner uid.
        uid: u32,
    },
    /// One CPU.
    Cpu {
        /// CPU number.
        cpu: u32,
    },
}

impl Subject {
    /// The subject of a destination.
    pub fn destination(key: &DestinationKey) -> Subject {
        Subject::Destination {
            local_address: key.local_address,
            remote_address: key.remote_address,
            remote_port: key.remote_port,
        }
    }

    /// Its stable key: what stays the same from one sample to the next when the finding is
    /// about the same thing (a listener's owners or a process's name may change, its key not).
    pub fn key(&self) -> SubjectKey {
        match self {
            Subject::Host => SubjectKey::Host,
            Subject::Netns { inode } => SubjectKey::Netns(*inode),
            Subject::Listener { key, .. } => SubjectKey::Listener(*key),
            Subject::Interface { name } => SubjectKey::Interface(name.clone()),
            Subject::Destination { local_address, remote_address, remote_port } => {
                SubjectKey::Destination(*local_address, *remote_address, *remote_port)
            }
            Subject::Sysctl { name } => SubjectKey::Sysctl(name.clone()),
            Subject::Process { process } => SubjectKey::Process(process.pid),
            Subject::Cpu { cpu } => SubjectKey::Cpu(*cpu),
            Subject::User { uid } => SubjectKey::User(*uid),
        }
    }

    /// The listener this finding is about, if it is about one.
    pub fn listener_key(&self) -> Option<ListenerKey> {
        match self {
            Subject::Listener { key, .. } => Some(*key),
            _ => None,
        }
    }

    /// The subject in a few words, e.g. `tcp [::]:8080 (nginx[812])`, safe to print: the names
    /// in it (processes, UNIX paths, interfaces) are sanitised. The subject itself keeps them
    /// exactly, for JSON.
    pub fn label(&self) -> String {
        crate::format::sanitize_owned(self.raw_label())
    }

    /// The label with the names as they are.
    fn raw_label(&self) -> String {
        match self {
            Subject::Host => "host".to_string(),
            Subject::Netns { inode: Some(inode) } => format!("network namespace net:[{inode}]"),
            Subject::Netns { inode: None } => "network namespace".to_string(),
            Subject::Listener { protocol, endpoint, processes, .. } => match processes.as_slice() {
                [] => format!("{} {endpoint}", protocol.name()),
                [first] => format!("{} {endpoint} ({}[{}])", protocol.name(), first.command, first.pid),
                [first, rest @ ..] => {
                    format!("{} {endpoint} ({}[{}] +{})", protocol.name(), first.command, first.pid, rest.len())
                }
            },
            Subject::Interface { name } => format!("interface {name}"),
            Subject::Destination { local_address, remote_address, remote_port } => DestinationKey {
                local_address: *local_address,
                remote_address: *remote_address,
                remote_port: *remote_port,
            }
            .to_string(),
            Subject::Sysctl { name } => name.clone(),
            Subject::Process { process } => format!("{}[{}]", process.command, process.pid),
            Subject::User { uid } => format!("sockets of uid {uid}"),
            Subject::Cpu { cpu } => format!("CPU {cpu}"),
        }
    }
}

/// The stable identity of a [`Subject`], without what may change while it stays the same thing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKey {
    /// The host.
    Host,
    /// A namespace, by inode.
    Netns(Option<u64>),
    /// A listener, by namespace and socket cookie.
    Listener(ListenerKey),
    /// An interface, by name.
    Interface(String),
    /// A destination: local address, remote address, remote port.
    Destination(IpAddr, IpAddr, u16),
    /// A setting, by dotted name.
    Sysctl(String),
    /// A process, by pid.
    Process(u32),
    /// A CPU, by number.
    Cpu(u32),
    /// Another user's sockets, by uid.
    User(u32),
}

/// One number (or fact) that made a check fire.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// What it is, e.g. `accept queue`.
    pub label: String,
    /// Its value as shown to people, with units, e.g. `129 of 129 slots`.
    pub value: String,
    /// The value as a number, for scripts; `None` for facts that are not numbers.
    pub number: Option<f64>,
}

impl Evidence {
    /// A numeric piece of evidence shown as `value`.
    pub fn number(label: impl Into<String>, value: impl Into<String>, number: f64) -> Evidence {
        Evidence { label: label.into(), value: value.into(), number: Some(number) }
    }

    /// A non-numeric fact.
    pub fn fact(label: impl Into<String>, value: impl Into<String>) -> Evidence {
        Evidence { label: label.into(), value: value.into(), number: None }
    }
}

/// A problem the advisor found, with the numbers behind it and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The check's stable id, e.g. `accept-queue-full`.
    pub id: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What it is about.
    pub subject: Subject,
    /// One line saying what is wrong. Like the explanation, the evidence and the remedy, it is
    /// text for people and safe to print: names in it are sanitised ([`Report::add`]).
    pub summary: String,
    /// What is happening and why it hurts, in a sysadmin's words.
    pub explanation: String,
    /// The numbers that fired the check.
    pub evidence: Vec<Evidence>,
    /// What to do: commands or application settings.
    pub remedy: String,
    /// The kernel settings (dotted names) the remedy changes or the finding is about, so a view
    /// of a setting can list the findings that concern it.
    pub settings: Vec<&'static str>,
}

/// A check that could not judge, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotEvaluated {
    /// The check's id.
    pub id: &'static str,
    /// Why it could not run, e.g. "needs two samples" or "netstat unavailable: ...".
    pub reason: String,
}

/// What the advisor concluded from one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// Checks that could not judge.
    pub not_evaluated: Vec<NotEvaluated>,
}

impl Outcome {
    /// The most severe finding's severity, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|finding| finding.severity).max()
    }

    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|finding| finding.severity == severity).count()
    }

    /// Findings about one subject.
    pub fn about<'a>(&'a self, subject: &'a Subject) -> impl Iterator<Item = &'a Finding> {
        self.findings.iter().filter(move |finding| &finding.subject == subject)
    }
}

/// What a check reads.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The current model, with rates when a previous sample existed.
    pub model: &'a Model,
    /// The current sample's raw facts.
    pub sample: &'a Sample,
    /// Earlier samples' derived numbers, the current one included.
    pub history: &'a History,
    /// Thresholds and silenced checks.
    pub rules: &'a Rules,
}

impl Context<'_> {
    /// A setting's value as one integer.
    pub fn sysctl(&self, name: &str) -> Option<i64> {
        self.sample.sysctl(name)?.as_integer()
    }
}

/// Where a check adds its results: the only way into an [`Outcome`], and where the text of every
/// finding is made safe to print.
#[derive(Debug, Default)]
pub struct Report {
    findings: Vec<Finding>,
    not_evaluated: Vec<NotEvaluated>,
}

impl Report {
    /// Adds a finding. Its text quotes names other users chose (processes, UNIX paths,
    /// interfaces), so every text field is sanitised here, once for every renderer; the subject
    /// keeps the names exactly.
    pub fn add(&mut self, finding: Finding) {
        #[cfg(test)]
        assert_names_its_settings(&finding);
        self.findings.push(printable(finding));
    }

    /// Records that check `id` could not judge; the reason is sanitised as a finding's text is.
    pub fn not_evaluated(&mut self, id: &'static str, reason: impl Into<String>) {
        self.not_evaluated.push(NotEvaluated { id, reason: crate::format::sanitize_owned(reason.into()) });
    }
}

/// The finding with its summary, explanation, evidence and remedy sanitised.
fn printable(finding: Finding) -> Finding {
    use crate::format::sanitize_owned as clean;
    let evidence = finding
        .evidence
        .into_iter()
        .map(|item| Evidence { label: clean(item.label), value: clean(item.value), ..item })
        .collect();
    Finding {
        summary: clean(finding.summary),
        explanation: clean(finding.explanation),
        remedy: clean(finding.remedy),
        evidence,
        ..finding
    }
}

/// One check of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable id.
    pub id: &'static str,
    /// Family, for grouping in help and docs.
    pub family: &'static str,
    /// What the check looks at, in one line.
    pub title: &'static str,
    /// The check itself.
    pub run: fn(&Context<'_>, &mut Report),
}

/// Every check, in catalogue order.
pub const CHECKS: &[Check] = &[
    listen::ACCEPT_QUEUE_FULL,
    listen::LISTENER_DROPS,
    listen::LISTEN_OVERFLOW_RATE,
    listen::BACKLOG_CLAMPED_BY_SOMAXCONN,
    listen::BACKLOG_BELOW_SOMAXCONN,
    listen::SOMAXCONN_LOW,
    listen::SYN_QUEUE_PRESSURE,
    listen::SYNCOOKIES_DISABLED,
    listen::HANDSHAKE_SYSCTLS,
    listen::LISTEN_FLOOD_OR_SLOW,
    ports::EPHEMERAL_PORTS_EXHAUSTED,
    ports::PORT_RANGE_CONFIG,
    states::TIME_WAIT_BUCKETS,
    states::TIME_WAIT_MYTHS,
    states::CLOSE_WAIT_LEAK,
    memory::ORPHAN_SOCKETS,
    memory::TCP_MEM_PRESSURE,
    memory::BUFFERS_VS_BDP,
    memory::UDP_RCVBUF_ERRORS,
    ingress::SOFTNET_DROPS,
    ingress::NIC_RX_DROPS,
    path::MTU_MISMATCH,
    path::PMTU_BLACKHOLE_RISK,
    path::RETRANSMIT_RATE,
    path::CONNTRACK_FULL,
    path::NETNS_DIVERGENCE,
];

/// The catalogue entry of a check id.
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|check| check.id == id)
}

/// Runs every check that is not silenced. Findings come out most severe first, then by id and
/// subject, so the order is stable from one sample to the next.
pub fn run(context: &Context<'_>) -> Outcome {
    let mut report = Report::default();
    for check in CHECKS.iter().filter(|check| !context.rules.is_silenced(check.id)) {
        (check.run)(context, &mut report);
    }
    let mut findings = report.findings;
    findings.sort_by(lifecycle::order);
    Outcome { findings, not_evaluated: report.not_evaluated }
}

/// A level measured against a kernel limit (TIME_WAIT buckets, orphans, conntrack entries):
/// the shared severity ladder and evidence of such checks.
pub(crate) struct LimitUsage {
    /// What is counted, e.g. "orphaned sockets".
    pub(crate) label: &'static str,
    /// How many there are.
    pub(crate) used: i64,
    /// The limit's name, e.g. "tcp_max_orphans".
    pub(crate) limit_label: &'static str,
    /// The limit.
    pub(crate) limit: i64,
    /// Share of the limit that warns.
    pub(crate) warning: f64,
    /// Share of the limit that is critical.
    pub(crate) critical: f64,
    /// A counter proving loss in the interval (name, increase): critical whenever present.
    pub(crate) lost: Option<(&'static str, i64)>,
    /// A kernel log line about this limit: information at least.
    pub(crate) logged: Option<Evidence>,
}

impl LimitUsage {
    /// `used / limit`.
    pub(crate) fn share(&self) -> f64 {
        if self.limit > 0 { self.used as f64 / self.limit as f64 } else { 1.0 }
    }

    /// Critical on loss or past the critical share, warning past the warning share,
    /// information when only the kernel log mentions it, else nothing.
    pub(crate) fn severity(&self) -> Option<Severity> {
        let share = self.share();
        if self.lost.is_some() || share >= self.critical {
            Some(Severity::Critical)
        } else if share >= self.warning {
            Some(Severity::Warning)
        } else {
            self.logged.as_ref().map(|_| Severity::Info)
        }
    }

    /// The level, the limit, the share, the loss and the log line.
    pub(crate) fn evidence(&self) -> Vec<Evidence> {
        let share = self.share();
        let mut evidence = vec![
            Evidence::number(self.label, self.used.to_string(), self.used as f64),
            Evidence::number(self.limit_label, self.limit.to_string(), self.limit as f64),
            Evidence::number("share", crate::format::percent(share), share),
        ];
        if let Some((counter, delta)) = self.lost {
            evidence.push(Evidence::number(format!("{counter} in the interval"), delta.to_string(), delta as f64));
        }
        evidence.extend(self.logged.clone());
        evidence
    }
}

/// Every check's tests pass through here: a finding must list each catalogued setting its
/// remedy names, and list only catalogued settings.
#[cfg(test)]
fn assert_names_its_settings(finding: &Finding) {
    for setting in crate::settings::SETTINGS {
        let named = finding.remedy.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'));
        if named.into_iter().any(|word| word == setting.name) {
            assert!(finding.settings.contains(&setting.name), "{} names {} in its remedy", finding.id, setting.name);
        }
    }
    for name in &finding.settings {
        assert!(crate::settings::find(name).is_some(), "{}: {name} is not a catalogued setting", finding.id);
    }
}

/// A finding about one kernel setting, with its value as the evidence.
pub(crate) fn setting_finding(
    id: &'static str,
    severity: Severity,
    name: &'static str,
    value: i64,
    summary: String,
    explanation: &str,
    remedy: &str,
) -> Finding {
    Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: name.to_string() },
        summary,
        explanation: explanation.to_string(),
        evidence: vec![Evidence::number(name, value.to_string(), value as f64)],
        remedy: remedy.to_string(),
        settings: vec![name],
    }
}

/// Why the walk of every socket (state counts, SYN_RECV, ports) is missing: skipped on
/// purpose (`report --listeners`), or failed.
pub(crate) fn walk_missing(sample: &Sample) -> String {
    match sample.unavailable_reason(&crate::sample::Source::TcpStates) {
        Some(reason) => format!("the TCP socket dump failed: {reason}"),
        None if sample.skipped.contains(&crate::sample::Source::TcpStates) => {
            "the walk of every socket was not asked for (--listeners)".to_string()
        }
        None => "the TCP socket dump is unavailable".to_string(),
    }
}

/// Why the established-flow summary is missing.
pub(crate) fn flows_missing(sample: &Sample) -> String {
    match sample.unavailable_reason(&crate::sample::Source::TcpStates) {
        Some(reason) => format!("the TCP socket dump failed: {reason}"),
        None => "established flows were not collected".to_string(),
    }
}

/// The kernel release as (major, minor), when it can be read from the sample.
pub(crate) fn kernel_version(sample: &Sample) -> Option<(u32, u32)> {
    let release = &sample.host.as_ref()?.kernel;
    let mut parts = release.split(|c: char| !c.is_ascii_digit()).filter(|part| !part.is_empty());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_kebab_case_and_complete() {
        let mut ids: Vec<&str> = CHECKS.iter().map(|check| check.id).collect();
        assert_eq!(ids.len(), 26);
        assert!(ids.iter().all(|id| id.chars().all(|c| c.is_ascii_lowercase() || c == '-')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 26);
    }

    /// A recording can hold any number: every check judges counters that grew by `i64::MAX`
    /// and settings at `i64::MAX` without overflowing.
    #[test]
    fn every_check_survives_extreme_counters_and_settings() {
        use crate::sample::{CounterSections, SysctlValue};
        use testkit::*;
        let before = sample(1);
        let mut after = sample(2);
        let extreme = |sections: &mut Option<CounterSections>| {
            for fields in sections.iter_mut().flat_map(|sections| sections.values_mut()) {
                fields.values_mut().for_each(|value| *value = i64::MAX);
            }
        };
        extreme(&mut after.netstat);
        extreme(&mut after.snmp);
        let udp6 = ["InDatagrams", "RcvbufErrors", "MemErrors"].map(|name| (name.to_string(), i64::MAX));
        after.snmp6 = Some([("Udp6".to_string(), udp6.into_iter().collect())].into_iter().collect());
        let mut before = before;
        let zero = ["InDatagrams", "RcvbufErrors", "MemErrors"].map(|name| (name.to_string(), 0));
        before.snmp6 = Some([("Udp6".to_string(), zero.into_iter().collect())].into_iter().collect());
        before.conntrack = Some([("drop".to_string(), 0), ("early_drop".to_string(), 0)].into_iter().collect());
        after.conntrack =
            Some([("drop".to_string(), i64::MAX as u64), ("early_drop".to_string(), i64::MAX as u64)].into());
        for sysctls in after.sysctls.iter_mut() {
            for value in sysctls.values_mut().filter(|value| matches!(value, SysctlValue::Integer(_))) {
                *value = SysctlValue::Integer(i64::MAX);
            }
            sysctls.insert("net.netfilter.nf_conntrack_count".into(), SysctlValue::Integer(i64::MAX));
            sysctls.insert("net.netfilter.nf_conntrack_max".into(), SysctlValue::Integer(i64::MAX));
        }
        after.interfaces =
            Some(vec![interface(1, "eth0", u32::MAX, None), interface(2, "vx0", u32::MAX, Some("vxlan"))]);
        add_listener(&mut after, listener("0.0.0.0", 80, 7, u32::MAX, u32::MAX), Some((1, "app")));
        let mut pipeline = crate::engine::Pipeline::new(Rules::default());
        pipeline.push(before);
        let frame = pipeline.push(after);
        assert!(frame.findings.findings.iter().any(|finding| finding.id == "udp-rcvbuf-errors"));
    }

    #[test]
    fn severities_order_from_info_to_critical() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(serde_json::to_string(&Severity::Warning).ok().as_deref(), Some("\"warning\""));
    }

    #[test]
    fn findings_quote_hostile_names_escaped_and_keep_them_in_the_subject() {
        use testkit::{add_listener, listener, run_check, sample};
        let name = "\x1b]2;OWNED\x07\nFix: x";
        let samples: Vec<Sample> = (100..102)
            .map(|second| {
                let mut sample = sample(second);
                add_listener(&mut sample, listener("127.0.0.1", 8080, 7, 129, 128), Some((812, name)));
                sample
            })
            .collect();
        let outcome = run_check(&listen::ACCEPT_QUEUE_FULL, &samples);
        let finding = outcome.findings.first().expect("a full queue is a finding");
        let evidence = finding.evidence.iter().flat_map(|item| [&item.label, &item.value]);
        let texts = [&finding.summary, &finding.explanation, &finding.remedy].into_iter().chain(evidence);
        for text in texts.chain([&finding.subject.label()]) {
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        assert!(
            finding.explanation.starts_with(r"\x1b]2;OWNED\x07\x0aFix: x on 127.0.0.1:8080"),
            "{}",
            finding.explanation
        );
        assert_eq!(finding.subject.label(), r"tcp 127.0.0.1:8080 (\x1b]2;OWNED\x07\x0aFix: x[812])");
        let Subject::Listener { processes, .. } = &finding.subject else { panic!("{:?}", finding.subject) };
        assert_eq!(processes[0].command, name, "the subject keeps the name exactly");
    }

    #[test]
    fn subjects_read_naturally() {
        let key = ListenerKey { netns: 4_026_531_833, cookie: 7 };
        let listener = Subject::Listener {
            key,
            protocol: Protocol::Tcp,
            endpoint: Endpoint::Inet("::".parse().expect("ip"), 8080),
            processes: vec![ProcessRef { pid: 812, command: "nginx".into() }],
        };
        assert_eq!(listener.label(), "tcp [::]:8080 (nginx[812])");
        assert_eq!(listener.listener_key(), Some(key));
        let json = serde_json::to_value(&listener).expect("serialises");
        assert_eq!((json["protocol"].as_str(), json["endpoint"].as_str()), (Some("tcp"), Some("[::]:8080")));
        assert_eq!(json["key"]["cookie"], 7);
        let destination = Subject::Destination {
            local_address: "10.0.0.1".parse().expect("ip"),
            remote_address: "2001:db8::5".parse().expect("ip"),
            remote_port: 443,
        };
        assert_eq!(destination.label(), "10.0.0.1 -> [2001:db8::5]:443");
        assert_eq!(serde_json::to_value(&destination).expect("serialises")["remote_address"], "2001:db8::5");
    }
}
