//! The modes of the command line — the dashboard, `report`, `check`, `serve`, completions and
//! the man page — and the one place a parsed command line becomes work: pick the mode, run it,
//! and turn every failure into one line for stderr and an exit status.

pub mod check;
pub mod dashboard;
pub mod events;
pub mod output;
pub mod record;
pub mod recorded;
pub mod replay;
pub mod report;
pub mod serve;

use std::io::IsTerminal;
use std::sync::Arc;

use clap::CommandFactory;

use crate::cli::{Cli, Command, FromArgs, ReportArgs};
use crate::collect::host::Attribution;
use crate::collect::{AllNamespaces, HostServices, Live, ProcPaths, SampleSource, Target, TargetError};
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
/// signal ended the dashboard). Every failure of check mode is UNKNOWN ([`check::unknown`]).
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let in_check = matches!(cli.command, Some(Command::Check(_)));
    let outcome = dispatch(cli);
    if in_check { outcome.map_err(check::unknown) } else { outcome }
}

/// Picks the mode the command line asks for and runs it.
fn dispatch(cli: Cli) -> Result<u8, Failure> {
    crate::capabilities::refuse_set_id().map_err(Failure::runtime)?;
    let plan = CollectPlan { processes: !cli.no_processes, ..CollectPlan::default() };
    // One-shot modes wait for every owner; the continuous ones look for owners in the
    // background so a walk of /proc never delays a sample.
    // The modes that observe over time also run the listen-event source (eBPF); a one-shot
    // report does not pay for loading it.
    let live_with = |cli: &Cli, plan: CollectPlan, attribution, over_time: bool| {
        let config = load_config(&cli.config)?;
        let scope = Scope::of(cli)?;
        let source = open_with(&scope, plan, services(attribution, over_time))?;
        Ok::<_, Failure>((scope, source, config))
    };
    let live = |cli: &Cli, attribution, over_time: bool| live_with(cli, plan, attribution, over_time);
    match &cli.command {
        None if std::io::stdout().is_terminal() => {
            let config = load_config(&cli.config)?;
            let budget = dashboard_budget(cli.dashboard.budget, &config);
            let (scope, source, config) =
                live_with(&cli, CollectPlan { budget, ..plan }, Attribution::Background, true)?;
            dashboard::run(&cli.dashboard, &scope, source, config)
        }
        None => {
            let args = ReportArgs { interval: cli.dashboard.interval, ..ReportArgs::default() };
            let (scope, mut source, config) = live(&cli, Attribution::Inline, args.interval.is_some())?;
            let scene = report::scene(source.as_mut(), &config, args.interval)?;
            report::run(&args, &scope, &scene).map(|()| 0)
        }
        Some(Command::Report(args)) if !args.recorded.from.is_empty() => {
            let (scope, scene) = recorded_scene(&cli, &args.recorded)?;
            report::run(args, &scope, &scene).map(|()| 0)
        }
        Some(Command::Report(args)) => {
            let plan = CollectPlan { states: !args.listeners, ..plan };
            let (scope, mut source, config) = live_with(&cli, plan, Attribution::Inline, args.interval.is_some())?;
            let scene = report::scene(source.as_mut(), &config, args.interval)?;
            report::run(args, &scope, &scene).map(|()| 0)
        }
        Some(Command::Check(args)) if args.list => check::list(&load_config(&cli.config)?),
        Some(Command::Check(args)) if !args.recorded.from.is_empty() => {
            let (scope, scene) = recorded_scene(&cli, &args.recorded)?;
            check::run(args, &scope, &scene)
        }
        Some(Command::Check(args)) => {
            let (scope, mut source, config) = live(&cli, Attribution::Inline, true)?;
            let scene = check::scene(source.as_mut(), &config, args.interval)?;
            check::run(args, &scope, &scene)
        }
        Some(Command::Record(args)) => {
            let plan = CollectPlan { connections: args.connections, ..plan };
            load_config(&cli.config)?;
            let scope = Scope::of(&cli)?;
            let mut source = open_with(&scope, plan, services(Attribution::Background, true))?;
            record::run(args, &scope, source.as_mut())
        }
        Some(Command::Replay(args)) => {
            let config = load_config(&cli.config)?;
            let (scope, recording) = recorded::open(&cli, &args.files)?;
            replay::run(args, &scope, recording, config)
        }
        Some(Command::Serve(args)) => {
            let (_, source, config) = live(&cli, Attribution::Background, true)?;
            serve::run(args, source, &config)
        }
        Some(Command::Events(args)) => events::run(&Scope::of(&cli)?, args.format),
        Some(Command::Completions { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "sockscope", &mut script);
            write_stdout(&script).map(|()| 0)
        }
        Some(Command::Manpage) => {
            let page = crate::manpage::render().map_err(|error| Failure::runtime(format!("man page: {error}")))?;
            write_stdout(&page).map(|()| 0)
        }
    }
}

/// The dashboard's budget: `--budget`, else the config file's `[collect] budget`, else
/// [`DEFAULT_PERMILLE`](crate::collect::budget::DEFAULT_PERMILLE).
fn dashboard_budget(given: Option<crate::cli::BudgetChoice>, config: &Config) -> Option<crate::sample::Budget> {
    match (given, config.budget()) {
        (Some(choice), _) => choice.0,
        (None, Some(configured)) => configured,
        (None, None) => Some(crate::sample::Budget { permille: crate::collect::budget::DEFAULT_PERMILLE }),
    }
}

/// The scene at the moment `--from`/`--at` name, after the rounds recorded before it.
fn recorded_scene(cli: &Cli, args: &FromArgs) -> Result<(Scope, Arc<crate::engine::Scene>), Failure> {
    let config = load_config(&cli.config)?;
    let (scope, mut recording) = recorded::open(cli, &args.from)?;
    let index = recorded::locate(&mut recording, args.at.as_deref())?;
    let mut source = recorded::leading_to(recording, index);
    Ok((scope, report::replayed(&mut source, &config)?))
}

/// The configuration; a file that cannot be used is a usage error.
fn load_config(explicit: &Option<std::path::PathBuf>) -> Result<Config, Failure> {
    Config::load(explicit.as_deref())
        .map(|(config, _)| config)
        .map_err(|error| Failure { code: EXIT_USAGE, message: error.to_string() })
}

/// Which namespaces a run looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One namespace: sockscope's own, or the one `--netns`/`--pid` names.
    One(Target),
    /// Every namespace in use (`--all-netns`).
    All,
}

impl Scope {
    /// The scope the command line asks for; a name, path or pid that designates no network
    /// namespace is a usage error.
    pub fn of(cli: &Cli) -> Result<Scope, Failure> {
        let paths = ProcPaths::live();
        // clap cannot see a conflict between global options given on both sides of the
        // subcommand (`--netns a report --pid 1`), so it is checked here.
        let chosen = usize::from(cli.netns.is_some()) + usize::from(cli.pid.is_some()) + usize::from(cli.all_netns);
        if chosen > 1 {
            let message = "--netns, --pid and --all-netns cannot be used with one another: choose one";
            return Err(Failure { code: EXIT_USAGE, message: message.to_string() });
        }
        let target = match (&cli.netns, cli.pid, cli.all_netns) {
            (_, _, true) => return Ok(Scope::All),
            (Some(given), _, _) => Target::netns(given, &paths.run_netns),
            (None, Some(pid), _) => Target::pid(pid, &paths.proc),
            (None, None, false) => Ok(Target::Current),
        };
        target.map(Scope::One).map_err(target_failure)
    }
}

/// The exit status of a target that cannot be used: 2 when it names no namespace, 1 when the
/// namespace cannot be entered.
pub(crate) fn target_failure(error: TargetError) -> Failure {
    let code = match error {
        TargetError::NotFound(_) => EXIT_USAGE,
        TargetError::CannotEnter(_) => EXIT_FAILURE,
    };
    Failure { code, message: error.to_string() }
}

/// The live source of a scope, with the host-wide services of this process, looking for
/// socket owners as `attribution` says.
pub fn open(
    scope: &Scope,
    plan: CollectPlan,
    attribution: Attribution,
) -> Result<Box<dyn SampleSource + Send>, Failure> {
    open_with(scope, plan, services(attribution, false))
}

/// The host-wide services of this process: looking for socket owners as `attribution` says,
/// and running the listen-event source when `listen_events`.
fn services(attribution: Attribution, listen_events: bool) -> Arc<HostServices> {
    let services = HostServices::new(&ProcPaths::live()).attributing(attribution);
    Arc::new(if listen_events { services.observing_listen_events() } else { services })
}

/// The live source of a scope, sharing `services`.
pub fn open_with(
    scope: &Scope,
    plan: CollectPlan,
    services: Arc<HostServices>,
) -> Result<Box<dyn SampleSource + Send>, Failure> {
    match scope {
        Scope::All => Ok(Box::new(AllNamespaces::new(plan, services))),
        Scope::One(target) => {
            Live::open(target.clone(), plan, services).map(|live| Box::new(live) as Box<_>).map_err(target_failure)
        }
    }
}

/// The next round of a source that must have one (a live source always does).
fn next(source: &mut dyn SampleSource) -> Result<crate::collect::Round, Failure> {
    source.next_round().ok_or_else(|| Failure::runtime("the sample source ended before its first sample"))
}
