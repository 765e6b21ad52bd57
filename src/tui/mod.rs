//! The live dashboard. Three threads feed one channel — the collector (a sample per interval),
//! the input reader (keys, mouse, resizes) and the signal watcher ([`signals`]) — and the main
//! thread owns the state and the terminal: it blocks for an event, drains what else is queued,
//! applies it all, and draws once. Nothing on the main thread waits for the kernel.

pub mod app;
pub mod component;
pub mod filter;
pub mod keymap;
pub mod replay;
pub mod signals;
pub mod table;
pub mod terminal;
pub mod theme;
pub mod ui;
mod views;
pub mod widgets;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self as input, Event as InputEvent};

use crate::advise::Rules;
use crate::collect::SampleSource;
use crate::sample::CollectPlan;
use app::{App, Effect, Event, Settings};
use keymap::Keymap;
use terminal::{COLLECTOR_THREAD, Guard};
use theme::{Theme, ThemeName};

/// How the dashboard was asked to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time between samples.
    pub interval: Duration,
    /// The advisor's rules.
    pub rules: Rules,
    /// The keys in force.
    pub keymap: Keymap,
    /// Colours.
    pub theme: ThemeName,
    /// Capture the mouse.
    pub mouse: bool,
    /// Panic after this many frames (the tests' check that a crash restores the terminal).
    pub panic_after: Option<u64>,
    /// Start showing every namespace (the source watches all of them).
    pub all_namespaces: bool,
}

/// Messages from the main thread to the thread that feeds it samples.
#[derive(Debug, Clone, Copy)]
enum Control {
    Interval(Duration),
    Connections(bool),
    Replay(replay::Seek),
}

/// Runs the dashboard over `source` until the user quits or a signal ends it; returns the exit
/// status (0, or 128 + the signal number).
pub fn run(source: Box<dyn SampleSource + Send>, options: Options) -> std::io::Result<u8> {
    let interval = options.interval;
    run_fed(options, move |control, events| spawn_collector(source, interval, control, events))
}

/// Runs the dashboard over a recording, starting at round `start`, with the time controls.
pub fn replay(recording: crate::record::Recording, start: usize, options: Options) -> std::io::Result<u8> {
    let rules = options.rules.clone();
    run_fed(options, move |control, events| replay::spawn(recording, start, rules, control, events))
}

/// Runs the dashboard with the thread `feed` starts to send it samples.
fn run_fed(
    options: Options,
    feed: impl FnOnce(Receiver<Control>, Sender<Event>) -> std::io::Result<()>,
) -> std::io::Result<u8> {
    let settings = Settings {
        rules: options.rules.clone(),
        theme: Theme::named(options.theme),
        time_zone: jiff::tz::TimeZone::system(),
        keymap: options.keymap.clone(),
    };
    let mut app = App::new(settings, options.interval);
    app.mouse = options.mouse;
    app.raised = crate::capabilities::raised();
    if options.all_namespaces {
        app.scope = app::Scope::All;
    }
    let (events, inbox) = mpsc::channel();
    let (control, control_inbox) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    // Signals are watched before the terminal is taken, so none finds it raw with nobody to
    // put it back.
    let signals = signals::spawn(events.clone())?;
    let mut guard = Guard::enter(options.mouse).inspect_err(|_| signals.close())?;
    feed(control_inbox, events.clone())?;
    let input_done = spawn_input(events, stop.clone())?;
    let status = event_loop(&mut guard, &mut app, &inbox, &control, options.panic_after);
    // The input thread must be gone before the terminal is handed back, or it would swallow
    // what the user types at the shell prompt next. It notices `stop` within one poll; but when
    // the terminal itself is gone (SIGHUP) crossterm's read can spin without returning, so wait
    // a bounded time and let the process exit take the thread.
    stop.store(true, Ordering::Relaxed);
    let _ = input_done.recv_timeout(INPUT_POLL * 3);
    signals.close();
    drop(guard);
    status
}

fn event_loop(
    guard: &mut Guard,
    app: &mut App,
    inbox: &Receiver<Event>,
    control: &Sender<Control>,
    panic_after: Option<u64>,
) -> std::io::Result<u8> {
    let mut last_sample: Option<Instant> = None;
    guard.draw(|frame| ui::draw(frame, app))?;
    for frame in 1.. {
        if panic_after.is_some_and(|limit| frame > limit) {
            panic!("--panic-after: a requested crash after {limit} frames", limit = frame - 1);
        }
        let stale_after = app.interval * 2 + Duration::from_millis(250);
        // Wake up only to show STALE; once it shows, nothing changes until an event arrives.
        let timeout = match last_sample {
            Some(at) if !app.stale => stale_after.saturating_sub(at.elapsed()),
            _ => Duration::from_secs(3600),
        };
        let first = match inbox.recv_timeout(timeout.max(Duration::from_millis(50))) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(0),
        };
        let mut effects = Vec::new();
        for event in first.into_iter().chain(std::iter::from_fn(|| inbox.try_recv().ok())) {
            if matches!(event, Event::Round(_) | Event::Replayed(_)) {
                last_sample = Some(Instant::now());
            }
            effects.extend(app.handle(event));
        }
        app.stale = app.replay.is_none() && last_sample.is_some_and(|at| at.elapsed() > stale_after);
        for effect in effects {
            match effect {
                Effect::Exit(status) => return Ok(status),
                Effect::SetInterval(interval) => {
                    let _ = control.send(Control::Interval(interval));
                }
                Effect::CollectConnections(on) => {
                    let _ = control.send(Control::Connections(on));
                }
                Effect::Replay(seek) => {
                    let _ = control.send(Control::Replay(seek));
                }
                Effect::Mouse(on) => guard.set_mouse(on),
                Effect::Suspend => guard.suspend(app.mouse)?,
                Effect::Resume => guard.resume(app.mouse)?,
            }
        }
        guard.draw(|frame| ui::draw(frame, app))?;
    }
    Ok(0)
}

/// The collector thread: a sample per interval from `source`, sleeping the rest of the interval (overruns are
/// skipped, not queued); interval and connection-collection changes arrive on `control`.
fn spawn_collector(
    source: Box<dyn SampleSource + Send>,
    interval: Duration,
    control: Receiver<Control>,
    events: Sender<Event>,
) -> std::io::Result<()> {
    let report = events.clone();
    thread::Builder::new().name(COLLECTOR_THREAD.to_string()).spawn(move || {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect_forever(source, interval, &control, &events)
        }));
        if let Err(panic) = run {
            let reason = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            let _ = report.send(Event::CollectorStopped(format!("collector panicked: {reason}")));
        }
    })?;
    Ok(())
}

fn collect_forever(
    mut source: Box<dyn SampleSource + Send>,
    mut interval: Duration,
    control: &Receiver<Control>,
    events: &Sender<Event>,
) {
    loop {
        let started = Instant::now();
        let Some(round) = source.next_round() else {
            let _ = events.send(Event::CollectorStopped("the sample source has no more samples".to_string()));
            return;
        };
        if events.send(Event::Round(round)).is_err() {
            return;
        }
        loop {
            let deadline = started + interval;
            match control.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Control::Interval(next)) => interval = next,
                Ok(Control::Connections(on)) => {
                    source.set_plan(CollectPlan { connections: on, ..source.plan() });
                    if on {
                        break; // sample now, so the view fills without waiting an interval
                    }
                }
                Ok(Control::Replay(_)) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }
}

/// How long the input thread waits for input before it looks at the stop flag again.
const INPUT_POLL: Duration = Duration::from_millis(100);

/// The input thread: keys, mouse and resizes; polls so it notices the end of the dashboard. The
/// returned receiver disconnects when the thread has ended.
fn spawn_input(events: Sender<Event>, stop: Arc<AtomicBool>) -> std::io::Result<Receiver<()>> {
    let (done, input_done) = mpsc::channel::<()>();
    thread::Builder::new().name("sockscope-input".to_string()).spawn(move || {
        let _done = done;
        while !stop.load(Ordering::Relaxed) {
            match input::poll(INPUT_POLL) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(_) => return,
            }
            let event = match input::read() {
                Ok(InputEvent::Key(key)) => Event::Key(key),
                Ok(InputEvent::Mouse(mouse)) => Event::Mouse(mouse),
                Ok(InputEvent::Resize(_, _)) => Event::Resize,
                Ok(_) => continue,
                Err(_) => return,
            };
            if events.send(event).is_err() {
                return;
            }
        }
    })?;
    Ok(input_done)
}
