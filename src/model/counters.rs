//! The counter files merged into one section map, their deltas and rates, and the
//! listen-overflow counters with what each one means.

use super::rates::{self, DeltaSections, RateSections};
use crate::sample::counters::{
    BACKLOG_DROP, LISTEN_DROPS, LISTEN_OVERFLOWS, REQ_Q_FULL_DO_COOKIES, REQ_Q_FULL_DROP, SYNCOOKIES_FAILED,
    SYNCOOKIES_RECV, SYNCOOKIES_SENT,
};
use crate::sample::{CounterId, CounterSections, Sample};

/// Every counter of one sample, with deltas and rates over the interval when there was a
/// previous sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// netstat, snmp and snmp6 (and `nf_conntrack`), merged by section.
    pub totals: CounterSections,
    /// Per-second rates (two samples only); `None` inside where a counter was reset.
    pub rates: Option<RateSections>,
    /// Increases since the previous sample (two samples only).
    pub deltas: Option<DeltaSections>,
}

impl Counters {
    /// The counters of `current`, with deltas and rates since `previous` over `interval`.
    pub fn new(current: &Sample, previous: Option<&Sample>, interval: Option<f64>) -> Counters {
        let totals = merged(current);
        let before = previous.map(merged);
        let rates =
            before.as_ref().zip(interval).map(|(before, seconds)| rates::counter_rates(before, &totals, seconds));
        let deltas = before.as_ref().map(|before| rates::counter_deltas(before, &totals));
        Counters { totals, rates, deltas }
    }

    /// A counter's value now.
    pub fn total(&self, id: CounterId) -> Option<i64> {
        self.total_at(id.section, id.field)
    }

    /// Any counter's value now, by section and field as the file spells them.
    pub fn total_at(&self, section: &str, field: &str) -> Option<i64> {
        self.totals.get(section)?.get(field).copied()
    }

    /// A counter's per-second rate, when two samples exist and it was not reset.
    pub fn rate(&self, id: CounterId) -> Option<f64> {
        *self.rates.as_ref()?.get(id.section)?.get(id.field)?
    }

    /// A counter's increase since the previous sample, when two samples exist and it was not
    /// reset.
    pub fn delta(&self, id: CounterId) -> Option<i64> {
        self.delta_at(id.section, id.field)
    }

    /// Any counter's increase, by section and field as the file spells them.
    pub fn delta_at(&self, section: &str, field: &str) -> Option<i64> {
        *self.deltas.as_ref()?.get(section)?.get(field)?
    }

    /// The sum of several counters' increases, by section and field (an absent or reset one
    /// adds nothing), at most `i64::MAX`: the Udp and Udp6 errors together, for instance.
    pub fn delta_sum(&self, counters: &[(&str, &str)]) -> i64 {
        counters.iter().filter_map(|(section, field)| self.delta_at(section, field)).fold(0, i64::saturating_add)
    }

    /// Whether the sample had a section of this name (`TcpExt`).
    pub fn has_section(&self, section: &str) -> bool {
        self.totals.contains_key(section)
    }
}

/// netstat, snmp and snmp6 in one section map (their section names do not collide), plus the
/// connection-tracking statistics as section `nf_conntrack` when present.
fn merged(sample: &Sample) -> CounterSections {
    let mut merged = CounterSections::new();
    for sections in [&sample.netstat, &sample.snmp, &sample.snmp6].into_iter().flatten() {
        for (section, fields) in sections {
            merged.entry(section.clone()).or_default().extend(fields.iter().map(|(k, v)| (k.clone(), *v)));
        }
    }
    if let Some(conntrack) = &sample.conntrack {
        let fields = conntrack.iter().filter_map(|(name, value)| Some((name.clone(), i64::try_from(*value).ok()?)));
        merged.entry("nf_conntrack".to_string()).or_default().extend(fields);
    }
    merged
}

/// One counter with its meaning, total since boot (or namespace creation), delta and rate.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterView {
    /// Which counter.
    pub id: CounterId,
    /// What the counter counts, in a sysadmin's words.
    pub meaning: &'static str,
    /// Value now.
    pub total: Option<i64>,
    /// Increase since the previous sample.
    pub delta: Option<i64>,
    /// Increase per second since the previous sample.
    pub rate: Option<f64>,
    /// Increase per second over the smoothing window ([`super::Model::smoothing`]); `None`
    /// without one or when the counter was reset in it.
    pub smoothed: Option<f64>,
}

/// The counters that tell whether and why listen queues overflow, with their meaning.
pub const OVERFLOW_COUNTERS: [(CounterId, &str); 8] = [
    (LISTEN_OVERFLOWS, "SYNs or final ACKs dropped because an accept queue was full"),
    (LISTEN_DROPS, "every packet a listener dropped, overflows included"),
    (REQ_Q_FULL_DROP, "SYNs dropped: SYN queue full and syncookies off"),
    (REQ_Q_FULL_DO_COOKIES, "SYN queue full: answered with a syncookie instead"),
    (SYNCOOKIES_SENT, "SYN-ACKs sent with a syncookie"),
    (SYNCOOKIES_RECV, "valid syncookies received back (real clients)"),
    (SYNCOOKIES_FAILED, "invalid syncookies received (spoofing or stale)"),
    (BACKLOG_DROP, "receive-backlog drops of busy established sockets (not the listen backlog)"),
];

/// The overflow counters of [`OVERFLOW_COUNTERS`], in that order.
pub fn overflow(counters: &Counters) -> Vec<CounterView> {
    OVERFLOW_COUNTERS
        .iter()
        .map(|(id, meaning)| CounterView {
            id: *id,
            meaning,
            total: counters.total(*id),
            delta: counters.delta(*id),
            rate: counters.rate(*id),
            smoothed: None,
        })
        .collect()
}
