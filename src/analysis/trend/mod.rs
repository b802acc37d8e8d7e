//! Trend verdicts for a count across a series of dumps — one handle type, one module or one
//! allocation stack: **leak**, **plateau**, **decline**, **churn** or **stable**, decided by the
//! series' own noise rather than by fixed handle counts.
//!
//! # The rule
//!
//! With counts y₀ … yₙ₋₁ in time order and x = the dump index (rates per hour come from the
//! capture times when every dump has one):
//!
//! 1. **Too few dumps** — fewer than [`MIN_DUMPS`] (5): no class, only the raw change. Five is
//!    the smallest series in which the Mann–Kendall test can reach p < 0.05 at all (four
//!    strictly rising counts give p = 0.089).
//! 2. **Line and noise** — the Theil–Sen line (median of the pairwise slopes) gives the rate.
//!    The noise is the scatter around it: 1.2533 × the mean absolute residual (the standard
//!    deviation for Gaussian noise; it does not collapse to 0 on repeated whole counts as the
//!    MAD does), at least [`NOISE_FLOOR`], the spread that rounding to whole handles adds.
//!    A *trend* of some counts is: Mann–Kendall p < [`ALPHA`] (two-sided, normal approximation
//!    with the tie and continuity corrections) in the direction of the Theil–Sen slope, and a
//!    change slope × (n − 1) of at least [`MIN_SIGNAL`] (3) × their noise. For the whole
//!    series, single-dump outliers — a GC-like drop, a burst caught mid-flight — are left out
//!    of the Mann–Kendall test and of the noise: dumps more than 3 × the robust scale of the
//!    residuals (1.4826 × their MAD, at least the noise floor) + 1 handle from their median,
//!    the farthest first, at most one dump in [`OUTLIER_SHARE`] (5, rounded down). The line
//!    itself is Theil–Sen over every dump (it is robust already).
//! 3. **Change point** — the best two-segment fit: a Theil–Sen line over the dumps before the
//!    break, the median level from the break on, the smallest sum of absolute residuals; the
//!    break anywhere with at least [`MIN_BEFORE_BREAK`] (2) dumps before it and
//!    [`MIN_AFTER_BREAK`] (3) after it. The count *levelled off* there when
//!    * the rise (level − the line's start) is at least 3 × the fit's noise (the larger of the
//!      broken fit's and that of the dumps after the break), and at least 2 dumps before the
//!      break lie more than the noise below the level (one low dump is no rise);
//!    * the broken line fits better than one straight line by more than its two extra
//!      parameters cost — the Bayesian information criterion with Laplace errors: mean
//!      |residual| of the broken line ≤ n^(−1/n) × that of the straight line (both at least ¼);
//!    * the growth stopped: at the average rate before the break (the rise spread from dump 0
//!      to the middle of the dumps after it), the dumps after the break would have grown by at
//!      least 3 × the noise + 1 handle more than they did.
//!
//!    Then, if the dumps after the break have no trend, it is a **plateau**: the change point is
//!    the first dump at the new level, the level their median. If they have a rising trend it
//!    is a **leak** that grows on after a warm-up. Either way the rates reported (and so the
//!    time to exhaustion) are those from the change point on.
//! 4. **Leak / decline** — otherwise a trend of the whole series: rising is a leak, falling a
//!    decline. "Still present in the later part" comes from step 3 and from a reversal check:
//!    a rise that stopped with 3 or more dumps after it is a plateau; one that stopped more
//!    recently is still reported as a leak — too early to tell. A rise that *reversed* is no
//!    leak: when the best "rising line, then falling line" fit has at least 3 dumps after the
//!    top (where the lines meet, never above the rising line continued), the median of the last 3 dumps lies at least 3 × the noise + 1 handle below the
//!    top, at least 2 dumps after the top lie more than the noise below it (one low dump is no
//!    fall), and the broken line beats the straight one by the criterion of step 3, the count
//!    goes on to step 5 (stable or churn) with the reversal named in the reason ("rose to ~26
//!    by dump 8, then fell to ~18 over the last 3 dumps …"). It applies to a leak after a
//!    warm-up too.
//! 5. **Stable / churn** — otherwise stable when all but one dump in ten (rounded up) fit in a
//!    band as wide as the tolerance, churn when they do not. The tolerance is the larger of
//!    [`TOLERANCE_FLOOR`] (2) handles and [`TOLERANCE_SHARE`] (10 %) of the median count: a
//!    pool of 1000 moving by ±40 is stable, a pool of 40 moving by ±4 is churn.
//!
//! # The old thresholds
//!
//! The command-line thresholds map onto [`Rules`]:
//!
//! * `--tolerance N` replaces the derived tolerance of step 5 (a spread, as before);
//! * `--min-growth R` is the smallest rate per cycle that matters: a leak or decline slower
//!   than that is called stable (default 0: any trend counts);
//! * `--min-fit R2` additionally requires the least-squares R² of a leak or decline (of the
//!   dumps after the change point for a leak after a warm-up) to reach it (default: not
//!   required; the noise test of step 2 plays that part).
//!
//! Everything here is pure and deterministic: no I/O, no clock, no randomness.

mod change_point;
mod classify;
mod reversal;
pub mod stats;
#[cfg(test)]
mod tests;

pub use change_point::{best_two_segments, two_segments_at, TwoSegments};
pub use classify::{classify, hours_to_limit};

use serde::Serialize;

/// Significance level of every test (two-sided).
pub const ALPHA: f64 = 0.05;
/// Fewest dumps for a verdict.
pub const MIN_DUMPS: usize = 5;
/// A trend's change, a plateau's rise and the growth a plateau stopped must each be at least
/// this many times the noise.
pub const MIN_SIGNAL: f64 = 3.0;
/// Smallest noise assumed: the standard deviation of rounding to whole handles (1/√12).
pub const NOISE_FLOOR: f64 = 0.288_675_134_594_812_9;
/// Smallest derived tolerance, in handles.
pub const TOLERANCE_FLOOR: f64 = 2.0;
/// Derived tolerance as a share of the median count.
pub const TOLERANCE_SHARE: f64 = 0.10;
/// Least number of dumps after the break of a plateau (its change point included).
pub const MIN_AFTER_BREAK: usize = 3;
/// At most one dump in this many (rounded down) is left out of a series' trend test as a
/// single-dump outlier.
pub const OUTLIER_SHARE: usize = 5;
/// Least number of dumps before the break of a plateau, and of those that must lie more than
/// the noise below its level: one low dump is no rise.
pub const MIN_BEFORE_BREAK: usize = 2;

/// The thresholds of the rule; [`Rules::default`] is the documented rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rules {
    /// Significance level of the tests ([`ALPHA`]).
    pub alpha: f64,
    /// Fewest dumps for a verdict ([`MIN_DUMPS`]).
    pub min_dumps: usize,
    /// Change, in noise units, that a trend or a rise needs ([`MIN_SIGNAL`]).
    pub min_signal: f64,
    /// Smallest rate per cycle that counts as a leak or decline (`--min-growth`; 0 by default);
    /// slower trends are called stable.
    pub min_growth: f64,
    /// Width of the stable band, replacing the derived tolerance (`--tolerance`).
    pub tolerance: Option<f64>,
    /// Least-squares R² a leak or decline must also reach (`--min-fit`).
    pub min_fit: Option<f64>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            alpha: ALPHA,
            min_dumps: MIN_DUMPS,
            min_signal: MIN_SIGNAL,
            min_growth: 0.0,
            tolerance: None,
            min_fit: None,
        }
    }
}

/// A trend class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A significant rise that has not stopped.
    Leak,
    /// Rose, then no trend for at least 3 dumps (caches, pools warming up).
    Plateau,
    /// A significant fall.
    Decline,
    /// Moves beyond the tolerance without a trend.
    Churn,
    /// Stays within the tolerance.
    Stable,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 5] = [
        Class::Leak,
        Class::Plateau,
        Class::Decline,
        Class::Churn,
        Class::Stable,
    ];

    /// The lowercase name used in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Class::Leak => "leak",
            Class::Plateau => "plateau",
            Class::Decline => "decline",
            Class::Churn => "churn",
            Class::Stable => "stable",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a plateau levelled off, or where a leak's warm-up ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangePoint {
    /// First dump (0-based, as `dumps[].index`) at the new level.
    pub index: usize,
    /// The level: median count from that dump on.
    pub level: f64,
}

/// The verdict on one series of counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The class; `null` when there are too few dumps (or the counts are unusable).
    pub class: Option<Class>,
    /// Theil–Sen slope per cycle (dump to dump); 0 for fewer than two dumps. With a change
    /// point (a plateau, or a leak after a warm-up), the slope from the change point on: the
    /// rate now, which is what the time to exhaustion needs.
    pub slope_per_cycle: f64,
    /// Theil–Sen slope per hour of capture time (from the change point on, as above); `null`
    /// without usable capture times.
    pub slope_per_hour: Option<f64>,
    /// Two-sided Mann–Kendall p-value of a monotonic trend over the whole series; `null` when
    /// there are too few dumps.
    pub p_value: Option<f64>,
    /// Where a plateau levelled off, or where the warm-up of a leak that grows on after it
    /// ended; `null` for every other verdict.
    pub change_point: Option<ChangePoint>,
    /// Last count minus first.
    pub change: f64,
    /// Noise the verdict was measured against, in handles (of the two-segment fit for a
    /// plateau, of the dumps after the change point for a leak after a warm-up); `null` when
    /// there are too few dumps.
    pub noise: Option<f64>,
    /// Width of the stable band used; `null` when there are too few dumps.
    pub tolerance: Option<f64>,
    /// Why, in words.
    pub reason: String,
    /// True when there are too few dumps for a verdict.
    pub too_few: bool,
}

impl Verdict {
    /// Theil–Sen slope per day of capture time.
    pub fn slope_per_day(&self) -> Option<f64> {
        self.slope_per_hour.map(|rate| rate * 24.0)
    }
}
