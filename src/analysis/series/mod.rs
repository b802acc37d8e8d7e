//! A series of dumps of one process across cycles: a verdict (leak, plateau, decline, churn,
//! stable — [`trend::classify`]) for the total, every handle type, the handles retained per
//! blamed module and per allocation stack; the rates per cycle and per hour; the time until a
//! handle limit is reached.
//!
//! Which inputs form the series and in which order is decided first ([`plan`]): dumps of
//! other programs, and of other processes of the program running at the same time, are left
//! out; a restart of the program (its pid or start time changes) splits the series into
//! segments that are analysed one by one.

mod build;
mod model;
mod process;
mod retained;
pub mod tracking;
pub mod words;

pub use build::{build_series, Segment, Series};
pub use model::*;
pub use process::{plan, InputFacts, Plan};
pub use retained::{retained_addresses, retained_addresses_of, retained_since};
pub use words::sparkline;

use super::attribution::Attribution;
use super::trend::{self, Rules};
use serde::Serialize;

/// The per-process handle limit of Windows (2^24).
pub const DEFAULT_HANDLE_LIMIT: u64 = 16_777_216;

/// How far ahead the time to exhaustion is given as a date: 10 years (of 365.25 days), in
/// hours. Beyond it the report says "not within 10 years at this rate".
pub const EXHAUSTION_HORIZON_HOURS: f64 = 10.0 * 365.25 * 24.0;

/// The order of the dumps in the series (`--order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// By capture time when every input has one; otherwise as given (the files of a
    /// directory by name, which the report then says first).
    #[default]
    Auto,
    /// As given on the command line (the files of a directory by name), whatever the capture
    /// times say.
    Given,
    /// By capture time; an input without one is a usage error.
    Time,
}

/// The order the series was put in (JSON `order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderUsed {
    /// By capture time.
    Time,
    /// As given on the command line.
    Given,
    /// As given, with the files of a directory in file-name order, for want of capture times.
    Name,
}

/// What the series needs besides the snapshots.
#[derive(Debug, Clone)]
pub struct SeriesOptions {
    /// Which modules are never blamed.
    pub attribution: Attribution,
    /// The verdict rule and its overrides (`--min-growth`, `--tolerance`, `--min-fit`).
    pub rules: Rules,
    /// Handle count at which the process is considered exhausted.
    pub limit: u64,
    /// The order of the dumps.
    pub order: Order,
}

impl Default for SeriesOptions {
    fn default() -> Self {
        SeriesOptions {
            attribution: Attribution::default(),
            rules: Rules::default(),
            limit: DEFAULT_HANDLE_LIMIT,
            order: Order::Auto,
        }
    }
}

/// Checks the overrides of the rule: `--min-growth` and `--tolerance` finite and not
/// negative, `--min-fit` between 0 and 1. The message names the option.
pub fn check_rules(rules: &Rules) -> Result<(), String> {
    if !(rules.min_growth.is_finite() && rules.min_growth >= 0.0) {
        return Err(format!(
            "--min-growth must be a number of handles per cycle, 0 or more (got {})",
            rules.min_growth
        ));
    }
    if let Some(tolerance) = rules.tolerance {
        if !(tolerance.is_finite() && tolerance >= 0.0) {
            return Err(format!(
                "--tolerance must be a number of handles, 0 or more (got {tolerance})"
            ));
        }
    }
    if let Some(min_fit) = rules.min_fit {
        if !(0.0..=1.0).contains(&min_fit) {
            return Err(format!(
                "--min-fit must be an R² between 0 and 1 (got {min_fit})"
            ));
        }
    }
    Ok(())
}

/// Whether any verdict of the report is a leak: the total, a type or a module, in any
/// segment (`--fail-on-leak`).
pub fn any_leak(report: &SeriesReport) -> bool {
    let leak = |verdict: &trend::Verdict| verdict.class == Some(trend::Class::Leak);
    report.segments.iter().any(|segment| {
        leak(&segment.total.verdict)
            || segment.types.iter().any(|trend| leak(&trend.verdict))
            || segment.modules.iter().any(|module| leak(&module.verdict))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_are_checked() {
        assert!(check_rules(&Rules::default()).is_ok());
        let bad = [
            Rules {
                min_growth: f64::NAN,
                ..Rules::default()
            },
            Rules {
                min_growth: -1.0,
                ..Rules::default()
            },
            Rules {
                tolerance: Some(f64::INFINITY),
                ..Rules::default()
            },
            Rules {
                min_fit: Some(1.5),
                ..Rules::default()
            },
            Rules {
                min_fit: Some(f64::NAN),
                ..Rules::default()
            },
        ];
        for rules in bad {
            assert!(check_rules(&rules).is_err(), "{rules:?}");
        }
        let fine = Rules {
            min_growth: 0.5,
            tolerance: Some(0.0),
            min_fit: Some(0.6),
            ..Rules::default()
        };
        assert!(check_rules(&fine).is_ok());
    }
}
