//! Host identity: name, kernel release, uptime, CPUs and load.

use std::path::Path;

use sysinfo::System;

use crate::sample::Host;

/// Reads the host identity. `sys_devices` is the sysfs CPU directory used to count online
/// CPUs (normally `/sys/devices/system/cpu`).
pub fn read_host(sys_cpu: &Path) -> Result<Host, String> {
    let hostname = System::host_name().map_err(|error| format!("host name: {error}"))?;
    let kernel = System::kernel_version().map_err(|error| format!("kernel release: {error}"))?;
    let uptime_seconds = System::uptime().map_err(|error| format!("uptime: {error}"))?;
    let load = System::load_average().map_err(|error| format!("load average: {error}"))?;
    Ok(Host {
        hostname,
        kernel,
        uptime_seconds,
        cpus: online_cpus(sys_cpu),
        load_average: [load.one, load.five, load.fifteen],
    })
}

/// Online CPUs from `<sys_cpu>/online` (`0-3,6`), falling back on the CPUs this process may use.
fn online_cpus(sys_cpu: &Path) -> u32 {
    std::fs::read_to_string(sys_cpu.join("online"))
        .ok()
        .and_then(|text| count_cpu_list(&text))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32))
}

/// Counts the CPUs in a kernel CPU list such as `0-3,6,8-9`; `None` when the list is malformed
/// or counts more CPUs than a `u32` holds.
pub fn count_cpu_list(text: &str) -> Option<u32> {
    let mut count = 0u32;
    for part in text.trim().split(',').filter(|part| !part.is_empty()) {
        let cpus = match part.split_once('-') {
            Some((low, high)) => high.parse::<u32>().ok()?.checked_sub(low.parse::<u32>().ok()?)?.checked_add(1)?,
            None => {
                part.parse::<u32>().ok()?;
                1
            }
        };
        count = count.checked_add(cpus)?;
    }
    (count > 0).then_some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(count_cpu_list("0-3,6,8-9\n"), Some(7));
        assert_eq!(count_cpu_list("0\n"), Some(1));
        assert_eq!(count_cpu_list("3-1"), None);
        assert_eq!(count_cpu_list(""), None);
        assert_eq!(count_cpu_list("x"), None);
        assert_eq!(count_cpu_list("0-4294967294"), Some(u32::MAX));
        assert_eq!(count_cpu_list("0-4294967295"), None, "more CPUs than a u32 counts");
        assert_eq!(count_cpu_list("0-2147483647,0-2147483647"), None);
    }
}
