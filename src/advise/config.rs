//! The configuration file: the advisor's thresholds with documented defaults, checks silenced by
//! id, and the dashboard's key bindings.
//!
//! Read from a TOML file — `--config FILE`, else `$XDG_CONFIG_HOME/sockscope/config.toml`, else
//! `~/.config/sockscope/config.toml` (under `sudo`, the invoking user's). A missing default file
//! means the defaults; a file that cannot be parsed, an unknown key or an unknown check id is an
//! error naming the file and the problem.

use std::path::{Path, PathBuf};

use serde::Deserialize;

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

/// The advisor's configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Check ids whose findings are not reported.
    pub silence: Vec<String>,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// The dashboard's keys: binding name → key names (`[keys]`, e.g. `quit = ["q", "ctrl+q"]`).
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("config {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, on one line.
        reason: String,
    },
}

impl Config {
    /// Whether findings of check `id` are silenced.
    pub fn is_silenced(&self, id: &str) -> bool {
        self.silence.iter().any(|silenced| silenced == id)
    }

    /// Parses a configuration file's text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let parse_error = |reason: String| ConfigError::Parse { path: path.to_path_buf(), reason };
        let config: Config = toml::from_str(text).map_err(|error| parse_error(one_line(&error.to_string())))?;
        if let Some(unknown) = config.silence.iter().find(|id| super::check(id).is_none()) {
            return Err(parse_error(format!("silence: unknown check id '{unknown}'")));
        }
        config.validate().map_err(parse_error)?;
        crate::tui::keymap::Keymap::with_overrides(&config.keys).map_err(parse_error)?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let t = &self.thresholds;
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

    /// Loads the configuration: from `explicit` when given (it must exist), else from the
    /// default location when a file is there, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match default_path().filter(|path| path.exists()) {
                Some(path) => path,
                None => return Ok((Config::default(), None)),
            },
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|error| ConfigError::Read { path: path.clone(), reason: error.to_string() })?;
        Ok((Config::parse(&text, &path)?, Some(path)))
    }
}

/// `$XDG_CONFIG_HOME/sockscope/config.toml`, else `~/.config/sockscope/config.toml`. Under
/// `sudo`, which points HOME at root's home, the invoking user's home is used.
pub fn default_path() -> Option<PathBuf> {
    if let Some(base) = std::env::var_os("XDG_CONFIG_HOME").filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(base).join("sockscope/config.toml"));
    }
    let home =
        sudo_user_home().or_else(|| std::env::var_os("HOME").filter(|value| !value.is_empty()).map(PathBuf::from))?;
    Some(home.join(".config/sockscope/config.toml"))
}

/// The home directory of the user who ran `sudo`, from `/etc/passwd`.
fn sudo_user_home() -> Option<PathBuf> {
    let user = std::env::var("SUDO_USER").ok().filter(|user| !user.is_empty() && user != "root")?;
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    home_of(&passwd, &user)
}

fn home_of(passwd: &str, user: &str) -> Option<PathBuf> {
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user)).then(|| fields.get(5).map(PathBuf::from)).flatten()
    })
}

fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.chars().all(|c| c == '|' || c == ' '))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_means_the_defaults() {
        assert_eq!(Config::parse("", Path::new("c.toml")), Ok(Config::default()));
    }

    #[test]
    fn thresholds_and_silences_are_read() {
        let text = "silence = [\"time-wait-myths\"]\n[thresholds]\naccept_queue_fill = 0.9\nclose_wait_sockets = 20\n";
        let config = Config::parse(text, Path::new("c.toml")).expect("valid");
        assert!(config.is_silenced("time-wait-myths"));
        assert!(!config.is_silenced("accept-queue-full"));
        assert_eq!(config.thresholds.accept_queue_fill, 0.9);
        assert_eq!(config.thresholds.close_wait_sockets, 20);
        assert_eq!(config.thresholds.softnet_rate, Thresholds::default().softnet_rate);
    }

    #[test]
    fn mistakes_are_named() {
        let typo = Config::parse("[thresholds]\naccept_queue_fil = 0.9\n", Path::new("c.toml")).expect_err("typo");
        assert!(typo.to_string().contains("accept_queue_fil"), "{typo}");
        let unknown = Config::parse("silence = [\"no-such-check\"]\n", Path::new("c.toml")).expect_err("id");
        assert!(unknown.to_string().contains("no-such-check"), "{unknown}");
        let range = Config::parse("[thresholds]\nconntrack_warning = 80\n", Path::new("c.toml")).expect_err("range");
        assert!(range.to_string().contains("conntrack_warning"), "{range}");
        let syntax = Config::parse("silence = [", Path::new("/etc/x.toml")).expect_err("syntax");
        assert!(syntax.to_string().starts_with("config /etc/x.toml:"), "{syntax}");
        assert!(!syntax.to_string().contains('\n'));
    }

    #[test]
    fn key_bindings_are_read_and_checked() {
        let config = Config::parse("[keys]\nquit = [\"ctrl+q\"]\n", Path::new("c.toml")).expect("valid");
        assert_eq!(config.keys.get("quit"), Some(&vec!["ctrl+q".to_string()]));
        let clash = Config::parse("[keys]\nhelp = [\"j\"]\n", Path::new("c.toml")).expect_err("clash");
        assert_eq!(clash.to_string(), "config c.toml: keys: 'j' is bound to both help and down");
    }

    #[test]
    fn the_readme_documents_every_threshold_and_check() {
        let readme = include_str!("../../README.md");
        let defaults = format!("{:?}", Thresholds::default());
        let pairs = defaults.trim_start_matches("Thresholds {").trim_end_matches('}').split(", ");
        for (name, value) in pairs.filter_map(|pair| pair.split_once(':')) {
            let line = format!("{} = {}", name.trim(), value.trim());
            assert!(readme.contains(&line), "README lacks `{line}`");
        }
        for check in super::super::CHECKS {
            assert!(readme.contains(&format!("| `{}` |", check.id)), "README lacks check {}", check.id);
        }
        for binding in crate::tui::keymap::BINDINGS.iter().filter(|b| b.name != "go-to-view") {
            assert!(readme.contains(&format!("`{}`", binding.name)), "README lacks key binding {}", binding.name);
        }
    }

    #[test]
    fn the_sudo_users_home_comes_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nana:x:1000:1000:Ana:/home/ana:/bin/zsh\n";
        assert_eq!(home_of(passwd, "ana"), Some(PathBuf::from("/home/ana")));
        assert_eq!(home_of(passwd, "bob"), None);
    }
}
