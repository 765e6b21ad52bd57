//! The dashboard over a recording. A replayer thread owns the recording and the cursor: it
//! takes the rounds up to the cursor through [`Pipelines`] — the same engine a live run uses —
//! and hands the main thread the pipelines (for their histories) and the scene at the cursor.
//! A step forward pushes one more round; any other move rebuilds from the [`CONTEXT`] rounds
//! before the new cursor, so rates, trend checks and sparklines show the recorded past.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::Control;
use super::app::Event;
use crate::advise::Rules;
use crate::engine::{Pipelines, Scene};
use crate::record::moment::Covered;
use crate::record::{CONTEXT, Recording};

/// The speeds a replay plays at, times the recorded pace.
pub const SPEEDS: [u32; 3] = [1, 10, 60];

/// How far `[` and `]` jump.
pub const JUMP: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// The fastest the screen is redrawn while playing; faster speeds take several rounds a redraw.
const REDRAW: Duration = Duration::from_millis(100);

/// What the user asks of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    /// This many rounds forward (negative: back).
    Step(i64),
    /// This far in recorded time (negative: back).
    Jump(jiff::SignedDuration),
    /// To the round taken at or just before this time.
    To(jiff::Timestamp),
    /// Play, or pause.
    PlayPause,
    /// The next speed up (or down).
    Speed(i8),
}

/// Where a replay stands: what the header shows and the time controls work from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The round at the cursor, from 0.
    pub index: usize,
    /// Rounds in the recording.
    pub total: usize,
    /// When the round at the cursor was taken.
    pub taken_at: jiff::Timestamp,
    /// What the recording covers.
    pub covered: Covered,
    /// Whether it is playing.
    pub playing: bool,
    /// The speed, from [`SPEEDS`].
    pub speed: u32,
    /// The host the recording was made on.
    pub host: Option<String>,
}

/// A replay at its cursor, for the main thread.
#[derive(Debug)]
pub struct Replayed {
    /// The pipelines after the rounds up to the cursor (their histories feed the sparklines).
    pub pipelines: Pipelines,
    /// The scene at the cursor.
    pub scene: Arc<Scene>,
    /// Where the cursor is.
    pub position: Position,
    /// Something to tell the user (the end of the recording, an unreadable chunk).
    pub message: Option<String>,
}

/// Starts the replayer at round `start`; it answers the seeks arriving on `control` with
/// [`Event::Replayed`] until the dashboard ends.
pub(super) fn spawn(
    recording: Recording,
    start: usize,
    rules: Rules,
    control: Receiver<Control>,
    events: Sender<Event>,
) -> std::io::Result<()> {
    std::thread::Builder::new().name(super::terminal::COLLECTOR_THREAD.to_string()).spawn(move || {
        let Some(covered) = crate::modes::recorded::covered(&recording) else { return };
        let mut replayer = Replayer {
            recording,
            rules: rules.clone(),
            pipelines: Pipelines::new(rules),
            cursor: 0,
            covered,
            playing: false,
            speed: 0,
            scene: None,
        };
        let mut message = replayer.rebuild(start).err();
        loop {
            let Some(replayed) = replayer.replayed(message.clone()) else {
                let reason = message.unwrap_or_else(|| "the recording could not be read".to_string());
                let _ = events.send(Event::CollectorStopped(reason));
                return;
            };
            if events.send(Event::Replayed(Box::new(replayed))).is_err() {
                return;
            }
            let wait = if replayer.playing { replayer.pace() } else { Duration::from_secs(3600) };
            let started = Instant::now();
            message = match control.recv_timeout(wait) {
                Ok(Control::Replay(seek)) => replayer.seek(seek),
                Ok(_) => continue,
                Err(RecvTimeoutError::Timeout) => replayer.play(started.elapsed()),
                Err(RecvTimeoutError::Disconnected) => return,
            };
        }
    })?;
    Ok(())
}

/// The replayer's state.
struct Replayer {
    recording: Recording,
    rules: Rules,
    pipelines: Pipelines,
    cursor: usize,
    covered: Covered,
    playing: bool,
    speed: usize,
    scene: Option<Arc<Scene>>,
}

impl Replayer {
    /// Carries out a seek; a message for the user when it could not go all the way.
    fn seek(&mut self, seek: Seek) -> Option<String> {
        let last = self.recording.len().saturating_sub(1);
        match seek {
            Seek::PlayPause => {
                self.playing = !self.playing && self.cursor < last;
                (!self.playing && self.cursor >= last).then(|| "the end of the recording".to_string())
            }
            Seek::Speed(direction) => {
                let next = self.speed as i64 + i64::from(direction);
                self.speed = next.clamp(0, SPEEDS.len() as i64 - 1) as usize;
                None
            }
            Seek::Step(1) => self.forward(1),
            Seek::Step(count) => {
                let target = (self.cursor as i64 + count).clamp(0, last as i64) as usize;
                self.move_to(target)
            }
            Seek::Jump(by) => {
                let now = self.time_of(self.cursor)?;
                let wanted = now.checked_add(by).unwrap_or(now);
                let target = match self.recording.locate(wanted) {
                    // A gap in the recording longer than the jump still moves forward.
                    Ok(Some(index)) if by.is_positive() && index <= self.cursor => (self.cursor + 1).min(last),
                    Ok(Some(index)) => index,
                    Ok(None) => 0,
                    Err(error) => return Some(error.to_string()),
                };
                self.move_to(target)
            }
            Seek::To(at) => match self.recording.locate(at) {
                Ok(Some(index)) => self.move_to(index),
                Ok(None) => self.move_to(0),
                Err(error) => Some(error.to_string()),
            },
        }
    }

    /// While playing: the rounds due after `elapsed` at the current speed.
    fn play(&mut self, elapsed: Duration) -> Option<String> {
        let due = (elapsed.as_secs_f64() / self.round_gap().max(1e-3) * f64::from(SPEEDS[self.speed])).round().max(1.0);
        let message = self.forward(due as usize);
        if self.cursor + 1 >= self.recording.len() {
            self.playing = false;
            return message.or_else(|| Some("the end of the recording: paused".to_string()));
        }
        message
    }

    /// How long to wait before the next rounds are due.
    fn pace(&self) -> Duration {
        let gap = self.round_gap() / f64::from(SPEEDS[self.speed]);
        Duration::from_secs_f64(gap.clamp(REDRAW.as_secs_f64(), 3600.0))
    }

    /// Seconds between rounds, as recorded.
    fn round_gap(&self) -> f64 {
        let interval = self.recording.header().interval_ms as f64 / 1000.0;
        if interval > 0.0 { interval } else { 1.0 }
    }

    fn move_to(&mut self, target: usize) -> Option<String> {
        if target == self.cursor + 1 {
            return self.forward(1);
        }
        self.rebuild(target).err()
    }

    fn forward(&mut self, count: usize) -> Option<String> {
        for _ in 0..count {
            if self.cursor + 1 >= self.recording.len() {
                return Some("the end of the recording".to_string());
            }
            match self.recording.round(self.cursor + 1) {
                Ok(round) => {
                    self.scene = Some(self.pipelines.push(round));
                    self.cursor += 1;
                }
                Err(error) => return Some(error.to_string()),
            }
        }
        None
    }

    /// Takes the rounds before `target` and `target` through fresh pipelines.
    fn rebuild(&mut self, target: usize) -> Result<(), String> {
        let target = target.min(self.recording.len().saturating_sub(1));
        let rounds = self.recording.rounds(target.saturating_sub(CONTEXT)..target + 1).map_err(|e| e.to_string())?;
        let mut pipelines = Pipelines::new(self.rules.clone());
        let mut scene = None;
        for round in rounds {
            scene = Some(pipelines.push(round));
        }
        self.pipelines = pipelines;
        self.scene = scene;
        self.cursor = target;
        Ok(())
    }

    fn time_of(&mut self, index: usize) -> Option<jiff::Timestamp> {
        self.recording.time_of(index).ok()
    }

    fn replayed(&mut self, message: Option<String>) -> Option<Replayed> {
        let scene = self.scene.clone()?;
        let taken_at = self.time_of(self.cursor)?;
        let position = Position {
            index: self.cursor,
            total: self.recording.len(),
            taken_at,
            covered: self.covered,
            playing: self.playing,
            speed: SPEEDS[self.speed],
            host: self.recording.header().host.clone(),
        };
        Some(Replayed { pipelines: self.pipelines.clone(), scene, position, message })
    }
}
