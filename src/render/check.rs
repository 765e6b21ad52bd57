//! Check mode's text: the one-line status that monitoring plugins print, with performance
//! data, then the findings. The verdict itself is the advisor's ([`crate::advise::status`]).

use crate::advise::Severity;
use crate::advise::status::{CENTRAL_CHECKS, Status};
use crate::engine::Frame;
use crate::format::{plugin_text, sanitize};
use crate::sample::counters::{LISTEN_DROPS, LISTEN_OVERFLOWS};

/// The whole text of check mode: status line with performance data, then the findings.
pub fn render(frame: &Frame) -> String {
    let text = format!("{} | {}\n{}", status_line(&frame.findings), perfdata(frame), super::findings::render(frame));
    crate::format::terminal_text(text)
}

/// Performance data for the status line (`label=value`, as monitoring plugins print it).
pub fn perfdata(frame: &Frame) -> String {
    let model = &frame.model;
    let rate = |rate: Option<f64>| rate.map_or_else(|| "U".to_string(), |rate| format!("{rate:.3}"));
    format!(
        "listen_overflows_per_second={} listen_drops_per_second={} max_accept_queue_fill={:.3} critical={} warning={}",
        rate(model.counters.rate(LISTEN_OVERFLOWS)),
        rate(model.counters.rate(LISTEN_DROPS)),
        model.max_fill(),
        frame.findings.count(Severity::Critical),
        frame.findings.count(Severity::Warning)
    )
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
