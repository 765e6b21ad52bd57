//! Responsiveness of the dashboard over 100,000 TCP sockets, against `ss -tan` on the same sockets
//! in the same run.
//!
//! Builds the namespace of `load` (SOCKSCOPE_BENCH_SOCKETS sockets, default 100,000), runs the
//! release binary in a 160x48 tmux window inside it, and measures, by polling the screen with
//! `tmux capture-pane`: the first screen, switching views, opening Connections (which makes the
//! collector keep every socket), paging through it, filtering and sorting it, and the CPU and
//! memory the dashboard uses while it sits on a view. Key latencies include the polling itself
//! (a tmux call is a few milliseconds).
//!
//! With SOCKSCOPE_BENCH_DASHBOARD=budget it measures instead what the dashboard costs left open
//! on a busy host, and how fast it answers keys at a short interval:
//! - **budget**: population (a) of `busy_host` (all established, in holder processes;
//!   SOCKSCOPE_BENCH_SOCKETS sockets, default 100,000), the dashboard at `--interval 1s` on the
//!   Overview (extra arguments from SOCKSCOPE_BENCH_DASHBOARD_ARGS, e.g. `--budget 5%`), its
//!   utime+stime from /proc/PID/stat over SOCKSCOPE_BENCH_SECONDS (default 60) as a share of
//!   one core, its peak RSS (VmHWM), and whether the header shows how old its numbers are
//!   (the text SOCKSCOPE_BENCH_AGE_TEXT, default `ago`);
//! - **responsiveness**: a namespace with 1,000 listeners, the dashboard at `--interval 100ms`,
//!   20 view switches sent one at a time, each timed from the key to the switched screen, with
//!   the median and the maximum against the frame time (100 ms).
//!
//! Needs root and tmux: without either the benchmark prints one line on stderr and exits with
//! status 2, having measured nothing.
//!
//! Run: `cargo bench --bench dashboard`, or
//! `SOCKSCOPE_BENCH_DASHBOARD=budget cargo bench --bench dashboard`.

mod load;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use load::cleanup::{self, Made};
use load::population::{Kind, Netns, Population, serve_holder_if_asked};
use load::{Load, build_release, in_netns, median, socket_count};

const WIDTH: &str = "160";
const HEIGHT: &str = "48";

fn main() {
    serve_holder_if_asked();
    if !rustix::process::geteuid().is_root() {
        eprintln!("dashboard: not run: the benchmark needs root (it builds a network namespace)");
        std::process::exit(2);
    }
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("dashboard: not run: the benchmark needs tmux");
        std::process::exit(2);
    }
    let budget = match std::env::var("SOCKSCOPE_BENCH_DASHBOARD").as_deref() {
        Err(_) => false,
        Ok("budget") => true,
        Ok(other) => {
            eprintln!("dashboard: not run: SOCKSCOPE_BENCH_DASHBOARD is `budget` or unset, not {other:?}");
            std::process::exit(2);
        }
    };
    let sockscope = build_release();
    if budget {
        measure_budget(&sockscope);
        measure_responsiveness(&sockscope);
        return;
    }
    let load = Load::new("sockscope-dashboard-bench", 100_000);
    let netns = load.netns.clone();
    println!("namespace {netns}: {} TCP sockets (ss -tan)", socket_count(&netns));
    let ss = in_netns(&netns, || {
        median((0..7).map(|_| seconds(|| Command::new("ss").arg("-tan").stdout(Stdio::null()).status())).collect())
    });
    let tmux = Tmux::start(&netns, &sockscope, &[]);
    let mut rows: Vec<(String, f64)> = Vec::new();
    rows.push(("first screen after start".into(), tmux.wait(tmux.started, |screen| screen.contains("somaxconn"), "")));
    let switches: Vec<f64> = (0..10)
        .flat_map(|_| [tmux.key_until("2", "Listeners ("), tmux.key_until("1", "Listeners by accept-queue fill")])
        .collect();
    rows.push(("switch Overview <-> Listeners (median of 20)".into(), median(switches)));
    rows.push(("open Connections until its rows show".into(), tmux.key_until("3", "Sockets (1")));
    let pages: Vec<f64> = (0..20).map(|_| tmux.key_until_changed("PageDown")).collect();
    rows.push(("page down in Connections (median of 20)".into(), median(pages)));
    let moves: Vec<f64> = (0..20).map(|_| tmux.key_until_changed("k")).collect();
    rows.push(("move up one row in Connections (median of 20)".into(), median(moves)));
    tmux.keys(&["/"]);
    for c in "state:established".chars() {
        tmux.keys(&[&c.to_string()]);
    }
    rows.push(("apply filter state:established".into(), tmux.key_until("Enter", " of ")));
    rows.push(("sort Connections by local port".into(), tmux.key_until("s", "local▼")));
    let (cpu_connections, rss_connections) = tmux.usage(Duration::from_secs(10));
    tmux.keys(&["Escape"]);
    tmux.key_until("1", "Listeners by accept-queue fill");
    std::thread::sleep(Duration::from_secs(2));
    let (cpu_overview, rss_overview) = tmux.usage(Duration::from_secs(10));
    tmux.keys(&["q"]);

    println!("\n`ss -tan` on the same sockets: {:.1} ms (median of 7)\n", ss * 1000.0);
    println!("{:<48} {:>10} {:>12}", "dashboard (160x48, 1 s interval)", "ms", "vs ss -tan");
    for (name, value) in &rows {
        println!("{name:<48} {:>10.1} {:>11.2}x", value * 1000.0, value / ss);
    }
    println!("\n{:<48} {:>10} {:>12}", "while sitting on a view for 10 s", "CPU", "RSS");
    println!("{:<48} {:>9.1}% {:>9.1}MiB", "Overview (counts only)", cpu_overview * 100.0, rss_overview);
    println!("{:<48} {:>9.1}% {:>9.1}MiB", "Connections (every socket kept)", cpu_connections * 100.0, rss_connections);
    drop(tmux);
    drop(load);
}

/// The dashboard at `--interval 1s` on the Overview over population (a): CPU share, peak RSS,
/// and the age of its numbers in the header.
fn measure_budget(sockscope: &str) {
    let size = std::env::var("SOCKSCOPE_BENCH_SOCKETS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let seconds = std::env::var("SOCKSCOPE_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let extra = std::env::var("SOCKSCOPE_BENCH_DASHBOARD_ARGS").unwrap_or_default();
    let age_text = std::env::var("SOCKSCOPE_BENCH_AGE_TEXT").unwrap_or_else(|_| "ago".into());
    let population = Population::build(Kind::Established, size);
    let args: Vec<&str> = ["--interval", "1s"].into_iter().chain(extra.split_whitespace()).collect();
    let tmux = Tmux::start(population.netns(), sockscope, &args);
    tmux.wait(tmux.started, |screen| screen.contains("somaxconn"), "the Overview");
    // Past start-up (the first full walk, the history filling) before the average starts.
    std::thread::sleep(Duration::from_secs(3));
    let (cpu, _) = tmux.usage(Duration::from_secs(seconds));
    let peak = tmux.peak_rss_mib();
    let screen = tmux.screen();
    let header: Vec<&str> = screen.lines().take(2).collect();
    let age = header.iter().find(|line| line.contains(&age_text));
    tmux.keys(&["q"]);
    println!("\ndashboard {} over {} TCP sockets, Overview, {seconds} s:", args.join(" "), population.total());
    println!("{:<48} {:>9.1}% (target <= 5 %)", "CPU, average share of one core", cpu * 100.0);
    println!("{:<48} {:>8.1}MiB (target <= 64 MiB)", "peak RSS (VmHWM)", peak);
    match age {
        Some(line) => println!("{:<48} shown: {}", "age of the numbers in the header", line.trim()),
        None => {
            println!("{:<48} NOT shown (no {age_text:?} in the header):\n{}", "age of the numbers", header.join("\n"))
        }
    }
}

/// Key to switched view at `--interval 100ms` with 1,000 listeners.
fn measure_responsiveness(sockscope: &str) {
    const LISTENERS: usize = 1_000;
    const FRAME: f64 = 0.1;
    let netns = Netns::new("sockscope-responsive");
    let listeners: Vec<TcpListener> = in_netns(&netns.name, || {
        (0..LISTENERS).map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a listener")).collect()
    });
    let tmux = Tmux::start(&netns.name, sockscope, &["--interval", "100ms"]);
    tmux.wait(tmux.started, |screen| screen.contains("somaxconn"), "the Overview");
    let switches: Vec<f64> = (0..10)
        .flat_map(|_| [tmux.key_until("2", "Listeners ("), tmux.key_until("1", "Listeners by accept-queue fill")])
        .collect();
    tmux.keys(&["q"]);
    let slowest = switches.iter().copied().fold(0.0, f64::max);
    let typical = median(switches.clone());
    println!("\ndashboard --interval 100ms, {LISTENERS} listeners: key to switched view, {} switches", switches.len());
    println!("{:<48} {:>10} {:>12}", "", "ms", "vs frame");
    println!("{:<48} {:>10.1} {:>11.2}x", "median", typical * 1000.0, typical / FRAME);
    println!("{:<48} {:>10.1} {:>11.2}x", "slowest", slowest * 1000.0, slowest / FRAME);
    println!("(target: every key answered within one frame, {:.0} ms)", FRAME * 1000.0);
    drop(tmux);
    drop(listeners);
}

fn seconds<T>(f: impl FnOnce() -> T) -> f64 {
    let started = Instant::now();
    let _ = f();
    started.elapsed().as_secs_f64()
}

/// A private tmux server running the dashboard inside the namespace.
struct Tmux {
    socket: String,
    started: Instant,
}

impl Tmux {
    fn start(netns: &str, sockscope: &str, args: &[&str]) -> Tmux {
        let socket = format!("sockscope-bench-{}-{netns}", std::process::id());
        let started = Instant::now();
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-x", WIDTH, "-y", HEIGHT])
            .arg(format!("ip netns exec {netns} {sockscope} {}", args.join(" ")))
            .status()
            .expect("tmux");
        assert!(status.success());
        cleanup::register(Made::Tmux(socket.clone()));
        Tmux { socket, started }
    }

    /// The dashboard's process id (`ip netns exec` usually execs in place).
    fn pid(&self) -> String {
        let shell = self.tmux(&["display", "-p", "#{pane_pid}"]).trim().to_string();
        process_named(&shell, "sockscope").unwrap_or(shell)
    }

    /// The dashboard's peak resident set so far (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status_kib(&status, "VmHWM:") / 1024.0
    }

    fn tmux(&self, args: &[&str]) -> String {
        let output = Command::new("tmux").args(["-L", &self.socket]).args(args).output().expect("tmux");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn keys(&self, keys: &[&str]) {
        self.tmux(&[&["send-keys"][..], keys].concat());
    }

    /// Seconds since `since` until `done` holds for the screen (60 s at most).
    fn wait(&self, since: Instant, done: impl Fn(&str) -> bool, what: &str) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return since.elapsed().as_secs_f64();
            }
            assert!(Instant::now() < deadline, "the screen never showed {what}:\n{screen}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Seconds from sending `key` until the screen shows `text`.
    fn key_until(&self, key: &str, text: &str) -> f64 {
        let sent = Instant::now();
        self.keys(&[key]);
        self.wait(sent, |screen| screen.contains(text), text)
    }

    /// Seconds from sending `key` until the screen changes (ignoring the clock line).
    fn key_until_changed(&self, key: &str) -> f64 {
        let body = |screen: &str| screen.lines().skip(2).collect::<Vec<_>>().join("\n");
        let before = body(&self.screen());
        let sent = Instant::now();
        self.keys(&[key]);
        self.wait(sent, |screen| body(screen) != before, key)
    }

    /// The dashboard's CPU share and resident memory (MiB) over `period`.
    fn usage(&self, period: Duration) -> (f64, f64) {
        let pid = self.pid();
        let ticks = || -> f64 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let fields: Vec<&str> =
                stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
            let field = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
            field(11) + field(12)
        };
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let (start, started) = (ticks(), Instant::now());
        std::thread::sleep(period);
        let cpu = (ticks() - start) / hz / started.elapsed().as_secs_f64();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        (cpu, status_kib(&status, "VmRSS:") / 1024.0)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let made = Made::Tmux(self.socket.clone());
        cleanup::undo(&made);
        cleanup::release(&made);
    }
}

/// A `/proc/PID/status` field in KiB (`VmRSS:`, `VmHWM:`); 0 when absent.
fn status_kib(status: &str, field: &str) -> f64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// The pid of `name` among the descendants of `ancestor` (`ip netns exec` execs in place, so
/// it is usually the pane's own process).
fn process_named(ancestor: &str, name: &str) -> Option<String> {
    let comm = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if comm(ancestor).trim() == name {
        return Some(ancestor.to_string());
    }
    let output = Command::new("pgrep").args(["-P", ancestor]).output().ok()?;
    String::from_utf8_lossy(&output.stdout).lines().find_map(|child| process_named(child.trim(), name))
}
