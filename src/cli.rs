//! The command line, defined once with clap: parsing, `--help`, the man page and the shell
//! completions all come from these types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::render::{CheckFormat, Format};
use crate::tui::theme::ThemeName;

const ABOUT: &str = "Inspect Linux TCP listen queues, SYN queues, drops and the kernel settings that bound them";

const LONG_ABOUT: &str = "\
sockscope shows whether a Linux host's TCP listen queues are overflowing and why: accept-queue fill \
and backlog per listener, SYN queue, TCP state counts, overflow and drop counters, the kernel settings \
that bound them, interface MTUs and ephemeral-port use, and an advisor that names each problem with its \
evidence and remedy. It reads the kernel directly (sock_diag and rtnetlink, /proc/net, /proc/sys/net) and \
never changes anything.

Without a subcommand, on a terminal, it opens the live dashboard: listeners ranked by accept-queue fill \
with their history, overflow counters as rates, TCP states, ports, interfaces, kernel settings and the \
advisor's findings, refreshed every --interval. Press ? there for the keys. When standard output is not a \
terminal (a pipe or a file) it prints the text report instead.";

const AFTER_LONG_HELP: &str = "\
Exit status:
  0  success
  1  runtime failure (for example the output file could not be written)
  2  usage error (bad arguments or configuration)
  check mode: 0 OK (nothing above info), 1 WARNING, 2 CRITICAL, 3 UNKNOWN (could not judge, or
  the check itself failed: a usage error, a bad configuration, output that cannot be written)
  serve: 0 after SIGTERM or SIGINT; 1 when it cannot listen (for example the port is in use)
  events: 0 after SIGTERM, SIGINT or a closed pipe; 1 when the eBPF source cannot run (the
  reason is on stderr: no privileges, no BTF, a hook the kernel lacks)

Dashboard exit status: 0 after q or Ctrl-C; 128 + the signal number after SIGTERM, SIGHUP, SIGQUIT or SIGINT.

Examples:
  sockscope                                the live dashboard (the text report when piped)
  sockscope --interval 250ms --theme mono  sample four times a second, no colours
  sockscope report                         one sample, counters since boot
  sockscope report --interval 5s           two samples 5 s apart, with per-second rates
  sockscope report --format json | jq '.listeners[] | select(.full)'
  sockscope report -o /tmp/net-report.txt  write the report atomically to a file
  sockscope check                          for Nagios/Icinga: status line, findings, exit 0-3
  sockscope --netns web report             the namespace `ip netns` calls web
  sockscope --pid 4242                     the dashboard of a container's namespace (its main pid)
  sockscope report --all-netns             every namespace on the host, a summary table first
  sockscope check --all-netns              one status over every namespace
  sockscope record -o /var/lib/sockscope/rec --max-size 64M --keep 23
                                           record every second, a ring of 24 files of 64 MiB
  sockscope replay /var/lib/sockscope/rec* the dashboard over the recording, with time controls
  sockscope report --from rec --at 03:12   the report as recorded at 03:12, rates included
  sockscope check --from rec --at -10m     judge the moment ten minutes before the end
  sockscope report --format prometheus -o /var/lib/node_exporter/textfile/sockscope.prom
                                           for node_exporter's textfile collector (written atomically)
  sockscope report --format openmetrics    the same series in OpenMetrics 1.0
  sockscope events --format json           listen-queue drops and accept waits as JSON lines (eBPF, root)
  sockscope serve                          Prometheus metrics at http://127.0.0.1:9437/metrics
  sockscope --all-netns serve --listen 0.0.0.0:9437 --interval 15s
                                           every namespace, on every address, one collection per 15 s

Privileges: everything works unprivileged except naming the processes that own other users' \
sockets, which needs root (or CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH), and entering another network namespace (--netns, \
--pid, --all-netns), which needs root (CAP_SYS_ADMIN). A --netns or --pid that names no namespace \
is a usage error (2); one that exists but cannot be entered is a runtime failure (1).";

/// `sockscope`: the whole command line.
#[derive(Debug, Parser)]
#[command(name = "sockscope", version, long_version = crate::build_info::long_version(), about = ABOUT, long_about = LONG_ABOUT, after_long_help = AFTER_LONG_HELP)]
pub struct Cli {
    /// What to do; without one, open the dashboard (or print the text report when piped).
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options of the dashboard.
    #[command(flatten)]
    pub dashboard: DashboardArgs,

    /// Do not look up which processes own the sockets (skips the /proc/<pid>/fd walk).
    #[arg(long, global = true)]
    pub no_processes: bool,

    /// Inspect the network namespace NAME (as `ip netns` names it, under /run/netns) or the one
    /// at PATH (/proc/PID/ns/net, a runtime's bind mount) instead of sockscope's own. Needs root
    /// (CAP_SYS_ADMIN).
    #[arg(long, global = true, value_name = "NAME|PATH", conflicts_with_all = ["pid", "all_netns"])]
    pub netns: Option<String>,

    /// Inspect the network namespace of process PID (a container's main process). Needs root
    /// (CAP_SYS_ADMIN).
    #[arg(long, global = true, value_name = "PID", conflicts_with = "all_netns")]
    pub pid: Option<u32>,

    /// Inspect every network namespace in use (of processes, under /run/netns, bind mounts),
    /// side by side, each with its own listeners, counters and settings. Needs root to enter
    /// other namespaces; those it cannot enter are listed as unavailable.
    #[arg(long, global = true)]
    pub all_netns: bool,

    /// Configuration (advisor thresholds, silenced checks, dashboard keys); default
    /// $XDG_CONFIG_HOME/sockscope/config.toml when it exists.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a one-shot report: findings, listeners, overflow counters, TCP states, ports, interfaces, settings.
    Report(ReportArgs),
    /// Judge the host for monitoring: sample about every second over --interval, print a Nagios-style status line and the findings, exit 0/1/2/3.
    Check(CheckArgs),
    /// Record samples to a file, compactly, for `replay` and `report --from` after an incident.
    Record(RecordArgs),
    /// Replay recordings in the dashboard: every view, with time controls (arrows, [ ], t, space).
    Replay(ReplayArgs),
    /// Serve Prometheus metrics over HTTP at /metrics (OpenMetrics or the classic text format), read-only, until SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Stream what the kernel does at each listener as it happens (eBPF): drops by reason, SYN cookies, SYN-ACK retransmits, accept-queue waits; one line each, until SIGINT or SIGTERM.
    Events(EventsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on standard output.
    Manpage,
}

/// Options of `sockscope report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Write the report to FILE (atomically: a reader never sees a partial file) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Take two samples this far apart and report per-second rates (e.g. 5s, 500ms, 2).
    #[arg(short, long, value_name = "DURATION", value_parser = parse_interval, conflicts_with = "from")]
    pub interval: Option<Duration>,

    /// Only what is cheap on a host with many connections: listeners and their queues,
    /// counters, settings, interfaces, UDP — not the walk of every socket (TCP states, SYN_RECV
    /// per listener, ports, flows, CLOSE_WAIT), whose checks are then not evaluated.
    #[arg(long, conflicts_with = "from")]
    pub listeners: bool,

    /// Report from a recording instead of the live kernel.
    #[command(flatten)]
    pub recorded: FromArgs,
}

/// Reading a recorded moment instead of the live kernel (`report` and `check`).
#[derive(Debug, Clone, Default, Args)]
pub struct FromArgs {
    /// Read the recording FILE (`sockscope record`) instead of the live kernel; repeat it for
    /// the files of a rotated ring (FILE, FILE.1, ...), in any order.
    #[arg(long, value_name = "FILE")]
    pub from: Vec<PathBuf>,

    /// The recorded moment: 03:12 or 03:12:30 (local time, the last day the recording has it),
    /// 2026-12-03 03:12, RFC 3339 (2026-12-03T03:12:00Z), or -5m (before the end). Default:
    /// the last round. Rates come from the rounds recorded before it.
    #[arg(long, value_name = "TIME", requires = "from")]
    pub at: Option<String>,
}

/// Options of `sockscope record`.
#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The recording to write; an existing recording is continued.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,

    /// Time between samples.
    #[arg(short, long, value_name = "DURATION", value_parser = parse_interval, default_value = "1s")]
    pub interval: Duration,

    /// Stop after N samples.
    #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Stop after this long (e.g. 10m, 24h).
    #[arg(long, value_name = "DURATION", value_parser = parse_span)]
    pub duration: Option<Duration>,

    /// Finish a file once it reaches this size (e.g. 64M, 1G; at least 64K), then rotate or stop
    /// (--when-full). A file ends at the first sample that takes it past the size.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_size: Option<u64>,

    /// At --max-size: rotate (FILE becomes FILE.1, FILE.1 FILE.2, ...; the oldest beyond --keep
    /// is removed) or stop.
    #[arg(long, value_enum, default_value_t = crate::record::WhenFull::Rotate, requires = "max_size")]
    pub when_full: crate::record::WhenFull,

    /// How many finished files rotation keeps besides FILE.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub keep: u16,

    /// Also record every TCP socket with its tcp_info, so a replay's Connections and States
    /// views have them (large: a struct per socket per sample).
    #[arg(long)]
    pub connections: bool,
}

/// Options of `sockscope replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording (FILE, or the files of a rotated ring in any order).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Start at this recorded moment (as `report --at`); default the first round.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Colours: auto (mono when NO_COLOR is set), default, light, mono.
    #[arg(long, value_enum, default_value_t = ThemeName::Auto)]
    pub theme: ThemeName,

    /// Do not capture the mouse.
    #[arg(long)]
    pub no_mouse: bool,
}

/// Options of the dashboard (no subcommand, standard output a terminal).
#[derive(Debug, Clone, Default, Args)]
pub struct DashboardArgs {
    /// Time between samples (default 1s; + and - change it live). When piped, the text report
    /// takes two samples this far apart.
    #[arg(short, long, value_name = "DURATION", value_parser = parse_interval)]
    pub interval: Option<Duration>,

    /// Colours: auto (mono when NO_COLOR is set), default, light (for light backgrounds), mono.
    #[arg(long, value_enum, default_value_t = ThemeName::Auto)]
    pub theme: ThemeName,

    /// Do not capture the mouse (lets the terminal select text; m toggles it live).
    #[arg(long)]
    pub no_mouse: bool,

    /// The collector's share of one CPU (default 3%, or `[collect] budget` in the config):
    /// listeners, counters, settings and interfaces are read every interval, and the walk of
    /// every socket (states, SYN_RECV, ports, flows) is spaced out to stay within it, its age
    /// shown. `off` walks every interval.
    #[arg(long, value_name = "PERCENT|off", value_parser = parse_budget)]
    pub budget: Option<BudgetChoice>,
}

/// A `--budget` as given: a share of one CPU, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetChoice(pub Option<crate::sample::Budget>);

fn parse_budget(text: &str) -> Result<BudgetChoice, String> {
    crate::sample::Budget::parse(text).map(BudgetChoice)
}

/// Options of `sockscope check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The span judged, sampled about every second throughout it (e.g. 5s, 500ms, 10).
    #[arg(short, long, value_name = "DURATION", value_parser = parse_interval, default_value = "5s")]
    pub interval: Duration,

    /// Output format: the status line and findings as text, or JSON.
    #[arg(short, long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,

    /// Judge a recorded moment instead of the live kernel.
    #[command(flatten)]
    pub recorded: FromArgs,

    /// Print every check id with what it looks at and the thresholds it reads (the values in
    /// use with `--config`, and their defaults), then exit without sampling.
    #[arg(long, conflicts_with_all = ["from", "format"])]
    pub list: bool,
}

/// Options of `sockscope events`.
#[derive(Debug, Clone, Args)]
pub struct EventsArgs {
    /// Output format: aligned text, or one JSON object per line.
    #[arg(short, long, value_enum, default_value_t = crate::modes::events::EventsFormat::Text)]
    pub format: crate::modes::events::EventsFormat,
}

/// Options of `sockscope serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on, e.g. `0.0.0.0:9437` or `[::1]:9437`. The default is loopback
    /// only: expose it further only where the network is trusted.
    #[arg(short, long, value_name = "ADDR:PORT", default_value = crate::modes::serve::DEFAULT_LISTEN)]
    pub listen: SocketAddr,

    /// Shortest time between two collections: scrapes within it share one sample (e.g. 5s, 15s, 1m).
    #[arg(short, long, value_name = "DURATION", value_parser = parse_interval, default_value = "5s")]
    pub interval: Duration,
}

impl Default for ReportArgs {
    fn default() -> Self {
        ReportArgs {
            format: Format::Text,
            output: None,
            interval: None,
            listeners: false,
            recorded: FromArgs::default(),
        }
    }
}

/// The shortest and longest intervals accepted between two samples.
pub const INTERVAL_RANGE: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(3600));

/// Parses `5s`, `500ms`, `1m`, or a bare number of seconds (`2`, `0.5`). A number too large
/// for a `Duration` (`1e20`, `inf`) is out of range like any other above the longest interval.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_nan() || seconds < 0.0 => return Err(format!("'{text}' is not a duration")),
        Ok(seconds) => Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX),
        Err(_) => humantime::parse_duration(text).map_err(|error| format!("'{text}' is not a duration ({error})"))?,
    };
    let (shortest, longest) = INTERVAL_RANGE;
    if duration < shortest || duration > longest {
        return Err(format!("the interval must lie between {}ms and {}s", shortest.as_millis(), longest.as_secs()));
    }
    Ok(duration)
}

/// Parses a length of time for `--duration` (`10m`, `24h`, `90s`, `2d`).
pub fn parse_span(text: &str) -> Result<Duration, String> {
    let duration =
        humantime::parse_duration(text.trim()).map_err(|error| format!("'{text}' is not a duration ({error})"))?;
    if duration.is_zero() || duration > Duration::from_secs(100 * 365 * 86_400) {
        return Err("the duration must be longer than 0 and shorter than a century".to_string());
    }
    Ok(duration)
}

/// The smallest `--max-size`: a file must hold a few chunks.
pub const MIN_MAX_SIZE: u64 = 64 * 1024;

/// Parses a size: bytes, or with K, M, G, T (powers of 1024, `KiB`/`MB` spellings too).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let number: u64 = number.parse().map_err(|_| format!("'{text}' is not a size (e.g. 64M, 1G, 500000)"))?;
    let shift = match unit.trim().to_ascii_lowercase().trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("'{text}' is not a size (e.g. 64M, 1G, 500000)")),
    };
    let bytes = number.checked_mul(1u64 << shift).ok_or_else(|| format!("'{text}' is too large"))?;
    if bytes < MIN_MAX_SIZE {
        return Err(format!("the size must be at least {}K", MIN_MAX_SIZE / 1024));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn intervals_with_and_without_units() {
        assert_eq!(parse_interval("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_interval("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_interval("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("2h").is_err());
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("-1").is_err());
        assert!(parse_interval("NaN").is_err());
        for huge in ["1e20", "1e99", "1e308", "inf", "18446744073709551616", "3601"] {
            assert!(parse_interval(huge).is_err_and(|error| error.contains("between")), "{huge}");
        }
        assert!(parse_interval("-inf").is_err() && parse_interval("99999999999999999999s").is_err());
    }

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100000"), Ok(100_000));
        assert_eq!(parse_size("64kb"), Ok(64 << 10));
        assert!(parse_size("1K").unwrap_err().contains("at least"));
        assert!(parse_size("99999999999T").unwrap_err().contains("too large"));
        assert!(parse_size("lots").is_err() && parse_size("-5M").is_err());
        assert_eq!(parse_span("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_span("0s").is_err() && parse_span("1e20s").is_err());
        assert!(parse_span("99999999999999999999s").is_err() && parse_span("inf").is_err());
    }
}
