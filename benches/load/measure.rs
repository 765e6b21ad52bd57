//! Timing one command as a child process: its wall time, its CPU time from `wait4`'s rusage,
//! and its peak RSS from GNU time (a child's own `ru_maxrss` never drops below the RSS of the
//! large process that forked it; `/usr/bin/time` is 1 MiB, and wraps every command alike).

use std::io::{Read, Seek};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GNU_TIME: &str = "/usr/bin/time";

/// A command to time: its argv, extra environment, and whether to keep its standard output
/// (written to a temporary file, like `ss` writes to /dev/null; otherwise it is discarded).
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The program and its arguments.
    pub argv: Vec<String>,
    /// Variables added to the environment.
    pub env: Vec<(String, String)>,
    /// Keep standard output in [`Measure::stdout`].
    pub keep_stdout: bool,
}

impl Invocation {
    /// A command whose output is discarded.
    pub fn new(argv: &[&str]) -> Invocation {
        Invocation { argv: argv.iter().map(|arg| arg.to_string()).collect(), env: Vec::new(), keep_stdout: false }
    }
}

/// What one run of a command cost.
#[derive(Clone, Debug)]
pub struct Measure {
    /// From spawn to reaped.
    pub wall: Duration,
    /// User plus system time of the command (and of the GNU time wrapper, the same for all).
    pub cpu: Duration,
    /// Peak resident set in KiB; -1 without GNU time.
    pub max_rss_kib: i64,
    /// Standard output, when the invocation keeps it.
    pub stdout: Option<String>,
}

/// Runs `invocation` in the calling thread's namespace and measures it; panics if it fails.
// The child is reaped by wait4 below (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
pub fn measure(invocation: &Invocation) -> Measure {
    let rss_file = tempfile::NamedTempFile::new().expect("a temporary file for GNU time");
    let wrapped: Vec<String> = if std::path::Path::new(GNU_TIME).exists() {
        [GNU_TIME.to_string(), "-f".into(), "%M".into(), "-o".into(), rss_file.path().display().to_string()]
            .into_iter()
            .chain(invocation.argv.iter().cloned())
            .collect()
    } else {
        invocation.argv.clone()
    };
    let mut output = tempfile::tempfile().expect("a temporary file for the output");
    let stdout = if invocation.keep_stdout {
        Stdio::from(output.try_clone().expect("clone the output file"))
    } else {
        Stdio::null()
    };
    let mut command = Command::new(&wrapped[0]);
    command.args(&wrapped[1..]).envs(invocation.env.iter().cloned()).stdout(stdout);
    let started = Instant::now();
    let child = command.spawn().unwrap_or_else(|error| panic!("spawn {:?}: {error}", invocation.argv));
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: waiting for our own child with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4 for {:?}", invocation.argv);
    assert!(std::process::ExitStatus::from_raw(status).success(), "{:?} failed", invocation.argv);
    let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
    let max_rss_kib =
        std::fs::read_to_string(rss_file.path()).ok().and_then(|text| text.trim().parse().ok()).unwrap_or(-1);
    let stdout = invocation.keep_stdout.then(|| {
        let mut text = String::new();
        output.rewind().expect("rewind the output");
        output.read_to_string(&mut text).expect("read the output");
        text
    });
    Measure { wall, cpu, max_rss_kib, stdout }
}

fn timeval(value: libc::timeval) -> Duration {
    Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
}
