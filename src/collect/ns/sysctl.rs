//! Kernel settings from `/proc/sys/net`.
//!
//! `/proc/sys/net` answers for the network namespace of the task that opens the file, so this
//! runs on the thread that observes the namespace. A setting whose file does not exist (a
//! module not loaded, a removed sysctl) is simply absent.

use std::io;
use std::path::Path;

use crate::sample::{SysctlValue, Sysctls};
use crate::settings::SETTINGS;

/// What reading the settings produced: the values, and per-setting read errors other than
/// "does not exist".
#[derive(Debug, Default)]
pub(crate) struct SysctlRead {
    /// Values by dotted name.
    pub(crate) values: Sysctls,
    /// `(name, reason)` for settings that exist but could not be read.
    pub(crate) errors: Vec<(String, String)>,
}

/// Settings that are lists or names and stay text even when they happen to hold one number
/// (`ip_local_reserved_ports` = `8080`), so their JSON type never changes between hosts.
const ALWAYS_TEXT: [&str; 2] = ["net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_congestion_control"];

/// Reads every catalogued setting under `proc_sys` (normally `/proc/sys`).
pub(crate) fn read_sysctls(proc_sys: &Path) -> io::Result<SysctlRead> {
    std::fs::metadata(proc_sys.join("net"))?;
    let mut read = SysctlRead::default();
    for setting in SETTINGS {
        match std::fs::read_to_string(proc_sys.join(setting.relative_path())) {
            Ok(text) => {
                let value = if ALWAYS_TEXT.contains(&setting.name) {
                    SysctlValue::Text(text.trim().to_string())
                } else {
                    parse_value(&text)
                };
                read.values.insert(setting.name.to_string(), value);
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => read.errors.push((setting.name.to_string(), error.to_string())),
        }
    }
    Ok(read)
}

/// Parses a sysctl file: one integer, several integers (tabs or spaces), or text.
pub fn parse_value(text: &str) -> SysctlValue {
    let text = text.trim();
    let numbers: Result<Vec<i64>, _> = text.split_whitespace().map(str::parse::<i64>).collect();
    match numbers {
        Ok(numbers) if numbers.len() == 1 => SysctlValue::Integer(numbers[0]),
        Ok(numbers) if numbers.len() > 1 => SysctlValue::Integers(numbers),
        _ => SysctlValue::Text(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_by_shape() {
        assert_eq!(parse_value("4096\n"), SysctlValue::Integer(4096));
        assert_eq!(parse_value("32768\t60999\n"), SysctlValue::Integers(vec![32768, 60999]));
        assert_eq!(parse_value("cubic\n"), SysctlValue::Text("cubic".into()));
        assert_eq!(parse_value("8000-8010,9000\n"), SysctlValue::Text("8000-8010,9000".into()));
        assert_eq!(parse_value("\n"), SysctlValue::Text(String::new()));
        assert_eq!(parse_value("4294967295\n"), SysctlValue::Integer(4_294_967_295));
    }
}
