//! Listeners as sockscope shows them: accept-queue fill, SYN queue per listener, drop deltas,
//! owning processes — TCP and UNIX alike.
//!
//! **Fill.** The kernel's accept queue holds `backlog + 1` connections: it is full when
//! `accept_queue > backlog` (`sk_acceptq_is_full()` uses a strict `>`), and only then does it
//! drop SYNs and final ACKs. So `fill = accept_queue / (backlog + 1)`, 1.0 exactly when the
//! kernel would drop, and `full` is `accept_queue > backlog`. `listen(fd, 0)` is legal: such a
//! queue holds one connection.
//!
//! **SYN queue.** The kernel does not export a listener's half-open count, so it is
//! reconstructed from the SYN_RECV request sockets of the same sample: a request belongs to a
//! listener on the same port with the same family and address, else to a wildcard listener of
//! the family, else (for IPv4) to a dual-stack `::` listener. Several sockets on one address and
//! port (an `SO_REUSEPORT` group) share their requests: the kernel does not say which member
//! owns which, so each member shows the group's count and [`ListenerView::syn_shared_by`] says
//! how many share it. Requests that match no listener are kept as unattributed.
//!
//! **Owners.** Each socket, a member of an `SO_REUSEPORT` group too, has its own owners from
//! its inode: the processes that poll it ([`super::owners`]), with their state.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::identity::{Endpoint, ListenerKey};
use super::owners::{OwnerView, listener_owners};
use super::sockets::{owners, owners_resolving};
use super::{Level, Limits, rates};
use crate::sample::{Family, ProcessRef, Sample, SynRecvGroup, TcpListener, TcpState, UnixListener};

/// How many SYN_RECV peers a listener keeps for its detail (from the per-socket dump).
pub const SYN_RECV_PEERS: usize = 8;

/// `tcp` or `unix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// A TCP listener.
    Tcp,
    /// A UNIX stream or seqpacket listener.
    Unix,
}

impl Protocol {
    /// `tcp` or `unix`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Unix => "unix",
        }
    }
}

/// One listener with every number sockscope shows for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerView {
    /// Identity across samples (namespace and socket cookie).
    pub key: ListenerKey,
    /// TCP or UNIX.
    pub protocol: Protocol,
    /// Address family; `None` for UNIX listeners.
    pub family: Option<Family>,
    /// Where it listens: address and port, or the UNIX path.
    pub endpoint: Endpoint,
    /// Connections waiting for `accept()`.
    pub accept_queue: u32,
    /// The accept-queue limit (`min(listen() backlog, somaxconn at listen time)`).
    pub backlog: u32,
    /// `accept_queue / (backlog + 1)`: 1.0 exactly when the kernel drops.
    pub fill: f64,
    /// `accept_queue > backlog`: the kernel is dropping SYNs and final ACKs for this listener.
    pub full: bool,
    /// How alarming the fill is: critical when full, warning from the configured fill.
    pub level: Level,
    /// Half-open requests attributed to this listener (TCP only).
    pub syn_queue: Option<u32>,
    /// Of those, requests whose SYN-ACK was retransmitted.
    pub syn_retransmitted: Option<u32>,
    /// How many listener sockets share `syn_queue` (an `SO_REUSEPORT` group); 1 normally.
    pub syn_shared_by: u32,
    /// When several listener sockets share this protocol and endpoint — an `SO_REUSEPORT`
    /// group, or sockets bound to different devices — this one's position among them in cookie
    /// order, from 0; `None` when it is alone. It tells their metric series apart.
    pub sibling: Option<u32>,
    /// The SYN_RECV groups (per local address) attributed to this listener.
    pub syn_recv: Vec<SynRecvGroup>,
    /// Peers of those requests (at most [`SYN_RECV_PEERS`]), when every socket was collected.
    pub syn_recv_peers: Vec<Endpoint>,
    /// Packets dropped by this listener since it was created (Linux 4.7+).
    pub drops: Option<u64>,
    /// Drops since the previous sample (same socket, by cookie).
    pub drops_delta: Option<u64>,
    /// Drops per second since the previous sample.
    pub drops_per_second: Option<f64>,
    /// Drops per second over the smoothing window ([`super::Model::smoothing`]), for a listener
    /// that was there at its start; set by [`super::Model::smooth`].
    pub drops_smoothed: Option<f64>,
    /// Socket inode.
    pub inode: u64,
    /// Owner uid, when known.
    pub uid: Option<u32>,
    /// For IPv6 listeners: whether IPv4 clients are refused.
    pub v6only: Option<bool>,
    /// Processes holding the socket.
    pub processes: Vec<ProcessRef>,
    /// Of those, the ones that take its connections, with their state, CPU use and cgroup
    /// ([`super::owners`]).
    pub owners: Vec<OwnerView>,
    /// Whether its owners are still being looked for (a background walk of `/proc`), so an
    /// empty `processes` means "not known yet" rather than "none found".
    pub owners_resolving: bool,
}

impl ListenerView {
    /// `ipv4`, `ipv6` or `unix`.
    pub fn family_name(&self) -> &'static str {
        self.family.map_or("unix", Family::name)
    }

    /// The queue capacity: `backlog + 1`.
    pub fn capacity(&self) -> u64 {
        u64::from(self.backlog) + 1
    }

    /// Whether the drop counter moved in the last interval.
    pub fn dropping(&self) -> bool {
        self.drops_delta.is_some_and(|delta| delta > 0)
    }

    /// The kernel socket cookie.
    pub fn cookie(&self) -> u64 {
        self.key.cookie
    }

    /// The processes that take its connections ([`ListenerView::owners`]); every holder when
    /// their owners are not known.
    pub fn accepting(&self) -> Vec<ProcessRef> {
        if self.owners.is_empty() {
            return self.processes.clone();
        }
        self.owners.iter().map(|owner| owner.process.clone()).collect()
    }
}

/// The accept-queue fill ratio: `accept_queue / (backlog + 1)`.
pub fn fill_ratio(accept_queue: u32, backlog: u32) -> f64 {
    f64::from(accept_queue) / (f64::from(backlog) + 1.0)
}

/// Every listener of the sample, fullest first, and the SYN_RECV groups no listener claimed.
pub fn listeners(
    current: &Sample,
    previous: Option<&Sample>,
    interval: Option<f64>,
    limits: &Limits,
) -> (Vec<ListenerView>, Vec<SynRecvGroup>) {
    let netns = current.netns.as_ref().map_or(0, |netns| netns.inode);
    let tcp = current.tcp_listeners.as_deref().unwrap_or_default();
    let requests = current.tcp_summary.as_ref().map(|summary| summary.syn_recv.as_slice());
    let attribution = requests.map(|groups| attribute_requests(tcp, groups));
    let mut views: Vec<ListenerView> = tcp
        .iter()
        .enumerate()
        .map(|(index, listener)| {
            let mut view = tcp_view(current, previous, interval, listener, netns);
            if let Some(attribution) = &attribution {
                apply_share(&mut view, &attribution.per_listener[index], current);
            }
            view
        })
        .collect();
    views.extend(current.unix_listeners.iter().flatten().map(|listener| unix_view(current, previous, listener, netns)));
    for view in &mut views {
        view.level = fill_level(view.fill, view.full, limits);
    }
    number_siblings(&mut views);
    views.sort_by(fullest_first);
    (views, attribution.map(|a| a.unattributed).unwrap_or_default())
}

/// Gives each socket of a group sharing one protocol and endpoint its position in the group,
/// in cookie order; a socket alone on its endpoint keeps `None`.
fn number_siblings(views: &mut [ListenerView]) {
    let mut groups: BTreeMap<(Protocol, &Endpoint), Vec<(u64, usize)>> = BTreeMap::new();
    for (index, view) in views.iter().enumerate() {
        groups.entry((view.protocol, &view.endpoint)).or_default().push((view.key.cookie, index));
    }
    let numbered: Vec<(usize, u32)> = groups
        .into_values()
        .filter(|members| members.len() > 1)
        .flat_map(|mut members| {
            members.sort_unstable();
            members.into_iter().zip(0..).map(|((_, index), position)| (index, position))
        })
        .collect();
    for (index, position) in numbered {
        views[index].sibling = Some(position);
    }
}

/// The order listeners are shown in: fullest accept queue first, then the longest queue, then
/// TCP before UNIX, by port, address and identity.
pub fn fullest_first(a: &ListenerView, b: &ListenerView) -> std::cmp::Ordering {
    b.fill
        .total_cmp(&a.fill)
        .then(b.accept_queue.cmp(&a.accept_queue))
        .then(a.protocol.cmp(&b.protocol))
        .then(a.endpoint.port().cmp(&b.endpoint.port()))
        .then_with(|| a.endpoint.address_text().cmp(&b.endpoint.address_text()))
        .then(a.key.cmp(&b.key))
}

/// Critical when the queue is full, warning from the configured fill, else normal.
pub fn fill_level(fill: f64, full: bool, limits: &Limits) -> Level {
    if full {
        Level::Critical
    } else if fill >= limits.fill_warning {
        Level::Warning
    } else {
        Level::Normal
    }
}

/// Gives a TCP listener its share of the half-open requests, and their peers when every socket
/// was collected.
fn apply_share(view: &mut ListenerView, share: &SynShare, sample: &Sample) {
    view.syn_queue = Some(share.requests);
    view.syn_retransmitted = Some(share.retransmitted);
    view.syn_shared_by = share.shared_by;
    view.syn_recv = share.groups.clone();
    let mine = |address: IpAddr, port: u16| {
        share.groups.iter().any(|group| group.local_port == port && group.local_address.to_canonical() == address)
    };
    view.syn_recv_peers = sample
        .connections
        .iter()
        .flatten()
        .filter(|c| c.state == TcpState::SynRecv && mine(c.local_address.to_canonical(), c.local_port))
        .take(SYN_RECV_PEERS)
        .map(|c| Endpoint::Inet(c.remote_address, c.remote_port))
        .collect();
}

fn tcp_view(
    current: &Sample,
    previous: Option<&Sample>,
    interval: Option<f64>,
    listener: &TcpListener,
    netns: u64,
) -> ListenerView {
    let before = previous
        .and_then(|sample| sample.tcp_listeners.as_ref())
        .and_then(|list| list.iter().find(|old| old.cookie == listener.cookie));
    let drops = listener.drops.map(i64::from);
    let old_drops = before.and_then(|old| old.drops).map(i64::from);
    ListenerView {
        key: ListenerKey { netns, cookie: listener.cookie },
        protocol: Protocol::Tcp,
        family: Some(listener.family),
        endpoint: Endpoint::Inet(listener.local_address, listener.local_port),
        accept_queue: listener.accept_queue,
        backlog: listener.backlog,
        fill: fill_ratio(listener.accept_queue, listener.backlog),
        full: listener.accept_queue > listener.backlog,
        level: Level::Normal,
        syn_queue: None,
        syn_retransmitted: None,
        syn_shared_by: 1,
        sibling: None,
        syn_recv: Vec::new(),
        syn_recv_peers: Vec::new(),
        drops: listener.drops.map(u64::from),
        drops_delta: rates::delta(old_drops, drops).and_then(|d| u64::try_from(d).ok()),
        drops_per_second: rates::rate(old_drops, drops, interval),
        drops_smoothed: None,
        inode: listener.inode,
        uid: Some(listener.uid),
        v6only: listener.v6only,
        processes: owners(current, listener.inode),
        owners: listener_owners(current, previous, listener.inode),
        owners_resolving: owners_resolving(current, listener.inode),
    }
}

fn unix_view(current: &Sample, previous: Option<&Sample>, listener: &UnixListener, netns: u64) -> ListenerView {
    ListenerView {
        key: ListenerKey { netns, cookie: listener.cookie },
        protocol: Protocol::Unix,
        family: None,
        endpoint: Endpoint::Unix(listener.path.clone()),
        accept_queue: listener.accept_queue,
        backlog: listener.backlog,
        fill: fill_ratio(listener.accept_queue, listener.backlog),
        full: listener.accept_queue > listener.backlog,
        level: Level::Normal,
        syn_queue: None,
        syn_retransmitted: None,
        syn_shared_by: 1,
        sibling: None,
        syn_recv: Vec::new(),
        syn_recv_peers: Vec::new(),
        drops: None,
        drops_delta: None,
        drops_per_second: None,
        drops_smoothed: None,
        inode: listener.inode,
        uid: listener.uid,
        v6only: None,
        processes: owners(current, listener.inode),
        owners: listener_owners(current, previous, listener.inode),
        owners_resolving: owners_resolving(current, listener.inode),
    }
}

/// A listener's share of the half-open requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SynShare {
    requests: u32,
    retransmitted: u32,
    shared_by: u32,
    groups: Vec<SynRecvGroup>,
}

/// The result of matching request groups to listeners.
#[derive(Debug, Default)]
struct Attribution {
    /// Per listener, in the order of the listener slice.
    per_listener: Vec<SynShare>,
    /// Request groups no listener matched.
    unattributed: Vec<SynRecvGroup>,
}

/// Attributes SYN_RECV groups to listeners (see the module documentation for the rules).
fn attribute_requests(listeners: &[TcpListener], groups: &[SynRecvGroup]) -> Attribution {
    let mut attribution = Attribution {
        per_listener: vec![SynShare { shared_by: 1, ..SynShare::default() }; listeners.len()],
        unattributed: Vec::new(),
    };
    for group in groups {
        let owners = matching_listeners(listeners, group);
        if owners.is_empty() {
            attribution.unattributed.push(group.clone());
            continue;
        }
        let shared_by = owners.len() as u32;
        for index in owners {
            let share = &mut attribution.per_listener[index];
            share.requests = share.requests.saturating_add(group.requests);
            share.retransmitted = share.retransmitted.saturating_add(group.retransmitted);
            share.shared_by = shared_by;
            share.groups.push(group.clone());
        }
    }
    attribution
}

/// Indices of the listeners that own requests of `group`: the first non-empty tier of exact
/// address, wildcard of the same family, dual-stack IPv6 wildcard.
fn matching_listeners(listeners: &[TcpListener], group: &SynRecvGroup) -> Vec<usize> {
    listeners_on(listeners, group.family, group.local_address, group.local_port)
}

/// Indices of the listeners that take connections to `address:port` of `family`: the first
/// non-empty tier of exact address, wildcard of the same family, dual-stack IPv6 wildcard (for
/// IPv4). The SYN queue and the listen-event source attribute by this one rule.
pub fn listeners_on(listeners: &[TcpListener], family: Family, address: IpAddr, port: u16) -> Vec<usize> {
    let on_port = |predicate: &dyn Fn(&TcpListener) -> bool| -> Vec<usize> {
        listeners
            .iter()
            .enumerate()
            .filter(|(_, listener)| listener.local_port == port && predicate(listener))
            .map(|(index, _)| index)
            .collect()
    };
    let exact = on_port(&|l| l.family == family && l.local_address == address);
    if !exact.is_empty() {
        return exact;
    }
    let wildcard = on_port(&|l| l.family == family && is_wildcard(l.local_address));
    if !wildcard.is_empty() || family == Family::Ipv6 {
        return wildcard;
    }
    let mapped = match address {
        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
        other => other,
    };
    on_port(&|l| {
        l.family == Family::Ipv6
            && l.v6only != Some(true)
            && (l.local_address == IpAddr::V6(Ipv6Addr::UNSPECIFIED) || l.local_address == mapped)
    })
}

fn is_wildcard(address: IpAddr) -> bool {
    address == IpAddr::V4(Ipv4Addr::UNSPECIFIED) || address == IpAddr::V6(Ipv6Addr::UNSPECIFIED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(family: Family, address: &str, port: u16, cookie: u64) -> TcpListener {
        TcpListener {
            family,
            local_address: address.parse().expect("address"),
            local_port: port,
            bound_interface: 0,
            accept_queue: 0,
            backlog: 128,
            drops: Some(0),
            inode: cookie,
            uid: 0,
            cookie,
            v6only: (family == Family::Ipv6).then_some(false),
            memory: None,
            tcp_info: None,
        }
    }

    fn group(family: Family, address: &str, port: u16, requests: u32) -> SynRecvGroup {
        SynRecvGroup {
            family,
            local_address: address.parse().expect("address"),
            local_port: port,
            requests,
            retransmitted: 1,
        }
    }

    #[test]
    fn fill_counts_the_extra_slot() {
        assert_eq!(fill_ratio(9, 8), 1.0);
        assert_eq!(fill_ratio(4, 8), 4.0 / 9.0);
        assert_eq!(fill_ratio(1, 0), 1.0);
        assert_eq!(fill_ratio(0, 0), 0.0);
    }

    #[test]
    fn exact_address_beats_wildcard() {
        let listeners = [listener(Family::Ipv4, "0.0.0.0", 80, 1), listener(Family::Ipv4, "10.0.0.1", 80, 2)];
        let result = attribute_requests(
            &listeners,
            &[group(Family::Ipv4, "10.0.0.1", 80, 3), group(Family::Ipv4, "10.0.0.2", 80, 4)],
        );
        assert_eq!(result.per_listener[1].requests, 3);
        assert_eq!(result.per_listener[0].requests, 4);
        assert!(result.unattributed.is_empty());
    }

    #[test]
    fn ipv4_requests_go_to_a_dual_stack_listener_but_not_a_v6only_one() {
        let mut dual = listener(Family::Ipv6, "::", 443, 1);
        let groups = [group(Family::Ipv4, "192.0.2.7", 443, 5)];
        assert_eq!(attribute_requests(std::slice::from_ref(&dual), &groups).per_listener[0].requests, 5);
        dual.v6only = Some(true);
        let result = attribute_requests(&[dual], &groups);
        assert_eq!(result.per_listener[0].requests, 0);
        assert_eq!(result.unattributed.len(), 1);
    }

    #[test]
    fn a_reuseport_group_shares_its_requests() {
        let listeners = [listener(Family::Ipv4, "0.0.0.0", 8080, 1), listener(Family::Ipv4, "0.0.0.0", 8080, 2)];
        let result = attribute_requests(&listeners, &[group(Family::Ipv4, "127.0.0.1", 8080, 6)]);
        let groups = vec![group(Family::Ipv4, "127.0.0.1", 8080, 6)];
        assert_eq!(
            result.per_listener[0],
            SynShare { requests: 6, retransmitted: 1, shared_by: 2, groups: groups.clone() }
        );
        assert_eq!(result.per_listener[1], SynShare { requests: 6, retransmitted: 1, shared_by: 2, groups });
    }

    #[test]
    fn sockets_sharing_an_endpoint_are_numbered_in_cookie_order() {
        let group = [
            listener(Family::Ipv4, "0.0.0.0", 8080, 30),
            listener(Family::Ipv4, "0.0.0.0", 8080, 10),
            listener(Family::Ipv4, "0.0.0.0", 8081, 20),
            listener(Family::Ipv6, "::", 8080, 40),
        ];
        let sample = Sample { tcp_listeners: Some(group.to_vec()), ..Sample::default() };
        let (views, _) = listeners(&sample, None, None, &Limits::default());
        let sibling = |cookie: u64| views.iter().find(|view| view.cookie() == cookie).and_then(|view| view.sibling);
        assert_eq!((sibling(10), sibling(30)), (Some(0), Some(1)), "the group on 0.0.0.0:8080");
        assert_eq!((sibling(20), sibling(40)), (None, None), "alone on their endpoints");
    }

    #[test]
    fn recorded_request_counts_that_do_not_fit_saturate() {
        let listeners = [listener(Family::Ipv4, "0.0.0.0", 80, 1)];
        let groups = [group(Family::Ipv4, "10.0.0.1", 80, u32::MAX), group(Family::Ipv4, "10.0.0.2", 80, 5)];
        let result = attribute_requests(&listeners, &groups);
        assert_eq!(result.per_listener[0].requests, u32::MAX);
    }

    #[test]
    fn requests_on_a_port_nobody_listens_on_are_unattributed() {
        let result =
            attribute_requests(&[listener(Family::Ipv4, "0.0.0.0", 80, 1)], &[group(Family::Ipv6, "::1", 80, 2)]);
        assert_eq!(result.per_listener[0].requests, 0);
        assert_eq!(result.unattributed.len(), 1);
    }

    #[test]
    fn listeners_sort_fullest_first_and_drops_rate_follows_the_cookie() {
        let mut full = listener(Family::Ipv4, "127.0.0.1", 9000, 7);
        full.accept_queue = 9;
        full.backlog = 8;
        full.drops = Some(30);
        let idle = listener(Family::Ipv4, "127.0.0.1", 22, 8);
        let mut previous = Sample::default();
        let mut old = full.clone();
        old.drops = Some(10);
        previous.tcp_listeners = Some(vec![old, idle.clone()]);
        let current = Sample { tcp_listeners: Some(vec![idle, full]), ..Sample::default() };
        let (views, _) = listeners(&current, Some(&previous), Some(2.0), &Limits::default());
        assert_eq!(views[0].endpoint.port(), Some(9000));
        assert!(views[0].full);
        assert_eq!(views[0].level, Level::Critical);
        assert_eq!(views[0].fill, 1.0);
        assert_eq!(views[0].drops_delta, Some(20));
        assert_eq!(views[0].drops_per_second, Some(10.0));
        assert_eq!(views[0].syn_queue, None, "no TCP summary, so no SYN queue");
        assert_eq!(views[1].drops_per_second, Some(0.0));
    }

    #[test]
    fn a_listener_names_the_requests_and_peers_attributed_to_it() {
        use crate::sample::{Connection, TcpSummary};
        let wildcard = listener(Family::Ipv4, "0.0.0.0", 80, 1);
        let other = listener(Family::Ipv4, "0.0.0.0", 81, 2);
        let request = |peer: &str, local_port: u16| Connection {
            family: Family::Ipv4,
            state: TcpState::SynRecv,
            local_address: "10.0.0.1".parse().expect("ip"),
            local_port,
            remote_address: peer.parse().expect("ip"),
            remote_port: 5000,
            recv_q: 0,
            send_q: 0,
            inode: 0,
            uid: 0,
            cookie: 9,
            retrans: 1,
            timer: None,
            tcp_info: None,
            memory: None,
        };
        let sample = Sample {
            tcp_listeners: Some(vec![wildcard, other]),
            tcp_summary: Some(TcpSummary {
                syn_recv: vec![group(Family::Ipv4, "10.0.0.1", 80, 2), group(Family::Ipv4, "10.0.0.1", 81, 1)],
                ..TcpSummary::default()
            }),
            connections: Some(vec![request("192.0.2.1", 80), request("192.0.2.2", 80), request("192.0.2.3", 81)]),
            ..Sample::default()
        };
        let (views, unattributed) = listeners(&sample, None, None, &Limits::default());
        let on_80 = views.iter().find(|view| view.endpoint.port() == Some(80)).expect("listener on 80");
        assert!(unattributed.is_empty());
        assert_eq!(on_80.syn_queue, Some(2));
        assert_eq!(on_80.syn_recv, vec![group(Family::Ipv4, "10.0.0.1", 80, 2)]);
        let peers: Vec<String> = on_80.syn_recv_peers.iter().map(ToString::to_string).collect();
        assert_eq!(peers, vec!["192.0.2.1:5000", "192.0.2.2:5000"], "only the requests to port 80");
    }
}
