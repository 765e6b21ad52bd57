//! A recording as a reader sees it: the rounds of one or more files (a rotated ring) in time
//! order, addressed by index, decoded a chunk at a time.

use std::io::BufReader;
use std::ops::Range;
use std::path::PathBuf;

use super::RecordError;
use super::format::Header;
use super::reader::{self, decode_partial, decode_whole, parse_rounds, read_span, whole_lines};
use crate::collect::Round;

/// One or more recording files, read as one sequence of rounds.
pub struct Recording {
    header: Header,
    files: Vec<PathBuf>,
    chunks: Vec<ChunkRef>,
    total: usize,
    damage: Vec<String>,
    cache: Option<(usize, Vec<Round>)>,
}

/// Where a chunk's rounds are.
#[derive(Debug, Clone)]
struct ChunkRef {
    file: usize,
    offset: u64,
    len: u64,
    /// The CRC of a finished chunk; `None` for the one a recorder left unfinished.
    crc32: Option<u32>,
    first_ns: i64,
    last_ns: i64,
    rounds: usize,
    /// The index of its first round in the whole recording.
    start: usize,
}

impl Recording {
    /// Reads the chunk layout of `paths` (in any order: they are put in time order). Fails when
    /// a file cannot be read or is not a recording, or when the files were recorded for
    /// different scopes.
    pub fn open(paths: &[PathBuf]) -> Result<Recording, RecordError> {
        let mut scanned = Vec::new();
        for path in paths {
            let mut file = reader::open_file(path)?;
            let scan = reader::scan(&mut file, path)?;
            scanned.push((path.clone(), scan));
        }
        let Some((first_path, first)) = scanned.first() else {
            return Err(RecordError::new(&PathBuf::from("-"), "no recording file given"));
        };
        let header = first.header.clone();
        if let Some((path, other)) = scanned.iter().find(|(_, scan)| scan.header.scope != header.scope) {
            let message =
                format!("was recorded for {}, {} for {}", other.header.scope, first_path.display(), header.scope);
            return Err(RecordError::new(path, message));
        }
        scanned.sort_by_key(|(_, scan)| scan.chunks.first().map_or(i64::MAX, |chunk| chunk.first_ns));
        let mut recording =
            Recording { header, files: Vec::new(), chunks: Vec::new(), total: 0, damage: Vec::new(), cache: None };
        for (path, scan) in scanned {
            recording.add_file(path, scan);
        }
        Ok(recording)
    }

    fn add_file(&mut self, path: PathBuf, scan: reader::FileScan) {
        let file = self.files.len();
        if let Some(damage) = &scan.damage {
            self.damage.push(format!("{}: {damage}", path.display()));
        }
        let mut file_handle = reader::open_file(&path).ok().map(BufReader::new);
        for span in &scan.chunks {
            let whole = file_handle.as_mut().and_then(|handle| read_span(handle, span.offset, span.len).ok());
            if whole.is_none_or(|bytes| crc32fast::hash(&bytes) != span.crc32) {
                self.damage.push(format!(
                    "{}: the chunk at offset {} is damaged (its CRC does not match); its {} rounds are skipped",
                    path.display(),
                    span.offset,
                    span.rounds
                ));
                continue;
            }
            self.push_chunk(ChunkRef {
                file,
                offset: span.offset,
                len: span.len,
                crc32: Some(span.crc32),
                first_ns: span.first_ns,
                last_ns: span.last_ns,
                rounds: span.rounds as usize,
                start: 0,
            });
        }
        if let (Some(offset), Some((_, first_ns)), Some((_, last_ns))) =
            (scan.unfinished_at, scan.unfinished.first(), scan.unfinished.last())
        {
            self.push_chunk(ChunkRef {
                file,
                offset,
                len: u64::MAX,
                crc32: None,
                first_ns: *first_ns,
                last_ns: *last_ns,
                rounds: scan.unfinished.len(),
                start: 0,
            });
        }
        self.files.push(path);
    }

    fn push_chunk(&mut self, mut chunk: ChunkRef) {
        if chunk.rounds == 0 {
            return;
        }
        chunk.start = self.total;
        self.total += chunk.rounds;
        self.chunks.push(chunk);
    }

    /// The header of the earliest file.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The files, in time order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// How many rounds it holds.
    pub fn len(&self) -> usize {
        self.total
    }

    /// Whether it holds no round.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// What was found damaged while reading (each a line for the user); reading went on past it.
    pub fn damage(&self) -> &[String] {
        &self.damage
    }

    /// The time of the first round.
    pub fn first_time(&self) -> Option<jiff::Timestamp> {
        self.chunks.first().and_then(|chunk| timestamp(chunk.first_ns))
    }

    /// The time of the last round.
    pub fn last_time(&self) -> Option<jiff::Timestamp> {
        self.chunks.last().and_then(|chunk| timestamp(chunk.last_ns))
    }

    /// The round at `index`.
    pub fn round(&mut self, index: usize) -> Result<Round, RecordError> {
        self.with_round(index, Round::clone)
    }

    /// When the round at `index` was taken (without copying the round).
    pub fn time_of(&mut self, index: usize) -> Result<jiff::Timestamp, RecordError> {
        self.with_round(index, |round| round.taken_at)
    }

    /// `read` applied to the round at `index`, from its decoded chunk.
    fn with_round<T>(&mut self, index: usize, read: impl FnOnce(&Round) -> T) -> Result<T, RecordError> {
        let chunk = self.chunk_of(index).ok_or_else(|| self.out_of_range(index))?;
        let start = self.chunks[chunk].start;
        let rounds = self.load(chunk)?;
        rounds.get(index - start).map(read).ok_or_else(|| self.out_of_range(index))
    }

    /// The rounds in `range` (clamped to the recording).
    pub fn rounds(&mut self, range: Range<usize>) -> Result<Vec<Round>, RecordError> {
        (range.start..range.end.min(self.total)).map(|index| self.round(index)).collect()
    }

    /// The index of the last round taken at or before `at`; `None` when `at` is before the
    /// first round.
    pub fn locate(&mut self, at: jiff::Timestamp) -> Result<Option<usize>, RecordError> {
        let at_ns = i64::try_from(at.as_nanosecond()).unwrap_or(i64::MAX);
        let Some(chunk) = self.chunks.iter().rposition(|chunk| chunk.first_ns <= at_ns) else { return Ok(None) };
        let start = self.chunks[chunk].start;
        let rounds = self.load(chunk)?;
        let within = rounds.iter().rposition(|round| round.taken_at <= at).unwrap_or(0);
        Ok(Some(start + within))
    }

    fn chunk_of(&self, index: usize) -> Option<usize> {
        if index >= self.total {
            return None;
        }
        Some(self.chunks.partition_point(|chunk| chunk.start <= index) - 1)
    }

    fn out_of_range(&self, index: usize) -> RecordError {
        let first = self.files.first().cloned().unwrap_or_default();
        RecordError::new(&first, format!("has no round {index} (it holds {})", self.total))
    }

    /// The rounds of chunk `index`, decoded once and kept until another chunk is asked for.
    fn load(&mut self, index: usize) -> Result<&[Round], RecordError> {
        if self.cache.as_ref().is_none_or(|(cached, _)| *cached != index) {
            let rounds = self.decode(index)?;
            self.cache = Some((index, rounds));
        }
        Ok(self.cache.as_ref().map_or(&[][..], |(_, rounds)| rounds.as_slice()))
    }

    fn decode(&self, index: usize) -> Result<Vec<Round>, RecordError> {
        let chunk = &self.chunks[index];
        let path = &self.files[chunk.file];
        let file = reader::open_file(path)?;
        let bytes =
            read_span(&mut BufReader::new(file), chunk.offset, chunk.len).map_err(|e| RecordError::io(path, e))?;
        let damaged = |what: &str| RecordError::new(path, format!("the chunk at offset {} {what}", chunk.offset));
        let text = match chunk.crc32 {
            Some(crc) if crc32fast::hash(&bytes) != crc => return Err(damaged("is damaged (its CRC does not match)")),
            Some(_) => decode_whole(&bytes).ok_or_else(|| damaged("does not decompress"))?,
            None => decode_partial(&bytes),
        };
        let rounds = parse_rounds(&whole_lines(&text));
        if rounds.len() < chunk.rounds {
            return Err(damaged(&format!("holds {} readable rounds of {}", rounds.len(), chunk.rounds)));
        }
        Ok(rounds)
    }
}

/// A timestamp from ns since the epoch.
fn timestamp(ns: i64) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_nanosecond(i128::from(ns)).ok()
}
