//! How the collector paces its socket walk under a CPU budget, as plain data: the budget a
//! collector was given and what its walk costs, kept in every sample's diagnostics.

use serde::{Deserialize, Serialize};

/// The collector's share of one core, in tenths of a percent (30 = 3 %).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Tenths of a percent of one core.
    pub permille: u16,
}

impl Budget {
    /// The share of one core as a fraction (0.03 for 3 %).
    pub fn share(self) -> f64 {
        f64::from(self.permille) / 1000.0
    }

    /// Parses `3%`, `3`, `0.5%` or `off` (no budget: walk every sample); `Err` with the reason.
    pub fn parse(text: &str) -> Result<Option<Budget>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let number = text.strip_suffix('%').unwrap_or(text).trim();
        let percent: f64 =
            number.parse().map_err(|_| format!("budget {text:?}: expected a percentage such as 3% or off"))?;
        if !(0.1..=100.0).contains(&percent) {
            return Err(format!("budget {text:?}: expected between 0.1% and 100% of one core, or off"));
        }
        Ok(Some(Budget { permille: (percent * 10.0).round() as u16 }))
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.permille.is_multiple_of(10) {
            write!(f, "{}%", self.permille / 10)
        } else {
            write!(f, "{:.1}%", self.share() * 100.0)
        }
    }
}

/// How a budgeted collector paces its socket walk; kept in each sample's diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// The budget, when there is one.
    pub budget: Option<Budget>,
    /// Milliseconds between walks now.
    pub walk_period_ms: u64,
    /// CPU microseconds one walk costs (running average).
    pub walk_cpu_micros: u64,
    /// CPU microseconds the every-interval sources cost per sample (running average).
    pub tick_cpu_micros: u64,
}

/// When the socket walk a sample's state counts, SYN_RECV groups, ports and flows come from was
/// taken, for a sample that carries an earlier walk's numbers (a budgeted collector walks less
/// often than it samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkStamp {
    /// `CLOCK_BOOTTIME` in nanoseconds when that walk's sample was taken.
    pub boottime_ns: u64,
    /// Its wall-clock time.
    pub taken_at: jiff::Timestamp,
}
