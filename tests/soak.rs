//! The dashboard's model held for ten minutes (`SOCKSCOPE_SOAK_SECONDS`, 600 by default) at a
//! 100 ms interval under socket churn: a live source of a private network namespace feeds
//! `App::handle` a round per interval, every frame is drawn into a `TestBackend`, the views are
//! walked in turn (Connections and States make the collector keep every socket), while a thread
//! in that namespace opens and closes loopback connections at about 200 a second — CLOSE_WAIT
//! and TIME_WAIT sockets coming and going. The process's RSS and the history's length must stay
//! flat once the history has filled. Ignored by default (it takes the time it says); run it with
//! `cargo test --release --test soak -- --ignored --nocapture`.

mod common;

use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use sockscope::collect::{SampleSource, Target};
use sockscope::model::history::DEFAULT_CAPACITY;
use sockscope::modes::Scope;
use sockscope::sample::CollectPlan;
use sockscope::tui::app::{App, Effect, Event, Settings};
use sockscope::tui::ui;

/// The dashboard's fastest useful pace, as `--interval 100ms`.
const INTERVAL: Duration = Duration::from_millis(100);

/// Connections opened and closed per batch; a batch per [`CHURN_PERIOD`] makes 200 a second.
const CHURN_BATCH: usize = 20;
const CHURN_PERIOD: Duration = Duration::from_millis(100);

/// Accepted connections held in CLOSE_WAIT before they are closed.
const HELD: usize = 50;

/// How long each view is shown before the next, and how many views there are.
const VIEW_TIME: Duration = Duration::from_secs(5);
const VIEWS: usize = 8;

/// RSS growth allowed from the moment the history filled to the end: 10 % plus 2 MiB.
fn allowed_rss(after_fill_kib: u64) -> u64 {
    after_fill_kib + after_fill_kib / 10 + 2048
}

fn soak_seconds() -> u64 {
    let seconds = match std::env::var("SOCKSCOPE_SOAK_SECONDS") {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("SOCKSCOPE_SOAK_SECONDS={text:?} is not whole seconds")),
        Err(_) => 600,
    };
    // The history holds DEFAULT_CAPACITY points: it fills in a minute at 100 ms.
    assert!(
        seconds >= 120,
        "SOCKSCOPE_SOAK_SECONDS={seconds}: the history alone takes 60 s to fill; soak 120 s at least"
    );
    seconds
}

/// This process's resident set, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("VmRSS in /proc/self/status");
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB")
}

/// CPU time this process has used (user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let (_, rest) = stat.rsplit_once(')').expect("comm in parentheses");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    // SAFETY: sysconf only reads a configuration value.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
    Duration::from_millis(ticks * 1000 / hz)
}

/// Opens and closes connections to a listener in the namespace until `stop`: each client sends
/// its FIN at once (the accepted end sits in CLOSE_WAIT), and after [`HELD`] newer ones the pair
/// goes — most by a reset, one in ten by a normal close that leaves the client in TIME_WAIT.
/// Counts the connections in `made`.
fn churn(stop: &AtomicBool, made: &AtomicU64) {
    let server = TcpListener::bind("127.0.0.1:7500").expect("bind the churn listener");
    let mut held = std::collections::VecDeque::new();
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..CHURN_BATCH {
            let client = TcpStream::connect("127.0.0.1:7500").expect("connect");
            let (accepted, _) = server.accept().expect("accept");
            client.shutdown(Shutdown::Write).expect("client FIN");
            held.push_back((client, accepted));
            if held.len() > HELD {
                let (client, accepted) = held.pop_front().expect("held is not empty");
                if !made.load(Ordering::Relaxed).is_multiple_of(10) {
                    socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO)).expect("SO_LINGER 0");
                }
                drop(accepted);
                drop(client);
            }
            made.fetch_add(1, Ordering::Relaxed);
        }
        next += CHURN_PERIOD;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// The dashboard without its terminal: the app, its live source and a `TestBackend`.
struct Dashboard {
    app: App,
    source: Box<dyn SampleSource + Send>,
    terminal: Terminal<TestBackend>,
}

impl Dashboard {
    /// The dashboard over the namespace `netns`, as `sockscope --netns NAME --interval 100ms`.
    fn of(netns: &common::TestNetns) -> Dashboard {
        let target = Target::Netns { path: format!("/run/netns/{}", netns.name).into(), given: netns.name.clone() };
        let attribution = sockscope::collect::host::Attribution::Background;
        let source =
            sockscope::modes::open(&Scope::One(target), CollectPlan::default(), attribution).expect("a live source");
        let settings = Settings::plain();
        let terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
        Dashboard { app: App::new(settings, INTERVAL), source, terminal }
    }

    /// One interval: a round from the source, handled and drawn, as the event loop does.
    fn sample(&mut self) {
        let round = self.source.next_round().expect("a live source always has a round");
        self.handle(Event::Round(round));
        self.terminal.draw(|frame| ui::draw(frame, &mut self.app)).expect("draw");
    }

    /// The key of view `index` (from 0).
    fn show(&mut self, index: usize) {
        let key = char::from(b'1' + index as u8);
        self.handle(Event::Key(KeyEvent::new(KeyCode::Char(key), KeyModifiers::NONE)));
    }

    fn handle(&mut self, event: Event) {
        for effect in self.app.handle(event) {
            if let Effect::CollectConnections(on) = effect {
                self.source.set_plan(CollectPlan { connections: on, ..self.source.plan() });
            }
        }
    }
}

/// Starts [`churn`] on a thread in `netns`.
fn churn_in(netns: &common::TestNetns, stop: &Arc<AtomicBool>, made: &Arc<AtomicU64>) -> std::thread::JoinHandle<()> {
    let path = std::path::PathBuf::from(format!("/run/netns/{}", netns.name));
    let (stop, made) = (stop.clone(), made.clone());
    std::thread::spawn(move || {
        sockscope::collect::host::namespaces::in_namespace(&path, move || churn(&stop, &made))
            .expect("the churn thread joins the namespace")
    })
}

/// What the soak measured. RSS is compared at the same point of the walk through the views
/// (Connections and States keep a struct per socket while shown), once per round of all views.
#[derive(Debug, Default)]
struct Figures {
    start_rss: u64,
    /// RSS when the history first held its capacity.
    fill_rss: Option<u64>,
    /// Each round of all views that ended after the history filled: the RSS at its end and
    /// the highest RSS seen during it.
    rounds: Vec<(u64, u64)>,
    /// The highest RSS in the round of views going on.
    peak: u64,
    end_rss: u64,
    samples: u64,
    late: u64,
    filled_before_this_round: bool,
}

#[test]
#[ignore = "soak: 10+ minutes; run with cargo test --release --test soak -- --ignored --nocapture"]
fn the_dashboard_model_stays_flat_for_ten_minutes_at_100ms_under_churn() {
    common::require_root();
    let seconds = soak_seconds();
    let netns = common::TestNetns::new();
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let churner = churn_in(&netns, &stop, &made);
    // A full accept queue as well, so the advisor has findings to keep.
    let (_full, _waiting) = netns.enter(|| {
        let full = common::listener("127.0.0.1:7501", 4);
        (full, common::connect_many("127.0.0.1:7501".parse().expect("address"), 6))
    });
    let mut dashboard = Dashboard::of(&netns);
    let mut figures = Figures { start_rss: rss_kib(), ..Figures::default() };
    let (started, cpu_started) = (Instant::now(), cpu_time());
    let (mut next, mut view) = (started, 0);
    while started.elapsed() < Duration::from_secs(seconds) {
        dashboard.sample();
        figures.samples += 1;
        let shown = (started.elapsed().as_millis() / VIEW_TIME.as_millis()) as usize % VIEWS;
        if shown != view {
            if shown == 0 {
                figures.end_of_a_round_of_views();
            }
            view = shown;
            dashboard.show(view);
        }
        figures.measure(&dashboard.app);
        next += INTERVAL;
        match next.checked_duration_since(Instant::now()) {
            Some(wait) => std::thread::sleep(wait),
            None => {
                figures.late += 1;
                next = Instant::now(); // skipped, not queued, as the collector does
            }
        }
    }
    let (wall, cpu) = (started.elapsed(), cpu_time() - cpu_started);
    stop.store(true, Ordering::Relaxed);
    churner.join().expect("the churn thread ends");
    figures.end_rss = rss_kib();
    report(&figures, &dashboard.app, wall, cpu, made.load(Ordering::Relaxed));

    assert_eq!(dashboard.app.history().len(), DEFAULT_CAPACITY, "the history stays at its capacity");
    // Against the lowest of the earlier rounds, so that one busy round early on cannot hide growth.
    let Some((last, earlier)) = figures.rounds.split_last().filter(|(_, earlier)| !earlier.is_empty()) else {
        panic!("fewer than two rounds of the views after the history filled: {figures:?}")
    };
    let end = earlier.iter().map(|round| round.0).min().unwrap_or_default();
    let peak = earlier.iter().map(|round| round.1).min().unwrap_or_default();
    assert!(last.0 <= allowed_rss(end), "RSS grew from {end} to {} KiB: {figures:?}", last.0);
    assert!(last.1 <= allowed_rss(peak), "RSS peaks grew from {peak} to {} KiB: {figures:?}", last.1);
    let due = wall.as_millis() as u64 / INTERVAL.as_millis() as u64;
    assert!(figures.samples >= due * 8 / 10, "{} samples of {due} due: {figures:?}", figures.samples);
}

impl Figures {
    /// Notes the history filling, and the RSS peak of the round of views going on.
    fn measure(&mut self, app: &App) {
        let length = app.history().len();
        assert!(length <= DEFAULT_CAPACITY, "the history holds {length} points");
        if self.fill_rss.is_none() && length == DEFAULT_CAPACITY {
            self.fill_rss = Some(rss_kib());
        }
        if self.samples.is_multiple_of(5) {
            self.peak = self.peak.max(rss_kib());
        }
    }

    /// A round of all views ended: keep its figures when the history was full all round, and
    /// start the next.
    fn end_of_a_round_of_views(&mut self) {
        if self.filled_before_this_round {
            self.rounds.push((rss_kib(), self.peak));
        }
        self.filled_before_this_round = self.fill_rss.is_some();
        self.peak = 0;
    }
}

fn report(figures: &Figures, app: &App, wall: Duration, cpu: Duration, made: u64) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "soak: {:.0} s, {} samples ({} late), history {} points, {} connections churned ({:.0}/s)",
        wall.as_secs_f64(),
        figures.samples,
        figures.late,
        app.history().len(),
        made,
        made as f64 / wall.as_secs_f64()
    );
    let rounds: Vec<String> =
        figures.rounds.iter().map(|(end, peak)| format!("{:.1}/{:.1}", mib(*end), mib(*peak))).collect();
    println!(
        "soak: RSS start {:.1} MiB, when the history filled {:.1} MiB, end {:.1} MiB",
        mib(figures.start_rss),
        mib(figures.fill_rss.unwrap_or_default()),
        mib(figures.end_rss)
    );
    println!("soak: RSS at the end/peak of each 40 s round of the views, MiB: {}", rounds.join(" "));
    println!(
        "soak: CPU {:.1} s over {:.0} s = {:.1} % of one core (sampling, drawing and the churn together)",
        cpu.as_secs_f64(),
        wall.as_secs_f64(),
        100.0 * cpu.as_secs_f64() / wall.as_secs_f64()
    );
}
