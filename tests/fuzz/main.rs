//! Fuzz and property tests on stable Rust: every netlink decoder, every /proc parser, the
//! configuration parser, the whole pipeline on mutated samples (model, advisor, every report
//! format and the dashboard), and the recording reader, fed random and mutated input by a small
//! mutation harness (`harness.rs`). Built as a test (debug, overflow checks on) each suite runs
//! its CI share of cases; `SOCKSCOPE_FUZZ_SCALE=20 cargo test --test fuzz` runs twenty times as
//! many, and `cargo test --profile release-checked --test fuzz` runs them optimised with overflow
//! checks still on.

mod config;
mod harness;
mod netlink;
mod pipeline;
mod procfs;
mod recording;
