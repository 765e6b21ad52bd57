use crate::advise::Rules;
use crate::advise::testkit::{add_drops, add_listener, add_waits, event, events_at, listener, sample, set_events};
use crate::engine::{Frame, Pipeline};
use crate::sample::listen_events::{DropReason, EventKind};
use crate::sample::{Sample, Source, TcpListener};

const MS: u64 = 1_000_000;

fn web() -> TcpListener {
    listener("0.0.0.0", 8080, 7, 17, 16)
}

/// Two samples a second apart: 30 predicted SYN drops and 4 observed ACK drops, 100 accepts.
fn frames() -> std::sync::Arc<Frame> {
    let web = web();
    let mut pipeline = Pipeline::new(Rules::default());
    let mut entry = events_at(&web);
    let mut first = sample(10);
    add_listener(&mut first, web.clone(), Some((42, "nginx")));
    set_events(&mut first, vec![entry.clone()], Vec::new(), 1);
    pipeline.push(first);
    add_drops(&mut entry, DropReason::SynAcceptQueueFull, "192.0.2.1", 30);
    add_drops(&mut entry, DropReason::AckAcceptQueueFull, "192.0.2.2", 4);
    add_waits(&mut entry, 50 * MS, 99);
    add_waits(&mut entry, 200 * MS, 1);
    let mut second = sample(11);
    add_listener(&mut second, web.clone(), Some((42, "nginx")));
    let latest = vec![event(&web, EventKind::Drop(DropReason::SynAcceptQueueFull), "192.0.2.1", 40000, 10)];
    set_events(&mut second, vec![entry], latest, 3);
    pipeline.push(second)
}

fn json_of(frame: &Frame) -> serde_json::Value {
    serde_json::from_str(&crate::render::json::render(frame).expect("json")).expect("parses")
}

#[test]
fn the_json_report_has_the_namespace_status_and_each_listener_s_waits_and_drops() {
    let json = json_of(&frames());
    let events = &json["listen_events"];
    assert_eq!(events["status"], "active");
    assert_eq!(events["route"]["accept_wait"], "getpeername");
    assert_eq!((events["lost"].as_u64(), events["lost_total"].as_u64()), (Some(2), Some(3)));
    assert_eq!(events["interval_observed"], true);
    let listener = &events["listeners"][0];
    assert_eq!((listener["cookie"].as_u64(), listener["local_port"].as_u64()), (Some(7), Some(8080)));
    assert_eq!(listener["drop_events"]["syn_accept_queue_full"], 30);
    assert_eq!(listener["drop_events"]["ack_accept_queue_full"], 4);
    assert_eq!(listener["drop_events"]["syn_queue_full"], 0);
    let waits = &listener["accept_wait"];
    assert_eq!(waits["count"], 100);
    assert!((waits["p50_ms"].as_f64().expect("p50") - 50.0).abs() < 1.6, "{waits}");
    assert_eq!(waits["max_ms"].as_f64(), Some(200.0));
    assert_eq!(listener["top_dropped_clients"][0]["address"], "192.0.2.1");
    assert_eq!(listener["top_dropped_clients"][0]["interval"], 30);
    assert_eq!(events["latest"][0]["client"], "192.0.2.1:40000");
    assert_eq!(events["latest"][0]["predicted"], true);
}

#[test]
fn the_text_report_has_a_section_per_listener_with_the_same_numbers() {
    let text = crate::render::text::render(&frames());
    let section = text.split("Listen events (eBPF)").nth(1).expect("the section");
    assert!(section.contains("Source  active: tp_btf:kfree_skb, cgroup_skb:ingress"), "{section}");
    assert!(section.contains("Over 1s: 2 events lost"), "{section}");
    assert!(section.contains("accept waits of accepts that ask for the client's address"), "{section}");
    assert!(section.contains("tcp 0.0.0.0:8080"), "{section}");
    assert!(section.contains("max 200ms  (100 accepted)"), "{section}");
    assert!(section.contains("syn_accept_queue_full     30  30.0/s  predicted"), "{section}");
    assert!(section.contains("top dropped clients  192.0.2.1 30 (30 in all), 192.0.2.2 4 (4 in all)"), "{section}");
    assert!(section.contains("drop syn_accept_queue_full (predicted) 192.0.2.1:40000  queue 17/16"), "{section}");
}

#[test]
fn a_one_shot_report_says_no_interval_was_observed_and_why() {
    let frame = Pipeline::new(Rules::default()).push(sample(10));
    let text = crate::render::text::render(&frame);
    assert!(text.contains("no interval observed"), "{text}");
    let json = json_of(&frame);
    assert_eq!(json["listen_events"]["status"], "not_started");
    assert_eq!(json["listen_events"]["interval_observed"], false);
}

#[test]
fn an_unavailable_source_says_why_in_one_line() {
    let mut unavailable: Sample = sample(10);
    unavailable.mark_unavailable(Source::ListenEvents, "BPF_PROG_LOAD: operation not permitted (needs CAP_BPF)");
    let frame = Pipeline::new(Rules::default()).push(unavailable);
    let text = crate::render::text::render(&frame);
    let lines: Vec<&str> = text.lines().filter(|line| line.contains("operation not permitted")).collect();
    assert_eq!(lines.len(), 3, "the section's line, the not-collected list and the check not evaluated: {lines:?}");
    assert!(lines.iter().any(|line| line.starts_with("  Source  unavailable: BPF_PROG_LOAD")), "{lines:?}");
    assert_eq!(json_of(&frame)["listen_events"]["reason"], "BPF_PROG_LOAD: operation not permitted (needs CAP_BPF)");
}
