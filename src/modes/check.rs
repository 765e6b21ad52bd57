//! `sockscope check`: two samples through the pipeline, a status line fit for monitoring
//! plugins, the findings, and the plugin exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).

use super::output::write_stdout;
use super::{Failure, live_source};
use crate::advise::status::{Status, unreadable};
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::render::{self, Format};
use crate::sample::CollectPlan;

/// Runs `check` on the live host; returns the plugin exit status.
pub fn run(args: &CheckArgs, plan: CollectPlan, config: &Config) -> Result<u8, Failure> {
    let frame = super::report::frame(&mut live_source(plan), config, Some(args.interval))?;
    if let Some(reason) = unreadable(&frame.sample) {
        write_stdout(render::check::unknown_line(&reason).as_bytes())?;
        return Ok(Status::Unknown.exit_code());
    }
    let text = match args.format {
        Format::Text => render::check::render(&frame),
        Format::Json => render::json::render_check(&frame)
            .map_err(|error| Failure::runtime(format!("encoding the result: {error}")))?,
    };
    write_stdout(text.as_bytes())?;
    Ok(Status::of(&frame.findings).exit_code())
}
