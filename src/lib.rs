//! sockscope: a Linux network tuning inspector focused on TCP listen queues.
//!
//! The program is a one-way pipeline:
//! [`collect`] reads the kernel into a [`sample::Sample`]; [`model`] derives the view (rates,
//! fill, attribution) from one or two samples; [`advise`] judges it; [`report`] renders it as text or
//! JSON and [`tui`] as the live dashboard.

pub mod advise;
pub mod cli;
pub mod collect;
pub mod manpage;
pub mod model;
pub mod report;
pub mod run;
pub mod sample;
pub mod sanitize;
pub mod settings;
pub mod tui;
pub mod units;
