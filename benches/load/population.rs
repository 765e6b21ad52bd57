//! Populations of TCP sockets in a private network namespace, shaped like the hosts sockscope
//! is run on: (a) all established, (b) mostly TIME_WAIT, (c) a mix with full accept queues and
//! SYN_RECV entries.
//!
//! One process may hold at most 20,000 descriptors here (the hard RLIMIT_NOFILE), so established
//! pairs live in **holder processes** of at most 9,000 pairs: the benchmark binary re-executed
//! with `SOCKSCOPE_BENCH_HOLDER=pairs:N`, spawned from a thread that joined the namespace (the
//! child inherits it). A holder opens 4 listeners and N connections to them (both ends), prints
//! `ready`, and holds them until its standard input closes — which also happens when the
//! benchmark dies. Everything else (listeners, TIME_WAIT, full queues, SYN_RECV clients) lives in
//! the benchmark process itself. A benchmark that builds populations calls
//! [`serve_holder_if_asked`] first thing in `main`.
//!
//! TIME_WAIT sockets expire after 60 s, less than a long run takes; [`Population::top_up`]
//! makes new ones for those that expired, and the benchmarks call it before every command.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cleanup::{self, Made};
use super::{diag, in_netns, run};

/// Set in a holder process to `pairs:N`.
pub const HOLDER_ENV: &str = "SOCKSCOPE_BENCH_HOLDER";
const PAIRS_PER_HOLDER: usize = 9_000;
const HOLDER_LISTENERS: usize = 4;
const ORDINARY_LISTENERS: usize = 8;
/// Held pairs of population (b): 6 % of the sockets (6,000 at 100k, as `Load` holds).
const TIME_WAIT_HELD_PERCENT: usize = 6;
const TIME_WAIT_HELD_MAX: usize = 6_000;
const FULL_QUEUES: usize = 4;
const FULL_BACKLOG: i32 = 128;
/// A full accept queue holds one more than its backlog (the kernel refuses above `backlog`).
const FULL_QUEUE_LENGTH: usize = FULL_BACKLOG as usize + 1;
const DEFER_LISTENERS: usize = 2;
const DEFER_BACKLOG: i32 = 4096;
/// TCP_DEFER_ACCEPT: a request socket whose client sent only the ACK stays in SYN_RECV this
/// long. Ten minutes, because the requests become established children once it ends, and a
/// population is measured for longer than a minute.
const DEFER_SECONDS: libc::c_int = 600;
const SYN_RECV_MAX: usize = 2_000;
/// The largest shortfall of any state tolerated when the population is checked.
const SHORTFALL: f64 = 0.01;

/// The shape of a population.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// (a) N/2 loopback pairs, client and accepted ends, in holder processes.
    Established,
    /// (b) 8 listeners, a few thousand held pairs, the rest client-side TIME_WAIT.
    TimeWait,
    /// (c) established pairs and TIME_WAIT about evenly, ordinary listeners, listeners whose
    /// accept queues are full, and SYN_RECV entries on TCP_DEFER_ACCEPT listeners.
    Mix,
}

impl Kind {
    /// `a`, `b` or `c`.
    pub fn parse(letter: &str) -> Option<Kind> {
        match letter.trim() {
            "a" => Some(Kind::Established),
            "b" => Some(Kind::TimeWait),
            "c" => Some(Kind::Mix),
            _ => None,
        }
    }

    /// The population's letter and a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Established => "(a) all established",
            Kind::TimeWait => "(b) mostly TIME_WAIT",
            Kind::Mix => "(c) mix: established, TIME_WAIT, full queues, SYN_RECV",
        }
    }
}

/// How many sockets of each sort a population holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The pairs of each holder process (each also has 4 listeners).
    pub holders: Vec<usize>,
    /// Ordinary listeners in the benchmark process (the TIME_WAIT sockets' peers).
    pub listeners: usize,
    /// Pairs held by the benchmark process itself.
    pub local_pairs: usize,
    /// Client-side TIME_WAIT sockets.
    pub time_wait: usize,
    /// Listeners (backlog 128) whose accept queues are filled and never accepted.
    pub full_queues: usize,
    /// Clients of the TCP_DEFER_ACCEPT listeners that send nothing: each leaves a request
    /// socket in SYN_RECV.
    pub syn_recv: usize,
}

impl Plan {
    /// The plan for about `size` TCP sockets of `kind`.
    pub fn new(kind: Kind, size: usize) -> Plan {
        match kind {
            Kind::Established => {
                let holders = (size / 2).div_ceil(PAIRS_PER_HOLDER).max(1);
                let pairs = size.saturating_sub(HOLDER_LISTENERS * holders) / 2;
                Plan { holders: spread(pairs, holders), ..Plan::default() }
            }
            Kind::TimeWait => {
                let local_pairs = (size * TIME_WAIT_HELD_PERCENT / 100).min(TIME_WAIT_HELD_MAX);
                let time_wait = size.saturating_sub(ORDINARY_LISTENERS + 2 * local_pairs);
                Plan { listeners: ORDINARY_LISTENERS, local_pairs, time_wait, ..Plan::default() }
            }
            Kind::Mix => {
                let syn_recv = (size / 10).min(SYN_RECV_MAX);
                let fixed =
                    ORDINARY_LISTENERS + FULL_QUEUES * (1 + 2 * FULL_QUEUE_LENGTH) + DEFER_LISTENERS + 2 * syn_recv;
                let rest = size.saturating_sub(fixed);
                let holders = (rest / 4).div_ceil(PAIRS_PER_HOLDER).max(1);
                let pairs = (rest / 2).saturating_sub(HOLDER_LISTENERS * holders) / 2;
                let time_wait = rest.saturating_sub(2 * pairs + HOLDER_LISTENERS * holders);
                Plan {
                    holders: spread(pairs, holders),
                    listeners: ORDINARY_LISTENERS,
                    time_wait,
                    full_queues: FULL_QUEUES,
                    syn_recv,
                    ..Plan::default()
                }
            }
        }
    }

    /// The sockets `ss -tan` should count in each state, by its state names.
    pub fn expected(&self) -> BTreeMap<&'static str, usize> {
        let pairs: usize = self.holders.iter().sum::<usize>() + self.local_pairs;
        let defer = if self.syn_recv > 0 { DEFER_LISTENERS } else { 0 };
        let established = 2 * pairs + 2 * FULL_QUEUE_LENGTH * self.full_queues + self.syn_recv;
        let listening = HOLDER_LISTENERS * self.holders.len() + self.listeners + self.full_queues + defer;
        BTreeMap::from([
            ("ESTAB", established),
            ("LISTEN", listening),
            ("TIME-WAIT", self.time_wait),
            ("SYN-RECV", self.syn_recv),
        ])
    }
}

/// `total` split into `parts` shares differing by at most one.
fn spread(total: usize, parts: usize) -> Vec<usize> {
    (0..parts).map(|index| total / parts + usize::from(index < total % parts)).collect()
}

/// A network namespace made for a benchmark, deleted when dropped (or on SIGINT).
pub struct Netns {
    /// Its name under /run/netns.
    pub name: String,
}

impl Netns {
    /// `ip netns add`, loopback up, TIME_WAIT kept (no reuse, no bucket limit in reach) and a
    /// wide local port range, so that connect() stays fast with 200k ports in use.
    pub fn new(prefix: &str) -> Netns {
        let name = format!("{prefix}-{}", std::process::id());
        run(Command::new("ip").args(["netns", "add", &name]));
        cleanup::register(Made::Netns(name.clone()));
        let netns = Netns { name };
        run(Command::new("ip").args(["-n", &netns.name, "link", "set", "lo", "up"]));
        run(Command::new("ip").args([
            "netns",
            "exec",
            &netns.name,
            "sysctl",
            "-qw",
            "net.ipv4.tcp_tw_reuse=0",
            "net.ipv4.ip_local_port_range=1024 65535",
            "net.ipv4.tcp_max_tw_buckets=1000000",
        ]));
        netns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let made = Made::Netns(self.name.clone());
        cleanup::undo(&made);
        cleanup::release(&made);
    }
}

/// A holder process; killed and reaped when dropped.
struct Holder {
    child: Child,
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        cleanup::release(&Made::Process(self.child.id() as i32));
    }
}

/// The sockets the benchmark process holds itself.
#[derive(Default)]
struct Local {
    listeners: Arc<Vec<TcpListener>>,
    pairs: Vec<(TcpStream, TcpStream)>,
    full: Vec<(TcpListener, Vec<TcpStream>)>,
    deferred: Vec<TcpListener>,
    deferred_clients: Vec<TcpStream>,
}

/// A namespace holding a population; its holders, sockets and namespace go when it drops.
pub struct Population {
    /// Its shape.
    pub kind: Kind,
    /// What it was built to hold.
    pub plan: Plan,
    /// What `ss -tan` counted in each state once it was built.
    pub counted: BTreeMap<String, usize>,
    /// Listeners whose accept queue is longer than its backlog (`ss -ltn`).
    pub full_listeners: usize,
    // Dropped in this order: processes and sockets before the namespace.
    holders: Vec<Holder>,
    local: Local,
    netns: Netns,
}

impl Population {
    /// Builds `kind` with about `size` TCP sockets, checks it with `ss`, prints the counts, and
    /// panics if any state is short by more than 1 %.
    pub fn build(kind: Kind, size: usize) -> Population {
        raise_open_files_limit();
        let started = Instant::now();
        let plan = Plan::new(kind, size);
        let netns = Netns::new("sockscope-busy");
        let mut population = Population {
            kind,
            plan: plan.clone(),
            counted: BTreeMap::new(),
            full_listeners: 0,
            holders: Vec::new(),
            local: Local::default(),
            netns,
        };
        population.holders = spawn_holders(&population.netns.name, &plan.holders);
        let local_plan = plan.clone();
        population.local = in_netns(&population.netns.name, move || make_local(&local_plan));
        for holder in &mut population.holders {
            wait_ready(holder);
        }
        population.check(started.elapsed());
        population
    }

    /// The namespace's name under /run/netns.
    pub fn netns(&self) -> &str {
        &self.netns.name
    }

    /// The TCP sockets `ss -tan` counted when the population was built.
    pub fn total(&self) -> usize {
        self.counted.values().sum()
    }

    /// Replaces the TIME_WAIT sockets that expired since the population was built (they last
    /// 60 s); returns how many it made.
    pub fn top_up(&self) -> usize {
        if self.plan.time_wait == 0 {
            return 0;
        }
        let listeners = Arc::clone(&self.local.listeners);
        let wanted = self.plan.time_wait;
        in_netns(&self.netns.name, move || {
            let present = diag::count_tcp(diag::TIME_WAIT).expect("count TIME_WAIT sockets") as usize;
            make_time_wait(&listeners, wanted.saturating_sub(present))
        })
    }

    /// Counts the sockets by state with `ss -Htan` and the full queues with `ss -Hltn`, prints
    /// them, and fails loudly when the population is short.
    fn check(&mut self, took: Duration) {
        let netns = self.netns.name.clone();
        let (all, listening) = in_netns(&netns, || (ss(&["-Htan"]), ss(&["-Hltn"])));
        for line in all.lines() {
            if let Some(state) = line.split_whitespace().next() {
                *self.counted.entry(state.to_string()).or_default() += 1;
            }
        }
        self.full_listeners = listening.lines().filter(|line| queue_over_backlog(line)).count();
        let counts: Vec<String> = self.counted.iter().map(|(state, count)| format!("{state} {count}")).collect();
        println!(
            "population {} in {netns}: {} TCP sockets ({}), {} full accept queues, {} holder processes, built in {:.1}s",
            self.kind.describe(),
            self.total(),
            counts.join(", "),
            self.full_listeners,
            self.holders.len(),
            took.as_secs_f64()
        );
        for (state, expected) in self.plan.expected() {
            let counted = self.counted.get(state).copied().unwrap_or(0);
            assert!(
                counted as f64 >= expected as f64 * (1.0 - SHORTFALL),
                "population {}: {counted} sockets in {state}, {expected} planned (more than 1 % short)",
                self.kind.describe()
            );
        }
        assert!(self.full_listeners >= self.plan.full_queues, "only {} full accept queues", self.full_listeners);
    }
}

/// `ss` with these arguments in the calling thread's namespace: its output.
fn ss(args: &[&str]) -> String {
    let output = Command::new("ss").args(args).output().expect("run ss");
    assert!(output.status.success(), "ss {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Whether an `ss -Hltn` line shows a Recv-Q (queue length) above its Send-Q (backlog).
fn queue_over_backlog(line: &str) -> bool {
    let fields: Vec<u64> = line.split_whitespace().skip(1).take(2).filter_map(|field| field.parse().ok()).collect();
    matches!(fields[..], [queued, backlog] if queued > backlog)
}

/// Starts a holder for each share of pairs, from a thread inside the namespace.
fn spawn_holders(netns: &str, shares: &[usize]) -> Vec<Holder> {
    let exe = std::env::current_exe().expect("current_exe");
    let shares = shares.to_vec();
    in_netns(netns, move || {
        shares
            .iter()
            .map(|pairs| {
                let child = Command::new(&exe)
                    .env(HOLDER_ENV, format!("pairs:{pairs}"))
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .expect("spawn a holder process");
                cleanup::register(Made::Process(child.id() as i32));
                Holder { child }
            })
            .collect()
    })
}

/// Waits until a holder prints `ready`.
fn wait_ready(holder: &mut Holder) {
    let stdout = holder.child.stdout.take().expect("a holder's piped stdout");
    let ready = BufReader::new(stdout).lines().map_while(Result::ok).any(|line| line == "ready");
    assert!(ready, "holder {} exited before holding its sockets (see its message above)", holder.child.id());
}

/// The benchmark process's own share: listeners, held pairs, TIME_WAIT, full queues, SYN_RECV.
fn make_local(plan: &Plan) -> Local {
    let listeners: Vec<TcpListener> = (0..plan.listeners).map(|_| listener(128, None)).collect();
    let pairs = (0..plan.local_pairs).map(|index| pair(&listeners[index % listeners.len()])).collect();
    let made = make_time_wait(&listeners, plan.time_wait);
    assert_eq!(made, plan.time_wait, "made only {made} of {} TIME_WAIT sockets", plan.time_wait);
    let full = (0..plan.full_queues).map(|_| full_queue()).collect();
    let deferred: Vec<TcpListener> = (0..if plan.syn_recv > 0 { DEFER_LISTENERS } else { 0 })
        .map(|_| listener(DEFER_BACKLOG, Some(DEFER_SECONDS)))
        .collect();
    let deferred_clients = (0..plan.syn_recv)
        .map(|index| {
            TcpStream::connect(address(&deferred[index % deferred.len()])).expect("connect to a deferred listener")
        })
        .collect();
    Local { listeners: Arc::new(listeners), pairs, full, deferred, deferred_clients }
}

/// `count` client-side TIME_WAIT sockets: connect, accept, the client closes first. Returns how
/// many it made (fewer if connect fails, e.g. when ports run out).
fn make_time_wait(listeners: &[TcpListener], count: usize) -> usize {
    for index in 0..count {
        let listener = &listeners[index % listeners.len()];
        let Ok(client) = TcpStream::connect(address(listener)) else { return index };
        let Ok((accepted, _)) = listener.accept() else { return index };
        let _ = client.shutdown(std::net::Shutdown::Both);
        drop(client);
        drop(accepted);
    }
    count
}

/// A connection to `listener`: its client end and its accepted end.
fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
    let client = TcpStream::connect(address(listener)).expect("connect");
    let (accepted, _) = listener.accept().expect("accept");
    (client, accepted)
}

/// A listener with backlog 128 filled to its limit by clients it never accepts.
fn full_queue() -> (TcpListener, Vec<TcpStream>) {
    let listener = listener(FULL_BACKLOG, None);
    let target = address(&listener);
    let clients = (0..FULL_QUEUE_LENGTH)
        .map(|_| TcpStream::connect_timeout(&target, Duration::from_secs(5)).expect("connect to a filling queue"))
        .collect();
    (listener, clients)
}

/// A listener on a kernel-picked loopback port with this backlog, optionally TCP_DEFER_ACCEPT.
fn listener(backlog: i32, defer_seconds: Option<libc::c_int>) -> TcpListener {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    if let Some(seconds) = defer_seconds {
        // SAFETY: setsockopt on our own socket with an int option of the right size.
        let status = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_DEFER_ACCEPT,
                (&seconds as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(status, 0, "TCP_DEFER_ACCEPT: {}", std::io::Error::last_os_error());
    }
    socket.listen(backlog).expect("listen");
    socket.into()
}

fn address(listener: &TcpListener) -> SocketAddr {
    listener.local_addr().expect("a listener's address")
}

/// Raises the soft open-files limit to the hard one (20,000 here).
fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit};
    let limit = rustix::process::getrlimit(Resource::Nofile);
    rustix::process::setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum })
        .expect("raise RLIMIT_NOFILE to its hard limit");
}

/// In a holder process (`SOCKSCOPE_BENCH_HOLDER` set): builds its sockets, prints `ready`,
/// holds them until standard input closes, and exits. Otherwise returns at once.
pub fn serve_holder_if_asked() {
    let Ok(role) = std::env::var(HOLDER_ENV) else { return };
    let Some(pairs) = role.strip_prefix("pairs:").and_then(|count| count.parse::<usize>().ok()) else {
        eprintln!("holder: {HOLDER_ENV} must be pairs:N, not {role:?}");
        std::process::exit(2);
    };
    raise_open_files_limit();
    let listeners: Vec<TcpListener> = (0..HOLDER_LISTENERS).map(|_| listener(128, None)).collect();
    let held: Vec<(TcpStream, TcpStream)> = (0..pairs).map(|index| pair(&listeners[index % listeners.len()])).collect();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready").and_then(|()| stdout.flush()).expect("tell the benchmark it is ready");
    // Until the benchmark closes our stdin (or dies).
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    drop(held);
    std::process::exit(0);
}
