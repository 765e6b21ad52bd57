//! The catalogue of kernel settings sockscope reads: name, what each one bounds, its kernel
//! default and the group it belongs to. The collector reads exactly these names; the report
//! and the dashboard explain them with the same words.

use crate::sample::SysctlValue;

/// The group a setting belongs to, in the order the report shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Listen and SYN queues.
    ListenQueues,
    /// Local ports for outbound connections.
    Ports,
    /// TIME_WAIT, orphans and connection teardown.
    Teardown,
    /// Socket buffers and TCP memory.
    Memory,
    /// Packet ingress before the protocol stack.
    Ingress,
    /// Path MTU discovery.
    PathMtu,
    /// Other TCP behaviour.
    Tcp,
    /// Connection tracking (netfilter).
    Conntrack,
}

impl Group {
    /// Heading used in the report and the dashboard.
    pub fn title(self) -> &'static str {
        match self {
            Group::ListenQueues => "Listen queues",
            Group::Ports => "Ports",
            Group::Teardown => "TIME_WAIT and teardown",
            Group::Memory => "Buffers and memory",
            Group::Ingress => "Ingress",
            Group::PathMtu => "Path MTU",
            Group::Tcp => "TCP",
            Group::Conntrack => "Connection tracking",
        }
    }
}

/// One kernel setting sockscope knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Dotted sysctl name, e.g. `net.core.somaxconn`.
    pub name: &'static str,
    /// What the setting bounds, in a few words.
    pub bounds: &'static str,
    /// The kernel's default on current kernels, as text for people.
    pub default: &'static str,
    /// The default as a value to compare with, when it is one fixed value.
    pub typed_default: KnownDefault,
    /// Group for display.
    pub group: Group,
}

impl Setting {
    /// The path of the setting relative to `/proc/sys`.
    pub fn relative_path(&self) -> String {
        self.name.replace('.', "/")
    }
}

/// A setting's default as a value, so "changed from default" is decided by comparing values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownDefault {
    /// One or more integers (`4096`, `32768 60999`).
    Values(&'static [i64]),
    /// A word or a list (`cubic`, empty).
    Text(&'static str),
    /// Depends on the machine (memory, hash sizes, HZ) or is a state, not a setting.
    Varies,
}

impl KnownDefault {
    /// Whether `value` differs from this default; `None` when the default varies.
    pub fn differs(&self, value: &SysctlValue) -> Option<bool> {
        match self {
            KnownDefault::Values(expected) => Some(value.as_integers().as_deref() != Some(*expected)),
            KnownDefault::Text(expected) => Some(match value {
                SysctlValue::Text(text) => text.trim() != *expected,
                _ => true,
            }),
            KnownDefault::Varies => None,
        }
    }
}

macro_rules! settings {
    ($( $group:ident $name:literal, $default:literal, $typed:expr, $bounds:literal; )*) => {
        /// Every setting sockscope reads, in display order.
        pub const SETTINGS: &[Setting] = &[
            $( Setting {
                name: $name,
                bounds: $bounds,
                default: $default,
                typed_default: { use KnownDefault::*; $typed },
                group: Group::$group,
            }, )*
        ];
    };
}

settings! {
    ListenQueues "net.core.somaxconn", "4096 (128 before 5.4)", Values(&[4096]),
        "caps every listen() backlog, i.e. each listener's accept and SYN queue; applied at listen() time";
    ListenQueues "net.ipv4.tcp_max_syn_backlog", "max(128, ehash/128)", Varies,
        "only with syncookies off: SYNs from unknown peers are dropped past 3/4 of it; no effect with cookies on";
    ListenQueues "net.ipv4.tcp_ehash_entries", "memory based", Varies,
        "buckets of this namespace's TCP established hash (negative: the host's, shared); sets the defaults of tcp_max_syn_backlog and tcp_max_tw_buckets (5.19+)";
    ListenQueues "net.ipv4.tcp_syncookies", "1", Values(&[1]),
        "1: answer SYNs with cookies when a SYN queue is full; 0: drop them; 2: cookies always";
    ListenQueues "net.ipv4.tcp_abort_on_overflow", "0", Values(&[0]),
        "1: reset clients whose final ACK meets a full accept queue; 0: ignore the ACK and retry";
    ListenQueues "net.ipv4.tcp_synack_retries", "5", Values(&[5]),
        "SYN-ACK retransmits before a half-open request is dropped (5: about 63 s)";
    ListenQueues "net.ipv4.tcp_syn_retries", "6", Values(&[6]),
        "SYN retransmits of an outbound connect() (6: about 127 s)";
    ListenQueues "net.ipv4.tcp_fastopen", "1", Values(&[1]),
        "TCP Fast Open: 1 client, 2 server, 3 both";
    ListenQueues "net.ipv4.tcp_migrate_req", "0", Values(&[0]),
        "move requests of a closing SO_REUSEPORT listener to a sibling (5.14+)";
    Ports "net.ipv4.ip_local_port_range", "32768 60999", Values(&[32768, 60999]),
        "local ports picked for outbound connections (28,232 by default)";
    Ports "net.ipv4.ip_local_reserved_ports", "(empty)", Text(""),
        "ports never picked as ephemeral ports";
    Ports "net.ipv4.ip_unprivileged_port_start", "1024", Values(&[1024]),
        "lowest port an unprivileged process may bind";
    Teardown "net.ipv4.tcp_max_tw_buckets", "ehash/2", Varies,
        "TIME_WAIT sockets kept; past it closing sockets skip TIME_WAIT (TCPTimeWaitOverflow)";
    Teardown "net.ipv4.tcp_tw_reuse", "2", Values(&[2]),
        "reuse TIME_WAIT ports for outbound connections: 1 always, 2 loopback only (needs timestamps)";
    Teardown "net.ipv4.tcp_tw_recycle", "(removed in 4.12)", Varies,
        "broke clients behind NAT; gone since Linux 4.12";
    Teardown "net.ipv4.tcp_fin_timeout", "60", Values(&[60]),
        "seconds an orphaned FIN_WAIT2 socket lives; does not shorten TIME_WAIT (fixed 60 s)";
    Teardown "net.ipv4.tcp_max_orphans", "ehash/2 (memory based)", Varies,
        "sockets closed by the application but not yet finished; past it they are reset";
    Teardown "net.ipv4.tcp_orphan_retries", "0 (means 8)", Values(&[0]),
        "retries before an orphaned socket is killed";
    Memory "net.core.rmem_max", "212992", Values(&[212992]),
        "largest receive buffer an application may set with SO_RCVBUF";
    Memory "net.core.wmem_max", "212992", Values(&[212992]),
        "largest send buffer an application may set with SO_SNDBUF";
    Memory "net.core.rmem_default", "212992", Values(&[212992]),
        "receive buffer of non-TCP sockets (UDP) that set none";
    Memory "net.core.wmem_default", "212992", Values(&[212992]),
        "send buffer of non-TCP sockets that set none";
    Memory "net.ipv4.tcp_rmem", "4096 131072 6291456", Values(&[4096, 131072, 6291456]),
        "TCP receive buffer min, default and autotuning ceiling (bytes)";
    Memory "net.ipv4.tcp_wmem", "4096 16384 4194304", Values(&[4096, 16384, 4194304]),
        "TCP send buffer min, default and autotuning ceiling (bytes)";
    Memory "net.ipv4.tcp_mem", "memory based", Varies,
        "TCP memory in pages: below min no pressure; above pressure buffers shrink; max refuses memory";
    Memory "net.ipv4.udp_mem", "memory based", Varies,
        "UDP memory in pages: min, pressure, max";
    Memory "net.ipv4.tcp_moderate_rcvbuf", "1", Values(&[1]),
        "receive-buffer autotuning";
    Ingress "net.core.netdev_max_backlog", "1000", Values(&[1000]),
        "per-CPU input queue (RPS, loopback, veth) before the protocol stack; overflow counts as softnet drops";
    Ingress "net.core.netdev_budget", "300", Values(&[300]),
        "packets one NAPI softirq run may process before yielding (time_squeeze)";
    Ingress "net.core.netdev_budget_usecs", "2 jiffies", Varies,
        "time one NAPI softirq run may take before yielding (time_squeeze)";
    PathMtu "net.ipv4.tcp_mtu_probing", "0", Values(&[0]),
        "packetization-layer MTU probing: 1 after a black hole is detected, 2 always";
    PathMtu "net.ipv4.tcp_base_mss", "1024", Values(&[1024]),
        "starting MSS for MTU probing";
    PathMtu "net.ipv4.ip_no_pmtu_disc", "0", Values(&[0]),
        "disables path-MTU discovery when non-zero";
    Tcp "net.ipv4.tcp_timestamps", "1", Values(&[1]),
        "TCP timestamps; syncookies need them to keep window scaling and SACK, tcp_tw_reuse needs them";
    Tcp "net.ipv4.tcp_congestion_control", "cubic", Text("cubic"),
        "congestion control for new connections";
    Tcp "net.ipv4.tcp_slow_start_after_idle", "1", Values(&[1]),
        "restart from a small window after an idle period";
    Tcp "net.ipv4.tcp_keepalive_time", "7200", Values(&[7200]),
        "seconds of idle before keepalive probes start (only for sockets that enable it)";
    Tcp "net.ipv4.tcp_notsent_lowat", "4294967295", Values(&[4294967295]),
        "unsent bytes a socket may queue before it stops being writable";
    Conntrack "net.netfilter.nf_conntrack_count", "(state)", Varies,
        "connections tracked right now";
    Conntrack "net.netfilter.nf_conntrack_max", "nf_conntrack_buckets", Varies,
        "tracked connections before new flows are dropped";
    Conntrack "net.netfilter.nf_conntrack_buckets", "memory based", Varies,
        "size of the conntrack hash table";
    Conntrack "net.netfilter.nf_conntrack_tcp_timeout_time_wait", "120", Values(&[120]),
        "conntrack's own TIME_WAIT timeout; does not change TCP's";
}

/// Settings that are per network namespace and worth comparing with the host's.
pub const PER_NAMESPACE_SETTINGS: [&str; 12] = [
    "net.core.somaxconn",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.tcp_abort_on_overflow",
    "net.ipv4.tcp_synack_retries",
    "net.ipv4.tcp_syn_retries",
    "net.ipv4.tcp_timestamps",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_tw_reuse",
    "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_fin_timeout",
];

/// Host-wide settings: one value for the whole kernel, invisible under `/proc/sys` inside a
/// child network namespace, so the collector reads them in the host's namespace.
pub const HOST_WIDE_SETTINGS: [&str; 6] = [
    "net.core.netdev_budget",
    "net.core.netdev_budget_usecs",
    "net.core.netdev_max_backlog",
    "net.ipv4.tcp_max_orphans",
    "net.ipv4.tcp_mem",
    "net.ipv4.udp_mem",
];

/// The catalogue entry for a dotted name.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|setting| setting.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_map_to_proc_sys_paths() {
        let mut names: Vec<&str> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SETTINGS.len());
        assert_eq!(find("net.core.somaxconn").map(Setting::relative_path), Some("net/core/somaxconn".to_string()));
    }

    #[test]
    fn changed_from_default_compares_values_not_words() {
        let range = find("net.ipv4.ip_local_port_range").expect("catalogued");
        assert_eq!(range.typed_default.differs(&SysctlValue::Integers(vec![32768, 60999])), Some(false));
        assert_eq!(range.typed_default.differs(&SysctlValue::Integers(vec![1024, 65535])), Some(true));
        let reserved = find("net.ipv4.ip_local_reserved_ports").expect("catalogued");
        assert_eq!(reserved.typed_default.differs(&SysctlValue::Text(String::new())), Some(false));
        assert_eq!(reserved.typed_default.differs(&SysctlValue::Text("8080".into())), Some(true));
        let buckets = find("net.ipv4.tcp_max_tw_buckets").expect("catalogued");
        assert_eq!(buckets.typed_default.differs(&SysctlValue::Integer(262_144)), None, "depends on memory");
        let cc = find("net.ipv4.tcp_congestion_control").expect("catalogued");
        assert_eq!(cc.typed_default.differs(&SysctlValue::Text("bbr".into())), Some(true));
        for setting in SETTINGS {
            if let KnownDefault::Values(values) = setting.typed_default {
                let shown: Vec<String> = values.iter().map(i64::to_string).collect();
                assert!(setting.default.starts_with(&shown.join(" ")), "{}: {}", setting.name, setting.default);
            }
        }
    }
}
