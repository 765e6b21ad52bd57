//! A bounded history of derived numbers, one point per sample: what the dashboard's sparklines
//! draw and what the advisor's trend checks ("3 consecutive samples", "grows over 5 samples")
//! read. Only small numbers are kept per point, never whole samples.

use std::collections::{HashMap, VecDeque};

use super::ListenerKey;
use super::{Model, OVERFLOW_COUNTERS};
use crate::sample::CounterId;
use crate::sample::listen_events::WaitHistogram;
use crate::sample::{TcpState, TcpStateCounts};

/// How many points a history keeps by default: ten minutes at one sample per second.
pub const DEFAULT_CAPACITY: usize = 600;

/// The numbers kept for one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// `CLOCK_BOOTTIME` of the sample, in nanoseconds.
    pub boottime_ns: u64,
    /// Accept-queue fill per listener.
    pub listener_fill: HashMap<ListenerKey, f64>,
    /// Listener drops per second (absent for the first sample).
    pub listener_drop_rate: HashMap<ListenerKey, f64>,
    /// Each listener's drop counter (rates over a longer window need the totals).
    pub listener_drops: HashMap<ListenerKey, u64>,
    /// Rates of [`OVERFLOW_COUNTERS`], in that order.
    pub overflow_rates: Vec<Option<f64>>,
    /// Totals of [`OVERFLOW_COUNTERS`], in that order (rates over a longer window need them).
    pub overflow_totals: Vec<Option<i64>>,
    /// The rate of every counter that moved, by [`super::counters::counter_key`], sorted by key
    /// (a counter absent here stood still); `None` for the first sample, which has no rates.
    /// Only the few counters that move take room, however many the kernel has.
    pub counter_rates: Option<Vec<(u64, f64)>>,
    /// TCP state counts.
    pub states: Option<TcpStateCounts>,
    /// Received-packet drops per second, by interface index.
    pub interface_rx_drop_rate: HashMap<u32, f64>,
    /// Softnet drops per second, by CPU.
    pub softnet_drop_rate: HashMap<u32, f64>,
    /// CLOSE_WAIT sockets per owning process id.
    pub close_wait_by_pid: HashMap<u32, u64>,
    /// Accept waits per listener the listen-event source saw.
    pub listener_waits: HashMap<ListenerKey, WaitPoint>,
}

/// One listener's accept waits at one sample: the totals (windows need them) and the interval's
/// figures.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitPoint {
    /// The wait histogram since the source started.
    pub total: WaitHistogram,
    /// The longest wait of the interval before this sample, nanoseconds.
    pub interval_max_ns: u64,
    /// The interval's 99th percentile, nanoseconds; `None` without an interval or accepts.
    pub p99_ns: Option<u64>,
}

impl Point {
    /// Extracts the point of a model of the sample taken at `boottime_ns`.
    pub fn of(view: &Model, boottime_ns: u64) -> Point {
        Point {
            boottime_ns,
            listener_fill: view.listeners.iter().map(|l| (l.key, l.fill)).collect(),
            listener_drop_rate: view.listeners.iter().filter_map(|l| Some((l.key, l.drops_per_second?))).collect(),
            listener_drops: view.listeners.iter().filter_map(|l| Some((l.key, l.drops?))).collect(),
            overflow_rates: view.overflow.iter().map(|counter| counter.rate).collect(),
            overflow_totals: view.overflow.iter().map(|counter| counter.total).collect(),
            counter_rates: view.interval.map(|_| moving_rates(view)),
            states: view.tcp_states,
            interface_rx_drop_rate: view
                .interfaces
                .iter()
                .filter_map(|i| Some((i.interface.index, i.rates?.rx_dropped?)))
                .collect(),
            softnet_drop_rate: view.softnet.iter().filter_map(|cpu| Some((cpu.cpu, cpu.dropped_rate?))).collect(),
            close_wait_by_pid: view.close_wait.groups.iter().map(|group| (group.process.pid, group.sockets)).collect(),
            listener_waits: view
                .listen_events
                .listeners
                .iter()
                .map(|(key, activity)| {
                    let p99_ns = activity.interval.as_ref().and_then(|i| i.accept_wait).map(|w| w.p99_ns);
                    let total = activity.totals.accept_wait.clone();
                    (*key, WaitPoint { total, interval_max_ns: activity.totals.interval_max_wait_ns, p99_ns })
                })
                .collect(),
        }
    }
}

/// The rates of the counters that moved, sorted by key.
fn moving_rates(view: &Model) -> Vec<(u64, f64)> {
    let mut rates: Vec<(u64, f64)> =
        view.counter_rows.iter().filter_map(|row| Some((row.key(), row.rate.filter(|rate| *rate > 0.0)?))).collect();
    rates.sort_unstable_by_key(|(key, _)| *key);
    rates
}

/// The last `capacity` points, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    points: VecDeque<Point>,
    close_wait_first_seen: HashMap<u64, u64>,
    /// The sockets (by cookie) last seen listening on each TCP port.
    listeners_by_port: HashMap<u16, Vec<u64>>,
    /// Ports a listener came back on after its socket was gone: asked for again, so fixed.
    restarted_ports: std::collections::HashSet<u16>,
}

impl Default for History {
    fn default() -> Self {
        History::new(DEFAULT_CAPACITY)
    }
}

impl History {
    /// An empty history keeping at most `capacity` points (at least one).
    pub fn new(capacity: usize) -> History {
        History {
            capacity: capacity.max(1),
            points: VecDeque::new(),
            close_wait_first_seen: HashMap::new(),
            listeners_by_port: HashMap::new(),
            restarted_ports: std::collections::HashSet::new(),
        }
    }

    /// Records the model of a new sample (taken at `boottime_ns`), dropping the oldest point
    /// when full.
    pub fn push(&mut self, view: &Model, boottime_ns: u64) {
        let now = boottime_ns;
        let split = &view.close_wait;
        let owned = split.groups.iter().flat_map(|group| group.cookies.iter());
        let unowned = split.unowned_by_uid.iter().flat_map(|group| group.cookies.iter());
        let present: std::collections::HashSet<u64> = owned.chain(unowned).copied().collect();
        self.close_wait_first_seen.retain(|cookie, _| present.contains(cookie));
        for cookie in present {
            self.close_wait_first_seen.entry(cookie).or_insert(now);
        }
        self.remember_listeners(view);
        self.push_point(Point::of(view, boottime_ns));
    }

    fn remember_listeners(&mut self, view: &Model) {
        let mut now: HashMap<u16, Vec<u64>> = HashMap::new();
        for listener in view.listeners.iter().filter(|listener| listener.protocol == super::Protocol::Tcp) {
            if let Some(port) = listener.endpoint.port() {
                now.entry(port).or_default().push(listener.key.cookie);
            }
        }
        for (port, sockets) in now {
            let before = self.listeners_by_port.insert(port, sockets.clone());
            // A socket of this port is gone and the port is listened on again: a new socket,
            // not one more member of an SO_REUSEPORT group beside the old ones.
            if before.is_some_and(|before| before.iter().any(|cookie| !sockets.contains(cookie))) {
                self.restarted_ports.insert(port);
            }
        }
    }

    /// Whether TCP port `port` was listened on again on a new socket after its earlier one was
    /// gone (a restart, a reload): the service asks for that port, so it is fixed.
    pub fn restarted_on(&self, port: u16) -> bool {
        self.restarted_ports.contains(&port)
    }

    /// Seconds since the oldest of these CLOSE_WAIT sockets was first seen (by cookie), as of
    /// the newest point; `None` when none of them was seen before.
    pub fn close_wait_age(&self, cookies: &[u64]) -> Option<f64> {
        let newest = self.points.back()?.boottime_ns;
        let first = cookies.iter().filter_map(|cookie| self.close_wait_first_seen.get(cookie)).min()?;
        Some(newest.saturating_sub(*first) as f64 / 1e9)
    }

    /// Records a point directly (tests, replays).
    pub fn push_point(&mut self, point: Point) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(point);
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether no point is held.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl DoubleEndedIterator<Item = &Point> + ExactSizeIterator {
        self.points.iter()
    }

    /// Seconds covered from the oldest to the newest point.
    pub fn span_seconds(&self) -> f64 {
        match (self.points.front(), self.points.back()) {
            (Some(first), Some(last)) => last.boottime_ns.saturating_sub(first.boottime_ns) as f64 / 1e9,
            _ => 0.0,
        }
    }

    /// The earlier point whose distance from the newest comes closest to `seconds` (the older
    /// one of a tie), and the newest: the ends of a window over which a counter's increase
    /// gives its rate. `None` with fewer than two points.
    pub fn window(&self, seconds: f64) -> Option<(&Point, &Point)> {
        let newest = self.points.back()?;
        let distance = |point: &Point| {
            let age = newest.boottime_ns.saturating_sub(point.boottime_ns) as f64 / 1e9;
            (age - seconds).abs()
        };
        let earlier = self.points.iter().rev().skip(1).filter(|point| point.boottime_ns < newest.boottime_ns);
        let start = earlier.fold(None::<&Point>, |best, point| match best {
            Some(best) if distance(best) < distance(point) => Some(best),
            _ => Some(point),
        })?;
        Some((start, newest))
    }

    /// A listener's fill over time, oldest first; `None` where the socket did not exist.
    pub fn listener_fill(&self, key: ListenerKey) -> Vec<Option<f64>> {
        self.points.iter().map(|point| point.listener_fill.get(&key).copied()).collect()
    }

    /// A listener's drops per second over time, oldest first.
    pub fn listener_drop_rate(&self, key: ListenerKey) -> Vec<Option<f64>> {
        self.points.iter().map(|point| point.listener_drop_rate.get(&key).copied()).collect()
    }

    /// A listener's accept-wait p99 per interval over time, nanoseconds, oldest first.
    pub fn listener_wait_p99(&self, key: ListenerKey) -> Vec<Option<u64>> {
        self.points.iter().map(|point| point.listener_waits.get(&key).and_then(|waits| waits.p99_ns)).collect()
    }

    /// One overflow counter's rate over time; empty for a counter not in [`OVERFLOW_COUNTERS`].
    pub fn overflow_rate(&self, counter: CounterId) -> Vec<Option<f64>> {
        let Some(index) = OVERFLOW_COUNTERS.iter().position(|id| *id == counter) else {
            return Vec::new();
        };
        self.points.iter().map(|point| point.overflow_rates.get(index).copied().flatten()).collect()
    }

    /// Any counter's rate over time, by [`super::counters::counter_key`]: 0 where it stood
    /// still, `None` before rates existed.
    pub fn counter_rate(&self, key: u64) -> Vec<Option<f64>> {
        let rate_at = |rates: &Vec<(u64, f64)>| {
            rates.binary_search_by_key(&key, |(key, _)| *key).map_or(0.0, |index| rates[index].1)
        };
        self.points.iter().map(|point| point.counter_rates.as_ref().map(rate_at)).collect()
    }

    /// One TCP state's count over time.
    pub fn state(&self, state: TcpState) -> Vec<Option<u64>> {
        self.points.iter().map(|point| point.states.map(|counts| counts.get(state))).collect()
    }

    /// The smallest and largest count of one TCP state over the history.
    pub fn state_range(&self, state: TcpState) -> Option<(u64, u64)> {
        let counts = self.points.iter().filter_map(|point| point.states.map(|counts| counts.get(state)));
        counts.fold(None, |range, count| match range {
            None => Some((count, count)),
            Some((low, high)) => Some((low.min(count), high.max(count))),
        })
    }

    /// An interface's received-packet drops per second over time.
    pub fn interface_rx_drop_rate(&self, index: u32) -> Vec<Option<f64>> {
        self.points.iter().map(|point| point.interface_rx_drop_rate.get(&index).copied()).collect()
    }

    /// A CPU's softnet drops per second over time.
    pub fn softnet_drop_rate(&self, cpu: u32) -> Vec<Option<f64>> {
        self.points.iter().map(|point| point.softnet_drop_rate.get(&cpu).copied()).collect()
    }

    /// A process's CLOSE_WAIT count over time.
    pub fn close_wait(&self, pid: u32) -> Vec<Option<u64>> {
        self.points.iter().map(|point| point.close_wait_by_pid.get(&pid).copied()).collect()
    }

    /// The newest `n` values of a series that are all present, or `None` if fewer exist.
    pub fn last_n<T: Copy>(series: &[Option<T>], n: usize) -> Option<Vec<T>> {
        if n == 0 || series.len() < n {
            return None;
        }
        series[series.len() - n..].iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cookie: u64) -> ListenerKey {
        ListenerKey { netns: 1, cookie }
    }

    fn point(at: u64, fill: f64) -> Point {
        Point {
            boottime_ns: at * 1_000_000_000,
            listener_fill: HashMap::from([(key(7), fill)]),
            listener_drop_rate: HashMap::new(),
            listener_drops: HashMap::new(),
            overflow_rates: vec![None; OVERFLOW_COUNTERS.len()],
            overflow_totals: vec![Some(at as i64 * 10); OVERFLOW_COUNTERS.len()],
            counter_rates: (at > 0).then(|| vec![(3, at as f64), (9, 1.0)]),
            states: None,
            interface_rx_drop_rate: HashMap::new(),
            softnet_drop_rate: HashMap::new(),
            close_wait_by_pid: HashMap::new(),
            listener_waits: HashMap::new(),
        }
    }

    #[test]
    fn the_oldest_point_falls_off() {
        let mut history = History::new(3);
        for second in 0..5 {
            history.push_point(point(second, second as f64 / 10.0));
        }
        assert_eq!(history.len(), 3);
        assert_eq!(history.listener_fill(key(7)), vec![Some(0.2), Some(0.3), Some(0.4)]);
        assert_eq!(history.listener_fill(key(8)), vec![None, None, None]);
        assert_eq!(history.span_seconds(), 2.0);
    }

    #[test]
    fn the_window_ends_at_the_point_closest_to_its_length() {
        let mut history = History::new(100);
        assert!(history.window(10.0).is_none());
        history.push_point(point(100, 0.0));
        assert!(history.window(10.0).is_none(), "one point is no window");
        for second in [103, 106, 109, 112] {
            history.push_point(point(second, 0.0));
        }
        let ages = |history: &History, seconds| {
            history.window(seconds).map(|(start, end)| (end.boottime_ns - start.boottime_ns) / 1_000_000_000)
        };
        assert_eq!(ages(&history, 10.0), Some(9), "9 s is closer to 10 s than 12 s");
        assert_eq!(ages(&history, 10.5), Some(12), "a tie takes the longer window");
        assert_eq!(ages(&history, 60.0), Some(12), "a short history gives what it has");
        assert_eq!(ages(&history, 1.0), Some(3), "never shorter than one interval");
    }

    #[test]
    fn any_counter_has_a_history_and_still_ones_cost_nothing() {
        let mut history = History::new(4);
        for second in 0..3 {
            history.push_point(point(second, 0.0));
        }
        assert_eq!(history.counter_rate(3), vec![None, Some(1.0), Some(2.0)]);
        assert_eq!(history.counter_rate(9), vec![None, Some(1.0), Some(1.0)]);
        assert_eq!(history.counter_rate(5), vec![None, Some(0.0), Some(0.0)], "a counter that stood still");
    }

    #[test]
    fn last_n_needs_every_value() {
        assert_eq!(History::last_n(&[Some(1), Some(2), Some(3)], 2), Some(vec![2, 3]));
        assert_eq!(History::last_n(&[Some(1), None, Some(3)], 2), None);
        assert_eq!(History::last_n(&[Some(1)], 2), None);
        assert_eq!(History::last_n::<u8>(&[], 0), None);
    }
}
