//! [`classify`]: the rule of the module documentation, step by step.

use super::change_point::{best_two_segments, TwoSegments};
use super::reversal::reversal;
use super::stats::{
    least_squares_r2, mad, mann_kendall, median, theil_sen, theil_sen_indexed, Line, MannKendall,
    MAD_TO_SIGMA,
};
use super::OUTLIER_SHARE;
use super::{ChangePoint, Class, Rules, Verdict, MIN_AFTER_BREAK, MIN_BEFORE_BREAK, NOISE_FLOOR};
use super::{TOLERANCE_FLOOR, TOLERANCE_SHARE};
use crate::time::iso8601;

/// Mean |residual| below which two fits are not told apart: the mean rounding error of whole
/// handles (¼).
pub(super) const MEAN_ABS_FLOOR: f64 = 0.25;

/// √(π/2): mean absolute deviation → standard deviation for normally distributed noise.
const MEAN_ABS_TO_SIGMA: f64 = 1.253_314_137_315_500_3;

/// Classifies `counts` in time order; `times` are the dumps' capture times in seconds since
/// 1970 (used for the rate per hour and the change point's time only, and ignored, with a note
/// in the reason, unless there is one per count in non-decreasing order spanning some time).
pub fn classify(counts: &[f64], times: Option<&[u64]>, rules: &Rules) -> Verdict {
    let n = counts.len();
    let mut verdict = Verdict {
        class: None,
        slope_per_cycle: 0.0,
        slope_per_hour: None,
        p_value: None,
        change_point: None,
        change: match (counts.first(), counts.last()) {
            (Some(first), Some(last)) => last - first,
            _ => 0.0,
        },
        noise: None,
        tolerance: None,
        reason: String::new(),
        too_few: false,
    };
    if let Some(bad) = counts.iter().find(|count| !count.is_finite()) {
        verdict.change = 0.0;
        verdict.reason = format!("no verdict: the counts include {bad}");
        return verdict;
    }
    let (hours, time_note) = usable_hours(times, n);
    let series = Series {
        counts,
        hours: hours.as_deref(),
        times,
        rules,
    };
    verdict.slope_per_cycle = theil_sen_indexed(counts).map_or(0.0, |line| line.slope);
    verdict.slope_per_hour = series.slope_per_hour(0);

    if n < rules.min_dumps.max(2) {
        verdict.too_few = true;
        let needed = rules.min_dumps;
        verdict.reason = match (counts.first(), counts.last()) {
            (Some(first), Some(last)) if n >= 2 => format!(
                "too few dumps for a verdict ({n} of the {needed} needed): {} → {} ({})",
                number(*first),
                number(*last),
                signed(verdict.change)
            ),
            _ => format!("too few dumps for a verdict ({n} of the {needed} needed)"),
        };
        verdict.reason.push_str(&time_note);
        return verdict;
    }
    let whole = Trend::of_series(counts, rules);
    verdict.p_value = Some(whole.mk.p_value);
    verdict.noise = Some(whole.noise);
    let tolerance = rules.tolerance.unwrap_or_else(|| derived_tolerance(counts));
    verdict.tolerance = Some(tolerance);

    let mut notes = Vec::new();
    // Step 4's "still present in the later part": a rise that turned into a fall is no leak.
    let reversed = match whole.line.slope > 0.0 {
        true => reversal(counts, mean_abs(&whole.residuals), rules),
        false => None,
    };
    if let Some(reversed) = &reversed {
        notes.push(reversed.describe(n - 1, number));
    }
    if let Some(levelled) = levelled(counts, &whole, rules) {
        let index = levelled.fit.index;
        let at = format!(
            "~{} from dump {index}{}",
            number(levelled.fit.level),
            series.when(index)
        );
        if !levelled.after.significant {
            verdict.noise = Some(levelled.noise);
            verdict.slope_per_cycle = levelled.after.line.slope;
            verdict.slope_per_hour = series.slope_per_hour(index);
            verdict.class = Some(Class::Plateau);
            verdict.change_point = Some(ChangePoint {
                index,
                level: levelled.fit.level,
            });
            verdict.reason = format!(
                "levelled off at {at}: rose by {} before it against noise ±{}, no trend after \
                 it (Mann–Kendall {}){time_note}",
                number(levelled.rise),
                number(levelled.noise),
                p_text(levelled.after.mk.p_value),
            );
            return verdict;
        }
        if levelled.after.line.slope > 0.0 && reversed.is_none() {
            let context = format!("from dump {index} on, after a warm-up to {at}");
            match series.growth(&levelled.after, index, &context) {
                Ok((class, slope_per_hour, reason)) => {
                    verdict.class = Some(class);
                    verdict.slope_per_cycle = levelled.after.line.slope;
                    verdict.slope_per_hour = slope_per_hour;
                    verdict.noise = Some(levelled.after.noise);
                    if class == Class::Leak {
                        verdict.change_point = Some(ChangePoint {
                            index,
                            level: levelled.fit.level,
                        });
                    }
                    verdict.reason = reason + &time_note;
                    return verdict;
                }
                Err(note) => notes.push(note),
            }
        }
    }
    if reversed.is_some() {
        // The reversal's note says why the trend is no leak.
    } else if whole.significant {
        match series.growth(&whole, 0, "") {
            Ok((class, _, reason)) => {
                verdict.class = Some(class);
                verdict.reason = reason + &time_note;
                return verdict;
            }
            Err(note) => notes.push(note),
        }
    } else if whole.mk.p_value < rules.alpha {
        notes.push(format!(
            "trend {} ({}) is within the noise ±{}",
            rates(whole.line.slope, verdict.slope_per_hour),
            whole.test_text(),
            number(whole.noise)
        ));
    } else {
        let test = match whole.outliers {
            0 => p_text(whole.mk.p_value),
            _ => whole.test_text(),
        };
        notes.push(format!("no significant trend ({test})"));
    }

    let (inside, spread) = widest_band(counts, tolerance);
    let outside = n - inside;
    let notes = notes.join("; ");
    if outside <= n.div_ceil(10) {
        verdict.class = Some(Class::Stable);
        let but = match outside {
            0 => String::new(),
            out => format!(" but {out}"),
        };
        verdict.reason = format!(
            "all dumps{but} stay within a band of {} (tolerance {}); {notes}{time_note}",
            number(spread),
            number(tolerance)
        );
    } else {
        verdict.class = Some(Class::Churn);
        verdict.reason = format!(
            "varies by {} (tolerance {}), {outside} dumps outside the best band; {notes}\
             {time_note}",
            number(max(counts) - min(counts)),
            number(tolerance),
        );
    }
    verdict
}

/// Hours from `current` to `limit` at `slope_per_hour` (the robust rate of a verdict): `None`
/// unless the count grows; 0 when the limit is already reached.
pub fn hours_to_limit(current: f64, limit: f64, slope_per_hour: f64) -> Option<f64> {
    if !(slope_per_hour > 0.0 && slope_per_hour.is_finite() && current.is_finite()) {
        return None;
    }
    Some(((limit - current) / slope_per_hour).max(0.0))
}

/// The counts and what goes with them.
struct Series<'a> {
    counts: &'a [f64],
    hours: Option<&'a [f64]>,
    times: Option<&'a [u64]>,
    rules: &'a Rules,
}

impl Series<'_> {
    /// Theil–Sen slope per hour of the counts from dump `from` on.
    fn slope_per_hour(&self, from: usize) -> Option<f64> {
        let hours = self.hours?;
        theil_sen(&hours[from..], &self.counts[from..]).map(|line| line.slope)
    }

    /// ` (2026-03-02 12:00 UTC)` for dump `index`, when the capture times are usable.
    fn when(&self, index: usize) -> String {
        match (self.hours, self.times) {
            (Some(_), Some(times)) => format!(" ({})", short_time(times[index])),
            _ => String::new(),
        }
    }

    /// A significant trend of the counts from dump `from` on, as a leak or decline — or why
    /// not (`--min-growth`, `--min-fit`). Returns the class, the rate per hour and the reason.
    fn growth(
        &self,
        trend: &Trend,
        from: usize,
        context: &str,
    ) -> Result<(Class, Option<f64>, String), String> {
        let rules = self.rules;
        let slope = trend.line.slope;
        let per_hour = self.slope_per_hour(from);
        let rates = rates(slope, per_hour);
        let test = trend.test_text();
        if slope.abs() < rules.min_growth {
            return Ok((
                Class::Stable,
                per_hour,
                format!(
                    "trend {rates} ({test}) is slower than --min-growth {}",
                    number(rules.min_growth)
                ),
            ));
        }
        let fit_note = match rules.min_fit {
            Some(min_fit) => {
                let (_, r2) = least_squares_r2(&self.counts[from..]);
                if r2 < min_fit {
                    return Err(format!(
                        "trend {rates} fails --min-fit {min_fit} (R² {r2:.2})"
                    ));
                }
                format!(", R² {r2:.2}")
            }
            None => String::new(),
        };
        let (class, verb) = if slope > 0.0 {
            (Class::Leak, "grows")
        } else {
            (Class::Decline, "falls")
        };
        let context = if context.is_empty() {
            String::new()
        } else {
            format!(" {context}")
        };
        Ok((
            class,
            per_hour,
            format!(
                "{verb} {rates}{context} ({test}): {} against noise ±{}{fit_note}",
                signed(trend.change),
                number(trend.noise)
            ),
        ))
    }
}

/// A Theil–Sen line with its Mann–Kendall test and its noise.
struct Trend {
    line: Line,
    mk: MannKendall,
    /// Noise around the line (of the dumps that are not outliers).
    noise: f64,
    /// The line's change over the counts: slope × (n − 1).
    change: f64,
    /// Significant (p < α, in the line's direction) and at least `min_signal` × the noise.
    significant: bool,
    /// y − line for every dump, outliers included.
    residuals: Vec<f64>,
    /// Single-dump outliers left out of the test and the noise.
    outliers: usize,
}

impl Trend {
    /// The trend of two or more counts, every dump counted.
    fn of(counts: &[f64], rules: &Rules) -> Trend {
        Trend::build(counts, rules, false)
    }

    /// The trend of a whole series: single-dump outliers ([`outliers`]) are left out of the
    /// Mann–Kendall test and of the noise.
    fn of_series(counts: &[f64], rules: &Rules) -> Trend {
        Trend::build(counts, rules, true)
    }

    fn build(counts: &[f64], rules: &Rules, skip_outliers: bool) -> Trend {
        let line = theil_sen_indexed(counts).unwrap_or(Line {
            slope: 0.0,
            intercept: counts.first().copied().unwrap_or(0.0),
        });
        let residuals: Vec<f64> = counts
            .iter()
            .enumerate()
            .map(|(i, y)| y - line.at(i as f64))
            .collect();
        let outlying = match skip_outliers {
            true => outliers(&residuals, rules),
            false => vec![false; counts.len()],
        };
        let kept = |values: &[f64]| -> Vec<f64> {
            values
                .iter()
                .zip(&outlying)
                .filter(|(_, &out)| !out)
                .map(|(value, _)| *value)
                .collect()
        };
        let noise = robust_noise(&kept(&residuals));
        let mk = mann_kendall(&kept(counts));
        let change = line.slope * counts.len().saturating_sub(1) as f64;
        let significant = mk.p_value < rules.alpha
            && line.slope * mk.s as f64 > 0.0
            && change.abs() >= rules.min_signal * noise;
        Trend {
            line,
            mk,
            noise,
            change,
            significant,
            residuals,
            outliers: outlying.iter().filter(|&&out| out).count(),
        }
    }

    /// `Mann–Kendall p = 0.01`, with the outliers left out when there were any.
    fn test_text(&self) -> String {
        match self.outliers {
            0 => format!("Mann–Kendall {}", p_text(self.mk.p_value)),
            1 => format!(
                "Mann–Kendall {}, 1 outlying dump left out",
                p_text(self.mk.p_value)
            ),
            k => format!(
                "Mann–Kendall {}, {k} outlying dumps left out",
                p_text(self.mk.p_value)
            ),
        }
    }
}

/// The single-dump outliers among the residuals of a line (step 2 of the rule): the dumps that
/// lie more than `min_signal` × the robust scale (1.4826 × the MAD of the residuals, at least
/// [`NOISE_FLOOR`]) + 1 handle from the residuals' median — a GC-like drop, a burst caught
/// mid-flight — the farthest first, at most one dump in [`OUTLIER_SHARE`] (rounded down).
fn outliers(residuals: &[f64], rules: &Rules) -> Vec<bool> {
    let n = residuals.len();
    let scale = (MAD_TO_SIGMA * mad(residuals)).max(NOISE_FLOOR);
    let limit = rules.min_signal * scale + 1.0;
    let center = median(residuals);
    let distance = |i: usize| (residuals[i] - center).abs();
    let mut farthest: Vec<usize> = (0..n).collect();
    farthest.sort_by(|&a, &b| distance(b).total_cmp(&distance(a)).then(a.cmp(&b)));
    let mut outlying = vec![false; n];
    for &i in farthest.iter().take(n / OUTLIER_SHARE) {
        if distance(i) > limit {
            outlying[i] = true;
        }
    }
    outlying
}

/// A rise that levelled off (step 3 of the rule), before looking at what came after it.
struct Levelled {
    fit: TwoSegments,
    rise: f64,
    noise: f64,
    /// The trend of the counts from the change point on.
    after: Trend,
}

/// The best two-segment fit, when it shows a real rise, fits better than one line, and the
/// counts after the break grow clearly slower than they rose before it.
fn levelled(counts: &[f64], whole: &Trend, rules: &Rules) -> Option<Levelled> {
    let fit = best_two_segments(counts, MIN_BEFORE_BREAK, MIN_AFTER_BREAK)?;
    let (before, after) = counts.split_at(fit.index);
    let rise = fit.level - fit.head.at(0.0);
    let after_deviations: Vec<f64> = after.iter().map(|y| y - fit.level).collect();
    let noise = robust_noise(&fit.residuals).max(robust_noise(&after_deviations));
    if rise < rules.min_signal * noise {
        return None;
    }
    let below = before.iter().filter(|&&y| y < fit.level - noise).count();
    if below < MIN_BEFORE_BREAK {
        return None;
    }
    let n = counts.len() as f64;
    let straight = mean_abs(&whole.residuals).max(MEAN_ABS_FLOOR);
    let broken = mean_abs(&fit.residuals).max(MEAN_ABS_FLOOR);
    if broken > straight * n.powf(-1.0 / n) {
        return None;
    }
    // The level is the median after the break, so it sits in the middle of those dumps: the
    // rate before is the rise spread from dump 0 to there. Continued at that rate, the count
    // would have grown by rate × (m − 1) over the dumps after the break; what they show must
    // fall short of that by min_signal × the noise plus one handle (growth of less than a
    // handle can hide in the rounding to whole handles).
    let m = after.len() as f64;
    let rate_before = rise / (fit.index as f64 + (m - 1.0) / 2.0);
    let after_trend = Trend::of(after, rules);
    let shortfall = (rate_before - after_trend.line.slope) * (m - 1.0);
    if shortfall < rules.min_signal * noise + 1.0 {
        return None;
    }
    Some(Levelled {
        after: after_trend,
        fit,
        rise,
        noise,
    })
}

/// Noise scale of residuals: the mean absolute residual scaled to a standard deviation
/// (× √(π/2)), at least [`NOISE_FLOOR`]. Unlike the MAD it does not drop to 0 when most counts
/// repeat exactly, and a single spike moves it by only spike/n.
pub(super) fn robust_noise(residuals: &[f64]) -> f64 {
    (MEAN_ABS_TO_SIGMA * mean_abs(residuals)).max(NOISE_FLOOR)
}

pub(super) fn mean_abs(values: &[f64]) -> f64 {
    values.iter().map(|v| v.abs()).sum::<f64>() / values.len().max(1) as f64
}

fn derived_tolerance(counts: &[f64]) -> f64 {
    (TOLERANCE_SHARE * median(counts).abs()).max(TOLERANCE_FLOOR)
}

/// Most counts inside one band `width` wide, and the spread of those counts.
fn widest_band(counts: &[f64], width: f64) -> (usize, f64) {
    let mut sorted = counts.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (mut best, mut spread, mut start) = (0, 0.0, 0);
    for end in 0..sorted.len() {
        while sorted[end] - sorted[start] > width {
            start += 1;
        }
        if end + 1 - start > best {
            best = end + 1 - start;
            spread = sorted[end] - sorted[start];
        }
    }
    (best, spread)
}

/// Hours since the first capture, when `times` are usable, and a note for the reason when
/// they were given but are not.
fn usable_hours(times: Option<&[u64]>, n: usize) -> (Option<Vec<f64>>, String) {
    let Some(times) = times else {
        return (None, String::new());
    };
    let problem = if times.len() != n {
        Some("not one per dump")
    } else if times.windows(2).any(|pair| pair[1] < pair[0]) {
        Some("not in time order")
    } else if times.first() == times.last() {
        Some("all equal")
    } else {
        None
    };
    if let Some(problem) = problem {
        return (None, format!(" (capture times ignored: {problem})"));
    }
    let first = times[0];
    let hours = times.iter().map(|t| (t - first) as f64 / 3600.0).collect();
    (Some(hours), String::new())
}

fn rates(per_cycle: f64, per_hour: Option<f64>) -> String {
    match per_hour {
        Some(per_hour) => format!("{}/cycle, {}/hour", signed(per_cycle), signed(per_hour)),
        None => format!("{}/cycle", signed(per_cycle)),
    }
}

/// `2026-03-02 12:00 UTC`.
fn short_time(seconds: u64) -> String {
    let text = iso8601(seconds);
    format!("{} {} UTC", &text[..10], &text[11..16])
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// A count or rate for the reason: whole numbers without decimals, others with up to two.
fn number(value: f64) -> String {
    if (value - value.round()).abs() < 0.005 {
        format!("{}", value.round() as i64)
    } else {
        let text = format!("{value:.2}");
        text.trim_end_matches('0').to_string()
    }
}

fn signed(value: f64) -> String {
    if value >= 0.0 {
        format!("+{}", number(value))
    } else {
        format!("−{}", number(-value))
    }
}

fn p_text(p: f64) -> String {
    if p < 0.0001 {
        "p < 0.0001".to_string()
    } else {
        let text = format!("{p:.4}");
        format!("p = {}", text.trim_end_matches('0').trim_end_matches('.'))
    }
}
