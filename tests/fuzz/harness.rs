//! A small mutation harness on stable Rust: a seeded generator, mutators for bytes and text,
//! and a runner that names the case that panicked.
//!
//! Every suite runs a fixed number of cases in CI, chosen so the whole fuzz test stays under a
//! minute in a debug build (which has overflow checks on). `SOCKSCOPE_FUZZ_SCALE=N` runs N
//! times as many; `SOCKSCOPE_FUZZ_SEED=S` starts from another seed (the default is fixed, so a
//! CI run is repeatable). A panicking case is reported with its suite, number and seed, and
//! `SOCKSCOPE_FUZZ_SEED=S SOCKSCOPE_FUZZ_ONLY=N` runs that one case again.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

/// The seed when `SOCKSCOPE_FUZZ_SEED` is not set.
const DEFAULT_SEED: u64 = 0x5eed_50c5_c09e_2026;

/// Cases run over every suite, for the summary a longer run reports.
pub static TOTAL_CASES: AtomicU64 = AtomicU64::new(0);

/// A SplitMix64 generator: small, fast and good enough to drive mutations.
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 { 0 } else { (self.next_u64() % bound as u64) as usize }
    }

    /// True with probability `numerator / denominator`.
    pub fn chance(&mut self, numerator: u64, denominator: u64) -> bool {
        self.next_u64() % denominator < numerator
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }

    /// A number that tends to break arithmetic: a boundary of some integer type, a small value,
    /// or any 64-bit value.
    pub fn extreme(&mut self) -> u64 {
        const EDGES: [u64; 14] = [
            0,
            1,
            2,
            0x7f,
            0xff,
            0xffff,
            0x7fff_ffff,
            0x8000_0000,
            u32::MAX as u64 - 1,
            u32::MAX as u64,
            u32::MAX as u64 + 1,
            i64::MAX as u64,
            i64::MAX as u64 + 1,
            u64::MAX,
        ];
        if self.chance(3, 4) { *self.pick(&EDGES) } else { self.next_u64() }
    }
}

/// Cases of a suite: its CI count times `SOCKSCOPE_FUZZ_SCALE`.
pub fn cases(ci: usize) -> usize {
    let scale = std::env::var("SOCKSCOPE_FUZZ_SCALE").ok().and_then(|text| text.parse::<usize>().ok());
    ci.saturating_mul(scale.unwrap_or(1).max(1))
}

fn base_seed() -> u64 {
    std::env::var("SOCKSCOPE_FUZZ_SEED").ok().and_then(|text| text.parse().ok()).unwrap_or(DEFAULT_SEED)
}

/// Runs `case` `count` times, each with a generator seeded from the suite's name, the base seed
/// and the case number; a panic is re-raised naming the case. Returns the number of cases run.
pub fn run(suite: &str, count: usize, mut case: impl FnMut(&mut Rng)) -> usize {
    let base = base_seed();
    let only = std::env::var("SOCKSCOPE_FUZZ_ONLY").ok().and_then(|text| text.parse::<usize>().ok());
    let name_hash = suite
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    let started = std::time::Instant::now();
    let mut ran = 0;
    for number in (0..count).filter(|number| only.is_none_or(|only| only == *number)) {
        let mut rng = Rng::new(base ^ name_hash ^ (number as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| case(&mut rng))) {
            eprintln!(
                "fuzz {suite}: case {number} failed; rerun it with SOCKSCOPE_FUZZ_SEED={base} SOCKSCOPE_FUZZ_ONLY={number}"
            );
            std::panic::resume_unwind(panic);
        }
        ran += 1;
    }
    TOTAL_CASES.fetch_add(ran as u64, Ordering::Relaxed);
    eprintln!("fuzz {suite}: {ran} cases in {:.1} s, no panic", started.elapsed().as_secs_f64());
    ran
}

/// One random change to `bytes`: bits flipped, bytes set to edge values, an integer field
/// overwritten with an extreme, a range deleted, duplicated or inserted, or the end cut off.
pub fn mutate_bytes(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    match rng.below(9) {
        0 | 1 if len > 0 => {
            let at = rng.below(len);
            bytes[at] ^= 1 << rng.below(8);
        }
        2 if len > 0 => {
            let at = rng.below(len);
            bytes[at] = *rng.pick(&[0, 1, 0x7f, 0x80, 0xfe, 0xff]);
        }
        3 if len >= 2 => {
            let width = *rng.pick(&[2usize, 4, 8]).min(&len);
            let at = rng.below(len - width + 1);
            let value = rng.extreme().to_ne_bytes();
            bytes[at..at + width].copy_from_slice(&value[..width]);
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(16)).min(len);
            bytes.drain(at..end);
        }
        5 if len > 0 => {
            let at = rng.below(len);
            let end = (at + 1 + rng.below(64)).min(len);
            let copy: Vec<u8> = bytes[at..end].to_vec();
            let to = rng.below(len + 1);
            bytes.splice(to..to, copy);
        }
        6 => {
            let to = rng.below(len + 1);
            let len = 1 + rng.below(8);
            let insert = rng.bytes(len);
            bytes.splice(to..to, insert);
        }
        7 if len > 0 => bytes.truncate(rng.below(len)),
        _ => {
            let len = rng.below(8);
            bytes.extend(rng.bytes(len));
        }
    }
}

/// `rounds` random changes in a row.
pub fn mutate_bytes_n(rng: &mut Rng, bytes: &mut Vec<u8>, rounds: usize) {
    for _ in 0..rounds {
        mutate_bytes(rng, bytes);
    }
}

/// Numbers spelled as a /proc file or a hand-edited file might hold them at their worst.
const NUMBER_WORDS: [&str; 16] = [
    "0",
    "-1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999999999",
    "ffffffff",
    "ffffffffffffffff",
    "1e309",
    "nan",
    "-0",
    "",
    "0-4294967295",
];

/// One random change to a text made of lines of words: a line deleted, doubled, moved or cut,
/// a word replaced by an extreme number, or a byte-level change (kept as UTF-8, lossily).
pub fn mutate_text(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let count = lines.len();
    match rng.below(7) {
        0 if count > 0 => {
            lines.remove(rng.below(count));
        }
        1 if count > 0 => {
            let line = lines[rng.below(count)].clone();
            lines.insert(rng.below(count + 1), line);
        }
        2 if count > 1 => {
            let (a, b) = (rng.below(count), rng.below(count));
            lines.swap(a, b);
        }
        3 | 4 if count > 0 => {
            let at = rng.below(count);
            let mut words: Vec<String> = lines[at].split(' ').map(str::to_string).collect();
            let word = rng.below(words.len());
            words[word] = (*rng.pick(&NUMBER_WORDS)).to_string();
            lines[at] = words.join(" ");
        }
        5 if count > 0 => {
            let at = rng.below(count);
            let keep = rng.below(lines[at].len() + 1);
            lines[at] = String::from_utf8_lossy(&lines[at].as_bytes()[..keep]).into_owned();
        }
        _ => {
            let mut bytes = lines.join("\n").into_bytes();
            mutate_bytes(rng, &mut bytes);
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    lines.join("\n")
}

/// `rounds` random text changes in a row.
pub fn mutate_text_n(rng: &mut Rng, text: &str, rounds: usize) -> String {
    (0..rounds).fold(text.to_string(), |text, _| mutate_text(rng, &text))
}

/// Random text from an alphabet that looks like the files being parsed.
pub fn random_text(rng: &mut Rng, alphabet: &[u8], len: usize) -> String {
    let bytes: Vec<u8> = (0..len).map(|_| *rng.pick(alphabet)).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}
