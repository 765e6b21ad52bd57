//! The accept queue: full or nearly full queues, the per-listener drop counter, and the
//! namespace's ListenOverflows and ListenDrops decomposed.

use super::owner::{OwnerSide, owner_side};
use super::{listener_subject, needs_interval, netns_subject, tcp_listeners_unavailable, who};
use crate::advise::{Check, Context, Evidence, Finding, Report, Severity, kernel_version};
use crate::format as units;
use crate::model::Protocol;
use crate::model::history::History;
use crate::sample::counters::{DEFER_ACCEPT_DROP, LISTEN_DROPS, LISTEN_OVERFLOWS, PASSIVE_OPENS, REQ_Q_FULL_DROP};

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
        let finding = Finding {
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
        };
        report.add(with_owner_side(finding, owner_side(listener)));
    }
}

/// The remedy for drops at a full accept queue.
const ACCEPT_FASTER: &str = "As for a full accept queue: make the application accept faster, or raise its backlog and \
     somaxconn and restart it. For drops with a low average fill, look for periodic stalls (GC, log flushes, cron \
     jobs, fsync) or trace them with bcc/bpftrace tcpsynbl or the TCP_LISTEN_OVERFLOW drop reason (Linux 6.15+).";

/// The remedy for SYNs dropped at a full SYN queue (syncookies off).
const SYN_QUEUE_REMEDY: &str = "A SYN queue, not the accept queue: turn syncookies back on \
     (net.ipv4.tcp_syncookies=1), or raise net.ipv4.tcp_max_syn_backlog and the listener's backlog (bounded by \
     net.core.somaxconn) and restart it; a SYN flood needs SYN cookies or SYNPROXY upstream.";

/// The remedy for listener drops that neither queue explains.
const OTHER_DROPS_REMEDY: &str = "Not a full queue: with net.ipv4.tcp_syncookies=0, SYNs from unknown peers are \
     dropped once the SYN queue passes three quarters of net.ipv4.tcp_max_syn_backlog (keep cookies at 1); \
     otherwise look at memory pressure (tcp-mem-pressure) and routing toward the clients.";

/// A listener finding with the owner's side added: the main cause after the summary, every
/// cause in the explanation, the owners in the evidence and the causes' remedy first.
pub(super) fn with_owner_side(mut finding: Finding, side: Option<OwnerSide>) -> Finding {
    let Some(side) = side else { return finding };
    if let Some(clause) = &side.clause {
        finding.summary = format!("{}; {clause}", finding.summary);
    }
    if !side.explanation.is_empty() {
        finding.explanation = format!("{} {}", side.explanation, finding.explanation);
    }
    finding.evidence.extend(side.evidence);
    if let Some(remedy) = side.remedy {
        finding.remedy = format!("{remedy} {}", finding.remedy);
    }
    finding
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
    let syn_queue_drops = model.counters.delta(REQ_Q_FULL_DROP).unwrap_or(0);
    let interval = units::interval(model.interval.unwrap_or_default());
    let mut any_moved = false;
    for listener in model.listeners.iter().filter(|l| l.protocol == Protocol::Tcp) {
        let Some(delta) = listener.drops_delta.filter(|delta| *delta > 0) else { continue };
        any_moved = true;
        let (severity, cause, remedy) = if overflows > 0 {
            (
                Severity::Critical,
                format!("the namespace counted {overflows} accept-queue overflows in the same interval"),
                ACCEPT_FASTER,
            )
        } else if deferred >= delta as i64 {
            (
                Severity::Info,
                format!("TCPDeferAcceptDrop rose by {deferred}: a TCP_DEFER_ACCEPT listener ignoring bare ACKs"),
                "Nothing to do if the listener uses TCP_DEFER_ACCEPT on purpose: the ignored ACKs are counted as \
                 drops.",
            )
        } else if syn_queue_drops > 0 {
            (
                Severity::Warning,
                format!(
                    "ListenOverflows did not move but TCPReqQFullDrop rose by {syn_queue_drops}: SYNs dropped at a \
                     full SYN queue with syncookies off, not at the accept queue"
                ),
                SYN_QUEUE_REMEDY,
            )
        } else {
            (
                Severity::Warning,
                "ListenOverflows did not move: these drops were not caused by a full queue".to_string(),
                OTHER_DROPS_REMEDY,
            )
        };
        let side = owner_side(listener).filter(|_| severity == Severity::Critical);
        let finding = Finding {
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
            remedy: remedy.to_string(),
            settings: match remedy {
                SYN_QUEUE_REMEDY => {
                    vec!["net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog", "net.core.somaxconn"]
                }
                OTHER_DROPS_REMEDY => vec!["net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog"],
                _ => Vec::new(),
            },
        };
        report.add(with_owner_side(finding, side));
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
    let other = drops.saturating_sub(overflows).saturating_sub(queue_full_drops);
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
                 overflows in {}: {}; each one costs a client at least a second.",
                overflows,
                units::interval(interval),
                match passive {
                    0 => "no inbound connection completed at all (PassiveOpens did not move)".to_string(),
                    _ => format!("{} of new inbound connections", units::percent(share)),
                }
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
