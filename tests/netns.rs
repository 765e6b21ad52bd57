//! `--netns`, `--pid` and `--all-netns` against the real kernel: namespaces made for each test
//! (deleted on drop, also when an assertion fails), listeners and clients inside them, and the
//! report, check and dashboard of sockscope run from the test's own (the host's) namespace.
//! Traffic stays on the loopback of the test namespaces; the only socket on the host is an idle
//! listener on 127.0.0.1 that must not show up in another namespace's report.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use socket2::Socket;

/// The listener program: binds 127.0.0.1:PORT, listens with BACKLOG, prints its pid and port,
/// then waits for standard input to close (so it also ends when the test process dies).
const PYTHON_LISTENER: &str = "\
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(int(sys.argv[2]))
print(os.getpid(), s.getsockname()[1], flush=True)
sys.stdin.read()
";

/// The python3 interpreter's real path (pyenv and similar shims resolved), if there is one.
fn python3() -> Option<String> {
    let output = Command::new("python3").args(["-c", "import sys; print(sys.executable)"]).output().ok()?;
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !path.is_empty()).then_some(path)
}

/// A listener inside a test namespace, held by a process of its own that lives in that
/// namespace: python3 when installed (the listener is then the process's), otherwise a socket of
/// this test made on a thread joined to the namespace plus a `sleep` started there, so that
/// `--pid` has a process to name. Stopped (process killed and reaped) when dropped.
struct NsListener {
    /// A process whose network namespace is the test namespace.
    pid: u32,
    /// The listening port.
    port: u16,
    /// Whether the listener belongs to `pid` (python3) or to the test process.
    owned_by_pid: bool,
    child: Option<Child>,
    socket: Option<Socket>,
}

impl NsListener {
    fn start(netns: &TestNetns, port: u16, backlog: i32) -> NsListener {
        let mut started = match python3() {
            Some(python) => {
                let mut child = netns
                    .command(&python, &["-c", PYTHON_LISTENER, &port.to_string(), &backlog.to_string()])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn python3 in the namespace");
                let mut line = String::new();
                let stdout = child.stdout.take().expect("stdout");
                let _ = BufReader::new(stdout).read_line(&mut line);
                let words: Vec<u32> = line.split_whitespace().filter_map(|word| word.parse().ok()).collect();
                let [pid, bound] = words[..] else {
                    let _ = child.kill();
                    let output = child.wait_with_output().expect("python3 output");
                    panic!("python3 listener did not start: {line:?} {}", String::from_utf8_lossy(&output.stderr));
                };
                NsListener { pid, port: bound as u16, owned_by_pid: true, child: Some(child), socket: None }
            }
            None => {
                let note = "note: python3 not found; the namespace listener is the test's own socket\n";
                let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
                let address = format!("127.0.0.1:{port}");
                let socket = netns.enter(move || listener(&address, backlog));
                let bound = local_addr(&socket).port();
                let child = netns
                    .command("sleep", &["600"])
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("spawn sleep in the namespace");
                NsListener {
                    pid: child.id(),
                    port: bound,
                    owned_by_pid: false,
                    child: Some(child),
                    socket: Some(socket),
                }
            }
        };
        // `ip netns exec` executes the program in place; make sure the pid is in the namespace.
        let inode = netns_inode(&netns.name);
        let in_namespace = wait_until(Duration::from_secs(5), || {
            std::fs::read_link(format!("/proc/{}/ns/net", started.pid))
                .is_ok_and(|link| link.to_string_lossy() == format!("net:[{inode}]"))
        });
        if !in_namespace {
            started.stop();
            panic!("process {} is not in namespace {} (net:[{inode}])", started.pid, netns.name);
        }
        started
    }

    /// Kills the process and closes the socket.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.socket = None;
    }
}

impl Drop for NsListener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `sockscope ARGS` (from the test's own namespace, the host's) with a bounded time.
fn sockscope(args: &[&str]) -> Output {
    let mut command = Command::new("timeout");
    command.args(["60", SOCKSCOPE]).args(args);
    command.output().expect("run sockscope")
}

/// Runs `sockscope ARGS`, expects success and JSON on stdout.
fn sockscope_json(args: &[&str]) -> Value {
    let text = sockscope_text(args);
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("sockscope {args:?}: {error}: {text}"))
}

/// Runs `sockscope ARGS`, expects success and returns stdout.
fn sockscope_text(args: &[&str]) -> String {
    let output = sockscope(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "sockscope {args:?}: {}\n{stderr}", output.status);
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The TCP listeners of a single-namespace report.
fn tcp_listeners(report: &Value) -> Vec<&Value> {
    report["listeners"].as_array().expect("listeners").iter().filter(|l| l["protocol"] == "tcp").collect()
}

/// The findings of a single-namespace report with this id.
fn findings<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["findings"].as_array().expect("findings").iter().filter(|f| f["id"] == id).collect()
}

/// The value of the evidence labelled `label`, if there is one.
fn evidence<'a>(finding: &'a Value, label: &str) -> Option<&'a str> {
    finding["evidence"].as_array()?.iter().find(|e| e["label"] == label)?["value"].as_str()
}

/// A one-line /proc/sys value of the test's own namespace, the host's.
fn own_sysctl(path: &str) -> String {
    std::fs::read_to_string(format!("/proc/sys/{path}")).expect("read /proc/sys").trim().to_string()
}

/// How the host's namespace is expected to have been found: pid 1, or kthreadd where pid 1's
/// namespace link cannot be read (some sandboxes deny it even to root).
fn assert_host_found_through(finding: &Value) {
    let through = evidence(finding, "host namespace found through").unwrap_or_else(|| panic!("{finding}"));
    if std::fs::read_link("/proc/1/ns/net").is_ok() {
        assert_eq!(through, "pid 1", "{finding}");
    } else {
        assert!(through.starts_with("pid 2 (kthreadd"), "/proc/1/ns/net is unreadable here: {finding}");
    }
}

/// What a report of the somaxconn-256 namespace must show, whichever way it was named.
struct Expected<'a> {
    how: &'a str,
    inode: u64,
    name: &'a str,
    listener: &'a NsListener,
    host_port: u16,
    host_somaxconn: &'a str,
    host_inode: u64,
}

fn assert_somaxconn_256_namespace(report: &Value, expected: &Expected<'_>) {
    let how = expected.how;
    assert_eq!(report["netns"]["inode"], expected.inode, "{how}: {}", report["netns"]);
    assert_eq!(report["netns"]["name"], expected.name, "{how}: {}", report["netns"]);
    assert_eq!(report["sysctl"]["net.core.somaxconn"], 256, "{how}");
    assert_eq!(report["sysctl"]["net.ipv4.ip_local_port_range"], json!([20000, 20999]), "{how}");
    assert_eq!(report["ports"]["range"], json!([20000, 20999]), "{how}: {}", report["ports"]);

    let listeners = tcp_listeners(report);
    let ports: Vec<&Value> = listeners.iter().map(|l| &l["local_port"]).collect();
    assert_eq!(ports, vec![&json!(expected.listener.port)], "{how}: only the namespace's own listener");
    assert!(
        !listeners.iter().any(|l| l["local_port"] == expected.host_port),
        "{how}: the host's listener on port {} is in the report",
        expected.host_port
    );
    let ours = listeners[0];
    assert_eq!(ours["local_address"], "127.0.0.1", "{how}");
    assert_eq!(ours["backlog"], 256, "{how}: listen(1000) capped at somaxconn 256: {ours}");
    assert_eq!(ours["accept_queue"], 1, "{how}: one connection waits: {ours}");
    assert_eq!(ours["full"], false, "{how}");
    if expected.listener.owned_by_pid {
        let owners = ours["processes"].as_array().expect("processes");
        assert!(
            owners.iter().any(|p| p["pid"] == expected.listener.pid && p["command"] == "python3"),
            "{how}: the listener's owner is python3[{}]: {ours}",
            expected.listener.pid
        );
    }

    let divergence = findings(report, "netns-divergence");
    let wanted = format!("net.core.somaxconn is 256 here but {} in the host's namespace", expected.host_somaxconn);
    let somaxconn = divergence
        .iter()
        .find(|f| f["summary"].as_str().is_some_and(|s| s.contains(&wanted)))
        .unwrap_or_else(|| panic!("{how}: no netns-divergence finding saying {wanted:?}: {divergence:?}"));
    assert_eq!(somaxconn["severity"], "info", "{how}");
    assert_host_found_through(somaxconn);
    assert_eq!(
        evidence(somaxconn, &format!("host namespace net:[{}]", expected.host_inode)),
        Some(expected.host_somaxconn),
        "{how}: the host's value, named by the host's inode: {somaxconn}"
    );
    assert!(
        divergence.iter().any(|f| f["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("net.ipv4.ip_local_port_range is 20000 20999 here but"))),
        "{how}: the port range differs from the host's too: {divergence:?}"
    );

    let clamped = findings(report, "backlog-clamped-by-somaxconn");
    let endpoint = format!("127.0.0.1:{}", expected.listener.port);
    assert!(
        clamped.iter().any(|f| f["subject"]["endpoint"] == endpoint.as_str() && evidence(f, "backlog") == Some("256")),
        "{how}: backlog-clamped-by-somaxconn for {endpoint}: {}",
        report["findings"]
    );
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace, sets its sysctls and enters it")]
fn a_namespace_with_somaxconn_256_reports_its_own_backlog_and_settings() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.core.somaxconn=256", "net.ipv4.ip_local_port_range=20000 20999"]);
    let inode = netns_inode(&netns.name);
    // Asks for 1000; the kernel caps it at the namespace's somaxconn, 256.
    let server = NsListener::start(&netns, 8080, 1000);
    // One connection (from inside the namespace) waits to be accepted: the listener is in use,
    // which is when sockscope says its backlog is capped.
    let target: SocketAddr = format!("127.0.0.1:{}", server.port).parse().expect("address");
    let _waiting = netns.enter(move || connect_many(target, 1));
    let filter = format!("sport = :{}", server.port);
    assert!(
        wait_until(Duration::from_secs(5), || {
            parse_ss(&netns.run("ss", &["-Hltn", &filter])).iter().any(|l| l.recv_q == 1 && l.send_q == 256)
        }),
        "ss in the namespace: {}",
        netns.run("ss", &["-Hltn"])
    );
    // A listener on the host's loopback, which no report of the test namespace may show.
    let host = listener("127.0.0.1:0", 16);
    let host_port = local_addr(&host).port();
    assert_ne!(host_port, server.port);
    let host_somaxconn = own_sysctl("net/core/somaxconn");
    assert_ne!(host_somaxconn, "256", "the host's somaxconn must differ from the test namespace's");
    let host_inode = own_netns_inode();

    let expected = |how| Expected {
        how,
        inode,
        name: &netns.name,
        listener: &server,
        host_port,
        host_somaxconn: &host_somaxconn,
        host_inode,
    };
    let by_name = sockscope_json(&["--netns", &netns.name, "report", "--format", "json"]);
    assert_somaxconn_256_namespace(&by_name, &expected("--netns NAME"));
    let pid = server.pid.to_string();
    let by_pid = sockscope_json(&["--pid", &pid, "report", "--format", "json"]);
    assert_somaxconn_256_namespace(&by_pid, &expected("--pid PID"));
    let pids = by_pid["netns"]["pids"].as_array().expect("netns.pids");
    assert!(pids.contains(&json!(server.pid)), "the namespace's processes include {pid}: {}", by_pid["netns"]);
    let path = format!("/run/netns/{}", netns.name);
    let by_path = sockscope_json(&["--netns", &path, "report", "--format", "json"]);
    assert_somaxconn_256_namespace(&by_path, &expected("--netns /run/netns/NAME"));
    // The global option after the subcommand, with a /proc/PID/ns/net path.
    let proc_path = format!("/proc/{pid}/ns/net");
    let by_proc_path = sockscope_json(&["report", "--format", "json", "--netns", &proc_path]);
    assert_somaxconn_256_namespace(&by_proc_path, &expected("report --netns /proc/PID/ns/net"));
    // Without --netns the same command reads the host's namespace: the host listener, not ours.
    let own = host_report_json(&["--no-processes"]);
    assert_eq!(own["netns"]["inode"], host_inode);
    assert!(tcp_listeners(&own).iter().any(|l| l["local_port"] == host_port), "the host report has the host listener");

    let text = sockscope_text(&["--netns", &netns.name, "report"]);
    let endpoint = format!("127.0.0.1:{}", server.port);
    for wanted in [
        format!("net:[{inode}] {}", netns.name),
        endpoint.clone(),
        "netns-divergence".to_string(),
        format!("net.core.somaxconn is 256 here but {host_somaxconn} in the host's namespace"),
        "backlog-clamped-by-somaxconn".to_string(),
    ] {
        assert!(text.contains(&wanted), "the text report lacks {wanted:?}:\n{text}");
    }
    assert!(!text.contains(&format!("127.0.0.1:{host_port}")), "the host listener is in the text report:\n{text}");

    let check = sockscope(&["--netns", &netns.name, "check", "--interval", "300ms"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    // somaxconn 256 is below the kernel default: a warning, nothing critical.
    assert_eq!(check.status.code(), Some(1), "check --netns: {stdout}\n{}", String::from_utf8_lossy(&check.stderr));
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("SOCKSCOPE WARNING - "), "{first}");
    assert!(stdout.contains(&endpoint), "check names the listener {endpoint}:\n{stdout}");
    assert!(!stdout.contains(&format!("127.0.0.1:{host_port}")), "{stdout}");
}

/// Whether `line` has every one of `words` as a whole word (split at spaces and box lines).
fn has_words(line: &str, words: &[&str]) -> bool {
    let tokens: Vec<&str> = line.split(|c: char| c.is_whitespace() || "│┌┐└┘─▶".contains(c)).collect();
    words.iter().all(|word| tokens.contains(word))
}

/// The entry of an `--all-netns` array (`summary` or `namespaces`) for the namespace `inode`.
fn entry_for(all: &Value, field: &str, inode: u64) -> Value {
    let entries = all[field].as_array().unwrap_or_else(|| panic!("{field} is an array: {all}"));
    let found: Vec<&Value> = entries.iter().filter(|e| e["netns"]["inode"] == inode).collect();
    assert_eq!(found.len(), 1, "exactly one {field} entry for net:[{inode}]: {entries:?}");
    found[0].clone()
}

/// The top-level keys of a JSON object, in order, duplicates kept (serde_json keeps the last).
fn top_level_keys(text: &str) -> Vec<String> {
    struct Keys(Vec<String>);
    impl<'de> serde::Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Keys, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Keys;
                fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                    formatter.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }
    serde_json::from_str::<Keys>(text).expect("a JSON object").0
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates network namespaces and enters them")]
fn all_netns_shows_every_namespace_side_by_side() {
    require_root();
    // Namespace `full`: listen(2) and 5 clients from inside it, never accepted: 3 of 2 queued.
    let full = TestNetns::new();
    let (_full_server, _full_clients, full_port) = full.enter(|| {
        let server = listener("127.0.0.1:9000", 2);
        let clients = connect_many(local_addr(&server), 5);
        let port = local_addr(&server).port();
        (server, clients, port)
    });
    let filter = format!("sport = :{full_port}");
    assert!(
        wait_until(Duration::from_secs(5), || {
            parse_ss(&full.run("ss", &["-Hltn", &filter])).iter().any(|l| l.recv_q == 3 && l.send_q == 2)
        }),
        "the accept queue fills: {}",
        full.run("ss", &["-Hltn"])
    );
    // Namespace `leak`: 150 connections accepted and never closed after the clients hung up.
    let leak = TestNetns::new();
    let (_leak_server, _leaked, leak_port) = leak.enter(|| {
        let (server, accepted) = close_wait_leak("127.0.0.1:7000", 150);
        let port = server.local_addr().expect("address").port();
        (server, accepted, port)
    });
    assert!(
        wait_until(Duration::from_secs(5), || {
            ss_state_counts(&leak.run("ss", &["-Htan"])).get("CLOSE_WAIT") == Some(&150)
        }),
        "150 sockets reach CLOSE_WAIT: {:?}",
        ss_state_counts(&leak.run("ss", &["-Htan"]))
    );
    let host = listener("127.0.0.1:0", 16);
    let host_port = local_addr(&host).port();
    let (full_inode, leak_inode, host_inode) = (netns_inode(&full.name), netns_inode(&leak.name), own_netns_inode());
    assert_ne!(full_inode, leak_inode);

    let all = sockscope_json(&["--all-netns", "report", "--format", "json"]);
    assert_eq!(all["schema_version"], 1);
    assert_eq!(all["scope"], "all_netns");
    let summary_len = all["overview"].as_array().map(Vec::len);
    assert_eq!(summary_len, all["namespaces"].as_array().map(Vec::len), "one summary row per namespace");
    assert!(summary_len.is_some_and(|n| n >= 3), "at least the host's and the two test namespaces");

    let own_ports = |inode: u64| -> Vec<u64> {
        let entry = entry_for(&all, "namespaces", inode);
        assert_eq!(entry["state"], "live", "{}", entry["netns"]);
        assert_eq!(entry["reason"], Value::Null);
        assert_eq!(entry["report"]["netns"]["inode"], inode, "the report is the namespace's own");
        tcp_listeners(&entry["report"]).iter().filter_map(|l| l["local_port"].as_u64()).collect()
    };
    assert_eq!(own_ports(full_inode), vec![u64::from(full_port)], "the full namespace has only its own listener");
    assert_eq!(own_ports(leak_inode), vec![u64::from(leak_port)], "the leaking namespace has only its own listener");
    let host_ports = own_ports(host_inode);
    assert!(host_ports.contains(&u64::from(host_port)), "the host's namespace has the host listener: {host_ports:?}");
    // The test namespaces' ports are free on the host's loopback only if nothing there uses them.
    for port in [full_port, leak_port] {
        let host_has = !run_ok(Command::new("ss").args(["-Hltn", &format!("sport = :{port}")])).trim().is_empty();
        assert_eq!(host_ports.contains(&u64::from(port)), host_has, "host listeners on port {port} as ss sees them");
    }

    let full_row = entry_for(&all, "overview", full_inode);
    assert_eq!(full_row["netns"]["name"], full.name.as_str());
    assert_eq!(full_row["state"], "live");
    assert_eq!(full_row["listeners"], 1);
    let fullest = &full_row["fullest_listener"];
    assert_eq!(fullest["protocol"], "tcp", "{full_row}");
    assert_eq!(fullest["local_address"], "127.0.0.1");
    assert_eq!(fullest["local_port"], full_port);
    assert_eq!(fullest["accept_queue"], 3, "{full_row}");
    assert_eq!(fullest["backlog"], 2);
    assert_eq!(fullest["full"], true, "{full_row}");
    assert_eq!(fullest["fill"].as_f64(), Some(1.0));
    assert!(full_row["findings"]["critical"].as_u64().is_some_and(|n| n >= 1), "{full_row}");
    assert!(full_row["somaxconn"].is_number());

    let leak_row = entry_for(&all, "overview", leak_inode);
    assert_eq!(leak_row["netns"]["name"], leak.name.as_str());
    assert_eq!(leak_row["state"], "live");
    assert_eq!(leak_row["listeners"], 1);
    assert_eq!(leak_row["fullest_listener"]["local_port"], leak_port);
    assert_eq!(leak_row["fullest_listener"]["full"], false, "{leak_row}");
    assert!(leak_row["findings"]["warning"].as_u64().is_some_and(|n| n >= 1), "{leak_row}");
    let leak_report = &entry_for(&all, "namespaces", leak_inode)["report"];
    assert_eq!(leak_report["tcp_states"]["CLOSE_WAIT"], 150);
    let leaks = findings(leak_report, "close-wait-leak");
    assert_eq!(leaks.len(), 1, "{}", leak_report["findings"]);
    assert_eq!(leaks[0]["subject"]["process"]["pid"], std::process::id());
    let full_report = &entry_for(&all, "namespaces", full_inode)["report"];
    assert_eq!(full_report["tcp_states"]["CLOSE_WAIT"], 0, "the CLOSE_WAIT sockets are not in the other namespace");
    assert!(findings(leak_report, "accept-queue-full").is_empty(), "the full queue is not in the leaking namespace");
    let host_row = entry_for(&all, "overview", host_inode);
    assert_eq!(host_row["state"], "live", "the host's namespace is there: {host_row}");

    let text = sockscope_text(&["--all-netns", "report"]);
    let lines: Vec<&str> = text.lines().collect();
    let table_at = lines.iter().position(|line| *line == "Namespaces").unwrap_or_else(|| panic!("no table:\n{text}"));
    // Sections are headed `net:[INODE] NAME` at the start of a line; the table's rows are indented.
    let first_section = lines.iter().position(|line| line.starts_with("net:[")).unwrap_or(lines.len());
    assert!(table_at < first_section, "the summary table comes first:\n{text}");
    let table = lines[table_at..first_section].join("\n");
    for (inode, name) in [(full_inode, &full.name), (leak_inode, &leak.name), (host_inode, &String::new())] {
        let heading = format!("net:[{inode}] {name}");
        let heading = heading.trim_end();
        assert!(table.contains(heading), "{heading} has a row in the table:\n{table}");
        assert!(lines.iter().any(|line| line.starts_with(heading)), "no section headed {heading:?}:\n{text}");
    }

    let check = sockscope(&["--all-netns", "check", "--interval", "1s"]);
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(2), "--all-netns check: {stdout}\n{}", String::from_utf8_lossy(&check.stderr));
    let first = stdout.lines().next().unwrap_or_default();
    assert!(first.starts_with("SOCKSCOPE CRITICAL - ") && first.contains(" namespaces"), "{first}");
    let named = format!("in net:[{full_inode}] {}", full.name);
    assert!(first.contains("accept-queue-full") && first.contains(&named), "the status line names {named:?}: {first}");

    let check = sockscope(&["--all-netns", "check", "--interval", "300ms", "--format", "json"]);
    assert_eq!(check.status.code(), Some(2), "{}", String::from_utf8_lossy(&check.stderr));
    let text = String::from_utf8(check.stdout).expect("utf-8");
    let keys = top_level_keys(&text);
    assert_eq!(keys.first().map(String::as_str), Some("status"), "{keys:?}");
    assert_eq!(keys.get(1).map(String::as_str), Some("exit_code"), "{keys:?}");
    assert_eq!(keys.get(2).map(String::as_str), Some("summary"), "{keys:?}");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "check --all-netns --format json repeats a top-level key: {keys:?}");
    let json: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(json["status"], "CRITICAL");
    assert_eq!(json["exit_code"], 2);
    assert!(json["summary"].as_str().is_some_and(|s| s.starts_with("SOCKSCOPE CRITICAL - ")), "{}", json["summary"]);
    entry_for(&json, "namespaces", full_inode);
    entry_for(&json, "namespaces", leak_inode);
}

#[test]
fn namespaces_that_do_not_exist_are_usage_errors_in_one_line() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--netns", "nosuch-sockscope-test", "report"], "ip netns list"),
        (vec!["report", "--netns", "nosuch-sockscope-test"], "ip netns list"),
        (vec!["--pid", "999999999", "report"], "no such process"),
        (vec!["check", "--pid", "999999999"], "no such process"),
        (vec!["--netns", "/etc/passwd", "report"], "not a namespace file"),
        // The three options exclude each other wherever they are given, before or after the
        // subcommand (they are global options).
        (vec!["--netns", "a", "--pid", "1", "report"], "cannot be used with"),
        (vec!["report", "--netns", "a", "--all-netns"], "cannot be used with"),
        (vec!["--pid", "1", "--all-netns", "check"], "cannot be used with"),
        (vec!["--netns", "a", "report", "--pid", "1"], "cannot be used with"),
        (vec!["--all-netns", "report", "--pid", "1"], "cannot be used with"),
        (vec!["--pid", "1", "check", "--all-netns"], "cannot be used with"),
    ];
    let mut failures = Vec::new();
    for (args, wanted) in cases {
        let output = sockscope(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // check reports its usage errors as a monitoring plugin does: UNKNOWN, with a status line.
        let (status, stdout) = match args.contains(&"check") {
            true => (3, format!("SOCKSCOPE UNKNOWN - {}", stderr.trim().trim_start_matches("sockscope: error: "))),
            false => (2, String::new()),
        };
        let problems: Vec<String> = [
            (output.status.code() != Some(status))
                .then(|| format!("exit status {:?}, not {status}", output.status.code())),
            (stderr.lines().count() != 1).then(|| format!("{} lines on stderr, not 1", stderr.lines().count())),
            (!stderr.contains(wanted)).then(|| format!("stderr does not mention {wanted:?}")),
            (String::from_utf8_lossy(&output.stdout).trim_end() != stdout).then(|| format!("stdout is not {stdout:?}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !problems.is_empty() {
            failures.push(format!(
                "sockscope {}: {}; stderr: {:?}",
                args.join(" "),
                problems.join(", "),
                stderr.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of the cases fail:\n{}", failures.len(), failures.join("\n"));
}

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_tmux),
    ignore = "needs root and tmux: creates a network namespace and runs the dashboard in a terminal"
)]
fn the_dashboard_of_one_namespace_says_when_it_is_gone() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.core.somaxconn=256"]);
    let inode = netns_inode(&netns.name);
    let mut server = NsListener::start(&netns, 8080, 1000);
    let endpoint = format!("127.0.0.1:{}", server.port);
    let tmux = Tmux::start("netns-gone", &format!("--netns {} --no-processes", netns.name), 200, 40);
    let screen = tmux.wait_for(&[&endpoint, "somaxconn 256"]);
    let header = screen.lines().next().unwrap_or_default().to_string();
    assert!(
        header.contains(&format!("net:[{inode}]")) && header.contains(&netns.name),
        "the header names it: {header}"
    );
    assert!(screen.lines().any(|line| line.contains(&endpoint) && line.contains("/256")), "{screen}");
    let pid = tmux.sockscope_pid().expect("sockscope runs under the wrapper shell");

    server.stop();
    run_ok(Command::new("ip").args(["netns", "del", &netns.name]));
    let gone = tmux.wait_until(Duration::from_secs(10), "the screen never said the namespace is gone", |screen| {
        screen.to_lowercase().contains("gone")
    });
    assert!(process_runs(pid), "sockscope {pid} still runs:\n{gone}");
    assert!(!gone.contains("EXIT="), "sockscope ended:\n{gone}");
    let header = gone.lines().next().unwrap_or_default();
    assert!(header.contains(&format!("net:[{inode}]")), "still the same namespace: {header}");
    assert!(gone.contains("somaxconn 256"), "the last numbers stay on screen:\n{gone}");
    // Gone stays gone: a few samples later it still runs and still says so, with the time it went.
    let gone_at = |screen: &str| {
        screen
            .lines()
            .next()
            .and_then(|header| header.split_once("GONE at "))
            .map(|(_, rest)| rest.chars().take(8).collect::<String>())
    };
    let first = gone_at(&gone);
    std::thread::sleep(Duration::from_secs(3));
    let later = tmux.screen();
    assert!(process_runs(pid) && !later.contains("EXIT="), "sockscope {pid} still runs:\n{later}");
    assert!(later.to_lowercase().contains("gone") && later.contains("somaxconn 256"), "{later}");
    assert_eq!(gone_at(&later), first, "the time the namespace went does not move:\n{gone}\n{later}");
    tmux.keys(&["q"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0") && end.contains("RAW=off"), "{end}");
}

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_tmux),
    ignore = "needs root and tmux: creates a network namespace and runs the dashboard in a terminal"
)]
fn the_dashboard_of_all_namespaces_has_a_netns_column_and_n_picks_one() {
    require_root();
    let netns = TestNetns::new();
    let inode = netns_inode(&netns.name);
    let _server = netns.enter(|| listener("127.0.0.1:8181", 64));
    let host = listener("127.0.0.1:0", 16);
    let host_port = local_addr(&host).port().to_string();
    let tmux = Tmux::start("all-netns", "--all-netns --no-processes", 200, 40);
    let screen = tmux.wait_for(&["all namespaces", "127.0.0.1:8181"]);
    assert!(screen.lines().next().is_some_and(|header| header.contains("all namespaces")), "{screen}");

    tmux.keys(&["2"]);
    let name = netns.name.as_str();
    let listeners = tmux.wait_until(Duration::from_secs(10), "the Listeners view with a netns column", |screen| {
        screen.lines().any(|line| has_words(line, &["netns", "backlog"]))
            && screen.lines().any(|line| has_words(line, &[name, "127.0.0.1", "8181"]))
    });
    let heading = listeners.lines().find(|line| has_words(line, &["netns", "backlog"])).expect("column headings");
    assert!(
        heading.find("netns").is_some_and(|at| heading.find("backlog").is_some_and(|backlog| at < backlog)),
        "a netns column: {heading}"
    );
    assert!(
        listeners.lines().any(|line| has_words(line, &["127.0.0.1", &host_port])),
        "the host's listener is listed too:\n{listeners}"
    );
    assert!(listeners.lines().next().is_some_and(|header| header.contains("all namespaces")), "{listeners}");

    // n walks "all namespaces" and each namespace in turn; one of them is the test namespace.
    let scope = |screen: &str| {
        let header = screen.lines().next().unwrap_or_default();
        header.rsplit_once(" │ ").map(|(_, scope)| scope.trim().to_string()).unwrap_or_default()
    };
    let mut shown = scope(&listeners);
    let mut presses = 0;
    while !(shown.contains(name) && shown.contains(&format!("net:[{inode}]"))) {
        presses += 1;
        assert!(presses <= 100, "n never picked {name} (net:[{inode}]); the header last said {shown:?}");
        tmux.keys(&["n"]);
        let before = shown.clone();
        let screen = tmux.wait_until(Duration::from_secs(5), &format!("n did not move on from {before:?}"), |screen| {
            scope(screen) != before
        });
        shown = scope(&screen);
    }
    assert!(!shown.contains("all namespaces"), "{shown}");
    let one = tmux.wait_until(Duration::from_secs(5), "the Listeners view of the test namespace only", |screen| {
        screen.lines().any(|line| has_words(line, &["127.0.0.1", "8181"]))
            && !screen.lines().any(|line| has_words(line, &["127.0.0.1", &host_port]))
    });
    let row = one.lines().find(|line| has_words(line, &["127.0.0.1", "8181"])).expect("the listener's row");
    assert!(!has_words(row, &[name]), "no netns column for one namespace: {row}");
    tmux.keys(&["q"]);
    let end = tmux.wait_for(&["EXIT=", "RAW="]);
    assert!(end.contains("EXIT=0") && end.contains("RAW=off"), "{end}");
}
