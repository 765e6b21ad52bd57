//! The SYN queue: half-open requests per listener, SYN cookies and the kernel's SYN-flood log
//! lines, syncookies turned off, and handshake settings that hurt or do nothing.

use super::{listener_subject, netns_subject};
use crate::advise::{Check, Context, Evidence, Finding, Report, Severity, Subject, setting_finding};
use crate::format as units;
use crate::model::Protocol;
use crate::sample::counters::{
    REQ_Q_FULL_DO_COOKIES, REQ_Q_FULL_DROP, SYNCOOKIES_FAILED, SYNCOOKIES_RECV, SYNCOOKIES_SENT,
};

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
        report.not_evaluated(id, crate::advise::walk_missing(context.sample));
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
pub(super) fn flood_port(message: &str) -> Option<u16> {
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
        // The kernel log is the host's: a line about a port no listener here has is another
        // namespace's (or a listener since gone), not a finding of this one.
        let Some(listener) =
            model.listeners.iter().find(|l| l.protocol == Protocol::Tcp && port.is_some() && l.endpoint.port() == port)
        else {
            continue;
        };
        let age = (context.sample.boottime_ns / 1_000).saturating_sub(event.boot_micros) / 1_000_000;
        report.add(Finding {
            id: SYN_QUEUE_PRESSURE.id,
            severity: Severity::Info,
            subject: listener_subject(listener),
            summary: format!("the kernel logged a SYN flood {} ago", units::duration(age)),
            explanation: "A SYN queue overflowed at least once; the kernel prints this line once per listener, so it \
                          proves the event, not a rate."
                .to_string(),
            evidence: vec![Evidence::fact("kernel log", event.message.clone())],
            remedy:
                "Watch TCPReqQFullDoCookies and SyncookiesSent (sockscope check, or the dashboard) to see whether it \
                     is still happening; then as for a SYN queue at its limit."
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
    } else if sent > 0 && received.saturating_mul(2) >= sent {
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

/// Whether tcp_max_syn_backlog equals the kernel's default `max(128, ehash / 128)`. Linux 5.19
/// and later export the namespace's hash size (`tcp_ehash_entries`, negative when the namespace
/// shares the host's). Older kernels do not, but the defaults of tcp_max_tw_buckets and
/// tcp_max_orphans are both `ehash / 2`; a value matching the default derived from either
/// counts as default there.
fn syn_backlog_is_default(context: &Context<'_>, backlog: i64) -> bool {
    if let Some(entries) = context.sysctl("net.ipv4.tcp_ehash_entries") {
        return backlog == (entries.saturating_abs() / 128).max(128);
    }
    let candidates = ["net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_max_orphans"]
        .iter()
        .filter_map(|name| context.sysctl(name))
        .map(|half_ehash| (half_ehash.saturating_mul(2) / 128).max(128));
    let mut any = false;
    for default in candidates {
        any = true;
        if default == backlog {
            return true;
        }
    }
    !any
}
