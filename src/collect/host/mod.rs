//! Host-wide services: what exists once per process and is shared by every inspected namespace
//! — the owner index over `/proc/<pid>/fd`, the kernel log, the host namespace (for comparison
//! and for host-wide settings), the names under `/run/netns`, the host's identity, and the
//! listen-event source (eBPF) of the modes that observe over time.
//!
//! Each service keeps its state (caches, an open `/dev/kmsg`, a thread in the host namespace)
//! behind a lock, so one [`HostServices`] can serve collectors on several threads.

pub mod containers;
pub mod discovery;
pub mod identity;
pub mod kmsg;
pub mod listen_events;
pub mod namespaces;
pub mod process_status;
pub mod processes;
pub mod services;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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
    processes: Arc<Mutex<ProcessIndex>>,
    attribution: Attribution,
    walking: Arc<AtomicBool>,
    kernel_log: Mutex<KernelLog>,
    host_namespace: HostNamespaceReader,
    services: services::Services,
    listen_events: listen_events::Service,
}

/// When socket owners are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// Before the sample is handed on: every socket's owner is known (one-shot modes).
    Inline,
    /// On a thread of its own, while samples are answered from what is known; sockets still
    /// being looked for are listed as resolving (the dashboard, `record`, `serve`, where a walk
    /// of `/proc` on a host with thousands of processes must not delay a sample).
    Background,
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
            processes: Arc::new(Mutex::new(ProcessIndex::new(&paths.proc))),
            attribution: Attribution::Inline,
            walking: Arc::new(AtomicBool::new(false)),
            kernel_log: Mutex::new(KernelLog::new(paths.kmsg.clone())),
            host_namespace: HostNamespaceReader::locate(&paths.proc),
            services: services::Services::read(&paths.services),
            listen_events: listen_events::Service::default(),
        }
    }

    /// These services, with the listen-event source starting now in the background (the modes
    /// that observe over time; a one-shot report never loads it).
    pub fn observing_listen_events(mut self) -> HostServices {
        self.listen_events = listen_events::Service::wanted();
        self
    }

    /// What the listen-event source saw in the sample's namespace, when this process runs it;
    /// the reason when it cannot run.
    pub fn read_listen_events(&self, sample: &mut Sample) {
        let started = Instant::now();
        self.listen_events.read_into(sample);
        if sample.listen_events.is_some() || sample.unavailable_reason(&Source::ListenEvents).is_some() {
            record_time(sample, Source::ListenEvents, started);
        }
    }

    /// The listen-event source once it has started (waiting for it while it starts; `None`
    /// when these services do not observe listen events), or why it cannot run.
    pub fn listen_event_source(&self) -> Option<Result<Arc<listen_events::ListenEventSource>, String>> {
        self.listen_events.source()
    }

    /// These services, looking for socket owners as `attribution` says.
    pub fn attributing(mut self, attribution: Attribution) -> HostServices {
        self.attribution = attribution;
        self
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

    /// Names, from `/etc/services`, the TCP listening ports that lie inside the local port
    /// range: evidence that such a port is a service's fixed one, not one the kernel picked.
    pub fn name_service_ports(&self, sample: &mut Sample) {
        let Some(range) = sample.sysctl("net.ipv4.ip_local_port_range").and_then(|v| v.port_range()) else {
            return;
        };
        let inside =
            sample.tcp_listeners.iter().flatten().map(|l| l.local_port).filter(|p| (range.0..=range.1).contains(p));
        let named: std::collections::BTreeMap<u16, String> =
            inside.filter_map(|port| Some((port, self.services.tcp(port)?.to_string()))).collect();
        sample.service_ports = named;
    }

    /// The kernel log lines seen so far that report a networking limit.
    pub fn read_kernel_log(&self, sample: &mut Sample) {
        let reading = self.kernel_log_reading();
        reading.into_sample(sample);
    }

    /// Reads the kernel log without a sample, so that it can run on a thread of its own while
    /// the sample is taken (the first read formats the kernel's whole ring, a record per read).
    pub fn kernel_log_reading(&self) -> KernelLogReading {
        let started = Instant::now();
        let read = match self.kernel_log.lock() {
            Ok(mut log) => log.read().map_err(|error| format!("{}: {error}", self.kmsg.display())),
            Err(_) => Err("the kernel log reader failed earlier".to_string()),
        };
        KernelLogReading { read, micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX) }
    }

    /// The owners of the sockets the sample names (see [`processes::wanted_sockets`]).
    pub fn attribute(&self, sample: &mut Sample) {
        self.attribute_together(std::slice::from_mut(sample));
    }

    /// The owners of the sockets of several samples, from one walk of `/proc` for all of them
    /// (socket inodes are unique across namespaces, so one walk serves every namespace).
    pub fn attribute_together(&self, samples: &mut [Sample]) {
        let started = Instant::now();
        let wanted: Vec<Vec<processes::Wanted>> = samples.iter().map(processes::wanted_sockets).collect();
        let mut all: Vec<processes::Wanted> = wanted.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup_by_key(|socket| socket.inode);
        let attributed = self.owners_of(&all);
        for (sample, wanted) in samples.iter_mut().zip(&wanted) {
            let inodes: Vec<u64> = wanted.iter().map(|socket| socket.inode).collect();
            match &attributed {
                Ok(table) => sample.processes = Some(table.restricted_to(&inodes)),
                Err(reason) => sample.mark_unavailable(Source::Processes, reason),
            }
            record_time(sample, Source::Processes, started);
        }
    }

    /// The owners of `wanted`: after a walk when inline; from the cache, with a walk started in
    /// the background when one is due and none runs, otherwise.
    fn owners_of(&self, wanted: &[processes::Wanted]) -> Result<crate::sample::ProcessTable, String> {
        let mut index = self.processes.lock().map_err(|_| "the process index failed earlier".to_string())?;
        if self.attribution == Attribution::Inline {
            return index.attribute(wanted).map_err(|error| error.to_string());
        }
        let (table, walk) = index.answer(wanted);
        if let Some(walk) = walk
            && !self.walking.swap(true, Ordering::AcqRel)
        {
            let (processes, walking) = (self.processes.clone(), self.walking.clone());
            let spawned = std::thread::Builder::new().name("sockscope-owners".to_string()).spawn(move || {
                if let Ok(found) = walk.run()
                    && let Ok(mut index) = processes.lock()
                {
                    index.merge(found);
                }
                walking.store(false, Ordering::Release);
            });
            if spawned.is_err() {
                self.walking.store(false, Ordering::Release);
            }
        }
        Ok(table)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::{Collector, ProcPaths};
    use crate::sample::CollectPlan;

    #[test]
    fn in_the_background_a_sample_is_answered_at_once_and_the_owner_follows() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let services = Arc::new(HostServices::new(&ProcPaths::live()).attributing(Attribution::Background));
        let mut collector = Collector::with_services(ProcPaths::live(), services, CollectPlan::default());
        let owner_of = |sample: &Sample| {
            let listener = sample.tcp_listeners.iter().flatten().find(|l| l.local_port == port).expect("our listener");
            let table = sample.processes.as_ref().expect("owners looked for");
            (table.owners.get(&listener.inode).map(|owners| owners[0].pid), table.resolving.contains(&listener.inode))
        };
        let first = collector.collect();
        assert_eq!(owner_of(&first), (None, true), "the first sample does not wait for the walk");
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        let found = loop {
            let sample = collector.collect();
            match owner_of(&sample) {
                (Some(pid), false) => break Some(pid),
                _ if Instant::now() > deadline => break None,
                _ => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        };
        assert_eq!(found, Some(std::process::id()), "the background walk found the owner");
    }
}

/// One read of the kernel log, to be put into a sample.
#[derive(Debug)]
pub struct KernelLogReading {
    read: Result<Vec<crate::sample::KernelEvent>, String>,
    micros: u64,
}

impl KernelLogReading {
    /// Puts the events (or why there are none) and the time it took into `sample`.
    pub fn into_sample(self, sample: &mut Sample) {
        match self.read {
            Ok(events) => sample.kernel_events = Some(events),
            Err(reason) => sample.mark_unavailable(Source::KernelLog, reason),
        }
        sample.diagnostics.source_micros.insert(Source::KernelLog.name().into_owned(), self.micros);
    }
}
