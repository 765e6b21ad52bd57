//! `sockscope replay`: the dashboard over a recording, from its first round or `--at`.

use super::{EXIT_USAGE, Failure, Scope};
use crate::cli::ReplayArgs;
use crate::config::Config;
use crate::record::Recording;

/// Runs the replay dashboard; its exit status is 0 or 128 + the signal that ended it.
pub fn run(args: &ReplayArgs, scope: &Scope, mut recording: Recording, config: Config) -> Result<u8, Failure> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        let message = "replay needs a terminal; for a file or a pipe use `sockscope report --from FILE --at TIME`";
        return Err(Failure { code: EXIT_USAGE, message: message.to_string() });
    }
    let start = match &args.at {
        Some(at) => super::recorded::locate(&mut recording, Some(at))?,
        None => 0,
    };
    let keymap = config.keymap().map_err(|error| Failure { code: EXIT_USAGE, message: error })?;
    let interval = std::time::Duration::from_millis(recording.header().interval_ms.max(1));
    let options = crate::tui::Options {
        interval,
        rules: config.rules(),
        keymap,
        theme: args.theme,
        mouse: !args.no_mouse,
        panic_after: None,
        all_namespaces: *scope == Scope::All,
    };
    crate::tui::replay(recording, start, options)
        .map_err(|error| Failure::runtime(format!("the replay failed: {error}")))
}
