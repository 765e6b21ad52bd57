//! The command line: exit statuses, one-line errors, pipes, files, the man page.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::SOCKSCOPE;

fn sockscope(args: &[&str]) -> std::process::Output {
    Command::new(SOCKSCOPE).args(args).output().expect("run sockscope")
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A usage error: status 2 and exactly one line on stderr, naming the problem.
fn assert_usage_error(args: &[&str], mentions: &str) {
    let output = sockscope(args);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "one line: {text:?}");
    assert!(text.starts_with("sockscope: "), "{text}");
    assert!(text.contains(mentions), "{text} should mention {mentions}");
    assert!(output.stdout.is_empty());
}

#[test]
fn bad_arguments_are_usage_errors() {
    assert_usage_error(&["report", "--format", "nonsense"], "nonsense");
    assert_usage_error(&["report", "--format", "nonsense"], "possible values: text, json");
    assert_usage_error(&["report", "--interval", "soon"], "soon");
    assert_usage_error(&["report", "--interval", "0"], "interval");
    assert_usage_error(&["report", "--bogus"], "--bogus");
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(&["completions", "tcsh"], "tcsh");
}

#[test]
fn help_and_version_succeed() {
    let help = sockscope(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("report") && text.contains("Exit status"), "{text}");
    let version = sockscope(&["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_text_report_is_plain_text_with_every_section() {
    let output = sockscope(&["report", "--no-processes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    for section in [
        "Listeners",
        "Listen-overflow counters",
        "TCP states",
        "Ephemeral ports",
        "Interfaces",
        "Kernel settings",
        "Softnet",
        "UDP sockets",
    ] {
        assert!(text.contains(section), "missing section {section}");
    }
    assert!(!text.contains('\u{1b}'), "no escape codes in a pipe");
    assert!(text.lines().all(|line| line == line.trim_end()), "no trailing whitespace");
    assert!(text.contains("net.core.somaxconn"));
    assert!(stderr_is_empty(&sockscope(&["report", "--no-processes"])));
}

fn stderr_is_empty(output: &std::process::Output) -> bool {
    output.stderr.is_empty()
}

#[test]
fn without_a_subcommand_a_pipe_gets_the_text_report() {
    let output = sockscope(&["--no-processes"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("sockscope report"));
}

#[test]
fn an_interval_gives_rates() {
    let output = sockscope(&["report", "--format", "json", "--interval", "200ms", "--no-processes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let interval = report["interval_seconds"].as_f64().expect("interval");
    assert!((0.19..1.0).contains(&interval), "{interval}");
    assert!(report["rates"]["TcpExt"]["ListenOverflows"].is_number());
    assert!(report["rates"]["Tcp"].get("CurrEstab").is_none(), "gauges have no rate");
    let text = sockscope(&["report", "--interval", "100ms", "--no-processes"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("rates per second over"));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    // The reader is gone before sockscope writes: the write fails with EPIPE.
    let mut child = Command::new(SOCKSCOPE)
        .args(["report", "--no-processes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    assert_eq!(err, "", "nothing on stderr");
    // And through a real shell pipeline into head.
    let pipeline = Command::new("sh")
        .args(["-c", &format!("{SOCKSCOPE} report --no-processes | head -n 1")])
        .output()
        .expect("sh");
    assert_eq!(String::from_utf8_lossy(&pipeline.stdout), "sockscope report\n");
    assert!(pipeline.stderr.is_empty(), "{}", stderr(&pipeline));
}

#[test]
fn output_is_written_atomically_with_normal_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    let output = sockscope(&["report", "--format", "json", "--no-processes", "-o", path.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("written")).expect("json");
    assert_eq!(report["schema_version"], 1);
    let mode = std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode & 0o644, 0o644, "readable like any new file, not 0600: {mode:o}");
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
    assert_eq!(entries.len(), 1, "no temporary file left behind");
    // Overwriting keeps the existing file's mode.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let again = sockscope(&["report", "--no-processes", "-o", path.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&path).expect("text").starts_with("sockscope report"));
}

#[test]
fn an_unwritable_output_is_a_runtime_error() {
    let output = sockscope(&["report", "--no-processes", "-o", "/nonexistent-dir/report.txt"]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("/nonexistent-dir/report.txt"), "{text}");
}

#[test]
fn the_man_page_in_the_repository_is_current() {
    let generated = sockscope(&["manpage"]);
    assert_eq!(generated.status.code(), Some(0));
    let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/man/sockscope.1")).expect("man/sockscope.1");
    assert!(
        generated.stdout == committed,
        "man/sockscope.1 is stale: run `cargo run -- manpage > man/sockscope.1` and commit it"
    );
    let page = String::from_utf8(committed).expect("utf-8");
    for needle in ["--interval", "--format", "--output", "--no-processes", "EXIT STATUS", "sockscope report"] {
        assert!(page.contains(&needle.replace('-', "\\-")) || page.contains(needle), "man page lacks {needle}");
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = sockscope(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8_lossy(&output.stdout);
        assert!(script.contains("sockscope") && script.contains("interval"), "{shell}");
    }
}

#[test]
fn the_systemd_unit_runs_a_command_line_sockscope_accepts() {
    use clap::Parser;
    let unit = include_str!("../assets/sockscope-record.service");
    let exec = unit.lines().find_map(|line| line.strip_prefix("ExecStart=")).expect("the unit has an ExecStart");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words[0], "/usr/bin/sockscope");
    let cli = sockscope::cli::Cli::try_parse_from(&words).unwrap_or_else(|error| panic!("{exec}: {error}"));
    let Some(sockscope::cli::Command::Record(args)) = cli.command else { panic!("{exec} is not a record command") };
    assert_eq!(args.max_size, Some(64 << 20));
    assert!(unit.contains("StateDirectory=sockscope") && args.output.starts_with("/var/lib/sockscope"));
}

/// `git rev-parse HEAD` of the source tree, when the tests run in a git work tree.
fn source_commit() -> Option<String> {
    let output = Command::new("git").args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"]).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

#[test]
fn version_names_the_commit_and_the_optional_parts_and_the_json_report_carries_them() {
    let output = sockscope(&["--version"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let commit = source_commit().unwrap_or_else(|| "unknown".to_string());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("sockscope {}", env!("CARGO_PKG_VERSION")), "{text}");
    assert_eq!(lines[1], format!("commit:   {commit}"), "{text}");
    assert_eq!(lines[2], "target:   x86_64-unknown-linux-gnu", "{text}");
    assert!(lines[3].starts_with("optional: ebpf yes"), "{text}");
    // -V stays the short form scripts parse.
    let short = sockscope(&["-V"]);
    assert_eq!(String::from_utf8_lossy(&short.stdout), format!("sockscope {}\n", env!("CARGO_PKG_VERSION")));

    let report = common::host_report_json(&["--no-processes"]);
    let build = &report["build"];
    assert_eq!(build["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(build["commit"], commit.as_str());
    assert_eq!(build["target"], "x86_64-unknown-linux-gnu");
    assert_eq!(build["optional_parts"]["ebpf"], true);
}

#[test]
fn the_exporter_unit_runs_serve_unprivileged_with_two_ambient_capabilities() {
    use clap::Parser;
    let unit = include_str!("../assets/sockscope-serve.service");
    let exec = unit.lines().find_map(|line| line.strip_prefix("ExecStart=")).expect("the unit has an ExecStart");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(words[0], "/usr/bin/sockscope");
    let cli = sockscope::cli::Cli::try_parse_from(&words).unwrap_or_else(|error| panic!("{exec}: {error}"));
    let Some(sockscope::cli::Command::Serve(args)) = cli.command else { panic!("{exec} is not a serve command") };
    assert!(args.listen.ip().is_loopback(), "loopback unless the operator opens it");
    let lines: Vec<&str> = unit.lines().collect();
    for line in [
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "AmbientCapabilities=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH",
        "CapabilityBoundingSet=CAP_SYS_PTRACE CAP_DAC_READ_SEARCH",
    ] {
        assert!(lines.contains(&line), "the unit has {line}");
    }
    assert!(!lines.iter().any(|line| line.starts_with("User=")), "never root");
}

#[test]
fn the_example_configuration_is_valid_and_spells_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/config.example.toml");
    let text = std::fs::read_to_string(path).expect("read");
    let example = sockscope::config::Config::parse(&text, std::path::Path::new(path)).expect("valid");
    assert_eq!(format!("{:?}", example.rules()), format!("{:?}", sockscope::config::Config::default().rules()));
    let output = sockscope(&["--config", path, "report", "--no-processes"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
