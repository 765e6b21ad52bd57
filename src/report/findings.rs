//! Findings as text: one block per finding, most severe first, wrapped for reading in a
//! terminal or a ticket; and the one-line status of check mode.

use std::fmt::Write as _;

use crate::advise::{Finding, Outcome, Severity};
use crate::sanitize::sanitize;

/// Width text is wrapped to.
const WIDTH: usize = 100;

/// Renders every finding, then the checks that could not judge.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    if outcome.findings.is_empty() {
        out.push_str("  no findings\n");
    }
    for finding in &outcome.findings {
        block(&mut out, finding);
    }
    if !outcome.not_evaluated.is_empty() {
        out.push_str("\n  Not evaluated:\n");
        for skipped in &outcome.not_evaluated {
            let _ = writeln!(out, "    {}: {}", skipped.id, skipped.reason);
        }
    }
    out
}

fn block(out: &mut String, finding: &Finding) {
    let _ = writeln!(out, "\n  [{}] {}  {}", finding.severity.tag(), finding.id, sanitize(&finding.subject.label()));
    out.push_str(&wrap(&sanitize(&finding.summary), "       ", WIDTH));
    if !finding.evidence.is_empty() {
        let evidence: Vec<String> =
            finding.evidence.iter().map(|e| format!("{}: {}", e.label, sanitize(&e.value))).collect();
        out.push_str(&wrap(&format!("Evidence: {}", evidence.join("; ")), "       ", WIDTH));
    }
    out.push_str(&wrap(&format!("Why: {}", finding.explanation), "       ", WIDTH));
    out.push_str(&wrap(&format!("Fix: {}", finding.remedy), "       ", WIDTH));
}

/// Word-wraps `text` to `width` columns, every line starting with `indent`.
pub fn wrap(text: &str, indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    for word in text.split_whitespace() {
        let needed = if line.len() == indent.len() { word.chars().count() } else { word.chars().count() + 1 };
        if line.chars().count() + needed > width && line.len() > indent.len() {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(indent);
        }
        if line.len() > indent.len() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if line.len() > indent.len() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The status of check mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Nothing above info.
    Ok,
    /// At least one warning, no critical finding.
    Warning,
    /// At least one critical finding.
    Critical,
    /// The central checks could not judge.
    Unknown,
}

impl Status {
    /// The status of an outcome: the worst finding, or UNKNOWN when nothing is wrong but the
    /// central listen-queue checks could not run.
    pub fn of(outcome: &Outcome) -> Status {
        match outcome.worst() {
            Some(Severity::Critical) => Status::Critical,
            Some(Severity::Warning) => Status::Warning,
            _ if outcome.not_evaluated.iter().any(|n| CENTRAL_CHECKS.contains(&n.id)) => Status::Unknown,
            _ => Status::Ok,
        }
    }

    /// Exit status of a monitoring plugin: 0, 1, 2 or 3.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }
}

/// Checks without which the verdict would be meaningless: when one cannot run and nothing
/// else fired, the status is UNKNOWN rather than OK.
const CENTRAL_CHECKS: [&str; 2] = ["accept-queue-full", "listen-overflow-rate"];

/// The first line of check mode, as monitoring plugins print it:
/// `SOCKSCOPE CRITICAL - 2 critical, 1 warning: accept-queue-full tcp 0.0.0.0:80 (nginx[812]), ...`.
pub fn status_line(outcome: &Outcome) -> String {
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
            return format!("SOCKSCOPE UNKNOWN - could not judge ({})", reasons.join("; "));
        }
        (0, 0) => format!("no problems found ({info} informational)"),
        _ => format!("{critical} critical, {warning} warning"),
    };
    let named: Vec<String> = outcome
        .findings
        .iter()
        .filter(|finding| finding.severity >= Severity::Warning)
        .take(3)
        .map(|finding| format!("{} {}", finding.id, sanitize(&finding.subject.label())))
        .collect();
    let more = outcome.count(Severity::Critical) + outcome.count(Severity::Warning);
    let tail = match named.len() {
        0 => String::new(),
        shown if more > shown => format!(": {}, and {} more", named.join(", "), more - shown),
        _ => format!(": {}", named.join(", ")),
    };
    format!("SOCKSCOPE {} - {counts}{tail}", status.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::{Evidence, NotEvaluated, Subject};

    fn finding(id: &'static str, severity: Severity) -> Finding {
        Finding {
            id,
            severity,
            subject: Subject::Host,
            summary: "summary".into(),
            explanation: "why".into(),
            evidence: vec![Evidence::number("n", "1", 1.0)],
            remedy: "fix".into(),
        }
    }

    #[test]
    fn the_status_follows_the_worst_finding() {
        let outcome = Outcome {
            findings: vec![
                finding("accept-queue-full", Severity::Critical),
                finding("somaxconn-low", Severity::Warning),
            ],
            not_evaluated: Vec::new(),
        };
        assert_eq!(Status::of(&outcome).exit_code(), 2);
        assert_eq!(
            status_line(&outcome),
            "SOCKSCOPE CRITICAL - 1 critical, 1 warning: accept-queue-full host, somaxconn-low host"
        );
        let clean =
            Outcome { findings: vec![finding("backlog-below-somaxconn", Severity::Info)], not_evaluated: Vec::new() };
        assert_eq!(status_line(&clean), "SOCKSCOPE OK - no problems found (1 informational)");
        assert_eq!(Status::of(&clean).exit_code(), 0);
    }

    #[test]
    fn without_the_central_checks_the_status_is_unknown() {
        let blind = Outcome {
            findings: Vec::new(),
            not_evaluated: vec![NotEvaluated { id: "accept-queue-full", reason: "TCP listeners unavailable".into() }],
        };
        assert_eq!(Status::of(&blind), Status::Unknown);
        assert_eq!(Status::of(&blind).exit_code(), 3);
        assert!(status_line(&blind).starts_with("SOCKSCOPE UNKNOWN - could not judge (accept-queue-full"));
    }

    #[test]
    fn text_wraps_at_the_width_with_an_indent() {
        let wrapped = wrap("one two three four five", "  ", 12);
        assert_eq!(wrapped, "  one two\n  three four\n  five\n");
        assert!(render(&Outcome::default()).contains("no findings"));
    }
}
