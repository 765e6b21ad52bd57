//! The metric expositions on the real kernel: `report --format prometheus|openmetrics` against
//! `ss`, validated by `promtool` (classic format) and the strict OpenMetrics parser of the
//! Python `prometheus_client`.
//!
//! promtool (Debian package `prometheus`) and the Python module (`python3-prometheus-client`)
//! are required: a test that cannot find them fails and says what to install (`.ci/run`
//! installs both).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The Python that has Debian's `prometheus_client` (a `python3` earlier on PATH may not).
const PYTHON: &str = "/usr/bin/python3";

/// Parses OpenMetrics text strictly, fails on a repeated series, and prints the samples as
/// JSON `[name, labels, value]`.
const OPENMETRICS_CHECK: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
samples = [(s.name, s.labels, s.value) for f in parse(sys.stdin.read()) for s in f.samples]
keys = [(name, tuple(sorted(labels.items()))) for name, labels, _ in samples]
repeated = len(keys) - len(set(keys))
if repeated:
    sys.exit(f"{repeated} series appear more than once")
json.dump(samples, sys.stdout, allow_nan=False)
"#;

fn run_with_input(command: &mut Command, input: &str, what: &str, install: &str) -> std::process::Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {what} ({error}): install {install}; .ci/run installs it"));
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write the exposition");
    drop(stdin);
    child.wait_with_output().expect("wait")
}

/// `promtool check metrics` accepts the classic text, with no lint problem at all.
fn assert_promtool_accepts(text: &str) {
    let output = run_with_input(
        Command::new("promtool").args(["check", "metrics"]),
        text,
        "promtool",
        "Debian's `prometheus` package",
    );
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && said.trim().is_empty(), "promtool check metrics: {}\n{said}", output.status);
}

/// The samples of OpenMetrics text, as the strict parser reads them.
fn parse_openmetrics(text: &str) -> Vec<(String, serde_json::Map<String, Value>, f64)> {
    let output = run_with_input(
        Command::new(PYTHON).args(["-c", OPENMETRICS_CHECK]),
        text,
        "/usr/bin/python3",
        "python3 and Debian's `python3-prometheus-client`",
    );
    assert!(
        output.status.success(),
        "the OpenMetrics parser rejected the output (a missing module means: apt-get install \
         python3-prometheus-client): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<(String, serde_json::Map<String, Value>, f64)> =
        serde_json::from_slice(&output.stdout).expect("the parser's JSON");
    assert!(!samples.is_empty(), "no samples parsed");
    samples
}

fn sockscope(args: &[&str]) -> String {
    run_ok(Command::new(SOCKSCOPE).args(args))
}

/// The value of the sample line `name{labels}` of classic text whose labels include all of `has`.
fn value_of(text: &str, name: &str, has: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .find(|line| has.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit_once(' '))
        .and_then(|(_, value)| value.parse().ok())
}

/// A `listen(1)` socket on loopback with `clients` connections that are never accepted.
fn full_listener(clients: usize) -> (socket2::Socket, Vec<socket2::Socket>, u16) {
    let server = listener("127.0.0.1:0", 1);
    let local = local_addr(&server);
    let clients = connect_many(local, clients);
    (server, clients, local.port())
}

fn ss_recv_send(port: u16) -> Option<(u64, u64)> {
    let filter = format!("sport = :{port}");
    let text = run_ok(Command::new("ss").args(["-Hltn", &filter]));
    parse_ss(&text).into_iter().find(|line| line.local == format!("127.0.0.1:{port}")).map(|l| (l.recv_q, l.send_q))
}

#[test]
fn the_classic_report_has_the_accept_queue_ss_shows_and_passes_promtool() {
    let (_server, _clients, port) = full_listener(4);
    assert!(
        wait_until(Duration::from_secs(5), || ss_recv_send(port) == Some((2, 1))),
        "the queue of listen(1) never held 2: {:?}",
        ss_recv_send(port)
    );
    let text = sockscope(&["report", "--format", "prometheus", "--no-processes"]);
    let (recv_q, send_q) = ss_recv_send(port).expect("ss shows the listener");
    let netns = format!("netns=\"{}\"", own_netns_inode());
    let lport = format!("lport=\"{port}\"");
    let labels = [netns.as_str(), "laddr=\"127.0.0.1\"", lport.as_str()];
    assert_eq!(value_of(&text, "sockscope_listen_accept_queue", &labels), Some(recv_q as f64), "ss Recv-Q");
    assert_eq!(value_of(&text, "sockscope_listen_accept_queue_limit", &labels), Some(send_q as f64), "ss Send-Q");
    assert!(value_of(&text, "sockscope_listen_drops_total", &labels).is_some());
    assert!(value_of(&text, "sockscope_tcpext_listen_overflows_total", &[netns.as_str()]).is_some());
    assert!(value_of(&text, "sockscope_sysctl", &["sysctl=\"net.core.somaxconn\""]).is_some());
    assert!(!text.contains("# EOF") && !text.contains("# UNIT"), "the classic format");
    assert_promtool_accepts(&text);
}

#[test]
fn the_openmetrics_report_passes_the_strict_parser() {
    let (_server, _clients, port) = full_listener(4);
    assert!(wait_until(Duration::from_secs(5), || ss_recv_send(port) == Some((2, 1))));
    let text = sockscope(&["report", "--format", "openmetrics", "--interval", "100ms"]);
    assert!(text.ends_with("# EOF\n"));
    let samples = parse_openmetrics(&text);
    let port = port.to_string();
    let queue = samples
        .iter()
        .find(|(name, labels, _)| name == "sockscope_listen_accept_queue" && labels["lport"] == port.as_str())
        .expect("the listener's accept queue");
    assert_eq!(queue.2, 2.0);
    assert!(samples.iter().any(|(name, _, _)| name == "sockscope_listen_drops_total"), "counters end in _total");
    assert!(samples.iter().any(|(name, _, _)| name == "sockscope_listener_info"), "info series end in _info");
}

#[test]
fn process_names_are_escaped_and_come_back_intact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("we\"ird\\x");
    std::os::unix::fs::symlink(PYTHON, &program).expect("symlink python3");
    let script = "import socket, sys\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen(1)\n\
                  print(s.getsockname()[1], flush=True)\nsys.stdin.read()\n";
    let mut child = Command::new(&program)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the oddly named listener");
    let stdout = child.stdout.take().expect("stdout");
    let _child = Reaped(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("its port");
    let port = line.trim().to_string();
    let lport = format!("lport=\"{port}\"");
    let classic = sockscope(&["report", "--format", "prometheus"]);
    let info = classic
        .lines()
        .find(|line| line.starts_with("sockscope_listener_info{") && line.contains(&lport))
        .expect("the listener's info series");
    assert!(info.contains(r#"comm="we\"ird\\x""#), "escaped comm: {info}");
    assert_promtool_accepts(&classic);
    let samples = parse_openmetrics(&sockscope(&["report", "--format", "openmetrics"]));
    let parsed = samples
        .iter()
        .find(|(name, labels, _)| name == "sockscope_listener_info" && labels["lport"] == port.as_str())
        .expect("parsed info series");
    assert_eq!(parsed.1["comm"], "we\"ird\\x", "the parser gives back the name the process has");
}

/// A child process killed and reaped when the test ends, passed or not.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn every_namespace_is_labelled_with_its_inode() {
    require_root();
    let netns = TestNetns::new();
    let (_server, port) = netns.enter(|| {
        let server = listener("127.0.0.1:0", 7);
        let port = local_addr(&server).port();
        (server, port)
    });
    let inode = netns_inode(&netns.name);
    let text = sockscope(&["--all-netns", "report", "--format", "prometheus", "--no-processes"]);
    let theirs = format!("netns=\"{inode}\"");
    let ours = format!("netns=\"{}\"", own_netns_inode());
    let lport = format!("lport=\"{port}\"");
    assert_eq!(value_of(&text, "sockscope_netns_up", &[theirs.as_str()]), Some(1.0));
    assert_eq!(value_of(&text, "sockscope_netns_up", &[ours.as_str()]), Some(1.0));
    assert_eq!(value_of(&text, "sockscope_listen_accept_queue_limit", &[theirs.as_str(), lport.as_str()]), Some(7.0));
    let name = format!("netns_name=\"{}\"", netns.name);
    assert_eq!(value_of(&text, "sockscope_netns_info", &[theirs.as_str(), name.as_str()]), Some(1.0));
    assert_promtool_accepts(&text);
    parse_openmetrics(&sockscope(&["--all-netns", "report", "--format", "openmetrics", "--no-processes"]));
}
