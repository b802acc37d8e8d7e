//! The robust statistics behind the trend verdicts, written out so that each can be checked by
//! hand: median and MAD, the Theil–Sen line, the Mann–Kendall trend test (with the tie
//! correction and the normal approximation), the normal distribution's tail via `erfc`, and the
//! least-squares R² kept for `--min-fit`.
//!
//! All functions are pure and deterministic; empty or degenerate input gives a documented
//! neutral answer (no slope, p = 1), never a panic.

/// Factor that turns a MAD into a standard deviation for normally distributed data (1/Φ⁻¹(¾)).
pub const MAD_TO_SIGMA: f64 = 1.482_602_218_505_602;

/// Median of `values` (mean of the two middle ones for an even count); 0 for no values.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Median absolute deviation from the median (not scaled; multiply by [`MAD_TO_SIGMA`] for a
/// standard deviation); 0 for no values.
pub fn mad(values: &[f64]) -> f64 {
    let center = median(values);
    let deviations: Vec<f64> = values.iter().map(|v| (v - center).abs()).collect();
    median(&deviations)
}

/// A straight line `intercept + slope · x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// Change of y per unit of x.
    pub slope: f64,
    /// y at x = 0.
    pub intercept: f64,
}

impl Line {
    /// The line's value at `x`.
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Theil–Sen line: the slope is the median of the slopes between all pairs of points with
/// different x; the intercept the median of `y − slope · x`. `None` when fewer than two points
/// or all x are equal (or the lengths differ).
pub fn theil_sen(xs: &[f64], ys: &[f64]) -> Option<Line> {
    if xs.len() != ys.len() {
        return None;
    }
    let mut slopes = Vec::with_capacity(xs.len() * xs.len().saturating_sub(1) / 2);
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            let dx = xs[j] - xs[i];
            if dx != 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    let slope = median(&slopes);
    let offsets: Vec<f64> = xs.iter().zip(ys).map(|(x, y)| y - slope * x).collect();
    Some(Line {
        slope,
        intercept: median(&offsets),
    })
}

/// Theil–Sen line of `ys` against their index 0, 1, 2, …
pub fn theil_sen_indexed(ys: &[f64]) -> Option<Line> {
    let xs: Vec<f64> = (0..ys.len()).map(|i| i as f64).collect();
    theil_sen(&xs, ys)
}

/// The Mann–Kendall test for a monotonic trend in a series in time order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannKendall {
    /// S = Σ_{i<j} sign(y_j − y_i): positive for a rising series.
    pub s: i64,
    /// Variance of S under "no trend", with the tie correction:
    /// [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 over the groups of t equal values.
    pub variance: f64,
    /// Normal score with the continuity correction: (S − sign S) / √variance.
    pub z: f64,
    /// Two-sided p-value from the normal approximation (1 when the variance is 0).
    pub p_value: f64,
}

/// Mann–Kendall test of `ys` (see [`MannKendall`]).
pub fn mann_kendall(ys: &[f64]) -> MannKendall {
    let n = ys.len();
    let mut s: i64 = 0;
    for i in 0..n {
        for j in i + 1..n {
            s += sign(ys[j] - ys[i]);
        }
    }
    let nf = n as f64;
    let ties: f64 = tie_groups(ys)
        .map(|t| t * (t - 1.0) * (2.0 * t + 5.0))
        .sum();
    let variance = ((nf * (nf - 1.0) * (2.0 * nf + 5.0) - ties) / 18.0).max(0.0);
    let (z, p_value) = normal_test(s, variance);
    MannKendall {
        s,
        variance,
        z,
        p_value,
    }
}

fn sign(difference: f64) -> i64 {
    if difference > 0.0 {
        1
    } else if difference < 0.0 {
        -1
    } else {
        0
    }
}

/// Sizes of the groups of equal values (groups of one included; they add nothing).
fn tie_groups(values: &[f64]) -> impl Iterator<Item = f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut sizes = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i] != sorted[start] {
            sizes.push((i - start) as f64);
            start = i;
        }
    }
    sizes.into_iter()
}

/// z with the continuity correction and the two-sided p-value of a score that moves in steps
/// of 1 or 2 around 0.
fn normal_test(s: i64, variance: f64) -> (f64, f64) {
    if variance <= 0.0 || s == 0 {
        return (0.0, 1.0);
    }
    let corrected = (s - s.signum()) as f64;
    let z = corrected / variance.sqrt();
    (z, two_sided_p(z))
}

/// Two-sided p-value of a standard normal score: P(|Z| ≥ |z|) = erfc(|z|/√2).
pub fn two_sided_p(z: f64) -> f64 {
    erfc(z.abs() / std::f64::consts::SQRT_2).min(1.0)
}

/// Complementary error function, Chebyshev approximation (Numerical Recipes `erfcc`), with a
/// fractional error below 1.2 × 10⁻⁷ everywhere.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 {
        value
    } else {
        2.0 - value
    }
}

/// Least-squares slope and R² of `ys` against their index (R² is 0 when the counts do not
/// vary, and also 0 for fewer than two points).
pub fn least_squares_r2(ys: &[f64]) -> (f64, f64) {
    let n = ys.len() as f64;
    if ys.len() < 2 {
        return (0.0, 0.0);
    }
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (i, y) in ys.iter().enumerate() {
        let dx = i as f64 - mean_x;
        let dy = y - mean_y;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    (slope, r2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        // |x − 2| = 1, 1, 0, 2, 6 → median 1.
        assert_eq!(mad(&[1.0, 3.0, 2.0, 4.0, 8.0]), 1.0);
        assert_eq!(mad(&[5.0; 4]), 0.0);
    }

    #[test]
    fn erfc_matches_tabulated_values() {
        // Abramowitz & Stegun table 7.1: erf(0.5) = 0.5204998778, erf(1) = 0.8427007929,
        // erf(2) = 0.9953222650.
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(0.5), 1.0 - 0.520_499_877_8, 1e-7));
        assert!(close(erfc(1.0), 1.0 - 0.842_700_792_9, 1e-7));
        assert!(close(erfc(2.0), 1.0 - 0.995_322_265_0, 1e-8));
        assert!(close(erfc(-1.0), 1.0 + 0.842_700_792_9, 1e-7));
        // The familiar two-sided levels: |z| = 1.959964 ↔ p = 0.05, 2.575829 ↔ 0.01.
        assert!(close(two_sided_p(1.959_964), 0.05, 1e-6));
        assert!(close(two_sided_p(-2.575_829), 0.01, 1e-6));
    }

    #[test]
    fn theil_sen_on_a_known_set() {
        // Pairwise slopes of (1,1) (2,3) (3,2) (4,5) (5,4): 2, 0.5, 4/3, 0.75, −1, 1.5, 0.5, 3,
        // 1, −1 → sorted −1 −1 0.5 0.5 0.75 1 4/3 1.5 2 3 → median (0.75 + 1)/2 = 0.875.
        // Intercept: median of y − 0.875x = 0.125, 1.25, −0.625, 1.5, −0.375 → 0.125.
        let line = theil_sen(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 3.0, 2.0, 5.0, 4.0]).unwrap();
        assert!(close(line.slope, 0.875, 1e-12));
        assert!(close(line.intercept, 0.125, 1e-12));
        assert!(close(line.at(5.0), 4.5, 1e-12));
        // scipy.stats.theilslopes([10,11,13,30,14,15,17], range(7)) gives slope 1.0: the
        // outlier 30 does not move it.
        let line = theil_sen_indexed(&[10.0, 11.0, 13.0, 30.0, 14.0, 15.0, 17.0]).unwrap();
        assert!(close(line.slope, 1.0, 1e-12));
        // Pairs with equal x are skipped; no usable pair gives no line.
        let line = theil_sen(&[0.0, 0.0, 2.0], &[1.0, 3.0, 5.0]).unwrap();
        assert!(close(line.slope, 1.5, 1e-12));
        assert_eq!(theil_sen(&[1.0, 1.0], &[1.0, 2.0]), None);
        assert_eq!(theil_sen_indexed(&[4.0]), None);
        assert_eq!(theil_sen(&[1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn mann_kendall_with_ties_by_hand() {
        // y = 5 6 6 7 5 8. Pairs (i<j) with sign(y_j − y_i):
        //   from 5: +1 +1 +1 0 +1 = 4; from 6: 0 +1 −1 +1 = 1; from 6: +1 −1 +1 = 1;
        //   from 7: −1 +1 = 0; from 5: +1 = 1 → S = 7.
        // Ties: two 5s and two 6s → Σ t(t−1)(2t+5) = 2·(2·1·9) = 36.
        // Var = (6·5·17 − 36)/18 = 474/18 = 26.333…; z = (7 − 1)/√26.333 = 1.16923;
        // p = 2(1 − Φ(1.16923)) = 0.24231.
        let mk = mann_kendall(&[5.0, 6.0, 6.0, 7.0, 5.0, 8.0]);
        assert_eq!(mk.s, 7);
        assert!(close(mk.variance, 474.0 / 18.0, 1e-12));
        assert!(close(mk.z, 6.0 / (474.0f64 / 18.0).sqrt(), 1e-12));
        assert!(close(mk.p_value, 0.242_31, 1e-4));
    }

    #[test]
    fn mann_kendall_matches_the_textbook_limits() {
        // Strictly rising n = 5: S = 10, Var = 5·4·15/18 = 16.667, z = 9/4.0825 = 2.2045,
        // p = 0.02749; n = 4 can never reach p < 0.05: S = 6, Var = 8.667, z = 1.6984,
        // p = 0.08942.
        let mk5 = mann_kendall(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(mk5.s, 10);
        assert!(close(mk5.p_value, 0.027_49, 1e-4));
        let mk4 = mann_kendall(&[4.0, 3.0, 2.0, 1.0]);
        assert_eq!(mk4.s, -6);
        assert!(mk4.z < 0.0);
        assert!(close(mk4.p_value, 0.089_42, 1e-4));
        // All equal: no variance, no evidence.
        let flat = mann_kendall(&[3.0; 6]);
        assert_eq!((flat.s, flat.variance, flat.p_value), (0, 0.0, 1.0));
        assert_eq!(mann_kendall(&[]).p_value, 1.0);
    }

    #[test]
    fn mann_kendall_agrees_with_kendall_tau_b_on_a_tied_series() {
        // scipy.stats.kendalltau(range(12), y, variant="b") uses the same tie-corrected
        // variance without the continuity correction and reports p = 0.00036805; here S = 51,
        // ties 4×2 and 1×3, Var = (12·11·29 − 4·18 − 66)/18 = 205, and with the continuity
        // correction (S − 1) the p-value is 0.00047915.
        let y = [2.0, 3.0, 3.0, 2.0, 4.0, 5.0, 5.0, 4.0, 6.0, 6.0, 6.0, 7.0];
        let mk = mann_kendall(&y);
        assert_eq!(mk.s, 51);
        assert!(close(mk.variance, 205.0, 1e-12));
        assert!(close(
            two_sided_p(51.0 / 205.0f64.sqrt()),
            0.000_368_05,
            1e-8
        ));
        assert!(close(mk.p_value, 0.000_479_15, 1e-8));
    }

    #[test]
    fn least_squares_fit() {
        let (slope, r2) = least_squares_r2(&[1.0, 3.0, 5.0, 7.0]);
        assert!(close(slope, 2.0, 1e-12) && close(r2, 1.0, 1e-12));
        assert_eq!(least_squares_r2(&[4.0, 4.0, 4.0]), (0.0, 0.0));
        assert_eq!(least_squares_r2(&[4.0]), (0.0, 0.0));
    }
}
