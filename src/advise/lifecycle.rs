//! Findings over time. The advisor judges each sample on its own, so a problem whose evidence
//! comes in bursts — SYN retries arrive 1 s, 3 s and 7 s apart, a TIME_WAIT overflow moves its
//! counter once — would appear in one sample and vanish from the next. A [`Lifecycle`], kept by
//! each namespace's [`crate::engine::Pipeline`], follows every finding by its [`FindingKey`]
//! (check id and the subject's stable key) from the sample that raised it to the one that
//! cleared it.
//!
//! Hysteresis: a finding that is not seen again stays active ("held", with the evidence of the
//! last sample that saw it) until it has been missing for [`Hold::clear_after_samples`] samples
//! in a row **and** for [`Hold::clear_after_seconds`]: the sample count keeps fast sampling
//! (250 ms) from clearing between two bursts, the window keeps slow sampling (one sample a
//! minute) from holding a finding for many minutes. A finding seen at a lower severity keeps
//! its higher one, by the same rule, before it eases. A sample with no previous one (no rates:
//! totals since boot) judges provisionally: what only it saw is not held, and clears at the next
//! sample unless that one sees it too. Cleared findings stay listed, newest
//! first, for [`Hold::keep_cleared_seconds`] and at most [`Hold::keep_cleared`] of them; every
//! change is an [`Event`] of the findings log.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::{Finding, Outcome, Severity, SubjectKey};
use crate::sample::Sample;

/// How many events the findings log keeps (the oldest fall off).
pub const LOG_KEPT: usize = 500;

/// The most samples `clear_after_samples` may ask for: the history holds no more.
const MAX_SAMPLES: u32 = crate::model::history::DEFAULT_CAPACITY as u32;

/// The most cleared findings `keep_cleared` may ask to keep.
const MAX_KEPT: usize = 10_000;

/// How long a finding outlives the last sample that saw it, and how long it stays listed once
/// cleared: the configuration file's `[findings]`, validated here.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hold {
    /// A finding clears only after this many samples in a row without it ...
    pub clear_after_samples: u32,
    /// ... and this many seconds since the last sample that saw it.
    pub clear_after_seconds: f64,
    /// Cleared findings stay listed this many seconds ...
    pub keep_cleared_seconds: f64,
    /// ... and at most this many of them.
    pub keep_cleared: usize,
}

impl Default for Hold {
    fn default() -> Self {
        Hold { clear_after_samples: 3, clear_after_seconds: 30.0, keep_cleared_seconds: 600.0, keep_cleared: 100 }
    }
}

/// A `[findings]` value outside its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidHold {
    /// The offending key in `[findings]`.
    pub key: &'static str,
    /// What is wrong, naming the key as `findings.KEY`.
    pub reason: String,
}

impl Hold {
    /// No hold at all: a finding clears at the first sample without it (the advisor's own
    /// tests judge one sample at a time with it).
    pub fn none() -> Hold {
        Hold { clear_after_samples: 1, clear_after_seconds: 0.0, ..Hold::default() }
    }

    /// This hold stretched so that nothing clears within `samples` samples spanning `seconds`
    /// (what `check` needs to report every finding of its interval).
    pub fn covering(&self, samples: u32, seconds: f64) -> Hold {
        Hold {
            clear_after_samples: self.clear_after_samples.max(samples),
            clear_after_seconds: self.clear_after_seconds.max(seconds),
            ..self.clone()
        }
    }

    /// Checks every value against its range; the error names the key.
    pub fn validate(&self) -> Result<(), InvalidHold> {
        let seconds = |value: f64| value.is_finite() && value >= 0.0;
        let problem = if !(1..=MAX_SAMPLES).contains(&self.clear_after_samples) {
            Some((
                "clear_after_samples",
                format!("a whole number from 1 to {MAX_SAMPLES}"),
                self.clear_after_samples.to_string(),
            ))
        } else if !seconds(self.clear_after_seconds) {
            Some((
                "clear_after_seconds",
                "a finite number of seconds, ≥ 0".to_string(),
                self.clear_after_seconds.to_string(),
            ))
        } else if !seconds(self.keep_cleared_seconds) {
            Some((
                "keep_cleared_seconds",
                "a finite number of seconds, ≥ 0".to_string(),
                self.keep_cleared_seconds.to_string(),
            ))
        } else if self.keep_cleared > MAX_KEPT {
            Some(("keep_cleared", format!("a whole number from 0 to {MAX_KEPT}"), self.keep_cleared.to_string()))
        } else {
            None
        };
        match problem {
            Some((key, range, value)) => {
                Err(InvalidHold { key, reason: format!("findings.{key} must be {range}, not {value}") })
            }
            None => Ok(()),
        }
    }
}

/// A moment on both clocks of a sample: the boot clock measures how long ago, the wall clock
/// says when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Moment {
    /// `CLOCK_BOOTTIME` in nanoseconds.
    pub boottime_ns: u64,
    /// Wall-clock time.
    pub at: jiff::Timestamp,
}

impl Moment {
    /// When a sample was taken.
    pub fn of(sample: &Sample) -> Moment {
        Moment { boottime_ns: sample.boottime_ns, at: sample.taken_at }
    }

    /// Seconds from `earlier` to this moment (0 when it is not earlier).
    pub fn seconds_since(&self, earlier: &Moment) -> f64 {
        self.boottime_ns.saturating_sub(earlier.boottime_ns) as f64 / 1e9
    }
}

/// What identifies a finding from one sample to the next: its check and its subject (and,
/// for the rare check that says two things about one subject, which of them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FindingKey {
    /// The check's id.
    pub id: &'static str,
    /// The subject's stable key.
    pub subject: SubjectKey,
    /// 0 for the first finding of this check about this subject in a sample, 1 for the second.
    pub nth: u32,
}

impl FindingKey {
    /// The keys of one sample's findings, in their order.
    fn of_all(findings: &[Finding]) -> Vec<FindingKey> {
        let mut keys: Vec<FindingKey> = Vec::with_capacity(findings.len());
        for finding in findings {
            let (id, subject) = (finding.id, finding.subject.key());
            let nth = keys.iter().filter(|key| key.id == id && key.subject == subject).count() as u32;
            keys.push(FindingKey { id, subject, nth });
        }
        keys
    }
}

/// Seconds as a whole duration: `42s`, `2m 00s`.
fn whole(seconds: f64) -> String {
    crate::format::duration(seconds.round() as u64)
}

/// Where a finding is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The newest sample saw it (at the severity it has).
    Active,
    /// Not seen (or seen less severe) since its last evidence, but not yet quiet long enough
    /// to clear.
    Held,
    /// Quiet long enough: it is over.
    Cleared,
}

impl State {
    /// `active`, `held` or `cleared`.
    pub fn name(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Held => "held",
            State::Cleared => "cleared",
        }
    }
}

/// One finding followed over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Life {
    /// Its key.
    pub key: FindingKey,
    /// The finding as the last sample that saw it at its severity judged it: its evidence.
    pub finding: Finding,
    /// The first sample that saw it.
    pub first_seen: Moment,
    /// The last sample that saw it at its severity (or above).
    pub last_seen: Moment,
    /// How many samples saw it, at any severity.
    pub samples: u64,
    /// The worst severity it had.
    pub worst: Severity,
    /// The severity the newest sample saw it at; `None` when it did not see it.
    pub seen_now: Option<Severity>,
    /// Samples in a row since `last_seen`.
    pub quiet: u32,
    /// Whether its last evidence came from a sample without rates (not held).
    pub provisional: bool,
    /// When it cleared.
    pub cleared: Option<Moment>,
}

impl Life {
    fn new(key: FindingKey, finding: Finding, now: Moment) -> Life {
        let severity = finding.severity;
        Life {
            key,
            finding,
            first_seen: now,
            last_seen: now,
            samples: 1,
            worst: severity,
            seen_now: Some(severity),
            quiet: 0,
            provisional: false,
            cleared: None,
        }
    }

    /// Active, held or cleared.
    pub fn state(&self) -> State {
        match (self.cleared, self.quiet) {
            (Some(_), _) => State::Cleared,
            (None, 0) => State::Active,
            (None, _) => State::Held,
        }
    }

    /// Seconds from its last evidence to `now`.
    pub fn since_seen(&self, now: &Moment) -> f64 {
        now.seconds_since(&self.last_seen)
    }

    /// Seconds from the first sample that saw it to the last.
    pub fn lasted(&self) -> f64 {
        self.last_seen.seconds_since(&self.first_seen)
    }

    /// Its state in a few words as of `now`: `active`, `held: last seen 5s ago`, `held: last
    /// seen 5s ago, now warning`, `cleared 37s ago, lasted 2m 00s`.
    pub fn describe(&self, now: &Moment) -> String {
        match (self.state(), self.cleared) {
            (State::Cleared, Some(cleared)) => {
                format!("cleared {} ago, lasted {}", whole(now.seconds_since(&cleared)), whole(self.lasted()))
            }
            (State::Held, _) => {
                let lower = self.seen_now.map(|severity| format!(", now {}", severity.name())).unwrap_or_default();
                format!("held: last seen {} ago{lower}", whole(self.since_seen(now)))
            }
            _ => "active".to_string(),
        }
    }

    /// Its state for a table cell: `active`, `held 12s`, `cleared 37s ago`.
    pub fn short(&self, now: &Moment) -> String {
        match (self.state(), self.cleared) {
            (State::Cleared, Some(cleared)) => format!("cleared {} ago", whole(now.seconds_since(&cleared))),
            (State::Held, _) => format!("held {}", whole(self.since_seen(now))),
            _ => "active".to_string(),
        }
    }

    /// How many samples saw it, out of `of` when given: `seen in 3 of 6 samples over 4s`,
    /// `seen in 1 sample`.
    pub fn seen(&self, of: Option<u64>) -> String {
        let of = of.map(|total| format!(" of {total}")).unwrap_or_default();
        match self.samples {
            1 if of.is_empty() => "seen in 1 sample".to_string(),
            1 => format!("seen in 1{of} samples"),
            samples => format!("seen in {samples}{of} samples over {}", whole(self.lasted())),
        }
    }

    /// Takes the newest sample's finding of this key: at its severity or above it becomes the
    /// evidence; below it, the held severity stays.
    fn see(&mut self, finding: Finding, now: Moment, log: &mut Log) {
        self.samples += 1;
        self.seen_now = Some(finding.severity);
        if finding.severity < self.finding.severity {
            self.quiet += 1;
            return;
        }
        if finding.severity > self.finding.severity {
            log.add(now, Change::Escalated, &finding);
        }
        self.worst = self.worst.max(finding.severity);
        self.finding = finding;
        self.last_seen = now;
        self.quiet = 0;
    }

    /// Whether its hold is over at `now`.
    fn expired(&self, hold: &Hold, now: &Moment) -> bool {
        if self.provisional {
            return self.quiet >= 1;
        }
        self.quiet >= hold.clear_after_samples && self.since_seen(now) >= hold.clear_after_seconds
    }
}

/// What changed in a finding's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// First seen.
    Raised,
    /// Seen at a higher severity.
    Escalated,
    /// Its higher severity was quiet long enough: it goes on at a lower one.
    Eased,
    /// Quiet long enough: over.
    Cleared,
}

impl Change {
    /// `raised`, `escalated`, `eased` or `cleared`.
    pub fn name(self) -> &'static str {
        match self {
            Change::Raised => "raised",
            Change::Escalated => "escalated",
            Change::Eased => "eased",
            Change::Cleared => "cleared",
        }
    }
}

/// One line of the findings log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When (the sample that showed the change).
    pub at: Moment,
    /// What changed.
    pub change: Change,
    /// The check's id.
    pub id: &'static str,
    /// The subject in a few words, safe to print.
    pub subject: String,
    /// The severity after the change (the last one, for a cleared finding).
    pub severity: Severity,
    /// The finding's summary, safe to print.
    pub summary: String,
}

/// The findings log, oldest first, bounded by [`LOG_KEPT`].
#[derive(Debug, Clone, Default)]
struct Log(VecDeque<Event>);

impl Log {
    fn add(&mut self, at: Moment, change: Change, finding: &Finding) {
        if self.0.len() == LOG_KEPT {
            self.0.pop_front();
        }
        self.0.push_back(Event {
            at,
            change,
            id: finding.id,
            subject: finding.subject.label(),
            severity: finding.severity,
            summary: finding.summary.clone(),
        });
    }
}

/// Every finding's life as of one sample: what a frame carries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// The sample's moment.
    pub now: Moment,
    /// Active and held findings, in the frame's order (most severe first).
    pub active: Vec<Life>,
    /// Recently cleared findings, newest first.
    pub cleared: Vec<Life>,
    /// Raised, escalated, eased and cleared events, oldest first.
    pub log: Vec<Event>,
}

impl Timeline {
    /// The life of one of the frame's findings.
    pub fn life_of(&self, finding: &Finding) -> Option<&Life> {
        self.active.iter().find(|life| &life.finding == finding)
    }
}

/// Follows findings from sample to sample: one per namespace, in its pipeline.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    hold: Hold,
    active: Vec<Life>,
    cleared: VecDeque<Life>,
    log: Log,
}

impl Lifecycle {
    /// A lifecycle holding findings as `hold` says, with nothing seen yet.
    pub fn new(hold: Hold) -> Lifecycle {
        Lifecycle { hold, ..Lifecycle::default() }
    }

    /// Takes the advisor's outcome of the sample taken at `now` (`provisional` when it had no
    /// previous sample, so no rates): returns the outcome the frame shows — every active and
    /// held finding, most severe first, with the checks that could not judge — and the
    /// timeline.
    pub fn observe(&mut self, outcome: Outcome, now: Moment, provisional: bool) -> (Outcome, Timeline) {
        let Outcome { findings, not_evaluated } = outcome;
        for life in &mut self.active {
            life.seen_now = None;
        }
        let mut lower = Vec::new();
        for (key, finding) in FindingKey::of_all(&findings).into_iter().zip(findings) {
            match self.active.iter_mut().find(|life| life.key == key) {
                Some(life) if finding.severity < life.finding.severity => {
                    lower.push((key, finding.clone()));
                    life.see(finding, now, &mut self.log);
                }
                Some(life) => life.see(finding, now, &mut self.log),
                None => {
                    self.log.add(now, Change::Raised, &finding);
                    self.active.push(Life::new(key, finding, now));
                }
            }
        }
        for life in &mut self.active {
            match life.seen_now {
                None => life.quiet += 1,
                Some(_) if life.quiet == 0 => life.provisional = provisional,
                Some(_) => {}
            }
        }
        self.settle(lower, now);
        self.forget_old(now);
        self.active.sort_by(|a, b| order(&a.finding, &b.finding));
        let shown = Outcome { findings: self.active.iter().map(|life| life.finding.clone()).collect(), not_evaluated };
        let timeline = Timeline {
            now,
            active: self.active.clone(),
            cleared: self.cleared.iter().cloned().collect(),
            log: self.log.0.iter().cloned().collect(),
        };
        (shown, timeline)
    }

    /// Ends the holds that are over: a finding seen less severe now eases to what was seen, one
    /// not seen at all clears.
    fn settle(&mut self, mut lower: Vec<(FindingKey, Finding)>, now: Moment) {
        let mut index = 0;
        while index < self.active.len() {
            if !self.active[index].expired(&self.hold, &now) {
                index += 1;
                continue;
            }
            if let Some(found) = lower.iter().position(|(key, _)| *key == self.active[index].key) {
                let (_, finding) = lower.swap_remove(found);
                self.log.add(now, Change::Eased, &finding);
                let life = &mut self.active[index];
                (life.finding, life.last_seen, life.quiet) = (finding, now, 0);
                index += 1;
                continue;
            }
            let mut life = self.active.remove(index);
            self.log.add(now, Change::Cleared, &life.finding);
            life.cleared = Some(now);
            self.cleared.push_front(life);
        }
    }

    /// Lets go of cleared findings beyond the count or older than the time kept.
    fn forget_old(&mut self, now: Moment) {
        let hold = &self.hold;
        self.cleared.truncate(hold.keep_cleared);
        while self
            .cleared
            .back()
            .and_then(|life| life.cleared)
            .is_some_and(|at| now.seconds_since(&at) > hold.keep_cleared_seconds)
        {
            self.cleared.pop_back();
        }
    }
}

/// The advisor's order: most severe first, then by check id and subject.
pub fn order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    b.severity.cmp(&a.severity).then(a.id.cmp(b.id)).then_with(|| a.subject.label().cmp(&b.subject.label()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advise::testkit::finding;

    fn at(second: u64) -> Moment {
        Moment {
            boottime_ns: second * 1_000_000_000,
            at: jiff::Timestamp::from_second(second as i64).unwrap_or_default(),
        }
    }

    impl Lifecycle {
        /// Observes a sample with rates.
        fn observe_at(&mut self, outcome: Outcome, now: Moment) -> (Outcome, Timeline) {
            self.observe(outcome, now, false)
        }
    }

    fn outcome(findings: Vec<Finding>) -> Outcome {
        Outcome { findings, not_evaluated: Vec::new() }
    }

    fn ids(shown: &Outcome) -> Vec<(&'static str, Severity)> {
        shown.findings.iter().map(|finding| (finding.id, finding.severity)).collect()
    }

    #[test]
    fn a_finding_is_held_until_quiet_for_the_samples_and_the_window() {
        let hold = Hold { clear_after_samples: 3, clear_after_seconds: 10.0, ..Hold::default() };
        let mut lifecycle = Lifecycle::new(hold);
        let seen = || outcome(vec![finding("time-wait-buckets", Severity::Critical)]);
        let (shown, timeline) = lifecycle.observe_at(seen(), at(0));
        assert_eq!(ids(&shown), [("time-wait-buckets", Severity::Critical)]);
        assert_eq!(timeline.active[0].state(), State::Active);
        for second in [2, 4, 6, 8] {
            let (shown, timeline) = lifecycle.observe_at(outcome(Vec::new()), at(second));
            assert_eq!(shown.findings.len(), 1, "held at {second} s: the window is not over");
            assert_eq!(timeline.active[0].state(), State::Held);
            assert_eq!(timeline.active[0].describe(&at(second)), format!("held: last seen {second}s ago"));
            assert_eq!(timeline.active[0].seen(Some(6)), "seen in 1 of 6 samples");
        }
        let (shown, timeline) = lifecycle.observe_at(outcome(Vec::new()), at(10));
        assert!(shown.findings.is_empty(), "5 quiet samples and 10 s: cleared");
        assert_eq!(timeline.cleared.len(), 1);
        assert_eq!(timeline.cleared[0].state(), State::Cleared);
        assert_eq!(timeline.cleared[0].describe(&at(47)), "cleared 37s ago, lasted 0s");
        assert_eq!(timeline.cleared[0].short(&at(47)), "cleared 37s ago");
        let changes: Vec<Change> = timeline.log.iter().map(|event| event.change).collect();
        assert_eq!(changes, [Change::Raised, Change::Cleared]);
    }

    #[test]
    fn slow_samples_still_need_the_sample_count() {
        let hold = Hold { clear_after_samples: 3, clear_after_seconds: 10.0, ..Hold::default() };
        let mut lifecycle = Lifecycle::new(hold);
        lifecycle.observe_at(outcome(vec![finding("listener-drops", Severity::Warning)]), at(0));
        for (second, still) in [(60, true), (120, true), (180, false)] {
            let (shown, _) = lifecycle.observe_at(outcome(Vec::new()), at(second));
            assert_eq!(!shown.findings.is_empty(), still, "at {second} s");
        }
    }

    #[test]
    fn a_lower_severity_waits_for_the_hold_before_it_eases_and_a_higher_one_escalates_at_once() {
        let hold = Hold { clear_after_samples: 2, clear_after_seconds: 2.0, ..Hold::default() };
        let mut lifecycle = Lifecycle::new(hold);
        let with = |severity| outcome(vec![finding("accept-queue-full", severity)]);
        lifecycle.observe_at(with(Severity::Warning), at(0));
        let (shown, _) = lifecycle.observe_at(with(Severity::Critical), at(1));
        assert_eq!(ids(&shown), [("accept-queue-full", Severity::Critical)]);
        let (shown, timeline) = lifecycle.observe_at(with(Severity::Warning), at(2));
        assert_eq!(ids(&shown), [("accept-queue-full", Severity::Critical)], "held at critical");
        assert_eq!(timeline.active[0].describe(&at(2)), "held: last seen 1s ago, now warning");
        assert_eq!(timeline.active[0].seen(None), "seen in 3 samples over 1s");
        let (shown, timeline) = lifecycle.observe_at(with(Severity::Warning), at(3));
        assert_eq!(ids(&shown), [("accept-queue-full", Severity::Warning)], "2 samples and 2 s: eased");
        let life = &timeline.active[0];
        assert_eq!((life.samples, life.worst, life.state()), (4, Severity::Critical, State::Active));
        let changes: Vec<Change> = timeline.log.iter().map(|event| event.change).collect();
        assert_eq!(changes, [Change::Raised, Change::Escalated, Change::Eased]);
    }

    #[test]
    fn cleared_findings_are_kept_for_a_while_and_up_to_a_count() {
        let hold = Hold { keep_cleared: 2, keep_cleared_seconds: 100.0, ..Hold::none() };
        let mut lifecycle = Lifecycle::new(hold);
        for (second, id) in [(0, "a-check"), (2, "b-check"), (4, "c-check")] {
            lifecycle.observe_at(outcome(vec![finding(id, Severity::Warning)]), at(second));
            lifecycle.observe_at(outcome(Vec::new()), at(second + 1));
        }
        let (_, timeline) = lifecycle.observe_at(outcome(Vec::new()), at(6));
        let cleared: Vec<&str> = timeline.cleared.iter().map(|life| life.finding.id).collect();
        assert_eq!(cleared, ["c-check", "b-check"], "newest first, two kept");
        let (_, timeline) = lifecycle.observe_at(outcome(Vec::new()), at(104));
        let cleared: Vec<&str> = timeline.cleared.iter().map(|life| life.finding.id).collect();
        assert_eq!(cleared, ["c-check"], "b cleared at 3 s, more than 100 s ago");
    }

    #[test]
    fn two_findings_of_one_check_about_one_subject_live_apart() {
        let mut lifecycle = Lifecycle::new(Hold::default());
        let mut second = finding("netns-divergence", Severity::Info);
        second.summary = "another note".into();
        let both = outcome(vec![finding("netns-divergence", Severity::Info), second]);
        let (shown, timeline) = lifecycle.observe_at(both.clone(), at(0));
        assert_eq!(shown.findings.len(), 2);
        assert_eq!(timeline.active.iter().map(|life| life.key.nth).collect::<Vec<_>>(), [0, 1]);
        let (_, timeline) = lifecycle.observe_at(both, at(1));
        assert!(timeline.active.iter().all(|life| life.samples == 2));
        assert_eq!(timeline.life_of(&shown.findings[1]).map(|life| life.key.nth), Some(1));
    }

    #[test]
    fn what_only_a_sample_without_rates_saw_is_not_held() {
        let mut lifecycle = Lifecycle::new(Hold::default());
        let first = outcome(vec![
            finding("listen-overflow-rate", Severity::Info),
            finding("accept-queue-full", Severity::Critical),
        ]);
        let (shown, _) = lifecycle.observe(first, at(0), true);
        assert_eq!(shown.findings.len(), 2);
        let (shown, timeline) =
            lifecycle.observe_at(outcome(vec![finding("accept-queue-full", Severity::Critical)]), at(1));
        assert_eq!(ids(&shown), [("accept-queue-full", Severity::Critical)], "the total since boot is superseded");
        assert_eq!(timeline.cleared[0].finding.id, "listen-overflow-rate");
        let (shown, _) = lifecycle.observe_at(outcome(Vec::new()), at(2));
        assert_eq!(shown.findings.len(), 1, "confirmed by a sample with rates: held");
    }

    #[test]
    fn a_stretched_hold_clears_nothing_within_its_span() {
        let hold = Hold::default().covering(11, 10.0);
        assert_eq!((hold.clear_after_samples, hold.clear_after_seconds), (11, 30.0));
        assert_eq!(Hold::none().covering(11, 10.5).clear_after_seconds, 10.5);
    }

    #[test]
    fn values_outside_their_range_are_named() {
        assert_eq!(Hold::default().validate(), Ok(()));
        assert_eq!(Hold::none().validate(), Ok(()));
        let error = Hold { clear_after_samples: 0, ..Hold::default() }.validate().expect_err("zero");
        assert_eq!(error.reason, "findings.clear_after_samples must be a whole number from 1 to 600, not 0");
        let error = Hold { clear_after_seconds: f64::NAN, ..Hold::default() }.validate().expect_err("nan");
        assert_eq!(error.key, "clear_after_seconds");
        let error = Hold { keep_cleared_seconds: -1.0, ..Hold::default() }.validate().expect_err("negative");
        assert_eq!(error.reason, "findings.keep_cleared_seconds must be a finite number of seconds, ≥ 0, not -1");
        assert_eq!(Hold { keep_cleared: 10_001, ..Hold::default() }.validate().map_err(|e| e.key), Err("keep_cleared"));
    }
}
