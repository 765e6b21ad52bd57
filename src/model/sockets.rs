//! Sockets grouped for people: UDP sockets with owners and drop rates, CLOSE_WAIT sockets by
//! owning process, and socket states per process.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::rates;
use crate::sample::{ProcessRef, Sample, TcpState, UdpSocket};

/// The processes holding a socket, from the sample's process table.
pub fn owners(sample: &Sample, inode: u64) -> Vec<ProcessRef> {
    owners_of(sample, inode).to_vec()
}

/// Whether the owners of a socket are still being looked for.
pub fn owners_resolving(sample: &Sample, inode: u64) -> bool {
    sample.processes.as_ref().is_some_and(|table| table.resolving.contains(&inode))
}

/// The processes holding a socket, borrowed from the sample (empty when unknown).
pub fn owners_of(sample: &Sample, inode: u64) -> &[ProcessRef] {
    sample.processes.as_ref().and_then(|table| table.owners.get(&inode)).map_or(&[], Vec::as_slice)
}

/// A UDP socket with its owners and drop rate.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpView {
    /// The socket as collected.
    pub socket: UdpSocket,
    /// Processes holding it.
    pub processes: Vec<ProcessRef>,
    /// Drops per second since the previous sample (same socket, by cookie).
    pub drops_per_second: Option<f64>,
}

/// Every UDP socket of `current`, fullest receive queue first, with owners and drop rates.
pub fn udp(current: &Sample, previous: Option<&Sample>, interval: Option<f64>) -> Vec<UdpView> {
    let mut sockets: Vec<UdpView> = current
        .udp_sockets
        .iter()
        .flatten()
        .map(|socket| {
            let old = previous
                .and_then(|s| s.udp_sockets.as_ref())
                .and_then(|list| list.iter().find(|o| o.cookie == socket.cookie));
            UdpView {
                socket: socket.clone(),
                processes: owners(current, socket.inode),
                drops_per_second: rates::rate(
                    old.and_then(|o| o.drops).map(i64::from),
                    socket.drops.map(i64::from),
                    interval,
                ),
            }
        })
        .collect();
    sockets
        .sort_by(|a, b| b.socket.receive_queue.cmp(&a.socket.receive_queue).then(b.socket.drops.cmp(&a.socket.drops)));
    sockets
}

/// CLOSE_WAIT sockets held by one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseWaitGroup {
    /// The process.
    pub process: ProcessRef,
    /// How many CLOSE_WAIT sockets it holds.
    pub sockets: u64,
    /// Their socket cookies (to follow them over time).
    pub cookies: Vec<u64>,
    /// The process's soft open-files limit, when readable.
    pub open_files_limit: Option<u64>,
}

/// CLOSE_WAIT sockets split by who holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloseWaitSplit {
    /// Groups by owning process, most sockets first.
    pub groups: Vec<CloseWaitGroup>,
    /// CLOSE_WAIT children still in an accept queue (inode 0 on a listening port): the client
    /// gave up before the application accepted them. Not a leak.
    pub queued: u64,
    /// CLOSE_WAIT sockets whose owner is unknown (not looked up, or not readable).
    pub unowned: u64,
    /// The unowned sockets grouped by the user that owns them (the socket's uid, which the
    /// kernel reports even when that user's processes cannot be read), most sockets first.
    pub unowned_by_uid: Vec<UnownedCloseWait>,
}

/// CLOSE_WAIT sockets of one user whose holding process is unknown: not looked up
/// (`--no-processes`) or not readable (another user's, without privileges).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnownedCloseWait {
    /// The sockets' owner uid; `None` from recordings made before it was kept.
    pub uid: Option<u32>,
    /// How many CLOSE_WAIT sockets.
    pub sockets: u64,
    /// Their socket cookies (to follow them over time).
    pub cookies: Vec<u64>,
}

/// The CLOSE_WAIT sockets of a sample, grouped by owning process.
pub fn close_wait(sample: &Sample) -> CloseWaitSplit {
    let mut split = CloseWaitSplit::default();
    let Some(summary) = sample.tcp_summary.as_ref() else {
        return split;
    };
    let listening: HashSet<u16> = sample.tcp_listeners.iter().flatten().map(|listener| listener.local_port).collect();
    let mut by_pid: BTreeMap<u32, CloseWaitGroup> = BTreeMap::new();
    let mut by_uid: BTreeMap<Option<u32>, UnownedCloseWait> = BTreeMap::new();
    for socket in &summary.close_wait {
        if socket.inode == 0 && listening.contains(&socket.local_port) {
            split.queued += 1;
            continue;
        }
        let owners = owners(sample, socket.inode);
        if owners.is_empty() {
            split.unowned += 1;
            let group = by_uid.entry(socket.uid).or_insert(UnownedCloseWait {
                uid: socket.uid,
                sockets: 0,
                cookies: Vec::new(),
            });
            group.sockets += 1;
            group.cookies.push(socket.cookie);
        }
        for process in owners {
            let limit = sample.processes.as_ref().and_then(|table| table.open_files_limit.get(&process.pid).copied());
            let group = by_pid.entry(process.pid).or_insert_with(|| CloseWaitGroup {
                process,
                sockets: 0,
                cookies: Vec::new(),
                open_files_limit: limit,
            });
            group.sockets += 1;
            group.cookies.push(socket.cookie);
        }
    }
    split.groups = by_pid.into_values().collect();
    split.groups.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.process.pid.cmp(&b.process.pid)));
    split.unowned_by_uid = by_uid.into_values().collect();
    split.unowned_by_uid.sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.uid.cmp(&b.uid)));
    split
}

/// The states of one process's sockets, in the columns the States view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStates {
    /// The process.
    pub process: ProcessRef,
    /// ESTABLISHED sockets.
    pub established: u64,
    /// CLOSE_WAIT sockets.
    pub close_wait: u64,
    /// SYN_SENT sockets.
    pub syn_sent: u64,
    /// FIN_WAIT1 and FIN_WAIT2 sockets.
    pub fin_wait: u64,
    /// Sockets in any other state.
    pub other: u64,
}

impl ProcessStates {
    /// Every socket of the process.
    pub fn total(&self) -> u64 {
        self.established + self.close_wait + self.syn_sent + self.fin_wait + self.other
    }
}

/// Socket states per owning process over every collected TCP socket, busiest first; `None`
/// when the sockets were not collected one by one.
pub fn per_process(sample: &Sample) -> Option<Vec<ProcessStates>> {
    let connections = sample.connections.as_ref()?;
    let owners = sample.processes.as_ref().map(|table| &table.owners);
    let mut by_pid: HashMap<u32, ProcessStates> = HashMap::new();
    for connection in connections {
        let Some(processes) = owners.and_then(|owners| owners.get(&connection.inode)) else {
            continue;
        };
        for process in processes {
            let row = by_pid.entry(process.pid).or_insert_with(|| ProcessStates {
                process: process.clone(),
                established: 0,
                close_wait: 0,
                syn_sent: 0,
                fin_wait: 0,
                other: 0,
            });
            match connection.state {
                TcpState::Established => row.established += 1,
                TcpState::CloseWait => row.close_wait += 1,
                TcpState::SynSent => row.syn_sent += 1,
                TcpState::FinWait1 | TcpState::FinWait2 => row.fin_wait += 1,
                _ => row.other += 1,
            }
        }
    }
    let mut rows: Vec<ProcessStates> = by_pid.into_values().collect();
    rows.sort_by(|a, b| b.total().cmp(&a.total()).then(a.process.pid.cmp(&b.process.pid)));
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::{Connection, Family, ProcessTable};

    fn connection(state: TcpState, inode: u64) -> Connection {
        let address = "127.0.0.1".parse().expect("ip");
        Connection {
            family: Family::Ipv4,
            state,
            local_address: address,
            local_port: 40000,
            remote_address: address,
            remote_port: 80,
            recv_q: 0,
            send_q: 0,
            inode,
            uid: 0,
            cookie: inode,
            retrans: 0,
            timer: None,
            tcp_info: None,
            memory: None,
        }
    }

    #[test]
    fn states_are_counted_per_owning_process_busiest_first() {
        let nginx = ProcessRef { pid: 10, command: "nginx".into() };
        let app = ProcessRef { pid: 20, command: "app".into() };
        let mut table = ProcessTable::default();
        table.owners.insert(1, vec![nginx.clone()]);
        table.owners.insert(2, vec![app.clone()]);
        table.owners.insert(3, vec![app.clone()]);
        table.owners.insert(4, vec![app.clone()]);
        let sample = Sample {
            processes: Some(table),
            connections: Some(vec![
                connection(TcpState::Established, 1),
                connection(TcpState::CloseWait, 2),
                connection(TcpState::CloseWait, 3),
                connection(TcpState::FinWait2, 4),
                connection(TcpState::TimeWait, 0),
            ]),
            ..Sample::default()
        };
        let rows = per_process(&sample).expect("connections were collected");
        assert_eq!(rows.len(), 2, "the TIME_WAIT socket has no owner");
        assert_eq!((rows[0].process.pid, rows[0].close_wait, rows[0].fin_wait, rows[0].total()), (20, 2, 1, 3));
        assert_eq!((rows[1].process.pid, rows[1].established), (10, 1));
        assert_eq!(per_process(&Sample::default()), None);
    }
}
