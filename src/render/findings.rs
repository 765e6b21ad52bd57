//! Findings as text: one block per finding, most severe first, wrapped for reading in a
//! terminal or a ticket; and the one-line status of check mode. The advisor has already made
//! every finding's text safe to print ([`crate::advise::Report::add`]).

use std::fmt::Write as _;

use crate::advise::{Finding, Outcome};

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
    let _ = writeln!(out, "\n  [{}] {}  {}", finding.severity.tag(), finding.id, finding.subject.label());
    out.push_str(&wrap(&finding.summary, "       ", WIDTH));
    if !finding.evidence.is_empty() {
        let evidence: Vec<String> = finding.evidence.iter().map(|e| format!("{}: {}", e.label, e.value)).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_at_the_width_with_an_indent() {
        let wrapped = wrap("one two three four five", "  ", 12);
        assert_eq!(wrapped, "  one two\n  three four\n  five\n");
        assert!(render(&Outcome::default()).contains("no findings"));
    }
}
