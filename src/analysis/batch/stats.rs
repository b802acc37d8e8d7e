//! Fleet statistics: quantiles of handle counts and the two-sided Mann–Whitney U test that
//! compares two groups of dumps without assuming any distribution of their counts.

use crate::analysis::trend::stats::two_sided_p;

/// Above this many values in both groups together (or with ties) the normal approximation is
/// used; below it, the exact distribution of U.
const EXACT_UP_TO: usize = 30;

/// The `q`-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between closest ranks
/// (R's type 7, the spreadsheet default); `None` for no values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = position.ceil() as usize;
    let fraction = position - below as f64;
    Some(sorted[below] + (sorted[above] - sorted[below]) * fraction)
}

/// The median of `values`; `None` for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    quantile(values, 0.5)
}

/// The result of a Mann–Whitney U test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of `x`: how many (x, y) pairs have x > y, ties counting one half.
    pub u: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether the exact distribution was used (small samples without ties).
    pub exact: bool,
}

/// Two-sided Mann–Whitney U test (Wilcoxon rank-sum). Exact for small samples without ties;
/// otherwise the normal approximation with the tie correction and a continuity correction of
/// one half. `None` when a group is empty.
pub fn mann_whitney(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|&value| (value, true))
        .chain(y.iter().map(|&value| (value, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mid-ranks for ties, and the tie term Σ(t³ − t).
    let (mut rank_sum_x, mut tie_term, mut ties) = (0.0, 0.0, false);
    let mut start = 0;
    while start < pooled.len() {
        let mut end = start + 1;
        while end < pooled.len() && pooled[end].0 == pooled[start].0 {
            end += 1;
        }
        let size = (end - start) as f64;
        if end - start > 1 {
            ties = true;
            tie_term += size.powi(3) - size;
        }
        let mid_rank = (start + end + 1) as f64 / 2.0;
        rank_sum_x += mid_rank * pooled[start..end].iter().filter(|(_, in_x)| *in_x).count() as f64;
        start = end;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let u = rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    if !ties && n1 + n2 <= EXACT_UP_TO {
        let smaller = u.min(n1f * n2f - u) as usize;
        let p_value = (2.0 * exact_cdf(n1, n2, smaller)).min(1.0);
        return Some(MannWhitney {
            u,
            p_value,
            exact: true,
        });
    }
    let n = n1f + n2f;
    let mean = n1f * n2f / 2.0;
    let variance = n1f * n2f / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    let p_value = if variance <= 0.0 {
        1.0
    } else {
        let distance = ((u - mean).abs() - 0.5).max(0.0);
        two_sided_p(distance / variance.sqrt())
    };
    Some(MannWhitney {
        u,
        p_value,
        exact: false,
    })
}

/// P(U ≤ u) under the null hypothesis for groups of `n1` and `n2` without ties: the share of
/// the C(n1+n2, n1) arrangements of the ranks whose U is at most `u`.
fn exact_cdf(n1: usize, n2: usize, u: usize) -> f64 {
    // counts[j][k] = arrangements of i x-values and j y-values with U = k, built up over i.
    let max_u = n1 * n2;
    let mut previous: Vec<Vec<f64>> = (0..=n2)
        .map(|_| {
            let mut row = vec![0.0; max_u + 1];
            row[0] = 1.0;
            row
        })
        .collect();
    for _ in 1..=n1 {
        let mut current = vec![vec![0.0; max_u + 1]; n2 + 1];
        current[0][0] = 1.0;
        for j in 1..=n2 {
            for k in 0..=max_u {
                // The largest value is an x (it beats all j y-values) or a y.
                let from_x = if k >= j { previous[j][k - j] } else { 0.0 };
                current[j][k] = from_x + current[j - 1][k];
            }
        }
        previous = current;
    }
    let counts = &previous[n2];
    let total: f64 = counts.iter().sum();
    counts[..=u.min(max_u)].iter().sum::<f64>() / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_closest_ranks() {
        let values = [7.0, 1.0, 3.0, 5.0];
        assert_eq!(quantile(&values, 0.0), Some(1.0));
        assert_eq!(median(&values), Some(4.0));
        assert_eq!(quantile(&values, 0.25), Some(2.5));
        assert_eq!(quantile(&values, 0.75), Some(5.5));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(median(&[4.0]), Some(4.0));
    }

    #[test]
    fn exact_p_values_match_the_tables() {
        // Complete separation of 5 and 5: 2 / C(10, 5).
        let test = mann_whitney(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert!(test.exact);
        assert_eq!(test.u, 0.0);
        assert!((test.p_value - 2.0 / 252.0).abs() < 1e-12, "{test:?}");
        // SciPy's documented example (exact: p = 1/9).
        let males = [19.0, 22.0, 16.0, 29.0, 24.0];
        let females = [20.0, 11.0, 17.0, 12.0];
        let test = mann_whitney(&males, &females).unwrap();
        assert_eq!(test.u, 17.0);
        assert!((test.p_value - 1.0 / 9.0).abs() < 1e-12, "{test:?}");
    }

    #[test]
    fn ties_use_the_corrected_normal_approximation() {
        // Three tied 3s: SciPy's asymptotic method (continuity correction) gives U = 1,
        // p = 0.0545144786.
        let x = [1.0, 2.0, 3.0, 3.0];
        let y = [3.0, 4.0, 5.0, 6.0];
        let test = mann_whitney(&x, &y).unwrap();
        assert!(!test.exact);
        assert_eq!(test.u, 1.0);
        assert!((test.p_value - 0.054_514_478_6).abs() < 1e-6, "{test:?}");
        // All values equal: no evidence either way.
        let same = mann_whitney(&[5.0; 6], &[5.0; 6]).unwrap();
        assert_eq!(same.p_value, 1.0);
        assert!(mann_whitney(&[], &[1.0]).is_none());
    }

    #[test]
    fn large_samples_use_the_normal_approximation() {
        let low: Vec<f64> = (0..40).map(f64::from).collect();
        let high: Vec<f64> = (30..70).map(f64::from).collect();
        let test = mann_whitney(&high, &low).unwrap();
        assert!(!test.exact);
        assert!(test.p_value < 1e-6, "{test:?}");
        let shuffled: Vec<f64> = (0..40).map(|i| f64::from((i * 7) % 40)).collect();
        let test = mann_whitney(&shuffled, &low).unwrap();
        assert_eq!(
            (test.u, test.p_value),
            (800.0, 1.0),
            "SciPy: U = 800, p = 1"
        );
    }
}
