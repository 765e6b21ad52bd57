//! Renderers of the one-shot report: text for people, JSON for scripts.

pub mod findings;
pub mod json;
pub mod table;
pub mod text;

use crate::advise::Outcome;
use crate::model::View;

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned sections for reading.
    Text,
    /// JSON, schema version 1.
    Json,
}

/// Renders a view and the advisor's outcome in the chosen format.
pub fn render(view: &View<'_>, outcome: &Outcome, format: Format) -> Result<String, serde_json::Error> {
    match format {
        Format::Text => Ok(text::render(view, outcome)),
        Format::Json => json::render(view, outcome),
    }
}
