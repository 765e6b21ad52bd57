//! "Flood or slow application?" — for a listener that dropped connections in the interval, the
//! listen-event source (eBPF) tells the two apart, which the counters cannot:
//!
//! - **Slow application**: accepted connections waited long in the accept queue (p99 at or
//!   above `accept_wait_slow_seconds`), or nothing was accepted while the queue was full. The
//!   finding names the owners and their state ([`super::owner`]).
//! - **Flood**: many distinct clients (`flood_clients`) were dropped at the SYN while few
//!   handshakes completed (accepts at most `flood_accept_share` of the drops). The finding names
//!   the top sources and says whether SYN cookies were sent, i.e. whether cookies kept the
//!   listener reachable for real clients.
//!
//! Not evaluated, with the reason, when the source is unavailable or not started.

use super::owner::owner_side;
use super::{listener_subject, needs_interval, tcp_listeners_unavailable, who};
use crate::advise::{Check, Context, Evidence, Finding, Report, Severity};
use crate::format as units;
use crate::model::listen_events::ActivityInterval;
use crate::model::{EventStatus, ListenerActivity, ListenerView};
use crate::sample::listen_events::DropReason;

/// At most this many dropped clients are named in a flood's evidence.
const SOURCES: usize = 5;

/// `listen-flood-or-slow`.
pub const LISTEN_FLOOD_OR_SLOW: Check = Check {
    id: "listen-flood-or-slow",
    family: "listen",
    title: "a dropping listener: a SYN flood or a slow application (eBPF listen events)",
    run: flood_or_slow,
};

fn flood_or_slow(context: &Context<'_>, report: &mut Report) {
    let id = LISTEN_FLOOD_OR_SLOW.id;
    let events = &context.model.listen_events;
    match &events.status {
        EventStatus::Active { .. } => {}
        EventStatus::Unavailable { reason } => {
            return report.not_evaluated(id, format!("listen-event source unavailable: {reason}"));
        }
        EventStatus::NotStarted => return report.not_evaluated(id, "listen-event source not started"),
    }
    if tcp_listeners_unavailable(context, report, id) || needs_interval(context, report, id) {
        return;
    }
    for listener in &context.model.listeners {
        let Some(activity) = events.listener(&listener.key) else { continue };
        let Some(interval) = activity.interval.as_ref().filter(|interval| dropped(interval) > 0) else { continue };
        if let Some(finding) = slow(context, listener, activity, interval) {
            report.add(finding);
        } else if let Some(finding) = flood(context, listener, activity, interval) {
            report.add(finding);
        }
    }
}

/// Connections dropped in the interval, every reason.
fn dropped(interval: &ActivityInterval) -> u64 {
    interval.drops.values().map(|count| count.delta).sum()
}

/// SYNs dropped in the interval (both predicted reasons).
fn dropped_at_syn(interval: &ActivityInterval) -> u64 {
    [DropReason::SynAcceptQueueFull, DropReason::SynQueueFull]
        .iter()
        .filter_map(|reason| interval.drops.get(reason))
        .map(|count| count.delta)
        .sum()
}

/// The drops by reason, as evidence.
fn drop_evidence(interval: &ActivityInterval) -> Vec<Evidence> {
    DropReason::ALL
        .iter()
        .filter_map(|reason| Some((reason, interval.drops.get(reason)?)))
        .filter(|(_, count)| count.delta > 0)
        .map(|(reason, count)| {
            let how = if reason.predicted() { "predicted" } else { "observed" };
            let value = format!("{} ({}, {how})", count.delta, units::rate(Some(count.per_second)));
            Evidence::number(format!("drops: {}", reason.name()), value, count.delta as f64)
        })
        .collect()
}

fn slow(
    context: &Context<'_>,
    listener: &ListenerView,
    activity: &ListenerActivity,
    interval: &ActivityInterval,
) -> Option<Finding> {
    let limit = context.rules.thresholds.accept_wait_slow_seconds;
    let waits = interval.accept_wait.or(activity.accept_wait_smoothed);
    let p99 = waits.map(|waits| waits.p99_ns as f64 / 1e9);
    let stalled = interval.accepts.delta == 0 && listener.full;
    if !(p99.is_some_and(|p99| p99 >= limit) || stalled) {
        return None;
    }
    let wait_text = match waits {
        Some(waits) if !stalled => format!("connections wait {} (p99) for accept()", units::wait(waits.p99_ns)),
        _ => "nothing was accepted while the accept queue was full".to_string(),
    };
    let mut evidence = Vec::new();
    if let Some(waits) = waits {
        evidence.push(Evidence::number("accept wait p50", units::wait(waits.p50_ns), waits.p50_ns as f64 / 1e9));
        evidence.push(Evidence::number("accept wait p90", units::wait(waits.p90_ns), waits.p90_ns as f64 / 1e9));
        evidence.push(Evidence::number("accept wait p99", units::wait(waits.p99_ns), waits.p99_ns as f64 / 1e9));
        evidence.push(Evidence::number("accept wait max", units::wait(waits.max_ns), waits.max_ns as f64 / 1e9));
    }
    evidence.push(Evidence::number("slow from (p99)", units::wait((limit * 1e9) as u64), limit));
    evidence.push(Evidence::number("accepted", interval.accepts.delta.to_string(), interval.accepts.delta as f64));
    evidence.extend(drop_evidence(interval));
    let finding = Finding {
        id: LISTEN_FLOOD_OR_SLOW.id,
        severity: Severity::Warning,
        subject: listener_subject(listener),
        summary: format!("slow application, not a flood: {wait_text}; {} connections dropped", dropped(interval)),
        explanation: format!(
            "{} takes its connections off the accept queue slowly: the kernel completed the handshakes, then \
             they waited in the queue until it filled and new ones were dropped. Waits of seconds point at the \
             application (a blocked event loop, too few workers, a stopped or throttled process), not at the \
             network or at the clients.",
            who(listener)
        ),
        evidence,
        remedy: "Make the application accept faster: more workers or threads, no blocking work in the accept loop, \
                 check its CPU (throttling) and what it waits on; raising the backlog only lengthens the wait."
            .to_string(),
        settings: Vec::new(),
    };
    Some(super::queue::with_owner_side(finding, owner_side(listener)))
}

fn flood(
    context: &Context<'_>,
    listener: &ListenerView,
    activity: &ListenerActivity,
    interval: &ActivityInterval,
) -> Option<Finding> {
    let thresholds = &context.rules.thresholds;
    let at_syn = dropped_at_syn(interval);
    let clients_now = activity.top_dropped_clients.iter().filter(|client| client.interval.is_some_and(|n| n > 0));
    let clients = interval.distinct_dropped_clients.max(clients_now.count() as u64);
    let few_accepts = (interval.accepts.delta as f64) <= thresholds.flood_accept_share * at_syn as f64;
    if at_syn == 0 || clients < thresholds.flood_clients || !few_accepts {
        return None;
    }
    let sources: Vec<String> = activity
        .top_dropped_clients
        .iter()
        .take(SOURCES)
        .map(|client| match client.interval {
            Some(drops) => format!("{} ({drops})", client.address),
            None => format!("{} ({} in all)", client.address, client.total),
        })
        .collect();
    let cookies = interval.syncookies.delta;
    let cookie_clause = if cookies > 0 {
        format!("{cookies} SYN cookies were sent: cookies kept it reachable for clients that complete the handshake")
    } else {
        "no SYN cookie was sent: cookies did not save it".to_string()
    };
    let mut evidence = vec![
        Evidence::number("distinct clients dropped", clients.to_string(), clients as f64),
        Evidence::number("flood from", thresholds.flood_clients.to_string(), thresholds.flood_clients as f64),
        Evidence::number("SYNs dropped", at_syn.to_string(), at_syn as f64),
        Evidence::number("accepted", interval.accepts.delta.to_string(), interval.accepts.delta as f64),
        Evidence::number("SYN cookies sent", cookies.to_string(), cookies as f64),
        Evidence::number(
            "SYN-ACK retransmits",
            interval.synack_retransmits.delta.to_string(),
            interval.synack_retransmits.delta as f64,
        ),
        Evidence::fact("top sources", sources.join(", ")),
    ];
    evidence.extend(drop_evidence(interval));
    let syncookies = context.sysctl("net.ipv4.tcp_syncookies");
    if let Some(value) = syncookies {
        evidence.push(Evidence::number("net.ipv4.tcp_syncookies", value.to_string(), value as f64));
    }
    Some(Finding {
        id: LISTEN_FLOOD_OR_SLOW.id,
        severity: Severity::Warning,
        subject: listener_subject(listener),
        summary: format!(
            "SYN flood, not a slow application: {clients} distinct clients dropped at the SYN, {} handshakes \
             completed; {cookie_clause}",
            interval.accepts.delta
        ),
        explanation: format!(
            "{} dropped {at_syn} SYNs from {clients} distinct clients while only {} connections completed their \
             handshake and were accepted: the queues are filled by clients that do not finish handshakes (spoofed \
             or abusive sources), not by an application too slow to accept. Top sources: {}.",
            who(listener),
            interval.accepts.delta,
            sources.join(", ")
        ),
        evidence,
        remedy: "Keep SYN cookies on (net.ipv4.tcp_syncookies=1) so real clients still connect; filter or rate-limit \
                 the top sources upstream (firewall, nftables limit, SYNPROXY); a larger \
                 net.ipv4.tcp_max_syn_backlog absorbs bursts, not a sustained flood."
            .to_string(),
        settings: vec!["net.ipv4.tcp_syncookies", "net.ipv4.tcp_max_syn_backlog"],
    })
}

#[cfg(test)]
mod tests {
    use crate::advise::testkit::*;
    use crate::advise::{Rules, Severity};
    use crate::sample::listen_events::DropReason;
    use crate::sample::{ProcessStatus, Sample, Source};

    const MS: u64 = 1_000_000;

    /// Two samples a second apart at a listener on port 8080 owned by nginx[42]: the second
    /// adds `drops` at the SYN from `clients` distinct addresses, `accepts` waits of `wait_ns`
    /// and `cookies` SYN cookies; the queue is full when `full`.
    fn scenario(drops: u64, clients: u64, accepts: u64, wait_ns: u64, cookies: u64, full: bool) -> Vec<Sample> {
        let queue = if full { 17 } else { 0 };
        let web = listener("0.0.0.0", 8080, 7, queue, 16);
        let mut entry = events_at(&web);
        let mut first = sample(10);
        add_listener(&mut first, web.clone(), Some((42, "nginx")));
        set_events(&mut first, vec![entry.clone()], Vec::new(), 0);
        for client in 0..clients {
            add_drops(&mut entry, DropReason::SynAcceptQueueFull, &format!("198.51.100.{client}"), drops / clients);
        }
        add_waits(&mut entry, wait_ns, accepts);
        entry.syncookies = cookies;
        let mut second = sample(11);
        add_listener(&mut second, web, Some((42, "nginx")));
        set_events(&mut second, vec![entry], Vec::new(), 0);
        vec![first, second]
    }

    fn run(samples: &[Sample]) -> crate::advise::Outcome {
        run_check(&super::LISTEN_FLOOD_OR_SLOW, samples)
    }

    #[test]
    fn long_accept_waits_at_a_dropping_listener_are_a_slow_application_named_by_its_owner() {
        let mut samples = scenario(30, 1, 40, 1500 * MS, 0, true);
        for sample in &mut samples {
            let boottime_ns = sample.boottime_ns;
            let Some(table) = sample.processes.as_mut() else { continue };
            table.status_boottime_ns = boottime_ns;
            table.ticks_per_second = 100;
            let status = ProcessStatus {
                state: 'T',
                parent: 1,
                cpu_ticks: 0,
                threads: 1,
                start_time: 9,
                cgroup: None,
                command_line_numbers: Default::default(),
            };
            table.status.insert(42, status);
        }
        let outcome = run(&samples);
        let finding = outcome.findings.first().expect("a finding");
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.summary.starts_with("slow application, not a flood: connections wait"), "{}", finding.summary);
        assert!(finding.summary.contains("30 connections dropped"), "{}", finding.summary);
        let p99 = finding.evidence.iter().find(|e| e.label == "accept wait p99").expect("p99");
        assert!(p99.number.is_some_and(|seconds| (seconds - 1.5).abs() < 0.05), "{p99:?}");
        assert!(finding.evidence.iter().any(|e| e.label == "drops: syn_accept_queue_full"));
        assert!(finding.summary.contains("its only owner nginx[42] is stopped"), "{}", finding.summary);
    }

    #[test]
    fn a_full_queue_that_accepts_nothing_is_a_slow_application_too() {
        let outcome = run(&scenario(30, 1, 0, 0, 0, true));
        let finding = outcome.findings.first().expect("a finding");
        assert!(
            finding.summary.contains("nothing was accepted while the accept queue was full"),
            "{}",
            finding.summary
        );
    }

    #[test]
    fn many_clients_dropped_at_the_syn_with_few_handshakes_are_a_flood_with_its_sources_and_cookies() {
        let outcome = run(&scenario(300, 30, 5, MS, 120, false));
        let finding = outcome.findings.first().expect("a finding");
        assert!(
            finding.summary.starts_with("SYN flood, not a slow application: 30 distinct clients"),
            "{}",
            finding.summary
        );
        assert!(
            finding.summary.contains("120 SYN cookies were sent: cookies kept it reachable"),
            "{}",
            finding.summary
        );
        let sources = finding.evidence.iter().find(|e| e.label == "top sources").expect("sources");
        assert!(sources.value.contains("198.51.100.") && sources.value.matches(", ").count() == 4, "{sources:?}");
        let without_cookies = run(&scenario(300, 30, 5, MS, 0, false));
        assert!(without_cookies.findings[0].summary.contains("no SYN cookie was sent: cookies did not save it"));
    }

    #[test]
    fn few_clients_or_many_accepts_or_quick_waits_are_neither() {
        assert!(run(&scenario(300, 3, 5, MS, 0, false)).findings.is_empty(), "three clients are no flood");
        assert!(run(&scenario(300, 30, 200, MS, 0, false)).findings.is_empty(), "most handshakes complete");
        assert!(run(&scenario(30, 1, 40, 20 * MS, 0, false)).findings.is_empty(), "a quick application");
        assert!(run(&scenario(0, 0, 40, 1500 * MS, 0, false)).findings.is_empty(), "no drops, nothing to explain");
    }

    #[test]
    fn the_threshold_comes_from_the_rules() {
        let mut rules = Rules::default();
        rules.thresholds.accept_wait_slow_seconds = 0.01;
        let outcome = run_check_with(&super::LISTEN_FLOOD_OR_SLOW, &scenario(30, 1, 40, 20 * MS, 0, false), &rules);
        assert_eq!(outcome.findings.len(), 1);
    }

    #[test]
    fn without_the_source_it_is_not_evaluated_with_the_reason() {
        let mut samples = scenario(30, 1, 40, 1500 * MS, 0, true);
        for sample in &mut samples {
            sample.listen_events = None;
            sample.mark_unavailable(Source::ListenEvents, "no BTF at /sys/kernel/btf/vmlinux");
        }
        let outcome = run(&samples);
        assert!(outcome.findings.is_empty());
        let reason = &outcome.not_evaluated.first().expect("not evaluated").reason;
        assert_eq!(reason, "listen-event source unavailable: no BTF at /sys/kernel/btf/vmlinux");
        samples.iter_mut().for_each(|sample| sample.unavailable.clear());
        assert_eq!(run(&samples).not_evaluated[0].reason, "listen-event source not started");
    }
}
