//! The listen-event source's numbers in a recording, read back by `report --from`: two real
//! samples of this host, with a real listener, carrying event totals a second apart (the sample
//! is plain data; the kernel side fills it live). The JSON report gives the model's numbers, the
//! text report its section, and both metric expositions pass `promtool` and the strict
//! OpenMetrics parser.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{SOCKSCOPE, listener, local_addr, run_ok};
use sockscope::collect::{Collector, Observed, Round};
use sockscope::record::format::{FORMAT_NAME, FORMAT_VERSION};
use sockscope::record::{Header, Limits, Recorder};
use sockscope::sample::listen_events::{
    ClientDrops, DropReason, EventKind, EventRoute, ListenEvent, ListenEvents, ListenerEvents, WaitHistogram,
};
use sockscope::sample::{CollectPlan, Family, Sample};

const MS: u64 = 1_000_000;

/// The source's totals for the listener on `127.0.0.1:port`, named by address only (as the
/// SYN classifier names a listener it cannot read the cookie of): `drops` predicted SYN drops
/// from one client, `waits` accepted connections with their wait.
fn totals(port: u16, drops: u64, waits: &[(u64, u64)]) -> ListenerEvents {
    let mut accept_wait = WaitHistogram::default();
    for (wait, count) in waits {
        for _ in 0..*count {
            accept_wait.add(*wait);
        }
    }
    ListenerEvents {
        cookie: None,
        family: Family::Ipv4,
        local_address: "127.0.0.1".parse().expect("ip"),
        local_port: port,
        drops: BTreeMap::from([(DropReason::SynAcceptQueueFull, drops)]),
        syncookies: 0,
        synack_retransmits: 0,
        interval_max_wait_ns: waits.iter().map(|(wait, _)| *wait).max().unwrap_or(0),
        accept_wait,
        top_dropped_clients: vec![ClientDrops { address: "127.0.0.9".parse().expect("ip"), drops }],
        distinct_dropped_clients: u64::from(drops > 0),
    }
}

fn with_events(mut sample: Sample, second: u64, entry: ListenerEvents, latest: Vec<ListenEvent>) -> Sample {
    sample.boottime_ns += second * 1_000_000_000;
    sample.taken_at = sample.taken_at.checked_add(jiff::SignedDuration::from_secs(second as i64)).expect("time");
    sample.listen_events = Some(ListenEvents {
        route: EventRoute {
            attached: vec!["tp_btf:kfree_skb".into(), "cgroup_skb:ingress".into()],
            accept_wait: "getpeername".into(),
            listen_overflow_reason: true,
        },
        started_boottime_ns: 1,
        listeners: vec![entry],
        latest,
        lost_events: second * 2,
    });
    sample
}

/// Records two samples a second apart: 40 SYN drops and 100 accepts (waits of 1, 50, 100 and
/// 200 ms) in between. Returns the listener's port; the socket lives as long as the caller's.
fn record(path: &Path, port: u16) {
    let sample = Collector::new(CollectPlan::default()).collect();
    let header = Header {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        sockscope: "test".to_string(),
        started_at: sample.taken_at,
        host: Some("recorded-host".to_string()),
        interval_ms: 1000,
        scope: "this namespace".to_string(),
        all_namespaces: false,
        plan: CollectPlan::default(),
    };
    let drop = ListenEvent {
        boottime_ns: sample.boottime_ns,
        kind: EventKind::Drop(DropReason::SynAcceptQueueFull),
        client_address: "127.0.0.9".parse().expect("ip"),
        client_port: 40_000,
        local_address: "127.0.0.1".parse().expect("ip"),
        local_port: port,
        cookie: None,
        accept_queue: (2, 1),
        syn_queue: 0,
        wait_ns: 0,
        retransmits: 0,
    };
    let first = with_events(sample.clone(), 0, totals(port, 10, &[]), Vec::new());
    let waits = [(MS, 25), (50 * MS, 25), (100 * MS, 49), (200 * MS, 1)];
    let second = with_events(sample, 1, totals(port, 50, &waits), vec![drop]);
    let mut recorder = Recorder::open(path, header, Limits::default()).expect("a recorder");
    for sample in [first, second] {
        let round = Round { taken_at: sample.taken_at, observed: vec![Observed::Sample(Box::new(sample))] };
        recorder.append(&round).expect("append");
    }
    recorder.finish().expect("finish");
}

fn report(path: &Path, format: &str) -> String {
    run_ok(Command::new(SOCKSCOPE).args(["report", "--from", path.to_str().expect("utf-8 path"), "--format", format]))
}

fn run_with_input(program: &str, args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run {program} ({error}); .ci/run installs it"));
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    child.wait_with_output().expect("wait")
}

#[test]
fn a_recording_carries_listen_events_into_every_report_format() {
    let server = listener("127.0.0.1:0", 1);
    let port = local_addr(&server).port();
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("rec");
    record(&file, port);

    let json: serde_json::Value = serde_json::from_str(&report(&file, "json")).expect("JSON");
    let events = &json["listen_events"];
    assert_eq!(events["status"], "active", "{events}");
    assert_eq!((events["lost"].as_u64(), events["lost_total"].as_u64()), (Some(2), Some(2)));
    let at_port = events["listeners"].as_array().expect("listeners").iter().find(|l| l["local_port"] == port);
    let at_port = at_port.unwrap_or_else(|| panic!("no listener on {port}: {events}"));
    assert_eq!(at_port["drop_events"]["syn_accept_queue_full"], 40);
    let waits = &at_port["accept_wait"];
    assert_eq!(waits["count"], 100);
    for (key, expected) in [("p50_ms", 50.0), ("p90_ms", 100.0), ("p99_ms", 100.0), ("max_ms", 200.0)] {
        let value = waits[key].as_f64().expect(key);
        assert!((value - expected).abs() <= expected / 32.0, "{key} {value}, expected {expected} ± 3 %");
    }
    assert_eq!(at_port["top_dropped_clients"][0]["interval"], 40);

    let text = report(&file, "text");
    assert!(
        text.contains("Listen events (eBPF)")
            && text.contains("drop syn_accept_queue_full (predicted) 127.0.0.9:40000")
    );

    let classic = report(&file, "prometheus");
    let lport = format!("lport=\"{port}\"");
    let histogram =
        classic.lines().find(|l| l.starts_with("sockscope_listen_accept_wait_seconds_count") && l.contains(&lport));
    assert!(histogram.is_some_and(|line| line.ends_with(" 100")), "{classic}");
    let drops = classic.lines().find(|l| {
        l.starts_with("sockscope_listen_drop_events_total") && l.contains(&lport) && l.contains("syn_accept_queue_full")
    });
    assert!(drops.is_some_and(|line| line.ends_with(" 50")), "totals since the source started: {drops:?}");
    let promtool = run_with_input("promtool", &["check", "metrics"], &classic);
    let said = format!("{}{}", String::from_utf8_lossy(&promtool.stdout), String::from_utf8_lossy(&promtool.stderr));
    assert!(promtool.status.success() && said.trim().is_empty(), "promtool: {said}");

    let open = report(&file, "openmetrics");
    let parser = "import sys\nfrom prometheus_client.openmetrics.parser import text_string_to_metric_families as parse\n\
                  families = {f.name: f for f in parse(sys.stdin.read())}\n\
                  assert families['sockscope_listen_accept_wait_seconds'].type == 'histogram'\n\
                  print(len(families))";
    let parsed = run_with_input("/usr/bin/python3", &["-c", parser], &open);
    assert!(parsed.status.success(), "the strict OpenMetrics parser: {}", String::from_utf8_lossy(&parsed.stderr));
    drop(server);
}
