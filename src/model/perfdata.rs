//! Performance data: the numbers `check` hands a monitoring system to graph and alert on, each
//! with the warning and critical levels the advisor judges it by, as monitoring plugins print
//! them (`label=value[unit];warn;crit;min;max`). The values are the model's; only their text is
//! made in `render::check`.

use super::{Limits, Model};
use crate::sample::Sample;
use crate::sample::counters::{LISTEN_DROPS, LISTEN_OVERFLOWS};

/// How many of the fullest listeners get a series of their own.
pub const LISTENERS: usize = 5;

/// The unit of a measure, as the plugin format spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A plain number (a count, a rate or a fraction).
    Number,
    /// A percentage, 0 to 100.
    Percent,
}

/// How a namespace's measure combines with the other namespaces' under `--all-netns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Across {
    /// Summed; the levels still apply to the sum (rates, finding counts).
    Sum,
    /// Summed; the levels are one namespace's limits and say nothing of the sum (CLOSE_WAIT,
    /// TIME_WAIT), so they are left out.
    SumWithoutLevels,
    /// The highest of them (fill, port use).
    Highest,
    /// One listener's: the fullest of every namespace are listed by name instead.
    Listener,
}

/// One performance-data item.
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    /// Its label as the data names it; it may quote an address or a UNIX path (made safe for
    /// the plugin format by the renderer).
    pub label: String,
    /// The value; `None` when it cannot be known yet (a rate from one sample), printed `U`.
    pub value: Option<f64>,
    /// Its unit.
    pub unit: Unit,
    /// Decimal places worth printing.
    pub decimals: usize,
    /// The level that warns, in the value's unit.
    pub warning: Option<f64>,
    /// The level that is critical.
    pub critical: Option<f64>,
    /// The smallest value possible.
    pub min: Option<f64>,
    /// The largest value possible.
    pub max: Option<f64>,
    /// How it combines over several namespaces.
    pub across: Across,
}

impl Measure {
    /// A count or rate with no levels, at least 0.
    fn number(label: impl Into<String>, value: Option<f64>, decimals: usize) -> Measure {
        Measure {
            label: label.into(),
            value,
            unit: Unit::Number,
            decimals,
            warning: None,
            critical: None,
            min: Some(0.0),
            max: None,
            across: Across::Sum,
        }
    }

    /// A share shown as a percentage, 0 to 100, with its levels given as shares.
    fn percent(label: impl Into<String>, share: f64, warning: f64, critical: f64) -> Measure {
        Measure {
            unit: Unit::Percent,
            warning: Some(warning * 100.0),
            critical: Some(critical * 100.0),
            max: Some(100.0),
            ..Measure::number(label, Some(share * 100.0), 1)
        }
    }

    fn levels(self, warning: Option<f64>, critical: Option<f64>) -> Measure {
        Measure { warning, critical, ..self }
    }

    fn combined(self, across: Across) -> Measure {
        Measure { across, ..self }
    }
}

/// The performance data of one namespace: the listen-overflow rates, the fullest fill, each of
/// the fullest listeners' fill, ephemeral-port use, the CLOSE_WAIT, TIME_WAIT and SYN_RECV
/// counts, and the findings by severity (`critical` and `warning` counts come from the caller,
/// who holds the advisor's outcome).
pub fn measures(model: &Model, sample: &Sample, critical: usize, warning: usize) -> Vec<Measure> {
    let limits = &model.limits;
    let mut out = rates_and_fill(model, limits);
    out.extend(listener_fills(model, ""));
    out.extend(state_counts(model, sample, limits));
    out.push(Measure::number("critical", Some(critical as f64), 0));
    out.push(Measure::number("warning", Some(warning as f64), 0));
    out
}

/// The listen-overflow and drop rates and the fullest listener's fill (a fraction, 0 to 1).
fn rates_and_fill(model: &Model, limits: &Limits) -> Vec<Measure> {
    let overflows = Measure::number("listen_overflows_per_second", model.counters.rate(LISTEN_OVERFLOWS), 3)
        .levels(None, Some(limits.overflow_rate_critical));
    let drops = Measure::number("listen_drops_per_second", model.counters.rate(LISTEN_DROPS), 3);
    let fill = Measure { max: Some(1.0), ..Measure::number("max_accept_queue_fill", Some(model.max_fill()), 3) }
        .levels(Some(limits.fill_warning), Some(1.0))
        .combined(Across::Highest);
    vec![overflows, drops, fill]
}

/// `fill PROTO ADDRESS` of the fullest listeners, in percent: critical when full.
fn listener_fills(model: &Model, prefix: &str) -> Vec<Measure> {
    model
        .listeners
        .iter()
        .take(LISTENERS)
        .map(|listener| {
            let slot = listener.sibling.map(|slot| format!(" #{slot}")).unwrap_or_default();
            let label = format!("{prefix}fill {} {}{slot}", listener.protocol.name(), listener.endpoint);
            Measure::percent(label, listener.fill, model.limits.fill_warning, 1.0).combined(Across::Listener)
        })
        .collect()
}

/// Port use toward the fullest destination, and the TCP states that leak or pile up.
fn state_counts(model: &Model, sample: &Sample, limits: &Limits) -> Vec<Measure> {
    let mut out = Vec::new();
    if let Some(ports) = &model.ports {
        out.push(
            Measure::percent("port_use", ports.headline.fullest_share, limits.ports_warning, limits.ports_critical)
                .combined(Across::Highest),
        );
    }
    if let Some(states) = model.tcp_states {
        let buckets = sample.sysctl("net.ipv4.tcp_max_tw_buckets").and_then(|value| value.as_integer());
        let buckets = buckets.map(|limit| limit.max(0) as f64);
        out.push(
            Measure::number("close_wait", Some(states.close_wait as f64), 0)
                .levels(Some(limits.close_wait_warning as f64), None)
                .combined(Across::SumWithoutLevels),
        );
        out.push(Measure {
            max: buckets,
            ..Measure::number("time_wait", Some(states.time_wait as f64), 0)
                .levels(buckets.map(|limit| (limit * limits.time_wait_warning).floor()), buckets)
                .combined(Across::SumWithoutLevels)
        });
        out.push(Measure::number("syn_recv", Some(states.syn_recv as f64), 0));
    }
    out
}

/// The performance data over several namespaces, the live ones given with a short name: the
/// number of namespaces (`total`, gone and unavailable ones included), each measure combined
/// as its [`Across`] says, and the fullest listeners of all, named with their namespace.
pub fn across(namespaces: &[(String, &Model, &Sample, [usize; 2])], total: usize, unavailable: usize) -> Vec<Measure> {
    let mut out = vec![
        Measure::number("namespaces", Some(total as f64), 0),
        Measure::number("unavailable", Some(unavailable as f64), 0).levels(None, Some(1.0)),
    ];
    let each: Vec<Vec<Measure>> = namespaces
        .iter()
        .map(|(_, model, sample, [critical, warning])| measures(model, sample, *critical, *warning))
        .collect();
    let Some(first) = each.first() else { return out };
    for template in first.iter().filter(|m| m.across != Across::Listener) {
        let values: Vec<Option<f64>> = each
            .iter()
            .map(|measures| measures.iter().find(|m| m.label == template.label).and_then(|m| m.value))
            .collect();
        let value = match template.across {
            Across::Highest => values.iter().flatten().copied().reduce(f64::max),
            _ => values.iter().copied().sum::<Option<f64>>(),
        };
        let kept = Measure { value, ..template.clone() };
        out.push(match template.across {
            Across::SumWithoutLevels => Measure { max: None, ..kept.levels(None, None) },
            _ => kept,
        });
    }
    let mut fills: Vec<Measure> =
        namespaces.iter().flat_map(|(name, model, _, _)| listener_fills(model, &format!("{name} "))).collect();
    fills.sort_by(|a, b| b.value.partial_cmp(&a.value).unwrap_or(std::cmp::Ordering::Equal));
    fills.truncate(LISTENERS);
    out.extend(fills);
    out
}
