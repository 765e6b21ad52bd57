//! Network interfaces from rtnetlink (`RTM_GETLINK` dump): name, MTU, state, kind, master and
//! 64-bit counters.
//!
//! Interfaces come from netlink rather than `/sys/class/net`, because sysfs shows the network
//! namespace of whoever mounted it, not the namespace being inspected.

use netlink_packet_core::{NlasIterator, ParseableParametrized};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkHeader, LinkInfo, LinkMessage, State};

use super::netlink::{DumpError, DumpSocket, DumpStats};
use crate::sample::{Interface, InterfaceStats, Peer};

/// `RTM_NEWLINK`, the type of every link in a dump reply.
const RTM_NEWLINK: u16 = 16;
/// Size of `struct ifinfomsg`.
const IFINFOMSG_LEN: usize = 16;
/// The interface name attribute, decoded here: the crate rejects a name that is not UTF-8, and
/// the kernel accepts any bytes but `/`, `:` and whitespace.
const IFLA_IFNAME: u16 = 3;

/// Dumps every interface of the namespace, ordered by index.
pub(crate) fn interfaces(socket: &mut DumpSocket) -> Result<(Vec<Interface>, DumpStats), DumpError> {
    let mut interfaces = Vec::new();
    let request = RouteNetlinkMessage::GetLink(LinkMessage::default());
    let stats = socket.dump(request, |kind, body| {
        kind == RTM_NEWLINK && decode_link(body).map(|interface| interfaces.push(interface)).is_some()
    })?;
    interfaces.sort_by_key(|interface| interface.index);
    find_peers(socket, &mut interfaces);
    Ok((interfaces, stats))
}

/// The most other namespaces asked for veth peers in one sample (a host with more containers
/// shows the first ones' peers; every veth still shows its peer's index and namespace id).
const MAX_PEER_NAMESPACES: usize = 256;

/// Fills in each veth's peer: from this namespace's own list, or from a dump of the peer's
/// namespace by its id (`IFLA_TARGET_NETNSID`, Linux 4.20+; needs CAP_NET_ADMIN there). A
/// namespace that cannot be read leaves its peers unknown.
fn find_peers(socket: &mut DumpSocket, interfaces: &mut [Interface]) {
    let local: Vec<(u32, Peer)> =
        interfaces.iter().map(|i| (i.index, Peer { name: i.name.clone(), mtu: i.mtu })).collect();
    let mut elsewhere: std::collections::BTreeMap<i32, Vec<(u32, Peer)>> = std::collections::BTreeMap::new();
    for interface in interfaces.iter_mut().filter(|i| i.kind.as_deref() == Some("veth")) {
        let Some(index) = interface.link else { continue };
        let Some(id) = interface.link_netnsid else {
            interface.peer = local.iter().find(|(i, _)| *i == index).map(|(_, peer)| peer.clone());
            continue;
        };
        if !elsewhere.contains_key(&id) && elsewhere.len() < MAX_PEER_NAMESPACES {
            elsewhere.insert(id, links_in(socket, id));
        }
        let found = elsewhere.get(&id).and_then(|links| links.iter().find(|(i, _)| *i == index));
        interface.peer = found.map(|(_, peer)| peer.clone());
    }
}

/// Index, name and MTU of every link in the namespace this one knows as `id`; empty when it
/// cannot be read.
fn links_in(socket: &mut DumpSocket, id: i32) -> Vec<(u32, Peer)> {
    let mut message = LinkMessage::default();
    message.attributes.push(LinkAttribute::IfNetnsId(id));
    let mut links = Vec::new();
    let dumped = socket.dump(RouteNetlinkMessage::GetLink(message), |kind, body| {
        let link = (kind == RTM_NEWLINK).then(|| decode_link(body)).flatten();
        link.map(|link| links.push((link.index, Peer { name: link.name, mtu: link.mtu }))).is_some()
    });
    if dumped.is_err() {
        links.clear();
    }
    links
}

/// Decodes one `RTM_NEWLINK` body. Attributes the crate cannot parse are skipped one by one,
/// so an unusual attribute never hides the interface; a link without a name is rejected.
pub(crate) fn decode_link(body: &[u8]) -> Option<Interface> {
    let header = LinkHeader::parse(body).ok()?;
    let mut interface = Interface {
        name: String::new(),
        index: header.index,
        mtu: None,
        min_mtu: None,
        max_mtu: None,
        oper_state: "UNKNOWN".to_string(),
        admin_up: header.flags.contains(LinkFlags::Up),
        kind: None,
        master: None,
        link: None,
        link_netnsid: None,
        peer: None,
        stats: None,
    };
    for buffer in NlasIterator::new(body.get(IFINFOMSG_LEN..)?) {
        let Ok(buffer) = buffer else { break };
        if buffer.kind() == IFLA_IFNAME {
            interface.name = interface_name(buffer.value());
            continue;
        }
        let Ok(attribute) = LinkAttribute::parse_with_param(&buffer, header.interface_family) else {
            continue;
        };
        apply(&mut interface, attribute);
    }
    (!interface.name.is_empty()).then_some(interface)
}

/// An interface name as the kernel sends it (NUL-terminated), kept whatever its bytes.
fn interface_name(raw: &[u8]) -> String {
    let end = raw.iter().position(|byte| *byte == 0).unwrap_or(raw.len());
    crate::format::name_from_bytes(&raw[..end])
}

fn apply(interface: &mut Interface, attribute: LinkAttribute) {
    match attribute {
        LinkAttribute::Mtu(mtu) => interface.mtu = Some(mtu),
        LinkAttribute::MinMtu(mtu) => interface.min_mtu = Some(mtu),
        LinkAttribute::MaxMtu(mtu) => interface.max_mtu = Some(mtu),
        LinkAttribute::OperState(state) => interface.oper_state = oper_state_name(state),
        LinkAttribute::Controller(index) if index != 0 => interface.master = Some(index),
        LinkAttribute::Link(index) if index != 0 => interface.link = Some(index),
        LinkAttribute::LinkNetNsId(id) if id >= 0 => interface.link_netnsid = Some(id),
        LinkAttribute::LinkInfo(infos) => interface.kind = link_kind(&infos),
        LinkAttribute::Stats64(stats) => {
            interface.stats = Some(InterfaceStats {
                rx_packets: stats.rx_packets,
                tx_packets: stats.tx_packets,
                rx_bytes: stats.rx_bytes,
                tx_bytes: stats.tx_bytes,
                rx_errors: stats.rx_errors,
                tx_errors: stats.tx_errors,
                rx_dropped: stats.rx_dropped,
                tx_dropped: stats.tx_dropped,
                rx_missed_errors: stats.rx_missed_errors,
                rx_fifo_errors: stats.rx_fifo_errors,
                rx_over_errors: stats.rx_over_errors,
                tx_fifo_errors: stats.tx_fifo_errors,
            })
        }
        _ => {}
    }
}

/// The operational state as `ip link` prints it (RFC 2863 names).
fn oper_state_name(state: State) -> String {
    match state {
        State::Unknown => "UNKNOWN".to_string(),
        State::NotPresent => "NOTPRESENT".to_string(),
        State::Down => "DOWN".to_string(),
        State::LowerLayerDown => "LOWERLAYERDOWN".to_string(),
        State::Testing => "TESTING".to_string(),
        State::Dormant => "DORMANT".to_string(),
        State::Up => "UP".to_string(),
        State::Other(value) => format!("STATE{value}"),
        _ => "UNKNOWN".to_string(),
    }
}

fn link_kind(infos: &[LinkInfo]) -> Option<String> {
    infos.iter().find_map(|info| match info {
        LinkInfo::Kind(kind) => Some(match kind {
            InfoKind::Other(name) => name.clone(),
            known => known.to_string(),
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `RTM_NEWLINK` body: interface 7 with a name and an MTU of 1400.
    fn link_message(name: &[u8]) -> Vec<u8> {
        let mut body = vec![0u8; IFINFOMSG_LEN];
        body[4..8].copy_from_slice(&7i32.to_ne_bytes());
        for (kind, payload) in [(IFLA_IFNAME, [name, b"\0"].concat()), (4, 1400u32.to_ne_bytes().to_vec())] {
            body.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
            body.extend_from_slice(&kind.to_ne_bytes());
            body.extend_from_slice(&payload);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        body
    }

    #[test]
    fn a_name_that_is_not_utf8_keeps_its_interface() {
        let interface = decode_link(&link_message(b"\xff\xfe")).expect("the link is kept");
        assert_eq!((interface.name.as_str(), interface.index, interface.mtu), (r"\xff\xfe", 7, Some(1400)));
        assert_eq!(decode_link(&link_message(b"eth0")).map(|i| i.name), Some("eth0".to_string()));
        assert_eq!(decode_link(&link_message(b"")), None, "a link without a name is rejected");
    }
}
