//! TCP state counts, ephemeral-port use and UDP queues on the real kernel, compared with `ss`.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// 20 connections kept open (40 ESTABLISHED sockets: both ends live here) and 7 that the
/// client closes first (7 client sockets in TIME_WAIT; the server ends go through LAST_ACK to
/// CLOSED).
fn open_and_close_connections() -> (TcpListener, Vec<(TcpStream, TcpStream)>, u16) {
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = server.local_addr().expect("addr").port();
    let open: Vec<(TcpStream, TcpStream)> = (0..20)
        .map(|_| {
            let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let (accepted, _) = server.accept().expect("accept");
            (client, accepted)
        })
        .collect();
    for _ in 0..7 {
        let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let (mut accepted, _) = server.accept().expect("accept");
        client.shutdown(Shutdown::Both).expect("client closes first");
        let mut rest = Vec::new();
        accepted.read_to_end(&mut rest).expect("read the client's FIN");
        drop(accepted);
        drop(client);
    }
    (server, open, port)
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn state_counts_match_ss_and_the_known_numbers() {
    require_root();
    let netns = TestNetns::new();
    let (_server, _open, port) = netns.enter(open_and_close_connections);
    let settled = || {
        let counts = ss_state_counts(&netns.run("ss", &["-Htan"]));
        counts.get("TIME_WAIT") == Some(&7) && !counts.contains_key("LAST_ACK") && !counts.contains_key("FIN_WAIT2")
    };
    assert!(wait_until(Duration::from_secs(5), settled), "{}", netns.run("ss", &["-Htan"]));
    let report = netns.report_json(&[]);
    let ss = ss_state_counts(&netns.run("ss", &["-Htan"]));
    let states = report["tcp_states"].as_object().expect("tcp_states object");
    for (state, count) in states {
        assert_eq!(count.as_u64(), Some(*ss.get(state).unwrap_or(&0)), "{state}: sockscope {count}, ss {ss:?}");
    }
    assert_eq!(states.len(), 11, "every state is listed, zeros included");
    assert_eq!(report["tcp_states"]["ESTABLISHED"], 40);
    assert_eq!(report["tcp_states"]["TIME_WAIT"], 7);
    assert_eq!(report["tcp_states"]["LISTEN"], 1);

    // Ephemeral ports: the 20 open and 7 TIME_WAIT client sockets use ports of the range
    // toward 127.0.0.1:<port>; the server ends use the listening port and do not count.
    let ports = &report["ports"];
    assert_eq!(ports["in_use"], 27, "{ports}");
    assert_eq!(ports["distinct_ports"], 27);
    assert_eq!(ports["destinations"], 1);
    let busiest = &ports["by_destination"][0];
    assert_eq!(busiest["remote_address"], "127.0.0.1");
    assert_eq!(busiest["remote_port"], port);
    assert_eq!(busiest["in_use"], 27);
    assert_eq!(busiest["time_wait"], 7);
    let usable = ports["usable"].as_u64().expect("usable");
    assert_eq!(busiest["headroom"].as_u64(), Some(usable - 27));
    let range: Vec<u64> = ports["range"].as_array().expect("range").iter().filter_map(Value::as_u64).collect();
    let sysctl = netns.run("cat", &["/proc/sys/net/ipv4/ip_local_port_range"]);
    let expected: Vec<u64> = sysctl.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(range, expected);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and sets its sysctls")]
fn a_narrow_port_range_shows_its_headroom() {
    require_root();
    let netns = TestNetns::new();
    netns.run(
        "sysctl",
        &["-qw", "net.ipv4.ip_local_port_range=40000 40049", "net.ipv4.ip_local_reserved_ports=40000-40004"],
    );
    let (_server, _open, port) = netns.enter(open_and_close_connections);
    assert!(wait_until(Duration::from_secs(5), || {
        ss_state_counts(&netns.run("ss", &["-Htan"])).get("TIME_WAIT") == Some(&7)
    }));
    let report = netns.report_json(&[]);
    let ports = &report["ports"];
    assert_eq!(ports["range"], serde_json::json!([40000, 40049]));
    assert_eq!(ports["range_size"], 50);
    assert_eq!(ports["reserved"], 5);
    // The listener itself got its port from the range (bind to port 0), so that port is held
    // by a bind() and no connection can use it: 50 - 5 reserved - 1 listening = 44.
    assert_eq!(ports["listening_in_range"], serde_json::json!([port]));
    assert_eq!(ports["usable"], 44);
    assert_eq!(ports["by_destination"][0]["remote_port"], port);
    assert_eq!(ports["by_destination"][0]["headroom"], 44 - 27);
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn udp_queues_and_drops_match_ss() {
    require_root();
    let netns = TestNetns::new();
    let (_receiver, port) = netns.enter(|| {
        let receiver = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let small = socket2::SockRef::from(&receiver);
        small.set_recv_buffer_size(4096).expect("SO_RCVBUF");
        let port = receiver.local_addr().expect("addr").port();
        let sender = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
        for _ in 0..50 {
            sender.send_to(&[7u8; 200], ("127.0.0.1", port)).expect("send");
        }
        (receiver, port)
    });
    let report = netns.report_json(&[]);
    let filter = format!("sport = :{port}");
    let ss = netns.run("ss", &["-Huanm", &filter]);
    let socket =
        report["udp"].as_array().expect("udp").iter().find(|u| u["local_port"] == port).cloned().expect("reported");
    let line = parse_ss(&ss).into_iter().next().expect("ss shows the socket");
    assert_eq!(socket["receive_queue"], line.recv_q, "Recv-Q: {ss}");
    assert!(line.recv_q > 0, "datagrams are queued");
    let drops = skmem_field(&ss, 'd').expect("ss -m prints d");
    assert_eq!(socket["drops"], drops, "{ss}");
    assert!(drops > 0, "a 4 KiB buffer cannot hold 50 datagrams of 200 bytes");
    assert_eq!(report["counters"]["Udp"]["RcvbufErrors"], drops);
    assert_eq!(socket["connected"], false);
}

/// A field of `skmem:(r0,rb4608,...,d12)` in `ss -m` output, by its letter prefix.
fn skmem_field(ss: &str, letter: char) -> Option<u64> {
    let start = ss.find("skmem:(")? + "skmem:(".len();
    let inner = &ss[start..start + ss[start..].find(')')?];
    inner.split(',').find_map(|field| {
        let digits = field.strip_prefix(letter)?;
        digits.chars().all(|c| c.is_ascii_digit()).then(|| digits.parse().ok())?
    })
}

#[test]
fn a_unix_listener_matches_ss() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("app.sock");
    let server = std::os::unix::net::UnixListener::bind(&path).expect("bind unix");
    let _clients: Vec<_> = (0..3).map(|_| std::os::unix::net::UnixStream::connect(&path).expect("connect")).collect();
    let report = host_report_json(&["--no-processes"]);
    let path_text = path.to_str().expect("utf-8 path");
    let listener = report["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .find(|l| l["local_address"] == path_text)
        .cloned()
        .expect("the UNIX listener is reported");
    assert_eq!(listener["protocol"], "unix");
    assert_eq!(listener["family"], "unix");
    assert_eq!(listener["local_port"], Value::Null);
    assert_eq!(listener["accept_queue"], 3);
    let ss = run_ok(std::process::Command::new("ss").args(["-Hlxn"]));
    let line = ss.lines().find(|line| line.contains(path_text)).expect("ss -lx shows it");
    let words: Vec<&str> = line.split_whitespace().collect();
    // ss -lx columns: Netid State Recv-Q Send-Q Local-Address Port Peer-Address Port
    assert_eq!(listener["accept_queue"].as_u64(), words[2].parse::<u64>().ok(), "{line}");
    assert_eq!(listener["backlog"].as_u64(), words[3].parse::<u64>().ok(), "{line}");
    assert_eq!(listener["uid"].as_u64(), Some(u64::from(rustix::process::geteuid().as_raw())));
    drop(server);
}

#[test]
fn a_held_connection_is_not_counted_twice() {
    // Sanity check of the all-states dump on the host: every ESTABLISHED count sockscope gives
    // is at least the two sockets of a connection this test holds.
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = TcpStream::connect(server.local_addr().expect("addr")).expect("connect");
    let (_accepted, _) = server.accept().expect("accept");
    client.write_all(b"x").expect("write");
    let report = host_report_json(&["--no-processes"]);
    assert!(report["tcp_states"]["ESTABLISHED"].as_u64().expect("count") >= 2);
}

/// One socket of `ss -Htanei`: its first line and its `tcp_info` line joined.
fn ss_sockets(output: &str) -> Vec<String> {
    let mut sockets: Vec<String> = Vec::new();
    for line in output.lines() {
        match sockets.last_mut() {
            Some(last) if line.starts_with(char::is_whitespace) => {
                last.push(' ');
                last.push_str(line.trim());
            }
            _ => sockets.push(line.trim().to_string()),
        }
    }
    sockets
}

/// The value of `name:VALUE` in an ss line.
fn ss_value<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace().find_map(|word| word.strip_prefix(name)?.strip_prefix(':'))
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn every_connection_matches_ss_with_its_tcp_info() {
    require_root();
    use sockscope::collect::Collector;
    use sockscope::sample::CollectPlan;
    let netns = TestNetns::new();
    let (_server, mut open, _port) = netns.enter(open_and_close_connections);
    for (index, (client, accepted)) in open.iter_mut().enumerate() {
        client.write_all(&vec![b'x'; 1000 * (index + 1)]).expect("write");
        let mut buffer = vec![0u8; 1000 * (index + 1)];
        accepted.read_exact(&mut buffer).expect("read");
    }
    let settled = || ss_state_counts(&netns.run("ss", &["-Htan"])).get("TIME_WAIT") == Some(&7);
    assert!(wait_until(Duration::from_secs(5), settled));
    let sample = netns.enter(|| {
        Collector::new(CollectPlan { connections: true, processes: true, ..CollectPlan::default() }).collect()
    });
    let ss = ss_sockets(&netns.run("ss", &["-Htaneio"]));
    let connections = sample.connections.as_ref().expect("connections kept");
    assert_eq!(connections.len(), ss.len(), "{ss:#?}");
    let owned = sample.processes.as_ref().expect("owners");
    for connection in connections {
        let local = format!("{}:{}", connection.local_address, connection.local_port);
        let remote = format!("{}:{}", connection.remote_address, connection.remote_port);
        let line = ss
            .iter()
            .find(|line| ss_value(line, "sk") == Some(&format!("{:x}", connection.cookie)))
            .unwrap_or_else(|| panic!("cookie {:x} not in ss:\n{ss:#?}", connection.cookie));
        let words: Vec<&str> = line.split_whitespace().collect();
        let state = match connection.state.name() {
            "ESTABLISHED" => "ESTAB",
            "TIME_WAIT" => "TIME-WAIT",
            other => other,
        };
        assert_eq!(words[0], state, "{line}");
        assert_eq!(words[1].parse::<u32>().ok(), Some(connection.recv_q), "{line}");
        assert_eq!(words[2].parse::<u32>().ok(), Some(connection.send_q), "{line}");
        assert_eq!(words[3], local, "{line}");
        if connection.state.name() != "LISTEN" {
            assert_eq!(words[4], remote, "{line}");
        }
        // ss -o: `timer:(timewait,59sec,0)`, `timer:(keepalive,...)`; seconds are rounded down.
        match (ss_value(line, "timer"), connection.timer) {
            (Some(timer), Some(ours)) => {
                let mut parts = timer.trim_matches(['(', ')']).split(',');
                assert_eq!(parts.next(), Some(ours.kind.ss_name()), "{line}");
                let left = parts.next().unwrap_or_default();
                if let Some(seconds) = left.strip_suffix("sec").and_then(|s| s.parse::<f64>().ok()) {
                    let ours = f64::from(ours.expires_ms) / 1000.0;
                    assert!((ours - seconds).abs() <= 2.0, "timer {ours}s vs ss {seconds}s: {line}");
                }
            }
            (None, None) => {}
            (theirs, ours) => panic!("timer: ss {theirs:?}, sockscope {ours:?}: {line}"),
        }
        if let Some(inode) = ss_value(line, "ino") {
            assert_eq!(inode.parse::<u64>().ok(), Some(connection.inode), "{line}");
        }
        match &connection.tcp_info {
            Some(info) if connection.state.name() == "ESTABLISHED" => {
                assert_eq!(ss_value(line, "cwnd").map(str::to_string), info.snd_cwnd.map(|c| c.to_string()), "{line}");
                let bytes = |name| ss_value(line, name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                assert_eq!(info.bytes_acked.unwrap_or(0), bytes("bytes_acked"), "{line}");
                assert_eq!(info.bytes_received.unwrap_or(0), bytes("bytes_received"), "{line}");
                assert!(info.rtt.is_some(), "{line}");
                if connection.inode != 0 {
                    let owners = owned.owners.get(&connection.inode).expect("owner");
                    assert!(owners.iter().any(|p| p.pid == std::process::id()), "{owners:?}");
                }
            }
            None => {
                assert!(matches!(connection.state.name(), "TIME_WAIT" | "LISTEN") || connection.inode == 0, "{line}")
            }
            Some(_) => {}
        }
    }
    let time_wait: Vec<_> = connections.iter().filter(|c| c.state.name() == "TIME_WAIT").collect();
    assert_eq!(time_wait.len(), 7);
    assert!(time_wait.iter().all(|c| c.timer.is_some_and(|t| t.expires_ms <= 60_000)), "{time_wait:?}");

    let without = netns.enter(|| Collector::new(CollectPlan::default()).collect());
    assert!(without.connections.is_none());
    assert_eq!(without.tcp_summary.map(|s| s.states), sample.tcp_summary.map(|s| s.states));
}
