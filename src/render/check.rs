//! Check mode's text: the one-line status that monitoring plugins print, with performance
//! data, then the findings. The verdict itself is the advisor's ([`crate::advise::status`]).

use crate::advise::Severity;
use crate::advise::status::{CENTRAL_CHECKS, Status};
use crate::engine::Frame;
use crate::format::{plugin_text, sanitize};

/// The whole text of check mode: status line with performance data, then the findings.
pub fn render(frame: &Frame) -> String {
    let text = format!("{} | {}\n{}", status_line(&frame.findings), perfdata(frame), super::findings::render(frame));
    crate::format::terminal_text(text)
}

/// Performance data for the status line: the model's measures in the plugin format.
pub fn perfdata(frame: &Frame) -> String {
    let (critical, warning) = (frame.findings.count(Severity::Critical), frame.findings.count(Severity::Warning));
    perfdata_text(&crate::model::perfdata::measures(&frame.model, &frame.sample, critical, warning))
}

/// Measures as monitoring plugins print them: `label=value[unit];warn;crit;min;max`, separated by
/// spaces; a label with anything but letters, digits, `_` and `.` is quoted (`'fill tcp
/// 0.0.0.0:80'=50.0%;80;100;0;100`), and the characters the format reserves (`=`, `'`, `|`)
/// in an address or a UNIX path become `_`.
pub fn perfdata_text(measures: &[crate::model::perfdata::Measure]) -> String {
    use crate::model::perfdata::Unit;
    let level = |level: Option<f64>| level.map(format_level).unwrap_or_default();
    let items: Vec<String> = measures
        .iter()
        .map(|measure| {
            let value = measure.value.map_or_else(|| "U".to_string(), |v| format!("{v:.*}", measure.decimals));
            let unit = if measure.unit == Unit::Percent { "%" } else { "" };
            let fields = [measure.warning, measure.critical, measure.min, measure.max].map(level).join(";");
            format!("{}={value}{unit};{}", perf_label(&measure.label), fields.trim_end_matches(';'))
        })
        .collect();
    items.join(" ")
}

/// A level without needless decimals: `80`, `0.8`, `104857`.
fn format_level(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value}") }
}

/// A label safe for the plugin format, quoted when it holds more than a plain word.
fn perf_label(label: &str) -> String {
    let safe: String = sanitize(label).chars().map(|c| if matches!(c, '=' | '\'' | '|') { '_' } else { c }).collect();
    match safe.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        true => safe,
        false => format!("'{safe}'"),
    }
}

/// `check --list`: every check of the catalogue with what it looks at and the thresholds it
/// reads — the value in use, and the default where the configuration changed it.
pub fn list(rules: &crate::advise::Rules) -> String {
    use std::fmt::Write;
    let number = |value: f64| if value.fract() == 0.0 { format!("{value:.0}") } else { value.to_string() };
    let mut out = String::new();
    for check in crate::advise::CHECKS {
        let silenced = if rules.silence.iter().any(|id| id == check.id) { " [silenced]" } else { "" };
        let _ = writeln!(out, "{} ({}){silenced}: {}", check.id, check.family, check.title);
        for (key, value, default, meaning) in rules.thresholds.of_check(check.id) {
            let setting = match value == default {
                true => format!("{key} = {}", number(value)),
                false => format!("{key} = {} (default {})", number(value), number(default)),
            };
            let _ = writeln!(out, "    {setting:<44} {meaning}");
        }
    }
    out
}

/// The line of an UNKNOWN verdict reached before any judging: nothing could be read.
pub fn unknown_line(reason: &str) -> String {
    format!("SOCKSCOPE UNKNOWN - {}\n", plugin_text(&sanitize(reason)))
}

/// The first line of check mode, as monitoring plugins print it:
/// `SOCKSCOPE CRITICAL - 2 critical, 1 warning: accept-queue-full tcp 0.0.0.0:80 (nginx[812]), ...`.
pub fn status_line(outcome: &crate::advise::Outcome) -> String {
    let status = Status::of(outcome);
    let critical = outcome.count(Severity::Critical);
    let warning = outcome.count(Severity::Warning);
    let info = outcome.count(Severity::Info);
    let counts = match (critical, warning) {
        (0, 0) if status == Status::Unknown => {
            let reasons: Vec<String> = outcome
                .not_evaluated
                .iter()
                .filter(|n| CENTRAL_CHECKS.contains(&n.id))
                .map(|n| format!("{}: {}", n.id, n.reason))
                .collect();
            return format!("SOCKSCOPE UNKNOWN - could not judge ({})", plugin_text(&reasons.join("; ")));
        }
        (0, 0) => format!("no problems found ({info} informational)"),
        _ => format!("{critical} critical, {warning} warning"),
    };
    let named: Vec<String> = outcome
        .findings
        .iter()
        .filter(|finding| finding.severity >= Severity::Warning)
        .take(3)
        .map(|finding| format!("{} {}", finding.id, finding.subject.label()))
        .collect();
    let more = outcome.count(Severity::Critical) + outcome.count(Severity::Warning);
    let tail = match named.len() {
        0 => String::new(),
        shown if more > shown => format!(": {}, and {} more", named.join(", "), more - shown),
        _ => format!(": {}", named.join(", ")),
    };
    format!("SOCKSCOPE {} - {counts}{}", status.name(), plugin_text(&tail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::finding;
    use crate::advise::{NotEvaluated, Outcome};

    #[test]
    fn a_bar_in_a_name_cannot_start_the_performance_data() {
        let mut outcome = Outcome::default();
        let mut listener = finding("accept-queue-full", Severity::Critical);
        let process = crate::sample::ProcessRef { pid: 7, command: "a|b=1;2;3".to_string() };
        listener.subject = crate::advise::Subject::Process { process };
        outcome.findings.push(listener);
        let line = status_line(&outcome);
        assert_eq!(line.matches('|').count(), 0, "{line}");
        assert!(line.contains("a¦b=1;2;3"), "{line}");
        assert!(!unknown_line("x|y").contains('|'));
    }

    #[test]
    fn performance_data_has_its_levels_and_quotes_what_is_not_a_plain_word() {
        use crate::model::perfdata::{Across, Measure, Unit};
        let fill = Measure {
            label: "fill unix /run/a=b's|c".into(),
            value: Some(50.0),
            unit: Unit::Percent,
            decimals: 1,
            warning: Some(80.0),
            critical: Some(100.0),
            min: Some(0.0),
            max: Some(100.0),
            across: Across::Listener,
        };
        let rate = Measure { label: "drops".into(), value: None, unit: Unit::Number, decimals: 3, ..fill.clone() };
        let count = Measure {
            label: "close_wait".into(),
            value: Some(150.0),
            decimals: 0,
            warning: Some(100.0),
            critical: None,
            max: None,
            ..rate.clone()
        };
        assert_eq!(
            perfdata_text(&[fill, rate, count]),
            "'fill unix /run/a_b_s_c'=50.0%;80;100;0;100 drops=U;80;100;0;100 close_wait=150;100;;0"
        );
    }

    #[test]
    fn the_status_line_names_the_worst_findings() {
        let outcome = Outcome {
            findings: vec![
                finding("accept-queue-full", Severity::Critical),
                finding("somaxconn-low", Severity::Warning),
            ],
            not_evaluated: Vec::new(),
        };
        assert_eq!(
            status_line(&outcome),
            "SOCKSCOPE CRITICAL - 1 critical, 1 warning: accept-queue-full host, somaxconn-low host"
        );
        let clean =
            Outcome { findings: vec![finding("backlog-below-somaxconn", Severity::Info)], not_evaluated: Vec::new() };
        assert_eq!(status_line(&clean), "SOCKSCOPE OK - no problems found (1 informational)");
        let blind = Outcome {
            findings: Vec::new(),
            not_evaluated: vec![NotEvaluated { id: "accept-queue-full", reason: "TCP listeners unavailable".into() }],
        };
        assert!(status_line(&blind).starts_with("SOCKSCOPE UNKNOWN - could not judge (accept-queue-full"));
    }
}
