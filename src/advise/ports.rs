//! Checks of outbound ports: ephemeral ports running out toward a destination, and the port
//! range's own configuration.

use super::listen::{listener_subject, netns_subject};
use super::{Check, Context, Evidence, Finding, Report, Severity, Subject};
use crate::format as units;
use crate::model::PortsView;

fn ports_or_not_evaluated<'a>(
    context: &'a Context<'_>,
    report: &mut Report,
    id: &'static str,
) -> Option<&'a PortsView> {
    let ports = context.model.ports.as_ref();
    if ports.is_none() {
        let reason = match context.sample.tcp_summary {
            None => super::walk_missing(context.sample),
            Some(_) => "the port range is unavailable".to_string(),
        };
        report.not_evaluated(id, reason);
    }
    ports
}

/// `ephemeral-ports-exhausted`.
pub const EPHEMERAL_PORTS_EXHAUSTED: Check = Check {
    id: "ephemeral-ports-exhausted",
    family: "ports",
    title: "source ports running out toward one destination",
    run: ephemeral_ports_exhausted,
};

fn ephemeral_ports_exhausted(context: &Context<'_>, report: &mut Report) {
    let id = EPHEMERAL_PORTS_EXHAUSTED.id;
    let Some(ports) = ports_or_not_evaluated(context, report, id) else { return };
    let thresholds = &context.rules.thresholds;
    for destination in &ports.by_destination {
        let severity = if destination.use_ratio >= thresholds.ephemeral_ports_critical {
            Severity::Critical
        } else if destination.use_ratio >= thresholds.ephemeral_ports_warning {
            Severity::Warning
        } else {
            continue;
        };
        let subject = Subject::destination(&destination.key);
        let sustainable = f64::from(ports.usable) / 60.0;
        report.add(Finding {
            id,
            severity,
            subject: subject.clone(),
            summary: format!(
                "{} of {} usable source ports in use toward {} ({})",
                destination.sockets,
                ports.usable,
                subject.label().split(" -> ").nth(1).unwrap_or_default(),
                units::percent(destination.use_ratio)
            ),
            explanation: format!(
                "Every outbound connection from {} to this destination needs its own local port, and a connection \
                 closed by this host keeps its port for 60 s in TIME_WAIT. {} of {} ports are in use ({} in \
                 TIME_WAIT). When they run out, connect() fails with EADDRNOTAVAIL (\"Cannot assign requested \
                 address\"); programs that bind() before connect() get EADDRINUSE earlier. At most about {:.0} new \
                 connections per second can be sustained toward one destination.",
                destination.key.local_address, destination.sockets, ports.usable, destination.time_wait, sustainable
            ),
            evidence: vec![
                Evidence::number("ports in use", destination.sockets.to_string(), destination.sockets as f64),
                Evidence::number("of which TIME_WAIT", destination.time_wait.to_string(), destination.time_wait as f64),
                Evidence::number("usable ports", ports.usable.to_string(), f64::from(ports.usable)),
                Evidence::number("headroom", destination.headroom.to_string(), destination.headroom as f64),
                Evidence::fact("ip_local_port_range", format!("{}-{}", ports.range.0, ports.range.1)),
            ],
            remedy: "Reuse connections (pooling, keep-alive); spread over more destination addresses or ports or more \
                     source addresses; widen net.ipv4.ip_local_port_range (protect service ports with \
                     ip_local_reserved_ports); in programs that bind() first, set IP_BIND_ADDRESS_NO_PORT. On the \
                     client side only, net.ipv4.tcp_tw_reuse=1 (needs timestamps)."
                .to_string(),
            settings: vec!["net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_reuse"],
        });
    }
}

/// `port-range-config`.
pub const PORT_RANGE_CONFIG: Check = Check {
    id: "port-range-config",
    family: "ports",
    title: "the local port range: size, listeners inside it, parity",
    run: port_range_config,
};

fn port_range_config(context: &Context<'_>, report: &mut Report) {
    let id = PORT_RANGE_CONFIG.id;
    let Some(ports) = ports_or_not_evaluated(context, report, id) else { return };
    let thresholds = &context.rules.thresholds;
    let range = format!("{}-{}", ports.range.0, ports.range.1);
    let remedy = "For example net.ipv4.ip_local_port_range = \"10240 65535\", plus net.ipv4.ip_local_reserved_ports \
                  for service ports inside the range; persist in /etc/sysctl.d/."
        .to_string();
    if ports.range_size < thresholds.port_range_min {
        let pressed = ports.by_destination.iter().any(|d| d.use_ratio >= thresholds.ephemeral_ports_warning);
        report.add(Finding {
            id,
            severity: if pressed { Severity::Warning } else { Severity::Info },
            subject: Subject::Sysctl { name: "net.ipv4.ip_local_port_range".into() },
            summary: format!("the local port range {range} holds only {} ports", ports.range_size),
            explanation: format!(
                "Each destination can use at most {} source ports; the default 32768-60999 gives 28,232.",
                ports.usable
            ),
            evidence: vec![
                Evidence::number("ports in the range", ports.range_size.to_string(), f64::from(ports.range_size)),
                Evidence::number("usable", ports.usable.to_string(), f64::from(ports.usable)),
            ],
            remedy: remedy.clone(),
            settings: vec!["net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports"],
        });
    }
    listeners_in_range(context, report, ports, &range);
    if ports.range.0 % 2 == ports.range.1 % 2 {
        report.add(Finding {
            id,
            severity: Severity::Info,
            subject: netns_subject(context),
            summary: format!("both ends of the local port range {range} have the same parity"),
            explanation: "The kernel documentation says it is better that these numbers have different parity: \
                          connect() prefers even ports and bind() odd ones, and newer kernels log \"prefer \
                          different parity\"."
                .to_string(),
            evidence: vec![Evidence::fact("ip_local_port_range", range.clone())],
            remedy,
            settings: vec!["net.ipv4.ip_local_port_range", "net.ipv4.ip_local_reserved_ports"],
        });
    }
}

/// Listeners inside the ephemeral range. The risk — the service fails to bind after a restart
/// because an outbound connection took its port — is real only for a port the service asks for
/// again; a port the kernel picked (a bind to port 0) carries none, and the kernel does not say
/// which is which. So each listener with evidence that its port is fixed warns on its own, and
/// the rest are one note.
fn listeners_in_range(context: &Context<'_>, report: &mut Report, ports: &crate::model::PortsView, range: &str) {
    let id = PORT_RANGE_CONFIG.id;
    let inside = context
        .model
        .listeners
        .iter()
        .filter(|l| l.protocol == crate::model::Protocol::Tcp)
        .filter(|l| l.endpoint.port().is_some_and(|port| ports.listening_in_range.contains(&port)));
    let mut unproven = Vec::new();
    for listener in inside {
        let port = listener.endpoint.port().unwrap_or_default();
        let Some(fixed) = fixed_port_evidence(context, listener, port) else {
            unproven.push(listener);
            continue;
        };
        report.add(Finding {
            id,
            severity: Severity::Warning,
            subject: listener_subject(listener),
            summary: format!(
                "listens on its fixed port {port}, inside the ephemeral range {range}, without a reservation"
            ),
            explanation: format!(
                "Port {port} lies inside ip_local_port_range and is not in ip_local_reserved_ports, and it is this \
                 service's own port ({fixed}): if the service restarts while an outbound connection holds that \
                 port, it will fail to bind."
            ),
            evidence: vec![
                Evidence::fact("ip_local_port_range", range.to_string()),
                Evidence::fact("fixed port", fixed),
            ],
            remedy: format!(
                "Reserve it: sysctl -w net.ipv4.ip_local_reserved_ports={port} (a comma-separated list; keep existing \
                 entries), or move the service out of the range."
            ),
            settings: vec!["net.ipv4.ip_local_reserved_ports"],
        });
    }
    if unproven.is_empty() {
        return;
    }
    let named: Vec<String> = unproven.iter().map(|listener| listener_subject(listener).label()).collect();
    let shown = named.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    let more = if named.len() > 10 { format!(" and {} more", named.len() - 10) } else { String::new() };
    report.add(Finding {
        id,
        severity: Severity::Info,
        subject: netns_subject(context),
        summary: format!(
            "{} inside the ephemeral range {range}, probably picked by the kernel",
            units::plural(unproven.len() as u64, "listener")
        ),
        explanation: format!(
            "These listen on ports inside ip_local_port_range: {shown}{more}. A port the kernel picked for a bind \
             to port 0 (test runners, Java RMI, Python servers) is no risk. A fixed service port there is: after a \
             restart the service fails to bind if an outbound connection holds it. Nothing shows these ports are \
             fixed: not the owner's command line, not /etc/services, not a restart on the same port seen here."
        ),
        evidence: unproven
            .iter()
            .take(10)
            .map(|listener| Evidence::fact("listener", listener_subject(listener).label()))
            .collect(),
        remedy: "If one of them is a service's fixed port, reserve it (net.ipv4.ip_local_reserved_ports, a \
                 comma-separated list) or move it out of the range; otherwise nothing to do."
            .to_string(),
        settings: vec!["net.ipv4.ip_local_reserved_ports"],
    });
}

/// Why a listener's port is its service's fixed one, if anything shows it: the port in an
/// owner's command line, a name in /etc/services, or the port listened on again on a new socket.
fn fixed_port_evidence(context: &Context<'_>, listener: &crate::model::ListenerView, port: u16) -> Option<String> {
    let table = context.sample.processes.as_ref();
    let in_command_line = listener.processes.iter().find(|process| {
        let status = table.and_then(|table| table.status.get(&process.pid));
        status.is_some_and(|status| status.command_line_numbers.contains(&port))
    });
    if let Some(process) = in_command_line {
        return Some(format!("named in the command line of {}[{}]", process.command, process.pid));
    }
    if let Some(name) = context.sample.service_ports.get(&port) {
        return Some(format!("/etc/services names it {name}"));
    }
    context.history.restarted_on(port).then(|| "listened on again on a new socket (a restart)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::*;
    use crate::sample::{DestinationPorts, Sample, SysctlValue};

    fn with_destination(sockets: u64, range: (u16, u16)) -> Sample {
        let mut s = sample(10);
        set_sysctl(
            &mut s,
            "net.ipv4.ip_local_port_range",
            SysctlValue::Integers(vec![i64::from(range.0), i64::from(range.1)]),
        );
        if let Some(summary) = s.tcp_summary.as_mut() {
            summary.ephemeral.range = Some(range);
            summary.ephemeral.tcp_sockets = sockets;
            summary.ephemeral.destinations = 1;
            summary.ephemeral.by_destination = vec![DestinationPorts {
                local_address: "10.0.0.1".parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                remote_address: "10.0.0.9".parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
                remote_port: 5432,
                sockets,
                time_wait: sockets / 2,
            }];
        }
        s
    }

    #[test]
    fn a_nearly_used_up_range_is_critical_toward_its_destination() {
        let outcome = run_check(&EPHEMERAL_PORTS_EXHAUSTED, &[with_destination(95, (40000, 40099))]);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].severity, Severity::Critical);
        assert_eq!(outcome.findings[0].subject.label(), "10.0.0.1 -> 10.0.0.9:5432");
        let warm = run_check(&EPHEMERAL_PORTS_EXHAUSTED, &[with_destination(75, (40000, 40099))]);
        assert_eq!(warm.findings[0].severity, Severity::Warning);
        assert!(run_check(&EPHEMERAL_PORTS_EXHAUSTED, &[with_destination(60, (40000, 40099))]).findings.is_empty());
    }

    #[test]
    fn a_small_range_a_listener_inside_it_and_equal_parity() {
        let mut s = with_destination(10, (40000, 40100));
        add_listener(&mut s, listener("0.0.0.0", 40050, 3, 0, 128), Some((9, "app")));
        let outcome = run_check(&PORT_RANGE_CONFIG, &[s]);
        let summaries: Vec<&str> = outcome.findings.iter().map(|f| f.summary.as_str()).collect();
        assert_eq!(outcome.findings.len(), 3, "{summaries:?}");
        assert!(summaries.iter().any(|s| s.contains("holds only 101 ports")));
        assert!(summaries.iter().any(|s| s.contains("1 listener inside the ephemeral range")), "{summaries:?}");
        assert!(summaries.iter().any(|s| s.contains("same parity")));
    }

    /// The default range with `count` listeners on ports from 40000 (cookies from `cookie`).
    fn with_listeners(second: u64, count: u16, cookie: u64) -> Sample {
        let mut s = sample(second);
        for n in 0..count {
            let mut l = listener("127.0.0.1", 40000 + n, 3 + u64::from(n), 0, 128);
            l.cookie = cookie + u64::from(n);
            add_listener(&mut s, l, Some((100 + u32::from(n), "python3")));
        }
        s
    }

    #[test]
    fn kernel_picked_ports_are_one_note_and_fixed_ones_warn_with_their_evidence() {
        let many = run_check(&PORT_RANGE_CONFIG, &[with_listeners(1, 24, 500)]);
        assert_eq!(many.findings.len(), 1, "{many:?}");
        assert_eq!(many.findings[0].severity, Severity::Info);
        assert!(many.findings[0].summary.starts_with("24 listeners inside the ephemeral range"));
        assert!(
            many.findings[0].explanation.contains("127.0.0.1:40000")
                && many.findings[0].explanation.contains("14 more")
        );
        // The port in its owner's command line.
        let mut named = with_listeners(1, 2, 500);
        if let Some(table) = named.processes.as_mut() {
            let status = crate::sample::ProcessStatus {
                state: 'S',
                parent: 1,
                cpu_ticks: 0,
                threads: 1,
                start_time: 1,
                cgroup: None,
                command_line_numbers: [40001, 1].into(),
            };
            table.status.insert(101, status);
        }
        let outcome = run_check(&PORT_RANGE_CONFIG, &[named.clone()]);
        let warned: Vec<&Finding> = outcome.findings.iter().filter(|f| f.severity == Severity::Warning).collect();
        assert_eq!(warned.len(), 1, "{outcome:?}");
        assert!(warned[0].summary.contains("fixed port 40001"));
        assert!(warned[0].evidence.iter().any(|e| e.value.contains("command line of python3[101]")));
        assert!(outcome.findings.iter().any(|f| f.summary.starts_with("1 listener inside")), "the other is a note");
        // A name in /etc/services.
        named.service_ports.insert(40000, "myservice".into());
        let outcome = run_check(&PORT_RANGE_CONFIG, &[named]);
        assert_eq!(outcome.findings.iter().filter(|f| f.severity == Severity::Warning).count(), 2);
        // The same port listened on again on a new socket; an SO_REUSEPORT sibling is not a restart.
        let restarted = [with_listeners(1, 1, 500), with_listeners(2, 1, 900)];
        let outcome = run_check(&PORT_RANGE_CONFIG, &restarted);
        assert_eq!(outcome.findings[0].severity, Severity::Warning, "{outcome:?}");
        let mut siblings = with_listeners(1, 1, 500);
        let mut sibling = listener("127.0.0.1", 40000, 9, 0, 128);
        sibling.cookie = 777;
        add_listener(&mut siblings, sibling, Some((200, "nginx")));
        let outcome = run_check(&PORT_RANGE_CONFIG, &[with_listeners(1, 1, 500), siblings]);
        assert!(outcome.findings.iter().all(|f| f.severity == Severity::Info), "{outcome:?}");
    }

    #[test]
    fn the_default_range_is_fine() {
        assert!(run_check(&PORT_RANGE_CONFIG, &[sample(1)]).findings.is_empty());
    }
}
