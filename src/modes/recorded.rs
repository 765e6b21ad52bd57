//! Reading a recording instead of the live kernel: opening the files (`report --from`,
//! `check --from`, `replay`), finding the moment asked for, and the scope it was recorded for.

use super::{EXIT_USAGE, Failure, Scope};
use crate::cli::Cli;
use crate::collect::Target;
use crate::record::moment::{self, Covered};
use crate::record::{CONTEXT, RecordError, Recording, Replay};

/// The failure of a recording that cannot be read: a file that does not exist is a usage
/// error, anything else a runtime failure.
pub fn failure(error: RecordError) -> Failure {
    let code = if error.not_found { EXIT_USAGE } else { super::EXIT_FAILURE };
    Failure { code, message: error.to_string() }
}

/// Opens the files of a recording; its damage is reported on stderr, one line each, and
/// reading goes on past it. The namespace options do not apply: a recording holds what was
/// recorded.
pub fn open(cli: &Cli, files: &[std::path::PathBuf]) -> Result<(Scope, Recording), Failure> {
    if cli.netns.is_some() || cli.pid.is_some() || cli.all_netns {
        let message = "--netns, --pid and --all-netns choose what to record; a recording replays what it holds";
        return Err(Failure { code: EXIT_USAGE, message: message.to_string() });
    }
    let recording = Recording::open(files).map_err(failure)?;
    for damage in recording.damage() {
        eprintln!("sockscope: warning: {}", crate::format::sanitize(damage));
    }
    if recording.is_empty() {
        let names: Vec<String> = files.iter().map(|file| file.display().to_string()).collect();
        return Err(Failure::runtime(format!("{}: no sample recorded yet", names.join(", "))));
    }
    let scope = if recording.header().all_namespaces { Scope::All } else { Scope::One(Target::Current) };
    Ok((scope, recording))
}

/// The index of the round recorded at `at` (the last one taken at or before it); the last
/// round without `at`. A moment outside the recording is a usage error that says what it
/// covers.
pub fn locate(recording: &mut Recording, at: Option<&str>) -> Result<usize, Failure> {
    let last = recording.len().saturating_sub(1);
    let (Some(text), Some(covered)) = (at, covered(recording)) else { return Ok(last) };
    let zone = jiff::tz::TimeZone::system();
    let usage = |message: String| Failure { code: EXIT_USAGE, message };
    let wanted = moment::parse(text, covered, &zone).map_err(usage)?;
    let show = |at: jiff::Timestamp| at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string();
    let span = format!("it covers {} to {}", show(covered.first), show(covered.last));
    let slack = jiff::SignedDuration::from_millis(2 * recording.header().interval_ms.min(3_600_000) as i64);
    if covered.last.checked_add(slack).is_ok_and(|end| wanted > end) {
        return Err(usage(format!("{text}: after the end of the recording ({span})")));
    }
    match recording.locate(wanted).map_err(failure)? {
        Some(index) => Ok(index),
        None => Err(usage(format!("{text}: before the start of the recording ({span})"))),
    }
}

/// The span of the recording.
pub fn covered(recording: &Recording) -> Option<Covered> {
    Some(Covered { first: recording.first_time()?, last: recording.last_time()? })
}

/// The source of the round at `index` and the [`CONTEXT`] rounds before it.
pub fn leading_to(recording: Recording, index: usize) -> Replay {
    Replay::new(recording, index.saturating_sub(CONTEXT), index + 1)
}
