//! `sockscope check` in network namespaces holding planted trouble, run as monitoring would run
//! it: the status line, the findings named by id with evidence and remedy, the exit status.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// Runs `sockscope check --format json` in the namespace; returns the exit status and the JSON.
fn check(netns: &TestNetns, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", "--interval", "300ms", "--format", "json"];
    args.extend_from_slice(extra);
    let output = netns.command(SOCKSCOPE, &args).output().expect("run sockscope check");
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().expect("exit status"), json)
}

/// The findings with an id, as (severity, subject label).
fn with_id<'a>(json: &'a Value, id: &str) -> Vec<&'a Value> {
    json["findings"].as_array().expect("findings").iter().filter(|f| f["id"] == id).collect()
}

fn assert_actionable(finding: &Value) {
    for field in ["summary", "explanation", "remedy"] {
        assert!(finding[field].as_str().is_some_and(|text| text.len() > 20), "{field} of {finding}");
    }
    assert!(!finding["evidence"].as_array().expect("evidence").is_empty(), "{finding}");
    assert!(finding["subject"]["label"].is_string());
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn a_clean_namespace_is_ok() {
    require_root();
    let netns = TestNetns::new();
    let _server = netns.enter(|| listener("0.0.0.0:8080", 511));
    let (status, json) = check(&netns, &[]);
    let severe: Vec<&Value> =
        json["findings"].as_array().expect("findings").iter().filter(|f| f["severity"] != "info").collect();
    assert!(severe.is_empty(), "{severe:?}");
    assert_eq!(status, 0, "{}", json["summary"]);
    assert_eq!(json["status"], "OK");
    assert!(json["summary"].as_str().is_some_and(|s| s.starts_with("SOCKSCOPE OK - ")));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and sets its sysctls")]
fn low_somaxconn_a_full_queue_and_syncookies_off_are_critical() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.core.somaxconn=128", "net.ipv4.tcp_syncookies=0"]);
    // The service asks for 511; the kernel clamps it to 128. 140 clients fill the queue.
    let (_server, _clients) = netns.enter(|| {
        let server = listener("0.0.0.0:8080", 511);
        let clients = connect_many("127.0.0.1:8080".parse().expect("address"), 140);
        (server, clients)
    });
    assert!(wait_until(Duration::from_secs(5), || {
        parse_ss(&netns.run("ss", &["-Hltn"])).iter().any(|line| line.recv_q == 129 && line.send_q == 128)
    }));
    let (status, json) = check(&netns, &[]);
    assert_eq!(status, 2, "{}", json["summary"]);
    assert_eq!(json["status"], "CRITICAL");
    let full = with_id(&json, "accept-queue-full");
    assert_eq!(full.len(), 1);
    assert_eq!(full[0]["severity"], "critical");
    assert_eq!(full[0]["subject"]["endpoint"], "0.0.0.0:8080");
    assert_actionable(full[0]);
    assert_eq!(with_id(&json, "somaxconn-low")[0]["severity"], "critical");
    let clamped = with_id(&json, "backlog-clamped-by-somaxconn");
    assert_eq!(clamped[0]["severity"], "warning");
    assert!(clamped[0]["remedy"].as_str().is_some_and(|r| r.contains("restart")));
    let cookies = with_id(&json, "syncookies-disabled");
    assert!(!cookies.is_empty(), "syncookies-disabled should fire: {}", json["findings"]);
    assert_actionable(cookies[0]);
    let summary = json["summary"].as_str().expect("summary");
    assert!(summary.starts_with("SOCKSCOPE CRITICAL - ") && summary.contains("accept-queue-full"), "{summary}");
    // The text form leads with the same status line.
    let text = netns.command(SOCKSCOPE, &["check", "--interval", "200ms"]).output().expect("run");
    assert_eq!(text.status.code(), Some(2));
    let first = String::from_utf8_lossy(&text.stdout).lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("SOCKSCOPE CRITICAL - ") && first.contains(" | listen_overflows_per_second="), "{first}");
    // Performance data carries the full listener with its levels, and the states ss counts.
    let perfdata = first.split_once(" | ").map(|(_, data)| data).unwrap_or_default();
    assert!(perfdata.contains("'fill tcp 0.0.0.0:8080'=100.0%;80;100;0;100"), "{perfdata}");
    assert!(perfdata.contains("max_accept_queue_fill=1.000;0.8;1;0;1"), "{perfdata}");
    let states = ss_state_counts(&netns.run("ss", &["-Htan"]));
    let count = |state: &str| states.get(state).copied().unwrap_or(0);
    assert!(perfdata.contains(&format!(" close_wait={};100;;0 ", count("CLOSE_WAIT"))), "{perfdata}");
    assert!(perfdata.contains(&format!(" syn_recv={};;;0 ", count("SYN_RECV"))), "{perfdata}");
    assert!(perfdata.contains(" port_use=") && perfdata.contains("%;70;90;0;100"), "{perfdata}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and sets its sysctls")]
fn a_narrow_port_range_nearly_used_up_toward_one_destination() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.ipv4.ip_local_port_range=40000 40099"]);
    let _connections = netns.enter(|| {
        let server = TcpListener::bind("127.0.0.1:5432").expect("bind");
        let pairs: Vec<(TcpStream, TcpStream)> = (0..95)
            .map(|_| {
                let client = TcpStream::connect("127.0.0.1:5432").expect("connect");
                let (accepted, _) = server.accept().expect("accept");
                (client, accepted)
            })
            .collect();
        (server, pairs)
    });
    let (status, json) = check(&netns, &[]);
    assert_eq!(status, 2, "{}", json["summary"]);
    // The headline port use is the busiest destination's share of the usable range: its
    // sockets counted by ss, over the 100 ports of the range.
    let ss = netns.run("ss", &["-tanH", "state", "all", "( dport = :5432 and sport >= :40000 and sport <= :40099 )"]);
    let toward = ss.lines().filter(|line| !line.trim().is_empty()).count();
    assert_eq!(toward, 95, "{ss}");
    assert_eq!(json["ports"]["usable"], 100);
    assert_eq!(json["ports"]["by_destination"][0]["in_use"], toward);
    assert_eq!(json["ports"]["fullest_share"].as_f64(), Some(toward as f64 / 100.0));
    let exhausted = with_id(&json, "ephemeral-ports-exhausted");
    assert_eq!(exhausted.len(), 1, "{}", json["findings"]);
    assert_eq!(exhausted[0]["severity"], "critical");
    assert_eq!(exhausted[0]["subject"]["kind"], "destination");
    assert_eq!(exhausted[0]["subject"]["remote_port"], 5432);
    assert_actionable(exhausted[0]);
    let range = with_id(&json, "port-range-config");
    assert!(range.iter().any(|f| f["severity"] == "warning"), "a tiny range under pressure: {range:?}");
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn a_process_leaving_150_connections_in_close_wait() {
    require_root();
    let netns = TestNetns::new();
    // This test process accepts 150 connections and never closes them; the clients hang up.
    let _held = netns.enter(|| close_wait_leak("127.0.0.1:7000", 150));
    assert!(wait_until(Duration::from_secs(5), || {
        ss_state_counts(&netns.run("ss", &["-Htan"])).get("CLOSE_WAIT") == Some(&150)
    }));
    let (status, json) = check(&netns, &[]);
    // Another test's child, between fork and exec, briefly holds copies of this process's
    // descriptors and is rightly named as well: only this process's finding is checked.
    let mut leak = with_id(&json, "close-wait-leak");
    leak.retain(|finding| finding["subject"]["process"]["pid"] == std::process::id());
    assert_eq!(leak.len(), 1, "{}", json["findings"]);
    assert_eq!(leak[0]["severity"], "warning");
    assert_eq!(leak[0]["subject"]["kind"], "process");
    assert_eq!(leak[0]["subject"]["process"]["pid"], std::process::id());
    assert!(leak[0]["summary"].as_str().is_some_and(|s| s.starts_with("150 sockets in CLOSE_WAIT")));
    assert_actionable(leak[0]);
    assert_eq!(status, 1, "{}", json["summary"]);
    // Raising the threshold through a config file silences it.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[thresholds]\nclose_wait_sockets = 500\n").expect("write config");
    let (status, json) = check(&netns, &["--config", config.to_str().expect("utf-8")]);
    assert!(with_id(&json, "close-wait-leak").is_empty());
    assert_eq!(status, 0, "{}", json["summary"]);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace, runs check as uid 65534")]
fn a_root_owned_close_wait_leak_is_found_by_an_unprivileged_check_and_what_it_could_not_read_is_said() {
    require_root();
    let netns = TestNetns::new();
    // The leak belongs to this test process (root); check runs as nobody, as NRPE would run it.
    let _held = netns.enter(|| close_wait_leak("127.0.0.1:7010", 150));
    assert!(wait_until(Duration::from_secs(5), || {
        ss_state_counts(&netns.run("ss", &["-Htan"])).get("CLOSE_WAIT") == Some(&150)
    }));
    let nobody = ["--reuid", "65534", "--regid", "65534", "--clear-groups", SOCKSCOPE];
    for mode in
        [["check", "--interval", "300ms", "--format", "json"], ["report", "--interval", "300ms", "--format", "json"]]
    {
        let output = netns.command("setpriv", &[&nobody[..], &mode[..]].concat()).output().expect("setpriv runs");
        let json: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
        let leak = with_id(&json, "close-wait-leak");
        assert_eq!(leak.len(), 1, "{}: {}", mode[0], json["findings"]);
        assert_eq!(
            (&leak[0]["subject"]["kind"], &leak[0]["subject"]["uid"]),
            (&"user".into(), &0.into()),
            "{}",
            mode[0]
        );
        assert!(leak[0]["summary"].as_str().is_some_and(|s| s.starts_with("150 sockets in CLOSE_WAIT")));
        assert_actionable(leak[0]);
        let not_evaluated = json["not_evaluated"].as_array().expect("not_evaluated");
        let unjudged = not_evaluated.iter().find(|n| n["id"] == "close-wait-leak");
        let reason = unjudged.and_then(|n| n["reason"].as_str()).unwrap_or_default();
        assert!(reason.contains("processes could not be inspected"), "{}: {not_evaluated:?}", mode[0]);
        if mode[0] == "check" {
            assert_eq!(output.status.code(), Some(1), "a warning: {}", json["summary"]);
        }
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and sets its sysctls")]
fn abort_on_overflow_is_named() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.ipv4.tcp_abort_on_overflow=1"]);
    let (status, json) = check(&netns, &[]);
    let handshake = with_id(&json, "handshake-sysctls");
    assert_eq!(handshake.len(), 1, "{}", json["findings"]);
    assert_eq!(handshake[0]["subject"]["name"], "net.ipv4.tcp_abort_on_overflow");
    assert_eq!(handshake[0]["severity"], "warning");
    assert_actionable(handshake[0]);
    assert_eq!(status, 1);
    // Silencing the check by id brings the namespace back to OK.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "silence = [\"handshake-sysctls\"]\n").expect("write config");
    let (status, _) = check(&netns, &["--config", config.to_str().expect("utf-8")]);
    assert_eq!(status, 0);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and reads /dev/kmsg")]
fn a_syn_queue_overflowing_into_cookies_is_seen_and_logged() {
    require_root();
    // listen(4) with TCP_DEFER_ACCEPT: the first requests stay half-open, the SYN queue reaches
    // its limit and the kernel answers the rest with cookies (kernel-queues.md §4.2). The cookie
    // clients' ACKs create children directly, which fill the accept queue (5 of 5).
    let started_micros = sockscope::collect::boottime_ns() / 1_000;
    let netns = TestNetns::new();
    let (_server, _clients, port) = netns.enter(|| {
        let server = listener("127.0.0.1:8443", 4);
        defer_accept(&server, 30);
        let port = local_addr(&server).port();
        let clients = connect_many(local_addr(&server), 10);
        (server, clients, port)
    });
    let filter = format!("sport = :{port}");
    assert!(wait_until(Duration::from_secs(5), || netns
        .run("ss", &["-Htn", "state", "syn-recv", &filter])
        .lines()
        .count()
        >= 4));
    let (status, json) = check(&netns, &[]);
    let pressure = with_id(&json, "syn-queue-pressure");
    let at_limit = pressure.iter().find(|f| f["severity"] == "warning" && f["subject"]["kind"] == "listener");
    assert!(
        at_limit.is_some_and(|f| f["summary"].as_str().is_some_and(|s| s.contains("at its limit"))),
        "{pressure:?}"
    );
    assert_eq!(with_id(&json, "accept-queue-full")[0]["severity"], "critical", "cookie children fill the accept queue");
    assert_eq!(status, 2, "{}", json["summary"]);
    let cookies = json["counters"]["TcpExt"]["TCPReqQFullDoCookies"].as_i64().expect("counter");
    assert!(cookies >= 1, "the kernel sent cookies: {cookies}");
    // The kernel logs the flood once per listener; /dev/kmsg is readable as root.
    let events = json["kernel_events"].as_array().expect("kernel events are readable as root");
    let line = format!(":{port}. Sending cookies");
    let fresh = |e: &&Value| e["boot_micros"].as_u64().is_some_and(|at| at >= started_micros);
    assert!(
        events
            .iter()
            .filter(fresh)
            .any(|e| e["kind"] == "syn_flood" && e["message"].as_str().is_some_and(|m| m.contains(&line))),
        "no SYN-flood line logged since the test started: {events:?}"
    );
    assert!(pressure.iter().any(|f| f["severity"] == "info" && f["summary"].as_str().is_some_and(|s| s.contains("logged a SYN flood"))));
}

#[test]
fn a_bad_config_is_one_line_and_status_2_or_unknown_in_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[thresholds]\naccept_queue_fil = 0.9\n").expect("write");
    for (mode, status) in [("check", 3), ("report", 2)] {
        let args = [mode, "--config", config.to_str().expect("utf-8")];
        let output = std::process::Command::new(SOCKSCOPE).args(args).output().expect("run");
        assert_eq!(output.status.code(), Some(status), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("bad.toml") && stderr.contains("accept_queue_fil"), "{stderr}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        match mode {
            "check" => {
                assert!(stdout.starts_with("SOCKSCOPE UNKNOWN - config ") && stdout.lines().count() == 1, "{stdout}")
            }
            _ => assert!(stdout.is_empty(), "{stdout}"),
        }
    }
    let missing = std::process::Command::new(SOCKSCOPE)
        .args(["report", "--config", "/nonexistent/sockscope.toml"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/sockscope.toml"));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and sets its sysctls")]
fn findings_appear_in_the_report_too() {
    require_root();
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.core.somaxconn=128"]);
    let _server = netns.enter(|| listener("0.0.0.0:80", 128));
    let report = netns.report_json(&[]);
    let findings = report["findings"].as_array().expect("findings");
    assert!(findings.iter().any(|f| f["id"] == "somaxconn-low"), "{findings:?}");
    let text = netns.run(SOCKSCOPE, &["report"]);
    assert!(text.contains("Findings (most severe first)") && text.contains("[WARN] somaxconn-low"), "{text}");
}

#[test]
#[cfg_attr(
    sockscope_unprivileged,
    ignore = "needs root: creates a network namespace, sets its sysctls and calls setns"
)]
fn the_host_namespace_comparison_reads_the_other_side() {
    require_root();
    // The test's own namespace plays the host; the test namespace is the container.
    let netns = TestNetns::new();
    netns.run("sysctl", &["-qw", "net.core.somaxconn=100"]);
    let own = format!("/run/netns/{}", netns.name);
    let own_inode = sockscope::collect::host::namespaces::namespace_inode(Path::new(&own)).expect("test namespace");
    let host = sockscope::collect::host::namespaces::HostNamespaceReader::at(Path::new("/proc/self/ns/net"));
    let comparison = host.compare(own_inode);
    let sockscope::sample::HostNamespace::Other { sysctls, .. } = comparison else {
        panic!("expected another namespace, got {comparison:?}");
    };
    let host_somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn").expect("read");
    assert_eq!(sysctls.get("net.core.somaxconn").and_then(|v| v.as_integer()), host_somaxconn.trim().parse().ok());
    assert!(sysctls.contains_key("net.ipv4.tcp_mem"), "host-wide settings are read in the host's namespace");
}

#[test]
fn check_list_names_every_check_with_its_thresholds_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "silence = [\"time-wait-myths\"]\n[thresholds]\nclose_wait_sockets = 500\n")
        .expect("write");
    let config = config.to_str().expect("utf-8");
    let output =
        std::process::Command::new(SOCKSCOPE).args(["--config", config, "check", "--list"]).output().expect("run");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    for check in sockscope::advise::CHECKS {
        assert!(text.lines().any(|line| line.starts_with(&format!("{} ({})", check.id, check.family))), "{}", check.id);
    }
    assert!(text.contains("close_wait_sockets = 500 (default 100)"), "{text}");
    assert!(text.contains("accept_queue_fill = 0.8 "), "{text}");
    assert!(text.contains("time-wait-myths (states) [silenced]"), "{text}");
}

/// Sends 3000-byte datagrams to `target` from inside `netns` for `duration` (200 a second).
fn send_large_datagrams(netns: &TestNetns, target: &'static str, duration: Duration) -> std::thread::JoinHandle<()> {
    let netns = netns.name.clone();
    std::thread::spawn(move || {
        let path = std::path::PathBuf::from(format!("/run/netns/{netns}"));
        let sent = sockscope::collect::host::namespaces::in_namespace(&path, move || {
            let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("UDP socket");
            let started = std::time::Instant::now();
            while started.elapsed() < duration {
                let _ = socket.send_to(&[0u8; 3000], target);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        sent.expect("entering the namespace");
    })
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates network namespaces and a veth pair")]
fn a_veth_pair_with_mismatched_mtus_is_named_on_both_ends_and_its_drops_get_a_veth_remedy() {
    require_root();
    let (sender, receiver) = (TestNetns::new(), TestNetns::new());
    sender.run(
        "ip",
        &["link", "add", "ev3a0", "mtu", "9000", "type", "veth", "peer", "name", "ev3b0", "netns", &receiver.name],
    );
    receiver.run("ip", &["link", "set", "ev3b0", "mtu", "1500", "up"]);
    sender.run("ip", &["link", "set", "ev3a0", "up"]);
    sender.run("ip", &["addr", "add", "10.77.0.1/24", "dev", "ev3a0"]);
    receiver.run("ip", &["addr", "add", "10.77.0.2/24", "dev", "ev3b0"]);
    // As `ip -d link` sees them: the peer's index lives in the other namespace.
    let details: Value =
        serde_json::from_str(&sender.run("ip", &["-d", "-j", "link", "show", "ev3a0"])).expect("ip -j");
    let netnsid = details[0]["link_netnsid"].as_i64().expect("ip shows link_netnsid");
    for (netns, name, peer, peer_mtu) in [(&sender, "ev3a0", "ev3b0", 1500), (&receiver, "ev3b0", "ev3a0", 9000)] {
        let report = netns.report_json(&[]);
        let interfaces = report["interfaces"].as_array().expect("interfaces");
        let veth = interfaces.iter().find(|i| i["name"] == name).expect("the veth");
        assert_eq!((&veth["link"], &veth["peer_mtu"]), (&peer.into(), &peer_mtu.into()), "{veth}");
        let (_, json) = check(netns, &[]);
        let mismatch = with_id(&json, "mtu-mismatch");
        assert_eq!(mismatch.len(), 1, "{name}: {}", json["findings"]);
        assert_eq!(mismatch[0]["subject"]["name"], name);
        assert!(mismatch[0]["summary"].as_str().is_some_and(|s| s.contains(&format!("veth peer {peer}"))));
        assert_actionable(mismatch[0]);
    }
    let report = sender.report_json(&[]);
    let veth = report["interfaces"].as_array().and_then(|list| list.iter().find(|i| i["name"] == "ev3a0").cloned());
    assert_eq!(veth.map(|veth| veth["link_netnsid"].clone()), Some(netnsid.into()));
    // Large datagrams from the 9000 side are dropped by the 1500 side: a veth has no ring to grow.
    let traffic = send_large_datagrams(&sender, "10.77.0.2:9", Duration::from_millis(2500));
    let (_, json) = check(&receiver, &[]);
    traffic.join().expect("sender");
    let drops = with_id(&json, "nic-rx-drops");
    assert_eq!(drops.len(), 1, "{}", json["findings"]);
    let remedy = drops[0]["remedy"].as_str().unwrap_or_default();
    assert!(!remedy.contains("ethtool -G") && remedy.contains("MTU"), "{remedy}");
    assert!(drops[0]["explanation"].as_str().is_some_and(|e| e.contains("veth device: it has no NIC ring")));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn a_queue_full_only_early_in_the_interval_still_counts() {
    require_root();
    // listen(2): three clients fill the accept queue (3 of 3). The service catches up 2.5 s
    // into check's four seconds; judging only the last sample, check would say nothing was wrong.
    let netns = TestNetns::new();
    let (server, _clients) = netns.enter(|| {
        let server = listener("127.0.0.1:8080", 2);
        let clients = connect_many(local_addr(&server), 3);
        (server, clients)
    });
    assert!(wait_until(Duration::from_secs(5), || {
        parse_ss(&netns.run("ss", &["-Hltn"])).iter().any(|line| line.recv_q == 3 && line.send_q == 2)
    }));
    let run = netns
        .command(SOCKSCOPE, &["check", "--interval", "4s", "--format", "json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run sockscope check");
    // Long enough for two samples to see the full queue on a loaded machine (a finding seen by
    // the first sample alone is provisional), well before the end of the interval.
    std::thread::sleep(Duration::from_millis(2_500));
    let accepted: Vec<_> = (0..3).map(|_| server.accept().expect("accept")).collect();
    assert!(parse_ss(&netns.run("ss", &["-Hltn"])).iter().all(|line| line.recv_q == 0), "the queue drained");
    let output = run.wait_with_output().expect("check ends");
    drop(accepted);
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    assert_eq!(output.status.code(), Some(2), "{}", json["summary"]);
    let full = with_id(&json, "accept-queue-full");
    assert_eq!(full.len(), 1, "{}", json["findings"]);
    assert_eq!((&full[0]["severity"], &full[0]["state"]), (&Value::from("critical"), &Value::from("held")));
    let samples = full[0]["samples"].as_u64().expect("samples");
    assert!((1..=4).contains(&samples), "seen early, not in the last of 5 samples: {samples}");
    assert!(full[0]["seconds_since_seen"].as_f64().is_some_and(|seconds| seconds >= 0.5), "{}", full[0]);
    assert_eq!(full[0]["evidence"][0]["value"], "3", "the evidence of the last sample that saw it");
}

/// A child process killed when dropped.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
#[cfg_attr(sockscope_no_redis, ignore = "needs redis-server (apt-get install redis-server)")]
fn listeners_on_kernel_picked_ports_are_one_note_and_a_real_redis_on_a_fixed_port_warns() {
    require_root();
    let netns = TestNetns::new();
    // 24 listeners bound to port 0: the kernel picks ports inside the ephemeral range.
    let picked = netns.enter(|| (0..24).map(|_| listener("127.0.0.1:0", 8)).collect::<Vec<_>>());
    let (status, json) = check(&netns, &[]);
    let range = with_id(&json, "port-range-config");
    assert_eq!(range.len(), 1, "{range:?}");
    assert_eq!(range[0]["severity"], "info");
    assert!(range[0]["summary"].as_str().is_some_and(|s| s.starts_with("24 listeners inside the ephemeral range")));
    assert_eq!(status, 0, "no permanent WARNING for ports the kernel picked: {}", json["summary"]);
    // redis on a fixed port in the range, named on its command line: a port a connection can take.
    let taken: Vec<u16> = picked.iter().map(|socket| local_addr(socket).port()).collect();
    let port = (40001..).find(|port| !taken.contains(port)).unwrap_or(40001).to_string();
    let redis = netns
        .command(
            "redis-server",
            &["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .map(Killed)
        .expect("redis-server starts");
    assert!(wait_until(Duration::from_secs(10), || {
        parse_ss(&netns.run("ss", &["-Hltn"])).iter().any(|line| line.local.ends_with(&format!(":{port}")))
    }));
    let (status, json) = check(&netns, &[]);
    let range = with_id(&json, "port-range-config");
    let warned: Vec<&&Value> = range.iter().filter(|f| f["severity"] == "warning").collect();
    assert_eq!(warned.len(), 1, "{range:?}");
    assert_eq!(warned[0]["subject"]["endpoint"], format!("127.0.0.1:{port}"));
    let evidence = warned[0]["evidence"].to_string();
    assert!(evidence.contains("command line of redis-server"), "{evidence}");
    assert_actionable(warned[0]);
    assert_eq!(status, 1, "{}", json["summary"]);
    drop((redis, picked));
}
