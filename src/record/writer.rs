//! The recorder's side: appends rounds to a recording, chunk by chunk, and rotates or stops at
//! a size limit.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::format::{self, Header, IndexEntry, LEVEL, ROUNDS_PER_CHUNK};
use super::reader::{self, FileScan};
use super::{RecordError, rotated_name};
use crate::collect::Round;

/// What to do when a file reaches `--max-size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WhenFull {
    /// Rename it to `FILE.1` (and `FILE.1` to `FILE.2`, ...), drop the oldest beyond `--keep`,
    /// and go on in a fresh `FILE`.
    Rotate,
    /// Finish the file and stop recording.
    Stop,
}

/// The recorder's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The size at which a file is finished; `None` for no limit.
    pub max_size: Option<u64>,
    /// What happens then.
    pub when_full: WhenFull,
    /// How many finished files rotation keeps besides the current one.
    pub keep: usize,
    /// Rounds per chunk ([`ROUNDS_PER_CHUNK`]; tests use fewer).
    pub rounds_per_chunk: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_size: None, when_full: WhenFull::Rotate, keep: 4, rounds_per_chunk: ROUNDS_PER_CHUNK }
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// The round is in the file.
    Written,
    /// The round is in the file, the file reached its size limit and was rotated.
    Rotated,
    /// The round is in the file, which reached its size limit; recording stops (`--when-full stop`).
    Full,
}

/// Appends rounds to one recording file.
pub struct Recorder {
    path: PathBuf,
    header: Header,
    limits: Limits,
    file: File,
    len: u64,
    chunk: Option<Chunk>,
}

/// The chunk being written.
struct Chunk {
    encoder: zstd::stream::write::Encoder<'static, Vec<u8>>,
    offset: u64,
    len: u64,
    crc: crc32fast::Hasher,
    first_ns: i64,
    last_ns: i64,
    rounds: u32,
}

impl Recorder {
    /// Opens `path` for appending: a new file gets `header`; an existing recording (of the same
    /// scope) is continued after its last whole round, a write cut short by a crash first
    /// carried into a new chunk. Fails when the path is not a regular file, is not a recording,
    /// or another recorder holds it.
    pub fn open(path: &Path, header: Header, limits: Limits) -> Result<Recorder, RecordError> {
        let (file, existing) = crate::files::as_user(|| open_for_append(path))
            .unwrap_or_else(|error| Err(RecordError::io(path, error)))?;
        lock(&file, path)?;
        let mut recorder = Recorder { path: path.to_path_buf(), header, limits, file, len: 0, chunk: None };
        match existing {
            false => recorder.start_file()?,
            true => recorder.continue_file()?,
        }
        Ok(recorder)
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one round; finishes the chunk when it is full, and the file when it reached the
    /// size limit.
    pub fn append(&mut self, round: &Round) -> Result<Appended, RecordError> {
        let json = serde_json::to_vec(round).map_err(|error| RecordError::new(&self.path, error.to_string()))?;
        let line = format::seal_line(&json);
        self.append_line(&line, round.taken_at.as_nanosecond() as i64)?;
        if self.chunk.as_ref().is_some_and(|chunk| chunk.rounds >= self.limits.rounds_per_chunk.max(1)) {
            self.finish_chunk()?;
        }
        match self.limits.max_size {
            Some(max) if self.len >= max => {
                self.finish_chunk()?;
                match self.limits.when_full {
                    WhenFull::Stop => Ok(Appended::Full),
                    WhenFull::Rotate => self.rotate().map(|()| Appended::Rotated),
                }
            }
            _ => Ok(Appended::Written),
        }
    }

    /// Finishes the chunk being written, so the file ends with an index entry.
    pub fn finish(mut self) -> Result<(), RecordError> {
        self.finish_chunk()
    }

    /// Bytes in the current file.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the current file is empty (never: it has its header).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn append_line(&mut self, line: &[u8], at_ns: i64) -> Result<(), RecordError> {
        if self.chunk.is_none() {
            self.chunk = Some(Chunk::start(self.len, at_ns).map_err(|error| RecordError::io(&self.path, error))?);
        }
        let Some(chunk) = self.chunk.as_mut() else { return Ok(()) };
        chunk
            .encoder
            .write_all(line)
            .and_then(|()| chunk.encoder.flush())
            .map_err(|e| RecordError::io(&self.path, e))?;
        chunk.last_ns = at_ns;
        chunk.rounds += 1;
        let bytes = std::mem::take(chunk.encoder.get_mut());
        chunk.crc.update(&bytes);
        chunk.len += bytes.len() as u64;
        self.write(&bytes)
    }

    fn finish_chunk(&mut self) -> Result<(), RecordError> {
        let Some(chunk) = self.chunk.take() else { return Ok(()) };
        let Chunk { encoder, offset, len, mut crc, first_ns, last_ns, rounds } = chunk;
        let tail = encoder.finish().map_err(|error| RecordError::io(&self.path, error))?;
        crc.update(&tail);
        let entry =
            IndexEntry { offset, len: len + tail.len() as u64, first_ns, last_ns, rounds, crc32: crc.finalize() };
        // The end of the chunk and its entry go out in one write.
        let mut bytes = tail;
        bytes.extend_from_slice(&entry.encode());
        self.write(&bytes)?;
        self.file.sync_data().map_err(|error| RecordError::io(&self.path, error))
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), RecordError> {
        self.file.write_all(bytes).map_err(|error| RecordError::io(&self.path, error))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn start_file(&mut self) -> Result<(), RecordError> {
        self.header.started_at = jiff::Timestamp::now();
        let bytes = self.header.encode().map_err(|error| RecordError::new(&self.path, error.to_string()))?;
        self.file.set_len(0).map_err(|error| RecordError::io(&self.path, error))?;
        self.len = 0;
        self.write(&bytes)
    }

    /// Continues an existing recording: cuts off what a crash left unfinished and writes its
    /// whole rounds again as the start of a new chunk.
    fn continue_file(&mut self) -> Result<(), RecordError> {
        let scan = reader::scan(&mut self.file, &self.path)?;
        let FileScan { header, finished_end, unfinished, .. } = scan;
        if header.scope != self.header.scope {
            let message =
                format!("was recorded for {}, not {}: record to another file", header.scope, self.header.scope);
            return Err(RecordError::new(&self.path, message));
        }
        self.header = header;
        self.file.set_len(finished_end).map_err(|error| RecordError::io(&self.path, error))?;
        self.len = finished_end;
        use std::io::Seek;
        self.file.seek(io::SeekFrom::Start(finished_end)).map_err(|error| RecordError::io(&self.path, error))?;
        for (line, at_ns) in unfinished {
            self.append_line(&line, at_ns)?;
        }
        Ok(())
    }

    /// `FILE` becomes `FILE.1`, `FILE.1` becomes `FILE.2`, ..., the one beyond `keep` is
    /// removed; a fresh `FILE` starts.
    fn rotate(&mut self) -> Result<(), RecordError> {
        let keep = self.limits.keep.max(1);
        let fresh = crate::files::as_user(|| rotate_files(&self.path, keep))
            .unwrap_or_else(|error| Err(RecordError::io(&self.path, error)))?;
        lock(&fresh, &self.path)?;
        self.file = fresh;
        self.start_file()
    }
}

/// Opens (or creates, mode 0640) the recording at `path` for reading and writing; with whether
/// it already had content. A symbolic link is refused like a device: root's recorder must not
/// write where a link planted in its directory points.
fn open_for_append(path: &Path) -> Result<(File, bool), RecordError> {
    let failed = |error: io::Error| RecordError::io(path, error);
    let existing = match std::fs::symlink_metadata(path) {
        Ok(metadata) if !metadata.is_file() => {
            return Err(RecordError::new(path, "exists and is not a regular file: not overwritten"));
        }
        Ok(metadata) => metadata.len() > 0,
        Err(error) if error.kind() == io::ErrorKind::NotFound => false,
        Err(error) => return Err(failed(error)),
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o640)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(failed)?;
    Ok((file, existing))
}

/// Shifts the ring — `path` becomes `path.1`, `path.1` becomes `path.2`, ..., the one beyond
/// `keep` is removed — and creates a fresh `path`.
fn rotate_files(path: &Path, keep: usize) -> Result<File, RecordError> {
    let _ = std::fs::remove_file(rotated_name(path, keep));
    for index in (1..keep).rev() {
        let from = rotated_name(path, index);
        if from.exists() {
            std::fs::rename(&from, rotated_name(path, index + 1)).map_err(|e| RecordError::io(&from, e))?;
        }
    }
    std::fs::rename(path, rotated_name(path, 1)).map_err(|e| RecordError::io(path, e))?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(path)
        .map_err(|error| RecordError::io(path, error))
}

impl Chunk {
    fn start(offset: u64, first_ns: i64) -> io::Result<Chunk> {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), LEVEL)?;
        encoder.include_checksum(true)?;
        Ok(Chunk { encoder, offset, len: 0, crc: crc32fast::Hasher::new(), first_ns, last_ns: first_ns, rounds: 0 })
    }
}

/// Takes the writer's lock on the file: one recorder per file.
fn lock(file: &File, path: &Path) -> Result<(), RecordError> {
    use rustix::fs::{FlockOperation, flock};
    flock(file, FlockOperation::NonBlockingLockExclusive)
        .map_err(|_| RecordError::new(path, "another sockscope record is writing it"))
}
