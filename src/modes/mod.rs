//! The modes of the command line — the dashboard, `report`, `check`, completions and the man
//! page — and the one place a parsed command line becomes work: pick the mode, run it, and turn
//! every failure into one line for stderr and an exit status.

pub mod check;
pub mod dashboard;
pub mod output;
pub mod report;

use std::io::IsTerminal;
use std::sync::Arc;

use clap::CommandFactory;

use crate::cli::{Cli, Command, ReportArgs};
use crate::collect::{HostServices, Live, ProcPaths, SampleSource, Target};
use crate::config::Config;
use crate::sample::CollectPlan;
use output::write_stdout;

/// Exit status for a runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for a usage error.
pub const EXIT_USAGE: u8 = 2;

/// Why a run failed: one line for stderr and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Exit status: [`EXIT_FAILURE`] or [`EXIT_USAGE`].
    pub code: u8,
    /// What went wrong, on one line.
    pub message: String,
}

impl Failure {
    /// A runtime failure.
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure { code: EXIT_FAILURE, message: message.into() }
    }
}

/// Runs the command line; returns the exit status (non-zero only in check mode and after a
/// signal ended the dashboard).
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let plan = CollectPlan { processes: !cli.no_processes, ..CollectPlan::default() };
    match cli.command {
        None if std::io::stdout().is_terminal() => dashboard::run(&cli.dashboard, plan, load_config(&cli.config)?),
        None => {
            let args = ReportArgs { interval: cli.dashboard.interval, ..ReportArgs::default() };
            report::run(&args, plan, &load_config(&cli.config)?).map(|()| 0)
        }
        Some(Command::Report(args)) => report::run(&args, plan, &load_config(&cli.config)?).map(|()| 0),
        Some(Command::Check(args)) => check::run(&args, plan, &load_config(&cli.config)?),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "sockscope", &mut script);
            write_stdout(&script).map(|()| 0)
        }
        Some(Command::Manpage) => {
            let page = crate::manpage::render().map_err(|error| Failure::runtime(format!("man page: {error}")))?;
            write_stdout(&page).map(|()| 0)
        }
    }
}

/// The configuration; a file that cannot be used is a usage error.
fn load_config(explicit: &Option<std::path::PathBuf>) -> Result<Config, Failure> {
    Config::load(explicit.as_deref())
        .map(|(config, _)| config)
        .map_err(|error| Failure { code: EXIT_USAGE, message: error.to_string() })
}

/// The live source every mode reads from: the namespace sockscope runs in, with the host-wide
/// services of this process.
fn live_source(plan: CollectPlan) -> Live {
    let services = Arc::new(HostServices::new(&ProcPaths::live()));
    Live::open(Target::Current, plan, services)
}

/// The next sample of a source that must have one (a live source always does).
fn next(source: &mut dyn SampleSource) -> Result<crate::sample::Sample, Failure> {
    source.next_sample().ok_or_else(|| Failure::runtime("the sample source ended before its first sample"))
}
