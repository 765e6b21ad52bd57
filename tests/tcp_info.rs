//! `tcp_info` parsed by length: a 280-byte payload captured on Linux 6.18, the same payload
//! cut to the 232 bytes of Linux 5.4 and the 104 bytes of 2.6-era kernels, and a live one
//! compared with `ss -ti`.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;

use sockscope::sample::TcpInfo;

fn captured() -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tcp_info/linux-6.18-established.bin"))
        .expect("fixture")
}

#[test]
fn a_280_byte_payload_from_linux_6_18() {
    let bytes = captured();
    assert_eq!(bytes.len(), 280);
    let info = TcpInfo::parse(&bytes);
    assert_eq!(info.state, Some(1), "ESTABLISHED");
    assert_eq!(info.options, Some(7), "timestamps, SACK, window scaling");
    assert_eq!(info.rto, Some(204_000));
    assert_eq!(info.snd_mss, Some(47_616));
    assert_eq!(info.rtt, Some(27));
    assert_eq!(info.snd_cwnd, Some(13));
    assert_eq!(info.bytes_acked, Some(100_001));
    assert_eq!(info.bytes_received, Some(10));
    assert_eq!((info.segs_out, info.segs_in), (Some(6), Some(4)));
    assert_eq!(info.bytes_sent, Some(100_000));
    assert_eq!(info.snd_wnd, Some(95_232));
    assert!(info.total_rto_time.is_some(), "the last field of the 6.7+ layout");
}

#[test]
fn the_same_payload_as_a_5_4_kernel_sends_it() {
    let bytes = captured();
    let full = TcpInfo::parse(&bytes);
    let info = TcpInfo::parse(&bytes[..232]);
    assert_eq!(info.payload_len, 232);
    assert_eq!(info.snd_wnd, full.snd_wnd, "snd_wnd ends at byte 232");
    assert_eq!(info.bytes_sent, full.bytes_sent);
    assert_eq!(info.rcv_wnd, None);
    assert_eq!(info.total_rto, None);
}

#[test]
fn the_same_payload_as_a_2_6_kernel_sends_it() {
    let bytes = captured();
    let info = TcpInfo::parse(&bytes[..104]);
    assert_eq!(info.rtt, Some(27));
    assert_eq!(info.snd_cwnd, Some(13));
    assert_eq!(info.total_retrans, Some(0));
    assert_eq!(info.pacing_rate, None);
    assert_eq!(info.bytes_acked, None);
    assert_eq!(info.delivery_rate, None);
}

#[test]
fn every_truncation_parses_without_panic_and_keeps_the_prefix() {
    let bytes = captured();
    let full = TcpInfo::parse(&bytes);
    for len in 0..=bytes.len() {
        let info = TcpInfo::parse(&bytes[..len]);
        if len >= 72 {
            assert_eq!(info.rtt, full.rtt, "len {len}");
        } else {
            assert_eq!(info.rtt, None, "len {len}");
        }
    }
}

#[test]
fn a_live_connection_agrees_with_ss() {
    let server = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = TcpStream::connect(server.local_addr().expect("addr")).expect("connect");
    let (mut accepted, _) = server.accept().expect("accept");
    client.write_all(&[1u8; 4096]).expect("write");
    let mut buffer = [0u8; 4096];
    accepted.read_exact(&mut buffer).expect("read");
    let mut raw = vec![0u8; 512];
    let mut len = raw.len() as libc::socklen_t;
    // SAFETY: a valid socket and a buffer of `len` bytes.
    let status = unsafe {
        libc::getsockopt(client.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_INFO, raw.as_mut_ptr().cast(), &mut len)
    };
    assert_eq!(status, 0);
    let info = TcpInfo::parse(&raw[..len as usize]);
    let local = client.local_addr().expect("addr").port();
    let filter = format!("sport = :{local}");
    let ss = common::run_ok(std::process::Command::new("ss").args(["-Htni", &filter]));
    let field = |name: &str| -> Option<u32> {
        let start = ss.find(&format!(" {name}:"))? + name.len() + 2;
        ss[start..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    };
    assert_eq!(info.snd_cwnd, field("cwnd"), "{ss}");
    assert_eq!(info.snd_mss, field("mss"), "{ss}");
    assert_eq!(info.bytes_acked.map(|b| b as u32), field("bytes_acked"), "{ss}");
}
