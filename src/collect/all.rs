//! Every network namespace in use, side by side (`--all-netns`).
//!
//! At each round the namespaces are discovered afresh (so containers that start appear and
//! those that end are reported gone), each is sampled on its own thread in parallel (one
//! thread per namespace, started once and kept), and the sockets of all of them are attributed
//! to processes with one walk of `/proc`. Namespaces that cannot be entered are listed as
//! unavailable with the reason.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::worker::{Request, Worker};
use super::{HostServices, Observed, Round, SampleSource};
use crate::sample::{Budget, CollectPlan, Netns, Sample, Source};

/// The all-namespaces source.
pub struct AllNamespaces {
    services: Arc<HostServices>,
    plan: CollectPlan,
    watched: BTreeMap<u64, Watched>,
    refused: BTreeMap<u64, String>,
}

/// A namespace being sampled: its thread and how it was last described.
struct Watched {
    worker: Worker,
    netns: Netns,
}

impl AllNamespaces {
    /// A source of every namespace in use, collecting with `plan` and sharing `services`.
    pub fn new(plan: CollectPlan, services: Arc<HostServices>) -> AllNamespaces {
        AllNamespaces { services, plan, watched: BTreeMap::new(), refused: BTreeMap::new() }
    }

    /// Starts threads for new namespaces, drops those that went away; what is gone and what
    /// cannot be entered, as observations.
    fn follow(&mut self) -> Vec<Observed> {
        let found = self.services.discover_namespaces();
        let mut observed = Vec::new();
        let present: Vec<u64> = found.iter().map(|found| found.netns.inode).collect();
        let gone: Vec<u64> = self.watched.keys().copied().filter(|inode| !present.contains(inode)).collect();
        for inode in gone {
            if let Some(watched) = self.watched.remove(&inode) {
                let reason = "no process and no mount uses it any more".to_string();
                observed.push(Observed::Gone { netns: watched.netns, reason });
            }
        }
        self.refused.retain(|inode, _| present.contains(inode));
        for entry in found {
            let inode = entry.netns.inode;
            if let Some(watched) = self.watched.get_mut(&inode) {
                watched.netns = entry.netns;
                continue;
            }
            if !self.refused.contains_key(&inode) {
                match Worker::start(&entry.path, self.services.clone()) {
                    Ok(worker) => {
                        self.watched.insert(inode, Watched { worker, netns: entry.netns });
                        continue;
                    }
                    Err(error) => {
                        self.refused.insert(inode, error.to_string());
                    }
                }
            }
            let reason = self.refused.get(&inode).cloned().unwrap_or_default();
            observed.push(Observed::Unavailable { netns: entry.netns, reason });
        }
        observed
    }

    /// A sample of every watched namespace, taken in parallel; owners attributed together.
    fn sample_all(&mut self, gone: &mut Vec<Observed>) -> Vec<Sample> {
        let request = Request { plan: shared_budget(self.plan, self.watched.len()), owners: false };
        let asked: Vec<u64> = self
            .watched
            .iter()
            .filter(|(_, watched)| watched.worker.request(request))
            .map(|(inode, _)| *inode)
            .collect();
        let mut samples: Vec<Sample> = Vec::with_capacity(asked.len());
        for inode in asked {
            let Some(watched) = self.watched.get(&inode) else { continue };
            match watched.worker.receive() {
                Some(mut sample) => {
                    describe(&mut sample, &watched.netns);
                    samples.push(sample);
                }
                None => {
                    if let Some(watched) = self.watched.remove(&inode) {
                        gone.push(Observed::Gone { netns: watched.netns, reason: "its thread ended".to_string() });
                    }
                }
            }
        }
        if self.plan.processes {
            self.services.attribute_together(&mut samples);
        } else {
            samples.iter_mut().for_each(|sample| sample.skipped.push(Source::Processes));
        }
        samples
    }
}

/// Gives a sample the description discovery made of its namespace, keeping the name the
/// sample found.
/// The plan each of `namespaces` collectors gets: an equal part of the budget, so that every
/// namespace together stays within it (each at least 0.1 % of a core).
fn shared_budget(plan: CollectPlan, namespaces: usize) -> CollectPlan {
    let parts = u16::try_from(namespaces.max(1)).unwrap_or(u16::MAX);
    let budget = plan.budget.map(|budget| Budget { permille: (budget.permille / parts).max(1) });
    CollectPlan { budget, ..plan }
}

fn describe(sample: &mut Sample, found: &Netns) {
    let Some(netns) = sample.netns.as_mut() else { return };
    let name = netns.name.take().or_else(|| found.name.clone());
    *netns = Netns { name, ..found.clone() };
}

impl SampleSource for AllNamespaces {
    fn next_round(&mut self) -> Option<Round> {
        let mut elsewhere = self.follow();
        let mut observed: Vec<Observed> =
            self.sample_all(&mut elsewhere).into_iter().map(|sample| Observed::Sample(Box::new(sample))).collect();
        observed.append(&mut elsewhere);
        let host = self.services.host_namespace().ok().map(|host| host.inode);
        // The initial namespace first, then by inode (creation order).
        observed.sort_by_key(|observed| {
            let inode = observed.netns().map_or(u64::MAX, |netns| netns.inode);
            (Some(inode) != host, inode)
        });
        Some(Round::new(observed))
    }

    fn set_plan(&mut self, plan: CollectPlan) {
        self.plan = plan;
    }

    fn plan(&self) -> CollectPlan {
        self.plan
    }
}
