//! The rules the advisor judges by: thresholds with documented defaults, and checks silenced
//! by id. The configuration file's `[thresholds]` and `silence` are read into these and
//! validated here, by their owner.

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
        }
    }
}

impl Thresholds {
    /// Checks that every ratio is a fraction in (0, 1]; the error names the threshold.
    pub fn validate(&self) -> Result<(), String> {
        let t = self;
        let ratios = [
            ("accept_queue_fill", t.accept_queue_fill),
            ("accept_queue_sustained_fill", t.accept_queue_sustained_fill),
            ("ephemeral_ports_warning", t.ephemeral_ports_warning),
            ("ephemeral_ports_critical", t.ephemeral_ports_critical),
            ("orphans_warning", t.orphans_warning),
            ("orphans_critical", t.orphans_critical),
            ("conntrack_warning", t.conntrack_warning),
            ("conntrack_critical", t.conntrack_critical),
        ];
        for (name, value) in ratios {
            if !(value.is_finite() && value > 0.0 && value <= 1.0) {
                return Err(format!("thresholds.{name} must be a fraction in (0, 1], not {value}"));
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
        }
    }
}

/// Thresholds and silenced checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    /// Thresholds of the checks.
    pub thresholds: Thresholds,
    /// Check ids whose findings are not reported.
    pub silence: Vec<String>,
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

    #[test]
    fn ratios_outside_zero_to_one_are_named() {
        let wrong = Thresholds { conntrack_warning: 80.0, ..Thresholds::default() };
        assert!(wrong.validate().is_err_and(|error| error.contains("conntrack_warning")));
        assert_eq!(Thresholds::default().validate(), Ok(()));
        assert!(Rules::validate_silence(&["no-such-check".into()]).is_err_and(|error| error.contains("no-such-check")));
        assert_eq!(Rules::validate_silence(&["time-wait-myths".into()]), Ok(()));
    }

    #[test]
    fn the_model_colours_by_the_same_thresholds() {
        let thresholds = Thresholds { accept_queue_fill: 0.6, ..Thresholds::default() };
        assert_eq!(thresholds.limits().fill_warning, 0.6);
        assert_eq!(thresholds.limits().ports_critical, thresholds.ephemeral_ports_critical);
    }
}
