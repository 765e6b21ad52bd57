//! The format's promises, tested on real files: rounds read back as written, a file cut at
//! any byte still reads up to its last whole round, a recorder continues a cut file, rotation
//! keeps its ring, and damage is reported and skipped.

use std::path::{Path, PathBuf};

use super::*;
use crate::collect::Observed;
use crate::sample::{Netns, Sample};

fn round(second: i64) -> Round {
    let taken_at = jiff::Timestamp::from_second(1_800_000_000 + second).unwrap();
    let mut sample = Sample::new(CollectPlan::default(), taken_at, (second as u64 + 1) * 1_000_000_000);
    sample.netns = Some(Netns::with_inode(4026531840));
    Round { taken_at, observed: vec![Observed::Sample(Box::new(sample))] }
}

fn header() -> Header {
    Header {
        format: format::FORMAT_NAME.to_string(),
        version: format::FORMAT_VERSION,
        sockscope: "test".to_string(),
        started_at: jiff::Timestamp::UNIX_EPOCH,
        host: None,
        interval_ms: 1000,
        scope: "this namespace".to_string(),
        all_namespaces: false,
        plan: CollectPlan::default(),
    }
}

fn limits(rounds_per_chunk: u32) -> Limits {
    Limits { rounds_per_chunk, ..Limits::default() }
}

/// Records `count` rounds; returns the file length after each one.
fn record(path: &Path, count: i64, limits: Limits) -> Vec<u64> {
    let mut recorder = Recorder::open(path, header(), limits).unwrap();
    let ends = (0..count).map(|second| {
        recorder.append(&round(second)).unwrap();
        recorder.len()
    });
    let ends = ends.collect();
    recorder.finish().unwrap();
    ends
}

fn seconds(recording: &mut Recording) -> Vec<i64> {
    let rounds = recording.rounds(0..recording.len()).unwrap();
    rounds.iter().map(|round| round.taken_at.as_second() - 1_800_000_000).collect()
}

#[test]
fn rounds_read_back_in_order_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    record(&path, 10, limits(4));
    let mut recording = Recording::open(&[path]).unwrap();
    assert_eq!(seconds(&mut recording), (0..10).collect::<Vec<_>>());
    assert_eq!(recording.locate(jiff::Timestamp::from_second(1_800_000_005).unwrap()).unwrap(), Some(5));
    assert_eq!(recording.locate(jiff::Timestamp::from_second(1_700_000_000).unwrap()).unwrap(), None);
    assert!(recording.damage().is_empty());
}

#[test]
fn a_file_cut_at_any_byte_reads_up_to_its_last_whole_round() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let ends = record(&path, 7, limits(3));
    let bytes = std::fs::read(&path).unwrap();
    let cut_path = dir.path().join("cut");
    let header_len = 8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let mut read_before = 0;
    for cut in 0..=bytes.len() {
        std::fs::write(&cut_path, &bytes[..cut]).unwrap();
        let opened = Recording::open(std::slice::from_ref(&cut_path));
        if cut < header_len {
            assert!(opened.is_err(), "a cut header is no recording (cut at {cut})");
            continue;
        }
        let mut recording = opened.unwrap_or_else(|error| panic!("cut at {cut}: {error}"));
        // A round is whole once its bytes are out; the end of its chunk may still be missing.
        let written = ends.iter().filter(|end| **end <= cut as u64).count() as i64;
        let seen = seconds(&mut recording);
        let read = seen.len() as i64;
        assert_eq!(seen, (0..read).collect::<Vec<_>>(), "cut at {cut}: the first rounds, in order");
        assert!(read == written || read == written + 1, "cut at {cut}: {read} rounds read, {written} written");
        assert!(read >= read_before, "cut at {cut}: a longer file never reads fewer rounds");
        read_before = read;
    }
}

#[test]
fn a_recorder_continues_a_cut_file_and_keeps_its_whole_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let ends = record(&path, 5, limits(3));
    // Cut inside the last chunk, just after its fifth round: the crash left round 4 unfinished.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..ends[4] as usize]).unwrap();
    let mut recorder = Recorder::open(&path, header(), limits(3)).unwrap();
    for second in 5..8 {
        recorder.append(&round(second)).unwrap();
    }
    recorder.finish().unwrap();
    let mut recording = Recording::open(&[path]).unwrap();
    assert_eq!(seconds(&mut recording), (0..8).collect::<Vec<_>>());
}

#[test]
fn a_second_recorder_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let _first = Recorder::open(&path, header(), Limits::default()).unwrap();
    let second = Recorder::open(&path, header(), Limits::default()).err().unwrap();
    assert!(second.to_string().contains("another sockscope record"), "{second}");
}

#[test]
fn a_file_that_is_not_a_recording_is_never_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "precious notes\n").unwrap();
    let error = Recorder::open(&path, header(), Limits::default()).err().unwrap();
    assert!(error.to_string().contains("is not a sockscope recording"), "{error}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious notes\n");
    let error = Recorder::open(Path::new("/dev/null"), header(), Limits::default()).err().unwrap();
    assert!(error.to_string().contains("not a regular file"), "{error}");
    let target = dir.path().join("empty");
    std::fs::write(&target, "").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let error = Recorder::open(&link, header(), Limits::default()).err().unwrap();
    assert!(error.to_string().contains("not a regular file"), "{error}");
    assert_eq!(std::fs::read(&target).unwrap(), b"", "nothing written through the link");
}

#[test]
fn rotation_keeps_a_ring_of_files_that_replay_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let ring = Limits { max_size: Some(600), keep: 2, rounds_per_chunk: 2, ..Limits::default() };
    record(&path, 40, ring);
    let names: Vec<PathBuf> = [path.clone(), rotated_name(&path, 1), rotated_name(&path, 2)].into();
    assert!(names.iter().all(|name| name.exists()) && !rotated_name(&path, 3).exists());
    let mut recording = Recording::open(&[names[0].clone(), names[2].clone(), names[1].clone()]).unwrap();
    let seen = seconds(&mut recording);
    assert_eq!(seen.last(), Some(&39));
    assert!(seen.windows(2).all(|pair| pair[1] == pair[0] + 1), "contiguous, oldest first: {seen:?}");
}

#[test]
fn a_damaged_chunk_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let ends = record(&path, 6, limits(3));
    let mut bytes = std::fs::read(&path).unwrap();
    let inside_first_chunk = (ends[0] - 2) as usize;
    bytes[inside_first_chunk] ^= 0xFF;
    std::fs::write(&path, &bytes).unwrap();
    let mut recording = Recording::open(&[path]).unwrap();
    assert_eq!(seconds(&mut recording), vec![3, 4, 5]);
    assert!(recording.damage()[0].contains("CRC does not match"), "{:?}", recording.damage());
}

#[test]
fn zstd_alone_reads_a_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    record(&path, 5, limits(2));
    let text = zstd::stream::decode_all(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(text.iter().filter(|byte| **byte == b'\n').count(), 5);
}

/// A round whose sample holds counters, so a flipped bit can change a number.
fn counted_round(second: i64) -> Round {
    let mut round = round(second);
    if let Some(Observed::Sample(sample)) = round.observed.first_mut() {
        let fields = [("ListenOverflows", 7 * second), ("ListenDrops", 90 + second)];
        let fields = fields.into_iter().map(|(name, value)| (name.to_string(), value)).collect();
        sample.netstat = Some([("TcpExt".to_string(), fields)].into_iter().collect());
    }
    round
}

#[test]
fn a_flipped_bit_in_the_unfinished_chunk_never_reads_as_a_round() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let mut recorder = Recorder::open(&path, header(), limits(60)).unwrap();
    let written: Vec<String> = (0..3)
        .map(|second| {
            let round = counted_round(second);
            recorder.append(&round).unwrap();
            serde_json::to_string(&round).unwrap()
        })
        .collect();
    drop(recorder); // killed: the chunk stays unfinished, with no CRC of its own
    let bytes = std::fs::read(&path).unwrap();
    let header_len = 8 + u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    let damaged = dir.path().join("damaged");
    for at in header_len..bytes.len() {
        for bit in [0, 3, 6] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            std::fs::write(&damaged, &flipped).unwrap();
            let Ok(mut recording) = Recording::open(std::slice::from_ref(&damaged)) else { continue };
            for index in 0..recording.len() {
                if let Ok(round) = recording.round(index) {
                    let line = serde_json::to_string(&round).unwrap();
                    assert!(written.contains(&line), "flip at {at}.{bit} read a round never written: {line}");
                }
            }
        }
    }
}

/// A round whose sample holds a listener and the listen-event source's totals for it.
fn round_with_events(second: i64, drops: u64, waits: u64) -> Round {
    use crate::advise::testkit::{add_drops, add_listener, add_waits, event, events_at, listener, sample, set_events};
    use crate::sample::listen_events::{DropReason, EventKind};
    let web = listener("0.0.0.0", 8080, 7, 17, 16);
    let mut sample = sample(second as u64);
    sample.taken_at = jiff::Timestamp::from_second(1_800_000_000 + second).unwrap();
    add_listener(&mut sample, web.clone(), Some((42, "nginx")));
    let mut entry = events_at(&web);
    add_drops(&mut entry, DropReason::SynQueueFull, "192.0.2.1", drops);
    add_waits(&mut entry, 150_000_000, waits);
    let latest = vec![event(&web, EventKind::Syncookie, "192.0.2.1", 40_000, second as u64)];
    set_events(&mut sample, vec![entry], latest, 3);
    Round { taken_at: sample.taken_at, observed: vec![Observed::Sample(Box::new(sample))] }
}

#[test]
fn listen_events_read_back_to_the_same_model() {
    use crate::model::{Limits as ModelLimits, Model};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rec");
    let written = [round_with_events(10, 5, 0), round_with_events(11, 25, 40)];
    let mut recorder = Recorder::open(&path, header(), limits(8)).unwrap();
    for round in &written {
        recorder.append(round).unwrap();
    }
    recorder.finish().unwrap();
    let mut recording = Recording::open(&[path]).unwrap();
    let read = recording.rounds(0..recording.len()).unwrap();
    let samples = |rounds: &[Round]| -> Vec<Sample> {
        rounds
            .iter()
            .filter_map(|round| match round.observed.first() {
                Some(Observed::Sample(sample)) => Some((**sample).clone()),
                _ => None,
            })
            .collect()
    };
    let (before, after) = (samples(&written), samples(&read));
    assert_eq!(after[1].listen_events, before[1].listen_events, "the totals read back as written");
    let model = |samples: &[Sample]| Model::new(&samples[1], Some(&samples[0]), &ModelLimits::default()).listen_events;
    let (expected, replayed) = (model(&before), model(&after));
    assert_eq!(replayed, expected);
    let activity = replayed.listeners.values().next().expect("the listener's events");
    let interval = activity.interval.as_ref().expect("an interval");
    assert_eq!(interval.drops[&crate::sample::listen_events::DropReason::SynQueueFull].delta, 20);
    assert_eq!(interval.accept_wait.map(|waits| waits.count), Some(40));
}
