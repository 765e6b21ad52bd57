//! Every netlink decoder on real replies captured from this machine's kernel (for sockets the
//! test opens on loopback, and the interfaces there are), mutated, and on random bytes.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener};

use sockscope::collect::ns::decode::{self, Dump};
use sockscope::collect::ns::netlink::BatchEnd;

use super::harness::{cases, mutate_bytes_n, run};

/// Sockets of every kind the dumps report, held open while replies are captured.
struct Sockets {
    _listeners: Vec<TcpListener>,
    _streams: Vec<TcpStream>,
    _udp: Vec<UdpSocket>,
    _unix: Vec<UnixListener>,
}

fn open_sockets() -> Sockets {
    let v4 = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let v6 = TcpListener::bind("[::1]:0").ok();
    let mut client = TcpStream::connect(v4.local_addr().expect("address")).expect("connect");
    let (mut accepted, _) = v4.accept().expect("accept");
    client.write_all(&[1u8; 10_000]).expect("write");
    let mut received = vec![0u8; 10_000];
    accepted.read_exact(&mut received).expect("read");
    let waiting = TcpStream::connect(v4.local_addr().expect("address")).expect("a connection left in the queue");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
    udp.send_to(b"x", udp.local_addr().expect("address")).expect("udp send");
    let name = format!("sockscope-fuzz-{}", std::process::id());
    let abstract_name = UnixAddr::from_abstract_name(name.as_bytes()).expect("abstract name");
    let unix = UnixListener::bind_addr(&abstract_name).expect("bind abstract UNIX listener");
    Sockets {
        _listeners: std::iter::once(v4).chain(v6).collect(),
        _streams: vec![client, accepted, waiting],
        _udp: vec![udp],
        _unix: vec![unix],
    }
}

/// Reply messages as `(type, body)`.
type Replies = Vec<(u16, Vec<u8>)>;

/// Real replies of every dump, captured while the test's sockets are open.
fn captured() -> Vec<(Dump, Replies)> {
    let _sockets = open_sockets();
    [Dump::TcpListeners, Dump::TcpAllStates, Dump::Udp, Dump::UnixListeners, Dump::Links]
        .into_iter()
        .map(|dump| {
            let replies = decode::capture(dump).unwrap_or_else(|error| panic!("{dump:?} dump: {error}"));
            assert!(!replies.is_empty(), "{dump:?}: the kernel sent no reply");
            (dump, replies)
        })
        .collect()
}

/// Decodes one body with the decoder of `dump`, checking what the decoder promises; returns
/// whether it was accepted.
fn decode_as(dump: Dump, kind: u16, body: &[u8]) -> bool {
    match dump {
        Dump::TcpListeners => decode::tcp_listener(kind, body).map(|listener| {
            assert_eq!(listener.local_port, u16::from_be_bytes([body[4], body[5]]));
        }),
        Dump::Udp => decode::udp_socket(kind, body).map(|_| assert!(body.len() >= 72)),
        Dump::UnixListeners => decode::unix_listener(body).map(|_| ()),
        Dump::Links => decode::link(body).map(|link| assert!(!link.name.is_empty())),
        Dump::TcpAllStates => {
            let dump = decode::tcp_all_states([(kind, body)], Some((1024, 65535)), &HashSet::new());
            assert_eq!(dump.summary.states.total() + dump.rejected, 1);
            (dump.rejected == 0).then_some(())
        }
    }
    .is_some()
}

#[test]
fn real_replies_decode_and_mutated_ones_never_panic() {
    let captured = captured();
    for (dump, replies) in &captured {
        let accepted = replies.iter().filter(|(kind, body)| decode_as(*dump, *kind, body)).count();
        assert!(accepted > 0, "{dump:?}: no real reply decodes");
    }
    run("netlink replies", cases(20_000), |rng| {
        let (dump, replies) = rng.pick(&captured);
        let (kind, body) = rng.pick(replies);
        let mut body = body.clone();
        let rounds = 1 + rng.below(8);
        mutate_bytes_n(rng, &mut body, rounds);
        let kind = if rng.chance(1, 20) { rng.next_u64() as u16 } else { *kind };
        decode_as(*dump, kind, &body);
    });
}

#[test]
fn random_bytes_never_panic_a_decoder() {
    let dumps = [Dump::TcpListeners, Dump::TcpAllStates, Dump::Udp, Dump::UnixListeners, Dump::Links];
    run("netlink random bytes", cases(20_000), |rng| {
        let len = rng.below(200);
        let mut body = rng.bytes(len);
        // Half the time, a plausible start: an address family the decoders accept.
        if rng.chance(1, 2) && !body.is_empty() {
            body[0] = *rng.pick(&[1, 2, 10]);
        }
        decode_as(*rng.pick(&dumps), 20, &body);
    });
}

/// A datagram of netlink messages around `bodies`, as the kernel frames a dump batch.
fn datagram(bodies: &[(u16, Vec<u8>)], sequence: u32, flags: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (kind, body) in bodies {
        bytes.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(body);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
    }
    bytes
}

/// `NLM_F_MULTI | NLM_F_DUMP_INTR` and `NLM_F_MULTI`.
const INTERRUPTED: u16 = 0x2 | 0x10;
const MULTI: u16 = 0x2;
const NLMSG_DONE: u16 = 3;

#[test]
fn datagrams_are_framed_and_an_interrupted_dump_is_flagged() {
    let captured = captured();
    let all: Replies = captured.iter().flat_map(|(_, replies)| replies.iter().cloned()).collect();
    run("netlink datagrams", cases(5_000), |rng| {
        let mut bodies: Vec<(u16, Vec<u8>)> = (0..1 + rng.below(6)).map(|_| rng.pick(&all).clone()).collect();
        let done = rng.chance(1, 2);
        if done {
            bodies.push((NLMSG_DONE, vec![0; 4]));
        }
        let interrupted = rng.chance(1, 3);
        let whole = datagram(&bodies, 7, if interrupted { INTERRUPTED } else { MULTI });
        let framed = decode::datagram(&whole, 7);
        assert_eq!(framed.messages.len(), bodies.len() - usize::from(done));
        assert_eq!(framed.stats.interrupted, interrupted, "NLM_F_DUMP_INTR is kept");
        assert_eq!(framed.end, if done { BatchEnd::Done } else { BatchEnd::More });
        let mut mutated = whole.clone();
        let rounds = 1 + rng.below(6);
        mutate_bytes_n(rng, &mut mutated, rounds);
        let framed = decode::datagram(&mutated, 7);
        assert!(framed.messages.iter().all(|(_, body)| body.len() + 16 <= mutated.len()));
        assert!(framed.stats.messages >= framed.messages.len() as u64);
    });
}
