//! The owner's side of a full accept queue, against a real nginx in a network namespace each
//! test creates: its workers stopped with SIGSTOP behind a `backlog=16` listener that the test
//! fills with a bounded number of connections, and an `SO_REUSEPORT` group whose members each
//! show their own worker (compared with `ss -ltnpe`). nginx runs from a private prefix in a
//! temporary directory (configuration, pid and logs there; nothing under /etc changes), in the
//! foreground, and is killed — workers too, resumed first — when the test ends, also on failure.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::nginx::Nginx;
use common::*;
use serde_json::Value;

/// The state letter of a process, from `/proc/<pid>/stat`.
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The owners' pids of a listener in the JSON report.
fn owner_pids(listener: &Value) -> Vec<u32> {
    listener["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|owner| owner["pid"].as_u64().expect("pid") as u32)
        .collect()
}

/// The listeners of a JSON report on `port`.
fn on_port(report: &Value, port: u64) -> Vec<Value> {
    let listeners = report["listeners"].as_array().expect("listeners");
    listeners.iter().filter(|listener| listener["local_port"].as_u64() == Some(port)).cloned().collect()
}

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_nginx),
    ignore = "needs root and nginx: creates a network namespace and runs nginx in it"
)]
fn a_full_queue_names_its_stopped_nginx_worker() {
    require_root();
    let netns = TestNetns::new();
    let nginx = Nginx::start(&netns, 1, &["127.0.0.1:8080 backlog=16"]);
    let worker = *nginx.workers().first().expect("one worker");
    nginx.signal_workers("-STOP");
    assert!(wait_until(Duration::from_secs(5), || state_of(worker) == Some('T')), "the worker stopped");
    // 40 connections: 17 fill the queue (backlog + 1), the rest are dropped and retry.
    let target = "127.0.0.1:8080".parse().expect("address");
    let _clients = netns.enter(move || connect_many(target, 40));
    let full = wait_until(Duration::from_secs(10), || {
        parse_ss(&netns.run("ss", &["-Hltn", "sport", "= :8080"])).first().is_some_and(|line| line.recv_q == 17)
    });
    assert!(full, "the accept queue filled: {}", netns.run("ss", &["-Hltn"]));

    let report = netns.report_json(&["--interval", "1s"]);
    let listener = &on_port(&report, 8080)[0];
    assert_eq!(listener["full"], true, "{listener}");
    assert_eq!(owner_pids(listener), vec![worker], "the worker polls it; the master only holds it: {listener}");
    let holders: Vec<u64> =
        listener["processes"].as_array().expect("processes").iter().filter_map(|p| p["pid"].as_u64()).collect();
    assert!(holders.contains(&u64::from(nginx.pid())), "the master holds it: {listener}");
    let owner = &listener["owners"][0];
    assert_eq!((owner["state"].as_str(), owner["run_state"].as_str()), (Some("T"), Some("stopped")), "{owner}");
    assert_eq!(owner["polls"], true);
    assert_eq!(owner["cpu"].as_f64(), Some(0.0), "a stopped process uses no CPU: {owner}");
    assert!(owner["threads"].as_u64().is_some_and(|threads| threads >= 1));

    let findings = report["findings"].as_array().expect("findings");
    let finding = findings.iter().find(|f| f["id"] == "accept-queue-full").expect("accept-queue-full");
    let summary = finding["summary"].as_str().expect("summary");
    assert!(
        summary.ends_with(&format!("; its only owner nginx[{worker}] is stopped (SIGSTOP)")),
        "the finding names the stopped owner: {summary}"
    );
    assert_eq!(finding["subject"]["label"], format!("tcp 127.0.0.1:8080 (nginx[{worker}])"));
    let remedy = finding["remedy"].as_str().expect("remedy");
    assert!(remedy.starts_with(&format!("Resume the stopped owners (kill -CONT {worker})")), "{remedy}");

    let text = netns.run(SOCKSCOPE, &["report"]);
    let owners_row = |line: &&str| {
        line.contains("tcp 127.0.0.1:8080") && line.contains(&format!("nginx[{worker}]  T stopped (SIGSTOP)"))
    };
    assert!(text.lines().any(|line| owners_row(&line)), "the text report's owners table:\n{text}");
}

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_nginx),
    ignore = "needs root and nginx: creates a network namespace and runs nginx in it"
)]
fn each_member_of_a_reuseport_group_shows_its_own_worker() {
    require_root();
    let netns = TestNetns::new();
    let nginx = Nginx::start(&netns, 2, &["127.0.0.1:8080 reuseport backlog=16"]);
    let workers = nginx.workers();
    let report = netns.report_json(&[]);
    let members = on_port(&report, 8080);
    assert_eq!(members.len(), 2, "one socket per worker: {members:?}");
    // ss lists every nginx process for every member: the master and both workers.
    let ss = netns.run("ss", &["-Hltnpe", "sport", "= :8080"]);
    let mut own = BTreeSet::new();
    for member in &members {
        let inode = member["inode"].as_u64().expect("inode");
        let line = ss.lines().find(|line| line.contains(&format!("ino:{inode} "))).expect("ss lists the member");
        let owners = owner_pids(member);
        assert_eq!(owners.len(), 1, "its own worker, not every worker: {member}");
        assert!(workers.contains(&owners[0]), "a worker, not the master: {member}");
        for pid in workers.iter().chain([&nginx.pid()]) {
            assert!(line.contains(&format!("pid={pid},")), "ss shows every process for it: {line}");
        }
        own.insert(owners[0]);
    }
    assert_eq!(own, workers, "each worker owns one member");
}

#[test]
#[cfg_attr(
    any(sockscope_unprivileged, sockscope_no_nginx),
    ignore = "needs root and nginx: creates a cgroup and a network namespace and runs nginx in them"
)]
fn an_owner_in_a_cgroup_shows_it_and_its_throttling_where_the_cpu_controller_is() {
    require_root();
    let Some(mount) = cgroup2_mount() else {
        panic!("this test needs a cgroup v2 hierarchy (a cgroup2 mount in /proc/self/mountinfo)");
    };
    let netns = TestNetns::new();
    let nginx = Nginx::start(&netns, 1, &["127.0.0.1:8080 backlog=16"]);
    let worker = *nginx.workers().first().expect("one worker");
    let cgroup = TestCgroup::new(&mount);
    let cpu_controller = cgroup.cpu_enabled();
    if cpu_controller {
        std::fs::write(cgroup.dir.join("cpu.max"), "5000 100000").expect("cpu.max");
    }
    std::fs::write(cgroup.dir.join("cgroup.procs"), worker.to_string()).expect("move the worker");
    // Keep the worker busy: requests in a bounded loop for the length of the report.
    let target: std::net::SocketAddr = "127.0.0.1:8080".parse().expect("address");
    let load = netns.enter(move || {
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let deadline = std::time::Instant::now() + Duration::from_secs(4);
            while std::time::Instant::now() < deadline {
                if let Ok(mut stream) = std::net::TcpStream::connect(target) {
                    let _ = stream.write_all(b"GET / HTTP/1.0\r\n\r\n");
                    let _ = stream.read_to_end(&mut Vec::new());
                }
            }
        })
    });
    // From the host's mount namespace: `ip netns exec` remounts /sys, hiding the cgroup files.
    let text = run_ok(Command::new(SOCKSCOPE).args(["--netns", &netns.name, "report", "--format", "json", "-i", "2s"]));
    let report: Value = serde_json::from_str(&text).expect("JSON");
    let _ = load.join();
    let owner = &on_port(&report, 8080)[0]["owners"][0];
    assert_eq!(owner["pid"].as_u64(), Some(u64::from(worker)));
    let shown = &owner["cgroup"];
    assert_eq!(shown["path"].as_str(), Some(cgroup.path.as_str()), "{owner}");
    assert!(shown["memory_some_avg10"].as_f64().is_some(), "memory.pressure is read: {shown}");
    if cpu_controller {
        assert_eq!(shown["cpu_limit"].as_f64(), Some(0.05), "{shown}");
        assert!(shown["throttled_periods"].as_u64().is_some_and(|n| n > 0), "throttled under load: {shown}");
    } else {
        // A hybrid host (the cpu controller bound to cgroup v1): no throttling figures, and no guess.
        assert!(shown["throttled"].is_null() && shown["cpu_limit"].is_null(), "{shown}");
    }
    drop(nginx);
}

/// The cgroup v2 mount point, from this process's mountinfo.
fn cgroup2_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo
        .lines()
        .find(|line| line.contains(" - cgroup2 "))
        .and_then(|line| line.split(' ').nth(4))
        .map(PathBuf::from)
}

/// A child cgroup of the v2 root made for one test; its processes are moved back to the root
/// and it is removed when dropped.
struct TestCgroup {
    root: PathBuf,
    dir: PathBuf,
    /// Its path as `/proc/<pid>/cgroup` shows it.
    path: String,
}

impl TestCgroup {
    fn new(root: &std::path::Path) -> TestCgroup {
        let name = format!("sockscope-test-{}", std::process::id());
        let dir = root.join(&name);
        std::fs::create_dir(&dir).unwrap_or_else(|error| panic!("create {}: {error}", dir.display()));
        TestCgroup { root: root.to_path_buf(), dir, path: format!("/{name}") }
    }

    /// Whether the root already enables the cpu controller for its children (the test does not
    /// change the host's controllers).
    fn cpu_enabled(&self) -> bool {
        let enabled = std::fs::read_to_string(self.root.join("cgroup.subtree_control")).unwrap_or_default();
        enabled.split_whitespace().any(|controller| controller == "cpu")
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        let procs = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.split_whitespace() {
            let _ = std::fs::write(self.root.join("cgroup.procs"), pid);
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}
