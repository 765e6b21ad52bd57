//! Kernel settings, interfaces and counters on the real kernel, compared with /proc/sys,
//! `ip -j link`, /proc/net and `nstat`.

mod common;

use std::collections::BTreeMap;

use common::*;
use serde_json::Value;

/// `/proc/sys` values as sockscope types them: one number, a list of numbers, or text.
fn proc_sys_value(text: &str, name: &str) -> Value {
    let text = text.trim();
    let always_text = ["net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_congestion_control"];
    let numbers: Result<Vec<i64>, _> = text.split_whitespace().map(str::parse::<i64>).collect();
    match numbers {
        _ if always_text.contains(&name) => Value::from(text),
        Ok(numbers) if numbers.len() == 1 => Value::from(numbers[0]),
        Ok(numbers) if numbers.len() > 1 => Value::from(numbers),
        _ => Value::from(text),
    }
}

fn assert_sysctls_match(report: &Value, read: impl Fn(&str) -> Option<String>) {
    let sysctl = report["sysctl"].as_object().expect("sysctl object");
    assert!(sysctl.contains_key("net.core.somaxconn"));
    assert!(sysctl.contains_key("net.ipv4.ip_local_port_range"));
    for (name, value) in sysctl {
        let text = read(&name.replace('.', "/")).unwrap_or_else(|| panic!("{name} is reported but unreadable"));
        assert_eq!(value, &proc_sys_value(&text, name), "{name}");
    }
}

#[test]
fn sysctls_equal_proc_sys_on_the_host() {
    let report = host_report_json(&["--no-processes"]);
    assert_sysctls_match(&report, |path| std::fs::read_to_string(format!("/proc/sys/{path}")).ok());
    assert!(report["sysctl"]["net.ipv4.ip_local_port_range"].is_array());
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and sets its sysctls")]
fn sysctls_are_read_from_the_namespace_being_inspected() {
    require_root();
    let netns = TestNetns::new();
    netns.run(
        "sysctl",
        &["-qw", "net.core.somaxconn=1234", "net.ipv4.tcp_syncookies=0", "net.ipv4.ip_local_port_range=20000 20999"],
    );
    let report = netns.report_json(&[]);
    assert_eq!(report["sysctl"]["net.core.somaxconn"], 1234);
    assert_eq!(report["sysctl"]["net.ipv4.tcp_syncookies"], 0);
    assert_eq!(report["sysctl"]["net.ipv4.ip_local_port_range"], serde_json::json!([20000, 20999]));
    // Per-namespace settings come from the namespace; the host-wide ones, which /proc/sys does
    // not show inside a child namespace, from the host's (the test's own namespace is the
    // host's).
    assert_sysctls_match(&report, |path| {
        let name = path.replace('/', ".");
        if sockscope::settings::HOST_WIDE_SETTINGS.contains(&name.as_str()) {
            return std::fs::read_to_string(format!("/proc/sys/{path}")).ok();
        }
        let output = netns.command("cat", &[&format!("/proc/sys/{path}")]).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    });
    assert!(report["sysctl"]["net.core.netdev_max_backlog"].is_number(), "a host-wide setting is filled in");
    let identified = netns.run("ip", &["netns", "identify"]);
    assert_eq!(report["netns"]["name"].as_str(), Some(identified.trim()), "the name ip netns identify gives");
    let host = host_report_json(&["--no-processes"]);
    assert_ne!(host["netns"]["inode"], report["netns"]["inode"]);
}

/// Compares every reported interface with `ip -j link` output.
fn assert_interfaces_match(report: &Value, ip_json: &str) {
    let links: Vec<Value> = serde_json::from_str(ip_json).expect("ip -j link is JSON");
    let reported = report["interfaces"].as_array().expect("interfaces");
    assert_eq!(reported.len(), links.len(), "same interfaces as ip link");
    for link in &links {
        let name = link["ifname"].as_str().expect("ifname");
        let ours = reported.iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(ours["index"], link["ifindex"], "{name} index");
        assert_eq!(ours["mtu"], link["mtu"], "{name} mtu");
        assert_eq!(ours["oper_state"], link["operstate"], "{name} operstate");
        assert_eq!(ours["master"].as_str(), link["master"].as_str(), "{name} master");
        if let Some(kind) = link["linkinfo"]["info_kind"].as_str() {
            assert_eq!(ours["kind"], kind, "{name} kind");
        }
        if let Some(min_mtu) = link["min_mtu"].as_u64() {
            assert_eq!(ours["min_mtu"].as_u64(), Some(min_mtu), "{name} min_mtu");
            assert_eq!(ours["max_mtu"].as_u64(), link["max_mtu"].as_u64(), "{name} max_mtu");
        }
    }
}

#[test]
fn interfaces_equal_ip_link_on_the_host() {
    let report = host_report_json(&["--no-processes"]);
    assert_interfaces_match(&report, &run_ok(std::process::Command::new("ip").args(["-d", "-j", "link"])));
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace and links in it")]
fn interfaces_with_custom_mtus_kinds_and_masters() {
    require_root();
    let netns = TestNetns::new();
    netns.ip(&["link", "add", "br0", "type", "bridge"]);
    netns.ip(&["link", "add", "veth-a", "mtu", "9000", "type", "veth", "peer", "name", "veth-b", "mtu", "1400"]);
    netns.ip(&["link", "set", "veth-a", "master", "br0"]);
    let mut names = vec!["br0", "veth-a", "veth-b"];
    // Kinds that need a kernel module; this kernel may not have it.
    let optional = [
        ("mv0", vec!["link", "add", "link", "veth-b", "name", "mv0", "mtu", "1300", "type", "macvlan"]),
        ("vx0", vec!["link", "add", "vx0", "mtu", "1450", "type", "vxlan", "id", "7", "dstport", "4789"]),
    ];
    for (name, args) in &optional {
        let status = netns.command("ip", args).status().expect("spawn ip");
        if status.success() {
            names.push(name);
        } else {
            let note = format!("note: {name} not created (the kernel lacks the link kind); compared without it\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
        }
    }
    for name in &names {
        netns.ip(&["link", "set", name, "up"]);
    }
    let report = netns.report_json(&[]);
    assert_interfaces_match(&report, &netns.ip(&["-d", "-j", "link"]));
    let by_name = |name: &str| {
        report["interfaces"].as_array().and_then(|all| all.iter().find(|i| i["name"] == name).cloned()).expect(name)
    };
    assert_eq!(by_name("veth-a")["mtu"], 9000);
    assert_eq!(by_name("veth-a")["master"], "br0");
    assert_eq!(by_name("veth-a")["kind"], "veth");
    assert_eq!(by_name("veth-b")["mtu"], 1400);
    assert_eq!(by_name("br0")["kind"], "bridge");
    if names.contains(&"mv0") {
        assert_eq!(by_name("mv0")["mtu"], 1300);
        assert_eq!(by_name("mv0")["kind"], "macvlan");
        assert_eq!(by_name("mv0")["link"], "veth-b");
    }
}

/// Parses /proc/net/netstat or snmp text the simple way, as a cross-check.
fn proc_counters(text: &str) -> BTreeMap<String, BTreeMap<String, i64>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut sections = BTreeMap::new();
    for pair in lines.chunks(2) {
        let (Some(names), Some(values)) = (pair.first(), pair.get(1)) else { continue };
        let mut names = names.split_whitespace();
        let section = names.next().expect("prefix").trim_end_matches(':').to_string();
        let values = values.split_whitespace().skip(1).map(|v| v.parse::<i64>().expect("number"));
        sections.insert(section, names.map(str::to_string).zip(values).collect());
    }
    sections
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn counters_equal_proc_net_and_nstat_in_a_quiet_namespace() {
    require_root();
    // A fresh namespace with no traffic: its counters do not move between the reads.
    let netns = TestNetns::new();
    let report = netns.report_json(&[]);
    let counters = report["counters"].as_object().expect("counters");
    for file in ["netstat", "snmp"] {
        let text = netns.run("cat", &[&format!("/proc/net/{file}")]);
        for (section, fields) in proc_counters(&text) {
            for (field, value) in fields {
                assert_eq!(counters[&section][&field], value, "{file} {section} {field}");
            }
        }
    }
    let history = tempfile::NamedTempFile::new().expect("temp file");
    let mut nstat = netns.command("nstat", &["-a", "-z", "-s", "-j"]);
    nstat.env("NSTAT_HISTORY", history.path());
    let nstat: Value = serde_json::from_str(&run_ok(&mut nstat)).expect("nstat -j is JSON");
    let kernel = nstat["kernel"].as_object().expect("nstat kernel object");
    for name in [
        "TcpExtListenOverflows",
        "TcpExtListenDrops",
        "TcpExtTCPReqQFullDrop",
        "TcpExtSyncookiesSent",
        "TcpPassiveOpens",
        "UdpRcvbufErrors",
    ] {
        let (section, field) = split_nstat_name(name);
        assert_eq!(counters[section][field].as_u64(), kernel[name].as_u64(), "{name}");
    }
    assert_eq!(
        kernel.keys().filter(|k| k.starts_with("TcpExt")).count(),
        counters["TcpExt"].as_object().expect("TcpExt").len()
    );
}

/// `nstat -az` inside the namespace: every counter by the name nstat prints, absolute values,
/// without touching nstat's history (`-s`, and a history file of the test's own).
fn nstat_az(netns: &TestNetns) -> BTreeMap<String, i64> {
    let history = tempfile::NamedTempFile::new().expect("temp file");
    let mut nstat = netns.command("nstat", &["-a", "-z", "-s", "-j"]);
    nstat.env("NSTAT_HISTORY", history.path());
    let nstat: Value = serde_json::from_str(&run_ok(&mut nstat)).expect("nstat -j is JSON");
    let kernel = nstat["kernel"].as_object().expect("nstat kernel object");
    kernel.iter().map(|(name, value)| (name.clone(), value.as_i64().expect("a count"))).collect()
}

/// The Counters view shows what `nstat -az` shows: the same counters by the same names with the
/// same values, read at the same moment in a namespace that went quiet after some TCP, UDP and
/// ICMP traffic (so the values are not all zero) — and the view's row for a counter the traffic
/// moved carries nstat's number.
#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn the_counters_view_agrees_with_nstat_az() {
    require_root();
    let netns = TestNetns::new();
    let samples = netns.enter(|| {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let address = server.local_addr().expect("address");
        for _ in 0..5 {
            let _client = std::net::TcpStream::connect(address).expect("connect");
            let _accepted = server.accept().expect("accept");
        }
        // Datagrams to a port nothing listens on: UdpNoPorts, and ICMP port unreachables back.
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        for _ in 0..3 {
            let _ = udp.send_to(b"x", "127.0.0.1:9");
        }
        drop((server, udp));
        std::thread::sleep(std::time::Duration::from_millis(200));
        let plan = sockscope::sample::CollectPlan { processes: false, ..Default::default() };
        let mut collector = sockscope::collect::Collector::new(plan);
        let first = collector.collect();
        std::thread::sleep(std::time::Duration::from_millis(100));
        vec![first, collector.collect()]
    });
    let kernel = nstat_az(&netns);
    let mut pipeline = sockscope::engine::Pipeline::new(sockscope::advise::Rules::default());
    let frame = samples.iter().cloned().map(|sample| pipeline.push(sample)).last().expect("a frame");
    let shown: BTreeMap<String, i64> = frame.model.counter_rows.iter().map(|row| (row.name(), row.total)).collect();
    let only_nstat: Vec<&String> = kernel.keys().filter(|name| !shown.contains_key(*name)).collect();
    let only_shown: Vec<&String> = shown.keys().filter(|name| !kernel.contains_key(*name)).collect();
    assert!(
        only_nstat.is_empty() && only_shown.is_empty(),
        "nstat only: {only_nstat:?}; sockscope only: {only_shown:?}"
    );
    for (name, value) in &kernel {
        assert_eq!(shown[name], *value, "{name}");
    }
    assert!(kernel["UdpNoPorts"] >= 3 && kernel["TcpPassiveOpens"] >= 5, "the traffic moved them: {kernel:?}");

    let mut app =
        sockscope::tui::app::App::new(sockscope::tui::app::Settings::plain(), std::time::Duration::from_secs(1));
    for sample in samples {
        app.push_sample(sample);
    }
    for c in "9/UdpNoPorts".chars() {
        app.handle(key_event(ratatui::crossterm::event::KeyCode::Char(c)));
    }
    app.handle(key_event(ratatui::crossterm::event::KeyCode::Enter));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).expect("terminal");
    terminal.draw(|frame| sockscope::tui::ui::draw(frame, &mut app)).expect("draw");
    let buffer = terminal.backend().buffer();
    let lines: Vec<String> = (0..30).map(|y| (0..120).map(|x| buffer[(x, y)].symbol()).collect()).collect();
    let row = lines.iter().find(|line| line.contains("UdpNoPorts ")).expect("the UdpNoPorts row");
    let total = row
        .split_whitespace()
        .map(|word| word.trim_matches('│'))
        .find_map(|word| word.parse::<i64>().ok().filter(|n| *n == kernel["UdpNoPorts"]));
    assert!(total.is_some(), "the row shows nstat's {}: {row}", kernel["UdpNoPorts"]);
}

fn key_event(code: ratatui::crossterm::event::KeyCode) -> sockscope::tui::app::Event {
    sockscope::tui::app::Event::Key(ratatui::crossterm::event::KeyEvent::new(
        code,
        ratatui::crossterm::event::KeyModifiers::NONE,
    ))
}

fn split_nstat_name(name: &str) -> (&str, &str) {
    for prefix in ["TcpExt", "IpExt", "Tcp", "Udp", "Ip", "Icmp"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return (prefix, rest);
        }
    }
    panic!("unknown nstat prefix in {name}")
}

#[test]
#[cfg_attr(sockscope_unprivileged, ignore = "needs root: creates a network namespace")]
fn sockstat_and_interface_counters_equal_proc_and_ip_in_a_quiet_namespace() {
    require_root();
    let netns = TestNetns::new();
    // Some traffic on loopback first, so the counters are not all zero; then silence.
    let _held = netns.enter(|| {
        let server = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let client = std::net::TcpStream::connect(server.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = server.accept().expect("accept");
        (server, client, accepted)
    });
    let report = netns.report_json(&[]);
    // sockstat: every line of the namespace's /proc/net/sockstat and sockstat6, by label and key.
    for file in ["sockstat", "sockstat6"] {
        for line in netns.run("cat", &[&format!("/proc/net/{file}")]).lines() {
            let Some((label, pairs)) = line.split_once(':') else { continue };
            let words: Vec<&str> = pairs.split_whitespace().collect();
            for pair in words.chunks(2) {
                let value: i64 = pair[1].parse().expect("number");
                // Socket memory is host-wide and moves with other namespaces' traffic.
                if pair[0] == "mem" || pair[0] == "memory" || label == "sockets" {
                    continue;
                }
                assert_eq!(report["sockstat"][label][pair[0]], value, "{file} {label} {}", pair[0]);
            }
        }
    }
    // Interface counters: loopback's 64-bit statistics as `ip -s -j link` prints them.
    let links: Vec<Value> = serde_json::from_str(&netns.ip(&["-s", "-j", "link", "show", "lo"])).expect("json");
    let stats = &links[0]["stats64"];
    let lo =
        report["interfaces"].as_array().and_then(|all| all.iter().find(|i| i["name"] == "lo").cloned()).expect("lo");
    for (ours, theirs) in [
        ("rx_packets", &stats["rx"]["packets"]),
        ("tx_packets", &stats["tx"]["packets"]),
        ("rx_bytes", &stats["rx"]["bytes"]),
        ("tx_bytes", &stats["tx"]["bytes"]),
        ("rx_dropped", &stats["rx"]["dropped"]),
        ("tx_dropped", &stats["tx"]["dropped"]),
        ("rx_errors", &stats["rx"]["errors"]),
    ] {
        assert_eq!(&lo[ours], theirs, "lo {ours}");
    }
    assert!(lo["rx_packets"].as_u64().is_some_and(|packets| packets > 0));
}

#[test]
fn counters_equal_proc_net_netstat_on_the_host_within_the_same_second() {
    // On the host counters move, so compare only counters that did not change across the run.
    let before = proc_counters(&std::fs::read_to_string("/proc/net/netstat").expect("netstat"));
    let report = host_report_json(&["--no-processes"]);
    let after = proc_counters(&std::fs::read_to_string("/proc/net/netstat").expect("netstat"));
    let mut compared = 0;
    for (section, fields) in &after {
        for (field, value) in fields {
            if before[section][field] == *value {
                assert_eq!(report["counters"][section][field], *value, "{section} {field}");
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "only {compared} stable counters");
}

#[test]
fn host_identity_matches_uname_and_proc() {
    let report = host_report_json(&["--no-processes"]);
    let host = &report["host"];
    let uname_r = run_ok(std::process::Command::new("uname").arg("-r"));
    assert_eq!(host["kernel"], uname_r.trim());
    let uname_n = run_ok(std::process::Command::new("uname").arg("-n"));
    assert_eq!(host["hostname"], uname_n.trim());
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("uptime")
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .expect("number");
    let reported = host["uptime_seconds"].as_f64().expect("uptime");
    assert!((uptime - reported).abs() < 5.0, "uptime {reported} vs {uptime}");
    let nproc = run_ok(std::process::Command::new("nproc").arg("--all"));
    assert_eq!(host["cpus"].as_u64(), nproc.trim().parse().ok());
    let softnet_rows = std::fs::read_to_string("/proc/net/softnet_stat").expect("softnet").lines().count();
    assert_eq!(report["softnet"].as_array().map(Vec::len), Some(softnet_rows));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["interval_seconds"], Value::Null);
    for finding in report["findings"].as_array().expect("findings array") {
        assert!(finding["id"].is_string() && finding["severity"].is_string(), "{finding}");
    }
}
