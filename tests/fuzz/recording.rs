//! The recording reader on real recordings made with `Recorder` — cut short, bit-flipped,
//! with index entries set to extremes, mixed with random bytes — and on random files: opening
//! and reading never panic, and every round read back is one that was written.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sockscope::collect::{Observed, Round};
use sockscope::record::format::{FORMAT_NAME, FORMAT_VERSION, INDEX_MAGIC};
use sockscope::record::{Header, Limits, Recorder, Recording};
use sockscope::sample::{CollectPlan, Netns, Sample};

use super::harness::{Rng, cases, mutate_bytes, run};

fn header() -> Header {
    Header {
        format: FORMAT_NAME.to_string(),
        version: FORMAT_VERSION,
        sockscope: "fuzz".to_string(),
        started_at: jiff::Timestamp::UNIX_EPOCH,
        host: Some("fuzz".to_string()),
        interval_ms: 1000,
        scope: "this namespace".to_string(),
        all_namespaces: false,
        plan: CollectPlan::default(),
    }
}

/// Round `second` of the recording: a sample with a few counters and settings, so that the
/// lines hold numbers a flipped bit can change.
fn round(second: i64) -> Round {
    let taken_at = jiff::Timestamp::from_second(1_800_000_000 + second).expect("a time");
    let mut sample = Sample::new(CollectPlan::default(), taken_at, (second as u64 + 1) * 1_000_000_000);
    sample.netns = Some(Netns::with_inode(4_026_531_840));
    let counters = [("ListenOverflows", 7 * second), ("ListenDrops", 9 * second), ("PassiveOpens", 1000 + second)];
    let fields = counters.into_iter().map(|(name, value)| (name.to_string(), value)).collect();
    sample.netstat = Some([("TcpExt".to_string(), fields)].into_iter().collect());
    Round { taken_at, observed: vec![Observed::Sample(Box::new(sample))] }
}

/// A recording of `count` rounds in chunks of three, the last chunk left unfinished (as a
/// recorder killed mid-chunk leaves it) when `unfinished`; its bytes and the rounds written.
fn recording(dir: &Path, count: i64, unfinished: bool) -> (Vec<u8>, HashSet<String>) {
    let path = dir.join(format!("made-{count}-{unfinished}"));
    let mut recorder =
        Recorder::open(&path, header(), Limits { rounds_per_chunk: 3, ..Limits::default() }).expect("a recorder");
    let mut written = HashSet::new();
    for second in 0..count {
        let round = round(second);
        recorder.append(&round).expect("append");
        written.insert(serde_json::to_string(&round).expect("a round serialises"));
    }
    if unfinished {
        drop(recorder);
    } else {
        recorder.finish().expect("finish");
    }
    (std::fs::read(&path).expect("the recording"), written)
}

/// Sets a field of a random index entry to an extreme: offset, length, times or round count.
fn extreme_index_field(rng: &mut Rng, bytes: &mut [u8]) {
    let magic = INDEX_MAGIC.to_le_bytes();
    let entries: Vec<usize> = bytes.windows(4).enumerate().filter(|(_, w)| *w == magic).map(|(at, _)| at).collect();
    let Some(entry) = (!entries.is_empty()).then(|| entries[rng.below(entries.len())]) else { return };
    let (offset, width) = *rng.pick(&[(8, 8), (16, 8), (24, 8), (32, 8), (40, 4), (44, 4)]);
    let value = rng.extreme().to_le_bytes();
    if let Some(field) = bytes.get_mut(entry + offset..entry + offset + width) {
        field.copy_from_slice(&value[..width]);
    }
}

/// Damages a recording the ways a disk, a crash or a hand can.
fn damage(rng: &mut Rng, bytes: &mut Vec<u8>) {
    match rng.below(6) {
        0 => bytes.truncate(rng.below(bytes.len() + 1)),
        1 | 2 => {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len());
                bytes[at] ^= 1 << rng.below(8);
            }
        }
        3 => extreme_index_field(rng, bytes),
        4 => {
            for _ in 0..1 + rng.below(4) {
                mutate_bytes(rng, bytes);
            }
        }
        _ => {
            let keep = rng.below(bytes.len() + 1);
            bytes.truncate(keep);
            let len = rng.below(256);
            bytes.extend(rng.bytes(len));
        }
    }
}

/// Opens `path` and reads what it offers; every round must be one of `written`.
fn read_back(path: &Path, written: &HashSet<String>, rng: &mut Rng) {
    let Ok(mut recording) = Recording::open(&[path.to_path_buf()]) else { return };
    let _ = (recording.first_time(), recording.last_time(), recording.damage().len(), recording.header());
    let check = |round: &Round| {
        let line = serde_json::to_string(round).expect("a round serialises");
        assert!(written.contains(&line), "a round that was never written was read back: {line}");
    };
    let len = recording.len();
    for index in 0..len.min(20) {
        if let Ok(round) = recording.round(index) {
            check(&round);
        }
    }
    if let Ok(rounds) = recording.rounds(0..len.min(20)) {
        rounds.iter().for_each(check);
    }
    let _ = recording.round(len);
    let at = jiff::Timestamp::from_second(1_800_000_000 + rng.below(40) as i64 - 10).expect("a time");
    let _ = recording.locate(at);
}

#[test]
fn damaged_recordings_read_only_rounds_that_were_written() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let made: Vec<(Vec<u8>, HashSet<String>)> =
        [(8, false), (8, true), (2, true)].iter().map(|(count, cut)| recording(dir.path(), *count, *cut)).collect();
    for (bytes, written) in &made {
        let path = dir.path().join("whole");
        std::fs::write(&path, bytes).expect("write");
        let whole = Recording::open(std::slice::from_ref(&path)).expect("a whole recording opens");
        assert_eq!(whole.len(), written.len());
        read_back(&path, written, &mut Rng::new(1));
    }
    let path: PathBuf = dir.path().join("damaged");
    run("recordings", cases(1500), |rng| {
        let (bytes, written) = rng.pick(&made);
        let mut bytes = bytes.clone();
        for _ in 0..1 + rng.below(2) {
            damage(rng, &mut bytes);
        }
        std::fs::write(&path, &bytes).expect("write the damaged copy");
        read_back(&path, written, rng);
    });
}

#[test]
fn random_files_are_no_recording_and_never_panic() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (real, _) = recording(dir.path(), 4, false);
    let header_len = 8 + u32::from_le_bytes(real[4..8].try_into().expect("a length")) as usize;
    let path = dir.path().join("random");
    let nothing = HashSet::new();
    run("random recordings", cases(1500), |rng| {
        // Half keep a valid header, so the walk over what follows is exercised too.
        let mut bytes = if rng.chance(1, 2) { real[..header_len].to_vec() } else { Vec::new() };
        let len = rng.below(600);
        bytes.extend(rng.bytes(len));
        std::fs::write(&path, &bytes).expect("write");
        read_back(&path, &nothing, rng);
    });
}
