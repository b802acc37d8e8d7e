//! Step 4 of the rule, "still present in the later part": a rise that has turned into a clear
//! fall is no leak. The best "rising line, then falling line" fit of the series — two
//! Theil–Sen lines, the break anywhere with at least [`MIN_BEFORE_BREAK`] dumps on each side,
//! the smallest sum of absolute residuals, the earliest on a tie — shows a reversal when
//!
//! * the head rises and the tail falls;
//! * at least [`MIN_AFTER_BREAK`] dumps follow the top of the rise (where the lines meet: the
//!   head line at its last dump, or, when the tail line starts higher, at the tail's first dump
//!   the lower of the tail line and the head line continued to it), and the level
//!   of the last [`MIN_AFTER_BREAK`] dumps (their median, so that one low dump does not make a
//!   fall) lies below the top by at least `min_signal` × the noise (the larger of the broken
//!   fit's and the rise's own) + 1 handle — the bar a plateau's stopped growth must clear;
//! * at least [`MIN_BEFORE_BREAK`] dumps after the top lie more than the noise below the top (one
//!   low dump — a single GC-like drop — is no fall);
//! * the broken line fits better than one straight line by more than its extra parameters
//!   cost (the same Bayesian information criterion as the change point of step 3).

use super::classify::{mean_abs, robust_noise, MEAN_ABS_FLOOR};
use super::stats::{median, theil_sen, theil_sen_indexed, Line};
use super::{Rules, MIN_AFTER_BREAK, MIN_BEFORE_BREAK};

/// A rise that turned into a fall.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Reversal {
    /// Last dump of the rise (0-based).
    pub top_index: usize,
    /// The head line at that dump: the level the rise reached.
    pub top: f64,
    /// Level of the last [`MIN_AFTER_BREAK`] dumps (their median): where the fall ended.
    pub end: f64,
    /// Noise the fall was measured against.
    pub noise: f64,
}

impl Reversal {
    /// The reversal in words, for the verdict's reason.
    pub fn describe(&self, last_index: usize, number: impl Fn(f64) -> String) -> String {
        format!(
            "rose to ~{} by dump {}, then fell to ~{} over the last {MIN_AFTER_BREAK} dumps (to \
             dump {last_index}; −{} against noise ±{}): the rise did not hold, so it is no leak",
            number(self.top),
            self.top_index,
            number(self.end),
            number(self.top - self.end),
            number(self.noise)
        )
    }
}

/// The reversal of `counts` (see the module documentation), given the mean absolute residual
/// of the straight Theil–Sen line through all of them; `None` when the rise holds.
pub(super) fn reversal(counts: &[f64], straight_mean_abs: f64, rules: &Rules) -> Option<Reversal> {
    let n = counts.len();
    let last_break = n.checked_sub(MIN_BEFORE_BREAK)?;
    let mut best: Option<(f64, usize, Line, Line, Vec<f64>)> = None;
    for index in MIN_BEFORE_BREAK..=last_break {
        let (head, tail, residuals) = rise_then_fall_at(counts, index)?;
        let cost: f64 = residuals.iter().map(|r| r.abs()).sum();
        if best.as_ref().is_none_or(|b| cost < b.0 - 1e-9) {
            best = Some((cost, index, head, tail, residuals));
        }
    }
    let (_, index, head, tail, residuals) = best?;
    if !(head.slope > 0.0 && tail.slope < 0.0) {
        return None;
    }
    let noise = robust_noise(&residuals).max(robust_noise(&residuals[..index]));
    // The top is where the two lines meet: the head's last dump, or the tail's first when the
    // break fell one dump early (a tie of two exact fits) — there no higher than the head line
    // continued one dump, so that a single high dump at the break cannot make the top.
    let (top_index, top) = match (head.at((index - 1) as f64), tail.at(index as f64)) {
        (head_end, tail_start) if tail_start > head_end => {
            (index, tail_start.min(head.at(index as f64)))
        }
        (head_end, _) => (index - 1, head_end),
    };
    if n - 1 - top_index < MIN_AFTER_BREAK {
        return None;
    }
    let end = median(&counts[n - MIN_AFTER_BREAK..]);
    if top - end < rules.min_signal * noise + 1.0 {
        return None;
    }
    let below = counts[top_index + 1..]
        .iter()
        .filter(|&&y| y < top - noise)
        .count();
    if below < MIN_BEFORE_BREAK {
        return None;
    }
    let nf = n as f64;
    let broken = mean_abs(&residuals).max(MEAN_ABS_FLOOR);
    if broken > straight_mean_abs.max(MEAN_ABS_FLOOR) * nf.powf(-1.0 / nf) {
        return None;
    }
    Some(Reversal {
        top_index,
        top,
        end,
        noise,
    })
}

/// Theil–Sen lines before and from `index`, and the residuals of both.
fn rise_then_fall_at(counts: &[f64], index: usize) -> Option<(Line, Line, Vec<f64>)> {
    let (before, after) = counts.split_at(index);
    let head = theil_sen_indexed(before)?;
    let xs: Vec<f64> = (index..counts.len()).map(|i| i as f64).collect();
    let tail = theil_sen(&xs, after)?;
    let residuals = counts
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let line = if i < index { head } else { tail };
            y - line.at(i as f64)
        })
        .collect();
    Some((head, tail, residuals))
}
