//! The live dashboard mode: the terminal UI over a live source.

use std::time::Duration;

use super::{Failure, Scope};
use crate::cli::DashboardArgs;
use crate::collect::SampleSource;
use crate::config::Config;

/// Runs the dashboard over `source`; its exit status is 0 or 128 + the signal that ended it.
pub fn run(
    args: &DashboardArgs,
    scope: &Scope,
    source: Box<dyn SampleSource + Send>,
    config: Config,
) -> Result<u8, Failure> {
    let keymap = config.keymap().map_err(|error| Failure { code: super::EXIT_USAGE, message: error })?;
    let options = crate::tui::Options {
        interval: args.interval.unwrap_or(Duration::from_secs(1)),
        rules: config.rules(),
        keymap,
        theme: args.theme,
        mouse: !args.no_mouse,
        panic_after: panic_after(),
        all_namespaces: *scope == Scope::All,
    };
    crate::tui::run(source, options).map_err(|error| Failure::runtime(format!("the dashboard failed: {error}")))
}

/// The tests' hook to check that a crash restores the terminal: panic after this many frames.
/// Read from `SOCKSCOPE_TEST_PANIC_AFTER` in debug builds only; a release build has no such hook.
fn panic_after() -> Option<u64> {
    #[cfg(debug_assertions)]
    {
        std::env::var("SOCKSCOPE_TEST_PANIC_AFTER").ok().and_then(|frames| frames.parse().ok())
    }
    #[cfg(not(debug_assertions))]
    {
        None
    }
}
