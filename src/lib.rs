//! sockscope: a Linux network tuning inspector focused on TCP listen queues.
//!
//! The program is a one-way pipeline, one module per stage:
//! [`collect`] reads the kernel into a [`sample::Sample`]; [`engine`]'s `Pipeline` turns each
//! sample into an owned `Frame` — the [`model`] derived from it and the previous one, and the
//! [`advise`]r's findings; [`render`] formats a frame as text, JSON or check output and [`tui`]
//! as the live dashboard. [`modes`] wires a parsed [`cli`] and the [`config`] to one of them.

pub mod advise;
pub mod build_info;
pub mod capabilities;
pub mod cli;
pub mod collect;
pub mod config;
pub mod engine;
pub mod files;
pub mod format;
pub mod manpage;
pub mod model;
pub mod modes;
pub mod record;
pub mod render;
pub mod sample;
pub mod settings;
pub mod tui;
