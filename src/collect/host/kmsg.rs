//! Kernel log lines that are evidence for the advisor, read from `/dev/kmsg`.
//!
//! The kernel prints a few lines when networking limits are hit: "Possible SYN flooding on port
//! ...", "time wait bucket table overflow", "too many orphaned sockets", "out of memory --
//! consider tuning tcp_mem", "nf_conntrack: table full", "dropped over-mtu packet". The reader
//! keeps `/dev/kmsg` open and reads only what is new at each sample. Reading may need
//! CAP_SYSLOG (`kernel.dmesg_restrict`); without it the source is unavailable, nothing fails.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::sample::{KernelEvent, KernelEventKind};

/// The patterns, matched as substrings.
const PATTERNS: [(&str, KernelEventKind); 6] = [
    ("Possible SYN flooding on port", KernelEventKind::SynFlood),
    ("time wait bucket table overflow", KernelEventKind::TimeWaitOverflow),
    ("too many orphaned sockets", KernelEventKind::TooManyOrphans),
    ("consider tuning tcp_mem", KernelEventKind::TcpMemory),
    ("nf_conntrack: table full", KernelEventKind::ConntrackFull),
    ("dropped over-mtu packet", KernelEventKind::OverMtu),
];

/// How many events are kept.
const KEEP: usize = 64;

/// An open `/dev/kmsg` and the events seen so far.
#[derive(Debug)]
pub struct KernelLog {
    path: PathBuf,
    file: Option<File>,
    events: VecDeque<KernelEvent>,
}

impl KernelLog {
    /// A reader of `path` (normally `/dev/kmsg`); nothing is opened yet.
    pub fn new(path: PathBuf) -> KernelLog {
        KernelLog { path, file: None, events: VecDeque::new() }
    }

    /// Reads what is new and returns every matching event seen so far (the newest
    /// [`KEEP`]).
    pub fn read(&mut self) -> std::io::Result<Vec<KernelEvent>> {
        if self.file.is_none() {
            let file = std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(&self.path)?;
            self.file = Some(file);
        }
        let mut record = vec![0u8; 8192];
        while let Some(file) = self.file.as_mut() {
            match file.read(&mut record) {
                Ok(0) => break,
                Ok(length) => {
                    if let Some(event) = parse_record(&record[..length]) {
                        if self.events.len() == KEEP {
                            self.events.pop_front();
                        }
                        self.events.push_back(event);
                    }
                }
                // Older records were overwritten while we were away: reading continues.
                Err(error) if error.raw_os_error() == Some(EPIPE) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(self.events.iter().cloned().collect())
    }
}

const O_NONBLOCK: i32 = 0o4000;
const EPIPE: i32 = 32;

/// Parses one `/dev/kmsg` record (`pri,seq,usec,flags;message\n` plus continuation lines)
/// into an event when the message matches a pattern.
pub fn parse_record(record: &[u8]) -> Option<KernelEvent> {
    let text = String::from_utf8_lossy(record);
    let (header, rest) = text.split_once(';')?;
    let message = rest.lines().next()?.trim_end();
    let kind = PATTERNS.iter().find(|(pattern, _)| message.contains(pattern))?.1;
    let boot_micros = header.split(',').nth(2)?.parse().ok()?;
    Some(KernelEvent { kind, boot_micros, message: message.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_records_become_events() {
        let record = b"4,1234,987654321,-;TCP: request_sock_TCP: Possible SYN flooding on port 0.0.0.0:8080. Sending cookies.\n SUBSYSTEM=net\n";
        let event = parse_record(record).expect("a SYN flood line");
        assert_eq!(event.kind, KernelEventKind::SynFlood);
        assert_eq!(event.boot_micros, 987_654_321);
        assert!(event.message.ends_with("Sending cookies."));
        assert_eq!(
            parse_record(b"4,5,6,-;nf_conntrack: nf_conntrack: table full, dropping packet\n").map(|e| e.kind),
            Some(KernelEventKind::ConntrackFull)
        );
        assert!(parse_record(b"6,7,8,-;eth0: link up\n").is_none());
        assert!(parse_record(b"garbage").is_none());
    }

    #[test]
    fn the_live_kernel_log_can_be_read_when_permitted() {
        let mut log = KernelLog::new(PathBuf::from("/dev/kmsg"));
        match log.read() {
            Ok(events) => assert!(events.len() <= KEEP),
            Err(error) => assert!(matches!(error.kind(), ErrorKind::PermissionDenied | ErrorKind::NotFound), "{error}"),
        }
    }
}
