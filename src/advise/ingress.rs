//! Checks of the ingress path below TCP: per-CPU input backlog drops and squeezes, and NIC
//! receive drops.

use super::{Check, Context, Evidence, Finding, Report, Severity, Subject};
use crate::format as units;
use crate::model::history::History;

/// `softnet-drops`.
pub const SOFTNET_DROPS: Check = Check {
    id: "softnet-drops",
    family: "ingress",
    title: "per-CPU input backlog drops and budget squeezes",
    run: softnet_drops,
};

fn softnet_drops(context: &Context<'_>, report: &mut Report) {
    let id = SOFTNET_DROPS.id;
    let model = context.model;
    if context.sample.softnet.is_none() {
        let reason = context.sample.unavailable_reason(&crate::sample::Source::Softnet).unwrap_or("not collected");
        report.not_evaluated(id, format!("/proc/net/softnet_stat unavailable: {reason}"));
        return;
    }
    if model.interval.is_none() {
        report.not_evaluated(id, "needs two samples (use --interval)");
        return;
    }
    let thresholds = &context.rules.thresholds;
    let backlog = context.sysctl("net.core.netdev_max_backlog");
    for cpu in &model.softnet {
        let dropped = cpu.dropped_rate.unwrap_or(0.0);
        let squeezed = cpu.squeezed_rate.unwrap_or(0.0);
        let persistent =
            History::last_n(&context.history.softnet_drop_rate(cpu.cpu), thresholds.softnet_persist_intervals)
                .is_some_and(|rates| rates.iter().all(|rate| *rate > 0.0));
        let severity = if persistent {
            Severity::Critical
        } else if dropped > thresholds.softnet_rate || squeezed > thresholds.softnet_rate {
            Severity::Warning
        } else {
            continue;
        };
        let mut evidence = vec![
            Evidence::number("dropped", units::rate(Some(dropped)), dropped),
            Evidence::number("time squeezed", units::rate(Some(squeezed)), squeezed),
            Evidence::number("processed", units::rate(cpu.processed_rate), cpu.processed_rate.unwrap_or(0.0)),
        ];
        if persistent {
            evidence.push(Evidence::fact(
                "drops in each of the last intervals",
                thresholds.softnet_persist_intervals.to_string(),
            ));
        }
        if let Some(backlog) = backlog {
            evidence.push(Evidence::number("net.core.netdev_max_backlog", backlog.to_string(), backlog as f64));
        }
        report.add(Finding {
            id,
            severity,
            subject: Subject::Cpu { cpu: cpu.cpu },
            summary: if dropped > 0.0 {
                format!("CPU {} drops {} packets at its input backlog", cpu.cpu, units::rate(Some(dropped)))
            } else {
                format!("CPU {} runs out of softirq budget {} times a second", cpu.cpu, units::rate(Some(squeezed)))
            },
            explanation: "\"dropped\" counts packets discarded because this CPU's input backlog \
                          (net.core.netdev_max_backlog) was full; that backlog is filled from RPS/RFS steering and \
                          from netif_rx() paths such as loopback and veth, common with containers. \"time squeeze\" \
                          counts softirq runs that ran out of budget or time with work left, so packets wait longer \
                          or overflow the NIC rings. This file is global, not per namespace."
                .to_string(),
            evidence,
            remedy: "Double net.core.netdev_max_backlog while drops persist (Red Hat's procedure); raise \
                     net.core.netdev_budget / netdev_budget_usecs on squeezes; spread IRQs and RPS over more CPUs; \
                     consider flow_limit_cpu_bitmap."
                .to_string(),
            settings: vec!["net.core.netdev_budget", "net.core.netdev_max_backlog"],
        });
    }
    imbalance(context, report);
}

/// One CPU handling most of the packets on a multi-CPU host.
fn imbalance(context: &Context<'_>, report: &mut Report) {
    let model = context.model;
    let total: f64 = model.softnet.iter().filter_map(|cpu| cpu.processed_rate).sum();
    if model.softnet.len() < 2 || total < 1000.0 {
        return;
    }
    let Some(busiest) =
        model.softnet.iter().max_by(|a, b| a.processed_rate.unwrap_or(0.0).total_cmp(&b.processed_rate.unwrap_or(0.0)))
    else {
        return;
    };
    let share = busiest.processed_rate.unwrap_or(0.0) / total;
    if share <= context.rules.thresholds.softnet_imbalance {
        return;
    }
    report.add(Finding {
        id: SOFTNET_DROPS.id,
        severity: Severity::Info,
        subject: Subject::Cpu { cpu: busiest.cpu },
        summary: format!("CPU {} processes {} of all received packets", busiest.cpu, units::percent(share)),
        explanation: "Packet processing is concentrated on one CPU: it will drop or squeeze first while the others \
                      idle."
            .to_string(),
        evidence: vec![
            Evidence::number("share of packets", units::percent(share), share),
            Evidence::number("CPUs", model.softnet.len().to_string(), model.softnet.len() as f64),
        ],
        remedy: "Spread the NIC's interrupts (irqbalance, /proc/irq/*/smp_affinity), enable RSS queues or RPS \
                 (/sys/class/net/<if>/queues/rx-*/rps_cpus)."
            .to_string(),
        settings: Vec::new(),
    });
}

/// `nic-rx-drops`.
pub const NIC_RX_DROPS: Check =
    Check { id: "nic-rx-drops", family: "ingress", title: "NIC receive drops and errors", run: nic_rx_drops };

fn nic_rx_drops(context: &Context<'_>, report: &mut Report) {
    let id = NIC_RX_DROPS.id;
    let model = context.model;
    if context.sample.interfaces.is_none() {
        report.not_evaluated(id, "interfaces unavailable");
        return;
    }
    if model.interval.is_none() {
        report.not_evaluated(id, "needs two samples (use --interval)");
        return;
    }
    for item in &model.interfaces {
        let Some(rates) = item.rates else { continue };
        let dropped = rates.rx_dropped.unwrap_or(0.0);
        let packets = rates.rx_packets.unwrap_or(0.0);
        let missed = rates.rx_missed.unwrap_or(0.0);
        let fifo = rates.rx_fifo.unwrap_or(0.0);
        let share = dropped / (packets + dropped).max(1.0);
        if share < context.rules.thresholds.nic_rx_drop_ratio && missed == 0.0 && fifo == 0.0 {
            continue;
        }
        let name = item.interface.name.clone();
        report.add(Finding {
            id,
            severity: Severity::Warning,
            subject: Subject::Interface { name: name.clone() },
            summary: if missed > 0.0 || fifo > 0.0 {
                format!(
                    "{name}: the NIC's receive ring overflows ({} missed, {} FIFO)",
                    units::rate(Some(missed)),
                    units::rate(Some(fifo))
                )
            } else {
                format!("{name}: {} of received packets dropped", units::percent(share))
            },
            explanation: match virtual_kind(item) {
                Some(kind) => format!(
                    "{name} is a {kind} device: it has no NIC ring. Its receive drops are frames larger than its \
                     MTU from the other end (mtu-mismatch), frames the per-CPU input backlog had no room for \
                     (softnet-drops), or \"expected\" drops (unknown protocol, unwanted VLAN)."
                ),
                None => "rx_missed and rx_fifo mean the NIC's ring overflowed before the kernel drained it. \
                         rx_dropped can include \"expected\" drops (unknown protocol, unwanted VLAN), so check \
                         what is being dropped before paging anyone."
                    .to_string(),
            },
            evidence: vec![
                Evidence::number("rx_dropped", units::rate(Some(dropped)), dropped),
                Evidence::number("rx_packets", units::rate(Some(packets)), packets),
                Evidence::number("rx_missed_errors", units::rate(Some(missed)), missed),
                Evidence::number("rx_fifo_errors", units::rate(Some(fifo)), fifo),
            ],
            remedy: match virtual_kind(item) {
                Some(_) => format!(
                    "Compare {name}'s MTU with its peer's or the bridge's (`ip -d link show {name}`) and align them; \
                     if softnet-drops fires too, raise net.core.netdev_max_backlog. `ip -s -s link show {name}` \
                     breaks the drops down; ring sizes do not apply."
                ),
                None => format!(
                    "Larger rings (`ethtool -g {name}`, `ethtool -G {name} rx <max>`), IRQ affinity and RSS, \
                     interrupt coalescing (`ethtool -c`); `ethtool -S {name}` breaks the drops down."
                ),
            },
            settings: match virtual_kind(item) {
                Some(_) => vec!["net.core.netdev_max_backlog"],
                None => Vec::new(),
            },
        });
    }
}

/// The kind of a software device that has no receive ring of its own (veth, bridge, tunnels);
/// `None` for a physical NIC and for devices stacked on one.
fn virtual_kind(item: &crate::model::InterfaceView) -> Option<&str> {
    // Not bond, VLAN or macvlan: their frames arrive through a physical device's ring.
    const VIRTUAL: [&str; 10] =
        ["veth", "bridge", "vxlan", "geneve", "gre", "gretap", "ipip", "wireguard", "tun", "dummy"];
    let kind = item.interface.kind.as_deref()?;
    VIRTUAL.contains(&kind).then_some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::*;
    use crate::sample::Sample;

    fn softnet_pair(dropped_after: u32) -> Vec<Sample> {
        let mut before = sample(10);
        before.softnet = Some(vec![softnet_row(0, 1000, 0, 0), softnet_row(1, 1000, 0, 0)]);
        let mut after = sample(11);
        after.softnet = Some(vec![softnet_row(0, 2000, dropped_after, 0), softnet_row(1, 2000, 0, 0)]);
        vec![before, after]
    }

    #[test]
    fn softnet_drops_above_ten_a_second_warn() {
        let outcome = run_check(&SOFTNET_DROPS, &softnet_pair(50));
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].subject.label(), "CPU 0");
        assert_eq!(outcome.findings[0].severity, Severity::Warning);
        assert!(run_check(&SOFTNET_DROPS, &softnet_pair(0)).findings.is_empty());
    }

    #[test]
    fn drops_in_three_intervals_in_a_row_are_critical() {
        let samples: Vec<Sample> = (0..4)
            .map(|n| {
                let mut s = sample(10 + u64::from(n));
                s.softnet = Some(vec![softnet_row(0, 1000 * (n + 1), 2 * n, 0), softnet_row(1, 1000 * (n + 1), 0, 0)]);
                s
            })
            .collect();
        assert_eq!(run_check(&SOFTNET_DROPS, &samples).findings[0].severity, Severity::Critical);
    }

    #[test]
    fn one_cpu_with_most_packets_is_noted() {
        let mut before = sample(10);
        before.softnet = Some(vec![softnet_row(0, 0, 0, 0), softnet_row(1, 0, 0, 0)]);
        let mut after = sample(11);
        after.softnet = Some(vec![softnet_row(0, 90_000, 0, 0), softnet_row(1, 10_000, 0, 0)]);
        let outcome = run_check(&SOFTNET_DROPS, &[before, after]);
        assert_eq!(outcome.findings.len(), 1);
        assert_eq!(outcome.findings[0].severity, Severity::Info);
    }

    fn nic_pair(dropped: u64, missed: u64) -> Vec<Sample> {
        let mut before = sample(10);
        before.interfaces = Some(vec![interface(2, "eth0", 1500, None)]);
        let mut after = sample(11);
        let mut eth0 = interface(2, "eth0", 1500, None);
        if let Some(stats) = eth0.stats.as_mut() {
            stats.rx_packets = 10_000;
            stats.rx_dropped = dropped;
            stats.rx_missed_errors = missed;
        }
        after.interfaces = Some(vec![eth0]);
        vec![before, after]
    }

    #[test]
    fn nic_drops_above_one_percent_or_any_missed_warn() {
        assert_eq!(run_check(&NIC_RX_DROPS, &nic_pair(500, 0)).findings.len(), 1);
        let missed = run_check(&NIC_RX_DROPS, &nic_pair(0, 3));
        assert!(missed.findings[0].summary.contains("ring overflows"));
        assert!(run_check(&NIC_RX_DROPS, &nic_pair(10, 0)).findings.is_empty());
    }
}
