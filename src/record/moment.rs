//! The moments a user names in a recording: `03:12` or `03:12:30` (a clock time in the local
//! time zone, on the last day of the recording that has it), `2026-12-03 03:12`, RFC 3339
//! (`2026-12-03T03:12:00Z`, `...+01:00`), or `-5m` (that long before the recording's end).

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

/// The span a recording covers, for placing clock times and relative moments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Covered {
    /// Its first round.
    pub first: Timestamp,
    /// Its last round.
    pub last: Timestamp,
}

/// The moment `text` names; an error says what is accepted.
pub fn parse(text: &str, covered: Covered, zone: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Some(before) = text.strip_prefix('-') {
        let duration = humantime::parse_duration(before).map_err(|_| unknown(text))?;
        let span = jiff::SignedDuration::try_from(duration).map_err(|_| unknown(text))?;
        return covered.last.checked_sub(span).map_err(|_| unknown(text));
    }
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    if let Ok(civil) = text.parse::<DateTime>() {
        return zone.to_timestamp(civil).map_err(|error| error.to_string());
    }
    let time = text.parse::<Time>().map_err(|_| unknown(text))?;
    clock_time(time, covered, zone).ok_or_else(|| {
        let show = |at: Timestamp| at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string();
        format!("the recording has no {text}: it covers {} to {}", show(covered.first), show(covered.last))
    })
}

/// The latest day within the recording on which `time` falls between its first and last round.
fn clock_time(time: Time, covered: Covered, zone: &TimeZone) -> Option<Timestamp> {
    let first_day = covered.first.to_zoned(zone.clone()).date();
    let mut day: Date = covered.last.to_zoned(zone.clone()).date();
    while day >= first_day {
        let at = zone.to_timestamp(day.to_datetime(time)).ok()?;
        if at >= covered.first && at <= covered.last {
            return Some(at);
        }
        day = day.checked_sub(Span::new().days(1)).ok()?;
    }
    None
}

fn unknown(text: &str) -> String {
    format!("'{text}' is not a time: give 03:12, 03:12:30, 2026-12-03 03:12, RFC 3339 or -5m")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered() -> Covered {
        Covered { first: "2026-12-02T23:50:00Z".parse().unwrap(), last: "2026-12-03T03:20:00Z".parse().unwrap() }
    }

    #[test]
    fn clock_times_fall_on_the_day_the_recording_has_them() {
        let utc = TimeZone::UTC;
        assert_eq!(parse("03:12", covered(), &utc), Ok("2026-12-03T03:12:00Z".parse().unwrap()));
        assert_eq!(parse("23:55:30", covered(), &utc), Ok("2026-12-02T23:55:30Z".parse().unwrap()));
        assert!(parse("12:00", covered(), &utc).unwrap_err().contains("has no 12:00"));
    }

    #[test]
    fn full_times_and_relative_moments() {
        let utc = TimeZone::UTC;
        let at: Timestamp = "2026-12-03T01:00:00Z".parse().unwrap();
        assert_eq!(parse("2026-12-03T02:00:00+01:00", covered(), &utc), Ok(at));
        assert_eq!(parse("2026-12-03 01:00", covered(), &utc), Ok(at));
        assert_eq!(parse("-5m", covered(), &utc), Ok("2026-12-03T03:15:00Z".parse().unwrap()));
        assert!(parse("yesterday", covered(), &utc).unwrap_err().contains("not a time"));
    }
}
