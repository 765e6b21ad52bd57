//! Renderers: formatting only. The text report for people, JSON for scripts, and the status
//! line of check mode — each reads a [`Frame`], never the kernel, and computes no domain number.

pub mod check;
pub mod findings;
pub mod json;
pub mod scene;
pub mod table;
pub mod text;

use crate::engine::Frame;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned sections for reading.
    Text,
    /// JSON, schema version 1.
    Json,
}

/// Renders a frame in the chosen format.
pub fn render(frame: &Frame, format: Format) -> Result<String, serde_json::Error> {
    match format {
        Format::Text => Ok(text::render(frame)),
        Format::Json => json::render(frame),
    }
}
