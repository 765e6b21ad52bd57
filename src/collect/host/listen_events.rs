//! The host-wide listen-event source: eBPF programs (bpf/listen_events.bpf.c, compiled once and
//! embedded) that report what the kernel does at every TCP listener of every namespace — SYNs
//! dropped or answered with a cookie at a full queue, final ACKs dropped at a full accept queue,
//! SYN-ACK retransmits, and how long each accepted connection waited in the accept queue.
//!
//! One [`ListenEventSource`] runs per process, started lazily by the modes that observe over
//! time ([`Service`]). A reader thread wakes on the ring buffer and adds each event to per
//! namespace, per listener totals ([`Totals`]); each sample takes its own namespace's totals
//! ([`ListenEventSource::read`]), after draining whatever the ring buffer still holds, so a
//! sample counts every event the kernel sent before it. `sockscope events` subscribes to the
//! events themselves ([`ListenEventSource::subscribe`]).
//!
//! When the programs cannot run (no privileges, no BTF, a kernel without a hook), the source is
//! unavailable with one line saying why; nothing else depends on it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aya::maps::{MapData, PerCpuArray, RingBuf};
use aya::programs::{BtfTracePoint, CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, CgroupSockAddr, FExit};
use aya::{Btf, Ebpf, EbpfLoader, Endianness};

use crate::sample::listen_events::{
    ClientDrops, DropReason, EventKind, EventRoute, LATEST_EVENTS, ListenEvent, ListenEvents, ListenerEvents,
    TOP_CLIENTS,
};
use crate::sample::{Family, Sample, Source};

/// The compiled programs (`bpf/build` makes them from `bpf/listen_events.bpf.c`).
static OBJECT: &[u8] = aya::include_bytes_aligned!("../../../bpf/listen_events.bpf.o");

/// The kernel's BTF, which the programs' CO-RE relocations and `tp_btf` hooks need.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The final-ACK drop reason's name in the kernel's BTF (Linux 6.15+).
const LISTEN_OVERFLOW_REASON: &[u8] = b"\0SKB_DROP_REASON_TCP_LISTEN_OVERFLOW\0";

/// Where a cgroup2 hierarchy may be mounted: a unified layout, then a hybrid one.
const CGROUP2_ROOTS: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

/// The most listeners kept per namespace, and namespaces kept; beyond, events still reach the
/// latest list and subscribers but are not added to totals.
const MAX_LISTENERS: usize = 4096;
const MAX_NAMESPACES: usize = 4096;

/// Clients tracked one by one per listener, for the top list and the exact distinct count.
const TRACKED_CLIENTS: usize = 4096;

/// Bits of the linear-counting bitmap that estimates distinct clients beyond
/// [`TRACKED_CLIENTS`] (8 KiB per listener that dropped a client; good to about 300,000).
const DISTINCT_BITS: usize = 1 << 16;

/// Events queued for one subscriber before further ones are counted as missed.
const SUBSCRIBER_QUEUE: usize = 1 << 16;

/// Whether and how this process runs the source: started at most once, on a thread of its
/// own as soon as it is wanted, so that loading the programs (a fraction of a second, more on a
/// busy host) never delays a sample.
#[derive(Default)]
pub struct Service {
    wanted: bool,
    started: Arc<OnceLock<Result<Arc<ListenEventSource>, String>>>,
}

impl Service {
    /// A service that starts the source now, in the background (the modes that observe over
    /// time).
    pub fn wanted() -> Service {
        let started = Arc::new(OnceLock::new());
        let starting = started.clone();
        let spawned = std::thread::Builder::new().name("sockscope-bpf-load".to_string()).spawn(move || {
            starting.get_or_init(start);
        });
        if let Err(error) = spawned {
            let _ = started.set(Err(format!("cannot start the listen-event loader: {error}")));
        }
        Service { wanted: true, started }
    }

    /// The running source, waiting for it to start if it is starting; `None` when this process
    /// does not watch listen events (a one-shot report).
    pub fn source(&self) -> Option<Result<Arc<ListenEventSource>, String>> {
        self.wanted.then(|| self.started.get_or_init(start).clone())
    }

    /// Puts the sample's namespace's listen events into `sample`, or marks the source
    /// unavailable with the reason; leaves the sample alone when the source is not wanted or
    /// is still starting (a sample never waits for it).
    pub fn read_into(&self, sample: &mut Sample) {
        let Some(started) = self.started.get().filter(|_| self.wanted) else { return };
        let source = match started {
            Ok(source) => source,
            Err(reason) => return sample.mark_unavailable(Source::ListenEvents, reason),
        };
        match sample.netns.as_ref().map(|netns| netns.inode) {
            Some(inode) => sample.listen_events = Some(source.read(inode)),
            None => sample.mark_unavailable(Source::ListenEvents, "the namespace could not be identified"),
        }
    }
}

/// Starts the source, shared by every reader of the process.
fn start() -> Result<Arc<ListenEventSource>, String> {
    ListenEventSource::start().map(Arc::new)
}

/// The loaded programs, their ring buffer and the totals, until dropped.
pub struct ListenEventSource {
    shared: Arc<Shared>,
    route: EventRoute,
    stop: Arc<AtomicBool>,
}

/// What the reader thread and the samplers share.
struct Shared {
    state: Mutex<State>,
    /// Events a subscriber was too slow to take.
    missed: AtomicU64,
}

/// Behind the lock: the ring buffer (drained by whoever holds the lock), the loss counter,
/// the totals and the subscribers. The programs stay attached while `_ebpf` lives.
struct State {
    ring: RingBuf<MapData>,
    lost: PerCpuArray<MapData, u64>,
    totals: Totals,
    subscribers: Vec<SyncSender<StreamedEvent>>,
    _ebpf: Ebpf,
}

/// One event as `sockscope events` prints it: the sample's [`ListenEvent`] with the namespace
/// and the listener it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedEvent {
    /// The listener's network namespace (its inode).
    pub netns: u64,
    /// The listener.
    pub listener: ListenerId,
    /// What happened.
    pub event: ListenEvent,
}

/// How a listener is named: by its socket cookie when the hook could read it, else by its
/// namespace's address and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListenerId {
    /// IPv4 or IPv6.
    pub family: Family,
    /// The bound address (unspecified for a wildcard listener).
    pub address: IpAddr,
    /// The port.
    pub port: u16,
    /// The socket cookie, when known.
    pub cookie: Option<u64>,
}

impl ListenEventSource {
    /// Loads and attaches the programs and starts the reader thread; the reason, on one line,
    /// when it cannot.
    pub fn start() -> Result<ListenEventSource, String> {
        let loaded = load()?;
        let ring = loaded.ring;
        let wake = ring.as_fd().try_clone_to_owned().map_err(|error| format!("the ring buffer: {error}"))?;
        let state = State {
            ring,
            lost: loaded.lost,
            totals: Totals::new(crate::collect::boottime_ns()),
            subscribers: Vec::new(),
            _ebpf: loaded.ebpf,
        };
        let shared = Arc::new(Shared { state: Mutex::new(state), missed: AtomicU64::new(0) });
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_shared, thread_stop) = (shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name("sockscope-listen-events".to_string())
            .spawn(move || read_continuously(&thread_shared, &wake, &thread_stop))
            .map_err(|error| format!("cannot start the listen-event reader: {error}"))?;
        Ok(ListenEventSource { shared, route: loaded.route, stop })
    }

    /// Which hooks feed the source.
    pub fn route(&self) -> &EventRoute {
        &self.route
    }

    /// The totals of namespace `netns` since the source started, with its latest events; the
    /// interval maximum of each listener starts over.
    pub fn read(&self, netns: u64) -> ListenEvents {
        let Ok(mut state) = self.shared.state.lock() else {
            return ListenEvents { route: self.route.clone(), ..ListenEvents::default() };
        };
        state.drain(&self.shared.missed);
        let lost_events = state.lost_count();
        let (listeners, latest) = state.totals.take(netns);
        ListenEvents {
            route: self.route.clone(),
            started_boottime_ns: state.totals.started_boottime_ns,
            listeners,
            latest,
            lost_events,
        }
    }

    /// Events the ring buffer had no room for since the source started.
    pub fn lost_events(&self) -> u64 {
        self.shared.state.lock().map(|state| state.lost_count()).unwrap_or(0)
    }

    /// Events a subscriber was too slow to take.
    pub fn missed_by_subscribers(&self) -> u64 {
        self.shared.missed.load(Ordering::Relaxed)
    }

    /// Every event from now on, as it arrives.
    pub fn subscribe(&self) -> Receiver<StreamedEvent> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(SUBSCRIBER_QUEUE);
        if let Ok(mut state) = self.shared.state.lock() {
            state.subscribers.push(sender);
        }
        receiver
    }
}

impl Drop for ListenEventSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

impl State {
    /// Takes every event the ring buffer holds into the totals and to the subscribers.
    fn drain(&mut self, missed: &AtomicU64) {
        while let Some(item) = self.ring.next() {
            let Some(raw) = RawEvent::decode(&item) else { continue };
            drop(item);
            let streamed = raw.into_streamed();
            self.subscribers.retain(|subscriber| match subscriber.try_send(streamed.clone()) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    missed.fetch_add(1, Ordering::Relaxed);
                    true
                }
                Err(TrySendError::Disconnected(_)) => false,
            });
            self.totals.add(streamed);
        }
    }

    /// The loss counter summed over CPUs.
    fn lost_count(&self) -> u64 {
        self.lost.get(&0, 0).map(|values| values.iter().sum()).unwrap_or(0)
    }
}

/// The reader thread: drains the ring buffer every 50 ms, or sooner when the programs wake it
/// because the buffer fills up (they do not wake it per event: a wakeup per connection would
/// cost a busy listener a context switch each).
fn read_continuously(shared: &Shared, wake: &OwnedFd, stop: &AtomicBool) {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let timeout = Timespec { tv_sec: 0, tv_nsec: 50_000_000 };
    while !stop.load(Ordering::Acquire) {
        let mut fds = [PollFd::new(wake, PollFlags::IN)];
        if rustix::event::poll(&mut fds, Some(&timeout)).is_err() {
            std::thread::sleep(Duration::from_millis(50));
        }
        match shared.state.lock() {
            Ok(mut state) => state.drain(&shared.missed),
            Err(_) => return,
        }
    }
}

/// What [`load`] returns.
struct Loaded {
    ebpf: Ebpf,
    ring: RingBuf<MapData>,
    lost: PerCpuArray<MapData, u64>,
    route: EventRoute,
}

/// What the programs need, as capabilities(7) names it.
const NEEDED: &str = "needs root, or CAP_BPF and CAP_PERFMON, and CAP_NET_ADMIN for the cgroup hooks";

/// Refuses at once, before the kernel's BTF is read, a process whose effective capabilities
/// cannot load the programs (neither CAP_SYS_ADMIN nor CAP_BPF with CAP_PERFMON and CAP_NET_ADMIN).
fn check_privileges() -> Result<(), String> {
    use rustix::thread::CapabilitySet;
    let Ok(sets) = rustix::thread::capabilities(None) else { return Ok(()) };
    let effective = sets.effective;
    let bpf = CapabilitySet::BPF | CapabilitySet::PERFMON | CapabilitySet::NET_ADMIN;
    if effective.contains(CapabilitySet::SYS_ADMIN) || effective.contains(bpf) {
        return Ok(());
    }
    Err(format!("not permitted: it {NEEDED}"))
}

/// Loads the object and attaches its programs: all of them or none.
fn load() -> Result<Loaded, String> {
    check_privileges()?;
    let btf_bytes = std::fs::read(VMLINUX_BTF).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => {
            format!("the kernel has no BTF ({VMLINUX_BTF} is missing; it needs CONFIG_DEBUG_INFO_BTF)")
        }
        _ => format!("cannot read {VMLINUX_BTF}: {error}"),
    })?;
    let btf = Btf::parse(&btf_bytes, Endianness::default()).map_err(|error| format!("{VMLINUX_BTF}: {error}"))?;
    let overflow_reason = btf_bytes.windows(LISTEN_OVERFLOW_REASON.len()).any(|w| w == LISTEN_OVERFLOW_REASON);
    drop(btf_bytes);
    let mut ebpf =
        EbpfLoader::new().btf(Some(&btf)).load(OBJECT).map_err(|error| failure("loading the eBPF object", &error))?;
    let mut attached = Vec::new();

    attach_btf(&mut ebpf, &btf, "on_synack_retransmit", "tcp_retransmit_synack", &mut attached)?;
    if overflow_reason {
        attach_btf(&mut ebpf, &btf, "on_kfree_skb", "kfree_skb", &mut attached)?;
    }
    let cgroup = open_cgroup2_root()?;
    attach_cgroup(&mut ebpf, &cgroup, &mut attached)?;
    let accept_wait = attach_accept(&mut ebpf, &btf, &cgroup, &mut attached)?;

    let ring = ebpf.take_map("events").ok_or("the eBPF object has no ring buffer")?;
    let ring = RingBuf::try_from(ring).map_err(|error| failure("the ring buffer", &error))?;
    let lost = ebpf.take_map("lost").ok_or("the eBPF object has no loss counter")?;
    let lost = PerCpuArray::try_from(lost).map_err(|error| failure("the loss counter", &error))?;
    let route = EventRoute { attached, accept_wait: accept_wait.to_string(), listen_overflow_reason: overflow_reason };
    Ok(Loaded { ebpf, ring, lost, route })
}

/// Loads program `name` as a BTF tracepoint on `hook` and attaches it.
fn attach_btf(ebpf: &mut Ebpf, btf: &Btf, name: &str, hook: &str, attached: &mut Vec<String>) -> Result<(), String> {
    let program: &mut BtfTracePoint = program(ebpf, name)?;
    program.load(hook, btf).map_err(|error| failure(&format!("loading tp_btf:{hook}"), &error))?;
    program.attach().map_err(|error| failure(&format!("attaching tp_btf:{hook}"), &error))?;
    attached.push(format!("tp_btf:{hook}"));
    Ok(())
}

/// The cgroup2 root, which every socket is under, opened for attaching.
fn open_cgroup2_root() -> Result<std::fs::File, String> {
    let root = cgroup2_root().ok_or("no cgroup2 hierarchy is mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified)")?;
    std::fs::File::open(&root).map_err(|error| format!("cannot open {root}: {error}"))
}

/// Attaches the SYN classifier at ingress of the cgroup2 root.
fn attach_cgroup(ebpf: &mut Ebpf, cgroup: &std::fs::File, attached: &mut Vec<String>) -> Result<(), String> {
    let program: &mut CgroupSkb = program(ebpf, "on_syn")?;
    program.load().map_err(|error| failure("loading cgroup_skb:ingress", &error))?;
    // A link, which the kernel always lets several programs share (no BPF_F_ALLOW_MULTI flag
    // is given: bpf_link_create refuses it).
    program
        .attach(cgroup, CgroupSkbAttachType::Ingress, CgroupAttachMode::Single)
        .map_err(|error| failure("attaching cgroup_skb:ingress to the cgroup2 root", &error))?;
    attached.push("cgroup_skb:ingress".to_string());
    Ok(())
}

/// The cgroup2 root: `/sys/fs/cgroup` on a unified layout, `/sys/fs/cgroup/unified` on a hybrid.
fn cgroup2_root() -> Option<String> {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    CGROUP2_ROOTS
        .into_iter()
        .find(|path| {
            rustix::fs::statfs(*path).is_ok_and(|fs| {
                #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
                let kind = i64::from(fs.f_type as i64);
                kind == CGROUP2_SUPER_MAGIC
            })
        })
        .map(str::to_string)
}

/// Attaches the accept-wait programs: fexit on inet_csk_accept where the kernel allows it,
/// else the peer-address reads of accept() (cgroup getpeername4/6); returns which route runs.
fn attach_accept(
    ebpf: &mut Ebpf,
    btf: &Btf,
    cgroup: &std::fs::File,
    attached: &mut Vec<String>,
) -> Result<&'static str, String> {
    // Linux 6.10+'s arguments, then the earlier ones: the verifier refuses the other.
    for name in ["on_accept_fexit", "on_accept_fexit_old"] {
        let fexit: &mut FExit = program(ebpf, name)?;
        if fexit.load("inet_csk_accept", btf).is_ok() && fexit.attach().is_ok() {
            attached.push("fexit:inet_csk_accept".to_string());
            return Ok("fexit");
        }
    }
    for (name, hook) in [("on_getpeername4", "getpeername4"), ("on_getpeername6", "getpeername6")] {
        let program: &mut CgroupSockAddr = program(ebpf, name)?;
        program.load().map_err(|error| failure(&format!("loading cgroup:{hook}"), &error))?;
        program
            .attach(cgroup, CgroupAttachMode::Single)
            .map_err(|error| failure(&format!("attaching cgroup:{hook}"), &error))?;
        attached.push(format!("cgroup:{hook}"));
    }
    Ok("getpeername")
}

/// Program `name` of the object as the type `P`.
fn program<'a, P>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut P, String>
where
    &'a mut P: TryFrom<&'a mut aya::programs::Program>,
{
    let program = ebpf.program_mut(name).ok_or_else(|| format!("the eBPF object has no program {name}"))?;
    program.try_into().map_err(|_| format!("program {name} is not of the expected type"))
}

/// One line for an aya error: the system call's error when there is one (never the verifier's
/// log), with what privileges would have let it pass.
fn failure(what: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return match io.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => format!("{what}: {io} ({NEEDED})"),
                _ => format!("{what}: {io}"),
            };
        }
        cause = current.source();
    }
    let text = error.to_string();
    format!("{what}: {}", text.lines().next().unwrap_or_default())
}

/// The event layout of `struct listen_event` in bpf/listen_events.bpf.c, decoded field by field.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawEvent {
    boottime_ns: u64,
    wait_ns: u64,
    cookie: u64,
    netns: u32,
    kind: u8,
    detail: u8,
    listener_family: u16,
    retransmits: u32,
    accept_queue: u32,
    accept_queue_max: u32,
    syn_queue: u32,
    client_port: u16,
    local_port: u16,
    packet_family: u16,
    client: [u8; 16],
    local: [u8; 16],
    listener: [u8; 16],
}

/// The size of `struct listen_event`.
const RAW_EVENT_SIZE: usize = 104;
const AF_INET6: u16 = 10;

impl RawEvent {
    /// Decodes an event; `None` for a record of another size.
    fn decode(bytes: &[u8]) -> Option<RawEvent> {
        if bytes.len() < RAW_EVENT_SIZE {
            return None;
        }
        let u64_at = |at: usize| u64::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        let u32_at = |at: usize| u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        let u16_at = |at: usize| u16::from_ne_bytes(bytes[at..at + 2].try_into().unwrap_or_default());
        let address = |at: usize| -> [u8; 16] { bytes[at..at + 16].try_into().unwrap_or_default() };
        Some(RawEvent {
            boottime_ns: u64_at(0),
            wait_ns: u64_at(8),
            cookie: u64_at(16),
            netns: u32_at(24),
            kind: bytes[28],
            detail: bytes[29],
            listener_family: u16_at(30),
            retransmits: u32_at(32),
            accept_queue: u32_at(36),
            accept_queue_max: u32_at(40),
            syn_queue: u32_at(44),
            client_port: u16_at(48),
            local_port: u16_at(50),
            packet_family: u16_at(52),
            client: address(56),
            local: address(72),
            listener: address(88),
        })
    }

    /// The event as the rest of sockscope names things; an unknown kind reads as a drop of the
    /// accept queue, which no version of the programs sends.
    fn into_streamed(self) -> StreamedEvent {
        let kind = match (self.kind, self.detail) {
            (1, 1) => EventKind::Drop(DropReason::SynAcceptQueueFull),
            (1, 2) => EventKind::Drop(DropReason::SynQueueFull),
            (1, _) => EventKind::Drop(DropReason::AckAcceptQueueFull),
            (2, _) => EventKind::Syncookie,
            (3, _) => EventKind::SynackRetransmit,
            _ => EventKind::Accepted,
        };
        let cookie = (self.cookie != 0).then_some(self.cookie);
        let listener_v6 = self.listener_family == AF_INET6;
        let listener = ListenerId {
            family: if listener_v6 { Family::Ipv6 } else { Family::Ipv4 },
            address: address_of(listener_v6, &self.listener, false),
            port: self.local_port,
            cookie,
        };
        let packet_v6 = self.packet_family == AF_INET6;
        let event = ListenEvent {
            boottime_ns: self.boottime_ns,
            kind,
            client_address: address_of(packet_v6, &self.client, true),
            client_port: self.client_port,
            local_address: address_of(packet_v6, &self.local, true),
            local_port: self.local_port,
            cookie,
            accept_queue: (self.accept_queue, self.accept_queue_max),
            syn_queue: self.syn_queue,
            wait_ns: self.wait_ns,
            retransmits: self.retransmits,
        };
        StreamedEvent { netns: u64::from(self.netns), listener, event }
    }
}

/// An address as the programs spell it: IPv4 in the first four bytes, or IPv6 (IPv4-mapped
/// ones read as IPv4 when `canonical`, as for the client of a dual-stack listener).
fn address_of(v6: bool, bytes: &[u8; 16], canonical: bool) -> IpAddr {
    if !v6 {
        return IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]));
    }
    let address = Ipv6Addr::from(*bytes);
    if canonical { address.to_canonical() } else { IpAddr::V6(address) }
}

/// The totals of every namespace since the source started.
#[derive(Debug)]
struct Totals {
    started_boottime_ns: u64,
    namespaces: HashMap<u64, NamespaceTotals>,
}

/// One namespace's listeners and latest events.
#[derive(Debug, Default)]
struct NamespaceTotals {
    listeners: Vec<ListenerTotals>,
    latest: VecDeque<ListenEvent>,
}

/// One listener's totals, and the clients it dropped.
#[derive(Debug)]
struct ListenerTotals {
    events: ListenerEvents,
    clients: DroppedClients,
}

impl Totals {
    fn new(started_boottime_ns: u64) -> Totals {
        Totals { started_boottime_ns, namespaces: HashMap::new() }
    }

    /// Adds one event to its namespace's totals.
    fn add(&mut self, streamed: StreamedEvent) {
        if self.namespaces.len() >= MAX_NAMESPACES && !self.namespaces.contains_key(&streamed.netns) {
            return;
        }
        let namespace = self.namespaces.entry(streamed.netns).or_default();
        if namespace.latest.len() == LATEST_EVENTS {
            namespace.latest.pop_front();
        }
        namespace.latest.push_back(streamed.event.clone());
        if let Some(listener) = namespace.listener(&streamed.listener) {
            listener.add(&streamed.event);
        }
    }

    /// Namespace `netns`'s listeners and latest events; the interval maxima start over.
    fn take(&mut self, netns: u64) -> (Vec<ListenerEvents>, Vec<ListenEvent>) {
        let Some(namespace) = self.namespaces.get_mut(&netns) else { return (Vec::new(), Vec::new()) };
        let listeners = namespace
            .listeners
            .iter_mut()
            .map(|listener| {
                let mut events = listener.events.clone();
                events.top_dropped_clients = listener.clients.top(TOP_CLIENTS);
                events.distinct_dropped_clients = listener.clients.distinct();
                listener.events.interval_max_wait_ns = 0;
                events
            })
            .collect();
        (listeners, namespace.latest.iter().cloned().collect())
    }
}

impl NamespaceTotals {
    /// The totals of listener `id`: the one with its cookie, else one at its address and port
    /// whose cookie was not known (or, for an event without a cookie, any there), else a new
    /// one; `None` when the namespace already has [`MAX_LISTENERS`].
    fn listener(&mut self, id: &ListenerId) -> Option<&mut ListenerTotals> {
        let same_place = |l: &ListenerTotals| {
            l.events.family == id.family && l.events.local_address == id.address && l.events.local_port == id.port
        };
        let exact = self.listeners.iter().position(|l| same_place(l) && l.events.cookie == id.cookie);
        let loose =
            || self.listeners.iter().position(|l| same_place(l) && (l.events.cookie.is_none() || id.cookie.is_none()));
        let index = match exact.or_else(loose) {
            Some(index) => index,
            None if self.listeners.len() >= MAX_LISTENERS => return None,
            None => {
                self.listeners.push(ListenerTotals::new(id));
                self.listeners.len() - 1
            }
        };
        let listener = &mut self.listeners[index];
        if listener.events.cookie.is_none() {
            listener.events.cookie = id.cookie;
        }
        Some(listener)
    }
}

impl ListenerTotals {
    fn new(id: &ListenerId) -> ListenerTotals {
        ListenerTotals {
            events: ListenerEvents::empty(id.cookie, id.family, id.address, id.port),
            clients: DroppedClients::default(),
        }
    }

    fn add(&mut self, event: &ListenEvent) {
        let totals = &mut self.events;
        match event.kind {
            EventKind::Drop(reason) => {
                *totals.drops.entry(reason).or_default() += 1;
                self.clients.add(event.client_address);
            }
            EventKind::Syncookie => totals.syncookies += 1,
            EventKind::SynackRetransmit => totals.synack_retransmits += 1,
            EventKind::Accepted => {
                totals.accept_wait.add(event.wait_ns);
                totals.interval_max_wait_ns = totals.interval_max_wait_ns.max(event.wait_ns);
            }
        }
    }
}

/// The clients a listener dropped: counts of the busiest (bounded), an exact set of the first
/// [`TRACKED_CLIENTS`] distinct ones, and a linear-counting bitmap for beyond.
#[derive(Debug, Default)]
struct DroppedClients {
    counts: HashMap<IpAddr, u64>,
    seen: HashSet<IpAddr>,
    overflowed: bool,
    bitmap: Vec<u64>,
}

impl DroppedClients {
    fn add(&mut self, client: IpAddr) {
        if self.bitmap.is_empty() {
            self.bitmap = vec![0; DISTINCT_BITS / 64];
        }
        let bit = (hash_of(&client) as usize) % DISTINCT_BITS;
        self.bitmap[bit / 64] |= 1 << (bit % 64);
        if !self.overflowed && !self.seen.contains(&client) {
            if self.seen.len() < TRACKED_CLIENTS {
                self.seen.insert(client);
            } else {
                self.overflowed = true;
                self.seen = HashSet::new();
            }
        }
        if self.counts.len() >= TRACKED_CLIENTS && !self.counts.contains_key(&client) {
            self.prune();
        }
        *self.counts.entry(client).or_default() += 1;
    }

    /// Makes room among the counted clients: those dropped once go, or if none was, the less
    /// dropped half (amortised over the clients that then fit).
    fn prune(&mut self) {
        let before = self.counts.len();
        self.counts.retain(|_, drops| *drops > 1);
        if self.counts.len() == before {
            let mut drops: Vec<u64> = self.counts.values().copied().collect();
            drops.sort_unstable();
            let median = drops[drops.len() / 2];
            self.counts.retain(|_, count| *count > median);
        }
    }

    /// The `n` clients dropped most, most first (ties by address).
    fn top(&self, n: usize) -> Vec<ClientDrops> {
        let mut all: Vec<ClientDrops> =
            self.counts.iter().map(|(address, drops)| ClientDrops { address: *address, drops: *drops }).collect();
        all.sort_by(|a, b| b.drops.cmp(&a.drops).then(a.address.cmp(&b.address)));
        all.truncate(n);
        all
    }

    /// Distinct clients: exact up to [`TRACKED_CLIENTS`], a linear-counting estimate beyond.
    fn distinct(&self) -> u64 {
        if !self.overflowed {
            return self.seen.len() as u64;
        }
        let zeros: u32 = self.bitmap.iter().map(|word| word.count_zeros()).sum();
        let bits = DISTINCT_BITS as f64;
        let estimate = -bits * (f64::from(zeros.max(1)) / bits).ln();
        (estimate.round() as u64).max(TRACKED_CLIENTS as u64 + 1)
    }
}

/// A fixed hash of an address (the same in every run).
fn hash_of(address: &IpAddr) -> u64 {
    #[allow(deprecated)]
    let mut hasher = std::hash::SipHasher::new();
    address.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, client: [u8; 4], wait_ns: u64) -> StreamedEvent {
        StreamedEvent {
            netns: 7,
            listener: ListenerId {
                family: Family::Ipv4,
                address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 80,
                cookie: Some(42),
            },
            event: ListenEvent {
                boottime_ns: 1,
                kind,
                client_address: IpAddr::from(client),
                client_port: 5000,
                local_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                local_port: 80,
                cookie: Some(42),
                accept_queue: (17, 16),
                syn_queue: 0,
                wait_ns,
                retransmits: 0,
            },
        }
    }

    #[test]
    fn events_are_decoded_from_the_layout_of_the_c_struct() {
        let mut bytes = vec![0u8; RAW_EVENT_SIZE];
        bytes[0..8].copy_from_slice(&5u64.to_ne_bytes());
        bytes[16..24].copy_from_slice(&99u64.to_ne_bytes());
        bytes[24..28].copy_from_slice(&4026531840u32.to_ne_bytes());
        bytes[28] = 1;
        bytes[29] = 2;
        bytes[30..32].copy_from_slice(&10u16.to_ne_bytes());
        bytes[36..40].copy_from_slice(&3u32.to_ne_bytes());
        bytes[40..44].copy_from_slice(&16u32.to_ne_bytes());
        bytes[48..50].copy_from_slice(&40000u16.to_ne_bytes());
        bytes[50..52].copy_from_slice(&8080u16.to_ne_bytes());
        bytes[52..54].copy_from_slice(&10u16.to_ne_bytes());
        // An IPv4 client of a dual-stack listener: ::ffff:10.0.0.1.
        bytes[56 + 10] = 0xff;
        bytes[56 + 11] = 0xff;
        bytes[56 + 12..56 + 16].copy_from_slice(&[10, 0, 0, 1]);
        let streamed = RawEvent::decode(&bytes).expect("decodes").into_streamed();
        assert_eq!(streamed.netns, 4026531840);
        assert_eq!(streamed.event.kind, EventKind::Drop(DropReason::SynQueueFull));
        assert_eq!(streamed.event.client_address, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!((streamed.event.client_port, streamed.event.local_port), (40000, 8080));
        assert_eq!(streamed.event.accept_queue, (3, 16));
        assert_eq!(streamed.listener.family, Family::Ipv6);
        assert_eq!(streamed.listener.address, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(streamed.listener.cookie, Some(99));
        assert!(RawEvent::decode(&bytes[..50]).is_none(), "a short record is refused");
    }

    #[test]
    fn totals_count_per_reason_keep_the_latest_and_restart_the_interval_maximum() {
        let mut totals = Totals::new(0);
        for n in 0..100u8 {
            totals.add(event(EventKind::Drop(DropReason::SynAcceptQueueFull), [10, 0, 0, n % 5], 0));
        }
        totals.add(event(EventKind::Accepted, [10, 0, 0, 1], 50_000_000));
        let (listeners, latest) = totals.take(7);
        assert_eq!(listeners.len(), 1);
        let listener = &listeners[0];
        assert_eq!(listener.drops.get(&DropReason::SynAcceptQueueFull), Some(&100));
        assert_eq!(listener.distinct_dropped_clients, 5);
        assert_eq!(listener.top_dropped_clients.len(), 5);
        assert_eq!(listener.top_dropped_clients[0].drops, 20);
        assert_eq!(listener.accept_wait.count, 1);
        assert_eq!(listener.interval_max_wait_ns, 50_000_000);
        assert_eq!(latest.len(), LATEST_EVENTS);
        assert_eq!(latest.last().map(|e| e.kind), Some(EventKind::Accepted));
        let (again, _) = totals.take(7);
        assert_eq!(again[0].interval_max_wait_ns, 0, "the maximum is per interval");
        assert_eq!(again[0].accept_wait.count, 1, "totals are not");
        assert!(totals.take(8).0.is_empty(), "another namespace sees none of it");
    }

    #[test]
    fn an_event_without_a_cookie_joins_the_listener_at_its_address() {
        let mut totals = Totals::new(0);
        let mut first = event(EventKind::Accepted, [10, 0, 0, 1], 1);
        first.listener.cookie = None;
        totals.add(first);
        totals.add(event(EventKind::SynackRetransmit, [10, 0, 0, 1], 0));
        let (listeners, _) = totals.take(7);
        assert_eq!(listeners.len(), 1);
        assert_eq!(listeners[0].cookie, Some(42));
    }

    #[test]
    fn distinct_clients_are_estimated_beyond_the_tracked_set() {
        let mut clients = DroppedClients::default();
        for n in 0..20_000u32 {
            clients.add(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)));
            clients.add(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)));
        }
        let distinct = clients.distinct() as f64;
        assert!((distinct - 20_000.0).abs() < 20_000.0 * 0.03, "estimate {distinct}");
        assert!(clients.counts.len() <= TRACKED_CLIENTS);
    }
}
