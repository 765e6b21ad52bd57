//! Cost of `sockscope report` against `ss` on the same sockets, in the same run.
//!
//! Builds a private network namespace holding SOCKSCOPE_BENCH_SOCKETS TCP sockets (default
//! 100,000): 8 listeners, 6,000 held connections (12,000 ESTABLISHED sockets) and the rest as
//! client-side TIME_WAIT sockets, which need no file descriptor. Then times each command
//! several times, alternating, and prints medians and ratios against `ss -tan`. Needs root.
//!
//! Run: `cargo bench --bench report_vs_ss` (release build of sockscope is used). Peak memory
//! needs GNU time (`apt-get install time`); without it the column shows -1.

use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LISTENERS: usize = 8;
const HELD: usize = 6_000;
const RUNS: usize = 9;

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: the benchmark needs root (it builds a network namespace)");
        return;
    }
    let target: usize = std::env::var("SOCKSCOPE_BENCH_SOCKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let sockscope = build_release();
    let netns = format!("sockscope-bench-{}", std::process::id());
    run(Command::new("ip").args(["netns", "add", &netns]));
    run(Command::new("ip").args(["-n", &netns, "link", "set", "lo", "up"]));
    // Loopback connects would otherwise recycle TIME_WAIT ports (tcp_tw_reuse = 2) and the
    // TIME_WAIT population would stop growing.
    // A wide port range keeps connect() fast while 100k client ports sit in TIME_WAIT.
    run(Command::new("ip").args([
        "netns",
        "exec",
        &netns,
        "sysctl",
        "-qw",
        "net.ipv4.tcp_tw_reuse=0",
        "net.ipv4.ip_local_port_range=1024 65535",
    ]));
    let started = Instant::now();
    let load = in_netns(&netns, move || make_sockets(target));
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
    let baseline = median(&results[0], |m| m.wall.as_secs_f64());
    println!("\n{:<42} {:>10} {:>10} {:>10} {:>12}", "command", "wall ms", "cpu ms", "max RSS", "wall vs ss -tan");
    for ((name, _), measures) in commands.iter().zip(&results) {
        let wall = median(measures, |m| m.wall.as_secs_f64());
        let cpu = median(measures, |m| m.cpu.as_secs_f64());
        let rss = median(measures, |m| m.max_rss_kib as f64);
        println!("{name:<42} {:>10.1} {:>10.1} {:>8.0}Ki {:>11.2}x", wall * 1000.0, cpu * 1000.0, rss, wall / baseline);
    }
    println!("\nmedians of {RUNS} alternating runs; sockets still present at the end: {}", socket_count(&netns));
    drop(load);
    let _ = Command::new("ip").args(["netns", "del", &netns]).status();
}

/// Listeners and held connections; the rest closed by the client so they sit in TIME_WAIT.
fn make_sockets(target: usize) -> (Vec<TcpListener>, Vec<(TcpStream, TcpStream)>) {
    let listeners: Vec<TcpListener> = (0..LISTENERS).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    let ports: Vec<u16> = listeners.iter().map(|l| l.local_addr().expect("addr").port()).collect();
    let held_target = HELD.min(target / 2);
    let mut held = Vec::with_capacity(held_target);
    for i in 0..held_target {
        let client = TcpStream::connect(("127.0.0.1", ports[i % LISTENERS])).expect("connect");
        let (accepted, _) = listeners[i % LISTENERS].accept().expect("accept");
        held.push((client, accepted));
    }
    let time_wait = target.saturating_sub(LISTENERS + 2 * held_target);
    for i in 0..time_wait {
        let listener = &listeners[i % LISTENERS];
        let Ok(client) = TcpStream::connect(("127.0.0.1", ports[i % LISTENERS])) else { break };
        let Ok((accepted, _)) = listener.accept() else { break };
        let _ = client.shutdown(Shutdown::Both);
        drop(client);
        drop(accepted);
    }
    (listeners, held)
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

fn median(measures: &[Measure], key: impl Fn(&Measure) -> f64) -> f64 {
    let mut values: Vec<f64> = measures.iter().map(key).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn socket_count(netns: &str) -> usize {
    let output = Command::new("ip").args(["netns", "exec", netns, "ss", "-Htan"]).output().expect("ss");
    output.stdout.iter().filter(|b| **b == b'\n').count()
}

fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(path).expect("namespace file");
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&file),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns");
        f()
    })
    .join()
    .expect("load thread")
}

fn build_release() -> String {
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "sockscope"])
        .current_dir(env!("CARGO_MANIFEST_DIR")));
    format!("{}/target/release/sockscope", env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) {
    let status = command.status().expect("spawn");
    assert!(status.success(), "{command:?} failed");
}
