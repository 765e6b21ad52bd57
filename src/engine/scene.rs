//! Every namespace on view: one [`Pipeline`] per namespace turns each [`Round`] of a source
//! into a [`Scene`] — each namespace's newest frame, or its last one once it went away — and
//! [`Summary`] condenses a namespace's frame into the row of the side-by-side table.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Frame, Pipeline};
use crate::advise::{Rules, Severity};
use crate::collect::{Observed, Round};
use crate::model::history::History;
use crate::model::ports::PortUse;
use crate::model::{Level, ListenerView};
use crate::sample::Netns;
use crate::sample::counters::LISTEN_DROPS;

/// How many namespaces that went away stay on view (with their last numbers) before the
/// oldest is forgotten.
pub const GONE_KEPT: usize = 32;

/// One namespace on view.
#[derive(Debug, Clone)]
pub struct View {
    /// Its identity and who lives in it.
    pub netns: Netns,
    /// Its newest frame; once it is gone, the last one. `None` when it was never read.
    pub frame: Option<Arc<Frame>>,
    /// Whether it is being read.
    pub state: ViewState,
}

/// Whether a namespace on view is being read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewState {
    /// Read at the last round.
    Live,
    /// Went away; its last frame stays on view.
    Gone {
        /// What happened.
        reason: String,
        /// When it was noticed.
        at: jiff::Timestamp,
    },
    /// In use but cannot be entered.
    Unavailable {
        /// Why.
        reason: String,
    },
}

/// Every namespace on view after a round.
#[derive(Debug, Clone, Default)]
pub struct Scene {
    /// The namespaces, in the order they were first seen (the source lists the initial one
    /// first).
    pub views: Vec<View>,
    /// Counts rounds from 1; caches of derived rows key on it.
    pub generation: u64,
}

impl Scene {
    /// The namespace with this inode.
    pub fn view(&self, inode: u64) -> Option<&View> {
        self.views.iter().find(|view| view.netns.inode == inode)
    }

    /// The namespaces that have a frame, with it.
    pub fn frames(&self) -> impl Iterator<Item = (&View, &Arc<Frame>)> {
        self.views.iter().filter_map(|view| Some((view, view.frame.as_ref()?)))
    }

    /// The first namespace's frame: the only one of a single-namespace source.
    pub fn first_frame(&self) -> Option<&Arc<Frame>> {
        self.frames().next().map(|(_, frame)| frame)
    }
}

/// One [`Pipeline`] per namespace, and the scene they make.
#[derive(Debug, Clone)]
pub struct Pipelines {
    rules: Rules,
    pipelines: BTreeMap<u64, Pipeline>,
    views: Vec<View>,
    generation: u64,
}

impl Pipelines {
    /// Pipelines judging with `rules`, with nothing on view.
    pub fn new(rules: Rules) -> Pipelines {
        Pipelines { rules, pipelines: BTreeMap::new(), views: Vec::new(), generation: 0 }
    }

    /// Takes a round through the pipeline of each namespace in it.
    pub fn push(&mut self, round: Round) -> Arc<Scene> {
        for observed in round.observed {
            self.observe(observed, round.taken_at);
        }
        self.forget_old_gone();
        self.generation += 1;
        Arc::new(Scene { views: self.views.clone(), generation: self.generation })
    }

    /// The history of the namespace with this inode.
    pub fn history(&self, inode: u64) -> Option<&History> {
        self.pipelines.get(&inode).map(Pipeline::history)
    }

    /// Every namespace's history, by inode (what a frozen screen keeps).
    pub fn histories(&self) -> BTreeMap<u64, History> {
        self.pipelines.iter().map(|(inode, pipeline)| (*inode, pipeline.history().clone())).collect()
    }

    fn observe(&mut self, observed: Observed, at: jiff::Timestamp) {
        let (netns, frame, state) = match observed {
            Observed::Sample(sample) => {
                let netns = sample.netns.clone().unwrap_or_default();
                let rules = &self.rules;
                let pipeline = self.pipelines.entry(netns.inode).or_insert_with(|| Pipeline::new(rules.clone()));
                (netns, Some(pipeline.push(*sample)), ViewState::Live)
            }
            Observed::Gone { netns, reason } => (netns, None, ViewState::Gone { reason, at }),
            Observed::Unavailable { netns, reason } => (netns, None, ViewState::Unavailable { reason }),
        };
        match self.views.iter_mut().find(|view| view.netns.inode == netns.inode) {
            // A source reports a gone namespace at every round; it went at the first.
            Some(view) if matches!(view.state, ViewState::Gone { .. }) && matches!(state, ViewState::Gone { .. }) => {}
            Some(view) => {
                if frame.is_some() || view.state == ViewState::Live {
                    view.netns = netns;
                }
                view.frame = frame.or(view.frame.take());
                view.state = state;
            }
            None => self.views.push(View { netns, frame, state }),
        }
    }

    fn forget_old_gone(&mut self) {
        let gone = |view: &View| matches!(view.state, ViewState::Gone { .. });
        while self.views.iter().filter(|view| gone(view)).count() > GONE_KEPT {
            let Some(oldest) = self.views.iter().position(gone) else { break };
            let view = self.views.remove(oldest);
            self.pipelines.remove(&view.netns.inode);
        }
    }
}

/// A namespace at a glance: the row of the side-by-side table of every namespace.
#[derive(Debug, Clone, Copy)]
pub struct Summary<'a> {
    /// TCP and UNIX listeners.
    pub listeners: usize,
    /// The fullest listener (the model orders them fullest first).
    pub fullest: Option<&'a ListenerView>,
    /// Packets dropped by listeners per second (TcpExt ListenDrops, overflows included);
    /// `None` without an interval.
    pub drops_per_second: Option<f64>,
    /// `net.core.somaxconn` of the namespace.
    pub somaxconn: Option<i64>,
    /// Ephemeral-port use toward the fullest destination.
    pub ports: Option<&'a PortUse>,
    /// Findings by severity: critical, warning, info.
    pub findings: [usize; 3],
    /// The worst level among the listeners and port use, for colouring the row.
    pub level: Level,
}

impl Summary<'_> {
    /// The summary of one namespace's frame.
    pub fn of(frame: &Frame) -> Summary<'_> {
        let model = &frame.model;
        let fullest = model.listeners.first();
        let ports = model.ports.as_ref().map(|ports| &ports.headline);
        let level = fullest.map(|l| l.level).into_iter().chain(ports.map(|p| p.level)).max().unwrap_or(Level::Normal);
        Summary {
            listeners: model.listeners.len(),
            fullest,
            drops_per_second: model.counters.rate(LISTEN_DROPS),
            somaxconn: frame.sample.sysctl("net.core.somaxconn").and_then(|value| value.as_integer()),
            ports,
            findings: [Severity::Critical, Severity::Warning, Severity::Info].map(|s| frame.findings.count(s)),
            level,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Sample;

    fn sample(inode: u64, boottime_ns: u64) -> Observed {
        Observed::Sample(Box::new(Sample { netns: Some(Netns::with_inode(inode)), boottime_ns, ..Sample::default() }))
    }

    #[test]
    fn each_namespace_has_its_own_pipeline_and_a_gone_one_keeps_its_last_frame() {
        let mut pipelines = Pipelines::new(Rules::default());
        pipelines.push(Round::new(vec![sample(1, 1_000_000_000), sample(2, 1_000_000_000)]));
        let scene = pipelines.push(Round::new(vec![sample(1, 2_000_000_000), sample(2, 2_000_000_000)]));
        assert_eq!(scene.views.len(), 2);
        assert!(scene.views.iter().all(|view| view.frame.as_ref().is_some_and(|f| f.model.interval == Some(1.0))));
        assert_eq!(pipelines.history(2).map(History::len), Some(2), "a history per namespace");
        let gone = Observed::Gone { netns: Netns::with_inode(2), reason: "its last process exited".into() };
        let scene = pipelines.push(Round::new(vec![sample(1, 3_000_000_000), gone]));
        let view = scene.view(2).expect("still on view");
        assert!(matches!(&view.state, ViewState::Gone { reason, .. } if reason.contains("exited")));
        assert_eq!(view.frame.as_ref().map(|frame| frame.sample.boottime_ns), Some(2_000_000_000), "its last numbers");
        let went = view.state.clone();
        let again = Observed::Gone { netns: Netns::with_inode(2), reason: "its last process exited".into() };
        let scene = pipelines.push(Round::new(vec![again]));
        assert_eq!(scene.view(2).map(|view| &view.state), Some(&went), "it went when it was first seen gone");
        let refused = Observed::Unavailable { netns: Netns::with_inode(3), reason: "EPERM".into() };
        let scene = pipelines.push(Round::new(vec![refused]));
        assert!(scene.view(3).is_some_and(|view| view.frame.is_none()));
    }

    #[test]
    fn only_the_newest_gone_namespaces_stay_on_view() {
        let mut pipelines = Pipelines::new(Rules::default());
        let inodes = 10..(10 + GONE_KEPT as u64 + 5);
        pipelines.push(Round::new(inodes.clone().map(|inode| sample(inode, 1)).collect()));
        let gone = inodes.map(|inode| Observed::Gone { netns: Netns::with_inode(inode), reason: "gone".into() });
        let scene = pipelines.push(Round::new(gone.collect()));
        assert_eq!(scene.views.len(), GONE_KEPT);
        assert!(scene.view(10).is_none() && scene.view(10 + GONE_KEPT as u64 + 4).is_some());
        assert!(pipelines.history(10).is_none(), "its pipeline is forgotten too");
    }
}
