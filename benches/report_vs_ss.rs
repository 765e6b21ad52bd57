//! Cost of `sockscope report` against `ss` on the same sockets, in the same run.
//!
//! Builds a private network namespace holding SOCKSCOPE_BENCH_SOCKETS TCP sockets (default
//! 100,000): 8 listeners, 6,000 held connections (12,000 ESTABLISHED sockets) and the rest as
//! client-side TIME_WAIT sockets, which need no file descriptor. Then times each command
//! several times, alternating, and prints medians and ratios against `ss -tan`.
//!
//! Needs root: without it the benchmark prints one line on stderr and exits with status 2,
//! having measured nothing.
//!
//! Run: `cargo bench --bench report_vs_ss` (release build of sockscope is used). Peak memory
//! needs GNU time (`apt-get install time`); without it the column shows -1.

mod load;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use load::{Load, build_release, in_netns, median, socket_count};

const RUNS: usize = 9;

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("report_vs_ss: not run: the benchmark needs root (it builds a network namespace)");
        std::process::exit(2);
    }
    let sockscope = build_release();
    let started = Instant::now();
    let load = Load::new("sockscope-bench", 100_000);
    let netns = load.netns.clone();
    let built = started.elapsed();
    let count = socket_count(&netns);
    println!("namespace {netns}: {count} TCP sockets (ss -tan) built in {:.1}s", built.as_secs_f64());

    let commands: Vec<(&str, Vec<String>)> = vec![
        ("ss -tan", vec!["ss".into(), "-tan".into()]),
        ("ss -ltn", vec!["ss".into(), "-ltn".into()]),
        ("ss -s", vec!["ss".into(), "-s".into()]),
        ("ss -tanp", vec!["ss".into(), "-tanp".into()]),
        ("sockscope report --no-processes (text)", vec![sockscope.clone(), "report".into(), "--no-processes".into()]),
        ("sockscope report (text, owners)", vec![sockscope.clone(), "report".into()]),
        ("sockscope report --format json", vec![sockscope.clone(), "report".into(), "--format".into(), "json".into()]),
    ];
    let argvs: Vec<Vec<String>> = commands.iter().map(|(_, argv)| argv.clone()).collect();
    // Children forked from a thread inside the namespace inherit it, with no nsenter in between
    // (whose own memory would otherwise show up as the child's peak RSS).
    let results: Vec<Vec<Measure>> = in_netns(&netns, move || {
        let mut results = vec![Vec::new(); argvs.len()];
        for _ in 0..RUNS {
            for (index, argv) in argvs.iter().enumerate() {
                results[index].push(measure(argv));
            }
        }
        results
    });
    let baseline = median_of(&results[0], |m| m.wall.as_secs_f64());
    println!("\n{:<42} {:>10} {:>10} {:>10} {:>12}", "command", "wall ms", "cpu ms", "max RSS", "wall vs ss -tan");
    for ((name, _), measures) in commands.iter().zip(&results) {
        let wall = median_of(measures, |m| m.wall.as_secs_f64());
        let cpu = median_of(measures, |m| m.cpu.as_secs_f64());
        let rss = median_of(measures, |m| m.max_rss_kib as f64);
        println!("{name:<42} {:>10.1} {:>10.1} {:>8.0}Ki {:>11.2}x", wall * 1000.0, cpu * 1000.0, rss, wall / baseline);
    }
    println!("\nmedians of {RUNS} alternating runs; sockets still present at the end: {}", socket_count(&netns));
    drop(load);
}

#[derive(Clone, Copy)]
struct Measure {
    wall: Duration,
    cpu: Duration,
    max_rss_kib: i64,
}

/// Runs a command with stdout discarded, returning its wall time, CPU time (wait4) and peak
/// RSS. The peak comes from GNU time when installed: a child's `ru_maxrss` never drops below the
/// RSS of the process that spawned it, and this benchmark is large; `time` is 1 MiB.
// The child is reaped by wait4 below (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(argv: &[String]) -> Measure {
    let rss_file = std::env::temp_dir().join(format!("sockscope-bench-rss-{}", std::process::id()));
    let wrapped: Vec<String> = if std::path::Path::new(GNU_TIME).exists() {
        [GNU_TIME.to_string(), "-f".into(), "%M".into(), "-o".into(), rss_file.display().to_string()]
            .into_iter()
            .chain(argv.iter().cloned())
            .collect()
    } else {
        argv.to_vec()
    };
    let started = Instant::now();
    let child = Command::new(&wrapped[0]).args(&wrapped[1..]).stdout(Stdio::null()).spawn().expect("spawn");
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: waiting for our own child with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid);
    assert!(std::process::ExitStatus::from_raw(status).success(), "{argv:?} failed");
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    let max_rss_kib = std::fs::read_to_string(&rss_file).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(-1);
    Measure { wall, cpu, max_rss_kib }
}

const GNU_TIME: &str = "/usr/bin/time";

fn timeval(value: libc::timeval) -> Duration {
    Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
}

fn median_of(measures: &[Measure], key: impl Fn(&Measure) -> f64) -> f64 {
    median(measures.iter().map(key).collect())
}
