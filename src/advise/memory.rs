//! Checks of socket memory: orphans, TCP memory pressure, buffer ceilings against the flows that
//! hit them, and UDP receive-buffer drops.

use super::listen::netns_subject;
use super::states::{kernel_event, sockstat};
use super::{Check, Context, Evidence, Finding, LimitUsage, Report, Severity, Subject};
use crate::format as units;
use crate::sample::counters::{self, ABORT_ON_MEMORY, MEMORY_PRESSURES};
use crate::sample::{Flow, KernelEventKind};

/// Why a check that needs sockstat and a host-wide setting cannot run.
fn host_wide_missing(context: &Context<'_>, setting: &str) -> String {
    if context.sample.sockstat.is_none() {
        return "/proc/net/sockstat unavailable".to_string();
    }
    match &context.sample.host_netns {
        Some(crate::sample::HostNamespace::Unknown { reason }) => {
            format!("{setting} is host-wide and not visible inside this network namespace ({reason})")
        }
        _ => format!("{setting} unavailable"),
    }
}

/// `orphan-sockets`.
pub const ORPHAN_SOCKETS: Check = Check {
    id: "orphan-sockets",
    family: "memory",
    title: "orphaned sockets against tcp_max_orphans",
    run: orphan_sockets,
};

fn orphan_sockets(context: &Context<'_>, report: &mut Report) {
    let id = ORPHAN_SOCKETS.id;
    let (Some(orphans), Some(limit)) = (sockstat(context, "TCP", "orphan"), context.sysctl("net.ipv4.tcp_max_orphans"))
    else {
        report.not_evaluated(id, host_wide_missing(context, "net.ipv4.tcp_max_orphans"));
        return;
    };
    let thresholds = &context.rules.thresholds;
    let usage = LimitUsage {
        label: "orphaned sockets",
        used: orphans,
        limit_label: "tcp_max_orphans",
        limit,
        warning: thresholds.orphans_warning,
        critical: thresholds.orphans_critical,
        lost: context.model.counters.delta(ABORT_ON_MEMORY).filter(|delta| *delta > 0).map(|d| ("TCPAbortOnMemory", d)),
        logged: kernel_event(context, KernelEventKind::TooManyOrphans),
    };
    let Some(severity) = usage.severity() else { return };
    let (share, evidence) = (usage.share(), usage.evidence());
    report.add(Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: "net.ipv4.tcp_max_orphans".into() },
        summary: format!("{orphans} orphaned sockets, {} of tcp_max_orphans", units::percent(share)),
        explanation: "Orphans are sockets the application already closed that are still flushing data or waiting for \
                      the peer's FIN. Past the limit the kernel resets them at once (the kernel may count each orphan \
                      2x or 4x under memory pressure). Each can pin up to about 64 KB of unswappable memory."
            .to_string(),
        evidence,
        remedy: "Raise net.ipv4.tcp_max_orphans if RAM allows (never lower it); lower net.ipv4.tcp_orphan_retries on \
                 busy web servers; look for peers that advertise zero windows."
            .to_string(),
        settings: vec!["net.ipv4.tcp_max_orphans", "net.ipv4.tcp_orphan_retries"],
    });
}

/// `tcp-mem-pressure`.
pub const TCP_MEM_PRESSURE: Check =
    Check { id: "tcp-mem-pressure", family: "memory", title: "TCP memory against tcp_mem", run: tcp_mem_pressure };

fn tcp_mem_pressure(context: &Context<'_>, report: &mut Report) {
    let id = TCP_MEM_PRESSURE.id;
    let model = context.model;
    let limits = context.sample.sysctl("net.ipv4.tcp_mem").and_then(|value| value.as_integers());
    let (Some(pages), Some([low, pressure, max])) =
        (sockstat(context, "TCP", "mem"), limits.as_deref().and_then(|l| <&[i64; 3]>::try_from(l).ok()))
    else {
        report.not_evaluated(id, host_wide_missing(context, "net.ipv4.tcp_mem"));
        return;
    };
    let aborted = model.counters.delta(ABORT_ON_MEMORY).filter(|delta| *delta > 0);
    let pressured = model.counters.delta(MEMORY_PRESSURES).filter(|delta| *delta > 0);
    let logged = kernel_event(context, KernelEventKind::TcpMemory);
    let share = pages as f64 / (*max).max(1) as f64;
    let severity = if aborted.is_some() || share >= context.rules.thresholds.tcp_mem_critical {
        Severity::Critical
    } else if pages > *pressure || pressured.is_some() {
        Severity::Warning
    } else if logged.is_some() {
        Severity::Info
    } else {
        return;
    };
    let mut evidence = vec![
        Evidence::number("TCP memory (pages)", pages.to_string(), pages as f64),
        Evidence::fact("tcp_mem min/pressure/max", format!("{low} / {pressure} / {max}")),
        Evidence::number("of max", units::percent(share), share),
    ];
    for (name, delta) in [("TCPAbortOnMemory", aborted), ("TCPMemoryPressures", pressured)] {
        if let Some(delta) = delta {
            evidence.push(Evidence::number(format!("{name} in the interval"), delta.to_string(), delta as f64));
        }
    }
    evidence.extend(logged);
    report.add(Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: "net.ipv4.tcp_mem".into() },
        summary: format!("TCP uses {pages} pages of memory ({} of tcp_mem's maximum)", units::percent(share)),
        explanation: format!(
            "TCP is using {pages} pages against limits {low}/{pressure}/{max}. Above \"pressure\" the kernel shrinks \
             socket buffers; at \"max\" new socket memory is refused and packets are dropped for all TCP traffic."
        ),
        evidence,
        remedy: "Raise net.ipv4.tcp_mem (in pages) if RAM allows; otherwise cap per-socket maxima (tcp_rmem[2], \
                 tcp_wmem[2]) and find the sockets holding the memory (`ss -tm`: r and w per socket)."
            .to_string(),
        settings: vec!["net.ipv4.tcp_mem"],
    });
}

/// `buffers-vs-bdp`.
pub const BUFFERS_VS_BDP: Check = Check {
    id: "buffers-vs-bdp",
    family: "memory",
    title: "buffer ceilings that limit busy flows",
    run: buffers_vs_bdp,
};

/// A flow counts when it was busy at least this long (microseconds) ...
const BUSY_MICROS: u64 = 1_000_000;
/// ... and spent at least this share of that time limited by a buffer.
const LIMITED_SHARE: f64 = 0.2;

fn buffers_vs_bdp(context: &Context<'_>, report: &mut Report) {
    let id = BUFFERS_VS_BDP.id;
    let Some(flows) = context.sample.flows.as_ref() else {
        report.not_evaluated(id, super::flows_missing(context.sample));
        return;
    };
    let ceiling =
        |name: &str| context.sample.sysctl(name).and_then(|v| v.as_integers()).and_then(|v| v.get(2).copied());
    let wmem = ceiling("net.ipv4.tcp_wmem");
    for flow in &flows.busiest {
        let Some(busy) = flow.info.busy_time.filter(|busy| *busy >= BUSY_MICROS) else { continue };
        let sndbuf_share = flow.info.sndbuf_limited.unwrap_or(0) as f64 / busy as f64;
        let rwnd_share = flow.info.rwnd_limited.unwrap_or(0) as f64 / busy as f64;
        if sndbuf_share >= LIMITED_SHARE {
            report.add(buffer_finding(flow, sndbuf_share, wmem, true));
        } else if rwnd_share >= LIMITED_SHARE {
            report.add(buffer_finding(flow, rwnd_share, ceiling("net.ipv4.tcp_rmem"), false));
        }
    }
}

fn buffer_finding(flow: &Flow, share: f64, ceiling: Option<i64>, send_side: bool) -> Finding {
    let rtt_seconds = f64::from(flow.info.rtt.unwrap_or(0)) / 1e6;
    let rate = flow.info.delivery_rate.unwrap_or(0) as f64;
    let bdp = rate * rtt_seconds;
    let mut evidence = vec![
        Evidence::number(
            if send_side { "time limited by the send buffer" } else { "time limited by the peer's receive window" },
            units::percent(share),
            share,
        ),
        Evidence::number("round-trip time", format!("{:.1} ms", rtt_seconds * 1000.0), rtt_seconds),
        Evidence::number("delivery rate", format!("{}/s", units::bytes(rate as u64)), rate),
        Evidence::number("bytes in flight at that rate", units::bytes(bdp as u64), bdp),
    ];
    if let Some(sndbuf) = flow.sndbuf.filter(|_| send_side) {
        evidence.push(Evidence::number("socket send buffer", units::bytes(u64::from(sndbuf)), f64::from(sndbuf)));
    }
    if let Some(ceiling) = ceiling {
        evidence.push(Evidence::number(
            if send_side { "tcp_wmem ceiling" } else { "tcp_rmem ceiling (on this host)" },
            units::bytes(u64::try_from(ceiling).unwrap_or(0)),
            ceiling as f64,
        ));
    }
    let flow_name = format!(
        "{} -> {}",
        units::endpoint(flow.local_address, flow.local_port),
        units::endpoint(flow.remote_address, flow.remote_port)
    );
    Finding {
        id: BUFFERS_VS_BDP.id,
        severity: if send_side { Severity::Warning } else { Severity::Info },
        subject: Subject::Destination {
            local_address: flow.local_address,
            remote_address: flow.remote_address,
            remote_port: flow.remote_port,
        },
        summary: if send_side {
            format!("flow {flow_name} waits on its send buffer {} of its busy time", units::percent(share))
        } else {
            format!("flow {flow_name} waits on the peer's receive window {} of its busy time", units::percent(share))
        },
        explanation: if send_side {
            "The kernel could have sent more but the socket's send buffer was full: at this round-trip time the \
             buffer ceiling (tcp_wmem[2], or SO_SNDBUF set by the application) caps the flow's throughput at about \
             ceiling / RTT."
                .to_string()
        } else {
            "The receiver's advertised window stopped this flow: its receive buffer (tcp_rmem[2] on the receiving \
             host, about half of which is offered as window) is too small for this path's bandwidth-delay product."
                .to_string()
        },
        evidence,
        remedy: if send_side {
            "Raise the third value of net.ipv4.tcp_wmem (tuned's network-throughput profile uses 16777216); remove \
             hard-coded SO_SNDBUF from the application (it disables autotuning; net.core.wmem_max caps it)."
                .to_string()
        } else {
            "On the receiving host raise the third value of net.ipv4.tcp_rmem (e.g. 16777216), keep \
             tcp_moderate_rcvbuf=1, and remove hard-coded SO_RCVBUF from the receiving application."
                .to_string()
        },
        settings: vec!["net.core.wmem_max", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"],
    }
}

/// `udp-rcvbuf-errors`.
pub const UDP_RCVBUF_ERRORS: Check = Check {
    id: "udp-rcvbuf-errors",
    family: "memory",
    title: "UDP datagrams dropped at full receive buffers",
    run: udp_rcvbuf_errors,
};

fn udp_rcvbuf_errors(context: &Context<'_>, report: &mut Report) {
    let id = UDP_RCVBUF_ERRORS.id;
    let model = context.model;
    if model.counters.total(counters::UDP_RCVBUF_ERRORS).is_none() {
        report.not_evaluated(id, "/proc/net/snmp Udp counters unavailable");
        return;
    }
    let Some(interval) = model.interval else {
        report.not_evaluated(id, "needs two samples (use --interval)");
        return;
    };
    let sum = |field: &str| model.counters.delta_sum(&[("Udp", field), ("Udp6", field)]);
    let (errors, memory, received) = (sum("RcvbufErrors"), sum("MemErrors"), sum("InDatagrams"));
    if errors == 0 && memory == 0 {
        return;
    }
    let rate = errors as f64 / interval;
    let share = errors as f64 / received.saturating_add(errors).max(1) as f64;
    let severity = if rate > context.rules.thresholds.udp_rcvbuf_errors_rate || share > 0.01 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let mut evidence = vec![
        Evidence::number("RcvbufErrors", format!("{errors} ({})", units::rate(Some(rate))), errors as f64),
        Evidence::number("MemErrors", memory.to_string(), memory as f64),
        Evidence::number("share of datagrams", units::percent(share), share),
    ];
    let mut droppers: Vec<_> = model.udp.iter().filter(|udp| udp.drops_per_second.is_some_and(|r| r > 0.0)).collect();
    droppers.sort_by(|a, b| b.drops_per_second.unwrap_or(0.0).total_cmp(&a.drops_per_second.unwrap_or(0.0)));
    for udp in droppers.iter().take(3) {
        let owner = udp.processes.first().map(|p| format!(" {}[{}]", p.command, p.pid)).unwrap_or_default();
        evidence.push(Evidence::number(
            format!("drops on {}:{}{owner}", udp.socket.local_address, udp.socket.local_port),
            format!(
                "{} (rcvbuf {})",
                units::rate(udp.drops_per_second),
                units::bytes(u64::from(udp.socket.rcvbuf.unwrap_or(0)))
            ),
            udp.drops_per_second.unwrap_or(0.0),
        ));
    }
    let memory_note = if memory > 0 {
        " MemErrors also rose: the global udp_mem limit refused memory, so raising socket buffers alone will not help."
    } else {
        ""
    };
    report.add(Finding {
        id,
        severity,
        subject: netns_subject(context),
        summary: format!("{errors} UDP datagrams dropped at full receive buffers ({})", units::rate(Some(rate))),
        explanation: format!(
            "UDP has no flow control: when a socket's receive buffer is full, datagrams are dropped without any \
             error to sender or receiver.{memory_note}"
        ),
        evidence,
        remedy: "Let the application raise SO_RCVBUF (capped by net.core.rmem_max, so raise that too); add reader \
                 threads or SO_REUSEPORT sockets; raise net.ipv4.udp_mem on MemErrors."
            .to_string(),
        settings: vec!["net.core.rmem_max", "net.ipv4.udp_mem"],
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::*;
    use crate::sample::TcpInfo;
    use crate::sample::{FlowSummary, Sample};

    #[test]
    fn orphans_past_a_quarter_warn_and_aborts_are_critical() {
        let mut s = sample(5);
        set_sockstat(&mut s, "TCP", "orphan", 40_000);
        assert_eq!(run_check(&ORPHAN_SOCKETS, &[s.clone()]).findings[0].severity, Severity::Warning);
        let mut later = s.clone();
        later.boottime_ns += 1_000_000_000;
        set_counter(&mut later, "TcpExt", "TCPAbortOnMemory", 3);
        assert_eq!(run_check(&ORPHAN_SOCKETS, &[s, later]).findings[0].severity, Severity::Critical);
        assert!(run_check(&ORPHAN_SOCKETS, &[sample(5)]).findings.is_empty());
    }

    #[test]
    fn tcp_memory_above_pressure_warns_and_near_max_is_critical() {
        let mut s = sample(5);
        set_sockstat(&mut s, "TCP", "mem", 400_000);
        assert_eq!(run_check(&TCP_MEM_PRESSURE, &[s.clone()]).findings[0].severity, Severity::Warning);
        set_sockstat(&mut s, "TCP", "mem", 560_000);
        assert_eq!(run_check(&TCP_MEM_PRESSURE, &[s]).findings[0].severity, Severity::Critical);
        assert!(run_check(&TCP_MEM_PRESSURE, &[sample(5)]).findings.is_empty());
    }

    fn with_flow(info: TcpInfo) -> Sample {
        let mut s = sample(5);
        let address = std::net::IpAddr::from([10, 0, 0, 1]);
        let flow = Flow {
            local_address: address,
            local_port: 40000,
            remote_address: std::net::IpAddr::from([10, 0, 0, 2]),
            remote_port: 443,
            inode: 1,
            rcvbuf: Some(131_072),
            sndbuf: Some(4_194_304),
            info,
        };
        s.flows = Some(FlowSummary { established: 1, busiest: vec![flow], retransmitting: Vec::new() });
        s
    }

    #[test]
    fn a_flow_stuck_on_its_send_buffer_warns() {
        let info = TcpInfo {
            busy_time: Some(10_000_000),
            sndbuf_limited: Some(6_000_000),
            rtt: Some(40_000),
            delivery_rate: Some(100_000_000),
            ..TcpInfo::default()
        };
        let outcome = run_check(&BUFFERS_VS_BDP, &[with_flow(info)]);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].severity, Severity::Warning);
        assert!(outcome.findings[0].summary.contains("send buffer"));
        let free = TcpInfo { busy_time: Some(10_000_000), sndbuf_limited: Some(100_000), ..TcpInfo::default() };
        assert!(run_check(&BUFFERS_VS_BDP, &[with_flow(free)]).findings.is_empty());
    }

    #[test]
    fn udp_drops_are_named_and_quiet_sockets_are_not() {
        let mut before = sample(5);
        set_counter(&mut before, "Udp", "InDatagrams", 1000);
        let mut after = before.clone();
        after.boottime_ns += 1_000_000_000;
        set_counter(&mut after, "Udp", "InDatagrams", 1100);
        set_counter(&mut after, "Udp", "RcvbufErrors", 50);
        let outcome = run_check(&UDP_RCVBUF_ERRORS, &[before.clone(), after]);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].severity, Severity::Critical);
        let mut quiet = before.clone();
        quiet.boottime_ns += 1_000_000_000;
        assert!(run_check(&UDP_RCVBUF_ERRORS, &[before, quiet]).findings.is_empty());
    }
}
