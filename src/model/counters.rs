//! The counter files merged into one section map, their deltas and rates; the listen-overflow
//! counters with what each one means; and every counter as a row, as `nstat -az` names it, for
//! the Counters view and the report's list of the counters that moved.

use super::meanings;
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

/// The counters that tell whether and why listen queues overflow (their meanings are in
/// [`meanings::COUNTER_MEANINGS`]).
pub const OVERFLOW_COUNTERS: [CounterId; 8] = [
    LISTEN_OVERFLOWS,
    LISTEN_DROPS,
    REQ_Q_FULL_DROP,
    REQ_Q_FULL_DO_COOKIES,
    SYNCOOKIES_SENT,
    SYNCOOKIES_RECV,
    SYNCOOKIES_FAILED,
    BACKLOG_DROP,
];

/// The overflow counters of [`OVERFLOW_COUNTERS`], in that order.
pub fn overflow(counters: &Counters) -> Vec<CounterView> {
    OVERFLOW_COUNTERS
        .iter()
        .map(|id| CounterView {
            id: *id,
            meaning: meanings::meaning_of(*id),
            total: counters.total(*id),
            delta: counters.delta(*id),
            rate: counters.rate(*id),
            smoothed: None,
        })
        .collect()
}

/// One counter of `netstat`, `snmp` or `snmp6` with its total, its change over the interval and
/// what it means: a row of the Counters view.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterRow {
    /// The section, as the file names it (`TcpExt`).
    pub section: String,
    /// The field (`ListenOverflows`).
    pub field: String,
    /// Its value now: since boot, or since the namespace was created.
    pub total: i64,
    /// Its increase since the previous sample (two samples only; `None` after a reset).
    pub delta: Option<i64>,
    /// That increase per second.
    pub rate: Option<f64>,
    /// What it means, for the counters that matter to queues, drops and retransmissions.
    pub meaning: Option<&'static str>,
}

impl CounterRow {
    /// The name `nstat` prints: section and field run together (`TcpExtListenOverflows`); an
    /// `snmp6` field no section claims keeps its own name.
    pub fn name(&self) -> String {
        match self.section.as_str() {
            OTHER6 => self.field.clone(),
            section => format!("{section}{}", self.field),
        }
    }

    /// A stable identity: the same counter has the same key in every sample and every run.
    pub fn key(&self) -> u64 {
        counter_key(&self.section, &self.field)
    }

    /// Whether it moved since the previous sample.
    pub fn moved(&self) -> bool {
        self.delta.is_some_and(|delta| delta > 0)
    }
}

/// The section of the `snmp6` names that no known prefix (`Ip6`, `Icmp6`, `Udp6`, `UdpLite6`)
/// claims.
const OTHER6: &str = "Other6";

/// A stable 64-bit identity of a counter (FNV-1a of its section and field): the same across
/// samples and runs, unlike the standard library's randomised hasher.
pub fn counter_key(section: &str, field: &str) -> u64 {
    let bytes = section.bytes().chain([0]).chain(field.bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

/// Every counter of `netstat`, `snmp` and `snmp6` as a row, by section and field: what
/// `nstat -az` shows. Left out, as `nstat` leaves them out, are the levels and constants among
/// them (`Tcp` `CurrEstab`, `Ip` `DefaultTTL`: no rate means anything for them; the States view
/// and the Kernel view show what they tell) and the connection-tracking statistics.
pub fn rows(counters: &Counters) -> Vec<CounterRow> {
    let sections = counters.totals.iter().filter(|(section, _)| section.as_str() != "nf_conntrack");
    sections
        .flat_map(|(section, fields)| {
            let counters_only = fields.iter().filter(|(field, _)| !rates::is_gauge(section, field));
            counters_only.map(move |(field, total)| CounterRow {
                section: section.clone(),
                field: field.clone(),
                total: *total,
                delta: counters.delta_at(section, field),
                rate: counters.rates.as_ref().and_then(|rates| *rates.get(section)?.get(field)?),
                meaning: meanings::meaning(section, field),
            })
        })
        .collect()
}

/// The rows that moved since the previous sample, fastest first (then by name).
pub fn moved(rows: &[CounterRow]) -> Vec<&CounterRow> {
    let mut moved: Vec<&CounterRow> = rows.iter().filter(|row| row.moved()).collect();
    moved.sort_by(|a, b| {
        let rate = |row: &CounterRow| row.rate.unwrap_or(0.0);
        rate(b).total_cmp(&rate(a)).then_with(|| a.name().cmp(&b.name()))
    });
    moved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_seconds: u64, listen_overflows: i64, established: i64) -> Sample {
        let mut netstat = CounterSections::new();
        netstat.entry("TcpExt".into()).or_default().insert("ListenOverflows".into(), listen_overflows);
        netstat.entry("TcpExt".into()).or_default().insert("TCPHPHits".into(), 0);
        let mut snmp = CounterSections::new();
        snmp.entry("Tcp".into()).or_default().insert("CurrEstab".into(), established);
        let mut snmp6 = CounterSections::new();
        snmp6.entry("Other6".into()).or_default().insert("Ip6Weird".into(), 1);
        Sample {
            boottime_ns: at_seconds * 1_000_000_000,
            netstat: Some(netstat),
            snmp: Some(snmp),
            snmp6: Some(snmp6),
            ..Sample::default()
        }
    }

    #[test]
    fn every_counter_is_a_row_with_its_rate_and_meaning() {
        let counters = Counters::new(&sample(12, 130, 7), Some(&sample(10, 100, 3)), Some(2.0));
        let rows = rows(&counters);
        let names: Vec<String> = rows.iter().map(CounterRow::name).collect();
        assert_eq!(names, ["Ip6Weird", "TcpExtListenOverflows", "TcpExtTCPHPHits"], "no gauge (TcpCurrEstab)");
        let overflows = &rows[1];
        assert_eq!((overflows.total, overflows.delta, overflows.rate), (130, Some(30), Some(15.0)));
        assert!(overflows.meaning.is_some_and(|meaning| meaning.contains("accept queue")));
        assert_eq!(rows[2].meaning, None);
        assert_eq!(moved(&rows).iter().map(|row| row.name()).collect::<Vec<_>>(), ["TcpExtListenOverflows"]);
    }

    #[test]
    fn one_sample_has_no_deltas_and_keys_are_stable() {
        let rows = rows(&Counters::new(&sample(10, 100, 3), None, None));
        assert!(rows.iter().all(|row| row.delta.is_none() && row.rate.is_none() && !row.moved()));
        assert_eq!(rows[1].key(), counter_key("TcpExt", "ListenOverflows"));
        assert_ne!(counter_key("Tcp", "ExtX"), counter_key("TcpExt", "X"), "section and field are kept apart");
    }
}
