//! The `sockscope` binary: parse the command line, run it, map the outcome to an exit status.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use sockscope::cli::Cli;
use sockscope::modes::{EXIT_USAGE, Failure, check, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            let rendered = one_line(&error.render().to_string());
            let message = rendered.strip_prefix("error: ").unwrap_or(&rendered).to_string();
            let failure = Failure { code: EXIT_USAGE, message };
            let failure = if invokes_check(std::env::args_os()) { check::unknown(failure) } else { failure };
            return fail(&failure);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => fail(&failure),
    }
}

/// Prints the failure's line on stderr — escaped, since it may quote a file, a path or a name
/// someone else chose — and returns its exit status.
fn fail(failure: &Failure) -> ExitCode {
    eprintln!("sockscope: error: {}", sockscope::format::sanitize(&failure.message));
    ExitCode::from(failure.code)
}

/// Whether a command line that clap refused asks for `check`, whose usage errors follow the
/// monitoring-plugin contract (UNKNOWN) rather than the usual status 2. clap is asked again,
/// ignoring errors, so that global options before the subcommand are skipped as clap skips them.
fn invokes_check(args: impl IntoIterator<Item = OsString>) -> bool {
    let matches = Cli::command().ignore_errors(true).try_get_matches_from(args);
    matches.is_ok_and(|matches| matches.subcommand_name() == Some("check"))
}

/// clap's error text on one line: the error itself plus any hint (`[possible values: ...]`,
/// `tip: ...`), without the usage block.
fn one_line(rendered: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("Usage:") || line.starts_with("For more information") {
            continue;
        }
        parts.push(line);
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_in(args: &[&str]) -> bool {
        invokes_check(std::iter::once("sockscope").chain(args.iter().copied()).map(OsString::from))
    }

    #[test]
    fn refused_command_lines_of_check_are_recognised() {
        assert!(check_in(&["check", "--interval", "soon"]));
        assert!(check_in(&["--netns", "check", "check", "--format", "nonsense"]));
        assert!(check_in(&["--config", "x", "check", "--bogus"]));
        assert!(check_in(&["--pid", "1", "--all-netns", "check"]));
        assert!(!check_in(&["report", "--interval", "soon"]));
        assert!(!check_in(&["--netns", "check", "report", "--bogus"]));
        assert!(!check_in(&["--interval", "soon"]));
        assert!(!check_in(&["frobnicate", "check"]));
    }
}
