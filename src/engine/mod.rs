//! The engine: where a sample becomes a frame, once, for every mode.
//!
//! A [`Pipeline`] owns what spans samples — the previous sample, the history and the advisor's
//! rules — and turns each new sample into an owned, shareable [`Frame`]: the sample, the one
//! before it, the derived [`Model`] and the advisor's findings. The dashboard, the report,
//! `check` and the advisor's own test kit all push their samples through it; nothing else
//! strings "sample → model → history → advise" together.
//!
//! A source yields a [`crate::collect::Round`] — one observation per namespace it watches — and [`Pipelines`] (in [`scene`])
//! keeps one [`Pipeline`] (and so one history) per namespace, turning each round into a
//! [`Scene`]: every namespace on view with its newest frame, or its last one once it is gone.

pub mod scene;

use std::sync::Arc;

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
    /// The advisor's findings and the checks that could not judge.
    pub findings: Outcome,
    /// Counts frames from 1; caches of derived rows key on it.
    pub generation: u64,
}

/// Turns samples into frames, keeping the previous sample and the history between them.
#[derive(Debug, Clone)]
pub struct Pipeline {
    rules: Rules,
    previous: Option<Arc<Sample>>,
    history: History,
    generation: u64,
}

impl Pipeline {
    /// A pipeline judging with `rules`, with an empty history.
    pub fn new(rules: Rules) -> Pipeline {
        Pipeline { rules, previous: None, history: History::default(), generation: 0 }
    }

    /// Derives the frame of a new sample: its model (with rates since the previous sample),
    /// the history extended by it, and the advisor's findings over both.
    pub fn push(&mut self, sample: Sample) -> Arc<Frame> {
        let sample = Arc::new(sample);
        // A sample that does not move the boot clock forward (a replayed duplicate) cannot give
        // rates against the previous one; it starts afresh.
        let previous = self.previous.take().filter(|previous| interval_seconds(previous, &sample).is_some());
        let model = Model::new(&sample, previous.as_deref(), &self.rules.thresholds.limits());
        self.history.push(&model, sample.boottime_ns);
        let context = advise::Context { model: &model, sample: &sample, history: &self.history, rules: &self.rules };
        let findings = advise::run(&context);
        self.generation += 1;
        self.previous = Some(sample.clone());
        Arc::new(Frame { sample, previous, model, findings, generation: self.generation })
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

    #[test]
    fn a_sample_that_does_not_advance_the_clock_has_no_previous() {
        let mut pipeline = Pipeline::new(Rules::default());
        pipeline.push(Sample { boottime_ns: 5, ..Sample::default() });
        let again = pipeline.push(Sample { boottime_ns: 5, ..Sample::default() });
        assert!(again.previous.is_none());
        assert_eq!(again.model.interval, None);
    }
}
