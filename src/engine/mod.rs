//! The engine: where a sample becomes a frame, once, for every mode.
//!
//! A [`Pipeline`] owns what spans samples — the previous sample, the history, the advisor's
//! rules and the findings' [`Lifecycle`] — and turns each new sample into an owned, shareable
//! [`Frame`]: the sample, the one before it, the derived [`Model`] (its rates smoothed over the
//! history), the findings active now (those this sample saw and those held since an earlier
//! one) and their timeline. The dashboard, the report,
//! `check` and the advisor's own test kit all push their samples through it; nothing else
//! strings "sample → model → history → advise" together.
//!
//! A source yields a [`crate::collect::Round`] — one observation per namespace it watches — and [`Pipelines`] (in [`scene`])
//! keeps one [`Pipeline`] (and so one history) per namespace, turning each round into a
//! [`Scene`]: every namespace on view with its newest frame, or its last one once it is gone.

pub mod scene;

use std::sync::Arc;

use crate::advise::lifecycle::{Lifecycle, Moment, Timeline};
use crate::advise::{self, Outcome, Rules};
use crate::model::history::History;
use crate::model::{Model, interval_seconds};
use crate::sample::Sample;
pub use scene::{Pipelines, Scene, View, ViewState};

/// One sample with everything derived from it.
#[derive(Debug)]
pub struct Frame {
    /// The sample.
    pub sample: Arc<Sample>,
    /// The sample before it (rates need two); `None` for the first.
    pub previous: Option<Arc<Sample>>,
    /// Every number derived from the two.
    pub model: Model,
    /// The active findings — seen in this sample, or held since an earlier one — most severe
    /// first, and the checks that could not judge this sample.
    pub findings: Outcome,
    /// Every finding's life: first and last seen, samples, recently cleared ones, the log.
    pub timeline: Timeline,
    /// Counts frames from 1; caches of derived rows key on it.
    pub generation: u64,
}

/// Turns samples into frames, keeping the previous sample and the history between them.
#[derive(Debug, Clone)]
pub struct Pipeline {
    rules: Rules,
    previous: Option<Arc<Sample>>,
    history: History,
    lifecycle: Lifecycle,
    generation: u64,
}

impl Pipeline {
    /// A pipeline judging with `rules`, with an empty history.
    pub fn new(rules: Rules) -> Pipeline {
        let lifecycle = Lifecycle::new(rules.hold.clone());
        Pipeline { rules, previous: None, history: History::default(), lifecycle, generation: 0 }
    }

    /// Derives the frame of a new sample: its model (with rates since the previous sample and
    /// over the smoothing window), the history extended by it, the advisor's findings over
    /// both, and their lives.
    pub fn push(&mut self, sample: Sample) -> Arc<Frame> {
        let sample = Arc::new(sample);
        // A sample that does not move the boot clock forward (a replayed duplicate) cannot give
        // rates against the previous one; it starts afresh.
        let previous = self.previous.take().filter(|previous| interval_seconds(previous, &sample).is_some());
        let mut model = Model::new(&sample, previous.as_deref(), &self.rules.thresholds.limits());
        self.history.push(&model, sample.boottime_ns);
        model.smooth(&self.history);
        let context = advise::Context { model: &model, sample: &sample, history: &self.history, rules: &self.rules };
        let judged = advise::run(&context);
        let (findings, timeline) = self.lifecycle.observe(judged, Moment::of(&sample), model.interval.is_none());
        self.generation += 1;
        self.previous = Some(sample.clone());
        Arc::new(Frame { sample, previous, model, findings, timeline, generation: self.generation })
    }

    /// The history of every sample pushed so far (bounded).
    pub fn history(&self) -> &History {
        &self.history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_samples_give_a_frame_with_an_interval_and_a_history_of_two() {
        let mut pipeline = Pipeline::new(Rules::default());
        let first = pipeline.push(Sample { boottime_ns: 1_000_000_000, ..Sample::default() });
        assert_eq!((first.model.interval, first.generation, first.previous.is_none()), (None, 1, true));
        let second = pipeline.push(Sample { boottime_ns: 3_000_000_000, ..Sample::default() });
        assert_eq!((second.model.interval, second.generation), (Some(2.0), 2));
        assert!(second.previous.as_ref().is_some_and(|previous| Arc::ptr_eq(previous, &first.sample)));
        assert_eq!(pipeline.history().len(), 2);
    }

    /// What was seen during a steady nginx outage: its accept queue stayed full while the drop
    /// counters moved only every other second (SYN retries come in bursts), and one sample saw
    /// 1803 TIME_WAIT overflows. Judged one sample at a time, the header flapped; through the
    /// pipeline's lifecycle the findings stay active through the gaps and clear only after the
    /// hold (3 quiet samples and 30 s), and drops/s over 10 s stays at 84/s.
    #[test]
    fn bursty_drops_and_a_one_sample_overflow_stay_active_until_the_hold_is_over() {
        use crate::advise::Severity;
        use crate::advise::lifecycle::{Hold, State};
        use crate::advise::testkit::{add_listener, listener, sample, set_counter};
        use crate::sample::counters::LISTEN_OVERFLOWS;
        // Seconds 100 to 160: bursts of 168 overflows at every odd second up to 119, then none.
        let samples: Vec<Sample> = (100..=160u64)
            .map(|second| {
                let bursts = (second.min(120) - 100).div_ceil(2) as i64;
                let mut sample = sample(second);
                let mut nginx = listener("0.0.0.0", 80, 7, 17, 16);
                nginx.drops = Some(bursts as u32 * 168);
                add_listener(&mut sample, nginx, Some((27439, "nginx")));
                set_counter(&mut sample, "TcpExt", "ListenOverflows", bursts * 168);
                set_counter(&mut sample, "TcpExt", "ListenDrops", bursts * 168);
                set_counter(&mut sample, "Tcp", "PassiveOpens", second as i64 * 50);
                set_counter(&mut sample, "TcpExt", "TCPTimeWaitOverflow", if second >= 105 { 1803 } else { 0 });
                sample
            })
            .collect();
        let counts = |frame: &Frame| [Severity::Critical, Severity::Warning].map(|s| frame.findings.count(s));
        let ids = |frame: &Frame| frame.findings.findings.iter().map(|f| f.id).collect::<Vec<_>>();

        let mut raw = Pipeline::new(Rules { hold: Hold::none(), ..Rules::default() });
        let raw: Vec<[usize; 2]> = samples.iter().map(|s| counts(&raw.push(s.clone()))).collect();
        assert!(raw[1..20].windows(2).any(|pair| pair[0] != pair[1]), "sample by sample, the counts flap: {raw:?}");

        let mut pipeline = Pipeline::new(Rules::default());
        let frames: Vec<Arc<Frame>> = samples.into_iter().map(|s| pipeline.push(s)).collect();
        let steady = counts(&frames[5]);
        for frame in &frames[5..35] {
            let second = frame.sample.boottime_ns / 1_000_000_000;
            assert_eq!(counts(frame), steady, "at {second} s: {:?}", ids(frame));
            assert!(ids(frame).contains(&"time-wait-buckets"), "at {second} s the overflow of 105 s is held");
            assert!(ids(frame).contains(&"listener-drops") && ids(frame).contains(&"listen-overflow-rate"));
        }
        let held = frames[7].timeline.life_of(&frames[7].findings.findings[0]).map(|life| life.state());
        assert!(held.is_some());
        let time_wait = |frame: &Frame| frame.findings.findings.iter().find(|f| f.id == "time-wait-buckets").cloned();
        let life = frames[20].timeline.life_of(&time_wait(&frames[20]).expect("held")).expect("a life").clone();
        assert_eq!((life.state(), life.samples, life.worst), (State::Held, 1, Severity::Critical));
        assert_eq!(life.describe(&frames[20].timeline.now), "held: last seen 15s ago");
        assert!(time_wait(&frames[34]).is_some() && time_wait(&frames[35]).is_none(), "cleared at 105 + 30 s");
        let cleared = &frames[35].timeline.cleared;
        assert!(cleared.iter().any(|life| life.finding.id == "time-wait-buckets" && life.state() == State::Cleared));
        // The last burst was at 119 s: the drop findings clear at 149 s, not before.
        assert!(ids(&frames[48]).contains(&"listener-drops"), "{:?}", ids(&frames[48]));
        assert!(!ids(&frames[49]).contains(&"listener-drops"), "{:?}", ids(&frames[49]));
        assert!(ids(&frames[60]).contains(&"accept-queue-full"), "the queue is still full");
        let changes: Vec<(&str, &str)> =
            frames[60].timeline.log.iter().map(|event| (event.id, event.change.name())).collect();
        assert!(
            changes.contains(&("time-wait-buckets", "raised")) && changes.contains(&("time-wait-buckets", "cleared"))
        );
        assert_eq!(changes.iter().filter(|(id, _)| *id == "listener-drops").count(), 2, "raised once, cleared once");
        // Per interval the overflows read 168/s and 0/s in turn; over 10 s, 84/s throughout.
        for frame in &frames[10..=20] {
            let overflows = frame.model.overflow_counter(LISTEN_OVERFLOWS).expect("counter");
            assert_eq!((overflows.smoothed, frame.model.smoothing), (Some(84.0), Some(10.0)));
            assert!(matches!(overflows.rate, Some(rate) if rate == 0.0 || rate == 168.0));
            let nginx = &frame.model.listeners[0];
            assert_eq!(nginx.drops_smoothed, Some(84.0), "the listener's own drops/s over 10 s, too");
            assert!(matches!(nginx.drops_per_second, Some(rate) if rate == 0.0 || rate == 168.0));
        }
    }

    #[test]
    fn a_sample_that_does_not_advance_the_clock_has_no_previous() {
        let mut pipeline = Pipeline::new(Rules::default());
        pipeline.push(Sample { boottime_ns: 5, ..Sample::default() });
        let again = pipeline.push(Sample { boottime_ns: 5, ..Sample::default() });
        assert!(again.previous.is_none());
        assert_eq!(again.model.interval, None);
    }
}
