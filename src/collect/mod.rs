//! Collection: read the kernel, and nothing else, into a [`Sample`].
//!
//! Two kinds of sources. The per-namespace ones ([`ns`]: sockets over sock_diag, interfaces over
//! rtnetlink, counters under `/proc/thread-self/net`, settings under `/proc/sys/net`) observe the
//! network namespace of the **calling thread**. The host-wide services ([`host`]: socket owners
//! from `/proc/<pid>/fd`, the kernel log, the host namespace, the host's identity) exist once per
//! process and are shared by every [`Collector`]. Each source can fail on its own; the sample then
//! records it as unavailable with the reason, and the other sources are unaffected.
//!
//! Every mode reads samples through a [`SampleSource`]: [`Live`] for one [`Target`],
//! [`AllNamespaces`] for every namespace in use side by side; recordings plug in beside them.

pub mod all;
pub mod budget;
pub mod host;
pub mod ns;
pub mod target;
pub mod worker;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::sample::{CollectPlan, FlowSummary, Netns, Sample, Source, TcpSummary, WalkStamp};
pub use all::AllNamespaces;
use budget::Scheduler;
pub use host::HostServices;
use ns::Namespace;
pub use target::{Target, TargetError};
use worker::Worker;

/// Where the kernel's files are. Live runs use [`ProcPaths::live`]; tests point the file
/// readers at a fixture tree with [`ProcPaths::under`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcPaths {
    /// The process directory (`/proc`).
    pub proc: PathBuf,
    /// The per-namespace network files (`/proc/thread-self/net`).
    pub net: PathBuf,
    /// The settings tree (`/proc/sys`).
    pub sys: PathBuf,
    /// The CPU directory of sysfs (`/sys/devices/system/cpu`).
    pub sys_cpu: PathBuf,
    /// The calling thread's network-namespace link (`/proc/thread-self/ns/net`).
    pub netns_link: PathBuf,
    /// Where `ip netns add` keeps named namespaces (`/run/netns`).
    pub run_netns: PathBuf,
    /// The kernel log device (`/dev/kmsg`).
    pub kmsg: PathBuf,
    /// The service-name database (`/etc/services`), for telling a fixed service port from one
    /// the kernel picked.
    pub services: PathBuf,
}

impl ProcPaths {
    /// The live system, as seen by the calling thread (`/proc/thread-self`, Linux 3.17+, with
    /// a fallback on `/proc/self`).
    pub fn live() -> ProcPaths {
        let own = if Path::new("/proc/thread-self/net").exists() { "/proc/thread-self" } else { "/proc/self" };
        ProcPaths {
            proc: PathBuf::from("/proc"),
            net: PathBuf::from(own).join("net"),
            sys: PathBuf::from("/proc/sys"),
            sys_cpu: PathBuf::from("/sys/devices/system/cpu"),
            netns_link: PathBuf::from(own).join("ns/net"),
            run_netns: PathBuf::from("/run/netns"),
            kmsg: PathBuf::from("/dev/kmsg"),
            services: PathBuf::from("/etc/services"),
        }
    }

    /// A fixture tree laid out like the root file system (`<root>/proc/net/netstat`, ...).
    pub fn under(root: &Path) -> ProcPaths {
        ProcPaths {
            proc: root.join("proc"),
            net: root.join("proc/net"),
            sys: root.join("proc/sys"),
            sys_cpu: root.join("sys/devices/system/cpu"),
            netns_link: root.join("proc/self/ns/net"),
            run_netns: root.join("run/netns"),
            kmsg: root.join("dev/kmsg"),
            services: root.join("etc/services"),
        }
    }
}

/// What a source yields at each tick: one observation per namespace it watches (one for a
/// single target; every namespace in use under `--all-netns`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Round {
    /// When the round was taken (a namespace found gone is dated by it).
    pub taken_at: jiff::Timestamp,
    /// The namespaces, the initial namespace first when it is among them.
    pub observed: Vec<Observed>,
}

impl Round {
    /// A round of these observations, dated by its first sample (now when it has none).
    pub fn new(observed: Vec<Observed>) -> Round {
        let first = observed.iter().find_map(|observed| match observed {
            Observed::Sample(sample) => Some(sample.taken_at),
            _ => None,
        });
        Round { taken_at: first.unwrap_or_else(jiff::Timestamp::now), observed }
    }
}

/// What became of one watched namespace at a tick.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// It was sampled.
    Sample(Box<Sample>),
    /// It was watched until now and is gone (its last process exited, its name was deleted).
    Gone {
        /// The namespace as last seen.
        netns: Netns,
        /// What happened, on one line.
        reason: String,
    },
    /// It is in use but cannot be entered (no privileges): listed, never silently dropped.
    Unavailable {
        /// The namespace as discovery found it.
        netns: Netns,
        /// Why, on one line.
        reason: String,
    },
}

impl Observed {
    /// The namespace this is about.
    pub fn netns(&self) -> Option<&Netns> {
        match self {
            Observed::Sample(sample) => sample.netns.as_ref(),
            Observed::Gone { netns, .. } | Observed::Unavailable { netns, .. } => Some(netns),
        }
    }
}

/// Where samples come from. Every mode reads its samples through this one seam, so the
/// dashboard, the report and `check` do not know whether a sample was just taken or read back,
/// or how many namespaces it covers.
pub trait SampleSource {
    /// The next round of samples; `None` when the source has no more (a recording that ended).
    fn next_round(&mut self) -> Option<Round>;

    /// Changes what later samples collect (the dashboard asks for every socket while a view
    /// needs them). Sources that cannot change what they hold ignore it.
    fn set_plan(&mut self, plan: CollectPlan);

    /// The plan later samples are taken with.
    fn plan(&self) -> CollectPlan;
}

/// Live samples of one [`Target`]: on the calling thread for the current namespace, on a
/// thread that joined it for any other.
pub struct Live {
    plan: CollectPlan,
    reader: Reader,
}

/// How a [`Live`] source reads its namespace.
enum Reader {
    /// On the calling thread.
    Here(Collector),
    /// On a thread in the target namespace, until the namespace goes away.
    There { target: Target, inode: u64, worker: Option<Worker>, services: Arc<HostServices>, last: Netns },
}

impl Live {
    /// A live source of `target`, collecting with `plan` and sharing `services`. Fails when the
    /// target is not a network namespace or cannot be entered.
    pub fn open(target: Target, plan: CollectPlan, services: Arc<HostServices>) -> Result<Live, TargetError> {
        let reader = match target.check()? {
            None => Reader::Here(Collector::with_services(ProcPaths::live(), services, plan)),
            Some(inode) => {
                let path = target.path().unwrap_or_default();
                let worker = Worker::start(&path, services.clone())?;
                Reader::There { target, inode, worker: Some(worker), services, last: Netns::with_inode(inode) }
            }
        };
        Ok(Live { plan, reader })
    }
}

impl SampleSource for Live {
    fn next_round(&mut self) -> Option<Round> {
        let observed = match &mut self.reader {
            Reader::Here(collector) => {
                collector.set_plan(self.plan);
                Observed::Sample(Box::new(collector.collect()))
            }
            Reader::There { target, inode, worker, services, last } => {
                let sample = match vanished(target, *inode) {
                    None => worker.as_ref().and_then(|worker| worker.sample(self.plan)),
                    Some(_) => None,
                };
                match sample {
                    Some(mut sample) => {
                        services.describe_namespace(&mut sample);
                        *last = sample.netns.clone().unwrap_or_else(|| last.clone());
                        Observed::Sample(Box::new(sample))
                    }
                    None => {
                        // Let the thread go, and the namespace with it.
                        *worker = None;
                        let reason = vanished(target, *inode).unwrap_or_else(|| "its thread ended".to_string());
                        Observed::Gone { netns: last.clone(), reason }
                    }
                }
            }
        };
        Some(Round::new(vec![observed]))
    }

    fn set_plan(&mut self, plan: CollectPlan) {
        self.plan = plan;
    }

    fn plan(&self) -> CollectPlan {
        self.plan
    }
}

/// Why the namespace a target named at the start (`inode`) is no longer what it names; `None`
/// while it still is.
fn vanished(target: &Target, inode: u64) -> Option<String> {
    match target.check() {
        Ok(Some(now)) if now == inode => None,
        Ok(_) => Some(format!("{} is now another namespace than net:[{inode}]", target.describe())),
        Err(_) => Some(match target {
            Target::Pid(pid) => format!("pid {pid} exited"),
            Target::Netns { path, .. } => format!("{} was deleted", path.display()),
            Target::Current => "the namespace went away".to_string(),
        }),
    }
}

/// Takes samples of the namespace of the calling thread: the per-namespace sources, plus the
/// host-wide services it shares with every other collector of the process.
pub struct Collector {
    namespace: Namespace,
    services: Arc<HostServices>,
    plan: CollectPlan,
    scheduler: Scheduler,
    last_walk: Option<Box<LastWalk>>,
}

/// What the last socket walk read, carried into the samples that do not walk.
#[derive(Debug, Clone)]
struct LastWalk {
    stamp: WalkStamp,
    summary: Option<TcpSummary>,
    flows: Option<FlowSummary>,
}

impl LastWalk {
    fn of(sample: &Sample) -> LastWalk {
        LastWalk {
            stamp: WalkStamp { boottime_ns: sample.boottime_ns, taken_at: sample.taken_at },
            summary: sample.tcp_summary.clone(),
            flows: sample.flows.clone(),
        }
    }

    /// Puts the walk's numbers into a sample that did not walk, dated by the walk.
    fn carry_into(&self, sample: &mut Sample) {
        sample.tcp_summary = self.summary.clone();
        sample.flows = self.flows.clone();
        sample.walked = Some(self.stamp);
    }
}

impl Collector {
    /// A collector of the live system as seen by the calling thread, with services of its own.
    pub fn new(plan: CollectPlan) -> Collector {
        let paths = ProcPaths::live();
        let services = Arc::new(HostServices::new(&paths));
        Collector::with_services(paths, services, plan)
    }

    /// A collector whose file readers use `paths`, with services of its own; netlink always
    /// asks the running kernel.
    pub fn with_paths(paths: ProcPaths, plan: CollectPlan) -> Collector {
        let services = Arc::new(HostServices::new(&paths));
        Collector::with_services(paths, services, plan)
    }

    /// A collector sharing host-wide `services` with others.
    pub fn with_services(paths: ProcPaths, services: Arc<HostServices>, plan: CollectPlan) -> Collector {
        Collector {
            namespace: Namespace::new(paths),
            services,
            plan,
            scheduler: Scheduler::new(plan.budget),
            last_walk: None,
        }
    }

    /// The plan samples are taken with.
    pub fn plan(&self) -> CollectPlan {
        self.plan
    }

    /// Changes the plan for the next samples.
    pub fn set_plan(&mut self, plan: CollectPlan) {
        self.plan = plan;
    }

    /// Takes one sample. Never fails as a whole: every failing source is recorded in
    /// [`Sample::unavailable`].
    pub fn collect(&mut self) -> Sample {
        let mut sample = self.collect_namespace();
        if self.plan.processes {
            self.services.attribute(&mut sample);
        } else {
            sample.skipped.push(Source::Processes);
        }
        sample
    }

    /// Takes one sample without the socket owners, which the caller attributes (for several
    /// namespaces at once, with one walk of `/proc`).
    ///
    /// Under a budget ([`CollectPlan::budget`]) the socket walk runs only when the
    /// [`Scheduler`] says so; a sample that does not walk carries the last walk's numbers with
    /// their date ([`Sample::walked`]).
    pub fn collect_namespace(&mut self) -> Sample {
        let services = Arc::clone(&self.services);
        // The kernel log does not depend on the namespace: it is read meanwhile (a first read
        // formats the kernel's whole ring, one record per read).
        std::thread::scope(|scope| {
            let kernel_log = scope.spawn(|| services.kernel_log_reading());
            let mut sample = self.collect_the_rest();
            match kernel_log.join() {
                Ok(reading) => reading.into_sample(&mut sample),
                Err(_) => sample.mark_unavailable(Source::KernelLog, "the kernel log reader failed"),
            }
            sample
        })
    }

    /// Everything of a sample but the kernel log.
    fn collect_the_rest(&mut self) -> Sample {
        let cpu_started = ns::thread_cpu_seconds();
        let mut sample = Sample::new(self.plan, jiff::Timestamp::now(), boottime_ns());
        self.services.identify_host(&mut sample);
        self.namespace.identify(&mut sample);
        self.namespace.read_sysctls(&mut sample);
        self.services.place_namespace(&mut sample);
        let now = sample.boottime_ns as f64 / 1e9;
        self.scheduler.set_budget(self.plan.budget);
        let walk =
            self.plan.states && (self.plan.connections || self.scheduler.walk_due(now) || self.last_walk.is_none());
        // The counters first: the walk sizes its split by sockstat's socket count.
        self.namespace.read_counters(&mut sample);
        let cost = self.namespace.read_sockets(&mut sample, self.plan, walk);
        self.namespace.read_interfaces(&mut sample);
        self.services.read_listen_events(&mut sample);
        self.services.name_service_ports(&mut sample);
        self.pace(&mut sample, walk, cost, ns::thread_cpu_seconds() - cpu_started);
        sample
    }

    /// Records what this sample cost, keeps or carries the walk, and notes the pacing.
    fn pace(&mut self, sample: &mut Sample, walked: bool, cost: Option<ns::WalkCost>, thread_cpu: f64) {
        if !self.plan.states {
            sample.skipped.extend([Source::TcpStates, Source::Flows]);
            return;
        }
        let walk_here = cost.map_or(0.0, |cost| cost.here);
        let now = sample.boottime_ns as f64 / 1e9;
        self.scheduler.record(now, (thread_cpu - walk_here).max(0.0), cost.map(ns::WalkCost::total));
        if walked {
            self.last_walk = Some(Box::new(LastWalk::of(sample)));
        } else if let Some(last) = &self.last_walk {
            last.carry_into(sample);
            if !self.plan.flows {
                sample.skipped.push(Source::Flows);
            }
        }
        if self.plan.budget.is_some() {
            sample.diagnostics.pacing = Some(self.scheduler.pacing());
        }
    }

    /// Takes a sample of the file-based sources only (settings and counters), as read under
    /// this collector's [`ProcPaths`]. Used on fixture trees; sources without a file there are
    /// recorded as unavailable.
    pub fn collect_files(&mut self) -> Sample {
        let mut sample = Sample::new(self.plan, jiff::Timestamp::now(), boottime_ns());
        self.namespace.read_sysctls(&mut sample);
        self.namespace.read_counters(&mut sample);
        sample
    }
}

/// `CLOCK_BOOTTIME` in nanoseconds.
pub fn boottime_ns() -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    u64::try_from(now.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0))
}
