//! What a listener's owners are doing: run state, CPU time and threads from `/proc/<pid>/stat`,
//! and the CPU throttling and memory pressure of their cgroup v2 (`cpu.stat`, `cpu.max`,
//! `memory.pressure`). Read with every sample, for the owners of listeners only: a few small
//! files per process. A process that exited, a file that is missing (the controller is not
//! enabled in that cgroup, no cgroup v2 at all) or unreadable leaves its part absent; nothing
//! here is an error.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use procfs::FromRead;
use procfs::process::{MountInfos, Process};

use crate::sample::{CgroupStats, CpuMax, CpuStat, Pressure, PressureLine, ProcessStatus};

/// Where the cgroup v2 hierarchy is mounted, from a `mountinfo` file: the mount point and the
/// hierarchy path it shows (`/` unless sockscope runs in a cgroup namespace's bind mount).
/// `None` without a `cgroup2` mount (cgroup v1 only). On hybrid hosts it is not
/// `/sys/fs/cgroup` but, for example, `/sys/fs/cgroup/unified`.
pub fn cgroup2_mount(mountinfo: &Path) -> Option<(PathBuf, String)> {
    let mounts = MountInfos::from_file(mountinfo).ok()?;
    mounts.into_iter().find(|mount| mount.fs_type == "cgroup2").map(|mount| (mount.mount_point, mount.root))
}

/// The status of process `pid`, or `None` when it exited or its `stat` cannot be parsed.
pub fn read_status(proc_dir: &Path, pid: u32) -> Option<ProcessStatus> {
    let process = Process::new_with_root(proc_dir.join(pid.to_string())).ok()?;
    let stat = process.stat().ok()?;
    let cgroup = std::fs::read(proc_dir.join(pid.to_string()).join("cgroup")).ok().and_then(|text| cgroup_path(&text));
    Some(ProcessStatus {
        state: stat.state,
        parent: u32::try_from(stat.ppid).unwrap_or(0),
        cpu_ticks: stat.utime.saturating_add(stat.stime),
        threads: u32::try_from(stat.num_threads).unwrap_or(0),
        start_time: stat.starttime,
        cgroup,
        command_line_numbers: command_line_numbers(&proc_dir.join(pid.to_string()).join("cmdline")),
    })
}

/// How much of a command line is read: enough for every option that names a port.
const COMMAND_LINE_LIMIT: u64 = 4096;

/// The numbers from 1 to 65535 among a process's arguments (`--port 6379`, `*:8080`, `-p80`).
fn command_line_numbers(path: &Path) -> BTreeSet<u16> {
    use std::io::Read;
    let mut raw = Vec::new();
    let read = std::fs::File::open(path).and_then(|file| file.take(COMMAND_LINE_LIMIT).read_to_end(&mut raw));
    if read.is_err() {
        return BTreeSet::new();
    }
    raw.split(|byte| !byte.is_ascii_digit())
        .filter(|digits| !digits.is_empty() && digits.len() <= 5)
        .filter_map(|digits| std::str::from_utf8(digits).ok()?.parse::<u16>().ok())
        .filter(|number| *number > 0)
        .collect()
}

/// The cgroup v2 path in a `/proc/<pid>/cgroup` file: the `0::/path` line. Read as bytes (procfs
/// rejects the whole file when a cgroup name is not UTF-8, and anyone with a delegated subtree
/// can choose such a name).
pub fn cgroup_path(file: &[u8]) -> Option<String> {
    let line = file.split(|byte| *byte == b'\n').find(|line| line.starts_with(b"0::"))?;
    Some(crate::format::name_from_bytes(&line[3..]))
}

/// The cgroup files of `cgroup` (a path as `/proc/<pid>/cgroup` gives it) under the cgroup v2
/// mount `(mount point, root)`. `None` when the path leaves the mount (`/..` outside sockscope's
/// cgroup namespace) or nothing could be read.
pub fn read_cgroup(mount: &(PathBuf, String), cgroup: &str) -> Option<CgroupStats> {
    let (point, root) = mount;
    let relative = cgroup.strip_prefix(root.as_str()).unwrap_or(cgroup).trim_start_matches('/');
    let relative = Path::new(relative);
    if relative.components().any(|part| !matches!(part, Component::Normal(_))) {
        return None;
    }
    let dir = point.join(relative);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let stats = CgroupStats {
        cpu: read("cpu.stat").map(|text| parse_cpu_stat(&text)),
        cpu_max: read("cpu.max").and_then(|text| parse_cpu_max(&text)),
        memory_pressure: read("memory.pressure").and_then(|text| parse_pressure(&text)),
    };
    (stats != CgroupStats::default()).then_some(stats)
}

/// Reads the cgroups of `statuses` once each.
pub fn read_cgroups<'a>(
    mount: Option<&(PathBuf, String)>,
    statuses: impl IntoIterator<Item = &'a ProcessStatus>,
) -> BTreeMap<String, CgroupStats> {
    let Some(mount) = mount else { return BTreeMap::new() };
    let mut cgroups = BTreeMap::new();
    for path in statuses.into_iter().filter_map(|status| status.cgroup.as_ref()) {
        if !cgroups.contains_key(path)
            && let Some(stats) = read_cgroup(mount, path)
        {
            cgroups.insert(path.clone(), stats);
        }
    }
    cgroups
}

/// `cpu.stat`: `key value` lines; the keys sockscope uses, each absent when not listed.
pub fn parse_cpu_stat(text: &str) -> CpuStat {
    let mut stat = CpuStat::default();
    for line in text.lines() {
        let mut words = line.split_ascii_whitespace();
        let (Some(key), Some(value)) = (words.next(), words.next().and_then(|value| value.parse().ok())) else {
            continue;
        };
        match key {
            "usage_usec" => stat.usage_usec = Some(value),
            "nr_periods" => stat.nr_periods = Some(value),
            "nr_throttled" => stat.nr_throttled = Some(value),
            "throttled_usec" => stat.throttled_usec = Some(value),
            _ => {}
        }
    }
    stat
}

/// `cpu.max`: `max 100000` or `20000 100000`.
pub fn parse_cpu_max(text: &str) -> Option<CpuMax> {
    let mut words = text.split_ascii_whitespace();
    let quota = match words.next()? {
        "max" => None,
        quota => Some(quota.parse().ok()?),
    };
    let period_usec = words.next()?.parse().ok()?;
    Some(CpuMax { quota_usec: quota, period_usec })
}

/// A pressure-stall file: `some avg10=1.50 avg60=0.30 avg300=0.06 total=123456` and the same
/// for `full` (absent from `cpu.pressure` before Linux 5.13). Parsed here rather than with
/// procfs's `MemoryPressure`, which rejects a file without its `full` line.
pub fn parse_pressure(text: &str) -> Option<Pressure> {
    let line = |kind: &str| text.lines().find_map(|line| line.strip_prefix(kind)).and_then(parse_pressure_line);
    Some(Pressure { some: line("some ")?, full: line("full ") })
}

fn parse_pressure_line(fields: &str) -> Option<PressureLine> {
    let value = |key: &str| {
        fields.split_ascii_whitespace().find_map(|pair| pair.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    Some(PressureLine {
        avg10: value("avg10")?.parse().ok().filter(|v: &f64| v.is_finite())?,
        avg60: value("avg60")?.parse().ok().filter(|v: &f64| v.is_finite())?,
        total_usec: value("total")?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cpu.stat` of a cgroup with the cpu controller enabled and `cpu.max` at 10 %, after a
    /// busy loop ran in it (Linux 6.x layout).
    const THROTTLED_CPU_STAT: &str = "usage_usec 1203311\nuser_usec 1198530\nsystem_usec 4781\n\
        core_sched.force_idle_usec 0\nnr_periods 120\nnr_throttled 118\nthrottled_usec 10650342\n\
        nr_bursts 0\nburst_usec 0\n";

    #[test]
    fn cpu_stat_with_and_without_the_cpu_controller() {
        let stat = parse_cpu_stat(THROTTLED_CPU_STAT);
        assert_eq!(
            stat,
            CpuStat {
                usage_usec: Some(1_203_311),
                nr_periods: Some(120),
                nr_throttled: Some(118),
                throttled_usec: Some(10_650_342)
            }
        );
        // Without the controller (a hybrid host), only the usage lines.
        let core = parse_cpu_stat("usage_usec 0\nuser_usec 0\nsystem_usec 0\nnice_usec 0\n");
        assert_eq!(core, CpuStat { usage_usec: Some(0), ..CpuStat::default() });
        assert_eq!(parse_cpu_stat("nr_periods x\n\n garbage"), CpuStat::default());
    }

    #[test]
    fn cpu_max_reads_a_quota_or_no_limit() {
        assert_eq!(parse_cpu_max("10000 100000\n"), Some(CpuMax { quota_usec: Some(10_000), period_usec: 100_000 }));
        assert_eq!(parse_cpu_max("max 100000\n"), Some(CpuMax { quota_usec: None, period_usec: 100_000 }));
        assert_eq!(parse_cpu_max("max\n"), None);
        assert_eq!(parse_cpu_max(""), None);
    }

    #[test]
    fn pressure_lines_with_and_without_full() {
        let text = "some avg10=35.20 avg60=12.01 avg300=2.50 total=9123456\n\
                    full avg10=20.00 avg60=8.00 avg300=1.00 total=5000000\n";
        let pressure = parse_pressure(text).expect("a pressure file");
        assert_eq!(pressure.some, PressureLine { avg10: 35.2, avg60: 12.01, total_usec: 9_123_456 });
        assert_eq!(pressure.full.map(|full| full.total_usec), Some(5_000_000));
        let some_only = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n").expect("some only");
        assert_eq!(some_only.full, None);
        assert_eq!(parse_pressure("full avg10=1 avg60=1 avg300=1 total=1\n"), None, "no some line");
        assert_eq!(parse_pressure("some avg10=NaN avg60=0 avg300=0 total=1\n"), None);
    }

    #[test]
    fn the_cgroup_v2_line_is_found_among_v1_lines() {
        let hybrid = b"9:name=systemd:/\n4:memory:/x/y\n1:cpu:/\n0::/system.slice/nginx.service\n";
        assert_eq!(cgroup_path(hybrid).as_deref(), Some("/system.slice/nginx.service"));
        assert_eq!(cgroup_path(b"4:memory:/x\n"), None, "cgroup v1 only");
        assert_eq!(cgroup_path(b"0::/evil\xff\n").as_deref(), Some(r"/evil\xff"));
    }

    #[test]
    fn a_cgroup_is_read_under_the_mount_and_never_outside_it() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("web.slice/nginx.service");
        std::fs::create_dir_all(&dir).expect("cgroup dir");
        std::fs::write(dir.join("cpu.stat"), THROTTLED_CPU_STAT).expect("cpu.stat");
        std::fs::write(dir.join("cpu.max"), "10000 100000\n").expect("cpu.max");
        let mount = (root.path().to_path_buf(), "/".to_string());
        let stats = read_cgroup(&mount, "/web.slice/nginx.service").expect("readable");
        assert_eq!(stats.cpu.and_then(|cpu| cpu.nr_throttled), Some(118));
        assert_eq!(stats.cpu_max.and_then(|max| max.quota_usec), Some(10_000));
        assert_eq!(stats.memory_pressure, None, "no memory.pressure file: absent, not an error");
        assert_eq!(read_cgroup(&mount, "/../../etc"), None, "outside the mount");
        assert_eq!(read_cgroup(&mount, "/gone.service"), None);
        // A mount of a sub-hierarchy (a cgroup namespace's view) strips its root.
        let nested = (root.path().join("web.slice"), "/web.slice".to_string());
        assert!(read_cgroup(&nested, "/web.slice/nginx.service").is_some());
    }

    #[test]
    fn this_process_has_a_status() {
        let status = read_status(Path::new("/proc"), std::process::id()).expect("our own stat");
        // The state is the main thread's: running, or sleeping while test threads run.
        assert!(matches!(status.state, 'R' | 'S'), "{}", status.state);
        assert!(status.threads >= 1 && status.start_time > 0);
        assert_eq!(read_status(Path::new("/proc"), u32::MAX), None, "no such process: absent");
    }
}
