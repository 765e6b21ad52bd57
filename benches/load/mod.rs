//! The load the benchmarks measure against: a private network namespace holding a given number
//! of TCP sockets (8 listeners, up to 6,000 held connections, the rest client-side TIME_WAIT
//! sockets, which need no file descriptor), and the helpers to run things inside it. The
//! populations of `busy_host` (established pairs in holder processes, mixes) are in
//! [`population`], the floor's bare dump in [`diag`], timing a command in [`measure`], and what
//! an interrupted run must undo in [`cleanup`].
#![allow(dead_code)]

pub mod cleanup;
pub mod diag;
pub mod measure;
pub mod population;

use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Command;

const LISTENERS: usize = 8;
const HELD: usize = 6_000;

/// The listeners and the held connections (both ends).
pub type Sockets = (Vec<TcpListener>, Vec<(TcpStream, TcpStream)>);

/// A namespace full of sockets; deleted (and its sockets closed) when dropped.
pub struct Load {
    /// The namespace's name under /run/netns.
    pub netns: String,
    sockets: Option<Sockets>,
}

impl Load {
    /// Builds the namespace and `target` sockets (SOCKSCOPE_BENCH_SOCKETS overrides it).
    pub fn new(name: &str, target: usize) -> Load {
        let target = std::env::var("SOCKSCOPE_BENCH_SOCKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(target);
        let netns = format!("{name}-{}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &netns]));
        run(Command::new("ip").args(["-n", &netns, "link", "set", "lo", "up"]));
        // Loopback connects would otherwise recycle TIME_WAIT ports (tcp_tw_reuse = 2) and the
        // TIME_WAIT population would stop growing; a wide port range keeps connect() fast while
        // 100k client ports sit in TIME_WAIT.
        run(Command::new("ip").args([
            "netns",
            "exec",
            &netns,
            "sysctl",
            "-qw",
            "net.ipv4.tcp_tw_reuse=0",
            "net.ipv4.ip_local_port_range=1024 65535",
        ]));
        let sockets = in_netns(&netns, move || make_sockets(target));
        Load { netns, sockets: Some(sockets) }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        drop(self.sockets.take());
        let _ = Command::new("ip").args(["netns", "del", &self.netns]).status();
    }
}

/// Listeners and held connections; the rest closed by the client so they sit in TIME_WAIT.
pub fn make_sockets(target: usize) -> Sockets {
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

/// The median of some values.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// TCP sockets in the namespace, as `ss -Htan` counts them.
pub fn socket_count(netns: &str) -> usize {
    let output = Command::new("ip").args(["netns", "exec", netns, "ss", "-Htan"]).output().expect("ss");
    output.stdout.iter().filter(|b| **b == b'\n').count()
}

/// Runs `f` on a thread inside the namespace (children it spawns inherit it).
pub fn in_netns<T: Send + 'static>(netns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = std::path::PathBuf::from(format!("/run/netns/{netns}"));
    sockscope::collect::host::namespaces::in_namespace(&path, f)
        .unwrap_or_else(|error| panic!("running in namespace {}: {error}", path.display()))
}

/// Builds the release binary and returns its path.
pub fn build_release() -> String {
    run(Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--bin", "sockscope"])
        .current_dir(env!("CARGO_MANIFEST_DIR")));
    format!("{}/target/release/sockscope", env!("CARGO_MANIFEST_DIR"))
}

/// Runs a command, failing the benchmark if it fails.
pub fn run(command: &mut Command) {
    let status = command.status().expect("spawn");
    assert!(status.success(), "{command:?} failed");
}
