//! What `sockscope record --interval 1s` costs: bytes per sample after compression and the
//! recorder's CPU share, on this host as it is (quiet) and inside the namespace of `load`
//! (SOCKSCOPE_BENCH_SOCKETS sockets, default 100,000: 12,000 ESTABLISHED, the rest TIME_WAIT),
//! each against `ss -tan` timed on the same sockets in the same run.
//!
//! The recorder runs for SOCKSCOPE_BENCH_SECONDS (default 30; TIME_WAIT sockets live 60 s, so a
//! longer run would watch the population drain) with owners attributed, as the systemd unit
//! runs it. Its CPU comes from the kernel's accounting of finished children (`getrusage`).
//!
//! Needs root: without it the benchmark prints one line on stderr and exits with status 2,
//! having measured nothing.
//!
//! Run: `cargo bench --bench record_cost`.

mod load;

use std::process::Command;
use std::time::Instant;

use load::{Load, build_release, in_netns, median, socket_count};

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("record_cost: not run: the benchmark needs root (it builds a network namespace)");
        std::process::exit(2);
    }
    let seconds: u64 = std::env::var("SOCKSCOPE_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let sockscope = build_release();
    println!(
        "{:<28} {:>8} {:>9} {:>12} {:>10} {:>12} {:>14}",
        "population", "sockets", "samples", "bytes/sample", "raw/sample", "recorder CPU", "ss -tan ms"
    );

    let quiet = measure(&sockscope, seconds);
    print_row("this host (quiet)", socket_count_here(), &quiet);

    let load = Load::new("sockscope-bench-record", 100_000);
    let count = socket_count(&load.netns);
    let sockscope_there = sockscope.clone();
    let busy = in_netns(&load.netns, move || measure(&sockscope_there, seconds));
    print_row("load namespace", count, &busy);
    println!(
        "\nrecorder CPU per sample vs one ss -tan: quiet {:.2}x, load {:.2}x",
        quiet.cpu_per_sample_ms / quiet.ss_ms,
        busy.cpu_per_sample_ms / busy.ss_ms
    );
}

/// One recording and its costs.
struct Measured {
    samples: usize,
    bytes: u64,
    raw: u64,
    cpu_share: f64,
    cpu_per_sample_ms: f64,
    ss_ms: f64,
}

/// Records for `seconds` at 1 s into a temporary file and times `ss -tan` afterwards.
fn measure(sockscope: &str, seconds: u64) -> Measured {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    let (before, started) = (children_cpu(), Instant::now());
    let status = Command::new(sockscope)
        .args(["record", "-o", file.to_str().expect("path"), "--interval", "1s", "--duration"])
        .arg(format!("{seconds}s"))
        .status()
        .expect("the recorder runs");
    assert!(status.success(), "the recorder failed: {status}");
    let (cpu, wall) = (children_cpu() - before, started.elapsed().as_secs_f64());
    let mut recording = sockscope::record::Recording::open(std::slice::from_ref(&file)).expect("the recording reads");
    let samples = recording.len();
    let raw: u64 = recording
        .rounds(0..samples)
        .expect("rounds")
        .iter()
        .map(|round| serde_json::to_vec(round).map_or(0, |line| line.len() as u64 + 1))
        .sum();
    let bytes = std::fs::metadata(&file).expect("size").len();
    let ss: Vec<f64> = (0..9)
        .map(|_| {
            let at = Instant::now();
            let output = Command::new("ss").arg("-tan").output().expect("ss");
            assert!(output.status.success());
            at.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    Measured {
        samples,
        bytes,
        raw,
        cpu_share: cpu / wall,
        cpu_per_sample_ms: cpu * 1000.0 / samples.max(1) as f64,
        ss_ms: median(ss),
    }
}

/// CPU seconds (user + system) used by the finished children of this process so far.
fn children_cpu() -> f64 {
    // SAFETY: an all-zero rusage is valid and getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: usage points to valid memory.
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn socket_count_here() -> usize {
    let output = Command::new("ss").arg("-Htan").output().expect("ss");
    output.stdout.iter().filter(|b| **b == b'\n').count()
}

fn print_row(name: &str, sockets: usize, measured: &Measured) {
    println!(
        "{:<28} {:>8} {:>9} {:>12.0} {:>10.0} {:>11.2}% {:>14.2}",
        name,
        sockets,
        measured.samples,
        measured.bytes as f64 / measured.samples.max(1) as f64,
        measured.raw as f64 / measured.samples.max(1) as f64,
        measured.cpu_share * 100.0,
        measured.ss_ms
    );
}
