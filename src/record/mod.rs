//! Recordings: rounds of samples written to a compact file as they are taken, and read back
//! later through the same engine as live ones.
//!
//! [`format`] says what is on disk; [`writer::Recorder`] appends rounds (`sockscope record`);
//! [`Recording`] reads one or more files back in time order; [`Replay`] is the
//! [`SampleSource`] over a recording, so the report, `check` and the dashboard read a
//! recording exactly as they read the live kernel; [`moment`] turns what a user types
//! (`03:12`, RFC 3339, `-5m`) into a time within a recording.

pub mod format;
pub mod moment;
pub mod reader;
pub mod recording;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::collect::{Round, SampleSource};
use crate::sample::CollectPlan;
pub use format::{Header, ROUNDS_PER_CHUNK};
pub use recording::Recording;
pub use writer::{Appended, Limits, Recorder, WhenFull};

/// How many rounds before the one asked for are taken through the pipeline too, so rates,
/// trend checks and sparklines have the recorded past (two minutes at one round a second).
pub const CONTEXT: usize = 120;

/// A recording that cannot be written or read: the file and what is wrong, on one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct RecordError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
    /// Whether the file does not exist (a usage error rather than a failure).
    pub not_found: bool,
}

impl RecordError {
    /// An error about `path`.
    pub fn new(path: &Path, message: impl Into<String>) -> RecordError {
        RecordError { path: path.to_path_buf(), message: message.into(), not_found: false }
    }

    /// An I/O error about `path`.
    pub fn io(path: &Path, error: std::io::Error) -> RecordError {
        let not_found = error.kind() == std::io::ErrorKind::NotFound;
        let message = match error.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => error.to_string(),
        };
        RecordError { path: path.to_path_buf(), message, not_found }
    }
}

/// The name a rotated file takes: `FILE.1` is the newest finished file, `FILE.2` the one
/// before, and so on.
pub fn rotated_name(path: &Path, index: usize) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{index}"));
    PathBuf::from(name)
}

/// The rounds of a recording as a [`SampleSource`], from a starting index to the end.
pub struct Replay {
    recording: Recording,
    next: usize,
    end: usize,
    plan: CollectPlan,
}

impl Replay {
    /// Yields the rounds `from..to` of `recording`.
    pub fn new(recording: Recording, from: usize, to: usize) -> Replay {
        let plan = recording.header().plan;
        let end = to.min(recording.len());
        Replay { recording, next: from, end, plan }
    }
}

impl SampleSource for Replay {
    fn next_round(&mut self) -> Option<Round> {
        if self.next >= self.end {
            return None;
        }
        let round = self.recording.round(self.next).ok();
        self.next += 1;
        round
    }

    /// A recording holds what it holds: the plan cannot change it.
    fn set_plan(&mut self, _plan: CollectPlan) {}

    fn plan(&self) -> CollectPlan {
        self.plan
    }
}

#[cfg(test)]
mod tests;
