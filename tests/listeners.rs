//! Listeners and their queues on the real kernel, compared with `ss`.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// The JSON listener on `port`, if any.
fn listener_on(report: &Value, port: u16) -> Option<Value> {
    report["listeners"].as_array()?.iter().find(|l| l["local_port"] == port).cloned()
}

fn ss_listener(ss_output: &str, endpoint: &str) -> Option<SsLine> {
    parse_ss(ss_output).into_iter().find(|line| line.local == endpoint)
}

/// Fills a `listen(8)` queue with 11 clients that are never accepted. The queue holds
/// backlog + 1 = 9; the other two clients' SYNs are dropped and retried.
fn full_listener(address: &str) -> (socket2::Socket, Vec<socket2::Socket>, u16) {
    let server = listener(address, 8);
    let local = local_addr(&server);
    let clients = connect_many(local, 11);
    (server, clients, local.port())
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn a_full_accept_queue_matches_ss_in_a_private_namespace() {
    require_root();
    let netns = TestNetns::new();
    let (_server, _clients, port) = netns.enter(|| full_listener("127.0.0.1:0"));
    // More listener shapes for the "every listener matches ss" check below: a dual-stack
    // wildcard with IPv4 clients waiting, and a wildcard IPv4 listener with an empty queue.
    let _others = netns.enter(|| {
        let dual = listener("[::]:0", 3);
        let clients = connect_many(format!("127.0.0.1:{}", local_addr(&dual).port()).parse().expect("addr"), 2);
        (dual, clients, listener("0.0.0.0:0", 1000))
    });
    let ss = || netns.run("ss", &["-Hltn"]);
    let endpoint = format!("127.0.0.1:{port}");
    assert!(
        wait_until(Duration::from_secs(5), || ss_listener(&ss(), &endpoint).is_some_and(|l| l.recv_q == 9)),
        "the accept queue never reached 9: {}",
        ss()
    );
    let report = netns.report_json(&[]);
    let ss_now = ss();
    let listener = listener_on(&report, port).expect("the listener is reported");
    assert_eq!(listener["accept_queue"], 9);
    assert_eq!(listener["backlog"], 8);
    assert_eq!(listener["full"], true);
    assert_eq!(listener["fill"], 1.0);
    assert_eq!(listener["protocol"], "tcp");
    assert_eq!(listener["family"], "ipv4");
    assert_eq!(listener["local_address"], "127.0.0.1");
    let line = ss_listener(&ss_now, &endpoint).expect("ss shows the listener");
    assert_eq!((line.recv_q, line.send_q), (9, 8), "ss -ltn: Recv-Q 9, Send-Q 8");

    // Every listener in the report matches `ss -ltn`, and nothing is missing.
    let tcp: Vec<&Value> =
        report["listeners"].as_array().expect("array").iter().filter(|l| l["protocol"] == "tcp").collect();
    let ss_lines = parse_ss(&ss_now);
    assert_eq!(tcp.len(), ss_lines.len(), "same number of TCP listeners as ss -ltn");
    for l in tcp {
        let endpoint = ss_endpoint(l);
        let line = ss_listener(&ss_now, &endpoint).unwrap_or_else(|| panic!("{endpoint} missing from ss: {ss_now}"));
        assert_eq!(l["accept_queue"], line.recv_q, "Recv-Q of {endpoint}");
        assert_eq!(l["backlog"], line.send_q, "Send-Q of {endpoint}");
    }
    // The two SYNs that found the queue full were dropped: the listener's drop counter and the
    // namespace's ListenOverflows both moved.
    assert!(listener["drops"].as_u64().expect("drops") >= 1, "{listener}");
    assert!(report["counters"]["TcpExt"]["ListenOverflows"].as_i64().expect("ListenOverflows") >= 1);
}

#[test]
fn a_full_listener_on_the_host_matches_ss() {
    // Runs without root too: only this listener's own numbers are compared.
    let (_server, _clients, port) = full_listener("127.0.0.1:0");
    let endpoint = format!("127.0.0.1:{port}");
    let filter = format!("sport = :{port}");
    let ss = || run_ok(std::process::Command::new("ss").args(["-Hltn", &filter]));
    assert!(wait_until(Duration::from_secs(5), || ss_listener(&ss(), &endpoint).is_some_and(|l| l.recv_q == 9)));
    let report = host_report_json(&["--no-processes"]);
    let listener = listener_on(&report, port).expect("the listener is reported");
    let line = ss_listener(&ss(), &endpoint).expect("ss shows it");
    assert_eq!(listener["accept_queue"], line.recv_q);
    assert_eq!(listener["backlog"], line.send_q);
    assert_eq!((listener["accept_queue"].as_u64(), listener["backlog"].as_u64()), (Some(9), Some(8)));
    assert_eq!(listener["full"], true);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn a_partly_filled_ipv6_listener() {
    require_root();
    let netns = TestNetns::new();
    let (_server, _clients, port) = netns.enter(|| {
        let server = listener("[::1]:0", 16);
        let local = local_addr(&server);
        let clients = connect_many(local, 5);
        (server, clients, local.port())
    });
    let endpoint = format!("[::1]:{port}");
    assert!(wait_until(Duration::from_secs(5), || {
        ss_listener(&netns.run("ss", &["-Hltn"]), &endpoint).is_some_and(|l| l.recv_q == 5)
    }));
    let report = netns.report_json(&[]);
    let listener = listener_on(&report, port).expect("reported");
    assert_eq!(listener["family"], "ipv6");
    assert_eq!(listener["local_address"], "::1");
    assert_eq!(listener["accept_queue"], 5);
    assert_eq!(listener["backlog"], 16);
    assert_eq!(listener["full"], false);
    let fill = listener["fill"].as_f64().expect("fill");
    assert!((fill - 5.0 / 17.0).abs() < 1e-9, "fill {fill}");
    // Binding a specific IPv6 address makes the socket v6-only (inet6_bind); ss -e agrees.
    assert_eq!(listener["v6only"], true);
    assert!(netns.run("ss", &["-Hltne"]).contains("v6only:1"));
    assert_eq!(listener["drops"], 0);
}

#[test]
fn listeners_are_attributed_to_this_process() {
    let server = listener("127.0.0.1:0", 4);
    let port = local_addr(&server).port();
    let report = host_report_json(&[]);
    let listener = listener_on(&report, port).expect("reported");
    let processes = listener["processes"].as_array().expect("processes array");
    let me = std::process::id();
    // The test binary holds the socket; sockscope (a child) inherits no descriptors.
    assert!(processes.iter().any(|p| p["pid"] == me), "{processes:?} should contain {me}");
    let without = host_report_json(&["--no-processes"]);
    assert_eq!(listener_on(&without, port).expect("reported")["processes"], serde_json::json!([]));
    assert!(without["skipped"].as_array().expect("skipped").iter().any(|s| s == "processes"));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn syn_recv_requests_are_counted_per_listener() {
    require_root();
    // With TCP_DEFER_ACCEPT the listener ignores the clients' bare final ACKs, so each
    // handshake stays a half-open request (SYN_RECV) until data arrives.
    let netns = TestNetns::new();
    let (_server, _clients, port) = netns.enter(|| {
        let server = listener("127.0.0.1:0", 32);
        defer_accept(&server, 30);
        let local = local_addr(&server);
        let clients = connect_many(local, 4);
        (server, clients, local.port())
    });
    assert!(
        wait_until(Duration::from_secs(5), || syn_recv_on(&netns, port) == 4),
        "expected 4 SYN_RECV: {}",
        netns.run("ss", &["-Htan"])
    );
    let report = netns.report_json(&[]);
    let listener = listener_on(&report, port).expect("reported");
    assert_eq!(listener["syn_queue"], 4, "{listener}");
    assert_eq!(listener["syn_queue_shared_by"], 1);
    assert_eq!(listener["accept_queue"], 0);
    assert_eq!(report["tcp_states"]["SYN_RECV"], 4);
    assert_eq!(report["unattributed_syn_recv"], serde_json::json!([]));
    // The ignored ACKs raise the listener's drop counter without any overflow: the pitfall
    // the advisor has to know about (kernel-queues.md §9.6).
    let tcp_ext = &report["counters"]["TcpExt"];
    assert_eq!(tcp_ext["ListenOverflows"], 0);
    assert_eq!(listener["drops"], tcp_ext["TCPDeferAcceptDrop"], "{listener} vs {tcp_ext}");
}

fn syn_recv_on(netns: &TestNetns, port: u16) -> usize {
    let filter = format!("sport = :{port}");
    netns.run("ss", &["-Htn", "state", "syn-recv", &filter]).lines().count()
}
