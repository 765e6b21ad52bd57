//! What the listen-event source (eBPF) saw at each listener, per interval: drops by reason, SYN
//! cookies, SYN-ACK retransmits, accepts and how long accepted connections waited in the accept
//! queue — derived once here from the totals of two samples.
//!
//! **Attribution.** A [`ListenerEvents`] belongs to the listener with its socket cookie when the
//! hook could read one; without a cookie, to the listeners on its family, address and port by
//! the SYN queue's rule ([`super::listeners::listeners_on`]: exact address, then wildcard, then
//! dual-stack). Several entries of one listener add up; an entry that several sockets share (an
//! `SO_REUSEPORT` group) counts for each, and [`ListenerActivity::shared_by`] says so.
//!
//! **Intervals.** Every count of the sample is a total since the source started, so the numbers
//! of an interval are the increase between the previous sample and this one. There is no
//! interval for a single sample, when the source restarted between the two (a new
//! `started_boottime_ns`) or when a total went backwards.
//!
//! **Accept wait.** Percentiles come from the increase of the wait histogram: the bucket that
//! holds the wanted rank, reported as its midpoint (buckets are at most 3 % wide). The maximum
//! is the source's own per-interval maximum. [`smooth`] computes the same over the history
//! window the model smooths rates with.

use std::collections::BTreeMap;

use serde::Serialize;

use super::history::Point;
use super::identity::ListenerKey;
use super::listeners::listeners_on;
use crate::sample::listen_events::{
    ClientDrops, DropReason, EventKind, EventRoute, ListenEvent, ListenEvents, ListenerEvents, TOP_CLIENTS,
    WaitHistogram,
};
use crate::sample::{Sample, Source};

/// The listen-event source as the model sees it for one namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenEventsView {
    /// Whether the source runs, and how; or why not.
    pub status: EventStatus,
    /// Events lost for want of ring-buffer room since the source started (host-wide).
    pub lost_total: Option<u64>,
    /// Of those, lost in the interval.
    pub lost: Option<u64>,
    /// The namespace's latest events, oldest first.
    pub latest: Vec<ListenEvent>,
    /// Per listener, by key; only listeners the source has seen something at.
    pub listeners: BTreeMap<ListenerKey, ListenerActivity>,
    /// Entries that name no current listener (a listener closed since, or a port nobody
    /// listens on any more).
    pub unattributed: usize,
}

impl ListenEventsView {
    /// One listener's activity, when the source saw any.
    pub fn listener(&self, key: &ListenerKey) -> Option<&ListenerActivity> {
        self.listeners.get(key)
    }
}

/// Whether the source runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EventStatus {
    /// Not started for this run (a one-shot report, or a build or mode without it).
    #[default]
    NotStarted,
    /// It could not start, with the reason (no privileges, no BTF, kernel too old).
    Unavailable {
        /// One line saying why.
        reason: String,
    },
    /// It runs, through these hooks.
    Active {
        /// Which programs are attached and how accept waits are measured.
        route: EventRoute,
    },
}

impl EventStatus {
    /// `active`, `unavailable` or `not_started`: the stable name JSON and metrics use.
    pub fn name(&self) -> &'static str {
        match self {
            EventStatus::NotStarted => "not_started",
            EventStatus::Unavailable { .. } => "unavailable",
            EventStatus::Active { .. } => "active",
        }
    }

    /// Whether events are observed.
    pub fn is_active(&self) -> bool {
        matches!(self, EventStatus::Active { .. })
    }
}

/// What the source saw at one listener.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerActivity {
    /// How many listener sockets an entry counted for this one is shared by (1 normally).
    pub shared_by: u32,
    /// Totals since the source started (entries of this listener added up).
    pub totals: ListenerEvents,
    /// The increase over the interval; `None` without one (see the module documentation).
    pub interval: Option<ActivityInterval>,
    /// Accept-wait percentiles over the smoothing window ([`super::Model::smoothing`]); set by
    /// [`smooth`].
    pub accept_wait_smoothed: Option<WaitStats>,
    /// The clients dropped most, most first (in the interval where known, else since start).
    pub top_dropped_clients: Vec<ClientView>,
    /// The latest drop, SYN-cookie and retransmit events at this listener, oldest first.
    pub latest: Vec<ListenEvent>,
}

impl ListenerActivity {
    /// Connections dropped in the interval, all reasons.
    pub fn interval_drops(&self) -> Option<u64> {
        self.interval.as_ref().map(|interval| interval.drops.values().map(|count| count.delta).sum())
    }
}

/// How a count grew over the interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Count {
    /// The increase.
    pub delta: u64,
    /// The increase per second.
    pub per_second: f64,
}

impl Count {
    fn between(before: u64, now: u64, seconds: f64) -> Option<Count> {
        let delta = now.checked_sub(before)?;
        Some(Count { delta, per_second: delta as f64 / seconds })
    }
}

/// One listener's events over the interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityInterval {
    /// Seconds the interval lasted.
    pub seconds: f64,
    /// Connections dropped, by reason (every reason, zero included).
    pub drops: BTreeMap<DropReason, Count>,
    /// SYN cookies sent.
    pub syncookies: Count,
    /// SYN-ACKs retransmitted.
    pub synack_retransmits: Count,
    /// Connections accepted.
    pub accepts: Count,
    /// New distinct clients dropped.
    pub distinct_dropped_clients: u64,
    /// How long the connections accepted in the interval waited; `None` when none was.
    pub accept_wait: Option<WaitStats>,
}

/// Accept-wait percentiles of a number of accepted connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WaitStats {
    /// Connections counted.
    pub count: u64,
    /// Median wait, nanoseconds (the midpoint of its bucket).
    pub p50_ns: u64,
    /// 90th percentile, nanoseconds.
    pub p90_ns: u64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: u64,
    /// The longest wait, nanoseconds.
    pub max_ns: u64,
    /// The sum of the waits, nanoseconds.
    pub sum_ns: u64,
}

/// One client and how often it was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientView {
    /// The client's address.
    pub address: std::net::IpAddr,
    /// Its drops since the source started.
    pub total: u64,
    /// Its drops in the interval, when that can be told (it was listed in the previous
    /// sample, or that list had room and so held every dropped client).
    pub interval: Option<u64>,
}

/// The listen-event view of `current`, with intervals since `previous`.
pub fn listen_events(current: &Sample, previous: Option<&Sample>, interval: Option<f64>) -> ListenEventsView {
    let Some(events) = current.listen_events.as_ref() else {
        let status = match current.unavailable_reason(&Source::ListenEvents) {
            Some(reason) => EventStatus::Unavailable { reason: reason.to_string() },
            None => EventStatus::NotStarted,
        };
        return ListenEventsView { status, ..ListenEventsView::default() };
    };
    let before = previous
        .and_then(|sample| sample.listen_events.as_ref())
        .filter(|before| before.started_boottime_ns == events.started_boottime_ns);
    let seconds = interval.filter(|seconds| *seconds > 0.0);
    let (now, unattributed) = attribute(current, events);
    let then = before.map(|before| attribute(current, before).0).unwrap_or_default();
    let listeners = now
        .into_iter()
        .map(|(key, (shared_by, totals))| {
            let earlier = then.get(&key).map(|(_, totals)| totals);
            let window = seconds.zip(before.map(|_| earlier));
            let interval = window.and_then(|(seconds, earlier)| between(earlier, &totals, seconds));
            let top_dropped_clients = top_clients(&totals, window.map(|(_, earlier)| earlier));
            let latest = latest_at(current, events, key.cookie);
            let activity = ListenerActivity {
                shared_by,
                totals,
                interval,
                accept_wait_smoothed: None,
                top_dropped_clients,
                latest,
            };
            (key, activity)
        })
        .collect();
    ListenEventsView {
        status: EventStatus::Active { route: events.route.clone() },
        lost_total: Some(events.lost_events),
        lost: before.and_then(|before| events.lost_events.checked_sub(before.lost_events)),
        latest: events.latest.clone(),
        listeners,
        unattributed,
    }
}

/// Each current TCP listener's summed entries with how many sockets share them, and the count
/// of entries that matched none.
fn attribute(sample: &Sample, events: &ListenEvents) -> (BTreeMap<ListenerKey, (u32, ListenerEvents)>, usize) {
    let netns = sample.netns.as_ref().map_or(0, |netns| netns.inode);
    let tcp = sample.tcp_listeners.as_deref().unwrap_or_default();
    let mut per_listener: BTreeMap<ListenerKey, (u32, ListenerEvents)> = BTreeMap::new();
    let mut unattributed = 0;
    for entry in &events.listeners {
        let owners: Vec<u64> = match entry.cookie {
            Some(cookie) => tcp.iter().filter(|l| l.cookie == cookie).map(|l| l.cookie).collect(),
            None => listeners_on(tcp, entry.family, entry.local_address, entry.local_port)
                .into_iter()
                .map(|index| tcp[index].cookie)
                .collect(),
        };
        if owners.is_empty() {
            unattributed += 1;
        }
        let shared_by = owners.len() as u32;
        for cookie in owners {
            let key = ListenerKey { netns, cookie };
            let listener = tcp.iter().find(|l| l.cookie == cookie);
            let (shares, sum) = per_listener.entry(key).or_insert_with(|| (1, empty_like(entry, listener)));
            *shares = (*shares).max(shared_by);
            add(sum, entry);
        }
    }
    (per_listener, unattributed)
}

/// Zero totals named after the listener they are summed for.
fn empty_like(entry: &ListenerEvents, listener: Option<&crate::sample::TcpListener>) -> ListenerEvents {
    ListenerEvents::empty(
        listener.map(|l| l.cookie).or(entry.cookie),
        listener.map_or(entry.family, |l| l.family),
        listener.map_or(entry.local_address, |l| l.local_address),
        listener.map_or(entry.local_port, |l| l.local_port),
    )
}

/// Adds one entry's totals to a listener's sum.
fn add(sum: &mut ListenerEvents, entry: &ListenerEvents) {
    for (reason, count) in &entry.drops {
        let slot = sum.drops.entry(*reason).or_default();
        *slot = slot.saturating_add(*count);
    }
    sum.syncookies = sum.syncookies.saturating_add(entry.syncookies);
    sum.synack_retransmits = sum.synack_retransmits.saturating_add(entry.synack_retransmits);
    for (bucket, count) in &entry.accept_wait.buckets {
        let slot = sum.accept_wait.buckets.entry(*bucket).or_default();
        *slot = slot.saturating_add(*count);
    }
    sum.accept_wait.count = sum.accept_wait.count.saturating_add(entry.accept_wait.count);
    sum.accept_wait.sum_ns = sum.accept_wait.sum_ns.saturating_add(entry.accept_wait.sum_ns);
    sum.interval_max_wait_ns = sum.interval_max_wait_ns.max(entry.interval_max_wait_ns);
    for client in &entry.top_dropped_clients {
        match sum.top_dropped_clients.iter_mut().find(|known| known.address == client.address) {
            Some(known) => known.drops = known.drops.saturating_add(client.drops),
            None => sum.top_dropped_clients.push(client.clone()),
        }
    }
    sum.top_dropped_clients.sort_by(|a, b| b.drops.cmp(&a.drops).then(a.address.cmp(&b.address)));
    sum.distinct_dropped_clients = sum.distinct_dropped_clients.saturating_add(entry.distinct_dropped_clients);
}

/// The increase from `earlier` (zero when the listener had no entry then) to `now` over
/// `seconds`; `None` when a total went backwards.
fn between(earlier: Option<&ListenerEvents>, now: &ListenerEvents, seconds: f64) -> Option<ActivityInterval> {
    let zero = empty_like(now, None);
    let earlier = earlier.unwrap_or(&zero);
    let mut drops = BTreeMap::new();
    for reason in DropReason::ALL {
        let total = |events: &ListenerEvents| events.drops.get(&reason).copied().unwrap_or(0);
        drops.insert(reason, Count::between(total(earlier), total(now), seconds)?);
    }
    let waits = histogram_delta(&earlier.accept_wait, &now.accept_wait)?;
    Some(ActivityInterval {
        seconds,
        drops,
        syncookies: Count::between(earlier.syncookies, now.syncookies, seconds)?,
        synack_retransmits: Count::between(earlier.synack_retransmits, now.synack_retransmits, seconds)?,
        accepts: Count::between(earlier.accept_wait.count, now.accept_wait.count, seconds)?,
        distinct_dropped_clients: now.distinct_dropped_clients.saturating_sub(earlier.distinct_dropped_clients),
        accept_wait: wait_stats(&waits, now.interval_max_wait_ns),
    })
}

/// The waits counted between two readings of a histogram; `None` when it went backwards.
pub fn histogram_delta(before: &WaitHistogram, now: &WaitHistogram) -> Option<WaitHistogram> {
    let count = now.count.checked_sub(before.count)?;
    let buckets = now
        .buckets
        .iter()
        .filter_map(|(bucket, total)| {
            let increase = total.saturating_sub(before.buckets.get(bucket).copied().unwrap_or(0));
            (increase > 0).then_some((*bucket, increase))
        })
        .collect();
    Some(WaitHistogram { buckets, count, sum_ns: now.sum_ns.saturating_sub(before.sum_ns) })
}

/// Percentiles of a histogram, with the largest wait the source measured (never below the
/// highest bucket's lower bound); `None` when it counts nothing.
pub fn wait_stats(histogram: &WaitHistogram, max_ns: u64) -> Option<WaitStats> {
    let counted: u64 = histogram.buckets.values().sum();
    let highest = *histogram.buckets.keys().next_back()?;
    (counted > 0).then(|| WaitStats {
        count: histogram.count,
        p50_ns: percentile(histogram, counted, 0.50),
        p90_ns: percentile(histogram, counted, 0.90),
        p99_ns: percentile(histogram, counted, 0.99),
        max_ns: max_ns.max(WaitHistogram::lower_bound(highest)),
        sum_ns: histogram.sum_ns,
    })
}

/// The midpoint of the bucket holding the `quantile` rank (the smallest rank covering it).
fn percentile(histogram: &WaitHistogram, counted: u64, quantile: f64) -> u64 {
    let rank = ((counted as f64 * quantile).ceil() as u64).clamp(1, counted);
    let mut seen = 0u64;
    for (bucket, count) in &histogram.buckets {
        seen = seen.saturating_add(*count);
        if seen >= rank {
            return midpoint(*bucket);
        }
    }
    0
}

/// The middle of a bucket, in nanoseconds.
pub fn midpoint(bucket: u32) -> u64 {
    let low = WaitHistogram::lower_bound(bucket);
    let high = WaitHistogram::lower_bound(bucket.saturating_add(1));
    low + high.saturating_sub(low) / 2
}

/// The upper bounds, in nanoseconds, at which the metric expositions cut accept waits: every
/// power of two from 2^10 ns (1.024 µs) to 2^34 ns (17.2 s). A power of two is always a bucket
/// edge of [`WaitHistogram`], so each cumulative count is exact (a wait equal to a bound counts
/// above it: a nanosecond's difference from Prometheus's `le`).
pub fn exported_bounds_ns() -> impl Iterator<Item = u64> {
    (10..=34).map(|power| 1u64 << power)
}

/// The histogram's cumulative counts at [`exported_bounds_ns`]: `(bound, waits below it)`,
/// never above the histogram's `count` (so `+Inf` is `count`).
pub fn cumulative(histogram: &WaitHistogram) -> Vec<(u64, u64)> {
    exported_bounds_ns()
        .map(|bound| {
            let below = histogram
                .buckets
                .iter()
                .filter(|(bucket, _)| WaitHistogram::lower_bound(**bucket) < bound)
                .fold(0u64, |sum, (_, count)| sum.saturating_add(*count));
            (bound, below.min(histogram.count))
        })
        .collect()
}

/// The most-dropped clients, with their drops in the interval where that can be told.
fn top_clients(now: &ListenerEvents, earlier: Option<Option<&ListenerEvents>>) -> Vec<ClientView> {
    let in_interval = |client: &ClientDrops| -> Option<u64> {
        let earlier = earlier?;
        let Some(earlier) = earlier else { return Some(client.drops) };
        match earlier.top_dropped_clients.iter().find(|known| known.address == client.address) {
            Some(known) => client.drops.checked_sub(known.drops),
            None if earlier.top_dropped_clients.len() < TOP_CLIENTS => Some(client.drops),
            None => None,
        }
    };
    let mut clients: Vec<ClientView> = now
        .top_dropped_clients
        .iter()
        .map(|client| ClientView { address: client.address, total: client.drops, interval: in_interval(client) })
        .collect();
    clients.sort_by(|a, b| b.interval.cmp(&a.interval).then(b.total.cmp(&a.total)).then(a.address.cmp(&b.address)));
    clients.truncate(TOP_CLIENTS);
    clients
}

/// The drop, SYN-cookie and retransmit events of the listener with `cookie`, oldest first.
fn latest_at(sample: &Sample, events: &ListenEvents, cookie: u64) -> Vec<ListenEvent> {
    let tcp = sample.tcp_listeners.as_deref().unwrap_or_default();
    let family = |address: std::net::IpAddr| match address {
        std::net::IpAddr::V4(_) => crate::sample::Family::Ipv4,
        std::net::IpAddr::V6(_) => crate::sample::Family::Ipv6,
    };
    let mine = |event: &ListenEvent| match event.cookie {
        Some(known) => known == cookie,
        None => listeners_on(tcp, family(event.local_address), event.local_address, event.local_port)
            .into_iter()
            .any(|index| tcp[index].cookie == cookie),
    };
    events.latest.iter().filter(|event| event.kind != EventKind::Accepted && mine(event)).cloned().collect()
}

/// Sets each listener's accept-wait percentiles over the history window from `start` to `end`
/// (`points` the history, oldest first): the histogram's increase between the window's ends and
/// the largest per-interval maximum inside it.
pub fn smooth<'a>(view: &mut ListenEventsView, points: impl Iterator<Item = &'a Point>, start: &Point, end: &Point) {
    let inside: Vec<&Point> =
        points.filter(|point| point.boottime_ns > start.boottime_ns && point.boottime_ns <= end.boottime_ns).collect();
    for (key, activity) in &mut view.listeners {
        let (Some(first), Some(last)) = (start.listener_waits.get(key), end.listener_waits.get(key)) else {
            continue;
        };
        let Some(waits) = histogram_delta(&first.total, &last.total) else { continue };
        let max = inside.iter().filter_map(|point| point.listener_waits.get(key)).map(|w| w.interval_max_ns).max();
        activity.accept_wait_smoothed = wait_stats(&waits, max.unwrap_or(0));
    }
}

#[cfg(test)]
mod tests;
