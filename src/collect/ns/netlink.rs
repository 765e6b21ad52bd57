//! The one netlink dump loop: send a request, read replies into one reused buffer, hand each
//! message's payload to a decoder, stop at `NLMSG_DONE`.
//!
//! A message the decoder cannot read is counted and skipped; it never ends the dump. An
//! `NLMSG_ERROR` reply ends that dump with the kernel's errno.

use std::io;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};
use netlink_sys::Socket;

const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const NLM_F_DUMP_INTR: u16 = 16;

/// Receive buffer size: 32 KiB is what the kernel fills per dump batch; larger messages make
/// the buffer grow (see [`DumpSocket::recv_batch`]).
const INITIAL_BUFFER: usize = 64 * 1024;

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The socket could not be opened, or a send/receive failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The kernel answered the request with an error.
    #[error("{}", io::Error::from_raw_os_error(*.0))]
    Kernel(i32),
}

impl DumpError {
    /// The errno behind the failure, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            DumpError::Io(error) => error.raw_os_error(),
            DumpError::Kernel(errno) => Some(*errno),
        }
    }
}

/// What a finished dump saw besides the messages it delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Messages handed to the decoder.
    pub messages: u64,
    /// Messages the decoder rejected, or whose header was inconsistent.
    pub malformed: u64,
    /// The kernel flagged the dump as interrupted by concurrent changes (`NLM_F_DUMP_INTR`).
    pub interrupted: bool,
}

/// A netlink socket of one protocol with its receive buffer, reused across dumps.
///
/// A netlink socket belongs to the network namespace it was created in, so create it on the
/// thread (and after the `setns`) that should observe that namespace.
pub struct DumpSocket {
    socket: Socket,
    buffer: Vec<u8>,
    sequence: u32,
}

impl DumpSocket {
    /// Opens a netlink socket of `protocol` (`NETLINK_SOCK_DIAG`, `NETLINK_ROUTE`).
    pub fn open(protocol: isize) -> io::Result<DumpSocket> {
        let mut socket = Socket::new(protocol)?;
        socket.bind_auto()?;
        socket.connect(&netlink_sys::SocketAddr::new(0, 0))?;
        Ok(DumpSocket { socket, buffer: vec![0; INITIAL_BUFFER], sequence: 0 })
    }

    /// Sends `payload` as a dump request and calls `decode(message_type, body)` for every reply
    /// message until the kernel says the dump is done. `decode` returns `false` for a message
    /// it could not read; such messages are counted in [`DumpStats::malformed`].
    pub fn dump<P>(&mut self, payload: P, mut decode: impl FnMut(u16, &[u8]) -> bool) -> Result<DumpStats, DumpError>
    where
        P: NetlinkSerializable + std::fmt::Debug,
    {
        self.sequence = self.sequence.wrapping_add(1);
        self.send_request(payload)?;
        self.read_dump(&mut decode)
    }

    /// Reads the replies of the request just sent until `NLMSG_DONE`.
    fn read_dump(&mut self, decode: &mut impl FnMut(u16, &[u8]) -> bool) -> Result<DumpStats, DumpError> {
        let mut stats = DumpStats::default();
        loop {
            let len = self.recv_batch()?;
            match walk_batch(&self.buffer[..len], self.sequence, &mut stats, decode) {
                BatchEnd::More => {}
                BatchEnd::Done => return Ok(stats),
                BatchEnd::Error(errno) => return Err(DumpError::Kernel(errno)),
            }
        }
    }

    /// Like [`DumpSocket::dump`] for a request this crate's message types cannot spell: the
    /// body (`message_type` and its encoded payload) is sent as given.
    pub fn dump_bytes(
        &mut self,
        message_type: u16,
        body: &[u8],
        mut decode: impl FnMut(u16, &[u8]) -> bool,
    ) -> Result<DumpStats, DumpError> {
        self.send_bytes(message_type, NLM_F_REQUEST | NLM_F_DUMP, body)?;
        self.read_dump(&mut decode)
    }

    /// Sends one request that is not a dump (an exact lookup) and hands its single reply to
    /// `decode`. The kernel answers with one message or an error (`ENOENT`: no such socket).
    pub fn request_one(
        &mut self,
        message_type: u16,
        body: &[u8],
        mut decode: impl FnMut(u16, &[u8]) -> bool,
    ) -> Result<DumpStats, DumpError> {
        self.send_bytes(message_type, NLM_F_REQUEST, body)?;
        let mut stats = DumpStats::default();
        loop {
            let len = self.recv_batch()?;
            match walk_batch(&self.buffer[..len], self.sequence, &mut stats, &mut decode) {
                BatchEnd::Error(errno) => return Err(DumpError::Kernel(errno)),
                _ if stats.messages > 0 => return Ok(stats),
                _ => {}
            }
        }
    }

    fn send_bytes(&mut self, message_type: u16, flags: u16, body: &[u8]) -> io::Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let length = u32::try_from(NLMSG_HDRLEN + body.len()).map_err(|_| io::Error::other("request too large"))?;
        let mut request = Vec::with_capacity(NLMSG_HDRLEN + body.len());
        request.extend_from_slice(&length.to_ne_bytes());
        request.extend_from_slice(&message_type.to_ne_bytes());
        request.extend_from_slice(&flags.to_ne_bytes());
        request.extend_from_slice(&self.sequence.to_ne_bytes());
        request.extend_from_slice(&0u32.to_ne_bytes());
        request.extend_from_slice(body);
        self.socket.send(&request, 0)?;
        Ok(())
    }

    fn send_request<P>(&mut self, payload: P) -> io::Result<()>
    where
        P: NetlinkSerializable + std::fmt::Debug,
    {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.sequence;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(payload));
        message.finalize();
        let mut request = vec![0u8; message.buffer_len()];
        message.serialize(&mut request);
        self.socket.send(&request, 0)?;
        Ok(())
    }

    /// Reads one datagram into the buffer, growing the buffer first when the datagram is larger
    /// (peeked with `MSG_TRUNC`), so a message is never cut.
    fn recv_batch(&mut self) -> io::Result<usize> {
        loop {
            let peeked = self.recv_into(libc_flags::MSG_PEEK | libc_flags::MSG_TRUNC)?;
            if peeked > self.buffer.len() {
                self.buffer.resize(peeked.next_power_of_two(), 0);
                continue;
            }
            return self.recv_into(0);
        }
    }

    fn recv_into(&mut self, flags: i32) -> io::Result<usize> {
        loop {
            let mut window: &mut [u8] = &mut self.buffer[..];
            match self.socket.recv(&mut window, flags) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }
}

/// The flags sockscope passes to `recv`, spelled out so no libc dependency is needed.
mod libc_flags {
    pub const MSG_PEEK: i32 = 0x02;
    pub const MSG_TRUNC: i32 = 0x20;
}

/// How a batch of messages ended.
#[derive(Debug, PartialEq, Eq)]
pub enum BatchEnd {
    /// The dump continues in the next datagram.
    More,
    /// `NLMSG_DONE` was seen.
    Done,
    /// `NLMSG_ERROR` with this (positive) errno.
    Error(i32),
}

/// Walks the messages of one received datagram.
pub(crate) fn walk_batch(
    mut batch: &[u8],
    sequence: u32,
    stats: &mut DumpStats,
    decode: &mut impl FnMut(u16, &[u8]) -> bool,
) -> BatchEnd {
    while batch.len() >= NLMSG_HDRLEN {
        let length = u32::from_ne_bytes([batch[0], batch[1], batch[2], batch[3]]) as usize;
        let message_type = u16::from_ne_bytes([batch[4], batch[5]]);
        let flags = u16::from_ne_bytes([batch[6], batch[7]]);
        let message_sequence = u32::from_ne_bytes([batch[8], batch[9], batch[10], batch[11]]);
        if length < NLMSG_HDRLEN || length > batch.len() {
            // The rest of the datagram cannot be framed; count it once and move on.
            stats.malformed += 1;
            return BatchEnd::More;
        }
        let body = &batch[NLMSG_HDRLEN..length];
        if flags & NLM_F_DUMP_INTR != 0 {
            stats.interrupted = true;
        }
        if message_sequence == sequence {
            match message_type {
                NLMSG_DONE => return BatchEnd::Done,
                NLMSG_ERROR => {
                    let errno = body.get(..4).and_then(|b| b.try_into().ok()).map(i32::from_ne_bytes).unwrap_or(0);
                    if errno != 0 {
                        return BatchEnd::Error(errno.saturating_neg());
                    }
                }
                NLMSG_NOOP | NLMSG_OVERRUN => {}
                _ => {
                    stats.messages += 1;
                    if !decode(message_type, body) {
                        stats.malformed += 1;
                    }
                }
            }
        }
        let aligned = (length + 3) & !3;
        batch = batch.get(aligned..).unwrap_or(&[]);
    }
    BatchEnd::More
}

/// Iterates the netlink attributes (`struct nlattr`/`rtattr`) of a message body, yielding
/// `(type, payload)`; stops at the first attribute whose length is inconsistent and then
/// reports it through [`Attributes::malformed`].
pub(crate) struct Attributes<'a> {
    rest: &'a [u8],
    malformed: bool,
}

impl<'a> Attributes<'a> {
    /// Attributes packed in `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Attributes<'a> {
        Attributes { rest: bytes, malformed: false }
    }

    /// Whether iteration stopped on an inconsistent attribute.
    pub(crate) fn malformed(&self) -> bool {
        self.malformed
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.len() < 4 {
            if !self.rest.is_empty() {
                self.malformed = true;
                self.rest = &[];
            }
            return None;
        }
        let length = u16::from_ne_bytes([self.rest[0], self.rest[1]]) as usize;
        // The top two bits are NLA_F_NESTED and NLA_F_NET_BYTEORDER.
        let kind = u16::from_ne_bytes([self.rest[2], self.rest[3]]) & 0x3fff;
        if length < 4 || length > self.rest.len() {
            self.malformed = true;
            self.rest = &[];
            return None;
        }
        let payload = &self.rest[4..length];
        let aligned = (length + 3) & !3;
        self.rest = self.rest.get(aligned..).unwrap_or(&[]);
        Some((kind, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(message_type: u16, sequence: u32, body: &[u8]) -> Vec<u8> {
        let length = NLMSG_HDRLEN + body.len();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(length as u32).to_ne_bytes());
        bytes.extend_from_slice(&message_type.to_ne_bytes());
        bytes.extend_from_slice(&0u16.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(body);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    #[test]
    fn messages_are_delivered_until_done() {
        let mut batch = message(20, 7, &[1, 2, 3]);
        batch.extend(message(20, 7, &[4]));
        batch.extend(message(NLMSG_DONE, 7, &[0, 0, 0, 0]));
        let mut seen = Vec::new();
        let mut stats = DumpStats::default();
        let end = walk_batch(&batch, 7, &mut stats, &mut |kind, body| {
            seen.push((kind, body.to_vec()));
            true
        });
        assert_eq!(end, BatchEnd::Done);
        assert_eq!(seen, vec![(20, vec![1, 2, 3]), (20, vec![4])]);
        assert_eq!(stats.messages, 2);
        assert_eq!(stats.malformed, 0);
    }

    #[test]
    fn a_rejected_message_is_counted_and_skipped() {
        let mut batch = message(20, 1, &[9]);
        batch.extend(message(20, 1, &[1]));
        let mut stats = DumpStats::default();
        let mut good = 0;
        let end = walk_batch(&batch, 1, &mut stats, &mut |_, body| {
            good += usize::from(body[0] == 1);
            body[0] == 1
        });
        assert_eq!(end, BatchEnd::More);
        assert_eq!(good, 1);
        assert_eq!(stats.malformed, 1);
    }

    #[test]
    fn a_truncated_message_is_counted_once_and_ends_the_batch() {
        let mut batch = message(20, 1, &[1, 2, 3, 4, 5, 6, 7, 8]);
        batch.truncate(20);
        let mut stats = DumpStats::default();
        let end = walk_batch(&batch, 1, &mut stats, &mut |_, _| panic!("must not decode"));
        assert_eq!(end, BatchEnd::More);
        assert_eq!(stats.malformed, 1);
    }

    #[test]
    fn an_error_reply_ends_the_dump_with_its_errno() {
        let batch = message(NLMSG_ERROR, 3, &(-2i32).to_ne_bytes());
        let mut stats = DumpStats::default();
        let end = walk_batch(&batch, 3, &mut stats, &mut |_, _| true);
        assert_eq!(end, BatchEnd::Error(2));
    }

    #[test]
    fn an_error_reply_with_the_lowest_errno_ends_the_dump_without_overflow() {
        let batch = message(NLMSG_ERROR, 3, &i32::MIN.to_ne_bytes());
        let end = walk_batch(&batch, 3, &mut DumpStats::default(), &mut |_, _| true);
        assert_eq!(end, BatchEnd::Error(i32::MAX));
    }

    #[test]
    fn replies_to_another_request_are_ignored() {
        let batch = message(20, 99, &[1]);
        let mut stats = DumpStats::default();
        walk_batch(&batch, 1, &mut stats, &mut |_, _| panic!("must not decode"));
        assert_eq!(stats.messages, 0);
    }

    #[test]
    fn attributes_are_split_and_a_bad_length_stops_them() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&6u16.to_ne_bytes());
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.extend_from_slice(&[0xaa, 0xbb, 0, 0]);
        bytes.extend_from_slice(&40u16.to_ne_bytes());
        bytes.extend_from_slice(&7u16.to_ne_bytes());
        let mut attributes = Attributes::new(&bytes);
        assert_eq!(attributes.next(), Some((2, &[0xaa, 0xbb][..])));
        assert_eq!(attributes.next(), None);
        assert!(attributes.malformed());
    }
}
