//! The least-privilege install, run for real: a copy of sockscope that is `root:nobody 0750`
//! with file capabilities (`cap_sys_ptrace,cap_dac_read_search+ep`), in a temporary directory,
//! run as uid 65534 — and the same with a systemd unit's ambient capabilities, as `setpriv`
//! grants them. The capabilities must name the owner of a root listener, and must never open a
//! file the user names (`--config`, `-o`, a recording) that the user could not open: the
//! user's own permission error, the file's text never shown. The build output is never given
//! capabilities; each copy is removed with its directory.
//!
//! `SOCKSCOPE_UNDER_TEST=/usr/bin/sockscope` runs these tests against another binary (CI does,
//! against the installed package).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{SOCKSCOPE, Tmux, listener, local_addr, require_root};

/// The user the tests run sockscope as: nobody.
const NOBODY: &str = "65534";

/// The capabilities that name the owners of other users' sockets.
const OWNER_CAPS: &str = "cap_sys_ptrace,cap_dac_read_search+ep";

/// The binary the tests copy: `SOCKSCOPE_UNDER_TEST`, else the one cargo built.
fn under_test() -> PathBuf {
    std::env::var_os("SOCKSCOPE_UNDER_TEST").map_or_else(|| PathBuf::from(SOCKSCOPE), PathBuf::from)
}

/// A temporary directory everyone may enter, holding copies of the binary; removed on drop.
struct Install {
    dir: tempfile::TempDir,
}

impl Install {
    fn new() -> Install {
        let dir = tempfile::Builder::new().prefix("sockscope-privileges-").tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Install { dir }
    }

    /// A copy named `name`, owned by root and group 65534 with `mode`, with `caps` set unless
    /// empty.
    fn copy(&self, name: &str, mode: u32, caps: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::copy(under_test(), &path).expect("copy the binary");
        std::os::unix::fs::chown(&path, Some(0), Some(65534)).expect("chown");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if !caps.is_empty() {
            common::run_ok(Command::new("setcap").arg(caps).arg(&path));
        }
        path
    }

    /// The group-restricted copy with the owners' capabilities.
    fn capable(&self) -> PathBuf {
        self.copy("sockscope", 0o750, OWNER_CAPS)
    }

    /// A path in the directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// `binary ARGS` as uid and gid 65534 with no supplementary groups.
fn as_nobody(binary: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"])
        .arg(binary)
        .args(args)
        .env("HOME", "/nonexistent")
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .expect("setpriv runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The pids named as the owners of the listener on `port` in a JSON report.
fn owners(report: &serde_json::Value, port: u16) -> Vec<u64> {
    let listeners = report["listeners"].as_array().expect("listeners");
    let row = listeners.iter().find(|row| row["local_port"] == port).expect("the listener is reported");
    row["processes"].as_array().expect("processes").iter().filter_map(|process| process["pid"].as_u64()).collect()
}

fn report_of(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("valid JSON")
}

/// Asserts that `output` is one line on stderr naming the user's own permission error, with
/// exit status `code`, and that nothing of `secret` shows anywhere.
fn assert_refused(output: &Output, code: i32, secret: &str) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("Permission denied"), "the user's own error: {stderr}");
    for shown in [&stdout, &stderr] {
        assert!(!shown.contains(secret), "the file's text leaked: {shown}");
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: sets file capabilities and runs as uid 65534")]
fn a_group_restricted_capable_copy_names_the_owner_of_a_root_listener() {
    require_root();
    let install = Install::new();
    let capable = install.capable();
    let plain = install.copy("plain", 0o750, "");
    let socket = listener("127.0.0.1:0", 16);
    let port = local_addr(&socket).port();
    let own_pid = u64::from(std::process::id());

    let report = report_of(&as_nobody(&capable, &["report", "--format", "json"]));
    assert_eq!(owners(&report, port), [own_pid], "the capable copy names the root listener's owner");
    let report = report_of(&as_nobody(&plain, &["report", "--format", "json"]));
    assert!(owners(&report, port).is_empty(), "without capabilities nobody cannot see root's descriptors");
    assert!(report["collection"]["processes_denied"].as_u64().is_some_and(|denied| denied > 0));

    // setpriv execs with root's capabilities still effective, which would pass the permission
    // check: a shell without them execs the copy.
    let outsider = Command::new("setpriv")
        .args(["--reuid", NOBODY, "--regid", "4242", "--clear-groups", "/bin/sh", "-c", "exec \"$0\" --version"])
        .arg(&capable)
        .output()
        .expect("setpriv runs");
    assert!(!outsider.status.success(), "a user outside the group cannot run the capable copy");
    assert!(text(&outsider.stderr).contains("Permission denied"), "{}", text(&outsider.stderr));
}

/// A root-only file (0600 in a directory everyone may enter) whose text must never be shown.
const SECRET: &str = "root:$y$j9T$not-for-nobody:19000:0:99999:7:::";

fn root_only_file(install: &Install) -> PathBuf {
    let path = install.path("shadow");
    std::fs::write(&path, format!("{SECRET}\n")).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: sets file capabilities and runs as uid 65534")]
fn a_capable_copy_opens_config_with_the_users_own_rights() {
    require_root();
    let install = Install::new();
    let capable = install.capable();
    let shadow = root_only_file(&install);
    let shadow = shadow.to_str().expect("utf-8");
    for args in [vec!["--config", shadow, "report"], vec!["--config", shadow, "record", "-o", "/nonexistent/rec"]] {
        let output = as_nobody(&capable, &args);
        assert_refused(&output, 2, SECRET);
        assert!(!text(&output.stderr).contains("line 1"), "nothing of its structure either: {}", text(&output.stderr));
    }
    // check keeps the monitoring-plugin contract: UNKNOWN.
    let output = as_nobody(&capable, &["--config", shadow, "check"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
    assert!(!text(&output.stdout).contains(SECRET) && !text(&output.stderr).contains(SECRET));
    // The user's own configuration still works.
    let own = install.path("own.toml");
    std::fs::write(&own, "silence = [\"somaxconn-low\"]\n").expect("write");
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let output = as_nobody(&capable, &["--config", own.to_str().expect("utf-8"), "report"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: sets file capabilities and runs as uid 65534")]
fn a_capable_copy_reads_and_writes_recordings_and_reports_with_the_users_own_rights() {
    require_root();
    let install = Install::new();
    let capable = install.capable();
    // A root-only recording: CAP_DAC_READ_SEARCH would read it.
    let recording = install.path("root.rec");
    common::run_ok(Command::new(SOCKSCOPE).arg("record").arg("-o").arg(&recording).args(["--count", "1"]));
    std::fs::set_permissions(&recording, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let from = recording.to_str().expect("utf-8");
    assert_refused(&as_nobody(&capable, &["report", "--from", from]), 1, "taken_at");
    assert_refused(&as_nobody(&capable, &["check", "--from", from]), 3, "taken_at");

    // A world-writable file in a directory only root may enter: CAP_DAC_READ_SEARCH would let
    // the path be walked and the recorder append to it.
    let closed = install.path("closed");
    std::fs::create_dir(&closed).expect("mkdir");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let target = closed.join("target");
    std::fs::write(&target, "untouched\n").expect("write");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let target_arg = target.to_str().expect("utf-8");
    assert_refused(&as_nobody(&capable, &["record", "-o", target_arg, "--count", "1"]), 1, "untouched");
    assert_refused(&as_nobody(&capable, &["report", "-o", target_arg]), 1, "untouched");
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "untouched\n", "the file was not written");

    // Where the user may write, the capable copy records and reads back as usual.
    let open = install.path("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::os::unix::fs::chown(&open, Some(65534), Some(65534)).expect("chown");
    let own = open.join("rec");
    let own_arg = own.to_str().expect("utf-8");
    let output = as_nobody(&capable, &["record", "-o", own_arg, "--count", "2", "--interval", "100ms"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = report_of(&as_nobody(&capable, &["report", "--from", own_arg, "--format", "json"]));
    assert!(report["listeners"].is_array());
    let output = as_nobody(&capable, &["report", "-o", open.join("report.txt").to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: grants ambient capabilities and runs as uid 65534")]
fn ambient_capabilities_as_a_systemd_unit_grants_them_are_lowered_too() {
    require_root();
    let install = Install::new();
    let plain = install.copy("sockscope", 0o755, "");
    let shadow = root_only_file(&install);
    let socket = listener("127.0.0.1:0", 16);
    let port = local_addr(&socket).port();
    let ambient = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--inh-caps", "+sys_ptrace,+dac_read_search", "--ambient-caps", "+sys_ptrace,+dac_read_search"])
            .args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"])
            .arg(&plain)
            .args(args)
            .env("HOME", "/nonexistent")
            .output()
            .expect("setpriv runs")
    };
    let report = report_of(&ambient(&["report", "--format", "json"]));
    assert_eq!(owners(&report, port), [u64::from(std::process::id())]);
    assert_refused(&ambient(&["--config", shadow.to_str().expect("utf-8"), "report"]), 2, SECRET);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: makes a set-user-ID copy and runs it as uid 65534")]
fn a_set_user_id_copy_refuses_to_run() {
    require_root();
    let install = Install::new();
    let setuid = install.copy("sockscope", 0o4755, "");
    std::os::unix::fs::chown(&setuid, Some(0), Some(0)).expect("chown");
    // chown clears the set-user-ID bit: set it again.
    std::fs::set_permissions(&setuid, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
    let shadow = root_only_file(&install);
    let output = as_nobody(&setuid, &["--config", shadow.to_str().expect("utf-8"), "report"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("refusing to run set-user-ID"), "{stderr}");
    assert!(!stderr.contains(SECRET) && !text(&output.stdout).contains(SECRET));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: sets file capabilities and runs as uid 65534")]
#[cfg_attr(sockscope_no_tmux, ignore = "needs tmux: drives the dashboard in a real terminal")]
fn the_dashboard_header_says_it_runs_with_raised_capabilities() {
    require_root();
    let install = Install::new();
    let capable = install.capable();
    let capable = capable.to_str().expect("utf-8");
    let command = ["setpriv", "--reuid", NOBODY, "--regid", NOBODY, "--clear-groups", capable];
    let tmux = Tmux::start_command("privileges-header", &command, 120, 30);
    let screen = tmux.wait_for(&["caps dac_read_search,sys_ptrace"]);
    assert!(screen.lines().next().is_some_and(|first| first.contains("caps dac_read_search,sys_ptrace")), "{screen}");
    tmux.keys(&["q"]);
}
