//! Checks of the listen and accept path: full accept queues, listener drops, overflow rates,
//! backlogs against somaxconn, SYN-queue pressure, syncookies and handshake settings.
//! Kernel facts behind them: `shared/reference/kernel-queues.md`.

use super::{Check, Context, Evidence, Finding, Report, Severity, Subject, kernel_version, setting_finding};
use crate::model::history::History;
use crate::model::{ListenerView, Protocol};
use crate::render::format as units;
use crate::sample::counters::{
    DEFER_ACCEPT_DROP, LISTEN_DROPS, LISTEN_OVERFLOWS, PASSIVE_OPENS, REQ_Q_FULL_DO_COOKIES, REQ_Q_FULL_DROP,
    SYNCOOKIES_FAILED, SYNCOOKIES_RECV, SYNCOOKIES_SENT,
};

/// The subject of a listener finding.
pub(crate) fn listener_subject(listener: &ListenerView) -> Subject {
    Subject::Listener {
        key: listener.key,
        protocol: listener.protocol,
        endpoint: listener.endpoint.clone(),
        processes: listener.processes.clone(),
    }
}

/// The subject of a per-namespace finding.
pub(crate) fn netns_subject(context: &Context<'_>) -> Subject {
    Subject::Netns { inode: context.sample.netns.as_ref().map(|netns| netns.inode) }
}

fn who(listener: &ListenerView) -> String {
    match listener.processes.first() {
        Some(process) => format!("{} on {}", process.command, listener.endpoint),
        None => format!("the listener on {}", listener.endpoint),
    }
}

/// Whether a listener is dropping connections because its accept queue overflows: full now, or
/// its drop counter moved while the namespace counted overflows.
fn in_trouble(context: &Context<'_>, listener: &ListenerView) -> bool {
    let thresholds = &context.rules.thresholds;
    let overflowed = context.model.counters.delta(LISTEN_OVERFLOWS).is_some_and(|delta| delta > 0);
    listener.full
        || listener.fill >= thresholds.accept_queue_fill
        || (overflowed && listener.drops_delta.is_some_and(|delta| delta > 0))
}

/// Whether a listener showed any queueing: connections or requests waiting now, drops in the
/// interval, or a non-zero fill in the recent history.
fn busy(context: &Context<'_>, listener: &ListenerView) -> bool {
    listener.accept_queue > 0
        || listener.syn_queue.is_some_and(|synq| synq > 0)
        || listener.drops_delta.is_some_and(|delta| delta > 0)
        || context.history.listener_fill(listener.key).iter().flatten().any(|fill| *fill > 0.0)
}

fn tcp_listeners_unavailable(context: &Context<'_>, report: &mut Report, id: &'static str) -> bool {
    if context.sample.tcp_listeners.is_some() {
        return false;
    }
    let reason = context.sample.unavailable_reason(&crate::sample::Source::TcpListeners).unwrap_or("not collected");
    report.not_evaluated(id, format!("TCP listeners unavailable: {reason}"));
    true
}

fn needs_interval(context: &Context<'_>, report: &mut Report, id: &'static str) -> bool {
    if context.model.interval.is_some() {
        return false;
    }
    report.not_evaluated(id, "needs two samples (use --interval)");
    true
}

/// `accept-queue-full`.
pub const ACCEPT_QUEUE_FULL: Check = Check {
    id: "accept-queue-full",
    family: "listen",
    title: "accept queue near or at its limit, per listener",
    run: accept_queue_full,
};

fn accept_queue_full(context: &Context<'_>, report: &mut Report) {
    let id = ACCEPT_QUEUE_FULL.id;
    if tcp_listeners_unavailable(context, report, id) {
        return;
    }
    let thresholds = &context.rules.thresholds;
    for listener in &context.model.listeners {
        let samples = thresholds.accept_queue_sustained_samples;
        let recent = History::last_n(&context.history.listener_fill(listener.key), samples);
        let sustained = recent
            .as_ref()
            .is_some_and(|fills| fills.iter().all(|fill| *fill >= thresholds.accept_queue_sustained_fill));
        let severity = if listener.full {
            Severity::Critical
        } else if listener.fill >= thresholds.accept_queue_fill || sustained {
            Severity::Warning
        } else {
            continue;
        };
        let summary = if listener.full {
            format!(
                "accept queue full ({} of {} slots): new connections to {} are being dropped",
                listener.accept_queue,
                listener.capacity(),
                listener.endpoint
            )
        } else if listener.fill >= thresholds.accept_queue_fill {
            format!(
                "accept queue {} full ({} of {} slots)",
                units::percent(listener.fill),
                listener.accept_queue,
                listener.capacity()
            )
        } else {
            format!(
                "accept queue at least {} full for {samples} samples in a row",
                units::percent(thresholds.accept_queue_sustained_fill)
            )
        };
        let mut evidence = vec![
            Evidence::number("accept queue", listener.accept_queue.to_string(), f64::from(listener.accept_queue)),
            Evidence::number("backlog (limit)", listener.backlog.to_string(), f64::from(listener.backlog)),
            Evidence::number("fill", format!("{} of backlog+1", units::percent(listener.fill)), listener.fill),
        ];
        if let Some(fills) = recent.filter(|_| sustained) {
            let shown: Vec<String> = fills.iter().map(|fill| units::percent(*fill)).collect();
            evidence.push(Evidence::fact("fill in the last samples", shown.join(", ")));
        }
        if let Some(rate) = listener.drops_per_second {
            evidence.push(Evidence::number("listener drops", units::rate(Some(rate)), rate));
        }
        let unix = listener.protocol == Protocol::Unix;
        report.add(Finding {
            id,
            severity,
            subject: listener_subject(listener),
            summary,
            explanation: format!(
                "{} has {} finished connections waiting for accept(); its queue holds {} (backlog + 1). {} \
                 This is almost always the application not calling accept() fast enough — a blocked event \
                 loop, too few workers, CPU throttling, a GC pause — not a network problem.",
                who(listener),
                listener.accept_queue,
                listener.capacity(),
                if unix {
                    "When it is full, new connect() calls block or fail with EAGAIN; UNIX sockets have no kernel drop counter."
                } else {
                    "When it is full the kernel silently drops new SYNs and final ACKs: clients see connect stalls of \
                     1 s, 3 s, 7 s, or connections that \"succeed\" and then hang."
                }
            ),
            evidence,
            remedy: "Make the application accept faster: more workers or threads, SO_REUSEPORT, no blocking work in \
                     the accept loop, check cgroup CPU throttling. If bursts are legitimate, raise the application's \
                     backlog and net.core.somaxconn, then restart the service (listen() must run again). Do not set \
                     net.ipv4.tcp_abort_on_overflow=1."
                .to_string(),
            settings: vec!["net.core.somaxconn", "net.ipv4.tcp_abort_on_overflow"],
        });
    }
}

/// `listener-drops`.
pub const LISTENER_DROPS: Check =
    Check { id: "listener-drops", family: "listen", title: "the per-listener drop counter moved", run: listener_drops };

fn listener_drops(context: &Context<'_>, report: &mut Report) {
    let id = LISTENER_DROPS.id;
    if tcp_listeners_unavailable(context, report, id) || needs_interval(context, report, id) {
        return;
    }
    if kernel_version(context.sample).is_some_and(|version| version < (4, 7)) {
        report.not_evaluated(id, "listeners have no drop counter before Linux 4.7; see listen-overflow-rate");
        return;
    }
    let model = context.model;
    let overflows = model.counters.delta(LISTEN_OVERFLOWS).unwrap_or(0);
    let deferred = model.counters.delta(DEFER_ACCEPT_DROP).unwrap_or(0);
    let interval = units::interval(model.interval.unwrap_or_default());
    let mut any_moved = false;
    for listener in model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp) {
        let Some(delta) = listener.drops_delta.filter(|delta| *delta > 0) else { continue };
        any_moved = true;
        let (severity, cause) = if overflows > 0 {
            (
                Severity::Critical,
                format!("the namespace counted {overflows} accept-queue overflows in the same interval"),
            )
        } else if deferred >= delta as i64 {
            (
                Severity::Info,
                format!("TCPDeferAcceptDrop rose by {deferred}: a TCP_DEFER_ACCEPT listener ignoring bare ACKs"),
            )
        } else {
            (Severity::Warning, "ListenOverflows did not move: these drops were not caused by a full queue".to_string())
        };
        report.add(Finding {
            id,
            severity,
            subject: listener_subject(listener),
            summary: format!("dropped {delta} handshake packets in {interval}"),
            explanation: format!(
                "The kernel dropped {delta} packets for {} in the last {interval} ({cause}). This count is exact \
                 even when the queue looked empty at every sample: the application stalls for a fraction of a \
                 second and the queue overflows in between.",
                who(listener)
            ),
            evidence: vec![
                Evidence::number("listener drops", delta.to_string(), delta as f64),
                Evidence::number(
                    "drops per second",
                    units::rate(listener.drops_per_second),
                    listener.drops_per_second.unwrap_or(0.0),
                ),
                Evidence::number("ListenOverflows in the interval", overflows.to_string(), overflows as f64),
                Evidence::number(
                    "accept queue now",
                    format!("{}/{}", listener.accept_queue, listener.backlog),
                    f64::from(listener.accept_queue),
                ),
            ],
            remedy: if severity == Severity::Info {
                "Nothing to do if the listener uses TCP_DEFER_ACCEPT on purpose: the ignored ACKs are counted as drops."
                    .to_string()
            } else {
                "As for a full accept queue: make the application accept faster, or raise its backlog and \
                 somaxconn and restart it. For drops with a low average fill, look for periodic stalls (GC, log \
                 flushes, cron jobs, fsync) or trace them with bcc/bpftrace tcpsynbl or the TCP_LISTEN_OVERFLOW \
                 drop reason (Linux 6.15+)."
                    .to_string()
            },
            settings: Vec::new(),
        });
    }
    if overflows > 0 && !any_moved {
        report.add(Finding {
            id,
            severity: Severity::Info,
            subject: netns_subject(context),
            summary: format!("{overflows} accept-queue overflows that no listener accounts for"),
            explanation: "ListenOverflows rose but no listener's drop counter moved: the listener closed between \
                          the samples, or it lives in a network namespace sockscope is not looking at."
                .to_string(),
            evidence: vec![Evidence::number(
                "ListenOverflows in the interval",
                overflows.to_string(),
                overflows as f64,
            )],
            remedy: "Run sockscope in the namespace of each service (nsenter -n -t <pid>) to find the listener."
                .to_string(),
            settings: Vec::new(),
        });
    }
}

/// `listen-overflow-rate`.
pub const LISTEN_OVERFLOW_RATE: Check = Check {
    id: "listen-overflow-rate",
    family: "listen",
    title: "ListenOverflows and ListenDrops of the namespace, decomposed",
    run: listen_overflow_rate,
};

fn listen_overflow_rate(context: &Context<'_>, report: &mut Report) {
    let id = LISTEN_OVERFLOW_RATE.id;
    let model = context.model;
    if model.counters.total(LISTEN_OVERFLOWS).is_none() {
        let reason = context
            .sample
            .unavailable_reason(&crate::sample::Source::Netstat)
            .unwrap_or("ListenOverflows not reported");
        report.not_evaluated(id, format!("/proc/net/netstat unavailable: {reason}"));
        return;
    }
    let Some(interval) = model.interval else {
        since_boot_overflows(context, report);
        return;
    };
    let thresholds = &context.rules.thresholds;
    let overflows = model.counters.delta(LISTEN_OVERFLOWS).unwrap_or(0);
    let drops = model.counters.delta(LISTEN_DROPS).unwrap_or(0);
    let queue_full_drops = model.counters.delta(REQ_Q_FULL_DROP).unwrap_or(0);
    let passive = model.counters.delta(PASSIVE_OPENS).unwrap_or(0);
    let other = drops - overflows - queue_full_drops;
    let rate = overflows as f64 / interval;
    let share = if passive > 0 { overflows as f64 / passive as f64 } else { 0.0 };
    let mut evidence = vec![
        Evidence::number("ListenOverflows", format!("{overflows} ({})", units::rate(Some(rate))), overflows as f64),
        Evidence::number("ListenDrops", drops.to_string(), drops as f64),
        Evidence::number("TCPReqQFullDrop", queue_full_drops.to_string(), queue_full_drops as f64),
        Evidence::number("PassiveOpens", passive.to_string(), passive as f64),
        Evidence::number("interval", units::interval(interval), interval),
    ];
    if overflows > 0 {
        let severity = if rate > thresholds.listen_overflow_rate || share > thresholds.listen_overflow_ratio {
            Severity::Critical
        } else {
            Severity::Warning
        };
        if passive > 0 {
            evidence.push(Evidence::number("share of new inbound connections", units::percent(share), share));
        }
        report.add(Finding {
            id,
            severity,
            subject: netns_subject(context),
            summary: format!("{} accept-queue overflows ({}) in this namespace", overflows, units::rate(Some(rate))),
            explanation: format!(
                "ListenOverflows counts handshake packets dropped because an accept queue was full; ListenDrops \
                 counts every packet a listener dropped for any reason, so it is always at least as large. {} \
                 overflows in {} are {} of new inbound connections; each one costs a client at least a second.",
                overflows,
                units::interval(interval),
                units::percent(share)
            ),
            evidence,
            remedy: "Find the listener (listener-drops, accept-queue-full) and make its application accept faster, \
                     or raise its backlog and somaxconn and restart it."
                .to_string(),
            settings: Vec::new(),
        });
    } else if other > 0 {
        report.add(Finding {
            id,
            severity: if other > overflows { Severity::Warning } else { Severity::Info },
            subject: netns_subject(context),
            summary: format!("{other} listen drops not explained by queue overflow"),
            explanation: "ListenDrops rose without ListenOverflows or TCPReqQFullDrop: listeners dropped packets for \
                          other reasons — with syncookies off, SYNs from unknown peers once the SYN queue passes \
                          three quarters of tcp_max_syn_backlog; memory or route failures; failures to create the \
                          child socket."
                .to_string(),
            evidence,
            remedy: "Check net.ipv4.tcp_syncookies (keep it at 1), memory pressure (tcp-mem-pressure) and routing \
                     for the clients' addresses."
                .to_string(),
            settings: vec!["net.ipv4.tcp_syncookies"],
        });
    }
}

/// One sample only: totals since boot, as information.
fn since_boot_overflows(context: &Context<'_>, report: &mut Report) {
    let model = context.model;
    let total = model.counters.total(LISTEN_OVERFLOWS).unwrap_or(0);
    if total == 0 {
        return;
    }
    let uptime = context.sample.host.as_ref().map(|host| host.uptime_seconds);
    let since = uptime.map_or_else(|| "since boot".to_string(), |s| format!("in {} since boot", units::duration(s)));
    report.add(Finding {
        id: LISTEN_OVERFLOW_RATE.id,
        severity: Severity::Info,
        subject: netns_subject(context),
        summary: format!("{total} accept-queue overflows {since}"),
        explanation: "A total since boot says overflows happened, not whether they still do. Take two samples \
                      (--interval) to see the current rate."
            .to_string(),
        evidence: vec![
            Evidence::number("ListenOverflows", total.to_string(), total as f64),
            Evidence::number(
                "ListenDrops",
                units::count(model.counters.total(LISTEN_DROPS)),
                model.counters.total(LISTEN_DROPS).unwrap_or(0) as f64,
            ),
        ],
        remedy: "Run `sockscope check` (two samples) or `sockscope report --interval 10s`.".to_string(),
        settings: Vec::new(),
    });
}

/// Well-known backlog values and who passes them.
fn backlog_origin(backlog: u32) -> Option<&'static str> {
    Some(match backlog {
        511 => "511 is the default of nginx, Redis and Node.js",
        128 => "128 is a common library default, and the somaxconn of kernels before 5.4",
        4096 => "4096 is the somaxconn default since Linux 5.4",
        100 => "100 is a common library default",
        50 => "50 is Java's ServerSocket default",
        5 => "5 is the default of Python's socketserver",
        _ => return None,
    })
}

/// `backlog-clamped-by-somaxconn`.
pub const BACKLOG_CLAMPED_BY_SOMAXCONN: Check = Check {
    id: "backlog-clamped-by-somaxconn",
    family: "listen",
    title: "a listener asked for a backlog the kernel capped at somaxconn",
    run: backlog_clamped,
};

/// somaxconn and the TCP listeners, or `None` after recording why check `id` cannot run.
fn somaxconn_and_listeners<'a>(
    context: &'a Context<'_>,
    report: &mut Report,
    id: &'static str,
) -> Option<(i64, impl Iterator<Item = &'a ListenerView> + use<'a>)> {
    if tcp_listeners_unavailable(context, report, id) {
        return None;
    }
    let Some(somaxconn) = context.sysctl("net.core.somaxconn") else {
        report.not_evaluated(id, "net.core.somaxconn unavailable");
        return None;
    };
    Some((somaxconn, context.model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp)))
}

fn backlog_clamped(context: &Context<'_>, report: &mut Report) {
    let id = BACKLOG_CLAMPED_BY_SOMAXCONN.id;
    let Some((somaxconn, listeners)) = somaxconn_and_listeners(context, report, id) else { return };
    for listener in listeners {
        let backlog = i64::from(listener.backlog);
        let (severity, summary, explanation) = if backlog > somaxconn {
            (
                Severity::Info,
                format!("backlog {backlog} is above today's somaxconn {somaxconn}"),
                format!(
                    "This socket listened before net.core.somaxconn was lowered to {somaxconn}: the limit is \
                     applied only when listen() runs. After a restart it will get at most {somaxconn}."
                ),
            )
        } else if backlog == somaxconn && (in_trouble(context, listener) || busy(context, listener)) {
            let trouble = in_trouble(context, listener);
            (
                if trouble { Severity::Warning } else { Severity::Info },
                format!(
                    "backlog {backlog} is capped by net.core.somaxconn{}",
                    if trouble { " while the queue overflows" } else { "" }
                ),
                format!(
                    "listen() silently truncates the backlog to net.core.somaxconn ({somaxconn} in this network \
                     namespace). This service asked for at least that much — possibly -1, \"as large as allowed\" — \
                     so raising somaxconn will enlarge both its SYN queue and its accept queue, after the service \
                     calls listen() again."
                ),
            )
        } else {
            continue;
        };
        report.add(Finding {
            id,
            severity,
            subject: listener_subject(listener),
            summary,
            explanation,
            evidence: vec![
                Evidence::number("backlog", backlog.to_string(), backlog as f64),
                Evidence::number("net.core.somaxconn", somaxconn.to_string(), somaxconn as f64),
                Evidence::number("fill", units::percent(listener.fill), listener.fill),
            ],
            remedy: format!(
                "sysctl -w net.core.somaxconn={} and persist it in /etc/sysctl.d/*.conf, then restart the service: \
                 existing listeners keep their old limit. In Kubernetes set it per pod (securityContext.sysctls); \
                 pods do not inherit the host value.",
                (somaxconn.max(1) * 2).max(4096)
            ),
            settings: vec!["net.core.somaxconn"],
        });
    }
}

/// `backlog-below-somaxconn`.
pub const BACKLOG_BELOW_SOMAXCONN: Check = Check {
    id: "backlog-below-somaxconn",
    family: "listen",
    title: "a busy listener asked for less than somaxconn allows",
    run: backlog_below,
};

fn backlog_below(context: &Context<'_>, report: &mut Report) {
    let id = BACKLOG_BELOW_SOMAXCONN.id;
    let Some((somaxconn, listeners)) = somaxconn_and_listeners(context, report, id) else { return };
    for listener in listeners {
        let backlog = i64::from(listener.backlog);
        // Every idle daemon with a small backlog would qualify; only listeners that queue are named.
        if backlog >= somaxconn || !busy(context, listener) {
            continue;
        }
        let trouble = in_trouble(context, listener);
        let mut evidence = vec![
            Evidence::number("backlog", backlog.to_string(), backlog as f64),
            Evidence::number("net.core.somaxconn", somaxconn.to_string(), somaxconn as f64),
            Evidence::number("fill", units::percent(listener.fill), listener.fill),
        ];
        if let Some(origin) = backlog_origin(listener.backlog) {
            evidence.push(Evidence::fact("likely origin", origin));
        }
        report.add(Finding {
            id,
            severity: if trouble { Severity::Warning } else { Severity::Info },
            subject: listener_subject(listener),
            summary: format!(
                "backlog {backlog} chosen by the application, below somaxconn {somaxconn}{}",
                if trouble { ", and the queue overflows" } else { "" }
            ),
            explanation: format!(
                "somaxconn is {somaxconn} but this listener's queue is only {backlog} because the application \
                 passed a smaller backlog to listen() (or listened before somaxconn was raised). Raising \
                 somaxconn further will not help this listener."
            ),
            evidence,
            remedy: "Raise the application's own backlog and restart it: nginx `listen ... backlog=N`, Redis \
                     `tcp-backlog`, gunicorn `--backlog`, Tomcat `acceptCount`, Java `new ServerSocket(port, backlog)`, \
                     Python socketserver `request_queue_size`, systemd socket units `Backlog=`. If it listened before \
                     a sysctl change, a restart alone is enough."
                .to_string(),
            settings: Vec::new(),
        });
    }
}

/// `somaxconn-low`.
pub const SOMAXCONN_LOW: Check = Check {
    id: "somaxconn-low",
    family: "listen",
    title: "net.core.somaxconn is low (the legacy 128 or similar)",
    run: somaxconn_low,
};

fn somaxconn_low(context: &Context<'_>, report: &mut Report) {
    let id = SOMAXCONN_LOW.id;
    let model = context.model;
    let Some(somaxconn) = context.sysctl("net.core.somaxconn") else {
        report.not_evaluated(id, "net.core.somaxconn unavailable");
        return;
    };
    let listeners: Vec<&ListenerView> = model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp).collect();
    let modern = kernel_version(context.sample).is_some_and(|version| version >= (5, 4));
    let low = somaxconn < context.rules.thresholds.somaxconn_min;
    let severity = if low && listeners.iter().any(|l| in_trouble(context, l) && i64::from(l.backlog) >= somaxconn) {
        Severity::Critical
    } else if low && !listeners.is_empty() {
        Severity::Warning
    } else if somaxconn == 128 && modern {
        Severity::Info
    } else {
        return;
    };
    let mut evidence = vec![
        Evidence::number("net.core.somaxconn", somaxconn.to_string(), somaxconn as f64),
        Evidence::number("TCP listeners", listeners.len().to_string(), listeners.len() as f64),
    ];
    let capped: Vec<String> = listeners
        .iter()
        .filter(|l| i64::from(l.backlog) == somaxconn)
        .map(|l| l.endpoint.to_string())
        .take(5)
        .collect();
    if !capped.is_empty() {
        evidence.push(Evidence::fact("listeners capped at it", capped.join(", ")));
    }
    if let Some(host) = &context.sample.host {
        evidence.push(Evidence::fact("kernel", host.kernel.clone()));
    }
    report.add(Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: "net.core.somaxconn".into() },
        summary: format!(
            "net.core.somaxconn is {somaxconn}{}",
            if modern && somaxconn < 4096 { " (kernel default 4096)" } else { "" }
        ),
        explanation: format!(
            "somaxconn caps every listener's accept and SYN queues, whatever the application asks for. 128 was the \
             default for more than twenty years; kernels since 5.4 default to 4096{}.",
            if modern && somaxconn == 128 {
                ", so 128 here means somebody lowered it — often an old sysctl.conf, or a container runtime"
            } else {
                ""
            }
        ),
        evidence,
        remedy: "Set net.core.somaxconn = 4096 (or higher for bursty front ends) in /etc/sysctl.d/, apply it with \
                 `sysctl --system`, then restart the listeners: the limit is applied at listen() time."
            .to_string(),
        settings: vec!["net.core.somaxconn"],
    });
}

/// `syn-queue-pressure`.
pub const SYN_QUEUE_PRESSURE: Check = Check {
    id: "syn-queue-pressure",
    family: "listen",
    title: "SYN queues filling, SYN cookies in use",
    run: syn_queue_pressure,
};

fn syn_queue_pressure(context: &Context<'_>, report: &mut Report) {
    let id = SYN_QUEUE_PRESSURE.id;
    let model = context.model;
    let thresholds = &context.rules.thresholds;
    if model.tcp_states.is_none() {
        report.not_evaluated(id, "the TCP socket dump (SYN_RECV) is unavailable");
    }
    for listener in model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp) {
        let Some(synq) = listener.syn_queue else { continue };
        let limit = f64::from(listener.backlog.max(1));
        let at_limit = synq >= listener.backlog.max(1);
        if f64::from(synq) / limit <= thresholds.syn_queue_ratio && !at_limit {
            continue;
        }
        let shared = if listener.syn_shared_by > 1 {
            format!(" (shared by an SO_REUSEPORT group of {})", listener.syn_shared_by)
        } else {
            String::new()
        };
        report.add(Finding {
            id,
            severity: Severity::Warning,
            subject: listener_subject(listener),
            summary: if at_limit {
                format!("SYN queue at its limit: {synq} half-open of {}{shared}", listener.backlog)
            } else {
                format!("SYN queue over half full: {synq} half-open of {}{shared}", listener.backlog)
            },
            explanation: "More than half of this listener's SYN queue holds half-open handshakes; above half the \
                          kernel starts cutting SYN-ACK retries for old requests, and at the limit further SYNs get \
                          cookies or are dropped. Listeners using TCP_DEFER_ACCEPT hold requests legitimately until \
                          the client sends data."
                .to_string(),
            evidence: vec![
                Evidence::number("half-open requests", synq.to_string(), f64::from(synq)),
                Evidence::number(
                    "of which retransmitted",
                    units::count(listener.syn_retransmitted),
                    f64::from(listener.syn_retransmitted.unwrap_or(0)),
                ),
                Evidence::number("backlog (limit)", listener.backlog.to_string(), f64::from(listener.backlog)),
            ],
            remedy: "If these are real clients, raise the listener's backlog and somaxconn (on kernels >= 4.3 the SYN \
                     queue size is the backlog) and restart it. If the SYN-ACKs are not answered, look for an attack \
                     or a return-path problem (asymmetric routing, a firewall dropping the clients' ACKs)."
                .to_string(),
            settings: Vec::new(),
        });
    }
    cookie_pressure(context, report);
    flood_log_lines(context, report);
}

/// The port in "Possible SYN flooding on port 0.0.0.0:8080. Sending cookies." (newer kernels
/// print the address, older ones only the port).
fn flood_port(message: &str) -> Option<u16> {
    let after = message.split("SYN flooding on port ").nth(1)?;
    let endpoint = after.split(|c: char| c.is_whitespace()).next()?.trim_end_matches('.');
    endpoint.rsplit(':').next()?.parse().ok()
}

/// Kernel log lines about SYN floods: evidence that a SYN queue overflowed at least once. The
/// kernel prints the line once per listener, so it proves an event, not a rate.
fn flood_log_lines(context: &Context<'_>, report: &mut Report) {
    let model = context.model;
    let Some(events) = context.sample.kernel_events.as_ref() else { return };
    let mut seen = std::collections::HashSet::new();
    for event in events.iter().rev().filter(|event| event.kind == crate::sample::KernelEventKind::SynFlood) {
        let port = flood_port(&event.message);
        if !seen.insert(port) {
            continue;
        }
        let listener =
            model.listeners.iter().find(|l| l.protocol == Protocol::Tcp && port.is_some() && l.endpoint.port() == port);
        let age = (context.sample.boottime_ns / 1_000).saturating_sub(event.boot_micros) / 1_000_000;
        report.add(Finding {
            id: SYN_QUEUE_PRESSURE.id,
            severity: Severity::Info,
            subject: listener.map_or_else(|| netns_subject(context), listener_subject),
            summary: format!("the kernel logged a SYN flood {} ago", units::duration(age)),
            explanation: format!(
                "A SYN queue overflowed at least once; the kernel prints this line once per listener, so it proves                  the event, not a rate.{}",
                if listener.is_none() { " No listener here has that port: it may be in another namespace, or gone." } else { "" }
            ),
            evidence: vec![Evidence::fact("kernel log", event.message.clone())],
            remedy: "Watch TCPReqQFullDoCookies and SyncookiesSent (sockscope check, or the dashboard) to see whether it                      is still happening; then as for a SYN queue at its limit."
                .to_string(),
            settings: Vec::new(),
        });
    }
}

fn cookie_pressure(context: &Context<'_>, report: &mut Report) {
    let model = context.model;
    let Some(cookies) = model.counters.delta(REQ_Q_FULL_DO_COOKIES).filter(|delta| *delta > 0) else {
        return;
    };
    let sent = model.counters.delta(SYNCOOKIES_SENT).unwrap_or(0);
    let received = model.counters.delta(SYNCOOKIES_RECV).unwrap_or(0);
    let failed = model.counters.delta(SYNCOOKIES_FAILED).unwrap_or(0);
    let spoofed = sent > 0 && failed as f64 / sent as f64 > context.rules.thresholds.syncookies_failed_ratio;
    let verdict = if spoofed {
        "Most cookies come back invalid: this looks like spoofed SYNs or an ACK flood."
    } else if sent > 0 && received * 2 >= sent {
        "Most cookies come back valid: these are real clients and the backlog is simply too small."
    } else {
        "Few cookies have come back yet."
    };
    report.add(Finding {
        id: SYN_QUEUE_PRESSURE.id,
        severity: Severity::Warning,
        subject: netns_subject(context),
        summary: format!("SYN queues overflowed {cookies} times; answered with SYN cookies"),
        explanation: format!(
            "A SYN queue filled up, so the kernel answered new connections with SYN cookies. Connections still \
             work, but with cookies TCP options survive only when timestamps are on, and TCP_DEFER_ACCEPT, \
             TCP_SAVED_SYN and Fast Open do not work for them. The kernel documentation says cookies \"MUST NOT be \
             used to help highly loaded servers to stand against legal connection rate\". {verdict}"
        ),
        evidence: vec![
            Evidence::number("TCPReqQFullDoCookies", cookies.to_string(), cookies as f64),
            Evidence::number("SyncookiesSent", sent.to_string(), sent as f64),
            Evidence::number("SyncookiesRecv", received.to_string(), received as f64),
            Evidence::number("SyncookiesFailed", failed.to_string(), failed as f64),
        ],
        remedy: if spoofed {
            "Filter upstream (nftables/iptables SYNPROXY, XDP, the provider's DDoS protection) and keep \
             net.ipv4.tcp_syncookies=1 and net.ipv4.tcp_timestamps=1."
                .to_string()
        } else {
            "Raise the backlog of the busy listeners and net.core.somaxconn, then restart them: on kernels >= 4.3 \
             the SYN queue is as large as the backlog."
                .to_string()
        },
        settings: vec!["net.core.somaxconn", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_timestamps"],
    });
}

/// `syncookies-disabled`.
pub const SYNCOOKIES_DISABLED: Check = Check {
    id: "syncookies-disabled",
    family: "listen",
    title: "SYNs dropped because syncookies are off",
    run: syncookies_disabled,
};

fn syncookies_disabled(context: &Context<'_>, report: &mut Report) {
    let id = SYNCOOKIES_DISABLED.id;
    let model = context.model;
    let Some(mode) = context.sysctl("net.ipv4.tcp_syncookies") else {
        report.not_evaluated(id, "net.ipv4.tcp_syncookies unavailable");
        return;
    };
    let subject = Subject::Sysctl { name: "net.ipv4.tcp_syncookies".into() };
    let remedy = "sysctl -w net.ipv4.tcp_syncookies=1 (the kernel default) and persist it in /etc/sysctl.d/. If \
                  Oracle's bpftune runs, check whether it turned cookies off."
        .to_string();
    if let Some(dropped) = model.counters.delta(REQ_Q_FULL_DROP).filter(|delta| *delta > 0) {
        report.add(Finding {
            id,
            severity: Severity::Critical,
            subject: subject.clone(),
            summary: format!("{dropped} connection attempts dropped: SYN queue full and syncookies off"),
            explanation: format!(
                "SYN cookies are off (tcp_syncookies = {mode}), so whenever a SYN queue fills the kernel drops \
                 legitimate connection attempts. Eric Dumazet on disabling them: it \"makes a server vulnerable to \
                 a trivial DOS attack\"."
            ),
            evidence: vec![
                Evidence::number("TCPReqQFullDrop", dropped.to_string(), dropped as f64),
                Evidence::number("net.ipv4.tcp_syncookies", mode.to_string(), mode as f64),
            ],
            remedy: remedy.clone(),
            settings: vec!["net.ipv4.tcp_syncookies"],
        });
        return;
    }
    let exposed: Vec<String> = model
        .listeners
        .iter()
        .filter(|l| l.protocol == Protocol::Tcp && !l.endpoint.ip().is_some_and(|ip| ip.to_canonical().is_loopback()))
        .map(|l| l.endpoint.to_string())
        .take(5)
        .collect();
    let (severity, summary, explanation) = match mode {
        0 if !exposed.is_empty() => (
            Severity::Warning,
            "syncookies are off on a host with listeners reachable from the network".to_string(),
            "With tcp_syncookies = 0 a full SYN queue means dropped connection attempts, and a SYN flood takes the \
             service down."
                .to_string(),
        ),
        2 => (
            Severity::Warning,
            "syncookies are used for every SYN (tcp_syncookies = 2)".to_string(),
            "Mode 2 answers every SYN with a cookie, losing TCP options without timestamps and disabling \
             TCP_DEFER_ACCEPT and Fast Open; the kernel documentation presents it as a testing mode."
                .to_string(),
        ),
        _ => return,
    };
    let mut evidence = vec![Evidence::number("net.ipv4.tcp_syncookies", mode.to_string(), mode as f64)];
    if !exposed.is_empty() {
        evidence.push(Evidence::fact("listeners on the network", exposed.join(", ")));
    }
    let settings = vec!["net.ipv4.tcp_syncookies"];
    report.add(Finding { id, severity, subject, summary, explanation, evidence, remedy, settings });
}

/// `handshake-sysctls`.
pub const HANDSHAKE_SYSCTLS: Check = Check {
    id: "handshake-sysctls",
    family: "listen",
    title: "handshake settings that hurt or do nothing",
    run: handshake_sysctls,
};

fn handshake_sysctls(context: &Context<'_>, report: &mut Report) {
    let id = HANDSHAKE_SYSCTLS.id;
    let model = context.model;
    if context.sample.sysctls.is_none() {
        report.not_evaluated(id, "kernel settings unavailable");
        return;
    }
    let setting = |name: &str| context.sysctl(name);
    let cookies = setting("net.ipv4.tcp_syncookies");
    let mut add =
        |severity: Severity, name: &'static str, value: i64, summary: String, explanation: &str, remedy: &str| {
            report.add(setting_finding(id, severity, name, value, summary, explanation, remedy));
        };
    if setting("net.ipv4.tcp_abort_on_overflow") == Some(1) {
        add(
            Severity::Warning,
            "net.ipv4.tcp_abort_on_overflow",
            1,
            "tcp_abort_on_overflow = 1: clients get resets on every burst".into(),
            "When a final ACK meets a full accept queue the kernel resets the connection instead of letting the \
             client retry. The kernel documentation: \"Enable this option only if you are really sure that listening \
             daemon cannot be tuned to accept connections faster. Enabling this option can harm clients of your \
             server.\"",
            "sysctl -w net.ipv4.tcp_abort_on_overflow=0 and persist it; fix the slow accept() instead.",
        );
    }
    if let Some(backlog) = setting("net.ipv4.tcp_max_syn_backlog") {
        let largest =
            model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp).map(|l| i64::from(l.backlog)).max();
        match cookies {
            Some(mode) if mode >= 1 && !syn_backlog_is_default(context, backlog) => add(
                Severity::Info,
                "net.ipv4.tcp_max_syn_backlog",
                backlog,
                format!("tcp_max_syn_backlog = {backlog} has no effect while syncookies are on"),
                "On kernels >= 4.3 the SYN queue is as large as the listener's backlog; tcp_max_syn_backlog is read \
                 only when syncookies are off. Its documentation (\"maximal number of remembered connection \
                 requests\") does not match the code.",
                "Leave it at its default; size the SYN queue through the application's backlog and somaxconn.",
            ),
            Some(0) if largest.is_some_and(|largest| largest > backlog) => add(
                Severity::Warning,
                "net.ipv4.tcp_max_syn_backlog",
                backlog,
                format!("tcp_max_syn_backlog = {backlog} is below the largest listener backlog with syncookies off"),
                "With syncookies off, SYNs from peers the kernel has never completed a handshake with are dropped \
                 once fewer than a quarter of tcp_max_syn_backlog slots remain, before the listener's own backlog \
                 is reached.",
                "Turn syncookies back on (net.ipv4.tcp_syncookies=1), or raise tcp_max_syn_backlog above the largest \
                 backlog.",
            ),
            _ => {}
        }
    }
    if setting("net.ipv4.tcp_timestamps") == Some(0) {
        add(
            Severity::Warning,
            "net.ipv4.tcp_timestamps",
            0,
            "TCP timestamps are off".into(),
            "Without timestamps, connections made with SYN cookies lose window scaling and SACK, and tcp_tw_reuse \
             stops working.",
            "sysctl -w net.ipv4.tcp_timestamps=1 (the default) and persist it.",
        );
    }
    if let Some(retries) = setting("net.ipv4.tcp_synack_retries").filter(|r| !(2..=5).contains(r)) {
        add(
            Severity::Info,
            "net.ipv4.tcp_synack_retries",
            retries,
            format!("tcp_synack_retries = {retries} (default 5)"),
            "This many SYN-ACK retransmits are sent before a half-open request is dropped; the default 5 lets a \
             request live about 63 s. Fewer retries drop slow clients sooner; more keep half-open requests longer.",
            "Restore the default (5) unless there is a documented reason.",
        );
    }
}

/// Whether tcp_max_syn_backlog equals the kernel's default `max(128, ehash / 128)`. The hash
/// size is not exported, but the defaults of tcp_max_tw_buckets and tcp_max_orphans are both
/// `ehash / 2`; a value matching the default derived from either counts as default.
fn syn_backlog_is_default(context: &Context<'_>, backlog: i64) -> bool {
    let candidates = ["net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans"]
        .iter()
        .filter_map(|name| context.sysctl(name))
        .map(|half_ehash| (half_ehash * 2 / 128).max(128));
    let mut any = false;
    for default in candidates {
        any = true;
        if default == backlog {
            return true;
        }
    }
    !any
}

#[cfg(test)]
mod tests;
