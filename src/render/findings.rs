//! Findings as text: one block per finding, most severe first, with how many samples saw it
//! and whether it is held, then the recently cleared ones, wrapped for reading in a terminal
//! or a ticket. The advisor has already made every finding's text safe to print
//! ([`crate::advise::Report::add`]).

use std::fmt::Write as _;

use crate::advise::Finding;
use crate::advise::lifecycle::Life;
use crate::engine::Frame;

/// Width text is wrapped to.
const WIDTH: usize = 100;

/// Renders every active finding, the recently cleared ones, then the checks that could not
/// judge.
pub fn render(frame: &Frame) -> String {
    let (outcome, timeline) = (&frame.findings, &frame.timeline);
    let mut out = String::new();
    if outcome.findings.is_empty() {
        out.push_str("  no findings\n");
    }
    // One sample says nothing about a finding's life; from two on, each says how many saw it.
    let samples = (frame.generation > 1).then_some(frame.generation);
    for finding in &outcome.findings {
        block(&mut out, finding);
        if let Some(life) = samples.and_then(|_| timeline.life_of(finding)) {
            out.push_str(&wrap(&format!("Seen: {}", seen(life, samples, frame)), "       ", WIDTH));
        }
    }
    if !timeline.cleared.is_empty() {
        out.push_str("\n  Recently cleared:\n");
        for life in &timeline.cleared {
            let finding = &life.finding;
            let line = format!(
                "[{}] {}  {}: {}; {}",
                finding.severity.tag(),
                finding.id,
                finding.subject.label(),
                life.describe(&timeline.now),
                life.seen(None)
            );
            out.push_str(&wrap(&line, "    ", WIDTH));
        }
    }
    if !outcome.not_evaluated.is_empty() {
        out.push_str("\n  Not evaluated:\n");
        for skipped in &outcome.not_evaluated {
            let _ = writeln!(out, "    {}: {}", skipped.id, skipped.reason);
        }
    }
    out
}

/// `in 3 of 6 samples over 4s, held: last seen 2s ago`.
fn seen(life: &Life, samples: Option<u64>, frame: &Frame) -> String {
    let seen = life.seen(samples);
    let seen = seen.strip_prefix("seen ").unwrap_or(&seen);
    format!("{seen}, {}", life.describe(&frame.timeline.now))
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
        let frame = crate::engine::Pipeline::new(crate::advise::Rules::default()).push(Default::default());
        assert!(render(&frame).contains("no findings"));
    }
}
