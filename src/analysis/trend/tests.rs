//! The rule of [`classify`] on the issue's three series, the shapes of the rule it replaces,
//! the committed series fixtures and the edge cases.

use super::stats::least_squares_r2;
use super::*;

/// 2026-03-02 00:00 UTC.
const MIDNIGHT: u64 = 1_772_409_600;

fn hourly(n: usize) -> Vec<u64> {
    (0..n as u64).map(|hour| MIDNIGHT + hour * 3600).collect()
}

fn verdict(counts: &[f64]) -> Verdict {
    classify(counts, None, &Rules::default())
}

fn class(counts: &[f64]) -> Option<Class> {
    verdict(counts).class
}

#[test]
fn issue_slow_leak_one_handle_every_two_hours() {
    // 12 hourly dumps, +1 every 2 hours, perfectly monotone: R² 0.98 as in the issue.
    let counts = [
        50.0, 50.0, 51.0, 51.0, 52.0, 52.0, 53.0, 53.0, 54.0, 54.0, 55.0, 55.0,
    ];
    let (_, r2) = least_squares_r2(&counts);
    assert!((r2 - 0.98).abs() < 0.005, "{r2}");
    let times = hourly(12);
    let verdict = classify(&counts, Some(&times), &Rules::default());
    assert_eq!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
    assert_eq!(verdict.slope_per_cycle, 0.5);
    assert_eq!(verdict.slope_per_hour, Some(0.5));
    assert_eq!(verdict.slope_per_day(), Some(12.0));
    assert!(verdict.p_value.unwrap() < 0.001);
    assert!(verdict.reason.starts_with("grows +0.5/cycle, +0.5/hour"));
    // The same leak in a real, noisy series: a handle more or less now and then and one
    // GC-like drop.
    let noisy = [
        50.0, 51.0, 50.0, 52.0, 51.0, 52.0, 49.0, 53.0, 54.0, 53.0, 55.0, 56.0,
    ];
    let verdict = classify(&noisy, Some(&times), &Rules::default());
    assert_eq!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
    assert!((verdict.slope_per_hour.unwrap() - 0.5).abs() < 0.1);
}

#[test]
fn issue_warm_up_plateau_levels_off_at_dump_4() {
    // 20 → 40 over 4 dumps, then 40 ± 1.
    let counts = [
        20.0, 25.0, 30.0, 35.0, 40.0, 41.0, 40.0, 39.0, 40.0, 41.0, 40.0, 39.0,
    ];
    let times: Vec<u64> = hourly(12).iter().map(|t| t + 8 * 3600).collect();
    let verdict = classify(&counts, Some(&times), &Rules::default());
    assert_eq!(verdict.class, Some(Class::Plateau), "{}", verdict.reason);
    assert_eq!(
        verdict.change_point,
        Some(ChangePoint {
            index: 4,
            level: 40.0
        })
    );
    assert!(
        verdict
            .reason
            .starts_with("levelled off at ~40 from dump 4 (2026-03-02 12:00 UTC)"),
        "{}",
        verdict.reason
    );
    // The rate now, from the change point on: flat.
    assert_eq!(verdict.slope_per_cycle, 0.0);
    assert_eq!(verdict.slope_per_hour, Some(0.0));
    assert_eq!(verdict.change, 19.0);
    // Read as four dumps 20 … 40: the change point is the first dump at 40.
    let counts = [
        20.0, 27.0, 33.0, 40.0, 40.0, 39.0, 41.0, 40.0, 40.0, 41.0, 39.0, 40.0,
    ];
    let verdict = verdict_of(&counts);
    assert_eq!(verdict.class, Some(Class::Plateau), "{}", verdict.reason);
    assert_eq!(verdict.change_point.unwrap().index, 3);
    assert_eq!(verdict.change_point.unwrap().level, 40.0);
}

fn verdict_of(counts: &[f64]) -> Verdict {
    verdict(counts)
}

#[test]
fn issue_steady_decline_two_per_hour() {
    let counts: Vec<f64> = (0..12).map(|hour| 120.0 - 2.0 * hour as f64).collect();
    let times = hourly(12);
    let verdict = classify(&counts, Some(&times), &Rules::default());
    assert_eq!(verdict.class, Some(Class::Decline), "{}", verdict.reason);
    assert_eq!(verdict.slope_per_hour, Some(-2.0));
    assert_eq!(verdict.slope_per_cycle, -2.0);
    assert_eq!(verdict.change, -22.0);
    // With ±1 of noise on top.
    let noisy: Vec<f64> = counts
        .iter()
        .zip([
            0.0, 1.0, -1.0, 0.0, 1.0, 0.0, -1.0, 1.0, 0.0, -1.0, 0.0, 1.0,
        ])
        .map(|(count, noise)| count + noise)
        .collect();
    assert_eq!(class(&noisy), Some(Class::Decline));
}

#[test]
fn too_few_dumps_give_the_raw_change_and_no_class() {
    let verdict = verdict(&[20.0, 27.0, 33.0, 40.0]);
    assert!(verdict.too_few);
    assert_eq!(verdict.class, None);
    assert_eq!(verdict.p_value, None);
    assert_eq!(verdict.change, 20.0);
    assert_eq!(
        verdict.reason,
        "too few dumps for a verdict (4 of the 5 needed): 20 → 40 (+20)"
    );
    // Pairwise slopes 7, 6.5, 6.67, 6, 6.5, 7 → median (6.5 + 6.67)/2.
    assert!((verdict.slope_per_cycle - 79.0 / 12.0).abs() < 1e-12);
    assert!(classify(&[], None, &Rules::default()).too_few);
    assert!(classify(&[3.0], None, &Rules::default()).too_few);
    // Five dumps are enough.
    assert_eq!(class(&[1.0, 2.0, 3.0, 4.0, 5.0]), Some(Class::Leak));
}

#[test]
fn earlier_shapes_keep_their_classes() {
    // The shapes of the rule this one replaces, and the committed series fixtures.
    let leak: Vec<f64> = (10..18).map(f64::from).collect();
    assert_eq!(class(&leak), Some(Class::Leak));
    assert_eq!(
        class(&[10.0, 13.0, 16.0, 18.0, 19.0, 19.0, 19.0, 19.0]),
        Some(Class::Plateau)
    );
    assert_eq!(
        class(&[14.0, 11.0, 16.0, 12.0, 15.0, 10.0, 16.0, 13.0]),
        Some(Class::Churn)
    );
    assert_eq!(
        class(&[30.0, 30.0, 31.0, 30.0, 30.0, 31.0, 30.0, 30.0]),
        Some(Class::Stable)
    );
    assert_eq!(
        class(&[0.0, 4.0, 8.0, 12.0, 12.0, 12.0, 12.0]),
        Some(Class::Plateau)
    );
    // Indexer: Section, File, Thread; incident: the total and a constant type.
    assert_eq!(
        class(&[3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]),
        Some(Class::Leak)
    );
    let file = verdict(&[6.0, 9.0, 11.0, 12.0, 12.0, 12.0, 12.0, 12.0]);
    assert_eq!(file.class, Some(Class::Plateau));
    assert_eq!(file.change_point.unwrap().index, 3);
    assert_eq!(
        class(&[6.0, 3.0, 8.0, 4.0, 7.0, 2.0, 8.0, 5.0]),
        Some(Class::Churn)
    );
    let total: Vec<f64> = (0..7).map(|i| 43.0 + 3.0 * i as f64).collect();
    assert_eq!(verdict(&total).slope_per_cycle, 3.0);
    assert_eq!(class(&total), Some(Class::Leak));
    assert_eq!(class(&[9.0; 7]), Some(Class::Stable));
    // Retained handles of one allocation stack.
    let retained: Vec<f64> = (0..7).map(f64::from).collect();
    assert_eq!(class(&retained), Some(Class::Leak));
}

#[test]
fn a_rise_that_stopped_too_recently_is_still_a_leak() {
    // Three dumps at the new level make a plateau; two are too early to tell.
    let verdict = verdict(&[0.0, 4.0, 8.0, 12.0, 12.0, 12.0]);
    assert_eq!(verdict.class, Some(Class::Plateau), "{}", verdict.reason);
    assert_eq!(verdict.change_point.unwrap().index, 3);
    assert_eq!(
        class(&[0.0, 3.0, 6.0, 9.0, 12.0, 12.0, 12.0][1..]),
        Some(Class::Plateau)
    );
    assert_eq!(class(&[0.0, 3.0, 6.0, 9.0, 12.0, 12.0]), Some(Class::Leak));
}

#[test]
fn a_rise_that_reversed_is_no_leak() {
    // Audit of issue 19: up by 2 a cycle for 8 cycles, then down by 4 a cycle for 3: the
    // Mann–Kendall test of the whole series still says "rising", but the growth did not hold.
    let counts = [
        10.0, 12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 22.0, 18.0, 14.0,
    ];
    let verdict = verdict(&counts);
    assert!(verdict.p_value.unwrap() < ALPHA, "the whole series rises");
    assert_eq!(verdict.class, Some(Class::Churn), "{}", verdict.reason);
    assert!(
        verdict.reason.contains(
            "rose to ~26 by dump 8, then fell to ~18 over the last 3 dumps (to dump 11; −8 \
             against noise ±0.29): the rise did not hold, so it is no leak"
        ),
        "{}",
        verdict.reason
    );
    // A fall back into the tolerance band is stable, not churn.
    let big: Vec<f64> = counts.iter().map(|count| count + 1000.0).collect();
    assert_eq!(class(&big), Some(Class::Stable));
    // One low dump at the end is no fall: the leak holds.
    let mut dip = counts[..9].to_vec();
    dip.extend([28.0, 30.0, 16.0]);
    assert_eq!(class(&dip), Some(Class::Leak));
    // A leak that keeps growing after a drop holds too.
    let mut drop = counts[..9].to_vec();
    drop.extend([20.0, 22.0, 24.0, 26.0, 28.0]);
    assert_eq!(class(&drop), Some(Class::Leak));
}

#[test]
fn a_single_high_dump_at_the_break_does_not_make_a_reversal() {
    // A leak of ~3/cycle over 48 dumps (Gaussian noise) whose dump 44 is a 3 σ spike: the
    // falling line through 201, 193, 177, 173 starts at the spike, but the rising line
    // continued to dump 44 is at ~176, so nothing fell.
    let counts = [
        39.0, 43.0, 56.0, 66.0, 55.0, 58.0, 76.0, 65.0, 79.0, 80.0, 88.0, 75.0, 77.0, 90.0, 92.0,
        86.0, 85.0, 96.0, 99.0, 109.0, 107.0, 112.0, 124.0, 119.0, 125.0, 110.0, 141.0, 129.0,
        145.0, 133.0, 132.0, 130.0, 140.0, 145.0, 154.0, 155.0, 165.0, 148.0, 169.0, 167.0, 170.0,
        181.0, 184.0, 177.0, 201.0, 193.0, 177.0, 173.0,
    ];
    let verdict = verdict(&counts);
    assert_eq!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
}

#[test]
fn a_single_dump_drop_is_left_out_of_the_trend_test() {
    // 4.7/cycle over 8 dumps with one GC-like drop (22): with it, Mann–Kendall p = 0.11.
    let counts = [23.0, 32.0, 27.0, 41.0, 45.0, 46.0, 22.0, 58.0];
    let verdict = verdict(&counts);
    assert_eq!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
    assert!(
        verdict.reason.contains("1 outlying dump left out"),
        "{}",
        verdict.reason
    );
    assert!(verdict.p_value.unwrap() < ALPHA);
    // A count that only ticks by a handle has none: the limit is 3 × the robust scale (here
    // the noise floor) + 1 handle.
    let ticking = [5.0, 5.0, 6.0, 5.0, 5.0, 5.0, 6.0, 5.0, 5.0, 5.0];
    assert!(!verdict_of(&ticking).reason.contains("outlying"));
}

#[test]
fn a_leak_after_a_warm_up_reports_the_later_rate() {
    // A cache fills in two cycles, then one handle leaks every two cycles.
    let counts = [
        280.0, 506.0, 732.0, 732.0, 733.0, 733.0, 734.0, 734.0, 735.0, 735.0, 736.0, 736.0, 737.0,
        737.0,
    ];
    let times = hourly(14);
    let verdict = classify(&counts, Some(&times), &Rules::default());
    assert_eq!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
    assert_eq!(verdict.slope_per_cycle, 0.5);
    assert_eq!(verdict.slope_per_hour, Some(0.5));
    assert_eq!(verdict.change_point.unwrap().index, 3);
    assert!(
        verdict.reason.starts_with(
            "grows +0.5/cycle, +0.5/hour from dump 3 on, after a warm-up to ~735 from dump \
             3 (2026-03-02 03:00 UTC)"
        ),
        "{}",
        verdict.reason
    );
    // 1000 handles to the limit at half a handle per hour.
    let hours = hours_to_limit(737.0, 1737.0, verdict.slope_per_hour.unwrap());
    assert_eq!(hours, Some(2000.0));
}

#[test]
fn a_step_is_a_plateau_and_one_low_dump_is_not() {
    let verdict = verdict(&[10.0, 10.0, 10.0, 10.0, 20.0, 20.0, 21.0, 20.0]);
    assert_eq!(verdict.class, Some(Class::Plateau), "{}", verdict.reason);
    assert_eq!(verdict.change_point.unwrap().index, 4);
    // A single low first dump (a bulk release caught mid-flight) is no warm-up.
    let verdict = verdict_of(&[10.0, 40.0, 40.0, 41.0, 40.0, 39.0, 40.0, 40.0]);
    assert_eq!(verdict.class, Some(Class::Stable), "{}", verdict.reason);
    assert!(verdict
        .reason
        .starts_with("all dumps but 1 stay within a band of 2"));
}

#[test]
fn a_slow_staircase_with_a_flat_end_is_still_a_leak() {
    // A quarter handle per cycle shows as runs of four equal counts; the last run is no
    // plateau, since a quarter handle per cycle over it could hide in the rounding.
    let counts: Vec<f64> = (0..42)
        .map(|cycle| (2860.3 + 0.25 * cycle as f64).floor())
        .collect();
    let verdict = verdict(&counts);
    assert_eq!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
    assert_eq!(verdict.slope_per_cycle, 0.25);
}

#[test]
fn stable_and_churn_come_from_the_tolerance() {
    // Large counts move by more handles and are still stable: 10 % of ~1000.
    let big = [
        1000.0, 1012.0, 995.0, 1003.0, 1021.0, 990.0, 1008.0, 999.0, 1015.0, 1001.0,
    ];
    let verdict = verdict(&big);
    assert_eq!(verdict.class, Some(Class::Stable), "{}", verdict.reason);
    assert_eq!(verdict.tolerance, Some(100.2));
    // The same swings on a count of 40 are churn.
    let small: Vec<f64> = big.iter().map(|count| count - 960.0).collect();
    assert_eq!(class(&small), Some(Class::Churn));
    // --tolerance overrides the derived tolerance.
    let rules = Rules {
        tolerance: Some(40.0),
        ..Rules::default()
    };
    assert_eq!(classify(&small, None, &rules).class, Some(Class::Stable));
    // One spike in ten dumps is allowed, two are not.
    let spike = [30.0, 30.0, 31.0, 30.0, 45.0, 31.0, 30.0, 30.0, 31.0, 30.0];
    assert_eq!(class(&spike), Some(Class::Stable));
    let spikes = [30.0, 30.0, 31.0, 30.0, 45.0, 31.0, 30.0, 12.0, 31.0, 30.0];
    assert_eq!(class(&spikes), Some(Class::Churn));
}

#[test]
fn a_trend_within_the_noise_is_no_trend() {
    // Mann–Kendall finds the drift significant, but the change over the series (≈ 2) is
    // less than 3 × the noise (±2.2).
    let counts = [
        10.0, 7.0, 12.0, 9.0, 13.0, 8.0, 11.0, 14.0, 9.0, 12.0, 15.0, 10.0, 13.0, 16.0,
    ];
    let verdict = verdict(&counts);
    assert!(verdict.p_value.unwrap() < 0.05, "{verdict:?}");
    assert_ne!(verdict.class, Some(Class::Leak), "{}", verdict.reason);
}

#[test]
fn overrides_for_min_growth_and_min_fit() {
    let slow = [
        50.0, 50.0, 51.0, 51.0, 52.0, 52.0, 53.0, 53.0, 54.0, 54.0, 55.0, 55.0,
    ];
    let rules = Rules {
        min_growth: 1.0,
        ..Rules::default()
    };
    let verdict = classify(&slow, None, &rules);
    assert_eq!(verdict.class, Some(Class::Stable));
    assert!(verdict.reason.contains("slower than --min-growth 1"));
    let rules = Rules {
        min_fit: Some(0.99),
        ..Rules::default()
    };
    let verdict = classify(&slow, None, &rules);
    // Not a leak any more; its spread of 5 fits the tolerance of 5.25.
    assert_eq!(verdict.class, Some(Class::Stable), "{}", verdict.reason);
    assert!(verdict.reason.contains("fails --min-fit 0.99 (R² 0.98)"));
    let rules = Rules {
        min_fit: Some(0.9),
        ..Rules::default()
    };
    assert_eq!(classify(&slow, None, &rules).class, Some(Class::Leak));
}

#[test]
fn unusable_input_is_named_not_a_panic() {
    let verdict = verdict(&[1.0, f64::NAN, 3.0, 4.0, 5.0]);
    assert_eq!((verdict.class, verdict.too_few), (None, false));
    assert!(verdict.reason.contains("NaN"));
    let counts = [1.0, 2.0, 3.0, 4.0, 5.0];
    let rules = Rules::default();
    let short = classify(&counts, Some(&[1, 2, 3]), &rules);
    assert_eq!(short.slope_per_hour, None);
    assert!(short
        .reason
        .ends_with("(capture times ignored: not one per dump)"));
    let unordered = classify(&counts, Some(&[5, 4, 3, 2, 1]), &rules);
    assert!(unordered.reason.contains("not in time order"));
    let same = classify(&counts, Some(&[7; 5]), &rules);
    assert!(same.reason.contains("all equal"));
    // Irregular capture times: the hourly rate follows the clock, not the dump count.
    let times = [0, 3600, 7200, 14_400, 21_600];
    let counts = [10.0, 11.0, 12.0, 14.0, 16.0];
    let verdict = classify(&counts, Some(&times), &rules);
    assert_eq!(verdict.slope_per_hour, Some(1.0));
    assert_eq!(verdict.slope_per_cycle, 1.5);
}

#[test]
fn time_to_the_limit_from_the_robust_rate() {
    assert_eq!(hours_to_limit(100.0, 1100.0, 10.0), Some(100.0));
    assert_eq!(hours_to_limit(2000.0, 1100.0, 10.0), Some(0.0));
    assert_eq!(hours_to_limit(100.0, 1100.0, 0.0), None);
    assert_eq!(hours_to_limit(100.0, 1100.0, -1.0), None);
    assert_eq!(hours_to_limit(100.0, 1100.0, f64::NAN), None);
}

#[test]
fn verdict_json_fields() {
    let counts = [
        20.0, 25.0, 30.0, 35.0, 40.0, 41.0, 40.0, 39.0, 40.0, 41.0, 40.0, 39.0,
    ];
    let json = serde_json::to_value(verdict(&counts)).unwrap();
    assert_eq!(json["class"], "plateau");
    assert_eq!(json["change_point"]["index"], 4);
    assert_eq!(json["change_point"]["level"], 40.0);
    assert_eq!(json["slope_per_hour"], serde_json::Value::Null);
    assert_eq!(json["too_few"], false);
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "change",
            "change_point",
            "class",
            "noise",
            "p_value",
            "reason",
            "slope_per_cycle",
            "slope_per_hour",
            "tolerance",
            "too_few"
        ]
    );
    let too_few = serde_json::to_value(verdict(&counts[..3])).unwrap();
    assert_eq!(too_few["class"], serde_json::Value::Null);
    assert_eq!(too_few["too_few"], true);
}
