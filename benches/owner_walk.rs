//! Cost of attributing sockets to their processes at scale: sockscope's hand-written walk of
//! `/proc/<pid>/fd` (rustix `readlinkat` into a reused buffer) against the same walk written
//! with procfs 0.18 (`all_processes`, `Process::fd`, `Process::stat`, `Process::limits`).
//!
//! The benchmark re-executes itself as CHILDREN processes that each hold an equal share of
//! SOCKSCOPE_BENCH_SOCKETS UNIX sockets (socketpairs; default 102,000, so 17,000 descriptors per
//! child, under a per-process open-files limit of 20,000) and print their inodes. Then it times
//! both walks, alternating, from a fresh index (no cache), for two wanted sets: 1,000 inodes
//! spread over the children (listener attribution) and every inode (the Connections view).
//! Both compute the same owner map, which is checked; the medians and procfs/hand-written ratios
//! are printed. Needs no root, only a hard RLIMIT_NOFILE above the share per child.
//!
//! Run: `cargo bench --bench owner_walk`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use procfs::ProcError;
use procfs::process::{FDTarget, LimitValue, Process};
use rustix::process::{Resource, Rlimit, Signal};
use rustix::time::ClockId;
use sockscope::collect::host::processes::{ProcessIndex, Wanted};
use sockscope::sample::{ProcessRef, ProcessTable};

/// Set in a child to the number of sockets it holds.
const CHILD_ENV: &str = "SOCKSCOPE_OWNER_WALK_CHILD";
const CHILDREN: usize = 6;
const DEFAULT_SOCKETS: usize = 102_000;
const ROUNDS: usize = 7;
const SAMPLE: usize = 1_000;

fn main() {
    if let Some(count) = std::env::var(CHILD_ENV).ok().and_then(|value| value.parse().ok()) {
        hold_sockets(count);
    }
    let total = std::env::var("SOCKSCOPE_BENCH_SOCKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_SOCKETS);
    let per_child = total / CHILDREN / 2 * 2;
    let started = Instant::now();
    let mut children = Children(Vec::new());
    let inodes = children.spawn(per_child);
    let sockets = inodes.len();
    println!(
        "{sockets} sockets in {CHILDREN} processes ({per_child} each), ready in {:.1}s; {} processes in /proc",
        started.elapsed().as_secs_f64(),
        procfs::process::all_processes().map(Iterator::count).unwrap_or(0),
    );
    let step = (sockets / SAMPLE).max(1);
    let sample: Vec<u64> = inodes.iter().step_by(step).copied().take(SAMPLE).collect();
    println!("\n{:<20} {:^29}   {:^29}", "", "wall ms", "CPU ms");
    println!(
        "{:<20} {:>10} {:>10} {:>7}   {:>10} {:>10} {:>7}",
        "wanted", "hand", "procfs", "ratio", "hand", "procfs", "ratio"
    );
    for (label, wanted) in [(format!("{} inodes", sample.len()), &sample), (format!("all {sockets} inodes"), &inodes)] {
        let (hand, with_procfs) = compare(wanted);
        let wall = (median(&hand, |t| t.wall), median(&with_procfs, |t| t.wall));
        let cpu = (median(&hand, |t| t.cpu), median(&with_procfs, |t| t.cpu));
        println!(
            "{label:<20} {:>10.1} {:>10.1} {:>6.2}x   {:>10.1} {:>10.1} {:>6.2}x",
            wall.0 * 1e3,
            wall.1 * 1e3,
            wall.1 / wall.0,
            cpu.0 * 1e3,
            cpu.1 * 1e3,
            cpu.1 / cpu.0
        );
        let fastest = (min(&hand, |t| t.wall), min(&with_procfs, |t| t.wall));
        println!(
            "{:<20} {:>10.1} {:>10.1} {:>6.2}x",
            "  fastest",
            fastest.0 * 1e3,
            fastest.1 * 1e3,
            fastest.1 / fastest.0
        );
    }
    println!(
        "\nmedians of {ROUNDS} alternating rounds, each walk from a fresh index (no cache); ratio = procfs / hand-written"
    );
    drop(children);
}

/// The wall-clock and CPU time (this thread's, user and system) of one walk, in seconds.
#[derive(Clone, Copy)]
struct Timing {
    wall: f64,
    cpu: f64,
}

/// Times both walks `ROUNDS` times, alternating, and checks they agree.
fn compare(wanted: &[u64]) -> (Vec<Timing>, Vec<Timing>) {
    let (mut hand, mut with_procfs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (first, first_time) = timed(|| hand_written(wanted));
        let (second, second_time) = timed(|| procfs_walk(wanted));
        hand.push(first_time);
        with_procfs.push(second_time);
        assert_eq!(first.owners.len(), wanted.len(), "round {round}: hand-written walk missed sockets");
        assert_eq!(first.owners, second.owners, "round {round}: the walks disagree on owners");
        assert_eq!(first.open_files_limit, second.open_files_limit, "round {round}: the walks disagree on limits");
    }
    (hand, with_procfs)
}

fn timed<T>(walk: impl FnOnce() -> T) -> (T, Timing) {
    let cpu_started = thread_cpu();
    let started = Instant::now();
    let result = walk();
    let wall = started.elapsed().as_secs_f64();
    (result, Timing { wall, cpu: thread_cpu() - cpu_started })
}

fn thread_cpu() -> f64 {
    let now = rustix::time::clock_gettime(ClockId::ThreadCPUTime);
    now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9
}

/// sockscope's walk, as `Host` runs it, from an empty cache.
fn hand_written(wanted: &[u64]) -> ProcessTable {
    let wanted: Vec<Wanted> = wanted.iter().map(|inode| Wanted { inode: *inode, uid: None, listens: false }).collect();
    ProcessIndex::new(Path::new("/proc")).attribute(&wanted).expect("walk /proc")
}

/// The same owner map and limits through procfs 0.18. Like the hand-written walk: every fd of
/// every process, the stat of each owning process (name, start time), the limits of each owner.
fn procfs_walk(wanted: &[u64]) -> ProcessTable {
    let wanted: HashSet<u64> = wanted.iter().copied().collect();
    let mut table = ProcessTable::default();
    let mut start_times = BTreeMap::new();
    for process in procfs::process::all_processes().expect("read /proc") {
        let Ok(process) = process else {
            table.vanished += 1;
            continue;
        };
        let found = match wanted_sockets(&process, &wanted) {
            Ok(found) => found,
            Err(ProcError::NotFound(_)) => {
                table.vanished += 1;
                continue;
            }
            Err(_) => {
                table.denied += 1;
                continue;
            }
        };
        table.scanned += 1;
        if found.is_empty() {
            continue;
        }
        let Ok(stat) = process.stat() else {
            table.vanished += 1;
            continue;
        };
        let owner = ProcessRef { pid: process.pid.unsigned_abs(), command: stat.comm };
        start_times.insert(owner.pid, stat.starttime);
        if let Ok(limits) = process.limits()
            && let LimitValue::Value(limit) = limits.max_open_files.soft_limit
        {
            table.open_files_limit.insert(owner.pid, limit);
        }
        for inode in found {
            let owners = table.owners.entry(inode).or_default();
            owners.push(owner.clone());
            owners.sort();
        }
    }
    table
}

/// The wanted socket inodes among a process's descriptors, deduplicated as sockscope does.
fn wanted_sockets(process: &Process, wanted: &HashSet<u64>) -> Result<Vec<u64>, ProcError> {
    let mut found = Vec::new();
    for fd in process.fd()? {
        let Ok(fd) = fd else { continue };
        if let FDTarget::Socket(inode) = fd.target
            && wanted.contains(&inode)
            && !found.contains(&inode)
        {
            found.push(inode);
        }
    }
    Ok(found)
}

/// The socket-holding children; killed and reaped when dropped, also when the benchmark panics.
struct Children(Vec<Child>);

impl Children {
    /// Starts the children, each holding `count` sockets, and waits until all are ready: the
    /// inodes of all their sockets, sorted.
    fn spawn(&mut self, count: usize) -> Vec<u64> {
        let exe = std::env::current_exe().expect("current_exe");
        for _ in 0..CHILDREN {
            let child = Command::new(&exe)
                .env(CHILD_ENV, count.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .expect("spawn a socket-holding child");
            self.0.push(child);
        }
        let mut inodes = Vec::with_capacity(count * CHILDREN);
        for child in &mut self.0 {
            let stdout = child.stdout.take().expect("piped stdout");
            let mut ready = false;
            for line in BufReader::new(stdout).lines() {
                let line = line.expect("read a child's inodes");
                if line == "ready" {
                    ready = true;
                    break;
                }
                inodes.push(line.parse::<u64>().expect("an inode"));
            }
            assert!(ready, "child {} exited before holding its sockets", child.id());
        }
        inodes.sort_unstable();
        inodes
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The child: holds `count` sockets (socketpairs), prints their inodes and "ready", and sleeps
/// until killed (or until the benchmark dies: PR_SET_PDEATHSIG).
fn hold_sockets(count: usize) -> ! {
    let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
    let limit = rustix::process::getrlimit(Resource::Nofile);
    rustix::process::setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum })
        .expect("raise RLIMIT_NOFILE to its hard limit");
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut held = Vec::with_capacity(count / 2);
    for _ in 0..count / 2 {
        let (one, other) = UnixStream::pair().expect("socketpair (is the hard RLIMIT_NOFILE high enough?)");
        for end in [&one, &other] {
            let inode = rustix::fs::fstat(end.as_fd()).expect("fstat a socket").st_ino;
            writeln!(out, "{inode}").expect("write an inode");
        }
        held.push((one, other));
    }
    writeln!(out, "ready").expect("write ready");
    out.flush().expect("flush");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn median(timings: &[Timing], field: fn(&Timing) -> f64) -> f64 {
    let mut sorted: Vec<f64> = timings.iter().map(field).collect();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn min(timings: &[Timing], field: fn(&Timing) -> f64) -> f64 {
    timings.iter().map(field).fold(f64::INFINITY, f64::min)
}
