//! The metric expositions on the real kernel: `report --format prometheus|openmetrics` against
//! `ss`, validated by `promtool` (classic format) and the strict OpenMetrics parser of the
//! Python `prometheus_client`; `serve` over HTTP on loopback; the alert rules and the Grafana
//! dashboard's queries checked by `promtool`.
//!
//! promtool (Debian package `prometheus`) and the Python module (`python3-prometheus-client`)
//! are required: a test that cannot find them fails and says what to install (`.ci/run`
//! installs both).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
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

#[test]
fn the_alert_rules_pass_promtool_and_their_tests() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/prometheus/sockscope.rules.yml");
    let tests = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/prometheus/sockscope.rules.test.yml");
    for args in [["check", "rules", rules], ["test", "rules", tests]] {
        let output = Command::new("promtool").args(args).output().unwrap_or_else(|error| {
            panic!("cannot run promtool ({error}): install Debian's `prometheus` package; .ci/run installs it")
        });
        assert!(output.status.success(), "promtool {args:?}: {}", String::from_utf8_lossy(&output.stdout));
    }
}

/// Every `sockscope_` name a PromQL text mentions (regular expressions such as
/// `sockscope_tcpext_.+` are left out).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (start, _) in text.match_indices("sockscope_") {
        let name: String = text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.ends_with('_') && !text[start + name.len()..].starts_with(['.', '(', '[', '*', '+']) {
            names.insert(name);
        }
    }
    names
}

#[test]
fn the_dashboard_queries_parse_and_every_name_is_an_exported_family() {
    let dashboard: Value = serde_json::from_str(include_str!("../assets/grafana/sockscope.json")).expect("JSON");
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|target| target["expr"].as_str().map(str::to_string))
        .collect();
    assert!(exprs.len() >= 8, "{exprs:?}");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (index, expr) in exprs.iter().enumerate() {
        let expr = expr.replace("$__rate_interval", "5m").replace("$instance", ".*").replace("$netns", ".*");
        rules.push_str(&format!("      - record: dashboard:query{index}\n        expr: {}\n", serde_json::json!(expr)));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dashboard.rules.yml");
    std::fs::write(&path, rules).expect("write");
    let output = Command::new("promtool").args(["check", "rules"]).arg(&path).output().expect("promtool runs");
    assert!(output.status.success(), "the dashboard's queries: {}", String::from_utf8_lossy(&output.stdout));
    let readme = include_str!("../README.md");
    let mentioned = metric_names(&exprs.join("\n"))
        .into_iter()
        .chain(metric_names(include_str!("../assets/prometheus/sockscope.rules.yml")));
    for name in mentioned {
        assert!(readme.contains(&format!("| `{name}` |")), "{name} is not in README's metric table");
    }
}

/// A `sockscope serve` on a port the kernel chose, stopped when dropped.
struct Serve {
    child: Child,
    address: SocketAddr,
}

impl Serve {
    fn start(extra: &[&str]) -> Serve {
        let mut child = Command::new(SOCKSCOPE)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sockscope serve");
        let mut line = String::new();
        BufReader::new(child.stderr.take().expect("stderr")).read_line(&mut line).expect("its first line");
        let address = line
            .trim()
            .strip_prefix("sockscope: serving http://")
            .and_then(|rest| rest.strip_suffix("/metrics"))
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
        Serve { child, address }
    }

    /// Ends it with SIGTERM; its exit status.
    fn terminate(mut self) -> Option<i32> {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let status = self.child.wait().expect("wait");
        std::mem::forget(self);
        status.code()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: status, headers (lower-case names), body.
fn http(address: SocketAddr, method: &str, path: &str, accept: Option<&str>) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(address).expect("connect to serve");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let accept = accept.map(|value| format!("Accept: {value}\r\n")).unwrap_or_default();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{accept}Connection: close\r\n\r\n").expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read the response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|code| code.parse().ok()).expect("status");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

#[test]
fn serve_answers_both_formats_the_index_and_nothing_else() {
    let serve = Serve::start(&["--interval", "60s", "--no-processes"]);
    let (status, headers, classic) = http(serve.address, "GET", "/metrics", None);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    assert_promtool_accepts(&classic);
    assert_eq!(value_of(&classic, "sockscope_scrapes_total", &[]), Some(1.0));
    let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (status, headers, open) = http(serve.address, "GET", "/metrics", Some(prometheus));
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    let samples = parse_openmetrics(&open);
    let serving = samples.iter().find(|(name, labels, _)| {
        name == "sockscope_listen_accept_queue" && labels["lport"] == serve.address.port().to_string().as_str()
    });
    assert!(serving.is_some(), "serve sees its own listening socket");
    let (status, headers, page) = http(serve.address, "GET", "/", None);
    assert_eq!((status, header(&headers, "content-type")), (200, Some("text/html; charset=utf-8")));
    assert!(page.contains("<a href=\"/metrics\">"), "{page}");
    assert_eq!(http(serve.address, "GET", "/secret", None).0, 404);
    let (status, headers, _) = http(serve.address, "POST", "/metrics", None);
    assert_eq!((status, header(&headers, "allow")), (405, Some("GET, HEAD")));
    assert_eq!(serve.terminate(), Some(0), "SIGTERM ends it with status 0");
}

#[test]
fn concurrent_scrapes_within_an_interval_share_one_collection() {
    const SCRAPES: usize = 50;
    let serve = Serve::start(&["--interval", "60s", "--no-processes"]);
    let barrier = std::sync::Barrier::new(SCRAPES);
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..SCRAPES)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    http(serve.address, "GET", "/metrics", None)
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|thread| thread.join().expect("a scrape"))
            .map(|(status, _, body)| {
                assert_eq!(status, 200);
                body
            })
            .collect()
    });
    let collections: BTreeSet<u64> =
        bodies.iter().filter_map(|body| value_of(body, "sockscope_collections_total", &[])).map(|v| v as u64).collect();
    assert_eq!(collections, BTreeSet::from([1]), "one collection for every scrape");
    let scrapes: BTreeSet<u64> =
        bodies.iter().filter_map(|body| value_of(body, "sockscope_scrapes_total", &[])).map(|v| v as u64).collect();
    assert_eq!(scrapes, (1..=SCRAPES as u64).collect(), "each scrape counted once");
    let (_, _, after) = http(serve.address, "GET", "/metrics", None);
    assert_eq!(value_of(&after, "sockscope_collections_total", &[]), Some(1.0), "still within the interval");
}

#[test]
fn a_scrape_after_the_interval_takes_a_new_collection() {
    let serve = Serve::start(&["--interval", "200ms", "--no-processes"]);
    let (_, _, first) = http(serve.address, "GET", "/metrics", None);
    std::thread::sleep(Duration::from_millis(300));
    let (_, _, second) = http(serve.address, "GET", "/metrics", None);
    assert_eq!(value_of(&first, "sockscope_collections_total", &[]), Some(1.0));
    assert_eq!(value_of(&second, "sockscope_collections_total", &[]), Some(2.0));
    let at = |body: &str| value_of(body, "sockscope_collection_timestamp_seconds", &[]).expect("timestamp");
    assert!(at(&second) - at(&first) >= 0.2, "a later sample");
}

#[test]
fn a_second_serve_on_the_same_port_is_one_line_and_status_1() {
    let serve = Serve::start(&["--no-processes"]);
    let address = serve.address.to_string();
    let output = Command::new(SOCKSCOPE).args(["serve", "--listen", &address]).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr, format!("sockscope: error: cannot listen on {address}: address already in use\n"));
    let output = Command::new(SOCKSCOPE).args(["serve", "--listen", "localhost"]).output().expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!((output.status.code(), stderr.lines().count()), (Some(2), 1), "a bad address: {stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
}
