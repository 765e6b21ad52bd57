//! Hostile and odd input to the command line, as root: what `report -o` may replace, intervals
//! too large for a `Duration`, configuration files that are not files, too large or not the
//! invoking user's, thresholds outside their documented ranges, and check mode's exit status
//! when its own output cannot be written. Each case must end in one line on stderr and a
//! documented exit status — never a panic, a hang, or a changed file that was not asked for.

mod common;

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{SOCKSCOPE, Tmux, require_root};

/// Runs `command`, killing it when it has not ended after `limit`; `None` when it had to be
/// killed (it hung).
fn bounded(mut command: Command, limit: Duration) -> Option<Output> {
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run");
    let started = Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().expect("wait").is_some() {
            return Some(child.wait_with_output().expect("output"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn sockscope(args: &[&str]) -> Command {
    let mut command = Command::new(SOCKSCOPE);
    command.args(args);
    command
}

/// Runs sockscope with `args` (30 s at most); returns the exit status, stdout and stderr.
fn run(command: Command) -> (Option<i32>, String, String) {
    let what = format!("{command:?}");
    let output = bounded(command, Duration::from_secs(30)).unwrap_or_else(|| panic!("{what} hung"));
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// Asserts one `sockscope:` line on stderr containing `mentions`.
fn assert_one_line(stderr: &str, mentions: &str) {
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(stderr.starts_with("sockscope: "), "{stderr}");
    assert!(stderr.contains(mentions), "{stderr:?} should mention {mentions:?}");
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).expect("stat").permissions().mode()
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: mounts a private /dev in a mount namespace")]
fn report_o_leaves_dev_null_and_dev_stdout_as_they_are() {
    require_root();
    // A private /dev (a tmpfs with its own null node and stdout symlink, as on the host), so
    // that a regression replaces the namespace's /dev/null, never the host's.
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /dev; mknod -m 666 /dev/null c 1 3; ln -s /proc/self/fd/1 /dev/stdout; \
         for target in /dev/null /dev/stdout; do \
           {SOCKSCOPE} --no-processes report -o $target 2>&1 >/dev/null | sed \"s|^|$target: |\" || true; \
         done; stat -c '%n %F' /dev/null /dev/stdout; readlink /dev/stdout"
    );
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    let (status, stdout, stderr) = run(command);
    assert_eq!(status, Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[lines.len() - 3..],
        ["/dev/null character special file", "/dev/stdout symbolic link", "/proc/self/fd/1"],
        "{stdout}"
    );
    for target in ["/dev/null", "/dev/stdout"] {
        let refusal = lines.iter().filter(|line| line.starts_with(&format!("{target}: "))).count();
        assert_eq!(refusal, 1, "one line refusing {target}:\n{stdout}");
    }
    assert!(stdout.contains("/dev/null: sockscope: error: ") && stdout.contains("character device"), "{stdout}");
}

#[test]
fn report_o_refuses_a_symlink_and_leaves_it_and_its_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("target.txt");
    let link = dir.path().join("report.txt");
    std::fs::write(&target, "original\n").expect("write");
    std::os::unix::fs::symlink("target.txt", &link).expect("symlink");
    let (status, stdout, stderr) = run(sockscope(&["--no-processes", "report", "-o", link.to_str().expect("utf-8")]));
    assert_eq!(status, Some(1), "{stderr}");
    assert_one_line(&stderr, "symbolic link");
    assert!(stdout.is_empty());
    assert!(std::fs::symlink_metadata(&link).expect("stat").file_type().is_symlink());
    assert_eq!(std::fs::read_link(&link).expect("readlink"), Path::new("target.txt"));
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "original\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left behind: {leftovers:?}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: the setuid bit matters on a root-owned file")]
fn report_o_drops_setuid_and_setgid_from_the_replaced_mode() {
    require_root();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.txt");
    std::fs::write(&path, "old\n").expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o6755)).expect("chmod");
    assert_eq!(mode(&path) & 0o7777, 0o6755);
    let (status, _, stderr) = run(sockscope(&["--no-processes", "report", "-o", path.to_str().expect("utf-8")]));
    assert_eq!(status, Some(0), "{stderr}");
    let metadata = std::fs::symlink_metadata(&path).expect("stat");
    assert!(metadata.file_type().is_file());
    assert_eq!(metadata.permissions().mode() & 0o7777, 0o755, "setuid and setgid are not copied");
    assert!(std::fs::read_to_string(&path).expect("read").contains("Listeners"), "the report replaced it");
}

#[test]
fn report_o_refuses_a_fifo_without_hanging() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("report.fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).expect("mkfifo");
    let (status, _, stderr) = run(sockscope(&["--no-processes", "report", "-o", fifo.to_str().expect("utf-8")]));
    assert_eq!(status, Some(1), "{stderr}");
    assert_one_line(&stderr, "fifo");
    assert!(std::fs::symlink_metadata(&fifo).expect("stat").file_type().is_fifo(), "still a fifo");
}

#[test]
fn check_exits_unknown_when_its_output_cannot_be_written() {
    for format in ["text", "json"] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
        let mut command = sockscope(&["--no-processes", "check", "--interval", "10ms", "--format", format]);
        command.stdin(Stdio::null()).stdout(full).stderr(Stdio::piped());
        let output = command.output().expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(3), "check --format {format} > /dev/full: {stderr}");
        assert_one_line(&stderr, "standard output");
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: runs check as uid 65534 against pid 1's namespace")]
fn a_runtime_failure_in_check_is_unknown() {
    require_root();
    let mut command = Command::new("setpriv");
    command.args(["--reuid", "65534", "--regid", "65534", "--clear-groups", SOCKSCOPE, "check", "--pid", "1"]);
    let (status, stdout, stderr) = run(command);
    assert_eq!(status, Some(3), "{stderr}");
    assert_one_line(&stderr, "Permission denied");
    assert!(
        stdout.starts_with("SOCKSCOPE UNKNOWN - ") && stdout.contains("/proc/1/ns/net: Permission denied"),
        "{stdout}"
    );
}

/// Interval values a `Duration` cannot hold, or that are no duration at all.
const HUGE_INTERVALS: [&str; 7] = ["1e20", "1e99", "1e308", "inf", "-inf", "18446744073709551616", "1e3000"];

#[test]
fn intervals_too_large_for_a_duration_are_usage_errors_in_every_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("rec");
    let recording = recording.to_str().expect("utf-8");
    for value in HUGE_INTERVALS {
        for args in [
            vec!["report", "--interval", value],
            vec!["--interval", value],
            vec!["record", "-o", recording, "--interval", value],
            vec!["serve", "--interval", value],
        ] {
            let (status, stdout, stderr) = run(sockscope(&args));
            assert_eq!(status, Some(2), "{args:?}: {stderr}");
            assert_one_line(&stderr, "interval");
            assert!(stdout.is_empty(), "{args:?}: {stdout}");
        }
        let (status, stdout, stderr) = run(sockscope(&["check", "--interval", value]));
        assert_eq!(status, Some(3), "check --interval {value}: {stderr}");
        assert_one_line(&stderr, "interval");
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.starts_with("SOCKSCOPE UNKNOWN - ") && stdout.contains("interval"), "{stdout}");
    }
    assert!(!recording.is_empty() && !Path::new(recording).exists(), "nothing recorded");
}

#[test]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux")]
fn the_dashboard_rejects_a_huge_interval_on_a_terminal() {
    let tmux = Tmux::start("huge-interval", "--interval 1e20", 100, 20);
    let screen = tmux.wait_for(&["EXIT=2"]);
    assert!(screen.contains("sockscope: ") && screen.contains("interval"), "{screen}");
    assert!(!screen.contains("panicked"), "{screen}");
}

/// Runs `report` with `--config path` and `env`; returns status and stderr.
fn with_config(path: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut command = sockscope(&["--no-processes", "--config", path.to_str().expect("utf-8"), "report"]);
    command.envs(env.iter().copied());
    let (status, _, stderr) = run(command);
    (status, stderr)
}

#[test]
fn thresholds_outside_their_ranges_are_one_line_naming_key_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let cases = [
        ("time_wait_buckets = 80", "time_wait_buckets"),
        ("tcp_mem_critical = 0", "tcp_mem_critical"),
        ("syn_queue_ratio = nan", "syn_queue_ratio"),
        ("softnet_rate = inf", "softnet_rate"),
        ("close_wait_seconds = -5.0", "close_wait_seconds"),
        ("accept_queue_sustained_samples = 0", "accept_queue_sustained_samples"),
        ("retransmit_warning = 0.2", "retransmit_warning"),
    ];
    for (line, key) in cases {
        std::fs::write(&path, format!("# sockscope\n[thresholds]\n{line}\n")).expect("write");
        let (status, stderr) = with_config(&path, &[]);
        assert_eq!(status, Some(2), "{line}: {stderr}");
        assert_one_line(&stderr, &format!("thresholds.{key}"));
        assert!(stderr.contains("line 3"), "{line}: {stderr}");
    }
    let (status, stdout, stderr) = run(sockscope(&["--config", path.to_str().expect("utf-8"), "check"]));
    assert_eq!(status, Some(3), "{stderr}");
    assert_one_line(&stderr, "retransmit_critical");
    assert!(stdout.starts_with("SOCKSCOPE UNKNOWN - ") && stdout.contains("retransmit_warning"), "{stdout}");
}

#[test]
fn configs_that_are_not_regular_files_are_refused_without_reading_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("config.fifo");
    rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_raw_mode(0o600)).expect("mkfifo");
    for (path, kind) in [(Path::new("/dev/zero"), "character device"), (&fifo, "fifo"), (dir.path(), "directory")] {
        let started = Instant::now();
        let (status, stderr) = with_config(path, &[]);
        assert_eq!(status, Some(2), "{}: {stderr}", path.display());
        assert_one_line(&stderr, "not a regular file");
        assert!(stderr.contains(kind) && stderr.contains(&path.display().to_string()), "{stderr}");
        assert!(started.elapsed() < Duration::from_secs(10), "{} took {:?}", path.display(), started.elapsed());
    }
}

#[test]
fn a_config_larger_than_one_mebibyte_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let comment = format!("# {}\n", "x".repeat(1021));
    std::fs::write(&path, comment.repeat(2048)).expect("write");
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), 2 << 20);
    let (status, stderr) = with_config(&path, &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert_one_line(&stderr, "larger than 1 MiB");
    let exactly = dir.path().join("exactly.toml");
    std::fs::write(&exactly, comment.repeat(1024)).expect("write");
    assert_eq!(with_config(&exactly, &[]).0, Some(0), "1 MiB itself is accepted");
}

/// A line shaped like /etc/shadow's, with a hash that must never reach stderr.
const SHADOW_HASH: &str = "$6$Zq1Ux8Hd$S3cr3tHashThatMustNotLeak0123456789abcdefABCDEF";

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: reads a root-owned 0600 file on behalf of a sudo user")]
fn a_config_that_is_not_the_invoking_users_is_not_echoed() {
    require_root();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shadow");
    std::fs::write(&path, format!("root:{SHADOW_HASH}:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\n")).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (status, stderr) = with_config(&path, &[("SUDO_UID", "65534"), ("SUDO_USER", "nobody")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert_one_line(&stderr, "line 1, column ");
    for secret in [SHADOW_HASH, "S3cr3t", "root:", "19700"] {
        assert!(!stderr.contains(secret), "{secret:?} leaked: {stderr}");
    }
    // A file that is the invoking user's shows its text, as before.
    std::fs::write(&path, "[thresholds]\naccept_queue_fil = 0.9\n").expect("write");
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).expect("chown");
    let (status, stderr) = with_config(&path, &[("SUDO_UID", "65534"), ("SUDO_USER", "nobody")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert_one_line(&stderr, "accept_queue_fil");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: reads the default config on behalf of a sudo user")]
fn the_default_config_read_for_a_sudo_user_is_not_followed_nor_someone_elses() {
    require_root();
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("sockscope");
    std::fs::create_dir(&home).expect("mkdir");
    let default = home.join("config.toml");
    let elsewhere = dir.path().join("elsewhere.toml");
    std::fs::write(&elsewhere, "silence = [\"time-wait-myths\"]\n").expect("write");
    std::os::unix::fs::chown(&elsewhere, Some(65534), Some(65534)).expect("chown");
    std::os::unix::fs::symlink(&elsewhere, &default).expect("symlink");
    let config_home = dir.path().to_str().expect("utf-8");
    let sudo = [("XDG_CONFIG_HOME", config_home), ("SUDO_UID", "65534"), ("SUDO_USER", "nobody")];
    let report = |env: &[(&str, &str)]| {
        let mut command = sockscope(&["--no-processes", "report"]);
        command.envs(env.iter().copied());
        run(command)
    };
    let (status, _, stderr) = report(&sudo);
    assert_eq!(status, Some(2), "{stderr}");
    assert_one_line(&stderr, "symbolic link");
    std::fs::remove_file(&default).expect("rm");
    std::fs::rename(&elsewhere, &default).expect("mv");
    std::os::unix::fs::chown(&default, Some(1234), Some(1234)).expect("chown");
    let (status, _, stderr) = report(&sudo);
    assert_eq!(status, Some(2), "{stderr}");
    assert_one_line(&stderr, "owned by uid 1234");
    for owner in [65534, 0] {
        std::os::unix::fs::chown(&default, Some(owner), Some(owner)).expect("chown");
        let (status, _, stderr) = report(&sudo);
        assert_eq!(status, Some(0), "owned by {owner}: {stderr}");
    }
    assert_eq!(std::fs::symlink_metadata(&default).expect("stat").uid(), 0);
}

#[test]
fn an_error_quoting_the_users_own_config_reaches_the_terminal_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    // A key with a carriage return and an escape sequence: the TOML error quotes the line.
    std::fs::write(&path, "[thresholds]\naccept\r_queue\x1b]2;OWNED\x07 = 1\n").expect("write");
    let (status, stderr) = with_config(&path, &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert_one_line(&stderr, "config.toml");
    assert!(!stderr.trim_end_matches('\n').chars().any(|c| c.is_control()), "no control character: {stderr:?}");
}
