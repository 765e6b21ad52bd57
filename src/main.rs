//! The `sockscope` binary: parse the command line, run it, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use sockscope::cli::Cli;
use sockscope::modes::{EXIT_USAGE, run};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if matches!(error.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("sockscope: {}", one_line(&error.render().to_string()));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("sockscope: error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
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
