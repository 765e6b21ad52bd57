//! The model: every number sockscope shows, derived once from one sample or from two.
//!
//! [`Model::new`] is a pure function of the current sample and, when there is one, the previous
//! sample: with two samples every counter also gets a delta and a per-second rate over the
//! interval between them (measured on `CLOCK_BOOTTIME`). The model owns what it derives — it
//! borrows nothing from the samples — so a frame can carry it to any thread and keep it. Live,
//! replayed and one-shot runs all build it through [`crate::engine::Pipeline`]. Renderers read
//! the model (and the raw facts of the sample); they never compute a domain number themselves.

pub mod counters;
pub mod fields;
pub mod history;
pub mod identity;
pub mod interfaces;
pub mod listen_events;
pub mod listeners;
pub mod meanings;
pub mod owners;
pub mod perfdata;
pub mod ports;
pub mod rates;
pub mod settings;
pub mod sockets;

use crate::sample::{Sample, SynRecvGroup, TCP_STATES, TcpState, TcpStateCounts};
pub use counters::{CounterRow, CounterView, Counters, OVERFLOW_COUNTERS};
use history::History;
pub use identity::{DestinationKey, Endpoint, ListenerKey};
pub use interfaces::{InterfaceRates, InterfaceView, SoftnetView};
pub use listen_events::{EventStatus, ListenEventsView, ListenerActivity, WaitStats};
pub use listeners::{ListenerView, Protocol};
pub use owners::{CgroupView, OwnerView, RunState};
pub use ports::{DestinationDetail, DestinationView, PortUse, PortsView};
pub use settings::{SettingView, format_setting};
pub use sockets::{CloseWaitGroup, CloseWaitSplit, ProcessStates, UdpView, UnownedCloseWait};

/// The window rates are smoothed over, in seconds: `drops/s over 10 s`.
pub const SMOOTHING_SECONDS: f64 = 10.0;

/// The configured levels at which the model calls a number a warning or critical, so every
/// renderer colours it the way the advisor judges it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Accept-queue fill that warns.
    pub fill_warning: f64,
    /// Share of the usable port range toward one destination that warns.
    pub ports_warning: f64,
    /// Share that is critical.
    pub ports_critical: f64,
    /// CLOSE_WAIT sockets in one process that warn.
    pub close_wait_warning: u64,
    /// Share of tcp_max_tw_buckets that warns.
    pub time_wait_warning: f64,
    /// Listen overflows per second that are critical.
    pub overflow_rate_critical: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fill_warning: 0.8,
            ports_warning: 0.7,
            ports_critical: 0.9,
            close_wait_warning: 100,
            time_wait_warning: 0.8,
            overflow_rate_critical: 1.0,
        }
    }
}

/// How alarming a number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Nothing to see.
    Normal,
    /// Close to a limit.
    Warning,
    /// At the limit: connections are being lost.
    Critical,
}

/// Everything derived from one sample (and the previous one, for rates).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Seconds between the previous sample and this one; `None` for a single sample.
    pub interval: Option<f64>,
    /// TCP and UNIX listeners, fullest accept queue first.
    pub listeners: Vec<ListenerView>,
    /// SYN_RECV requests that match no listener (listener closed, or another namespace).
    pub unattributed_syn_recv: Vec<SynRecvGroup>,
    /// TCP socket counts per state.
    pub tcp_states: Option<TcpStateCounts>,
    /// Change of each state's count since the previous walk; `None` when this sample carries an
    /// earlier walk's counts.
    pub state_changes: Option<StateChanges>,
    /// Seconds between this sample and the socket walk its state counts, SYN_RECV groups, ports
    /// and flows come from; `None` when it walked (a budgeted collector walks less often than it
    /// samples).
    pub walk_age: Option<f64>,
    /// Socket states per owning process, when every socket was collected.
    pub process_states: Option<Vec<ProcessStates>>,
    /// Ephemeral-port use.
    pub ports: Option<PortsView>,
    /// Interfaces with their drop and error rates.
    pub interfaces: Vec<InterfaceView>,
    /// The listen-overflow counters, with meaning, total, rate and smoothed rate.
    pub overflow: Vec<CounterView>,
    /// Seconds the smoothed rates cover (about [`SMOOTHING_SECONDS`]; less while the history
    /// is shorter, one interval when samples are further apart); `None` until two samples
    /// exist.
    pub smoothing: Option<f64>,
    /// All counters of netstat, snmp and snmp6, with deltas and rates.
    pub counters: Counters,
    /// The same counters as rows, as `nstat -az` names them, with their meanings.
    pub counter_rows: Vec<CounterRow>,
    /// Per-CPU softnet numbers.
    pub softnet: Vec<SoftnetView>,
    /// UDP sockets with owners and drop rates, fullest receive queue first.
    pub udp: Vec<UdpView>,
    /// CLOSE_WAIT sockets by owning process.
    pub close_wait: CloseWaitSplit,
    /// Every catalogued kernel setting, in catalogue order.
    pub settings: Vec<SettingView>,
    /// The levels numbers were judged by (performance data carries them as warn/crit).
    pub limits: Limits,
    /// What the listen-event source (eBPF) saw at the listeners, or why it did not run.
    pub listen_events: ListenEventsView,
}

impl Model {
    /// Derives the model of `current`, with rates over the interval since `previous`.
    pub fn new(current: &Sample, previous: Option<&Sample>, limits: &Limits) -> Model {
        let interval = previous.and_then(|previous| interval_seconds(previous, current));
        let previous = previous.filter(|_| interval.is_some());
        let (listeners, unattributed_syn_recv) = listeners::listeners(current, previous, interval, limits);
        let counters = Counters::new(current, previous, interval);
        let tcp_states = current.tcp_summary.as_ref().map(|summary| summary.states);
        let before = previous.and_then(|sample| sample.tcp_summary.as_ref()).map(|summary| summary.states);
        Model {
            interval,
            listeners,
            unattributed_syn_recv,
            tcp_states,
            state_changes: tcp_states
                .zip(before)
                .filter(|_| current.walked.is_none())
                .map(|(now, before)| StateChanges::between(&before, &now)),
            walk_age: current.walked.map(|walk| current.boottime_ns.saturating_sub(walk.boottime_ns) as f64 / 1e9),
            process_states: sockets::per_process(current),
            ports: ports::ports(current, limits),
            interfaces: interfaces::interfaces(current, previous, interval),
            overflow: counters::overflow(&counters),
            smoothing: None,
            counter_rows: counters::rows(&counters),
            counters,
            softnet: interfaces::softnet(current, previous, interval),
            udp: sockets::udp(current, previous, interval),
            close_wait: sockets::close_wait(current),
            settings: settings::settings(current),
            limits: *limits,
            listen_events: listen_events::listen_events(current, previous, interval),
        }
    }

    /// Smooths the overflow counters' and each listener's drop rates over the history's last
    /// [`SMOOTHING_SECONDS`]: each counter's increase between the ends of the window over the
    /// seconds between them, so a counter that moves in bursts shows a steady rate next to its
    /// per-interval one. Accept-wait percentiles get the same window
    /// ([`listen_events::smooth`]).
    pub fn smooth(&mut self, history: &History) {
        let Some((start, end)) = history.window(SMOOTHING_SECONDS) else { return };
        let seconds = end.boottime_ns.saturating_sub(start.boottime_ns) as f64 / 1e9;
        if seconds <= 0.0 {
            return;
        }
        self.smoothing = Some(seconds);
        for (index, counter) in self.overflow.iter_mut().enumerate() {
            let total = |point: &history::Point| point.overflow_totals.get(index).copied().flatten();
            counter.smoothed = rates::rate(total(start), total(end), Some(seconds));
        }
        for listener in &mut self.listeners {
            let total = |point: &history::Point| point.listener_drops.get(&listener.key).map(|drops| *drops as i64);
            listener.drops_smoothed = rates::rate(total(start), total(end), Some(seconds));
        }
        listen_events::smooth(&mut self.listen_events, history.points(), start, end);
    }

    /// An overflow counter's view.
    pub fn overflow_counter(&self, id: crate::sample::CounterId) -> Option<&CounterView> {
        self.overflow.iter().find(|counter| counter.id == id)
    }

    /// The fullest listener's fill (0 without listeners; listeners are fullest first): the
    /// figure monitoring graphs.
    pub fn max_fill(&self) -> f64 {
        self.listeners.first().map_or(0.0, |listener| listener.fill)
    }
}

/// Seconds between two samples on the boot clock; `None` unless strictly positive.
pub fn interval_seconds(previous: &Sample, current: &Sample) -> Option<f64> {
    let nanos = current.boottime_ns.checked_sub(previous.boottime_ns)?;
    (nanos > 0).then(|| nanos as f64 / 1e9)
}

/// How each TCP state's count changed between two samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChanges([i64; 11]);

impl StateChanges {
    /// `now - before` for every state, kept within `i64` (only a corrupt recording holds counts
    /// whose change does not fit).
    pub fn between(before: &TcpStateCounts, now: &TcpStateCounts) -> StateChanges {
        let mut changes = [0i64; 11];
        for (slot, state) in changes.iter_mut().zip(TCP_STATES) {
            let change = i128::from(now.get(state)) - i128::from(before.get(state));
            *slot = i64::try_from(change).unwrap_or(if change < 0 { i64::MIN } else { i64::MAX });
        }
        StateChanges(changes)
    }

    /// The change of one state's count.
    pub fn get(&self, state: TcpState) -> i64 {
        TCP_STATES.iter().position(|s| *s == state).map_or(0, |index| self.0[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_are_signed_per_state() {
        let mut before = TcpStateCounts::default();
        let mut now = TcpStateCounts::default();
        for _ in 0..3 {
            before.add(TcpState::TimeWait);
        }
        now.add(TcpState::TimeWait);
        now.add(TcpState::Established);
        let changes = StateChanges::between(&before, &now);
        assert_eq!(changes.get(TcpState::TimeWait), -2);
        assert_eq!(changes.get(TcpState::Established), 1);
        assert_eq!(changes.get(TcpState::Listen), 0);
    }

    #[test]
    fn state_changes_of_huge_counts_saturate() {
        let before = TcpStateCounts { time_wait: u64::MAX, ..TcpStateCounts::default() };
        let now = TcpStateCounts { established: u64::MAX, ..TcpStateCounts::default() };
        let changes = StateChanges::between(&before, &now);
        assert_eq!(changes.get(TcpState::TimeWait), i64::MIN);
        assert_eq!(changes.get(TcpState::Established), i64::MAX);
    }

    #[test]
    fn a_model_owns_what_it_derives() {
        let sample = Sample::default();
        let model = Model::new(&sample, None, &Limits::default());
        drop(sample);
        assert_eq!(model.interval, None);
        assert_eq!(model.max_fill(), 0.0);
        assert_eq!(model.settings.len(), crate::settings::SETTINGS.len());
    }
}
