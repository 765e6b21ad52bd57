//! The rules the advisor judges by: thresholds with documented defaults, checks silenced by
//! id, and the hold of findings over time. The configuration file's `[thresholds]` and
//! `silence` are read into these and validated here, by their owner; `[findings]` by
//! [`super::lifecycle`].

use serde::Deserialize;

use crate::model::Limits;

/// Thresholds of the checks. Every field has a default; a config file sets only what it changes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// `accept-queue-full`: warn when a listener's fill reaches this in one sample.
    pub accept_queue_fill: f64,
    /// `accept-queue-full`: warn when fill stays at or above this ...
    pub accept_queue_sustained_fill: f64,
    /// ... for this many consecutive samples.
    pub accept_queue_sustained_samples: usize,
    /// `listen-overflow-rate`: critical above this many overflows per second ...
    pub listen_overflow_rate: f64,
    /// ... or above this share of new inbound connections (PassiveOpens).
    pub listen_overflow_ratio: f64,
    /// `somaxconn-low`: warn below this value when the namespace has listeners.
    pub somaxconn_min: i64,
    /// `syn-queue-pressure`: warn when a listener's SYN queue exceeds this share of its backlog
    /// (above half, the kernel starts cutting SYN-ACK retries).
    pub syn_queue_ratio: f64,
    /// `syn-queue-pressure`: failed/sent syncookie share that suggests spoofed SYNs.
    pub syncookies_failed_ratio: f64,
    /// `ephemeral-ports-exhausted`: warn at this share of usable ports toward one destination.
    pub ephemeral_ports_warning: f64,
    /// `ephemeral-ports-exhausted`: critical at this share.
    pub ephemeral_ports_critical: f64,
    /// `port-range-config`: note a range smaller than this many ports.
    pub port_range_min: u32,
    /// `time-wait-buckets`: warn when TIME_WAIT sockets reach this share of tcp_max_tw_buckets.
    pub time_wait_buckets: f64,
    /// `close-wait-leak`: warn when a process holds more CLOSE_WAIT sockets than this.
    pub close_wait_sockets: u64,
    /// `close-wait-leak`: warn when its count grew in each of this many consecutive samples.
    pub close_wait_growth_samples: usize,
    /// `close-wait-leak`: warn when the same sockets stay in CLOSE_WAIT this many seconds.
    pub close_wait_seconds: f64,
    /// `close-wait-leak`: critical above this share of the process's open-files limit.
    pub close_wait_open_files: f64,
    /// `orphan-sockets`: warn at this share of tcp_max_orphans.
    pub orphans_warning: f64,
    /// `orphan-sockets`: critical at this share.
    pub orphans_critical: f64,
    /// `tcp-mem-pressure`: critical at this share of tcp_mem's maximum.
    pub tcp_mem_critical: f64,
    /// `udp-rcvbuf-errors`: warn above this many receive-buffer errors per second.
    pub udp_rcvbuf_errors_rate: f64,
    /// `softnet-drops`: warn above this many drops (or squeezes) per second on a CPU.
    pub softnet_rate: f64,
    /// `softnet-drops`: critical when drops persist over this many consecutive intervals.
    pub softnet_persist_intervals: usize,
    /// `softnet-drops`: note when one CPU handles more than this share of all packets.
    pub softnet_imbalance: f64,
    /// `nic-rx-drops`: warn when received drops reach this share of received packets.
    pub nic_rx_drop_ratio: f64,
    /// `retransmit-rate`: warn when retransmitted segments reach this share of data sent.
    pub retransmit_warning: f64,
    /// `retransmit-rate`: critical at this share.
    pub retransmit_critical: f64,
    /// `conntrack-full`: warn at this share of nf_conntrack_max.
    pub conntrack_warning: f64,
    /// `conntrack-full`: critical at this share.
    pub conntrack_critical: f64,
    /// `listen-flood-or-slow`: a dropping listener whose accept-wait p99 reaches this many
    /// seconds has a slow application.
    pub accept_wait_slow_seconds: f64,
    /// `listen-flood-or-slow`: this many distinct clients dropped at the SYN in one interval ...
    pub flood_clients: u64,
    /// ... with completed handshakes (accepts) at most this share of the drops is a flood.
    pub flood_accept_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            accept_queue_fill: 0.8,
            accept_queue_sustained_fill: 0.5,
            accept_queue_sustained_samples: 3,
            listen_overflow_rate: 1.0,
            listen_overflow_ratio: 0.01,
            somaxconn_min: 1024,
            syn_queue_ratio: 0.5,
            syncookies_failed_ratio: 0.5,
            ephemeral_ports_warning: 0.7,
            ephemeral_ports_critical: 0.9,
            port_range_min: 16_384,
            time_wait_buckets: 0.8,
            close_wait_sockets: 100,
            close_wait_growth_samples: 5,
            close_wait_seconds: 300.0,
            close_wait_open_files: 0.5,
            orphans_warning: 0.25,
            orphans_critical: 0.5,
            tcp_mem_critical: 0.9,
            udp_rcvbuf_errors_rate: 10.0,
            softnet_rate: 10.0,
            softnet_persist_intervals: 3,
            softnet_imbalance: 0.5,
            nic_rx_drop_ratio: 0.01,
            retransmit_warning: 0.01,
            retransmit_critical: 0.05,
            conntrack_warning: 0.8,
            conntrack_critical: 0.95,
            accept_wait_slow_seconds: 1.0,
            flood_clients: 20,
            flood_accept_share: 0.1,
        }
    }
}

/// The range a threshold must lie in, as README's Configuration section states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// A share: more than 0, at most 1.
    Fraction,
    /// A rate per second: a finite number, 0 or more.
    Rate,
    /// A time in seconds: a finite number above 0.
    Seconds,
    /// A whole number from the first to the second, both included.
    Whole(u64, u64),
}

impl Range {
    /// How README and the error messages write the range.
    pub fn notation(self) -> String {
        match self {
            Range::Fraction => "(0, 1]".to_string(),
            Range::Rate => "≥ 0".to_string(),
            Range::Seconds => "> 0".to_string(),
            Range::Whole(low, high) if high == u64::MAX => format!("{low} or more"),
            Range::Whole(low, high) => format!("{low} to {high}"),
        }
    }

    /// The range in words, for error messages: `a fraction in (0, 1]`.
    pub fn describe(self) -> String {
        match self {
            Range::Fraction => "a fraction in (0, 1]".to_string(),
            Range::Rate => "a finite rate per second, ≥ 0".to_string(),
            Range::Seconds => "a finite number of seconds, > 0".to_string(),
            Range::Whole(low, high) if high == u64::MAX => format!("a whole number, {low} or more"),
            Range::Whole(low, high) => format!("a whole number from {low} to {high}"),
        }
    }

    /// Whether `value` lies in the range (NaN and infinities never do).
    pub fn holds(self, value: f64) -> bool {
        match self {
            Range::Fraction => value > 0.0 && value <= 1.0,
            Range::Rate => value.is_finite() && value >= 0.0,
            Range::Seconds => value.is_finite() && value > 0.0,
            Range::Whole(low, high) => value >= low as f64 && value <= high as f64,
        }
    }
}

/// Which check reads each threshold, and what the threshold means there: `check --list`
/// prints them under their check.
pub const THRESHOLD_CHECKS: [(&str, &str, &str); 31] = [
    ("accept_queue_fill", "accept-queue-full", "warn at this fill in one sample"),
    ("accept_queue_sustained_fill", "accept-queue-full", "warn at this fill sustained ..."),
    ("accept_queue_sustained_samples", "accept-queue-full", "... for this many samples in a row"),
    ("listen_overflow_rate", "listen-overflow-rate", "critical above this many overflows per second ..."),
    ("listen_overflow_ratio", "listen-overflow-rate", "... or this share of new inbound connections"),
    ("somaxconn_min", "somaxconn-low", "warn below this somaxconn when there are listeners"),
    ("syn_queue_ratio", "syn-queue-pressure", "warn when a SYN queue exceeds this share of its backlog"),
    ("syncookies_failed_ratio", "syn-queue-pressure", "failed / sent SYN cookies that suggests spoofing"),
    ("ephemeral_ports_warning", "ephemeral-ports-exhausted", "warn at this share of usable ports to one destination"),
    ("ephemeral_ports_critical", "ephemeral-ports-exhausted", "critical at this share"),
    ("port_range_min", "port-range-config", "note a local port range smaller than this"),
    ("time_wait_buckets", "time-wait-buckets", "warn at this share of tcp_max_tw_buckets"),
    ("close_wait_sockets", "close-wait-leak", "warn above this many CLOSE_WAIT sockets in one process"),
    ("close_wait_growth_samples", "close-wait-leak", "warn when the count grew in this many samples in a row"),
    ("close_wait_seconds", "close-wait-leak", "warn when the same sockets stay this many seconds"),
    ("close_wait_open_files", "close-wait-leak", "critical above this share of the open-files limit"),
    ("orphans_warning", "orphan-sockets", "warn at this share of tcp_max_orphans"),
    ("orphans_critical", "orphan-sockets", "critical at this share"),
    ("tcp_mem_critical", "tcp-mem-pressure", "critical at this share of tcp_mem's maximum"),
    ("udp_rcvbuf_errors_rate", "udp-rcvbuf-errors", "warn above this many receive-buffer errors per second"),
    ("softnet_rate", "softnet-drops", "warn above this many drops or squeezes per second on a CPU"),
    ("softnet_persist_intervals", "softnet-drops", "critical when drops persist this many intervals"),
    ("softnet_imbalance", "softnet-drops", "note when one CPU handles more than this share of packets"),
    ("nic_rx_drop_ratio", "nic-rx-drops", "warn when drops reach this share of received packets"),
    ("retransmit_warning", "retransmit-rate", "warn at this share of data segments retransmitted"),
    ("retransmit_critical", "retransmit-rate", "critical at this share"),
    ("conntrack_warning", "conntrack-full", "warn at this share of nf_conntrack_max"),
    ("conntrack_critical", "conntrack-full", "critical at this share"),
    ("accept_wait_slow_seconds", "listen-flood-or-slow", "a slow application from this accept-wait p99"),
    ("flood_clients", "listen-flood-or-slow", "a flood from this many distinct clients dropped at the SYN ..."),
    ("flood_accept_share", "listen-flood-or-slow", "... with accepts at most this share of the drops"),
];

/// The most samples a count of consecutive samples can ask for: the history holds no more.
const MAX_SAMPLES: u64 = crate::model::history::DEFAULT_CAPACITY as u64;

/// The thresholds that form a warning and a critical level of one check: the warning must not
/// be above the critical one.
const LEVELS: [(&str, &str); 4] = [
    ("ephemeral_ports_warning", "ephemeral_ports_critical"),
    ("orphans_warning", "orphans_critical"),
    ("retransmit_warning", "retransmit_critical"),
    ("conntrack_warning", "conntrack_critical"),
];

/// A threshold outside its range, or a warning level above its critical level.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidThreshold {
    /// The keys in `[thresholds]` the problem is about, the offending one first.
    pub keys: Vec<&'static str>,
    /// What is wrong, naming the keys as `thresholds.KEY`.
    pub reason: String,
}

impl Thresholds {
    /// Every threshold: its key, its value (as a number) and its range.
    pub fn fields(&self) -> [(&'static str, f64, Range); 31] {
        let t = self;
        let samples = Range::Whole(1, MAX_SAMPLES);
        [
            ("accept_queue_fill", t.accept_queue_fill, Range::Fraction),
            ("accept_queue_sustained_fill", t.accept_queue_sustained_fill, Range::Fraction),
            ("accept_queue_sustained_samples", t.accept_queue_sustained_samples as f64, samples),
            ("listen_overflow_rate", t.listen_overflow_rate, Range::Rate),
            ("listen_overflow_ratio", t.listen_overflow_ratio, Range::Fraction),
            ("somaxconn_min", t.somaxconn_min as f64, Range::Whole(1, i32::MAX as u64)),
            ("syn_queue_ratio", t.syn_queue_ratio, Range::Fraction),
            ("syncookies_failed_ratio", t.syncookies_failed_ratio, Range::Fraction),
            ("ephemeral_ports_warning", t.ephemeral_ports_warning, Range::Fraction),
            ("ephemeral_ports_critical", t.ephemeral_ports_critical, Range::Fraction),
            ("port_range_min", f64::from(t.port_range_min), Range::Whole(1, 65_535)),
            ("time_wait_buckets", t.time_wait_buckets, Range::Fraction),
            ("close_wait_sockets", t.close_wait_sockets as f64, Range::Whole(0, u64::MAX)),
            ("close_wait_growth_samples", t.close_wait_growth_samples as f64, samples),
            ("close_wait_seconds", t.close_wait_seconds, Range::Seconds),
            ("close_wait_open_files", t.close_wait_open_files, Range::Fraction),
            ("orphans_warning", t.orphans_warning, Range::Fraction),
            ("orphans_critical", t.orphans_critical, Range::Fraction),
            ("tcp_mem_critical", t.tcp_mem_critical, Range::Fraction),
            ("udp_rcvbuf_errors_rate", t.udp_rcvbuf_errors_rate, Range::Rate),
            ("softnet_rate", t.softnet_rate, Range::Rate),
            ("softnet_persist_intervals", t.softnet_persist_intervals as f64, samples),
            ("softnet_imbalance", t.softnet_imbalance, Range::Fraction),
            ("nic_rx_drop_ratio", t.nic_rx_drop_ratio, Range::Fraction),
            ("retransmit_warning", t.retransmit_warning, Range::Fraction),
            ("retransmit_critical", t.retransmit_critical, Range::Fraction),
            ("conntrack_warning", t.conntrack_warning, Range::Fraction),
            ("conntrack_critical", t.conntrack_critical, Range::Fraction),
            ("accept_wait_slow_seconds", t.accept_wait_slow_seconds, Range::Seconds),
            ("flood_clients", t.flood_clients as f64, Range::Whole(1, u64::MAX)),
            ("flood_accept_share", t.flood_accept_share, Range::Fraction),
        ]
    }

    /// The thresholds check `id` reads: key, value here, default value and meaning.
    pub fn of_check(&self, id: &str) -> Vec<(&'static str, f64, f64, &'static str)> {
        let (values, defaults) = (self.fields(), Thresholds::default().fields());
        THRESHOLD_CHECKS
            .iter()
            .filter(|(_, check, _)| *check == id)
            .filter_map(|(key, _, meaning)| {
                let value = values.iter().find(|field| field.0 == *key)?.1;
                let default = defaults.iter().find(|field| field.0 == *key)?.1;
                Some((*key, value, default, *meaning))
            })
            .collect()
    }

    /// Whether `key` names a threshold.
    pub fn is_key(key: &str) -> bool {
        Thresholds::default().fields().iter().any(|(name, _, _)| *name == key)
    }

    /// Checks every threshold against its range, then every warning level against its critical
    /// level; the error names the first offending key.
    pub fn validate(&self) -> Result<(), InvalidThreshold> {
        let fields = self.fields();
        for (name, value, range) in fields {
            if !range.holds(value) {
                let reason = format!("thresholds.{name} must be {}, not {value}", range.describe());
                return Err(InvalidThreshold { keys: vec![name], reason });
            }
        }
        let value = |key: &str| fields.iter().find(|(name, _, _)| *name == key).map_or(f64::NAN, |field| field.1);
        for (warning, critical) in LEVELS {
            if value(warning) > value(critical) {
                let reason = format!(
                    "thresholds.{warning} ({}) must not be above thresholds.{critical} ({})",
                    value(warning),
                    value(critical)
                );
                return Err(InvalidThreshold { keys: vec![warning, critical], reason });
            }
        }
        Ok(())
    }

    /// The levels the model colours numbers by, so every renderer agrees with the findings.
    pub fn limits(&self) -> Limits {
        Limits {
            fill_warning: self.accept_queue_fill,
            ports_warning: self.ephemeral_ports_warning,
            ports_critical: self.ephemeral_ports_critical,
            close_wait_warning: self.close_wait_sockets,
            time_wait_warning: self.time_wait_buckets,
            overflow_rate_critical: self.listen_overflow_rate,
        }
    }
}

/// Thresholds, silenced checks, and how long findings are held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Thresholds of the checks.
    pub thresholds: Thresholds,
    /// Check ids whose findings are not reported.
    pub silence: Vec<String>,
    /// How long a finding outlives the sample that saw it (`[findings]`).
    pub hold: super::lifecycle::Hold,
}

impl Rules {
    /// Whether findings of check `id` are silenced.
    pub fn is_silenced(&self, id: &str) -> bool {
        self.silence.iter().any(|silenced| silenced == id)
    }

    /// Checks that every silenced id names a check; the error names the first unknown one.
    pub fn validate_silence(silence: &[String]) -> Result<(), String> {
        match silence.iter().find(|id| super::check(id).is_none()) {
            Some(unknown) => Err(format!("silence: unknown check id '{unknown}'")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error for `thresholds` changed by `change`.
    fn invalid(change: impl FnOnce(&mut Thresholds)) -> InvalidThreshold {
        let mut thresholds = Thresholds::default();
        change(&mut thresholds);
        thresholds.validate().expect_err("invalid")
    }

    #[test]
    fn every_threshold_belongs_to_a_catalogued_check() {
        let keys: Vec<&str> = Thresholds::default().fields().iter().map(|field| field.0).collect();
        let listed: Vec<&str> = THRESHOLD_CHECKS.iter().map(|entry| entry.0).collect();
        assert_eq!(keys, listed, "THRESHOLD_CHECKS lists every threshold, in the same order");
        for (key, check, _) in THRESHOLD_CHECKS {
            assert!(crate::advise::check(check).is_some(), "{key}: {check} is not a check");
        }
        let changed = Thresholds { close_wait_sockets: 500, ..Thresholds::default() };
        let close_wait = changed.of_check("close-wait-leak");
        assert_eq!(close_wait.len(), 4);
        assert_eq!((close_wait[0].0, close_wait[0].1, close_wait[0].2), ("close_wait_sockets", 500.0, 100.0));
    }

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(Thresholds::default().validate(), Ok(()));
    }

    #[test]
    fn fractions_outside_zero_to_one_are_named() {
        for (value, shown) in [(80.0, "80"), (0.0, "0"), (-0.5, "-0.5"), (1.01, "1.01")] {
            let error = invalid(|t| t.time_wait_buckets = value);
            assert_eq!(error.keys, ["time_wait_buckets"]);
            assert_eq!(error.reason, format!("thresholds.time_wait_buckets must be a fraction in (0, 1], not {shown}"));
        }
        assert_eq!(invalid(|t| t.tcp_mem_critical = 0.0).keys, ["tcp_mem_critical"]);
        assert_eq!(invalid(|t| t.conntrack_warning = 80.0).keys, ["conntrack_warning"]);
        let one = Thresholds { tcp_mem_critical: 1.0, softnet_imbalance: 1.0, ..Thresholds::default() };
        assert_eq!(one.validate(), Ok(()), "1 itself is a fraction");
    }

    #[test]
    fn nan_and_infinities_are_refused_everywhere() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(invalid(|t| t.syn_queue_ratio = bad).reason.contains("thresholds.syn_queue_ratio"));
            assert_eq!(invalid(|t| t.softnet_rate = bad).keys, ["softnet_rate"]);
            assert_eq!(invalid(|t| t.close_wait_seconds = bad).keys, ["close_wait_seconds"]);
        }
    }

    #[test]
    fn rates_and_seconds_must_not_be_negative() {
        assert_eq!(
            invalid(|t| t.listen_overflow_rate = -1.0).reason,
            "thresholds.listen_overflow_rate must be a finite rate per second, ≥ 0, not -1"
        );
        assert_eq!(invalid(|t| t.udp_rcvbuf_errors_rate = -0.1).keys, ["udp_rcvbuf_errors_rate"]);
        assert_eq!(invalid(|t| t.close_wait_seconds = 0.0).keys, ["close_wait_seconds"]);
        let zero = Thresholds { listen_overflow_rate: 0.0, softnet_rate: 0.0, ..Thresholds::default() };
        assert_eq!(zero.validate(), Ok(()), "a rate of 0 means any movement");
    }

    #[test]
    fn counts_lie_within_what_they_count() {
        assert_eq!(invalid(|t| t.accept_queue_sustained_samples = 0).keys, ["accept_queue_sustained_samples"]);
        let error = invalid(|t| t.close_wait_growth_samples = 601);
        assert_eq!(error.reason, "thresholds.close_wait_growth_samples must be a whole number from 1 to 600, not 601");
        assert_eq!(invalid(|t| t.softnet_persist_intervals = 0).keys, ["softnet_persist_intervals"]);
        assert_eq!(invalid(|t| t.somaxconn_min = -1).keys, ["somaxconn_min"]);
        assert_eq!(invalid(|t| t.somaxconn_min = i64::from(i32::MAX) + 1).keys, ["somaxconn_min"]);
        assert_eq!(invalid(|t| t.port_range_min = 0).keys, ["port_range_min"]);
        assert_eq!(invalid(|t| t.port_range_min = 65_536).keys, ["port_range_min"]);
        let most = Thresholds { close_wait_sockets: u64::MAX, close_wait_growth_samples: 600, ..Thresholds::default() };
        assert_eq!(most.validate(), Ok(()));
    }

    #[test]
    fn a_warning_above_its_critical_level_names_both() {
        for (warning, critical) in LEVELS {
            let with = |text: String| toml::from_str::<Thresholds>(&text).expect("thresholds");
            assert_eq!(with(format!("{warning} = 0.6\n{critical} = 0.6")).validate(), Ok(()), "equal is allowed");
            let error = with(format!("{warning} = 0.6\n{critical} = 0.5")).validate().expect_err("above");
            assert_eq!(error.keys, [warning, critical]);
            assert_eq!(
                error.reason,
                format!("thresholds.{warning} (0.6) must not be above thresholds.{critical} (0.5)")
            );
        }
    }

    #[test]
    fn every_field_has_a_range_and_readme_states_it() {
        let readme = include_str!("../../README.md");
        let defaults = format!("{:?}", Thresholds::default());
        let fields = Thresholds::default().fields();
        assert_eq!(defaults.matches(": ").count(), fields.len(), "fields() lists every threshold: {defaults}");
        let bullets = readme_bullets(readme);
        for (name, _, range) in fields {
            let bullet = bullets.iter().find(|bullet| bullet.contains(&format!("`{name}`")));
            let bullet = bullet.unwrap_or_else(|| panic!("README lists no range for {name}"));
            assert!(bullet.starts_with(&format!("- {}", range.notation())), "README gives {name} the range {bullet:?}");
        }
        assert!(Rules::validate_silence(&["no-such-check".into()]).is_err_and(|error| error.contains("no-such-check")));
        assert_eq!(Rules::validate_silence(&["time-wait-myths".into()]), Ok(()));
    }

    /// README's bullet items, each with its continuation lines joined.
    fn readme_bullets(readme: &str) -> Vec<String> {
        let mut bullets: Vec<String> = Vec::new();
        let mut open = false;
        for line in readme.lines() {
            if line.starts_with("- ") {
                bullets.push(line.to_string());
                open = true;
            } else if let Some(bullet) = bullets.last_mut().filter(|_| open && line.starts_with("  ")) {
                bullet.push_str(line);
            } else {
                open = false;
            }
        }
        bullets
    }

    #[test]
    fn the_model_colours_by_the_same_thresholds() {
        let thresholds = Thresholds { accept_queue_fill: 0.6, ..Thresholds::default() };
        assert_eq!(thresholds.limits().fill_warning, 0.6);
        assert_eq!(thresholds.limits().ports_critical, thresholds.ephemeral_ports_critical);
    }
}
