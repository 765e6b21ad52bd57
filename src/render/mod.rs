//! Renderers: formatting only. The text report for people, JSON for scripts, the metric
//! expositions for Prometheus, and the status line of check mode — each reads a [`Frame`] (or a
//! scene of them), never the kernel, and computes no domain number.

pub mod check;
pub mod events;
pub mod findings;
pub mod json;
pub mod metrics;
pub mod scene;
pub mod table;
pub mod text;

use crate::engine::Frame;
use metrics::Exposition;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned sections for reading.
    Text,
    /// JSON, schema version 1.
    Json,
    /// OpenMetrics 1.0 text, for Prometheus and other scrapers.
    #[value(name = "openmetrics")]
    OpenMetrics,
    /// The Prometheus text format 0.0.4 (node_exporter's textfile collector, promtool).
    Prometheus,
}

impl Format {
    /// The metric exposition this format is, if it is one.
    pub fn exposition(self) -> Option<Exposition> {
        match self {
            Format::OpenMetrics => Some(Exposition::OpenMetrics),
            Format::Prometheus => Some(Exposition::Prometheus),
            Format::Text | Format::Json => None,
        }
    }
}

/// Output format of check mode: the status line and findings as text, or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    /// The status line with performance data, then the findings.
    Text,
    /// JSON: the status first, then the report's fields.
    Json,
}

/// Renders a frame in the chosen format.
pub fn render(frame: &Frame, format: Format) -> Result<String, serde_json::Error> {
    match format {
        Format::Text => Ok(text::render(frame)),
        Format::Json => json::render(frame),
        Format::OpenMetrics => Ok(metrics::render_frame(frame, Exposition::OpenMetrics)),
        Format::Prometheus => Ok(metrics::render_frame(frame, Exposition::Prometheus)),
    }
}
