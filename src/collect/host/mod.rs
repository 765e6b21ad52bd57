//! Host-wide services: what exists once per process and is shared by every inspected namespace
//! — the owner index over `/proc/<pid>/fd`, the kernel log, the host namespace (for comparison
//! and for host-wide settings), the names under `/run/netns`, and the host's identity.
//!
//! Each service keeps its state (caches, an open `/dev/kmsg`, a thread in the host namespace)
//! behind a lock, so one [`HostServices`] can serve collectors on several threads.

pub mod containers;
pub mod discovery;
pub mod identity;
pub mod kmsg;
pub mod namespaces;
pub mod processes;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::ProcPaths;
use super::ns::record_time;
use crate::sample::{HostNamespace, Sample, Source};
use crate::settings::HOST_WIDE_SETTINGS;
use kmsg::KernelLog;
use namespaces::HostNamespaceReader;
use processes::ProcessIndex;

/// The host-wide services of one sockscope process.
pub struct HostServices {
    places: discovery::Places,
    sys_cpu: PathBuf,
    kmsg: PathBuf,
    run_netns: PathBuf,
    processes: Mutex<ProcessIndex>,
    kernel_log: Mutex<KernelLog>,
    host_namespace: HostNamespaceReader,
}

impl HostServices {
    /// The services of the system whose files are under `paths`.
    pub fn new(paths: &ProcPaths) -> HostServices {
        HostServices {
            places: discovery::Places {
                proc: paths.proc.clone(),
                run_netns: paths.run_netns.clone(),
                mountinfo: paths.proc.join("self/mountinfo"),
            },
            sys_cpu: paths.sys_cpu.clone(),
            kmsg: paths.kmsg.clone(),
            run_netns: paths.run_netns.clone(),
            processes: Mutex::new(ProcessIndex::new(&paths.proc)),
            kernel_log: Mutex::new(KernelLog::new(paths.kmsg.clone())),
            host_namespace: HostNamespaceReader::locate(&paths.proc),
        }
    }

    /// Host name, kernel, uptime, CPUs and load.
    pub fn identify_host(&self, sample: &mut Sample) {
        let started = Instant::now();
        match identity::read_host(&self.sys_cpu) {
            Ok(host) => sample.host = Some(host),
            Err(reason) => sample.mark_unavailable(Source::Host, reason),
        }
        record_time(sample, Source::Host, started);
    }

    /// Names the sample's namespace (from `/run/netns`) and compares it with the host's; inside
    /// a child namespace, fills in the host-wide settings that `/proc/sys` does not show there.
    pub fn place_namespace(&self, sample: &mut Sample) {
        let Some(netns) = sample.netns.as_mut() else {
            sample.host_netns = Some(HostNamespace::Unknown { reason: "the namespace could not be identified".into() });
            return;
        };
        netns.name = namespaces::name_of(netns.inode, &self.run_netns);
        let relation = self.host_namespace.compare(netns.inode);
        if let (HostNamespace::Other { sysctls: host, .. }, Some(own)) = (&relation, sample.sysctls.as_mut()) {
            for name in HOST_WIDE_SETTINGS {
                if let (false, Some(value)) = (own.contains_key(name), host.get(name)) {
                    own.insert(name.to_string(), value.clone());
                }
            }
        }
        sample.host_netns = Some(relation);
    }

    /// The kernel log lines seen so far that report a networking limit.
    pub fn read_kernel_log(&self, sample: &mut Sample) {
        let started = Instant::now();
        let read = match self.kernel_log.lock() {
            Ok(mut log) => log.read().map_err(|error| format!("{}: {error}", self.kmsg.display())),
            Err(_) => Err("the kernel log reader failed earlier".to_string()),
        };
        match read {
            Ok(events) => sample.kernel_events = Some(events),
            Err(reason) => sample.mark_unavailable(Source::KernelLog, reason),
        }
        record_time(sample, Source::KernelLog, started);
    }

    /// The owners of the sockets the sample names (see [`processes::wanted_inodes`]).
    pub fn attribute(&self, sample: &mut Sample) {
        self.attribute_together(std::slice::from_mut(sample));
    }

    /// The owners of the sockets of several samples, from one walk of `/proc` for all of them
    /// (socket inodes are unique across namespaces, so one walk serves every namespace).
    pub fn attribute_together(&self, samples: &mut [Sample]) {
        let started = Instant::now();
        let wanted: Vec<Vec<u64>> = samples.iter().map(processes::wanted_inodes).collect();
        let mut all: Vec<u64> = wanted.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let attributed = match self.processes.lock() {
            Ok(mut index) => index.attribute(&all).map_err(|error| error.to_string()),
            Err(_) => Err("the process index failed earlier".to_string()),
        };
        for (sample, wanted) in samples.iter_mut().zip(&wanted) {
            match &attributed {
                Ok(table) => sample.processes = Some(table.restricted_to(wanted)),
                Err(reason) => sample.mark_unavailable(Source::Processes, reason),
            }
            record_time(sample, Source::Processes, started);
        }
    }

    /// Every network namespace in use on the host (see [`discovery`]).
    pub fn discover_namespaces(&self) -> Vec<discovery::Found> {
        discovery::discover(&self.places)
    }

    /// Fills in who lives in the sample's namespace (pids, commands, container); for samples of
    /// another namespace than sockscope's own.
    pub fn describe_namespace(&self, sample: &mut Sample) {
        let Some(netns) = sample.netns.as_mut() else { return };
        if let Some(found) = discovery::describe(&self.places, netns.inode) {
            let name = netns.name.take();
            *netns = found.netns;
            netns.name = name.or(netns.name.take());
        }
    }

    /// The host's namespace, or why it could not be found.
    pub fn host_namespace(&self) -> Result<&namespaces::HostNamespaceLink, &str> {
        self.host_namespace.host()
    }
}
