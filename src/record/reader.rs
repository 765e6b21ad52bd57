//! The reader's side: finds the chunks of one or more recording files without decompressing
//! them, and decodes the rounds of a chunk on demand.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::RecordError;
use super::format::{Element, FORMAT_NAME, FORMAT_VERSION, Header, IndexEntry, element_at, open_line};
use crate::collect::Round;

/// What one file holds, as found by walking its frames.
#[derive(Debug)]
pub struct FileScan {
    /// Its header.
    pub header: Header,
    /// Its finished chunks, in order, as their index entries give them.
    pub chunks: Vec<IndexEntry>,
    /// The end of the last finished chunk's index entry (where a recorder continues).
    pub finished_end: u64,
    /// The whole rounds of a chunk left unfinished (a recorder stopped mid-chunk), as JSON
    /// lines (each ending in a newline) with their times in nanoseconds.
    pub unfinished: Vec<(Vec<u8>, i64)>,
    /// Where the unfinished chunk starts, when there is one.
    pub unfinished_at: Option<u64>,
    /// Bytes that are no frame at all, if any were found (reading stopped there).
    pub damage: Option<String>,
}

/// Walks one file.
pub fn scan(file: &mut File, path: &Path) -> Result<FileScan, RecordError> {
    let failed = |error: io::Error| RecordError::io(path, error);
    let file_len = file.metadata().map_err(failed)?.len();
    let mut reader = BufReader::new(&mut *file);
    let (header, mut at) = match element_at(&mut reader, 0, file_len).map_err(failed)? {
        Some((Element::Header(header), next)) => (header, next),
        _ => return Err(RecordError::new(path, "is not a sockscope recording")),
    };
    if header.format != FORMAT_NAME || header.version != FORMAT_VERSION {
        let message = format!(
            "is recording format {} {}; this sockscope reads version {FORMAT_VERSION}",
            header.format, header.version
        );
        return Err(RecordError::new(path, message));
    }
    let mut scan = FileScan {
        header,
        chunks: Vec::new(),
        finished_end: 0,
        unfinished: Vec::new(),
        unfinished_at: None,
        damage: None,
    };
    scan.finished_end = at;
    let mut pending: Option<(u64, u64)> = None;
    while let Some((element, next)) = element_at(&mut reader, at, file_len).map_err(failed)? {
        match element {
            Element::Chunk { offset, len } => {
                if pending.is_some() {
                    break; // a chunk without its entry, then another: keep the first as unfinished
                }
                pending = Some((offset, len));
            }
            Element::Index(entry) if pending == Some((entry.offset, entry.len)) => {
                scan.chunks.push(entry);
                scan.finished_end = next;
                pending = None;
            }
            Element::Unknown if pending.is_none() => scan.finished_end = next,
            Element::Truncated { offset } => {
                pending = pending.or(Some((offset, file_len - offset)));
                break;
            }
            Element::Header(_) | Element::Index(_) | Element::Unknown | Element::Garbage { .. } => {
                scan.damage = Some(format!("unreadable bytes at offset {at}; what follows is ignored"));
                break;
            }
        }
        at = next;
    }
    if let Some((offset, len)) = pending {
        let bytes = read_span(&mut reader, offset, len).map_err(failed)?;
        let text = decode_partial(&bytes);
        let lines = whole_lines(&text);
        scan.unfinished = lines.iter().filter_map(|line| Some(([line, &b"\n"[..]].concat(), stamp(line)?))).collect();
        scan.unfinished_at = Some(offset);
        let damaged = lines.len() - scan.unfinished.len();
        if damaged > 0 && scan.damage.is_none() {
            scan.damage = Some(format!("{damaged} damaged rounds of the chunk at offset {offset} are skipped"));
        }
    }
    Ok(scan)
}

/// Reads `len` bytes at `offset`.
pub fn read_span(file: &mut (impl Read + Seek), offset: u64, len: u64) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len.min(1 << 20)).unwrap_or(0));
    file.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Decompresses a zstd frame as far as it goes: all of it when whole, up to the last whole
/// block when cut short.
pub fn decode_partial(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let Ok(decoder) = zstd::stream::read::Decoder::with_buffer(bytes) else { return out };
    let mut decoder = decoder.single_frame();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        match decoder.read(&mut buffer) {
            Ok(0) | Err(_) => return out,
            Ok(read) => out.extend_from_slice(&buffer[..read]),
        }
    }
}

/// Decompresses a whole zstd frame; `None` when it is damaged.
pub fn decode_whole(bytes: &[u8]) -> Option<Vec<u8>> {
    zstd::stream::decode_all(bytes).ok()
}

/// The lines that end with a newline (a last line without one was cut short).
pub fn whole_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = text.split(|byte| *byte == b'\n').collect();
    lines.pop(); // after the last newline: empty, or a cut line
    lines
}

/// The time of a round's line, in ns since the epoch; `None` when the line is not a round or
/// is damaged.
fn stamp(line: &[u8]) -> Option<i64> {
    #[derive(Deserialize)]
    struct Stamp {
        taken_at: jiff::Timestamp,
    }
    let stamp: Stamp = serde_json::from_slice(&open_line(line)?).ok()?;
    i64::try_from(stamp.taken_at.as_nanosecond()).ok()
}

/// Parses rounds from their lines, leaving out a line that is not a round or whose CRC does not
/// match (as [`scan`] leaves it out of the unfinished chunk's count).
pub fn parse_rounds(lines: &[&[u8]]) -> Vec<Round> {
    lines.iter().filter_map(|line| serde_json::from_slice::<Round>(&open_line(line)?).ok()).collect()
}

/// Opens a recording for reading, with the user's own rights, and the error a user can act on.
pub fn open_file(path: &PathBuf) -> Result<File, RecordError> {
    crate::files::as_user(|| File::open(path)).and_then(|opened| opened).map_err(|error| RecordError::io(path, error))
}
