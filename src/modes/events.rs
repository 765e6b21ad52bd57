//! `sockscope events`: the listen-event source's events as they happen, one line each (aligned
//! text, or JSON lines), until SIGINT or SIGTERM, or until the reader of standard output goes
//! away.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::{Failure, Scope};
use crate::collect::host::listen_events::StreamedEvent;
use crate::collect::host::namespaces;
use crate::collect::{HostServices, ProcPaths, Target};
use crate::sample::listen_events::EventKind;

/// How `events` prints each event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EventsFormat {
    /// One aligned line per event.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Streams the events of `scope` in `format`; returns exit status 0 after a signal or a closed
/// pipe, or the failure when the source cannot run.
pub fn run(scope: &Scope, format: EventsFormat) -> Result<u8, Failure> {
    let paths = ProcPaths::live();
    let only = namespace_of(scope, &paths)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|error| Failure::runtime(format!("cannot watch signals: {error}")))?;
    }
    let services = HostServices::new(&paths).observing_listen_events();
    let source = match services.listen_event_source() {
        Some(Ok(source)) => source,
        Some(Err(reason)) => return Err(Failure::runtime(format!("listen events are unavailable: {reason}"))),
        None => return Err(Failure::runtime("listen events are unavailable")),
    };
    let events = source.subscribe();
    let watched = match only {
        Some(inode) => format!("{} (net:[{inode}])", describe(scope)),
        None => describe(scope),
    };
    eprintln!(
        "sockscope: watching listen events in {watched} (accept wait by {}); Ctrl-C ends",
        source.route().accept_wait
    );
    let mut names = Names { run_netns: paths.run_netns.clone(), known: HashMap::new() };
    let boot_to_wall = BootClock::now();
    let mut stdout = std::io::stdout().lock();
    while !stop.load(Ordering::Relaxed) {
        let streamed = match events.recv_timeout(Duration::from_millis(100)) {
            Ok(streamed) => streamed,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if only.is_some_and(|inode| inode != streamed.netns) {
            continue;
        }
        let line = Line::of(&streamed, boot_to_wall, names.of(streamed.netns));
        let text = match format {
            EventsFormat::Text => line.text(),
            EventsFormat::Json => serde_json::to_string(&line).unwrap_or_default(),
        };
        match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            Err(error) => return Err(Failure::runtime(format!("writing to standard output: {error}"))),
        }
    }
    let (lost, missed) = (source.lost_events(), source.missed_by_subscribers());
    if lost + missed > 0 {
        eprintln!(
            "sockscope: {lost} events found the ring buffer full and {missed} came faster than they were printed"
        );
    }
    Ok(0)
}

/// The namespace inode the scope restricts events to; `None` for `--all-netns`.
fn namespace_of(scope: &Scope, paths: &ProcPaths) -> Result<Option<u64>, Failure> {
    let target = match scope {
        Scope::All => return Ok(None),
        Scope::One(target) => target,
    };
    match target.check() {
        Ok(Some(inode)) => Ok(Some(inode)),
        Ok(None) => namespaces::namespace_inode(&paths.netns_link)
            .map(Some)
            .map_err(|error| Failure::runtime(format!("cannot identify this namespace: {error}"))),
        Err(error) => Err(super::target_failure(error)),
    }
}

/// The names `ip netns` gives namespaces, looked up once per namespace.
struct Names {
    run_netns: PathBuf,
    known: HashMap<u64, Option<String>>,
}

impl Names {
    fn of(&mut self, inode: u64) -> Option<String> {
        let run_netns = &self.run_netns;
        self.known.entry(inode).or_insert_with(|| namespaces::name_of(inode, run_netns)).clone()
    }
}

/// Converts `CLOCK_BOOTTIME` stamps to wall-clock time (as of when events started).
#[derive(Debug, Clone, Copy)]
struct BootClock {
    wall: jiff::Timestamp,
    boottime_ns: u64,
}

impl BootClock {
    fn now() -> BootClock {
        BootClock { wall: jiff::Timestamp::now(), boottime_ns: crate::collect::boottime_ns() }
    }

    fn wall(self, boottime_ns: u64) -> jiff::Timestamp {
        let offset = i64::try_from(boottime_ns).unwrap_or(i64::MAX) - i64::try_from(self.boottime_ns).unwrap_or(0);
        self.wall.checked_add(jiff::SignedDuration::from_nanos(offset)).unwrap_or(self.wall)
    }
}

/// One printed event. The JSON field names are stable.
#[derive(Debug, Serialize)]
struct Line {
    /// Wall-clock time, RFC 3339 with milliseconds.
    time: String,
    /// `CLOCK_BOOTTIME` in nanoseconds.
    boottime_ns: u64,
    /// `drop`, `syncookie`, `synack_retransmit` or `accepted`.
    kind: &'static str,
    /// For a drop, why (`DropReason::name`).
    reason: Option<&'static str>,
    /// Whether the kernel's decision is predicted rather than observed.
    predicted: bool,
    /// The namespace's inode.
    netns: u64,
    /// Its name under /run/netns, when it has one (sanitised).
    netns_name: Option<String>,
    /// The listener's bound `address:port`.
    listener: String,
    /// The listener's socket cookie, when known.
    listener_cookie: Option<u64>,
    /// The client's `address:port`.
    client: String,
    /// The client's port.
    client_port: u16,
    /// The address:port the client connected to.
    local: String,
    /// The accept queue's length and limit, and the SYN queue's length, at that moment.
    accept_queue: u32,
    accept_queue_max: u32,
    syn_queue: u32,
    /// For an accepted connection, its wait in the accept queue in milliseconds.
    wait_ms: Option<f64>,
    /// For a SYN-ACK retransmit, the attempt.
    retransmit: Option<u32>,
}

impl Line {
    fn of(streamed: &StreamedEvent, clock: BootClock, name: Option<String>) -> Line {
        let event = &streamed.event;
        let (kind, reason, predicted) = match event.kind {
            EventKind::Drop(reason) => ("drop", Some(reason.name()), reason.predicted()),
            EventKind::Syncookie => ("syncookie", None, true),
            EventKind::SynackRetransmit => ("synack_retransmit", None, false),
            EventKind::Accepted => ("accepted", None, false),
        };
        let time = clock.wall(event.boottime_ns).strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        Line {
            time,
            boottime_ns: event.boottime_ns,
            kind,
            reason,
            predicted,
            netns: streamed.netns,
            netns_name: name.map(crate::format::sanitize_owned),
            listener: crate::format::endpoint(streamed.listener.address, streamed.listener.port),
            listener_cookie: streamed.listener.cookie,
            client: crate::format::endpoint(event.client_address, event.client_port),
            client_port: event.client_port,
            local: crate::format::endpoint(event.local_address, event.local_port),
            accept_queue: event.accept_queue.0,
            accept_queue_max: event.accept_queue.1,
            syn_queue: event.syn_queue,
            wait_ms: matches!(event.kind, EventKind::Accepted).then(|| event.wait_ns as f64 / 1e6),
            retransmit: matches!(event.kind, EventKind::SynackRetransmit).then_some(event.retransmits),
        }
    }

    /// The aligned text line.
    fn text(&self) -> String {
        let what = match (self.reason, self.kind) {
            (Some(reason), _) => format!("drop {reason}"),
            (None, kind) => kind.to_string(),
        };
        let mark = if self.predicted { "predicted" } else { "observed" };
        let netns = match &self.netns_name {
            Some(name) => name.clone(),
            None => format!("net:[{}]", self.netns),
        };
        let detail = match (self.wait_ms, self.retransmit) {
            (Some(wait), _) => format!("waited {wait:.3} ms"),
            (_, Some(attempt)) => format!("attempt {attempt}"),
            _ => String::new(),
        };
        let line = format!(
            "{time:<24} {what:<32} {mark:<9} {netns:<20} {listener:<24} client {client:<46} acceptq {aq:>5}/{max:<5} synq {sq:>5} {detail}",
            time = self.time,
            listener = self.listener,
            client = self.client,
            aq = self.accept_queue,
            max = self.accept_queue_max,
            sq = self.syn_queue,
        );
        line.trim_end().to_string()
    }
}

/// What an `events` run watches, for its first line on stderr.
fn describe(scope: &Scope) -> String {
    match scope {
        Scope::All => "every namespace".to_string(),
        Scope::One(Target::Current) => "this namespace".to_string(),
        Scope::One(target) => crate::format::sanitize_owned(target.describe()),
    }
}
