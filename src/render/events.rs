//! The listen-event source in the report: the JSON `listen_events` object of a namespace and
//! the text report's section, both read from [`crate::model::ListenEventsView`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::table::{Align, Table};
use crate::engine::Frame;
use crate::format::{self as units, sanitize};
use crate::model::listen_events::{ClientView, WaitStats};
use crate::model::{EventStatus, ListenEventsView, ListenerActivity, ListenerView};
use crate::sample::listen_events::{DropReason, EventKind, EventRoute, ListenEvent};

/// How many of a listener's latest events the text report lists.
const TEXT_EVENTS: usize = 5;

/// A namespace's `listen_events` object.
#[derive(Debug, Serialize)]
pub struct EventsJson<'a> {
    status: &'static str,
    reason: Option<&'a str>,
    route: Option<&'a EventRoute>,
    interval_observed: bool,
    lost: Option<u64>,
    lost_total: Option<u64>,
    unattributed_entries: usize,
    listeners: Vec<ListenerJson<'a>>,
    latest: Vec<EventJson>,
}

/// One listener's events.
#[derive(Debug, Serialize)]
struct ListenerJson<'a> {
    cookie: u64,
    local_address: String,
    local_port: u16,
    shared_by: u32,
    accept_wait: Option<WaitJson>,
    accept_wait_smoothed: Option<WaitJson>,
    drop_events: Option<BTreeMap<&'static str, u64>>,
    drop_events_per_second: Option<BTreeMap<&'static str, f64>>,
    drop_events_total: BTreeMap<&'static str, u64>,
    syncookies: Option<u64>,
    synack_retransmits: Option<u64>,
    accepts: Option<u64>,
    distinct_dropped_clients: Option<u64>,
    distinct_dropped_clients_total: u64,
    top_dropped_clients: &'a [ClientView],
}

/// Accept-wait percentiles in milliseconds.
#[derive(Debug, Serialize)]
struct WaitJson {
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    count: u64,
}

impl WaitJson {
    fn of(stats: &WaitStats) -> WaitJson {
        let ms = |nanos: u64| nanos as f64 / 1e6;
        WaitJson {
            p50_ms: ms(stats.p50_ns),
            p90_ms: ms(stats.p90_ns),
            p99_ms: ms(stats.p99_ns),
            max_ms: ms(stats.max_ns),
            count: stats.count,
        }
    }
}

/// One of the latest events.
#[derive(Debug, Serialize)]
struct EventJson {
    boottime_ns: u64,
    kind: &'static str,
    reason: Option<&'static str>,
    predicted: bool,
    client: String,
    listener: String,
    cookie: Option<u64>,
    accept_queue: [u32; 2],
    syn_queue: u32,
    wait_ns: Option<u64>,
    retransmits: Option<u32>,
}

/// `drop`, `syncookie`, `synack_retransmit` or `accepted`.
pub fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Drop(_) => "drop",
        EventKind::Syncookie => "syncookie",
        EventKind::SynackRetransmit => "synack_retransmit",
        EventKind::Accepted => "accepted",
    }
}

/// The `listen_events` object of a frame.
pub fn json<'a>(frame: &'a Frame) -> EventsJson<'a> {
    let view = &frame.model.listen_events;
    let (reason, route) = match &view.status {
        EventStatus::NotStarted => (None, None),
        EventStatus::Unavailable { reason } => (Some(reason.as_str()), None),
        EventStatus::Active { route } => (None, Some(route)),
    };
    EventsJson {
        status: view.status.name(),
        reason,
        route,
        interval_observed: view.status.is_active() && frame.model.interval.is_some(),
        lost: view.lost,
        lost_total: view.lost_total,
        unattributed_entries: view.unattributed,
        listeners: frame
            .model
            .listeners
            .iter()
            .filter_map(|listener| Some(listener_json(listener, view.listener(&listener.key)?)))
            .collect(),
        latest: view.latest.iter().map(event_json).collect(),
    }
}

fn listener_json<'a>(listener: &ListenerView, activity: &'a ListenerActivity) -> ListenerJson<'a> {
    let interval = activity.interval.as_ref();
    let by_reason = |value: &dyn Fn(DropReason) -> u64| DropReason::ALL.map(|r| (r.name(), value(r))).into();
    ListenerJson {
        cookie: listener.cookie(),
        local_address: listener.endpoint.address_text(),
        local_port: listener.endpoint.port().unwrap_or(0),
        shared_by: activity.shared_by,
        accept_wait: interval.and_then(|i| i.accept_wait.as_ref()).map(WaitJson::of),
        accept_wait_smoothed: activity.accept_wait_smoothed.as_ref().map(WaitJson::of),
        drop_events: interval.map(|i| by_reason(&|r| i.drops.get(&r).map_or(0, |c| c.delta))),
        drop_events_per_second: interval
            .map(|i| DropReason::ALL.map(|r| (r.name(), i.drops.get(&r).map_or(0.0, |c| c.per_second))).into()),
        drop_events_total: by_reason(&|r| activity.totals.drops.get(&r).copied().unwrap_or(0)),
        syncookies: interval.map(|i| i.syncookies.delta),
        synack_retransmits: interval.map(|i| i.synack_retransmits.delta),
        accepts: interval.map(|i| i.accepts.delta),
        distinct_dropped_clients: interval.map(|i| i.distinct_dropped_clients),
        distinct_dropped_clients_total: activity.totals.distinct_dropped_clients,
        top_dropped_clients: &activity.top_dropped_clients,
    }
}

fn event_json(event: &ListenEvent) -> EventJson {
    let reason = match event.kind {
        EventKind::Drop(reason) => Some(reason),
        _ => None,
    };
    EventJson {
        boottime_ns: event.boottime_ns,
        kind: kind_name(event.kind),
        reason: reason.map(DropReason::name),
        predicted: reason.map_or(event.kind == EventKind::Syncookie, DropReason::predicted),
        client: units::endpoint(event.client_address, event.client_port),
        listener: units::endpoint(event.local_address, event.local_port),
        cookie: event.cookie,
        accept_queue: [event.accept_queue.0, event.accept_queue.1],
        syn_queue: event.syn_queue,
        wait_ns: (event.kind == EventKind::Accepted).then_some(event.wait_ns),
        retransmits: (event.kind == EventKind::SynackRetransmit).then_some(event.retransmits),
    }
}

/// The source's state in one line: active with its route, unavailable with the reason, or not
/// started.
pub fn status_line(view: &ListenEventsView) -> String {
    match &view.status {
        EventStatus::NotStarted => {
            "not started: no interval observed (a one-shot report does not start it; use --interval)".to_string()
        }
        EventStatus::Unavailable { reason } => format!("unavailable: {}", sanitize(reason)),
        EventStatus::Active { route } => {
            let waits = match route.accept_wait.as_str() {
                "fexit" => "accept waits of every accept".to_string(),
                "getpeername" => "accept waits of accepts that ask for the client's address".to_string(),
                other => format!("accept waits by {}", sanitize(other)),
            };
            let acks = if route.listen_overflow_reason {
                "final-ACK drops observed"
            } else {
                "no final-ACK drop reason on this kernel"
            };
            format!("active: {}; {waits}; {acks}", sanitize(&route.attached.join(", ")))
        }
    }
}

/// A wait summary: `p50 1.00ms  p90 50.2ms  p99 100ms  max 200ms  (100 accepted)`.
pub fn wait_text(stats: &WaitStats) -> String {
    format!(
        "p50 {}  p90 {}  p99 {}  max {}  ({} accepted)",
        units::wait(stats.p50_ns),
        units::wait(stats.p90_ns),
        units::wait(stats.p99_ns),
        units::wait(stats.max_ns),
        stats.count
    )
}

/// One event for people: `drop syn_accept_queue_full (predicted) 192.0.2.1:40000  queue 17/16`.
pub fn event_text(event: &ListenEvent) -> String {
    let what = match event.kind {
        EventKind::Drop(reason) => {
            let how = if reason.predicted() { "predicted" } else { "observed" };
            format!("drop {} ({how})", reason.name())
        }
        EventKind::Syncookie => "syn cookie (predicted)".to_string(),
        EventKind::SynackRetransmit => format!("SYN-ACK retransmit #{}", event.retransmits),
        EventKind::Accepted => format!("accepted after {}", units::wait(event.wait_ns)),
    };
    let client = units::endpoint(event.client_address, event.client_port);
    format!("{what} {client}  queue {}/{}", event.accept_queue.0, event.accept_queue.1)
}

/// The text report's section.
pub fn text(out: &mut String, frame: &Frame) {
    let view = &frame.model.listen_events;
    let _ = writeln!(out, "\nListen events (eBPF)\n====================");
    let _ = writeln!(out, "  Source  {}", status_line(view));
    if !view.status.is_active() {
        return;
    }
    match (frame.model.interval, view.lost) {
        (None, _) => {
            let _ = writeln!(out, "  no interval observed: counts below are totals since the source started");
        }
        (Some(seconds), lost) => {
            let lost = lost.map_or_else(|| "-".to_string(), |lost| lost.to_string());
            let total = units::count(view.lost_total);
            let _ = writeln!(
                out,
                "  Over {}: {lost} events lost for want of ring-buffer room ({total} since the source started)",
                units::interval(seconds)
            );
        }
    }
    for listener in &frame.model.listeners {
        if let Some(activity) = view.listener(&listener.key) {
            listener_text(out, frame, listener, activity);
        }
    }
    if view.unattributed > 0 {
        let _ = writeln!(out, "\n  {} entries name no current listener (closed since?)", view.unattributed);
    }
}

fn listener_text(out: &mut String, frame: &Frame, listener: &ListenerView, activity: &ListenerActivity) {
    let _ = writeln!(out, "\n  {} {}", listener.protocol.name(), sanitize(&listener.endpoint.to_string()));
    let Some(interval) = &activity.interval else {
        let totals = &activity.totals;
        let drops: Vec<String> = DropReason::ALL
            .iter()
            .map(|reason| format!("{} {}", reason.name(), totals.drops.get(reason).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "    no interval observed; since the source started: {}", drops.join(", "));
        let _ = writeln!(out, "    {} accepted, {} syn cookies", totals.accept_wait.count, totals.syncookies);
        return;
    };
    let waits = interval.accept_wait.as_ref().map_or_else(|| "no connection accepted".to_string(), wait_text);
    let _ = writeln!(out, "    accept wait   {waits}");
    if let (Some(smoothed), Some(seconds)) = (&activity.accept_wait_smoothed, frame.model.smoothing) {
        let _ = writeln!(out, "    over {:<9} {}", units::interval(seconds), wait_text(smoothed));
    }
    let mut table =
        Table::new(&[("REASON", Align::Left), ("DROPS", Align::Right), ("RATE", Align::Right), ("", Align::Left)]);
    for reason in DropReason::ALL {
        let count = interval.drops.get(&reason).copied().unwrap_or_default();
        let how = if reason.predicted() { "predicted" } else { "observed" };
        table.row(vec![
            reason.name().to_string(),
            count.delta.to_string(),
            units::rate(Some(count.per_second)),
            how.into(),
        ]);
    }
    out.push_str(&table.render("    "));
    let _ = writeln!(
        out,
        "    syn cookies {} ({}), SYN-ACK retransmits {} ({}), accepted {} ({})",
        interval.syncookies.delta,
        units::rate(Some(interval.syncookies.per_second)),
        interval.synack_retransmits.delta,
        units::rate(Some(interval.synack_retransmits.per_second)),
        interval.accepts.delta,
        units::rate(Some(interval.accepts.per_second)),
    );
    clients_text(out, activity, interval.distinct_dropped_clients);
    let recent = activity.latest.iter().rev().take(TEXT_EVENTS).collect::<Vec<_>>();
    for event in recent.into_iter().rev() {
        let age = frame.sample.boottime_ns.saturating_sub(event.boottime_ns) as f64 / 1e9;
        let _ = writeln!(out, "    {:>6} ago  {}", units::interval(age), event_text(event));
    }
}

fn clients_text(out: &mut String, activity: &ListenerActivity, new_clients: u64) {
    if activity.top_dropped_clients.is_empty() {
        return;
    }
    let clients: Vec<String> = activity
        .top_dropped_clients
        .iter()
        .map(|client| match client.interval {
            Some(drops) => format!("{} {drops} ({} in all)", client.address, client.total),
            None => format!("{} ? ({} in all)", client.address, client.total),
        })
        .collect();
    let distinct = activity.totals.distinct_dropped_clients;
    let _ = writeln!(out, "    top dropped clients  {}", clients.join(", "));
    let _ = writeln!(out, "    distinct clients dropped  {new_clients} new, {distinct} since the source started");
}

#[cfg(test)]
mod tests;
