//! Collection: read the kernel, and nothing else, into a [`Sample`].
//!
//! Two kinds of sources. The per-namespace ones ([`ns`]: sockets over sock_diag, interfaces over
//! rtnetlink, counters under `/proc/thread-self/net`, settings under `/proc/sys/net`) observe the
//! network namespace of the **calling thread**. The host-wide services ([`host`]: socket owners
//! from `/proc/<pid>/fd`, the kernel log, the host namespace, the host's identity) exist once per
//! process and are shared by every [`Collector`]. Each source can fail on its own; the sample then
//! records it as unavailable with the reason, and the other sources are unaffected.
//!
//! Every mode reads samples through a [`SampleSource`]: [`Live`] for one [`Target`] today;
//! recordings and all namespaces at once plug in beside it.

pub mod host;
pub mod ns;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::sample::{CollectPlan, Sample, Source};
pub use host::HostServices;
use ns::Namespace;

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
        }
    }
}

/// Where samples come from. Every mode reads its samples through this one seam, so the
/// dashboard, the report and `check` do not know whether a sample was just taken or read back.
pub trait SampleSource {
    /// The next sample; `None` when the source has no more (a recording that ended).
    fn next_sample(&mut self) -> Option<Sample>;

    /// Changes what later samples collect (the dashboard asks for every socket while a view
    /// needs them). Sources that cannot change what they hold ignore it.
    fn set_plan(&mut self, plan: CollectPlan);

    /// The plan later samples are taken with.
    fn plan(&self) -> CollectPlan;
}

/// Whose network namespace a live source reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Target {
    /// The namespace sockscope was started in (its calling thread's).
    #[default]
    Current,
}

/// Live samples of one [`Target`].
pub struct Live {
    collector: Collector,
}

impl Live {
    /// A live source of `target`, collecting with `plan` and sharing `services`.
    pub fn open(target: Target, plan: CollectPlan, services: Arc<HostServices>) -> Live {
        match target {
            Target::Current => Live { collector: Collector::with_services(ProcPaths::live(), services, plan) },
        }
    }
}

impl SampleSource for Live {
    fn next_sample(&mut self) -> Option<Sample> {
        Some(self.collector.collect())
    }

    fn set_plan(&mut self, plan: CollectPlan) {
        self.collector.plan = plan;
    }

    fn plan(&self) -> CollectPlan {
        self.collector.plan
    }
}

/// Takes samples of the namespace of the calling thread: the per-namespace sources, plus the
/// host-wide services it shares with every other collector of the process.
pub struct Collector {
    namespace: Namespace,
    services: Arc<HostServices>,
    plan: CollectPlan,
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
        Collector { namespace: Namespace::new(paths), services, plan }
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
        let mut sample = Sample::new(self.plan, jiff::Timestamp::now(), boottime_ns());
        self.services.identify_host(&mut sample);
        self.namespace.identify(&mut sample);
        self.namespace.read_sysctls(&mut sample);
        self.services.place_namespace(&mut sample);
        self.namespace.read_sockets(&mut sample, self.plan);
        self.namespace.read_interfaces(&mut sample);
        self.namespace.read_counters(&mut sample);
        self.services.read_kernel_log(&mut sample);
        if self.plan.processes {
            self.services.attribute(&mut sample);
        } else {
            sample.skipped.push(Source::Processes);
        }
        sample
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
