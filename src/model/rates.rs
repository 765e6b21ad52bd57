//! Deltas and per-second rates of monotonically increasing counters.
//!
//! A counter that went backwards between two samples was reset (socket re-created, namespace
//! re-created, wrap-around): its delta and rate are `None` for that interval, never a negative
//! or wrapped number. Every counter of the model — `/proc/net` files, interface statistics,
//! softnet rows, listener drops — goes through [`delta`], so all of them read a reset alike.

use std::collections::BTreeMap;

use crate::sample::CounterSections;

/// Counter rates by section and field; `None` where a counter was reset.
pub type RateSections = BTreeMap<String, BTreeMap<String, Option<f64>>>;

/// Counter increases by section and field; `None` where a counter was reset.
pub type DeltaSections = BTreeMap<String, BTreeMap<String, Option<i64>>>;

/// The increase of a counter between two readings; `None` when it went backwards (a reset),
/// when the increase does not fit an `i64` (only a corrupt recording holds such readings), or
/// when a reading is missing.
pub fn delta(previous: Option<i64>, current: Option<i64>) -> Option<i64> {
    current?.checked_sub(previous?).filter(|increase| *increase >= 0)
}

/// Per-second rate of a counter over `interval` seconds.
pub fn rate(previous: Option<i64>, current: Option<i64>, interval: Option<f64>) -> Option<f64> {
    let interval = interval.filter(|seconds| *seconds > 0.0)?;
    Some(delta(previous, current)? as f64 / interval)
}

/// Fields of `/proc/net/snmp` that are gauges or constants, not counters: no rate is computed
/// for them.
const GAUGES: [(&str, &str); 8] = [
    ("Tcp", "RtoAlgorithm"),
    ("Tcp", "RtoMin"),
    ("Tcp", "RtoMax"),
    ("Tcp", "MaxConn"),
    ("Tcp", "CurrEstab"),
    ("Ip", "Forwarding"),
    ("Ip", "DefaultTTL"),
    ("nf_conntrack", "entries"),
];

/// Whether a counter-file field is a gauge (a level, not a running total).
pub fn is_gauge(section: &str, field: &str) -> bool {
    GAUGES.contains(&(section, field))
}

/// Per-second rates for every counter present in both samples, in the same section/field
/// shape; gauges are left out, reset counters are `None`.
pub fn counter_rates(previous: &CounterSections, current: &CounterSections, interval: f64) -> RateSections {
    per_counter(previous, current, |old, new| rate(Some(old), Some(new), Some(interval)))
}

/// Increases of every counter present in both samples; gauges left out, resets `None`.
pub fn counter_deltas(previous: &CounterSections, current: &CounterSections) -> DeltaSections {
    per_counter(previous, current, |old, new| delta(Some(old), Some(new)))
}

fn per_counter<T>(
    previous: &CounterSections,
    current: &CounterSections,
    derive: impl Fn(i64, i64) -> T,
) -> BTreeMap<String, BTreeMap<String, T>> {
    let mut derived = BTreeMap::new();
    for (section, fields) in current {
        let Some(before) = previous.get(section) else { continue };
        let section_values: BTreeMap<String, T> = fields
            .iter()
            .filter(|(field, _)| !is_gauge(section, field))
            .filter_map(|(field, value)| Some((field.clone(), derive(*before.get(field)?, *value))))
            .collect();
        derived.insert(section.clone(), section_values);
    }
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_counter_has_no_rate() {
        assert_eq!(delta(Some(10), Some(15)), Some(5));
        assert_eq!(delta(Some(10), Some(3)), None);
        assert_eq!(rate(Some(10), Some(20), Some(2.0)), Some(5.0));
        assert_eq!(rate(Some(10), Some(20), None), None);
        assert_eq!(rate(Some(10), Some(20), Some(0.0)), None);
        assert_eq!(rate(None, Some(20), Some(1.0)), None);
    }

    /// A recording can hold any i64: an increase too large for one is no increase, never an
    /// overflow (nor a wrapped, negative delta).
    #[test]
    fn an_increase_that_does_not_fit_has_no_delta() {
        assert_eq!(delta(Some(i64::MIN), Some(5)), None);
        assert_eq!(delta(Some(-1), Some(i64::MAX)), None);
        assert_eq!(delta(Some(i64::MIN), Some(i64::MAX)), None);
        assert_eq!(rate(Some(i64::MIN), Some(0), Some(1.0)), None);
        assert_eq!(delta(Some(0), Some(i64::MAX)), Some(i64::MAX));
    }

    #[test]
    fn gauges_get_no_rate_and_new_fields_are_skipped() {
        let mut before = CounterSections::new();
        before.entry("Tcp".into()).or_default().insert("CurrEstab".into(), 5);
        before.entry("Tcp".into()).or_default().insert("ActiveOpens".into(), 100);
        let mut after = before.clone();
        after.entry("Tcp".into()).or_default().insert("CurrEstab".into(), 9);
        after.entry("Tcp".into()).or_default().insert("ActiveOpens".into(), 110);
        after.entry("Tcp".into()).or_default().insert("NewField".into(), 1);
        let rates = counter_rates(&before, &after, 2.0);
        assert_eq!(rates["Tcp"].get("ActiveOpens"), Some(&Some(5.0)));
        assert!(!rates["Tcp"].contains_key("CurrEstab"));
        assert!(!rates["Tcp"].contains_key("NewField"));
    }
}
