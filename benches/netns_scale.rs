//! Cost of `sockscope --all-netns report` over 50 network namespaces against `--netns` over one,
//! and against `ss -tan`, in the same run.
//!
//! Builds 50 namespaces, `sockscope-bench-0` to `sockscope-bench-49`, each with loopback up, 3
//! listeners and 20 established connections (40 ESTABLISHED sockets, both ends held by this
//! process: the sockets whose `tcp_info` sockscope asks for), made on a thread that joined the
//! namespace. Then times, alternating, RUNS times each: `sockscope --all-netns report --format
//! json` and `sockscope --netns sockscope-bench-0 report --format json`, both with and without
//! `--no-processes`, `ss -tan` in one namespace (forked from a thread inside it, and through `ip
//! netns exec`), and `ss -tan` through `ip netns exec` in each of the 50 namespaces one after
//! the other (what a shell loop over `ip netns list` costs). Prints medians of wall and CPU time
//! (the child's user + system time, from wait4), the ratio of all 50 to one, and ratios against
//! `ss -tan`. The namespaces are deleted at the end, also when the benchmark fails.
//!
//! `--all-netns` reads every namespace in use on the machine, so the host's (and any other
//! namespace that exists at the time) is counted too; the count is printed.
//!
//! Needs root: without it the benchmark prints one line on stderr and exits with status 2,
//! having measured nothing.
//!
//! Run: `cargo bench --bench netns_scale` (release build of sockscope is used).

mod load;

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use load::{build_release, in_netns, median, run};

const NAMESPACES: usize = 50;
const LISTENERS: usize = 3;
const PAIRS: usize = 20;
const RUNS: usize = 15;
/// Runs of the 50-namespace `ss` loop, which spawns 100 processes each time.
const LOOP_RUNS: usize = 5;
const PREFIX: &str = "sockscope-bench-";

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("netns_scale: not run: the benchmark needs root (it creates {NAMESPACES} network namespaces)");
        std::process::exit(2);
    }
    let names: Vec<String> = (0..NAMESPACES).map(|i| format!("{PREFIX}{i}")).collect();
    if let Some(taken) = names.iter().find(|name| Path::new("/run/netns").join(name).exists()) {
        eprintln!(
            "netns_scale: not run: /run/netns/{taken} already exists (left by an interrupted run? \
             `ip netns del` the sockscope-bench-N namespaces)"
        );
        std::process::exit(2);
    }
    let started = Instant::now();
    let sockscope = build_release();
    println!("release build ready in {:.1}s", started.elapsed().as_secs_f64());

    let started = Instant::now();
    let namespaces = Namespaces::new(&names);
    println!(
        "{NAMESPACES} namespaces with {LISTENERS} listeners and {PAIRS} connections each built in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let first = names[0].clone();
    let measured = Instant::now();
    let found = check_reports(&sockscope, &names);
    println!("--all-netns finds {found} namespaces ({NAMESPACES} of the benchmark, the host's, any others)");

    let argv = |args: &[&str]| -> Vec<String> { args.iter().map(|arg| arg.to_string()).collect() };
    let s = sockscope.as_str();
    // (label, argv, run inside the first namespace)
    let commands: Vec<(String, Vec<String>, bool)> = vec![
        ("ss -tan (inside one namespace)".into(), argv(&["ss", "-tan"]), true),
        (format!("ip netns exec {first} ss -tan"), argv(&["ip", "netns", "exec", &first, "ss", "-tan"]), false),
        (
            format!("sockscope --netns {first} --no-processes"),
            argv(&[s, "--netns", &first, "report", "--format", "json", "--no-processes"]),
            false,
        ),
        (
            format!("sockscope --all-netns --no-processes ({found})"),
            argv(&[s, "--all-netns", "report", "--format", "json", "--no-processes"]),
            false,
        ),
        (format!("sockscope --netns {first}"), argv(&[s, "--netns", &first, "report", "--format", "json"]), false),
        (format!("sockscope --all-netns ({found})"), argv(&[s, "--all-netns", "report", "--format", "json"]), false),
    ];
    let mut results = vec![Vec::new(); commands.len()];
    for _ in 0..RUNS {
        for (index, (_, argv, inside)) in commands.iter().enumerate() {
            let measure = if *inside {
                let argv = argv.clone();
                in_netns(&first, move || measure(&argv))
            } else {
                measure(argv)
            };
            results[index].push(measure);
        }
    }
    let loop_label = format!("ip netns exec ... ss -tan, x{NAMESPACES}");
    let loop_runs: Vec<Measure> = (0..LOOP_RUNS)
        .map(|_| {
            let mut total = Measure { wall: Duration::ZERO, cpu: Duration::ZERO };
            for name in &names {
                let one = measure(&argv(&["ip", "netns", "exec", name, "ss", "-tan"]));
                total.wall += one.wall;
                total.cpu += one.cpu;
            }
            total
        })
        .collect();

    let wall = |measures: &[Measure]| median(measures.iter().map(|m| m.wall.as_secs_f64()).collect());
    let cpu = |measures: &[Measure]| median(measures.iter().map(|m| m.cpu.as_secs_f64()).collect());
    let baseline = wall(&results[0]);
    println!("\n{:<52} {:>10} {:>10} {:>16}", "command", "wall ms", "cpu ms", "wall vs ss -tan");
    let rows = commands.iter().map(|(label, _, _)| label.as_str()).zip(results.iter().map(Vec::as_slice));
    for (label, measures) in rows.chain(std::iter::once((loop_label.as_str(), loop_runs.as_slice()))) {
        let (w, c) = (wall(measures), cpu(measures));
        println!("{label:<52} {:>10.1} {:>10.1} {:>15.1}x", w * 1e3, c * 1e3, w / baseline);
    }
    let ratio =
        |all: usize, one: usize| (wall(&results[all]) / wall(&results[one]), cpu(&results[all]) / cpu(&results[one]));
    let (quick_wall, quick_cpu) = ratio(3, 2);
    let (full_wall, full_cpu) = ratio(5, 4);
    println!(
        "\nall {found} namespaces / one namespace: {quick_wall:.1}x wall, {quick_cpu:.1}x CPU with --no-processes; \
         {full_wall:.1}x wall, {full_cpu:.1}x CPU with processes"
    );
    println!("sockscope --all-netns --no-processes / {loop_label}: {:.2}x wall", wall(&results[3]) / wall(&loop_runs));
    println!(
        "medians of {RUNS} alternating runs ({LOOP_RUNS} for the loop); measured in {:.1}s",
        measured.elapsed().as_secs_f64()
    );
    drop(namespaces);
}

/// Runs the two reports once and checks that they show what was built; returns how many
/// namespaces `--all-netns` found.
fn check_reports(sockscope: &str, names: &[String]) -> usize {
    let json = |args: &[&str]| -> serde_json::Value {
        let output = Command::new(sockscope).args(args).output().expect("run sockscope");
        assert!(output.status.success(), "sockscope {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).expect("JSON")
    };
    let established = |report: &serde_json::Value| report["tcp_states"]["ESTABLISHED"].as_u64();
    let tcp_listeners = |report: &serde_json::Value| {
        report["listeners"].as_array().map(|all| all.iter().filter(|l| l["protocol"] == "tcp").count())
    };
    let one = json(&["--netns", &names[0], "report", "--format", "json", "--no-processes"]);
    assert_eq!(tcp_listeners(&one), Some(LISTENERS), "listeners of {}", names[0]);
    assert_eq!(established(&one), Some(2 * PAIRS as u64), "ESTABLISHED sockets of {}", names[0]);
    let all = json(&["--all-netns", "report", "--format", "json", "--no-processes"]);
    let namespaces = all["namespaces"].as_array().expect("namespaces");
    for name in names {
        let entry = namespaces
            .iter()
            .find(|entry| entry["netns"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("--all-netns does not list {name}"));
        assert_eq!(entry["state"], "live", "{name}: {}", entry["reason"]);
        assert_eq!(tcp_listeners(&entry["report"]), Some(LISTENERS), "listeners of {name}");
        assert_eq!(established(&entry["report"]), Some(2 * PAIRS as u64), "ESTABLISHED sockets of {name}");
    }
    namespaces.len()
}

/// One namespace's sockets: its listeners and its connections (both ends).
type Sockets = (Vec<TcpListener>, Vec<(TcpStream, TcpStream)>);

/// The benchmark's namespaces and their sockets; all deleted when dropped.
struct Namespaces {
    names: Vec<String>,
    sockets: Vec<Sockets>,
}

impl Namespaces {
    fn new(names: &[String]) -> Namespaces {
        let mut namespaces = Namespaces { names: Vec::new(), sockets: Vec::new() };
        for name in names {
            run(Command::new("ip").args(["netns", "add", name]));
            namespaces.names.push(name.clone());
            run(Command::new("ip").args(["-n", name, "link", "set", "lo", "up"]));
            namespaces.sockets.push(in_netns(name, make_sockets));
        }
        namespaces
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        self.sockets.clear();
        for name in &self.names {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// Listeners and established connections, made on a thread inside the namespace.
fn make_sockets() -> Sockets {
    let listeners: Vec<TcpListener> = (0..LISTENERS).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    let pairs = (0..PAIRS)
        .map(|i| {
            let listener = &listeners[i % LISTENERS];
            let client = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
            let (accepted, _) = listener.accept().expect("accept");
            (client, accepted)
        })
        .collect();
    (listeners, pairs)
}

#[derive(Clone, Copy)]
struct Measure {
    wall: Duration,
    cpu: Duration,
}

/// Runs a command with stdout discarded; returns its wall time and CPU time (wait4).
// The child is reaped by wait4 below (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(argv: &[String]) -> Measure {
    let started = Instant::now();
    let child = Command::new(&argv[0]).args(&argv[1..]).stdout(Stdio::null()).spawn().expect("spawn");
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: waiting for our own child with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid);
    assert!(std::process::ExitStatus::from_raw(status).success(), "{argv:?} failed");
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    Measure { wall, cpu }
}

fn timeval(value: libc::timeval) -> Duration {
    Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
}
