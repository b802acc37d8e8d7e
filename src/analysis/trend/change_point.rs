//! The two-segment fit behind the plateau verdict: a straight line up to a break, then a flat
//! level. Every break with at least the asked number of dumps after it is tried; the one with
//! the smallest sum of absolute residuals wins (the earliest on a tie).
//!
//! The break lies between dump `index − 1` and dump `index`: dump `index` is the first at the
//! new level.

use super::stats::{median, theil_sen_indexed, Line};

/// The best "line, then flat" fit of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoSegments {
    /// First dump (0-based) of the flat segment: where the count levelled off.
    pub index: usize,
    /// Theil–Sen line of the dumps before `index` (x = dump index); flat at the first count
    /// when there is only one.
    pub head: Line,
    /// The level after the break: median of the counts from `index` on.
    pub level: f64,
    /// y − fit for every dump.
    pub residuals: Vec<f64>,
    /// Σ |residual|.
    pub cost: f64,
}

/// The best two-segment fit of `ys` with at least `min_before` dumps before the break and
/// `min_after` after it (both at least 1); `None` when the series is too short for any.
pub fn best_two_segments(ys: &[f64], min_before: usize, min_after: usize) -> Option<TwoSegments> {
    let last_index = ys.len().checked_sub(min_after.max(1))?;
    let mut best: Option<TwoSegments> = None;
    for index in min_before.max(1)..=last_index {
        let fit = two_segments_at(ys, index);
        if best
            .as_ref()
            .is_none_or(|current| fit.cost < current.cost - 1e-9)
        {
            best = Some(fit);
        }
    }
    best
}

/// The two-segment fit of `ys` with the flat segment starting at `index` (1 ≤ index < len).
pub fn two_segments_at(ys: &[f64], index: usize) -> TwoSegments {
    let (before, after) = ys.split_at(index);
    let head = theil_sen_indexed(before).unwrap_or(Line {
        slope: 0.0,
        intercept: before.first().copied().unwrap_or(0.0),
    });
    let level = median(after);
    let residuals: Vec<f64> = before
        .iter()
        .enumerate()
        .map(|(i, y)| y - head.at(i as f64))
        .chain(after.iter().map(|y| y - level))
        .collect();
    let cost = residuals.iter().map(|r| r.abs()).sum();
    TwoSegments {
        index,
        head,
        level,
        residuals,
        cost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_knee_of_a_ramp() {
        // 20 25 30 35 then 40 ± 1: the ramp fits dumps 0–3 exactly, the level is 40 from dump 4.
        let ys = [
            20.0, 25.0, 30.0, 35.0, 40.0, 41.0, 40.0, 39.0, 40.0, 41.0, 40.0, 40.0,
        ];
        let fit = best_two_segments(&ys, 1, 3).unwrap();
        assert_eq!(fit.index, 4);
        assert_eq!(fit.level, 40.0);
        assert_eq!(fit.head.slope, 5.0);
        assert_eq!(fit.head.intercept, 20.0);
        assert_eq!(fit.cost, 3.0);
        assert_eq!(fit.residuals[5], 1.0);
    }

    #[test]
    fn finds_a_step() {
        let ys = [10.0, 10.0, 10.0, 20.0, 20.0, 20.0, 20.0];
        let fit = best_two_segments(&ys, 1, 3).unwrap();
        assert_eq!((fit.index, fit.level, fit.cost), (3, 20.0, 0.0));
        assert_eq!(fit.head.slope, 0.0);
    }

    #[test]
    fn keeps_the_asked_number_of_dumps_after_the_break() {
        // The step before dump 6 leaves only 2 dumps after it: the best allowed break is
        // earlier.
        let ys = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0, 9.0];
        let fit = best_two_segments(&ys, 1, 3).unwrap();
        assert_eq!(fit.index, 5);
        assert_eq!(best_two_segments(&ys, 1, 2).unwrap().index, 6);
        assert_eq!(best_two_segments(&ys[..4], 1, 3).unwrap().index, 1);
        assert_eq!(best_two_segments(&ys[..3], 1, 3), None);
        assert_eq!(best_two_segments(&ys[..4], 2, 3), None);
        assert_eq!(best_two_segments(&ys[..5], 2, 3).unwrap().index, 2);
        // One dump before the break: a flat head at that count.
        let fit = two_segments_at(&[3.0, 8.0, 8.0, 8.0, 8.0], 1);
        assert_eq!(
            (fit.head.slope, fit.head.intercept, fit.cost),
            (0.0, 3.0, 0.0)
        );
    }
}
