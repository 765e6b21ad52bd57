//! The monitoring verdict: OK, WARNING, CRITICAL or UNKNOWN, as `sockscope check` reports it
//! and exits with. Decided here, from the outcome and the sample, so every output agrees.

use super::Outcome;
use super::Severity;
use crate::sample::Sample;

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

    /// One status over several namespaces: CRITICAL over WARNING over UNKNOWN over OK, so a
    /// namespace that could not be judged never hides one that is failing, nor passes as OK.
    pub fn combine(statuses: impl IntoIterator<Item = Status>) -> Status {
        let rank = |status: &Status| match status {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        };
        statuses.into_iter().max_by_key(rank).unwrap_or(Status::Unknown)
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
pub const CENTRAL_CHECKS: [&str; 2] = ["accept-queue-full", "listen-overflow-rate"];

/// Why nothing can be judged at all: none of the central sources (listeners, the TCP dump,
/// netstat) could be read. `None` when at least one was.
pub fn unreadable(sample: &Sample) -> Option<String> {
    if sample.tcp_listeners.is_some() || sample.netstat.is_some() || sample.tcp_summary.is_some() {
        return None;
    }
    let reason =
        sample.unavailable.first().map_or("unknown reason".to_string(), |u| format!("{}: {}", u.source, u.reason));
    Some(format!("nothing could be read from the kernel ({reason})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::NotEvaluated;
    use crate::advise::testkit::finding;
    use crate::sample::Source;

    #[test]
    fn namespaces_combine_critical_over_warning_over_unknown_over_ok() {
        use Status::*;
        assert_eq!(Status::combine([Ok, Unknown, Warning]), Warning);
        assert_eq!(Status::combine([Critical, Unknown]), Critical);
        assert_eq!(Status::combine([Ok, Unknown]), Unknown);
        assert_eq!(Status::combine([Ok, Ok]), Ok);
        assert_eq!(Status::combine([]), Unknown, "nothing judged is not OK");
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
        let clean =
            Outcome { findings: vec![finding("backlog-below-somaxconn", Severity::Info)], not_evaluated: Vec::new() };
        assert_eq!(Status::of(&clean), Status::Ok);
    }

    #[test]
    fn without_the_central_checks_the_status_is_unknown() {
        let blind = Outcome {
            findings: Vec::new(),
            not_evaluated: vec![NotEvaluated { id: "accept-queue-full", reason: "TCP listeners unavailable".into() }],
        };
        assert_eq!(Status::of(&blind), Status::Unknown);
        assert_eq!(Status::of(&blind).exit_code(), 3);
    }

    #[test]
    fn a_sample_with_no_central_source_is_unreadable() {
        let mut sample = Sample::default();
        sample.mark_unavailable(Source::TcpListeners, "permission denied");
        let reason = unreadable(&sample).expect("unreadable");
        assert_eq!(reason, "nothing could be read from the kernel (tcp_listeners: permission denied)");
        sample.netstat = Some(Default::default());
        assert_eq!(unreadable(&sample), None);
    }
}
