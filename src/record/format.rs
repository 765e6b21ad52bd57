//! The recording format, version 1: what is on disk, byte for byte.
//!
//! A recording is a sequence of zstd frames, so `zstd -dc FILE | jq` reads it without
//! sockscope:
//!
//! 1. **Header**: a zstd *skippable* frame (magic `0x184D2A50`, a little-endian `u32` length,
//!    then that many bytes of JSON: [`Header`]). zstd skips it; sockscope reads it first.
//! 2. **Chunks**: each a regular zstd frame (level 3, with the frame checksum) holding up to
//!    [`ROUNDS_PER_CHUNK`] rounds, one JSON line per round (a `collect::Round`: its time and one
//!    observation per namespace, each a whole `Sample`). Each line's first member is
//!    `"crc32"`, the CRC-32 of the line as it reads without that member (see [`seal_line`]):
//!    the chunk being written has no CRC of its own yet, and a damaged byte there must not turn
//!    into a round that was never taken. The recorder flushes the compressor after every round,
//!    so a chunk still being written decodes up to its last whole round; consecutive rounds
//!    compress against each other within the chunk.
//! 3. **Index entries**: after each finished chunk, a skippable frame (magic `0x184D2A51`, length
//!    40) of little-endian fields: the chunk's offset and length (`u64`), the times of its first
//!    and last rounds (`i64` nanoseconds since the Unix epoch), its round count and the CRC-32 of
//!    its bytes (`u32`). A reader hops from chunk to chunk through the frame headers and learns
//!    each chunk's time span without decompressing it.
//!
//! The crash rule: whatever follows the last index entry is a chunk being written. A reader
//! takes its whole rounds and ignores the rest, so a recorder killed at any moment loses at
//! most the round it was writing; a recorder reopening the file carries those rounds into a
//! fresh chunk. A finished chunk whose CRC does not match is reported and skipped.

use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

use crate::sample::CollectPlan;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// What the header's `format` field says.
pub const FORMAT_NAME: &str = "sockscope-recording";
/// The skippable-frame magic of the header.
pub const HEADER_MAGIC: u32 = 0x184D_2A50;
/// The skippable-frame magic of an index entry.
pub const INDEX_MAGIC: u32 = 0x184D_2A51;
/// The magic of a regular zstd frame (a chunk).
pub const ZSTD_MAGIC: u32 = 0xFD2F_B528;
/// Bytes of an index entry's payload.
pub const INDEX_PAYLOAD: u32 = 40;
/// Rounds per chunk: a minute at one round per second.
pub const ROUNDS_PER_CHUNK: u32 = 60;
/// The zstd level of chunks.
pub const LEVEL: i32 = 3;
/// The largest header accepted (anything bigger is not a header of ours).
const HEADER_LIMIT: u32 = 64 * 1024;

/// How every round line starts: its CRC member, before the round's own members.
const LINE_CRC: &[u8] = b"{\"crc32\":";

/// A round's JSON object (`{...}`) as the line written for it: the same object with a first
/// member `"crc32"` holding the CRC-32 of the object as given, then a newline.
pub fn seal_line(json: &[u8]) -> Vec<u8> {
    let members = json.strip_prefix(b"{").unwrap_or(json);
    let separator: &[u8] = if members.starts_with(b"}") { b"" } else { b"," };
    let crc = crc32fast::hash(json).to_string();
    [LINE_CRC, crc.as_bytes(), separator, members, b"\n"].concat()
}

/// The round's JSON object of a line written by [`seal_line`] (without its newline); `None`
/// when the line has no CRC member or its CRC does not match: the line is damaged.
pub fn open_line(line: &[u8]) -> Option<Vec<u8>> {
    let rest = line.strip_prefix(LINE_CRC)?;
    let digits = rest.iter().take_while(|byte| byte.is_ascii_digit()).count();
    let crc: u32 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let members = &rest[digits..];
    let members = members.strip_prefix(b",").unwrap_or(members);
    let json = [b"{", members].concat();
    (digits > 0 && crc32fast::hash(&json) == crc).then_some(json)
}

/// What a recording says about itself, at the start of every file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// The sockscope version that wrote the file.
    pub sockscope: String,
    /// When this file was started.
    pub started_at: jiff::Timestamp,
    /// The host's name when the file was started.
    pub host: Option<String>,
    /// The interval asked for between rounds, in milliseconds.
    pub interval_ms: u64,
    /// Which namespaces the rounds cover, as the command line said it (`this namespace`,
    /// `--netns web`, `--pid 4242`, `--all-netns`).
    pub scope: String,
    /// Whether each round covers every namespace in use (`--all-netns`).
    pub all_namespaces: bool,
    /// What each sample was asked to hold.
    pub plan: CollectPlan,
}

impl Header {
    /// The skippable frame that carries this header.
    pub fn encode(&self) -> Result<Vec<u8>, serde_json::Error> {
        Ok(skippable(HEADER_MAGIC, &serde_json::to_vec(self)?))
    }
}

/// Where a finished chunk is and what it spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    /// Offset of the chunk's first byte in the file.
    pub offset: u64,
    /// The chunk's length in bytes.
    pub len: u64,
    /// Time of its first round, nanoseconds since the Unix epoch.
    pub first_ns: i64,
    /// Time of its last round, nanoseconds since the Unix epoch.
    pub last_ns: i64,
    /// How many rounds it holds.
    pub rounds: u32,
    /// CRC-32 (IEEE) of the chunk's bytes.
    pub crc32: u32,
}

impl IndexEntry {
    /// The skippable frame that carries this entry.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(INDEX_PAYLOAD as usize);
        payload.extend_from_slice(&self.offset.to_le_bytes());
        payload.extend_from_slice(&self.len.to_le_bytes());
        payload.extend_from_slice(&self.first_ns.to_le_bytes());
        payload.extend_from_slice(&self.last_ns.to_le_bytes());
        payload.extend_from_slice(&self.rounds.to_le_bytes());
        payload.extend_from_slice(&self.crc32.to_le_bytes());
        skippable(INDEX_MAGIC, &payload)
    }

    /// Reads an entry's payload.
    pub fn decode(payload: &[u8; INDEX_PAYLOAD as usize]) -> IndexEntry {
        let u64_at = |at: usize| u64::from_le_bytes(payload[at..at + 8].try_into().unwrap_or_default());
        let u32_at = |at: usize| u32::from_le_bytes(payload[at..at + 4].try_into().unwrap_or_default());
        IndexEntry {
            offset: u64_at(0),
            len: u64_at(8),
            first_ns: u64_at(16) as i64,
            last_ns: u64_at(24) as i64,
            rounds: u32_at(32),
            crc32: u32_at(36),
        }
    }
}

/// A zstd skippable frame around `payload`.
fn skippable(magic: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(payload.len() + 8);
    frame.extend_from_slice(&magic.to_le_bytes());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// One element of a file, as found by walking its frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    /// The header frame.
    Header(Header),
    /// A chunk of `len` bytes at `offset`.
    Chunk {
        /// Offset of its first byte.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// An index entry (its frame ends at `end`).
    Index(IndexEntry),
    /// A frame this version does not know (a later version's addition); skipped.
    Unknown,
    /// The file ends inside the element starting at `offset` (a write cut short).
    Truncated {
        /// Where the cut element starts.
        offset: u64,
    },
    /// Bytes at `offset` that are no frame at all (a torn write).
    Garbage {
        /// Where they start.
        offset: u64,
    },
}

/// Reads the element at `offset` of a file `file_len` bytes long; returns it and the offset of
/// the next. `None` at the end of the file.
pub fn element_at(file: &mut (impl Read + Seek), offset: u64, file_len: u64) -> io::Result<Option<(Element, u64)>> {
    if offset >= file_len {
        return Ok(None);
    }
    let truncated = Ok(Some((Element::Truncated { offset }, file_len)));
    if file_len - offset < 8 {
        return truncated;
    }
    file.seek(SeekFrom::Start(offset))?;
    let mut head = [0u8; 8];
    file.read_exact(&mut head)?;
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    let next = offset + 8 + u64::from(size);
    match magic {
        ZSTD_MAGIC => match frame_end(file, offset, file_len)? {
            FrameEnd::At(end) => Ok(Some((Element::Chunk { offset, len: end - offset }, end))),
            FrameEnd::Truncated => truncated,
            FrameEnd::Malformed => Ok(Some((Element::Garbage { offset }, file_len))),
        },
        _ if next > file_len => truncated,
        HEADER_MAGIC if size <= HEADER_LIMIT => {
            let mut json = vec![0u8; size as usize];
            file.read_exact(&mut json)?;
            match serde_json::from_slice::<Header>(&json) {
                Ok(header) => Ok(Some((Element::Header(header), next))),
                Err(_) => Ok(Some((Element::Garbage { offset }, file_len))),
            }
        }
        INDEX_MAGIC if size == INDEX_PAYLOAD => {
            let mut payload = [0u8; INDEX_PAYLOAD as usize];
            file.read_exact(&mut payload)?;
            Ok(Some((Element::Index(IndexEntry::decode(&payload)), next)))
        }
        0x184D_2A52..=0x184D_2A5F => Ok(Some((Element::Unknown, next))),
        _ => Ok(Some((Element::Garbage { offset }, file_len))),
    }
}

/// Where a zstd frame ends.
enum FrameEnd {
    At(u64),
    Truncated,
    Malformed,
}

/// Walks the frame header and block headers of the zstd frame at `start` (RFC 8878, 3.1.1)
/// without decompressing it.
fn frame_end(file: &mut (impl Read + Seek), start: u64, file_len: u64) -> io::Result<FrameEnd> {
    let mut descriptor = [0u8; 1];
    file.seek(SeekFrom::Start(start + 4))?;
    file.read_exact(&mut descriptor)?;
    let descriptor = descriptor[0];
    let single_segment = descriptor & 0x20 != 0;
    let checksum = descriptor & 0x04 != 0;
    let window = u64::from(!single_segment);
    let dictionary = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let content_size = match descriptor >> 6 {
        0 => u64::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let mut at = start + 5 + window + dictionary + content_size;
    loop {
        if at + 3 > file_len {
            return Ok(FrameEnd::Truncated);
        }
        let mut block = [0u8; 3];
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut block)?;
        let header = u32::from(block[0]) | u32::from(block[1]) << 8 | u32::from(block[2]) << 16;
        let size = u64::from(header >> 3);
        let content = match (header >> 1) & 0x03 {
            0 | 2 => size,
            1 => 1,
            _ => return Ok(FrameEnd::Malformed),
        };
        at += 3 + content;
        if header & 1 == 1 {
            break;
        }
    }
    if checksum {
        at += 4;
    }
    Ok(if at > file_len { FrameEnd::Truncated } else { FrameEnd::At(at) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};

    #[test]
    fn a_sealed_line_opens_and_any_damage_to_it_is_seen() {
        let json = br#"{"taken_at":"2027-01-15T08:00:00Z","observed":[{"drops":17}]}"#;
        let line = seal_line(json);
        assert!(line.starts_with(br#"{"crc32":"#) && line.ends_with(b"}\n"));
        let whole = &line[..line.len() - 1];
        assert!(serde_json::from_slice::<serde_json::Value>(whole).is_ok(), "still one JSON object");
        assert_eq!(open_line(whole).as_deref(), Some(&json[..]));
        for at in 0..whole.len() {
            for bit in 0..8 {
                let mut damaged = whole.to_vec();
                damaged[at] ^= 1 << bit;
                assert_ne!(open_line(&damaged).as_deref(), Some(&json[..]), "a flip at {at}.{bit} is seen");
            }
        }
        assert_eq!(open_line(json), None, "a line without its CRC is damaged");
        assert_eq!(open_line(&seal_line(b"{}")[..12]).as_deref(), None);
        let empty = seal_line(b"{}");
        assert_eq!(open_line(&empty[..empty.len() - 1]).as_deref(), Some(&b"{}"[..]));
    }

    #[test]
    fn an_index_entry_reads_back() {
        let entry = IndexEntry { offset: 9, len: 1234, first_ns: -5, last_ns: 1 << 60, rounds: 60, crc32: 0xDEAD_BEEF };
        let frame = entry.encode();
        assert_eq!(frame.len(), 48);
        let payload: [u8; 40] = frame[8..].try_into().unwrap();
        assert_eq!(IndexEntry::decode(&payload), entry);
    }

    #[test]
    fn the_walk_finds_the_end_of_a_real_zstd_frame_and_notices_a_cut() {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), LEVEL).unwrap();
        encoder.include_checksum(true).unwrap();
        for line in 0..50 {
            encoder.write_all(format!("{{\"line\":{line}}}\n").as_bytes()).unwrap();
            encoder.flush().unwrap();
        }
        let mut bytes = encoder.finish().unwrap();
        let len = bytes.len() as u64;
        bytes.extend_from_slice(&IndexEntry { offset: 0, len, first_ns: 0, last_ns: 0, rounds: 50, crc32: 0 }.encode());
        let total = bytes.len() as u64;
        let mut file = Cursor::new(bytes);
        let (element, next) = element_at(&mut file, 0, total).unwrap().unwrap();
        assert_eq!((element, next), (Element::Chunk { offset: 0, len }, len));
        assert!(matches!(element_at(&mut file, next, total).unwrap(), Some((Element::Index(_), end)) if end == total));
        for cut in 1..len {
            let (element, _) = element_at(&mut file, 0, cut).unwrap().unwrap();
            assert_eq!(element, Element::Truncated { offset: 0 }, "cut at {cut}");
        }
    }
}
