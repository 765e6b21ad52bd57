//! `sockscope report`: one sample, or two `--interval` apart, through the pipeline, rendered and
//! written out.

use std::time::Duration;

use super::output::{write_atomically, write_stdout};
use super::{Failure, live_source, next};
use crate::advise::status::unreadable;
use crate::cli::ReportArgs;
use crate::collect::SampleSource;
use crate::config::Config;
use crate::engine::{Frame, Pipeline};
use crate::render;
use crate::sample::CollectPlan;
use std::sync::Arc;

/// Runs `report` on the live host.
pub fn run(args: &ReportArgs, plan: CollectPlan, config: &Config) -> Result<(), Failure> {
    let frame = frame(&mut live_source(plan), config, args.interval)?;
    if let Some(reason) = unreadable(&frame.sample) {
        return Err(Failure::runtime(reason));
    }
    let text = render::render(&frame, args.format)
        .map_err(|error| Failure::runtime(format!("encoding the report: {error}")))?;
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => write_stdout(text.as_bytes()),
    }
}

/// The frame of the current sample: with an interval, of the second of two samples taken that
/// far apart, so counters have rates and the advisor sees both.
pub fn frame(
    source: &mut dyn SampleSource,
    config: &Config,
    interval: Option<Duration>,
) -> Result<Arc<Frame>, Failure> {
    let mut pipeline = Pipeline::new(config.rules());
    let first = pipeline.push(next(source)?);
    match interval {
        Some(pause) => {
            std::thread::sleep(pause);
            Ok(pipeline.push(next(source)?))
        }
        None => Ok(first),
    }
}
