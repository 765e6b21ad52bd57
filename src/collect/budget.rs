//! The collector's cost budget: when to walk every socket.
//!
//! Most sources are cheap whatever the host holds — the LISTEN-only dump walks only the
//! listening hash, and counters, settings and interfaces are a few files and one link dump —
//! and are read every interval. The walk of every socket (state counts, SYN_RECV per listener,
//! ephemeral ports, CLOSE_WAIT, flows) costs the kernel about a microsecond per socket, and a
//! host with 100k connections makes it the whole cost. With a budget, the walk's period is
//! stretched so that the collector's measured CPU time stays within its share of one core:
//!
//! ```text
//! period = walk cost / (budget − cost of the every-interval sources per second)
//! ```
//!
//! clamped to at least one interval and at most [`LONGEST_PERIOD`]. Costs are CPU time (user
//! and kernel) of the threads doing the work, averaged over the last few samples, so a noisy
//! neighbour's load does not make the collector walk less often. The scheduler takes its clock
//! as an argument, so tests drive it with a made-up one.

pub use crate::sample::pacing::{Budget, Pacing};

/// The walk runs at least this often whatever it costs (seconds): numbers older than this would
/// describe another incident.
pub const LONGEST_PERIOD: f64 = 60.0;

/// The default budget of the dashboard: 3 % of one core for collection, leaving room under 5 %
/// for drawing.
pub const DEFAULT_PERMILLE: u16 = 30;

/// Weight of the newest measurement in the running averages of cost.
const SMOOTHING: f64 = 0.3;

/// Decides, sample by sample, whether the socket walk runs; remembers what the walk and the
/// other sources cost.
#[derive(Debug, Clone)]
pub struct Scheduler {
    budget: Option<Budget>,
    last_walk: Option<f64>,
    last_tick: Option<f64>,
    walk_cost: Option<f64>,
    tick_cost: Option<f64>,
    tick_interval: Option<f64>,
}

impl Scheduler {
    /// A scheduler for `budget`; without one, every sample walks.
    pub fn new(budget: Option<Budget>) -> Scheduler {
        Scheduler { budget, last_walk: None, last_tick: None, walk_cost: None, tick_cost: None, tick_interval: None }
    }

    /// Changes the budget for later samples.
    pub fn set_budget(&mut self, budget: Option<Budget>) {
        self.budget = budget;
    }

    /// Whether the sample taken at `now` (seconds on a monotonic clock) walks every socket.
    pub fn walk_due(&self, now: f64) -> bool {
        let (Some(_), Some(last)) = (self.budget, self.last_walk) else { return true };
        // Half an interval of slack: samples are never exactly one interval apart.
        let slack = self.tick_interval.unwrap_or(0.0) / 2.0;
        now - last + slack >= self.period()
    }

    /// Records a sample taken at `now`: the CPU seconds of the every-interval sources and, when
    /// it walked, of the walk.
    pub fn record(&mut self, now: f64, tick_cost: f64, walk_cost: Option<f64>) {
        if let Some(last) = self.last_tick.filter(|last| now > *last) {
            self.tick_interval = Some(average(self.tick_interval, now - last));
        }
        self.last_tick = Some(now);
        self.tick_cost = Some(average(self.tick_cost, tick_cost));
        if let Some(cost) = walk_cost {
            self.walk_cost = Some(average(self.walk_cost, cost));
            self.last_walk = Some(now);
        }
    }

    /// Seconds between walks under the budget: at least one interval, at most
    /// [`LONGEST_PERIOD`]; one interval without a budget or before anything was measured.
    pub fn period(&self) -> f64 {
        let interval = self.tick_interval.unwrap_or(0.0);
        let (Some(budget), Some(walk)) = (self.budget, self.walk_cost) else { return interval };
        let ticks_per_second = if interval > 0.0 { 1.0 / interval } else { 1.0 };
        let left = budget.share() - self.tick_cost.unwrap_or(0.0) * ticks_per_second;
        if left <= 0.0 {
            return LONGEST_PERIOD;
        }
        (walk / left).clamp(interval, LONGEST_PERIOD)
    }

    /// What the collection costs and how it is paced, for the diagnostics line.
    pub fn pacing(&self) -> Pacing {
        Pacing {
            budget: self.budget,
            walk_period_ms: (self.period() * 1000.0).round() as u64,
            walk_cpu_micros: self.walk_cost.map_or(0, |cost| (cost * 1e6).round() as u64),
            tick_cpu_micros: self.tick_cost.map_or(0, |cost| (cost * 1e6).round() as u64),
        }
    }
}

fn average(before: Option<f64>, now: f64) -> f64 {
    match before {
        Some(before) => before + SMOOTHING * (now - before),
        None => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a scheduler at 1 s intervals for `seconds` with a walk costing `walk` and the
    /// rest `tick` CPU seconds; returns the seconds at which it walked and the CPU it spent.
    fn drive(budget: Option<Budget>, seconds: u32, walk: f64, tick: f64) -> (Vec<u32>, f64) {
        let mut scheduler = Scheduler::new(budget);
        let mut walks = Vec::new();
        let mut spent = 0.0;
        for second in 0..seconds {
            let now = 1000.0 + f64::from(second);
            let walked = scheduler.walk_due(now);
            if walked {
                walks.push(second);
            }
            spent += tick + if walked { walk } else { 0.0 };
            scheduler.record(now, tick, walked.then_some(walk));
        }
        (walks, spent)
    }

    #[test]
    fn without_a_budget_every_sample_walks() {
        let (walks, _) = drive(None, 10, 0.5, 0.01);
        assert_eq!(walks, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn a_cheap_walk_runs_every_interval() {
        // 100 sockets: a 0.2 ms walk fits 3 % of a core many times over.
        let (walks, _) = drive(Some(Budget { permille: 30 }), 10, 0.000_2, 0.000_5);
        assert_eq!(walks.len(), 10);
    }

    #[test]
    fn an_expensive_walk_is_stretched_to_stay_within_the_budget() {
        // 100k established sockets: a 150 ms walk and 4 ms of other sources per second, 3 %.
        let budget = Some(Budget { permille: 30 });
        let (walks, spent) = drive(budget, 600, 0.150, 0.004);
        assert_eq!(walks[0], 0, "the first sample walks at once");
        let gaps: Vec<u32> = walks.windows(2).map(|pair| pair[1] - pair[0]).collect();
        // 0.150 / (0.03 - 0.004) = 5.8 s: every 6 s (half an interval of slack rounds it).
        assert!(gaps.iter().all(|gap| *gap == 6), "{gaps:?}");
        assert!(spent / 600.0 <= 0.03, "spent {:.4} of a core", spent / 600.0);
    }

    #[test]
    fn the_walk_runs_at_least_once_a_minute_when_nothing_is_left() {
        // The other sources alone use more than the budget.
        let (walks, _) = drive(Some(Budget { permille: 5 }), 200, 0.1, 0.01);
        let gaps: Vec<u32> = walks.windows(2).map(|pair| pair[1] - pair[0]).collect();
        assert!(gaps.iter().all(|gap| *gap == 60), "{gaps:?}");
    }

    #[test]
    fn costs_follow_the_host_as_it_changes() {
        let mut scheduler = Scheduler::new(Some(Budget { permille: 30 }));
        scheduler.record(0.0, 0.001, Some(0.3));
        scheduler.record(1.0, 0.001, None);
        let busy = scheduler.period();
        for second in 2..40 {
            scheduler.record(f64::from(second), 0.001, Some(0.001));
        }
        assert!(busy > 10.0, "{busy}");
        assert!((scheduler.period() - 1.0).abs() < 1e-9, "{}", scheduler.period());
    }

    #[test]
    fn budgets_parse_as_percentages_or_off() {
        assert_eq!(Budget::parse("3%"), Ok(Some(Budget { permille: 30 })));
        assert_eq!(Budget::parse("0.5"), Ok(Some(Budget { permille: 5 })));
        assert_eq!(Budget::parse("off"), Ok(None));
        assert!(Budget::parse("0%").is_err());
        assert!(Budget::parse("lots").is_err());
        assert_eq!(Budget { permille: 30 }.to_string(), "3%");
        assert_eq!(Budget { permille: 5 }.to_string(), "0.5%");
    }
}
