//! Every /proc (and /sys, /dev/kmsg) parser on mutated fixture files and random text: no
//! panic, and what each returns keeps its promises.

use std::collections::BTreeSet;
use std::path::Path;

use sockscope::collect::host::{containers, identity, kmsg};
use sockscope::collect::ns::counters::{
    parse_conntrack_stat, parse_header_value_pairs, parse_snmp6, parse_sockstat, parse_softnet,
};
use sockscope::collect::ns::sysctl::parse_value;
use sockscope::sample::SysctlValue;

use super::harness::{Rng, cases, mutate_text_n, random_text, run};

/// The fixture files named `name` under `tests/fixtures/proc/*/`.
fn fixtures(name: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc");
    let mut found: Vec<String> = std::fs::read_dir(&root)
        .expect("fixture directory")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join(name)).ok())
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no fixture named {name}");
    found
}

/// A fixture mutated a few times, or random text of the file's alphabet.
fn input(rng: &mut Rng, originals: &[String], alphabet: &[u8]) -> String {
    if rng.chance(1, 8) {
        let len = rng.below(400);
        return random_text(rng, alphabet, len);
    }
    let original = rng.pick(originals).clone();
    let rounds = 1 + rng.below(6);
    mutate_text_n(rng, &original, rounds)
}

const COUNTER_ALPHABET: &[u8] = b"TcpExt:IpUdp 0123456789-\n\t abcdefxyz";
const HEX_ALPHABET: &[u8] = b"0123456789abcdef \n\tzZ-";

#[test]
fn netstat_and_snmp() {
    let originals: Vec<String> = ["net/netstat", "net/snmp"].iter().flat_map(|name| fixtures(name)).collect();
    run("netstat/snmp", cases(3000), |rng| {
        let text = input(rng, &originals, COUNTER_ALPHABET);
        let parsed = parse_header_value_pairs(&text);
        let prefixes: BTreeSet<&str> = text.lines().filter_map(|line| Some(line.split_once(':')?.0.trim())).collect();
        for section in parsed.value.keys() {
            assert!(prefixes.contains(section.as_str()), "section {section:?} is not in the file");
        }
    });
}

/// A header whose values line is gone costs that section only: every other section reads as
/// it did in the whole file.
#[test]
fn netstat_and_snmp_without_one_values_line() {
    let originals: Vec<String> = ["net/netstat", "net/snmp"].iter().flat_map(|name| fixtures(name)).collect();
    run("netstat/snmp orphan header", cases(400), |rng| {
        let original = rng.pick(&originals);
        let lines: Vec<&str> = original.lines().collect();
        let values_line = 2 * rng.below(lines.len() / 2) + 1;
        let cut: Vec<&str> =
            lines.iter().enumerate().filter(|(at, _)| *at != values_line).map(|(_, line)| *line).collect();
        let whole = parse_header_value_pairs(original).value;
        let parsed = parse_header_value_pairs(&cut.join("\n")).value;
        let lost = lines[values_line].split_once(':').map(|(prefix, _)| prefix.trim()).unwrap_or_default();
        for (section, fields) in &whole {
            if section != lost {
                assert_eq!(parsed.get(section), Some(fields), "section {section} after losing {lost}'s values");
            }
        }
    });
}

#[test]
fn snmp6() {
    let originals = fixtures("net/snmp6");
    run("snmp6", cases(2000), |rng| {
        let text = input(rng, &originals, b"Ip6Udp6Icmp6InOut 0123456789-\n\t");
        let parsed = parse_snmp6(&text);
        let entries: usize = parsed.value.values().map(|fields| fields.len()).sum();
        assert!(entries <= text.lines().count(), "one entry per line at most");
    });
}

#[test]
fn sockstat() {
    let originals: Vec<String> = ["net/sockstat", "net/sockstat6"].iter().flat_map(|name| fixtures(name)).collect();
    run("sockstat", cases(2000), |rng| {
        let text = input(rng, &originals, b"TCP6:inuse orphan tw 0123456789-\n");
        let parsed = parse_sockstat(&text);
        assert!(parsed.value.len() <= text.lines().count());
    });
}

#[test]
fn softnet_stat() {
    let originals = fixtures("net/softnet_stat");
    run("softnet_stat", cases(2000), |rng| {
        let text = input(rng, &originals, HEX_ALPHABET);
        let parsed = parse_softnet(&text);
        assert!(parsed.value.len() <= text.lines().count());
        for row in &parsed.value {
            assert!(!row.columns.is_empty());
            let _ = (row.processed(), row.dropped(), row.time_squeeze(), row.backlog_len());
        }
    });
}

#[test]
fn nf_conntrack_stat() {
    let originals = fixtures("net/stat/nf_conntrack");
    run("nf_conntrack", cases(2000), |rng| {
        let text = input(rng, &originals, HEX_ALPHABET);
        let parsed = parse_conntrack_stat(&text);
        let header: BTreeSet<&str> =
            text.lines().find(|line| !line.trim().is_empty()).into_iter().flat_map(str::split_whitespace).collect();
        assert!(parsed.value.keys().all(|name| header.contains(name.as_str())));
    });
}

/// The CPU count of a list, expanded the slow way; `None` when the list is malformed.
fn expanded(text: &str) -> Option<u64> {
    let mut total = 0u64;
    for part in text.trim().split(',').filter(|part| !part.is_empty()) {
        let (low, high) = match part.split_once('-') {
            Some((low, high)) => (low.parse::<u32>().ok()?, high.parse::<u32>().ok()?),
            None => (part.parse::<u32>().ok()?, part.parse::<u32>().ok()?),
        };
        total += u64::from(high.checked_sub(low)?) + 1;
    }
    (total > 0).then_some(total)
}

#[test]
fn cpu_lists() {
    let pieces = [
        "0",
        "1",
        "3",
        "7",
        "63",
        "4095",
        "4294967294",
        "4294967295",
        "4294967296",
        "-",
        ",",
        "x",
        " ",
        "0-4294967295",
        "1-4294967295,",
        "0-2147483648,",
    ];
    run("cpu lists", cases(5000), |rng| {
        let text: String = (0..1 + rng.below(8)).map(|_| *rng.pick(&pieces)).collect();
        let counted = identity::count_cpu_list(&text);
        let expected = expanded(&text).filter(|count| *count <= u64::from(u32::MAX));
        assert_eq!(counted.map(u64::from), expected, "{text:?}");
    });
}

#[test]
fn sysctl_values() {
    let originals: Vec<String> = [
        "sys/net/core/somaxconn",
        "sys/net/ipv4/tcp_rmem",
        "sys/net/ipv4/ip_local_port_range",
        "sys/net/ipv4/ip_local_reserved_ports",
        "sys/net/ipv4/tcp_congestion_control",
    ]
    .iter()
    .flat_map(|name| fixtures(name))
    .collect();
    run("sysctl values", cases(3000), |rng| {
        let text = input(rng, &originals, b"0123456789-, \t\nabc");
        let value = parse_value(&text);
        match &value {
            SysctlValue::Integer(number) => assert_eq!(text.trim().parse::<i64>().ok(), Some(*number)),
            SysctlValue::Integers(numbers) => assert!(numbers.len() > 1),
            SysctlValue::Text(kept) => assert_eq!(kept, text.trim()),
        }
        if let Some((low, high)) = value.port_range() {
            assert!(low <= high);
        }
        let _ = sockscope::model::ports::reserved_ports(Some(&value));
    });
}

#[test]
fn kernel_log_records() {
    let originals = [
        "4,1234,987654321,-;TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies.\n SUBSYSTEM=net\n",
        "4,5,6,-;nf_conntrack: nf_conntrack: table full, dropping packet\n",
        "6,7,8,-;eth0: link up\n",
    ]
    .map(str::to_string);
    run("kmsg records", cases(3000), |rng| {
        let text = input(rng, &originals, b"0123456789,;-TCP: SYN flooding\n");
        if let Some(event) = kmsg::parse_record(text.as_bytes()) {
            assert!(!event.message.contains('\n'));
        }
    });
}

#[test]
fn cgroup_files() {
    let originals = [
        "0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n",
        "12:pids:/kubepods/burstable/pod0a1b2c3d-0000-1111-2222-333344445555/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n1:name=systemd:/user.slice\n",
        "0::/lxc.payload.web (deleted)\n",
    ]
    .map(str::to_string);
    run("cgroup files", cases(3000), |rng| {
        let text = input(rng, &originals, b"0123456789abcdef:/-.\n");
        let _ = containers::from_cgroup(&text);
    });
}
