//! `sockscope record`: rounds of samples from the live source, every `--interval`, appended
//! to a recording until `--count`, `--duration`, a full file with `--when-full stop`, or a
//! signal (SIGTERM, SIGINT, SIGHUP), which finishes the chunk being written first.

use std::sync::mpsc;
use std::time::Instant;

use super::{Failure, Scope, next};
use crate::cli::RecordArgs;
use crate::collect::{Observed, SampleSource, Target};
use crate::record::format::{FORMAT_NAME, FORMAT_VERSION};
use crate::record::{Appended, Header, Limits, ROUNDS_PER_CHUNK, Recorder};

/// Runs the recorder over `source`; exit status 0 when it stopped as asked.
pub fn run(args: &RecordArgs, scope: &Scope, source: &mut dyn SampleSource) -> Result<u8, Failure> {
    let header = header(args, scope, source);
    let limits = Limits {
        max_size: args.max_size,
        when_full: args.when_full,
        keep: usize::from(args.keep),
        rounds_per_chunk: ROUNDS_PER_CHUNK,
    };
    let mut recorder = Recorder::open(&args.output, header, limits).map_err(super::recorded::failure)?;
    let stop = signals()?;
    let ends_at = args.duration.map(|duration| Instant::now() + duration);
    let mut taken = 0u64;
    let outcome = loop {
        let started = Instant::now();
        let round = next(source)?;
        if let Some(reason) = gone(scope, &round) {
            break Err(Failure::runtime(reason));
        }
        match recorder.append(&round) {
            Ok(Appended::Full) => break Ok(()),
            Ok(Appended::Written | Appended::Rotated) => {}
            Err(error) => break Err(super::recorded::failure(error)),
        }
        taken += 1;
        if args.count.is_some_and(|count| taken >= count) {
            break Ok(());
        }
        let mut wake = started + args.interval;
        if let Some(end) = ends_at {
            if Instant::now() >= end {
                break Ok(());
            }
            wake = wake.min(end);
        }
        if stop.recv_timeout(wake.saturating_duration_since(Instant::now())).is_ok() {
            break Ok(());
        }
    };
    let finished = recorder.finish().map_err(super::recorded::failure);
    outcome.and(finished).map(|()| 0)
}

/// The header of a new file: the scope, the interval and the plan, as given.
fn header(args: &RecordArgs, scope: &Scope, source: &dyn SampleSource) -> Header {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|name| name.trim().to_string());
    Header {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        sockscope: env!("CARGO_PKG_VERSION").to_string(),
        started_at: jiff::Timestamp::now(),
        host,
        interval_ms: u64::try_from(args.interval.as_millis()).unwrap_or(u64::MAX),
        scope: describe(scope),
        all_namespaces: *scope == Scope::All,
        plan: source.plan(),
    }
}

/// The scope as the command line says it.
fn describe(scope: &Scope) -> String {
    match scope {
        Scope::All => "--all-netns".to_string(),
        Scope::One(Target::Current) => "this namespace".to_string(),
        Scope::One(Target::Netns { given, .. }) => format!("--netns {given}"),
        Scope::One(Target::Pid(pid)) => format!("--pid {pid}"),
    }
}

/// Why recording one namespace cannot go on: it went away.
fn gone(scope: &Scope, round: &crate::collect::Round) -> Option<String> {
    if *scope == Scope::All {
        return None;
    }
    match round.observed.as_slice() {
        [Observed::Gone { netns, reason }] => {
            Some(format!("the network namespace net:[{}] went away ({reason}); recording stopped", netns.inode))
        }
        _ => None,
    }
}

/// A channel that receives a message when SIGTERM, SIGINT or SIGHUP arrives.
fn signals() -> Result<mpsc::Receiver<i32>, Failure> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
        .map_err(|error| Failure::runtime(format!("cannot watch signals: {error}")))?;
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("sockscope-signals".to_string())
        .spawn(move || {
            for signal in signals.forever() {
                if sender.send(signal).is_err() {
                    return;
                }
            }
        })
        .map_err(|error| Failure::runtime(format!("cannot watch signals: {error}")))?;
    Ok(receiver)
}
