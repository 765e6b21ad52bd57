//! The /proc parsers on files captured from several kernel generations (see
//! tests/fixtures/README.md), read through the collector exactly as on a live host.

use std::path::{Path, PathBuf};

use sockscope::collect::ns::counters::{parse_header_value_pairs, parse_softnet};
use sockscope::collect::{Collector, ProcPaths};
use sockscope::sample::CollectPlan;
use sockscope::sample::{Sample, Source, SysctlValue};

fn fixture(label: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc").join(label)
}

/// Reads the file sources of a fixture directory through the collector.
fn collect(label: &str) -> Sample {
    let root = fixture(label);
    let paths = ProcPaths {
        proc: root.join("no-processes"),
        net: root.join("net"),
        sys: root.join("sys"),
        sys_cpu: root.join("no-cpu"),
        netns_link: root.join("no-netns"),
        run_netns: root.join("no-run-netns"),
        kmsg: root.join("no-kmsg"),
        services: root.join("no-services"),
    };
    Collector::with_paths(
        paths,
        CollectPlan { processes: false, flows: false, connections: false, ..CollectPlan::default() },
    )
    .collect_files()
}

/// The value of `section`/`field` in a header/value file, read the naive way.
fn naive(text: &str, section: &str, field: &str) -> Option<i64> {
    let prefix = format!("{section}:");
    let lines: Vec<&str> = text.lines().filter(|line| line.starts_with(&prefix)).collect();
    let index = lines.first()?.split_whitespace().position(|name| name == field)?;
    lines.get(1)?.split_whitespace().nth(index)?.parse().ok()
}

#[test]
fn netstat_and_snmp_from_three_kernel_generations() {
    for (label, tcp_ext_fields) in [("node_exporter-a", 82), ("procfs-a", 112), ("linux-6.18-local", 135)] {
        let sample = collect(label);
        let netstat = sample.netstat.as_ref().unwrap_or_else(|| panic!("{label}: netstat"));
        assert_eq!(netstat["TcpExt"].len(), tcp_ext_fields, "{label}: TcpExt fields");
        let text = std::fs::read_to_string(fixture(label).join("net/netstat")).expect("read fixture");
        for field in ["ListenOverflows", "ListenDrops", "SyncookiesSent", "TCPBacklogDrop"] {
            assert_eq!(sample.counter_at("TcpExt", field), naive(&text, "TcpExt", field), "{label} {field}");
        }
        let snmp_text = std::fs::read_to_string(fixture(label).join("net/snmp")).expect("read fixture");
        for field in ["PassiveOpens", "RetransSegs", "CurrEstab", "MaxConn"] {
            assert_eq!(sample.counter_at("Tcp", field), naive(&snmp_text, "Tcp", field), "{label} Tcp {field}");
        }
        assert_eq!(sample.counter_at("Tcp", "MaxConn"), Some(-1), "{label}: MaxConn is -1 on Linux");
        assert_eq!(sample.diagnostics.skipped_fields, 0, "{label}: nothing skipped");
    }
}

#[test]
fn the_old_kernel_fixture_has_real_overflow_numbers() {
    let sample = collect("node_exporter-a");
    let text = std::fs::read_to_string(fixture("node_exporter-a").join("net/netstat")).expect("read");
    assert_eq!(sample.counter_at("TcpExt", "TCPPrequeued"), naive(&text, "TcpExt", "TCPPrequeued"));
    assert!(sample.counter_at("TcpExt", "TCPPrequeued").is_some(), "a field only old kernels have");
    assert!(sample.counter_at("TcpExt", "TCPDelivered").is_none(), "a field only new kernels have");
}

#[test]
fn an_added_a_removed_and_a_misaligned_column() {
    let text = std::fs::read_to_string(fixture("linux-6.18-local").join("net/netstat")).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header = lines.iter().position(|line| line.starts_with("TcpExt:")).expect("TcpExt header");
    let names: Vec<String> = lines[header].split_whitespace().map(str::to_string).collect();
    let values: Vec<String> = lines[header + 1].split_whitespace().map(str::to_string).collect();
    let drops_at = names.iter().position(|name| name == "ListenDrops").expect("ListenDrops column");
    let rebuild = |names: &[String], values: &[String]| (names.join(" "), values.join(" "));

    // A future kernel adds a column at the front and drops ListenDrops.
    let (mut new_names, mut new_values) = (names.clone(), values.clone());
    new_names.remove(drops_at);
    new_values.remove(drops_at);
    new_names.insert(1, "FutureCounter".into());
    new_values.insert(1, "77".into());
    (lines[header], lines[header + 1]) = rebuild(&new_names, &new_values);
    let parsed = parse_header_value_pairs(&lines.join("\n"));
    assert_eq!(parsed.value["TcpExt"]["FutureCounter"], 77);
    assert!(!parsed.value["TcpExt"].contains_key("ListenDrops"));
    assert_eq!(Some(parsed.value["TcpExt"]["ListenOverflows"]), naive(&text, "TcpExt", "ListenOverflows"));
    assert_eq!(parsed.value["TcpExt"].len(), names.len() - 1);
    assert_eq!(parsed.skipped, 0);

    // A values line one short: every complete pair still parses, the rest is counted.
    let (short_names, mut short_values) = (names.clone(), values.clone());
    short_values.pop();
    (lines[header], lines[header + 1]) = rebuild(&short_names, &short_values);
    let parsed = parse_header_value_pairs(&lines.join("\n"));
    assert_eq!(parsed.value["TcpExt"].len(), names.len() - 2);
    assert_eq!(parsed.skipped, 1);
    assert_eq!(Some(parsed.value["IpExt"]["InOctets"]), naive(&text, "IpExt", "InOctets"));
}

#[test]
fn softnet_with_11_13_and_15_columns() {
    let old = collect("node_exporter-a").softnet.expect("softnet");
    assert_eq!(old.len(), 4, "four rows, the last without a newline");
    assert!(old.iter().all(|row| row.columns.len() == 11));
    assert_eq!(old.iter().map(|row| row.cpu).collect::<Vec<_>>(), vec![0, 1, 2, 3], "row index as CPU");
    assert_eq!(old[0].backlog_len(), None);

    let text = std::fs::read_to_string(fixture("procfs-a").join("net/softnet_stat")).expect("read");
    let mixed = parse_softnet(&text).value;
    let thirteen: Vec<_> = mixed.iter().filter(|row| row.columns.len() == 13).collect();
    assert_eq!(thirteen.len(), 2);
    assert_eq!(thirteen.iter().map(|row| row.cpu).collect::<Vec<_>>(), vec![0, 1], "CPU id column");
    let first_line = text.lines().next().expect("a row");
    let dropped = u32::from_str_radix(first_line.split_whitespace().nth(1).expect("column 2"), 16).expect("hex");
    assert_eq!(thirteen[0].dropped(), Some(dropped));

    let new = collect("linux-6.18-local").softnet.expect("softnet");
    assert!(new.iter().all(|row| row.columns.len() == 15));
    assert_eq!(new.iter().map(|row| row.cpu).collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn sockstat_and_snmp6_layouts() {
    let rhel4 = collect("node_exporter-b");
    let sockstat = rhel4.sockstat.clone().expect("sockstat");
    assert!(sockstat["UDP"].contains_key("inuse"));
    assert!(!sockstat["UDP"].contains_key("mem"), "RHEL 4 layout has no UDP mem");
    assert!(rhel4.netstat.is_none());
    assert!(rhel4.unavailable_reason(&Source::Netstat).is_some_and(|reason| reason.contains("No such file")));

    for label in ["node_exporter-a", "procfs-a", "linux-6.18-local"] {
        let sample = collect(label);
        let sockstat = sample.sockstat.expect("sockstat");
        assert!(sockstat["TCP"].contains_key("tw"), "{label}");
        assert!(sockstat.contains_key("TCP6"), "{label}: sockstat6 merged");
        let snmp6 = sample.snmp6.expect("snmp6");
        assert!(snmp6["Ip6"].contains_key("InReceives"), "{label}");
        assert!(snmp6["Udp6"].contains_key("RcvbufErrors"), "{label}");
        assert!(!snmp6.contains_key("Other6"), "{label}: every snmp6 name has a known prefix");
    }
}

#[test]
fn sysctls_from_a_fixture_tree() {
    let sample = collect("linux-6.18-local");
    assert_eq!(sample.sysctl("net.core.somaxconn"), Some(&SysctlValue::Integer(4096)));
    assert_eq!(sample.sysctl("net.ipv4.ip_local_port_range"), Some(&SysctlValue::Integers(vec![32768, 60999])));
    assert_eq!(sample.sysctl("net.ipv4.ip_local_reserved_ports"), Some(&SysctlValue::Text(String::new())));
    assert_eq!(sample.sysctl("net.ipv4.tcp_congestion_control"), Some(&SysctlValue::Text("bbr".into())));
    assert_eq!(sample.sysctl("net.ipv4.tcp_tw_recycle"), None, "absent settings are simply absent");
    assert!(
        sample.unavailable.iter().all(|u| !matches!(u.source, Source::Sysctl(_) | Source::Sysctls)),
        "{:?}",
        sample.unavailable
    );
    let missing = collect("node_exporter-b");
    assert!(missing.sysctls.is_none());
    assert!(missing.unavailable_reason(&Source::Sysctls).is_some());
}
