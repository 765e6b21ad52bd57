use super::*;
use crate::advise::testkit::{add_drops, add_listener, add_waits, event, events_at, listener, sample, set_events};
use crate::engine::Pipeline;
use crate::model::{Limits, Model};
use crate::sample::TcpListener;

const MS: u64 = 1_000_000;

fn with_listener(second: u64, listener: &TcpListener) -> Sample {
    let mut sample = sample(second);
    add_listener(&mut sample, listener.clone(), Some((42, "nginx")));
    sample
}

fn model(current: &Sample, previous: Option<&Sample>) -> Model {
    Model::new(current, previous, &Limits::default())
}

fn key(listener: &TcpListener) -> ListenerKey {
    ListenerKey { netns: 4_026_531_833, cookie: listener.cookie }
}

/// Within the width of the bucket holding `expected` (3 %).
fn near(value: u64, expected: u64) -> bool {
    value.abs_diff(expected) * 32 <= expected
}

#[test]
fn an_interval_gives_each_reason_its_increase_and_rate() {
    let web = listener("0.0.0.0", 8080, 7, 17, 16);
    let mut before = with_listener(10, &web);
    let mut entry = events_at(&web);
    add_drops(&mut entry, DropReason::SynAcceptQueueFull, "192.0.2.1", 5);
    entry.syncookies = 2;
    set_events(&mut before, vec![entry.clone()], Vec::new(), 3);
    let mut after = with_listener(12, &web);
    add_drops(&mut entry, DropReason::SynAcceptQueueFull, "192.0.2.1", 30);
    add_drops(&mut entry, DropReason::AckAcceptQueueFull, "192.0.2.2", 4);
    entry.syncookies = 8;
    entry.synack_retransmits = 6;
    set_events(&mut after, vec![entry], Vec::new(), 5);
    let view = model(&after, Some(&before)).listen_events;
    let interval = view.listener(&key(&web)).and_then(|a| a.interval.clone()).expect("an interval");
    assert_eq!(interval.seconds, 2.0);
    assert_eq!(interval.drops[&DropReason::SynAcceptQueueFull], Count { delta: 30, per_second: 15.0 });
    assert_eq!(interval.drops[&DropReason::AckAcceptQueueFull], Count { delta: 4, per_second: 2.0 });
    assert_eq!(interval.drops[&DropReason::SynQueueFull], Count { delta: 0, per_second: 0.0 });
    assert_eq!(interval.syncookies.delta, 6);
    assert_eq!(interval.synack_retransmits.per_second, 3.0);
    assert_eq!(interval.distinct_dropped_clients, 1, "192.0.2.2 is new");
    assert_eq!((view.lost, view.lost_total), (Some(2), Some(5)), "lost events are shown per interval");
}

#[test]
fn accept_wait_percentiles_are_bucket_midpoints_of_the_interval_only() {
    let web = listener("127.0.0.1", 8080, 7, 0, 128);
    let mut entry = events_at(&web);
    add_waits(&mut entry, 900 * MS, 1000);
    entry.interval_max_wait_ns = 900 * MS;
    let mut before = with_listener(10, &web);
    set_events(&mut before, vec![entry.clone()], Vec::new(), 0);
    entry.interval_max_wait_ns = 0;
    add_waits(&mut entry, MS, 50);
    add_waits(&mut entry, 50 * MS, 40);
    add_waits(&mut entry, 100 * MS, 9);
    add_waits(&mut entry, 200 * MS, 1);
    let mut after = with_listener(11, &web);
    set_events(&mut after, vec![entry], Vec::new(), 0);
    let view = model(&after, Some(&before)).listen_events;
    let interval = view.listener(&key(&web)).and_then(|a| a.interval.clone()).expect("an interval");
    let waits = interval.accept_wait.expect("waits");
    assert_eq!(interval.accepts.delta, 100);
    assert_eq!(waits.count, 100);
    assert!(near(waits.p50_ns, MS), "p50 {}", waits.p50_ns);
    assert!(near(waits.p90_ns, 50 * MS), "p90 {}", waits.p90_ns);
    assert!(near(waits.p99_ns, 100 * MS), "p99 {}", waits.p99_ns);
    assert_eq!(waits.max_ns, 200 * MS, "the source's interval maximum, not the 900 ms before");
}

#[test]
fn percentiles_of_an_empty_histogram_are_none_and_of_one_wait_its_bucket() {
    assert_eq!(wait_stats(&WaitHistogram::default(), 0), None);
    let mut one = WaitHistogram::default();
    one.add(5);
    let stats = wait_stats(&one, 0).expect("one wait");
    assert_eq!((stats.p50_ns, stats.p99_ns, stats.max_ns), (5, 5, 5), "below 32 ns every value has a bucket");
}

#[test]
fn entries_without_a_cookie_go_to_the_wildcard_listener_and_a_closed_socket_matches_nothing() {
    let wildcard = listener("0.0.0.0", 8080, 7, 0, 128);
    let mut current = with_listener(11, &wildcard);
    let mut by_address = events_at(&listener("127.0.0.1", 8080, 0, 0, 0));
    by_address.cookie = None;
    add_drops(&mut by_address, DropReason::SynQueueFull, "10.0.0.9", 3);
    let mut own = events_at(&wildcard);
    add_drops(&mut own, DropReason::AckAcceptQueueFull, "10.0.0.9", 2);
    let gone = events_at(&listener("0.0.0.0", 8080, 99, 0, 0));
    set_events(&mut current, vec![by_address, own, gone], Vec::new(), 0);
    let view = model(&current, None).listen_events;
    let activity = view.listener(&key(&wildcard)).expect("the wildcard listener");
    assert_eq!(activity.totals.drops.get(&DropReason::SynQueueFull), Some(&3));
    assert_eq!(activity.totals.drops.get(&DropReason::AckAcceptQueueFull), Some(&2));
    assert_eq!(activity.top_dropped_clients[0].total, 5, "one client over both entries");
    assert_eq!(view.unattributed, 1, "the closed socket's cookie names no listener");
}

#[test]
fn one_sample_or_a_restarted_source_has_no_interval() {
    let web = listener("0.0.0.0", 80, 7, 0, 128);
    let mut first = with_listener(10, &web);
    set_events(&mut first, vec![events_at(&web)], Vec::new(), 0);
    let single = model(&first, None).listen_events;
    assert!(single.listener(&key(&web)).is_some_and(|a| a.interval.is_none()));
    assert_eq!(single.lost, None);
    let mut second = with_listener(11, &web);
    set_events(&mut second, vec![events_at(&web)], Vec::new(), 0);
    if let Some(events) = second.listen_events.as_mut() {
        events.started_boottime_ns = 10_500_000_000;
    }
    let restarted = model(&second, Some(&first)).listen_events;
    assert!(restarted.listener(&key(&web)).is_some_and(|a| a.interval.is_none()), "totals of two runs");
}

#[test]
fn the_status_says_active_unavailable_or_not_started() {
    let mut sample = sample(1);
    assert_eq!(model(&sample, None).listen_events.status, EventStatus::NotStarted);
    sample.mark_unavailable(Source::ListenEvents, "no CAP_BPF: operation not permitted");
    let status = model(&sample, None).listen_events.status;
    assert_eq!(status, EventStatus::Unavailable { reason: "no CAP_BPF: operation not permitted".into() });
    set_events(&mut sample, Vec::new(), Vec::new(), 0);
    let status = model(&sample, None).listen_events.status;
    assert!(status.is_active());
    assert_eq!(status.name(), "active");
}

#[test]
fn clients_dropped_in_the_interval_come_first_and_unknowable_deltas_say_so() {
    let web = listener("0.0.0.0", 80, 7, 0, 128);
    let mut entry = events_at(&web);
    add_drops(&mut entry, DropReason::SynAcceptQueueFull, "192.0.2.1", 100);
    let mut before = with_listener(10, &web);
    set_events(&mut before, vec![entry.clone()], Vec::new(), 0);
    add_drops(&mut entry, DropReason::SynAcceptQueueFull, "192.0.2.2", 7);
    add_drops(&mut entry, DropReason::SynAcceptQueueFull, "192.0.2.1", 1);
    let mut after = with_listener(11, &web);
    set_events(&mut after, vec![entry], Vec::new(), 0);
    let view = model(&after, Some(&before)).listen_events;
    let clients = &view.listener(&key(&web)).expect("activity").top_dropped_clients;
    let shown: Vec<(String, u64, Option<u64>)> =
        clients.iter().map(|c| (c.address.to_string(), c.total, c.interval)).collect();
    assert_eq!(shown, vec![("192.0.2.2".into(), 7, Some(7)), ("192.0.2.1".into(), 101, Some(1))]);
}

#[test]
fn a_listener_feed_holds_its_own_drops_cookies_and_retransmits() {
    let web = listener("0.0.0.0", 80, 7, 0, 128);
    let other = listener("0.0.0.0", 81, 8, 0, 128);
    let mut sample = with_listener(11, &web);
    add_listener(&mut sample, other.clone(), None);
    let latest = vec![
        event(&web, EventKind::Drop(DropReason::SynAcceptQueueFull), "192.0.2.1", 40000, 10),
        event(&other, EventKind::Syncookie, "192.0.2.1", 40001, 10),
        event(&web, EventKind::Accepted, "192.0.2.1", 40002, 10),
        event(&web, EventKind::SynackRetransmit, "192.0.2.3", 40003, 11),
    ];
    set_events(&mut sample, vec![events_at(&web)], latest, 0);
    let view = model(&sample, None).listen_events;
    let feed: Vec<u16> = view.listener(&key(&web)).expect("activity").latest.iter().map(|e| e.client_port).collect();
    assert_eq!(feed, vec![40000, 40003]);
    assert_eq!(view.latest.len(), 4, "the namespace keeps every event");
}

#[test]
fn accept_waits_are_also_summarised_over_the_smoothing_window() {
    let web = listener("0.0.0.0", 80, 7, 0, 128);
    let mut pipeline = Pipeline::new(crate::advise::Rules::default());
    let mut entry = events_at(&web);
    let mut smoothed = None;
    for (second, wait) in [(10, 0), (11, 10 * MS), (12, 1000 * MS), (13, 10 * MS)] {
        entry.interval_max_wait_ns = 0;
        if wait > 0 {
            add_waits(&mut entry, wait, 10);
        }
        let mut sample = with_listener(second, &web);
        set_events(&mut sample, vec![entry.clone()], Vec::new(), 0);
        let frame = pipeline.push(sample);
        let activity = frame.model.listen_events.listener(&key(&web)).cloned().expect("activity");
        assert!(activity.interval.is_some() || second == 10);
        smoothed = activity.accept_wait_smoothed;
    }
    let smoothed = smoothed.expect("smoothed waits");
    assert_eq!(smoothed.count, 30, "every wait since the window's start");
    assert_eq!(smoothed.max_ns, 1000 * MS, "the largest interval maximum inside the window");
    assert!(near(smoothed.p50_ns, 10 * MS));
    assert_eq!(pipeline.history().listener_wait_p99(key(&web)).len(), 4);
}

#[test]
fn exported_bounds_are_bucket_edges_and_counts_below_them_are_cumulative() {
    for bound in exported_bounds_ns() {
        assert_eq!(WaitHistogram::lower_bound(WaitHistogram::bucket_of(bound)), bound, "{bound} is an edge");
    }
    let mut waits = WaitHistogram::default();
    for wait in [500, 1_023, 1_024, 3_000, 20_000_000_000] {
        waits.add(wait);
    }
    let counts = cumulative(&waits);
    assert_eq!(counts.first(), Some(&(1_024, 2)), "waits below 1.024 µs");
    assert_eq!(counts.get(1), Some(&(2_048, 3)));
    assert_eq!(counts.get(2), Some(&(4_096, 4)));
    assert_eq!(counts.last(), Some(&(1 << 34, 4)), "20 s is above the last bound, counted only at +Inf");
}
