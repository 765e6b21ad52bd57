//! Checks of the path and context: MTU inconsistencies, path-MTU black holes, retransmissions,
//! the connection-tracking table, and settings that differ from the host's namespace.

use super::listen::netns_subject;
use super::states::kernel_event;
use super::{Check, Context, Evidence, Finding, LimitUsage, Report, Severity, Subject, kernel_version};
use crate::format as units;
use crate::model::format_setting;
use crate::sample::counters::{ACTIVE_OPENS, ORIG_DATA_SENT, OUT_SEGS, RETRANS_SEGS, SYN_RETRANS};
use crate::sample::{HostNamespace, Interface, KernelEventKind};
use crate::settings::PER_NAMESPACE_SETTINGS;

/// Encapsulation overhead in bytes of tunnel kinds over an IPv4 underlay (IPv6 adds 20).
fn tunnel_overhead(kind: &str) -> Option<u32> {
    Some(match kind {
        "vxlan" | "geneve" => 50,
        "gre" | "gretap" => 24,
        "ipip" | "sit" => 20,
        "wireguard" => 60,
        _ => return None,
    })
}

/// `mtu-mismatch`.
pub const MTU_MISMATCH: Check =
    Check { id: "mtu-mismatch", family: "path", title: "interface MTUs that disagree", run: mtu_mismatch };

fn mtu_mismatch(context: &Context<'_>, report: &mut Report) {
    let id = MTU_MISMATCH.id;
    let Some(interfaces) = context.sample.interfaces.as_deref() else {
        report.not_evaluated(id, "interfaces unavailable");
        return;
    };
    let by_index = |index: Option<u32>| index.and_then(|index| interfaces.iter().find(|i| i.index == index));
    for interface in interfaces {
        let Some(mtu) = interface.mtu else { continue };
        let master =
            by_index(interface.master).filter(|m| matches!(m.kind.as_deref(), Some("bridge" | "bond" | "team")));
        if let Some(master) = master.filter(|master| master.mtu.is_some_and(|master_mtu| master_mtu != mtu)) {
            report.add(mismatch(
                interface,
                master,
                "its master",
                "Bridge ports and bond members must share the master's MTU: frames larger than the smallest MTU in \
                 the L2 domain are dropped.",
            ));
        }
        if let Some(finding) = veth_peer_mismatch(interface) {
            report.add(finding);
        }
        // An index in another namespace names none of this namespace's interfaces.
        let lower = by_index(interface.link.filter(|_| interface.link_netnsid.is_none()));
        let vlan_parent =
            lower.filter(|parent| interface.kind.as_deref() == Some("vlan") && parent.mtu.is_some_and(|p| mtu > p));
        if let Some(parent) = vlan_parent {
            report.add(mismatch(
                interface,
                parent,
                "its parent",
                "A VLAN cannot carry frames larger than its parent device: larger frames are dropped.",
            ));
        }
        let Some(overhead) = interface.kind.as_deref().and_then(tunnel_overhead) else { continue };
        let underlay = lower.or_else(|| only_uplink(interfaces));
        if let Some(underlay) = underlay.filter(|u| u.mtu.is_some_and(|under| mtu.saturating_add(overhead) > under)) {
            let explanation = format!(
                "With overlays the usable MTU shrinks by the encapsulation header ({overhead} bytes for {} over IPv4): \
                 frames larger than the underlay MTU minus that overhead are fragmented or dropped.",
                interface.kind.as_deref().unwrap_or("this tunnel")
            );
            report.add(mismatch(interface, underlay, "its underlay", &explanation));
        }
    }
    if let Some(evidence) = kernel_event(context, KernelEventKind::OverMtu) {
        report.add(Finding {
            id,
            severity: Severity::Critical,
            subject: Subject::Host,
            summary: "the kernel dropped over-MTU packets".to_string(),
            explanation: "A device refused a packet larger than its MTU, which usually means MTUs disagree along a \
                          bridge, bond or tunnel."
                .to_string(),
            evidence: vec![evidence],
            remedy: "Compare `ip -d link` MTUs along the path and align them.".to_string(),
            settings: Vec::new(),
        });
    }
}

/// The single UP physical device, when there is exactly one: the likely underlay of a tunnel.
fn only_uplink(interfaces: &[Interface]) -> Option<&Interface> {
    let mut physical = interfaces.iter().filter(|i| i.kind.is_none() && i.oper_state == "UP" && i.name != "lo");
    let first = physical.next()?;
    physical.next().is_none().then_some(first)
}

fn mismatch(interface: &Interface, other: &Interface, relation: &str, explanation: &str) -> Finding {
    let (mtu, other_mtu) = (interface.mtu.unwrap_or(0), other.mtu.unwrap_or(0));
    Finding {
        id: MTU_MISMATCH.id,
        severity: Severity::Warning,
        subject: Subject::Interface { name: interface.name.clone() },
        summary: format!("MTU {mtu} disagrees with {relation} {} (MTU {other_mtu})", other.name),
        explanation: explanation.to_string(),
        evidence: vec![
            Evidence::number(format!("{} MTU", interface.name), mtu.to_string(), f64::from(mtu)),
            Evidence::number(format!("{} MTU", other.name), other_mtu.to_string(), f64::from(other_mtu)),
        ],
        remedy: format!(
            "Align them, e.g. `ip link set {} mtu {}`, and persist it in the network configuration; clamp MSS on routers \
             if the path cannot be changed.",
            interface.name,
            mtu.min(other_mtu)
        ),
        settings: Vec::new(),
    }
}

/// A veth whose peer has another MTU: the side with the larger MTU sends frames the other end
/// drops (the receiving veth refuses anything above its own MTU).
fn veth_peer_mismatch(interface: &Interface) -> Option<Finding> {
    let mtu = interface.mtu?;
    let peer = interface.peer.as_ref().filter(|_| interface.kind.as_deref() == Some("veth"))?;
    let peer_mtu = peer.mtu.filter(|peer_mtu| *peer_mtu != mtu)?;
    let (name, other) = (&interface.name, &peer.name);
    let place = interface.link_netnsid.map_or_else(|| "in this namespace".to_string(), |id| format!("in netnsid {id}"));
    let direction = if mtu > peer_mtu {
        format!("frames of {} to {mtu} bytes sent from here are dropped by {other}", peer_mtu + 1)
    } else {
        format!("{other} may send frames of {} to {peer_mtu} bytes, which {name} drops", mtu + 1)
    };
    Some(Finding {
        id: MTU_MISMATCH.id,
        severity: Severity::Warning,
        subject: Subject::Interface { name: name.clone() },
        summary: format!("MTU {mtu} disagrees with its veth peer {other} {place} (MTU {peer_mtu})"),
        explanation: format!(
            "The two ends of a veth pair must share an MTU: a veth refuses frames above its own MTU, so {direction}. \
             TCP usually recovers through MSS negotiation, but UDP, ICMP and anything that sets DF silently lose \
             the large packets; the drops show up as rx_dropped on the receiving end."
        ),
        evidence: vec![
            Evidence::number(format!("{name} MTU"), mtu.to_string(), f64::from(mtu)),
            Evidence::number(format!("{other} MTU (peer)"), peer_mtu.to_string(), f64::from(peer_mtu)),
        ],
        remedy: format!(
            "Give both ends the same MTU: {}; for containers set it in the runtime's or CNI plugin's network \
             configuration (its `mtu` option) so new pairs are made right.",
            if mtu > peer_mtu {
                format!(
                    "`ip link set {name} mtu {peer_mtu}` here, or raise {other} in its namespace (`ip -n <netns> \
                     link set {other} mtu {mtu}`) if the path beyond it carries {mtu}"
                )
            } else {
                format!(
                    "`ip -n <netns> link set {other} mtu {mtu}` in the peer's namespace, or raise {name} here \
                     (`ip link set {name} mtu {peer_mtu}`) if the path beyond it carries {peer_mtu}"
                )
            }
        ),
        settings: Vec::new(),
    })
}

/// `pmtu-blackhole-risk`.
pub const PMTU_BLACKHOLE_RISK: Check = Check {
    id: "pmtu-blackhole-risk",
    family: "path",
    title: "path-MTU discovery may be failing",
    run: pmtu_blackhole_risk,
};

fn pmtu_blackhole_risk(context: &Context<'_>, report: &mut Report) {
    let id = PMTU_BLACKHOLE_RISK.id;
    if let Some(mode) = context.sysctl("net.ipv4.ip_no_pmtu_disc").filter(|mode| *mode != 0) {
        report.add(Finding {
            id,
            severity: Severity::Info,
            subject: Subject::Sysctl { name: "net.ipv4.ip_no_pmtu_disc".into() },
            summary: format!("path-MTU discovery is disabled (ip_no_pmtu_disc = {mode})"),
            explanation: "Without PMTUD the host sends packets that may be fragmented or dropped on paths with a \
                          smaller MTU."
                .to_string(),
            evidence: vec![Evidence::number("net.ipv4.ip_no_pmtu_disc", mode.to_string(), mode as f64)],
            remedy: "sysctl -w net.ipv4.ip_no_pmtu_disc=0 unless a documented reason requires it.".to_string(),
            settings: vec!["net.ipv4.ip_no_pmtu_disc"],
        });
    }
    let Some(flows) = context.sample.flows.as_ref() else {
        report.not_evaluated(id, super::flows_missing(context.sample));
        return;
    };
    let probing = context.sysctl("net.ipv4.tcp_mtu_probing").unwrap_or(0);
    let interfaces = context.sample.interfaces.as_deref().unwrap_or_default();
    let risky_mtu = interfaces.iter().any(|i| {
        i.oper_state == "UP"
            && i.name != "lo"
            && (i.mtu.is_some_and(|mtu| mtu > 1500) || i.kind.as_deref().and_then(tunnel_overhead).is_some())
    });
    if probing != 0 || !risky_mtu {
        return;
    }
    let stuck: Vec<_> = flows
        .retransmitting
        .iter()
        .filter(|flow| {
            !flow.local_address.is_loopback()
                && flow.info.snd_mss.is_some_and(|mss| mss >= 1400)
                && flow.info.unacked.unwrap_or(0) > 0
        })
        .collect();
    let Some(first) = stuck.first() else { return };
    report.add(Finding {
        id,
        severity: Severity::Warning,
        subject: netns_subject(context),
        summary: format!("{} established flows retransmit full-size segments with MTU probing off", stuck.len()),
        explanation: "Path-MTU discovery needs ICMP \"fragmentation needed\" (IPv4) or \"packet too big\" (IPv6) to \
                      reach this host. If a firewall or an ECMP load balancer drops them, large packets vanish and \
                      connections hang right after the handshake — these flows retransmit full-size segments on a host \
                      with jumbo frames or tunnels."
            .to_string(),
        evidence: vec![
            Evidence::number("flows retransmitting full-size segments", stuck.len().to_string(), stuck.len() as f64),
            Evidence::fact(
                "for example",
                format!(
                    "{}:{} -> {}:{}, mss {}",
                    first.local_address,
                    first.local_port,
                    first.remote_address,
                    first.remote_port,
                    first.info.snd_mss.unwrap_or(0)
                ),
            ),
            Evidence::number("net.ipv4.tcp_mtu_probing", probing.to_string(), probing as f64),
        ],
        remedy:
            "Let ICMP type 3 code 4 and ICMPv6 type 2 through every firewall; set net.ipv4.tcp_mtu_probing=1 (probing \
                 starts once a black hole is detected) with a sane tcp_base_mss; clamp MSS on the path."
                .to_string(),
        settings: vec!["net.ipv4.tcp_mtu_probing"],
    });
}

/// `retransmit-rate`.
pub const RETRANSMIT_RATE: Check =
    Check { id: "retransmit-rate", family: "path", title: "TCP retransmissions", run: retransmit_rate };

/// Below this many data segments in the interval a ratio says nothing.
const MIN_SEGMENTS: i64 = 1000;

fn retransmit_rate(context: &Context<'_>, report: &mut Report) {
    let id = RETRANSMIT_RATE.id;
    let model = context.model;
    if model.counters.total(RETRANS_SEGS).is_none() {
        report.not_evaluated(id, "/proc/net/snmp Tcp counters unavailable");
        return;
    }
    let Some(interval) = model.interval else {
        report.not_evaluated(id, "needs two samples (use --interval)");
        return;
    };
    let thresholds = &context.rules.thresholds;
    let retransmitted = model.counters.delta(RETRANS_SEGS).unwrap_or(0);
    let (sent, denominator) = match model.counters.delta(ORIG_DATA_SENT) {
        Some(sent) => (sent, "TCPOrigDataSent"),
        None => (model.counters.delta(OUT_SEGS).unwrap_or(0), "OutSegs"),
    };
    if sent >= MIN_SEGMENTS && retransmitted > 0 {
        let share = retransmitted as f64 / sent as f64;
        let severity = if share >= thresholds.retransmit_critical {
            Some(Severity::Critical)
        } else if share >= thresholds.retransmit_warning {
            Some(Severity::Warning)
        } else {
            None
        };
        if let Some(severity) = severity {
            report.add(Finding {
                id,
                severity,
                subject: netns_subject(context),
                summary: format!("{} of data segments retransmitted", units::percent(share)),
                explanation: format!(
                    "Retransmissions mean loss somewhere on the path or at a receiver: {retransmitted} of {sent} data \
                     segments in the last {} were sent again.",
                    units::interval(interval)
                ),
                evidence: vec![
                    Evidence::number("RetransSegs", retransmitted.to_string(), retransmitted as f64),
                    Evidence::number(denominator, sent.to_string(), sent as f64),
                    Evidence::number("share", units::percent(share), share),
                ],
                remedy: "Usually not a sysctl problem: check NIC errors (nic-rx-drops), softnet drops, MTU \
                         (mtu-mismatch, pmtu-blackhole-risk) and the remote side; bcc `tcpretrans` names the flows."
                    .to_string(),
                settings: Vec::new(),
            });
        }
    }
    syn_retransmits(context, report);
}

/// TCPSynRetrans counts both SYNs a client resends and SYN-ACKs a listener resends: with no
/// outbound connection attempt in the interval they are all the listeners' SYN-ACKs, a
/// symptom of handshakes to this namespace not completing.
fn syn_retransmits(context: &Context<'_>, report: &mut Report) {
    let model = context.model;
    let syn_retransmits = model.counters.delta(SYN_RETRANS).unwrap_or(0);
    let opened = model.counters.delta(ACTIVE_OPENS).unwrap_or(0);
    if syn_retransmits < 10 || (syn_retransmits as f64) < 0.05 * opened.max(1) as f64 {
        return;
    }
    let evidence = vec![
        Evidence::number("TCPSynRetrans", syn_retransmits.to_string(), syn_retransmits as f64),
        Evidence::number("ActiveOpens", opened.to_string(), opened as f64),
    ];
    let (summary, explanation, remedy) = if opened == 0 {
        (
            format!("{syn_retransmits} SYN-ACK retransmits by this namespace's listeners"),
            "No outbound connection was attempted in the interval, so these are SYN-ACKs the listeners here resent \
             (TCPSynRetrans counts both kinds): clients' handshakes are not completing — their final ACK was \
             dropped at a full accept queue, or it never arrives (a SYN flood, a firewall or an asymmetric path)."
                .to_string(),
            "Look at the listeners here: accept-queue-full, listener-drops and syn-queue-pressure name the one \
             and its cause. net.ipv4.tcp_synack_retries bounds how often each request is resent.",
        )
    } else {
        (
            format!("{syn_retransmits} SYN or SYN-ACK retransmits for {opened} outbound connection attempts"),
            "Handshakes are not answered on the first try: outbound ones to a remote listener overflowing, a \
             firewall dropping SYNs or a full conntrack table on the way (each retry adds 1 s, then 3 s, then 7 s \
             to connect()); TCPSynRetrans also counts SYN-ACKs the listeners here resend."
                .to_string(),
            "Run sockscope on the servers being called (accept-queue-full, listener-drops), check conntrack-full \
             and firewalls in between, and this namespace's own listeners (syn-queue-pressure).",
        )
    };
    report.add(Finding {
        id: RETRANSMIT_RATE.id,
        severity: Severity::Warning,
        subject: netns_subject(context),
        summary,
        explanation,
        evidence,
        remedy: remedy.to_string(),
        settings: if opened == 0 { vec!["net.ipv4.tcp_synack_retries"] } else { Vec::new() },
    });
}

/// `conntrack-full`.
pub const CONNTRACK_FULL: Check = Check {
    id: "conntrack-full",
    family: "path",
    title: "the connection-tracking table filling up",
    run: conntrack_full,
};

fn conntrack_full(context: &Context<'_>, report: &mut Report) {
    let id = CONNTRACK_FULL.id;
    let (Some(count), Some(max)) =
        (context.sysctl("net.netfilter.nf_conntrack_count"), context.sysctl("net.netfilter.nf_conntrack_max"))
    else {
        // No conntrack table: connection tracking is not loaded, so it cannot fill.
        return;
    };
    let thresholds = &context.rules.thresholds;
    let dropped = context.model.counters.delta_sum(&[("nf_conntrack", "drop"), ("nf_conntrack", "early_drop")]);
    let usage = LimitUsage {
        label: "tracked connections",
        used: count,
        limit_label: "nf_conntrack_max",
        limit: max,
        warning: thresholds.conntrack_warning,
        critical: thresholds.conntrack_critical,
        lost: (dropped > 0).then_some(("conntrack drop + early_drop", dropped)),
        logged: kernel_event(context, KernelEventKind::ConntrackFull),
    };
    let Some(severity) = usage.severity() else { return };
    let (share, evidence) = (usage.share(), usage.evidence());
    report.add(Finding {
        id,
        severity,
        subject: Subject::Sysctl { name: "net.netfilter.nf_conntrack_max".into() },
        summary: format!("the conntrack table is {} full ({count} of {max})", units::percent(share)),
        explanation: "The stateful firewall/NAT table is filling up. When it is full, new flows are dropped before \
                      TCP sees the SYN — from the client's side this looks exactly like a listen overflow."
            .to_string(),
        evidence,
        remedy:
            "Raise net.netfilter.nf_conntrack_max (default = nf_conntrack_buckets) and the hash size; shorten long \
                 timeouts (established defaults to 5 days); exempt high-volume stateless flows with NOTRACK."
                .to_string(),
        settings: vec!["net.netfilter.nf_conntrack_max"],
    });
}

/// `netns-divergence`.
pub const NETNS_DIVERGENCE: Check = Check {
    id: "netns-divergence",
    family: "context",
    title: "per-namespace settings that differ from the host's, and kernel caveats",
    run: netns_divergence,
};

fn netns_divergence(context: &Context<'_>, report: &mut Report) {
    let id = NETNS_DIVERGENCE.id;
    let model = context.model;
    kernel_banners(context, report);
    match &context.sample.host_netns {
        None | Some(HostNamespace::Same { .. }) => {}
        Some(HostNamespace::Unknown { reason }) => report.not_evaluated(id, reason.clone()),
        Some(HostNamespace::Other { inode, found_through, sysctls }) => {
            for name in PER_NAMESPACE_SETTINGS {
                let (Some(here), Some(host)) = (context.sample.sysctl(name), sysctls.get(name)) else { continue };
                if here == host {
                    continue;
                }
                let lower_somaxconn = name == "net.core.somaxconn"
                    && here.as_integer() < host.as_integer()
                    && !model.listeners.is_empty();
                report.add(Finding {
                    id,
                    severity: Severity::Info,
                    subject: Subject::Sysctl { name: name.to_string() },
                    summary: format!(
                        "{name} is {} here but {} in the host's namespace",
                        format_setting(here),
                        format_setting(host)
                    ),
                    explanation: format!(
                        "Settings under net.* are per network namespace and containers do not inherit the host's \
                         values{}.",
                        if lower_somaxconn {
                            ": this namespace's listeners are capped lower than the host's would be"
                        } else {
                            ""
                        }
                    ),
                    evidence: vec![
                        Evidence::fact("this namespace", format_setting(here)),
                        Evidence::fact(format!("host namespace net:[{inode}]"), format_setting(host)),
                        Evidence::fact("host namespace found through", found_through.describe()),
                    ],
                    remedy:
                        "Set the value in the container or pod specification (Kubernetes: securityContext.sysctls), \
                             or with `ip netns exec`/`nsenter -n` for hand-made namespaces."
                            .to_string(),
                    settings: Vec::new(),
                });
            }
        }
    }
}

/// Version notes: behaviour of older kernels that changes how the numbers read.
fn kernel_banners(context: &Context<'_>, report: &mut Report) {
    let Some(version) = kernel_version(context.sample) else { return };
    let notes: [((u32, u32), &str); 4] = [
        ((4, 3), "before 4.3 the SYN queue was sized by a power-of-two formula of backlog and tcp_max_syn_backlog"),
        ((4, 7), "before 4.7 listeners have no drop counter; only the namespace counters show drops"),
        ((4, 10), "before 4.10 SYNs were accepted into a full accept queue and handshakes stalled at the final ACK"),
        ((5, 4), "before 5.4 the default somaxconn was 128"),
    ];
    for (_, note) in notes.iter().filter(|(since, _)| version < *since) {
        report.add(Finding {
            id: NETNS_DIVERGENCE.id,
            severity: Severity::Info,
            subject: Subject::Host,
            summary: format!("kernel {}.{}: {note}", version.0, version.1),
            explanation: "Listen-queue behaviour changed across kernel versions; sockscope's explanations describe \
                          current kernels."
                .to_string(),
            evidence: vec![Evidence::fact(
                "kernel",
                context.sample.host.as_ref().map(|h| h.kernel.clone()).unwrap_or_default(),
            )],
            remedy: "Plan a kernel upgrade for the current semantics.".to_string(),
            settings: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::*;
    use crate::sample::{Sample, SysctlValue, Sysctls};

    #[test]
    fn a_bridge_port_and_a_tunnel_with_the_wrong_mtu() {
        let mut s = sample(5);
        let bridge = interface(3, "br0", 1500, Some("bridge"));
        let mut port = interface(4, "veth0", 9000, Some("veth"));
        port.master = Some(3);
        let eth = interface(2, "eth0", 1500, None);
        let mut tunnel = interface(5, "vxlan0", 1500, Some("vxlan"));
        tunnel.link = Some(2);
        s.interfaces = Some(vec![eth, bridge, port, tunnel]);
        let outcome = run_check(&MTU_MISMATCH, &[s]);
        let subjects: Vec<String> = outcome.findings.iter().map(|f| f.subject.label()).collect();
        assert_eq!(subjects, vec!["interface veth0", "interface vxlan0"]);
        let mut fine = sample(5);
        let mut good_tunnel = interface(5, "vxlan0", 1450, Some("vxlan"));
        good_tunnel.link = Some(2);
        fine.interfaces = Some(vec![interface(2, "eth0", 1500, None), good_tunnel]);
        assert!(run_check(&MTU_MISMATCH, &[fine]).findings.is_empty());
    }

    fn retransmits(sent: i64, retransmitted: i64) -> Vec<Sample> {
        let before = sample(10);
        let mut after = sample(11);
        set_counter(&mut after, "TcpExt", "TCPOrigDataSent", sent);
        set_counter(&mut after, "Tcp", "RetransSegs", retransmitted);
        vec![before, after]
    }

    #[test]
    fn retransmissions_above_one_and_five_percent() {
        assert_eq!(run_check(&RETRANSMIT_RATE, &retransmits(10_000, 200)).findings[0].severity, Severity::Warning);
        assert_eq!(run_check(&RETRANSMIT_RATE, &retransmits(10_000, 600)).findings[0].severity, Severity::Critical);
        assert!(run_check(&RETRANSMIT_RATE, &retransmits(10_000, 50)).findings.is_empty());
        assert!(run_check(&RETRANSMIT_RATE, &retransmits(100, 50)).findings.is_empty(), "too few segments to judge");
    }

    #[test]
    fn syn_retransmits_without_outbound_connections_are_the_listeners_syn_acks() {
        let mut samples = retransmits(0, 0);
        set_counter(&mut samples[1], "TcpExt", "TCPSynRetrans", 134);
        let outcome = run_check(&RETRANSMIT_RATE, &samples);
        assert_eq!(outcome.findings.len(), 1, "{outcome:?}");
        let summary = &outcome.findings[0].summary;
        assert_eq!(summary, "134 SYN-ACK retransmits by this namespace's listeners");
        set_counter(&mut samples[1], "Tcp", "ActiveOpens", 40);
        let outcome = run_check(&RETRANSMIT_RATE, &samples);
        assert_eq!(outcome.findings[0].summary, "134 SYN or SYN-ACK retransmits for 40 outbound connection attempts");
    }

    #[test]
    fn a_conntrack_table_past_80_percent_warns_and_drops_are_critical() {
        let mut s = sample(5);
        set_sysctl(&mut s, "net.netfilter.nf_conntrack_count", SysctlValue::Integer(850));
        set_sysctl(&mut s, "net.netfilter.nf_conntrack_max", SysctlValue::Integer(1000));
        assert_eq!(run_check(&CONNTRACK_FULL, &[s.clone()]).findings[0].severity, Severity::Warning);
        let mut before = s.clone();
        before.conntrack = Some([("drop".to_string(), 0u64)].into_iter().collect());
        before.boottime_ns -= 1_000_000_000;
        let mut after = s.clone();
        after.conntrack = Some([("drop".to_string(), 7u64)].into_iter().collect());
        assert_eq!(run_check(&CONNTRACK_FULL, &[before, after]).findings[0].severity, Severity::Critical);
        assert!(run_check(&CONNTRACK_FULL, &[sample(5)]).findings.is_empty(), "no table, nothing to fill");
    }

    #[test]
    fn a_container_with_a_lower_somaxconn_than_the_host() {
        let mut s = sample(5);
        set_sysctl(&mut s, "net.core.somaxconn", SysctlValue::Integer(128));
        add_listener(&mut s, listener("0.0.0.0", 80, 1, 0, 128), None);
        let mut host = Sysctls::new();
        host.insert("net.core.somaxconn".into(), SysctlValue::Integer(4096));
        host.insert("net.ipv4.tcp_syncookies".into(), SysctlValue::Integer(1));
        s.host_netns = Some(HostNamespace::Other {
            inode: 4_026_531_840,
            found_through: crate::sample::HostLink::Kthreadd,
            sysctls: host,
        });
        let outcome = run_check(&NETNS_DIVERGENCE, &[s]);
        assert_eq!(outcome.findings.len(), 1, "{outcome:?}");
        assert!(outcome.findings[0].summary.contains("128 here but 4096"));
        let through = outcome.findings[0].evidence.iter().find(|e| e.label == "host namespace found through");
        assert!(through.is_some_and(|e| e.value.contains("kthreadd")), "{:?}", outcome.findings[0].evidence);
        let mut same = sample(5);
        same.host_netns = Some(HostNamespace::Same { found_through: crate::sample::HostLink::Init });
        assert!(run_check(&NETNS_DIVERGENCE, &[same]).findings.is_empty());
    }

    #[test]
    fn old_kernels_get_version_notes() {
        let mut old = sample(5);
        if let Some(host) = old.host.as_mut() {
            host.kernel = "4.9.0-amd64".into();
        }
        let outcome = run_check(&NETNS_DIVERGENCE, &[old]);
        assert_eq!(outcome.findings.len(), 2, "4.10 and 5.4 notes: {outcome:?}");
    }

    #[test]
    fn pmtu_discovery_off_is_noted() {
        let mut s = sample(5);
        set_sysctl(&mut s, "net.ipv4.ip_no_pmtu_disc", SysctlValue::Integer(1));
        assert_eq!(run_check(&PMTU_BLACKHOLE_RISK, &[s]).findings.len(), 1);
    }
}
