//! Shared helpers for tests that run against the real kernel: private network namespaces,
//! real sockets on loopback, and running `sockscope`, `ss`, `ip` and `nstat` inside them.
//!
//! Tests that need root (network namespaces, sysctl changes, `setns`, `/dev/kmsg`) carry
//! `#[cfg_attr(sockscope_unprivileged, ignore = "needs root: ...")]` and call [`require_root`]
//! first. `build.rs` sets the `sockscope_unprivileged` cfg when the package is built by a user
//! other than root and `CI` is not `true`, so that libtest itself reports those tests as
//! ignored, with the reason (`cargo test -- --ignored --list` lists them). Built as root, or
//! with `CI=true`, they are not ignored, and [`require_root`] fails them when they then run
//! without root: a test that needs root never passes having done nothing. The cfg is decided
//! when the package is built; after switching users outside CI, `touch build.rs` decides it
//! again.
#![allow(dead_code)]

pub mod nginx;

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// The sockscope binary built for these tests.
pub const SOCKSCOPE: &str = env!("CARGO_BIN_EXE_sockscope");

/// Whether the tests run as root (namespaces and sysctl changes need it).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Fails the calling test unless it runs as root. Tests that call it are marked ignored when
/// built without root outside CI (see the module documentation), so this fires only when the
/// build and the run disagree: built as root or with `CI=true`, then run by another user.
pub fn require_root() {
    let uid = rustix::process::geteuid().as_raw();
    assert!(
        uid == 0,
        "this test needs root but runs as uid {uid}; it is not marked ignored because the tests \
         were built as root or with CI=true. Run them as root, or (outside CI) rebuild them as \
         this user (`touch build.rs`) so that libtest reports them as ignored"
    );
}

/// A network namespace created for one test and deleted when dropped.
pub struct TestNetns {
    /// Its name under /run/netns.
    pub name: String,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl TestNetns {
    /// Creates a namespace with loopback up. Needs root.
    pub fn new() -> TestNetns {
        let name = format!("sockscope-t{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let netns = TestNetns { name };
        netns.ip(&["link", "set", "lo", "up"]);
        netns
    }

    /// Runs `ip -n <name> ARGS`, panicking on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut command = Command::new("ip");
        command.args(["-n", &self.name]).args(args);
        run_ok(&mut command)
    }

    /// A command that runs `program ARGS` inside the namespace.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]).args(args);
        command
    }

    /// Runs `program ARGS` inside the namespace and returns its stdout, panicking on failure.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        run_ok(&mut self.command(program, args))
    }

    /// Runs `f` on a thread that has joined the namespace; sockets it creates live there.
    pub fn enter<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = std::path::PathBuf::from(format!("/run/netns/{}", self.name));
        sockscope::collect::host::namespaces::in_namespace(&path, f)
            .unwrap_or_else(|error| panic!("running in namespace {}: {error}", path.display()))
    }

    /// `sockscope report --format json` (plus `extra` arguments) inside the namespace.
    pub fn report_json(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["report", "--format", "json"];
        args.extend_from_slice(extra);
        let text = self.run(SOCKSCOPE, &args);
        serde_json::from_str(&text).expect("sockscope prints valid JSON")
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

/// Runs a command, panicking with its stderr when it fails; returns stdout.
pub fn run_ok(command: &mut Command) -> String {
    let output: Output = command.output().expect("spawn command");
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// `sockscope report --format json` on the host.
pub fn host_report_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["report", "--format", "json"];
    args.extend_from_slice(extra);
    let text = run_ok(Command::new(SOCKSCOPE).args(&args));
    serde_json::from_str(&text).expect("sockscope prints valid JSON")
}

/// A server on `address` that accepted `count` connections whose clients then hung up, and that
/// never closes its ends: `count` sockets in CLOSE_WAIT until the returned value is dropped.
/// Call it on a thread inside the namespace under test.
pub fn close_wait_leak(address: &str, count: usize) -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    use std::net::{Shutdown, TcpListener, TcpStream};
    let server = TcpListener::bind(address).expect("bind");
    let accepted = (0..count)
        .map(|_| {
            let client = TcpStream::connect(address).expect("connect");
            let (accepted, _) = server.accept().expect("accept");
            client.shutdown(Shutdown::Both).expect("client hangs up");
            accepted
        })
        .collect();
    (server, accepted)
}

/// A TCP listener with an explicit `listen()` backlog, bound to `address` (port 0 = any).
pub fn listener(address: &str, backlog: i32) -> Socket {
    let address: SocketAddr = address.parse().expect("socket address");
    let socket = Socket::new(Domain::for_address(address), Type::STREAM, Some(Protocol::TCP)).expect("socket");
    socket.set_reuse_address(true).expect("SO_REUSEADDR");
    socket.bind(&SockAddr::from(address)).expect("bind");
    socket.listen(backlog).expect("listen");
    socket
}

/// Sets TCP_DEFER_ACCEPT: the listener ignores bare final ACKs, so handshakes stay half-open
/// (SYN_RECV) until the client sends data.
pub fn defer_accept(socket: &Socket, seconds: i32) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket descriptor and a pointer to an int of the size given.
    let status = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            (&seconds as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    assert_eq!(status, 0, "setsockopt(TCP_DEFER_ACCEPT)");
}

/// The local address of a socket.
pub fn local_addr(socket: &Socket) -> SocketAddr {
    socket.local_addr().expect("local address").as_socket().expect("inet address")
}

/// Starts `count` non-blocking connections to `target` and returns the client sockets.
pub fn connect_many(target: SocketAddr, count: usize) -> Vec<Socket> {
    (0..count)
        .map(|_| {
            let socket = Socket::new(Domain::for_address(target), Type::STREAM, Some(Protocol::TCP)).expect("socket");
            socket.set_nonblocking(true).expect("non-blocking");
            match socket.connect(&SockAddr::from(target)) {
                Ok(()) => {}
                Err(error) if error.raw_os_error() == Some(libc_einprogress()) => {}
                Err(error) => panic!("connect: {error}"),
            }
            socket
        })
        .collect()
}

fn libc_einprogress() -> i32 {
    rustix::io::Errno::INPROGRESS.raw_os_error()
}

/// Polls `check` every 20 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// One line of `ss -Hltn` (or `-Hlxn`, `-Huan`): Recv-Q, Send-Q and the local address column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsLine {
    /// State column.
    pub state: String,
    /// Recv-Q.
    pub recv_q: u64,
    /// Send-Q.
    pub send_q: u64,
    /// Local address:port as ss prints it.
    pub local: String,
    /// Peer column.
    pub peer: String,
}

/// Parses `ss -H...` output whose columns start with State, Recv-Q, Send-Q, Local, Peer.
pub fn parse_ss(text: &str) -> Vec<SsLine> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            Some(SsLine {
                state: words.first()?.to_string(),
                recv_q: words.get(1)?.parse().ok()?,
                send_q: words.get(2)?.parse().ok()?,
                local: words.get(3)?.to_string(),
                peer: words.get(4)?.to_string(),
            })
        })
        .collect()
}

/// `address:port` as ss prints a listener from the JSON report: `[::1]:80`, `0.0.0.0:80`,
/// `[::]:80` for a v6-only wildcard and `*:80` for a dual-stack one.
pub fn ss_endpoint(listener: &serde_json::Value) -> String {
    let address = listener["local_address"].as_str().expect("local_address");
    let port = listener["local_port"].as_u64().expect("local_port");
    match (listener["family"].as_str(), address, listener["v6only"].as_bool()) {
        (Some("ipv6"), "::", Some(false)) => format!("*:{port}"),
        (Some("ipv6"), _, _) => format!("[{address}]:{port}"),
        _ => format!("{address}:{port}"),
    }
}

/// Counts of `ss -Htan` lines per state name as sockscope names them.
pub fn ss_state_counts(text: &str) -> std::collections::BTreeMap<String, u64> {
    let mut counts = std::collections::BTreeMap::new();
    for line in parse_ss(text) {
        let name = match line.state.as_str() {
            "ESTAB" => "ESTABLISHED",
            "SYN-SENT" => "SYN_SENT",
            "SYN-RECV" => "SYN_RECV",
            "FIN-WAIT-1" => "FIN_WAIT1",
            "FIN-WAIT-2" => "FIN_WAIT2",
            "TIME-WAIT" => "TIME_WAIT",
            "UNCONN" | "CLOSE" => "CLOSE",
            "CLOSE-WAIT" => "CLOSE_WAIT",
            "LAST-ACK" => "LAST_ACK",
            "LISTEN" => "LISTEN",
            "CLOSING" => "CLOSING",
            other => panic!("unknown ss state {other}"),
        };
        *counts.entry(name.to_string()).or_insert(0) += 1;
    }
    counts
}

/// The inode of the namespace `ip netns` calls `name`, as `stat -L -c %i /run/netns/NAME` gives it.
pub fn netns_inode(name: &str) -> u64 {
    let text = run_ok(Command::new("stat").args(["-L", "-c", "%i", &format!("/run/netns/{name}")]));
    text.trim().parse().unwrap_or_else(|_| panic!("stat printed {text:?} for /run/netns/{name}"))
}

/// The inode of the test process's own network namespace (the host's, for these tests).
pub fn own_netns_inode() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/net").expect("stat /proc/self/ns/net").ino()
}

/// Whether process `pid` exists and is not a zombie.
pub fn process_runs(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')))
}

/// Runs `sockscope ARGS` in a shell wrapper that then prints `EXIT=<status>` and whether the
/// terminal was left raw (`RAW=on`/`RAW=off`), as the terminal tests do.
pub fn dashboard_script(args: &str) -> String {
    format!(
        "{SOCKSCOPE} {args}; echo EXIT=$?; if stty -a | grep -q -- -icanon; then echo RAW=on; else echo RAW=off; fi"
    )
}

/// A private tmux server (no user configuration) running sockscope in a shell wrapper, for
/// tests of the dashboard in a real terminal; killed when dropped. The same as the one in
/// tests/terminal.rs, shared here for the other test files.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `sockscope ARGS` in a `width`x`height` window.
    pub fn start(test: &str, args: &str, width: u16, height: u16) -> Tmux {
        Tmux::start_command(test, &["sh", "-c", &format!("{}; exec sleep 600", dashboard_script(args))], width, height)
    }

    /// Starts `command` in a `width`x`height` window; fails the test when tmux cannot run.
    pub fn start_command(test: &str, command: &[&str], width: u16, height: u16) -> Tmux {
        let runs = Command::new("tmux").arg("-V").output().is_ok_and(|output| output.status.success());
        assert!(
            runs,
            "{test}: this test needs tmux, and `tmux -V` cannot run; it is not marked ignored because \
             tmux ran when the tests were built, or CI=true. Install tmux, or (outside CI) rebuild \
             the tests without it (`touch build.rs`) so that libtest reports them as ignored"
        );
        let socket = format!("sockscope-test-{}-{test}", std::process::id());
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", &width.to_string(), "-y"])
            .arg(height.to_string())
            .args(command)
            .env_remove("NO_COLOR")
            .status()
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    /// Runs `tmux -L <socket> ARGS` and returns its stdout.
    pub fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux").args(["-L", &self.socket]).args(args).output().expect("tmux runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The pane's text now.
    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// Sends keys, as `tmux send-keys` names them.
    pub fn keys(&self, keys: &[&str]) {
        self.tmux(&[&["send-keys"][..], keys].concat());
    }

    /// Waits (10 s at most) until the screen contains every one of `texts`; returns the screen.
    pub fn wait_for(&self, texts: &[&str]) -> String {
        self.wait_until(Duration::from_secs(10), &format!("the screen never showed {texts:?}"), |screen| {
            texts.iter().all(|text| screen.contains(text))
        })
    }

    /// Waits (`timeout` at most) until `check` holds for the screen; returns that screen, or
    /// fails the test with `what` and the last screen.
    pub fn wait_until(&self, timeout: Duration, what: &str, mut check: impl FnMut(&str) -> bool) -> String {
        let mut screen = String::new();
        let found = wait_until(timeout, || {
            screen = self.screen();
            check(&screen)
        });
        assert!(found, "{what}:\n{screen}");
        screen
    }

    /// The pid of sockscope, the wrapper shell's child (`None` before it starts or after it ends).
    pub fn sockscope_pid(&self) -> Option<u32> {
        let shell = self.tmux(&["display", "-p", "#{pane_pid}"]).trim().to_string();
        let output = Command::new("pgrep").args(["-P", &shell]).output().expect("pgrep runs");
        String::from_utf8_lossy(&output.stdout).lines().next().and_then(|line| line.trim().parse().ok())
    }

    /// `alternate_on cursor_flag` of the pane: `0 1` once the terminal is restored.
    pub fn terminal_modes(&self) -> String {
        self.tmux(&["display", "-p", "#{alternate_on} #{cursor_flag}"]).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}
