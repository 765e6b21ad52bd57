//! A bare sock_diag dump that only counts messages: the floor the benchmarks compare against.
//! It asks the kernel for TCP sockets (NETLINK_SOCK_DIAG, `inet_diag_req_v2`, no extensions,
//! so no `tcp_info` nor memory attributes), one dump per family like `ss` does, and counts the
//! `nlmsghdr`s until NLMSG_DONE without decoding anything else.

use std::io::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Every state `ss -a` and sockscope ask for: ESTABLISHED to CLOSING (bits 0 to 11); the kernel
/// adds request sockets (NEW_SYN_RECV) for SYN_RECV. Not BOUND_INACTIVE (bit 13), whose extra walk
/// of the bind hash neither does.
pub const ALL_STATES: u32 = 0xfff;
/// TCP_TIME_WAIT only.
pub const TIME_WAIT: u32 = 1 << 6;

const NETLINK_SOCK_DIAG: i32 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HEADER: usize = 16;
/// The kernel sends a dump in messages of at most 32 KiB.
const BUFFER: usize = 32 * 1024;
const RECEIVE_BUFFER: libc::c_int = 1024 * 1024;

/// The number of TCP sockets in `states` (a bit per TCP state) in the calling thread's network
/// namespace: an IPv4 dump, then an IPv6 dump, on one netlink socket.
pub fn count_tcp(states: u32) -> Result<u64> {
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let raw = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, NETLINK_SOCK_DIAG) };
    if raw < 0 {
        return Err(Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor we just opened and own.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    // The receive buffer `ss` asks for (iproute2's rtnl_open), so both dumps pace alike.
    let size: libc::c_int = RECEIVE_BUFFER;
    // SAFETY: setsockopt on our own socket with an int option of the right size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    let mut buffer = vec![0u8; BUFFER];
    let mut total = 0;
    for family in [libc::AF_INET as u8, libc::AF_INET6 as u8] {
        send_request(&socket, family, states)?;
        total += count_replies(&socket, &mut buffer)?;
    }
    Ok(total)
}

/// An `nlmsghdr` followed by an `inet_diag_req_v2` asking for every socket of one family.
fn send_request(socket: &OwnedFd, family: u8, states: u32) -> Result<()> {
    let mut message = [0u8; HEADER + 56];
    let length = message.len() as u32;
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    message[0..4].copy_from_slice(&length.to_ne_bytes());
    message[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    message[6..8].copy_from_slice(&flags.to_ne_bytes());
    message[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // inet_diag_req_v2: family, protocol, extensions (none), pad, states; the socket id is zero.
    message[HEADER] = family;
    message[HEADER + 1] = libc::IPPROTO_TCP as u8;
    message[HEADER + 4..HEADER + 8].copy_from_slice(&states.to_ne_bytes());
    // SAFETY: an all-zero sockaddr_nl is valid (the kernel as destination).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: the message and address are valid for the lengths passed.
    let sent = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 { Err(Error::last_os_error()) } else { Ok(()) }
}

/// Receives one dump's replies, counting the messages until NLMSG_DONE.
fn count_replies(socket: &OwnedFd, buffer: &mut [u8]) -> Result<u64> {
    let mut count = 0;
    loop {
        // SAFETY: the buffer is valid for its length.
        let received = unsafe { libc::recv(socket.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len(), 0) };
        if received < 0 {
            return Err(Error::last_os_error());
        }
        let mut rest = &buffer[..received as usize];
        while rest.len() >= HEADER {
            let length = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            match kind {
                NLMSG_DONE => return Ok(count),
                NLMSG_ERROR => return Err(Error::other("the kernel answered the dump with NLMSG_ERROR")),
                _ => count += 1,
            }
            if length < HEADER {
                return Err(Error::other("a netlink message shorter than its header"));
            }
            // Messages are padded to 4 bytes.
            rest = rest.get(length.next_multiple_of(4)..).unwrap_or_default();
        }
    }
}
