//! What the listen-event source (eBPF) costs the traffic it watches: a loopback nginx in a
//! private namespace under `ab` (new connection per request, bounded: SOCKSCOPE_BENCH_SECONDS
//! per run, default 10, concurrency 16), alternating runs without and with a `sockscope events`
//! process loaded, SOCKSCOPE_BENCH_RUNS pairs (default 3). Prints each run's connections per
//! second, the medians, the throughput loss in percent, the cost in µs per connection
//! (1/with − 1/without), and the events the ring buffer had no room for.
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
//! Run: `cargo bench --bench listen_events_cost`.

#[path = "../tests/common/mod.rs"]
mod common;
mod load;

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

    println!("{:<8} {:>14} {:>14}", "run", "without conn/s", "with conn/s");
    let (mut without, mut with, mut lost) = (Vec::new(), Vec::new(), 0);
    for run in 1..=runs {
        let plain = connections_per_second(&netns, seconds);
        let watcher = Watcher::start(&sockscope);
        let watched = connections_per_second(&netns, seconds);
        lost += watcher.finish();
        println!("{run:<8} {plain:>14.0} {watched:>14.0}");
        without.push(plain);
        with.push(watched);
    }
    let (without, with) = (median(without), median(with));
    let loss = (without - with) / without * 100.0;
    let micros = 1e6 / with - 1e6 / without;
    println!("\nmedian: {without:.0} conn/s without, {with:.0} with the source loaded");
    println!("throughput loss {loss:.2} %, {micros:.2} µs per connection, ring-buffer losses {lost}");
    drop(nginx);
}

/// `ab` against the nginx for `seconds`: completed requests (one connection each) per second.
fn connections_per_second(netns: &TestNetns, seconds: u64) -> f64 {
    let limit = seconds.to_string();
    let output = netns
        .command("ab", &["-q", "-c", "16", "-t", &limit, "-n", "50000000", "http://127.0.0.1:8080/"])
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
