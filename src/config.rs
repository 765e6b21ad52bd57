//! The configuration file: one TOML file with the advisor's `[thresholds]`, the checks to
//! `silence`, how long `[findings]` are held, the dashboard's `[keys]` and its `[collect]`
//! budget. Each section is
//! validated by the module that owns it (the advisor's rules, the findings' lifecycle, the
//! dashboard's keymap); this module only finds, reads and splits the file.
//!
//! Read from a TOML file — `--config FILE`, else `$XDG_CONFIG_HOME/sockscope/config.toml`, else
//! `~/.config/sockscope/config.toml` (under `sudo`, the invoking user's). A missing default file
//! means the defaults; a file that cannot be parsed, an unknown key or an unknown check id is an
//! error naming the file and the problem.
//!
//! sockscope often runs as root on another user's behalf (sudo, cron), so the file is read
//! warily: only a regular file (a device or fifo is never opened), at most [`MAX_BYTES`]; the
//! default path read as root for a sudo user must not be a symbolic link and must be that
//! user's or root's; and the text of a file that is not the invoking user's is never quoted in
//! an error — only the line, the column and a known key.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue};

use crate::advise::lifecycle::Hold;
use crate::advise::{InvalidThreshold, Rules, Thresholds};
use crate::sample::Budget;
use crate::tui::keymap::{BINDINGS, Keymap};

/// The largest configuration file sockscope reads: 1 MiB.
pub const MAX_BYTES: usize = 1 << 20;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Check ids whose findings are not reported.
    pub silence: Vec<String>,
    /// Thresholds.
    pub thresholds: Thresholds,
    /// How long a finding outlives the sample that saw it, and how long cleared ones stay
    /// listed.
    pub findings: Hold,
    /// The dashboard's keys: binding name → key names (`[keys]`, e.g. `quit = ["q", "ctrl+q"]`).
    pub keys: std::collections::BTreeMap<String, Vec<String>>,
    /// How the dashboard paces its collection (`[collect]`).
    pub collect: CollectSettings,
}

/// `[collect]`: how the dashboard paces its collection.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectSettings {
    /// The dashboard collector's CPU budget, `"3%"` or `"off"` (`--budget` overrides it).
    pub budget: Option<String>,
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
    /// The advisor's rules: thresholds and silenced checks.
    pub fn rules(&self) -> Rules {
        Rules { thresholds: self.thresholds.clone(), silence: self.silence.clone(), hold: self.findings.clone() }
    }

    /// The budget `[collect]` sets: `None` when the file does not say, `Some(None)` for `off`.
    pub fn budget(&self) -> Option<Option<Budget>> {
        self.collect.budget.as_deref().and_then(|text| Budget::parse(text).ok())
    }

    /// The dashboard's keys with this file's `[keys]` applied.
    pub fn keymap(&self) -> Result<Keymap, String> {
        Keymap::with_overrides(&self.keys)
    }

    /// Parses a configuration file's text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_quoting(text, path, true)
    }

    /// Parses the text; a syntax or type error quotes the text only when `quote` is set.
    fn parse_quoting(text: &str, path: &Path, quote: bool) -> Result<Config, ConfigError> {
        let parse_error = |reason: String| ConfigError::Parse { path: path.to_path_buf(), reason };
        let config: Config = toml::from_str(text).map_err(|error| parse_error(describe(&error, text, quote)))?;
        Rules::validate_silence(&config.silence).map_err(parse_error)?;
        config.thresholds.validate().map_err(|invalid| parse_error(locate(&invalid, text)))?;
        config
            .findings
            .validate()
            .map_err(|invalid| parse_error(at_line(&["findings", invalid.key], &invalid.reason, text)))?;
        config.keymap().map_err(parse_error)?;
        if let Some(budget) = config.collect.budget.as_deref() {
            Budget::parse(budget).map_err(|reason| parse_error(at_line(&["collect", "budget"], &reason, text)))?;
        }
        Ok(config)
    }

    /// Loads the configuration: from `explicit` when given (it must exist), else from the
    /// default location when a file is there, else the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let sudo_user = sudo_uid();
        let (path, guarded) = match explicit {
            Some(path) => (path.to_path_buf(), None),
            None => match default_path().filter(|path| crate::files::as_user(|| path.exists()).unwrap_or(false)) {
                Some(path) => (path, sudo_user),
                None => return Ok((Config::default(), None)),
            },
        };
        let (text, owner) = crate::files::as_user(|| read(&path, guarded))
            .unwrap_or_else(|error| Err(error.to_string()))
            .map_err(|reason| ConfigError::Read { path: path.clone(), reason })?;
        let invoking = sudo_user.unwrap_or_else(|| rustix::process::getuid().as_raw());
        Ok((Config::parse_quoting(&text, &path, owner == invoking)?, Some(path)))
    }
}

/// The user sockscope acts for when it runs as root under sudo: `SUDO_UID`, when the effective
/// uid is 0 and it names another user.
fn sudo_uid() -> Option<u32> {
    if !rustix::process::geteuid().is_root() {
        return None;
    }
    std::env::var("SUDO_UID").ok()?.parse().ok().filter(|uid| *uid != 0)
}

/// The text of the configuration file at `path` and its owner. It must be a regular file —
/// checked before opening, so a device or a fifo is never opened, and again on the opened file
/// (opened non-blocking, so a fifo swapped in meanwhile cannot hang the run) — of at most
/// [`MAX_BYTES`] of UTF-8. For `for_user` (the default path read as root for a sudo user) the
/// last component must not be a symbolic link and the file must be theirs or root's.
fn read(path: &Path, for_user: Option<u32>) -> Result<(String, u32), String> {
    use rustix::fs::{Mode, OFlags};
    let before = match for_user {
        Some(_) => std::fs::symlink_metadata(path),
        None => std::fs::metadata(path),
    };
    regular(&before.map_err(|error| error.to_string())?)?;
    let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    if for_user.is_some() {
        flags |= OFlags::NOFOLLOW;
    }
    let opened =
        rustix::fs::open(path, flags, Mode::empty()).map_err(|error| std::io::Error::from(error).to_string())?;
    let file = std::fs::File::from(opened);
    let metadata = file.metadata().map_err(|error| error.to_string())?;
    regular(&metadata)?;
    if let Some(user) = for_user.filter(|user| ![*user, 0].contains(&metadata.uid())) {
        return Err(format!("it is owned by uid {}, neither the sudo user's (uid {user}) nor root's", metadata.uid()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(|error| error.to_string())?;
    if bytes.len() > MAX_BYTES {
        return Err("it is larger than 1 MiB".to_string());
    }
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())?;
    Ok((text, metadata.uid()))
}

/// Refuses anything but a regular file, naming what it is.
fn regular(metadata: &std::fs::Metadata) -> Result<(), String> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        Ok(())
    } else if file_type.is_symlink() {
        Err("it is a symbolic link, not followed when root reads the sudo user's configuration".to_string())
    } else {
        Err(format!("not a regular file: it is {}", crate::files::kind(&file_type)))
    }
}

/// The parser's error on one line. Unless `quote`, only where it is (line, column) and the key
/// there when it is one sockscope knows: never the file's text.
fn describe(error: &toml::de::Error, text: &str, quote: bool) -> String {
    if quote {
        return one_line(&error.to_string());
    }
    let document = DeTable::parse(text).ok();
    let what = if document.is_some() { "not a sockscope configuration" } else { "not valid TOML" };
    let withheld = "(the text is not shown: the file is not the invoking user's)";
    let Some(offset) = error.span().map(|span| span.start) else {
        return format!("{what} {withheld}");
    };
    let (line, column) = position(text, offset);
    let key = document.and_then(|document| key_at(document.get_ref(), offset)).filter(|path| is_known(path));
    let key = key.map(|path| format!(", key `{}`", path.join("."))).unwrap_or_default();
    format!("line {line}, column {column}{key}: {what} {withheld}")
}

/// The threshold's problem, with the line of its key when the file sets it.
fn locate(invalid: &InvalidThreshold, text: &str) -> String {
    let document = DeTable::parse(text).ok();
    let span = document
        .and_then(|document| invalid.keys.iter().find_map(|key| span_of(document.get_ref(), &["thresholds", key])));
    match span {
        Some(span) => format!("line {}: {invalid}", position(text, span.start).0),
        None => invalid.to_string(),
    }
}

/// A problem with the key at `path`, with the line of the key when the file sets it.
fn at_line(path: &[&str], problem: &str, text: &str) -> String {
    let span = DeTable::parse(text).ok().and_then(|document| span_of(document.get_ref(), path));
    match span {
        Some(span) => format!("line {}: {problem}", position(text, span.start).0),
        None => problem.to_string(),
    }
}

/// The line and column (both from 1, the column in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line_start = before.iter().rposition(|byte| *byte == b'\n').map_or(0, |newline| newline + 1);
    let line = before.iter().filter(|byte| **byte == b'\n').count() + 1;
    (line, String::from_utf8_lossy(&before[line_start..]).chars().count() + 1)
}

/// Where the key at `path` (`["thresholds", "softnet_rate"]`) is written in the document.
fn span_of(table: &DeTable, path: &[&str]) -> Option<std::ops::Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (key, value) = table.get_key_value(*first)?;
    match (rest.is_empty(), value.get_ref()) {
        (true, _) => Some(key.span()),
        (false, DeValue::Table(inner)) => span_of(inner, rest),
        (false, _) => None,
    }
}

/// The path of the innermost key whose name or value covers the byte `offset`.
fn key_at(table: &DeTable, offset: usize) -> Option<Vec<String>> {
    table.iter().find_map(|(key, value)| {
        let inner = match value.get_ref() {
            DeValue::Table(inner) => key_at(inner, offset),
            _ => None,
        };
        let here = key.span().contains(&offset) || value.span().contains(&offset);
        let name = key.get_ref().to_string();
        match inner {
            Some(path) => Some([vec![name], path].concat()),
            None => here.then(|| vec![name]),
        }
    })
}

/// Whether a key path is one the configuration defines (so naming it quotes nothing private).
fn is_known(path: &[String]) -> bool {
    match path {
        [section] => ["silence", "thresholds", "findings", "keys", "collect"].contains(&section.as_str()),
        [section, key] if section == "collect" => key == "budget",
        [section, key] if section == "thresholds" => Thresholds::is_key(key),
        [section, key] if section == "findings" => {
            ["clear_after_samples", "clear_after_seconds", "keep_cleared_seconds", "keep_cleared"]
                .contains(&key.as_str())
        }
        [section, key] if section == "keys" => BINDINGS.iter().any(|binding| binding.name == key),
        _ => false,
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
        assert!(config.rules().is_silenced("time-wait-myths"));
        assert!(!config.rules().is_silenced("accept-queue-full"));
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
    fn errors_in_someone_elses_file_quote_nothing_of_it() {
        let quiet = |text: &str| Config::parse_quoting(text, Path::new("c.toml"), false).expect_err("bad").to_string();
        let shadow = quiet("root:$6$salt$hash:19700:0:99999:7:::\n");
        assert!(shadow.starts_with("config c.toml: line 1, column ") && shadow.contains("not valid TOML"), "{shadow}");
        assert!(!shadow.contains("salt") && !shadow.contains("root"), "{shadow}");
        let value = quiet("silence = \"hunter2\"\n");
        assert!(value.contains("line 1, column 11, key `silence`: not a sockscope configuration"), "{value}");
        assert!(!value.contains("hunter2"), "{value}");
        let unknown = quiet("[thresholds]\nsecret_name = 1\n");
        assert!(unknown.contains("line 2, column 1: ") && !unknown.contains("secret_name"), "{unknown}");
        let binding = quiet("[keys]\nquit = 5\n");
        assert!(binding.contains("key `keys.quit`"), "{binding}");
        let quoted = Config::parse("silence = \"hunter2\"\n", Path::new("c.toml")).expect_err("bad").to_string();
        assert!(quoted.contains("hunter2"), "the user's own file is quoted: {quoted}");
    }

    #[test]
    fn threshold_errors_give_the_line_of_the_key() {
        let error = |text: &str| Config::parse(text, Path::new("c.toml")).expect_err("bad").to_string();
        assert_eq!(
            error("# mine\n[thresholds]\n\nsoftnet_rate = -1.0\n"),
            "config c.toml: line 4: thresholds.softnet_rate must be a finite rate per second, ≥ 0, not -1"
        );
        assert!(error("thresholds.tcp_mem_critical = 0.0\n").starts_with("config c.toml: line 1: thresholds.tcp_mem"));
        let pair = error("[thresholds]\nretransmit_critical = 0.001\n");
        assert!(pair.starts_with("config c.toml: line 2: thresholds.retransmit_warning (0.01) must not be"), "{pair}");
        assert_eq!((position("a\nbé\ncd", 6), position("a\nbé\ncd", 7)), ((3, 1), (3, 2)));
        assert_eq!(position("a\nbé", 5), (2, 3));
        assert_eq!(position("", 9), (1, 1));
    }

    #[test]
    fn the_hold_of_findings_is_read_and_checked() {
        let text = "[findings]\nclear_after_samples = 5\nclear_after_seconds = 60.0\n";
        let config = Config::parse(text, Path::new("c.toml")).expect("valid");
        assert_eq!((config.rules().hold.clear_after_samples, config.rules().hold.clear_after_seconds), (5, 60.0));
        assert_eq!(config.rules().hold.keep_cleared, Hold::default().keep_cleared);
        let error = Config::parse("# hold\n[findings]\nclear_after_samples = 0\n", Path::new("c.toml")).expect_err("0");
        assert_eq!(
            error.to_string(),
            "config c.toml: line 3: findings.clear_after_samples must be a whole number from 1 to 600, not 0"
        );
        let typo = Config::parse("[findings]\nclear_after = 3\n", Path::new("c.toml")).expect_err("typo");
        assert!(typo.to_string().contains("clear_after"), "{typo}");
        let readme = include_str!("../README.md");
        let defaults = Hold::default();
        for line in [
            format!("clear_after_samples = {}", defaults.clear_after_samples),
            format!("clear_after_seconds = {:?}", defaults.clear_after_seconds),
            format!("keep_cleared_seconds = {:?}", defaults.keep_cleared_seconds),
            format!("keep_cleared = {}", defaults.keep_cleared),
        ] {
            assert!(readme.contains(&line), "README lacks `{line}`");
        }
    }

    #[test]
    fn key_bindings_are_read_and_checked() {
        let config = Config::parse("[keys]\nquit = [\"ctrl+q\"]\n", Path::new("c.toml")).expect("valid");
        assert_eq!(config.keys.get("quit"), Some(&vec!["ctrl+q".to_string()]));
        let clash = Config::parse("[keys]\nhelp = [\"j\"]\n", Path::new("c.toml")).expect_err("clash");
        assert_eq!(clash.to_string(), "config c.toml: keys: 'j' is bound to both help and down");
    }

    #[test]
    fn the_collect_budget_is_read_and_checked() {
        let config = Config::parse("[collect]\nbudget = \"2.5%\"\n", Path::new("c.toml")).expect("valid");
        assert_eq!(config.budget(), Some(Some(Budget { permille: 25 })));
        let off = Config::parse("[collect]\nbudget = \"off\"\n", Path::new("c.toml")).expect("valid");
        assert_eq!(off.budget(), Some(None));
        assert_eq!(Config::default().budget(), None);
        let bad = Config::parse("\n[collect]\nbudget = \"lots\"\n", Path::new("c.toml")).expect_err("bad");
        assert!(bad.to_string().starts_with("config c.toml: line 3: "), "{bad}");
    }

    #[test]
    fn the_readme_documents_every_threshold_and_check() {
        let readme = include_str!("../README.md");
        let defaults = format!("{:?}", Thresholds::default());
        let pairs = defaults.trim_start_matches("Thresholds {").trim_end_matches('}').split(", ");
        for (name, value) in pairs.filter_map(|pair| pair.split_once(':')) {
            let line = format!("{} = {}", name.trim(), value.trim());
            assert!(readme.contains(&line), "README lacks `{line}`");
        }
        for check in crate::advise::CHECKS {
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
