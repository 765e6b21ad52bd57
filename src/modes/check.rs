//! `sockscope check`: rounds of samples taken throughout `--interval` (about one a second)
//! through the pipelines, a status line fit for monitoring plugins, every finding active at any
//! moment of the interval, and the plugin exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)
//! — over one namespace, or one status over every namespace. A run that fails — a usage error,
//! a namespace that cannot be entered, output that cannot be written — is UNKNOWN too, never a
//! status a monitoring system would read as a judgement of the host.

use std::sync::Arc;
use std::time::Duration;

use super::output::write_stdout;
use super::report::single;
use super::{Failure, Scope, next};
use crate::advise::Rules;
use crate::advise::status::{Status, unreadable};
use crate::cli::CheckArgs;
use crate::collect::SampleSource;
use crate::config::Config;
use crate::engine::{Pipelines, Scene};
use crate::render::{self, CheckFormat};

/// How far apart `check` takes its samples within the interval.
pub const STEP: Duration = Duration::from_secs(1);

/// The most pauses between samples: a longer interval is sampled less often than every
/// [`STEP`], so a run takes at most this many plus one samples.
pub const MAX_STEPS: u32 = 60;

/// The pauses of a run over `interval`: one per [`STEP`], at least one, at most [`MAX_STEPS`].
pub fn steps(interval: Duration) -> u32 {
    let steps = (interval.as_secs_f64() / STEP.as_secs_f64()).floor();
    steps.clamp(1.0, f64::from(MAX_STEPS)) as u32
}

/// The scene at the end of `interval`, sampled throughout it: a round at the start and after
/// each of [`steps`] equal pauses. The hold of findings is stretched over the whole run, so
/// nothing clears before the end: the scene's findings are every finding active at any moment
/// of the interval, each with how many samples saw it.
pub fn scene(source: &mut dyn SampleSource, config: &Config, interval: Duration) -> Result<Arc<Scene>, Failure> {
    let steps = steps(interval);
    let rules = config.rules();
    let hold = rules.hold.covering(steps + 1, interval.as_secs_f64());
    let mut pipelines = Pipelines::new(Rules { hold, ..rules });
    let mut scene = pipelines.push(next(source)?);
    for _ in 0..steps {
        std::thread::sleep(interval / steps);
        scene = pipelines.push(next(source)?);
    }
    Ok(scene)
}

/// Runs `check` over the scene of a live source (sampled throughout `--interval`) or of a
/// recorded moment; returns the plugin exit status.
pub fn run(args: &CheckArgs, scope: &Scope, scene: &Scene) -> Result<u8, Failure> {
    let encoding = |error: serde_json::Error| Failure::runtime(format!("encoding the result: {error}"));
    let (text, status) = match scope {
        Scope::All => {
            let text = match args.format {
                CheckFormat::Text => render::scene::check(scene),
                CheckFormat::Json => render::scene::check_json(scene).map_err(encoding)?,
            };
            (text, render::scene::status(scene))
        }
        Scope::One(_) => {
            let frame = single(scene)?;
            if let Some(reason) = unreadable(&frame.sample) {
                write_stdout(render::check::unknown_line(&reason).as_bytes())?;
                return Ok(Status::Unknown.exit_code());
            }
            let text = match args.format {
                CheckFormat::Text => render::check::render(frame),
                CheckFormat::Json => render::json::render_check(frame).map_err(encoding)?,
            };
            (text, Status::of(&frame.findings))
        }
    };
    write_stdout(text.as_bytes())?;
    Ok(status.exit_code())
}

/// `check --list`: the catalogue with the thresholds in use; exit status 0 (OK).
pub fn list(config: &crate::config::Config) -> Result<u8, Failure> {
    write_stdout(render::check::list(&config.rules()).as_bytes())?;
    Ok(Status::Ok.exit_code())
}

/// A failure of check mode as a monitoring plugin reports it: `SOCKSCOPE UNKNOWN - <why>` on
/// stdout (when stdout can still be written) and the exit status 3 (UNKNOWN); the caller still
/// prints the failure's line on stderr.
pub fn unknown(failure: Failure) -> Failure {
    let _ = write_stdout(render::check::unknown_line(&failure.message).as_bytes());
    Failure { code: Status::Unknown.exit_code(), ..failure }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_sampled_about_every_second_within_bounds() {
        assert_eq!(steps(Duration::from_millis(500)), 1, "two samples at least, so rates exist");
        assert_eq!(steps(Duration::from_secs(5)), 5);
        assert_eq!(steps(Duration::from_millis(5_900)), 5);
        assert_eq!(steps(Duration::from_secs(3_600)), MAX_STEPS, "an hour: a sample a minute");
    }
}
