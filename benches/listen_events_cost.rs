//! What the listen-event source (eBPF) costs the traffic it watches: a loopback nginx in a
//! private namespace under `ab` (new connection per request, bounded: SOCKSCOPE_BENCH_SECONDS
//! per run, default 10, concurrency 16), SOCKSCOPE_BENCH_RUNS rounds (default 3) of four runs
//! each: without, with, with and without a `sockscope events` process loaded. Prints each
//! round's connections per second on each side, the throughput loss in percent, the cost in µs
//! per connection (1/with − 1/without), the CPU the sockscope process spent per connection, and
//! the events the ring buffer had no room for. A last run with the kernel's BPF run-time statistics on gives
//! each program's runs and nanoseconds per connection: the in-kernel cost, exactly, where the
//! throughput comparison carries the noise of the machine.
//!
//! The `sockscope events` process watches its own namespace (the host's), so every program runs
//! and every event is read and routed, but none of the benchmark's events is printed: what is
//! measured is the source, not the printing of 10,000 lines a second.
//!
//! The namespace gets a wide local port range and `tcp_tw_reuse` (its own settings, not the
//! host's) so that `ab` does not run out of ports; it and nginx are removed at the end, also
//! when the benchmark fails.
//!
//! Needs root, nginx and ab (Debian packages nginx, apache2-utils): without them it prints one
//! line on stderr and exits with status 2, having measured nothing. SOCKSCOPE_BENCH_BINARY runs
//! another sockscope than a fresh release build.
//!
//! The loss is the median of the rounds' losses: the machine drifts over minutes by more than the
//! loss, and a drift that is linear over a round cancels out within it.
//!
//! Run: `cargo bench --bench listen_events_cost`.

#[path = "../tests/common/mod.rs"]
mod common;
mod load;

use std::collections::{BTreeMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use common::TestNetns;
use common::nginx::Nginx;
use load::{build_release, median};

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("listen_events_cost: not run: the benchmark needs root (a network namespace, eBPF)");
        std::process::exit(2);
    }
    if !std::path::Path::new("/usr/bin/ab").exists() || !std::path::Path::new(common::nginx::NGINX).exists() {
        eprintln!("listen_events_cost: not run: needs ab (apache2-utils) and nginx");
        std::process::exit(2);
    }
    let seconds: u64 = env_number("SOCKSCOPE_BENCH_SECONDS", 10);
    let runs: u64 = env_number("SOCKSCOPE_BENCH_RUNS", 3);
    let sockscope = std::env::var("SOCKSCOPE_BENCH_BINARY").unwrap_or_else(|_| build_release());

    let netns = TestNetns::new();
    netns.run("sysctl", &["-q", "-w", "net.ipv4.ip_local_port_range=1024 65535"]);
    netns.run("sysctl", &["-q", "-w", "net.ipv4.tcp_tw_reuse=1"]);
    let nginx = Nginx::start(&netns, 2, &["127.0.0.1:8080 backlog=4096"]);
    // nginx on the second CPU and ab on the first: where the scheduler would otherwise put the
    // three busy processes differs from run to run, and with it the throughput, by more than
    // what is measured here. The sockscope process runs wherever the scheduler puts it.
    for pid in std::iter::once(nginx.pid()).chain(nginx.workers()) {
        let pinned = Command::new("taskset").args(["-p", "-c", "1", &pid.to_string()]).stdout(Stdio::null()).status();
        assert!(pinned.is_ok_and(|status| status.success()), "taskset could not pin nginx ({pid})");
    }

    // A run first, not counted, so that the namespace's TIME_WAIT population has grown to its
    // steady size before anything is compared. Then each round runs without, with, with, without
    // (the source loaded once for its two runs): the machine drifts over minutes by more than
    // what is measured, and a drift that is linear over a round falls on both sides alike.
    connections_per_second(&netns, seconds);
    println!(
        "{:<8} {:>14} {:>14} {:>8} {:>20}",
        "round", "without conn/s", "with conn/s", "loss %", "reader CPU µs/conn"
    );
    let (mut losses, mut costs, mut reader, mut lost) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for round in 1..=runs {
        let before = connections_per_second(&netns, seconds);
        let watcher = Watcher::start(&sockscope);
        let cpu_before = watcher.cpu_seconds();
        let watched = (connections_per_second(&netns, seconds) + connections_per_second(&netns, seconds)) / 2.0;
        let cpu = watcher.cpu_seconds() - cpu_before;
        lost += watcher.finish();
        let plain = (before + connections_per_second(&netns, seconds)) / 2.0;
        let reader_micros = cpu * 1e6 / (watched * 2.0 * seconds as f64);
        let loss = (plain - watched) / plain * 100.0;
        println!("{round:<8} {plain:>14.0} {watched:>14.0} {loss:>8.2} {reader_micros:>20.2}");
        losses.push(loss);
        costs.push(1e6 / watched - 1e6 / plain);
        reader.push(reader_micros);
    }
    // The median of the rounds' losses, not the loss between the medians of each side.
    let (loss, micros, reader) = (median(losses), median(costs), median(reader));
    println!("\nmedian of the rounds: throughput loss {loss:.2} %, {micros:.2} µs per connection");
    println!("ring-buffer losses {lost}");
    println!("the sockscope process (reading and adding up the events): {reader:.2} µs CPU per connection");
    program_run_times(&netns, &sockscope, seconds);
    drop(nginx);
}

/// One more run with the kernel's run-time statistics of BPF programs enabled (BPF_ENABLE_STATS,
/// for as long as this process holds the descriptor; they add two clock reads per program run,
/// which is why the runs above are made without them): each program's runs and nanoseconds
/// per connection.
fn program_run_times(netns: &TestNetns, sockscope: &str, seconds: u64) {
    let Ok(_stats) = aya::sys::enable_stats(aya::sys::Stats::RunTime) else {
        println!("BPF run-time statistics: not available on this kernel");
        return;
    };
    let before_watcher: HashSet<u32> = program_times().keys().map(|(id, _)| *id).collect();
    let watcher = Watcher::start(sockscope);
    let ours = |times: BTreeMap<(u32, String), (u64, u64)>| -> BTreeMap<String, (u64, u64)> {
        times.into_iter().filter(|((id, _), _)| !before_watcher.contains(id)).map(|((_, name), t)| (name, t)).collect()
    };
    let before = ours(program_times());
    let rate = connections_per_second(netns, seconds);
    let after = ours(program_times());
    watcher.finish();
    let connections = rate * seconds as f64;
    println!("\nBPF programs, with run-time statistics on ({rate:.0} conn/s):");
    println!("{:<18} {:>14} {:>14}", "program", "runs/conn", "ns/conn");
    let mut total = 0.0;
    for (name, (runs, nanos)) in &after {
        let (runs_before, nanos_before) = before.get(name).copied().unwrap_or_default();
        let per_connection = (nanos - nanos_before) as f64 / connections;
        total += per_connection;
        println!("{name:<18} {:>14.2} {per_connection:>14.0}", (runs - runs_before) as f64 / connections);
    }
    println!("{:<18} {:>14} {total:>14.0}", "all", "");
}

/// Every loaded program of the source by (id, name): its runs and nanoseconds run so far.
fn program_times() -> BTreeMap<(u32, String), (u64, u64)> {
    const OURS: [&str; 5] = ["on_syn", "on_synack_retra", "on_kfree_skb", "on_accept_fexit", "on_getpeername"];
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .filter_map(|info| {
            let name = info.name_as_str()?.to_string();
            OURS.iter()
                .any(|ours| name.starts_with(ours))
                .then(|| ((info.id(), name), (info.run_count(), info.run_time().as_nanos() as u64)))
        })
        .collect()
}

/// `ab` against the nginx for `seconds`: completed requests (one connection each) per second.
fn connections_per_second(netns: &TestNetns, seconds: u64) -> f64 {
    let limit = seconds.to_string();
    let output = netns
        .command(
            "taskset",
            &["-c", "0", "ab", "-q", "-c", "16", "-t", &limit, "-n", "50000000", "http://127.0.0.1:8080/"],
        )
        .stderr(Stdio::null())
        .output()
        .expect("ab runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text.lines().find_map(|line| {
        let rest = line.strip_prefix("Requests per second:")?;
        rest.split_whitespace().next()?.parse::<f64>().ok()
    });
    rate.unwrap_or_else(|| panic!("ab printed no rate: {text}"))
}

/// A `sockscope events` process, loaded and attached; killed when dropped.
struct Watcher {
    child: Child,
    stderr: Receiver<String>,
}

impl Watcher {
    fn start(sockscope: &str) -> Watcher {
        let mut child = Command::new(sockscope)
            .args(["events", "--format", "json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sockscope events starts");
        let stderr = child.stderr.take().expect("stderr");
        let (ready, first) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = ready.send(line);
            }
        });
        let line = first.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let watcher = Watcher { child, stderr: first };
        assert!(line.contains("watching listen events"), "sockscope events did not start: {line}");
        watcher
    }

    /// The CPU time (user and system) the process has used so far, in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
        let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name.
        // SAFETY: sysconf only reads a system constant.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
        (ticks(11) + ticks(12)) / per_second as f64
    }

    /// Ends it with SIGINT; the events it says found the ring buffer full.
    fn finish(mut self) -> u64 {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let mut lost = 0;
        while let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(500)) {
            if let Some((count, _)) = line.strip_prefix("sockscope: ").and_then(|rest| rest.split_once(" events found"))
            {
                lost += count.parse::<u64>().unwrap_or(0);
            }
        }
        lost
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}
