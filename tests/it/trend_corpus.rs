//! The trend classifier against the labelled corpus of `dumpleak_fixtures::trend_corpus`
//! (issue 19). Run with `--nocapture` to see the confusion matrix.
//!
//! "Right" means: the verdict's class is the series' truth, or, for a series shorter than the
//! classifier's minimum, "too few dumps" (no class). One allowance: a leak or decline whose
//! true change over the whole series is under 2 handles is a step of one or two handles at most
//! in whole-handle counts, so "stable" is right for it too (the matrix still shows it in its
//! own row, and the strict share without the allowance is printed as well). Labelling such
//! series "stable" in the generator instead was tried and rejected: the classifier calls about
//! half of them leak or decline (also defensible), and it would contradict the bar for leaks of
//! 0.2–0.28 handles per cycle over 8–10 dumps, whose whole change is under 2 handles too. The
//! bar: at least 95 % right overall, and no leak of ≥ 0.2 handles per cycle over ≥ 8 dumps
//! called stable or churn — on the fixed seed; on 20 other seeds each must be ≥ 95 % right.

use dumpleak::analysis::trend::{classify, Class, Rules, Verdict, MIN_DUMPS};
use dumpleak_fixtures::trend_corpus::{trend_corpus, trend_corpus_seeded, LabelledSeries, Truth};
use std::collections::BTreeMap;

const TOO_FEW: &str = "too few";
const LABELS: [&str; 6] = ["leak", "plateau", "decline", "churn", "stable", TOO_FEW];

fn expected(series: &LabelledSeries) -> &'static str {
    if series.counts.len() < MIN_DUMPS {
        TOO_FEW
    } else {
        series.truth.name()
    }
}

fn predicted(verdict: &Verdict) -> &'static str {
    match verdict.class {
        _ if verdict.too_few => TOO_FEW,
        Some(class) => class.name(),
        None => "none",
    }
}

/// Below this true change over the series a leak or decline may also be called stable.
const INVISIBLE_CHANGE: f64 = 2.0;

fn also_right(series: &LabelledSeries, got: &str) -> bool {
    matches!(series.truth, Truth::Leak | Truth::Decline)
        && series.counts.len() >= MIN_DUMPS
        && series.rate_per_cycle.abs() * ((series.counts.len() - 1) as f64) < INVISIBLE_CHANGE
        && got == "stable"
}

fn verdict(series: &LabelledSeries) -> Verdict {
    let counts: Vec<f64> = series.counts.iter().map(|&c| c as f64).collect();
    classify(&counts, Some(&series.times), &Rules::default())
}

#[test]
fn corpus_confusion_matrix_holds_the_bar() {
    let started = std::time::Instant::now();
    let corpus = trend_corpus();
    assert!(corpus.len() >= 300, "a few hundred series");
    let mut matrix: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut by_shape: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut allowed = 0;
    let mut missed_leaks = Vec::new();
    let mut rate_errors = Vec::new();
    for series in &corpus {
        let verdict = verdict(series);
        let (truth, got) = (expected(series), predicted(&verdict));
        *matrix.entry((truth, got)).or_default() += 1;
        let shape = by_shape
            .entry((series.truth.name(), series.shape))
            .or_default();
        shape.0 += 1;
        if truth == got {
            shape.1 += 1;
        } else if also_right(series, got) {
            allowed += 1;
            shape.1 += 1;
        } else {
            wrong.push(format!(
                "#{} {} {} ({} noise, σ {:.2}, rate {:+.2}, {} dumps) → {got}: {} {:?}",
                series.id,
                truth,
                series.shape,
                series.noise.name(),
                series.sigma,
                series.rate_per_cycle,
                series.counts.len(),
                verdict.reason,
                series.counts
            ));
        }
        if series.truth == Truth::Leak
            && series.rate_per_cycle >= 0.2
            && series.counts.len() >= 8
            && matches!(verdict.class, Some(Class::Stable | Class::Churn))
        {
            missed_leaks.push(series.id);
        }
        if series.shape == "linear" && got == truth && series.counts.len() >= 8 {
            let per_hour = series.rate_per_cycle * 3600.0 / series.cycle_seconds() as f64;
            let estimate = verdict
                .slope_per_hour
                .expect("the corpus has capture times");
            rate_errors.push(((estimate - per_hour) / per_hour).abs());
        }
    }

    let total = corpus.len();
    let strict: usize = LABELS
        .iter()
        .map(|l| matrix.get(&(*l, *l)).unwrap_or(&0))
        .sum();
    let right = strict + allowed;
    let accuracy = right as f64 / total as f64;
    println!("truth \\ verdict | {} | n", LABELS.join(" | "));
    for truth in LABELS {
        let row: Vec<usize> = LABELS
            .iter()
            .map(|got| *matrix.get(&(truth, *got)).unwrap_or(&0))
            .collect();
        let cells: Vec<String> = row.iter().map(|c| c.to_string()).collect();
        println!(
            "{truth} | {} | {}",
            cells.join(" | "),
            row.iter().sum::<usize>()
        );
    }
    println!(
        "right: {right} of {total} ({:.1} %; {allowed} of them trends under {INVISIBLE_CHANGE} \
         handles called stable; strictly {strict}, {:.1} %), in {:.2} s",
        100.0 * accuracy,
        100.0 * strict as f64 / total as f64,
        started.elapsed().as_secs_f64()
    );
    for ((truth, shape), (count, ok)) in &by_shape {
        println!("  {truth:8} {shape:18} {ok:3} of {count:3}");
    }
    rate_errors.sort_by(f64::total_cmp);
    if !rate_errors.is_empty() {
        println!(
            "linear trends (≥ 8 dumps, {}): relative error of the Theil–Sen rate per hour: \
             median {:.1} %, 90th percentile {:.1} %",
            rate_errors.len(),
            100.0 * rate_errors[rate_errors.len() / 2],
            100.0 * rate_errors[rate_errors.len() * 9 / 10]
        );
    }
    for line in &wrong {
        println!("wrong: {line}");
    }

    assert!(
        missed_leaks.is_empty(),
        "leaks of ≥ 0.2/cycle over ≥ 8 dumps called stable or churn: {missed_leaks:?}"
    );
    assert!(
        accuracy >= 0.95,
        "only {right} of {total} right ({:.1} %)",
        100.0 * accuracy
    );
    // Every truth is represented, so the matrix means something.
    for truth in Truth::ALL {
        assert!(corpus.iter().filter(|s| s.truth == truth).count() >= 40);
    }
}

#[test]
fn corpus_is_deterministic_and_well_formed() {
    let corpus = trend_corpus();
    assert_eq!(corpus, trend_corpus());
    for series in &corpus {
        assert!((4..=50).contains(&series.counts.len()), "#{}", series.id);
        assert_eq!(series.counts.len(), series.times.len());
        assert!(series.times.windows(2).all(|pair| pair[0] < pair[1]));
        if matches!(series.truth, Truth::Leak | Truth::Decline) {
            assert!((0.1..=5.0).contains(&series.rate_per_cycle.abs()));
        }
    }
    let lengths: Vec<usize> = corpus.iter().map(|s| s.counts.len()).collect();
    assert!(lengths.contains(&4) && lengths.iter().any(|&n| n >= 45));
}

/// Share right (with the allowance), share strictly right, and the slow leaks (≥ 0.2 per
/// cycle over ≥ 8 dumps) called stable or churn, of one corpus.
fn score(corpus: &[LabelledSeries]) -> (f64, f64, usize) {
    let (mut strict, mut allowed, mut missed) = (0, 0, 0);
    for series in corpus {
        let verdict = verdict(series);
        let got = predicted(&verdict);
        if got == expected(series) {
            strict += 1;
        } else if also_right(series, got) {
            allowed += 1;
        }
        if series.truth == Truth::Leak
            && series.rate_per_cycle >= 0.2
            && series.counts.len() >= 8
            && matches!(verdict.class, Some(Class::Stable | Class::Churn))
        {
            missed += 1;
        }
    }
    let total = corpus.len() as f64;
    (
        (strict + allowed) as f64 / total,
        strict as f64 / total,
        missed,
    )
}

#[test]
fn corpus_from_other_seeds_holds_the_accuracy_bar() {
    const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;
    let mut right = Vec::new();
    let mut strict = Vec::new();
    let mut missed = 0;
    for seed in SEEDS {
        let (r, s, m) = score(&trend_corpus_seeded(seed));
        println!(
            "seed {seed}: {:.1} % right, strictly {:.1} %, {m} slow leaks missed",
            100.0 * r,
            100.0 * s
        );
        right.push(r);
        strict.push(s);
        missed += m;
    }
    let mean = |values: &[f64]| 100.0 * values.iter().sum::<f64>() / values.len() as f64;
    let range = |values: &[f64]| {
        let (low, high) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        format!("{:.1}–{:.1} %", 100.0 * low, 100.0 * high)
    };
    println!(
        "seeds {SEEDS:?}: {:.1} % right on average ({}), strictly {:.1} % ({}); {missed} slow \
         leaks of {} series called stable or churn",
        mean(&right),
        range(&right),
        mean(&strict),
        range(&strict),
        SEEDS.count() * trend_corpus().len()
    );
    for (seed, share) in SEEDS.zip(&right) {
        assert!(*share >= 0.95, "seed {seed}: {:.1} % right", 100.0 * share);
    }
}
