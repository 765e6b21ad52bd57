//! Checks of socket states: TIME_WAIT against its bucket limit, TIME_WAIT settings that hurt or
//! do nothing, and applications that leave sockets in CLOSE_WAIT.

use super::{Check, Context, Evidence, Finding, LimitUsage, Report, Severity, Subject, setting_finding};
use crate::format as units;
use crate::model::history::History;
use crate::sample::KernelEventKind;
use crate::sample::counters::TIME_WAIT_OVERFLOW;

/// A sockstat value (`TCP`, `tw`).
pub(crate) fn sockstat(context: &Context<'_>, label: &str, key: &str) -> Option<i64> {
    context.sample.sockstat.as_ref()?.get(label)?.get(key).copied()
}

/// The newest kernel log line of a kind, as evidence.
pub(crate) fn kernel_event(context: &Context<'_>, kind: KernelEventKind) -> Option<Evidence> {
    let event = context.sample.kernel_events.as_ref()?.iter().rev().find(|event| event.kind == kind)?;
    let age = context.sample.boottime_ns / 1_000 - event.boot_micros.min(context.sample.boottime_ns / 1_000);
    Some(Evidence::fact(format!("kernel log, {} ago", units::duration(age / 1_000_000)), event.message.clone()))
}

/// `time-wait-buckets`.
pub const TIME_WAIT_BUCKETS: Check = Check {
    id: "time-wait-buckets",
    family: "states",
    title: "TIME_WAIT sockets against tcp_max_tw_buckets",
    run: time_wait_buckets,
};

fn time_wait_buckets(context: &Context<'_>, report: &mut Report) {
    let id = TIME_WAIT_BUCKETS.id;
    let (Some(tw), Some(limit)) = (sockstat(context, "TCP", "tw"), context.sysctl("net.ipv4.tcp_max_tw_buckets"))
    else {
        report.not_evaluated(id, "sockstat or net.ipv4.tcp_max_tw_buckets unavailable");
        return;
    };
    let overflowed = context.model.counters.delta(TIME_WAIT_OVERFLOW).filter(|delta| *delta > 0);
    let usage = LimitUsage {
        label: "TIME_WAIT sockets",
        used: tw,
        limit_label: "tcp_max_tw_buckets",
        limit,
        warning: context.rules.thresholds.time_wait_buckets,
        critical: f64::INFINITY,
        lost: overflowed.map(|delta| ("TCPTimeWaitOverflow", delta)),
        // The kernel prints this line for every namespace alike and tcp_max_tw_buckets is per
        // namespace: the line alone is no finding of this one, only support for one.
        logged: None,
    };
    let Some(severity) = usage.severity() else { return };
    let (share, mut evidence) = (usage.share(), usage.evidence());
    if let Some(mut logged) = kernel_event(context, KernelEventKind::TimeWaitOverflow) {
        logged.label.push_str(" (any namespace)");
        evidence.push(logged);
    }
    report.add(Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: "net.ipv4.tcp_max_tw_buckets".into() },
        summary: match overflowed {
            Some(delta) => format!("{delta} closing sockets skipped TIME_WAIT: tcp_max_tw_buckets ({limit}) reached"),
            None => format!("{tw} TIME_WAIT sockets, {} of tcp_max_tw_buckets", units::percent(share)),
        },
        explanation: "TIME_WAIT is normal and cheap — about 168 bytes per socket, with a fixed 60 s lifetime. It \
                      matters only when it exhausts the ports toward one destination or reaches this limit. Past the \
                      limit the kernel destroys closing sockets without TIME_WAIT protection and counts \
                      TCPTimeWaitOverflow. The kernel documentation says this limit must not be lowered artificially."
            .to_string(),
        evidence,
        remedy:
            "Raise net.ipv4.tcp_max_tw_buckets if memory allows; reduce connection churn (keep-alive, pooling); let \
                 clients close first where the protocol allows."
                .to_string(),
        settings: vec!["net.ipv4.tcp_max_tw_buckets"],
    });
}

/// `time-wait-myths`.
pub const TIME_WAIT_MYTHS: Check = Check {
    id: "time-wait-myths",
    family: "states",
    title: "TIME_WAIT settings that are dangerous or do nothing",
    run: time_wait_myths,
};

fn time_wait_myths(context: &Context<'_>, report: &mut Report) {
    let id = TIME_WAIT_MYTHS.id;
    let model = context.model;
    if context.sample.sysctls.is_none() {
        report.not_evaluated(id, "kernel settings unavailable");
        return;
    }
    let mut add =
        |severity: Severity, name: &'static str, value: i64, summary: String, explanation: &str, remedy: &str| {
            report.add(setting_finding(id, severity, name, value, summary, explanation, remedy));
        };
    if context.sysctl("net.ipv4.tcp_tw_recycle") == Some(1) {
        add(
            Severity::Critical,
            "net.ipv4.tcp_tw_recycle",
            1,
            "tcp_tw_recycle = 1 breaks clients behind NAT".into(),
            "tcp_tw_recycle drops connections from clients behind the same NAT whose timestamps are not monotonic; \
             with per-connection timestamp offsets (Linux 4.10) it is broken outright, and Linux 4.12 removed it.",
            "sysctl -w net.ipv4.tcp_tw_recycle=0 and remove it from /etc/sysctl.d/ and /etc/sysctl.conf.",
        );
    }
    let outbound = model.ports.as_ref().is_some_and(|ports| ports.tcp_sockets > 0);
    if context.sysctl("net.ipv4.tcp_tw_reuse") == Some(1) && !outbound && !model.listeners.is_empty() {
        add(
            Severity::Info,
            "net.ipv4.tcp_tw_reuse",
            1,
            "tcp_tw_reuse = 1 on a host that only accepts connections".into(),
            "tcp_tw_reuse lets outbound connections reuse a port still in TIME_WAIT; it does nothing for incoming \
             connections, and this namespace makes no outbound ones right now. The default 2 enables it for \
             loopback only.",
            "Leave it at 2 unless this host is a client that runs short of ports.",
        );
    }
    if let Some(timeout) = context.sysctl("net.ipv4.tcp_fin_timeout").filter(|timeout| *timeout < 60) {
        add(
            Severity::Info,
            "net.ipv4.tcp_fin_timeout",
            timeout,
            format!("tcp_fin_timeout = {timeout} does not shorten TIME_WAIT"),
            "tcp_fin_timeout only limits how long an orphaned socket waits in FIN_WAIT2; TIME_WAIT lasts a fixed 60 \
             s (TCP_TIMEWAIT_LEN) whatever it says.",
            "Restore the default (60) unless orphaned FIN_WAIT2 sockets are the problem being solved.",
        );
    }
    if let Some(timeout) = context.sysctl("net.netfilter.nf_conntrack_tcp_timeout_time_wait").filter(|t| *t != 120) {
        add(
            Severity::Info,
            "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
            timeout,
            format!("nf_conntrack_tcp_timeout_time_wait = {timeout} does not change TCP's TIME_WAIT"),
            "This is how long connection tracking remembers a closing flow; the TCP stack's own TIME_WAIT is \
             unaffected.",
            "Restore the default (120) unless the conntrack table itself is full.",
        );
    }
}

/// `close-wait-leak`.
pub const CLOSE_WAIT_LEAK: Check = Check {
    id: "close-wait-leak",
    family: "states",
    title: "an application that does not close its sockets",
    run: close_wait_leak,
};

fn close_wait_leak(context: &Context<'_>, report: &mut Report) {
    let id = CLOSE_WAIT_LEAK.id;
    let model = context.model;
    if model.tcp_states.is_none() {
        report.not_evaluated(id, super::walk_missing(context.sample));
        return;
    }
    if let Some(reason) = unowned_reason(context) {
        report.not_evaluated(id, reason);
    }
    let thresholds = &context.rules.thresholds;
    for group in &model.close_wait.groups {
        let growth =
            History::last_n(&context.history.close_wait(group.process.pid), thresholds.close_wait_growth_samples)
                .filter(|counts| counts.windows(2).all(|pair| pair[1] > pair[0]));
        let age = context.history.close_wait_age(&group.cookies);
        let old = age.filter(|seconds| *seconds >= thresholds.close_wait_seconds);
        let limit_share =
            group.open_files_limit.filter(|limit| *limit > 0).map(|limit| group.sockets as f64 / limit as f64);
        let severity = if limit_share.is_some_and(|share| share > thresholds.close_wait_open_files) {
            Severity::Critical
        } else if group.sockets > thresholds.close_wait_sockets || growth.is_some() || old.is_some() {
            Severity::Warning
        } else {
            continue;
        };
        let mut evidence =
            vec![Evidence::number("sockets in CLOSE_WAIT", group.sockets.to_string(), group.sockets as f64)];
        if let Some(counts) = &growth {
            let shown: Vec<String> = counts.iter().map(u64::to_string).collect();
            evidence.push(Evidence::fact("growing over the last samples", shown.join(" -> ")));
        }
        if let Some(seconds) = age {
            evidence.push(Evidence::number("oldest seen for", units::duration(seconds as u64), seconds));
        }
        if let (Some(limit), Some(share)) = (group.open_files_limit, limit_share) {
            evidence.push(Evidence::number(
                "of its open-files limit",
                format!("{} of {limit}", units::percent(share)),
                share,
            ));
        }
        report.add(Finding {
            id,
            severity,
            subject: Subject::Process { process: group.process.clone() },
            summary: format!("{} sockets in CLOSE_WAIT: the peers closed, the application did not", group.sockets),
            explanation: format!(
                "The remote side closed these {} connections, but {} never called close(). The kernel has no timer \
                 for CLOSE_WAIT (RFC 793: \"waiting for a connection termination request from the local user\"), \
                 so each socket waits for the application forever and holds a file descriptor and kernel memory.",
                group.sockets, group.process.command
            ),
            evidence,
            remedy: "An application bug: a missing close() on EOF or on an error path, or a leaking connection pool. \
                     No sysctl fixes it and keepalive does not help (the peer is already gone); restarting the \
                     process frees the sockets until the leak refills them."
                .to_string(),
            settings: Vec::new(),
        });
    }
    unowned_close_wait(context, report);
}

/// Why some CLOSE_WAIT sockets have no process: the per-process part of the check (which process,
/// how near its open-files limit, whether its count grows) could not judge them.
fn unowned_reason(context: &Context<'_>) -> Option<String> {
    let unowned = context.model.close_wait.unowned;
    if unowned == 0 {
        return None;
    }
    let why = match context.sample.processes.as_ref() {
        None => "socket owners were not looked up (--no-processes)".to_string(),
        Some(table) if table.denied > 0 => format!(
            "{} processes could not be inspected (another user's; needs root or CAP_SYS_PTRACE and \
             CAP_DAC_READ_SEARCH)",
            table.denied
        ),
        Some(table) if !table.resolving.is_empty() => "their owners are still being looked up".to_string(),
        Some(_) => "no process holds them (the owner exited or passed them on)".to_string(),
    };
    Some(format!("the holders of {unowned} CLOSE_WAIT sockets are unknown: {why}; judged by the sockets' uid"))
}

/// CLOSE_WAIT sockets whose process is unknown, judged per user by count and age: a leak in
/// another user's process must not pass silently because that process cannot be read.
fn unowned_close_wait(context: &Context<'_>, report: &mut Report) {
    let thresholds = &context.rules.thresholds;
    for group in &context.model.close_wait.unowned_by_uid {
        let Some(uid) = group.uid else { continue };
        let age = context.history.close_wait_age(&group.cookies);
        let old = age.filter(|seconds| *seconds >= thresholds.close_wait_seconds);
        if group.sockets <= thresholds.close_wait_sockets && old.is_none() {
            continue;
        }
        let mut evidence = vec![
            Evidence::number("sockets in CLOSE_WAIT", group.sockets.to_string(), group.sockets as f64),
            Evidence::number("socket owner uid", uid.to_string(), f64::from(uid)),
        ];
        if let Some(seconds) = age {
            evidence.push(Evidence::number("oldest seen for", units::duration(seconds as u64), seconds));
        }
        report.add(Finding {
            id: CLOSE_WAIT_LEAK.id,
            severity: Severity::Warning,
            subject: Subject::User { uid },
            summary: format!(
                "{} sockets in CLOSE_WAIT held by a process of uid {uid} that could not be named",
                group.sockets
            ),
            explanation: format!(
                "The remote side closed these {} connections, but the process holding them (a process of uid {uid}) \
                 never called close(). The kernel has no timer for CLOSE_WAIT, so each socket waits forever and \
                 holds a file descriptor and kernel memory. Which process it is could not be read here.",
                group.sockets
            ),
            evidence,
            remedy: "Run sockscope as root (or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH) to name the process, or \
                     `ss -tanp state close-wait` as root; then as for any CLOSE_WAIT leak: a missing close() in the \
                     application."
                .to_string(),
            settings: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::*;
    use crate::sample::{CloseWaitSocket, ProcessRef, Sample, SysctlValue};

    #[test]
    fn time_wait_near_the_limit_warns_and_an_overflow_is_critical() {
        let mut near = sample(10);
        set_sockstat(&mut near, "TCP", "tw", 110_000);
        assert_eq!(run_check(&TIME_WAIT_BUCKETS, &[near.clone()]).findings[0].severity, Severity::Warning);
        let mut after = near.clone();
        after.boottime_ns += 1_000_000_000;
        set_counter(&mut after, "TcpExt", "TCPTimeWaitOverflow", 40);
        assert_eq!(run_check(&TIME_WAIT_BUCKETS, &[near, after]).findings[0].severity, Severity::Critical);
        let mut calm = sample(10);
        set_sockstat(&mut calm, "TCP", "tw", 500);
        assert!(run_check(&TIME_WAIT_BUCKETS, &[calm.clone()]).findings.is_empty());
        // The kernel prints the overflow line for every namespace alike: alone it is no finding here.
        calm.kernel_events = Some(vec![crate::sample::KernelEvent {
            kind: KernelEventKind::TimeWaitOverflow,
            boot_micros: 9_000_000,
            message: "TCP: time wait bucket table overflow".into(),
        }]);
        assert!(run_check(&TIME_WAIT_BUCKETS, &[calm]).findings.is_empty());
    }

    #[test]
    fn recycle_is_critical_and_fin_timeout_is_a_myth() {
        let mut s = sample(10);
        set_sysctl(&mut s, "net.ipv4.tcp_tw_recycle", SysctlValue::Integer(1));
        set_sysctl(&mut s, "net.ipv4.tcp_fin_timeout", SysctlValue::Integer(15));
        let outcome = run_check(&TIME_WAIT_MYTHS, &[s]);
        let found: Vec<(String, Severity)> = outcome.findings.iter().map(|f| (f.subject.label(), f.severity)).collect();
        assert!(found.contains(&("net.ipv4.tcp_tw_recycle".into(), Severity::Critical)), "{found:?}");
        assert!(found.contains(&("net.ipv4.tcp_fin_timeout".into(), Severity::Info)), "{found:?}");
        assert!(run_check(&TIME_WAIT_MYTHS, &[sample(10)]).findings.is_empty());
    }

    #[test]
    fn reuse_on_a_server_that_makes_no_outbound_connections_is_noted() {
        let mut s = sample(10);
        set_sysctl(&mut s, "net.ipv4.tcp_tw_reuse", SysctlValue::Integer(1));
        add_listener(&mut s, listener("0.0.0.0", 80, 1, 0, 511), None);
        assert_eq!(run_check(&TIME_WAIT_MYTHS, &[s]).findings.len(), 1);
    }

    fn leaking(second: u64, sockets: u64, limit: u64) -> Sample {
        let mut s = sample(second);
        let owner = ProcessRef { pid: 4242, command: "leaky".into() };
        if let Some(summary) = s.tcp_summary.as_mut() {
            summary.states.close_wait = sockets;
            summary.close_wait = (0..sockets)
                .map(|n| CloseWaitSocket {
                    local_address: std::net::IpAddr::from([10, 0, 0, 1]),
                    local_port: 40000 + n as u16,
                    inode: 1000 + n,
                    cookie: 5000 + n,
                    uid: Some(0),
                })
                .collect();
        }
        if let Some(table) = s.processes.as_mut() {
            for n in 0..sockets {
                table.owners.insert(1000 + n, vec![owner.clone()]);
            }
            table.open_files_limit.insert(4242, limit);
        }
        s
    }

    #[test]
    fn many_close_wait_sockets_warn_and_near_the_fd_limit_is_critical() {
        let outcome = run_check(&CLOSE_WAIT_LEAK, &[leaking(10, 150, 1_048_576)]);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].severity, Severity::Warning);
        assert_eq!(outcome.findings[0].subject.label(), "leaky[4242]");
        assert_eq!(run_check(&CLOSE_WAIT_LEAK, &[leaking(10, 150, 256)]).findings[0].severity, Severity::Critical);
        assert!(run_check(&CLOSE_WAIT_LEAK, &[leaking(10, 20, 1024)]).findings.is_empty());
    }

    /// `leaking` as another user's process seen without privileges: the sockets are there with
    /// their uid, their holder is not.
    fn leaking_unreadable(second: u64, sockets: u64) -> Sample {
        let mut s = leaking(second, sockets, 1024);
        if let Some(table) = s.processes.as_mut() {
            table.owners.clear();
            table.open_files_limit.clear();
            table.denied = 77;
        }
        s
    }

    #[test]
    fn a_leak_in_a_process_that_cannot_be_read_is_judged_by_its_uid_and_says_what_was_not_judged() {
        let outcome = run_check(&CLOSE_WAIT_LEAK, &[leaking_unreadable(10, 150)]);
        assert_eq!(outcome.findings.len(), 1, "{outcome:?}");
        assert_eq!(outcome.findings[0].subject, Subject::User { uid: 0 });
        assert_eq!(outcome.findings[0].severity, Severity::Warning);
        assert_eq!(outcome.not_evaluated.len(), 1);
        assert!(outcome.not_evaluated[0].reason.contains("77 processes could not be inspected"), "{outcome:?}");
        let old = run_check(&CLOSE_WAIT_LEAK, &[leaking_unreadable(10, 5), leaking_unreadable(400, 5)]);
        assert_eq!(old.findings.len(), 1, "the same 5 sockets for 390 s: {old:?}");
        let few = run_check(&CLOSE_WAIT_LEAK, &[leaking_unreadable(10, 5)]);
        assert!(few.findings.is_empty());
        assert_eq!(few.not_evaluated.len(), 1, "what could not be judged is said even when nothing fired");
    }

    #[test]
    fn a_steadily_growing_or_old_close_wait_set_warns() {
        let growing: Vec<Sample> = (0..5).map(|n| leaking(10 + n, 10 + n * 3, 1024)).collect();
        let outcome = run_check(&CLOSE_WAIT_LEAK, &growing);
        assert_eq!(outcome.findings.len(), 1, "{outcome:?}");
        assert!(outcome.findings[0].evidence.iter().any(|e| e.label.contains("growing")));
        let stuck = vec![leaking(10, 5, 1024), leaking(400, 5, 1024)];
        let outcome = run_check(&CLOSE_WAIT_LEAK, &stuck);
        assert_eq!(outcome.findings.len(), 1, "the same 5 sockets for 390 s");
        let flat: Vec<Sample> = (0..5).map(|n| leaking(10 + n, 10, 1024)).collect();
        assert!(run_check(&CLOSE_WAIT_LEAK, &flat).findings.is_empty());
    }
}
