//! Trend fit and classification of counts across a series: pure functions.

use super::{TrendClass, TrendRules};

/// Least-squares slope and R² of `values` against 0, 1, 2, ….
pub fn fit(values: &[f64]) -> (f64, f64) {
    let xs: Vec<f64> = (0..values.len()).map(|x| x as f64).collect();
    fit_xy(&xs, values)
}

pub(super) fn fit_xy(xs: &[f64], ys: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.len() < 2 {
        return (0.0, 0.0);
    }
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mean_x).powi(2)).sum();
    let sxy: f64 = xs
        .iter()
        .zip(ys)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let syy: f64 = ys.iter().map(|y| (y - mean_y).powi(2)).sum();
    if sxx == 0.0 {
        return (0.0, 0.0);
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        0.0
    } else {
        (sxy * sxy) / (sxx * syy)
    };
    (slope, r2)
}

/// Classifies counts in time order:
///
/// * **stable** — max − min ≤ tolerance;
/// * **leak** — least-squares growth ≥ min_growth per cycle with R² ≥ min_fit, and the last
///   half of the series still grows (its own slope ≥ min_growth / 2);
/// * **plateau** — last − first > tolerance and the last half is flat (max − min ≤ tolerance);
/// * **churn** — anything else.
///
/// The last half is dumps ⌊(n−1)/2⌋ … n−1 (the middle dump belongs to both halves).
pub fn classify(counts: &[usize], rules: &TrendRules) -> (TrendClass, f64, f64, String) {
    let values: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let (slope, r2) = fit(&values);
    let spread = |values: &[f64]| {
        let max = values.iter().cloned().fold(f64::MIN, f64::max);
        let min = values.iter().cloned().fold(f64::MAX, f64::min);
        max - min
    };
    if values.is_empty() {
        return (TrendClass::Stable, 0.0, 0.0, "no dumps".to_string());
    }
    let range = spread(&values);
    if range <= rules.tolerance {
        return (
            TrendClass::Stable,
            slope,
            r2,
            format!("varies by at most {range} (tolerance {})", rules.tolerance),
        );
    }
    let tail = &values[(values.len() - 1) / 2..];
    let (tail_slope, _) = fit(tail);
    let net = values[values.len() - 1] - values[0];
    if slope >= rules.min_growth && r2 >= rules.min_fit && tail_slope >= rules.min_growth / 2.0 {
        return (
            TrendClass::Leak,
            slope,
            r2,
            format!("grows {slope:+.2}/cycle (R² {r2:.2}) and is still growing in the last half ({tail_slope:+.2}/cycle)"),
        );
    }
    if net > rules.tolerance && spread(tail) <= rules.tolerance {
        return (
            TrendClass::Plateau,
            slope,
            r2,
            format!(
                "grew by {net} then stayed flat over the last {} dumps",
                tail.len()
            ),
        );
    }
    (
        TrendClass::Churn,
        slope,
        r2,
        format!("moves by up to {range} without a steady trend ({slope:+.2}/cycle, R² {r2:.2})"),
    )
}

/// Sparkline of counts, scaled from their minimum to their maximum.
pub fn sparkline(counts: &[usize]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (Some(min), Some(max)) = (counts.iter().min(), counts.iter().max()) else {
        return String::new();
    };
    counts
        .iter()
        .map(|&count| {
            if max == min {
                BARS[0]
            } else {
                BARS[(count - min) * (BARS.len() - 1) / (max - min)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_documented_shapes() {
        let rules = TrendRules::default();
        let class = |counts: &[usize]| classify(counts, &rules).0;
        assert_eq!(class(&[10, 11, 12, 13, 14, 15, 16, 17]), TrendClass::Leak);
        assert_eq!(
            class(&[10, 13, 16, 18, 19, 19, 19, 19]),
            TrendClass::Plateau
        );
        assert_eq!(class(&[14, 11, 16, 12, 15, 10, 16, 13]), TrendClass::Churn);
        assert_eq!(class(&[30, 30, 31, 30, 30, 31, 30, 30]), TrendClass::Stable);
        assert_eq!(class(&[5, 5]), TrendClass::Stable);
        assert_eq!(class(&[5, 9]), TrendClass::Leak);
        // A leak that stopped is a plateau, not a leak.
        assert_eq!(class(&[0, 4, 8, 12, 12, 12, 12]), TrendClass::Plateau);
    }

    #[test]
    fn fits_lines_and_draws_sparklines() {
        let (slope, r2) = fit(&[1.0, 3.0, 5.0, 7.0]);
        assert!((slope - 2.0).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        assert_eq!(fit(&[4.0, 4.0, 4.0]), (0.0, 0.0));
        assert_eq!(sparkline(&[0, 7, 14]), "▁▄█");
        assert_eq!(sparkline(&[3, 3]), "▁▁");
    }
}
