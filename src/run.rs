//! Running a parsed command line: pick the mode, do the work, and turn every failure into one
//! line for stderr and an exit status.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;

use crate::advise::{self, Config, Outcome, Severity};
use crate::cli::{CheckArgs, Cli, Command, DashboardArgs, ReportArgs};
use crate::collect::Collector;
use crate::model::View;
use crate::model::history::History;
use crate::report::findings::{self, Status, status_line};
use crate::report::{self, Format};
use crate::sample::CollectPlan;
use crate::sample::Sample;

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

/// Runs the command line; returns the exit status (non-zero only in check mode).
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let options = CollectPlan { processes: !cli.no_processes, ..CollectPlan::default() };
    match cli.command {
        None if std::io::stdout().is_terminal() => run_dashboard(&cli.dashboard, options, load_config(&cli.config)?),
        None => {
            let args = ReportArgs { interval: cli.dashboard.interval, ..ReportArgs::default() };
            run_report(&args, options, &load_config(&cli.config)?).map(|()| 0)
        }
        Some(Command::Report(args)) => run_report(&args, options, &load_config(&cli.config)?).map(|()| 0),
        Some(Command::Check(args)) => run_check(&args, options, &load_config(&cli.config)?),
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

/// The live dashboard; its exit status is 0 or 128 + the signal that ended it.
fn run_dashboard(args: &DashboardArgs, collect: CollectPlan, config: Config) -> Result<u8, Failure> {
    let options = crate::tui::Options {
        collect,
        interval: args.interval.unwrap_or(Duration::from_secs(1)),
        config,
        theme: args.theme,
        mouse: !args.no_mouse,
        panic_after: args.panic_after,
    };
    crate::tui::run(options).map_err(|error| Failure::runtime(format!("the dashboard failed: {error}")))
}

/// The advisor configuration; a file that cannot be used is a usage error.
fn load_config(explicit: &Option<std::path::PathBuf>) -> Result<Config, Failure> {
    Config::load(explicit.as_deref())
        .map(|(config, _)| config)
        .map_err(|error| Failure { code: EXIT_USAGE, message: error.to_string() })
}

/// Runs the advisor over the current sample, with history built from the previous one.
fn advise(view: &View<'_>, previous: Option<&Sample>, config: &Config) -> Outcome {
    let mut history = History::default();
    if let Some(previous) = previous {
        history.push(&View::new(previous, None));
    }
    history.push(view);
    advise::run(&advise::Context { view, history: &history, config })
}

/// `sockscope report`: one sample, or two `--interval` apart, rendered and written out.
fn run_report(args: &ReportArgs, options: CollectPlan, config: &Config) -> Result<(), Failure> {
    let (current, previous) = take_samples(options, args.interval);
    check_readable(&current)?;
    let view = View::new(&current, previous.as_ref());
    let outcome = advise(&view, previous.as_ref(), config);
    let text = report::render(&view, &outcome, args.format)
        .map_err(|error| Failure::runtime(format!("encoding the report: {error}")))?;
    match &args.output {
        Some(path) => write_atomically(path, text.as_bytes()),
        None => write_stdout(text.as_bytes()),
    }
}

/// `sockscope check`: two samples, a status line fit for monitoring plugins, the findings, and
/// the plugin exit status (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
fn run_check(args: &CheckArgs, options: CollectPlan, config: &Config) -> Result<u8, Failure> {
    let (current, previous) = take_samples(options, Some(args.interval));
    if let Err(failure) = check_readable(&current) {
        let line = format!("SOCKSCOPE UNKNOWN - {}\n", failure.message);
        write_stdout(line.as_bytes())?;
        return Ok(Status::Unknown.exit_code());
    }
    let view = View::new(&current, previous.as_ref());
    let outcome = advise(&view, previous.as_ref(), config);
    let text = match args.format {
        Format::Text => {
            format!("{} | {}\n{}", status_line(&outcome), perfdata(&view, &outcome), findings::render(&outcome))
        }
        Format::Json => report::json::render_check(&view, &outcome)
            .map_err(|error| Failure::runtime(format!("encoding the result: {error}")))?,
    };
    write_stdout(text.as_bytes())?;
    Ok(Status::of(&outcome).exit_code())
}

/// Performance data for the status line (`label=value`, as monitoring plugins print it).
fn perfdata(view: &View<'_>, outcome: &Outcome) -> String {
    let rate = |name: &str| view.rate("TcpExt", name).map_or_else(|| "U".to_string(), |rate| format!("{rate:.3}"));
    let fill = view.listeners.iter().map(|listener| listener.fill).fold(0.0, f64::max);
    format!(
        "listen_overflows_per_second={} listen_drops_per_second={} max_accept_queue_fill={fill:.3} critical={} warning={}",
        rate("ListenOverflows"),
        rate("ListenDrops"),
        outcome.count(Severity::Critical),
        outcome.count(Severity::Warning)
    )
}

/// The current sample and, with an interval, the one taken that long before it.
fn take_samples(options: CollectPlan, interval: Option<Duration>) -> (Sample, Option<Sample>) {
    let mut collector = Collector::new(options);
    let first = collector.collect();
    match interval {
        Some(pause) => {
            std::thread::sleep(pause);
            (collector.collect(), Some(first))
        }
        None => (first, None),
    }
}

/// Fails when none of the central sources could be read: such a report would say nothing.
fn check_readable(sample: &Sample) -> Result<(), Failure> {
    if sample.tcp_listeners.is_some() || sample.netstat.is_some() || sample.tcp_summary.is_some() {
        return Ok(());
    }
    let reason =
        sample.unavailable.first().map_or("unknown reason".to_string(), |u| format!("{}: {}", u.source, u.reason));
    Err(Failure::runtime(format!("nothing could be read from the kernel ({reason})")))
}

/// Writes to stdout; a reader that went away (`| head`) ends the run quietly.
fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(error) => Err(Failure::runtime(format!("writing to standard output: {error}"))),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers see the old file or the complete new one, never a partial one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let fail = |what: &str, error: &dyn std::fmt::Display| {
        Failure::runtime(format!("cannot {what} {}: {error}", path.display()))
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file =
        tempfile::Builder::new().prefix(".sockscope-").tempfile_in(directory).map_err(|error| fail("write", &error))?;
    file.write_all(bytes).and_then(|()| file.as_file().sync_all()).map_err(|error| fail("write", &error))?;
    set_report_permissions(file.as_file(), path).map_err(|error| fail("write", &error))?;
    file.persist(path).map_err(|error| fail("write", &error.error))?;
    Ok(())
}

/// Gives the new file the existing file's permissions, or the usual 0666 minus the umask
/// (the temporary file was created 0600).
fn set_report_permissions(file: &std::fs::File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(path) {
        Ok(existing) => existing.permissions().mode() & 0o7777,
        Err(_) => {
            let mask = rustix::process::umask(rustix::fs::Mode::empty());
            rustix::process::umask(mask);
            0o666 & !mask.bits()
        }
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}
