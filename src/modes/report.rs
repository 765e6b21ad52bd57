//! `sockscope report`: one round of samples, or two `--interval` apart, through the pipelines,
//! rendered and written out — one namespace's report, or every namespace side by side.

use std::sync::Arc;
use std::time::Duration;

use super::output::{write_atomically, write_stdout};
use super::{Failure, Scope, next};
use crate::advise::status::unreadable;
use crate::cli::ReportArgs;
use crate::collect::SampleSource;
use crate::config::Config;
use crate::engine::{Frame, Pipelines, Scene, ViewState};
use crate::render;

/// Runs `report` over the scene of a live source or of a recorded moment.
pub fn run(args: &ReportArgs, scope: &Scope, scene: &Scene) -> Result<(), Failure> {
    let text = match scope {
        Scope::All => render::scene::render(scene, args.format),
        Scope::One(_) => {
            let frame = single(scene)?;
            if let Some(reason) = unreadable(&frame.sample) {
                return Err(Failure::runtime(reason));
            }
            render::render(frame, args.format)
        }
    }
    .map_err(|error| Failure::runtime(format!("encoding the report: {error}")))?;
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => write_stdout(text.as_bytes()),
    }
}

/// The scene of the current round: with an interval, of the second of two rounds taken that
/// far apart, so counters have rates and the advisor sees both.
pub fn scene(
    source: &mut dyn SampleSource,
    config: &Config,
    interval: Option<Duration>,
) -> Result<Arc<Scene>, Failure> {
    let mut pipelines = Pipelines::new(config.rules());
    let first = pipelines.push(next(source)?);
    match interval {
        Some(pause) => {
            std::thread::sleep(pause);
            Ok(pipelines.push(next(source)?))
        }
        None => Ok(first),
    }
}

/// The scene after every round of `source` went through the pipelines (a recorded moment and
/// the rounds before it).
pub fn replayed(source: &mut dyn SampleSource, config: &Config) -> Result<Arc<Scene>, Failure> {
    let mut pipelines = Pipelines::new(config.rules());
    let mut scene = None;
    while let Some(round) = source.next_round() {
        scene = Some(pipelines.push(round));
    }
    scene.ok_or_else(|| Failure::runtime("the recording has no readable round there"))
}

/// The frame of a single-namespace scene; a namespace that went away or could not be read is a
/// runtime failure.
pub fn single(scene: &Scene) -> Result<&Arc<Frame>, Failure> {
    let view = scene.views.first().ok_or_else(|| Failure::runtime("no namespace could be read"))?;
    match &view.state {
        ViewState::Gone { reason, .. } => {
            Err(Failure::runtime(format!("the network namespace net:[{}] went away: {reason}", view.netns.inode)))
        }
        ViewState::Unavailable { reason } => Err(Failure::runtime(reason.clone())),
        ViewState::Live => view.frame.as_ref().ok_or_else(|| Failure::runtime("the namespace could not be read")),
    }
}
