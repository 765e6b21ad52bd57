//! `sockscope check`: two rounds of samples through the pipelines, a status line fit for
//! monitoring plugins, the findings, and the plugin exit status (0 OK, 1 WARNING, 2 CRITICAL,
//! 3 UNKNOWN) — over one namespace, or one status over every namespace. A run that fails —
//! a usage error, a namespace that cannot be entered, output that cannot be written — is
//! UNKNOWN too, never a status a monitoring system would read as a judgement of the host.

use super::output::write_stdout;
use super::report::single;
use super::{Failure, Scope};
use crate::advise::status::{Status, unreadable};
use crate::cli::CheckArgs;
use crate::engine::Scene;
use crate::render::{self, CheckFormat};

/// Runs `check` over the scene of a live source (two rounds `--interval` apart) or of a
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
