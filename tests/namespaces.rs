//! `--netns`, `--pid` and `--all-netns` against real namespaces made by the tests: each
//! namespace's own listeners, clamped backlog and settings, never the host's; every namespace side
//! by side with one check status; and one clear line for a namespace that does not exist.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// A child process kept inside a namespace (its pid is what `--pid` takes); killed when dropped.
struct Resident(Child);

impl Resident {
    fn start(netns: &TestNetns) -> Resident {
        let child = netns.command("sleep", &["120"]).stdout(Stdio::null()).spawn().expect("sleep in the namespace");
        Resident(child)
    }

    /// The pid of `sleep` itself (`ip netns exec` execs it, so the child's pid).
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Resident {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sockscope ARGS`: exit status, stdout, stderr.
fn sockscope(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(SOCKSCOPE).args(args).output().expect("sockscope runs");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

fn json(args: &[&str]) -> Value {
    let (status, stdout, stderr) = sockscope(args);
    assert_eq!(status, 0, "sockscope {args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("sockscope {args:?}: {error}\n{stdout}"))
}

fn inode_of(netns: &TestNetns) -> u64 {
    let path = format!("/run/netns/{}", netns.name);
    sockscope::collect::host::namespaces::namespace_inode(std::path::Path::new(&path)).expect("namespace inode")
}

fn listener_on(report: &Value, port: u64) -> Option<&Value> {
    report["listeners"].as_array()?.iter().find(|listener| listener["local_port"] == port)
}

fn findings<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["findings"].as_array().map(|all| all.iter().filter(|f| f["id"] == id).collect()).unwrap_or_default()
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and enters it")]
fn a_namespace_with_somaxconn_256_reports_its_own_backlog_and_settings_in_every_mode() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.core.somaxconn=256"]);
    netns.run("sysctl", &["-qw", "net.ipv4.ip_local_port_range=20000 20999"]);
    let _inside = netns.enter(|| listener("127.0.0.1:7100", 1000));
    let host = listener("127.0.0.1:0", 50);
    let host_port = host.local_addr().ok().and_then(|a| a.as_socket()).map(|a| u64::from(a.port())).expect("port");
    // What the kernel says, through ss inside the namespace: the clamped backlog is Send-Q.
    let ss = parse_ss(&netns.run("ss", &["-Hltn", "sport = :7100"]));
    assert_eq!(ss.iter().map(|line| (line.recv_q, line.send_q)).collect::<Vec<_>>(), vec![(0, 256)]);
    let resident = Resident::start(&netns);
    let by_pid = resident.pid().to_string();
    let by_path = format!("/run/netns/{}", netns.name);
    for selector in [["--netns", netns.name.as_str()], ["--netns", by_path.as_str()], ["--pid", by_pid.as_str()]] {
        let report = json(&[selector[0], selector[1], "report", "--format", "json"]);
        assert_eq!(report["netns"]["inode"], inode_of(&netns), "{selector:?}");
        assert_eq!(report["netns"]["name"], netns.name.as_str(), "{selector:?}");
        assert_eq!(report["sysctl"]["net.core.somaxconn"], 256, "{selector:?}");
        assert_eq!(report["sysctl"]["net.ipv4.ip_local_port_range"], serde_json::json!([20000, 20999]));
        let own = listener_on(&report, 7100).unwrap_or_else(|| panic!("{selector:?}: {}", report["listeners"]));
        assert_eq!(own["backlog"], 256, "asked for 1000, clamped by this namespace's somaxconn");
        assert!(listener_on(&report, host_port).is_none(), "{selector:?}: the host's listener leaked in");
        let divergence = findings(&report, "netns-divergence");
        let somaxconn = divergence.iter().find(|f| f["summary"].as_str().is_some_and(|s| s.contains("somaxconn")));
        let somaxconn = somaxconn.unwrap_or_else(|| panic!("{selector:?}: {}", report["findings"]));
        let summary = somaxconn["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("256 here but"), "{summary}");
        let through = somaxconn["evidence"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["label"] == "host namespace found through"));
        assert!(through.is_some_and(|e| e["value"].as_str().is_some_and(|v| v.starts_with("pid "))), "{somaxconn}");
    }
    let (_, text, _) = sockscope(&["--netns", &netns.name, "report"]);
    assert!(text.contains(&format!("Netns     net:[{}] {}", inode_of(&netns), netns.name)), "{text}");
    assert!(text.contains("127.0.0.1:7100") && text.contains("256 here but"), "{text}");
    let (status, check, _) = sockscope(&["--netns", &netns.name, "check", "--interval", "200ms"]);
    assert!((0..=3).contains(&status) && check.starts_with("SOCKSCOPE "), "{check}");
    assert!(check.contains("somaxconn-low") && check.contains("netns-divergence"), "{check}");
    drop(host);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates network namespaces and enters them")]
fn all_netns_shows_every_namespace_side_by_side_with_one_status() {
    require_root();
    let full = TestNetns::new();
    let leaking = TestNetns::new();
    // A listener whose accept queue (backlog 1: room for 2) is full: three handshakes, none accepted.
    let _full = full.enter(|| {
        let server = listener("127.0.0.1:7200", 1);
        let clients: Vec<TcpStream> = (0..3)
            .filter_map(|_| {
                TcpStream::connect_timeout(&"127.0.0.1:7200".parse().ok()?, Duration::from_millis(300)).ok()
            })
            .collect();
        (server, clients)
    });
    // A server that never closes what its clients hung up on: CLOSE_WAIT.
    let _leak = leaking.enter(|| close_wait_leak("127.0.0.1:7300", 5));
    let report = json(&["--all-netns", "report", "--format", "json"]);
    assert_eq!(report["scope"], "all_netns");
    let summary = report["overview"].as_array().expect("overview");
    let row = |netns: &TestNetns| {
        summary.iter().find(|row| row["netns"]["inode"] == inode_of(netns)).unwrap_or_else(|| panic!("{summary:?}"))
    };
    let full_row = row(&full);
    assert_eq!(full_row["state"], "live");
    assert_eq!(full_row["netns"]["name"], full.name.as_str());
    assert_eq!(full_row["fullest_listener"]["local_port"], 7200);
    assert_eq!(full_row["fullest_listener"]["full"], true, "{full_row}");
    let ss = parse_ss(&full.run("ss", &["-Hltn", "sport = :7200"]));
    let queue = (&full_row["fullest_listener"]["accept_queue"], &full_row["fullest_listener"]["backlog"]);
    assert_eq!(ss.iter().map(|line| (line.recv_q, line.send_q)).collect::<Vec<_>>(), vec![(2, 1)], "{queue:?}");
    assert_eq!((queue.0.as_u64(), queue.1.as_u64()), (Some(2), Some(1)), "as ss shows it");
    let somaxconn = full.run("sysctl", &["-n", "net.core.somaxconn"]);
    assert_eq!(full_row["somaxconn"].as_u64(), somaxconn.trim().parse().ok(), "sysctl inside the namespace");
    assert_eq!(row(&leaking)["fullest_listener"]["local_port"], 7300);
    assert!(summary.len() >= 3, "the host's namespace is listed too: {summary:?}");
    let namespaces = report["namespaces"].as_array().expect("namespaces");
    let own = |netns: &TestNetns| -> &Value {
        let entry = namespaces.iter().find(|n| n["netns"]["inode"] == inode_of(netns)).expect("namespace entry");
        &entry["report"]
    };
    assert!(listener_on(own(&full), 7300).is_none() && listener_on(own(&leaking), 7200).is_none());
    assert_eq!(own(&leaking)["tcp_states"]["CLOSE_WAIT"], 5);
    let (_, text, _) = sockscope(&["--all-netns", "report"]);
    for netns in [&full, &leaking] {
        assert!(text.contains(&format!("net:[{}] {}", inode_of(netns), netns.name)), "{text}");
    }
    let (status, check, _) = sockscope(&["--all-netns", "check", "--interval", "200ms"]);
    assert_eq!(status, 2, "a full accept queue somewhere is critical: {check}");
    let first = check.lines().next().unwrap_or_default();
    assert!(first.starts_with("SOCKSCOPE CRITICAL - "), "{first}");
    assert!(first.contains("accept-queue-full tcp 127.0.0.1:7200") && first.contains(&full.name), "{first}");
}

#[test]
fn a_namespace_or_pid_that_does_not_exist_is_one_line_and_exit_2_or_unknown_in_check() {
    // check reports its usage errors as a monitoring plugin does: UNKNOWN, with a status line.
    let expected = |args: &[&str]| match args.contains(&"check") {
        true => (3, "SOCKSCOPE UNKNOWN - "),
        false => (2, ""),
    };
    for (args, says) in [
        (vec!["--netns", "sockscope-no-such-namespace", "report"], "ip netns list"),
        (vec!["--pid", "999999999", "report"], "no such process"),
        (vec!["--netns", "/etc/passwd", "check"], "not a namespace file"),
        (vec!["--netns", "/nonexistent/ns", "report"], "No such file"),
    ] {
        let (status, stdout, stderr) = sockscope(&args);
        let (wanted, starts) = expected(&args);
        assert_eq!(status, wanted, "{args:?}: {stderr}");
        assert!(stdout.starts_with(starts) && stdout.lines().count() == usize::from(wanted == 3), "{args:?}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    for args in [
        &["--netns", "a", "--pid", "1", "report"][..],
        &["--netns", "a", "report", "--pid", "1"][..],
        &["--all-netns", "report", "--pid", "1"][..],
        &["--pid", "1", "check", "--all-netns"][..],
    ] {
        let (status, stdout, stderr) = sockscope(args);
        let (wanted, starts) = expected(args);
        assert!(status == wanted && stdout.starts_with(starts), "{args:?}: {status} {stdout} {stderr}");
        assert!(stderr.contains("cannot be used with"), "{args:?}: {stderr}");
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace, then drops privileges")]
fn without_privileges_a_namespace_cannot_be_entered_and_says_so() {
    require_root();
    let netns = TestNetns::new();
    let as_nobody = |args: &[&str]| {
        let output = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", SOCKSCOPE])
            .args(args)
            .output()
            .expect("setpriv runs (util-linux)");
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
    };
    let (status, stdout, stderr) = as_nobody(&["--netns", &netns.name, "report"]);
    assert_eq!(status, 1, "exists but cannot be entered: {stderr}");
    assert!(stdout.is_empty() && stderr.lines().count() == 1 && stderr.contains("CAP_SYS_ADMIN"), "{stderr}");
    let (status, stdout, stderr) = as_nobody(&["--all-netns", "report", "--format", "json"]);
    assert_eq!(status, 0, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    let summary = report["overview"].as_array().expect("overview");
    let row = summary.iter().find(|row| row["netns"]["inode"] == inode_of(&netns)).expect("listed, not dropped");
    assert_eq!(row["state"], "unavailable");
    assert!(row["reason"].as_str().is_some_and(|reason| reason.contains("CAP_SYS_ADMIN")), "{row}");
    let own = sockscope::collect::host::namespaces::namespace_inode(std::path::Path::new("/proc/self/ns/net"))
        .expect("own namespace");
    let own_row = summary.iter().find(|row| row["netns"]["inode"] == own).expect("its own namespace");
    assert_eq!(own_row["state"], "live", "its own namespace needs no setns: {own_row}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace, then drops privileges")]
fn host_wide_settings_unreadable_from_a_child_namespace_say_so_rather_than_absent() {
    require_root();
    let netns = TestNetns::new();
    let output = netns
        .command("setpriv", &["--reuid=65534", "--regid=65534", "--clear-groups", SOCKSCOPE, "report"])
        .output()
        .expect("setpriv runs (util-linux)");
    let report = String::from_utf8_lossy(&output.stdout);
    let line = report.lines().find(|line| line.contains("host-wide, not readable from this namespace"));
    assert!(line.is_some_and(|line| line.contains("net.ipv4.tcp_mem")), "{report}");
    // As root the host's namespace is read and the same settings have values.
    let root = netns.run(SOCKSCOPE, &["report"]);
    assert!(!root.contains("host-wide, not readable"), "{root}");
    assert!(root.lines().any(|line| line.trim_start().starts_with("net.ipv4.tcp_mem ")), "{root}");
}
